"""A small strict reader for TOML data: every key known, every type checked, errors name file and key."""
from __future__ import annotations

import math
from typing import Any

from perfscore.errors import SystemFileError

_TYPE_NAMES = {str: "文字", bool: "true/false", int: "整数", float: "数字", list: "列表", dict: "表"}


class Node:
    """Wraps one TOML table. ``take`` each known key; ``done`` rejects any key left over."""

    def __init__(self, data: Any, file: str, path: str, error=SystemFileError):
        self.file, self.path, self.error = file, path, error
        if not isinstance(data, dict):
            raise error(file, path, f"应为表（TOML table），实际为 {_tname(data)}")
        self.data, self.seen = data, set()

    def key(self, k) -> str:
        return f"{self.path}.{k}" if self.path else str(k)

    def fail(self, k, problem):
        raise self.error(self.file, self.key(k) if k is not None else self.path, problem)

    def take(self, k, typ, *, default=..., check=None):
        self.seen.add(k)
        if k not in self.data:
            typo = self._typo(k)
            if typo:  # “threshhold” for “threshold”: say so rather than “missing”
                self.fail(typo, f"未知的键 {typo!r}：是否应为 {k!r}？")
            if default is ...:
                self.fail(k, f"缺少必填项（应为{_type_name(typ)}）")
            return default
        v = self.data[k]
        v = _coerce(v, typ)
        if v is _BAD:
            self.fail(k, f"类型应为{_type_name(typ)}，实际为{_tname(self.data[k])}（{_brief(self.data[k])}）")
        if check is not None:
            problem = check(v)
            if problem:
                self.fail(k, problem)
        return v

    def _typo(self, k) -> str | None:
        import difflib
        unknown = [x for x in self.data if isinstance(x, str) and x not in self.seen and x != k]
        close = difflib.get_close_matches(k, unknown, n=1, cutoff=0.8)
        return close[0] if close else None

    def child(self, k, *, default=...) -> "Node | None":
        v = self.take(k, dict, default=default)
        return None if v is None else Node(v, self.file, self.key(k), self.error)

    def children(self, k, *, default=..., name_key=None) -> list["Node"]:
        items = self.take(k, list, default=default)
        if items is None:
            return []
        out = []
        for i, item in enumerate(items):
            label = f"{self.key(k)}[{i}]"
            if name_key and isinstance(item, dict) and isinstance(item.get(name_key), str):
                label = f"{self.key(k)}[{item[name_key]}]"
            out.append(Node(item, self.file, label, self.error))
        return out

    def done(self):
        extra = [k for k in self.data if k not in self.seen]
        if extra:
            known = "、".join(sorted(str(s) for s in self.seen)) or "（无）"
            self.fail(extra[0], f"未知的键 {extra[0]!r}；此处允许的键：{known}")


_BAD = object()


def _coerce(v, typ):
    if typ is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return _BAD
        return float(v)
    if typ is int:
        return v if isinstance(v, int) and not isinstance(v, bool) else _BAD
    if typ is bool:
        return v if isinstance(v, bool) else _BAD
    if isinstance(typ, tuple):  # bool is an int in Python: accepted only where listed
        return v if isinstance(v, typ) and (bool in typ or not isinstance(v, bool)) else _BAD
    return v if isinstance(v, typ) else _BAD


def _type_name(typ) -> str:
    if isinstance(typ, tuple):
        return "或".join(dict.fromkeys(_TYPE_NAMES.get(t, "其他") for t in typ))
    return _TYPE_NAMES.get(typ, "其他")


def _tname(v):
    return _TYPE_NAMES.get(type(v), "日期或时间")


def _brief(v) -> str:
    """A TOML value as the user wrote it (roughly), short, without Python spellings."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v[:40]}"'
    if isinstance(v, dict):
        return "{ " + ", ".join(list(map(str, v))[:5]) + " }"
    if isinstance(v, list):
        return f"{len(v)} 项的列表"
    return str(v)[:40]


def positive(v):
    return None if (v > 0 and math.isfinite(v)) else "应为大于 0 的数"


def non_negative(v):
    return None if (v >= 0 and math.isfinite(v)) else "应为不小于 0 的数"


def one_of(*choices):
    def check(v):
        return None if v in choices else f"应为以下之一：{'、'.join(map(str, choices))}，实际为 {v!r}"
    return check


def list_of(typ):
    def check(v):
        bad = [x for x in v if not isinstance(x, typ) or isinstance(x, bool)]
        return f"列表的每一项应为{_TYPE_NAMES.get(typ, typ)}，发现 {bad[0]!r}" if bad else None
    return check
