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


def check_output(path, suffix: str, force: bool, what: str = "输出文件") -> Path:
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise PerfscoreError(f"{what} {path} 应以 {suffix} 结尾")
    if path.is_dir():
        raise PerfscoreError(f"{path} 是一个文件夹，不能作为{what}：请用 -o 指定文件名，例如 {path / ('输出' + suffix)}")
    if path.exists() and not force:
        raise PerfscoreError(f"文件 {path} 已存在：为免覆盖他人的工作，未写入。确需覆盖请加 --force，或用 -o 指定新文件名")
    if not path.parent.is_dir():
        raise PerfscoreError(f"目录 {path.parent} 不存在：请先创建，或用 -o 指定其他位置")
    if not os.access(path.parent, os.W_OK):
        raise PerfscoreError(f"没有写入目录 {path.parent} 的权限：请换一个可写的位置（用 -o 指定）")
    return path


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
        return f"{name.strip() or '目标位置'} 所在的磁盘是只读的：请换一个位置"
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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs are shared documents
        try:
            os.replace(tmp, path)
        except OSError as exc:
            exc.filename = str(path)
            raise PerfscoreError(f"无法写入 {path}：{os_error_text(exc)}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
