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

from . import native as N
from . import udfs
from .engine import MISSING, score_case
from .layout import CONF_SHEET, HEADER_FIELDS, REGION_NAME, YEAR_NAME  # noqa: F401 (re-exported for callers)
from .errors import PerfscoreError
from .numbers import fmt_num
from .xlconf import write_conf_sheet

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
    from .report import width
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
        return f"PERF_TOTAL({ref_text})", udfs.total([self.w.value((ws.title, c)) for c in coords])

    def grade(self, ws, coord):
        return f"PERF_GRADE({coord},{YEAR_NAME},{REGION_NAME})", udfs.grade_by(self.w.system, self.w.value((ws.title, coord)))

    def rate(self, ws, row):
        return f"PERF_RATE(F{row},E{row})", udfs.rate(self.w.value((ws.title, f"F{row}")), self.w.value((ws.title, f"E{row}")))

    def reason(self, ws, row, ind):
        args = ",".join([f'"{ind.function}"', YEAR_NAME, REGION_NAME] + [self.w.system.inputs[i].name for i in ind.inputs])
        return f"PERF_REASON({args})", self.w.result.by_id(ind.id).reason

    def target(self, ws, row, gr):
        value = udfs.target(gr.target, gr.actual) if gr else udfs.target(None, None)
        # an empty row stays empty even where PERF_TARGET cannot run (LibreOffice recalculates a cell whose cached
        # text is empty): the IF is native
        return f'IF(AND(E{row}="",F{row}=""),"",PERF_TARGET(E{row},F{row}))', value

    def mirror(self, sheet, coord):
        """扣分说明's 得分: the 评分表 score cell as it is."""
        return N.Ref(f"'{sheet}'!{coord}", (sheet, coord)), None

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
        for col, x, store in ((7, N.input_check(spec, cell), self.checks), (8, N.input_value(spec, cell), self.values)):
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

    def mirror(self, sheet, coord):
        ref = N.Ref(f"'{sheet}'!{coord}", (sheet, coord))
        return N.IF(N.ISNUMBER(ref), ref, "—"), None

    def grade(self, ws, coord):
        return self._ev(N.grade(self.w.system, N.Ref(coord, (ws.title, coord))))

    def rate(self, ws, row):
        return self._ev(N.rate(N.Ref(f"F{row}", (ws.title, f"F{row}")), N.Ref(f"E{row}", (ws.title, f"E{row}"))))

    def reason(self, ws, row, ind):
        # the 评分表 score itself: where there is none, its message is the reason (F shows a dash)
        sr = f"G{self.w.score_row[ind.id]}"
        return self._ev(N.indicator_reason(ind, self.nx, N.Ref(f"'评分表'!{sr}", ("评分表", sr)),
                                           N.Ref(f"E{row}", (ws.title, f"E{row}"))))

    def target(self, ws, row, gr):
        return self._ev(N.target(N.Ref(f"E{row}", (ws.title, f"E{row}")), N.Ref(f"F{row}", (ws.title, f"F{row}"))))

    def status(self, ws, first, last):
        return None


class _Writer:
    def __init__(self, system, case, password, engine="python"):
        self.system, self.case, self.password = system, case, password
        self.built = Built(Workbook(), system)
        self.name_cell = {}  # defined name -> absolute reference
        raw = case.raw_values() if case else {}
        self.raw = raw
        self.result = score_case(system, {k: raw.get(k, MISSING) for k in system.inputs})
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

    def guide(self, ws):
        s = self.system
        ws.column_dimensions["A"].width = 110
        _title(ws, f"{s.title}　填报说明", 1)
        lines = [
            f"本工作簿按《{s.name}》{s.year} 年版计分（规则年度 {s.year}，见“基础数据”表）。新年度的工作簿由 IT 人员用 "
            f"perfscore template 生成，不要在旧年度的工作簿中改用新规则。",
            "谁填什么：财务人员只填写“基础数据”表中浅蓝色底色的单元格（部门信息、金额、人数、比率、逐项评定结果）；"
            "其余单元格都是公式，已锁定。",
            "单位：金额以元为单位；比率按百分比填写（如 95.15%）；人数、项数、项目数填整数；逐项评定可填“是”“否”或该项的得分。",
        ] + (self._guide_python() if self.fx.engine == "python" else self._guide_native())
        for k, text in enumerate(lines, 3):
            _cell(ws, k, 1, f"{k - 2}. {text}", border=False, size=11, name=FANG)
            ws.row_dimensions[k].height = 36
        _print_setup(ws, None, landscape=False)
        _protect(ws, self.password)

    @staticmethod
    def _guide_python():
        return [
            "怎样计分：“评分表”每一行的“分数”由 PERF_ 开头的函数按评分标准实时计算（由 Python 的 perfscore 计算，"
            "需要安装 xlwings）；输入有误时，分数单元格显示提示文字，说明哪一项有什么问题、应怎样填写。",
            "综合评分用 PERF_TOTAL 合计：只要有一项分数不是数字，就拒绝合计并说明原因，不会像 SUM 那样悄悄跳过。",
            "“扣分说明”列出每项指标的扣分和理由，可直接用于自评报告的问题分析；“自评表”的完成情况按预期指标值自动判断。",
            "没有安装 Python 的电脑（包括 WPS）打开本工作簿时，显示的是最近一次由 perfscore 计算并保存的结果。",
            "两个版本：本工作簿是“Python 函数版”（.xlsm），适用于装有 Python 和 xlwings 的 Windows Excel；"
            "“评分表”底部的状态行在函数无法运行时给出提示。WPS、Mac、不能安装 Python 或禁用宏的电脑请使用"
            "“Excel 公式版”（.xlsx，perfscore template --engine excel 生成），它用表格软件自带的函数计分，结果相同。",
        ]

    @staticmethod
    def _guide_native():
        return [
            "怎样计分：本工作簿是“Excel 公式版”（.xlsx）：“评分表”每一行的“分数”由表格软件自带的函数（IF、ROUND、MIN 等）"
            "按评分标准实时计算，不需要 Python、宏或加载项，在 Excel、WPS 和 LibreOffice 中都能用；"
            "输入为空或有误时，分数单元格显示提示文字（如“未填写：政府采购实际数”），不会当作 0 计分。",
            "综合评分只在全部分数都是数字时合计；否则显示还有几项分数未得出。",
            "“扣分说明”列出每项指标的扣分和理由（如“政府采购执行率 95.15%，扣 0.05 分”）；“自评表”的完成情况按预期指标值自动判断，"
            "无法自动判断的（如定性指标）提示人工判断。",
            "两个版本：装有 Python 和 xlwings 的 Windows Excel 也可使用“Python 函数版”（.xlsm），它的理由说明更详细；"
            "两个版本按同一份指标体系数据生成，得分、合计和等级相同。",
        ]

    def inputs(self, ws):
        s, case = self.system, self.case
        for col, w in zip("ABCDEF", (6, 30, 8, 18, 70, 26)):
            ws.column_dimensions[col].width = w
        _title(ws, "基础数据", 6)
        _merge(ws, 2, 1, 2, 6, "浅蓝色底色的单元格由填报人填写；其余为公式或说明，已锁定。", border=False, name=FANG)
        values = {"department": case.department if case else "", "year": case.year if case else s.year,
                  "preparer": case.preparer if case else "", "phone": case.phone if case else ""}
        row = 3
        for label, key in HEADER_FIELDS:
            _merge(ws, row, 1, row, 2, label, bold=True, center=True, fill=HEAD_FILL)
            _merge(ws, row, 3, row, 4, values[key] or None, fill=INPUT_FILL, locked=False, center=True)
            self.define(label, ws, row, 3)
            row += 1
        _merge(ws, row, 1, row, 2, YEAR_NAME, bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, row, 3, row, 4, s.year, center=True)
        _merge(ws, row, 5, row, 6, f"按《{s.name}》{s.year} 年版计分；由生成程序填写，请勿修改", name=FANG)
        self.define(YEAR_NAME, ws, row, 3)
        row += 1
        _merge(ws, row, 1, row, 2, REGION_NAME, bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, row, 3, row, 4, s.key or "shenzhen", center=True)
        _merge(ws, row, 5, row, 6, f"{s.region}的指标体系（地区代码）；由生成程序填写，请勿修改", name=FANG)
        self.define(REGION_NAME, ws, row, 3)
        row += 1
        self.input_header_row = row
        for col, text in enumerate(("序号", "输入项", "单位", "数值", "填写说明", "用于指标"), 1):
            _cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
        used = {}
        for ind in s.indicators:
            for iid in ind.inputs:
                used.setdefault(iid, []).append(ind.name)
        order = list(used) + [i for i in s.inputs if i not in used]
        for n, iid in enumerate(order, 1):
            row += 1
            spec = s.inputs[iid]
            _cell(ws, row, 1, n, center=True)
            _cell(ws, row, 2, spec.name)
            _cell(ws, row, 3, spec.unit if spec.kind not in ("flag", "choice") else "", center=True)
            value = self._input_value(iid)
            c = _cell(ws, row, 4, value, fill=INPUT_FILL, fmt=NUMFMT.get(spec.kind), locked=False, center=True)
            self._validate(ws, spec, c.coordinate)
            self.fx.input_helpers(ws, row, spec, c.coordinate)
            _cell(ws, row, 5, _help(spec), name=FANG)
            users = "、".join(used.get(iid, [])) or "不参与计分，用于核对"
            _cell(ws, row, 6, users, name=FANG)
            _fit_row(ws, row, [(spec.name, 30), (_help(spec), 70), (users, 26)])
            self.define(spec.name, ws, row, 4)
        if self.fx.engine == "excel":  # the check and value helper columns the score formulas read
            _cell(ws, self.input_header_row, 7, "检查", border=False)
            _cell(ws, self.input_header_row, 8, "取值", border=False)
            for col in "GH":
                ws.column_dimensions[col].hidden = True
        ws.freeze_panes = ws.cell(self.input_header_row + 1, 1)
        _print_setup(ws, f"{self.input_header_row}:{self.input_header_row}")
        _protect(ws, self.password)

    def _input_value(self, iid):
        spec = self.system.inputs[iid]
        raw = self.raw.get(iid, MISSING)
        if raw is MISSING:
            if spec.default is None:
                return None
            v = spec.default
        else:
            try:
                v = spec.parse(raw)
            except Exception:  # keep what the case says, the formula will explain
                return raw
            if spec.kind == "judgement" and isinstance(raw, str):
                return raw  # keep 是/否 as written
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
            dv = DataValidation(type="custom", allow_blank=True,
                                formula1=f'OR({coord}="是",{coord}="否",AND(ISNUMBER({coord}),{coord}>=0,{coord}<={spec.max:g}))')
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
        self.formula(ws, row + 2, 7, "填报人", (self.case.preparer if self.case else "") or 0, center=True)
        status = self.fx.status(ws, first, row + 1)
        if status:  # a line that speaks up when the PERF_ functions cannot run on this machine
            self.formula(ws, row + 3, 1, *status, border=False, name=FANG, size=11)
            ws.merge_cells(start_row=row + 3, start_column=1, end_row=row + 3, end_column=7)
            ws.cell(row + 3, 1).font = Font(name=FANG, size=11, bold=True, color="C00000")
            ws.row_dimensions[row + 3].height = 48
        ws.freeze_panes = "A4"
        _print_setup(ws, "2:3")
        _protect(ws, self.password)

    def goal_table(self, ws):
        s, case, gt = self.system, self.case, self.system.goal_table
        for col, w in zip("ABCDEFG", (14, 16, 36, 16, 16, 16, 16)):
            ws.column_dimensions[col].width = w
        _title(ws, gt.title, 7)
        _merge(ws, 2, 1, 2, 2, "部门（单位）名称", bold=True, center=True, fill=HEAD_FILL)
        self.formula(ws, 2, 3, "部门名称", (case.department if case else "") or 0, center=True)
        ws.merge_cells("C2:D2")
        _box(ws, 2, 3, 2, 4)
        _cell(ws, 2, 5, "预算年度", bold=True, center=True, fill=HEAD_FILL)
        self.formula(ws, 2, 6, "预算年度", case.year if case else s.year, center=True)
        ws.merge_cells("F2:G2")
        _box(ws, 2, 6, 2, 7)
        # 年度主要任务完成情况
        tasks = case.tasks if case and case.tasks else []
        n_tasks = max(len(tasks), 3 if not case else 1)
        top = 3
        _merge(ws, top, 2, top + 1, 2, "任务名称", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, top, 3, top + 1, 3, "完成情况", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, top, 4, top, 5, "预算数（元）", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, top, 6, top, 7, "执行数（元）", bold=True, center=True, fill=HEAD_FILL)
        for col, text in zip((4, 5, 6, 7), ("全额", "其中：财政拨款", "全额", "其中：财政拨款")):
            _cell(ws, top + 1, col, text, bold=True, center=True, fill=HEAD_FILL)
        row = top + 2
        for k in range(n_tasks):
            t = tasks[k] if k < len(tasks) else None
            _cell(ws, row, 2, t.name if t else None, fill=INPUT_FILL, locked=False)
            _cell(ws, row, 3, t.status if t else None, fill=INPUT_FILL, locked=False, name=FANG, size=9)
            for col, attr in zip((4, 5, 6, 7), ("budget_total", "budget_fiscal", "executed_total", "executed_fiscal")):
                _cell(ws, row, col, getattr(t, attr) if t else None, fill=INPUT_FILL, locked=False, fmt="#,##0.00")
            _fit_row(ws, row, [(t.status if t else None, 36), (t.name if t else None, 16)], size=9, minimum=20)
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
        _merge(ws, row, 5, row, 7, "目标实际完成情况", bold=True, center=True, fill=HEAD_FILL)
        _merge(ws, row + 1, 2, row + 1, 4, (case.goals_expected if case else None) or None, fill=INPUT_FILL,
               locked=False, name=FANG, size=9)
        _merge(ws, row + 1, 5, row + 1, 7, (case.goals_actual if case else None) or None, fill=INPUT_FILL,
               locked=False, name=FANG, size=9)
        _fit_row(ws, row + 1, [((case.goals_expected if case else None), 66), ((case.goals_actual if case else None), 48)],
                 size=9, minimum=60)
        row += 2
        # 年度绩效指标完成情况
        head = row
        for col, text in zip(range(2, 8), ("一级指标", "二级指标", "三级指标", "预期指标值", "实际完成指标值", "完成情况")):
            _cell(ws, row, col, text, bold=True, center=True, fill=HEAD_FILL)
        row += 1
        rows = case.goal_rows if case else []
        for l1, l2s in gt.categories:
            start1 = row
            for l2 in l2s:
                mine = [r for r in rows if r.level1 == l1 and r.level2 == l2] or [None]
                start2 = row
                for gr in mine:
                    _cell(ws, row, 4, gr.name if gr else None, fill=INPUT_FILL, locked=False)
                    for col, text in ((5, gr.target if gr else None), (6, gr.actual if gr else None)):
                        c = _cell(ws, row, col, None, fill=INPUT_FILL, locked=False, center=True, fmt="@")
                        if text is not None:
                            c.value, c.data_type = text, "s"  # "=100%" is a target as written, not a formula
                    self.formula(ws, row, 7, *self.fx.target(ws, row, gr), center=True)
                    row += 1
                _merge(ws, start2, 3, row - 1, 3, l2, center=True)
            _merge(ws, start1, 2, row - 1, 2, l1, center=True)
        _merge(ws, head, 1, row - 1, 1, "年度绩效指标完成情况", bold=True, center=True)
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
        # subtotals by level
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
        _print_setup(ws, "2:2")
        _protect(ws, self.password)


def _deducted(ws, row):
    """扣分 = 分值 − 得分, or a dash when there is no score."""
    f, e = (N.Ref(f"{c}{row}", (ws.title, f"{c}{row}")) for c in "FE")
    return N.IF(N.ISNUMBER(f), e - f, "—")


def _help(spec) -> str:
    parts = [spec.help] if spec.help else []
    parts.append(f"填写：{spec.expectation()}")
    if spec.default is not None:
        d = spec.default
        parts.append(f"默认：{('是' if d else '否') if isinstance(d, bool) else fmt_num(d)}")
    return "；".join(parts)


def _criteria_text(ind) -> str:
    text = ind.criteria
    for e in ind.errata:
        text += f"\n【勘误】{e.note}"
    return text


ENGINES = {"python": PythonFormulas, "excel": NativeFormulas}


def build_workbook(system, case=None, password=None, engine="python") -> Built:
    """Build the workbook in memory (no VBA yet); ``case`` fills in the inputs. ``engine``: "python" for PERF_*
    functions (the .xlsm), "excel" for the rules as native formulas (the .xlsx for WPS, LibreOffice, Mac …)."""
    if case is not None:
        case.check_against(system)
    return _Writer(system, case, password, engine).build()


def write_workbook(built: Built, path, *, force: bool = False) -> Path:
    """Save as a macro-enabled workbook with the VBA project and cached values. Never overwrites silently."""
    from .cache import inject_cached_values
    from .files import atomic_output, check_output
    from .vba import build_vba_project, document_modules, parse_module_file, save_xlsm, xlwings_modules
    from .xlwings_bridge import generate_udf_module

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
