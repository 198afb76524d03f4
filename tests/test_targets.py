import pytest

from perfscore import check_target

CASES = [
    ("≥90%", "98.76%", "达成"), ("≥90%", "89.9%", "未达成"), (">=90%", "90%", "达成"), ("＞90%", "90%", "未达成"),
    ("=100%", "=98%", "未达成"), ("=100%", "100%", "达成"), ("≤5%", "5%", "达成"), ("<5%", "5%", "未达成"),
    ("12个月", "12个月", "达成"), ("12个月", "11个月", "未达成"), ("12个月", "12", "无法判断"),
    ("及时", "及时", "达成"), ("及时", "不及时", "未达成"), ("及时", "基本及时", "无法判断"),
    ("≥90%", "≥90%", "无法判断"), ("≥90%", "≥95%", "无法判断"), ("≥90%", "≥85%", "无法判断"), ("≥90%", 0.95, "达成"), ("≥90%", 0.85, "未达成"),
    ("≥90%", "", "无法判断"), ("", "90%", "无法判断"), ("", "", ""), (None, None, ""), ("≥90%", "很好", "无法判断"), ("≥90%", None, "无法判断"),
]


@pytest.mark.parametrize("target,actual,status", CASES)
def test_target_check(target, actual, status):
    r = check_target(target, actual)
    assert r.status == status, r.reason
    assert r.reason or status == ""


def test_bound_written_as_actual_is_never_met():
    """An actual written “≥90%” is a claim, not a measured value: the officer is asked for the figure or a judgement."""
    r = check_target("≥90%", "≥90%")
    assert r.status == "无法判断" and "不是实测数值" in r.reason and "人工判断" in r.reason
