"""Rule families: the scoring logic, with no numbers of its own.

Every indicator in a system file names a family and its parameters. ``compile_rule`` turns those parameters
(already validated by ``system.py``) into an object with ``points`` (its maximum), ``inputs`` (the input ids it
reads) and ``evaluate(values) -> Outcome``. Scores here are unrounded; the indicator rounds once, by the
system's rounding mode. Each Outcome carries the figures it computed and a short Chinese phrase saying what was
found, from which the engine builds the one-line reason ("政府采购执行率 95.15%，扣 0.05 分").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import PerfscoreError, ZeroDenominator
from .numbers import Interval, fmt_num, fmt_pct, fmt_pct_short

EPS = 1e-9  # scores are sums of a few products; anything this small is float noise


class Figure:
    """A computed figure worth quoting: 政府采购执行率 = 12560/13200 = 95.15%. Text is built only when asked for."""
    __slots__ = ("id", "label", "value", "percent", "_terms")

    def __init__(self, id, label, value, percent, terms=None):
        self.id, self.label, self.value, self.percent, self._terms = id, label, value, percent, terms

    @property
    def display(self) -> str:
        if math.isinf(self.value):
            return "无法计算（分母为 0）"
        return fmt_pct(self.value) if self.percent else fmt_num(self.value)

    @property
    def formula(self) -> str:
        """'12560/13200', '3/(3+20)', '(105-100)/200'; '' for a figure taken directly from one input."""
        if not self._terms or not self._terms[1]:
            return ""
        num, den = self._terms
        return f"{_terms(num, len(num) > 1)}/{_terms(den, len(den) > 1)}"

    def __repr__(self):
        return f"Figure({self.id!r}, {self.label!r}, {self.value!r})"


@dataclass(slots=True)
class Outcome:
    score: float
    phrase: str               # what was found, without the verdict: "政府采购执行率 95.15%"
    branch: str               # machine-readable branch taken: "band:[0.9,inf)", "capped", "zero_above", …
    figures: tuple = ()
    parts: tuple = ()         # for composite: tuple[PartOutcome]


@dataclass(slots=True)
class PartOutcome:
    name: str
    points: float
    outcome: Outcome


# ---------------------------------------------------------------------------------------------- measures
class Measure:
    """A figure computed from inputs: a ratio of signed sums, or one rate input taken as it is."""
    __slots__ = ("id", "label", "percent", "num", "den", "domain_min")

    def __init__(self, id, label, num, den, percent=True, domain_min=0.0):
        self.id, self.label, self.percent = id, label, percent
        self.num, self.den = tuple(num), tuple(den)  # tuples of (input_id, sign)
        self.domain_min = domain_min

    @property
    def inputs(self):
        return [i for i, _ in self.num] + [i for i, _ in self.den]

    def value(self, vals) -> float:
        n = 0.0
        for i, s in self.num:
            n += s * vals[i]
        if not self.den:
            return n
        d = 0.0
        for i, s in self.den:
            d += s * vals[i]
        if d == 0:
            if abs(n) < EPS:
                raise ZeroDenominator(self.label)
            return math.copysign(math.inf, n)
        return n / d

    def figure(self, vals, value) -> Figure:
        return Figure(self.id, self.label, value, self.percent,
                      (tuple((vals[i], sg) for i, sg in self.num), tuple((vals[i], sg) for i, sg in self.den)))

    def formula(self, vals) -> str:
        return self.figure(vals, 0.0).formula


def _terms(terms, paren=False):
    out = ""
    for k, (v, s) in enumerate(terms):
        v = fmt_num(v)
        out += (v if k == 0 and s > 0 else ("+" if s > 0 else "-") + v)
    return f"({out})" if paren else out


# ---------------------------------------------------------------------------------------------- families
class Rule:
    __slots__ = ("points", "inputs")
    family = ""

    def evaluate(self, vals) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError


class _MeasureRule(Rule):
    """Shared by the families that score one measure; handles the zero-denominator policy."""
    __slots__ = ("measure", "zero_denominator")

    def _measure(self, vals):
        m = self.measure
        try:
            v = m.value(vals)
            if v < m.domain_min:  # e.g. 因公出国费 larger than all “三公”经费: the inputs contradict each other
                fig = m.figure(vals, v)
                raise PerfscoreError(f"「{m.label}」按 {fig.formula} 计算为 {fig.display}，小于合理下限"
                                     f" {fmt_num(m.domain_min)}：请核对参与计算的各项数据")
            return v, m.figure(vals, v), None
        except ZeroDenominator:
            policy = self.zero_denominator
            if policy == "full":
                return None, None, Outcome(self.points, f"{m.label}分母为 0（本年度未发生），按不适用计满分",
                                     "zero_denominator:full")
            if policy == "zero":
                return None, None, Outcome(0.0, f"{m.label}分母为 0，按规定计 0 分", "zero_denominator:zero")
            raise

    # ---- native formula (Excel-formula workbook, see native.py): the zero-denominator policy and domain guard
    def _native_measure(self, nx):
        """-> (MeasureX, guards, wrap) where wrap(normal, inf, policy_full, policy_zero) picks the branch."""
        from . import native as N
        m = self.measure
        mx = nx.measure(m)
        guards = []
        if mx.den is None:
            if math.isfinite(m.domain_min):
                guards.append((mx.num < m.domain_min, f"「{m.label}」小于合理下限 {fmt_num(m.domain_min)}：请核对该数据"))
            return mx, guards, lambda normal, inf, full, zero: normal
        if self.zero_denominator == "error":
            guards.append((N.AND(mx.den.eq(0), mx.num.eq(0)), str(ZeroDenominator(m.label))))
        if math.isfinite(m.domain_min):
            guards.append((N.IF(mx.den.eq(0), mx.num < 0, mx.cmp < m.domain_min),
                           f"「{m.label}」计算结果小于合理下限 {fmt_num(m.domain_min)}：请核对参与计算的各项数据"))
        policy = self.zero_denominator

        def wrap(normal, inf, full, zero):
            # policy "error": a guard has already answered with a message; this branch is never taken
            at_zero = {"full": full, "zero": zero}.get(policy, "" if isinstance(full, str) else 0)
            return N.IF(mx.den.eq(0), N.IF(mx.num.eq(0), at_zero, inf), normal)
        return mx, guards, wrap

    def _native_zero_phrases(self):
        label = self.measure.label
        return f"{label}分母为 0（本年度未发生），按不适用计满分", f"{label}分母为 0，按规定计 0 分"

    def _native_display(self, nx, mx):
        return nx.pct(mx.cmp) if self.measure.percent else nx.num(mx.cmp)


class Bands(_MeasureRule):
    """Points by the band the measure falls in. Band points may be absolute or a share of the weight."""
    __slots__ = ("bands",)  # tuple of (Interval, points, description, branch key), prepared at load time
    family = "bands"

    def evaluate(self, vals):
        v, fig, early = self._measure(vals)
        if early:
            return early
        m = self.measure
        for iv, pts, desc, key in self.bands:
            if v in iv:
                return Outcome(pts, f"{m.label} {fig.display}（{desc}）", key, (fig,))
        raise AssertionError("bands validated to cover the domain")  # pragma: no cover

    def native(self, nx):
        from . import native as N
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        inf_band = next((b for b in self.bands if math.isinf(b[0].hi)), self.bands[-1])
        score = wrap(N.chain(mx.cmp, [(iv, pts) for iv, pts, _, _ in self.bands], m.domain_min), inf_band[1],
                     self.points, 0)
        full, zero = self._native_zero_phrases()
        phrase = wrap(N.CAT(f"{m.label} ", self._native_display(nx, mx), "（",
                            N.chain(mx.cmp, [(iv, desc) for iv, _, desc, _ in self.bands], m.domain_min), "）"),
                      f"{m.label} 无法计算（分母为 0）（{inf_band[2]}）", full, zero)
        return N.NativeRule(guards, score, phrase)


def _iv_key(iv: Interval) -> str:
    return f"{'[' if iv.lo_closed else '('}{iv.lo:g},{iv.hi:g}{']' if iv.hi_closed else ')'}"


class RatioPoints(_MeasureRule):
    """score = min(ratio, cap) × points; 0 when ratio exceeds ``zero_above`` (e.g. 实际采购 > 计划)."""
    __slots__ = ("cap", "zero_above")
    family = "ratio_points"

    def evaluate(self, vals):
        v, fig, early = self._measure(vals)
        if early:
            return early
        m = self.measure
        if self.zero_above is not None and v > self.zero_above:
            lim = fmt_pct_short(self.zero_above) if m.percent else fmt_num(self.zero_above)
            return Outcome(0.0, f"{m.label} {fig.display}，超过 {lim}，按规定得 0 分", "zero_above", (fig,))
        r = min(max(v, 0.0), self.cap)
        return Outcome(r * self.points, f"{m.label} {fig.display}", "capped" if v > self.cap else "ratio", (fig,))

    def native(self, nx):
        from . import native as N
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        plain = N.MIN(N.MAX(mx.raw, 0), self.cap) * self.points
        shown = N.CAT(f"{m.label} ", self._native_display(nx, mx))
        if self.zero_above is not None:
            lim = fmt_pct_short(self.zero_above) if m.percent else fmt_num(self.zero_above)
            over = f"，超过 {lim}，按规定得 0 分"
            normal, normal_phrase = N.IF(mx.cmp > self.zero_above, 0, plain), N.CAT(shown, N.IF(mx.cmp > self.zero_above, over, ""))
            inf, inf_phrase = 0, f"{m.label} 无法计算（分母为 0）{over}"
        else:
            normal, normal_phrase = plain, shown
            inf, inf_phrase = self.cap * self.points, f"{m.label} 无法计算（分母为 0）"
        full, zero = self._native_zero_phrases()
        return N.NativeRule(guards, wrap(normal, inf, self.points, 0), wrap(normal_phrase, inf_phrase, full, zero))


class LinearDeduction(_MeasureRule):
    """Full points up to a threshold; beyond it, ``per_point`` deducted per percentage point, down to ``floor``."""
    __slots__ = ("threshold", "per_point", "direction", "floor")
    family = "linear_deduction"

    def evaluate(self, vals):
        v, fig, early = self._measure(vals)
        if early:
            return early
        m = self.measure
        over = (v - self.threshold) if self.direction == "above" else (self.threshold - v)
        lim = fmt_pct_short(self.threshold)
        if over <= EPS:
            side = "未超过" if self.direction == "above" else "不低于"
            return Outcome(self.points, f"{m.label} {fig.display}，{side} {lim}", "within", (fig,))
        pp = over * 100
        side = "超出" if self.direction == "above" else "低于"
        if math.isinf(pp):  # a positive amount over a zero base: as far beyond the threshold as it gets
            return Outcome(self.floor, f"{m.label}{fig.display}（{fig.formula}），按超出处理", "deducted", (fig,))
        score = max(self.points - pp * self.per_point, self.floor)
        return Outcome(score, f"{m.label} {fig.display}，{side} {lim} {fmt_num(pp)} 个百分点", "deducted", (fig,))

    def native(self, nx):
        from . import native as N
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        over = (mx.cmp - self.threshold) if self.direction == "above" else (self.threshold - mx.cmp)
        pp = N.ROUND(over * 100, 10)
        lim = fmt_pct_short(self.threshold)
        side_in, side_out = ("未超过", "超出") if self.direction == "above" else ("不低于", "低于")
        shown = N.CAT(f"{m.label} ", self._native_display(nx, mx))
        normal = N.IF(over <= 0, self.points, N.MAX(self.points - pp * self.per_point, self.floor))
        phrase = N.IF(over <= 0, N.CAT(shown, f"，{side_in} {lim}"),
                      N.CAT(shown, f"，{side_out} {lim} ", nx.num(pp), " 个百分点"))
        full, zero = self._native_zero_phrases()
        return N.NativeRule(guards, wrap(normal, self.floor, self.points, 0),
                            wrap(phrase, f"{m.label}无法计算（分母为 0），按超出处理", full, zero))


class StepDeduction(_MeasureRule):
    """Deduct ``deduction`` for every full ``step`` of shortfall below (or excess above) a target."""
    __slots__ = ("target", "step", "deduction", "direction", "floor")
    family = "step_deduction"

    def evaluate(self, vals):
        v, fig, early = self._measure(vals)
        if early:
            return early
        m = self.measure
        gap = (self.target - v) if self.direction == "below" else (v - self.target)
        if gap <= EPS:
            return Outcome(self.points, f"{m.label} {fig.display}，达到 {fmt_pct_short(self.target)}", "met", (fig,))
        steps = math.inf if math.isinf(gap) else math.floor(gap / self.step + EPS)
        score = max(self.points - steps * self.deduction, self.floor)
        word = "低于" if self.direction == "below" else "高于"
        return Outcome(score, f"{m.label} {fig.display}，{word}目标 {fmt_pct_short(self.target)}，"
                              f"每满 {fmt_pct_short(self.step)} 为一档，计 {steps if not math.isinf(steps) else '∞'} 档",
                       f"steps:{steps}", (fig,))

    def native(self, nx):
        from . import native as N
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        gap = (self.target - mx.cmp) if self.direction == "below" else (mx.cmp - self.target)
        steps = N.INT(N.ROUND(gap / self.step, 10))
        normal = N.IF(gap <= 0, self.points, N.MAX(self.points - steps * self.deduction, self.floor))
        shown = N.CAT(f"{m.label} ", self._native_display(nx, mx))
        word = "低于" if self.direction == "below" else "高于"
        phrase = N.IF(gap <= 0, N.CAT(shown, f"，达到 {fmt_pct_short(self.target)}"),
                      N.CAT(shown, f"，{word}目标 {fmt_pct_short(self.target)}，每满 {fmt_pct_short(self.step)} 为一档，计 ",
                            steps, " 档"))
        full, zero = self._native_zero_phrases()
        return N.NativeRule(guards, wrap(normal, self.floor, self.points, 0),
                            wrap(phrase, f"{m.label}无法计算（分母为 0），按超出处理", full, zero))


class PerItemPenalty(Rule):
    """points − per_item × count, not below floor (−4 per unfinished key task)."""
    __slots__ = ("input", "per_item", "floor", "what", "unit")
    family = "per_item_penalty"

    def evaluate(self, vals):
        n = vals[self.input]
        score = max(self.points - n * self.per_item, self.floor)
        return Outcome(score, f"{self.what} {fmt_num(n)} {self.unit}", "penalty" if n else "none",
                       (Figure(self.input, self.what, n, False),))

    def native(self, nx):
        from . import native as N
        n = nx.val(self.input)
        return N.NativeRule([], N.MAX(self.points - n * self.per_item, self.floor),
                            N.CAT(f"{self.what} ", n, f" {self.unit}"))


class Checklist(Rule):
    """Items each worth some points; each judged 是/否 or given fractional points."""
    __slots__ = ("items",)  # tuple of (input_id, points, label)
    family = "checklist"

    def evaluate(self, vals):
        total, short = 0.0, []
        for k, (i, pts, label) in enumerate(self.items, 1):
            got = vals[i]
            total += got
            if got < pts - EPS:
                short.append(f"第{k}项“{label}”" + ("未满足" if got <= EPS else f"得 {fmt_num(got)}/{fmt_num(pts)} 分"))
        if not short:
            return Outcome(total, f"{len(self.items)} 项均满足", "all_met")
        return Outcome(total, "；".join(short), "partial")

    def native(self, nx):
        from . import native as N
        vals = [(nx.val(i), pts, label) for i, pts, label in self.items]
        score = N.SUM(*[nx.round(v) for v, _, _ in vals])
        short = [N.IF(v < pts, N.CAT(f"；第{k}项“{label}”",
                                     N.IF(v <= 0, "未满足", N.CAT("得 ", nx.num(v), f"/{fmt_num(pts)} 分"))), "")
                 for k, (v, pts, label) in enumerate(vals, 1)]
        all_met = N.AND(*[v >= pts for v, pts, _ in vals]) if len(vals) > 1 else vals[0][0] >= vals[0][1]
        phrase = N.IF(all_met, f"{len(vals)} 项均满足", N.fn("MID", N.CAT(*short), 2, 4000))
        return N.NativeRule([], score, phrase)


class Tiered(Rule):
    """One of several declared tiers (按规定公开 1.5 / 有缺陷 1 / 未公开 0)."""
    __slots__ = ("input", "options", "label")  # options: dict label -> points
    family = "tiered"

    def evaluate(self, vals):
        choice = vals[self.input]
        return Outcome(self.options[choice], f"{self.label}：{choice}", f"tier:{choice}")

    def native(self, nx):
        from . import native as N
        idx = nx.val(self.input)
        return N.NativeRule([], N.fn("CHOOSE", idx, *self.options.values()),
                            N.CAT(f"{self.label}：", N.fn("CHOOSE", idx, *self.options)))


class Manual(Rule):
    """A judged score between 0 and the maximum (效果性 25 分)."""
    __slots__ = ("input", "label")
    family = "manual"

    def evaluate(self, vals):
        v = vals[self.input]
        return Outcome(v, f"{self.label}评定 {fmt_num(v)} 分（满分 {fmt_num(self.points)} 分）", "judged")

    def native(self, nx):
        from . import native as N
        v = nx.val(self.input)
        return N.NativeRule([], v, N.CAT(f"{self.label}评定 ", nx.num(v), f" 分（满分 {fmt_num(self.points)} 分）"))


class QuarterlyProgress(Rule):
    """Σ min(进度/序时进度, cap) × points per quarter + average of those ratios × average_points."""
    __slots__ = ("quarters", "average_points", "cap", "labels")  # quarters: tuple of (input, schedule, points)
    family = "quarterly_progress"

    def evaluate(self, vals):
        total, ratios, behind, figs = 0.0, [], [], []
        for (i, sched, pts), label in zip(self.quarters, self.labels):
            v = vals[i]
            r = min(v / sched, self.cap)
            ratios.append(r)
            total += r * pts
            figs.append(Figure(i, label, v, True))
            if v < sched - EPS:
                behind.append(f"{label} {fmt_pct(v)}，低于序时进度 {fmt_pct_short(sched)}")
        avg = sum(ratios) / len(ratios)
        total += avg * self.average_points
        figs.append(Figure("average_execution", "全年平均执行率", avg, True))
        if not behind:
            return Outcome(total, "各季度支出进度均达到序时进度", "on_schedule", tuple(figs))
        return Outcome(total, "；".join(behind) + f"（全年平均执行率 {fmt_pct(avg)}）", "behind", tuple(figs))

    def native(self, nx):
        from . import native as N
        ratios, behind, total = [], [], None
        for (i, sched, pts), label in zip(self.quarters, self.labels):
            v = nx.val(i)
            r = N.MIN(v / sched, self.cap)
            ratios.append(r)
            total = r * pts if total is None else total + r * pts
            behind.append(N.IF(v < sched, N.CAT(f"；{label} ", nx.pct(v), f"，低于序时进度 {fmt_pct_short(sched)}"), ""))
        avg = N.SUM(*ratios) / len(ratios)
        total = total + avg * self.average_points
        on = N.AND(*[nx.val(i) >= sched for i, sched, _ in self.quarters])
        phrase = N.IF(on, "各季度支出进度均达到序时进度",
                      N.CAT(N.fn("MID", N.CAT(*behind), 2, 4000), "（全年平均执行率 ", nx.pct(avg), "）"))
        return N.NativeRule([], total, phrase)


class Composite(Rule):
    """Sum of parts, each a rule with its own points."""
    __slots__ = ("parts",)  # tuple of (name, Rule)
    family = "composite"

    def evaluate(self, vals):
        outs = tuple(PartOutcome(name, r.points, r.evaluate(vals)) for name, r in self.parts)
        score = sum(p.outcome.score for p in outs)
        figs = tuple(f for p in outs for f in p.outcome.figures)
        phrase = "；".join(p.outcome.phrase for p in outs)
        return Outcome(score, phrase, "composite", figs, outs)

    def native(self, nx):
        """Sum of the parts' scores, each rounded first; the parts' guards in order; phrases joined."""
        from . import native as N
        parts = tuple((name, r.points, r.native(nx)) for name, r in self.parts)
        guards = [g for _, _, p in parts for g in p.guards]
        score = N.SUM(*[nx.round(p.score) for _, _, p in parts])
        phrase = N.CAT(*[x for k, (_, _, p) in enumerate(parts) for x in ((("；",) if k else ()) + (p.phrase,))])
        return N.NativeRule(guards, score, phrase, parts)


FAMILIES = {c.family: c for c in (Bands, RatioPoints, LinearDeduction, StepDeduction, PerItemPenalty, Checklist,
                                    Tiered, Manual, QuarterlyProgress, Composite)}
