"""Cross-check: every figure a document states, against what the rules compute from its own inputs."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from perfscore.engine.case import Case
from perfscore.engine.scoring import CaseResult
from perfscore.errors import ZeroDenominator
from perfscore.engine.numbers import ParseError, fmt_num, fmt_pct, round_to, to_decimal


@dataclass(frozen=True, slots=True)
class Finding:
    ref: str
    label: str
    stated: str
    computed: str
    source: str
    message: str


def _precision(d: Decimal) -> int:
    return max(-d.as_tuple().exponent, 0)


def _label(result: CaseResult, kind: str, target: str) -> str:
    s = result.system
    if kind == "score":
        return f"{s.by_id[target].name} 得分"
    if kind in ("level1", "level2"):
        return f"{getattr(result, kind)[target].level.name} 小计"
    if kind == "rate":
        lv = result.level1.get(target) or result.level2.get(target)
        return f"{lv.level.name if lv else s.by_id[target].name} 得分率"
    if kind == "figure":
        return s.measures[target].label
    return {"total": "综合评分", "grade": "评分等级"}[kind]


def _computed(result: CaseResult, kind: str, target: str):
    """-> (value, is_percent, explanation) or (None, _, why not)."""
    if kind == "score":
        r = result.by_id(target)
        return r.score, False, r.reason if r.score is not None else r.error_detail
    if kind in ("level1", "level2"):
        return getattr(result, kind)[target].score, False, ""
    if kind == "rate":
        lv = result.level1.get(target) or result.level2.get(target)
        if lv is not None:
            return lv.rate, True, f"{fmt_num(lv.score) if lv.score is not None else '—'}/{fmt_num(lv.level.weight)}"
        r = result.by_id(target)
        return (None if r.score is None else r.score / r.weight), True, ""
    if kind == "figure":
        m = result.system.measures[target]
        missing = [i for i in m.inputs if i not in result.inputs]
        if missing:
            return None, True, f"缺少输入项 {'、'.join(result.system.inputs[i].name for i in missing)}"
        try:
            v = m.value(result.inputs)
        except ZeroDenominator as exc:
            return None, True, str(exc)
        return v, m.percent, m.formula(result.inputs)
    if kind == "total":
        return result.total, False, ""
    return result.grade, False, ""


MAX_OTHERS = 5  # other values of the same figure named in one finding


def _why_not(result: CaseResult, kind: str, target: str) -> str:
    """Why a subtotal, rate, total or grade has no value: the indicators under it that cannot be scored."""
    inds = result.indicators
    if kind in ("level1", "level2", "rate"):
        inds = [r for r in inds if target in (r.indicator.level1.id, r.indicator.level2.id, r.indicator.id)]
    bad = [r.indicator.name for r in inds if r.error is not None]
    if bad:
        return f"{'、'.join(bad[:5])}{'等' if len(bad) > 5 else ''} {len(bad)} 项指标无法计分"
    return "所需的指标得分不全"


def cross_check(case: Case, result: CaseResult) -> list[Finding]:
    """One finding per statement that disagrees with the rules. Statements repeated word for word (same ref,
    value and source) are one finding ("共 N 处"); each finding names at most MAX_OTHERS other values the
    document gives for the same figure, so the work and the output grow linearly with the statements."""
    digits = result.system.rounding_digits
    findings = []
    groups: dict = {}
    for s in case.stated:
        groups.setdefault((s.ref, str(s.value), s.source, s.note), []).append(s)
    values_by_ref: dict[str, dict] = {}
    for (ref, value, source, _), same in groups.items():
        values_by_ref.setdefault(ref, {}).setdefault(value, []).append((source, len(same)))
    for (_, _, _, _), same in groups.items():
        s = same[0]
        kind, target = s.kind, s.target
        label = _label(result, kind, target)
        source = s.source if len(same) == 1 else f"{s.source}，共 {len(same)} 处"
        value, percent, why = _computed(result, kind, target)
        if value is None:
            why = why or _why_not(result, kind, target)
            findings.append(Finding(s.ref, label, str(s.value), "无法计算", source,
                                    f"{label}：报告写 {s.value}（{source}），但无法按规则计算：{why}"))
            continue
        if kind == "grade":
            if str(s.value).strip() != value:
                findings.append(Finding(s.ref, label, str(s.value), value, source,
                                        f"{label}：报告写“{s.value}”（{source}），按计算总分 {fmt_num(result.total)} 应为“{value}”"))
            continue
        try:
            d, had_pct = to_decimal(s.value)
        except ParseError:
            findings.append(Finding(s.ref, label, str(s.value), "—", source, f"{label}：报告值 {s.value!r} 不是数字"))
            continue
        if percent:
            shown_value = value * 100 if had_pct else value
            places = _precision(d)
            computed_r = round_to(shown_value, places)
            same_value = Decimal(repr(computed_r)) == d
            computed_s = fmt_pct(value, places) if had_pct else fmt_num(value, places)
            stated_s = str(s.value)
        else:
            computed_r = round_to(value, digits)
            same_value = abs(computed_r - float(d)) < 10 ** -(digits + 3)
            computed_s, stated_s = fmt_num(value, digits), fmt_num(float(d), digits)
        if same_value:
            continue
        unit = "" if percent else " 分"
        msg = f"{label}：报告写 {stated_s}{unit}（{source}），按规则计算为 {computed_s}{unit}"
        if why:
            msg += f"（{why}）"
        others = [(v, srcs) for v, srcs in values_by_ref[s.ref].items() if v != str(s.value)]
        if others:
            shown = []
            for v, srcs in others[:MAX_OTHERS]:
                n = sum(c for _, c in srcs)
                shown.append(f"{v}（{srcs[0][0]}{f' 等 {n} 处' if n > 1 else ''}）")
            more = f" 等 {len(others)} 种写法" if len(others) > MAX_OTHERS else ""
            msg += "；报告另处写作 " + "、".join(shown) + more + "，前后矛盾"
        if s.note:
            msg += f"。{s.note}"
        findings.append(Finding(s.ref, label, stated_s, computed_s, source, msg))
    return findings
