"""Reading a filled workbook: the package read once (``perfscore.excel.package``: every hostile-file check, all
sheets in one pass), its claims (rules region, rules year, kind, layout id) taken from it, the genuine layout it
claims regenerated or loaded (``perfscore.excel.fingerprint``) and compared with it (``verify.compare``), and the
inputs, header and stored scores read at the **template's** coordinates, never wherever the file's names point.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from perfscore.errors import PerfscoreError
from perfscore.excel.fingerprint import LAYOUT_TEXT, stored_layout, template_for
from perfscore.excel.layout import GOAL_SHEET, HEADER_FIELDS, INPUT_SHEET, REGION_NAME, SCORE_SHEET, YEAR_NAME
from perfscore.excel.package import CellError, UnreadableWorkbook, rc, read_package, single_cell
from perfscore.receiving.verify import ERROR, WARNING, compare
from perfscore.engine.case import Case, CaseInput, GoalRow, Task
from perfscore.engine.system import load_system_file, require_exact_year

__all__ = ["CellError", "UnreadableWorkbook", "FilledWorkbook", "read_filled", "rules_system", "raw_inputs",
           "case_from_filled", "read_goal_table", "ERROR", "WARNING", "KINDS", "DEDUCTION_SHEET"]

DEDUCTION_SHEET = "扣分说明"
KINDS = {"python": "Python 版（PERF_ 函数，含宏）", "excel": "Excel 公式版（原生公式，无宏）",
         "values": "提交版（仅数值，无公式）"}
_STATED_YEAR = re.compile(r"([0-9]{4}) 年版")
_APPS = (("libreoffice", "LibreOffice"), ("wps", "WPS"), ("openoffice", "OpenOffice"), ("openpyxl", None),
         ("microsoft excel", "Excel"))


@dataclass
class FilledWorkbook:
    path: str
    year: int
    header: dict = field(default_factory=dict)         # 部门名称, 预算年度, 填报人, 联系电话
    inputs: dict = field(default_factory=dict)         # input name (Chinese) -> raw cell value
    stored_scores: dict = field(default_factory=dict)  # indicator name -> cached value (CellError for #VALUE! …)
    stored_total: object = None
    stored_grade: object = None
    kind: str = "python"                               # a key of KINDS
    issues: list = field(default_factory=list)         # (level, where, message, decisive) found by verification
    year_problem: str | None = None                    # 规则年度/规则地区 edited: why the file cannot be scored
    system_error: Exception | None = None              # its rules are not installed here (UnknownYear …)
    layout_problem: str | None = None                  # why the file could not be verified (another version's layout)
    region: str = "shenzhen"                           # 规则地区
    system: object = None                              # the indicator system it is scored by
    layout: object = None                              # the genuine Layout it was compared with
    saved_by: str | None = None                        # the application that last saved it, when not perfscore/Excel
    package: object = None                             # the parsed package (sheets' values)

    @property
    def kind_text(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def cell(self, sheet: str, coord: str):
        s = self.package.sheet(sheet) if self.package else None
        return None if s is None else s.values.get(coord)


def _v(x):
    return None if x == "" else x


def _short(s, n: int = 80) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def read_filled(path, system_path=None, given: dict | None = None) -> FilledWorkbook:
    """What a received workbook says and how it differs from the genuine one (see the module docstring).

    A file whose rules cannot be found gets ``year_problem``; one made by another version of perfscore (its
    layout id unknown here) gets ``layout_problem`` and is read by its own names, for commands such as
    carry-forward that only need its header; ``check`` says plainly that it could not be verified. ``system_path``:
    the system file to score it by (``--system``); ``given``: (region, year) -> such a file, for many workbooks."""
    pkg = read_package(path)
    if pkg.sheet(INPUT_SHEET) is None or pkg.sheet(SCORE_SHEET) is None:
        raise UnreadableWorkbook(f"不是 perfscore 评分工作簿（缺少“{INPUT_SHEET}”或“{SCORE_SHEET}”工作表）："
                                 f"请使用 perfscore template 生成的工作簿")
    names = {n: single_cell(ref) for n, ref in pkg.names.items()}
    where = {n: t[1] for n, t in names.items() if t and t[0] == INPUT_SHEET}
    missing = [label for label, _ in HEADER_FIELDS if label not in where] + ([YEAR_NAME] if YEAR_NAME not in where else [])
    if missing:
        raise UnreadableWorkbook(f"“{INPUT_SHEET}”表缺少名称 {'、'.join(missing)}：不是 perfscore 生成的工作簿，"
                                 f"或名称被删除；请使用 perfscore template 生成的工作簿")
    inp = pkg.sheet(INPUT_SHEET)
    out = FilledWorkbook(str(path), 0, kind=_kind(pkg), package=pkg, saved_by=_saved_by(pkg.application))
    out.year, out.year_problem = _rules_year(inp, where[YEAR_NAME])
    if REGION_NAME in where:
        region = _v(inp.values.get(where[REGION_NAME]))
        if not isinstance(region, str) or not region.strip():
            out.year_problem = out.year_problem or (f"规则地区被改动（“{INPUT_SHEET}”表中为 {_show_value(region)}）："
                                                    f"规则地区由生成程序填写，不应修改；请用 perfscore template 重新生成工作簿")
        else:  # looked up as a key only (the engine refuses anything else as 未知的规则地区, never a path)
            out.region = region.strip()
    if system_path is None and given:
        system_path = given.get((out.region, out.year))
    if not out.year_problem:
        try:
            out.system = rules_system(out, system_path)
        except PerfscoreError as exc:  # rules not installed here: said by rules_system when someone asks
            out.system_error = exc
    if out.system is not None:
        _verify(out, pkg, where)
    if out.layout is not None:
        _read_by_layout(out, pkg)
    else:
        _read_by_names(out, pkg, where)
    return out


def _rules_year(inp, coord) -> tuple[int, str | None]:
    row = rc(coord)[0]
    stated = _STATED_YEAR.search(str(inp.values.get(f"E{row}") or ""))
    stated = int(stated.group(1)) if stated else None
    year = _v(inp.values.get(coord))
    good = isinstance(year, float) and year.is_integer() and 1990 <= year <= 2100
    problem = None
    if not good or (stated is not None and int(year) != stated):
        made = f"本工作簿按 {stated} 年版规则生成，" if stated else ""
        problem = (f"规则年度被改动（“{INPUT_SHEET}”表中为 {_show_value(year)}）：{made}规则年度由生成程序填写，不应修改；"
                   f"请改回{' ' + str(stated) if stated else '原值'}，或用 perfscore template 重新生成工作簿")
    if isinstance(year, float) and year.is_integer() and abs(year) < 10000:
        return int(year), problem
    return stated or 0, problem


def _saved_by(app: str) -> str | None:
    low = (app or "").lower()
    for needle, name in _APPS:
        if needle in low:
            return name
    return app[:40] or None


def _verify(out: FilledWorkbook, pkg, where: dict) -> None:
    """Find the genuine layout the file claims — a released one kept in the package, by the id the file records,
    else the template this perfscore generates — and compare; a file of an unknown layout is told to be
    regenerated, not called tampered."""
    system = out.system
    rec = _recorded(pkg, where)
    lay = stored_layout(rec) if rec else None
    if lay is not None and (lay.region, lay.year, lay.kind) != (system.key or "shenzhen", system.year, out.kind):
        lay = None
    if lay is None:
        current = template_for(system, out.kind)
        if rec == current.layout_id:
            lay = current
        else:
            made = f"版式 {rec}" if rec else "未记录版式编号，是较早版本生成的"
            out.layout_problem = (f"本工作簿由另一版本的 perfscore 或另一份指标体系文件生成（{made}；本机生成的版式为 "
                                  f"{current.layout_id}），无法逐格核对它是否被改动。这不表示它被改过：请用本机的 perfscore "
                                  f"template 重新生成工作簿并转填数据（perfscore carry-forward 可带入部门名称等信息），"
                                  f"或在生成它的 perfscore 版本上检查")
            return
    out.layout = lay
    out.issues = [(f.level, f.where, f.message, f.decisive) for f in compare(pkg, lay)]


def _recorded(pkg, where: dict) -> str | None:
    """The layout id in the hint beside 规则地区 (column E of its row); compare checks it sits where the layout says."""
    if REGION_NAME not in where:
        return None
    v = pkg.sheet(INPUT_SHEET).values.get(f"E{rc(where[REGION_NAME])[0]}")
    m = LAYOUT_TEXT.search(v) if isinstance(v, str) else None
    return m.group(1) if m else None


def _read_by_layout(out: FilledWorkbook, pkg) -> None:
    """Header, inputs and stored scores at the coordinates of the genuine layout."""
    lay = out.layout
    input_names = {s.name for s in out.system.inputs.values()}
    for name, (sheet, coord) in lay.names.items():
        s = pkg.sheet(sheet)
        value = _v(s.values.get(coord)) if s else None
        if name in {lb for lb, _ in HEADER_FIELDS}:
            out.header[name] = value
        elif name in input_names:
            out.inputs[name] = value
    score = pkg.sheet(SCORE_SHEET)
    for what, coord in _score_cells(lay):
        if what == "综合评分":
            out.stored_total = _score_value(score, coord)
        elif what == "评分等级":
            out.stored_grade = _score_value(score, coord)
        else:
            out.stored_scores[what] = _score_value(score, coord)


def _score_cells(lay) -> list:
    """(indicator name, 综合评分 or 评分等级; its score cell on 评分表) of a layout, worked out once per layout."""
    cache = lay.__dict__.setdefault("_cache", {})
    if "score_cells" not in cache:
        found = []
        for key, (kind, want) in lay.cells.items():
            sheet, _, coord = key.partition("!")
            if sheet != SCORE_SHEET or kind != "v" or not isinstance(want, str):
                continue
            row, col = rc(coord)
            target = f"G{row}"
            if col == 3 and want.strip() and want != "三级指标" and f"{SCORE_SHEET}!{target}" in lay.cells:
                found.append((want.strip(), target))
            elif col == 1 and want in ("综合评分", "评分等级"):
                found.append((want, target))
        cache["score_cells"] = found
    return cache["score_cells"]


def _score_value(sheet, coord):
    return _v(sheet.values.get(coord))


def _read_by_names(out: FilledWorkbook, pkg, where: dict) -> None:
    """An unverifiable file (rules or layout unknown here): the header and inputs where its own names point, the
    stored scores by the 评分表's label columns — enough to say what it is, to carry it forward or to report it."""
    inp = pkg.sheet(INPUT_SHEET)
    header_names = {lb for lb, _ in HEADER_FIELDS}
    for name, coord in where.items():
        if name in header_names:
            out.header[name] = _v(inp.values.get(coord))
        elif name not in (YEAR_NAME, REGION_NAME) and not name.startswith("_xlnm."):
            out.inputs[name] = _v(inp.values.get(coord))
    score = pkg.sheet(SCORE_SHEET)
    rows = {}
    for coord, v in score.values.items():
        r, c = rc(coord)
        rows.setdefault(r, {})[c] = v
    for r, cols in rows.items():
        label, first = cols.get(3), cols.get(1)
        if isinstance(label, str) and label.strip() and label != "三级指标":
            out.stored_scores[label.strip()] = _score_value(score, f"G{r}")
        elif first == "综合评分":
            out.stored_total = _score_value(score, f"G{r}")
        elif first == "评分等级":
            out.stored_grade = _score_value(score, f"G{r}")


def _kind(pkg) -> str:
    texts = list(pkg.sheet(SCORE_SHEET).formulas.values())
    if not texts:
        return "values"
    if pkg.vba is not None or any("PERF_" in t.upper() for t in texts):
        return "python"
    return "excel"


def _show_value(v) -> str:
    if v is None:
        return "（空）"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return _short(repr(v), 24)
    return f"“{_short(str(v), 30)}”"


def rules_system(filled: FilledWorkbook, system_path=None):
    """The indicator system of the workbook's region and rules year (its own file, no fallback), or the file at
    ``system_path`` (a region's own table kept outside PERFSCORE_SYSTEMS), which must be that year's; an edited
    规则年度 is refused as such, not looked up."""
    if filled.system is not None and system_path is None:
        return filled.system
    if filled.year_problem:
        raise UnreadableWorkbook(filled.year_problem)
    if filled.system_error is not None and system_path is None:
        raise filled.system_error
    if system_path is not None:
        system = load_system_file(system_path)
        if system.year != filled.year:
            raise UnreadableWorkbook(f"工作簿按 {filled.year} 年规则填写，而 {system_path} 是 {system.year} 年的指标体系："
                                     f"请指定 {filled.year} 年的指标体系文件")
        return system
    return require_exact_year(filled.year, region=filled.region)


def raw_inputs(filled: FilledWorkbook, system) -> dict:
    """Input id -> raw value, by the names the rules year's system declares. Unknown or missing names are a
    layout error (a workbook of another year's layout, or names deleted)."""
    by_name = {s.name: s.id for s in system.inputs.values()}
    unknown = [n for n in filled.inputs if n not in by_name]
    if unknown:
        raise UnreadableWorkbook(f"“基础数据”表中有指标体系 {system.year} 年版没有的输入项：{'、'.join(map(_short, unknown[:5]))}")
    absent = [n for n in by_name if n not in filled.inputs]
    if absent:
        raise UnreadableWorkbook(f"“基础数据”表缺少指标体系 {system.year} 年版的输入项（名称）：{'、'.join(absent[:5])}"
                                 f"{'等' if len(absent) > 5 else ''}：名称被删除或工作簿不是按该年度生成的")
    return {by_name[n]: v for n, v in filled.inputs.items()}


def read_goal_table(filled: FilledWorkbook):
    """(tasks, expected, actual, rows) from a perfscore 自评表, by its layout; ([], "", "", []) if absent."""
    sheet = filled.package.sheet(GOAL_SHEET) if filled.package else None
    if sheet is None:
        return [], "", "", []
    last = max((rc(c)[0] for c in sheet.values), default=0)
    rows = [[None] * 9 for _ in range(last)]
    for coord, v in sheet.values.items():
        r, c = rc(coord)
        if c <= 9:
            rows[r - 1][c - 1] = _v(v) if not isinstance(v, CellError) else None
    tasks, rows_out, expected, actual = [], [], "", ""
    k = next((i for i, r in enumerate(rows) if r[1] == "任务名称"), None)
    if k is not None:
        i = k + 2
        while i < len(rows) and rows[i][0] != "金额合计":
            r = rows[i]
            if r[1] or r[2] or any(isinstance(x, float) for x in r[3:7]):
                tasks.append(Task(str(r[1] or ""), str(r[2] or ""), *(float(x) if isinstance(x, float) else 0.0 for x in r[3:7])))
            i += 1
    g = next((i for i, r in enumerate(rows) if r[1] == "预期目标"), None)
    if g is not None and g + 1 < len(rows):
        expected, actual = str(rows[g + 1][1] or ""), str(rows[g + 1][4] or "")
    h = next((i for i, r in enumerate(rows) if r[1] == "一级指标" and r[2] == "二级指标"), None)
    if h is not None:
        l1 = l2 = None
        for r in rows[h + 1:]:
            l1, l2 = r[1] or l1, r[2] or l2
            if r[3] or r[4] or r[5]:
                rows_out.append(GoalRow(str(l1), str(l2), str(r[3] or ""), _text(r[4]), _text(r[5])))
    return tasks, expected, actual, rows_out


def _text(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def case_from_filled(filled: FilledWorkbook, system):
    """A Case holding everything the department filled in, to rebuild, freeze or carry forward the workbook."""
    h = filled.header
    year = h.get("预算年度")
    case = Case(filled.path, "自评工作簿", str(h.get("部门名称") or ""),
                int(year) if isinstance(year, float) and year.is_integer() else system.year,
                str(h.get("填报人") or ""), _text(h.get("联系电话")))
    for iid, v in raw_inputs(filled, system).items():
        if v is not None:
            case.inputs[iid] = CaseInput(v)
    case.tasks, case.goals_expected, case.goals_actual, case.goal_rows = read_goal_table(filled)
    return case
