"""评分表, the official score table with a live formula in every 分数 cell.

It reproduces the table the finance department issues (一级/二级/三级指标, 分值, 指标说明, 评分标准) and adds the 分数
column: each cell scores one indicator from the inputs on 基础数据, or shows a short message saying what is missing.
Below it: 综合评分, 评分等级, 填表人, the unit and year line and the grade bands, printed with the table; the Python
version adds a red line that speaks up when the PERF_ functions cannot run. The officer and the reviewing finance
department read it; 扣分说明 and 自评表 refer to its rows (``ctx.score_row``).
"""
from __future__ import annotations

from openpyxl.styles import Font

from perfscore.engine.numbers import fmt_num
from perfscore.excel.sheets.formulas import blank_safe
from perfscore.excel.sheets.style import FANG, HEAD_FILL, cell, fit_row, merge, print_setup, protect, title


def write(ctx, ws):
    for col, w in zip("ABCDEFG", (12, 12, 16, 6, 36, 66, 14)):
        ws.column_dimensions[col].width = w
    title(ws, ctx.system.title, 7)
    merge(ws, 2, 1, 2, 4, "评价指标", bold=True, center=True, fill=HEAD_FILL)
    for col, text in ((5, "指标说明"), (6, "评分标准"), (7, "分数")):
        merge(ws, 2, col, 3, col, text, bold=True, center=True, fill=HEAD_FILL)
    for col, text in enumerate(("一级指标", "二级指标", "三级指标", "分值"), 1):
        cell(ws, 3, col, text, bold=True, center=True, fill=HEAD_FILL)
    first = 4
    row = _indicators(ctx, ws, first)
    _footer(ctx, ws, first, row)
    ws.freeze_panes = "A4"
    print_setup(ws, "2:3")
    ws.print_area = f"A1:G{row + 5}"  # with the status line (Python version): it prints when the functions fail
    protect(ws, ctx.password)


def _indicators(ctx, ws, first) -> int:
    """One row per indicator from ``first``, the level names merged beside them; returns the row after the last."""
    s = ctx.system
    row = first
    for ind in s.indicators:
        cell(ws, row, 3, ind.name, center=True)
        cell(ws, row, 4, ind.weight, center=True, fmt="0.##")
        cell(ws, row, 5, ind.description, name=FANG, size=9)
        cell(ws, row, 6, _criteria_text(ind), name=FANG, size=9)
        ctx.formula(ws, row, 7, *ctx.fx.score(ind), center=True, fmt="0.00")
        value = ctx.built.cached[(ws.title, f"G{row}")]
        shown = value if isinstance(value, str) else None
        fit_row(ws, row, [(ind.description, 36), (_criteria_text(ind), 66), (shown, 14)], size=9, minimum=40)
        ctx.score_row[ind.id] = row
        row += 1
    for attr, col in (("level1", 1), ("level2", 2)):
        start = first
        for k, ind in enumerate(s.indicators):
            nxt = s.indicators[k + 1] if k + 1 < len(s.indicators) else None
            lv = getattr(ind, attr)
            if nxt is None or getattr(nxt, attr).id != lv.id:
                merge(ws, start, col, first + k, col, (lv.printed or lv.name) if attr == "level1" else lv.name,
                      center=True, bold=attr == "level1")
                start = first + k + 1
    return row


def _footer(ctx, ws, first, row):
    """综合评分, 评分等级 and 填表人 from ``row``, then the unit and year line, the grade bands and the status line."""
    last = row - 1
    merge(ws, row, 1, row, 6, "综合评分", bold=True, center=True)
    ctx.formula(ws, row, 7, *ctx.fx.total(ws, f"G{first}:G{last}", [f"G{r}" for r in range(first, last + 1)]),
                bold=True, center=True, fmt="0.00")
    merge(ws, row + 1, 1, row + 1, 6, "评分等级", bold=True, center=True)
    ctx.formula(ws, row + 1, 7, *ctx.fx.grade(ws, f"G{row}"), bold=True, center=True)
    total, grade = ctx.value((ws.title, f"G{row}")), ctx.value((ws.title, f"G{row + 1}"))
    # room for the message the blank template shows (a list of missing items is longer and wraps on screen; the
    # table keeps its two printed pages)
    missing = "各项分数均未得出，无法合计"
    fit_row(ws, row, [(max(str(total), missing, key=len), 14)])
    fit_row(ws, row + 1, [(max(str(grade), "综合评分未得出，无法评定等级", key=len), 14)])
    merge(ws, row + 2, 1, row + 2, 6, "填表人", bold=True, center=True)
    ctx.formula(ws, row + 2, 7, *blank_safe("填报人", ctx.case.preparer if ctx.case else None), center=True)
    # the unit and year line, and the grade bands, printed with the table
    dept, year = (ctx.case.department, ctx.case.year) if ctx.case else (None, None)
    line = ('"填报单位（盖章）："&IF(部门名称="","",部门名称)&"　　　　预算年度："&IF(预算年度="","",预算年度)')
    shown = f"填报单位（盖章）：{dept or ''}　　　　预算年度：{year or ''}"
    ctx.formula(ws, row + 3, 1, line, shown, border=False, size=11)
    ws.merge_cells(start_row=row + 3, start_column=1, end_row=row + 3, end_column=7)
    ws.row_dimensions[row + 3].height = 24
    bands = grade_bands(ctx.system)
    merge(ws, row + 4, 1, row + 4, 7, bands, border=False, name=FANG, size=10)
    fit_row(ws, row + 4, [(bands, 160)], size=10)
    status = ctx.fx.status(ws, first, row + 1)
    if status:  # a line that speaks up when the PERF_ functions cannot run on this machine
        ctx.formula(ws, row + 5, 1, *status, border=False, name=FANG, size=11)
        ws.merge_cells(start_row=row + 5, start_column=1, end_row=row + 5, end_column=7)
        ws.cell(row + 5, 1).font = Font(name=FANG, size=11, bold=True, color="C00000")
        ws.row_dimensions[row + 5].height = 30


def _criteria_text(ind) -> str:
    text = ind.criteria
    for e in ind.errata:
        text += f"\n【勘误】{e.note}"
    return text


def grade_bands(system) -> str:
    """评分等级 as the system declares them: 综合评分 90≤得分≤100 为“优”；…"""
    parts = [f"{iv.describe('得分', False)}为“{label}”" for iv, label in system.grades]
    return f"评分等级：综合评分（满分 {fmt_num(system.total)} 分）" + "；".join(parts) + "。"
