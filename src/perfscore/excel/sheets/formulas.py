"""How a formula cell is written, one strategy per kind of workbook (``Built.engine``).

- ``PythonFormulas`` (the .xlsm): each 分数 cell calls a ``PERF_*`` function (``perfscore.udfs`` via xlwings) and
  caches the value the engine computes;
- ``NativeFormulas`` (the .xlsx): the rules translated into the spreadsheet's own functions (``native.py``), cached
  with what that formula evaluates to over the cells written so far.

The sheet writers ask ``ctx.fx`` for a cell (``score``, ``total``, ``grade``, ``reason``, ``target`` …) and get back
(formula, cached value); they never need to know which kind of workbook they are writing.
"""
from __future__ import annotations

from openpyxl.utils import get_column_letter

from perfscore import udfs
from perfscore.engine.inputs import NA_TEXT
from perfscore.excel import native as N
from perfscore.excel.layout import REGION_NAME, YEAR_NAME
from perfscore.excel.sheets.inputs import HELPER_COL

# printed under the scores when the computer cannot run the scoring functions: plain words, no tool names
STATUS_TEXT = ("注意：本机无法运行评分函数，表中的分数和理由没有按当前数据更新。请改用“公式版”工作簿（不需要安装任何程序），"
               "或请信息技术人员按安装说明装好评分程序后重新计算。")


class PythonFormulas:
    """How the Python workbook writes a formula cell: a PERF_* call, cached with the engine's value."""
    engine, suffix = "python", ".xlsm"

    def __init__(self, ctx):
        self.ctx = ctx

    def input_helpers(self, ws, row, spec, coord):
        """基础数据's hidden check and value columns: the Python version has none (PERF_* reads the inputs)."""

    def _call(self, ind) -> str:
        """The indicator's PERF_* call: its inputs by their defined names, then the system's year and region."""
        args = [self.ctx.system.inputs[i].name for i in ind.inputs] + [YEAR_NAME, REGION_NAME]
        return f"{ind.function}({','.join(args)})"

    def score(self, ind):
        r = self.ctx.result.by_id(ind.id)
        return self._call(ind), (r.score if r.error is None else r.error)

    def total(self, ws, ref_text, coords):
        if ws.title != "评分表":  # 扣分说明's narrow 得分 column: a dash, the reasons say what is missing
            return N.total(N.Rng(ref_text, tuple((ws.title, c) for c in coords)), len(coords),
                           self.ctx.system.rounding_digits, short=True), None
        return f"PERF_TOTAL({ref_text})", udfs.total([self.ctx.value((ws.title, c)) for c in coords])

    def grade(self, ws, coord):
        value = udfs.grade_by(self.ctx.system, self.ctx.value((ws.title, coord)))
        return f"PERF_GRADE({coord},{YEAR_NAME},{REGION_NAME})", value

    def rate(self, ws, row):
        """扣分说明's 得分率: a dash where there is no score (the reason column says why)."""
        return N.rate(N.Ref(f"F{row}", (ws.title, f"F{row}")), N.Ref(f"E{row}", (ws.title, f"E{row}"))), None

    def reason(self, ws, row, ind):
        args = ",".join([f'"{ind.function}"', YEAR_NAME, REGION_NAME] + [self.ctx.system.inputs[i].name for i in ind.inputs])
        return f"PERF_REASON({args})", self.ctx.result.by_id(ind.id).reason

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

    def status(self, ws, first, last, col="G"):
        """A line that prints STATUS_TEXT when the cells ``col``first:``col``last hold the functions' errors."""
        rng = f"{col}{first}:{col}{last}"
        errors = f"SUMPRODUCT(ISERROR({rng})*1)"
        foreign = "+".join(f'SUMPRODUCT(ISNUMBER(SEARCH("{w}",{rng}))*1)' for w in ("Python", "xlwings", "Error"))
        return f'IF({errors}+{foreign}>0,"{STATUS_TEXT}"," ")', " "  # a space: read back as text, not as empty


class NativeFormulas(PythonFormulas):
    """How the Excel-formula workbook writes a formula cell: the rules translated into the spreadsheet's own
    functions (native.py); the cached value is what that formula computes (evaluated here)."""
    engine, suffix = "excel", ".xlsx"

    def __init__(self, ctx):
        super().__init__(ctx)
        N.refuse_unsupported(ctx.system)
        self.values, self.checks = {}, {}
        self.nx = N.Nx(ctx.system, self.values, self.checks)

    def _ev(self, x):
        return x, None  # ctx.formula renders it and evaluates it over the cells written so far

    def input_helpers(self, ws, row, spec, coord):
        cell = N.Ref(coord, (ws.title, coord))
        first = HELPER_COL
        letters = [get_column_letter(first + k) for k in range(3)]
        refs = [N.Ref(f"'{ws.title}'!${c}${row}", (ws.title, f"{c}{row}")) for c in letters]
        value = refs[2]  # L: the typed value, read once by the one rule; J and K read it
        for col, x in ((first + 2, N.typed_value(spec, cell)), (first, N.input_check(spec, cell, value, row)),
                       (first + 1, N.input_value(spec, cell, value))):
            self.ctx.formula(ws, row, col, *self._ev(x), border=False)
        self.checks[spec.id], self.values[spec.id] = refs[0], refs[1]

    def score(self, ind):
        return self._ev(N.indicator_score(ind, self.nx))

    def _rng(self, ws, ref_text, coords):
        return N.Rng(ref_text, tuple((ws.title, c) for c in coords))

    def total(self, ws, ref_text, coords):
        # on 扣分说明 a dash (the narrow 得分 column; the reasons say what is missing), on 评分表 the count
        short = ws.title != "评分表"
        return self._ev(N.total(self._rng(ws, ref_text, coords), len(coords), self.ctx.system.rounding_digits, short))

    def grade(self, ws, coord):
        return self._ev(N.grade(self.ctx.system, N.Ref(coord, (ws.title, coord))))

    def reason(self, ws, row, ind):
        # the 评分表 score itself: where there is none, its message is the reason (F shows a dash)
        sr = f"G{self.ctx.score_row[ind.id]}"
        score = N.Ref(f"'评分表'!{sr}", ("评分表", sr))
        reason = N.indicator_reason(ind, self.nx, score, N.Ref(f"E{row}", (ws.title, f"E{row}")))
        na = [self.ctx.system.inputs[i] for i in ind.inputs if self.ctx.system.inputs[i].not_applicable]
        if na:  # as the engine says it: （群众信访办理情况_2不适用，按满分计）
            notes = [N.IF(N.Ref(s.name, self.ctx.built.names[s.name]).eq(NA_TEXT), f"（{s.name}{NA_TEXT}，按满分计）", "")
                     for s in na]
            reason = N.IF(N.ISNUMBER(score), N.CAT(reason, *notes), reason)
        return self._ev(reason)

    def target(self, ws, row, gr):
        h = N.Ref(f"H{row}", (ws.title, f"H{row}"))
        auto = N.target(N.Ref(f"E{row}", (ws.title, f"E{row}")), N.Ref(f"F{row}", (ws.title, f"F{row}")))
        return self._ev(N.IF(h.ne(""), h, auto))

    def status(self, ws, first, last, col="G"):
        return None


ENGINES = {"python": PythonFormulas, "excel": NativeFormulas}


def blank_safe(name, value):
    """A reference to a header field that prints empty, not 0, while the field is empty."""
    return f'IF({name}="","",{name})', ("" if value in (None, "") else value)
