"""Inputs as Excel and people deliver them: numbers, percentages, text, full-width digits, 是/否, blanks."""
import datetime as dt

import pytest

from perfscore.errors import InputError


def spec(system, iid):
    return system.inputs[iid]


@pytest.mark.parametrize("raw", [0.9515, 95.15, "95.15%", "95.15", "９５．１５％", " 95.15 % ", "95.15％"])
def test_rate_forms_all_mean_the_same(system2020, raw):
    assert spec(system2020, "satisfaction_rate").parse(raw) == pytest.approx(0.9515, abs=1e-12)


def test_rate_one_means_hundred_percent(system2020):
    assert spec(system2020, "satisfaction_rate").parse(1) == 1.0
    assert spec(system2020, "satisfaction_rate").parse("1%") == 0.01


@pytest.mark.parametrize("raw,value", [(13200, 13200), ("13,200", 13200), ("13,200.50", 13200.5), ("１３２００", 13200),
                                       ("13200元", 13200), (13200.0, 13200), (" 13200 ", 13200),
                                       ("１３，２００．００", 13200), ("\u300013200", 13200)])
def test_amount_forms(system2020, raw, value):
    assert spec(system2020, "procurement_budget").parse(raw) == value


@pytest.mark.parametrize("raw,value", [("是", True), ("否", False), (True, True), (False, False), ("√", True),
                                       ("×", False), ("Yes", True), (1, True), (0.0, False)])
def test_flags(system2020, raw, value):
    assert spec(system2020, "fin_violation").parse(raw) is value


@pytest.mark.parametrize("raw,value", [("是", 1.5), ("否", 0.0), (1.2, 1.2), ("0.75", 0.75)])
def test_judgement_accepts_yes_no_or_points(system2020, raw, value):
    assert spec(system2020, "system_2").parse(raw) == value


BAD = [
    ("procurement_budget", None, "「政府采购预算数」未填写"),
    ("procurement_budget", "", "未填写"),
    ("procurement_budget", "abc", "「政府采购预算数」单元格里是文字，不是数字：请输入不小于 0 的金额（元），例如 13200 或 13,200.00，收到“abc”"),
    ("procurement_budget", -5, "不能小于 0 元"),
    ("procurement_budget", "95%", "不应带 % 号"),
    ("procurement_budget", float("nan"), "应为不小于 0 的金额"),
    ("procurement_budget", float("inf"), "应为不小于 0 的金额"),
    ("procurement_budget", 1e30, "数值过大"),
    ("procurement_budget", dt.datetime(2020, 1, 1), "单元格里是日期"),
    ("procurement_budget", True, "应为不小于 0 的金额"),
    ("staff_actual", 20.5, "应为整数（人）"),
    ("staff_actual", "二十", "单元格里是文字，不是数字：请输入不小于 0 的整数（人）"),
    ("procurement_budget", "1.32e4", "单元格里是文字，不是数字"),  # VALUE would take it; the one rule does not
    ("procurement_budget", "2020-12-31", "单元格里是文字，不是数字"),
    ("satisfaction_rate", "120%", "不能大于 100%"),
    ("satisfaction_rate", -0.1, "不能小于 0%"),
    ("fin_violation", "不确定", "应为“是”或“否”"),
    ("system_2", 2, "不能大于 1.5 分"),
    ("system_2", "满足", "0 到 1.5 分之间的得分，或“是”"),
    ("budget_disclosure", "公开", "应为以下之一：“按规定公开”／“公开但不符合要求”／“未公开”"),
    ("budget_disclosure", 4, "应为以下之一"),
]


@pytest.mark.parametrize("iid,raw,message", BAD, ids=[f"{b[0]}-{b[1]!r}" for b in BAD])
def test_bad_input_clear_chinese_message(system2020, iid, raw, message):
    with pytest.raises(InputError) as ei:
        spec(system2020, iid).parse(raw)
    assert message in str(ei.value)
    assert ei.value.input_id == iid
    assert "Traceback" not in str(ei.value)


def test_rounding_keeps_large_amounts_to_the_cent():
    """The half-up tolerance is a few units in the last place, never a whole cent (12741400.04 stayed .05 once)."""
    from perfscore.engine.numbers import fmt_num, round_to
    assert fmt_num(12741400.04) == "12741400.04" and fmt_num(16878372.51) == "16878372.51"
    assert round_to(999999999.995, 2) == 1000000000.0 and round_to(2.675, 2) == 2.68 and round_to(1 - 0.045, 2) == 0.96
