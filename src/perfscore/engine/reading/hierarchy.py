"""The table's structure: 一级/二级 levels whose weights add up, the 三级 indicators (function name, printed
wording, argument list, rule, veto, 不适用, errata), the grade bands, the goal table and the sanity checks."""
from __future__ import annotations

import re

from perfscore.engine.reading.context import ID_RE, WEIGHT_TOL, Context, unique
from perfscore.engine.reading.families import build_rule, rule_inputs
from perfscore.engine.model import Erratum, GoalTable, Indicator, Level, SanityCheck
from perfscore.engine.numbers import check_partition, fmt_num
from perfscore.engine.schema import list_of, one_of, positive

_FUNC_RE = re.compile(r"^PERF_[A-Z0-9_]+$")


def grades(ctx: Context, r, total):
    out = []
    for g in r.children("grades", name_key="label"):
        label = g.take("label", str)
        iv = ctx.interval(g, "range")
        g.done()
        out.append((iv, label))
    problem = check_partition([iv for iv, _ in out], 0.0, total)
    if problem:
        ctx.err("grades", f"评分等级区间应无缝覆盖 0 到 {fmt_num(total)} 分：{problem}")
    return tuple(out)


def levels(ctx: Context, r, total):
    l1 = []
    for n in r.children("level1", name_key="id"):
        l1.append(Level(n.take("id", str), n.take("name", str), n.take("printed", str, default=""),
                        n.take("weight", float, check=positive)))
        n.done()
    ids1 = [l.id for l in l1]
    l2 = []
    for n in r.children("level2", name_key="id"):
        lv = Level(n.take("id", str), n.take("name", str), n.take("printed", str, default=""),
                   n.take("weight", float, check=positive), n.take("parent", str))
        if lv.parent not in ids1:
            n.fail("parent", f"上级一级指标 {lv.parent!r} 不存在；现有：{'、'.join(ids1)}")
        n.done()
        l2.append(lv)
    unique(ctx, "level1", [l.id for l in l1])
    unique(ctx, "level2", [l.id for l in l2])
    s1 = sum(l.weight for l in l1)
    if abs(s1 - total) > WEIGHT_TOL:
        ctx.err("level1", f"一级指标分值合计为 {fmt_num(s1)}，应等于总分 {fmt_num(total)}")
    for p in l1:
        s2 = sum(c.weight for c in l2 if c.parent == p.id)
        if abs(s2 - p.weight) > WEIGHT_TOL:
            ctx.err(f"level2（{p.name}）", f"下属二级指标分值合计为 {fmt_num(s2)}，应等于一级指标分值 {fmt_num(p.weight)}")
    return tuple(l1), tuple(l2)


def indicators(ctx: Context, r, l1, l2):
    """``l1``/``l2``: id -> Level. Each indicator's weights must add up to its 二级指标's."""
    out = []
    funcs = set()
    for n in r.children("indicators", name_key="id"):
        out.append(_indicator(ctx, n, l1, l2, funcs))
    unique(ctx, "indicators", [i.id for i in out])
    for lv in l2.values():
        s = sum(i.weight for i in out if i.level2.id == lv.id)
        if abs(s - lv.weight) > WEIGHT_TOL:
            ctx.err(f"indicators（{lv.name}）", f"三级指标分值合计为 {fmt_num(s)}，应等于二级指标分值 {fmt_num(lv.weight)}")
    return tuple(out)


def _indicator(ctx: Context, n, l1, l2, funcs) -> Indicator:
    iid = n.take("id", str)
    if not ID_RE.match(iid):
        n.fail("id", "指标 id 应为小写英文字母、数字和下划线")
    parent = n.take("parent", str)
    if parent not in l2:
        n.fail("parent", f"上级二级指标 {parent!r} 不存在")
    weight = n.take("weight", float, check=positive)
    func = n.take("function", str)
    if not _FUNC_RE.match(func):
        n.fail("function", "Excel 函数名应为 PERF_ 加大写英文字母、数字或下划线，例如 PERF_PROCUREMENT")
    if func in funcs:
        n.fail("function", f"函数名 {func} 重复")
    funcs.add(func)
    name = n.take("name", str)
    description = n.take("description", str)
    criteria = n.take("criteria", str)
    args = n.take("inputs", list, check=list_of(str))
    rule = build_rule(ctx, n.child("rule"), weight)
    veto, veto_label = (), ""
    if (v := n.child("veto", default=None)) is not None:
        veto = tuple(ctx.check_input(v, "inputs", i, ("flag",)) for i in v.take("inputs", list, check=list_of(str)))
        veto_label = v.take("label", str)
        v.done()
    na, na_label = None, ""
    if (v := n.child("not_applicable", default=None)) is not None:
        na = ctx.input_ref(v, "input", ("flag",))
        na_label = v.take("label", str)
        v.done()
    errata = _errata(n, {"name": name, "description": description, "criteria": criteria})
    n.done()
    used = list(dict.fromkeys(rule_inputs(rule) + list(veto) + ([na] if na else [])))
    _check_arguments(ctx, n, args, used)
    lv2 = l2[parent]
    return Indicator(iid, name, l1[lv2.parent], lv2, weight, func, description, criteria, tuple(args),
                     rule, veto, na, veto_label, na_label, errata)


def _errata(n, printed) -> tuple[Erratum, ...]:
    """Corrections of the printed wording; each must quote the printed text it corrects."""
    out = []
    for e in n.children("errata", default=[]):
        er = Erratum(e.take("field", str, check=one_of("name", "description", "criteria")),
                     e.take("printed", str), e.take("correct", str), e.take("note", str))
        if er.printed not in printed[er.field]:
            e.fail("printed", f"印刷原文 {er.printed!r} 不在该指标的 {er.field} 中：勘误应引用原文")
        e.done()
        out.append(er)
    return tuple(out)


def _check_arguments(ctx: Context, n, args, used):
    """The Excel function's argument list: declared inputs, each once, exactly those the rule uses, the ones with
    a default (omissible) last."""
    for a in args:
        ctx.check_input(n, "inputs", a)
    if len(set(args)) != len(args):
        n.fail("inputs", "参数列表中有重复的输入项")
    missing = [u for u in used if u not in args]
    extra = [a for a in args if a not in used]
    if missing:
        n.fail("inputs", f"评分规则用到了 {missing}，但它们不在该指标的参数列表 inputs 中")
    with_default = [ctx.inputs[a].default is not None for a in args]
    if any(d and not later for d, later in zip(with_default, with_default[1:])):
        n.fail("inputs", "有默认值的输入项（函数中可省略的参数）必须排在参数列表的最后")
    if extra:
        n.fail("inputs", f"参数列表中的 {extra} 未被评分规则使用")


def goal_table(r) -> GoalTable | None:
    g = r.child("goal_table", default=None)
    if g is None:
        return None
    title = g.take("title", str)
    cats = []
    for c in g.children("categories", name_key="level1"):
        cats.append((c.take("level1", str), tuple(c.take("level2", list, check=list_of(str)))))
        c.done()
    g.done()
    return GoalTable(title, tuple(cats))


def checks(ctx: Context, r) -> tuple[SanityCheck, ...]:
    out = []
    for c in r.children("checks", default=[], name_key="label"):
        out.append(SanityCheck(c.take("label", str), tuple(ctx.terms(c, "left")),
                               c.take("op", str, check=one_of("<=", ">=", "=")), tuple(ctx.terms(c, "right"))))
        c.done()
    return tuple(out)
