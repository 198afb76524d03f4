"""填报说明, the first sheet: how to fill in this workbook.

Read by the department's officer before anything else, in the language of the official documents: what the
workbook is for, which cells to fill, where the numbers come from, units, not-applicable items, how scoring works and
what a message in a 分数 cell means, how to save and hand in. Only the last, grey note speaks to IT (which system
file it came from, which functions it calls). ``doctor.py`` finds the system's name in the first paragraph.
"""
from __future__ import annotations

import re

from openpyxl.styles import Alignment, Font

from perfscore.excel.sheets.context import amount_unit
from perfscore.excel.sheets.style import FANG, HEI, cell, fit_row, merge, print_setup, protect, title


def paragraphs(ctx) -> tuple[list[tuple[str, str]], str]:
    """The numbered (heading, text) paragraphs, and the closing note for IT."""
    s = ctx.system
    unit = amount_unit(s)
    sheets = ctx.sheet_names()
    goal = "自评表" in sheets
    reversed_ = [f"“{i.label}”" for i in s.inputs.values() if i.note]
    na_inputs = [f"“{i.name}”" for i in s.inputs.values() if i.not_applicable]
    zero_full = _zero_full_indicators(s)
    fill = "“基础数据”表" + ("和“自评表”" if goal else "")
    paras = [
        # “本工作簿按《…》” is how doctor.py finds the system's name: keep the words
        ("本表用途", f"本工作簿按《{s.name}》{s.year} 年版计分，用于{s.region}部门整体支出绩效自评。工作簿包括"
                    + "、".join(f"“{n}”" for n in sheets) + "等 " + f"{len(sheets)} 张表，评分标准与财政部门印发的评分表一致。"),
        ("填写什么", f"只填写{fill}中浅蓝色底色的单元格：部门（单位）名称、预算年度、填报人、联系电话，各项数值，"
                    "以及每项数值的“依据/佐证材料”。其余单元格是计算公式或文字说明，已锁定，不需要填写。"),
        ("从哪里取数", _where_from(s) + "“填写说明”栏引用评分标准，说明该项怎样填。请在“依据/佐证材料”栏写明所依据的报表、"
                                      "文件名称或判断理由，评价组据此核对。"),
        ("计量单位", _units(s, unit)),
    ]
    if reversed_:
        paras.append(("注意反向项", "、".join(reversed_) + "：名称后括号内说明了填“是”的后果，与其他项目“是”即得分不同，请如实填写。"))
    na = []
    if na_inputs:
        na.append("、".join(na_inputs) + "可填“不适用”（按满分计）")
    if zero_full:
        na.append("、".join(f"“{n}”" for n in zero_full) + "涉及的金额或数量都填 0（分子分母均为 0 时按不适用计满分）")
    paras.append(("无此项业务", "本部门确无某项业务的：" + "；".join(na + ["其他项目按“填写说明”栏的要求填 0 或“否”，"
                                                                         "并在“依据/佐证材料”栏注明“无此项业务”"]) + "。"))
    paras.append(("颜色", "浅蓝色底色：由填报人填写；灰色底色：表头；白色：计算公式或说明，已锁定。"))
    if ctx.fx.engine == "python":
        paras.append(("怎样计分", "“评分表”每项的“分数”按评分标准自动计算，填写或修改数值后即时更新；“综合评分”在各项分数都得出后合计，"
                                 "“评分等级”按下方所列等级区间评定。本版本需要本机装有计分组件（由单位 IT 人员安装）。"))
        paras.append(("出现提示怎么办", "某项“分数”显示文字而不是数字时，文字说明哪一项未填写或填写有误、应怎样填写，按提示改正即可；"
                                     "“综合评分”显示“第 5、12 项未得出分数”时，先处理评分表第 5、12 项（与“扣分说明”的序号相同）。"
                                     "分数显示以“#”开头的错误值、或“评分表”底部出现红色提示时，说明本机不能自动计分，"
                                     "请联系 IT 人员，或改用不需要安装组件的“Excel 公式版”工作簿。"))
    else:
        paras.append(("怎样计分", "“评分表”每项的“分数”由表格自带的公式按评分标准自动计算，填写或修改数值后即时更新，"
                                 "在 Excel、WPS 中都能使用，不需要安装任何组件；“综合评分”在各项分数都得出后合计，"
                                 "“评分等级”按下方所列等级区间评定。"))
        paras.append(("出现提示怎么办", "某项“分数”显示文字而不是数字时（如“未填写：政府采购实际数”），文字说明哪一项未填写或填写有误，"
                                     "按提示改正即可，空白不会当作 0 分；“综合评分”显示“第 5、12 项未得出分数”时，先处理评分表第 5、12 项"
                                     "（与“扣分说明”的序号相同）。"))
    if goal:
        paras.append(("自评表", "按部门年度工作计划填写主要任务及其预算数（全年预算数（调整后））和执行数，按绩效目标申报表填写"
                               "预期指标值和实际完成指标值；“完成情况”自动判断，需要更正或无法自动判断的，在“人工判断”栏填写"
                               "“达成”“未达成”或“部分达成”，以人工判断为准。"))
    paras.append(("扣分说明", "“扣分说明”表列出每项指标的得分、扣分和理由，可直接用于自评报告的问题分析。"))
    paras.append(("保存和报送", f"填写完成后直接保存，不要改变文件类型（本工作簿为 {ctx.fx.suffix} 文件），也不要删除、插入工作表或行列；"
                               "文件名写明部门名称和年度，连同佐证材料按财政部门的通知报送。"))
    it = ("给 IT 人员：本工作簿由 perfscore 按指标体系数据（" + f"{s.key or 'shenzhen'}/{s.year}" + "）生成；"
          + ("分数单元格调用 PERF_ 函数（Python + xlwings，安装见 docs/windows-install.md）；" if ctx.fx.engine == "python"
             else "分数单元格只用 Excel 内置函数（Excel 公式版，.xlsx）；")
          + "新年度请用 perfscore template 重新生成，不要在旧工作簿中改规则。")
    return paras, it


def write(ctx, ws):
    """填报说明: to the officer, in the language of the official documents; tools only in the last note (IT)."""
    paras, it = paragraphs(ctx)
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 72
    title(ws, f"{ctx.system.title}　填报说明", 2)
    row = 3
    for k, (head, text) in enumerate(paras, 1):
        cell(ws, row, 1, f"{k}. {head}", bold=True, size=10, name=HEI, border=False)
        cell(ws, row, 2, text, size=10, name=FANG, border=False)
        ws.cell(row, 1).alignment = Alignment(vertical="top", wrap_text=True)
        ws.cell(row, 2).alignment = Alignment(vertical="top", wrap_text=True)
        fit_row(ws, row, [(text, 72)], size=10)
        row += 1
    row += 1
    merge(ws, row, 1, row, 2, it, border=False, size=9, name=FANG)
    ws.cell(row, 1).font = Font(name=FANG, size=9, color="595959")
    fit_row(ws, row, [(it, 86)], size=9)
    print_setup(ws, None, landscape=False)
    ws.print_area = f"A1:B{row}"
    protect(ws, ctx.password)


def _where_from(system, n=6) -> str:
    """The sources the system's inputs name (数据来源), most used first: the officer's list of where to look."""
    count, first = {}, {}
    for k, spec in enumerate(system.inputs.values()):
        head = re.split(r"[：（(]", spec.source)[0] if spec.source else ""
        for part in filter(None, (x.strip() for x in re.split(r"\s*/\s*|、", head))):
            count[part] = count.get(part, 0) + 1
            first.setdefault(part, k)
    if not count:
        return "按财政部门通知所列的资料取数；"
    top = sorted(count, key=lambda x: (-count[x], first[x]))[:n]
    return "每项数值的“数据来源”栏写明应依据的资料（如" + "、".join(top) + "）；"


def _units(system, unit) -> str:
    """How each kind of figure this system asks for is written; kinds it does not use are not mentioned."""
    kinds = {i.kind for i in system.inputs.values()}
    out = []
    if "amount" in kinds:
        out.append(f"金额以{unit}为单位，只填数字（如 13200 或 13,200.00），不写“{unit}”字")
    if "rate" in kinds:
        out.append("比率按百分比填写（如 95.15%）")
    if "count" in kinds:
        units = list(dict.fromkeys(i.unit for i in system.inputs.values() if i.kind == "count" and i.unit))
        out.append(("、".join(f"{u}数" for u in units) if units else "数量") + "填整数")
    text = "；".join(out) + "。" if out else ""
    if "score" in kinds:
        text += "需要评定得分的项目填所评分数（0 到该项满分），并在“依据/佐证材料”栏写明评定依据。"
    if "judgement" in kinds:
        text += ("逐项评定的项目完全符合的填“是”（得该项满分），不符合的填“否”（0 分），"
                 "部分符合的按程度填分数，并在“依据/佐证材料”栏写明理由。")
    return text


def _zero_full_indicators(system) -> list[str]:
    """Indicators whose ratio counts as not applicable (full points) when numerator and denominator are both 0."""
    out = []

    def walk(rule):
        if getattr(rule, "zero_denominator", None) == "full":
            return True
        return any(walk(r) for _, r in getattr(rule, "parts", ()))

    for ind in system.indicators:
        if walk(ind.rule):
            out.append(ind.name)
    return out
