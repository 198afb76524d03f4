"""The Excel functions: real xlwings Windows registration, xlwings-style conversions, messages, the total that
refuses, the rules year fixed per workbook, and the committed xlwings_udfs module kept current."""
import datetime as dt
import functools
import inspect
import re
from pathlib import Path

import pytest

import perfscore.udfs as udfs
from perfscore import available_years, load_system
from perfscore.excel.xlwings_bridge import generate_udf_module, registered_functions, windows_xlwings_udfs

ROOT = Path(__file__).resolve().parents[1]
SYSTEM = load_system(2020)
INDICATOR_FUNCS = [i.function for i in SYSTEM.indicators]
OTHER_FUNCS = ["PERF_TOTAL", "PERF_GRADE", "PERF_RATE", "PERF_REASON", "PERF_TARGET"]


@pytest.fixture(scope="module")
def registered():
    with windows_xlwings_udfs() as real:
        assert real.__name__ == "xlwings.udfs" and hasattr(real, "generate_vba_wrapper")
        return registered_functions(real.xlfunc, real.xlarg)


def test_one_function_per_indicator_plus_helpers(registered):
    assert set(registered) == set(INDICATOR_FUNCS) | set(OTHER_FUNCS)
    assert len(INDICATOR_FUNCS) == 21


@pytest.mark.parametrize("name", INDICATOR_FUNCS + OTHER_FUNCS)
def test_real_windows_registration_with_docs(registered, name):
    info = registered[name].__xlfunc__
    assert info["name"] == name and info["category"] == "绩效评分" and not info["sub"]
    assert re.search(r"[\u4e00-\u9fff]", info["ret"]["doc"]) and len(info["ret"]["doc"]) <= 255
    for a in info["args"]:
        assert not a["doc"].startswith("Positional argument"), (name, a["name"])
        assert re.search(r"[\u4e00-\u9fff]", a["doc"]) and len(a["doc"]) <= 255
        assert a["name"].isascii() and a["name"].isidentifier()
    if name in INDICATOR_FUNCS:
        ind = SYSTEM.by_function[name]
        assert [a["name"] for a in info["args"]] == list(ind.inputs) + ["year", "region"]
        optional = [a["name"] for a in info["args"] if "optional" in a]
        assert optional == [i for i in ind.inputs if SYSTEM.inputs[i].default is not None] + ["year", "region"]


def test_design_card_example_works_as_written():
    assert udfs.PERF_PROCUREMENT(13200.0, 12560.0) == 1.95
    assert udfs.PERF_PROCUREMENT(13200.0, 12560.0, 0.5) == 1.45
    assert udfs.PERF_PROCUREMENT(13200.0, 12560.0, 1.0, 2020.0) == 1.95


# what xlwings hands a UDF on Windows for each kind of cell
BLANK = None
ERROR_CELL = None
ODD = ["abc", -1.0, 1e20, True, dt.datetime(2020, 12, 31), "１２３元abc"]


@pytest.mark.parametrize("name", INDICATOR_FUNCS)
@pytest.mark.parametrize("bad", [BLANK, *ODD], ids=["blank/error", "text", "negative", "huge", "bool", "date", "junk"])
def test_bad_cell_gives_chinese_message_never_exception(name, bad):
    ind = SYSTEM.by_function[name]
    f = getattr(udfs, name)
    # put the bad value in the first argument, keep the others plausible
    args = [bad] + [_plausible(i) for i in ind.inputs[1:]]
    out = f(*args)
    if isinstance(out, float):  # some values are acceptable to some inputs (e.g. True means 是)
        assert 0 <= out <= ind.weight
    else:
        assert isinstance(out, str) and re.search(r"[\u4e00-\u9fff]", out) and "Traceback" not in out
        assert SYSTEM.inputs[ind.inputs[0]].name in out or "规则年度" in out


def _plausible(iid):
    spec = SYSTEM.inputs[iid]
    return {"amount": 100.0, "count": 1.0, "rate": 0.5, "judgement": "是", "score": 1.0, "flag": "否",
            "choice": spec.options[0] if spec.options else None}[spec.kind]


def test_total_refuses_blank_error_text_bool():
    assert udfs.PERF_TOTAL([5.0, 1.95, 3.0]) == 9.95
    assert udfs.PERF_TOTAL([[5.0], [2.0]], 3.0) == 10.0
    for bad in (None, "未填写：政府采购实际数", True):
        assert udfs.PERF_TOTAL([5.0, bad, 3.0]) == "第 2 项未得出分数，无法合计"  # flat: no nested message
    assert udfs.PERF_TOTAL([None, 1.0, "x", 2.0, "y"]) == "第 1、3、5 项未得出分数，无法合计"
    assert udfs.PERF_TOTAL([None, "x"]) == "各项分数均未得出，无法合计"


def test_grade_rate_reason_target():
    assert udfs.PERF_GRADE(97.93) == "优" and udfs.PERF_GRADE(89.999) == "良" and udfs.PERF_GRADE(59.99) == "差"
    assert "无法评定等级" in udfs.PERF_GRADE("第 2 项分数…") and "超出" in udfs.PERF_GRADE(120.0)
    assert udfs.PERF_RATE(7.95, 8.0) == pytest.approx(0.99375) and udfs.PERF_RATE(None, 8.0) == "得分未得出，无法计算得分率"
    assert udfs.PERF_REASON("PERF_PROCUREMENT", 2020.0, 13200.0, 12560.0) == "政府采购执行率 95.15%，扣 0.05 分"
    assert udfs.PERF_REASON("编外人员控制率", None, 3.0, 20.0) == "编外人员控制率 13.04%（>10%），扣 1 分"
    assert "找不到指标" in udfs.PERF_REASON("PERF_NOPE", None)
    assert udfs.PERF_TARGET("≥90%", 0.9876) == "达成" and udfs.PERF_TARGET("=100%", "=98%") == "未达成"
    assert udfs.PERF_TARGET("及时", "基本及时").startswith("无法判断：")


def test_bad_year_message():
    out = udfs.PERF_SATISFACTION(0.99, "明年")
    assert "规则年度应为年份数字" in out and "2020" in out
    assert "没有适用于 2019 年度" in udfs.PERF_SATISFACTION(0.99, 2019.0)


def test_rules_year_fixed_per_workbook(tmp_path, monkeypatch):
    """A 2021 system with a stricter 满意度 band does not change what year=2020 formulas compute."""
    from perfscore.engine import system as system_mod
    src = (system_mod.PACKAGE_SYSTEMS / "shenzhen" / "2020.toml").read_text("utf-8")
    root = tmp_path / "systems"
    (root / "shenzhen").mkdir(parents=True)
    (root / "shenzhen" / "2020.toml").write_text(src, "utf-8")
    (root / "shenzhen" / "2021.toml").write_text(
        src.replace("year = 2020", "year = 2021").replace('{ range = "[95%, inf)", points = 6 },\n  { range = "[90%, 95%)"',
                                                          '{ range = "[98%, inf)", points = 6 },\n  { range = "[90%, 98%)"'), "utf-8")
    monkeypatch.setattr(udfs, "load_system", functools.partial(system_mod.load_system, root=root))
    monkeypatch.setattr(udfs, "available_years", functools.partial(system_mod.available_years, root=root))
    udfs._system_for.cache_clear()
    try:
        assert udfs.PERF_SATISFACTION(0.96, 2020.0) == 6
        assert udfs.PERF_SATISFACTION(0.96, 2021.0) == 4
        assert udfs.PERF_SATISFACTION(0.96) == 4  # omitted year: the newest rules
    finally:
        udfs._system_for.cache_clear()


def test_function_arguments_stable_across_years():
    seen = {}
    for y in available_years():
        for ind in load_system(y).indicators:
            assert seen.setdefault(ind.function, ind.inputs) == ind.inputs, (y, ind.function)


VBA_KEYWORDS = {"and", "as", "boolean", "byref", "byval", "call", "case", "date", "dim", "do", "double", "each",
                "else", "end", "error", "exit", "false", "for", "function", "get", "goto", "if", "in", "integer",
                "is", "let", "like", "long", "loop", "me", "mod", "new", "next", "not", "nothing", "on", "option",
                "optional", "or", "private", "property", "public", "resume", "select", "set", "single", "static",
                "step", "stop", "string", "sub", "then", "to", "true", "type", "until", "variant", "wend", "while",
                "with", "xor", "name", "len", "val", "year", "caller"}


def test_argument_names_are_safe_vba_identifiers():
    for spec in SYSTEM.inputs.values():
        assert spec.id.isascii() and spec.id.lower() not in VBA_KEYWORDS - {"year"}
        assert len(spec.id) <= 255


def test_committed_xlwings_udfs_module_is_current():
    committed = (ROOT / "macros" / "xlwings_udfs.bas").read_text("utf-8")
    fresh = generate_udf_module()
    assert committed == fresh, ("macros/xlwings_udfs.bas is stale: regenerate with "
                                "`perfscore macros -o macros --force` and commit it")


def test_generated_wrapper_shape():
    text = generate_udf_module()
    assert text.startswith('Attribute VB_Name = "xlwings_udfs"\n')
    assert text.isascii()
    assert ("Function PERF_PROCUREMENT(procurement_budget, procurement_actual, Optional procurement_policy, Optional year, "
            "Optional region)") in text
    assert ('XLPy.CallUDF("perfscore.udfs", "PERF_PROCUREMENT", Array(procurement_budget, procurement_actual, '
            'procurement_policy, year, region), ThisWorkbook, Application.Caller)') in text
    assert "Function PERF_TOTAL(ParamArray ranges())" in text
    assert "ActiveWorkbook" not in generate_udf_module("perfscore.xlsm").split("#Else")[0]
    assert "ActiveWorkbook" in generate_udf_module("perfscore.xlam")


def test_module_functions_keep_their_signatures():
    sig = inspect.signature(udfs.PERF_FINANCIAL_COMPLIANCE)
    assert list(sig.parameters) == ["adjustment_amount", "budget_scale", "fin_spending", "fin_accounting",
                                    "fin_violation", "year", "region"]
    assert sig.parameters["fin_spending"].default is udfs.OMITTED


def test_systems_deployed_through_environment(tmp_path, monkeypatch):
    """A region's own 2021 table in $PERFSCORE_SYSTEMS is what the workbook functions use for year 2021."""
    from perfscore.engine import system as system_mod
    src = (system_mod.PACKAGE_SYSTEMS / "shenzhen" / "2020.toml").read_text("utf-8")
    d = tmp_path / "shenzhen"
    d.mkdir()
    (d / "2021.toml").write_text(src.replace("year = 2020", "year = 2021").replace(
        '{ range = "[95%, inf)", points = 6 },\n  { range = "[90%, 95%)"', '{ range = "[98%, inf)", points = 6 },\n  { range = "[90%, 98%)"'), "utf-8")
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(tmp_path))
    udfs._system_for.cache_clear()
    try:
        assert available_years() == [2020, 2021]
        assert udfs.PERF_SATISFACTION(0.96, 2021.0) == 4 and udfs.PERF_SATISFACTION(0.96, 2020.0) == 6
    finally:
        udfs._system_for.cache_clear()


# ------------------------------------------------------------------------------------------ regions (issue 9)
TEST_SYSTEMS = ROOT / "tests" / "data" / "systems"


def test_two_regions_same_function_name_in_one_session(monkeypatch):
    """Each region's PERF_STAFF_CONTROL, with its own arguments, called as its own workbook's wrapper calls it."""
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(TEST_SYSTEMS))
    udfs._system_for.cache_clear()
    try:
        f = udfs.PERF_STAFF_CONTROL
        # Shenzhen wrapper: (staff_actual, staff_quota, year, region)
        assert f(20.0, 20.0, 2020.0, "shenzhen") == 1
        assert f(21.0, 20.0, 2020.0, "shenzhen") == 0
        # the test region's wrapper: (staff_in, staff_seconded, quota, year, region), one argument more
        assert f(10.0, 1.0, 10.0, 2018.0, "testprovince") == 4    # 110%: (100%, 110%] in 2018
        assert f(10.0, 1.0, 10.0, 2020.0, "testprovince") == 0    # 2020 moved the edge to 105%
        assert f(10.0, 1.0, 10.0, 2021.0, "testprovince") == 0    # in force until the region's next file
        # old Shenzhen workbooks (no region argument) and the omitted region still mean Shenzhen
        assert f(20.0, 20.0, 2020.0) == 1 and f(20.0, 20.0) == 1
        # a wrapper that does not match its system's arguments says so
        assert "重新生成工作簿" in f(10.0, 10.0, 2020.0, "testprovince")
        assert udfs.PERF_GRADE(85.0, 2020.0, "testprovince") == "良"
        assert udfs.PERF_REASON("PERF_STAFF_CONTROL", 2018.0, "testprovince", 10.0, 1.0, 10.0).startswith("人员控制率 110.00%")
    finally:
        udfs._system_for.cache_clear()


def test_wrappers_generated_from_the_workbooks_own_system():
    from perfscore import load_system_file
    tp = load_system_file(TEST_SYSTEMS / "testprovince" / "2018.toml")
    text = generate_udf_module("某单位.xlsm", [tp])
    names = set(re.findall(r"^Function (PERF_\w+)\(", text, re.M))
    assert names == {i.function for i in tp.indicators} | set(OTHER_FUNCS)
    assert "Function PERF_STAFF_CONTROL(staff_in, staff_seconded, quota, Optional year, Optional region)" in text


def test_macros_command_for_a_system_file(tmp_path, capsys):
    from perfscore.cli import main
    assert main(["macros", "-o", str(tmp_path), "--system", str(TEST_SYSTEMS / "testprovince" / "2018.toml")]) == 0
    text = (tmp_path / "xlwings_udfs.bas").read_text("utf-8")
    assert "PERF_TP_ADJUSTMENT" in text and "PERF_PROCUREMENT" not in text


def test_a_broken_region_file_does_not_take_the_other_regions_functions_down(tmp_path):
    """Excel imports perfscore.udfs once: another region's broken file must leave every other function working,
    and its own workbooks' cells say which file is wrong."""
    import os
    import shutil
    import subprocess
    import sys
    shutil.copytree(ROOT / "tests" / "data" / "systems" / "testprovince", tmp_path / "testprovince")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "2021.toml").write_text("schema = 1\n[system]\n", "utf-8")
    code = ("import perfscore.udfs as u\n"
            "print(u.PERF_STAFF_CONTROL(10, 1, 10, 2018, 'testprovince'))\n"
            "print(u.PERF_PROCUREMENT(100, 100, 1, 2020, 'shenzhen'))\n"
            "print(u.PERF_STAFF_CONTROL(10, 1, 10, 2021, 'elsewhere'))\n")
    env = dict(os.environ, PERFSCORE_SYSTEMS=str(tmp_path), PYTHONPATH=str(ROOT / "src"))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    tp, sz, broken = p.stdout.splitlines()
    assert float(tp) == 4 and float(sz) == 2
    assert "2021.toml" in broken and "system.id" in broken
