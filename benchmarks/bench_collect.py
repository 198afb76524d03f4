"""Throughput and memory of ``perfscore collect`` (prints figures; not a test).

    .venv/bin/python benchmarks/bench_collect.py                 # N = 1,000 and 10,000, baseline on 300 files
    .venv/bin/python benchmarks/bench_collect.py --sizes 2000 --baseline-sample 100 --jobs 2

What is measured
* Generation (not timed against the targets): one real workbook written by ``write_workbook``, then N variants
  with varied inputs made by tests/workbook_variants.py (a few ms each, every formula cell consistent).
* collect: each N runs in a fresh Python process (so ``ru_maxrss`` belongs to that run alone) calling the real
  command, ``run_collect`` — sources, worker pool, summary workbook and CSV. Reported: workbooks per second
  end to end and for the processing phase alone (read_filled + check_filled in the workers), and where the
  rest of the time goes: finding the files, building the tables, writing the summary (XlsxWriter in
  constant-memory mode) and the CSV.
* The machine's load average is printed before each run: on a shared machine other processes take CPU time
  from the workers, and the figures say so rather than hide it.
* Memory: peak RSS of the collect process (``ru_maxrss`` of self), the largest worker (``ru_maxrss`` of
  children: the maximum over the waited-for workers, not their sum), and the peak of (self + all live workers)
  sampled from /proc/<pid>/smaps_rollup every 50 ms, as PSS (shared pages divided among the processes: the
  memory actually in use, compared with the 300 MB target) and as RSS (shared pages counted in every process:
  an upper bound). psutil is not installed; tracemalloc would miss native memory (calamine).
* Baseline: the same work (read the same cells, then the same ``check_filled``) with plain
  ``openpyxl.load_workbook(path, data_only=True)``, on the same number of worker processes, in the same run.
  At ~0.1 s per file it is measured on a sample and extrapolated; the output says so.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # workbook_variants: the generator shared with the tests


# ------------------------------------------------------------------------------------------ generation
_FACTORY = None


def _gen_chunk(args):
    outdir, items = args
    for k, raw, header in items:
        _FACTORY.write(Path(outdir) / f"单位{k:05d}.{'xlsm' if k % 4 else 'xlsx'}", raw, header)
    return len(items)


def generate(outdir: Path, n: int, jobs: int, seed: int = 0) -> float:
    """Write n varied workbooks into outdir (reusing what is there); returns seconds spent."""
    global _FACTORY
    from concurrent.futures import ProcessPoolExecutor

    from perfscore import REFERENCE_CASE, load_case, load_system
    from workbook_variants import VariantFactory, varied
    outdir.mkdir(parents=True, exist_ok=True)
    if len(list(outdir.glob("单位*.xls*"))) == n:
        return 0.0
    t0 = time.perf_counter()
    system, case = load_system(2020), load_case(REFERENCE_CASE)
    _FACTORY = VariantFactory(system, case, outdir.parent)
    made = varied(system, case, n, seed=seed)
    items = [(k, raw, header) for k, (raw, header) in enumerate(made)]
    chunks = [(str(outdir), items[i:i + 250]) for i in range(0, n, 250)]
    import multiprocessing as mp
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
        sum(pool.map(_gen_chunk, chunks))
    return time.perf_counter() - t0


# ------------------------------------------------------------------------------------------ memory sampling
def _mem_kb(pid) -> tuple[int, int]:
    """(RSS, PSS) in kB. RSS counts pages shared with the forked parent in every process (an upper bound when
    summed); PSS shares them out, so the sum over processes is the memory actually in use."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _children(pid) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                out.append(int(d))
    return out


class Sampler(threading.Thread):
    """Peaks of the sums of RSS and of PSS over self and its live children, every 50 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_rss = self.peak_pss = 0
        self.stop = threading.Event()

    def run(self):
        me, kids, seen = os.getpid(), [], 0.0
        while not self.stop.wait(0.05):
            if time.monotonic() - seen > 0.5:  # listing /proc costs ~2 ms: the workers rarely change
                kids, seen = _children(me), time.monotonic()
            mem = [_mem_kb(p) for p in [me, *kids]]
            self.peak_rss = max(self.peak_rss, sum(m[0] for m in mem))
            self.peak_pss = max(self.peak_pss, sum(m[1] for m in mem))


# ------------------------------------------------------------------------------------------ one run (child process)
def run_collect_once(src: str, out: str, jobs: int) -> dict:
    import io
    from argparse import Namespace

    from perfscore.receiving import collect
    phases = {}

    def timed(name, fn):
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                phases[name] = time.perf_counter() - t
        return wrapper

    collect.collect_rows = timed("process", collect.collect_rows)
    collect.summary_tables = timed("tables", collect.summary_tables)
    collect.write_summary = timed("xlsx", collect.write_summary)
    collect.expand_sources = timed("sources", collect.expand_sources)
    collect.write_csv = timed("csv", collect.write_csv)
    import python_calamine  # noqa: F401  (imports are in the command's wall time, not in the phases)

    from perfscore.receiving import check  # noqa: F401
    sampler = Sampler()
    sampler.start()
    buf = io.StringIO()
    t0 = time.perf_counter()
    code = collect.run_collect(Namespace(sources=[src], output=out, csv=out[:-5] + ".csv", jobs=jobs, force=True), buf)
    total = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"code": code, "total": total, **phases, "stdout": buf.getvalue(),
            "cpu_self": me.ru_utime + me.ru_stime, "cpu_children": kids.ru_utime + kids.ru_stime,
            "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            "rss_sum_mb": sampler.peak_rss / 1024, "pss_sum_mb": sampler.peak_pss / 1024}


# ------------------------------------------------------------------------------------------ baseline
INPUT_HEAD = ["序号", "输入项", "单位", "数值"]


def openpyxl_filled(path):
    """What read_filled returns, read with plain openpyxl (cached values of formula cells: data_only=True) —
    the values only: the baseline does not verify the structure, which read_filled does on top."""
    import openpyxl

    from perfscore.excel.workbook import HEADER_FIELDS, YEAR_NAME
    from perfscore.receiving.reader import FilledWorkbook
    wb = openpyxl.load_workbook(path, data_only=True)
    rows = [list(r) for r in wb["基础数据"].iter_rows(values_only=True)]
    score_rows = [list(r) for r in wb["评分表"].iter_rows(values_only=True)]
    labels = {str(r[0]).strip(): r for r in rows[:12] if r and isinstance(r[0], str)}
    num = (lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else v)
    out = FilledWorkbook(str(path), int(labels[YEAR_NAME][2]), {lb: num(labels[lb][2]) for lb, _ in HEADER_FIELDS})
    start = next(k for k, r in enumerate(rows) if [str(x) for x in r[:4]] == INPUT_HEAD) + 1
    for r in rows[start:]:
        if len(r) >= 4 and isinstance(r[1], str) and r[1].strip():
            out.inputs[r[1].strip()] = num(r[3])
    for r in score_rows:
        if len(r) >= 7 and isinstance(r[2], str) and r[2].strip() and r[2] != "三级指标":
            out.stored_scores[r[2].strip()] = num(r[6])
        elif r and r[0] == "综合评分":
            out.stored_total = num(r[6])
        elif r and r[0] == "评分等级":
            out.stored_grade = r[6]
    return out


def _baseline_chunk(paths):
    from perfscore.receiving.check import check_filled
    return [check_filled(openpyxl_filled(p)).status for p in paths]


def baseline(paths, jobs: int) -> dict:
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing as mp
    t0 = time.perf_counter()
    _baseline_chunk(paths[:10])
    single = (time.perf_counter() - t0) / 10
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
        size = max(1, len(paths) // (jobs * 4))
        statuses = [s for chunk in pool.map(_baseline_chunk, [paths[i:i + size] for i in range(0, len(paths), size)])
                    for s in chunk]
    elapsed = time.perf_counter() - t0
    return {"n": len(paths), "elapsed": elapsed, "rate": len(paths) / elapsed, "single_s": single,
            "passed": sum(s.startswith("通过") for s in statuses)}


# ------------------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--baseline-sample", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--workdir", help="where to generate (default: a temporary directory, removed afterwards)")
    ap.add_argument("--_run", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a._run:
        print(json.dumps(run_collect_once(a._run[0], a._run[1], int(a._run[2])), ensure_ascii=False))
        return
    import shutil
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="bench_collect_"))
    try:
        biggest = max(a.sizes)
        src = work / f"files_{biggest}"
        gen = generate(src, biggest, a.jobs)
        all_files = sorted(src.glob("单位*.xls*"))
        print(f"机器：{os.cpu_count()} 个 CPU，--jobs {a.jobs}；Python {sys.version.split()[0]}")
        print(f"生成 {biggest} 个不同输入的工作簿：{gen:.1f} 秒（不计入下列数字）；平均文件大小 "
              f"{sum(p.stat().st_size for p in all_files[:200]) / min(200, len(all_files)) / 1024:.0f} KB")
        base = baseline([str(p) for p in all_files[:a.baseline_sample]], a.jobs)
        print(f"基线（openpyxl.load_workbook(data_only=True) 读同样的单元格 + 同样的 check_filled，{a.jobs} 个进程）："
              f"实测 {base['n']} 个文件 {base['elapsed']:.1f} 秒 = {base['rate']:.1f} 个/秒"
              f"（单进程每个 {base['single_s'] * 1000:.0f} ms）；更大的 N 按此速率外推，未实测")
        for n in sorted(a.sizes):
            d = src if n == biggest else work / f"files_{n}"
            if d != src and not d.exists():
                d.mkdir()
                for p in all_files[:n]:
                    os.link(p, d / p.name)
            out = work / f"汇总_{n}.xlsx"
            load = os.getloadavg()
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--_run", str(d), str(out), str(a.jobs)],
                                  capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if proc.returncode:
                print(proc.stderr)
                raise SystemExit(proc.returncode)
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            rate, prate = n / r["total"], n / r["process"]
            est = n / base["rate"]
            print(f"\nN = {n}：perfscore collect 退出码 {r['code']}（开始时系统负载 {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}，"
                  f"{os.cpu_count()} 个 CPU）")
            for line in r["stdout"].strip().splitlines():
                print(f"    | {line}")
            print(f"  进程总用时（含 Python 启动和导入）{wall:.1f} 秒 = {n / wall:.0f} 个/秒；run_collect {r['total']:.1f} 秒 = "
                  f"{rate:.0f} 个/秒")
            other = r["total"] - r["process"] - r["tables"] - r["xlsx"] - r["csv"] - r["sources"]
            print(f"  用时分布：查找文件 {r['sources']:.2f} 秒，读取+检查（工作进程）{r['process']:.1f} 秒 = {prate:.0f} 个/秒，"
                  f"整理各表 {r['tables']:.2f} 秒，写汇总 xlsx（XlsxWriter constant_memory）{r['xlsx']:.2f} 秒，"
                  f"CSV {r['csv']:.2f} 秒，其余 {other:.2f} 秒")
            print(f"  CPU 时间（getrusage）：主进程 {r['cpu_self']:.1f} 秒（含导入），工作进程合计 {r['cpu_children']:.1f} 秒 = "
                  f"每个文件 {r['cpu_children'] / n * 1000:.2f} ms；墙钟时间里工作进程得到的 CPU："
                  f"{r['cpu_children'] / max(r['process'], 1e-9):.2f} 个 CPU（共 {a.jobs} 个进程；机器被其他进程占用时低于 {a.jobs}）")
            print(f"  基线外推 {est:.0f} 秒 → 倍数：进程总用时 {est / wall:.0f}×，run_collect {est / r['total']:.0f}×，"
                  f"读取+检查 {est / r['process']:.0f}×")
            print(f"  内存峰值：主进程 {r['self_mb']:.0f} MB（ru_maxrss），最大的工作进程 {r['child_mb']:.0f} MB"
                  f"（ru_maxrss of children）；"
                  f"主进程 + 全部工作进程同时：PSS 合计 {r['pss_sum_mb']:.0f} MB，RSS 合计 {r['rss_sum_mb']:.0f} MB"
                  f"（/proc/*/smaps_rollup 每 50 ms 采样；RSS 合计把 fork 共享的页面重复计算，是上限）")
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
