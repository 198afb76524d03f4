"""Regions side by side (issue 9): any region's indicator system, as data alone, found by region and year."""
import re
from pathlib import Path

import pytest

from perfscore import load_system, load_system_file, score_case
from perfscore.cli import main
from perfscore.errors import SystemFileError, UnknownYear
from perfscore.engine.system import available_regions, available_years

SYSTEMS = Path(__file__).parent / "data" / "systems"
TP2018 = SYSTEMS / "testprovince" / "2018.toml"


@pytest.fixture
def two_regions(monkeypatch):
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(SYSTEMS))


def test_regions_live_side_by_side(two_regions):
    assert {"shenzhen", "testprovince"} <= set(available_regions())
    assert available_years("testprovince") == [2018, 2020]
    sz, tp = load_system(2020), load_system(2020, region="testprovince")
    assert (sz.region, tp.region) == ("深圳市", "测试省")
    assert (sz.key, tp.key) == ("shenzhen", "testprovince")
    # the same function name, different arguments, each in its own region
    assert sz.by_function["PERF_STAFF_CONTROL"].inputs == ("staff_actual", "staff_quota")
    assert tp.by_function["PERF_STAFF_CONTROL"].inputs == ("staff_in", "staff_seconded", "quota")
    # in force until the region's next file: 2019 uses 2018; 2021 uses 2020 of that region, never Shenzhen's
    assert load_system(2019, region="testprovince").year == 2018
    assert load_system(2021, region="testprovince").key == "testprovince"


def test_without_the_environment_only_packaged_regions(monkeypatch):
    monkeypatch.delenv("PERFSCORE_SYSTEMS", raising=False)
    assert "testprovince" not in available_regions()
    with pytest.raises(UnknownYear, match="PERFSCORE_SYSTEMS"):
        load_system(2020, region="testprovince")


def test_several_roots_in_the_environment(monkeypatch, tmp_path):
    other = tmp_path / "extra" / "otherplace"
    other.mkdir(parents=True)
    other.joinpath("2019.toml").write_text(TP2018.read_text("utf-8").replace("year = 2018", "year = 2019"), "utf-8")
    monkeypatch.setenv("PERFSCORE_SYSTEMS", f"{SYSTEMS}{__import__('os').pathsep}{tmp_path / 'extra'}")
    assert {"testprovince", "otherplace"} <= set(available_regions())
    assert load_system(2019, region="otherplace").year == 2019


@pytest.mark.parametrize("raw,score", [
    ({"adjusted": 10, "initial_budget": 100}, 8),        # 10%: within
    ({"adjusted": 12.5, "initial_budget": 100}, 6.75),   # 2.5 points over × 0.5
    ({"adjusted": 50, "initial_budget": 100}, 0),        # floor
])
def test_threshold_written_as_a_percentage(raw, score):
    s = load_system_file(TP2018)
    assert score_case(s, raw).by_id("budget_adjustment").score == score


def test_step_and_band_written_as_percentages():
    s = load_system_file(TP2018)
    assert score_case(s, {"spent": 90, "final_budget": 100}).by_id("execution_rate").score == 6   # 2 full steps
    assert score_case(s, {"spent": 94.99, "final_budget": 100}).by_id("execution_rate").score == 7
    staff = {"staff_in": 10, "staff_seconded": 1, "quota": 10}  # exactly 110%: inside (100%, 110%] in 2018
    assert score_case(s, staff).by_id("staff_control").score == 4
    s2020 = load_system_file(SYSTEMS / "testprovince" / "2020.toml")  # 2020 moved the edge to 105%
    assert score_case(s2020, staff).by_id("staff_control").score == 0


def test_score_a_case_of_another_region(two_regions, tmp_path, capsys):
    case = tmp_path / "tp.toml"
    case.write_text('schema = 1\n[case]\ntitle = "测试报告"\ndepartment = "测试局"\nyear = 2020\n'
                    '[inputs]\nadjusted = 5\ninitial_budget = 100\nstaff_in = 10\nstaff_seconded = 0\nquota = 10\n'
                    'plan_quality = 14\nspent = 100\nfinal_budget = 100\nprocured = 1\nprocurement_plan = 1\n'
                    'process_score = 14\noutput_score = 20\neffect_score = 20\n', "utf-8")
    assert main(["score", str(case), "--region", "testprovince"]) == 0
    assert "综合评分：100" in capsys.readouterr().out


def test_rules_list_shows_regions_and_years(two_regions, capsys):
    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    assert "shenzhen（深圳市）：2020" in out and "testprovince（测试省）：2018、2020" in out


def test_misspelled_key_is_named_as_unknown(tmp_path):
    p = tmp_path / "2018.toml"
    p.write_text(TP2018.read_text("utf-8").replace("threshold = ", "threshhold = "), "utf-8")
    with pytest.raises(SystemFileError, match="未知的键 'threshhold'：是否应为 'threshold'"):
        load_system_file(p)


def test_zero_over_zero_names_the_key_for_it():
    s = load_system_file(TP2018)
    r = score_case(s, {"adjusted": 0, "initial_budget": 0}).by_id("budget_adjustment")
    assert r.score is None and "zero_denominator" in r.error_detail and len(r.error) <= 80


TP_CASE = ('schema = 1\n[case]\ntitle = "测试报告"\ndepartment = "测试局"\nyear = 2018\n'
           '[inputs]\nadjusted = 12.5\ninitial_budget = 100\nstaff_in = 10\nstaff_seconded = 1\nquota = 10\n'
           'plan_quality = 13\nspent = 90\nfinal_budget = 100\nprocured = 0.9\nprocurement_plan = 1\n'
           'process_score = 12.5\noutput_score = 18\neffect_score = 19\n')


@pytest.fixture
def tp_workbook(two_regions, tmp_path):
    case = tmp_path / "tp.toml"
    case.write_text(TP_CASE, "utf-8")
    path = tmp_path / "测试局2018.xlsm"
    assert main(["template", "--system", str(TP2018), "--case", str(case), "-o", str(path)]) == 0
    return path


def test_another_regions_workbook_carries_its_own_wrappers(tp_workbook):
    from oletools.olevba import VBA_Parser

    from perfscore.excel.xlwings_bridge import generate_udf_module
    parser = VBA_Parser(str(tp_workbook))
    try:
        got = {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()
    expected = generate_udf_module(tp_workbook.name, [load_system_file(TP2018)])
    functions = re.compile(r"^Function (PERF_\w+\([^)]*\))", re.M)
    assert functions.findall(got["xlwings_udfs"]) == functions.findall(expected)
    assert "Function PERF_STAFF_CONTROL(staff_in, staff_seconded, quota, Optional year, Optional region)" in expected
    assert "PERF_TP_ADJUSTMENT" in got["xlwings_udfs"] and "PERF_PROCUREMENT" not in got["xlwings_udfs"]


def test_formula_engine_reproduces_another_regions_workbook(tp_workbook):
    import openpyxl

    from perfscore.excel.formula_engine import evaluate
    got = evaluate(tp_workbook)
    wb = openpyxl.load_workbook(tp_workbook, data_only=True)
    ws = wb["评分表"]
    scores = {ws.cell(r, 3).value: got[("评分表", f"G{r}")] for r in range(4, 12)}
    # 12.5% → 8 − 2.5×0.5; 110% → 4; 90% → 2 steps; 90% procurement → half of 8
    assert scores == {"预算调整": 6.75, "人员控制率": 4, "预算编制质量": 13, "预算执行率": 6, "政府采购完成率": 4,
                      "过程管理": 12.5, "产出": 18, "效果": 19}
    assert got[("评分表", "G12")] == pytest.approx(83.25) and got[("评分表", "G13")] == "良"
    for (sheet, coord), v in got.items():  # every formula cell shows what the engine cached
        if sheet not in wb.sheetnames:
            continue
        cached = wb[sheet][coord].value
        if isinstance(v, float):
            assert cached == pytest.approx(v), (sheet, coord)
        elif v == "":  # an empty text result (a blank 填表人) is stored as an empty cell
            assert cached in (None, ""), (sheet, coord)
        elif v is not None:
            assert cached == v, (sheet, coord)


def test_carry_forward_follows_declared_mappings(two_regions, tp_workbook, tmp_path, capsys):
    """2021 of the test region: 上年政府采购计划数 takes last year's 政府采购计划数 (carry_from), 核定编制数 stays."""
    text = (SYSTEMS / "testprovince" / "2020.toml").read_text("utf-8").replace("year = 2020", "year = 2021")
    text = text.replace('[inputs.procurement_plan]', '[inputs.prior_plan]\nname = "上年政府采购计划数"\nkind = "amount"\n'
                        'unit = "万元"\ncarry_from = "procurement_plan"\n\n[inputs.procurement_plan]')
    text = text.replace('inputs = ["procured", "procurement_plan"]', 'inputs = ["procured", "procurement_plan"]')
    new = tmp_path / "testprovince" / "2021.toml"
    new.parent.mkdir()
    new.write_text(text, "utf-8")
    # prior_plan is declared but used by no rule: allowed for inputs (kept for 核对), like 预算总指标
    out = tmp_path / "2021.xlsm"
    assert main(["carry-forward", str(tp_workbook), "--year", "2021", "--system", str(new), "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "上年政府采购计划数（取上年“政府采购计划数”）" in said and "核定编制数" in said
    from perfscore.receiving.reader import read_filled
    filled = read_filled(out)
    assert filled.inputs["上年政府采购计划数"] == 1 and filled.inputs["核定编制数"] == 10
    assert filled.inputs["政府采购计划数"] is None and filled.region == "testprovince"


def test_check_with_an_outside_system_file(tmp_path):
    """A region's table kept outside PERFSCORE_SYSTEMS: check, freeze and collect take --system for its workbooks."""
    case = tmp_path / "tp.toml"
    case.write_text(TP_CASE, "utf-8")
    path = tmp_path / "测试局2018.xlsm"
    assert main(["template", "--system", str(TP2018), "--case", str(case), "-o", str(path)]) == 0
    assert main(["check", str(path), "--system", str(TP2018)]) == 0
    assert main(["check", str(path), "--system", str(SYSTEMS / "testprovince" / "2020.toml")]) == 2
    # freeze and collect take it too (without it the region is unknown here: not scored)
    assert main(["freeze", str(path), "-o", str(tmp_path / "提交版.xlsx"), "--system", str(TP2018)]) == 0
    import shutil
    d = tmp_path / "收到的"
    d.mkdir()
    shutil.copy(path, d / "测试局.xlsm")
    shutil.copy(Path(__file__).parents[1] / "workbook" / "参考案例_深圳市科技开发交流中心_2020.xlsm", d / "深圳.xlsm")
    assert main(["collect", str(d), "-o", str(tmp_path / "汇总0.xlsx")]) == 1          # testprovince not installed
    assert main(["collect", str(d), "-o", str(tmp_path / "汇总.xlsx"), "--system", str(TP2018)]) == 0
    import openpyxl
    totals = {r[2]: r[3] for r in openpyxl.load_workbook(tmp_path / "汇总.xlsx")["汇总"].iter_rows(values_only=True)
              if r and r[0] in ("测试省 2018 年版", "深圳市 2020 年版")}
    assert totals == {"测试局": pytest.approx(83.25), "深圳市科技开发交流中心": pytest.approx(97.93)}


def test_collect_over_two_regions_never_mixes_systems(two_regions, tp_workbook, tmp_path):
    import shutil

    import openpyxl
    d = tmp_path / "收到的"
    d.mkdir()
    shutil.copy(tp_workbook, d / "测试局.xlsm")
    shutil.copy(Path(__file__).parents[1] / "workbook" / "参考案例_深圳市科技开发交流中心_2020.xlsm", d / "深圳.xlsm")
    out = tmp_path / "汇总.xlsx"
    assert main(["collect", str(d), "-o", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    rows = [r for r in wb["汇总"].iter_rows(values_only=True) if r and r[0] in ("测试省 2018 年版", "深圳市 2020 年版")]
    by_system = {r[0]: r for r in rows}
    assert set(by_system) == {"测试省 2018 年版", "深圳市 2020 年版"}
    assert by_system["测试省 2018 年版"][1] == 1 and by_system["深圳市 2020 年版"][1] == 1  # a rank in each system
    assert by_system["测试省 2018 年版"][3] == pytest.approx(83.25) and by_system["深圳市 2020 年版"][3] == pytest.approx(97.93)
    rates = [r for r in wb["指标得分率"].iter_rows(values_only=True) if r and r[0] in ("测试省", "深圳市")]
    assert {r[0] for r in rates} == {"测试省", "深圳市"} and len(rates) == 8 + 21


def test_a_case_file_names_its_region(two_regions, tmp_path, capsys):
    case = tmp_path / "tp.toml"
    case.write_text(TP_CASE.replace("year = 2018\n", 'year = 2018\nregion = "testprovince"\n'), "utf-8")
    assert main(["score", str(case)]) == 0
    assert "综合评分：83.25" in capsys.readouterr().out
    out = tmp_path / "某局.xlsx"
    assert main(["template", "--year", "2018", "--engine", "excel", "--case", str(case), "-o", str(out)]) == 0


def test_report_for_a_region_without_its_own_outline(tp_workbook, tmp_path):
    """The test region ships no 2018.report.toml: the draft follows the generic outline (every 一级指标 in the
    system's order) and the terminal says so and where the region's own outline would go."""
    import io

    from docx import Document
    out, said = tmp_path / "报告.docx", io.StringIO()
    assert main(["report", str(tp_workbook), "-o", str(out)], out=said) == 0
    said = said.getvalue()
    assert "没有报告提纲" in said and "testprovince" in said and "2018.report.toml" in said and "通用提纲" in said
    doc = Document(str(out))
    texts = [p.text for p in doc.paragraphs]
    headings = [t for t in texts if re.fullmatch(r"（[一二三四]）(投入|过程|产出|效果)", t)]
    assert headings == ["（一）投入", "（二）过程", "（三）产出", "（四）效果"]
    assert "投入指标满分30分，评价得分23.75分，得分率79.17%。" in texts
    assert any("综合得分83.25分，评价等级为“良”" in t for t in texts)
    assert not any(t.startswith("部门（单位）整体支出绩效目标完成情况自评表") for t in texts)  # no goal_table here
    table = doc.tables[-1]
    first_column = [row.cells[0].text for row in table.rows]
    assert {"投入", "过程", "产出", "效果"} <= set(first_column)
    assert table.rows[-1].cells[-1].text == table.rows[-1].cells[4].text  # 填表人 value spans the right half


def test_generic_outline_needs_a_heading_for_every_level1(tmp_path):
    from perfscore.report.outline import GENERIC_OUTLINE, OutlineError, load_outline
    p = tmp_path / "x.report.toml"
    p.write_text(GENERIC_OUTLINE.read_text("utf-8").replace(', heading = "（{n}）{name}"', ""), "utf-8")
    with pytest.raises(OutlineError, match="heading"):
        load_outline(p)
    p.write_text(GENERIC_OUTLINE.read_text("utf-8").replace("（{n}）{name}", "（{n}）{nam}"), "utf-8")
    with pytest.raises(OutlineError, match="nam"):
        load_outline(p)
