"""Reading a System from one TOML file's data, validated strictly (every key known, every reference resolved, every
weight adding up); errors name the file and the key. The steps, in the order they run:

- ``[system]`` settings (here): identity, total, rounding, how thresholds compare, the default 0/0 policy;
- ``hierarchy.grades``; ``inputs.build_inputs`` and ``inputs.build_measures``;
- ``hierarchy.levels`` and ``hierarchy.indicators``, each indicator's rule read by ``families.build_rule``;
- ``hierarchy.goal_table`` and ``hierarchy.checks``; finally every choice input must have its options.

The format is described in docs/indicator-system.md.
"""
from __future__ import annotations

import functools

from perfscore.engine.reading import hierarchy
from perfscore.engine.reading.context import COMPARE_MODES, ZERO_POLICIES, Context
from perfscore.engine.reading.inputs import build_inputs, build_measures
from perfscore.engine.model import System
from perfscore.engine.numbers import ROUNDING_MODES, round_to
from perfscore.engine.schema import Node, one_of, positive


def build_system(data: dict, file: str) -> System:
    ctx = Context(file)
    r = Node(data, file, "")
    schema = r.take("schema", int)
    if schema != 1:
        r.fail("schema", f"不支持的格式版本 {schema}：本程序读取 schema = 1")
    s = r.child("system")
    sid = s.take("id", str)
    name = s.take("name", str)
    title = s.take("title", str)
    region = s.take("region", str)
    year = s.take("year", int, check=lambda y: None if 1990 <= y <= 2100 else "年度应在 1990–2100 之间")
    source = s.take("source", str, default="")
    total = s.take("total", float, check=positive)
    ctx.zero_default = s.take("zero_denominator", str, default="error", check=one_of(*ZERO_POLICIES))
    rn = s.child("rounding")
    mode = rn.take("mode", str, check=one_of(*ROUNDING_MODES))
    digits = rn.take("digits", int, check=lambda d: None if 0 <= d <= 6 else "应在 0–6 之间")
    rn.done()
    ctx.rounder = functools.partial(round_to, digits=digits, mode=mode)
    # How a measure meets a printed threshold: exact (the decimal value itself) or as_printed (the value
    # rounded half up to the digits the table prints, e.g. 2 decimals of a percentage).
    ctx.compare = s.take("compare", str, default="exact", check=one_of(*COMPARE_MODES))
    ctx.printed_digits = s.take("printed_digits", int, default=2,
                                check=lambda d: None if 0 <= d <= 6 else "应在 0–6 之间")
    s.done()

    grades = hierarchy.grades(ctx, r, total)
    ctx.inputs = build_inputs(r)
    ctx.measures = build_measures(ctx, r)
    level1, level2 = hierarchy.levels(ctx, r, total)
    indicators = hierarchy.indicators(ctx, r, {l.id: l for l in level1}, {l.id: l for l in level2})
    goal = hierarchy.goal_table(r)
    checks = hierarchy.checks(ctx, r)
    r.done()
    for spec in ctx.inputs.values():
        if spec.kind == "choice" and not spec.options:
            ctx.err(f"inputs.{spec.id}", "选择类输入项必须由某个 tiered 规则给出档次")
    return System(sid, name, title, region, year, source, total, mode, digits, grades, level1, level2,
                  indicators, ctx.inputs, ctx.measures, goal, checks, file, compare=ctx.compare)
