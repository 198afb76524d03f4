"""Probe (prints figures; not a test): real cent amounts exactly on the 固定资产利用率 edges 90%, 75%, 60%.

Counts how often a plain floating-point ratio falls below the edge, and how often the engine scores the wrong band.
Run:  .venv/bin/python scripts/probe_edges.py
"""
import random
from fractions import Fraction
from perfscore import load_system, score_indicator
s = load_system(2020)
ind = s.by_id["fixed_asset_utilization"]
rng = random.Random(12)
for edge, want in ((Fraction(9,10), 1.0), (Fraction(3,4), 0.7), (Fraction(3,5), 0.4)):
    wrong_new = wrong_float = 0
    N = 10000
    for _ in range(N):
        k = rng.randint(1, 10**8)
        D = edge.denominator * k  # cents
        Nn = edge.numerator * k
        a, b = Nn / 100, D / 100
        r = score_indicator(s, ind, {"fixed_assets_in_use": a, "fixed_assets_total": b})
        wrong_new += r.score != want
        wrong_float += (a / b) < float(edge)   # what a plain float comparison decides
    print(f"edge {float(edge):.0%}: {N} exact cent pairs; plain float ratio below the edge {wrong_float} ({wrong_float/N:.1%}); engine wrong band {wrong_new}")
