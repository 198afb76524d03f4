"""The Excel-formula workbook: every rule as native formulas, proven against the Python engine by LibreOffice
recalculating it (UNO, one soffice, the workbook loaded once), by the `formulas` engine, and by the formulas'
own Python evaluation that supplies the cached values."""
import json
import os
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from native_cases import base_raw, disagreements, edge_sets, expected_cells, input_set
from perfscore import REFERENCE_CASE, load_case, load_system
from perfscore.errors import PerfscoreError
from perfscore.excel.native import ALLOWED_FUNCTIONS, check_formula, functions_used, nesting, recalc
from perfscore.excel.workbook import build_workbook, write_workbook

ROOT = Path(__file__).resolve().parents[1]
LO_SCRIPT = ROOT / "src" / "perfscore" / "excel" / "uno" / "lo_recalc.py"
SYSTEM = load_system(2020)
CASE = load_case(REFERENCE_CASE)
N_LO_SETS = 320


def _lo_available():
    if shutil.which("soffice") is None or not os.path.exists("/usr/bin/python3"):
        return False
    return subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, timeout=30).returncode == 0


needs_lo = pytest.mark.skipif(not _lo_available(), reason="需要 LibreOffice：apt-get install libreoffice-calc python3-uno")


@pytest.fixture(scope="module")
def template():
    return build_workbook(SYSTEM, None, engine="excel")


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    built = build_workbook(SYSTEM, CASE, engine="excel")
    path = tmp_path_factory.mktemp("native") / "参考案例_公式版.xlsx"
    write_workbook(built, path)
    return built, path


def _named(raw):
    return {SYSTEM.inputs[i].name: v for i, v in raw.items() if SYSTEM.inputs[i].kind != "text"}


def _report(bad):
    """Disagreements grouped by family, each with the inputs that differ from the reference case."""
    base = base_raw(SYSTEM, CASE)
    by = defaultdict(list)
    for raw, fam, what in bad:
        changed = {k: v for k, v in raw.items() if base.get(k, "∅") != v}
        by[fam].append(f"{what}\n      输入（与参考案例不同的）：{json.dumps(changed, ensure_ascii=False)}")
    return "\n".join(f"[{fam}] {len(items)} 处\n    " + "\n    ".join(items[:3]) for fam, items in by.items())


# ------------------------------------------------------------------------------- the formulas themselves
def test_every_formula_uses_allowed_functions_within_limits(template, filled):
    for built in (template, filled[0]):
        assert len(built.formulas) > 200
        for key, text in built.formulas.items():
            assert check_formula(text) == [], (key, text[:200])
            assert functions_used(text) <= ALLOWED_FUNCTIONS
            assert len(text) <= 8192 and nesting(text) <= 64
        assert not any("PERF_" in t for t in built.formulas.values())


def test_check_formula_catches_forbidden_functions_and_limits():
    assert check_formula('=LET(x,1,x)') == ["函数 LET 不在允许的函数集中"]
    assert "函数 TEXTJOIN 不在允许的函数集中" in check_formula('=TEXTJOIN(",",TRUE,A1:A3)')
    assert check_formula('=IF(A1="XLOOKUP(",1,2)') == []  # inside a string literal
    deep = "=" + "ABS(" * 65 + "1" + ")" * 65
    assert any("嵌套 65 层" in p for p in check_formula(deep))
    assert any("长度" in p for p in check_formula("=" + "1+" * 4100 + "1"))


def test_no_vba_no_conf_sheet_names_validation_protection(filled):
    _, path = filled
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert not any("vba" in n.lower() for n in names)
        assert "fullCalcOnLoad" not in z.read("xl/workbook.xml").decode()
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["填报说明", "基础数据", "评分表", "自评表", "扣分说明"]
    assert {s.name for s in SYSTEM.inputs.values()} <= set(wb.defined_names)
    data = wb["基础数据"]
    assert data.column_dimensions["J"].hidden and data.column_dimensions["K"].hidden  # the helpers
    assert not any(data.column_dimensions[c].hidden for c in "ABCDEFGH")  # what the officer reads and fills
    dvs = data.data_validations.dataValidation
    assert len(dvs) == len(SYSTEM.inputs) and all(dv.error and dv.showErrorMessage for dv in dvs)
    assert all(ws.protection.sheet for ws in wb.worksheets)
    ws = wb["评分表"]
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$2:$3"
    assert ws["G8"].value.startswith("=IF(") and ws["G8"].protection.locked
    cached = openpyxl.load_workbook(path, data_only=True)["评分表"]
    assert cached["G8"].value == 1.95 and cached["G25"].value == 97.93 and cached["G26"].value == "优"


def test_half_even_is_refused_with_a_message(tmp_path):
    src = (ROOT / "src/perfscore/systems/shenzhen/2020.toml").read_text("utf-8").replace('mode = "half_up"', 'mode = "half_even"')
    p = tmp_path / "2020.toml"
    p.write_text(src, "utf-8")
    system = load_system(path=p)
    with pytest.raises(PerfscoreError, match="四舍六入五成双.*Python 版"):
        build_workbook(system, None, engine="excel")
    build_workbook(system, None, engine="python")  # the Python workbook is unaffected


def test_blank_input_gives_short_text_never_zero(template):
    got = recalc(template, {})
    assert got[("评分表", "G8")] == "未填写：政府采购预算数"
    assert got[("评分表", "G25")] == "各项分数均未得出，无法合计"
    base = base_raw(SYSTEM, CASE)
    got = recalc(template, {**_named(base), "政府采购实际数": None, "满意度": None})
    assert got[("评分表", "G25")] == "第 5、21 项未得出分数，无法合计"  # numbered as 扣分说明's 序号
    base = base_raw(SYSTEM, CASE)
    got = recalc(template, {**_named(base), "政府采购实际数": None})
    assert got[("评分表", "G8")] == "未填写：政府采购实际数"
    got = recalc(template, {**_named(base), "政府采购实际数": -5.0, "满意度": "很好", "涉密部门": "也许"})
    assert got[("评分表", "G8")] == "「政府采购实际数」（第 23 行）不能小于 0 元"  # names the 基础数据 row
    assert got[("评分表", "G24")] == "「满意度」（第 63 行）是文字，不是数字：请输入数字"
    assert got[("评分表", "G10")] == "「涉密部门」（第 32 行）应填“是”或“否”"


# ------------------------------------------------------------------------------- the formulas' own evaluation
_TEMPLATE = []


def _template():
    if not _TEMPLATE:
        _TEMPLATE.append(build_workbook(SYSTEM, None, engine="excel"))
    return _TEMPLATE[0]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_formula_evaluation_agrees_with_engine(data):
    raw = data.draw(input_set(SYSTEM, base_raw(SYSTEM, CASE)))
    got = recalc(_template(), _named(raw))
    bad = disagreements(SYSTEM, raw, got)
    assert not bad, _report([(raw, f, w) for f, w in bad])


def test_formula_evaluation_agrees_at_every_edge(template):
    sets = edge_sets(SYSTEM, CASE)
    assert len(sets) > 100
    bad = [(raw, f, w) for raw in sets for f, w in disagreements(SYSTEM, raw, recalc(template, _named(raw)))]
    assert not bad, _report(bad)


# ------------------------------------------------------------------------------- a real engine: LibreOffice
def _hypothesis_sets(n, seed_base, system=SYSTEM, typed=True):
    """``n`` input sets drawn by hypothesis (generate phase only, reproducible)."""
    out = []

    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate], derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(input_set(system, seed_base, typed))
    def collect(raw):
        out.append(raw)

    collect()
    return out


def lo_sets():
    base = base_raw(SYSTEM, CASE)
    edges = edge_sets(SYSTEM, CASE, seed=1)
    return edges + _hypothesis_sets(max(N_LO_SETS - len(edges), 200), base)


def run_lo(path, sets, read, tmp_path, pdf=None, timeout=600):
    jobs = tmp_path / "jobs.json"
    jobs.write_text(json.dumps({"read": read, "sets": sets}, ensure_ascii=False), "utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cmd = ["/usr/bin/python3", str(LO_SCRIPT), str(path), str(jobs), "--timeout", str(timeout)]
    if pdf:
        cmd += ["--save-pdf", str(pdf)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 60, env=env)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    values = []
    for row in out["results"]:
        values.append({tuple(k): (c["v"] if "v" in c else c["s"] if "s" in c else None if "empty" in c else f"#ERR{c['e']}")
                       for k, c in zip(read, row)})
    return values, out


@needs_lo
def test_libreoffice_recalculates_like_the_engine(filled, tmp_path):
    """≥300 input sets (every edge in cents exactly and one cent off, zero denominators, blanks, 是/否, partial
    checklist points, huge values) set through the defined names, recalculated by LibreOffice; every score,
    subtotal, total and grade equals the Python engine, and every native formula cell equals the formulas'
    own evaluation (the cached values)."""
    built, path = filled
    sets = lo_sets()
    assert len(sets) >= 300
    read = sorted({k for k in built.exprs if k[0] in ("评分表", "扣分说明")})
    got, out = run_lo(path, [_named(r) for r in sets], [list(k) for k in read], tmp_path)
    bad, emulated = [], []
    for raw, values in zip(sets, got):
        bad += [(raw, f, w) for f, w in disagreements(SYSTEM, raw, values)]
        mine = recalc(built, _named(raw))
        emulated += [(raw, "公式求值", f"{k}: LibreOffice {values[k]!r}，本程序 {mine[k]!r}")
                     for k in read if values[k] != mine[k]]
    print(f"LibreOffice：{len(sets)} 组输入，载入 {out['load_s']:.2f} s，每组重算中位数 "
          f"{sorted(out['recalc_s'])[len(sets) // 2] * 1000:.1f} ms")
    assert not bad, _report(bad)
    assert not emulated, _report(emulated[:20])


@needs_lo
def test_libreoffice_reference_case_pdf_and_one_edit(filled, tmp_path):
    built, path = filled
    read = [["评分表", "G8"], ["评分表", "G25"], ["评分表", "G26"], ["扣分说明", "I7"]]
    pdf = tmp_path / "参考案例_公式版.pdf"
    values, _ = run_lo(path, [{}], read, tmp_path, pdf=pdf)
    assert values[0][("评分表", "G25")] == 97.93 and values[0][("评分表", "G26")] == "优"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "97.93" in text and "优" in text and "政府采购执行率 95.15%，扣 0.05 分" in text
    values, _ = run_lo(path, [{"政府采购实际数": 14000}], read, tmp_path)
    v = values[0]
    assert v[("评分表", "G8")] == 1 and v[("评分表", "G25")] == 96.98 and v[("评分表", "G26")] == "优"
    assert v[("扣分说明", "I7")] == "政府采购执行率 106.06%，超过 100%，按规定得 0 分，扣 1 分"


ROUNDING_PROBES = [1.955, 0.955, 2.675, 1.005, 0.285, 0.125, 4.445, 97.925, 0.995, 5.985, 1.0049999999999999,
                   8.124999999999998, 4.574999999999999]


@needs_lo
def test_round_half_up_in_libreoffice_and_formulas_matches_ours(tmp_path):
    """ROUND on x.xx5 values: LibreOffice, `formulas` and native._round (the cached values) agree with the
    engine's half-up rounding."""
    from perfscore.excel.native import _round
    from perfscore.engine.numbers import round_to
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "R"
    for k, x in enumerate(ROUNDING_PROBES, 1):
        ws.cell(k, 1, f"=ROUND({x!r},2)")
    p = tmp_path / "round.xlsx"
    wb.save(p)
    values, _ = run_lo(p, [{}], [["R", f"A{k}"] for k in range(1, len(ROUNDING_PROBES) + 1)], tmp_path)
    lo = [values[0][("R", f"A{k}")] for k in range(1, len(ROUNDING_PROBES) + 1)]
    from perfscore.excel.formula_engine import evaluate
    fo = evaluate(p)
    fo = [fo[("R", f"A{k}")] for k in range(1, len(ROUNDING_PROBES) + 1)]
    ours = [_round(x, 2) for x in ROUNDING_PROBES]
    engine = [round_to(x, 2) for x in ROUNDING_PROBES]
    assert lo == ours == engine, (lo, ours, engine)
    # `formulas` rounds the exact binary product x·100 (1.005·100 = 100.49999999999999 → 1.00), Excel and
    # LibreOffice correct it to 15 significant digits first (1.01)
    from decimal import ROUND_HALF_UP, Decimal
    binary = [float(Decimal(x * 100).quantize(0, rounding=ROUND_HALF_UP)) / 100 for x in ROUNDING_PROBES]
    assert fo == binary, (fo, binary)
    assert fo[ROUNDING_PROBES.index(1.005)] == 1.0 and fo[ROUNDING_PROBES.index(0.285)] == 0.28


@needs_lo
def test_python_workbook_says_when_its_functions_cannot_run(tmp_path):
    """LibreOffice has no Python: after a recalculation the PERF_ cells are errors, and the status line says so."""
    from perfscore.excel.workbook import STATUS_TEXT
    built = build_workbook(SYSTEM, CASE)
    path = tmp_path / "参考案例.xlsm"
    write_workbook(built, path)
    statuses = [k for k, f in built.formulas.items() if "SUMPRODUCT(ISERROR" in f]
    assert [k[0] for k in statuses] == ["评分表", "扣分说明"] and all(built.cached[k] == " " for k in statuses)
    for k in statuses:  # inside the print area: it prints when the functions fail
        ws = built.wb[k[0]]
        last_row = int(str(ws.print_area).rsplit("$", 1)[1])
        assert int(k[1][1:]) <= last_row, (k, ws.print_area)
    assert not any(w in STATUS_TEXT for w in ("PERF_", "Python", "xlwings", "perfscore", "Ctrl", "docs/"))
    read = [list(k) for k in statuses] + [["评分表", "G8"]]
    pdf = tmp_path / "无Python.pdf"
    values, _ = run_lo(path, [{"政府采购实际数": 14000}], read, tmp_path, pdf=pdf)
    assert all(values[0][k] == STATUS_TEXT for k in statuses)
    assert str(values[0][("评分表", "G8")]).startswith("#ERR")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    assert text.replace("\n", "").count("本机无法运行评分函数") >= 2  # printed on both sheets that show scores


# ------------------------------------------------------------------------------- a second engine: `formulas`
N_FORMULAS_SETS = 40


def test_formulas_package_recalculates_like_the_engine(filled):
    """The same comparison through the `formulas` package (about 0.2 s a set here, so fewer sets)."""
    import numpy as np
    import schedula
    os.environ.setdefault("TQDM_DISABLE", "1")
    import formulas
    from formulas.functions import wrap_ufunc

    from perfscore.excel.native import _round
    built, path = filled
    book = path.name
    funcs = formulas.get_functions()
    binary_round = funcs["ROUND"]
    # Excel's and LibreOffice's ROUND (see the test above), so that this engine checks everything else
    funcs["ROUND"] = wrap_ufunc(lambda x, d: _round(float(x), int(d)))
    inputs = {n: built.names[n] for n in _named(base_raw(SYSTEM, CASE))}
    keys = list(expected_cells(SYSTEM, base_raw(SYSTEM, CASE)))
    try:
        model = formulas.ExcelModel().loads(str(path)).finish()
    finally:
        funcs["ROUND"] = binary_round
    func = model.compile(inputs=[f"'[{book}]{s}'!{c}" for s, c in inputs.values()],
                         outputs=[f"'[{book}]{s}'!{c}" for s, c in keys])
    # numbers only: `formulas` takes a text cell holding digits for a number (ISNUMBER("0") is TRUE there, FALSE in
    # Excel and LibreOffice), so typed text is proved by the evaluator above and by LibreOffice, not here
    sets = edge_sets(SYSTEM, CASE, seed=2)[::6] + _hypothesis_sets(N_FORMULAS_SETS, base_raw(SYSTEM, CASE), typed=False)
    bad = []
    for raw in sets[:N_FORMULAS_SETS]:
        named = _named(raw)
        args = [np.array([[schedula.EMPTY]], object) if named.get(n) is None else named[n] for n in inputs]
        res = func(*args)
        got = {}
        for k, r in zip(keys, res):
            v = r.value[0][0] if hasattr(r, "value") else r
            got[k] = float(v) if isinstance(v, (int, float, np.floating)) and not isinstance(v, (bool, np.bool_)) else (
                v if isinstance(v, str) else repr(v))
        bad += [(raw, f, w) for f, w in disagreements(SYSTEM, raw, got)]
    assert not bad, _report(bad)


# ------------------------------------------------------------------------------- every declared option, other families
def _variant(name):
    """The Shenzhen 2020 file with its declared readings switched, or the small system with the families
    Shenzhen does not use (step deduction, change against a selectable base, policy zero, deduction below)."""
    import tempfile
    from perfscore.engine.system import load_system_file
    if name == "other_families":
        return load_system_file(ROOT / "tests" / "data" / "other_families.toml")
    if name == "testprovince":
        return load_system_file(ROOT / "tests" / "data" / "systems" / "testprovince" / "2020.toml")
    src = (ROOT / "src/perfscore/systems/shenzhen/2020.toml").read_text("utf-8")
    for a, b in {"full_points": [('count_points = "pro_rata"', 'count_points = "full_points"'),
                                 ('capping = "each_quarter"', 'capping = "indicator"')],
                 "started_points": [('count_points = "pro_rata"', 'count_points = "started_points"'),
                                    ('compare = "exact"', 'compare = "as_printed"')]}[name]:
        assert a in src
        src = src.replace(a, b)
    d = Path(tempfile.mkdtemp(prefix="perfscore_variant_"))
    (d / "2020.toml").write_text(src, "utf-8")
    return load_system(path=d / "2020.toml")


VARIANTS = ["full_points", "started_points", "other_families"]
_BUILT = {}


def _variant_built(name):
    if name not in _BUILT:
        system = _variant(name)
        _BUILT[name] = (system, build_workbook(system, None, engine="excel"))
    return _BUILT[name]


@pytest.mark.parametrize("name", VARIANTS + ["testprovince"])
def test_declared_options_and_other_families_agree(name):
    from native_cases import generic_base
    system, built = _variant_built(name)
    base = base_raw(system, CASE) if name not in ("other_families", "testprovince") else generic_base(system)
    sets = edge_sets(system, base=base) + _hypothesis_sets(200, base, system)
    bad = []
    for raw in sets:
        named = {system.inputs[i].name: v for i, v in raw.items() if system.inputs[i].kind != "text"}
        bad += [(raw, f, w) for f, w in disagreements(system, raw, recalc(built, named))]
    assert not bad, _report(bad)


@needs_lo
@pytest.mark.parametrize("name", VARIANTS)
def test_libreoffice_agrees_on_declared_options_and_other_families(name, tmp_path):
    from native_cases import generic_base
    system, built = _variant_built(name)
    path = tmp_path / f"{name}.xlsx"
    write_workbook(built, path)
    base = base_raw(system, CASE) if name != "other_families" else generic_base(system)
    sets = (edge_sets(system, base=base, seed=3)[::2] + _hypothesis_sets(60, base, system))[:120]
    keys = list(expected_cells(system, base))
    named = [{system.inputs[i].name: v for i, v in raw.items() if system.inputs[i].kind != "text"} for raw in sets]
    got, _ = run_lo(path, named, [list(k) for k in keys], tmp_path)
    bad = [(raw, f, w) for raw, values in zip(sets, got) for f, w in disagreements(system, raw, values)]
    assert not bad, _report(bad)
