"""Excel functions (xlwings UDFs): thin adapters over the engine. ``UDF MODULES`` = ``perfscore.udfs``.

One ``PERF_*`` function per indicator, made from the indicator systems' data (argument names are the input ids,
argument docs their Chinese names and help), plus the total, the grade, the 得分率, the reason and the
goal-table target check. Each takes what xlwings hands over on Windows — float, None (blank or error cell),
str, bool, datetime — and returns a number, or for bad input a short Chinese message saying what to fix.
Nothing here raises: an unexpected failure is reported in the cell as such, never as a traceback.

Every indicator function ends with an optional ``year``: the workbook passes its rules year (the defined name
规则年度), so a 2020 workbook keeps scoring by 2020 rules after newer years are added. Omitted, it is the newest.
A function keeps its argument list across years (tests/test_udfs.py checks); a year that changes an
indicator's inputs gives it a new function name.
"""
from __future__ import annotations

import inspect
import sys
from functools import lru_cache

import xlwings as xw

from .engine import score_indicator
from .errors import PerfscoreError
from .inputs import InputSpec
from .numbers import ParseError, fmt_num, round_to, to_decimal
from .system import available_years, load_system
from .targets import UNKNOWN, check_target

CATEGORY = "绩效评分"
_YEAR_DOC = "规则年度（可省略）：按哪一年度的指标体系计分。工作簿传入名称“规则年度”；省略时用最新年度"


class _Omitted:
    """Default of optional arguments: the argument was left out of the formula (not a blank cell)."""
    __slots__ = ()

    def __repr__(self):
        return "省略"


OMITTED = _Omitted()


# ------------------------------------------------------------------------------------------ rules year
@lru_cache(maxsize=32)
def _system_for(year):
    return load_system(year)


def system_for(year):
    """year as a cell delivers it (None, 2020.0, "2020", "2020年") -> System. Raises PerfscoreError."""
    if year is None or year is OMITTED or (isinstance(year, str) and not year.strip()):
        return _system_for(None)
    try:
        d, pct = to_decimal(year.strip().removesuffix("年") if isinstance(year, str) else year)
        if pct or d != d.to_integral_value():
            raise ParseError(year)
        return _system_for(int(d))
    except ParseError:
        years = "、".join(map(str, available_years()))
        raise PerfscoreError(f"规则年度应为年份数字（现有 {years}），收到“{year}”") from None


def _guard(fn):
    """Whatever happens, a cell gets a value or a Chinese message (never a traceback)."""
    def wrapper(*args):
        try:
            return fn(*args)
        except PerfscoreError as exc:
            return str(exc)
        except Exception as exc:  # pragma: no cover - a bug; say so plainly in the cell
            return f"内部错误（{type(exc).__name__}）：请联系开发人员"
    return wrapper


# ------------------------------------------------------------------------------------------ indicator functions
def score_call(function: str, args: tuple, year=OMITTED):
    """The adapter behind every PERF_<indicator>: positional cell values -> score or message."""
    system = system_for(year)
    ind = system.by_function.get(function)
    if ind is None:
        return f"{system.year} 年度的指标体系中没有 {function}：请核对规则年度"
    raw = {iid: v for iid, v in zip(ind.inputs, args) if v is not OMITTED}
    r = score_indicator(system, ind, raw)
    return r.score if r.error is None else r.error


def _arg_doc(spec: InputSpec) -> str:
    unit = f"（{spec.unit}）" if spec.unit and spec.kind not in ("flag", "choice") else ""
    doc = f"{spec.name}{unit}：{spec.help}" if spec.help else f"{spec.name}{unit}"
    return doc[:255]  # Excel's limit for an argument description


def _make_indicator_udf(ind, system):
    params = []
    for iid in ind.inputs:
        optional = system.inputs[iid].default is not None
        params.append(inspect.Parameter(iid, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        default=OMITTED if optional else inspect.Parameter.empty))
    params.append(inspect.Parameter("year", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=OMITTED))
    function = ind.function

    def udf(*args):
        args = list(args) + [OMITTED] * (len(params) - len(args))
        return score_call(function, tuple(args[:-1]), args[-1])

    udf.__signature__ = inspect.Signature(params)
    doc = f"{ind.name}（{ind.level1.name}/{ind.level2.name}，分值 {fmt_num(ind.weight)}）：返回得分；输入有误时返回提示。"
    args = {iid: _arg_doc(system.inputs[iid]) for iid in ind.inputs} | {"year": _YEAR_DOC}
    return _export(udf, function, doc[:255], args)


def _decorate(f, func=None, arg=None):
    """Apply xlwings's decorators: ``xw.func``/``xw.arg`` (real on Windows, no-ops elsewhere) by default."""
    func, arg = func or xw.func, arg or xw.arg
    for name, doc in reversed(list(f.__perf_args__.items())):
        f = arg(name, doc=doc)(f)
    return func(category=CATEGORY)(f)


def indicator_functions():
    """Every PERF_<indicator> of every available year, defined by the newest year that has it."""
    out = {}
    for y in available_years():
        system = load_system(y)
        for ind in system.indicators:
            out[ind.function] = _make_indicator_udf(ind, system)
    return out


# ------------------------------------------------------------------------------------------ other functions
def _flatten(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _flatten(x)
    else:
        yield v


def total(*ranges):
    """Adds scores, refusing — with the position and what is there — when any cell is blank, an error or text."""
    cells = list(_flatten(ranges))
    if not cells:
        return "没有可合计的得分单元格：请选择得分所在的单元格区域"
    s = 0.0
    for k, v in enumerate(cells, 1):
        if v is None:
            return f"第 {k} 项分数为空或显示错误值，无法合计"
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return f"第 {k} 项分数不是数字（见该单元格的提示），无法合计"
        s += v
    return round_to(s, 6)


def grade(score, year=OMITTED):
    return grade_by(system_for(year), score)


def grade_by(system, score):
    if score is None or isinstance(score, (bool, str)) or not isinstance(score, (int, float)):
        return "综合评分尚未得出（见综合评分单元格），无法评定等级"
    if not 0 <= score <= system.total:
        return f"综合评分 {fmt_num(score)} 超出 0–{fmt_num(system.total)} 分，无法评定等级"
    return system.grade(score)


def rate(score, weight):
    for label, v in (("得分", score), ("分值", weight)):
        if v is None or isinstance(v, (bool, str)) or not isinstance(v, (int, float)):
            return f"{label}不是数字（{'空或错误值' if v is None else v}），无法计算得分率"
    if weight <= 0:
        return "分值应大于 0，无法计算得分率"
    return score / weight


def reason(indicator, year, *inputs):
    """One-line reason for an indicator's score; ``indicator`` is its function name, id or Chinese name."""
    system = system_for(year)
    key = str(indicator).strip() if indicator is not None else ""
    ind = (system.by_function.get(key.upper()) or system.by_id.get(key)
           or next((i for i in system.indicators if i.name == key), None))
    if ind is None:
        return f"找不到指标“{key}”：请填写函数名（如 PERF_PROCUREMENT）、指标名称或 id"
    raw = {iid: v for iid, v in zip(ind.inputs, inputs) if v is not OMITTED}
    r = score_indicator(system, ind, raw)
    return r.reason


def target(expected, actual):
    r = check_target(expected, actual)
    return r.status if r.status != UNKNOWN else f"{UNKNOWN}：{r.reason}"  # "" for an empty row


def _export(fn, name, doc, args):
    """Wrap ``fn`` for a cell: guarded, named as Excel will call it, with its docs for the function wizard."""
    g = _guard(fn)
    g.__name__ = g.__qualname__ = name
    g.__module__ = __name__
    g.__signature__ = inspect.signature(fn)
    g.__doc__ = doc
    g.__perf_args__ = args
    return g


def other_functions():
    return {name: _export(fn, name, doc, args) for name, fn, doc, args in (
        ("PERF_TOTAL", total, "合计得分（小计或综合评分）。任何一个单元格为空、错误值或文字时拒绝合计并说明原因（不像 SUM 那样跳过）。",
         {"ranges": "要合计的得分单元格或区域，可选多个"}),
        ("PERF_GRADE", grade, "按指标体系的等级区间评定等级（优/良/中/差）。", {"score": "综合评分", "year": _YEAR_DOC}),
        ("PERF_RATE", rate, "得分率 = 得分 / 分值（请把单元格设为百分比格式）。", {"score": "得分", "weight": "分值"}),
        ("PERF_REASON", reason, "一句话说明某项指标的得分和扣分理由，用于扣分说明和报告。",
         {"indicator": "指标：函数名（如 PERF_PROCUREMENT）、指标名称或 id", "year": _YEAR_DOC,
          "inputs": "该指标函数的全部参数，顺序相同"}),
        ("PERF_TARGET", target, "自评表：按预期指标值（如“≥90%”“=100%”“12个月”“及时”）判断实际完成值是否达成。",
         {"expected": "预期指标值", "actual": "实际完成指标值"}),
    )}


def all_functions():
    """Every UDF this module exports, undecorated (for the generator and the formula-engine tests)."""
    return indicator_functions() | other_functions()


# Module level: the functions Excel imports, decorated by xlwings (no-ops off Windows).
_module = sys.modules[__name__]
for _name, _f in all_functions().items():
    setattr(_module, _name, _decorate(_f))
del _module, _name, _f
