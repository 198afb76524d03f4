"""基础数据, the sheet the department fills in: one row per input the indicator system declares.

The officer reads it row by row: 序号, 输入项 (exactly the input's defined name — the readers check the row by it),
单位, 数值 (light blue, validated), 依据/佐证材料 (light blue), 数据来源, 填写说明, 用于指标. Above the rows are the header
fields (部门名称, 预算年度, 填报人, 联系电话) and the system's year and region, each a defined name the formulas use.
The Excel-formula version adds three hidden helper columns that its score formulas read: L 读数 (the value as the
one typed-input rule reads it), J 检查 (why the value is not usable, or empty) and K 取值 (the number the rules use).
"""
from __future__ import annotations

import math

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from perfscore.engine.numbers import fmt_num
from perfscore.engine.scoring import MISSING
from perfscore.excel.fingerprint import LAYOUT_PLACEHOLDER
from perfscore.excel.layout import HEADER_FIELDS, REGION_NAME, YEAR_NAME
from perfscore.excel.sheets.style import (FANG, HEAD_FILL, INPUT_FILL, NUMFMT, cell, fit_row, merge, print_setup,
                                          protect, title)

# 基础数据 columns: what the officer reads, fills and prints; the native engine's helpers sit hidden to the right
INPUT_COLS = (("序号", 5), ("输入项", 22), ("单位", 9), ("数值", 18), ("依据/佐证材料（填报人填写）", 30),
              ("数据来源", 24), ("填写说明", 48), ("用于指标", 16))
HELPER_COL = 10  # J: 检查, K: 取值, L: 读数 (hidden; the Excel-formula version only)
BAD_FILL = PatternFill("solid", fgColor="F8CBAD", bgColor="F8CBAD")  # a value the 检查 helper refuses


def write(ctx, ws):
    s = ctx.system
    ncols = len(INPUT_COLS)
    for k, (_, w) in enumerate(INPUT_COLS, 1):
        ws.column_dimensions[get_column_letter(k)].width = w
    title(ws, "基础数据", ncols)
    header_row = row = _header_fields(ctx, ws, ncols)
    for col, (text, _) in enumerate(INPUT_COLS, 1):
        cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
    used = {}  # input id -> the indicators that use it, in the order of the score table
    for ind in s.indicators:
        for iid in ind.inputs:
            used.setdefault(iid, []).append(ind.name)
    order = list(used) + [i for i in s.inputs if i not in used]
    for n, iid in enumerate(order, 1):
        row += 1
        _input_row(ctx, ws, row, n, iid, used.get(iid, []))
    if ctx.fx.engine == "excel":  # the check and value helper columns the score formulas read
        for k, text in enumerate(("检查", "取值", "读数")):
            cell(ws, header_row, HELPER_COL + k, text, border=False)
            ws.column_dimensions[get_column_letter(HELPER_COL + k)].hidden = True
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    print_setup(ws, f"{header_row}:{header_row}")
    ws.print_area = f"A1:{get_column_letter(ncols)}{row}"
    protect(ws, ctx.password)


def _header_fields(ctx, ws, ncols) -> int:
    """The note, the header fields and the system's year and region (each a defined name); returns the next row."""
    s, case = ctx.system, ctx.case
    merge(ws, 2, 1, 2, ncols, "浅蓝色底色的单元格由填报人填写（数值和依据/佐证材料）；其余为公式或说明，已锁定。"
          "数值按“数据来源”所列资料填写，并在“依据/佐证材料”栏写明出处或判断理由。", border=False, name=FANG)
    values = {"department": case.department if case else None, "year": case.year if case else None,
              "preparer": case.preparer if case else None, "phone": case.phone if case else None}
    hints = {"department": "填写部门（单位）全称", "year": "填写自评的预算年度，如 2020",
             "preparer": "填报人姓名", "phone": "填报人联系电话"}
    row = 3
    for label, key in HEADER_FIELDS:
        merge(ws, row, 1, row, 2, label, bold=True, center=True, fill=HEAD_FILL)
        merge(ws, row, 3, row, 4, values[key] or None, fill=INPUT_FILL, locked=False, center=True)
        merge(ws, row, 5, row, ncols, hints[key], name=FANG)
        ctx.define(label, ws, row, 3)
        row += 1
    merge(ws, row, 1, row, 2, YEAR_NAME, bold=True, center=True, fill=HEAD_FILL)
    merge(ws, row, 3, row, 4, s.year, center=True)
    merge(ws, row, 5, row, ncols, f"按《{s.name}》{s.year} 年版计分，随工作簿生成，请勿修改", name=FANG)
    ctx.define(YEAR_NAME, ws, row, 3)
    row += 1
    merge(ws, row, 1, row, 2, REGION_NAME, bold=True, center=True, fill=HEAD_FILL)
    merge(ws, row, 3, row, 4, s.key or "shenzhen", center=True)
    # the layout id (a hash of the whole blank workbook, see excel/fingerprint.py) is written in when the file is saved
    merge(ws, row, 5, row, ncols, f"{s.region}的指标体系，随工作簿生成，请勿修改{LAYOUT_PLACEHOLDER}", name=FANG)
    ctx.define(REGION_NAME, ws, row, 3)
    return row + 1


def _input_row(ctx, ws, row, n, iid, users):
    """One input: its number, name, unit, the value cell (validated, a defined name), evidence, source and help."""
    spec = ctx.system.inputs[iid]
    widths = [w for _, w in INPUT_COLS]
    cell(ws, row, 1, n, center=True)
    cell(ws, row, 2, spec.name)  # exactly the defined name: the readers check the row by it
    if spec.note:  # reversed polarity, beside the name where a 是/否 item has no unit: 是＝本项 0 分
        cell(ws, row, 3, spec.note, center=True, bold=True, size=9)
    else:
        cell(ws, row, 3, spec.unit if spec.kind not in ("flag", "choice", "text") else "", center=True)
    value = _input_value(ctx, iid)
    c = cell(ws, row, 4, value, fill=INPUT_FILL, fmt=NUMFMT.get(spec.kind), locked=False, center=True)
    _validate(ws, spec, c.coordinate)
    ctx.fx.input_helpers(ws, row, spec, c.coordinate)
    if ctx.fx.engine == "excel":
        _mark_unusable(ws, row, c.coordinate)
    evidence = _evidence(ctx, iid)
    cell(ws, row, 5, evidence, fill=INPUT_FILL, locked=False, name=FANG, size=9)
    cell(ws, row, 6, spec.source or None, name=FANG, size=9)
    help_text = _help(spec)
    cell(ws, row, 7, help_text, name=FANG, size=9)
    users = "、".join(users) or "不参与计分，用于核对"
    cell(ws, row, 8, users, name=FANG, size=9)
    fit_row(ws, row, [(spec.name, widths[1]), (spec.note or None, widths[2]), (evidence, widths[4]),
                      (spec.source, widths[5]), (help_text, widths[6]), (users, widths[7])], size=9)
    ctx.define(spec.name, ws, row, 4)


def _evidence(ctx, iid):
    """What the filled example says about an input: where the report gives it, or that it is assumed."""
    ci = ctx.case.inputs.get(iid) if ctx.case else None
    if ci is None:
        return None
    if ci.assumed:
        return f"假设值：{ci.assumed}"
    return f"报告：{ci.source}" if ci.source else None


def _input_value(ctx, iid):
    """The cell as the case gives it; empty when the case does not (a declared default is never written)."""
    spec = ctx.system.inputs[iid]
    raw = ctx.raw.get(iid, MISSING)
    if raw is MISSING:
        return None
    try:
        v = spec.parse(raw)
    except Exception:  # keep what the case says, the formula will explain
        return raw
    if spec.kind == "judgement" and isinstance(raw, str):
        return raw  # keep 是/否/不适用 as written
    if isinstance(v, bool):
        return "是" if v else "否"
    return v


def _validate(ws, spec, coord):
    """The value cell's data validation by the input's kind, with its error message and prompt.

    It stops only what no reading accepts: a number out of range, a whole-number count with a fraction. Text is
    let through to the one reading of typed input (engine.numbers.typed_text; “12,560”, “１２５６０”, “是 ”, “95%”),
    which the engine and the sheet's 检查 helper apply alike and which names what it refuses; a list offers its
    choices but only warns, since “是 ” or “yes” read as 是. Excel's 255-character limit on a validation formula
    leaves no room for the reading itself."""
    k = spec.kind
    err = f"{spec.name}应为{spec.expectation()}"
    c = coord
    style = "stop"
    if k == "flag":
        dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        style = "warning"
    elif k == "choice":
        dv = DataValidation(type="list", formula1='"' + ",".join(spec.options) + '"', allow_blank=True)
        style = "warning"
    elif k in ("judgement", "score", "count", "amount", "rate"):
        hi = spec.max * 100 if k == "rate" and spec.max is not None else spec.max  # a rate may be typed as 95.15
        conds = [f"{c}>={spec.min:g}"] if spec.min is not None else []
        if hi is not None and math.isfinite(hi):
            conds.append(f"{c}<={hi:g}")
        if k == "count":
            conds.append(f"INT({c})={c}")
        dv = DataValidation(type="custom", allow_blank=True,
                            formula1=f"OR(ISTEXT({c}),AND(ISNUMBER({c}){''.join(',' + x for x in conds)}))")
    else:
        return
    dv.error, dv.errorTitle, dv.showErrorMessage, dv.errorStyle = err[:255], "输入有误", True, style
    dv.prompt, dv.promptTitle, dv.showInputMessage = (spec.help or spec.expectation())[:255], spec.name[:32], True
    ws.add_data_validation(dv)
    dv.add(coord)


def _mark_unusable(ws, row, coord):
    """基础数据 itself shows a filled value the 检查 helper refuses (the Excel-formula version): light red."""
    check = f"${get_column_letter(HELPER_COL)}${row}"
    ws.conditional_formatting.add(coord, FormulaRule(formula=[f"AND(NOT(ISBLANK({coord})),{check}<>\"\")"],
                                                     fill=BAD_FILL, stopIfTrue=False))


def _help(spec) -> str:
    """The officer's guidance: the item as the standard prints it, what to enter, and for judgement items when full,
    partial and zero points apply. Declared defaults are for omitted function arguments only, never shown here."""
    parts = [spec.help] if spec.help else []
    if spec.kind == "judgement":
        parts.append(f"完全符合的填“是”（{fmt_num(spec.max)} 分），不符合的填“否”（0 分）；"
                     f"部分符合的按程度填 0 到 {fmt_num(spec.max)} 之间的分数，并在“依据/佐证材料”栏写明理由")
    elif spec.kind == "score":
        parts.append(f"填 0 到 {fmt_num(spec.max)} 分，并在“依据/佐证材料”栏写明评定依据")
    else:
        parts.append(f"填写：{spec.expectation()}")
    if spec.not_applicable == "full":
        parts.append("本部门无此项业务的填“不适用”（按满分计）")
    return "；".join(parts)
