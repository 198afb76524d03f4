"""Excel functions (xlwings UDFs): thin adapters over the engine. ``UDF MODULES`` = ``perfscore.udfs``.

One ``PERF_*`` function per indicator, made from the indicator systems' data (argument names are the input ids,
argument docs their Chinese names and help), plus the total, the grade, the 得分率, the reason and the
goal-table target check. Each takes what xlwings hands over on Windows — float, None (blank or error cell),
str, bool, datetime — and returns a number, or for bad input a short Chinese message saying what to fix.
Nothing here raises: an unexpected failure is reported in the cell as such, never as a traceback.

Every indicator function ends with an optional ``year`` and ``region``: the workbook passes its rules year and
region (the defined names 规则年度 and 规则地区), so a 2020 workbook keeps scoring by 2020 rules after newer years
are added, and a workbook of another region scores by its own region's table even where both regions name a
function alike (each region's PERF_STAFF_CONTROL with its own arguments: one Python function dispatches on the
trailing year and region; each workbook's VBA wrappers are generated from its own system). Omitted, the year is the
region's newest and the region is shenzhen. Within a region a function keeps its argument list across years
(tests/test_udfs.py checks); a year that changes an indicator's inputs gives it a new function name.
"""
from __future__ import annotations

import inspect
import os
import sys
from functools import lru_cache

import xlwings as xw

from perfscore.engine.scoring import score_indicator
from perfscore.errors import PerfscoreError
from perfscore.engine.inputs import InputSpec
from perfscore.engine.numbers import ParseError, fmt_num, round_to, to_decimal
from perfscore.engine.system import DEFAULT_REGION, available_regions, available_years, load_system
from perfscore.engine.targets import UNKNOWN, check_target

CATEGORY = "绩效评分"
_YEAR_DOC = "规则年度（可省略）：按哪一年度的指标体系计分。工作簿传入名称“规则年度”；省略时用最新年度"
_REGION_DOC = "规则地区（可省略）：按哪一地区的指标体系计分。工作簿传入名称“规则地区”；省略时为 shenzhen"


class _Omitted:
    """Default of optional arguments: the argument was left out of the formula (not a blank cell)."""
    __slots__ = ()

    def __repr__(self):
        return "省略"


OMITTED = _Omitted()


# ------------------------------------------------------------------------------------------ rules year
@lru_cache(maxsize=32)
def _system_for(year, region=DEFAULT_REGION):
    return load_system(year, region=region)


def _blank(v) -> bool:
    return v is None or v is OMITTED or (isinstance(v, str) and not v.strip())


def region_of(region) -> str:
    """region as a cell delivers it ("shenzhen", blank) -> region key. Raises PerfscoreError."""
    if _blank(region):
        return DEFAULT_REGION
    if not isinstance(region, str):
        raise PerfscoreError(f"规则地区应为地区名（现有 {'、'.join(available_regions())}），收到“{region}”")
    return region.strip()


def system_for(year, region=OMITTED):
    """year and region as cells deliver them (None, 2020.0, "2020", "2020年"; "shenzhen") -> System."""
    key = region_of(region)
    if _blank(year):
        return _system_for(None, key)
    try:
        d, pct = to_decimal(year.strip().removesuffix("年") if isinstance(year, str) else year)
        if pct or d != d.to_integral_value():
            raise ParseError(year)
        return _system_for(int(d), key)
    except ParseError:
        years = "、".join(map(str, available_years(key)))
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
@lru_cache(maxsize=8)
def _regions(env: str) -> frozenset:
    return frozenset(available_regions())


def _is_region(v) -> bool:
    """A region key as a cell holds it (shenzhen): text naming a region that has indicator systems here."""
    return isinstance(v, str) and v.strip() in _regions(os.environ.get("PERFSCORE_SYSTEMS", ""))


def split_call(function: str, args: tuple):
    """Positional arguments as the caller's wrapper passes them: inputs…, year, region -> (system, indicator,
    input values). Each region's wrapper has its own arity; a region is always the last argument."""
    args = tuple(args)
    inputs, year, region = args[:-2], args[-2] if len(args) > 1 else OMITTED, args[-1] if args else OMITTED
    system = system_for(year, region)
    ind = system.by_function.get(function)
    if ind is None:
        raise PerfscoreError(f"{system.region} {system.year} 年度的指标体系中没有 {function}：请核对规则年度和规则地区")
    if len(inputs) != len(ind.inputs):
        raise PerfscoreError(f"{function} 收到 {len(inputs)} 个输入，{system.region} {system.year} 年度的指标体系要"
                             f" {len(ind.inputs)} 个：请用本年度、本地区的模板重新生成工作簿")
    return system, ind, inputs


def score_call(function: str, args: tuple):
    """The adapter behind every PERF_<indicator>: positional cell values (…, year, region) -> score or message."""
    system, ind, inputs = split_call(function, args)
    raw = {iid: v for iid, v in zip(ind.inputs, inputs) if v is not OMITTED}
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
    params.append(inspect.Parameter("region", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=OMITTED))
    function = ind.function

    def udf(*args):
        # From a wrapper the arguments come in the wrapper's own arity (another region's may differ) and end with
        # the region; called with trailing arguments left out (Python, the formula engine, workbooks made before
        # regions), they are padded to this signature, as Excel pads omitted optional arguments.
        if len(args) < len(params) and not (args and _is_region(args[-1])):
            args = args + (OMITTED,) * (len(params) - len(args))
        return score_call(function, args)

    udf.__signature__ = inspect.Signature(params)
    doc = f"{ind.name}（{ind.level1.name}/{ind.level2.name}，分值 {fmt_num(ind.weight)}）：返回得分；输入有误时返回提示。"
    args = {iid: _arg_doc(system.inputs[iid]) for iid in ind.inputs} | {"year": _YEAR_DOC, "region": _REGION_DOC}
    return _export(udf, function, doc[:255], args)


def _decorate(f, func=None, arg=None):
    """Apply xlwings's decorators: ``xw.func``/``xw.arg`` (real on Windows, no-ops elsewhere) by default."""
    func, arg = func or xw.func, arg or xw.arg
    for name, doc in reversed(list(f.__perf_args__.items())):
        f = arg(name, doc=doc)(f)
    return func(category=CATEGORY)(f)


def indicator_functions(systems=None):
    """PERF_<indicator> functions. ``systems`` given (a workbook's own): exactly its functions, with its signatures
    (for its VBA wrappers). Otherwise every function of every region and year, the signature taken from the
    default region's newest year that has it (the Python side dispatches on the caller's year and region)."""
    if systems is None:
        systems = list(_installed_systems())
    out = {}
    for system in systems:
        for ind in system.indicators:
            out[ind.function] = _make_indicator_udf(ind, system)
    return out


def _installed_systems():
    """Every installed region's every year, the default region last. A file that does not load is left out here:
    it must not take the other regions' functions down with it (its own workbooks' cells say what is wrong when
    they call, and ``perfscore doctor`` names the file)."""
    regions = available_regions()  # one scan of the folders (available_years already skips a missing region)
    for r in sorted(regions, key=lambda r: r == DEFAULT_REGION):
        for y in available_years(r):
            try:
                yield load_system(y, region=r)
            except PerfscoreError:
                continue


# ------------------------------------------------------------------------------------------ other functions
def _flatten(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _flatten(x)
    else:
        yield v


def total(*ranges):
    """Adds scores, refusing when any cell is blank, an error or text: the message names those cells by their
    position in the range (on 评分表: the indicator's 序号), flat and short."""
    cells = list(_flatten(ranges))
    if not cells:
        return "没有可合计的得分单元格：请选择得分所在的单元格区域"
    missing = [k for k, v in enumerate(cells, 1)
               if v is None or isinstance(v, bool) or not isinstance(v, (int, float))]
    if missing:
        return total_message(missing, len(cells))
    return round_to(sum(cells), 6)


def total_message(missing, n) -> str:
    """The refusal of a total (the Excel-formula version writes the same text, see native.total)."""
    if len(missing) == n:
        return "各项分数均未得出，无法合计"
    return f"第 {'、'.join(map(str, missing))} 项未得出分数，无法合计"


GRADE_NO_TOTAL = "综合评分未得出，无法评定等级"


def grade(score, year=OMITTED, region=OMITTED):
    return grade_by(system_for(year, region), score)


def grade_by(system, score):
    if score is None or isinstance(score, (bool, str)) or not isinstance(score, (int, float)):
        return GRADE_NO_TOTAL
    if not 0 <= score <= system.total:
        return f"综合评分 {fmt_num(score)} 超出 0–{fmt_num(system.total)} 分，无法评定等级"
    return system.grade(score)


def rate(score, weight):
    for label, v in (("得分", score), ("分值", weight)):
        if v is None or isinstance(v, (bool, str)) or not isinstance(v, (int, float)):
            return f"{label}未得出，无法计算得分率"
    if weight <= 0:
        return "分值应大于 0，无法计算得分率"
    return score / weight


def reason(indicator, year, *inputs):
    """One-line reason for an indicator's score; ``indicator`` is its function name, id or Chinese name.
    ``inputs`` may start with the region (this version's workbooks: PERF_REASON(指标, 规则年度, 规则地区, …))."""
    region = OMITTED
    if inputs and (_is_region(inputs[0]) or inputs[0] is OMITTED):
        region, inputs = inputs[0], inputs[1:]
    system = system_for(year, region)
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
        ("PERF_GRADE", grade, "按指标体系的等级区间评定等级（优/良/中/差）。",
         {"score": "综合评分", "year": _YEAR_DOC, "region": _REGION_DOC}),
        ("PERF_RATE", rate, "得分率 = 得分 / 分值（请把单元格设为百分比格式）。", {"score": "得分", "weight": "分值"}),
        ("PERF_REASON", reason, "一句话说明某项指标的得分和扣分理由，用于扣分说明和报告。",
         {"indicator": "指标：函数名（如 PERF_PROCUREMENT）、指标名称或 id", "year": _YEAR_DOC,
          "inputs": "该指标函数的全部参数，顺序相同"}),
        ("PERF_TARGET", target, "自评表：按预期指标值（如“≥90%”“=100%”“12个月”“及时”）判断实际完成值是否达成。",
         {"expected": "预期指标值", "actual": "实际完成指标值"}),
    )}


def all_functions(systems=None):
    """Every UDF this module exports, undecorated (for the generator and the formula-engine tests); with
    ``systems``, the functions a workbook of those systems calls."""
    return indicator_functions(systems) | other_functions()


# Module level: the functions Excel imports, decorated by xlwings (no-ops off Windows).
_module = sys.modules[__name__]
for _name, _f in all_functions().items():
    setattr(_module, _name, _decorate(_f))
del _module, _name, _f
