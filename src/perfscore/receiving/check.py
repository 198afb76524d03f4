"""The receiving side: recompute a filled workbook by its rules year and compare with what it stores."""
from __future__ import annotations

from dataclasses import dataclass, field

from perfscore.engine.scoring import CaseResult, score_case
from perfscore.engine.numbers import fmt_num
from perfscore.errors import PerfscoreError
from perfscore.receiving.reader import (ERROR, WARNING, CellError, FilledWorkbook, case_from_filled, raw_inputs, read_filled,
                                        rules_system)
from perfscore.engine.system import available_years
from perfscore.excel.fingerprint import LAYOUT_PLACEHOLDER, template_for
from perfscore.files import atomic_output, check_output


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
    notes: list[str] = field(default_factory=list)     # facts that are not findings (the application that saved it)

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
    if filled.layout_problem:
        rep.items.append(Item(ERROR, "版式", filled.layout_problem))
    if filled.package is not None and filled.package.sheet(FAILED_SHEET) is not None:
        rep.items.append(Item(ERROR, FAILED_SHEET, "这是从未通过检查的工作簿强制生成的提交版（perfscore freeze --force）："
                                                  "请改正原工作簿后重新检查、重新生成提交版"))
    # structure first: what differs from the genuine workbook, the decisive findings (can change a score) first
    rep.items += [Item(level, where, message) for level, where, message, _ in filled.issues]
    if filled.saved_by:
        rep.notes.append(f"最后由 {filled.saved_by} 保存")
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
    rep.items += consistency_items(filled, system)
    for c in system.checks:
        if c.holds(result.inputs) is False:
            rep.items.append(Item(WARNING, "数据核对", c.label))
    if not filled.header.get("部门名称"):
        rep.items.append(Item(WARNING, "基础数据", "未填写部门名称"))
    return rep


def consistency_items(filled: FilledWorkbook, system) -> list[Item]:
    """What the file says about itself, checked: the budget year is one the rules year is in force for (a workbook
    relabelled to another rules year, or filled on another year's template), and every input used only for 数据核对
    holds what its kind allows, as the inputs that score must."""
    items = []
    budget = filled.header.get("预算年度")
    if isinstance(budget, float) and budget.is_integer():
        budget = int(budget)
        try:
            years = [y for y in available_years(system.key or "shenzhen") if y <= budget]
        except PerfscoreError:
            years = []
        in_force = max(years) if years else None
        if in_force is None and budget < system.year:
            items.append(Item(WARNING, "预算年度", f"预算年度 {budget} 早于本地区最早的规则年度 {system.year}：按 {system.year} 年版计分，"
                                                f"请核实预算年度"))
        elif in_force is not None and in_force != system.year:
            items.append(Item(ERROR, "预算年度", f"预算年度 {budget} 适用 {in_force} 年版规则，本工作簿却按 {system.year} 年版生成："
                                              f"请用 perfscore template --year {budget} 生成的工作簿重新填写（可用 carry-forward 带入数据）"))
    elif budget not in (None, ""):
        items.append(Item(WARNING, "预算年度", f"预算年度应为四位年份，文件中为 {_show(budget)}"))
    by_name = {s.name: s for s in system.inputs.values()}
    used = {i for ind in system.indicators for i in ind.inputs}
    for name, value in filled.inputs.items():
        spec = by_name.get(name)
        if spec is None or spec.id in used or value is None:
            continue
        try:
            spec.parse(value)
        except PerfscoreError as exc:
            items.append(Item(ERROR, name, f"不参与计分、用于数据核对的输入项填写有误：{exc}"))
    return items


def check_workbook(path, system_path=None) -> CheckReport:
    return check_filled(read_filled(path, system_path), system_path)


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
             f"  类型：{f.kind_text}　检查结果：{rep.status}" + "".join(f"　{n}" for n in rep.notes)]
    for i in rep.items:
        lines.append(f"  [{i.level}] {i.where}：{i.message}")
    return "\n".join(lines)


FAILED_SHEET = "未通过检查"  # the first sheet of a 提交版 forced from a workbook that failed check


class FreezeRefused(PerfscoreError):
    """The workbook failed check: no clean-looking 提交版 is made from it (unless forced)."""

    def __init__(self, report):
        self.report = report
        super().__init__("工作簿未通过检查，未生成提交版")


def freeze(path, output, *, force: bool = False, pdf: bool = False, notes: list | None = None, system_path=None):
    """A values-only copy for people without Python or macros: scores recomputed by the engine (not taken from
    the file's cache), no VBA, no xlwings.conf, the same formatting and print setup. Returns the written paths.

    A workbook that fails ``check`` is refused (``FreezeRefused``, carrying the report) unless ``force``; the
    forced copy then opens with a sheet 未通过检查 listing the findings and carries 未通过检查 in red in the header
    of every printed page, and fails ``check`` itself. ``notes`` (a list) receives what the copy corrects: the kind
    of workbook read and every finding of ``check``. ``system_path``: the workbook's indicator system file when it
    is not installed (as for ``check --system``)."""
    # lazy: only freeze writes a workbook; check must start in about 0.1 s, without openpyxl and the functions
    from perfscore.excel.cache import inject_cached_values
    from perfscore.excel.layout import CONF_SHEET
    from perfscore.excel.workbook import build_workbook
    from perfscore.render import to_pdf
    output = check_output(output, ".xlsx", force, "提交版（不含宏）", inputs=[path])
    filled = read_filled(path, system_path)
    system = rules_system(filled, system_path)
    rep = check_filled(filled, system_path)
    if not rep.passed and not force:
        raise FreezeRefused(rep)
    if notes is not None:
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
    if not rep.passed:
        _stamp_failed(wb, rep)
    stamp = {LAYOUT_PLACEHOLDER: f"（版式 {template_for(system, 'values').layout_id}）"}
    with atomic_output(output) as tmp:
        wb.save(tmp)
        inject_cached_values(tmp, {}, stamp)
    written = [output]
    if pdf:
        written += to_pdf([output], output.parent)
    return written


def _stamp_failed(wb, rep: CheckReport) -> None:
    """未通过检查 in red on every printed page, and a first sheet with the findings (decisive ones first)."""
    from openpyxl.styles import Alignment, Font
    ws = wb.create_sheet(FAILED_SHEET, 0)
    for sheet in wb.worksheets:
        sheet.oddHeader.center.text = FAILED_SHEET
        sheet.oddHeader.center.color = "FF0000"
        sheet.oddHeader.center.size = 16
    ws.sheet_properties.tabColor = "FF0000"
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 100
    ws["A1"] = "本提交版由未通过检查的工作簿强制生成（perfscore freeze --force），不能作为合格的提交材料"
    ws["A1"].font = Font(size=14, bold=True, color="FF0000")
    ws.merge_cells("A1:B1")
    ws.append([])
    ws.append(["级别", "检查发现"])
    for i in rep.items:
        ws.append([i.level, f"{i.where}：{i.message}"])
    for row in ws.iter_rows(min_row=3):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    wb.active = 0
