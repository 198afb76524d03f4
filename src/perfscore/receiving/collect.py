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
    file without ``--force``, by ``summary.py`` (XlsxWriter, constant memory; layout and print setup there):
    汇总 (one row per file in rank order: 排名, 部门名称, 综合评分, 评分等级, every indicator score in table
    order — always the engine's recomputed scores, never the ones stored in the file — then 检查结果, years,
    file and problems), 排名 (files with a total, highest first; equal totals share a rank), 指标得分率 (mean
    of score/分值 over the files where the indicator could be scored, per rules year), 等级分布 (counts, with a
    bar chart on a chart sheet of its own, 等级分布图), 异常 (every file or folder that could not be read, did not pass its check or
    shares its department name with another file, with the reason) and, with ``--compare``, 与上次对比.
    Files are named relative to the collected folder (the common folder of the sources) and linked relative
    to the summary's folder: no absolute path goes into the workbook or the CSV. ``--csv``: the 汇总 rows in
    UTF-8 with BOM; every text cell that Excel would take for a formula (starting with = + - @, tab or CR) is
    prefixed with ``'``; numbers stay numbers (years as integers).

Duplicates
    Files with the same 部门名称 (compared without spaces, full-width folded) are all listed in 异常. Exact
    copies (same scores, total, grade and budget year) are ranked and counted once; copies that differ are
    not ranked at all, since nobody can tell which one is the department's result.

Comparison (``--compare LAST.xlsx``)
    LAST is a summary written by collect (this version or an earlier one: the header row is found by its
    labels). Departments are matched by name; the workbooks have no department-code field. Last time's
    total, grade and rules year are shown beside this time's; the change is computed only when both come
    from the same indicator system (same region and rules year, or rules-year files with no difference), and
    otherwise the sheet says why not. Departments present only once are listed. LAST is checked like a
    received workbook (zip sanity, bombs, DTDs) and its sheet extent is bounded before parsing; anything that
    is not such a summary is a usage error (exit 2) with a message in Chinese.

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

from perfscore.errors import PerfscoreError, UnknownYear

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
    """-> (workbook paths in a stable order, [(path, reason)] for named things that are not regular files and
    folders that could not be read, counts of skipped files by kind). Raises PerfscoreError when a source
    matches nothing. ``exclude``: paths, or {path: label} (how the skipped file is counted)."""
    if not isinstance(exclude, dict):
        exclude = dict.fromkeys(exclude, "输出文件本身")
    excluded = {os.path.realpath(p): label for p, label in exclude.items()}
    found: dict[str, Path] = {}
    odd: dict[str, tuple[Path, str]] = {}
    skipped: Counter = Counter()

    def take(path: Path, explicit: bool):
        name = path.name
        if not explicit and not name.lower().endswith(SUFFIXES):
            return False
        real = os.path.realpath(path)
        if real in excluded:
            skipped[excluded[real]] += 1
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
            odd.setdefault(real, (path, f"无法访问（{os_reason(exc)}）"))
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
        failed = []

        def onerror(exc: OSError):  # a folder that cannot be listed: its workbooks would be missing unseen
            failed.append(exc)

        for d, dirs, files in os.walk(root, followlinks=False, onerror=onerror):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for f in sorted(files):
                hit |= take(Path(d) / f, explicit=False)
        for exc in failed:
            where = Path(exc.filename or root)
            odd.setdefault(os.path.realpath(where) + os.sep, (where, f"无法读取此文件夹（{os_reason(exc)}）：其中的工作簿"
                                                         f"没有汇总，请检查文件夹权限后重新汇总"))
            hit = True
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


def os_reason(exc: OSError) -> str:
    """An OSError in Chinese (strerror is English)."""
    import errno
    words = {errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限", errno.ENOENT: "已不存在",
             errno.ELOOP: "符号链接循环", errno.ENAMETOOLONG: "路径过长", errno.EIO: "磁盘读写错误",
             errno.ENOTDIR: "不是文件夹"}
    return words.get(exc.errno, f"系统错误 {exc.errno}" if exc.errno else type(exc).__name__)


def source_base(sources) -> Path:
    """The folder the file names in the summary are relative to: the common folder of all sources (a folder
    itself, the fixed part of a pattern, the folder of a named file)."""
    roots = []
    for src in map(str, sources):
        if glob.has_magic(src):
            fixed = []
            for part in Path(src).parts:
                if glob.has_magic(part):
                    break
                fixed.append(part)
            root = Path(*fixed) if fixed else Path(".")
        else:
            root = Path(src) if Path(src).is_dir() else Path(src).parent
        roots.append(os.path.abspath(root))
    try:
        return Path(os.path.commonpath(roots)) if roots else Path.cwd()
    except ValueError:  # different drives (Windows)
        return Path(roots[0])


def relative_name(path, base: Path) -> str:
    """``path`` relative to ``base`` with / separators; the bare file name when it is not under ``base``."""
    a = os.path.abspath(path)
    try:
        rel = os.path.relpath(a, base)
    except ValueError:
        return Path(a).name
    if rel.startswith(".."):
        return Path(a).name
    return Path(rel).as_posix()


def link_target(path, output: Path) -> str | None:
    """A hyperlink from the summary to ``path``, relative to the summary's folder; None where none can be made
    (another drive, or a name a hyperlink cannot carry)."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(Path(output).parent))
    except ValueError:
        return None
    if "#" in rel or "%" in rel or len(rel) > 1500 or _ILLEGAL_XML.search(rel):
        return None
    return Path(rel).as_posix()


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
    from perfscore.receiving.check import check_filled  # noqa: F401  (warm imports and the indicator systems)
    from perfscore.engine.system import available_years, load_system
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
    reason = _clean(explain(reason), MAX_PROBLEMS)
    return {"status": category, "category": category, "problems": reason, "reason": reason}


_CALAMINE = re.compile(r"无法读取工作簿内容（([A-Za-z_]\w*)[:：][^）]*）")


def explain(reason: str) -> str:
    """Reasons from the reader, said for a reviewer: the parser's own (English) error text replaced by what it
    means (the reader names oversized parts for what they are)."""
    def parser_error(m):
        kind = m.group(1)
        if "xml" in kind.lower():
            return ("工作簿内部的 XML 内容已损坏，无法解析（可能在传输中损坏，或被其他程序改动过）："
                    "请对方用 Excel 重新打开、保存后再提交")
        if "zip" in kind.lower():
            return "工作簿的压缩结构已损坏，无法解析：请对方重新保存后再提交"
        return "工作簿内容无法解析（格式错误）：文件可能已损坏，请对方重新保存后再提交"

    return _CALAMINE.sub(parser_error, reason)


def _exact_system(year: int, region: str = "shenzhen"):
    """The rules year must have its own file in the workbook's region: load_system would fall back to an older year."""
    from perfscore.engine.system import available_years, load_system
    key = (region, year)
    if key not in _YEARS:  # the system itself, or None (a file-system scan per file would cost ~0.1 ms)
        _YEARS[key] = load_system(year, region=region) if year in available_years(region) else None
    if _YEARS[key] is None:
        years = "、".join(map(str, available_years(region))) or "无"
        raise UnknownYear(f"规则年度 {year} 没有对应的指标体系（地区 {region} 现有年度：{years}）：文件可能被改动过，"
                          f"或由更新的 perfscore 生成；请核实后安装该地区、该年度的指标体系再汇总")
    return _YEARS[key]


def system_key(r) -> tuple:
    """Which indicator system a row was scored by: (region, rules year)."""
    return (r.get("region") or "shenzhen", r.get("year"))


def _score_file(path: str) -> dict:
    from perfscore.receiving.check import ERROR, check_filled
    from perfscore.receiving.reader import read_filled
    try:
        empty = os.stat(path).st_size == 0
    except OSError:
        empty = False  # read_filled says why
    if empty:
        raise PerfscoreError("文件为空（0 字节）：可能是上传、复制或下载时中断，请对方重新发送")
    filled = read_filled(path)
    h = filled.header
    try:
        _exact_system(filled.year, filled.region)
        rep = check_filled(filled)
    except PerfscoreError as exc:  # read, but not scorable (unknown rules year, inputs of another layout)
        row = failed_row(UNREADABLE, str(exc))
        row.update(department=_clean(h.get("部门名称")), budget_year=_clean(h.get("预算年度")), year=filled.year)
        return row
    res = rep.result
    errors = [i for i in rep.items if i.level == ERROR]
    return {
        "department": _clean(h.get("部门名称")), "budget_year": _clean(h.get("预算年度")), "year": filled.year,
        "region": filled.region, "kind": filled.kind_text, "scores": tuple(r.score if r.error is None else None for r in res.indicators),
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

    from perfscore.receiving.check import check_filled, expected_formulas  # noqa: F401
    from perfscore.engine.system import available_years, load_system
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
DUPLICATE = "部门重复"
UNRANKED = "未排名"
COMPARE = "与上次对比"


def _systems(rows):
    from perfscore.engine.system import load_system
    return {k: load_system(k[1], region=k[0])
            for k in sorted({system_key(r) for r in rows if r.get("scores") is not None})}


def _score_columns(systems) -> list[str]:
    cols: list[str] = []
    for s in systems.values():
        cols += [i.name for i in s.indicators if i.name not in cols]
    return cols


def dept_key(name) -> str | None:
    """A department name as it is matched: NFKC (full-width letters, digits and spaces folded), no spaces."""
    import unicodedata
    if name is None:
        return None
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name)))
    return key or None


def mark_duplicates(names, rows) -> None:
    """Several files for one department (same 部门名称): every one is flagged. Exact copies (same scores, total,
    grade and budget year) keep the first one ranked; when the copies differ, none is ranked, since nobody can
    tell which one is the department's result. Sets ``rank_ok`` and ``dup`` (a reason) on the rows."""
    groups: dict = {}
    for k, r in enumerate(rows):
        r["rank_ok"] = r.get("total") is not None
        key = dept_key(r.get("department")) if r.get("scores") is not None else None
        if key:
            groups.setdefault(key, []).append(k)
    for key, idx in groups.items():
        if len(idx) < 2:
            continue
        sig = {(rows[k].get("scores"), rows[k].get("total"), rows[k].get("grade"), rows[k].get("budget_year"))
               for k in idx}
        same = len(sig) == 1
        listed = "、".join(names[k] for k in idx[:10]) + (f" 等 {len(idx)} 个" if len(idx) > 10 else "")
        for n, k in enumerate(idx):
            r = rows[k]
            if same:
                why = (f"部门名称重复：{len(idx)} 个文件的部门名称都是“{r['department']}”，数据完全相同（{listed}），"
                       + ("按一份参加排名" if n == 0 else "本文件是重复副本，未参加排名、未计入统计")
                       + "；请核实是否重复提交")
                r["rank_ok"] = r["rank_ok"] and n == 0
                r["copy"] = n > 0
            else:
                why = (f"部门名称重复：{len(idx)} 个文件的部门名称都是“{r['department']}”，但数据不同（{listed}）："
                       f"无法确定以哪份为准，均未参加排名；若是不同单位，请在工作簿中填写单位全称后重新汇总")
                r["rank_ok"] = False
            r["dup"] = why


def summary_tables(files, rows, *, names=None, links=None, previous=None) -> tuple[list, dict]:
    """The sheets (summary.Table) and facts for the title rows and the terminal: 汇总, 排名, 指标得分率, 等级分布,
    异常, and 与上次对比 when ``previous`` (a Previous) is given. ``names``: the file names to show (relative to
    the collected folder); ``links``: relative hyperlink targets (or None)."""
    from perfscore.receiving.summary import INT, LINK, NUMBER, PCT, SCORE, TEXT, WRAP, Column, Table
    names = names or [display_path(f) for f in files]
    links = links or [None] * len(files)
    systems = _systems(rows)
    score_cols = _score_columns(systems)
    mark_duplicates(names, rows)
    counted = [r for r in rows if r.get("scores") is not None and not r.get("copy")]

    # ranks within each indicator system (scores under different systems are not comparable): equal totals
    # (to 2 decimals) share a rank
    several = len(systems) > 1
    ranked = sorted((k for k, r in enumerate(rows) if r["rank_ok"]),
                    key=lambda k: (system_key(rows[k]), -round(rows[k]["total"], 2),
                                   dept_key(rows[k]["department"]) or "", names[k]))
    rank: dict[int, int] = {}
    pos = 0
    for i, k in enumerate(ranked):
        prev = ranked[i - 1] if i else None
        if prev is None or system_key(rows[prev]) != system_key(rows[k]):
            pos = 0
        pos += 1
        same = (prev is not None and system_key(rows[prev]) == system_key(rows[k])
                and round(rows[prev]["total"], 2) == round(rows[k]["total"], 2))
        rank[k] = rank[prev] if same else pos

    def system_label(r):
        s = systems.get(system_key(r))
        return f"{s.region} {s.year} 年版" if s else None
    unranked = sorted((k for k, r in enumerate(rows) if r.get("total") is not None and not r["rank_ok"]),
                      key=lambda k: (-rows[k]["total"], names[k]))
    rest = [k for k, r in enumerate(rows) if r.get("total") is None]
    order = ranked + unranked + rest

    # several systems: one block per system (ranks restart), named in the first column
    cols = (([Column("指标体系", TEXT, 20)] if several else []) + [Column("排名", INT), Column("部门名称", TEXT, 30), Column("综合评分", SCORE), Column("评分等级", TEXT)]
            + [Column(c, SCORE) for c in score_cols]
            + [Column("检查结果", TEXT, 16), Column("预算年度", INT), Column("规则年度", INT), Column("文件", LINK),
               Column("问题", WRAP, 36)])
    srows, slinks = [], []
    for k in order:
        r = rows[k]
        scores = dict.fromkeys(score_cols)
        if r.get("scores") is not None:
            for ind, v in zip(systems[system_key(r)].indicators, r["scores"]):
                scores[ind.name] = v
        problems = "；".join(x for x in (r.get("dup"), r.get("problems")) if x) or None
        srows.append(([system_label(r)] if several else []) + [
                      rank.get(k, UNRANKED if r.get("total") is not None else None), r.get("department"),
                      r.get("total"), r.get("grade"), *scores.values(), r["status"], r.get("budget_year"),
                      r.get("year"), names[k], problems])
        slinks.append(links[k])

    rcols = ([Column("指标体系", TEXT, 20)] if several else []) + [
        Column("排名", INT), Column("部门名称", TEXT, 30), Column("综合评分", SCORE), Column("评分等级", TEXT),
        Column("检查结果", TEXT, 16), Column("文件", LINK)]
    rrows = [([system_label(rows[k])] if several else [])
             + [rank[k], rows[k]["department"], rows[k]["total"], rows[k]["grade"], rows[k]["status"], names[k]]
             for k in ranked]

    rate_rows = []
    for key, s in systems.items():
        mine = [r for r in counted if system_key(r) == key]
        for j, ind in enumerate(s.indicators):
            vals = [r["scores"][j] for r in mine if r["scores"][j] is not None]
            rate_rows.append(([s.region] if several else []) + [s.year, j + 1, ind.level1.name, ind.name, ind.weight,
                              sum(vals) / len(vals) if vals else None,
                              sum(v / ind.weight for v in vals) / len(vals) if vals else None,
                              len(vals), len(mine) - len(vals)])
    tcols = ([Column("地区", TEXT)] if several else []) + [Column("规则年度", INT), Column("序号", INT), Column("一级指标", TEXT), Column("指标", TEXT, 36),
             Column("分值", NUMBER), Column("平均得分", SCORE), Column("平均得分率", PCT), Column("计分文件数", INT),
             Column("未能计分文件数", INT)]

    labels: list[str] = []
    for s in systems.values():
        labels += [g for _, g in s.grades if g not in labels]
    counts = Counter(r.get("grade") for r in counted if r.get("grade"))
    graded = sum(counts.values())
    grows = [[g, counts.get(g, 0), counts.get(g, 0) / graded if graded else 0.0] for g in labels]
    copies = sum(1 for r in rows if r.get("copy"))

    problems, plinks = [], []
    for k in order:
        r = rows[k]
        if r.get("category") or r.get("dup"):
            cat = r.get("category") or DUPLICATE
            why = "；".join(x for x in (r.get("reason") or r.get("problems"), r.get("dup")) if x)
            problems.append([names[k], r.get("department"), cat, why])
            plinks.append(links[k])
    pcols = [Column("文件", LINK), Column("部门名称", TEXT, 30), Column("类别", TEXT), Column("原因", WRAP, 80)]

    regions = sorted({s.region for s in systems.values()})
    facts = {"regions": regions, "years": sorted({y for _, y in systems}), "n": len(rows), "ranked": len(ranked),
             "duplicates": sum(1 for r in rows if r.get("dup")), "copies": copies, "problems": len(problems)}
    head = ("、".join(regions) if regions else "") + "部门整体支出绩效自评汇总"
    tables = [
        Table(SUMMARY, f"{head}（按综合评分排序）", cols, srows, slinks, freeze_cols=2,
              notes=[f"注：{UNRANKED}——部门名称重复的文件（见“异常”表）。分数均由 perfscore 按工作簿中的输入重新计算。"]
              if any(v[0] == UNRANKED for v in srows) else []),
        Table(RANKING, f"{head}：排名", rcols, rrows, [links[k] for k in ranked], freeze_cols=2),
        Table(RATES, f"{head}：各指标平均得分率", tcols, rate_rows),
        Table(GRADES, f"{head}：等级分布", [Column("等级", TEXT), Column("文件数", INT), Column("占比", PCT)], grows,
              chart={"sheet": GRADES + "图", "categories": 0, "values": 1, "title": f"{head}：等级分布（计入 {graded} 个文件）",
                     "y": "文件数", "x": "评分等级"},
              notes=[f"注：{copies} 个重复副本未计入。"] if copies else []),
        Table(PROBLEMS, f"{head}：异常（无法读取、未通过检查或部门重复的文件，附原因）", pcols, problems, plinks),
    ]
    if previous is not None:
        table, cmp_facts = compare_table(rows, rank, order, systems, previous)
        tables.append(table)
        facts["compare"] = cmp_facts
    return tables, facts


def csv_cell(v):
    """A cell for CSV: text that Excel would read as a formula gets a leading ' ; numbers are left as numbers."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, int):
        return str(v)
    return csv_cell(str(v))


def write_csv(table, path) -> None:
    """The 汇总 rows in UTF-8 with BOM (Excel opens it directly), text escaped against formula injection."""
    import csv

    from perfscore.files import atomic_output
    with atomic_output(path) as tmp:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow([csv_cell(c.name) for c in table.columns])
            for row in table.rows:
                w.writerow([_csv_value(v) for v in row])


def write_summary(tables, output, subtitle: str) -> None:
    from perfscore.files import atomic_output
    from perfscore.receiving.summary import write_workbook
    with atomic_output(output) as tmp:
        write_workbook(tmp, tables, subtitle)


# ============================================================================================ comparison
MAX_PREVIOUS_ROWS = 100_000


class Previous:
    """A summary written earlier by collect: per department (matched by name) its total, grade, rules year."""

    def __init__(self, name, region, rows):
        self.name, self.region, self.rows = name, region, rows  # rows: [(key, department, total, grade, year, budget)]


def read_previous(path) -> Previous:
    """Read the 汇总 sheet of an earlier collect summary. Anything else is a PerfscoreError saying what is wrong."""
    import zipfile

    from perfscore.receiving.reader import inspect_package
    path = Path(path)
    what = f"上次的汇总表“{path.name}”"
    if not path.exists():
        raise PerfscoreError(f"找不到{what}：请检查 --compare 后的文件名")
    if path.is_dir() or path.suffix.lower() not in (".xlsx", ".xlsm"):
        raise PerfscoreError(f"{what}不是 .xlsx 文件：--compare 需要上次用 perfscore collect 生成的汇总表")
    try:
        inspect_package(path)
    except PerfscoreError as exc:
        raise PerfscoreError(f"{what}无法读取：{exc}") from None
    not_ours = f"{what}不是 perfscore collect 生成的汇总表（{{}}）：请用上次 collect 输出的 .xlsx 文件"
    try:
        from perfscore.excel.cache import sheet_parts
        with zipfile.ZipFile(path) as z:
            parts = sheet_parts(z)
            if SUMMARY not in parts:
                raise PerfscoreError(not_ours.format(f"没有“{SUMMARY}”工作表"))
            xml = z.read(parts[SUMMARY])
    except PerfscoreError:
        raise
    except Exception:
        raise PerfscoreError(not_ours.format("工作簿结构不完整")) from None
    # calamine builds a dense range up to the last cell reference: bound it before parsing
    refs = re.findall(rb'<c r="([A-Z]+)([0-9]+)"', xml)
    dims = re.findall(rb'<dimension ref="(?:[A-Z]+[0-9]+:)?([A-Z]+)([0-9]+)"', xml)
    for col, row in refs + dims:
        if len(col) > 2 or (len(col) == 2 and col > b"CZ") or int(row) > MAX_PREVIOUS_ROWS + 10:
            raise PerfscoreError(not_ours.format(f"“{SUMMARY}”表的范围异常（到 {col.decode()}{row.decode()}），"
                                                 f"上限为 {MAX_PREVIOUS_ROWS} 行"))
    try:
        from python_calamine import CalamineWorkbook
        data = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SUMMARY).to_python()
    except Exception:
        raise PerfscoreError(not_ours.format(f"“{SUMMARY}”表无法解析")) from None
    head_at = next((i for i, r in enumerate(data[:6]) if "部门名称" in r and "综合评分" in r), None)
    if head_at is None:
        raise PerfscoreError(not_ours.format(f"“{SUMMARY}”表中找不到“部门名称”“综合评分”表头"))
    head = [str(x) for x in data[head_at]]
    col = {h: head.index(h) for h in ("部门名称", "综合评分", "评分等级", "规则年度", "预算年度") if h in head}
    region = None
    for r in data[:head_at]:
        for x in r:
            m = re.search(r"地区[：:]\s*([^；;｜|\s]+)", str(x))
            if m and m.group(1) not in ("—", "-"):
                region = m.group(1)
    out = []

    def get(r, h):
        j = col.get(h)
        v = r[j] if j is not None and j < len(r) else None
        return None if v == "" else v

    def year(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return _clean(v) if v is not None else None
    for r in data[head_at + 1:]:
        name = get(r, "部门名称")
        key = dept_key(_clean(name)) if isinstance(name, (str, float, int)) else None
        if not key:
            continue
        total = get(r, "综合评分")
        total = total if isinstance(total, (int, float)) and not isinstance(total, bool) and math.isfinite(total) else None
        grade = get(r, "评分等级")
        out.append((key, _clean(name), total, _clean(grade) if isinstance(grade, str) else None,
                    year(get(r, "规则年度")), year(get(r, "预算年度"))))
    if not any(x[2] is not None for x in out):
        raise PerfscoreError(f"{what}中没有任何部门的综合评分：请确认这是上次 collect 输出的汇总表")
    return Previous(path.name, region, out)


def _same_system(region_a, year_a, region_b, year_b, cache={}) -> bool:
    """Scores are comparable when both come from the same indicator system: same region and rules year, or
    rules-year files with no difference at all (perfscore rules diff)."""
    if region_a and region_b and region_a != region_b:
        return False
    if year_a == year_b:
        return True
    key = (year_a, year_b)
    if key not in cache:
        from perfscore.receiving.annual import diff_systems
        from perfscore.engine.system import available_years
        years = available_years()
        try:
            cache[key] = (isinstance(year_a, int) and isinstance(year_b, int) and year_a in years
                          and year_b in years and not diff_systems(str(year_a), str(year_b)))
        except PerfscoreError:
            cache[key] = False
    return cache[key]


def compare_table(rows, rank, order, systems, prev: Previous):
    from perfscore.receiving.summary import INT, SCORE, TEXT, WRAP, Column, Table
    regions = {k: s.region for k, s in systems.items()}
    before: dict = {}
    for key, name, total, grade, year, budget in prev.rows:
        before.setdefault(key, []).append((name, total, grade, year, budget))
    out, seen = [], set()
    facts = Counter()
    for k in order:
        r = rows[k]
        key = dept_key(r.get("department"))
        if not key or key in seen:
            continue
        seen.add(key)
        cur = [r["department"], rank.get(k, UNRANKED), r.get("total"), r.get("grade"), r.get("year")]
        last = before.get(key)
        if not last:
            out.append([*cur[:1], "仅本次有", *cur[1:], None, None, None, None, "上次汇总中没有这个部门"])
            facts["only_now"] += 1
            continue
        if len(last) > 1:
            out.append([*cur[:1], "无法对应", *cur[1:], None, None, None, None,
                        f"上次汇总中有 {len(last)} 行同名部门，无法确定对应哪一行"])
            facts["ambiguous"] += 1
            continue
        name, total, grade, year, budget = last[0]
        note, change = [], None
        region_now = regions.get(system_key(r))
        if total is None:
            note.append("上次没有综合评分（当时无法读取或无法计分）")
        elif r.get("total") is None:
            note.append(f"本次没有综合评分（{r.get('status')}，见“异常”表）")
        elif _same_system(region_now, r.get("year"), prev.region, year):
            change = round(r["total"] - total, 2)
            if year != r.get("year"):
                note.append(f"规则年度不同（上次 {year}，本次 {r['year']}），但两年的指标体系完全相同，可直接相减")
        else:
            why = (f"地区不同（上次 {prev.region}，本次 {region_now}）" if prev.region and region_now
                   and prev.region != region_now else f"规则年度不同（上次 {year}，本次 {r['year']}）")
            note.append(f"{why}，指标体系不同：上次的分数并列显示，不相减")
            facts["other_system"] += 1
        if budget is not None and budget == r.get("budget_year"):
            note.append(f"上次与本次的预算年度相同（{budget}）：请确认上次的汇总表选得对")
        out.append([*cur[:1], "两年都有", *cur[1:], total, grade, year, change, "；".join(note) or None])
        facts["both"] += 1
    gone = []
    for key, items in before.items():
        if key not in seen:
            for name, total, grade, year, budget in items:
                gone.append([name, "仅上次有", None, None, None, None, total, grade, year, None, "本次没有收到这个部门的工作簿"])
    facts["only_before"] = len(gone)
    out += gone
    cols = [Column("部门名称", TEXT, 30), Column("对比情况", TEXT), Column("本次排名", INT), Column("本次综合评分", SCORE),
            Column("本次评分等级", TEXT), Column("本次规则年度", INT), Column("上次综合评分", SCORE),
            Column("上次评分等级", TEXT), Column("上次规则年度", INT), Column("增减", SCORE), Column("说明", WRAP, 60)]
    regions_now = "、".join(sorted(set(regions.values())))
    title = (f"{regions_now}部门整体支出绩效自评汇总：与上次汇总（{prev.name}"
             f"{'，' + prev.region if prev.region else ''}）对比")
    notes = ["按部门名称匹配（忽略空格和全角/半角差异）：评分工作簿中没有部门代码字段。"
             "指标体系不同（规则年度或地区不同）时，上次的分数并列显示，不计算增减。"]
    return Table(COMPARE, title, cols, out, freeze_cols=1, notes=notes), dict(facts)


# ============================================================================================ command
def run_collect(args, out) -> int:
    import datetime

    from perfscore.files import check_output
    t0 = time.perf_counter()
    if args.jobs is not None and args.jobs < 1:
        raise PerfscoreError("--jobs 应为正整数（并行进程数）")
    output = check_output(args.output, ".xlsx", args.force, "汇总工作簿")
    csv_path = check_output(args.csv, ".csv", args.force, "CSV 文件") if args.csv else None
    compare = getattr(args, "compare", None)
    previous = read_previous(compare) if compare else None
    exclude = {output: "输出文件本身"}
    if compare:
        exclude[Path(compare)] = "上次的汇总表（--compare）"
    paths, odd, skipped = expand_sources(args.sources, exclude=exclude)
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
    base = source_base(args.sources)
    names = [display_path(relative_name(f, base)) + ("/" if f in dict(odd) and Path(f).is_dir() else "")
             for f in files]
    links = [link_target(f, output) if k < len(paths) else None for k, f in enumerate(files)]
    _scrub_paths(files, names, rows, base)
    tables, facts = summary_tables(files, rows, names=names, links=links, previous=previous)
    folder = base.name or str(base)
    years = "、".join(map(str, facts["years"])) or "（无可计分的文件）"
    subtitle = (f"地区：{'、'.join(facts['regions']) or '—'}；规则年度：{years}；汇总日期：{datetime.date.today():%Y-%m-%d}；"
                f"文件夹：{folder}；共 {len(rows)} 个文件" + (f"；对比：{previous.name}" if previous else ""))
    write_summary(tables, output, subtitle)
    if csv_path:
        write_csv(tables[0], csv_path)
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
    if facts["duplicates"]:
        lines.append(f"  部门名称重复 {facts['duplicates']} 个文件（其中重复副本 {facts['copies']} 个），"
                     f"参加排名 {facts['ranked']} 个")
    if skipped:
        lines.append("  跳过 " + "，".join(f"{k} {v} 个" for k, v in skipped.items()))
    bad = facts["problems"]
    if bad:
        lines.append(f"  {bad} 个文件列在“异常”表中，附原因")
    if previous is not None:
        c = facts["compare"]
        lines.append(f"  与上次汇总 {previous.name} 对比：两年都有 {c.get('both', 0)}，仅本次有 {c.get('only_now', 0)}，"
                     f"仅上次有 {c.get('only_before', 0)}"
                     + (f"；指标体系不同、分数并列未相减 {c['other_system']}" if c.get("other_system") else "")
                     + (f"；同名无法对应 {c['ambiguous']}" if c.get("ambiguous") else "")
                     + f"（见“{COMPARE}”表）")
    lines.append(f"已写入 {output}")
    if csv_path:
        lines.append(f"已写入 {csv_path}")
    out.write("\n".join(lines) + "\n")
    return 1 if bad else 0


def _scrub_paths(files, names, rows, base: Path) -> None:
    """No absolute path in a reason: where a message quotes a file's path, it gets the relative name."""
    roots = {str(base), os.path.abspath(base)}
    for f, name, r in zip(files, names, rows):
        for key in ("problems", "reason"):
            v = r.get(key)
            if isinstance(v, str):
                for p in {str(f), os.path.abspath(f)}:
                    v = v.replace(p, name)
                for root in roots:
                    if root not in ("", ".", os.sep):
                        v = v.replace(root + os.sep, "").replace(root, "")
                r[key] = v
