"""Native spreadsheet formulas: the rules written with the spreadsheet's own functions (the Excel-formula workbook).

Each rule family translates itself (``Rule.native`` in ``rules.py``, beside its Python ``evaluate``); this module
holds what they share on the Excel side: ``evaluate``, which computes an expression of the formula language
(``perfscore.engine.formula``: ``X``, ``IF``, ``CAT``…, re-exported here) in Python with spreadsheet semantics, so
the workbook's cached values are what its own formulas compute; ``Nx``, what a translation refers to (each
input's cells); the helper cells that validate each input; and the assembly of an indicator's score, reason,
totals and grade.

Only functions that Excel 2010, WPS and LibreOffice all have are used (``ALLOWED_FUNCTIONS``);
``check_formula`` enforces that, the 8,192-character limit and the 64-level nesting limit on the formula text.

Exactness at the edges: ratios are compared as ``ROUND(numerator/denominator, 12)``. Inputs are cent amounts
(or whole counts) below about 2×10^10 元, so a ratio one cent off an edge differs from it by more than
0.01/2e10 = 5×10^-13 — more than ROUND(…, 12) can move it (at most 5×10^-13), and rounding is monotone, so it
stays on its side; a ratio exactly on an edge (a multiple of 10^-12) carries a float error of about 10^-16
relative, which ROUND(…, 12) removes. So the comparison is the exact one for such inputs.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from perfscore.errors import PerfscoreError
from perfscore.engine.inputs import NA_TEXT
from perfscore.engine.formula import (ABS, ALLOWED_FUNCTIONS, AND, CAT, IF, INT, ISBLANK, ISNUMBER, MAX, MIN,  # noqa: F401
                                      NOT, OR, ROUND, SUM, Fn, NativeRule, Num, Op, Ref, Rng, Str, X, chain,
                                      first_message, fn, interval_test, lit)
from perfscore.engine.numbers import NO, SPACES, YES, _ASC, typed_text

MAX_LENGTH, MAX_NESTING = 8192, 64
CMP_DIGITS = 12  # ratios are rounded to this many decimals before any comparison (see module docstring)


# ============================================================================================ evaluation
class XlError(Exception):
    """A spreadsheet error value (#DIV/0!, #VALUE!) during evaluation."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def evaluate(e: X, env):
    """The value of expression ``e`` with spreadsheet semantics; ``env(key)`` gives a referenced cell's value."""
    return _EVAL[type(e)](e, env)


def _ev_op(e: Op, env):
    a, b = evaluate(e.a, env), evaluate(e.b, env)
    if e.op == "&":
        return _text(a) + _text(b)
    if e.op in _CMP:
        return _compare(e.op, a, b)
    x, y = _number(a), _number(b)
    if e.op == "+":
        return x + y
    if e.op == "-":
        return x - y
    if e.op == "*":
        return x * y
    if y == 0:
        raise XlError("#DIV/0!")
    return x / y


_EVAL = {
    Num: lambda x, env: x.v,
    Str: lambda x, env: x.v,
    Ref: lambda x, env: env(x.key),
    Rng: lambda x, env: [env(k) for k in x.keys],
    Op: _ev_op,
    Fn: lambda x, env: _FUNCS[x.name](env, *x.args),
}
_CMP = {"=", "<>", "<", "<=", ">", ">="}


# ---------------------------------------------------------------------------------------- spreadsheet semantics
def _number(v) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    raise XlError("#VALUE!")


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def _round(x: float, d: int) -> float:
    """ROUND as LibreOffice computes it (rtl::math::round, "corrected"): for d > 0 the product x·10^d is first
    brought to 15 significant digits, then rounded half away from zero — ROUND(1.955, 2) = 1.96,
    ROUND(8.124999999999998, 2) = 8.13; for d = 0 the double itself is rounded (ROUND(95.49999999999999, 0) = 95).
    Measured in tests/test_native.py against LibreOffice."""
    if not math.isfinite(x):
        return x
    if d <= 0:
        p = 10.0 ** -d
        return math.copysign(math.floor(abs(x) / p + 0.5) * p, x) + 0.0
    p = 10.0 ** d
    y = float(f"{x * p:.15g}")
    return math.copysign(math.floor(abs(y) + 0.5), x) / p + 0.0


def _int(x: float) -> float:
    """INT as LibreOffice computes it (rtl::math::approxFloor): the value brought to 15 significant digits, then
    floored — so 812.9999999999999 counts as 813. Only a value within about 1e-15 (relative) of a whole number
    differs from math.floor."""
    if not math.isfinite(x):
        return x
    return float(math.floor(float(f"{x:.15g}")))


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return _num_text(float(v))
    return str(v)


def _num_text(x: float) -> str:
    """A number as `&` turns it into text (up to 15 significant digits, no exponent for our magnitudes)."""
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    s = format(Decimal(format(x, ".15g")), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _rank(v):
    if v is None:
        return 0
    if isinstance(v, bool):
        return 3
    if isinstance(v, (int, float)):
        return 1
    return 2


def _compare(op, a, b) -> bool:
    if a is None:
        a = "" if isinstance(b, str) else 0.0
    if b is None:
        b = "" if isinstance(a, str) else 0.0
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        c = (ra > rb) - (ra < rb)
    elif isinstance(a, str):
        x, y = a.lower(), b.lower()
        c = (x > y) - (x < y)
    else:
        c = (a > b) - (a < b)
    return {"=": c == 0, "<>": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


def _truth(v) -> bool:
    if isinstance(v, str):
        raise XlError("#VALUE!")
    return bool(_number(v))


def _flat(env, args):
    for a in args:
        v = evaluate(a, env)
        if isinstance(a, Rng):
            yield from ((x, True) for x in v)
        else:
            yield v, False


def _agg(env, args, f):
    nums = [float(v) for v, in_range in _flat(env, args)
            if (isinstance(v, (int, float)) and not isinstance(v, bool)) or not in_range and v is not None]
    return f(nums)


def _text_fmt(env, x, fmt):
    v, f = _number(evaluate(x, env)), evaluate(fmt, env)
    pct = f.endswith("%")
    d = f.rstrip("%")
    digits = len(d.split(".")[1]) if "." in d else 0
    if set(d.replace(".", "")) != {"0"}:
        raise ValueError(f"TEXT format {f!r} not emulated")
    q = _dec(v) * (100 if pct else 1)
    s = format(q.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP), "f")
    return s + ("%" if pct else "")


def _value(env, x):
    v = evaluate(x, env)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    s = str(v or "").strip()
    pct = s.endswith("%")
    try:
        n = float(Decimal(s[:-1] if pct else s))
    except Exception:
        raise XlError("#VALUE!") from None
    return n / 100 if pct else n


def _iferror(env, a, b):
    try:
        return evaluate(a, env)
    except XlError:
        return evaluate(b, env)


def _iserror(env, a):
    try:
        evaluate(a, env)
        return False
    except XlError:
        return True


_FUNCS = {
    "IF": lambda env, c, a, b: evaluate(a, env) if _truth(evaluate(c, env)) else evaluate(b, env),
    "AND": lambda env, *a: all([_truth(evaluate(x, env)) for x in a]),
    "OR": lambda env, *a: any([_truth(evaluate(x, env)) for x in a]),
    "NOT": lambda env, a: not _truth(evaluate(a, env)),
    "MIN": lambda env, *a: _agg(env, a, lambda n: min(n) if n else 0.0),
    "MAX": lambda env, *a: _agg(env, a, lambda n: max(n) if n else 0.0),
    "SUM": lambda env, *a: _agg(env, a, lambda n: float(sum(n))),
    "COUNT": lambda env, *a: float(sum(1 for v, _ in _flat(env, a) if isinstance(v, (int, float)) and not isinstance(v, bool))),
    "ROUND": lambda env, x, d: _round(_number(evaluate(x, env)), int(_number(evaluate(d, env)))),
    "INT": lambda env, x: _int(_number(evaluate(x, env))),
    "ABS": lambda env, x: abs(_number(evaluate(x, env))),
    "ISBLANK": lambda env, x: evaluate(x, env) is None,
    "ISNUMBER": lambda env, x: isinstance(evaluate(x, env), (int, float)) and not isinstance(evaluate(x, env), bool),
    "ISTEXT": lambda env, x: isinstance(evaluate(x, env), str),
    "ISERROR": _iserror,
    "IFERROR": _iferror,
    "CHOOSE": lambda env, i, *a: evaluate(a[int(_number(evaluate(i, env))) - 1], env),
    "TEXT": _text_fmt,
    "LEN": lambda env, x: float(len(_text(evaluate(x, env)))),
    "VALUE": _value,
    "LEFT": lambda env, x, n: _text(evaluate(x, env))[:int(_number(evaluate(n, env)))],
    "RIGHT": lambda env, x, n: _text(evaluate(x, env))[-int(_number(evaluate(n, env))):] if int(_number(evaluate(n, env))) else "",
    "ASC": lambda env, x: _text(evaluate(x, env)).translate(_ASC),
    "SUBSTITUTE": lambda env, x, old, new: _text(evaluate(x, env)).replace(_text(evaluate(old, env)), _text(evaluate(new, env)))
    if _text(evaluate(old, env)) else _text(evaluate(x, env)),
    "MID": lambda env, x, s, n: _text(evaluate(x, env))[int(_number(evaluate(s, env))) - 1:int(_number(evaluate(s, env))) - 1 + int(_number(evaluate(n, env)))],
}


# ============================================================================================ formula text checks
_TOKEN = re.compile(r'"(?:[^"]|"")*"|\'(?:[^\']|\'\')*\'|([A-Za-z_][A-Za-z0-9_.]*)\s*\(|([()])')


def check_formula(text: str) -> list[str]:
    """Problems of a formula text (with or without '='): functions outside ALLOWED_FUNCTIONS, length over
    8,192, nesting over 64 levels. Tokenises string literals and quoted sheet names away first."""
    problems = []
    if len(text) > MAX_LENGTH:
        problems.append(f"长度 {len(text)} 超过 {MAX_LENGTH}")
    depth = best = 0
    stack = []
    for m in _TOKEN.finditer(text):
        if m.group(1):
            name = m.group(1).upper()
            if name not in ALLOWED_FUNCTIONS:
                problems.append(f"函数 {name} 不在允许的函数集中")
            stack.append(True)
            depth += 1
            best = max(best, depth)
        elif m.group(2) == "(":
            stack.append(False)
        elif m.group(2) == ")":
            if not stack:
                problems.append("括号不配对")
                break
            if stack.pop():
                depth -= 1
    if stack:
        problems.append("括号不配对")
    if best > MAX_NESTING:
        problems.append(f"函数嵌套 {best} 层，超过 {MAX_NESTING}")
    return problems


def functions_used(text: str) -> set[str]:
    return {m.group(1).upper() for m in _TOKEN.finditer(text) if m.group(1)}


def nesting(text: str) -> int:
    depth = best = 0
    stack = []
    for m in _TOKEN.finditer(text):
        if m.group(1):
            stack.append(True)
            depth += 1
            best = max(best, depth)
        elif m.group(2) == "(":
            stack.append(False)
        elif m.group(2) == ")" and stack and stack.pop():
            depth -= 1
    return best


# ============================================================================================ what rules refer to
@dataclass
class MeasureX:
    num: X
    den: X | None
    raw: X        # num/den (only meaningful when den <> 0)
    cmp: X        # ROUND(num/den, 12): what comparisons use


class Nx:
    """What a rule's translation refers to: each input's value cell (valid once its check cell is "")."""

    def __init__(self, system, values: dict, checks: dict):
        self.system = system
        self.values, self.checks = values, checks
        self.digits = system.rounding_digits

    def val(self, iid) -> X:
        return self.values[iid]

    def check(self, iid) -> X:
        return self.checks[iid]

    def round(self, x) -> X:
        """The system's rounding (half up) of a score x ≥ 0, written as numbers.round_to computes it:
        INT(y + 0.5 + 1E-9 + 4E-15·y) / 10^d with y = x·10^d — the same float operations in the same order, so
        4.575 reached as 4.574999999999999 rounds to 4.58 here as in the engine (ROUND would give 4.57)."""
        p = 10 ** self.digits
        y = x * p
        return INT(y + 0.5 + 1e-9 + 4e-15 * y) / p

    def measure(self, m) -> MeasureX:
        """The measure's numerator, denominator, quotient and the value compared with edges: the quotient rounded
        to 12 decimals (exact for cent amounts, see the module docstring), or, when the system compares as
        printed, that rounded half up to the printed digits (2 decimals of a percentage = 4 of the fraction)."""
        num = _signed_sum([(self.val(i), s) for i, s in m.num])
        den = _signed_sum([(self.val(i), s) for i, s in m.den]) if m.den else None
        raw = num / den if den is not None else num
        cmp = ROUND(raw, CMP_DIGITS) if den is not None else raw
        if getattr(m, "printed_digits", None) is not None:
            cmp = ROUND(cmp, m.printed_digits + (2 if m.percent else 0))
        return MeasureX(num, den, raw, cmp)

    def formula_text(self, m) -> X:
        """'(161226-155385)/55100' as Figure.formula writes it (each amount as fmt_num shows it)."""
        def terms(ts):
            out = []
            for k, (i, s) in enumerate(ts):
                out += ([] if k == 0 and s > 0 else ["+" if s > 0 else "-"]) + [self.num(self.val(i))]
            return (["("] + out + [")"]) if len(ts) > 1 else out
        if not m.den:
            return Str("")
        return CAT(*terms(m.num), "/", *terms(m.den))

    @staticmethod
    def pct(x) -> X:
        """95.15% (half up, 2 decimals), as fmt_pct."""
        return fn("TEXT", x, "0.00%")

    def num(self, x) -> X:
        """2, 1.95, 0.5 — a score as fmt_num writes it."""
        return ROUND(x, self.digits) & ""


def _signed_sum(terms) -> X:
    out = None
    for x, s in terms:
        if out is None:
            out = x if s > 0 else -x
        else:
            out = out + x if s > 0 else out - x
    return out



# ============================================================================================ inputs
def typed(cell: X) -> X:
    """The cell as typed text is read (engine.numbers.typed_text): ASC, every space removed."""
    t = fn("ASC", cell)
    for sp in SPACES:
        t = fn("SUBSTITUTE", t, sp, "")
    return t


def _number_text_ok(t: X) -> X:
    """TRUE when the text ``t`` is a plain decimal number (engine.numbers._NUM_RE): a leading minus, digits and
    at most one point — VALUE alone would also take 1e3, 3/4 and 2020-12-31."""
    body = IF(fn("LEFT", t, 1).eq("-"), fn("MID", t, 2, 99), t)
    rest = body
    for ch in "0123456789.":
        rest = fn("SUBSTITUTE", rest, ch, "")
    return AND(fn("LEN", rest).eq(0), NOT(fn("ISERROR", fn("VALUE", t))))


def typed_value(spec, cell: X) -> X:
    """The number an input cell holds, read as engine.inputs.InputSpec.parse reads it: a number as it is, typed
    text by the one rule (commas, spaces and the unit removed, full-width folded; a rate's % or a bare number above
    1 is a percentage), "" when blank and "×" when the text is not a number. Written into the hidden helper L."""
    k = spec.kind
    t = fn("SUBSTITUTE", typed(cell), ",", "")
    if spec.unit and k not in ("rate",) and spec.unit != "%":
        t = fn("SUBSTITUTE", t, typed_text(spec.unit), "")
    if k == "rate":
        bare = fn("LEFT", t, fn("LEN", t) - 1)
        as_pct = IF(_number_text_ok(bare), fn("VALUE", bare) / 100, "×")
        plain = IF(_number_text_ok(t), IF(fn("VALUE", t) > 1, fn("VALUE", t) / 100, fn("VALUE", t)), "×")
        text = IF(fn("RIGHT", t, 1).eq("%"), as_pct, plain)
        num = IF(cell > 1, cell / 100, cell)
    else:
        text = IF(_number_text_ok(t), fn("VALUE", t), "×")
        num = cell
    return IF(ISBLANK(cell), "", IF(ISNUMBER(cell), num, text))


def _words(t: X, words) -> X:
    return OR(*[t.eq(w) for w in sorted(words)])


def input_check(spec, cell: X, value: X | None = None, row: int | None = None) -> X:
    """"" when the input cell holds a usable value, else a short Chinese message naming the input (and its row on
    基础数据). ``value``: the helper cell holding ``typed_value`` (numbers, judgements and choices read it)."""
    name = spec.name
    where = f"「{name}」" + (f"（第 {row} 行）" if row else "")
    blank = "未填写：" + name
    k = spec.kind
    if k == "text":
        return Str("")
    t = typed(cell)
    if k == "flag":
        ok = OR(_words(t, YES), _words(t, NO))
        return IF(ISBLANK(cell), blank, IF(ok, "", f"{where}应填“是”或“否”"))
    if k == "choice":
        # AND evaluates every argument, so INT of a text would be an error: test the number apart
        ok = OR(*[t.eq(typed_text(o)) for o in spec.options],
                IF(ISNUMBER(value), AND(value >= 1, value <= len(spec.options), INT(value).eq(value)), 0))
        return IF(ISBLANK(cell), blank, IF(ok, "", f"{where}应选择：" + "／".join(spec.options)))
    na = spec.not_applicable == "full"  # “不适用” is a valid entry (scores full points)
    if k == "judgement":
        ok = OR(_words(t, YES), _words(t, NO), *([t.eq(NA_TEXT)] if na else []),
                IF(ISNUMBER(value), AND(value >= spec.min, value <= spec.max), 0))
        also = f"，无此项业务的填“{NA_TEXT}”" if na else ""
        return IF(ISBLANK(cell), blank, IF(ok, "", f"{where}应为 0 到 {_g(spec.max)} 分，或“是”/“否”{also}"))
    # amount, count, rate, score: a number in range
    v = value
    rng = []
    if k == "count":
        rng.append((INT(v).ne(v), f"{where}应为整数"))
    rng.append((ABS(v) > 1e15, f"{where}数值过大，超出合理范围"))
    if spec.min is not None:
        rng.append((v < spec.min, f"{where}不能小于 {_bound(spec, spec.min)}"))
    if spec.max is not None and math.isfinite(spec.max):
        rng.append((v > spec.max, f"{where}不能大于 {_bound(spec, spec.max)}"))
    out = Str("")
    for c, msg in reversed(rng):
        out = IF(c, msg, out)
    checked = IF(ISBLANK(cell), blank, IF(NOT(ISNUMBER(v)), f"{where}是文字，不是数字：请输入数字", out))
    return IF(t.eq(NA_TEXT), "", checked) if na else checked




def input_value(spec, cell: X, value: X | None = None) -> X:
    """The input as a number the rules use: 是/否 → points or 1/0, an option → its position, a rate → fraction.
    ``value``: the helper cell holding ``typed_value`` (a number first: text "1" is 1 point, as the number 1 is)."""
    k = spec.kind
    if k == "text":
        return Str("")
    t = typed(cell)
    num = IF(ISNUMBER(value), value, 0) if value is not None else IF(ISNUMBER(cell), cell, 0)
    if k == "flag":
        return IF(_words(t, YES), 1, 0)
    if k == "choice":
        out = num
        for n, o in reversed(list(enumerate(spec.options, 1))):
            out = IF(t.eq(typed_text(o)), n, out)
        return out
    if spec.not_applicable == "full" and k in ("judgement", "score"):
        num = IF(t.eq(NA_TEXT), spec.max, num)
    if k == "judgement":
        return IF(ISNUMBER(value), value, IF(_words(t, YES), spec.max, IF(_words(t, NO), 0, num)))
    return num


def _g(x):
    return f"{x:g}"


def _bound(spec, b):
    return f"{b * 100:g}%" if spec.kind == "rate" else f"{b:g} {spec.unit}".strip()


# ============================================================================================ indicators
def refuse_unsupported(system):
    if system.rounding_mode != "half_up":
        raise PerfscoreError(
            f"指标体系“{system.name}”（{system.year} 年版）的舍入方式为 {system.rounding_mode}（四舍六入五成双），"
            f"表格公式的 ROUND 只能四舍五入，无法精确表示：请改用 Python 版工作簿（--engine python）。")


def indicator_score(ind, nx: Nx) -> X:
    """The 分数 cell: a score rounded by the system's rounding, or a message (text) saying why there is none."""
    w = ind.weight
    nr = ind.rule.native(nx)
    # a sum of rounded parts or items needs no second rounding of its own: ROUND only removes the float noise
    body = (ROUND if nr.parts or nr.rounded else lambda x, d: nx.round(x))(MIN(MAX(nr.score, 0), w), nx.digits)
    for cond, msg in reversed(nr.guards):
        body = IF(cond, msg, body)
    rule_inputs = [i for i in ind.inputs if i not in ind.veto and i != ind.not_applicable]
    if rule_inputs:
        checks = [nx.check(i) for i in rule_inputs]
        body = IF(CAT(*checks).ne("") if len(checks) > 1 else checks[0].ne(""), first_message(checks), body)
    if ind.veto:
        vals = [nx.val(v).eq(1) for v in ind.veto]
        body = IF(OR(*vals) if len(vals) > 1 else vals[0], 0, body)
        checks = [nx.check(v) for v in ind.veto]
        body = IF(CAT(*checks).ne("") if len(checks) > 1 else checks[0].ne(""), first_message(checks), body)
    if ind.not_applicable:
        na = ind.not_applicable
        body = IF(nx.check(na).ne(""), nx.check(na), IF(nx.val(na).eq(1), nx.round(w), body))
    return body


def indicator_reason(ind, nx: Nx, score: X, weight: X) -> X:
    """The 扣分说明 reason: the message when there is no score; else what was found and the deduction."""
    nr = ind.rule.native(nx)
    d = nx.digits
    if nr.parts:
        lines = []
        for _name, pts, part in nr.parts:
            ded = ROUND(pts - nx.round(MIN(MAX(part.score, 0), pts)), d)
            lines.append(IF(ded > 0, CAT("；", part.phrase, "，扣 ", nx.num(ded), " 分"), ""))
        deducted = fn("MID", CAT(*lines), 2, 4000)
    else:
        deducted = CAT(nr.phrase, "，扣 ", nx.num(weight - score), " 分")
    body = IF(score >= weight, CAT(nr.phrase, "，得满分"), deducted)
    if ind.veto:
        vals = [nx.val(v).eq(1) for v in ind.veto]
        body = IF(OR(*vals) if len(vals) > 1 else vals[0],
                  f"{ind.veto_label}，本项指标得 0 分，扣 {_g(ind.weight)} 分", body)
    if ind.not_applicable:
        body = IF(nx.val(ind.not_applicable).eq(1), f"{ind.not_applicable_label}，得满分", body)
    return IF(NOT(ISNUMBER(score)), score, body)


def total(cells: X, n: int, digits: int, short=False) -> X:
    """Sum of scores; refuses (a dash where space is short, else the message udfs.total_message writes: the
    positions, i.e. on 评分表 the 序号, of the cells without a score) when any is not a number."""
    count = fn("COUNT", cells)
    if short:
        msg = Str("—")
    else:
        refs = [Ref(k[1], k) for k in cells.keys]
        listed = CAT(*[IF(ISNUMBER(r), "", f"{k}、") for k, r in enumerate(refs, 1)])
        msg = IF(count.eq(0), "各项分数均未得出，无法合计",
                 CAT("第 ", fn("LEFT", listed, fn("LEN", listed) - 1), " 项未得出分数，无法合计"))
    return IF(count < n, msg, ROUND(fn("SUM", cells), digits))


def grade(system, score: X) -> X:
    g = chain(score, [(iv, label) for iv, label in system.grades])
    return IF(NOT(ISNUMBER(score)), "综合评分未得出，无法评定等级",
              IF(OR(score < 0, score > system.total), f"综合评分超出 0–{_g(system.total)} 分，无法评定等级", g))


def rate(score: X, weight: X) -> X:
    return IF(ISNUMBER(score), score / weight, "—")


def target(expected: X, actual: X) -> X:
    """自评表 完成情况: 达成 / 未达成 for a numeric target ("≥90%", "=100%", "<5") against a numeric actual
    ("98.76%", "=98%", a number); identical text counts as 达成; anything else asks for a human judgement."""
    e, a = expected, actual
    two, one = fn("LEFT", e, 2), fn("LEFT", e, 1)
    ge, le = OR(two.eq(">="), one.eq("≥")), OR(two.eq("<="), one.eq("≤"))
    oplen = IF(OR(two.eq(">="), two.eq("<=")), 2,
               IF(OR(one.eq("≥"), one.eq("≤"), one.eq(">"), one.eq("<"), one.eq("=")), 1, 0))
    tv = fn("VALUE", fn("MID", e, oplen + 1, 99))
    av = IF(ISNUMBER(a), a, fn("VALUE", IF(fn("LEFT", a, 1).eq("="), fn("MID", a, 2, 99), a)))
    met = IF(ge, av >= tv, IF(le, av <= tv, IF(one.eq(">"), av > tv, IF(one.eq("<"), av < tv, av.eq(tv)))))
    numeric = fn("IFERROR", IF(met, "达成", "未达成"), "无法判断：请人工判断")
    a1, a2 = fn("LEFT", a, 1), fn("LEFT", a, 2)
    bound = OR(a1.eq("≥"), a1.eq("≤"), a1.eq(">"), a1.eq("<"), a1.eq("＞"), a1.eq("＜"), a2.eq("=>"), a2.eq("=<"))
    return IF(AND(e.eq(""), a.eq("")), "",
              IF(e.eq(""), "无法判断：预期指标值为空",
                 IF(a.eq(""), "无法判断：实际完成指标值为空",
                    IF(bound, "无法判断：实际值应为实测数值，请人工判断",
                       IF(a.eq(e), "达成", numeric)))))


# ============================================================================================ recalculation
def recalc(built, inputs: dict) -> dict:
    """Every native formula cell of ``built`` recomputed with the named inputs set to ``inputs`` (defined name ->
    cell value; None clears the cell) and the other cells as written: {(sheet, coordinate): value}."""
    over = {built.names[n]: v for n, v in inputs.items()}
    memo: dict = {}

    def env(key):
        if key in memo:
            return memo[key]
        if key in over:
            v = over[key]
        elif key in built.exprs:
            v = evaluate(built.exprs[key], env)
        elif key in built.cached:
            v = built.cached[key]
        else:
            from openpyxl.utils.cell import coordinate_to_tuple
            c = built.wb[key[0]]._cells.get(coordinate_to_tuple(key[1]))
            v = None if c is None else c.value
        memo[key] = v
        return v

    return {k: env(k) for k in built.exprs}
