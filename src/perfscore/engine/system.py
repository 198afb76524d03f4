"""Indicator systems: found by region and year, loaded from TOML files and cached.

A system file describes one region's 部门整体支出绩效评分表 as in force from its ``year`` until a later file
replaces it. Scoring year Y uses the newest file whose year ≤ Y, so a 2020 case keeps 2020 rules after 2021
is added. Files live in the package (``systems/<region>/<year>.toml``) and in every folder of
$PERFSCORE_SYSTEMS laid out the same way. What a loaded system holds: ``perfscore.engine.model``; how a file is
read and validated: ``perfscore.engine.reading``; the format: ``docs/indicator-system.md``.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from perfscore.engine.reading import build_system
from perfscore.engine.model import System
from perfscore.errors import SystemFileError, UnknownRegion, UnknownYear
from perfscore.engine.tomlfile import read_toml
from perfscore.files import missing_text

PACKAGE_SYSTEMS = Path(__file__).parents[1] / "systems"
DEFAULT_REGION = "shenzhen"
REGION_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a region folder's name; nothing else is ever joined to a root


def is_region_key(region) -> bool:
    return isinstance(region, str) and REGION_KEY.fullmatch(region) is not None


def _shown(region) -> str:
    """A rejected key as a message may quote it: short, no control characters."""
    s = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", str(region))
    return s if len(s) <= 60 else s[:59] + "…"


def _unknown_region(region, root=None, why: str = "") -> UnknownRegion:
    return UnknownRegion(f"未知的规则地区“{_shown(region)}”{why}：地区应为本机安装的地区代码（由字母、数字、- 和 _ 组成，"
                         f"即 <地区>/<年度>.toml 中文件夹的名字），现有地区与年度为 {_regions_text(root)}；"
                         f"本地区的文件请放在环境变量 PERFSCORE_SYSTEMS 指向的目录下的 <地区>/<年度>.toml，"
                         f"或用 --system 指定指标体系文件")


def region_folders(region: str, root=None) -> list[Path]:
    """The folders of one region in every root. The key must be a region key (the one place a key becomes a
    path): an absolute path, ``..``, a separator or any other character is refused as an unknown region, so no
    file outside the roots can be reached from a workbook's 规则地区 or a command line."""
    if not is_region_key(region):
        raise _unknown_region(region, root, "（不是地区代码）" if isinstance(region, str) and region.strip() else "（为空）")
    return [r / region for r in system_roots(root)]


def load_system_file(path) -> System:
    path = Path(path)
    data = read_toml(path, SystemFileError)
    try:
        system = build_system(data, str(path))
    except RecursionError:
        raise SystemFileError(path, None, "内容嵌套过深：不是正常的指标体系文件") from None
    system.key = path.resolve().parent.name
    return system


@lru_cache(maxsize=None)
def _cached(path: str, mtime: float) -> System:
    return load_system_file(path)


def _load(path: Path) -> System:
    return _cached(str(path), path.stat().st_mtime)


def system_roots(root=None) -> list[Path]:
    """Where indicator systems live: the package's own, then each folder in $PERFSCORE_SYSTEMS (separated by
    os.pathsep), every one laid out <region>/<year>.toml — how a region's IT deploys its tables to the PCs.
    A later root's file replaces an earlier one of the same region and year."""
    if root is not None:
        return [Path(root)]
    env = os.environ.get("PERFSCORE_SYSTEMS", "")
    return [PACKAGE_SYSTEMS] + [Path(p) for p in env.split(os.pathsep) if p.strip()]


def year_files(region: str, root) -> dict[int, Path]:
    """year -> file of one region (the folder name is the region's key, e.g. shenzhen)."""
    files = {}
    for d in region_folders(region, root):
        if d.is_dir():
            files.update({int(p.stem): p for p in d.glob("*.toml") if p.stem.isdigit()})
    return files


def available_regions(root=None) -> list[str]:
    """Every region key that has at least one year's file, in any root."""
    out = set()
    for r in system_roots(root):
        if r.is_dir():
            out.update(d.name for d in r.iterdir() if is_region_key(d.name) and d.is_dir()
                       and any(p.stem.isdigit() for p in d.glob("*.toml")))
    return sorted(out)


def require_region(region: str, root=None) -> str:
    """``region`` when it is an installed region's key; else UnknownRegion (with the installed list)."""
    if not year_files(region, root):
        raise _unknown_region(region, root, "（本机没有这个地区的指标体系文件）")
    return region


def available_years(region: str = DEFAULT_REGION, root=None) -> list[int]:
    return sorted(year_files(region, root))


def _regions_text(root=None) -> str:
    return "；".join(f"{r}（{'、'.join(map(str, available_years(r, root)))}）" for r in available_regions(root)) or "（无）"


def load_system(year: int | None = None, *, path=None, region: str = DEFAULT_REGION, root=None) -> System:
    """The system in force for ``year`` (newest file with year ≤ ``year``); or the file at ``path``."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise SystemFileError(p, None, missing_text(p).replace("请检查路径", "请检查 --system 指定的路径"))
        system = _load(p)
        if year is not None and system.year > year:
            raise UnknownYear(f"指标体系文件 {p} 自 {system.year} 年起适用，不能用于 {year} 年度")
        return system
    files = year_files(region, root)
    if not files:
        raise _unknown_region(region, root, "（本机没有这个地区的指标体系文件）")
    years = sorted(files)
    if year is None:
        year = years[-1]
    usable = [y for y in years if y <= year]
    if not usable:
        raise UnknownYear(f"地区 {region} 没有适用于 {year} 年度的指标体系：现有年度为 {'、'.join(map(str, years))}；"
                          f"请用 --year 选择其中之一，或用 --system 指定指标体系文件")
    return _load(files[usable[-1]])


def require_exact_year(year: int, region: str = DEFAULT_REGION, root=None) -> System:
    """For building a year's template: the year must have its own file (no silent fallback)."""
    files = year_files(region, root)
    if not files:
        raise _unknown_region(region, root, "（本机没有这个地区的指标体系文件）")
    if year not in files:
        where = Path(root or PACKAGE_SYSTEMS) / region
        raise UnknownYear(f"地区 {region} 没有 {year} 年度的指标体系文件：现有年度为 "
                          f"{'、'.join(map(str, sorted(files))) or '（无）'}。新增年度请在 {where} 下添加 {year}.toml"
                          f"（或放在环境变量 PERFSCORE_SYSTEMS 指向的目录下的 {region}/ 中）")
    return _load(files[year])
