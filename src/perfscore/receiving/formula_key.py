"""Formulas compared by meaning, not by spelling.

Excel, WPS and LibreOffice re-serialise every formula when they save a workbook: LibreOffice writes ``1E-09`` as
``0.000000001`` and ``4E-15`` as ``4E-015`` and shortens long decimals to 15 significant digits, Excel adds
``_xlfn.`` to newer functions, applications differ in quoting sheet names, in letter case and in spaces.
``formula_key(text)`` turns a formula into a hashable canonical form (a tuple of tokens) such that two formulas
get the same key exactly when they mean the same thing in the same cell; ``describe_difference(expected, got)``
names the first token where two formulas differ, in Chinese, for messages.

What the key keeps and what it drops:

- the leading ``=`` is optional; whitespace outside string literals is dropped. (Excel's intersection operator is
  a space: ``A1:B2 B1:C2`` keys as two adjacent references, which no formula without the space produces, so it
  still differs from everything else; perfscore's workbooks never use it.)
- string literals ``"..."`` (``""`` is a quote) are kept exactly, case and spaces included.
- numbers are compared as numbers: the literal is read as a double (as every spreadsheet stores it) and rounded to
  15 significant digits. ``1E-09``, ``1E-9``, ``1.0E-9``, ``0.000000001`` and ``.000000001`` are one number;
  ``0.30000000000000004`` equals ``0.3`` and ``300.5000000010012`` equals ``300.500000001001``, because
  LibreOffice writes at most 15 significant digits (Excel displays no more either). The price: two literals that
  differ only beyond the 15th significant digit are taken as the same. A literal too large for a double is kept
  as its exact decimal value.
- ``TRUE``/``FALSE`` (any case, also ``TRUE()``/``FALSE()``) are booleans; error literals (``#REF!``, ``#N/A``,
  ``#DIV/0!`` …) are upper-cased.
- references: ``$`` is dropped (a formula compared in place: absolute and relative address the same cell),
  column letters are upper-cased, the sheet prefix is kept without its quotes (``'基础数据'!$J$10`` =
  ``基础数据!J10``, quoted names un-doubled ``''`` → ``'``, upper-cased as sheet names are case-insensitive).
  In a range ``S!A1:B2`` the second end gets the sheet of the first (``S!A1:S!B2`` is the same range); full
  columns/rows written as ``A1:A1048576`` / ``A1:XFD1`` are ``A:A`` / ``1:1``. With ``sheet=`` (the sheet holding
  the formula) a reference to that sheet is the same as an unqualified one.
- function and defined names are upper-cased; ``_xlfn.``, ``_xludf.``, ``_xlws.`` prefixes are removed.
- operators ``+ - * / ^ & % = <> < <= > >= :``; a ``+``/``-`` where an operand is expected is unary and keyed
  as such (``=+A1`` is not taken to equal ``=A1``).
- ``,`` and ``;`` (LibreOffice's separator in its UI) are one argument separator; inside an array constant
  ``{1,2;3,4}`` they keep their own meanings (column and row separator).

Equal meaning the key does not see, because no application is known to write one for the other: ``+A1`` and
``A1``, ``50%`` and ``0.5``, ``(A1)`` and ``A1``, ``A1:A1`` and ``A1``, ``B2:A1`` and ``A1:B2``, ``"a"&"b"`` and
``"ab"``; a function name followed by a space before ``(`` is not a call. Different meaning it does not see: number
literals equal to 15 significant digits.

``formula_key`` never raises: any text gets a key; characters that are no part of a formula become tokens of
their own, so garbage matches only the same garbage. Pure standard library; the keys of the formulas seen are
cached, within a memory budget (see ``_CACHE_BUDGET``).
"""
from __future__ import annotations

import math
import re
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Token", "formula_key", "tokens", "describe_difference", "clear_cache"]

# ------------------------------------------------------------------------------------------ the scanner
# One regular expression, alternatives in order of priority (and roughly of frequency); every character of any
# text matches one of them, so a single finditer pass covers the formula.
_ERRORS = r"#(?i:NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|GETTING_DATA|SPILL!|CALC!|FIELD!|BLOCKED!|UNKNOWN!|CONNECT!|BUSY!)"
_END = r"(?![\w.\\?(!])"  # a reference must not run on into a name, a function call or a sheet prefix
_NAME = r"(?:[^\W\d]|\\)[\w.\\?]*"
_MAIN = re.compile(
    r"(?P<punct>[(),;{}])"
    r"|(?P<op><>|<=|>=|[-+*/^&%=<>:])"
    rf"|(?P<cell>\$?[A-Za-z]{{1,3}}\$?\d+){_END}"
    rf"|(?P<rows>\$?\d+:\$?\d+){_END}"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r'|(?P<str>"[^"]*(?:""[^"]*)*")'
    rf"|(?P<func>{_NAME})(?=\()"
    r"|(?:'(?P<qsheet>[^']+(?:''[^']*)*|(?:''[^']*)+)'|(?P<bsheet>(?:[^\W\d]|\\)[\w.]*))!"
    rf"(?:(?P<s_err>{_ERRORS})|(?P<s_cols>\$?[A-Za-z]{{1,3}}:\$?[A-Za-z]{{1,3}}){_END}"
    rf"|(?P<s_rows>\$?\d+:\$?\d+){_END}|(?P<s_cell>\$?[A-Za-z]{{1,3}}\$?\d+){_END}|(?P<s_name>{_NAME})"
    r"|(?P<s_bad>))"
    r"|(?P<ws>[ \t\r\n]+)"
    rf"|(?P<cols>\$?[A-Za-z]{{1,3}}:\$?[A-Za-z]{{1,3}}){_END}"
    rf"|(?P<err>{_ERRORS})"
    rf"|(?P<name>{_NAME})"
    r"|(?P<bad>[\"'].*)"  # an unterminated string or sheet name: the rest as written
    r"|(?P<other>.)",     # a character no formula has: a token of its own
    re.DOTALL,
)
_PREFIX = re.compile(r"^(?:_xl(?:fn|udf|ws)\.)+", re.IGNORECASE)
_CELL = re.compile(r"([A-Z]{1,3})(\d+)")
_MAX_ROW, _MAX_COL = 1048576, 16384
_DEC = Context(prec=15)
_OPERANDS = {"r", "n", "s", "b", "e", "N", ")", "}"}  # after these (and %), + and - are binary operators
_FIXED = {ch: (ch,) for ch in "(){}"} | {",": (",",), ";": (",",)}
_OPS = {op: ("o", op) for op in ("<>", "<=", ">=", "-", "+", "*", "/", "^", "&", "%", "=", "<", ">", ":",
                                  "u-", "u+")}
_PERCENT = _OPS["%"]


class Token(NamedTuple):
    """One token. Its key: ("f", NAME) a function; ("r", SHEET or None, "A1" | "A:C" | "1:3" | "#REF!") a reference;
    ("N", SHEET or None, NAME) a defined name; ("n", "%.15g" of the number); ("s", text); ("b", "TRUE"|"FALSE");
    ("e", "#N/A" …); ("o", operator, unary ones as "u-"/"u+"); ("(",) (")",) (",",) ("{",) ("}",); ("a,",) ("a;",)
    inside an array constant; ("?", text) anything else."""

    key: tuple      # what is compared
    text: str       # as written in the formula
    start: int      # offset in the formula


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _number_key(text: str) -> str:
    return _short_number_key(text) if len(text) <= 32 else _number_value(text)


@lru_cache(maxsize=4096)
def _short_number_key(text: str) -> str:
    return _number_value(text)


def _number_value(text: str) -> str:
    try:
        f = float(text)
        if math.isfinite(f):
            return "%.15g" % f
        return "big:" + str(_DEC.create_decimal(text).normalize(_DEC))
    except (ValueError, ArithmeticError, InvalidOperation):
        return "raw:" + text


def _row_ok(digits: str) -> bool:
    return len(digits) <= 7 and 1 <= int(digits) <= _MAX_ROW


def _ref(kind: str, text: str, sheet):
    """A cell, column range or row range as a reference key; a name when out of the sheet's bounds."""
    if len(text) <= 16 and (sheet is None or len(sheet) <= 64):
        return _short_ref(kind, text, sheet)
    return _ref_key(kind, text, sheet)


@lru_cache(maxsize=4096)
def _short_ref(kind: str, text: str, sheet):
    return _ref_key(kind, text, sheet)


def _ref_key(kind: str, text: str, sheet):
    t = text.replace("$", "").upper()
    if kind == "cell":
        c = _CELL.fullmatch(t)
        ok = c is not None and _col_number(c.group(1)) <= _MAX_COL and _row_ok(c.group(2))
    else:
        a, b = t.split(":")
        ok = (_row_ok(a) and _row_ok(b)) if kind == "rows" else (_col_number(a) <= _MAX_COL >= _col_number(b))
        if not ok and kind == "rows":
            return ("?", text)
    return ("r", sheet, t) if ok else ("N", sheet, t)


def _name(text: str) -> str:
    return (_PREFIX.sub("", text) if text[:1] == "_" else text).upper()


def _scan(text: str) -> tuple[list, list]:
    """The keys of the formula's tokens and their (start, end) spans."""
    keys: list = []
    spans: list = []
    braces = 0
    prev = None      # the last token's key
    colon = False    # a range operator seen: _ranges has work
    skip = 0         # the "()" after TRUE/FALSE
    for m in _MAIN.finditer(text, 1 if text[:1] == "=" else 0):
        if skip:
            skip -= 1
            continue
        kind = m.lastgroup
        v = m.group(kind)
        if kind == "punct":
            if braces and v in ",;":
                key = ("a" + v,)
            else:
                key = _FIXED[v]
                if v == "{":
                    braces += 1
                elif v == "}" and braces:
                    braces -= 1
        elif kind == "op":
            if v == "+" or v == "-":
                if prev is None or not (prev[0] in _OPERANDS or prev is _PERCENT):
                    v = "u" + v
            elif v == ":":
                colon = True
            key = _OPS[v]
        elif kind == "cell" or kind == "cols" or kind == "rows":
            key = _ref(kind, v, None)
        elif kind == "num":
            key = ("n", _number_key(v))
        elif kind == "str":
            key = ("s", v[1:-1].replace('""', '"'))
        elif kind == "func":
            key = ("f", _name(v))
            if key[1] in ("TRUE", "FALSE") and text.startswith("()", m.end()):
                key, skip = ("b", key[1]), 2  # TRUE() is TRUE
                keys.append(key)
                spans.append((m.start(), m.end() + 2))
                prev = key
                continue
        elif kind == "ws":
            continue
        elif kind == "name":
            key = _name(v)
            key = ("b", key) if key in ("TRUE", "FALSE") else ("N", None, key)
        elif kind == "err":
            key = ("e", v.upper())
        elif kind[:2] == "s_":
            q = m.group("qsheet")
            sheet = (q.replace("''", "'") if q is not None else m.group("bsheet")).upper()
            if kind == "s_err":
                key = ("r", sheet, v.upper())
            elif kind == "s_name":
                key = ("N", sheet, _name(v))
            elif kind == "s_bad":
                key = ("?", m.group(0))
            else:
                key = _ref(kind[2:], v, sheet)
        else:  # bad, other
            key = ("?", v)
        keys.append(key)
        spans.append(m.span())
        prev = key
    if colon:
        _ranges(keys, spans)
    return keys, spans


def _ranges(keys: list, spans: list) -> None:
    """In place: ``S!A1:B2`` = ``S!A1:S!B2``; ``A1:A1048576`` = ``A:A``; ``A1:XFD3`` = ``1:3``."""
    i = 2
    while i < len(keys):
        a, op, b = keys[i - 2], keys[i - 1], keys[i]
        if op == ("o", ":") and a[0] == "r" and b[0] == "r":
            if b[1] is None and a[1] is not None:
                keys[i] = b = ("r", a[1], b[2])
            if a[1] == b[1]:
                ca, cb = _CELL.fullmatch(a[2]), _CELL.fullmatch(b[2])
                whole = None
                if ca and cb and ca.group(2) == "1" and cb.group(2) == str(_MAX_ROW):
                    whole = f"{ca.group(1)}:{cb.group(1)}"
                elif ca and cb and ca.group(1) == "A" and _col_number(cb.group(1)) == _MAX_COL:
                    whole = f"{ca.group(2)}:{cb.group(2)}"
                if whole is not None:
                    keys[i - 2: i + 1] = [("r", a[1], whole)]
                    spans[i - 2: i + 1] = [(spans[i - 2][0], spans[i][1])]
                    continue
        i += 1


def _localise(keys: list, sheet: str | None) -> list:
    """References to ``sheet`` (the formula's own) written as unqualified ones."""
    if not sheet:
        return keys
    here = sheet.upper()
    return [(k[0], None) + k[2:] if k[0] in ("r", "N") and k[1] == here else k for k in keys]


# ------------------------------------------------------------------------------------------ the API
# The keys of the formulas seen, by (text, sheet). Thousands of workbooks made from one template repeat the same
# few hundred formulas (and each application's respelling of them), so nearly every call is a dictionary hit. The
# cache is bounded by the formula text it holds, not by a count: the text comes from received files, and a key takes
# about 18 bytes per character of formula; past the budget the cache starts afresh.
_CACHE: dict = {}
_CACHE_BUDGET = 4_000_000   # characters of formula text (≈ 80 MB with the keys); a 2020 Excel 公式版 template's
                            # formulas (with their sheet names) have ≈ 104,000, a Python 函数版's ≈ 9,000
_CACHE_MAX_TEXT = 16_384    # longer texts are not cached (Excel's limit for a formula is 8,192 characters)
_cached_chars = 0


def clear_cache() -> None:
    global _cached_chars
    _CACHE.clear()
    _cached_chars = 0


def _keys_spans(text, sheet) -> tuple[list, list]:
    if not isinstance(text, str):
        return [("?", type(text).__name__, repr(text))], [(0, 0)]
    try:
        keys, spans = _scan(text)
        return _localise(keys, sheet if isinstance(sheet, str) else None), spans
    except Exception:  # noqa: BLE001 - untrusted text: a key that matches only this text
        return [("?", "unreadable", text)], [(0, len(text))]


def tokens(text: str, sheet: str | None = None) -> list[Token]:
    """The formula's tokens: key (what is compared), text as written, offset. Never raises."""
    keys, spans = _keys_spans(text, sheet)
    src = text if isinstance(text, str) else repr(text)
    return [Token(k, src[a:b], a) for k, (a, b) in zip(keys, spans)]


def formula_key(text: str, sheet: str | None = None) -> tuple:
    """A hashable canonical form of the formula ``text`` (leading ``=`` optional): equal for two formulas exactly
    when they mean the same thing in the same cell (see the module docstring for what that covers). ``sheet``:
    the name of the sheet holding the formula, so that ``'评分表'!G4`` in 评分表 equals ``G4``. Never raises."""
    global _cached_chars
    if not isinstance(text, str) or not (sheet is None or isinstance(sheet, str)):
        return tuple(_keys_spans(text, sheet)[0])
    try:
        return _CACHE[(text, sheet)]
    except KeyError:
        pass
    key = tuple(_keys_spans(text, sheet)[0])
    size = len(text) + (len(sheet) if sheet else 0)
    if size <= _CACHE_MAX_TEXT:
        if _cached_chars + size > _CACHE_BUDGET:
            clear_cache()
        _CACHE[(text, sheet)] = key
        _cached_chars += size
    return key


def _show(t: Token | None) -> str:
    if t is None:
        return ""
    s = " ".join(t.text.split()) if t.key[0] != "s" else t.text
    s = s if len(s) <= 40 else s[:39] + "…"
    return f"“{s}”" if t.key[0] in ("o", "(", ")", "{", "}", ",", "a,", "a;") else s


def describe_difference(expected: str, got: str, sheet: str | None = None) -> str:
    """A short Chinese description of the first token where ``got`` differs from ``expected`` (“第 12 个记号：应为
    0.5，文件中为 0.6”), or "" when the two formulas mean the same. Never raises."""
    a, b = tokens(expected, sheet), tokens(got, sheet)
    i = 0
    while i < len(a) and i < len(b) and a[i].key == b[i].key:
        i += 1
    if i == len(a) and i == len(b):
        return ""
    where = ""
    if i:
        before = " ".join(expected[a[max(0, i - 3)].start: a[i - 1].start + len(a[i - 1].text)].split())
        where = f"（在“{before if len(before) <= 30 else '…' + before[-29:]}”之后）"
    if i == len(a):
        return f"第 {i + 1} 个记号{where}：文件中多出 {_show(b[i])}"
    if i == len(b):
        return f"第 {i + 1} 个记号{where}：应为 {_show(a[i])}，文件中的公式在此结束"
    return f"第 {i + 1} 个记号{where}：应为 {_show(a[i])}，文件中为 {_show(b[i])}"
