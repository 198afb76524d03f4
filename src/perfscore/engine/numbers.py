"""Number handling shared by every rule: parsing user input, half-up rounding, percent display, intervals.

Excel hands over floats, None (blank or error cell), str, bool or datetime; case files hand over TOML values.
Everything goes through ``parse_*`` here so that a cell and a case file mean the same thing.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

_ROUNDING = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}
ROUNDING_MODES = tuple(_ROUNDING)

YES = frozenset({"是", "有", "y", "yes", "true", "√", "✓", "✔", "1", "对"})
NO = frozenset({"否", "无", "n", "no", "false", "×", "✗", "✘", "0", "不是", "没有"})

_QUANT = {}


_POW10 = [10.0 ** k for k in range(10)]


def round_to(x: float, digits: int = 2, mode: str = "half_up") -> float:
    """Round as Chinese finance does (half up by default), immune to binary noise such as 2.675 -> 2.67499….

    Half up: scale, add one half plus a tolerance far below the last digit but above float noise (a few units in
    the last place of the scaled value, never near a whole unit: 12741400.04 stays 12741400.04), floor.
    ``k / 10**digits`` is then the double nearest the decimal result, the same as writing it as a literal.
    """
    if not math.isfinite(x) or abs(x) >= 1e15:  # beyond any amount or ratio; nothing left to round
        return x
    if mode == "half_up" and digits < 10 and abs(x) < 1e12:
        p = _POW10[digits]
        y = abs(x) * p
        r = math.floor(y + 0.5 + 1e-9 + 4e-15 * y) / p
        return (r if x >= 0 else -r) + 0.0  # + 0.0 normalises -0.0
    q = _QUANT.get(digits)
    if q is None:
        q = _QUANT[digits] = Decimal(1).scaleb(-digits)
    d = Decimal(repr(round(x, 10)))
    return float(d.quantize(q, rounding=_ROUNDING[mode])) + 0.0


def fmt_num(x: float, digits: int = 2) -> str:
    """2 -> '2', 1.95 -> '1.95', 0.5 -> '0.5': scores as a person writes them."""
    if not math.isfinite(x):
        return "∞" if x > 0 else ("-∞" if x < 0 else "—")
    s = f"{round_to(x, digits):.{digits}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def fmt_pct(x: float, digits: int = 2) -> str:
    """0.951515 -> '95.15%' (half up)."""
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{round_to(x * 100, digits):.{digits}f}%"


def fmt_pct_short(x: float) -> str:
    """0.9 -> '90%', 0.125 -> '12.50%': thresholds as a rule text writes them."""
    return fmt_pct(x).replace(".00%", "%")


# ---------------------------------------------------------------- text typed into a cell
# The one reading of typed text, shared word for word with the native formulas (excel/native.py ``typed``): what
# the spreadsheet's ASC does (full-width ASCII U+FF01–U+FF5E to ASCII), then every space removed (the ASCII one
# and the ideographic U+3000, which LibreOffice's ASC leaves alone). Nothing else: NFKC would also turn ① into 1,
# which no spreadsheet formula does, and a cell must mean the same in every engine.
_ASC = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
SPACES = (" ", "\u3000")


def typed_text(s: str) -> str:
    """Typed text as every engine reads it: full-width ASCII folded (ASC), spaces removed."""
    t = str(s).translate(_ASC)
    for sp in SPACES:
        t = t.replace(sp, "")
    return t


def _normalise_text(s: str) -> str:
    return typed_text(s).replace(",", "")


# a number typed as text: digits with at most one point and a leading minus — no exponent, no plus, no date or
# fraction (the spreadsheet's VALUE would take 1e3, 3/4 and 2020-12-31; the formulas refuse them as this does)
_NUM_RE = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")


class ParseError(ValueError):
    """Raised by parse_*; the caller adds the input's label (see rules.InputSpec.parse)."""


def text_to_decimal(s: str, units: tuple[str, ...] = ()) -> tuple[Decimal, bool]:
    """Parse '1,234.5', '１２３', '95.15%', '13200元' -> (Decimal, had_percent_sign). A unit is removed wherever it
    stands (the formulas' SUBSTITUTE does the same; a unit holds no digit, so no number is made up)."""
    t = _normalise_text(s)
    for u in units:
        if u:
            t = t.replace(typed_text(u), "")
    pct = t.endswith("%")
    if pct:
        t = t[:-1]
    if not _NUM_RE.match(t):
        raise ParseError(s)
    try:
        return Decimal(t), pct
    except InvalidOperation as exc:  # pragma: no cover - regex above guards this
        raise ParseError(s) from exc


def to_decimal(value) -> tuple[Decimal, bool]:
    """Any number-like value -> (Decimal, had_percent_sign). Raises ParseError for anything else."""
    if isinstance(value, bool):
        raise ParseError(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ParseError(value)
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value), False
    if isinstance(value, Decimal):
        return value, False
    if isinstance(value, str):
        return text_to_decimal(value)
    raise ParseError(value)


def parse_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        t = typed_text(value).lower()
        if t in YES:
            return True
        if t in NO:
            return False
    raise ParseError(value)


# ---------------------------------------------------------------- intervals


@dataclass(frozen=True, slots=True)
class Interval:
    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool

    def __contains__(self, x: float) -> bool:
        # an infinite ratio (positive numerator over a zero denominator) belongs to the band open towards it
        if x < self.lo or (x == self.lo and not self.lo_closed and not math.isinf(x)):
            return False
        if x > self.hi or (x == self.hi and not self.hi_closed and not math.isinf(x)):
            return False
        return True

    def describe(self, label: str, percent: bool, domain_min: float = -math.inf) -> str:
        """'75%≤固定资产利用率<90%', '≥90%', '>10%' (a lower bound at the domain's floor is omitted)."""
        f = fmt_pct_short if percent else fmt_num
        lo = None if (math.isinf(self.lo) or (self.lo <= domain_min and self.lo_closed)) else f(self.lo)
        hi = None if math.isinf(self.hi) else f(self.hi)
        if lo is not None and hi is not None:
            if self.lo == self.hi:
                return f"{label}={lo}"
            return f"{lo}{'≤' if self.lo_closed else '<'}{label}{'≤' if self.hi_closed else '<'}{hi}"
        if lo is not None:  # one-sided bounds read well without repeating the label: "≥90%"
            return f"{'≥' if self.lo_closed else '>'}{lo}"
        if hi is not None:
            return f"{'≤' if self.hi_closed else '<'}{hi}"
        return "全部取值"


_BOUND_RE = re.compile(r"^\s*([\[(])\s*([^,，]+?)\s*[,，]\s*([^\])]+?)\s*([\])])\s*$")


def _bound(tok: str) -> float:
    t = _normalise_text(tok).lower()
    if t in ("inf", "+inf", "∞", "+∞"):
        return math.inf
    if t in ("-inf", "-∞"):
        return -math.inf
    d, pct = text_to_decimal(t)
    return float(d / 100) if pct else float(d)


def parse_interval(text: str) -> Interval:
    """'[90%, inf)', '(10%, ∞)', '[0.05, 0.10]', '[80, 90)'. Raises ValueError with the reason."""
    if not isinstance(text, str):
        raise ValueError("应为区间文本，例如 \"[75%, 90%)\"")
    m = _BOUND_RE.match(text)
    if not m:
        raise ValueError(f"无法识别区间 {text!r}；应写成 \"[下限, 上限)\"，方括号含端点、圆括号不含，无穷写 inf")
    try:
        lo, hi = _bound(m.group(2)), _bound(m.group(3))
    except ParseError:
        raise ValueError(f"区间 {text!r} 的端点不是数字") from None
    iv = Interval(lo, m.group(1) == "[", hi, m.group(4) == "]")
    if lo > hi or (lo == hi and not (iv.lo_closed and iv.hi_closed)):
        raise ValueError(f"区间 {text!r} 为空：下限应小于上限")
    if (math.isinf(lo) and iv.lo_closed) or (math.isinf(hi) and iv.hi_closed):
        raise ValueError(f"区间 {text!r} 在无穷一端应使用圆括号")
    return iv


def check_partition(intervals: list[Interval], lo: float, hi: float) -> str | None:
    """None when the intervals tile [lo, hi] exactly (no gap, no overlap); else a Chinese description."""
    ivs = sorted(intervals, key=lambda i: (i.lo, not i.lo_closed))
    cur, cur_closed = lo, True  # we need coverage starting at lo (inclusive)
    first = True
    for iv in ivs:
        if first:
            if iv.lo > lo or (iv.lo == lo and not iv.lo_closed and not math.isinf(lo)):
                return f"从 {fmt_num(lo)} 起没有区间覆盖（缺口）"
            first = False
        else:
            if iv.lo > cur or (iv.lo == cur and not iv.lo_closed and not cur_closed):
                return f"{fmt_num(cur)} 与 {fmt_num(iv.lo)} 之间有缺口"
            if iv.lo < cur or (iv.lo == cur and iv.lo_closed and cur_closed):
                return f"区间在 {fmt_num(iv.lo)} 附近重叠"
        cur, cur_closed = iv.hi, iv.hi_closed
    if first:
        return "没有任何区间"
    if cur < hi or (cur == hi and not cur_closed and not math.isinf(hi)):
        return f"{fmt_num(cur)} 以上没有区间覆盖（缺口）"
    return None
