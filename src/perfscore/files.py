"""Writing outputs without losing anyone's work: no silent overwrite, atomic replace, ordinary permissions."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import PerfscoreError


def check_output(path, suffix: str, force: bool, what: str = "输出文件") -> Path:
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise PerfscoreError(f"{what} {path} 应以 {suffix} 结尾")
    if path.exists() and not force:
        raise PerfscoreError(f"文件 {path} 已存在：为免覆盖他人的工作，未写入。确需覆盖请加 --force，或用 -o 指定新文件名")
    if not path.parent.is_dir():
        raise PerfscoreError(f"目录 {path.parent} 不存在：请先创建，或用 -o 指定其他位置")
    return path


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step, else it is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs are shared documents
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
