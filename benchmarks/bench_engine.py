"""Benchmark (prints figures; not a test): the Python cost of one rule call and of scoring a whole case.

Targets on the 2-core development machine: one rule call ≤ 20 µs median; a whole case ≤ 1 ms.
Run:  .venv/bin/python benchmarks/bench_engine.py
"""
import platform
import statistics
import time

from perfscore import REFERENCE_CASE, load_case, load_system, score_case, score_indicator


def timeit(fn, repeat=2000, warm=200):
    for _ in range(warm):
        fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    samples.sort()
    return statistics.median(samples) / 1000, samples[int(len(samples) * 0.95)] / 1000


def main():
    system = load_system(2020)
    raw = load_case(REFERENCE_CASE).raw_values()
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}")
    # As Excel delivers cells: floats for numbers, True/False for 是/否 checkboxes, text for choices.
    cells = {}
    for k, v in raw.items():
        parsed = system.inputs[k].parse(v)
        cells[k] = parsed if not isinstance(parsed, bool) else ("是" if parsed else "否")
    print(f"{'call':<34}{'cell values: median':>20}{'p95':>8}{'case-file text: median':>24}{'p95':>8}  (µs)")
    meds_cell, meds_text = [], []
    for ind in system.indicators:
        a_cell = {i: cells[i] for i in ind.inputs if i in cells}
        a_text = {i: raw[i] for i in ind.inputs if i in raw}
        m1, p1 = timeit(lambda: score_indicator(system, ind, a_cell))
        m2, p2 = timeit(lambda: score_indicator(system, ind, a_text))
        meds_cell.append(m1)
        meds_text.append(m2)
        print(f"  {ind.function:<32}{m1:>20.1f}{p1:>8.1f}{m2:>24.1f}{p2:>8.1f}")
    proc = system.by_id["procurement"]
    med, p95 = timeit(lambda: score_indicator(system, proc, {"procurement_budget": 13200.0, "procurement_actual": 12560.0}))
    print(f"=PERF_PROCUREMENT(13200, 12560) as written on the design card: median {med:.1f} µs, p95 {p95:.1f} µs")
    print(f"one rule call with cell values: median of the 21 medians {statistics.median(meds_cell):.1f} µs, "
          f"slowest {max(meds_cell):.1f} µs (target ≤ 20 µs median)")
    print(f"one rule call with case-file text: median of the 21 medians {statistics.median(meds_text):.1f} µs, "
          f"slowest {max(meds_text):.1f} µs")
    med, p95 = timeit(lambda: score_case(system, raw), repeat=500, warm=50)
    print(f"whole case (21 indicators, subtotals, total, grade): median {med:.0f} µs, p95 {p95:.0f} µs (target ≤ 1000 µs)")


if __name__ == "__main__":
    main()
