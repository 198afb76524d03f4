"""Property: for any input whatsoever, every rule returns a score within [0, 分值] or a clear error."""
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from perfscore import load_system, score_case, score_indicator

SYSTEM = load_system(2020)

anything = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**18),
    st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 2), st.floats(0, 200),
    st.text(max_size=12), st.sampled_from(["是", "否", "", "95%", "1,000", "按规定公开", "未公开", "１２", "-0", "1e400"]),
    st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2030, 1, 1)),
)
plausible = st.one_of(st.floats(0, 1e7, allow_nan=False), st.integers(0, 50), st.sampled_from(["是", "否", "100%", "0"]))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SYSTEM.indicators), st.data())
def test_any_input_gives_bounded_score_or_message(ind, data):
    strategy = data.draw(st.sampled_from([anything, plausible]))
    raw = {i: data.draw(strategy) for i in ind.inputs if data.draw(st.integers(0, 9))}  # 1 in 10 omitted
    r = score_indicator(SYSTEM, ind, raw)
    if r.score is None:
        assert r.error and isinstance(r.error, str)
        assert "Traceback" not in r.error and "内部错误" not in r.error
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.error)  # a Chinese message
    else:
        assert 0 <= r.score <= ind.weight
        assert r.reason


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(list(SYSTEM.inputs)), plausible))
def test_whole_case_total_is_sum_and_graded(raw):
    res = score_case(SYSTEM, raw)
    if res.total is None:
        assert res.errors and res.grade is None
    else:
        assert abs(res.total - sum(r.score for r in res.indicators)) < 1e-9
        assert 0 <= res.total <= 100
        assert res.grade in {"优", "良", "中", "差"}
