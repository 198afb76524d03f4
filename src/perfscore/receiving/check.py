"""The receiving side: recompute a filled workbook by its rules year and compare with what it stores."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from perfscore.engine.scoring import CaseResult, score_case
from perfscore.engine.numbers import fmt_num
from perfscore.receiving.reader import (DEDUCTION_SHEET, ERROR, WARNING, CellError, FilledWorkbook, case_from_filled, raw_inputs,
                     read_filled, rules_system)

SCORE_SHEET_NAME = "评分表"


@dataclass
class Item:
    level: str
    where: str
    message: str


@dataclass
class CheckReport:
    path: str
    filled: FilledWorkbook
    result: CaseResult
    items: list[Item] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(i.level == ERROR for i in self.items)

    @property
    def status(self) -> str:
        if self.passed:
            return "通过" if not self.items else "通过（有警告）"
        return "未通过"


def _same(stored, computed) -> bool:
    if isinstance(stored, CellError):
        return False
    if isinstance(computed, float):
        return isinstance(stored, float) and abs(stored - computed) < 0.005
    return stored == computed


def check_filled(filled: FilledWorkbook, system_path=None) -> CheckReport:
    system = rules_system(filled, system_path)  # the workbook was made from that year's file: no fallback
    raw = raw_inputs(filled, system)
    result = score_case(system, raw)
    rep = CheckReport(filled.path, filled, result)
    rep.items += [Item(level, where, message) for level, where, message in filled.issues]
    unrecalculated = []
    for r in result.indicators:
        name = r.indicator.name
        if r.error:
            rep.items.append(Item(ERROR, name, f"无法计分：{r.error_detail}"))
        stored = filled.stored_scores.get(name)
        computed = r.score if r.error is None else r.error
        if name not in filled.stored_scores:
            rep.items.append(Item(ERROR, name, "评分表中找不到这一行"))
        elif isinstance(stored, CellError):
            unrecalculated.append((name, stored))
        elif not _same(stored, computed) and not (filled.kind == "excel" and isinstance(computed, str)
                                                   and isinstance(stored, str) and stored):
            # (a native-formula workbook words its messages itself: any message where the engine has one agrees)
            rep.items.append(Item(ERROR, name, f"文件中保存的分数为 {_show(stored)}，按输入重新计算为 {_show(computed)}："
                                                f"分数可能被手工改过，或输入改动后没有重新计算"))
    for where, stored in (("综合评分", filled.stored_total), ("评分等级", filled.stored_grade)):
        if isinstance(stored, CellError):
            unrecalculated.append((where, stored))
    if unrecalculated:
        codes = "、".join(sorted({e.code for _, e in unrecalculated}))
        names = "、".join(n for n, _ in unrecalculated[:5]) + ("等" if len(unrecalculated) > 5 else "")
        rep.items.append(Item(WARNING, "评分表", f"{len(unrecalculated)} 个分数单元格是错误值 {codes}（{names}）：工作簿在不能运行"
                                              f" PERF_ 函数的电脑上重新计算过，保存的分数没有更新（不是手工改分）。上面的分数由本程序"
                                              f"按输入重新计算；提交时请用 perfscore freeze 生成提交版，或在装好 perfscore 的电脑上重新计算后保存"))
    if result.total is not None and not isinstance(filled.stored_total, CellError) and not _same(filled.stored_total, result.total):
        rep.items.append(Item(ERROR, "综合评分", f"文件中为 {_show(filled.stored_total)}，重新计算为 {fmt_num(result.total)}"))
    if result.grade is not None and not isinstance(filled.stored_grade, CellError) and filled.stored_grade != result.grade:
        rep.items.append(Item(ERROR, "评分等级", f"文件中为 {_show(filled.stored_grade)}，重新计算为 {result.grade}"))
    rep.items += formula_items(filled, system)
    for c in system.checks:
        if c.holds(result.inputs) is False:
            rep.items.append(Item(WARNING, "数据核对", c.label))
    if not filled.header.get("部门名称"):
        rep.items.append(Item(WARNING, "基础数据", "未填写部门名称"))
    return rep


# ---------------------------------------------------------------------------------------- formulas
_EXPECTED: dict = {}
MAX_FORMULA_ITEMS = 10


def expected_formulas(system, kind: str):
    """(sheet, coordinate) -> (normalised formula, what the cell is) for the 评分表 and 扣分说明 cells the rules
    year generates for a workbook of ``kind`` ("python" or "excel"); None when this perfscore cannot build that
    kind. Those two sheets' layout depends on the indicator system only, not on the department's data."""
    key = (id(system), kind)
    if key not in _EXPECTED:
        from perfscore.excel.workbook import build_workbook
        try:
            built = build_workbook(system, None) if kind == "python" else build_workbook(system, None, engine="excel")
        except TypeError:  # a perfscore without the native-formula builder
            _EXPECTED[key] = (system, None)
            return None
        out = {}
        heads = {6: "得分", 7: "扣分", 8: "得分率", 9: "得分与扣分理由"}
        for (sheet, coord), text in built.formulas.items():
            if sheet not in (SCORE_SHEET_NAME, DEDUCTION_SHEET):
                continue
            ws = built.wb[sheet]
            cell = ws[coord]
            if sheet == SCORE_SHEET_NAME:
                label = ws.cell(cell.row, 3).value or ws.cell(cell.row, 1).value or coord
                what = f"{label}（评分表 {coord}）"
            else:
                label = ws.cell(cell.row, 4).value or coord
                what = f"{label} {heads.get(cell.column, '')}（扣分说明 {coord}）"
            out[(sheet, coord)] = (normalise_formula(text), what)
        _EXPECTED[key] = (system, out)
    return _EXPECTED[key][1]


@lru_cache(maxsize=8192)
def normalise_formula(text: str) -> str:
    """Spelling differences Excel, WPS and LibreOffice introduce on saving, removed: leading =, _xlfn./_xludf.
    prefixes, $ signs, quotes around sheet names, spaces and letter case outside string literals."""
    import re
    out, parts = [], re.split(r'("(?:[^"]|"")*")', text.lstrip().removeprefix("="))
    for k, part in enumerate(parts):
        if k % 2:
            out.append(part)
            continue
        part = re.sub(r"_xl(?:fn|udf|ws)\.", "", part, flags=re.I).replace("$", "")
        part = re.sub(r"'((?:[^']|'')+)'!", lambda m: m.group(1).replace("''", "'") + "!", part)
        out.append(re.sub(r"\s+", "", part).upper())
    return "".join(out)


def formula_items(filled: FilledWorkbook, system) -> list[Item]:
    """Score cells whose formula is not the one the rules year generates (a constant typed over it, or an
    edited formula), reported by name like a hand-edited score."""
    if filled.kind == "values":
        return []
    expected = expected_formulas(system, filled.kind)
    if expected is None:
        return [Item(WARNING, "公式", f"本版本 perfscore 不能生成{filled.kind_text}，未核对分数单元格的公式")]
    items = []
    for (sheet, coord), (want, what) in expected.items():
        got = filled.formulas.get((sheet, coord))
        if got is None:
            items.append(Item(ERROR, what, "公式被替换为固定数值（或被删除）：分数不再随输入计算，可能被手工改过"))
        elif normalise_formula(got) != want:
            items.append(Item(ERROR, what, f"公式被改动（文件中为 ={_cut(got)}）：与 {system.year} 年版规则生成的公式不同，"
                                           f"分数可能被手工改过"))
    if len(items) > MAX_FORMULA_ITEMS:
        rest = len(items) - MAX_FORMULA_ITEMS
        items = items[:MAX_FORMULA_ITEMS] + [Item(ERROR, "公式", f"另有 {rest} 个公式单元格与规则生成的不同")]
    return items


def _cut(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def check_workbook(path, system_path=None) -> CheckReport:
    return check_filled(read_filled(path), system_path)


def _show(v) -> str:
    if isinstance(v, CellError):
        return f"错误值 {v.code}"
    if v is None:
        return "（空）"
    if isinstance(v, float):
        return fmt_num(v)
    s = str(v)
    return f"“{s if len(s) <= 40 else s[:39] + '…'}”"


def report_text(rep: CheckReport) -> str:
    f, res = rep.filled, rep.result
    rules = (f"{res.system.region} {f.year} 年版（{f.region}）" if res.system.key == f.region
             else f"{f.region} {f.year} 年版")   # a system given by --system may lie in a folder of another name
    lines = [f"{rep.path}", f"  部门：{f.header.get('部门名称') or '（未填写）'}　规则：{rules}　"
                            f"综合评分：{fmt_num(res.total) if res.total is not None else '—'}　等级：{res.grade or '—'}",
             f"  类型：{f.kind_text}　检查结果：{rep.status}"]
    for i in rep.items:
        lines.append(f"  [{i.level}] {i.where}：{i.message}")
    return "\n".join(lines)


def freeze(path, output, *, force: bool = False, pdf: bool = False, notes: list | None = None, system_path=None):
    """A values-only copy for people without Python or macros: scores recomputed by the engine (not taken from
    the file's cache), no VBA, no xlwings.conf, the same formatting and print setup. Returns the written paths.
    ``notes`` (a list) receives what the submission copy corrects: the kind of workbook read, every stored
    score that differed from the recomputation, and the layout problems ``check`` reports. ``system_path``: the
    workbook's indicator system file when it is not installed (as for ``check --system``)."""
    from perfscore.files import atomic_output, check_output
    from perfscore.excel.layout import CONF_SHEET
    from perfscore.excel.workbook import build_workbook
    output = check_output(output, ".xlsx", force, "提交版（不含宏）", inputs=[path])
    filled = read_filled(path)
    system = rules_system(filled, system_path)
    if notes is not None:
        rep = check_filled(filled, system_path)
        notes.append(f"读取：{filled.kind_text}")
        for i in rep.items:
            if i.message.startswith("无法计分"):
                continue
            fixed = "（提交版写入重新计算的结果）" if i.message.startswith("文件中") else ""
            notes.append(f"[{i.level}] {i.where}：{i.message}{fixed}")
    built = build_workbook(system, case_from_filled(filled, system))
    wb = built.wb
    for (sheet, coord), value in built.cached.items():
        cell = wb[sheet][coord]
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # a message such as "=100%" stays text
    del wb[CONF_SHEET]
    wb.properties.title = (wb.properties.title or "") + "（提交版，仅数值）"
    with atomic_output(output) as tmp:
        wb.save(tmp)
    written = [output]
    if pdf:
        from perfscore.report.render import to_pdf
        written += to_pdf([output], output.parent)
    return written
