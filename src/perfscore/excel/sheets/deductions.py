"""扣分说明, the deductions: for every indicator its score, the points lost and the reason, then subtotals by level.

Read by the officer writing the self-evaluation report (the reasons go straight into its problem analysis) and by
the reviewing finance department. Its 序号 are the 评分表 rows in order, so “第 5、12 项未得出分数” on 评分表 points
here. Each 得分 mirrors the 评分表 cell (a dash where that holds a message; the reason says what is missing).
"""
from __future__ import annotations

from openpyxl.styles import Font
from openpyxl.worksheet.pagebreak import Break

from perfscore.excel import native as N
from perfscore.excel.sheets.style import FANG, HEAD_FILL, cell, fit_row, merge, print_setup, protect, title

FIRST = 3  # the first indicator row


def write(ctx, ws):
    for col, w in zip("ABCDEFGHI", (6, 10, 10, 22, 7, 8, 8, 9, 70)):
        ws.column_dimensions[col].width = w
    title(ws, "扣分说明", 9)
    heads = ("序号", "一级指标", "二级指标", "三级指标", "分值", "得分", "扣分", "得分率", "得分与扣分理由")
    for col, text in enumerate(heads, 1):
        cell(ws, 2, col, text, bold=True, center=True, fill=HEAD_FILL)
    row = FIRST
    for n, ind in enumerate(ctx.system.indicators, 1):
        cell(ws, row, 1, n, center=True)
        cell(ws, row, 2, ind.level1.name, center=True)
        cell(ws, row, 3, ind.level2.name, center=True)
        cell(ws, row, 4, ind.name)
        cell(ws, row, 5, ind.weight, center=True, fmt="0.##")
        sr = ctx.score_row[ind.id]
        ctx.formula(ws, row, 6, *ctx.fx.mirror("评分表", f"G{sr}"), center=True, fmt="0.00")
        ctx.formula(ws, row, 7, _deducted(ws, row), None, center=True, fmt="0.00")
        ctx.formula(ws, row, 8, *ctx.fx.rate(ws, row), center=True, fmt="0.00%")
        ctx.formula(ws, row, 9, *ctx.fx.reason(ws, row, ind), name=FANG, size=9)
        reason = ctx.value((ws.title, f"I{row}"))
        # sized for the longest reason it may show once the inputs are filled or changed, not only for this one
        longest = max([reason] + [r.by_id(ind.id).reason or r.by_id(ind.id).error or "" for r in ctx.samples],
                      key=lambda t: len(str(t or "")))
        fit_row(ws, row, [(ind.name, 22), (longest, 70)], size=9)
        row += 1
    # subtotals by level: on a page of their own, under their own title and header
    ws.row_breaks.append(Break(id=row - 1))
    last = row - 1
    row = _subtotals(ctx, ws, row + 1)
    status = ctx.fx.status(ws, FIRST, last, col="I")
    if status:  # the reasons are functions too: say so on this sheet's paper when they cannot run
        ctx.formula(ws, row, 1, *status, border=False, name=FANG, size=11)
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=9)
        ws.cell(row, 1).font = Font(name=FANG, size=11, bold=True, color="C00000")
        ws.row_dimensions[row].height = 36
        row += 1
    ws.freeze_panes = "A3"
    print_setup(ws, None)
    ws.print_area = f"A1:I{row - 1}"
    protect(ws, ctx.password)


def _subtotals(ctx, ws, row) -> int:
    """各级指标得分小计 from row ``row``: each 一级 and 二级指标's score, deduction and rate; returns the next row."""
    s = ctx.system
    title(ws, "各级指标得分小计", 9, row=row, size=12)
    row += 1
    merge(ws, row, 2, row, 3, "层级", bold=True, center=True, fill=HEAD_FILL)
    for col, text in ((4, "指标"), (5, "分值"), (6, "得分"), (7, "扣分"), (8, "得分率")):
        cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
    row += 1
    for attr, levels in (("level1", s.level1), ("level2", s.level2)):
        for lv in levels:
            rows = [FIRST + k for k, ind in enumerate(s.indicators) if getattr(ind, attr).id == lv.id]
            merge(ws, row, 2, row, 3, "一级指标" if attr == "level1" else "二级指标", center=True)
            cell(ws, row, 4, lv.name, bold=attr == "level1")
            cell(ws, row, 5, lv.weight, center=True, fmt="0.##")
            refs = ",".join(f"F{r}" for r in rows) if len(rows) != rows[-1] - rows[0] + 1 else f"F{rows[0]}:F{rows[-1]}"
            ctx.formula(ws, row, 6, *ctx.fx.total(ws, refs, [f"F{r}" for r in rows]), center=True, fmt="0.00")
            ctx.formula(ws, row, 7, _deducted(ws, row), None, center=True, fmt="0.00")
            ctx.formula(ws, row, 8, *ctx.fx.rate(ws, row), center=True, fmt="0.00%")
            row += 1
    return row


def _deducted(ws, row):
    """扣分 = 分值 − 得分, or a dash when there is no score."""
    f, e = (N.Ref(f"{c}{row}", (ws.title, f"{c}{row}")) for c in "FE")
    return N.IF(N.ISNUMBER(f), e - f, "—")
