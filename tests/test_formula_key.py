"""formula_key: formulas compared by meaning. A table of what Excel, WPS and LibreOffice are known to write for a
formula perfscore generates, then properties: any text gets a key without raising, a formula and its re-spelled
variants get one key, and changing any number, reference, name, operator, string literal or argument changes it."""
import math
import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfscore.receiving.formula_key import describe_difference, formula_key, tokens

J10 = "'基础数据'!$J$10"
# (as perfscore generates it, as an application may write it back, same meaning?)
CASES = [
    # Excel writes _xlfn./_xlws. before functions newer than 2007, _xludf. before unknown ones; WPS the same
    ("=IFERROR(A1,0)", "=_xlfn.IFERROR(A1,0)", True),
    ("=SORT(A1:A3)", "=_xlfn._xlws.SORT(A1:A3)", True),
    ("=PERF_TOTAL(G4:G24)", "=_xludf.PERF_TOTAL(G4:G24)", True),
    ("=PERF_TOTAL(G4:G24)", "=_XLUDF.perf_total(g4:g24)", True),
    # sheet names: quoted or not, $ or not
    (f"={J10}", "=基础数据!$J$10", True),
    (f"={J10}", "=基础数据!J10", True),
    (f"={J10}", "='基础数据'!J$10", True),
    (f"={J10}*100", "=基础数据!$j$10 * 100", True),
    ("='it''s'!A1", "='it''s'!$A$1", True),
    ("=Sheet1!A1", "=SHEET1!A1", True),  # sheet names are case-insensitive
    ("='DA2020'!A1", "=DA2020!A1", True),  # a sheet name that looks like a cell
    ("='基础数据'!A1:B2", "='基础数据'!A1:'基础数据'!B2", True),
    ("=SUM('基础数据'!$A:$A)", "=SUM('基础数据'!$A$1:$A$1048576)", True),
    ("=SUM(2:3)", "=SUM($A$2:$XFD$3)", True),
    ("=SUM(A:A)", "=sum(a:a)", True),
    ("=SUM(1:1)", "=SUM($1:$1)", True),
    # numbers: LibreOffice writes 1E-09 as 0.000000001, 4E-15 as 4E-015, at most 15 significant digits
    ("=A1+1E-09", "=A1+0.000000001", True),
    ("=A1+1E-09", "=A1+1E-9", True),
    ("=A1+1E-09", "=A1+1.0E-9", True),
    ("=A1+1E-09", "=A1+1e-009", True),
    ("=A1+1E-09", "=A1+.000000001", True),
    ("=A1+1E-09", "=A1+0.0000000010", True),
    ("=A1*(1+4E-15)", "=A1*(1+4E-015)", True),
    ("=A1*300.50000000000006", "=A1*300.5", True),
    ("=A1*0.30000000000000004", "=A1*0.3", True),
    ("=A1>=300.5000000010012", "=A1>=300.500000001001", True),
    ("=A1/1000000000000000.0", "=A1/1E+15", True),
    ("=A1/1000000000000000.0", "=A1/1000000000000000", True),
    ("=A1*0.5", "=A1*.5", True),
    ("=A1*100", "=A1*1E2", True),
    # function and name case, spaces, separators
    ("=IF(A1>0,SUM(B1:B2),0)", "=if(a1>0,sum(b1:b2),0)", True),
    ("=IF(A1>0,SUM(B1:B2),0)", "= IF( A1 > 0 , SUM( B1 : B2 ) , 0 )", True),
    ("=IF(A1>0,SUM(B1:B2),0)", "=IF(A1>0;SUM(B1:B2);0)", True),
    ("=IF(A1>0,SUM(B1:B2),0)", "IF(A1>0,SUM(B1:B2),0)", True),  # the leading = is optional
    ("=IF(A1>0,SUM(B1:B2),0)", "=IF(A1>0,\n  SUM(B1:B2),\n  0)", True),
    ("=IF(部门名称=\"\",\"\",部门名称)", "=if(部门名称 = \"\", \"\", 部门名称)", True),
    ("=Rate*2", "=RATE*2", True),
    # booleans, errors, strings
    ("=IF(A1,TRUE,FALSE)", "=IF(A1,true,false)", True),
    ("=IF(A1,TRUE,FALSE)", "=IF(A1,TRUE(),FALSE())", True),
    ("=IFERROR(A1,#N/A)", "=IFERROR(A1,#n/a)", True),
    ("=A1&\"\"\"\"", "=A1 & \"\"\"\"", True),
    ("=\"未填写：\"&B2", "=\"未填写：\" & B2", True),
    ("=-A1", "=- A1", True),
    ("=A1-1", "=A1 - 1", True),
    ("=2^-1%", "=2 ^ -1 %", True),
    ("={1,2;3,4}", "={1, 2; 3, 4}", True),
    # --- not the same
    ("=A1+1E-09", "=A1+1E-08", False),
    ("=A1*0.5", "=A1*0.6", False),
    ("=A1*300.5", "=A1*300.6", False),
    ("=A1>=300.5000000010012", "=A1>=300.50000001", False),
    (f"={J10}", "=基础数据!J11", False),
    (f"={J10}", "=基础数据!K10", False),
    (f"={J10}", "='评分表'!J10", False),
    (f"={J10}", "=J10", False),  # which sheet a reference means is kept
    ("=A1:B2", "=A1:B3", False),
    ("=\"是\"", "=\"否\"", False),
    ("=\"abc\"", "=\"ABC\"", False),  # string literals keep their case
    ("=\"a b\"", "=\"ab\"", False),   # and their spaces
    ("=A1&\"\"\"\"", "=A1&\"\"", False),
    ("=A1>0", "=A1>=0", False),
    ("=A1<>0", "=A1=0", False),
    ("=A1-B1", "=A1+B1", False),
    ("=A1&B1", "=A1+B1", False),
    ("=IF(A1,1)", "=IF(A1,1,0)", False),  # an extra argument
    ("=ROUND(A1,2)", "=ROUNDDOWN(A1,2)", False),
    ("=政府采购预算数", "=政府采购实际数", False),
    ("=IF(A1,TRUE,FALSE)", "=IF(A1,FALSE,TRUE)", False),
    ("=IF(A1,TRUE,0)", "=IF(A1,1,0)", False),
    ("=IF(A1,TRUE,0)", "=IF(A1,\"TRUE\",0)", False),
    ("=IFERROR(A1,#N/A)", "=IFERROR(A1,#REF!)", False),
    ("=-A1", "=A1", False),
    ("=+A1", "=A1", False),  # kept: no application is known to drop it
    ("={1,2;3,4}", "={1;2,3;4}", False),
    ("=SUM(A1,B1)", "=SUM(A1:B1)", False),
    ("=SUM(A1,B1)", "=SUM(A1 B1)", False),  # the intersection operator (never used by perfscore)
    ("=IF(A1,1,2)", "=IF(A1,1,2", False),
    ("=\"a\"", "=\"a", False),
]


@pytest.mark.parametrize("generated, saved, same", CASES)
def test_known_serialisations(generated, saved, same):
    assert (formula_key(generated) == formula_key(saved)) is same
    assert (describe_difference(generated, saved) == "") is same


def test_the_formulas_own_sheet():
    assert formula_key("='评分表'!G4*2", sheet="评分表") == formula_key("=G4*2", sheet="评分表")
    assert formula_key("='评分表'!G4*2") != formula_key("=G4*2")
    assert formula_key("='评分表'!G4*2", sheet="扣分说明") != formula_key("=G4*2", sheet="扣分说明")


def test_tokens_and_descriptions():
    toks = tokens("=IF('基础数据'!$J$10<>\"\",1E-09,TRUE())")
    assert [t.text for t in toks] == ["IF", "(", "'基础数据'!$J$10", "<>", '""', ",", "1E-09", ",", "TRUE()", ")"]
    assert toks[2].key == ("r", "基础数据", "J10") and toks[6].key == ("n", "1e-09")
    assert describe_difference("=IF(A1>0.5,1,2)", "=IF(A1>0.6,1,2)") == "第 5 个记号（在“(A1>”之后）：应为 0.5，文件中为 0.6"
    assert describe_difference("=IF(A1,1)", "=IF(A1,1,0)").endswith("：应为 “)”，文件中为 “,”")
    assert describe_difference("=A1", "=A1+1") == "第 2 个记号（在“A1”之后）：文件中多出 “+”"
    assert describe_difference("=A1+1", "=A1") == "第 2 个记号（在“A1”之后）：应为 “+”，文件中的公式在此结束"
    assert describe_difference("=A1+1E-09", "=A1+0.000000001") == ""


@pytest.mark.parametrize("text", [None, 3, 1.5, b"=A1", ["=A1"], "", "=", "'", '"', "'!", "x!", "#", "#REF",
                                  "A" + "1" * 5000, "1" * 5000, "9" * 400 + "E9999999999", "1E99999",
                                  "=" + "(" * 10000, "\x00\ud800\uffff", "A1:" * 3000, "'" * 7 + "!A1"])
def test_odd_inputs_get_a_key(text):
    k = formula_key(text)
    assert isinstance(k, tuple) and hash(k) is not None
    assert describe_difference(text, "=A1") != ""
    tokens(text)


def test_garbage_matches_only_itself():
    assert formula_key('="abc') != formula_key('="ABC')
    assert formula_key("=A1 ？ 2") != formula_key("=A1 ! 2")
    assert formula_key("=1E99999") != formula_key("=1E99998")
    assert formula_key("=1E99999") != formula_key("=1E308")


# ------------------------------------------------------------------------------------------ properties
@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80) | st.text(alphabet="=()'\"!$:;,{}#ABCDEFGHIJKxyz0123456789.eE+-*/^&%<> _基础数据\n",
                                      max_size=80))
def test_any_text_gets_a_key_without_raising(text):
    k = formula_key(text)
    hash(k)
    assert formula_key(text) == k
    describe_difference(text, text + "1")
    assert describe_difference(text, text) == ""


# A small formula grammar: nodes are tuples; render() spells a node in one of the ways applications do.
SHEETS = ["基础数据", "评分表", "Sheet 1", "it's", "Data2020", "扣分说明", "AB12"]
NAMES = ["部门名称", "规则年度", "Rate_a", "x.y", "政府采购预算数", "政府采购实际数"]
FUNCS = ["IF", "SUM", "ROUND", "IFERROR", "MIN", "MAX", "PERF_TOTAL", "LEFT"]
ERRORS = ["#N/A", "#REF!", "#DIV/0!", "#VALUE!", "#NAME?", "#NUM!", "#NULL!"]
OPS = ["+", "-", "*", "/", "^", "&", "=", "<>", "<", "<=", ">", ">="]

numbers = st.floats(min_value=0, max_value=1e20, allow_nan=False, allow_infinity=False)
cells = st.tuples(st.integers(1, 16384), st.integers(1, 1048576))
leaves = st.one_of(
    st.tuples(st.just("num"), numbers),
    st.tuples(st.just("str"), st.text(alphabet='ab "是否：%', max_size=6)),
    st.tuples(st.just("bool"), st.booleans()),
    st.tuples(st.just("err"), st.sampled_from(ERRORS)),
    st.tuples(st.just("name"), st.sampled_from(NAMES)),
    st.tuples(st.just("ref"), st.none() | st.sampled_from(SHEETS), cells, st.none() | cells),
)
trees = st.recursive(leaves, lambda kids: st.one_of(
    st.tuples(st.just("func"), st.sampled_from(FUNCS), st.lists(kids, min_size=1, max_size=4)),
    st.tuples(st.just("bin"), st.sampled_from(OPS), kids, kids),
    st.tuples(st.just("neg"), kids),
    st.tuples(st.just("pct"), kids),
    st.tuples(st.just("paren"), kids),
), max_leaves=12)


def col_letters(n):
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def number_spellings(v):
    out = {repr(v), "%.15g" % v, "%.17g" % v, "%.15E" % v}
    if v and 1e-300 < v:
        e = int(math.floor(math.log10(v)))
        m = "%.14f" % (v / 10 ** e)
        out.add(f"{m.rstrip('0').rstrip('.')}E{e:+04d}")  # LibreOffice's 4E-015 style
    out = {s for s in out if float("%.15g" % float(s)) == float("%.15g" % v)}
    return sorted(out)


def render(node, style):
    """One spelling of ``node``; ``style`` is a random.Random that picks the spelling of each part."""
    r = style
    sp = lambda: r.choice(["", "", " ", "\n "])  # noqa: E731
    kind = node[0]
    if kind == "num":
        return r.choice(number_spellings(node[1]))
    if kind == "str":
        return '"' + node[1].replace('"', '""') + '"'
    if kind == "bool":
        word = "TRUE" if node[1] else "FALSE"
        return r.choice([word, word.lower(), word.title(), word + "()"])
    if kind == "err":
        return r.choice([node[1], node[1].lower()])
    if kind == "name":
        return r.choice([node[1], node[1].upper(), node[1].lower()])
    if kind == "ref":
        _, sheet, a, b = node

        def cell(c):
            letters = col_letters(c[0])
            letters = r.choice([letters, letters.lower()])
            return f"{r.choice(['', '$'])}{letters}{r.choice(['', '$'])}{c[1]}"

        def prefix():
            if sheet is None:
                return ""
            bare_ok = sheet.replace(".", "").isidentifier() and not sheet[:1].isdigit()
            quoted = "'" + sheet.replace("'", "''") + "'!"
            s = r.choice([quoted, sheet + "!"]) if bare_ok else quoted
            return s if r.random() < 0.5 else s.upper() if bare_ok else s
        text = prefix() + cell(a)
        if b is not None:
            text += ":" + (prefix() if r.random() < 0.5 else "") + cell(b)
        return text
    if kind == "func":
        name = r.choice([node[1], node[1].lower(), "_xlfn." + node[1], "_xludf." + node[1]])
        sep = r.choice([",", ";"])
        return name + "(" + sp() + (sp() + sep + sp()).join(render(k, r) for k in node[2]) + sp() + ")"
    if kind == "bin":
        return render(node[2], r) + sp() + node[1] + sp() + render(node[3], r)
    if kind == "neg":
        return "-" + sp() + render(node[1], r)
    if kind == "pct":
        return render(node[1], r) + sp() + "%"
    if kind == "paren":
        return "(" + sp() + render(node[1], r) + sp() + ")"
    raise AssertionError(kind)


def spell(tree, style):
    return style.choice(["=", "", "= "]) + render(tree, style)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.randoms(use_true_random=False), st.randoms(use_true_random=False))
def test_respelled_formulas_get_one_key(tree, style1, style2):
    a, b = spell(tree, style1), spell(tree, style2)
    assert formula_key(a) == formula_key(b), (a, b, describe_difference(a, b))


def paths(node, here=()):
    """Every place in the tree a mutation can change."""
    kind = node[0]
    if kind in ("num", "str", "bool", "err", "name", "ref"):
        yield here
    elif kind == "func":
        yield here
        for i, k in enumerate(node[2]):
            yield from paths(k, here + (i,))
    elif kind == "bin":
        yield here
        yield from paths(node[2], here + (0,))
        yield from paths(node[3], here + (1,))
    else:
        yield from paths(node[1], here + (0,))


def mutate(node, path, r):
    if path:
        i, rest = path[0], path[1:]
        kind = node[0]
        if kind == "func":
            args = list(node[2])
            args[i] = mutate(args[i], rest, r)
            return (kind, node[1], args)
        if kind == "bin":
            parts = [node[2], node[3]]
            parts[i] = mutate(parts[i], rest, r)
            return (kind, node[1], *parts)
        return (kind, mutate(node[1], rest, r))
    kind = node[0]
    if kind == "num":
        v = node[1]
        for w in (v + 1, v * 2 + 0.5, v * 1.0000001 + 1e-9):
            if "%.15g" % w != "%.15g" % v:
                return ("num", w)
        raise AssertionError(v)
    if kind == "str":
        return ("str", node[1] + r.choice(["x", " ", '"', "是"]))
    if kind == "bool":
        return ("bool", not node[1])
    if kind == "err":
        return ("err", r.choice([e for e in ERRORS if e != node[1]]))
    if kind == "name":
        return ("name", r.choice([n for n in NAMES if n != node[1]]))
    if kind == "ref":
        _, sheet, a, b = node
        what = r.randrange(4 if b is not None else 3)
        if what == 0:
            sheet = r.choice([s for s in SHEETS + [None] if s != sheet])
        elif what == 1:
            a = (a[0] % 16384 + 1, a[1])
        elif what == 2:
            a = (a[0], a[1] % 1048576 + 1)
        else:
            b = (b[0], b[1] % 1048576 + 1)
        return ("ref", sheet, a, b)
    if kind == "func":
        if r.random() < 0.5:
            return ("func", r.choice([f for f in FUNCS if f != node[1]]), node[2])
        return ("func", node[1], node[2] + [("num", 0.0)])  # an extra argument
    if kind == "bin":
        return ("bin", r.choice([o for o in OPS if o != node[1]]), node[2], node[3])
    raise AssertionError(kind)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.randoms(use_true_random=False), st.randoms(use_true_random=False), st.data())
def test_any_change_changes_the_key(tree, style1, style2, data):
    where = data.draw(st.sampled_from(list(paths(tree))))
    changed = mutate(tree, where, style1)
    a, b = spell(tree, style1), spell(changed, style2)
    assert formula_key(a) != formula_key(b), (a, b)
    assert describe_difference(a, b) != ""


# ------------------------------------------------------------------------------------------ a real LibreOffice save
ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "workbook").glob("*.xls[xm]"))


def _lo_available():
    if shutil.which("soffice") is None or not os.path.exists("/usr/bin/python3"):
        return False
    return subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, timeout=30).returncode == 0


needs_lo = pytest.mark.skipif(not _lo_available(), reason="需要 LibreOffice：apt-get install libreoffice-calc python3-uno")


def _convert(paths, target: str, outdir: Path, profile: Path):
    """``soffice --convert-to`` (one process for all the files): a save by LibreOffice with no edit."""
    subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
                    "--convert-to", target, "--outdir", str(outdir), *map(str, paths)],
                   check=True, capture_output=True, timeout=300)


def _formulas(path):
    """(what, sheet, where) -> formula text, for every formula cell, validation formula and defined name."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            out.update({("cell", ws.title, c.coordinate): c.value for c in row
                        if isinstance(c.value, str) and c.value.startswith("=")})
        for dv in ws.data_validations.dataValidation:
            out[("validation", ws.title, str(dv.sqref))] = dv.formula1
    out.update({("name", None, n): d.attr_text for n, d in wb.defined_names.items()})
    return out


@needs_lo
def test_every_formula_keeps_its_key_through_a_libreoffice_save(tmp_path):
    _convert(COMMITTED, "xlsx:Calc MS Excel 2007 XML", tmp_path / "xlsx", tmp_path / "profile")
    _convert([p for p in COMMITTED if p.suffix == ".xlsm"], "xlsm:Calc MS Excel 2007 VBA XML", tmp_path / "xlsm",
             tmp_path / "profile")
    pairs = [(p, tmp_path / "xlsx" / (p.stem + ".xlsx")) for p in COMMITTED]
    pairs += [(p, tmp_path / "xlsm" / p.name) for p in COMMITTED if p.suffix == ".xlsm"]
    lines, bad = [], []
    for original, saved in pairs:
        a, b = _formulas(original), _formulas(saved)
        assert set(a) == set(b), (saved.name, set(a) ^ set(b))  # LibreOffice adds or drops no formula cell
        text = [k for k in a if a[k] != b[k]]
        meaning = [k for k in text if formula_key(a[k], k[1]) != formula_key(b[k], k[1])]
        bad += [(saved.name, k, describe_difference(a[k], b[k], k[1])) for k in meaning]
        counts = "; ".join(f"{what}s {sum(k[0] == what for k in a)}, spelt differently "
                           f"{sum(k[0] == what for k in text)}, different by key {sum(k[0] == what for k in meaning)}"
                           for what in ("cell", "validation", "name"))
        lines.append(f"{original.name} → {saved.parent.name}/{saved.name}: formula {counts}")
        if original.suffix == ".xlsx":
            assert text  # 1E-09 → 0.000000001: the save did rewrite the formulas
    print("\n".join(lines))
    assert not bad, bad


def test_the_cache_is_bounded_by_the_text_it_holds(monkeypatch):
    import perfscore.receiving.formula_key as fk
    monkeypatch.setattr(fk, "_CACHE_BUDGET", 10_000)
    fk.clear_cache()
    for i in range(2000):
        formula_key(f"=A1+{i}*B{i % 100 + 1}&\"{'x' * 50}\"")
        assert fk._cached_chars <= 10_000
    formula_key("=" + "1+" * 10_000 + "1")  # longer than any real formula: computed, not kept
    assert all(len(t) <= fk._CACHE_MAX_TEXT for t, _ in fk._CACHE)
    assert formula_key("=A1+1") == formula_key("=a1 + 1")
    fk.clear_cache()
