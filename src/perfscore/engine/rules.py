"""Rule families: the scoring logic, with no numbers of its own.

Every indicator in a system file names a family and its parameters. ``perfscore.engine.reading.families`` reads
and validates those parameters into an object with ``points`` (its maximum), ``inputs`` (the input ids it
reads) and ``evaluate(values) -> Outcome``. Scores here are unrounded; the indicator rounds once, by the
system's rounding mode. Each Outcome carries the figures it computed and a short Chinese phrase saying what was
found, from which the engine builds the one-line reason ("政府采购执行率 95.15%，扣 0.05 分").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from perfscore.errors import PerfscoreError, ZeroDenominator
from perfscore.engine import formula as N
from perfscore.engine.numbers import Interval, fmt_num, fmt_pct, fmt_pct_short

EPS = 1e-9  # scores are sums of a few products; anything this small is float noise
# Relative bound on the float error of a measure: inputs are the doubles nearest to decimal amounts (error ≤ u·|x|,
# u = 2⁻⁵³ ≈ 1.1e-16), a sum of k terms adds at most k·u·Σ|terms|, the division one more u. For any measure with
# fewer than 1,000 terms that is far below 1e-12 of the magnitudes involved; a float comparison whose margin exceeds
# this bound therefore decides exactly as the decimal values would, and closer calls are settled in exact fractions.
_SLACK = 1e-12


@lru_cache(maxsize=4096)
def exact(x: float) -> Fraction:
    """The decimal a double stands for (the shortest repr: 8911731.87, 0.9), as an exact fraction."""
    return Fraction(repr(x))


def cmp_exact(mv: "MeasureValue", edge: float) -> int:
    """sign(true value − edge), decided exactly (see _SLACK)."""
    d = mv.v - edge
    if d > mv.slack:
        return 1
    if d < -mv.slack:
        return -1
    if math.isinf(mv.v):
        return 1 if mv.v > 0 else -1
    x, e = mv.exact(), exact(edge)
    return (x > e) - (x < e)


def floor_exact(mv: "MeasureValue", base: float, step: float, sign: int = 1, ceil: bool = False) -> float:
    """floor (or ceil) of sign·(value − base)/step, decided exactly near whole numbers."""
    q = sign * (mv.v - base) / step
    if math.isinf(q):
        return q
    k = math.ceil(q) if ceil else math.floor(q)
    near = round(q)
    if abs(q - near) > (mv.slack + _SLACK * (abs(base) + abs(mv.v))) / step + 1e-15:
        return float(k)
    x = sign * (mv.exact() - exact(base)) / exact(step)
    return float(math.ceil(x) if ceil else math.floor(x))


def show_digits(mv: "MeasureValue", edges, percent: bool) -> int:
    """Enough decimals that a figure lying off an edge is not printed as the edge itself
    (89.995% is not shown as “90.00%（<90%）”); 2 decimals otherwise."""
    digits = 2
    if math.isinf(mv.v):
        return digits
    scale = 100 if percent else 1
    for e in edges:
        if e is None or math.isinf(e) or abs(mv.v - e) * scale > 0.01:
            continue
        if cmp_exact(mv, e) == 0:
            continue
        x, es = mv.exact() * scale, exact(e) * scale
        while digits < 8 and _round_exact(x, digits) == es:
            digits += 1
    return digits


def _fixed(x: Fraction, digits: int) -> str:
    """A fraction with a terminating expansion of ``digits`` decimals, written out: 89.9999999."""
    q = 10 ** digits
    n = abs(x.numerator * q // x.denominator)
    return f"{'-' if x < 0 else ''}{n // q}.{n % q:0{digits}d}"


def _round_exact(x: Fraction, digits: int) -> Fraction:
    q = 10 ** digits
    return Fraction(math.floor(abs(x) * q + Fraction(1, 2)), q) * (1 if x >= 0 else -1)


class Figure:
    """A computed figure worth quoting: 政府采购执行率 = 12560/13200 = 95.15%. Text is built only when asked for."""
    __slots__ = ("id", "label", "value", "percent", "_terms", "digits", "_exact")

    def __init__(self, id, label, value, percent, terms=None, digits=2, exact_value=None):
        self.id, self.label, self.value, self.percent, self._terms = id, label, value, percent, terms
        self.digits, self._exact = digits, exact_value

    @property
    def display(self) -> str:
        if math.isinf(self.value):
            return "无法计算（分母为 0）"
        if self.digits > 2 and self._exact is not None:  # shown beside an edge: the exact decimals
            x = _round_exact(self._exact * (100 if self.percent else 1), self.digits)
            return _fixed(x, self.digits) + ("%" if self.percent else "")
        if self.percent:
            return fmt_pct(self.value, self.digits)
        return fmt_num(self.value, self.digits)

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
class MeasureValue:
    """A measure's value as a double, how far that double may lie from the decimal truth, and the truth itself
    (an exact fraction, computed only when a comparison is too close to call in floating point)."""
    __slots__ = ("v", "slack", "_m", "_vals", "_x")

    def __init__(self, v, slack, m, vals, x=None):
        self.v, self.slack, self._m, self._vals, self._x = v, slack, m, vals, x

    def exact(self) -> Fraction:
        if self._x is None:
            self._x = self._m.exact_value(self._vals)
        return self._x


class Measure:
    """A figure computed from inputs: a ratio of signed sums, or one rate input taken as it is.

    ``exclude`` lists inputs subtracted from the numerator by a declared reading (with its ``basis``);
    ``max`` is the largest value the measure can take when the inputs are consistent (1 for a share such as
    在用/全部): above it, or a positive numerator over a zero denominator, the inputs contradict each other.
    ``printed_digits`` (system option compare = "as_printed") compares the value as printed, rounded half up.
    """
    __slots__ = ("id", "label", "percent", "num", "den", "domain_min", "max", "exclude", "basis", "names",
                 "printed_digits")

    def __init__(self, id, label, num, den, percent=True, domain_min=0.0, max=None, exclude=(), basis="",
                 names=None, printed_digits=None):
        self.id, self.label, self.percent = id, label, percent
        self.num, self.den = tuple(num), tuple(den)  # tuples of (input_id, sign)
        self.domain_min, self.max = domain_min, max
        self.exclude, self.basis = tuple(exclude), basis
        self.names = names or {}
        self.printed_digits = printed_digits

    @property
    def inputs(self):
        return list(dict.fromkeys([i for i, _ in self.num] + [i for i, _ in self.den]))

    @property
    def note(self) -> str:
        """The declared reading, for the reason: “已扣除因公出国境费决算数（深财预〔2019〕177号）”."""
        if not self.exclude:
            return ""
        what = "、".join(self.names.get(i, i) for i in self.exclude)
        return f"已扣除{what}" + (f"，依据{self.basis}" if self.basis else "")

    def _names(self, terms) -> str:
        return "、".join(f"「{self.names.get(i, i)}」" for i, _ in terms)

    def value(self, vals) -> float:
        return self.evaluate(vals).v

    def exact_value(self, vals) -> Fraction:
        n = sum(s * exact(vals[i]) for i, s in self.num)
        if not self.den:
            return n
        return n / sum(s * exact(vals[i]) for i, s in self.den)

    def evaluate(self, vals) -> MeasureValue:
        n = an = 0.0
        for i, s in self.num:
            x = vals[i]
            n += s * x
            an += abs(x)
        if not self.den:
            mv = MeasureValue(n, _SLACK * an, self, vals)
        else:
            d = ad = 0.0
            for i, s in self.den:
                x = vals[i]
                d += s * x
                ad += abs(x)
            if abs(d) <= _SLACK * ad:  # zero, or float noise around zero: decide on the decimals
                dx = sum(s * exact(vals[i]) for i, s in self.den)
                if dx == 0:
                    nx = sum(s * exact(vals[i]) for i, s in self.num)
                    if nx == 0:
                        raise ZeroDenominator(self.label)
                    if self.max is not None:
                        raise PerfscoreError(f"数据矛盾：{self._names(self.den)}为 0，而{self._names(self.num)}为"
                                             f" {fmt_num(float(nx))}，{self.label}无法计算：请核对这几项数据")
                    v = math.copysign(math.inf, nx)
                    return self._checked(MeasureValue(v, 0.0, self, vals))
            v = n / d
            mv = MeasureValue(v, _SLACK * (an + abs(v) * ad) / abs(d) + _SLACK * abs(v), self, vals)
        if self.printed_digits is not None:
            scale = 100 if self.percent else 1
            r = _round_exact(mv.exact() * scale, self.printed_digits) / scale
            mv = MeasureValue(float(r), 0.0, self, vals, r)
        return self._checked(mv)

    def _checked(self, mv):
        if self.max is not None and cmp_exact(mv, self.max) > 0:
            lim = fmt_pct_short(self.max) if self.percent else fmt_num(self.max)
            fig = self.figure(mv._vals, mv.v)
            raise PerfscoreError(f"数据矛盾：{self.label}按 {fig.formula} 计算为 {fig.display}，超过 {lim}"
                                 f"（{self._names(self.num)}不应大于{self._names(self.den)}）：请核对这几项数据")
        return mv

    def figure(self, vals, value, digits=2) -> Figure:
        return Figure(self.id, self.label, value, self.percent,
                      (tuple((vals[i], sg) for i, sg in self.num), tuple((vals[i], sg) for i, sg in self.den)),
                      digits)

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
    __slots__ = ("points", "inputs", "rounder")
    family = ""

    def evaluate(self, vals) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def _round(self, x: float) -> float:
        """The system's rounding, for scores a reason states separately (parts, checklist items)."""
        return self.rounder(x)


def _in_band(mv: MeasureValue, iv: Interval) -> bool:
    if not math.isinf(iv.lo):
        c = cmp_exact(mv, iv.lo)
        if c < 0 or (c == 0 and not iv.lo_closed):
            return False
    if not math.isinf(iv.hi):
        c = cmp_exact(mv, iv.hi)
        if c > 0 or (c == 0 and not iv.hi_closed):
            return False
    return True


class _MeasureRule(Rule):
    """Shared by the families that score one measure; handles the zero-denominator policy."""
    __slots__ = ("measure", "zero_denominator")

    def _measure(self, vals):
        m = self.measure
        try:
            mv = m.evaluate(vals)
            if mv.v < m.domain_min:  # e.g. 因公出国费 larger than all “三公”经费: the inputs contradict each other
                fig = m.figure(vals, mv.v)
                raise PerfscoreError(f"「{m.label}」按 {fig.formula} 计算为 {fig.display}，小于合理下限"
                                     f" {fmt_num(m.domain_min)}：请核对参与计算的各项数据")
            return mv, None
        except ZeroDenominator:
            policy = self.zero_denominator
            if policy == "full":
                return None, Outcome(self.points, f"{m.label}的分子和分母均为 0，按不适用计满分",
                                     "zero_denominator:full")
            if policy == "zero":
                return None, Outcome(0.0, f"{m.label}的分子和分母均为 0，按规定计 0 分", "zero_denominator:zero")
            raise

    def _figure(self, vals, mv, edges=()):
        m = self.measure
        digits = show_digits(mv, edges, m.percent)
        fig = m.figure(vals, mv.v, digits)
        if digits > 2:
            fig._exact = mv.exact()
        return fig

    def _say(self, fig, rest="", desc=""):
        """“政府采购执行率 95.15%” + the band found + the declared reading where the measure has one:
        “三公”经费控制率 (161226-155385)/55100 = 10.60%（<90%；已扣除因公出国境费决算数，依据深财预〔2019〕177号）."""
        m = self.measure
        paren = "；".join(x for x in (desc, m.note) if x)
        shown = f"{fig.formula} = {fig.display}" if m.note and fig.formula else fig.display
        return f"{m.label} {shown}" + (f"（{paren}）" if paren else "") + rest

    # ---- native formula (Excel-formula workbook; the language: formula.py): zero denominator, maximum and domain guards
    def _native_measure(self, nx):
        """-> (MeasureX, guards, wrap) where wrap(normal, inf, policy_full, policy_zero) picks the branch the
        denominator calls for; guards are the messages Measure.evaluate / _measure raise, in the same order."""
        m = self.measure
        mx = nx.measure(m)
        guards = []
        if mx.den is None:
            if m.max is not None:
                guards.append((mx.cmp > m.max, self._native_over_max(nx)))
            if math.isfinite(m.domain_min):
                guards.append((mx.cmp < m.domain_min, f"「{m.label}」小于合理下限 {fmt_num(m.domain_min)}：请核对该数据"))
            return mx, guards, lambda normal, inf, full, zero, neg=None: normal
        if self.zero_denominator == "error":
            guards.append((N.AND(mx.den.eq(0), mx.num.eq(0)), str(ZeroDenominator(m.label))))
        if m.max is not None:
            guards.append((N.IF(mx.den.eq(0), mx.num.ne(0), mx.cmp > m.max),
                           N.IF(mx.den.eq(0), f"数据矛盾：{m._names(m.den)}为 0，而{m._names(m.num)}不为 0，"
                                              f"{m.label}无法计算：请核对这几项数据", self._native_over_max(nx))))
        if math.isfinite(m.domain_min):
            guards.append((N.IF(mx.den.eq(0), mx.num < 0, mx.cmp < m.domain_min),
                           f"「{m.label}」计算结果小于合理下限 {fmt_num(m.domain_min)}：请核对参与计算的各项数据"))
        policy = self.zero_denominator
        negative_possible = m.max is None and not math.isfinite(m.domain_min)

        def wrap(normal, inf, full, zero, neg=None):
            """Over a zero denominator: 0/0 by the policy; a positive numerator as +∞ (``inf``), a negative one
            as −∞ (``neg``; only reachable when no guard answers first)."""
            # policy "error": a guard has already answered with a message; this branch is never taken
            at_zero = {"full": full, "zero": zero}.get(policy, "" if isinstance(full, str) else 0)
            infinite = N.IF(mx.num > 0, inf, neg) if negative_possible and neg is not None else inf
            return N.IF(mx.den.eq(0), N.IF(mx.num.eq(0), at_zero, infinite), normal)
        return mx, guards, wrap

    def _native_over_max(self, nx):
        m = self.measure
        lim = fmt_pct_short(m.max) if m.percent else fmt_num(m.max)
        return N.CAT(f"数据矛盾：{m.label}按 ", nx.formula_text(m), " 计算为 ", self._native_display(nx, nx.measure(m)),
                     f"，超过 {lim}（{m._names(m.num)}不应大于{m._names(m.den)}）：请核对这几项数据")

    def _native_zero_phrases(self):
        label = self.measure.label
        return f"{label}的分子和分母均为 0，按不适用计满分", f"{label}的分子和分母均为 0，按规定计 0 分"

    def _native_display(self, nx, mx):
        return nx.pct(mx.cmp) if self.measure.percent else nx.num(mx.cmp)

    def _native_say(self, nx, mx, rest="", desc=None):
        """As _say: label, the figure (with its formula when the measure declares a reading), the band and the
        reading in brackets, then ``rest``."""
        m = self.measure
        shown = self._native_display(nx, mx)
        if m.note and m.den:
            shown = N.CAT(nx.formula_text(m), " = ", shown)
        paren = [x for x in (desc, m.note) if x is not None and x != ""]
        inner = []
        for k, x in enumerate(paren):
            inner += (["；"] if k else []) + [x]
        return N.CAT(f"{m.label} ", shown, *((["（"] + inner + ["）"]) if inner else []), *([rest] if rest else []))

    def _native_value(self, mx):
        """The value scores are computed from: the float quotient as Python computes it, or the printed value."""
        return mx.cmp if self.measure.printed_digits is not None else mx.raw


class Bands(_MeasureRule):
    """Points by the band the measure falls in. Band points may be absolute or a share of the weight."""
    __slots__ = ("bands",)  # tuple of (Interval, points, description, branch key), prepared at load time
    family = "bands"

    def evaluate(self, vals):
        mv, early = self._measure(vals)
        if early:
            return early
        for iv, pts, desc, key in self.bands:
            if _in_band(mv, iv):
                fig = self._figure(vals, mv, (iv.lo, iv.hi))
                return Outcome(pts, self._say(fig, desc=desc), key, (fig,))
        raise AssertionError("bands validated to cover the domain")  # pragma: no cover

    def native(self, nx):
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        inf_band = next((b for b in self.bands if math.isinf(b[0].hi)), self.bands[-1])
        neg_band = next((b for b in self.bands if math.isinf(b[0].lo)), self.bands[0])
        score = wrap(N.chain(mx.cmp, [(iv, pts) for iv, pts, _, _ in self.bands], m.domain_min), inf_band[1],
                     self.points, 0, neg_band[1])
        full, zero = self._native_zero_phrases()
        desc = N.chain(mx.cmp, [(iv, d) for iv, _, d, _ in self.bands], m.domain_min)

        def at_inf(band):
            return f"{m.label} 无法计算（分母为 0）（{'；'.join(x for x in (band[2], m.note) if x)}）"
        phrase = wrap(self._native_say(nx, mx, desc=desc), at_inf(inf_band), full, zero, at_inf(neg_band))
        return N.NativeRule(guards, score, phrase)


def _iv_key(iv: Interval) -> str:
    return f"{'[' if iv.lo_closed else '('}{iv.lo:g},{iv.hi:g}{']' if iv.hi_closed else ')'}"


class RatioPoints(_MeasureRule):
    """score = min(ratio, cap) × points; 0 when ratio exceeds ``zero_above`` (e.g. 实际采购 > 计划)."""
    __slots__ = ("cap", "zero_above")
    family = "ratio_points"

    def evaluate(self, vals):
        mv, early = self._measure(vals)
        if early:
            return early
        m = self.measure
        fig = self._figure(vals, mv, (self.zero_above, self.cap))
        if self.zero_above is not None and cmp_exact(mv, self.zero_above) > 0:
            lim = fmt_pct_short(self.zero_above) if m.percent else fmt_num(self.zero_above)
            return Outcome(0.0, self._say(fig, f"，超过 {lim}，按规定得 0 分"), "zero_above", (fig,))
        capped = cmp_exact(mv, self.cap) > 0
        r = self.cap if capped else max(mv.v, 0.0)
        return Outcome(r * self.points, self._say(fig), "capped" if capped else "ratio", (fig,))

    def native(self, nx):
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        plain = N.IF(mx.cmp > self.cap, self.cap, N.MAX(self._native_value(mx), 0)) * self.points
        if self.zero_above is not None:
            lim = fmt_pct_short(self.zero_above) if m.percent else fmt_num(self.zero_above)
            over = f"，超过 {lim}，按规定得 0 分"
            normal = N.IF(mx.cmp > self.zero_above, 0, plain)
            phrase = N.IF(mx.cmp > self.zero_above, self._native_say(nx, mx, over), self._native_say(nx, mx))
            inf, inf_phrase = 0, f"{m.label} 无法计算（分母为 0）{over}"
        else:
            normal, phrase = plain, self._native_say(nx, mx)
            inf, inf_phrase = self.cap * self.points, f"{m.label} 无法计算（分母为 0）"
        full, zero = self._native_zero_phrases()
        return N.NativeRule(guards, wrap(normal, inf, self.points, 0, 0),
                            wrap(phrase, inf_phrase, full, zero, f"{m.label} 无法计算（分母为 0）"))


COUNT_POINTS = ("pro_rata", "full_points", "started_points")


class LinearDeduction(_MeasureRule):
    """Full points up to a threshold; beyond it, ``per_point`` deducted per percentage point, down to ``floor``.

    ``count_points`` says how a part of a point counts: pro_rata (10.5% → 0.5 个百分点), full_points (only whole
    points: 0), started_points (a started point counts whole: 1)."""
    __slots__ = ("threshold", "per_point", "direction", "floor", "count_points")
    family = "linear_deduction"

    def evaluate(self, vals):
        mv, early = self._measure(vals)
        if early:
            return early
        m = self.measure
        fig = self._figure(vals, mv, (self.threshold,))
        sign = 1 if self.direction == "above" else -1
        lim = fmt_pct_short(self.threshold)
        if sign * cmp_exact(mv, self.threshold) <= 0:
            side = "未超过" if self.direction == "above" else "不低于"
            return Outcome(self.points, self._say(fig, f"，{side} {lim}"), "within", (fig,))
        side = "超出" if self.direction == "above" else "低于"
        if math.isinf(mv.v):  # a positive amount over a zero base: as far beyond the threshold as it gets
            return Outcome(self.floor, f"{m.label}{fig.display}（{fig.formula}），按超出处理", "deducted", (fig,))
        pp = sign * (mv.v - self.threshold) * 100
        mode = self.count_points
        said = f"，{side} {lim} {fmt_num(pp, fig.digits)} 个百分点"
        if mode != "pro_rata":
            counted = floor_exact(mv, self.threshold, 0.01, sign, ceil=(mode == "started_points"))
            said += f"（{'按满 1 个百分点' if mode == 'full_points' else '不足 1 个百分点按 1 个'}计，计 {fmt_num(counted)} 个）"
            pp = counted
        score = max(self.points - pp * self.per_point, self.floor)
        return Outcome(score, self._say(fig, said), "deducted", (fig,))

    def native(self, nx):
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        sign = 1 if self.direction == "above" else -1
        within = (mx.cmp <= self.threshold) if sign > 0 else (mx.cmp >= self.threshold)
        lim = fmt_pct_short(self.threshold)
        side_in, side_out = ("未超过", "超出") if sign > 0 else ("不低于", "低于")
        v = self._native_value(mx)
        pp = ((v - self.threshold) if sign > 0 else (self.threshold - v)) * 100
        said = N.CAT(f"，{side_out} {lim} ", nx.num(pp), " 个百分点")
        mode = self.count_points
        if mode != "pro_rata":
            q = N.ROUND(((mx.cmp - self.threshold) if sign > 0 else (self.threshold - mx.cmp)) / 0.01, 10)
            pp = N.INT(q) if mode == "full_points" else -N.INT(-q)
            how = "按满 1 个百分点" if mode == "full_points" else "不足 1 个百分点按 1 个"
            said = N.CAT(said, f"（{how}计，计 ", pp, " 个）")
        normal = N.IF(within, self.points, N.MAX(self.points - pp * self.per_point, self.floor))
        phrase = N.IF(within, self._native_say(nx, mx, f"，{side_in} {lim}"), self._native_say(nx, mx, said))
        full, zero = self._native_zero_phrases()
        beyond = N.CAT(f"{m.label}无法计算（分母为 0）（", nx.formula_text(m), "），按超出处理")
        inside = f"{m.label} 无法计算（分母为 0），{side_in} {lim}"
        pos, neg = ((self.floor, beyond), (self.points, inside)) if sign > 0 else ((self.points, inside), (self.floor, beyond))
        return N.NativeRule(guards, wrap(normal, pos[0], self.points, 0, neg[0]),
                            wrap(phrase, pos[1], full, zero, neg[1]))


class StepDeduction(_MeasureRule):
    """Deduct ``deduction`` for every full ``step`` of shortfall below (or excess above) a target."""
    __slots__ = ("target", "step", "deduction", "direction", "floor")
    family = "step_deduction"

    def evaluate(self, vals):
        mv, early = self._measure(vals)
        if early:
            return early
        fig = self._figure(vals, mv, (self.target,))
        sign = -1 if self.direction == "below" else 1
        if sign * cmp_exact(mv, self.target) <= 0:
            return Outcome(self.points, self._say(fig, f"，达到 {fmt_pct_short(self.target)}"), "met", (fig,))
        steps = floor_exact(mv, self.target, self.step, sign)
        score = max(self.points - steps * self.deduction, self.floor)
        word = "低于" if self.direction == "below" else "高于"
        shown = "∞" if math.isinf(steps) else fmt_num(steps)
        return Outcome(score, self._say(fig, f"，{word}目标 {fmt_pct_short(self.target)}，"
                                             f"每满 {fmt_pct_short(self.step)} 为一档，计 {shown} 档"),
                       f"steps:{steps}", (fig,))

    def native(self, nx):
        m = self.measure
        mx, guards, wrap = self._native_measure(nx)
        gap = (self.target - mx.cmp) if self.direction == "below" else (mx.cmp - self.target)
        steps = N.INT(N.ROUND(gap / self.step, 10))
        normal = N.IF(gap <= 0, self.points, N.MAX(self.points - steps * self.deduction, self.floor))
        word = "低于" if self.direction == "below" else "高于"
        phrase = N.IF(gap <= 0, self._native_say(nx, mx, f"，达到 {fmt_pct_short(self.target)}"),
                      self._native_say(nx, mx, N.CAT(f"，{word}目标 {fmt_pct_short(self.target)}，每满 "
                                                     f"{fmt_pct_short(self.step)} 为一档，计 ", steps, " 档")))
        full, zero = self._native_zero_phrases()
        beyond = (f"{m.label} 无法计算（分母为 0），{word}目标 {fmt_pct_short(self.target)}，"
                  f"每满 {fmt_pct_short(self.step)} 为一档，计 ∞ 档")
        met = f"{m.label} 无法计算（分母为 0），达到 {fmt_pct_short(self.target)}"
        pos, neg = ((self.points, met), (self.floor, beyond)) if self.direction == "below" else \
            ((self.floor, beyond), (self.points, met))
        return N.NativeRule(guards, wrap(normal, pos[0], self.points, 0, neg[0]), wrap(phrase, pos[1], full, zero, neg[1]))


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
        n = nx.val(self.input)
        return N.NativeRule([], N.MAX(self.points - n * self.per_item, self.floor),
                            N.CAT(f"{self.what} ", n, f" {self.unit}"))


class Checklist(Rule):
    """Items each worth some points; each judged 是/否 or given fractional points (each rounded as stated)."""
    __slots__ = ("items",)  # tuple of (input_id, points, label)
    family = "checklist"

    def evaluate(self, vals):
        total, short = 0.0, []
        for k, (i, pts, label) in enumerate(self.items, 1):
            got = self._round(vals[i])
            total += got
            if got < pts - EPS:
                short.append(f"第{k}项“{label}”" + ("未满足" if got <= EPS else f"得 {fmt_num(got)}/{fmt_num(pts)} 分"))
        if not short:
            return Outcome(total, f"{len(self.items)} 项均满足", "all_met")
        return Outcome(total, "；".join(short), "partial")

    def native(self, nx):
        """Each item rounded as its reason states it, then added."""
        vals = [(nx.round(nx.val(i)), pts, label) for i, pts, label in self.items]
        score = N.SUM(*[v for v, _, _ in vals])
        short = [N.IF(v < pts, N.CAT(f"；第{k}项“{label}”",
                                     N.IF(v <= 0, "未满足", N.CAT("得 ", nx.num(v), f"/{fmt_num(pts)} 分"))), "")
                 for k, (v, pts, label) in enumerate(vals, 1)]
        all_met = N.AND(*[v >= pts for v, pts, _ in vals]) if len(vals) > 1 else vals[0][0] >= vals[0][1]
        phrase = N.IF(all_met, f"{len(vals)} 项均满足", N.fn("MID", N.CAT(*short), 2, 4000))
        return N.NativeRule([], score, phrase, rounded=True)


class Tiered(Rule):
    """One of several declared tiers (按规定公开 1.5 / 有缺陷 1 / 未公开 0)."""
    __slots__ = ("input", "options", "label")  # options: dict label -> points
    family = "tiered"

    def evaluate(self, vals):
        choice = vals[self.input]
        return Outcome(self.options[choice], f"{self.label}：{choice}", f"tier:{choice}")

    def native(self, nx):
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
        v = nx.val(self.input)
        return N.NativeRule([], v, N.CAT(f"{self.label}评定 ", nx.num(v), f" 分（满分 {fmt_num(self.points)} 分）"))


CAPPING = ("each_quarter", "indicator")


def _below(v: float, edge: float) -> bool:
    if abs(v - edge) > 1e-9:
        return v < edge
    return exact(v) < exact(edge)


class QuarterlyProgress(Rule):
    """Σ 进度/序时进度 × points per quarter + average of those ratios × average_points.

    ``capping`` declares how progress ahead of schedule counts: each_quarter (every ratio capped at ``cap`` in
    both terms: ahead in one quarter does not make up for behind in another) or indicator (ratios as they are,
    the indicator capped at its weight)."""
    __slots__ = ("quarters", "average_points", "cap", "labels", "capping")  # quarters: (input, schedule, points)
    family = "quarterly_progress"

    def evaluate(self, vals):
        total, ratios, behind, figs = 0.0, [], [], []
        each = self.capping == "each_quarter"
        for (i, sched, pts), label in zip(self.quarters, self.labels):
            v = vals[i]
            r = v / sched
            if each:
                r = min(r, self.cap)
            ratios.append(r)
            total += r * pts
            figs.append(Figure(i, label, v, True))
            if _below(v, sched):
                behind.append(f"{label} {fmt_pct(v)}，低于序时进度 {fmt_pct_short(sched)}")
        avg = sum(ratios) / len(ratios)
        total += avg * self.average_points
        how = "各季度按不超过序时进度计" if each else "各季度按实际进度计，本指标以满分为限"
        figs.append(Figure("average_execution", "全年平均执行率", avg, True))
        if not behind:
            return Outcome(total, f"各季度支出进度均达到序时进度（{how}）", "on_schedule", tuple(figs))
        return Outcome(total, "；".join(behind) + f"（全年平均执行率 {fmt_pct(avg)}，{how}）", "behind", tuple(figs))

    def native(self, nx):
        each = self.capping == "each_quarter"
        ratios, behind, total = [], [], None
        for (i, sched, pts), label in zip(self.quarters, self.labels):
            v = nx.val(i)
            r = N.MIN(v / sched, self.cap) if each else v / sched
            ratios.append(r)
            total = r * pts if total is None else total + r * pts
            behind.append(N.IF(v < sched, N.CAT(f"；{label} ", nx.pct(v), f"，低于序时进度 {fmt_pct_short(sched)}"), ""))
        acc = ratios[0]
        for r in ratios[1:]:
            acc = acc + r
        avg = acc / len(ratios)
        total = total + avg * self.average_points
        how = "各季度按不超过序时进度计" if each else "各季度按实际进度计，本指标以满分为限"
        on = N.AND(*[nx.val(i) >= sched for i, sched, _ in self.quarters])
        phrase = N.IF(on, f"各季度支出进度均达到序时进度（{how}）",
                      N.CAT(N.fn("MID", N.CAT(*behind), 2, 4000), "（全年平均执行率 ", nx.pct(avg), f"，{how}）"))
        return N.NativeRule([], total, phrase)


class Composite(Rule):
    """Sum of parts, each a rule with its own points; each part rounded as its reason states it."""
    __slots__ = ("parts",)  # tuple of (name, Rule)
    family = "composite"

    def evaluate(self, vals):
        outs = []
        for name, r in self.parts:
            o = r.evaluate(vals)
            o.score = self._round(min(max(o.score, 0.0), r.points))
            outs.append(PartOutcome(name, r.points, o))
        outs = tuple(outs)
        score = sum(p.outcome.score for p in outs)
        figs = tuple(f for p in outs for f in p.outcome.figures)
        phrase = "；".join(p.outcome.phrase for p in outs)
        return Outcome(score, phrase, "composite", figs, outs)

    def native(self, nx):
        """Each part's score clamped and rounded as its reason states it, then added; guards in part order."""
        parts = tuple((name, r.points, r.native(nx)) for name, r in self.parts)
        guards = [g for _, _, p in parts for g in p.guards]
        score = N.SUM(*[nx.round(N.MIN(N.MAX(p.score, 0), pts)) for _, pts, p in parts])
        phrase = N.CAT(*[x for k, (_, _, p) in enumerate(parts) for x in ((("；",) if k else ()) + (p.phrase,))])
        return N.NativeRule(guards, score, phrase, parts)


FAMILIES = {c.family: c for c in (Bands, RatioPoints, LinearDeduction, StepDeduction, PerItemPenalty, Checklist,
                                    Tiered, Manual, QuarterlyProgress, Composite)}
