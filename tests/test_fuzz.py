"""Fuzzing the commands that read what users and strangers send: mutated workbook bytes, zip members, sheet XML,
case TOML and indicator-system TOML (fixed seeds, 1,000 inputs per family). No input may end in exit 70, a
traceback, an exception escaping ``main`` or a hang. ``scripts/fuzz.py -n 20000`` runs the same at scale."""
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("perfscore_fuzz", ROOT / "scripts" / "fuzz.py")
fuzz = sys.modules["perfscore_fuzz"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

N = 1000


@pytest.mark.parametrize("family", list(fuzz.FAMILIES))
def test_no_internal_error_traceback_or_hang(family):
    # freeze / carry-forward / template rebuild and save a workbook (~0.3 s): all 1,000 inputs go through their
    # reading stage, the whole command runs on a sample (every 200th input, every 50th one that still reads)
    outcome = fuzz.run(N, seed=1, families=(family,), heavy_every=200, subprocess_every=250)[family]
    assert not outcome.failures, outcome.failures[:5]
    # the mutations reach past the first refusal: some inputs still read and score, some are refused
    scored = sum(v for k, v in outcome.codes.items() if k in (0, 1, 3))
    refused = outcome.codes.get(2, 0)
    assert scored >= N // 20 and refused >= N // 5, outcome.codes


def test_collect_end_to_end_on_mutated_workbooks(tmp_path):
    import random
    base = fuzz.REF.read_bytes()
    with zipfile.ZipFile(fuzz.REF) as z:
        members = [(i, z.read(i.filename)) for i in z.infolist()]
    folder = tmp_path / "收到的"
    folder.mkdir()
    for k in range(60):
        _, data = fuzz.mutate_workbook(base, members, random.Random(f"collect-{k}"))
        (folder / f"{k:02d}.xlsm").write_bytes(data)
    (folder / "空.xlsm").write_bytes(b"")
    p = subprocess.run([sys.executable, "-m", "perfscore", "collect", str(folder), "-o", str(tmp_path / "汇总.xlsx"),
                        "--jobs", "2"], capture_output=True, text=True, timeout=300,
                       env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    assert p.returncode in (0, 1), p.stderr
    assert "汇总 61 个文件" in p.stdout and "内部错误" not in p.stdout and "Traceback" not in p.stderr
