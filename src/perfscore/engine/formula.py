"""The formula language the rule families write their native (Excel-formula workbook) translation in.

A small expression tree: constants, cell and range references, operators and the spreadsheet functions that
Excel 2010, WPS and LibreOffice all have (``ALLOWED_FUNCTIONS``), each rendering to formula text with ``text()``.
Each family's ``native(nx)`` in ``rules.py`` builds one of these beside its Python ``evaluate()``, so the engine
says what a rule computes in both forms without knowing anything about workbooks. There is no interpreter here:
evaluating an expression with spreadsheet semantics (for the cached values a workbook stores) and everything that
refers to cells (``Nx``, the input checks, totals and grades) is the Excel side's, in ``perfscore.excel.native``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

# Functions present in Excel 2010, WPS and LibreOffice (see docs/excel-formula-workbook.md).
ALLOWED_FUNCTIONS = frozenset({
    "IF", "AND", "OR", "NOT", "MIN", "MAX", "SUM", "SUMPRODUCT", "COUNT", "ROUND", "INT", "ABS", "ISBLANK",
    "ISNUMBER", "ISTEXT", "ISERROR", "IFERROR", "INDEX", "MATCH", "CHOOSE", "TEXT", "LEN", "VALUE", "LEFT",
    "MID", "RIGHT", "ASC", "SUBSTITUTE",
})


class X:
    """A formula expression; ``text()`` is what the cell holds. (Its value with spreadsheet semantics is computed
    Excel-side: ``perfscore.excel.native.evaluate``.)"""

    def text(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    # arithmetic, comparison and concatenation build new expressions
    def __add__(self, o): return Op("+", self, lit(o))
    def __radd__(self, o): return Op("+", lit(o), self)
    def __sub__(self, o): return Op("-", self, lit(o))
    def __rsub__(self, o): return Op("-", lit(o), self)
    def __mul__(self, o): return Op("*", self, lit(o))
    def __rmul__(self, o): return Op("*", lit(o), self)
    def __truediv__(self, o): return Op("/", self, lit(o))
    def __rtruediv__(self, o): return Op("/", lit(o), self)
    def __neg__(self): return Op("-", Num(0), self)
    def __lt__(self, o): return Op("<", self, lit(o))
    def __le__(self, o): return Op("<=", self, lit(o))
    def __gt__(self, o): return Op(">", self, lit(o))
    def __ge__(self, o): return Op(">=", self, lit(o))
    def eq(self, o): return Op("=", self, lit(o))
    def ne(self, o): return Op("<>", self, lit(o))
    def __and__(self, o): return Op("&", self, lit(o))
    def __rand__(self, o): return Op("&", lit(o), self)


def lit(v) -> X:
    if isinstance(v, X):
        return v
    if isinstance(v, bool):
        raise TypeError("booleans are not written into formulas")
    if isinstance(v, (int, float)):
        return Num(float(v))
    if isinstance(v, str):
        return Str(v)
    raise TypeError(f"cannot write {v!r} into a formula")


@dataclass(frozen=True, eq=False)
class Num(X):
    v: float

    def text(self):
        if not math.isfinite(self.v):
            raise ValueError("infinite constant in a formula")
        if self.v == int(self.v) and abs(self.v) < 1e15:
            return str(int(self.v))
        return repr(self.v).upper()


@dataclass(frozen=True, eq=False)
class Str(X):
    v: str

    def text(self):
        return '"' + self.v.replace('"', '""') + '"'


@dataclass(frozen=True, eq=False)
class Ref(X):
    """A cell: ``ref`` as written in the formula (a defined name, 'sheet'!$A$1 or A1), ``key`` (sheet, A1)."""
    ref: str
    key: tuple

    def text(self):
        return self.ref


@dataclass(frozen=True, eq=False)
class Rng(X):
    ref: str
    keys: tuple

    def text(self):
        return self.ref


@dataclass(frozen=True, eq=False)
class Op(X):
    op: str
    a: X
    b: X

    def text(self):
        a, b = self.a.text(), self.b.text()
        if isinstance(self.a, Op) and _PREC[self.a.op] < _PREC[self.op]:
            a = f"({a})"
        if isinstance(self.b, Op) and _PREC[self.b.op] <= _PREC[self.op]:
            b = f"({b})"
        return f"{a}{self.op}{b}"


_PREC = {"=": 0, "<>": 0, "<": 0, "<=": 0, ">": 0, ">=": 0, "&": 1, "+": 2, "-": 2, "*": 3, "/": 3}


@dataclass(frozen=True, eq=False)
class Fn(X):
    name: str
    args: tuple

    def text(self):
        return f"{self.name}({','.join(a.text() for a in self.args)})"


def fn(name, *args) -> X:
    assert name in ALLOWED_FUNCTIONS, name
    return Fn(name, tuple(lit(a) for a in args))


def IF(c, a, b) -> X:
    return fn("IF", c, a, b)


def ROUND(x, d) -> X:
    return fn("ROUND", x, d)


def AND(*a): return fn("AND", *a)
def OR(*a): return fn("OR", *a)
def NOT(a): return fn("NOT", a)
def MIN(*a): return fn("MIN", *a)
def MAX(*a): return fn("MAX", *a)
def INT(a): return fn("INT", a)
def ISNUMBER(a): return fn("ISNUMBER", a)
def ISBLANK(a): return fn("ISBLANK", a)


def SUM(*a):
    return a[0] if len(a) == 1 else fn("SUM", *a)


def CAT(*parts) -> X:
    """Concatenate text pieces (strings or expressions)."""
    out = lit(parts[0])
    for p in parts[1:]:
        out = Op("&", out, lit(p))
    return out


def first_message(checks) -> X:
    """The first non-empty of several check cells ("" when valid)."""
    checks = list(checks)
    out = checks[-1]
    for c in reversed(checks[:-1]):
        out = IF(c.ne(""), c, out)
    return out


def ABS(x): return fn("ABS", x)


@dataclass
class NativeRule:
    """A family's translation: ``guards`` [(condition, message)] checked in order before scoring (a message
    instead of a score), ``score`` (unrounded unless the family rounds parts) and ``phrase`` (what was found,
    as text, like Outcome.phrase), ``parts`` [(name, points, NativeRule)] for a composite."""
    guards: list = field(default_factory=list)
    score: X = None
    phrase: X = None
    parts: tuple = ()
    rounded: bool = False  # the score is already a sum of rounded items (checklist)


def interval_test(x: X, iv, domain_min=-math.inf) -> X | None:
    """The condition ``x in iv`` (None when always true)."""
    conds = []
    if not math.isinf(iv.lo) and not (iv.lo <= domain_min and iv.lo_closed):
        conds.append(x >= iv.lo if iv.lo_closed else x > iv.lo)
    if not math.isinf(iv.hi):
        conds.append(x <= iv.hi if iv.hi_closed else x < iv.hi)
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else AND(*conds)


def chain(x: X, cases, domain_min=-math.inf) -> X:
    """IF(x in iv1, v1, IF(x in iv2, v2, … vN)) over intervals that tile the domain (the last is the rest)."""
    out = lit(cases[-1][1])
    for iv, v in reversed(cases[:-1]):
        c = interval_test(x, iv, domain_min)
        out = lit(v) if c is None else IF(c, v, out)
    return out
