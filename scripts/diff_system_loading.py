"""Compare how two source trees load the same mutated indicator-system files: every loaded system (described field
by field, recursively) and every error message must be the same. For refactoring the system loader (src/perfscore/engine/reading/, called through
engine/system.py's load_system_file).

    git archive <rev> src | tar -x -C /tmp/old
    .venv/bin/python scripts/diff_system_loading.py /tmp/old/src src -n 6000

Inputs: the packaged systems and every system file under tests/data, each mutated by scripts/fuzz.py's
mutate_toml (seeded, so both trees see the same bytes). Prints the counts per tree and the first differences.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _deep(o, depth=0) -> str:
    if depth > 6:
        return "…"
    if isinstance(o, (str, int, float, bool, type(None))):
        return repr(o)
    if isinstance(o, (list, tuple)):
        return "(" + ",".join(_deep(x, depth + 1) for x in o) + ")"
    if isinstance(o, dict):
        return "{" + ",".join(f"{_deep(k)}:{_deep(v, depth + 1)}" for k, v in o.items()) + "}"
    names = sorted(set(getattr(o, "__dict__", {})) | set(getattr(type(o), "__slots__", ())))
    if not names:
        return repr(o).split(" at 0x")[0]
    return type(o).__name__ + "<" + ",".join(f"{n}={_deep(getattr(o, n, None), depth + 1)}" for n in names) + ">"


def _run_one(n: int, out: str) -> None:
    """In the child process: load n mutated files with the perfscore on sys.path, write the outcomes as JSON."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from fuzz import mutate_toml

    from perfscore.engine.system import PACKAGE_SYSTEMS, load_system_file
    from perfscore.errors import PerfscoreError
    files = sorted(PACKAGE_SYSTEMS.glob("*/[0-9]*.toml")) + sorted((ROOT / "tests" / "data").rglob("*.toml"))
    texts = [p.read_text("utf-8") for p in files]
    texts = [t for t in texts if "[system]" in t]
    res = []
    with tempfile.TemporaryDirectory() as d:
        for k in range(n):
            text = texts[k % len(texts)]
            data = text.encode("utf-8") if k < len(texts) else mutate_toml(text, random.Random(f"d-{k}"))[1]
            p = Path(d) / f"region{k % 5}" / f"{k}.toml"
            p.parent.mkdir(exist_ok=True)
            p.write_bytes(data)
            try:
                s = load_system_file(p)
                res.append(["ok", _deep([s.indicators, s.inputs, s.measures, s.grades, s.level1, s.level2,
                                         s.goal_table, s.checks, s.compare, s.key, s.total, s.rounding_mode,
                                         s.rounding_digits, s.name, s.title, s.region, s.year, s.source, s.id])])
            except PerfscoreError as exc:
                res.append(["error", str(exc)])
            except Exception as exc:  # a defect: the loader must turn every bad file into a PerfscoreError
                res.append(["DEFECT", f"{type(exc).__name__}: {exc}"])
            res[-1][1] = res[-1][1].replace(d, "<tmp>")
    Path(out).write_text(json.dumps(res, ensure_ascii=False), "utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old_src")
    ap.add_argument("new_src")
    ap.add_argument("-n", type=int, default=2000, help="files per tree (default 2000)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _run_one(a.n, a.child)
        return 0
    outs = []
    with tempfile.TemporaryDirectory() as d:
        for k, src in enumerate((a.old_src, a.new_src)):
            out = Path(d) / f"{k}.json"
            # the same hash seed: set iteration order must not count as a difference
            env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), PYTHONHASHSEED="0")
            subprocess.run([sys.executable, __file__, a.old_src, a.new_src, "-n", str(a.n), "--child", str(out)],
                           env=env, check=True)
            outs.append(json.loads(out.read_text("utf-8")))
    for src, res in zip((a.old_src, a.new_src), outs):
        kinds = {k: sum(1 for r in res if r[0] == k) for k in ("ok", "error", "DEFECT")}
        print(f"{src}: {kinds['ok']} loaded, {kinds['error']} refused with a message, {kinds['DEFECT']} defects")
    diffs = [(k, x, y) for k, (x, y) in enumerate(zip(*outs)) if x != y]
    print(f"differences: {len(diffs)} of {a.n}")
    for k, x, y in diffs[:5]:
        print(f"  file {k}:\n    old {x[0]}: {x[1][:300]}\n    new {y[0]}: {y[1][:300]}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
