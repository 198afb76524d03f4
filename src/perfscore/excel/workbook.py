"""The scoring workbook, generated from a year's indicator system (openpyxl), with live PERF_* formulas.

Sheets: 填报说明, 基础数据 (inputs with Chinese defined names and validation), 评分表 (the official table with a
live formula in every 分数 cell), 自评表 (goal-completion table), 扣分说明 (deductions and reasons), and the hidden
``xlwings.conf``. The VBA project is assembled from source (xlwings.bas, Dictionary.cls, the generated
xlwings_udfs module). Every formula cell also carries the value the engine computes for the inputs present
(injected after openpyxl saves, see ``cache.py``), so WPS, LibreOffice and previewers show the right numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break

from perfscore.excel import native as N
from perfscore import udfs
from perfscore.engine.scoring import MISSING, score_case
from perfscore.excel.layout import CONF_SHEET, HEADER_FIELDS, REGION_NAME, YEAR_NAME  # noqa: F401 (re-exported for callers)
from perfscore.errors import PerfscoreError
from perfscore.engine.inputs import NA_TEXT
from perfscore.engine.numbers import fmt_num
from perfscore.excel.xlconf import write_conf_sheet

SONG, FANG, HEI = "宋体", "仿宋", "黑体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
INPUT_FILL = PatternFill("solid", fgColor="DDEBF7")  # light blue: cells the department fills in
HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
NUMFMT = {"amount": "#,##0.00", "count": "0", "rate": "0.00%", "judgement": "0.00", "score": "0.00"}


@dataclass
class Built:
    """The workbook plus what the engine computed for each formula cell (for cached values and tests)."""
    wb: Workbook
    system: object = None                         # the indicator system it was built from
    cached: dict = field(default_factory=dict)    # (sheet title, coordinate) -> value
    formulas: dict = field(default_factory=dict)  # (sheet title, coordinate) -> formula text
    engine: str = "python"                        # "python" (PERF_* functions) or "excel" (native formulas)
    exprs: dict = field(default_factory=dict)     # (sheet title, coordinate) -> native.X, where built from one
    names: dict = field(default_factory=dict)     # defined name -> (sheet title, coordinate)


def _font(size=10, bold=False, name=SONG):
    return Font(name=name, size=size, bold=bold)


def _title(ws, text, ncols, row=1, size=16):
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    c = ws.cell(row, 1, text)
    c.font = _font(size, True)
    c.alignment = CENTER
    ws.row_dimensions[row].height = 30


def _cell(ws, row, col, value=None, *, bold=False, center=False, fill=None, fmt=None, border=True, size=10,
          name=SONG, locked=True):
    c = ws.cell(row, col, value)
    c.font = _font(size, bold, name)
    c.alignment = CENTER if center else WRAP
    if border:
        c.border = BORDER
    if fill:
        c.fill = fill
    if fmt:
        c.number_format = fmt
    c.protection = Protection(locked=locked)
    return c


def _text_width(text) -> int:
    from perfscore.report.terminal import width
    return width(str(text))


def _fit_row(ws, row, cells, size=10, minimum=18):
    """Set a row height that shows ``cells`` = [(text, column width), …] wrapped in full (LibreOffice and
    WPS do not grow rows for wrapped text on load)."""
    lines = 1
    for text, col_width in cells:
        if text is None:
            continue
        per_line = max(int(col_width * 1.1 * 11 / size) - 2, 4)  # column widths are in 11-pt digit widths
        n = sum(max(1, -(-_text_width(part) // per_line)) for part in str(text).split("\n"))
        lines = max(lines, n)
    ws.row_dimensions[row].height = max(minimum, lines * (size * 1.35 + 1) + 6)


def _box(ws, r1, c1, r2, c2):
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            ws.cell(r, c).border = BORDER


def _merge(ws, r1, c1, r2, c2, value=None, **kw):
    c = _cell(ws, r1, c1, value, **kw)
    if (r1, c1) != (r2, c2):
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
        _box(ws, r1, c1, r2, c2)
    return c


def _print_setup(ws, title_rows, landscape=True):
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.center.font = SONG


def _protect(ws, password):
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    if password:
        ws.protection.password = password


STATUS_TEXT = ("注意：本机未能运行评分函数（PERF_ 函数显示错误值），以上分数没有按当前数据更新。请按 docs/windows-install.md "
               "安装 Python 和 xlwings 后重新计算（Ctrl+Alt+F9），或改用“Excel 公式版”工作簿（perfscore template --engine excel），"
               "它不需要 Python，在 WPS、LibreOffice 和 Excel 中都能实时计分。")


class PythonFormulas:
    """How the Python workbook writes a formula cell: a PERF_* call, cached with the engine's value."""
    engine, suffix = "python", ".xlsm"

    def __init__(self, writer):
        self.w = writer

    def input_helpers(self, ws, row, spec, coord):
        pass

    def score(self, ind):
        r = self.w.result.by_id(ind.id)
        return self.w._call(ind), (r.score if r.error is None else r.error)

    def total(self, ws, ref_text, coords):
        if ws.title != "评分表":  # 扣分说明's narrow 得分 column: a dash, the reasons say what is missing
            return N.total(N.Rng(ref_text, tuple((ws.title, c) for c in coords)), len(coords),
                           self.w.system.rounding_digits, short=True), None
        return f"PERF_TOTAL({ref_text})", udfs.total([self.w.value((ws.title, c)) for c in coords])

    def grade(self, ws, coord):
        return f"PERF_GRADE({coord},{YEAR_NAME},{REGION_NAME})", udfs.grade_by(self.w.system, self.w.value((ws.title, coord)))

    def rate(self, ws, row):
        """扣分说明's 得分率: a dash where there is no score (the reason column says why)."""
        return N.rate(N.Ref(f"F{row}", (ws.title, f"F{row}")), N.Ref(f"E{row}", (ws.title, f"E{row}"))), None

    def reason(self, ws, row, ind):
        args = ",".join([f'"{ind.function}"', YEAR_NAME, REGION_NAME] + [self.w.system.inputs[i].name for i in ind.inputs])
        return f"PERF_REASON({args})", self.w.result.by_id(ind.id).reason

    def target(self, ws, row, gr):
        """自评表 完成情况: the 人工判断 in H when filled, else the automatic check (empty for an empty row)."""
        value = udfs.target(gr.target, gr.actual) if gr else udfs.target(None, None)
        # an empty row stays empty even where PERF_TARGET cannot run (LibreOffice recalculates a cell whose cached
        # text is empty): the IFs are native
        return f'IF(H{row}<>"",H{row},IF(AND(E{row}="",F{row}=""),"",PERF_TARGET(E{row},F{row})))', value

    def mirror(self, sheet, coord):
        """扣分说明's 得分: the 评分表 score, or a dash where it holds a message (the reason column says it)."""
        ref = N.Ref(f"'{sheet}'!{coord}", (sheet, coord))
        return N.IF(N.ISNUMBER(ref), ref, "—"), None

    def status(self, ws, first, last):
        rng = f"G{first}:G{last}"
        errors = f"SUMPRODUCT(ISERROR({rng})*1)"
        foreign = "+".join(f'SUMPRODUCT(ISNUMBER(SEARCH("{w}",{rng}))*1)' for w in ("Python", "xlwings", "Error"))
        return f'IF({errors}+{foreign}>0,"{STATUS_TEXT}"," ")', " "  # a space: read back as text, not as empty


class NativeFormulas(PythonFormulas):
    """How the Excel-formula workbook writes a formula cell: the rules translated into the spreadsheet's own
    functions (native.py); the cached value is what that formula computes (evaluated here)."""
    engine, suffix = "excel", ".xlsx"

    def __init__(self, writer):
        super().__init__(writer)
        N.refuse_unsupported(writer.system)
        self.values, self.checks = {}, {}
        self.nx = N.Nx(writer.system, self.values, self.checks)

    def _ev(self, x):
        return x, None  # the writer renders it and evaluates it over the cells written so far

    def input_helpers(self, ws, row, spec, coord):
        cell = N.Ref(coord, (ws.title, coord))
        first = self.w.HELPER_COL
        for col, x, store in ((first, N.input_check(spec, cell), self.checks),
                              (first + 1, N.input_value(spec, cell), self.values)):
            letter = get_column_letter(col)
            self.w.formula(ws, row, col, *self._ev(x), border=False)
            store[spec.id] = N.Ref(f"'{ws.title}'!${letter}${row}", (ws.title, f"{letter}{row}"))

    def score(self, ind):
        return self._ev(N.indicator_score(ind, self.nx))

    def _rng(self, ws, ref_text, coords):
        return N.Rng(ref_text, tuple((ws.title, c) for c in coords))

    def total(self, ws, ref_text, coords):
        # on 扣分说明 a dash (the narrow 得分 column; the reasons say what is missing), on 评分表 the count
        short = ws.title != "评分表"
        return self._ev(N.total(self._rng(ws, ref_text, coords), len(coords), self.w.system.rounding_digits, short))

    def grade(self, ws, coord):
        return self._ev(N.grade(self.w.system, N.Ref(coord, (ws.title, coord))))

    def reason(self, ws, row, ind):
        # the 评分表 score itself: where there is none, its message is the reason (F shows a dash)
        sr = f"G{self.w.score_row[ind.id]}"
        score = N.Ref(f"'评分表'!{sr}", ("评分表", sr))
        reason = N.indicator_reason(ind, self.nx, score, N.Ref(f"E{row}", (ws.title, f"E{row}")))
        na = [self.w.system.inputs[i] for i in ind.inputs if self.w.system.inputs[i].not_applicable]
        if na:  # as the engine says it: （群众信访办理情况_2不适用，按满分计）
            notes = [N.IF(N.Ref(s.name, self.w.built.names[s.name]).eq(NA_TEXT), f"（{s.name}{NA_TEXT}，按满分计）", "")
                     for s in na]
            reason = N.IF(N.ISNUMBER(score), N.CAT(reason, *notes), reason)
        return self._ev(reason)

    def target(self, ws, row, gr):
        h = N.Ref(f"H{row}", (ws.title, f"H{row}"))
        auto = N.target(N.Ref(f"E{row}", (ws.title, f"E{row}")), N.Ref(f"F{row}", (ws.title, f"F{row}")))
        return self._ev(N.IF(h.ne(""), h, auto))

    def status(self, ws, first, last):
        return None


class _Writer:
    def __init__(self, system, case, password, engine="python"):
        self.system, self.case, self.password = system, case, password
        self.built = Built(Workbook(), system)
        self.name_cell = {}  # defined name -> absolute reference
        raw = case.raw_values() if case else {}
        self.raw = raw
        # a blank cell is a blank (None), never an omitted argument: declared defaults do not reach cells
        self.result = score_case(system, {k: raw.get(k) for k in system.inputs})
        self.year_ref = None
        if engine not in ENGINES:
            raise PerfscoreError(f"未知的工作簿类型 {engine!r}：应为 python（Python 函数版）或 excel（Excel 公式版）")
        self.fx = ENGINES[engine](self)
        self.built.engine = engine

    def value(self, key):
        """A cell's value as the workbook holds it: a formula cell's cached value, else the constant (None if
        empty). Does not create cells."""
        if key in self.built.cached:
            return self.built.cached[key]
        sheet, coord = key
        c = self.built.wb[sheet]._cells.get(coordinate_to_tuple(coord))
        return None if c is None else c.value

    def cell_score(self, iid):
        """What an indicator's 分数 cell holds: its score, or the short message its formula returns."""
        return self.built.cached[("评分表", f"G{self.score_row[iid]}")]

    def formula(self, ws, row, col, text, value, **kw):
        """A formula cell: ``text`` with its cached ``value``, or a native.X rendered and evaluated here."""
        expr = None
        if isinstance(text, N.X):
            expr, text = text, text.text()
            value = expr.ev(self.value)
        c = _cell(ws, row, col, "=" + text, **kw)
        key = (ws.title, c.coordinate)
        if expr is not None:
            self.built.exprs[key] = expr
        self.built.formulas[key] = "=" + text
        self.built.cached[key] = value
        return c

    def define(self, name, ws, row, col):
        ref = f"'{ws.title}'!${get_column_letter(col)}${row}"
        self.built.wb.defined_names[name] = DefinedName(name, attr_text=ref)
        self.name_cell[name] = ref
        self.built.names[name] = (ws.title, f"{get_column_letter(col)}{row}")

    # ------------------------------------------------------------------ sheets
    def build(self) -> Built:
        wb = self.built.wb
        wb.remove(wb.active)
        wb.properties.creator = "perfscore"
        wb.properties.title = f"{self.system.title}（{self.system.year} 年版）"
        self.guide(wb.create_sheet("填报说明"))
        self.inputs(wb.create_sheet("基础数据"))
        self.scores(wb.create_sheet("评分表"))
        if self.system.goal_table:
            self.goal_table(wb.create_sheet("自评表"))
        self.deductions(wb.create_sheet("扣分说明"))
        if self.fx.engine == "python":
            conf = wb.create_sheet(CONF_SHEET)  # portable keys only, see xlconf.py
            write_conf_sheet(conf)
            conf.sheet_state = "hidden"
        wb.active = 1
        return self.built

    def sheet_names(self) -> list[str]:
        """The sheets this workbook has, in order, as the officer sees them (the guide lists exactly these)."""
        return ["填报说明", "基础数据", "评分表"] + (["自评表"] if self.system.goal_table else []) + ["扣分说明"]

    def guide(self, ws):
        """填报说明: to the officer, in the language of the official documents; tools only in the last note (IT)."""
        s = self.system
        unit = amount_unit(s)
        sheets = self.sheet_names()
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
            ("从哪里取数", "每项数值的“数据来源”栏写明应依据的资料（如部门决算报表、资产管理系统、政府采购管理系统、编制部门核定文件、"
                          "人事和信访台账）；“填写说明”栏引用评分标准，说明该项怎样填。请在“依据/佐证材料”栏写明所依据的报表、"
                          "文件名称或判断理由，评价组据此核对。"),
            ("计量单位", f"金额以{unit}为单位，只填数字（如 13200 或 13,200.00），不写“{unit}”字；比率按百分比填写（如 95.15%）；"
                        "人数、项数、项目数填整数。逐项评定的项目完全符合的填“是”（得该项满分），不符合的填“否”（0 分），"
                        "部分符合的按程度填分数，并在“依据/佐证材料”栏写明理由。"),
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
        if self.fx.engine == "python":
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
        paras.append(("保存和报送", f"填写完成后直接保存，不要改变文件类型（本工作簿为 {self.fx.suffix} 文件），也不要删除、插入工作表或行列；"
                                   "文件名写明部门名称和年度，连同佐证材料按财政部门的通知报送。"))
        it = ("给 IT 人员：本工作簿由 perfscore 按指标体系数据（" + f"{s.key or 'shenzhen'}/{s.year}" + "）生成；"
              + ("分数单元格调用 PERF_ 函数（Python + xlwings，安装见 docs/windows-install.md）；" if self.fx.engine == "python"
                 else "分数单元格只用 Excel 内置函数（Excel 公式版，.xlsx）；")
              + "新年度请用 perfscore template 重新生成，不要在旧工作簿中改规则。")
        ws.column_dimensions["A"].width = 14
        ws.column_dimensions["B"].width = 72
        _title(ws, f"{s.title}　填报说明", 2)
        row = 3
        for k, (head, text) in enumerate(paras, 1):
            _cell(ws, row, 1, f"{k}. {head}", bold=True, size=10, name=HEI, border=False)
            _cell(ws, row, 2, text, size=10, name=FANG, border=False)
            ws.cell(row, 1).alignment = Alignment(vertical="top", wrap_text=True)
            ws.cell(row, 2).alignment = Alignment(vertical="top", wrap_text=True)
            _fit_row(ws, row, [(text, 72)], size=10)
            row += 1
        row += 1
        _merge(ws, row, 1, row, 2, it, border=False, size=9, name=FANG)
        ws.cell(row, 1).font = Font(name=FANG, size=9, color="595959")
        _fit_row(ws, row, [(it, 86)], size=9)
        self.it_note_row = row
        _print_setup(ws, None, landscape=False)
        ws.print_area = f"A1:B{row}"
        _protect(ws, self.password)

    # 基础数据 columns: what the officer reads, fills and prints; the native engine's helpers sit hidden to the right
    INPUT_COLS = (("序号", 5), ("输入项", 22), ("单位", 9), ("数值", 18), ("依据/佐证材料（填报人填写）", 30),
                  ("数据来源", 24), ("填写说明", 48), ("用于指标", 16))
    HELPER_COL = 10  # J: 检查, K: 取值 (hidden; the Excel-formula version only)

    def inputs(self, ws):
        s, case = self.system, self.case
        ncols = len(self.INPUT_COLS)
        for k, (_, w) in enumerate(self.INPUT_COLS, 1):
            ws.column_dimensions[get_column_letter(k)].width = w
        _title(ws, "基础数据", ncols)
        _merge(ws, 2, 1, 2, ncols, "浅蓝色底色的单元格由填报人填写（数值和依据/佐证材料）；其余为公式或说明，已锁定。"
               "数值按“数据来源”所列资料填写，并在“依据/佐证材料”栏写明出处或判断理由。", border=False, name=FANG)
        values = {"department": case.department if case else None, "year": case.year if case else None,
                  "preparer": case.preparer if case else None, "phone": case.phone if case else None}
        hints = {"department": "填写部门（单位）全称", "year": "填写自评的预算年度，如 2020",
                 "preparer": "填报人姓名", "phone": "填报人联系电话"}
        row = 3
        for label, key in HEADER_FIELDS:
            _merge(ws, row, 1, row, 2, label, bold=True, center=True, fill=HEAD_FILL)
            _merge(ws, row, 3, row, 4, values[key] or None, fill=INPUT_FILL, locked=False, center=True)
            _merge(ws, row, 5, row, ncols, hints[key], name=FANG)
            self.define(label, ws, row, 3)
            row += 1
        _merge(ws, row, 1, row, 2, YEAR_NAME, bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, row, 3, row, 4, s.year, center=True)
        _merge(ws, row, 5, row, ncols, f"按《{s.name}》{s.year} 年版计分，随工作簿生成，请勿修改", name=FANG)
        self.define(YEAR_NAME, ws, row, 3)
        row += 1
        _merge(ws, row, 1, row, 2, REGION_NAME, bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, row, 3, row, 4, s.key or "shenzhen", center=True)
        _merge(ws, row, 5, row, ncols, f"{s.region}的指标体系，随工作簿生成，请勿修改", name=FANG)
        self.define(REGION_NAME, ws, row, 3)
        row += 1
        self.input_header_row = row
        for col, (text, _) in enumerate(self.INPUT_COLS, 1):
            _cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
        used = {}
        for ind in s.indicators:
            for iid in ind.inputs:
                used.setdefault(iid, []).append(ind.name)
        order = list(used) + [i for i in s.inputs if i not in used]
        widths = [w for _, w in self.INPUT_COLS]
        for n, iid in enumerate(order, 1):
            row += 1
            spec = s.inputs[iid]
            _cell(ws, row, 1, n, center=True)
            _cell(ws, row, 2, spec.name)  # exactly the defined name: the readers check the row by it
            if spec.note:  # reversed polarity, beside the name where a 是/否 item has no unit: 是＝本项 0 分
                _cell(ws, row, 3, spec.note, center=True, bold=True, size=9)
            else:
                _cell(ws, row, 3, spec.unit if spec.kind not in ("flag", "choice", "text") else "", center=True)
            value = self._input_value(iid)
            c = _cell(ws, row, 4, value, fill=INPUT_FILL, fmt=NUMFMT.get(spec.kind), locked=False, center=True)
            self._validate(ws, spec, c.coordinate)
            self.fx.input_helpers(ws, row, spec, c.coordinate)
            evidence = self._evidence(iid)
            _cell(ws, row, 5, evidence, fill=INPUT_FILL, locked=False, name=FANG, size=9)
            _cell(ws, row, 6, spec.source or None, name=FANG, size=9)
            help_text = _help(spec)
            _cell(ws, row, 7, help_text, name=FANG, size=9)
            users = "、".join(used.get(iid, [])) or "不参与计分，用于核对"
            _cell(ws, row, 8, users, name=FANG, size=9)
            _fit_row(ws, row, [(spec.name, widths[1]), (spec.note or None, widths[2]), (evidence, widths[4]), (spec.source, widths[5]),
                               (help_text, widths[6]), (users, widths[7])], size=9)
            self.define(spec.name, ws, row, 4)
        if self.fx.engine == "excel":  # the check and value helper columns the score formulas read
            for k, text in enumerate(("检查", "取值")):
                _cell(ws, self.input_header_row, self.HELPER_COL + k, text, border=False)
                ws.column_dimensions[get_column_letter(self.HELPER_COL + k)].hidden = True
        ws.freeze_panes = ws.cell(self.input_header_row + 1, 1)
        _print_setup(ws, f"{self.input_header_row}:{self.input_header_row}")
        ws.print_area = f"A1:{get_column_letter(ncols)}{row}"
        _protect(ws, self.password)

    def _evidence(self, iid):
        """What the filled example says about an input: where the report gives it, or that it is assumed."""
        ci = self.case.inputs.get(iid) if self.case else None
        if ci is None:
            return None
        if ci.assumed:
            return f"假设值：{ci.assumed}"
        return f"报告：{ci.source}" if ci.source else None

    def _input_value(self, iid):
        """The cell as the case gives it; empty when the case does not (a declared default is never written)."""
        spec = self.system.inputs[iid]
        raw = self.raw.get(iid, MISSING)
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

    def _validate(self, ws, spec, coord):
        k = spec.kind
        err = f"{spec.name}应为{spec.expectation()}"
        if k == "flag":
            dv = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        elif k == "choice":
            dv = DataValidation(type="list", formula1='"' + ",".join(spec.options) + '"', allow_blank=True)
        elif k == "judgement":
            na = f'{coord}="{NA_TEXT}",' if spec.not_applicable == "full" else ""
            dv = DataValidation(type="custom", allow_blank=True,
                                formula1=f'OR({coord}="是",{coord}="否",{na}AND(ISNUMBER({coord}),{coord}>=0,{coord}<={spec.max:g}))')
        elif k == "score" and spec.not_applicable == "full":
            dv = DataValidation(type="custom", allow_blank=True,
                                formula1=f'OR({coord}="{NA_TEXT}",AND(ISNUMBER({coord}),{coord}>=0,{coord}<={spec.max:g}))')
        elif k == "count":
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        elif k in ("amount",):
            dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1=f"{spec.min:g}", allow_blank=True)
        elif k in ("rate", "score"):
            hi = spec.max if spec.max != float("inf") else 1e9
            dv = DataValidation(type="decimal", operator="between", formula1=f"{spec.min:g}", formula2=f"{hi:g}",
                                allow_blank=True)
        else:
            return
        dv.error, dv.errorTitle, dv.showErrorMessage = err[:255], "输入有误", True
        dv.prompt, dv.promptTitle, dv.showInputMessage = (spec.help or spec.expectation())[:255], spec.name[:32], True
        ws.add_data_validation(dv)
        dv.add(coord)

    def _call(self, ind) -> str:
        args = [self.system.inputs[i].name for i in ind.inputs] + [YEAR_NAME, REGION_NAME]
        return f"{ind.function}({','.join(args)})"

    def scores(self, ws):
        s, res = self.system, self.result
        for col, w in zip("ABCDEFG", (12, 12, 16, 6, 36, 66, 14)):
            ws.column_dimensions[col].width = w
        _title(ws, s.title, 7)
        _merge(ws, 2, 1, 2, 4, "评价指标", bold=True, center=True, fill=HEAD_FILL)
        for col, text in ((5, "指标说明"), (6, "评分标准"), (7, "分数")):
            _merge(ws, 2, col, 3, col, text, bold=True, center=True, fill=HEAD_FILL)
        for col, text in enumerate(("一级指标", "二级指标", "三级指标", "分值"), 1):
            _cell(ws, 3, col, text, bold=True, center=True, fill=HEAD_FILL)
        first = row = 4
        self.score_row = {}
        for ind in s.indicators:
            _cell(ws, row, 3, ind.name, center=True)
            _cell(ws, row, 4, ind.weight, center=True, fmt="0.##")
            _cell(ws, row, 5, ind.description, name=FANG, size=9)
            _cell(ws, row, 6, _criteria_text(ind), name=FANG, size=9)
            self.formula(ws, row, 7, *self.fx.score(ind), center=True, fmt="0.00")
            value = self.built.cached[(ws.title, f"G{row}")]
            shown = value if isinstance(value, str) else None
            _fit_row(ws, row, [(ind.description, 36), (_criteria_text(ind), 66), (shown, 14)], size=9, minimum=40)
            self.score_row[ind.id] = row
            row += 1
        last = row - 1
        for attr, col in (("level1", 1), ("level2", 2)):
            start = first
            for k, ind in enumerate(s.indicators):
                nxt = s.indicators[k + 1] if k + 1 < len(s.indicators) else None
                lv = getattr(ind, attr)
                if nxt is None or getattr(nxt, attr).id != lv.id:
                    _merge(ws, start, col, first + k, col, (lv.printed or lv.name) if attr == "level1" else lv.name,
                           center=True, bold=attr == "level1")
                    start = first + k + 1
        _merge(ws, row, 1, row, 6, "综合评分", bold=True, center=True)
        self.formula(ws, row, 7, *self.fx.total(ws, f"G{first}:G{last}", [f"G{r}" for r in range(first, last + 1)]),
                     bold=True, center=True, fmt="0.00")
        _merge(ws, row + 1, 1, row + 1, 6, "评分等级", bold=True, center=True)
        self.formula(ws, row + 1, 7, *self.fx.grade(ws, f"G{row}"), bold=True, center=True)
        total, grade = self.value((ws.title, f"G{row}")), self.value((ws.title, f"G{row + 1}"))
        _fit_row(ws, row, [(total, 14)])
        _fit_row(ws, row + 1, [(grade, 14)])
        _merge(ws, row + 2, 1, row + 2, 6, "填表人", bold=True, center=True)
        self.formula(ws, row + 2, 7, *_blank_safe("填报人", self.case.preparer if self.case else None), center=True)
        # the unit and year line, and the grade bands, printed with the table
        dept, year = (self.case.department, self.case.year) if self.case else (None, None)
        line = ('"填报单位（盖章）："&IF(部门名称="","",部门名称)&"　　　　预算年度："&IF(预算年度="","",预算年度)')
        shown = f"填报单位（盖章）：{dept or ''}　　　　预算年度：{year or ''}"
        self.formula(ws, row + 3, 1, line, shown, border=False, size=11)
        ws.merge_cells(start_row=row + 3, start_column=1, end_row=row + 3, end_column=7)
        ws.row_dimensions[row + 3].height = 24
        bands = grade_bands(s)
        _merge(ws, row + 4, 1, row + 4, 7, bands, border=False, name=FANG, size=10)
        _fit_row(ws, row + 4, [(bands, 160)], size=10)
        status = self.fx.status(ws, first, row + 1)
        if status:  # a line that speaks up when the PERF_ functions cannot run on this machine
            self.formula(ws, row + 5, 1, *status, border=False, name=FANG, size=11)
            ws.merge_cells(start_row=row + 5, start_column=1, end_row=row + 5, end_column=7)
            ws.cell(row + 5, 1).font = Font(name=FANG, size=11, bold=True, color="C00000")
            ws.row_dimensions[row + 5].height = 48
        ws.freeze_panes = "A4"
        _print_setup(ws, "2:3")
        ws.print_area = f"A1:G{row + 4}"  # the status line (Python version) is for the screen
        _protect(ws, self.password)

    GOAL_NOTE = ("填写说明：本表浅蓝色单元格由填报人填写。年度主要任务按部门年度工作计划逐项填写，预算数填全年预算数"
                 "（调整后），执行数填决算数，单位：{unit}；任务行不够时可合并填写或请 IT 人员加行。年度绩效指标按部门整体"
                 "绩效目标申报表逐项填写预期指标值（如“≥90%”“=100%”“12个月”“及时”）和实际完成指标值（填写实测数值或"
                 "实际情况，不要带“≥”等符号）；“完成情况”按两者自动判断，无法自动判断或需要更正的，在“人工判断”栏填写"
                 "“达成”“未达成”或“部分达成”，表格以人工判断为准。")

    def goal_table(self, ws):
        s, case, gt = self.system, self.case, self.system.goal_table
        unit = amount_unit(s)
        for col, w in zip("ABCDEFGH", (12, 16, 30, 15, 15, 15, 15, 12)):
            ws.column_dimensions[col].width = w
        _title(ws, gt.title, 8)
        _merge(ws, 2, 1, 2, 2, "部门（单位）名称", bold=True, center=True, fill=HEAD_FILL)
        self.formula(ws, 2, 3, *_blank_safe("部门名称", case.department if case else None), center=True)
        ws.merge_cells("C2:D2")
        _box(ws, 2, 3, 2, 4)
        _cell(ws, 2, 5, "预算年度", bold=True, center=True, fill=HEAD_FILL)
        self.formula(ws, 2, 6, *_blank_safe("预算年度", case.year if case else None), center=True)
        ws.merge_cells("F2:H2")
        _box(ws, 2, 6, 2, 8)
        note = self.GOAL_NOTE.format(unit=unit)
        _merge(ws, 3, 1, 3, 8, note, border=False, name=FANG, size=9)
        _fit_row(ws, 3, [(note, 120)], size=9)
        # 年度主要任务完成情况
        tasks = case.tasks if case and case.tasks else []
        n_tasks = max(len(tasks), GOAL_TASK_ROWS)
        top = 4
        _merge(ws, top, 2, top + 1, 2, "任务名称", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, top, 3, top + 1, 3, "完成情况", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, top, 4, top, 5, f"预算数（全年预算数（调整后），{unit}）", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, top, 6, top, 7, f"执行数（{unit}）", bold=True, center=True, fill=HEAD_FILL)
        for col, text in zip((4, 5, 6, 7), ("全额", "其中：财政拨款", "全额", "其中：财政拨款")):
            _cell(ws, top + 1, col, text, bold=True, center=True, fill=HEAD_FILL)
        row = top + 2
        for k in range(n_tasks):
            t = tasks[k] if k < len(tasks) else None
            _cell(ws, row, 2, t.name if t else None, fill=INPUT_FILL, locked=False)
            _cell(ws, row, 3, t.status if t else None, fill=INPUT_FILL, locked=False, name=FANG, size=9)
            for col, attr in zip((4, 5, 6, 7), ("budget_total", "budget_fiscal", "executed_total", "executed_fiscal")):
                _cell(ws, row, col, getattr(t, attr) if t else None, fill=INPUT_FILL, locked=False, fmt="#,##0.00")
            _fit_row(ws, row, [(t.status if t else None, 30), (t.name if t else None, 16)], size=9, minimum=20)
            row += 1
        _merge(ws, top, 1, row - 1, 1, "年度主要任务完成情况", bold=True, center=True)
        _merge(ws, row, 1, row, 3, "金额合计", bold=True, center=True)
        for col, attr in zip((4, 5, 6, 7), ("budget_total", "budget_fiscal", "executed_total", "executed_fiscal")):
            letter = get_column_letter(col)
            self.formula(ws, row, col, f"SUM({letter}{top + 2}:{letter}{row - 1})",
                         round(sum(getattr(t, attr) for t in tasks), 2), fmt="#,##0.00")
        row += 1
        # 年度总体目标完成情况
        _merge(ws, row, 1, row + 1, 1, "年度总体目标完成情况", bold=True, center=True)
        _merge(ws, row, 2, row, 4, "预期目标", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, row, 5, row, 8, "目标实际完成情况", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, row + 1, 2, row + 1, 4, (case.goals_expected if case else None) or None, fill=INPUT_FILL,
               locked=False, name=FANG, size=9)
        _merge(ws, row + 1, 5, row + 1, 8, (case.goals_actual if case else None) or None, fill=INPUT_FILL,
               locked=False, name=FANG, size=9)
        _fit_row(ws, row + 1, [((case.goals_expected if case else None), 58), ((case.goals_actual if case else None), 54)],
                 size=9, minimum=60)
        row += 2
        # 年度绩效指标完成情况
        head = row
        for col, text in zip(range(2, 9), ("一级指标", "二级指标", "三级指标", "预期指标值", "实际完成指标值", "完成情况",
                                           "人工判断（可填）")):
            _cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
        row += 1
        rows = case.goal_rows if case else []
        for l1, l2s in gt.categories:
            start1 = row
            for l2 in l2s:
                mine = [r for r in rows if r.level1 == l1 and r.level2 == l2]
                mine += [None] * max(0, GOAL_ROWS_PER_CATEGORY - len(mine))
                start2 = row
                for gr in mine:
                    _cell(ws, row, 4, gr.name if gr else None, fill=INPUT_FILL, locked=False)
                    for col, text in ((5, gr.target if gr else None), (6, gr.actual if gr else None)):
                        c = _cell(ws, row, col, None, fill=INPUT_FILL, locked=False, center=True, fmt="@")
                        if text is not None:
                            c.value, c.data_type = text, "s"  # "=100%" is a target as written, not a formula
                    _cell(ws, row, 8, None, fill=INPUT_FILL, locked=False, center=True)
                    self.formula(ws, row, 7, *self.fx.target(ws, row, gr), center=True, name=FANG, size=9)
                    shown = self.value((ws.title, f"G{row}"))
                    _fit_row(ws, row, [(gr.name if gr else None, 30), (shown, 15),
                                       (gr.actual if gr else None, 15)], size=9, minimum=20)
                    row += 1
                _merge(ws, start2, 3, row - 1, 3, l2, center=True)
            _merge(ws, start1, 2, row - 1, 2, l1, center=True)
        _merge(ws, head, 1, row - 1, 1, "年度绩效指标完成情况", bold=True, center=True)
        dv = DataValidation(type="list", formula1='"达成,未达成,部分达成"', allow_blank=True)
        dv.prompt, dv.promptTitle, dv.showInputMessage = "填写后“完成情况”以此为准；留空则自动判断", "人工判断", True
        ws.add_data_validation(dv)
        dv.add(f"H{head + 1}:H{row - 1}")
        _print_setup(ws, "1:2")
        _protect(ws, self.password)

    def deductions(self, ws):
        s, res = self.system, self.result
        for col, w in zip("ABCDEFGHI", (6, 10, 10, 22, 7, 8, 8, 9, 70)):
            ws.column_dimensions[col].width = w
        _title(ws, "扣分说明", 9)
        heads = ("序号", "一级指标", "二级指标", "三级指标", "分值", "得分", "扣分", "得分率", "得分与扣分理由")
        for col, text in enumerate(heads, 1):
            _cell(ws, 2, col, text, bold=True, center=True, fill=HEAD_FILL)
        row = 3
        for n, ind in enumerate(s.indicators, 1):
            _cell(ws, row, 1, n, center=True)
            _cell(ws, row, 2, ind.level1.name, center=True)
            _cell(ws, row, 3, ind.level2.name, center=True)
            _cell(ws, row, 4, ind.name)
            _cell(ws, row, 5, ind.weight, center=True, fmt="0.##")
            sr = self.score_row[ind.id]
            self.formula(ws, row, 6, *self.fx.mirror("评分表", f"G{sr}"), center=True, fmt="0.00")
            self.formula(ws, row, 7, _deducted(ws, row), None, center=True, fmt="0.00")
            self.formula(ws, row, 8, *self.fx.rate(ws, row), center=True, fmt="0.00%")
            self.formula(ws, row, 9, *self.fx.reason(ws, row, ind), name=FANG, size=9)
            reason = self.value((ws.title, f"I{row}"))
            _fit_row(ws, row, [(ind.name, 22), (reason, 70)], size=9)
            row += 1
        # subtotals by level: on a page of their own, under their own title and header
        last_indicator_row = row - 1
        ws.row_breaks.append(Break(id=last_indicator_row))
        row += 1
        _title(ws, "各级指标得分小计", 9, row=row, size=12)
        row += 1
        _merge(ws, row, 2, row, 3, "层级", bold=True, center=True, fill=HEAD_FILL)
        for col, text in ((4, "指标"), (5, "分值"), (6, "得分"), (7, "扣分"), (8, "得分率")):
            _cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
        row += 1
        for attr, levels in (("level1", s.level1), ("level2", s.level2)):
            for lv in levels:
                rows = [3 + k for k, ind in enumerate(s.indicators) if getattr(ind, attr).id == lv.id]
                _merge(ws, row, 2, row, 3, "一级指标" if attr == "level1" else "二级指标", center=True)
                _cell(ws, row, 4, lv.name, bold=attr == "level1")
                _cell(ws, row, 5, lv.weight, center=True, fmt="0.##")
                refs = ",".join(f"F{r}" for r in rows) if len(rows) != rows[-1] - rows[0] + 1 else f"F{rows[0]}:F{rows[-1]}"
                self.formula(ws, row, 6, *self.fx.total(ws, refs, [f"F{r}" for r in rows]), center=True, fmt="0.00")
                self.formula(ws, row, 7, _deducted(ws, row), None, center=True, fmt="0.00")
                self.formula(ws, row, 8, *self.fx.rate(ws, row), center=True, fmt="0.00%")
                row += 1
        ws.freeze_panes = "A3"
        _print_setup(ws, None)
        ws.print_area = f"A1:I{row - 1}"
        _protect(ws, self.password)


def _blank_safe(name, value):
    """A reference to a header field that prints empty, not 0, while the field is empty."""
    return f'IF({name}="","",{name})', ("" if value in (None, "") else value)


def _deducted(ws, row):
    """扣分 = 分值 − 得分, or a dash when there is no score."""
    f, e = (N.Ref(f"{c}{row}", (ws.title, f"{c}{row}")) for c in "FE")
    return N.IF(N.ISNUMBER(f), e - f, "—")


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


def _criteria_text(ind) -> str:
    text = ind.criteria
    for e in ind.errata:
        text += f"\n【勘误】{e.note}"
    return text


GOAL_TASK_ROWS = 8           # 自评表: rows for 年度主要任务 (more when the case has more)
GOAL_ROWS_PER_CATEGORY = 3   # 自评表: indicator rows per 二级指标 (more when the case has more)


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


def grade_bands(system) -> str:
    """评分等级 as the system declares them: 综合评分 90≤得分≤100 为“优”；…"""
    parts = [f"{iv.describe('得分', False)}为“{label}”" for iv, label in system.grades]
    return f"评分等级：综合评分（满分 {fmt_num(system.total)} 分）" + "；".join(parts) + "。"


def amount_unit(system) -> str:
    """The unit the system's amounts are entered in (元 or 万元): the most common among its amount inputs."""
    units = [i.unit for i in system.inputs.values() if i.kind == "amount"]
    return max(set(units), key=units.count) if units else "元"


ENGINES = {"python": PythonFormulas, "excel": NativeFormulas}


def build_workbook(system, case=None, password=None, engine="python") -> Built:
    """Build the workbook in memory (no VBA yet); ``case`` fills in the inputs. ``engine``: "python" for PERF_*
    functions (the .xlsm), "excel" for the rules as native formulas (the .xlsx for WPS, LibreOffice, Mac …)."""
    if case is not None:
        case.check_against(system)
    return _Writer(system, case, password, engine).build()


def write_workbook(built: Built, path, *, force: bool = False) -> Path:
    """Save as a macro-enabled workbook with the VBA project and cached values. Never overwrites silently."""
    from perfscore.excel.cache import inject_cached_values
    from perfscore.files import atomic_output, check_output
    from perfscore.excel.vba import build_vba_project, document_modules, parse_module_file, save_xlsm, xlwings_modules
    from perfscore.excel.xlwings_bridge import generate_udf_module

    if built.engine == "excel":
        path = check_output(path, ".xlsx", force, "Excel 公式版工作簿")
        with atomic_output(path) as tmp:
            built.wb.save(tmp)
            inject_cached_values(tmp, built.cached)
        return path
    path = check_output(path, ".xlsm", force, "含宏的工作簿")
    wb = built.wb
    # the wrappers of exactly the functions this workbook's system defines, with its own arguments
    modules = xlwings_modules() + [parse_module_file(generate_udf_module(path.name, [built.system]), "xlwings_udfs.bas")]
    vba_bin = build_vba_project(modules + document_modules(wb))
    with atomic_output(path) as tmp:
        save_xlsm(wb, tmp, vba_bin)
        inject_cached_values(tmp, built.cached)
    return path
