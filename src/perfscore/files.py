"""Writing outputs without losing anyone's work: no silent overwrite, atomic replace, ordinary permissions; and
reading a received package whose compressed contents may be damaged."""
from __future__ import annotations

import contextlib
import lzma
import os
import re
import tempfile
import zipfile
import zlib
from pathlib import Path

from perfscore.errors import PerfscoreError

# Characters XML 1.0 cannot hold (C0 controls other than tab, newline and carriage return; lone surrogates; the two
# non-characters): openpyxl and python-docx refuse them, raw they make a file Excel and Word call corrupt. Text read
# from a received workbook or a case file may carry them (a pasted ESC, \x01 typed through an import).
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value):
    """``value`` as a cell or paragraph may hold it: text without the characters XML cannot hold; others as is."""
    if isinstance(value, str) and XML_ILLEGAL.search(value):
        return XML_ILLEGAL.sub("", value)
    return value


def same_file(a, b) -> bool:
    """Whether paths ``a`` and ``b`` name one file (through links, another spelling, or a hard link)."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_output(path, suffix: str, force: bool, what: str = "输出文件", inputs=()) -> Path:
    """``path`` as an output: the right suffix, not a folder, not one of ``inputs`` (never, even with --force:
    an input is never overwritten), not an existing file unless ``force``, in a folder that can be written."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise PerfscoreError(f"{what} {path} 应以 {suffix} 结尾")
    for src in inputs:
        if src is not None and same_file(path, src):
            raise PerfscoreError(f"{what} {path} 就是输入文件 {src}：输入文件从不被覆盖（加 --force 也不行），"
                                 f"请用 -o 指定另一个文件名")
    if path.is_dir():
        raise PerfscoreError(f"{path} 是一个文件夹，不能作为{what}：请用 -o 指定文件名，例如 {path / ('输出' + suffix)}")
    if path.exists() and not force:
        raise PerfscoreError(f"文件 {path} 已存在：为免覆盖他人的工作，未写入。确需覆盖请加 --force，或用 -o 指定新文件名")
    if not path.parent.is_dir():
        raise PerfscoreError(f"目录 {path.parent} 不存在：请先创建，或用 -o 指定其他位置")
    writable_folder(path.parent)
    return path


def writable_folder(folder) -> None:
    """Refuse, saying why, a folder nothing can be written to: a read-only disk (os.access says “not writable”
    there too, but no permission would help) or missing permission."""
    if os.access(folder, os.W_OK):
        return
    if read_only_disk(folder):
        raise PerfscoreError(f"{folder} 所在的磁盘是只读的（如光盘、写保护的 U 盘、只读挂载的共享目录）：无法写入，"
                             f"请换一个可写的位置（用 -o 指定）")
    raise PerfscoreError(f"没有写入目录 {folder} 的权限：请换一个可写的位置（用 -o 指定）")


def read_only_disk(folder) -> bool:
    """Whether ``folder`` lies on a file system mounted read-only (POSIX statvfs; elsewhere: unknown, False)."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):
        return False


def missing_text(path) -> str:
    """Why ``path``, which is not there as a file, cannot be opened: a link that loops or points nowhere is said
    as such (“文件不存在” would send the user looking for a file they can see in the folder)."""
    import errno
    path = Path(path)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "是循环的符号链接（链接经过若干步又指回自己，不指向任何文件）：请指定实际的文件，或修正该链接"
        if isinstance(exc, FileNotFoundError) and path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"是失效的符号链接（指向的 {target} 不存在）：请指定实际的文件，或修正该链接"
        if isinstance(exc, FileNotFoundError):
            return "文件不存在：请检查路径"
        return f"无法访问（{os_error_text(exc)}）"
    return "不是普通文件（是文件夹或设备）：请指定文件"


def os_error_text(exc: OSError) -> str:
    """What went wrong with a file, in Chinese, naming the file."""
    import errno
    name = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    if isinstance(exc, PermissionError):
        return f"没有权限读写{name}：请换一个可写的位置，或检查文件权限"
    if isinstance(exc, IsADirectoryError):
        return f"{name.strip() or '目标'} 是一个文件夹，不是文件：请指定文件名"
    if isinstance(exc, NotADirectoryError):
        return f"路径{name} 中有一段不是文件夹：请检查路径"
    if isinstance(exc, FileNotFoundError):
        return f"找不到{name}：请检查路径"
    if exc.errno == errno.ELOOP:
        return f"{name.strip() or '路径'} 是循环的符号链接（链接又指回自己）：请指定实际的文件或文件夹"
    if exc.errno == errno.ENOSPC:
        return f"磁盘空间不足，无法写入{name}"
    if exc.errno == errno.EROFS:
        return f"{name.strip() or '目标位置'} 所在的磁盘是只读的（如光盘、写保护的 U 盘、只读挂载的共享目录）：请换一个可写的位置"
    return f"读写{name} 时出错（{exc.strerror or type(exc).__name__}）"


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step, else it is removed."""
    path = Path(path)
    if path.is_dir():
        raise PerfscoreError(f"{path} 是一个文件夹，不能写入：请指定文件名")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError) and path.parent.is_dir():  # e.g. /proc: the folder refuses new files
            raise PerfscoreError(f"无法在 {path.parent} 中创建文件（该位置不允许写入）：请换一个可写的位置") from None
        exc.filename = str(path.parent)
        raise PerfscoreError(f"无法在 {path.parent} 中创建文件：{os_error_text(exc)}") from None
    os.close(fd)
    try:
        yield tmp
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _publish(tmp, path) -> None:
    """Give the finished temporary file ordinary permissions and put it in place in one step."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs are shared documents
    try:
        os.replace(tmp, path)
    except OSError as exc:
        exc.filename = str(path)
        raise PerfscoreError(f"无法写入 {path}：{os_error_text(exc)}") from None


# What reading a damaged zip package raises besides BadZipFile: a corrupt deflate or LZMA stream, a truncated
# member, a compression method this Python lacks; a corrupt bzip2 stream is an OSError without an errno.
DAMAGED = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError)


@contextlib.contextmanager
def damaged_as_error(path, what: str = "工作簿"):
    """Inside: reading parts of the received package at ``path``. A damaged part becomes a PerfscoreError saying
    the file is damaged (“文件已损坏”), a file-system error one saying what the system refused."""
    try:
        yield
    except PerfscoreError:
        raise
    except (*DAMAGED, OSError) as exc:
        name = Path(path).name
        if isinstance(exc, OSError) and exc.errno is not None:
            raise PerfscoreError(f"无法读取{what} {name}：{os_error_text(exc)}") from None
        raise PerfscoreError(f"{what} {name} 文件已损坏（压缩数据无法解开：{type(exc).__name__}）："
                             f"请对方用 Excel 重新保存后发送") from None


# ------------------------------------------------------------------------------------------ several outputs at once
class OutputLock:
    """An exclusive lock on one output path, held while a command prepares it: a second perfscore writing the
    same file is refused at once instead of one result silently replacing the other. The lock is an advisory
    lock (flock / msvcrt) on a hidden file beside the output, ``.<name>.lock``, released by the system if the
    process dies, and removed when the command ends."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock_path = self.path.parent / f".{self.path.name}.lock"
        self.fd = None

    def acquire(self) -> "OutputLock":
        for _ in range(5):  # a run that is just finishing removes the file we opened: take the new one
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as exc:
                exc.filename = str(self.lock_path)
                raise PerfscoreError(f"无法在 {self.path.parent} 中创建锁文件：{os_error_text(exc)}") from None
            try:
                _lock_fd(fd)
            except OSError:
                holder = _read_small(fd)
                os.close(fd)
                raise PerfscoreError(f"另一个 perfscore 正在写入 {self.path}"
                                     f"{'（进程 ' + holder + '）' if holder.isdigit() else ''}：为免两次运行的结果互相覆盖，"
                                     f"本次未运行。请等它结束后再运行，或用 -o 指定另一个文件") from None
            try:
                current = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except OSError:
                current = False
            if current:
                self.fd = fd
                try:
                    os.ftruncate(fd, 0)
                    os.write(fd, str(os.getpid()).encode())
                except OSError:
                    pass
                return self
            os.close(fd)
        raise PerfscoreError(f"无法取得 {self.path} 的写入锁（另一个 perfscore 反复写入该文件）：请稍后再运行")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            if os.name != "nt":  # (Windows cannot remove an open file; the stale file is harmless)
                Path(self.lock_path).unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None
        if os.name == "nt":
            try:
                Path(self.lock_path).unlink(missing_ok=True)
            except OSError:
                pass


def _lock_fd(fd) -> None:
    """Lock ``fd`` exclusively without waiting; OSError when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_small(fd) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return ""


class StagedOutputs:
    """The outputs of one command, each locked (``OutputLock``) from the start, written to a temporary file
    beside it, and put in place together at the end (``commit``): an error or Ctrl-C before that leaves no
    output at all, and Ctrl-C during the renames is held until they are done, so a summary is never left
    without its CSV. Use as a context manager; what is not committed is removed on leaving it."""

    def __init__(self, force: bool):
        self.force = force
        self.items: list[tuple[Path, str | None, bool]] = []   # (target, temporary, existed at the start)
        self.locks: list[OutputLock] = []

    def add(self, path) -> Path:
        path = Path(path)
        self.locks.append(OutputLock(path).acquire())
        self.items.append((path, None, path.exists()))
        return path

    def temp(self, path) -> str:
        """A new temporary file beside ``path`` (an added output) to write it to."""
        k = next(i for i, (t, _, _) in enumerate(self.items) if t == Path(path))
        target, old, existed = self.items[k]
        if old:
            Path(old).unlink(missing_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
        except OSError as exc:
            exc.filename = str(target.parent)
            raise PerfscoreError(f"无法在 {target.parent} 中创建文件：{os_error_text(exc)}") from None
        os.close(fd)
        self.items[k] = (target, tmp, existed)
        return tmp

    def commit(self) -> None:
        """Put every written output in place (the first added last: the summary after its CSV)."""
        todo = [(t, tmp, existed) for t, tmp, existed in self.items if tmp]
        if not self.force:
            for target, _, existed in todo:
                if target.exists() and not existed:
                    raise PerfscoreError(f"文件 {target} 在本次运行期间被其他程序创建：为免覆盖，未写入。"
                                         f"确需覆盖请加 --force，或用 -o 指定新文件名")
        with _sigint_held():
            for target, tmp, _ in reversed(todo):
                _publish(tmp, target)
                self.items = [(t, None if t == target else x, e) for t, x, e in self.items]

    def close(self) -> None:
        for _, tmp, _ in self.items:
            if tmp:
                Path(tmp).unlink(missing_ok=True)
        self.items = [(t, None, e) for t, _, e in self.items]
        for lock in self.locks:
            lock.release()
        self.locks = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


@contextlib.contextmanager
def _sigint_held():
    """Ctrl-C inside is raised (as KeyboardInterrupt) only when the block is done."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old if old is not None else signal.default_int_handler)
    if got:
        raise KeyboardInterrupt
