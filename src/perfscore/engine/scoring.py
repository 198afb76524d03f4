"""Scoring: inputs in, every indicator's score with its explanation out, then subtotals, total and grade.

Pure functions over a loaded ``System``. Nothing raises to the caller for bad input: an indicator that cannot be
scored carries ``error`` (a Chinese message naming the input and what is expected) and the total is withheld.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from perfscore.errors import InputError, PerfscoreError
from perfscore.engine.inputs import NA_TEXT
from perfscore.engine.numbers import fmt_num, round_to
from perfscore.engine.rules import EPS, Figure, Outcome
from perfscore.engine.model import Indicator, Level, System

MISSING = object()  # an argument that was not given at all (an omitted optional UDF argument): defaults apply


@dataclass(slots=True)
class PartResult:
    name: str
    points: float
    score: float
    reason: str
    branch: str = ""               # the part's branch, as IndicatorResult.branch (问题清单 groups by it)


@dataclass(slots=True)
class IndicatorResult:
    indicator: Indicator
    score: float | None            # rounded by the system's rounding mode
    reason: str                    # one line: "政府采购执行率 95.15%，扣 0.05 分"
    branch: str = ""
    figures: tuple[Figure, ...] = ()
    parts: tuple[PartResult, ...] = ()
    error: str | None = None       # short, for a cell: "请填写「政府采购预算数」等 2 项"
    error_detail: str | None = None  # every problem with what to write, for the reason column and the terminal

    @property
    def id(self):
        return self.indicator.id

    @property
    def weight(self):
        return self.indicator.weight

    @property
    def deducted(self) -> float | None:
        return None if self.score is None else round_to(self.indicator.weight - self.score, 6)

    def to_dict(self) -> dict:
        ind = self.indicator
        return {
            "id": ind.id, "name": ind.name, "level1": ind.level1.name, "level2": ind.level2.name,
            "function": ind.function, "weight": ind.weight, "score": self.score, "deducted": self.deducted,
            "reason": self.reason, "branch": self.branch, "error": self.error, "error_detail": self.error_detail,
            "figures": [{"id": f.id, "label": f.label, "value": f.value, "display": f.display, "formula": f.formula}
                        for f in self.figures],
            "parts": [{"name": p.name, "points": p.points, "score": p.score, "reason": p.reason} for p in self.parts],
        }


@dataclass(slots=True)
class LevelResult:
    level: Level
    score: float | None

    @property
    def rate(self) -> float | None:
        return None if self.score is None else self.score / self.level.weight


@dataclass
class CaseResult:
    system: System
    indicators: list[IndicatorResult]
    level1: dict[str, LevelResult]
    level2: dict[str, LevelResult]
    total: float | None
    grade: str | None
    inputs: dict[str, Any] = field(default_factory=dict)   # parsed input values (those that parsed)

    @property
    def errors(self) -> list[IndicatorResult]:
        return [r for r in self.indicators if r.error]

    def by_id(self, iid: str) -> IndicatorResult:
        return next(r for r in self.indicators if r.id == iid)

    def to_dict(self) -> dict:
        s = self.system
        return {
            "system": {"id": s.id, "name": s.name, "region": s.region, "year": s.year, "path": s.path},
            "indicators": [r.to_dict() for r in self.indicators],
            "level1": {k: {"name": v.level.name, "weight": v.level.weight, "score": v.score} for k, v in self.level1.items()},
            "level2": {k: {"name": v.level.name, "weight": v.level.weight, "score": v.score} for k, v in self.level2.items()},
            "total": self.total, "grade": self.grade,
            "errors": [{"id": r.id, "name": r.indicator.name, "error": r.error_detail} for r in self.errors],
        }


# ============================================================================================ one indicator
def parse_inputs(system: System, ids, raw: Mapping[str, Any]):
    """-> (values by id, list of InputError). Absent keys (or MISSING) take the declared default."""
    vals, errs = {}, []
    for iid in ids:
        spec = system.inputs[iid]
        v = raw.get(iid, MISSING)
        if v is MISSING:
            if spec.default is not None:
                vals[iid] = spec.default
                continue
            v = None
        try:
            vals[iid] = spec.parse(v)
        except InputError as exc:
            errs.append(exc)
    return vals, errs


def score_indicator(system: System, ind: Indicator, raw: Mapping[str, Any]) -> IndicatorResult:
    """Score one indicator from raw values keyed by input id. Never raises for bad input."""
    digits, mode = system.rounding_digits, system.rounding_mode
    try:
        if ind.not_applicable:
            vals, errs = parse_inputs(system, (ind.not_applicable,), raw)
            if errs:
                return _failed(ind, errs)
            if vals[ind.not_applicable]:
                return IndicatorResult(ind, round_to(ind.weight, digits, mode), f"{ind.not_applicable_label}，得满分",
                                       "not_applicable")
        if ind.veto:
            vals, errs = parse_inputs(system, ind.veto, raw)
            if errs:
                return _failed(ind, errs)
            if any(vals[v] for v in ind.veto):
                return IndicatorResult(ind, 0.0, f"{ind.veto_label}，本项指标得 0 分，扣 {fmt_num(ind.weight)} 分", "veto")
        vals, errs = parse_inputs(system, ind.inputs, raw)
        if errs:
            return _failed(ind, errs)
        out = ind.rule.evaluate(vals)
    except PerfscoreError as exc:  # zero denominator with policy "error", etc.
        detail = getattr(exc, "detail", str(exc))
        return IndicatorResult(ind, None, detail, "error", error=str(exc), error_detail=detail)
    except Exception as exc:  # a bug must not reach a cell as a traceback; tests assert this never happens
        msg = f"内部错误（{type(exc).__name__}）：请把输入数据发给开发人员"
        return IndicatorResult(ind, None, msg, "internal_error", error=msg, error_detail=msg)
    score = round_to(min(max(out.score, 0.0), ind.weight), digits, mode)
    return IndicatorResult(ind, score, _reason(out, ind.weight, score, digits) + not_applicable_note(system, ind, raw),
                           out.branch, out.figures, _parts(out, digits))


def not_applicable_note(system, ind, raw) -> str:
    """“（群众信访办理情况_2不适用，按满分计）” for each input the officer entered as 不适用 (where declared)."""
    out = ""
    for iid in ind.inputs:
        spec = system.inputs[iid]
        v = raw.get(iid)
        if spec.not_applicable and isinstance(v, str) and v.strip() == NA_TEXT:
            out += f"（{spec.name}{NA_TEXT}，按满分计）"
    return out


def _failed(ind, errs) -> IndicatorResult:
    """A short message for the cell (the first unusable value, or the blanks counted) and the full detail."""
    bad = [e for e in errs if not e.missing]
    missing = [e for e in errs if e.missing]
    if bad:
        short = str(bad[0]).split("，收到")[0] + (f"（另有 {len(errs) - 1} 处问题）" if len(errs) > 1 else "")
    elif len(missing) == 1:
        short = f"请填写「{missing[0].label}」"
    else:
        short = f"请填写「{missing[0].label}」等 {len(missing)} 项"
    detail = "；".join([str(e) for e in bad] + ([str(missing[0])] if len(missing) == 1 else []) +
                      (["".join(f"「{e.label}」" for e in missing) + "未填写（或单元格显示错误值）：请在“基础数据”表中填写"]
                       if len(missing) > 1 else []))
    return IndicatorResult(ind, None, detail, "input_error", error=short, error_detail=detail)


def _reason(out: Outcome, weight: float, score: float, digits: int) -> str:
    if score >= weight - EPS:
        return f"{out.phrase}，得满分"
    if out.parts:
        lines = []
        for p in out.parts:
            d = round_to(p.points - p.outcome.score, digits)
            if d > 0:
                lines.append(f"{p.outcome.phrase}，扣 {fmt_num(d, digits)} 分")
        if lines:
            return "；".join(lines)
    return f"{out.phrase}，扣 {fmt_num(weight - score, digits)} 分"


def _parts(out: Outcome, digits: int) -> tuple[PartResult, ...]:
    return tuple(PartResult(p.name, p.points, round_to(p.outcome.score, digits), p.outcome.phrase,
                                 p.outcome.branch) for p in out.parts)


# ============================================================================================ a whole case
def score_case(system: System, raw: Mapping[str, Any]) -> CaseResult:
    """Score every indicator; subtotals and total are sums of the rounded indicator scores."""
    results = [score_indicator(system, ind, raw) for ind in system.indicators]
    l2 = {lv.id: LevelResult(lv, _sum(r.score for r in results if r.indicator.level2.id == lv.id))
          for lv in system.level2}
    l1 = {lv.id: LevelResult(lv, _sum(r.score for r in results if r.indicator.level1.id == lv.id))
          for lv in system.level1}
    total = _sum(r.score for r in results)
    grade = system.grade(total) if total is not None else None
    parsed, _ = parse_inputs(system, [i for i in system.inputs if i in raw or system.inputs[i].default is not None], raw)
    return CaseResult(system, results, l1, l2, total, grade, parsed)


def _sum(scores) -> float | None:
    total = 0.0
    for s in scores:
        if s is None:
            return None
        total += s
    return round_to(total, 6)
