"""One received workbook -> one row: the small plain dict a worker process sends back to the parent.

``score_file`` reads a workbook with ``read_filled`` (which refuses hostile packages by their zip directory
before any XML is parsed: size, compression ratio, encryption, DTD/entity declarations), checks that its rules
year has its own indicator-system file in its region (a 2031 workbook is not silently scored by 2020 rules) or a
file given by ``--system`` (``system_of``), then runs ``check_filled``. The row holds the header (department,
years, region), the engine's recomputed scores, 一级 subtotals, total, grade, the points each indicator lost with
the engine's reason and the problems behind it (``lost``, problems.py), check status and problems, never the big
objects. A file that cannot be read or scored gets a row
from ``failed_row``: its category in the 异常 sheet and the reason, said for a reviewer (``explain``). Text read
from a file is cleaned (``clean``) so that it can go into a cell.

Rows are grouped by the indicator system they were scored by (``system_key``) and matched by department
(``dept_key``: duplicates within a batch, departments of last year's summary).
"""
from __future__ import annotations

import os
import re

from perfscore.errors import PerfscoreError, UnknownYear
from perfscore.receiving.collect.sources import ILLEGAL_XML
from perfscore.engine.system import available_years, load_system, load_system_file, require_region
from perfscore.excel.fingerprint import template_for
from perfscore.receiving.check import ERROR, check_filled
from perfscore.receiving.collect.problems import problem_items
from perfscore.receiving.reader import read_filled

MAX_TEXT = 300             # characters kept of a header field read from a file (names, years)
MAX_PROBLEMS = 4000        # characters kept of a file's list of problems

# Categories of the 异常 sheet
UNREADABLE, FAILED, TIMEOUT, KILLED, INTERNAL = "无法读取", "未通过", "超时", "进程终止", "内部错误"

_YEARS: dict = {}


def clean(v, limit=MAX_TEXT):
    """A header value read from a file, as it may go into a cell: text without characters XML cannot carry."""
    if v is None:
        return None
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 1e15 else v
    if isinstance(v, (int, bool)):
        return v
    s = ILLEGAL_XML.sub("", str(v)).strip()
    return s if len(s) <= limit else s[:limit - 1] + "…"


def failed_row(category: str, reason: str) -> dict:
    reason = clean(explain(reason), MAX_PROBLEMS)
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


# Systems given on the command line (collect --system FILE): (region key, year) -> the file. A workbook made from
# such a file records its folder's name as 规则地区, so the key is the file's folder name, as under PERFSCORE_SYSTEMS.
GIVEN: dict = {}


def use_system_files(paths) -> None:
    """Load the files given by --system (errors name the file); two files for one region and year are refused."""
    GIVEN.clear()
    _YEARS.clear()
    for p in paths:
        s = load_system_file(p)
        if (s.key, s.year) in GIVEN:
            raise PerfscoreError(f"--system 给出了两个地区 {s.key}、{s.year} 年度的指标体系文件（{GIVEN[s.key, s.year]} 与 {p}）："
                                 f"每个地区、年度只能给一个")
        GIVEN[s.key, s.year] = str(p)


def system_of(year: int, region: str = "shenzhen"):
    """The system a workbook of (region, rules year) is scored by: a file given by --system, else the installed
    file of exactly that region and year (load_system alone would fall back to an older year)."""
    if (region, year) in GIVEN:
        return load_system(path=GIVEN[region, year])
    return _exact_system(year, region)


def _exact_system(year: int, region: str = "shenzhen"):
    """The rules year must have its own file in the workbook's region: load_system would fall back to an older year."""
    key = (region, year)
    if key not in _YEARS:  # the system itself, or None (a file-system scan per file would cost ~0.1 ms)
        _YEARS[key] = load_system(year, region=region) if year in available_years(region) else None
    if _YEARS[key] is None:
        require_region(region)  # a 规则地区 that is no installed region's key is said as such
        years = "、".join(map(str, available_years(region))) or "无"
        raise UnknownYear(f"规则年度 {year} 没有对应的指标体系（地区 {region} 现有年度：{years}）：文件可能被改动过，"
                          f"或由更新的 perfscore 生成；请核实后安装该地区、该年度的指标体系再汇总")
    return _YEARS[key]


def warm_layouts() -> None:
    """The genuine layouts of the default region's installed years, loaded (or built) once before the workers
    fork, so that no worker builds them again (the released ones come from the package, the rest from the cache)."""
    for y in available_years():
        for kind in ("python", "excel"):
            template_for(load_system(y), kind)


def system_key(r) -> tuple:
    """Which indicator system a row was scored by: (region, rules year)."""
    return (r.get("region") or "shenzhen", r.get("year"))


def dept_key(name) -> str | None:
    """A department name as it is matched: NFKC (full-width letters, digits and spaces folded), no spaces."""
    import unicodedata
    if name is None:
        return None
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name)))
    return key or None


def score_file(path: str) -> dict:
    try:
        empty = os.stat(path).st_size == 0
    except OSError:
        empty = False  # read_filled says why
    if empty:
        raise PerfscoreError("文件为空（0 字节）：可能是上传、复制或下载时中断，请对方重新发送")
    filled = read_filled(path, given=GIVEN)
    h = filled.header
    try:
        system_of(filled.year, filled.region)  # a rules year without its own file is refused, not fallen back from
        rep = check_filled(filled, GIVEN.get((filled.region, filled.year)))
    except PerfscoreError as exc:  # read, but not scorable (unknown rules year, inputs of another layout)
        row = failed_row(UNREADABLE, str(exc))
        row.update(department=clean(h.get("部门名称")), budget_year=clean(h.get("预算年度")), year=filled.year)
        return row
    res = rep.result
    errors = [i for i in rep.items if i.level == ERROR]
    lines = [f"[{i.level}] {i.where}：{i.message}" for i in rep.items]
    row = {
        "department": clean(h.get("部门名称")), "budget_year": clean(h.get("预算年度")), "year": filled.year,
        "region": filled.region, "kind": filled.kind_text, "status": rep.status,
        "category": None if rep.passed else FAILED,
        "problems": clean(_lines(lines), MAX_PROBLEMS) or None,
        "reason": clean(_lines([f"{i.where}：{i.message}" for i in errors]), MAX_PROBLEMS) or None,
    }
    # only a verified file's scores are shown, ranked and rated: a failed file's may be the manipulated ones' effect
    if rep.passed:
        row.update(scores=tuple(r.score if r.error is None else None for r in res.indicators), total=res.total,
                   grade=res.grade, level1=tuple(res.level1[lv.id].score for lv in res.system.level1),
                   lost=_lost(res))
    else:
        row.update(scores=None, total=None, grade=None, level1=None, lost=None)
    return row


def _lost(res) -> tuple:
    """Every indicator that lost points: (its index in the table, points lost, the engine's reason, the problems
    behind it as problems.problem_items words them), for the 问题清单 sheet and the memo."""
    return tuple((j, r.deducted, clean(r.reason, MAX_PROBLEMS), tuple((clean(p), d) for p, d in problem_items(res, r)))
                 for j, r in enumerate(res.indicators) if r.deducted is not None and r.deducted > 1e-9)


MAX_LINES = 8


def _lines(lines: list[str]) -> str:
    """One finding per line, the decisive ones first (check lists them so), at most ``MAX_LINES``."""
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [f"另有 {len(lines) - MAX_LINES} 条，用 perfscore check 查看全部"]
    return "\n".join(lines)
