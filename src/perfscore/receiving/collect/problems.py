"""The problems behind an indicator's lost points, worded so that the same problem reads the same at every unit
(the 问题清单 sheet and the 汇总 memo group by these words).

The engine's reason says what one unit found (“政府采购执行率 89.44%，扣 0.11 分”); the problem is what the
criteria call it (“政府采购执行率低于 100%”). It is taken from the branch the rule took, never parsed out of the
reason: a band is named by its description (“75%≤固定资产利用率<90%”), a checklist by each item not met, a
composite by each part that lost points, a quarterly progress by the quarters behind schedule.

``problem_items(result, ir)`` -> ((problem, points lost), ...). The points add up to the indicator's deduction:
where they would not (a rule whose parts do not sum to its weight), the indicator's reason is the one problem.
"""
from __future__ import annotations

from perfscore.engine.numbers import fmt_num, fmt_pct_short, round_to
from perfscore.engine.rules import _below

EPS = 1e-9


def _deduction(reason: str) -> str:
    """The engine's reason without its verdict (“，扣 0.3 分”): a problem worded as the unit found it."""
    import re
    return re.sub(r"[，,]\s*扣\s*[0-9.]+\s*分$", "", reason.strip())


def _limit(m, x) -> str:
    return fmt_pct_short(x) if m.percent else fmt_num(x)


def _one(rule, branch: str, phrase: str, lost: float, vals) -> list[tuple[str, float]]:
    """The problems of one rule (an indicator's, or one part of a composite) that lost ``lost`` points."""
    fam = rule.family
    m = getattr(rule, "measure", None)
    if branch == "zero_denominator:zero" and m is not None:
        return [(f"{m.label}的分子和分母均为 0（按规定计 0 分）", lost)]
    if fam == "bands":
        band = next((b for b in rule.bands if b[3] == branch), None)
        if band is not None:
            desc = band[2] or ""
            label = desc if m.label in desc else f"{m.label}{desc}" if desc else f"{m.label}未达到满分档"
            return [(label, lost)]
    elif fam == "ratio_points":
        if branch == "zero_above":
            return [(f"{m.label}超过 {_limit(m, rule.zero_above)}（按规定得 0 分）", lost)]
        if branch == "ratio":
            return [(f"{m.label}低于 {_limit(m, rule.cap)}", lost)]
    elif fam == "linear_deduction" and branch == "deducted":
        side = "超出" if rule.direction == "above" else "低于"
        return [(f"{m.label}{side} {_limit(m, rule.threshold)}", lost)]
    elif fam == "step_deduction" and branch.startswith("steps:"):
        side = "低于" if rule.direction == "below" else "高于"
        return [(f"{m.label}{side}目标 {_limit(m, rule.target)}", lost)]
    elif fam == "per_item_penalty" and branch == "penalty":
        return [(rule.what, lost)]
    elif fam == "checklist" and branch == "partial":
        out = []
        try:
            for i, pts, label in rule.items:
                got = rule._round(vals[i])
                if got < pts - EPS:
                    out.append((f"“{label}”" + ("未满足" if got <= EPS else "未完全满足"), round_to(pts - got, 6)))
        except KeyError:   # an item's input did not parse: the reason as it is
            out = []
        if out and abs(sum(d for _, d in out) - lost) < 1e-6:
            return out
    elif fam == "tiered":
        return [(phrase, lost)]
    elif fam == "manual":
        return [(f"{rule.label}评定未得满分", lost)]
    elif fam == "quarterly_progress" and branch == "behind":
        try:
            behind = [label for (i, sched, _), label in zip(rule.quarters, rule.labels) if _below(vals[i], sched)]
        except KeyError:
            behind = []
        if behind:
            return [("、".join(behind) + "低于序时进度", lost)]
    return [(_deduction(phrase), lost)]


def problem_items(result, ir) -> tuple[tuple[str, float], ...]:
    """((problem, points lost), ...) for one indicator result of a scored case; () when it lost nothing."""
    lost = ir.deducted
    if lost is None or lost <= EPS:
        return ()
    ind = ir.indicator
    rule = ind.rule
    vals = result.inputs
    if ir.branch == "veto":
        items = [(ind.veto_label or _deduction(ir.reason), lost)]
    elif rule.family == "composite" and ir.parts and len(ir.parts) == len(rule.parts):
        items = []
        for (_, sub), part in zip(rule.parts, ir.parts):
            d = round_to(part.points - part.score, 6)
            if d > EPS:
                items += _one(sub, part.branch, part.reason, d, vals)
    else:
        items = _one(rule, ir.branch, _deduction(ir.reason), lost, vals)
    if not items or abs(sum(d for _, d in items) - lost) > 1e-6:
        items = [(_deduction(ir.reason), lost)]
    return tuple((label, round_to(d, 6)) for label, d in items)
