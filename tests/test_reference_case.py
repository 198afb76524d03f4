"""The golden case: the 2020 Shenzhen self-evaluation, recomputed from its own inputs and cross-checked."""
import pytest

from perfscore import cross_check, score_case

# 评分表“分数”列 as printed — except 预算执行率: the report's own year-end 支出进度 98.76% gives 5.98 under the
# printed rule (Q4 = 98.76%/100% × 1 plus the average term), so the computed value is asserted and the
# cross-check must report the difference.
PRINTED = {
    "budget_rationality": 5, "budget_compliance": 5, "goal_completeness": 3, "indicator_clarity": 7,
    "procurement": 1.95, "financial_compliance": 3, "disclosure": 3, "project_procedure": 2,
    "project_supervision": 2, "asset_security": 2, "fixed_asset_utilization": 1, "staff_control": 1,
    "outside_staff_control": 0, "management_system": 2, "public_expense_control": 6, "budget_execution": 6,
    "key_tasks": 8, "project_timeliness": 6, "effectiveness": 25, "petitions": 3, "satisfaction": 6,
}
COMPUTED_DIFFERS = {"budget_execution": 5.98}


@pytest.fixture(scope="module")
def result(system2020, reference_case):
    reference_case.check_against(system2020)
    return score_case(system2020, reference_case.raw_values())


def test_printed_table_adds_up_to_printed_total():
    assert round(sum(PRINTED.values()), 2) == 97.95


def test_21_indicators_scored(result):
    assert len(result.indicators) == 21
    assert not result.errors


@pytest.mark.parametrize("iid", list(PRINTED))
def test_indicator_score(result, iid):
    expected = COMPUTED_DIFFERS.get(iid, PRINTED[iid])
    assert result.by_id(iid).score == pytest.approx(expected, abs=1e-9)


def test_total_and_grade(result):
    assert result.total == pytest.approx(97.93)
    assert result.grade == "优"
    assert result.level1["decision"].score == 20
    assert result.level1["management"].score == pytest.approx(17.95)
    assert result.level1["performance"].score == pytest.approx(59.98)


def test_reasons_quote_the_figures(result):
    assert result.by_id("procurement").reason == "政府采购执行率 95.15%，扣 0.05 分"
    assert result.by_id("outside_staff_control").reason == "编外人员控制率 13.04%（>10%），扣 1 分"
    assert result.by_id("fixed_asset_utilization").figures[0].display == "98.22%"
    assert result.by_id("fixed_asset_utilization").figures[0].formula == "130457.85/132825.86"
    assert "扣 0.02 分" in result.by_id("budget_execution").reason


def test_assumed_inputs_are_marked(reference_case):
    assert set(reference_case.assumed()) == {"q1_progress", "q2_progress", "q3_progress"}
    assert "98.76%" in reference_case.inputs["q4_progress"].source


@pytest.fixture(scope="module")
def findings(reference_case, result):
    return cross_check(reference_case, result)


def test_crosscheck_catches_outside_staff_rate_stated_twice(findings):
    f = [f for f in findings if f.ref == "figure.outside_staff_rate"]
    assert len(f) == 1
    assert f[0].stated == "15.00%" and f[0].computed == "13.04%"
    assert "13.04%" in f[0].message and "前后矛盾" in f[0].message


def test_crosscheck_reports_budget_execution_and_total(findings):
    refs = {f.ref: f for f in findings}
    assert refs["score.budget_execution"].computed == "5.98"
    assert refs["level2.efficiency"].computed == "19.98"
    totals = [f for f in findings if f.ref == "total"]
    assert len(totals) == 2 and all(f.stated == "97.95" and f.computed == "97.93" for f in totals)


def test_crosscheck_catches_public_expense_rate(findings):
    stated = sorted(f.stated for f in findings if f.ref == "figure.daily_public_rate")
    assert stated == ["78.67%", "98%"]


def test_crosscheck_finds_exactly_these(findings):
    assert sorted(f.ref for f in findings) == sorted([
        "score.budget_execution", "level2.efficiency", "total", "total", "figure.outside_staff_rate",
        "figure.daily_public_rate", "figure.daily_public_rate"])


def test_crosscheck_agrees_where_the_report_is_right(reference_case, findings):
    wrong = {f.ref for f in findings}
    agreeing = {s.ref for s in reference_case.stated} - wrong
    assert {"figure.procurement_rate", "figure.fixed_asset_rate", "figure.three_public_rate",
            "figure.annual_execution_rate", "rate.funds", "rate.institutions", "grade"} <= agreeing


def test_goal_table_structure(system2020, reference_case):
    from perfscore import check_target
    assert system2020.goal_table.title == "部门（单位）整体支出绩效目标完成情况自评表"
    assert len(reference_case.goal_rows) == 8
    status = {r.name: check_target(r.target, r.actual).status for r in reference_case.goal_rows}
    assert status["公用经费支付完成率"] == "未达成"
    assert status["预算执行率"] == "达成"
    assert status["工资发放及时性"] == "达成"
    assert sum(t.budget_total for t in reference_case.tasks) == pytest.approx(12741400.04)
