"""Benchmark (prints figures; not a test): formula_key over every formula of the committed workbooks.

Uncached: the tokenizer itself (cache cleared before each pass); cached: the same formulas again, as when
thousands of workbooks of one template are checked. Also prints the formula lengths it ran on.
Run:  .venv/bin/python benchmarks/bench_formula_key.py
"""
import os
import platform
import statistics
import time
from pathlib import Path

import openpyxl

from perfscore.receiving import formula_key as fk

ROOT = Path(__file__).resolve().parents[1]


def formulas():
    out = []
    for path in sorted((ROOT / "workbook").glob("*.xls[xm]")):
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                out += [c.value for c in row if isinstance(c.value, str) and c.value.startswith("=")]
    return out


def main():
    texts = formulas()
    lengths = sorted(map(len, texts))
    print(f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    print(f"{len(texts)} formulas from workbook/*.xlsx|xlsm, {len(set(texts))} distinct; length median "
          f"{statistics.median(lengths):.0f}, max {lengths[-1]} characters, {sum(lengths)} in all")
    distinct = sorted(set(texts))
    dl = sum(map(len, distinct))
    cold = []
    for _ in range(5):
        fk.clear_cache()
        fk._short_ref.cache_clear()
        fk._short_number_key.cache_clear()
        t = time.perf_counter()
        for s in distinct:
            fk.formula_key(s)
        cold.append(time.perf_counter() - t)
    print(f"uncached, each distinct formula once: {min(cold) / len(distinct) * 1e6:.1f} µs per formula "
          f"(best of 5; {min(cold) / dl * 1e9:.0f} ns per character)")
    first = []
    for _ in range(5):
        fk.clear_cache()
        t = time.perf_counter()
        for s in texts:
            fk.formula_key(s)
        first.append(time.perf_counter() - t)
    print(f"all {len(texts)} formulas in file order from an empty cache: {min(first) / len(texts) * 1e6:.1f} µs "
          f"per formula (best of 5)")
    warm = []
    for _ in range(5):
        t = time.perf_counter()
        for s in texts:
            fk.formula_key(s)
        warm.append(time.perf_counter() - t)
    print(f"cached: {min(warm) / len(texts) * 1e6:.2f} µs per formula (best of 5)")


if __name__ == "__main__":
    main()
