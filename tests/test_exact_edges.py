"""Exact at every edge (issue 12): ratios of real cent amounts compared exactly with the printed thresholds,
reasons whose deductions add up, and every interpretive choice a declared option in the data."""
from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfscore import load_system, load_system_file, score_case, score_indicator
from perfscore.errors import PerfscoreError, SystemFileError
from perfscore.engine.rules import Composite, LinearDeduction, RatioPoints, StepDeduction, Bands, _MeasureRule
from perfscore.engine.system import PACKAGE_SYSTEMS, available_years

SYSTEM_FILE = PACKAGE_SYSTEMS / "shenzhen" / "2020.toml"


def packaged_systems():
    """Every packaged system, and the second (test) region's, which has step and percentage thresholds."""
    out = []
    for region_dir in sorted(p for p in PACKAGE_SYSTEMS.iterdir() if p.is_dir()):
        for year in available_years(region_dir.name):
            out.append(load_system(year, region=region_dir.name))
    test_region = Path(__file__).parent / "data" / "systems" / "testprovince"
    return out + [load_system_file(p) for p in sorted(test_region.glob("*.toml"))]


def F(x: float) -> Fraction:
    """A threshold as the decimal the data file writes (0.9, not the double nearest to it)."""
    return Fraction(repr(x))


# ------------------------------------------------------------------------------------------ edges
def _measure_rules(system):
    for ind in system.indicators:
        rules = [r for _, r in ind.rule.parts] if isinstance(ind.rule, Composite) else [ind.rule]
        for r in rules:
            if isinstance(r, _MeasureRule):
                yield ind, r


def _edges(rule) -> list[float]:
    if isinstance(rule, Bands):
        es = [b for iv, *_ in rule.bands for b in (iv.lo, iv.hi)]
    elif isinstance(rule, RatioPoints):
        es = [rule.zero_above, rule.cap]
    elif isinstance(rule, LinearDeduction):
        es = [rule.threshold]
    elif isinstance(rule, StepDeduction):
        es = [rule.target + k * rule.step * (-1 if rule.direction == "below" else 1) for k in range(3)]
    else:  # pragma: no cover - every measure family is listed above
        raise AssertionError(type(rule))
    return sorted({e for e in es if e is not None and math.isfinite(e) and e > rule.measure.domain_min})


EDGES = [(s, ind, r, e) for s in packaged_systems() for ind, r in _measure_rules(s) for e in _edges(r)]


def test_every_edge_is_probed():
    ids = {(ind.id, e) for _, ind, _, e in EDGES}
    assert ("fixed_asset_utilization", 0.9) in ids and ("public_expense_control", 1.0) in ids
    assert ("financial_compliance", 0.1) in ids and ("satisfaction", 0.95) in ids
    assert len(EDGES) >= 15


def _unit(system, iid) -> Fraction:
    kind = system.inputs[iid].kind
    return Fraction(1, 100) if kind == "amount" else (Fraction(1) if kind == "count" else Fraction(1, 10000))


def _assign(system, m, N: Fraction, D: Fraction, extra: int):
    """Input values (decimals) whose numerator sums to N and denominator to D; other terms get ``extra`` units."""
    num_ids = {i for i, _ in m.num}
    solve_n = next(i for i, s in m.num if s > 0)
    solve_d = next((i for i, s in m.den if s > 0 and i not in num_ids), None)
    vals = {}
    for i in m.inputs:
        if i not in (solve_n, solve_d):
            vals[i] = extra * _unit(system, i)
    vals[solve_n] = N - sum(s * vals[i] for i, s in m.num if i != solve_n)
    if solve_d is not None:
        vals[solve_d] = D - sum(s * vals[i] for i, s in m.den if i != solve_d)
    return vals


def _expected(rule, x: Fraction):
    """What the printed text says for the exact value x: a band's points, or a branch name."""
    if isinstance(rule, Bands):
        for iv, pts, *_ in rule.bands:
            lo_ok = math.isinf(iv.lo) or x > F(iv.lo) or (x == F(iv.lo) and iv.lo_closed)
            hi_ok = math.isinf(iv.hi) or x < F(iv.hi) or (x == F(iv.hi) and iv.hi_closed)
            if lo_ok and hi_ok:
                return ("points", pts)
    if isinstance(rule, RatioPoints):
        if rule.zero_above is not None and x > F(rule.zero_above):
            return ("branch", "zero_above")
        return ("points", float(min(max(x, 0), F(rule.cap)) * F(rule.points)))
    if isinstance(rule, LinearDeduction):
        over = (x - F(rule.threshold)) * (1 if rule.direction == "above" else -1)
        return ("branch", "within") if over <= 0 else ("branch", "deducted")
    if isinstance(rule, StepDeduction):
        gap = (F(rule.target) - x) if rule.direction == "below" else (x - F(rule.target))
        if gap <= 0:
            return ("branch", "met")
        return ("branch", f"steps:{float(math.floor(gap / F(rule.step)))}")
    raise AssertionError(rule)  # pragma: no cover


@settings(max_examples=600, deadline=None)
@given(st.integers(0, len(EDGES) - 1), st.integers(1, 10**7), st.sampled_from([0, 1, -1]), st.integers(0, 5 * 10**6))
def test_cent_amounts_on_and_beside_every_edge(which, k, offset, extra):
    system, ind, rule, e = EDGES[which]
    m = rule.measure
    ef = F(e)
    if not m.den:  # a rate entered directly (满意度): the edge itself and one hundredth of a percentage point off
        x = ef + offset * Fraction(1, 10000)
        vals = {m.inputs[0]: x}
    else:
        solve_n = next(i for i, s in m.num if s > 0)
        unit = _unit(system, solve_n)
        # D a multiple of the edge's denominator, so that N = e·D is a whole number of cents (or persons)
        D = ef.denominator * k * unit
        N = ef * D + offset * unit
        if N < 0:
            return
        x = N / D
        vals = _assign(system, m, N, D, extra)
        if any(v < 0 for v in vals.values()):
            return
    raw = {i: float(v) for i, v in vals.items()}  # as a cell delivers them: the double nearest each decimal
    expect_error = m.max is not None and x > F(m.max)
    try:
        out = rule.evaluate(raw)
    except PerfscoreError as exc:
        assert expect_error, f"{ind.name} {e}: {exc}"
        assert "数据矛盾" in str(exc)
        return
    assert not expect_error, f"{ind.name}: {x} above the measure's maximum scored {out.score}"
    kind, want = _expected(rule, x)
    if kind == "points":
        assert out.score == pytest.approx(want, abs=1e-9), f"{ind.name}: {raw} → {out.phrase}"
    else:
        assert out.branch == want, f"{ind.name}: {raw} → {out.branch} ({out.phrase})"


def test_reported_probes():
    """The two probes in the issue: exactly 90% and exactly 100% in real cent amounts."""
    s = load_system(2020)
    r = score_indicator(s, s.by_id["fixed_asset_utilization"],
                        {"fixed_assets_in_use": 8911731.87, "fixed_assets_total": 9901924.30})
    assert r.score == 1 and "（≥90%）" in r.reason
    r = score_indicator(s, s.by_id["public_expense_control"],
                        {"three_public_budget": 32021.78, "three_public_actual": 61670.48, "overseas_actual": 29648.70,
                         "daily_public_budget": 1, "daily_public_actual": 1})
    assert r.parts[0].score == 2 and "100.00%（90%≤" in r.reason


# ------------------------------------------------------------------------------------------ reasons add up
_DEDUCT = re.compile(r"扣 ([0-9.]+) 分")
plausible = st.one_of(st.floats(0, 2e6, allow_nan=False), st.integers(0, 40),
                      st.sampled_from(["是", "否", "按规定公开", "公开但不符合要求", "未公开", "0.555", "0.5", "95.5%"]),
                      st.decimals(0, 3, places=3).map(str))
SYSTEM = load_system(2020)


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(SYSTEM.indicators), st.data())
def test_stated_deductions_sum_to_weight_minus_score(ind, data):
    raw = {i: data.draw(plausible) for i in ind.inputs}
    r = score_indicator(SYSTEM, ind, raw)
    if r.score is None:
        return
    stated = [Fraction(x) for x in _DEDUCT.findall(r.reason)]
    lost = F(ind.weight) - F(r.score)
    if lost == 0:
        assert r.reason.endswith("得满分") and not stated, r.reason
    else:
        assert sum(stated) == lost, f"{ind.name}: {r.score}, reason “{r.reason}”"
    for p in r.parts:  # each part as its reason states it: already rounded
        assert F(p.score) == Fraction(round(p.score * 100), 100)


# ------------------------------------------------------------------------------------------ declared choices
def variant(tmp_path, *pairs: str):
    """The Shenzhen file with one reading changed: a choice is data, not code."""
    text = SYSTEM_FILE.read_text("utf-8")
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert old in text, old
        text = text.replace(old, new)
    p = tmp_path / "2020.toml"
    p.write_text(text, "utf-8")
    return load_system_file(p)


def _fin(system, amount):
    return score_indicator(system, system.by_id["financial_compliance"],
                           {"adjustment_amount": amount, "budget_scale": 100}).score


def test_the_shenzhen_file_declares_its_readings():
    text = SYSTEM_FILE.read_text("utf-8")
    for key in ('compare = "exact"', 'exclude = ["overseas_actual"]', 'basis = "深财预〔2019〕177号"',
                'count_points = "pro_rata"', 'capping = "each_quarter"', "max = 1"):
        assert key in text


@pytest.mark.parametrize("mode,at_10_5,at_10_01", [("pro_rata", 2.95, 2.999), ("full_points", 3, 3),
                                                    ("started_points", 2.9, 2.9)])
def test_per_point_readings(tmp_path, mode, at_10_5, at_10_01):
    s = variant(tmp_path, 'count_points = "pro_rata"', f'count_points = "{mode}"')
    assert _fin(s, 10.5) == at_10_5
    assert _fin(s, 10.01) == round(at_10_01, 2)
    assert _fin(s, 11) == 2.9  # one whole point: every reading agrees
    assert _fin(s, 10) == 3


def test_quarter_capping_readings(tmp_path):
    raw = {"q1_progress": "50%", "q2_progress": "50%", "q3_progress": "75%", "q4_progress": "90%"}
    each = score_indicator(SYSTEM, SYSTEM.by_id["budget_execution"], raw)
    s = variant(tmp_path, 'capping = "each_quarter"', 'capping = "indicator"')
    whole = score_indicator(s, s.by_id["budget_execution"], raw)
    assert (each.score, whole.score) == (5.85, 6)
    assert "各季度按不超过序时进度计" in each.reason
    assert "各季度按实际进度计" in whole.reason


def test_compare_as_printed(tmp_path):
    raw = {"fixed_assets_in_use": 89995, "fixed_assets_total": 100000}  # 89.995% → printed 90.00%
    s = variant(tmp_path, 'compare = "exact"', 'compare = "as_printed"')
    assert score_indicator(SYSTEM, SYSTEM.by_id["fixed_asset_utilization"], raw).score == 0.7
    r = score_indicator(s, s.by_id["fixed_asset_utilization"], raw)
    assert r.score == 1 and "90.00%（≥90%）" in r.reason


def test_exclusion_needs_its_basis(tmp_path):
    with pytest.raises(SystemFileError, match="basis"):
        variant(tmp_path, 'basis = "深财预〔2019〕177号"\n', "")


def test_without_the_exclusion_the_reference_three_public_scores_zero(tmp_path):
    s = variant(tmp_path, 'exclude = ["overseas_actual"]\nbasis = "深财预〔2019〕177号"\n', "",
                '"three_public_actual", "overseas_actual", ', '"three_public_actual", ')
    raw = {"three_public_budget": 55100, "three_public_actual": 161226, "overseas_actual": 155385,
           "daily_public_budget": 399015.91, "daily_public_actual": 313869.54}
    assert score_indicator(s, s.by_id["public_expense_control"], raw).parts[0].score == 0
    r = score_indicator(SYSTEM, SYSTEM.by_id["public_expense_control"], raw)
    assert r.parts[0].score == 3
    assert "(161226-155385)/55100 = 10.60%" in r.reason and "深财预〔2019〕177号" in r.reason


def test_reference_case_still_97_93(reference_case):
    res = score_case(SYSTEM, reference_case.raw_values())
    assert (res.total, res.grade) == (97.93, "优")


def test_supervision_help_quotes_the_zero_clause():
    assert "如无法提供开展检查监督相关证明材料" in SYSTEM.inputs["supervision_2"].help
