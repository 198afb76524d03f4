"""自评表, the goal-completion table (部门整体支出绩效目标自评表), for systems that declare one.

The officer fills in three parts, as the finance department's form has them: 年度主要任务完成情况 (tasks with their
budget and executed amounts, summed), 年度总体目标完成情况 (expected and actual, in words), and 年度绩效指标完成情况
(each performance indicator's target and actual value). 完成情况 is judged automatically from target and actual
(``ctx.fx.target``) unless the officer writes a 人工判断. The reviewing finance department reads it beside 评分表.
"""
from __future__ import annotations

from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from perfscore.excel.sheets.context import amount_unit
from perfscore.excel.sheets.formulas import blank_safe
from perfscore.excel.sheets.style import (FANG, HEAD_FILL, INPUT_FILL, box, cell, fit_row, merge, print_setup,
                                          protect, title)
from perfscore.files import xml_text

GOAL_TASK_ROWS = 8           # 自评表: rows for 年度主要任务 (more when the case has more)
GOAL_ROWS_PER_CATEGORY = 3   # 自评表: indicator rows per 二级指标 (more when the case has more)
GOAL_NOTE = ("填写说明：本表浅蓝色单元格由填报人填写。年度主要任务按部门年度工作计划逐项填写，预算数填全年预算数"
             "（调整后），执行数填决算数，单位：{unit}；任务行不够时可合并填写或请 IT 人员加行。年度绩效指标按部门整体"
             "绩效目标申报表逐项填写预期指标值（如“≥90%”“=100%”“12个月”“及时”）和实际完成指标值（填写实测数值或"
             "实际情况，不要带“≥”等符号）；“完成情况”按两者自动判断，无法自动判断或需要更正的，在“人工判断”栏填写"
             "“达成”“未达成”或“部分达成”，表格以人工判断为准。")
AMOUNTS = ("budget_total", "budget_fiscal", "executed_total", "executed_fiscal")  # columns D to G of a task


def write(ctx, ws):
    case, unit = ctx.case, amount_unit(ctx.system)
    for col, w in zip("ABCDEFGH", (12, 16, 30, 15, 15, 15, 15, 12)):
        ws.column_dimensions[col].width = w
    title(ws, ctx.system.goal_table.title, 8)
    merge(ws, 2, 1, 2, 2, "部门（单位）名称", bold=True, center=True, fill=HEAD_FILL)
    ctx.formula(ws, 2, 3, *blank_safe("部门名称", case.department if case else None), center=True)
    ws.merge_cells("C2:D2")
    box(ws, 2, 3, 2, 4)
    cell(ws, 2, 5, "预算年度", bold=True, center=True, fill=HEAD_FILL)
    ctx.formula(ws, 2, 6, *blank_safe("预算年度", case.year if case else None), center=True)
    ws.merge_cells("F2:H2")
    box(ws, 2, 6, 2, 8)
    note = GOAL_NOTE.format(unit=unit)
    merge(ws, 3, 1, 3, 8, note, border=False, name=FANG, size=9)
    fit_row(ws, 3, [(note, 120)], size=9)
    row = _tasks(ctx, ws, 4, unit)
    row = _overall(ctx, ws, row)
    _indicators(ctx, ws, row)
    print_setup(ws, "1:2")
    protect(ws, ctx.password)


def _tasks(ctx, ws, top, unit) -> int:
    """年度主要任务完成情况 from row ``top``, with the 金额合计 row; returns the next row."""
    case = ctx.case
    tasks = case.tasks if case and case.tasks else []
    n_tasks = max(len(tasks), GOAL_TASK_ROWS)
    merge(ws, top, 2, top + 1, 2, "任务名称", bold=True, center=True, fill=HEAD_FILL)
    merge(ws, top, 3, top + 1, 3, "完成情况", bold=True, center=True, fill=HEAD_FILL)
    merge(ws, top, 4, top, 5, f"预算数（全年预算数（调整后），{unit}）", bold=True, center=True, fill=HEAD_FILL)
    merge(ws, top, 6, top, 7, f"执行数（{unit}）", bold=True, center=True, fill=HEAD_FILL)
    for col, text in zip((4, 5, 6, 7), ("全额", "其中：财政拨款", "全额", "其中：财政拨款")):
        cell(ws, top + 1, col, text, bold=True, center=True, fill=HEAD_FILL)
    row = top + 2
    for k in range(n_tasks):
        t = tasks[k] if k < len(tasks) else None
        cell(ws, row, 2, t.name if t else None, fill=INPUT_FILL, locked=False)
        cell(ws, row, 3, t.status if t else None, fill=INPUT_FILL, locked=False, name=FANG, size=9)
        for col, attr in zip((4, 5, 6, 7), AMOUNTS):
            cell(ws, row, col, getattr(t, attr) if t else None, fill=INPUT_FILL, locked=False, fmt="#,##0.00")
        # a blank row has room for two lines of what the department will type
        fit_row(ws, row, [(t.status if t else None, 30), (t.name if t else None, 16)], size=9, minimum=32)
        row += 1
    merge(ws, top, 1, row - 1, 1, "年度主要任务完成情况", bold=True, center=True)
    merge(ws, row, 1, row, 3, "金额合计", bold=True, center=True)
    for col, attr in zip((4, 5, 6, 7), AMOUNTS):
        letter = get_column_letter(col)
        rng = f"{letter}{top + 2}:{letter}{row - 1}"
        # nothing entered: the total prints empty, not 0.00
        ctx.formula(ws, row, col, f'IF(COUNT({rng})=0,"",SUM({rng}))',
                    round(sum(getattr(t, attr) for t in tasks), 2) if tasks else "", fmt="#,##0.00")
    return row + 1


def _overall(ctx, ws, row) -> int:
    """年度总体目标完成情况: expected and actual, in words; returns the next row."""
    expected, actual = (ctx.case.goals_expected, ctx.case.goals_actual) if ctx.case else (None, None)
    merge(ws, row, 1, row + 1, 1, "年度总体目标完成情况", bold=True, center=True)
    merge(ws, row, 2, row, 4, "预期目标", bold=True, center=True, fill=HEAD_FILL)
    merge(ws, row, 5, row, 8, "目标实际完成情况", bold=True, center=True, fill=HEAD_FILL)
    merge(ws, row + 1, 2, row + 1, 4, expected or None, fill=INPUT_FILL, locked=False, name=FANG, size=9)
    merge(ws, row + 1, 5, row + 1, 8, actual or None, fill=INPUT_FILL, locked=False, name=FANG, size=9)
    fit_row(ws, row + 1, [(expected, 58), (actual, 54)], size=9, minimum=60)
    return row + 2


def _indicators(ctx, ws, row):
    """年度绩效指标完成情况 from row ``row``: per 二级指标 the case's rows (at least GOAL_ROWS_PER_CATEGORY)."""
    head = row
    for col, text in zip(range(2, 9), ("一级指标", "二级指标", "三级指标", "预期指标值", "实际完成指标值", "完成情况",
                                       "人工判断（可填）")):
        cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
    row += 1
    rows = ctx.case.goal_rows if ctx.case else []
    for l1, l2s in ctx.system.goal_table.categories:
        start1 = row
        for l2 in l2s:
            mine = [r for r in rows if r.level1 == l1 and r.level2 == l2]
            mine += [None] * max(0, GOAL_ROWS_PER_CATEGORY - len(mine))
            start2 = row
            for gr in mine:
                _indicator_row(ctx, ws, row, gr)
                row += 1
            merge(ws, start2, 3, row - 1, 3, l2, center=True)
        merge(ws, start1, 2, row - 1, 2, l1, center=True)
    merge(ws, head, 1, row - 1, 1, "年度绩效指标完成情况", bold=True, center=True)
    dv = DataValidation(type="list", formula1='"达成,未达成,部分达成"', allow_blank=True)
    dv.prompt, dv.promptTitle, dv.showInputMessage = "填写后“完成情况”以此为准；留空则自动判断", "人工判断", True
    ws.add_data_validation(dv)
    dv.add(f"H{head + 1}:H{row - 1}")


MESSAGES_LONGEST = "无法判断：实际值应为实测数值，请人工判断"  # the longest text the 完成情况 formula produces


def _indicator_row(ctx, ws, row, gr):
    """One performance indicator (``gr``, or None for an empty row): name, target, actual, 完成情况, 人工判断."""
    cell(ws, row, 4, gr.name if gr else None, fill=INPUT_FILL, locked=False)
    for col, text in ((5, gr.target if gr else None), (6, gr.actual if gr else None)):
        c = cell(ws, row, col, None, fill=INPUT_FILL, locked=False, center=True, fmt="@")
        if text is not None:
            c.value, c.data_type = xml_text(text), "s"  # "=100%" is a target as written, not a formula
    cell(ws, row, 8, None, fill=INPUT_FILL, locked=False, center=True)
    ctx.formula(ws, row, 7, *ctx.fx.target(ws, row, gr), center=True, name=FANG, size=9)
    shown = ctx.value((ws.title, f"G{row}"))
    longest = max([str(shown or "")] + [MESSAGES_LONGEST], key=len)  # 完成情况 may say why it cannot judge
    fit_row(ws, row, [(gr.name if gr else None, 30), (longest, 15), (gr.actual if gr else None, 15)], size=9, minimum=32)
