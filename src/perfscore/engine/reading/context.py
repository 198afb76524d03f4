"""What every part of building a system shares: the file being read, the system-wide settings that rules inherit
(rounding, how thresholds are compared, the default 0/0 policy), the inputs and measures declared so far, and the
small readers that check a reference to them or parse a threshold."""
from __future__ import annotations

import re

from perfscore.engine.numbers import ParseError, parse_interval, text_to_decimal
from perfscore.engine.schema import list_of
from perfscore.errors import SystemFileError

ZERO_POLICIES = ("full", "zero", "error")
COMPARE_MODES = ("exact", "as_printed")
WEIGHT_TOL = 1e-9
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
NUMERIC_KINDS = ("amount", "count", "rate")


class Context:
    """Filled in by the steps of ``build_system`` in order: settings, then inputs, then measures."""

    def __init__(self, file: str):
        self.file = file
        self.zero_default = "error"
        self.rounder = None
        self.compare = "exact"
        self.printed_digits = 2
        self.inputs = {}
        self.measures = {}

    def err(self, key, problem):
        raise SystemFileError(self.file, key, problem)

    def fraction(self, node, key, check=None):
        """A threshold written as a fraction (0.1) or, as the printed table writes it, a percentage ("10%")."""
        v = node.data.get(key)
        if isinstance(v, str):
            try:
                d, pct = text_to_decimal(v)
            except ParseError:
                node.fail(key, f"应为数字或百分数（如 0.1 或 \"10%\"），实际为 {v!r}")
            node.data[key] = float(d / 100) if pct else float(d)
        return node.take(key, float, check=check)

    def interval(self, node, key):
        text = node.take(key, str)
        try:
            return parse_interval(text)
        except ValueError as exc:
            node.fail(key, str(exc))

    def input_ref(self, node, key, kinds=None):
        iid = node.take(key, str)
        return self.check_input(node, key, iid, kinds)

    def check_input(self, node, key, iid, kinds=None):
        if iid not in self.inputs:
            if iid.strip() in self.inputs:  # “spent ” for spent: the spaces are invisible in the message
                node.fail(key, f"输入项 {iid!r} 的前后有空格：应写成 {iid.strip()!r}")
            node.fail(key, f"使用了未声明的输入项 {iid!r}：请在 [inputs.{iid}] 中声明（名称、类型、单位）")
        if kinds and self.inputs[iid].kind not in kinds:
            node.fail(key, f"输入项 {iid!r} 的类型为 {self.inputs[iid].kind}，此处需要 {'/'.join(kinds)}")
        return iid

    def terms(self, n, key, required=True):
        """A list of input ids, each optionally signed ("-上年结转"), summed into a numerator or a side of a check."""
        items = n.take(key, list, default=... if required else [], check=list_of(str))
        out = []
        for t in items:
            sign = -1 if t.startswith("-") else 1
            iid = t.lstrip("+-").strip()
            self.check_input(n, key, iid, NUMERIC_KINDS)
            out.append((iid, sign))
        if required and not out:
            n.fail(key, "至少需要一个输入项")
        return out


def unique(ctx: Context, key, ids):
    seen = set()
    for i in ids:
        if i in seen:
            ctx.err(key, f"id {i!r} 重复")
        seen.add(i)
