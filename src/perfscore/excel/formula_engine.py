"""Evaluate a workbook's formulas without Excel (the ``formulas`` engine), with every PERF_* name bound to the
same Python adapters Excel calls through xlwings — arguments converted as xlwings delivers them on Windows:
float for numbers, None for blank and error cells, str, bool; a multi-cell range as a list of rows.

``formulas`` is a test/check dependency (``pip install perfscore[test]``), imported only when used.
"""
from __future__ import annotations

import os
import re

_KEY = re.compile(r"^'\[(?P<book>[^\]]+)\](?P<sheet>.+)'!(?P<ref>[A-Z]+[0-9]+)$")


def _to_xlwings(v):
    import numpy as np
    import schedula
    from formulas.tokens.operand import XlError
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return _to_xlwings(v.ravel()[0])
        rows = [[_to_xlwings(x) for x in row] for row in v.tolist()]
        return rows[0] if len(rows) == 1 else ([r[0] for r in rows] if all(len(r) == 1 for r in rows) else rows)
    if v is schedula.EMPTY or isinstance(v, XlError) or v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    return v


def _adapter(f):
    def call(*args):
        return f(*(_to_xlwings(a) for a in args))
    return call


def register_udfs():
    import formulas
    from formulas.functions import wrap_func

    from perfscore.udfs import all_functions  # lazy: with the formulas package (test extra)
    funcs = formulas.get_functions()
    for name, f in all_functions().items():
        funcs[name] = wrap_func(_adapter(f))


def evaluate(path) -> dict:
    """-> {(sheet title, coordinate): value} for every cell the engine computed."""
    os.environ.setdefault("TQDM_DISABLE", "1")
    import formulas
    register_udfs()
    model = formulas.ExcelModel().loads(str(path)).finish()
    solution = model.calculate()
    out = {}
    for key, val in solution.items():
        m = _KEY.match(key)
        if not m:
            continue
        v = getattr(val, "value", val)
        out[(m.group("sheet"), m.group("ref"))] = _to_xlwings(v)
    return out
