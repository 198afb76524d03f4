"""Rule families that other regions' tables use, on a small system file kept in tests/data."""
from pathlib import Path

import pytest

from perfscore import load_system_file, score_indicator

SYSTEM = load_system_file(Path(__file__).parent / "data" / "other_families.toml")

CASES = [
    # step deduction: 0.5 per full 5 points below 100%, floor 1
    ("completion", {"done": 20, "planned": 20}, 3),
    ("completion", {"done": 19, "planned": 20}, 2.5),    # exactly 5% short: one step
    ("completion", {"done": 96, "planned": 100}, 3),     # 4% short: no full step
    ("completion", {"done": 90, "planned": 100}, 2),     # two steps
    ("completion", {"done": 1, "planned": 100}, 1),      # floor
    ("completion", {"done": 0, "planned": 0}, 0),        # system-wide zero_denominator = "zero"
    # change rate vs prior-year actual, bands as share of the weight
    ("cost_trend", {"cost_now": 90, "cost_prior": 100}, 2),
    ("cost_trend", {"cost_now": 100, "cost_prior": 100}, 1),
    ("cost_trend", {"cost_now": 110, "cost_prior": 100}, 1),   # exactly +10%
    ("cost_trend", {"cost_now": 110.01, "cost_prior": 100}, 0),
    # the same change measured against last year's budget: the base is selectable
    ("cost_vs_budget", {"cost_now": 105, "cost_prior": 100, "budget_prior": 200}, 0),
    ("cost_vs_budget", {"cost_now": 95, "cost_prior": 100, "budget_prior": 200}, 2),
    # linear deduction below a threshold with a floor
    ("accuracy", {"accuracy_rate": "95%"}, 3),
    ("accuracy", {"accuracy_rate": "93%"}, 2.6),
    ("accuracy", {"accuracy_rate": "92.5%"}, 2.5),
    ("accuracy", {"accuracy_rate": "10%"}, 0.5),
]


@pytest.mark.parametrize("iid,raw,score", CASES)
def test_family(iid, raw, score):
    r = score_indicator(SYSTEM, SYSTEM.by_id[iid], raw)
    assert r.error is None, r.error
    assert r.score == pytest.approx(score)


def test_change_rate_figure():
    r = score_indicator(SYSTEM, SYSTEM.by_id["cost_vs_budget"], {"cost_now": 105, "cost_prior": 100, "budget_prior": 200})
    assert r.figures[0].display == "2.50%"
    assert r.figures[0].formula == "(105-100)/200"
