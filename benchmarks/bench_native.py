"""Benchmark (prints figures; not a test): the Excel-formula workbook — build time, and LibreOffice's
recalculation time per input set.

Run:  PYTHONPATH=src:tests .venv/bin/python benchmarks/bench_native.py [--sets 300]

Measures, on this machine:
  1. build_workbook(engine="excel") for the blank template and the reference case (formulas rendered and
     evaluated for the cached values), and writing the .xlsx (save + cached-value injection);
  2. the same for the Python workbook, for comparison;
  3. native.recalc (the formulas' own Python evaluation) per input set;
  4. LibreOffice (one soffice, the workbook loaded once, src/perfscore/excel/uno/lo_recalc.py): load time, then per input
     set the calculateAll() time alone and the whole round trip (setting ~57 named inputs, recalculating,
     reading the 21 scores, total, grade and subtotals over UNO).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from native_cases import base_raw, edge_sets, expected_cells  # noqa: E402
from perfscore import REFERENCE_CASE, load_case, load_system  # noqa: E402
from perfscore.excel.native import recalc  # noqa: E402
from perfscore.excel.workbook import build_workbook, write_workbook  # noqa: E402


def best(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", type=int, default=300)
    a = ap.parse_args()
    system, case = load_system(2020), load_case(REFERENCE_CASE)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for engine in ("excel", "python"):
        for label, c in (("空白模板", None), ("参考案例", case)):
            lo, med = best(lambda: build_workbook(system, c, engine=engine))
            print(f"build_workbook(engine={engine!r}) {label}: best {lo * 1000:.0f} ms, median {med * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as d:
        built = build_workbook(system, case, engine="excel")
        path = Path(d) / "参考案例_公式版.xlsx"

        def write():
            path.unlink(missing_ok=True)
            write_workbook(built, path)
        lo, med = best(write)
        print(f"write_workbook (.xlsx, cached values injected): best {lo * 1000:.0f} ms, median {med * 1000:.0f} ms")
        print(f"公式单元格 {len(built.formulas)} 个，最长公式 {max(len(f) for f in built.formulas.values())} 字符")

        sets = edge_sets(system, case)
        base = base_raw(system, case)
        while len(sets) < a.sets:
            sets += sets
        sets = sets[:a.sets]
        named = [{system.inputs[i].name: v for i, v in raw.items() if system.inputs[i].kind != "text"} for raw in sets]
        t = time.perf_counter()
        for n in named:
            recalc(built, n)
        print(f"native.recalc（公式的 Python 求值）: {(time.perf_counter() - t) / len(named) * 1000:.2f} ms/组")

        read = [list(k) for k in expected_cells(system, base)]
        jobs = Path(d) / "jobs.json"
        jobs.write_text(json.dumps({"read": read, "sets": named}, ensure_ascii=False), "utf-8")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        t = time.perf_counter()
        run = subprocess.run(["/usr/bin/python3", str(ROOT / "src/perfscore/excel/uno/lo_recalc.py"), str(path), str(jobs)],
                             capture_output=True, text=True, env=env, timeout=900)
        wall = time.perf_counter() - t
        if run.returncode != 0:
            print(f"LibreOffice 不可用：{run.stderr.strip()}")
            return 1
        out = json.loads(run.stdout)
        rc = sorted(out["recalc_s"])
        print(f"LibreOffice: {len(named)} 组输入，进程启动+连接+载入+全部组共 {wall:.1f} s；载入 {out['load_s']:.2f} s")
        print(f"  calculateAll() 每组：中位数 {statistics.median(rc) * 1000:.2f} ms，p95 {rc[int(len(rc) * 0.95)] * 1000:.2f} ms")
        print(f"  每组往返（设置与上一组不同的输入 + 重算 + 读取 {len(read)} 个单元格，经 UNO）：{(wall - out['load_s']) / len(named) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
