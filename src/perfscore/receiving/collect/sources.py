"""Which files ``perfscore collect`` reads, and how they are named in the summary.

Each source is a directory, a glob pattern (``收到的/*.xlsm``, ``收到的/**/*.xlsx``) or a file. Directories are
searched **recursively** (received workbooks are usually filed in sub-folders by district or department; hidden
folders such as ``.git`` are not entered, symbolic links to folders are not followed — by patterns either, so
links that loop cannot make a search endless: ``expand_pattern``). From directories and patterns only ``.xlsx``/``.xlsm`` files are taken; a file named explicitly is always taken. Skipped: the output
file itself, Office lock files ``~$*`` and hidden files ``.*`` (macOS ``._*`` copies, our own temporary files);
the summary says how many. A source that matches nothing is a usage error (exit 2), so a mistyped folder is not
silently left out. Things that are not regular files, and folders that cannot be listed, get a row in 异常.

Files are named relative to the collected folder (the common folder of the sources) and linked relative to the
summary's folder: no absolute path goes into the workbook or the CSV, not even inside a reason.
"""
from __future__ import annotations

import glob
import os
import re
import stat
from collections import Counter
from pathlib import Path

from perfscore.errors import PerfscoreError

SUFFIXES = (".xlsx", ".xlsm")
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def expand_sources(sources, exclude=(), walked: list | None = None) -> tuple[list[Path], list[tuple[Path, str]], Counter]:
    """-> (workbook paths in a stable order, [(path, reason)] for named things that are not regular files and
    folders that could not be read, counts of skipped files by kind). Raises PerfscoreError when a source
    matches nothing. ``exclude``: paths, or {path: label} (how the skipped file is counted). ``walked``: a
    list that receives every folder searched (a source folder, or a folder a pattern matched)."""
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
        if walked is not None:
            walked.append(root)

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
            for mp in expand_pattern(src):
                if mp.is_symlink() and mp.is_dir():
                    skipped["文件夹链接（未跟随）"] += 1
                    hit = True
                else:
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


def expand_pattern(pattern: str) -> list[Path]:
    """What ``glob.glob(pattern, recursive=True)`` matches, in order, except that no link to a folder is entered
    (glob follows them, and a link to a parent folder makes ``**`` endless): ``**`` matches real folders only.
    As with glob, a wildcard matches a hidden name (``.x``) only when its part starts with a dot, and ``**``
    does not enter hidden folders. A matched link to a folder is returned (the caller skips it)."""
    import fnmatch
    parts = Path(pattern).parts
    k = next(i for i, part in enumerate(parts) if glob.has_magic(part))
    rest = parts[k:]
    out: list[Path] = []

    def entries(d: Path):
        try:
            with os.scandir(d if str(d) else ".") as it:
                return sorted(it, key=lambda e: e.name)
        except OSError:  # a folder that cannot be listed matches nothing, as with glob
            return []

    def real_dir(p) -> bool:
        return p.is_dir(follow_symlinks=False) if isinstance(p, os.DirEntry) else (p.is_dir() and not p.is_symlink())

    def step(d: Path, i: int):
        if i == len(rest):
            out.append(d)
            return
        part, last = rest[i], i == len(rest) - 1
        if part == "**":
            step(d, i + 1)  # no folder at all
            if not last:    # (a final ** matches d, which is searched whole)
                for e in entries(d):
                    if not e.name.startswith(".") and real_dir(e):
                        step(d / e.name, i)
        elif glob.has_magic(part):
            for e in entries(d):
                if fnmatch.fnmatch(e.name, part) and (part.startswith(".") or not e.name.startswith(".")):
                    if last:
                        out.append(d / e.name)
                    elif real_dir(e):
                        step(d / e.name, i + 1)
        elif last:
            if os.path.lexists(d / part):
                out.append(d / part)
        elif real_dir(d / part):
            step(d / part, i + 1)

    step(Path(*parts[:k]), 0)
    return out


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
    if "#" in rel or "%" in rel or len(rel) > 1500 or ILLEGAL_XML.search(rel):
        return None
    return Path(rel).as_posix()


def display_path(path) -> str:
    """A file name as it may go into a cell: characters XML cannot carry (possible in file names) become "?"."""
    return ILLEGAL_XML.sub("?", str(path))


def scrub_paths(files, names, rows, base: Path) -> None:
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
