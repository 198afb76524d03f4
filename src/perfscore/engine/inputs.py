"""Input declarations: id, Chinese name, unit, kind and valid range; and the one parser every adapter uses."""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from decimal import Decimal

from perfscore.errors import InputError
from perfscore.engine.numbers import ParseError, fmt_num, parse_flag, text_to_decimal, to_decimal, typed_text

# kind -> (default unit, default min, default max)
KINDS = {
    "amount": ("元", 0.0, math.inf),      # money
    "count": ("个", 0.0, math.inf),       # whole numbers: people, projects, tasks
    "rate": ("%", 0.0, 1.0),              # a percentage, stored as a fraction
    "judgement": ("分", 0.0, None),       # points judged for one checklist item, or 是/否 (max required)
    "score": ("分", 0.0, None),           # a manual score (max required)
    "flag": ("", None, None),             # 是/否
    "choice": ("", None, None),           # one of the declared options
    "text": ("", None, None),             # standing text such as 部门名称 (not used by rules)
}

# what “不适用” (the officer's entry for an item the department has no business for) means, per input:
# "full" — the item scores its full points, the reason says 不适用
NOT_APPLICABLE = ("full",)
NA_TEXT = "不适用"

_HUGE = 1e15  # larger than any budget in 元 by orders of magnitude; guards against pasted garbage


@dataclass(slots=True)
class InputSpec:
    id: str
    name: str                 # Chinese defined name, e.g. 政府采购预算数
    kind: str
    unit: str
    min: float | None
    max: float | None
    help: str = ""
    options: tuple[str, ...] = ()
    default: object = None    # parsed default used when the cell is blank (documented per input)
    standing: bool = False    # carried forward to next year's workbook (编制数, 部门名称 …)
    source: str = ""          # 数据来源: where the officer finds the figure (决算报表…, 资产管理系统…)
    carry_from: str | None = None  # last year's input whose value this one takes (三公经费预算 → 上年三公经费预算)
    note: str = ""            # a short polarity marker shown after the name: 是＝本项 0 分
    not_applicable: str | None = None  # "full": the officer may enter 不适用 and the item scores its full points

    @property
    def label(self) -> str:
        """The name as printed beside the input: with its polarity note, e.g. 存在违规支出（是＝本项 0 分）."""
        return f"{self.name}（{self.note}）" if self.note else self.name

    # ------------------------------------------------------------------ messages
    def expectation(self) -> str:
        k = self.kind
        if k == "amount":
            return f"不小于 {fmt_num(self.min)} 的金额（{self.unit}），例如 13200 或 13,200.00"
        if k == "count":
            return f"不小于 {fmt_num(self.min)} 的整数（{self.unit}）"
        if k == "rate":
            hi = "不设上限" if math.isinf(self.max) else f"{fmt_num(self.max * 100)}%"
            return f"{fmt_num(self.min * 100)}% 到 {hi} 之间的百分比，例如 95.15%、95.15 或 0.9515"
        na = f"；无此项业务的填“{NA_TEXT}”（得满分）" if self.not_applicable == "full" else ""
        if k == "judgement":
            return f"0 到 {fmt_num(self.max)} 分之间的得分，或“是”（得满分）/“否”（得 0 分）{na}"
        if k == "score":
            return f"0 到 {fmt_num(self.max)} 分之间的得分{na}"
        if k == "flag":
            return "“是”或“否”"
        if k == "choice":
            return "以下之一：" + "／".join(f"“{o}”" for o in self.options)
        return "文字"

    def _bad(self, raw, why: str | None = None) -> InputError:
        shown = _show(raw)
        msg = why or f"应为{self.expectation()}"
        return InputError(self.id, self.name, f"{msg}，收到“{shown}”。请改正后重新计算。")

    # ------------------------------------------------------------------ parsing
    def parse(self, raw):
        """raw value from Excel / a case file / the CLI -> float, bool or option text. Raises InputError."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return self._missing()  # a blank cell is never silently defaulted; see engine.MISSING
        k = self.kind
        if k == "flag":
            try:
                return parse_flag(raw)
            except ParseError:
                raise self._bad(raw) from None
        if k == "choice":
            return self._parse_choice(raw)
        if k == "text":
            return str(raw).strip()
        if self.not_applicable == "full" and isinstance(raw, str) and typed_text(raw) == NA_TEXT:
            return self.max
        if isinstance(raw, (_dt.date, _dt.datetime)):
            raise self._bad(raw, f"应为{self.expectation()}，单元格里是日期")
        t = type(raw)
        if t is float or t is int:  # the common case from Excel cells: skip text handling
            return self._check_number(raw, float(raw))
        if k == "judgement" and isinstance(raw, bool):
            return self.max if raw else 0.0
        units = (self.unit,) if self.unit and self.unit != "%" else ()
        if k == "judgement" and isinstance(raw, str):
            # a number first (text "1" is 1 point, as the number 1 is), then the words 是/否
            try:
                text_to_decimal(raw, units)
            except ParseError:
                try:
                    return self.max if parse_flag(raw) else 0.0
                except ParseError:
                    raise self._bad(raw, self._text_why(raw)) from None
        try:
            if isinstance(raw, str):
                d, pct = text_to_decimal(raw, units)
            else:
                d, pct = to_decimal(raw)
        except ParseError:
            raise self._bad(raw, self._text_why(raw) if isinstance(raw, str) else None) from None
        if k == "rate":
            # 95.15% / 95.15 / 0.9515 all mean 95.15%: a bare number above 1 is read as a percentage.
            v = float(d / 100) if (pct or d > 1) else float(d)
        else:
            if pct:
                raise self._bad(raw, f"应为{self.expectation()}，不应带 % 号")
            v = float(d)
        return self._check_number(raw, v, rate_done=True)

    def _text_why(self, raw) -> str:
        """Why typed text is not a value of this input, in the words a person sees."""
        return f"单元格里是文字，不是{'数字或“是”/“否”' if self.kind == 'judgement' else '数字'}：请输入{self.expectation()}"

    def _check_number(self, raw, v: float, rate_done=False) -> float:
        if not math.isfinite(v):
            raise self._bad(raw)
        k = self.kind
        if k == "rate" and not rate_done and v > 1:
            # a bare number above 1 is a percentage; divide in decimal so 95 -> exactly the double of 0.95
            v = v / 100 if v.is_integer() else float(Decimal(repr(v)) / 100)
        if abs(v) > _HUGE:
            raise self._bad(raw, "数值过大，超出合理范围")
        if k == "count" and not v.is_integer():
            raise self._bad(raw, f"应为整数（{self.unit}）")
        if self.min is not None and v < self.min:
            raise self._bad(raw, f"不能小于 {self._show_bound(self.min)}")
        if self.max is not None and v > self.max:
            raise self._bad(raw, f"不能大于 {self._show_bound(self.max)}")
        return v

    def _show_bound(self, b: float) -> str:
        return f"{fmt_num(b * 100)}%" if self.kind == "rate" else f"{fmt_num(b)} {self.unit}".strip()

    def _missing(self):
        err = InputError(self.id, self.name, f"未填写（或单元格显示错误值）：请填写{self.expectation()}。")
        err.missing = True
        raise err

    def _parse_choice(self, raw):
        t = typed_text(raw)
        for o in self.options:
            if t == typed_text(o):
                return o
        # allow the option's number (1, 2, 3 …) as a shortcut
        try:
            d, _ = to_decimal(raw) if not isinstance(raw, str) else text_to_decimal(t)
            i = int(d)
            if d == i and 1 <= i <= len(self.options):
                return self.options[i - 1]
        except (ParseError, ValueError):
            pass
        raise self._bad(raw)


def _show(raw) -> str:
    if isinstance(raw, float) and math.isfinite(raw) and raw == int(raw) and abs(raw) < 1e15:
        return str(int(raw))
    s = str(raw)
    return s if len(s) <= 30 else s[:29] + "…"

