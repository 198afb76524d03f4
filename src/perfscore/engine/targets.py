"""The 自评表 target check: 预期指标值 as written ("≥90%", "=100%", "12个月", "及时") against the actual value."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

MET, NOT_MET, UNKNOWN = "达成", "未达成", "无法判断"
_OPS = {"≥": ">=", ">=": ">=", "=>": ">=", "≤": "<=", "<=": "<=", "=<": "<=", ">": ">", "<": "<", "=": "=", "==": "="}
_RE = re.compile(r"^(≥|>=|=>|≤|<=|=<|>|<|==|=)?\s*([+-]?\d+(?:\.\d+)?)\s*(%|[^\d\s%]*)$")
_NEGATIVE = ("未", "不", "否", "没有", "无法", "延迟", "滞后", "超期")


@dataclass(frozen=True, slots=True)
class TargetCheck:
    status: str
    reason: str


def _parse(text: str):
    t = unicodedata.normalize("NFKC", str(text)).strip().replace(",", "")
    m = _RE.match(t)
    if not m:
        return None
    return _OPS.get(m.group(1) or "=", "="), Decimal(m.group(2)), m.group(3)


def _blank(v) -> bool:
    return v is None or str(v).strip() == ""


def check_target(target, actual) -> TargetCheck:
    """Never raises: unreadable text gives 无法判断 with what to write instead; an empty row gives ''."""
    if _blank(target) and _blank(actual):
        return TargetCheck("", "")
    if target is None or str(target).strip() == "":
        return TargetCheck(UNKNOWN, "预期指标值为空：请填写，例如“≥90%”“=100%”“12个月”“及时”")
    if actual is None or str(actual).strip() == "":
        return TargetCheck(UNKNOWN, "实际完成指标值为空：请填写实际完成情况")
    if isinstance(actual, (int, float)) and not isinstance(actual, bool):
        tp = _parse(target)
        # Excel hands a percentage cell over as a fraction
        actual = f"{Decimal(repr(float(actual))) * 100}%" if (tp and tp[2] == "%" and abs(actual) <= 1.5) else repr(actual)
    tp, ap = _parse(target), _parse(actual)
    if tp is None:
        t, a = str(target).strip(), str(actual).strip()
        if a == t:
            return TargetCheck(MET, f"实际“{a}”与预期“{t}”一致")
        if any(a.startswith(n) for n in _NEGATIVE):
            return TargetCheck(NOT_MET, f"实际“{a}”，预期“{t}”")
        return TargetCheck(UNKNOWN, f"预期“{t}”为定性指标，实际“{a}”与其不同：请人工判断")
    if ap is None:
        return TargetCheck(UNKNOWN, f"实际值“{actual}”不是数值：预期“{target}”需要填写数值")
    op, tv, tu = tp
    aop, av, au = ap
    if tu != au:
        return TargetCheck(UNKNOWN, f"单位不一致：预期“{target}”，实际“{actual}”")
    if aop != "=":
        # the actual is itself written as a bound ("≥90%"): a claim, not a measured value — never counted as 达成
        return TargetCheck(UNKNOWN, f"实际值写作“{actual}”，不是实测数值：请填写实测值，或在“人工判断”栏填写完成情况")
    ok = {">=": av >= tv, "<=": av <= tv, ">": av > tv, "<": av < tv, "=": av == tv}[op]
    return TargetCheck(MET if ok else NOT_MET, f"实际 {av}{au}，预期 {target}")
