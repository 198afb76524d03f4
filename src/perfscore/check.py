"""The receiving side: recompute a filled workbook by its rules year and compare with what it stores."""
from __future__ import annotations

from dataclasses import dataclass, field

from .engine import CaseResult, score_case
from .numbers import fmt_num
from .reader import FilledWorkbook, case_from_filled, raw_inputs, read_filled
from .system import require_exact_year

ERROR, WARNING = "错误", "警告"


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
    if isinstance(computed, float):
        return isinstance(stored, float) and abs(stored - computed) < 0.005
    return stored == computed


def check_filled(filled: FilledWorkbook) -> CheckReport:
    system = require_exact_year(filled.year)  # the workbook was made from that year's file: no fallback
    raw = raw_inputs(filled, system)
    result = score_case(system, raw)
    rep = CheckReport(filled.path, filled, result)
    for r in result.indicators:
        name = r.indicator.name
        if r.error:
            rep.items.append(Item(ERROR, name, f"无法计分：{r.error_detail}"))
        stored = filled.stored_scores.get(name)
        computed = r.score if r.error is None else r.error
        if name not in filled.stored_scores:
            rep.items.append(Item(ERROR, name, "评分表中找不到这一行"))
        elif not _same(stored, computed):
            rep.items.append(Item(ERROR, name, f"文件中保存的分数为 {_show(stored)}，按输入重新计算为 {_show(computed)}："
                                                f"分数可能被手工改过，或输入改动后没有重新计算"))
    if result.total is not None and not _same(filled.stored_total, result.total):
        rep.items.append(Item(ERROR, "综合评分", f"文件中为 {_show(filled.stored_total)}，重新计算为 {fmt_num(result.total)}"))
    if result.grade is not None and filled.stored_grade != result.grade:
        rep.items.append(Item(ERROR, "评分等级", f"文件中为 {_show(filled.stored_grade)}，重新计算为 {result.grade}"))
    for c in system.checks:
        if c.holds(result.inputs) is False:
            rep.items.append(Item(WARNING, "数据核对", c.label))
    if not filled.header.get("部门名称"):
        rep.items.append(Item(WARNING, "基础数据", "未填写部门名称"))
    return rep


def check_workbook(path) -> CheckReport:
    return check_filled(read_filled(path))


def _show(v) -> str:
    if v is None:
        return "（空）"
    if isinstance(v, float):
        return fmt_num(v)
    s = str(v)
    return f"“{s if len(s) <= 40 else s[:39] + '…'}”"


def report_text(rep: CheckReport) -> str:
    f, res = rep.filled, rep.result
    lines = [f"{rep.path}", f"  部门：{f.header.get('部门名称') or '（未填写）'}　规则年度：{f.year}　"
                            f"综合评分：{fmt_num(res.total) if res.total is not None else '—'}　等级：{res.grade or '—'}",
             f"  检查结果：{rep.status}"]
    for i in rep.items:
        lines.append(f"  [{i.level}] {i.where}：{i.message}")
    return "\n".join(lines)


def freeze(path, output, *, force: bool = False, pdf: bool = False):
    """A values-only copy for people without Python or macros: scores recomputed by the engine (not taken from
    the file's cache), no VBA, no xlwings.conf, the same formatting and print setup. Returns the written paths."""
    from .files import atomic_output, check_output
    from .layout import CONF_SHEET
    from .workbook import build_workbook
    output = check_output(output, ".xlsx", force, "提交版（不含宏）")
    filled = read_filled(path)
    system = require_exact_year(filled.year)
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
        from .render import to_pdf
        written += to_pdf([output], output.parent)
    return written
