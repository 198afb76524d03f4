"""What an indicator system is, once loaded: levels, indicators with their compiled rules, inputs, measures,
grades, the goal table and sanity checks. Built from a TOML file by ``perfscore.engine.reading``; found by year and
region by ``perfscore.engine.system``."""
from __future__ import annotations

from dataclasses import dataclass, field

from perfscore.engine import rules as R
from perfscore.engine.inputs import InputSpec
from perfscore.engine.numbers import Interval


@dataclass(slots=True)
class Level:
    id: str
    name: str
    printed: str
    weight: float
    parent: str | None = None


@dataclass(slots=True)
class Erratum:
    field: str
    printed: str
    correct: str
    note: str


@dataclass(slots=True)
class Indicator:
    id: str
    name: str
    level1: Level
    level2: Level
    weight: float
    function: str
    description: str
    criteria: str
    inputs: tuple[str, ...]
    rule: R.Rule
    veto: tuple[str, ...] = ()
    not_applicable: str | None = None
    veto_label: str = ""
    not_applicable_label: str = ""
    errata: tuple[Erratum, ...] = ()


@dataclass(slots=True)
class SanityCheck:
    """Inputs that must stand in a relation (在用固定资产 ≤ 固定资产总额); sums of signed terms on each side."""
    label: str
    left: tuple
    op: str
    right: tuple

    def holds(self, vals) -> bool | None:
        """None when an input is missing; otherwise whether the relation holds (to the cent)."""
        try:
            lhs = sum(sg * vals[i] for i, sg in self.left)
            rhs = sum(sg * vals[i] for i, sg in self.right)
        except KeyError:
            return None
        return {"<=": lhs <= rhs + 0.005, ">=": lhs + 0.005 >= rhs, "=": abs(lhs - rhs) <= 0.005}[self.op]


@dataclass(slots=True)
class GoalTable:
    title: str
    categories: tuple[tuple[str, tuple[str, ...]], ...]  # (一级指标, (二级指标, …))


@dataclass
class System:
    id: str
    name: str
    title: str
    region: str
    year: int
    source: str
    total: float
    rounding_mode: str
    rounding_digits: int
    grades: tuple[tuple[Interval, str], ...]
    level1: tuple[Level, ...]
    level2: tuple[Level, ...]
    indicators: tuple[Indicator, ...]
    inputs: dict[str, InputSpec]
    measures: dict[str, R.Measure]
    goal_table: GoalTable | None
    checks: tuple = ()
    path: str = ""
    compare: str = "exact"
    key: str = ""           # the region's key: the folder its file lies in (shenzhen); how workbooks name it
    by_id: dict[str, Indicator] = field(default_factory=dict)
    by_function: dict[str, Indicator] = field(default_factory=dict)

    def __post_init__(self):
        self.by_id = {i.id: i for i in self.indicators}
        self.by_function = {i.function: i for i in self.indicators}

    def grade(self, total: float) -> str:
        for iv, label in self.grades:
            if total in iv:
                return label
        raise ValueError(f"总分 {total} 不在评分等级范围内")  # pragma: no cover - validated partition
