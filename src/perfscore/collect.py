"""``perfscore collect``: read, re-score and check many filled workbooks, and summarise them in one workbook.

What is read
    Each source is a directory, a glob pattern (``收到的/*.xlsm``, ``收到的/**/*.xlsx``) or a file. Directories are
    searched **recursively** (received workbooks are usually filed in sub-folders by district or department;
    hidden folders such as ``.git`` are not entered, symbolic links to folders are not followed). From directories
    and patterns only ``.xlsx``/``.xlsm`` files are taken; a file named explicitly is always taken. Skipped: the
    output file itself, Office lock files ``~$*`` and hidden files ``.*`` (macOS ``._*`` copies, our own
    temporary files); the summary says how many. A source that matches nothing is a usage error (exit 2), so a
    mistyped folder is not silently left out. The originals are only ever opened for reading.

How
    Every file is handled in a worker process (``ProcessPoolExecutor``, ``--jobs``, default: the CPUs this
    process may use): ``read_filled`` (which refuses hostile packages by their zip directory before any XML is
    parsed: size, compression ratio, encryption, DTD/entity declarations), a check that the rules year has its
    own indicator-system file (a 2031 workbook is not silently scored by 2020 rules), then ``check_filled``.
    A worker sends back a small dict per file (header, scores, total, grade, status, problems), never the big
    objects. Files go to the workers in chunks of up to ``MAX_CHUNK`` consecutive files (about eight chunks per
    worker for small batches), so the per-task cost of the pool (pickling, queues) stays far below the ~3 ms a
    file costs; at most ``IN_FLIGHT_PER_WORKER`` chunks per worker are queued at a time, which bounds the
    parent's memory and keeps the progress bar honest.

Bounds, per file
    * time, soft: ``FILE_TIMEOUT`` seconds, by ``SIGALRM`` in the worker (POSIX). The file gets a 超时 row and
      the worker goes on with the next file.
    * time, hard: if a file is stuck in native code that never returns to Python, ``faulthandler``'s watchdog
      thread ends the worker after ``HARD_TIMEOUT`` seconds (all platforms). The pool then breaks: the files
      that were in flight are retried one at a time in a fresh single-worker pool, so the culprit is identified
      and every innocent file still gets its row. The parent also waits with a timeout
      (``future.result(timeout)``) and ends a silent worker itself as a last resort.
    * memory: each worker may grow by ``WORKER_MEMORY_MB`` of address space (``RLIMIT_AS``, POSIX). Python's
      MemoryError becomes a row; a native allocation failure (calamine builds a dense range from the largest
      cell reference, so a sheet with one cell at XFD1048576 asks for hundreds of GB) ends the worker, which is
      handled as above. On Windows there is no per-process memory limit (only the size checks of the reader).

Output
    One workbook, written atomically (temporary file beside it, then ``os.replace``), never over an existing
    file without ``--force``: 汇总 (one row per file, every indicator score in table order — always the engine's
    recomputed scores, never the ones stored in the file), 排名 (files with a total, highest first; equal totals
    share a rank), 指标得分率 (mean of score/分值 over the files where the indicator could be scored, per rules
    year), 等级分布 (counts, with a bar chart) and 异常 (every file that could not be read or did not pass its
    check, with the reason). ``--csv``: the 汇总 rows in UTF-8 with BOM; every text cell that Excel would take for
    a formula (starting with = + - @, tab or CR) is prefixed with ``'``; numbers stay numbers.

Exit code: 0 every file was read and passed; 1 some files are in 异常 (the batch still completed);
2 usage errors (raised as PerfscoreError, printed by the CLI).
"""
from __future__ import annotations

import concurrent.futures as cf
import faulthandler
import glob
import math
import os
import re
import signal
import stat
import sys
import time
from collections import Counter, deque
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from .errors import PerfscoreError, UnknownYear

SUFFIXES = (".xlsx", ".xlsm")
FILE_TIMEOUT = 20.0        # seconds; a valid workbook takes ~3 ms, the largest the reader accepts well under 2 s
HARD_TIMEOUT = 40.0        # seconds; the worker process is ended (native code that never returns)
WORKER_MEMORY_MB = 1024    # address space a worker may add to what it had at start
MAX_CHUNK = 32
IN_FLIGHT_PER_WORKER = 4
MAX_TEXT = 300             # characters kept of a header field read from a file (names, years)
MAX_PROBLEMS = 4000        # characters kept of a file's list of problems

# Categories of the 异常 sheet
UNREADABLE, FAILED, TIMEOUT, KILLED, INTERNAL = "无法读取", "未通过", "超时", "进程终止", "内部错误"
SUMMARY, RANKING, RATES, GRADES, PROBLEMS = "汇总", "排名", "指标得分率", "等级分布", "异常"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# ============================================================================================ sources
def expand_sources(sources, exclude=()) -> tuple[list[Path], list[tuple[Path, str]], Counter]:
    """-> (workbook paths in a stable order, [(path, reason)] for named things that are not regular files,
    counts of skipped files by kind). Raises PerfscoreError when a source matches nothing."""
    excluded = {os.path.realpath(p) for p in exclude}
    found: dict[str, Path] = {}
    odd: dict[str, tuple[Path, str]] = {}
    skipped: Counter = Counter()

    def take(path: Path, explicit: bool):
        name = path.name
        if not explicit and not name.lower().endswith(SUFFIXES):
            return False
        real = os.path.realpath(path)
        if real in excluded:
            skipped["输出文件本身"] += 1
            return True
        if name.startswith("~$"):
            skipped["Office 锁定文件（~$）"] += 1
            return True
        if name.startswith(".") and not explicit:
            skipped["隐藏文件"] += 1
            return True
        try:
            st = os.stat(path)
        except OSError as exc:
            odd.setdefault(real, (path, f"无法访问（{exc.strerror or exc}）"))
            return True
        if stat.S_ISDIR(st.st_mode):
            return False
        if not stat.S_ISREG(st.st_mode):
            odd.setdefault(real, (path, "不是普通文件（如管道或设备），未读取"))
            return True
        found.setdefault(real, path)
        return True

    def walk(root: Path):
        hit = False
        for d, dirs, files in os.walk(root, followlinks=False):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for f in sorted(files):
                hit |= take(Path(d) / f, explicit=False)
        return hit

    for src in sources:
        src = str(src)
        p = Path(src)
        hit = False
        if glob.has_magic(src):
            for m in sorted(glob.glob(src, recursive=True)):
                mp = Path(m)
                hit |= walk(mp) if mp.is_dir() else take(mp, explicit=False)
        elif p.is_dir():
            hit = walk(p)
        elif p.exists() or p.is_symlink():
            hit = take(p, explicit=True)
        else:
            raise PerfscoreError(f"找不到“{src}”：请检查目录或文件名（通配符请加引号，如 '收到的/*.xlsm'）")
        if not hit:
            raise PerfscoreError(f"“{src}”中没有找到 .xlsx 或 .xlsm 工作簿：请检查目录或通配符")
    paths = sorted(found.values(), key=lambda x: str(x))
    return paths, sorted(odd.values(), key=lambda x: str(x[0])), skipped


# ============================================================================================ worker side
class _FileTimeout(BaseException):
    """Raised by SIGALRM inside a worker; a BaseException so that no ``except Exception`` on the way swallows it."""


_HARD = HARD_TIMEOUT
_ARMED_AT = -math.inf
_DEVNULL = None
_YEARS: dict = {}


def _on_alarm(signum, frame):
    raise _FileTimeout()


def _init_worker(memory_mb: float, hard_timeout: float, quiet: bool) -> None:
    global _HARD, _DEVNULL
    _HARD = hard_timeout
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    _die_with_parent()
    _DEVNULL = open(os.devnull, "w")
    if quiet:  # a native crash prints a backtrace; the file gets its row in 异常 instead
        faulthandler.disable()  # (a fatal-error handler inherited from the parent, e.g. pytest's)
        try:
            os.dup2(_DEVNULL.fileno(), 2)
        except OSError:
            pass
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)
    if memory_mb:
        _limit_memory(memory_mb)
    from .check import check_filled  # noqa: F401  (warm imports and the indicator systems)
    from .system import available_years, load_system
    for y in available_years():
        load_system(y)


def _die_with_parent() -> None:
    """Linux: end this worker when the parent process dies (killed, or ended by SIGTERM), instead of leaving
    it waiting for work forever."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)
    except (OSError, AttributeError):
        pass


def _limit_memory(memory_mb: float) -> None:
    try:
        import resource
        with open("/proc/self/statm") as f:
            current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError):
        return
    limit = current + int(memory_mb * 1024 * 1024)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def _arm_watchdog() -> None:
    """(Re-)arm the hard watchdog at most once a second: re-arming costs ~0.1 ms, a file ~3 ms."""
    global _ARMED_AT
    now = time.monotonic()
    if now - _ARMED_AT > 1.0:
        faulthandler.dump_traceback_later(_HARD, exit=True, file=_DEVNULL or sys.stderr)
        _ARMED_AT = now


def _disarm_watchdog() -> None:
    global _ARMED_AT
    faulthandler.cancel_dump_traceback_later()
    _ARMED_AT = -math.inf


def _process_chunk(paths: list[str], file_timeout: float) -> list[dict]:
    try:
        rows = []
        for p in paths:
            _arm_watchdog()
            rows.append(process_file(p, file_timeout))
        return rows
    finally:
        _disarm_watchdog()  # an idle worker must not be ended by the watchdog


def _clean(v, limit=MAX_TEXT):
    """A header value read from a file, as it may go into a cell: text without characters XML cannot carry."""
    if v is None:
        return None
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 1e15 else v
    if isinstance(v, (int, bool)):
        return v
    s = _ILLEGAL_XML.sub("", str(v)).strip()
    return s if len(s) <= limit else s[:limit - 1] + "…"


def display_path(path) -> str:
    """A file name as it may go into a cell: characters XML cannot carry (possible in file names) become "?"."""
    return _ILLEGAL_XML.sub("?", str(path))


def failed_row(category: str, reason: str) -> dict:
    return {"status": category, "category": category, "problems": _clean(reason, MAX_PROBLEMS), "reason": _clean(reason, MAX_PROBLEMS)}


def _exact_system(year: int):
    """The rules year must have its own file: load_system would fall back to an older year."""
    from .system import available_years, load_system
    if year not in _YEARS:
        _YEARS[year] = year in available_years()
    if not _YEARS[year]:
        years = "、".join(map(str, available_years()))
        raise UnknownYear(f"规则年度 {year} 没有对应的指标体系（现有年度：{years}）：文件可能被改动过，"
                          f"或由更新的 perfscore 生成；请核实后安装该年度的指标体系再汇总")
    return load_system(year)


def _score_file(path: str) -> dict:
    from .check import ERROR, check_filled
    from .reader import read_filled
    filled = read_filled(path)
    h = filled.header
    try:
        _exact_system(filled.year)
        rep = check_filled(filled)
    except PerfscoreError as exc:  # read, but not scorable (unknown rules year, inputs of another layout)
        row = failed_row(UNREADABLE, str(exc))
        row.update(department=_clean(h.get("部门名称")), budget_year=_clean(h.get("预算年度")), year=filled.year)
        return row
    res = rep.result
    errors = [i for i in rep.items if i.level == ERROR]
    return {
        "department": _clean(h.get("部门名称")), "budget_year": _clean(h.get("预算年度")), "year": filled.year,
        "kind": filled.kind_text, "scores": tuple(r.score if r.error is None else None for r in res.indicators),
        "total": res.total, "grade": res.grade, "status": rep.status,
        "category": None if rep.passed else FAILED,
        "problems": _clean("；".join(f"[{i.level}] {i.where}：{i.message}" for i in rep.items), MAX_PROBLEMS) or None,
        "reason": _clean("；".join(f"{i.where}：{i.message}" for i in errors), MAX_PROBLEMS) or None,
    }


def process_file(path: str, file_timeout: float = FILE_TIMEOUT) -> dict:
    """One file -> a small plain dict. Never raises (except on Ctrl-C): every failure is a row with a reason.
    The soft timeout applies in a worker (where SIGALRM is handled), not when called in another process."""
    alarm = file_timeout and hasattr(signal, "setitimer") and signal.getsignal(signal.SIGALRM) is _on_alarm
    try:
        try:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, file_timeout)
            return _score_file(path)
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except _FileTimeout:
        return failed_row(TIMEOUT, f"处理超过 {file_timeout:g} 秒仍未完成，已跳过：文件可能被构造为消耗资源，请单独核查")
    except PerfscoreError as exc:
        return failed_row(UNREADABLE, str(exc))
    except MemoryError:
        return failed_row(UNREADABLE, "读取时内存超过上限：文件可能被构造为消耗内存（如工作表范围极大），未读取")
    except RecursionError:
        return failed_row(UNREADABLE, "文件结构嵌套过深，无法读取")
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # includes pyo3's PanicException (a BaseException) from the native reader
        return failed_row(INTERNAL, f"内部错误（{type(exc).__name__}: {str(exc)[:200]}）：读取或计分时出错，"
                                    f"请将此文件发给开发人员核查")


# ============================================================================================ parent side
def _pool(jobs: int, memory_mb: float, hard_timeout: float):
    import multiprocessing as mp
    # fork (Linux): workers start in ~ms with perfscore already imported; elsewhere the platform's default
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() and sys.platform != "darwin" else None
    quiet = not os.environ.get("PERFSCORE_DEBUG")
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                  initargs=(memory_mb, hard_timeout, quiet))


def _end_pool(pool, kill: bool = False) -> None:
    """Shut a pool down; ``kill`` ends its worker processes first (a stuck or broken pool). The processes are
    the ones this pool started, ended by their own handles (``_processes`` is the executor's private table)."""
    if kill:
        for p in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                p.kill()
            except Exception:
                pass
    pool.shutdown(wait=True, cancel_futures=True)


class Progress:
    """A plain progress line on a terminal (stderr); nothing when stderr is not a terminal."""

    def __init__(self, total: int, stream=None, label: str = "汇总"):
        self.stream = stream if stream is not None else sys.stderr
        self.total, self.label, self.done = total, label, 0
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = self.last = time.monotonic()

    def update(self, n: int = 1, force: bool = False) -> None:
        self.done += n
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and not force and self.done < self.total):
            return
        self.last = now
        frac = self.done / self.total if self.total else 1.0
        width = 30
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        rate = self.done / max(now - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {frac:4.0%}  {rate:6.0f} 个/秒  剩余 {eta:4.0f} 秒 ")
        self.stream.flush()

    def close(self, then: str = "") -> None:
        if self.enabled:
            if self.done < self.total or self.last == self.start:
                self.update(0, force=True)
            self.stream.write("\n" + (then + "\n" if then else ""))
            self.stream.flush()


def collect_rows(paths, jobs: int | None = None, *, file_timeout: float | None = None,
                 hard_timeout: float | None = None, memory_mb: float | None = None, progress=None) -> list[dict]:
    """Process ``paths`` in worker processes; one row (dict) per path, in the same order."""
    file_timeout = FILE_TIMEOUT if file_timeout is None else file_timeout
    hard_timeout = HARD_TIMEOUT if hard_timeout is None else hard_timeout
    memory_mb = WORKER_MEMORY_MB if memory_mb is None else memory_mb
    paths = [str(p) for p in paths]
    n = len(paths)
    rows: list = [None] * n
    if not n:
        return rows
    jobs = max(1, min(jobs or _cpus(), n))
    size = max(1, min(MAX_CHUNK, math.ceil(n / (jobs * 8))))
    queue = deque(range(k, min(k + size, n)) for k in range(0, n, size))
    stall = size * hard_timeout + 60  # last resort only: the workers' own watchdog acts first
    suspects: list[int] = []
    import python_calamine  # noqa: F401  (imported before the fork: warm workers)

    from .check import check_filled, expected_formulas  # noqa: F401
    from .system import available_years, load_system
    for y in available_years():
        expected_formulas(load_system(y), "python")  # the rules year's score formulas, built once before the fork

    def note(idx, result):
        for i, r in zip(idx, result):
            rows[i] = r
        if progress:
            progress.update(len(idx))

    pool = _pool(jobs, memory_mb, hard_timeout)
    try:
        in_flight: dict = {}
        last = time.monotonic()
        while queue or in_flight:
            while queue and len(in_flight) < jobs * IN_FLIGHT_PER_WORKER:
                idx = queue.popleft()
                in_flight[pool.submit(_process_chunk, [paths[i] for i in idx], file_timeout)] = idx
            done, _ = cf.wait(in_flight, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            broken = False
            for fut in done:
                idx = in_flight.pop(fut)
                try:
                    note(idx, fut.result())
                except BrokenProcessPool:
                    suspects.extend(idx)
                    broken = True
                except Exception as exc:  # e.g. a result that could not be sent back
                    note(idx, [failed_row(INTERNAL, f"内部错误（{type(exc).__name__}）：请将此文件发给开发人员核查")] * len(idx))
            if done:
                last = time.monotonic()
            elif in_flight and time.monotonic() - last > stall:
                broken = True
                _end_pool(pool, kill=True)
            if broken:  # every chunk still in flight is lost with the pool: retry its files one by one
                for fut, idx in in_flight.items():
                    try:
                        note(idx, fut.result(timeout=stall))
                    except Exception:
                        suspects.extend(idx)
                in_flight.clear()
                _end_pool(pool, kill=True)
                pool = _pool(jobs, memory_mb, hard_timeout)
        _end_pool(pool)
        pool = None
        if suspects:
            pool = _pool(1, memory_mb, hard_timeout)
            for i in sorted(suspects):
                t0 = time.monotonic()
                fut = pool.submit(_process_chunk, [paths[i]], file_timeout)
                try:
                    rows[i] = fut.result(timeout=hard_timeout + 30)[0]
                except (BrokenProcessPool, cf.TimeoutError) as exc:
                    took = time.monotonic() - t0
                    if isinstance(exc, cf.TimeoutError) or took >= hard_timeout - 1.5:
                        why = f"处理超过 {hard_timeout:g} 秒仍未完成，工作进程已被终止"
                    else:
                        why = (f"处理时工作进程意外终止（{took:.1f} 秒后；多半是内存用量超过每个进程 "
                               f"{memory_mb:g} MB 的上限，例如工作表范围极大）")
                    rows[i] = failed_row(KILLED, why + "：文件可能被构造为消耗资源，未读取")
                    _end_pool(pool, kill=True)
                    pool = _pool(1, memory_mb, hard_timeout)
                except Exception as exc:
                    rows[i] = failed_row(INTERNAL, f"内部错误（{type(exc).__name__}）：请将此文件发给开发人员核查")
                if progress:
                    progress.update(1)
            _end_pool(pool)
            pool = None
    except BaseException:
        if pool is not None:
            _end_pool(pool, kill=True)
        raise
    return rows


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# ============================================================================================ summary
def _systems(rows):
    from .system import load_system
    return {y: load_system(y) for y in sorted({r["year"] for r in rows if r.get("scores") is not None})}


def _score_columns(systems) -> list[str]:
    cols: list[str] = []
    for s in systems.values():
        cols += [i.name for i in s.indicators if i.name not in cols]
    return cols


def summary_frames(files, rows) -> dict:
    """The sheets as DataFrames: 汇总, 排名, 指标得分率, 等级分布, 异常."""
    import pandas as pd
    systems = _systems(rows)
    score_cols = _score_columns(systems)
    head = ["文件", "部门名称", "预算年度", "规则年度"]
    tail = ["综合评分", "评分等级", "检查结果", "问题"]
    records, problems = [], []
    for f, r in zip(files, rows):
        rec = dict.fromkeys(head + score_cols + tail)
        rec.update({"文件": display_path(f), "部门名称": r.get("department"), "预算年度": r.get("budget_year"),
                    "规则年度": r.get("year"), "综合评分": r.get("total"), "评分等级": r.get("grade"),
                    "检查结果": r["status"], "问题": r.get("problems")})
        if r.get("scores") is not None:
            for ind, v in zip(systems[r["year"]].indicators, r["scores"]):
                rec[ind.name] = v
        records.append(rec)
        if r.get("category"):
            problems.append({"文件": display_path(f), "部门名称": r.get("department"), "类别": r["category"],
                             "原因": r.get("reason") or r.get("problems")})
    summary = pd.DataFrame.from_records(records, columns=head + score_cols + tail)
    for c in score_cols + ["综合评分"]:
        summary[c] = pd.to_numeric(summary[c], errors="coerce").astype("float64")
    summary["规则年度"] = summary["规则年度"].astype("Int64")

    ranked = summary.loc[summary["综合评分"].notna(), ["部门名称", "文件", "综合评分", "评分等级", "检查结果"]].copy()
    ranked["_key"] = ranked["综合评分"].round(2)
    ranked = ranked.sort_values(["_key", "部门名称", "文件"], ascending=[False, True, True], kind="mergesort",
                                na_position="last")
    ranked.insert(0, "排名", ranked["_key"].rank(method="min", ascending=False).astype("int64"))
    ranked = ranked.drop(columns="_key").reset_index(drop=True)

    rate_rows = []
    for year, s in systems.items():
        mine = [r for r in rows if r.get("scores") is not None and r["year"] == year]
        for k, ind in enumerate(s.indicators):
            vals = [r["scores"][k] for r in mine if r["scores"][k] is not None]
            rate_rows.append({"规则年度": year, "序号": k + 1, "一级指标": ind.level1.name, "指标": ind.name,
                              "分值": ind.weight, "平均得分": sum(vals) / len(vals) if vals else None,
                              "平均得分率": sum(v / ind.weight for v in vals) / len(vals) if vals else None,
                              "计分文件数": len(vals), "未能计分文件数": len(mine) - len(vals)})
    rates = pd.DataFrame(rate_rows, columns=["规则年度", "序号", "一级指标", "指标", "分值", "平均得分", "平均得分率",
                                             "计分文件数", "未能计分文件数"])

    labels: list[str] = []
    for s in systems.values():
        labels += [g for _, g in s.grades if g not in labels]
    counts = Counter(r.get("grade") for r in rows if r.get("grade"))
    graded = sum(counts.values())
    grades = pd.DataFrame({"等级": labels, "文件数": [counts.get(g, 0) for g in labels],
                           "占比": [counts.get(g, 0) / graded if graded else 0.0 for g in labels]})
    anomalies = pd.DataFrame(problems, columns=["文件", "部门名称", "类别", "原因"])
    return {SUMMARY: summary, RANKING: ranked, RATES: rates, GRADES: grades, PROBLEMS: anomalies}


def _width(v) -> int:
    s = "" if v is None else str(v)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


def write_summary(frames: dict, output) -> None:
    """Write the sheets with pandas (openpyxl), then formats, widths, filters and the grade chart; atomically."""
    import pandas as pd
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill

    from .files import atomic_output
    score_fmt, pct_fmt = "0.00", "0.00%"
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    with atomic_output(output) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
            for name, df in frames.items():
                df.to_excel(writer, sheet_name=name, index=False)
            summary = frames[SUMMARY]
            n_scores = len(summary.columns) - 8
            formats = {
                SUMMARY: {c: score_fmt for c in list(summary.columns[4:4 + n_scores]) + ["综合评分"]},
                RANKING: {"综合评分": score_fmt},
                RATES: {"分值": "0.##", "平均得分": score_fmt, "平均得分率": pct_fmt},
                GRADES: {"占比": pct_fmt},
            }
            text_cols = {SUMMARY: ("文件", "部门名称", "问题", "预算年度"), RANKING: ("部门名称", "文件"),
                         PROBLEMS: ("文件", "部门名称", "原因")}
            caps = {"问题": 80, "原因": 80, "文件": 50, "部门名称": 40}
            for name, df in frames.items():
                ws = writer.sheets[name]
                cols = list(df.columns)
                for j, col in enumerate(cols, 1):
                    letter = ws.cell(1, j).column_letter
                    cell = ws.cell(1, j)
                    cell.font, cell.fill = head_font, head_fill
                    cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
                    fmt = formats.get(name, {}).get(col)
                    if fmt:
                        for (c,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=j, max_col=j):
                            c.number_format = fmt
                    if col in text_cols.get(name, ()):
                        # text read from the files stays text: openpyxl would store "=..." as a formula
                        for (c,) in ws.iter_rows(min_row=2, max_row=len(df) + 1, min_col=j, max_col=j):
                            if c.data_type == "f":
                                c.data_type = "s"
                            if col in ("问题", "原因"):
                                c.alignment = wrap
                    sample = df[col].head(500).tolist()
                    is_score = fmt == score_fmt and name == SUMMARY and col != "综合评分"
                    width = 10 if is_score else max([_width(col)] + [_width(v) for v in sample]) + 2
                    ws.column_dimensions[letter].width = max(8, min(caps.get(col, 30), width))
                ws.freeze_panes = "C2" if name == SUMMARY else "A2"
                if len(df):
                    ws.auto_filter.ref = ws.dimensions
                if name == SUMMARY:
                    ws.row_dimensions[1].height = 48
            ws = writer.sheets[GRADES]
            n = len(frames[GRADES])
            chart = BarChart()
            chart.type, chart.style = "col", 10
            chart.title, chart.y_axis.title, chart.x_axis.title = "等级分布", "文件数", "评分等级"
            chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=n + 1), titles_from_data=True)
            chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
            chart.legend = None
            chart.height, chart.width = 8, 14
            ws.add_chart(chart, "E2")


def csv_cell(v):
    """A cell for CSV: text that Excel would read as a formula gets a leading ' ; numbers are left as numbers."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def write_csv(summary, path) -> None:
    from .files import atomic_output
    safe = summary.copy()
    for c in safe.columns:
        if safe[c].dtype == object or str(safe[c].dtype) in ("str", "string"):
            safe[c] = safe[c].map(csv_cell).astype(object)
    safe.columns = [csv_cell(c) for c in safe.columns]
    with atomic_output(path) as tmp:
        safe.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\r\n")


# ============================================================================================ command
def run_collect(args, out) -> int:
    from .files import check_output
    t0 = time.perf_counter()
    if args.jobs is not None and args.jobs < 1:
        raise PerfscoreError("--jobs 应为正整数（并行进程数）")
    output = check_output(args.output, ".xlsx", args.force, "汇总工作簿")
    csv_path = check_output(args.csv, ".csv", args.force, "CSV 文件") if args.csv else None
    paths, odd, skipped = expand_sources(args.sources, exclude=[output])
    if not paths and not odd:
        raise PerfscoreError("没有找到可汇总的工作簿（只有被跳过的文件：" + "、".join(skipped) + "）")
    progress = Progress(len(paths))
    try:
        rows = collect_rows(paths, args.jobs, progress=progress)
    except BaseException:  # Ctrl-C: the workers are gone, nothing is written
        progress.close()
        raise
    progress.close(then="正在写入汇总表……")
    files = list(paths) + [p for p, _ in odd]
    rows += [failed_row(UNREADABLE, why) for _, why in odd]
    frames = summary_frames(files, rows)
    write_summary(frames, output)
    if csv_path:
        write_csv(frames[SUMMARY], csv_path)
    elapsed = time.perf_counter() - t0

    cats = Counter(r.get("category") for r in rows)
    read_ok = sum(1 for r in rows if r.get("scores") is not None)
    passed = sum(1 for r in rows if r.get("scores") is not None and r.get("category") is None)
    warned = sum(1 for r in rows if r.get("status") == "通过（有警告）")
    unread = len(rows) - read_ok
    lines = [f"汇总 {len(rows)} 个文件，用时 {elapsed:.1f} 秒（{len(rows) / max(elapsed, 1e-9):.0f} 个/秒）",
             f"  读取成功 {read_ok}：通过 {passed}（其中有警告 {warned}），未通过 {cats.get(FAILED, 0)}",
             f"  无法读取 {unread}" + (f"（其中超时 {cats[TIMEOUT]}，进程终止 {cats[KILLED]}，内部错误 {cats[INTERNAL]}）"
                                      if cats[TIMEOUT] or cats[KILLED] or cats[INTERNAL] else "")]
    if skipped:
        lines.append("  跳过 " + "，".join(f"{k} {v} 个" for k, v in skipped.items()))
    bad = len(frames[PROBLEMS])
    if bad:
        lines.append(f"  {bad} 个文件列在“异常”表中，附原因")
    lines.append(f"已写入 {output}")
    if csv_path:
        lines.append(f"已写入 {csv_path}")
    out.write("\n".join(lines) + "\n")
    return 1 if bad else 0
