"""What every sheet writer shares while one workbook is built: the ``Context``.

It holds the indicator system and the case (the filled example, or None for a blank template), the engine's result
for that case, the formula strategy ``fx`` (see ``formulas.py``), and the workbook being built (``built``: its
cells, formulas, cached values and defined names). Sheets write formula cells through ``formula`` and name cells
through ``define``, so ``built`` always knows what every formula cell holds; ``value`` reads a cell back the way
the workbook holds it (a later formula's cached value can depend on it).
"""
from __future__ import annotations

from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.workbook.defined_name import DefinedName

from perfscore.engine.scoring import score_case
from perfscore.errors import PerfscoreError
from perfscore.excel import native as N
from perfscore.excel.sheets.formulas import ENGINES
from perfscore.excel.sheets.style import cell
from perfscore.files import xml_text


class Context:
    """The state one workbook's sheets share; made once per ``build_workbook``."""

    def __init__(self, built, case, password, engine="python"):
        """``built``: the empty ``Built`` to fill (it carries the system); ``engine``: a key of ``ENGINES``."""
        self.system, self.case, self.password = built.system, case, password
        self.built = built
        raw = case.raw_values() if case else {}
        self.raw = raw
        # a blank cell is a blank (None), never an omitted argument: declared defaults do not reach cells
        self.result = score_case(self.system, {k: raw.get(k) for k in self.system.inputs})
        self.score_row = {}  # indicator id -> its row on 评分表 (written by scores.py, read by later sheets)
        self._samples = None
        if engine not in ENGINES:
            raise PerfscoreError(f"未知的工作簿类型 {engine!r}：应为 python（Python 函数版）或 excel（Excel 公式版）")
        self.fx = ENGINES[engine](self)
        self.built.engine = engine

    @property
    def samples(self) -> list:
        """Results for a few made-up input sets (all blank, then seeded mixes of every kind's values): rows are
        sized for the longest text a formula can show when the department fills or changes its inputs, not only
        for what this workbook shows now. Seeded, so the same system always gives the same workbook."""
        if self._samples is None:
            self._samples = [score_case(self.system, raw) for raw in sample_inputs(self.system)]
        return self._samples

    def value(self, key):
        """A cell's value as the workbook holds it: a formula cell's cached value, else the constant (None if
        empty). Does not create cells."""
        if key in self.built.cached:
            return self.built.cached[key]
        sheet, coord = key
        c = self.built.wb[sheet]._cells.get(coordinate_to_tuple(coord))
        return None if c is None else c.value

    def formula(self, ws, row, col, text, value, **kw):
        """A formula cell: ``text`` with its cached ``value``, or a native.X rendered and evaluated here."""
        expr = None
        if isinstance(text, N.X):
            expr, text = text, text.text()
            value = N.evaluate(expr, self.value)
        c = cell(ws, row, col, "=" + text, **kw)
        key = (ws.title, c.coordinate)
        if expr is not None:
            self.built.exprs[key] = expr
        self.built.formulas[key] = "=" + text
        self.built.cached[key] = xml_text(value)  # a reason may quote an input's text
        return c

    def define(self, name, ws, row, col):
        """A workbook-level defined name for one cell (the inputs and the header fields)."""
        ref = f"'{ws.title}'!${get_column_letter(col)}${row}"
        self.built.wb.defined_names[name] = DefinedName(name, attr_text=ref)
        self.built.names[name] = (ws.title, f"{get_column_letter(col)}{row}")

    def sheet_names(self) -> list[str]:
        """The sheets this workbook has, in order, as the officer sees them (the guide lists exactly these)."""
        return ["填报说明", "基础数据", "评分表"] + (["自评表"] if self.system.goal_table else []) + ["扣分说明"]


def sample_inputs(system, n: int = 3) -> list[dict]:
    """All blank, then ``n`` seeded mixes: amounts, counts, rates, 是/否/partial points, scores and options."""
    import random
    out = [{}]
    for seed in range(n):
        rng = random.Random(seed)
        raw = {}
        for iid, spec in system.inputs.items():
            k = spec.kind
            if k == "amount":
                raw[iid] = round(rng.uniform(1e4, 1e7), 2)
            elif k == "count":
                raw[iid] = float(rng.randint(0, 30))
            elif k == "rate":
                raw[iid] = round(rng.uniform(0.5, 1.0), 4)
            elif k == "judgement":
                raw[iid] = rng.choice(["是", "否", spec.max / 2])
            elif k == "score":
                raw[iid] = round(rng.uniform(0, spec.max), 1)
            elif k == "flag":
                raw[iid] = rng.choice(["是", "否"])
            elif k == "choice":
                raw[iid] = rng.choice(spec.options)
        out.append(raw)
    return out


def amount_unit(system) -> str:
    """The unit the system's amounts are entered in (元 or 万元): the most common among its amount inputs."""
    units = [i.unit for i in system.inputs.values() if i.kind == "amount"]
    return max(set(units), key=units.count) if units else "元"
