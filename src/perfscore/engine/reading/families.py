"""Each rule family's ``[…rule]`` table read into its rule object (``perfscore.engine.rules``): one small function
per family, registered in ``BUILDERS`` under the family's name. A composite's parts are rules themselves."""
from __future__ import annotations

import math

from perfscore.engine import rules as R
from perfscore.engine.reading.context import WEIGHT_TOL, ZERO_POLICIES, Context
from perfscore.engine.numbers import check_partition, fmt_num
from perfscore.engine.schema import Node, non_negative, one_of, positive


def build_rule(ctx: Context, n: Node, points: float) -> R.Rule:
    fam = n.take("family", str, check=one_of(*R.FAMILIES))
    declared = n.take("points", float, default=None, check=positive)
    if declared is not None and abs(declared - points) > WEIGHT_TOL:
        n.fail("points", f"规则分值 {fmt_num(declared)} 与所属指标（或组成部分）分值 {fmt_num(points)} 不一致")
    obj = R.FAMILIES[fam].__new__(R.FAMILIES[fam])
    obj.points = points
    obj.rounder = ctx.rounder
    BUILDERS[fam](ctx, n, obj)
    n.done()
    obj.inputs = tuple(dict.fromkeys(rule_inputs(obj)))
    return obj


def rule_inputs(rule) -> list[str]:
    """The input ids a rule reads, in order of first use (a composite: its parts' in turn)."""
    if isinstance(rule, R.Composite):
        return [i for _, r in rule.parts for i in rule_inputs(r)]
    if isinstance(rule, R._MeasureRule):
        return list(rule.measure.inputs)
    if isinstance(rule, R.Checklist):
        return [i for i, _, _ in rule.items]
    if isinstance(rule, R.QuarterlyProgress):
        return [i for i, _, _ in rule.quarters]
    return [rule.input]


def _measure(ctx, n, obj):
    """What every measure-based family takes: the measure and its 0/0 policy (the system's unless overridden)."""
    mid = n.take("measure", str)
    if mid not in ctx.measures:
        n.fail("measure", f"未声明的计算指标 {mid!r}：请在 [measures.{mid}] 中声明")
    obj.measure = ctx.measures[mid]
    obj.zero_denominator = n.take("zero_denominator", str, default=ctx.zero_default, check=one_of(*ZERO_POLICIES))


def _floor(n, obj):
    f = n.take("floor", float, default=0.0, check=non_negative)
    if f >= obj.points:
        n.fail("floor", f"保底分 {fmt_num(f)} 应小于分值 {fmt_num(obj.points)}")
    return f


def bands(ctx, n, obj):
    _measure(ctx, n, obj)
    out = []
    for b in n.children("bands"):
        iv = ctx.interval(b, "range")
        has_p, has_s = "points" in b.data, "share" in b.data
        if has_p == has_s:
            b.fail("points", "每个档次须给出 points（分数）或 share（占分值的比例）之一")
        pts = b.take("points", float, check=non_negative) if has_p else b.take("share", float, check=non_negative) * obj.points
        b.done()
        if pts > obj.points + WEIGHT_TOL:
            b.fail("points", f"档次分数 {fmt_num(pts)} 超过分值 {fmt_num(obj.points)}")
        out.append((iv, pts))
    problem = check_partition([iv for iv, _ in out], obj.measure.domain_min, math.inf)
    if problem:
        n.fail("bands", f"档次区间应无缝、不重叠地覆盖 {fmt_num(obj.measure.domain_min)} 以上的全部取值：{problem}")
    if abs(max(p for _, p in out) - obj.points) > WEIGHT_TOL:
        n.fail("bands", f"最高档分数应等于分值 {fmt_num(obj.points)}，否则无法得满分")
    m = obj.measure
    obj.bands = tuple((iv, p, iv.describe(m.label, m.percent, m.domain_min), f"band:{R._iv_key(iv)}") for iv, p in out)


def ratio_points(ctx, n, obj):
    _measure(ctx, n, obj)
    obj.cap = n.take("cap", float, default=1.0, check=positive)
    obj.zero_above = n.take("zero_above", float, default=None, check=non_negative)


def linear_deduction(ctx, n, obj):
    _measure(ctx, n, obj)
    obj.threshold = ctx.fraction(n, "threshold")
    obj.per_point = n.take("per_point", float, check=positive)
    obj.direction = n.take("direction", str, default="above", check=one_of("above", "below"))
    obj.floor = _floor(n, obj)
    obj.count_points = n.take("count_points", str, default="pro_rata", check=one_of(*R.COUNT_POINTS))


def step_deduction(ctx, n, obj):
    _measure(ctx, n, obj)
    obj.target = ctx.fraction(n, "target")
    obj.step = ctx.fraction(n, "step", check=positive)
    obj.deduction = n.take("deduction", float, check=positive)
    obj.direction = n.take("direction", str, default="below", check=one_of("above", "below"))
    obj.floor = _floor(n, obj)


def per_item_penalty(ctx, n, obj):
    obj.input = ctx.input_ref(n, "input", ("count",))
    obj.per_item = n.take("per_item", float, check=positive)
    obj.floor = _floor(n, obj)
    obj.what = n.take("what", str, default=ctx.inputs[obj.input].name)
    obj.unit = ctx.inputs[obj.input].unit


def checklist(ctx, n, obj):
    items = []
    for it in n.children("items"):
        iid = ctx.input_ref(it, "input", ("judgement",))
        pts = it.take("points", float, check=positive)
        spec = ctx.inputs[iid]
        if spec.kind == "judgement" and abs(spec.max - pts) > WEIGHT_TOL:
            it.fail("input", f"输入项 {iid!r} 的满分 {fmt_num(spec.max)} 与本项分值 {fmt_num(pts)} 不一致")
        items.append((iid, pts, it.take("label", str)))
        it.done()
    s = sum(p for _, p, _ in items)
    if abs(s - obj.points) > WEIGHT_TOL:
        n.fail("items", f"各项分值合计 {fmt_num(s)}，应等于分值 {fmt_num(obj.points)}")
    obj.items = tuple(items)


def tiered(ctx, n, obj):
    obj.input = ctx.input_ref(n, "input", ("choice",))
    obj.label = n.take("label", str)
    opts = {}
    for o in n.children("options"):
        lab = o.take("label", str)
        if lab in opts:
            o.fail("label", f"档次 {lab!r} 重复")
        opts[lab] = o.take("points", float, check=non_negative)
        o.done()
    if not opts or abs(max(opts.values()) - obj.points) > WEIGHT_TOL:
        n.fail("options", f"最高档分数应等于分值 {fmt_num(obj.points)}")
    obj.options = opts
    spec = ctx.inputs[obj.input]
    if spec.options and tuple(opts) != spec.options:
        n.fail("options", f"输入项 {obj.input!r} 已被另一规则定义了不同的档次")
    spec.options = tuple(opts)


def manual(ctx, n, obj):
    obj.input = ctx.input_ref(n, "input", ("score", "judgement"))
    obj.label = n.take("label", str, default="")
    spec = ctx.inputs[obj.input]
    if abs(spec.max - obj.points) > WEIGHT_TOL:
        n.fail("input", f"输入项 {obj.input!r} 的满分 {fmt_num(spec.max)} 与分值 {fmt_num(obj.points)} 不一致")


def quarterly_progress(ctx, n, obj):
    qs, labels = [], []
    for q in n.children("quarters"):
        iid = ctx.input_ref(q, "input", ("rate",))
        qs.append((iid, q.take("schedule", float, check=positive), q.take("points", float, check=non_negative)))
        labels.append(ctx.inputs[iid].name)
        q.done()
    obj.quarters, obj.labels = tuple(qs), tuple(labels)
    obj.average_points = n.take("average_points", float, check=non_negative)
    obj.cap = n.take("cap", float, default=1.0, check=positive)
    obj.capping = n.take("capping", str, default="each_quarter", check=one_of(*R.CAPPING))
    s = sum(p for _, _, p in qs) * obj.cap + obj.average_points * obj.cap
    if not qs or abs(s - obj.points) > WEIGHT_TOL:
        n.fail("quarters", f"各季度分值与平均分值合计（乘以上限 cap）为 {fmt_num(s)}，应等于分值 {fmt_num(obj.points)}")


def composite(ctx, n, obj):
    parts = []
    for p in n.children("parts", name_key="name"):
        name = p.data.get("name") if isinstance(p.data.get("name"), str) else p.fail("name", "缺少组成部分名称")
        p.seen.add("name")
        pts = p.data.get("points")
        if isinstance(pts, bool) or not isinstance(pts, (int, float)) or pts <= 0:
            p.fail("points", "组成部分须给出大于 0 的分值 points")
        parts.append((name, build_rule(ctx, p, float(pts))))
    s = sum(r.points for _, r in parts)
    if not parts or abs(s - obj.points) > WEIGHT_TOL:
        n.fail("parts", f"各组成部分分值合计 {fmt_num(s)}，应等于分值 {fmt_num(obj.points)}")
    obj.parts = tuple(parts)


BUILDERS = {f.__name__: f for f in (bands, ratio_points, linear_deduction, step_deduction, per_item_penalty,
                                    checklist, tiered, manual, quarterly_progress, composite)}
