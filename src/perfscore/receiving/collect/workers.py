"""Scoring many workbooks in worker processes, each file bounded in time and memory (``collect_rows``).

How
    Every file is handled in a worker process (``ProcessPoolExecutor``, ``--jobs``, default: the CPUs this
    process may use) by ``process_file``, which turns the file into a row (rows.py) and never raises: every
    failure is a row with a reason. Files go to the workers in chunks of up to ``MAX_CHUNK`` consecutive files
    (about eight chunks per worker for small batches), so the per-task cost of the pool (pickling, queues) stays
    far below the ~3 ms a file costs; at most ``IN_FLIGHT_PER_WORKER`` chunks per worker are queued at a time,
    which bounds the parent's memory and keeps the progress bar honest.

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
    * a worker ends when the parent dies (Linux), instead of waiting for work forever.
"""
from __future__ import annotations

import concurrent.futures as cf
import faulthandler
import math
import os
import signal
import sys
import time
from collections import deque
from concurrent.futures.process import BrokenProcessPool

from perfscore.errors import PerfscoreError
from perfscore.receiving.collect.rows import INTERNAL, KILLED, TIMEOUT, UNREADABLE, failed_row, score_file

FILE_TIMEOUT = 20.0        # seconds; a valid workbook takes ~3 ms, the largest the reader accepts well under 2 s
HARD_TIMEOUT = 40.0        # seconds; the worker process is ended (native code that never returns)
WORKER_MEMORY_MB = 1024    # address space a worker may add to what it had at start
MAX_CHUNK = 32
IN_FLIGHT_PER_WORKER = 4


# ============================================================================================ worker side
class _FileTimeout(BaseException):
    """Raised by SIGALRM inside a worker; a BaseException so that no ``except Exception`` on the way swallows it."""


_HARD = HARD_TIMEOUT
_ARMED_AT = -math.inf
_DEVNULL = None


def _on_alarm(signum, frame):
    raise _FileTimeout()


def _init_worker(memory_mb: float, hard_timeout: float, quiet: bool, given: dict | None = None) -> None:
    global _HARD, _DEVNULL
    if given is not None:  # collect --system files (a spawned worker does not inherit the parent's module state)
        from perfscore.receiving.collect import rows  # lazy: in the worker
        rows.GIVEN.clear()
        rows.GIVEN.update(given)
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
    from perfscore.engine.system import available_years, load_system  # lazy: in the worker
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


def process_file(path: str, file_timeout: float = FILE_TIMEOUT) -> dict:
    """One file -> a small plain dict. Never raises (except on Ctrl-C): every failure is a row with a reason.
    The soft timeout applies in a worker (where SIGALRM is handled), not when called in another process."""
    alarm = file_timeout and hasattr(signal, "setitimer") and signal.getsignal(signal.SIGALRM) is _on_alarm
    try:
        try:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, file_timeout)
            return score_file(path)
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
    from perfscore.receiving.collect.rows import GIVEN  # lazy: in the worker
    return cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                                  initargs=(memory_mb, hard_timeout, quiet, dict(GIVEN)))


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

    from perfscore.receiving.check import check_filled  # noqa: F401  (imported before the fork: warm workers)
    from perfscore.receiving.collect.rows import warm_layouts  # lazy: in the worker
    warm_layouts()

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
