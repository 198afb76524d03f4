"""The figures a department fills in (``[inputs.*]``: name, kind, unit, bounds, help, carry-forward, 不适用) and the
measures computed from them (``[measures.*]``: a ratio of signed sums, a change rate, exclusions with their basis)."""
from __future__ import annotations

import math
import re

from perfscore.engine import rules as R
from perfscore.engine.reading.context import ID_RE, NUMERIC_KINDS, Context
from perfscore.engine.inputs import KINDS, NOT_APPLICABLE, InputSpec
from perfscore.engine.numbers import fmt_num
from perfscore.engine.schema import list_of, one_of

# Excel defined names: start with a letter (any script) or underscore; letters, digits, _ and . after;
# must not look like a cell reference (A1, R1C1) — checked loosely.
_NAME_RE = re.compile(r"^[^\W\d][\w.]*$")
_CELLREF_RE = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*)$")


def build_inputs(r) -> dict[str, InputSpec]:
    out, names = {}, {}
    node = r.child("inputs")
    for iid in list(node.data):
        if not ID_RE.match(iid):
            node.fail(iid, "输入项 id 应为小写英文字母、数字和下划线，并以字母开头")
        n = node.child(iid)
        kind = n.take("kind", str, check=one_of(*KINDS))
        unit_d, min_d, max_d = KINDS[kind]
        name = n.take("name", str, check=_excel_name)
        if name in names:
            n.fail("name", f"名称 {name!r} 已被输入项 {names[name]!r} 使用：Excel 定义名称必须唯一")
        names[name] = iid
        unit = n.take("unit", str, default=unit_d)
        lo = n.take("min", float, default=min_d)
        hi = n.take("max", float, default=max_d)
        if kind in ("judgement", "score") and hi is None:
            n.fail("max", "评分类输入项必须给出满分 max")
        if lo is not None and hi is not None and lo > hi:
            n.fail("min", f"下限 {lo} 大于上限 {hi}")
        spec = InputSpec(iid, name, kind, unit, lo, hi, help=n.take("help", str, default=""),
                         standing=n.take("standing", bool, default=False),
                         carry_from=n.take("carry_from", str, default=None, check=_id_check),
                         source=n.take("source", str, default=""),
                         note=n.take("note", str, default="", check=_note_check),
                         not_applicable=n.take("not_applicable", str, default=None,
                                               check=one_of(*NOT_APPLICABLE)))
        if spec.not_applicable and kind not in ("judgement", "score"):
            n.fail("not_applicable", f"只有逐项评定（judgement）和评定得分（score）输入项可以声明“不适用”，"
                                     f"该输入项的 kind 为 {kind}")
        if "default" in n.data:
            raw_default = n.take("default", (str, int, float, bool))
            try:
                spec.default = spec.parse(raw_default)
            except Exception as exc:  # InputError
                n.fail("default", f"默认值不可用：{exc}")
        n.done()
        out[iid] = spec
    return out


def build_measures(ctx: Context, r) -> dict[str, R.Measure]:
    out = {}
    node = r.child("measures", default={})
    if node is None:
        return out
    for mid in list(node.data):
        n = node.child(mid)
        label = n.take("label", str)
        percent = n.take("percent", bool, default=True)
        dmin = n.take("min", float, default=-math.inf if "change" in n.data else 0.0)  # a change may be negative
        dmax = n.take("max", float, default=None)
        if dmax is not None and dmax <= dmin:
            n.fail("max", f"上限 {fmt_num(dmax)} 应大于下限 {fmt_num(dmin)}")
        if "change" in n.data:
            num, den = _change(ctx, n)
        else:
            num = ctx.terms(n, "numerator")
            den = ctx.terms(n, "denominator", required=False)
            if not den and len(num) != 1:
                n.fail("denominator", "没有分母时，分子只能是一个输入项（直接取该输入值）")
        # A declared reading: inputs taken out of the numerator, with the document that says so.
        exclude = [ctx.check_input(n, "exclude", i, NUMERIC_KINDS)
                   for i in n.take("exclude", list, default=[], check=list_of(str))]
        basis = n.take("basis", str, default="")
        if exclude and not basis:
            n.fail("basis", "exclude 须同时写明依据 basis（文件名称和文号），以便在扣分理由中说明")
        num = list(num) + [(i, -1) for i in exclude]
        n.done()
        names = {i: ctx.inputs[i].name for i, _ in list(num) + list(den)}
        out[mid] = R.Measure(mid, label, num, den, percent, dmin, dmax, exclude, basis, names,
                             ctx.printed_digits if ctx.compare == "as_printed" else None)
    return out


def _change(ctx: Context, n):
    """``change = {current, prior, base}``: (current − prior) / base, base defaulting to prior."""
    c = n.child("change")
    cur = ctx.check_input(c, "current", c.take("current", str), NUMERIC_KINDS)
    prior = ctx.check_input(c, "prior", c.take("prior", str), NUMERIC_KINDS)
    base = ctx.check_input(c, "base", c.take("base", str, default=prior), ("amount", "count"))
    c.done()
    if "numerator" in n.data or "denominator" in n.data:
        n.fail("change", "change 与 numerator/denominator 不能同时使用")
    return [(cur, 1), (prior, -1)], [(base, 1)]


def _note_check(v):
    """A short polarity note shown after the input's name (“是＝本项 0 分”); the defined name stays bare."""
    if not v.strip() or len(v) > 20 or "\n" in v:
        return "应为一句不超过 20 个字的简短提示（如“是＝本项 0 分”），显示在输入项名称之后"
    return None


def _id_check(v):
    return None if ID_RE.match(v) else "应为上一年度指标体系中某个输入项的 id（小写英文字母、数字和下划线）"


def _excel_name(name):
    if not _NAME_RE.match(name) or _CELLREF_RE.match(name) or len(name) > 255:
        return (f"{name!r} 不能用作 Excel 定义名称：只能含文字、数字、下划线和点，不能以数字开头，"
                f"不能有空格或括号，也不能像单元格地址")
    return None
