"""Indicator systems: loaded from per-year TOML files, validated strictly, compiled into rule objects.

A system file describes one region's 部门整体支出绩效评分表 as in force from its ``year`` until a later file
replaces it. Scoring year Y uses the newest file whose year ≤ Y, so a 2020 case keeps 2020 rules after 2021
is added. See ``docs/indicator-system.md`` for the format.
"""
from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from perfscore.engine import rules as R
from perfscore.errors import SystemFileError, UnknownYear
from perfscore.engine.inputs import KINDS, NOT_APPLICABLE, InputSpec
from perfscore.engine.numbers import ROUNDING_MODES, Interval, check_partition, fmt_num, parse_interval, round_to
from perfscore.engine.schema import Node, list_of, non_negative, one_of, positive

PACKAGE_SYSTEMS = Path(__file__).parents[1] / "systems"
DEFAULT_REGION = "shenzhen"
ZERO_POLICIES = ("full", "zero", "error")
COMPARE_MODES = ("exact", "as_printed")
_FUNC_RE = re.compile(r"^PERF_[A-Z0-9_]+$")
_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Excel defined names: start with a letter (any script) or underscore; letters, digits, _ and . after;
# must not look like a cell reference (A1, R1C1) — checked loosely.
_NAME_RE = re.compile(r"^[^\W\d][\w.]*$")
_CELLREF_RE = re.compile(r"^([A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*)$")
WEIGHT_TOL = 1e-9


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


# ============================================================================================ loading
def load_system_file(path) -> System:
    from perfscore.engine.tomlfile import read_toml
    path = Path(path)
    data = read_toml(path, SystemFileError)
    try:
        system = _Builder(data, str(path)).build()
    except RecursionError:
        raise SystemFileError(path, None, "内容嵌套过深：不是正常的指标体系文件") from None
    system.key = path.resolve().parent.name
    return system


@lru_cache(maxsize=None)
def _cached(path: str, mtime: float) -> System:
    return load_system_file(path)


def _load(path: Path) -> System:
    return _cached(str(path), path.stat().st_mtime)


def system_roots(root=None) -> list[Path]:
    """Where indicator systems live: the package's own, then each folder in $PERFSCORE_SYSTEMS (separated by
    os.pathsep), every one laid out <region>/<year>.toml — how a region's IT deploys its tables to the PCs.
    A later root's file replaces an earlier one of the same region and year."""
    if root is not None:
        return [Path(root)]
    env = os.environ.get("PERFSCORE_SYSTEMS", "")
    return [PACKAGE_SYSTEMS] + [Path(p) for p in env.split(os.pathsep) if p.strip()]


def _year_files(region: str, root) -> dict[int, Path]:
    """year -> file of one region (the folder name is the region's key, e.g. shenzhen)."""
    files = {}
    for r in system_roots(root):
        d = r / region
        if d.is_dir():
            files.update({int(p.stem): p for p in d.glob("*.toml") if p.stem.isdigit()})
    return files


def available_regions(root=None) -> list[str]:
    """Every region key that has at least one year's file, in any root."""
    out = set()
    for r in system_roots(root):
        if r.is_dir():
            out.update(d.name for d in r.iterdir() if d.is_dir() and not d.name.startswith(".")
                       and any(p.stem.isdigit() for p in d.glob("*.toml")))
    return sorted(out)


def available_years(region: str = DEFAULT_REGION, root=None) -> list[int]:
    return sorted(_year_files(region, root))


def _regions_text(root=None) -> str:
    return "；".join(f"{r}（{'、'.join(map(str, available_years(r, root)))}）" for r in available_regions(root)) or "（无）"


def load_system(year: int | None = None, *, path=None, region: str = DEFAULT_REGION, root=None) -> System:
    """The system in force for ``year`` (newest file with year ≤ ``year``); or the file at ``path``."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise SystemFileError(p, None, "文件不存在：请检查 --system 指定的路径")
        system = _load(p)
        if year is not None and system.year > year:
            raise UnknownYear(f"指标体系文件 {p} 自 {system.year} 年起适用，不能用于 {year} 年度")
        return system
    files = _year_files(region, root)
    if not files:
        raise UnknownYear(f"没有找到地区 {region!r} 的指标体系文件：现有地区与年度为 {_regions_text(root)}；"
                          f"本地区的文件请放在环境变量 PERFSCORE_SYSTEMS 指向的目录下的 {region}/<年度>.toml")
    years = sorted(files)
    if year is None:
        year = years[-1]
    usable = [y for y in years if y <= year]
    if not usable:
        raise UnknownYear(f"地区 {region} 没有适用于 {year} 年度的指标体系：现有年度为 {'、'.join(map(str, years))}；"
                          f"请用 --year 选择其中之一，或用 --system 指定指标体系文件")
    return _load(files[usable[-1]])


def require_exact_year(year: int, region: str = DEFAULT_REGION, root=None) -> System:
    """For building a year's template: the year must have its own file (no silent fallback)."""
    files = _year_files(region, root)
    if year not in files:
        where = Path(root or PACKAGE_SYSTEMS) / region
        raise UnknownYear(f"地区 {region} 没有 {year} 年度的指标体系文件：现有年度为 "
                          f"{'、'.join(map(str, sorted(files))) or '（无）'}。新增年度请在 {where} 下添加 {year}.toml"
                          f"（或放在环境变量 PERFSCORE_SYSTEMS 指向的目录下的 {region}/ 中）")
    return _load(files[year])


# ============================================================================================ building
class _Builder:
    def __init__(self, data, file):
        self.root = Node(data, file, "")
        self.file = file

    def err(self, key, problem):
        raise SystemFileError(self.file, key, problem)

    # ---------------------------------------------------------------- top level
    def build(self) -> System:
        r = self.root
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
        self.zero_default = s.take("zero_denominator", str, default="error", check=one_of(*ZERO_POLICIES))
        rn = s.child("rounding")
        mode = rn.take("mode", str, check=one_of(*ROUNDING_MODES))
        digits = rn.take("digits", int, check=lambda d: None if 0 <= d <= 6 else "应在 0–6 之间")
        rn.done()
        self.rounder = functools.partial(round_to, digits=digits, mode=mode)
        # How a measure meets a printed threshold: exact (the decimal value itself) or as_printed (the value
        # rounded half up to the digits the table prints, e.g. 2 decimals of a percentage).
        self.compare = s.take("compare", str, default="exact", check=one_of(*COMPARE_MODES))
        self.printed_digits = s.take("printed_digits", int, default=2,
                                     check=lambda d: None if 0 <= d <= 6 else "应在 0–6 之间")
        s.done()

        grades = self.grades(r, total)
        self.inputs = self.build_inputs(r)
        self.measures = self.build_measures(r)
        level1, level2 = self.levels(r, total)
        indicators = self.build_indicators(r, {l.id: l for l in level1}, {l.id: l for l in level2})
        goal = self.goal_table(r)
        checks = []
        for c in r.children("checks", default=[], name_key="label"):
            checks.append(SanityCheck(c.take("label", str), tuple(self.terms(c, "left")),
                                      c.take("op", str, check=one_of("<=", ">=", "=")), tuple(self.terms(c, "right"))))
            c.done()
        r.done()
        self.check_choice_inputs()
        return System(sid, name, title, region, year, source, total, mode, digits, grades, level1, level2,
                      indicators, self.inputs, self.measures, goal, tuple(checks), self.file, compare=self.compare)

    def grades(self, r, total):
        out = []
        for g in r.children("grades", name_key="label"):
            label = g.take("label", str)
            iv = self.interval(g, "range")
            g.done()
            out.append((iv, label))
        problem = check_partition([iv for iv, _ in out], 0.0, total)
        if problem:
            self.err("grades", f"评分等级区间应无缝覆盖 0 到 {fmt_num(total)} 分：{problem}")
        return tuple(out)

    def fraction(self, node, key, check=None):
        """A threshold written as a fraction (0.1) or, as the printed table writes it, a percentage ("10%")."""
        v = node.data.get(key)
        if isinstance(v, str):
            from perfscore.engine.numbers import ParseError, text_to_decimal
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

    # ---------------------------------------------------------------- inputs and measures
    def build_inputs(self, r):
        out, names = {}, {}
        node = r.child("inputs")
        for iid in list(node.data):
            if not _ID_RE.match(iid):
                node.fail(iid, "输入项 id 应为小写英文字母、数字和下划线，并以字母开头")
            n = node.child(iid)
            kind = n.take("kind", str, check=one_of(*KINDS))
            unit_d, min_d, max_d = KINDS[kind]
            name = n.take("name", str, check=_excel_name)
            if name in names:
                n.fail("name", f"名称 {name!r} 已被输入项 {names[name]!r} 使用：Excel 定义名称必须唯一")
            names[name] = iid
            unit = n.take("unit", str, default=unit_d)
            lo = n.take("min", float, default=min_d)
            hi = n.take("max", float, default=max_d)
            if kind in ("judgement", "score") and hi is None:
                n.fail("max", "评分类输入项必须给出满分 max")
            if lo is not None and hi is not None and lo > hi:
                n.fail("min", f"下限 {lo} 大于上限 {hi}")
            spec = InputSpec(iid, name, kind, unit, lo, hi, help=n.take("help", str, default=""),
                             standing=n.take("standing", bool, default=False),
                             carry_from=n.take("carry_from", str, default=None, check=_id_check),
                             source=n.take("source", str, default=""),
                             note=n.take("note", str, default="", check=_note_check),
                             not_applicable=n.take("not_applicable", str, default=None,
                                                   check=one_of(*NOT_APPLICABLE)))
            if spec.not_applicable and kind not in ("judgement", "score"):
                n.fail("not_applicable", f"只有逐项评定（judgement）和评定得分（score）输入项可以声明“不适用”，"
                                         f"该输入项的 kind 为 {kind}")
            if "default" in n.data:
                raw_default = n.take("default", (str, int, float, bool))
                try:
                    spec.default = spec.parse(raw_default)
                except Exception as exc:  # InputError
                    n.fail("default", f"默认值不可用：{exc}")
            n.done()
            out[iid] = spec
        return out

    def input_ref(self, node, key, kinds=None):
        iid = node.take(key, str)
        return self.check_input(node, key, iid, kinds)

    def check_input(self, node, key, iid, kinds=None):
        if iid not in self.inputs:
            node.fail(key, f"使用了未声明的输入项 {iid!r}：请在 [inputs.{iid}] 中声明（名称、类型、单位）")
        if kinds and self.inputs[iid].kind not in kinds:
            node.fail(key, f"输入项 {iid!r} 的类型为 {self.inputs[iid].kind}，此处需要 {'/'.join(kinds)}")
        return iid

    def build_measures(self, r):
        out = {}
        node = r.child("measures", default={})
        if node is None:
            return out
        for mid in list(node.data):
            n = node.child(mid)
            label = n.take("label", str)
            percent = n.take("percent", bool, default=True)
            dmin = n.take("min", float, default=-math.inf if "change" in n.data else 0.0)  # a change may be negative
            dmax = n.take("max", float, default=None)
            if dmax is not None and dmax <= dmin:
                n.fail("max", f"上限 {fmt_num(dmax)} 应大于下限 {fmt_num(dmin)}")
            if "change" in n.data:
                c = n.child("change")
                cur = self.check_input(c, "current", c.take("current", str), ("amount", "count", "rate"))
                prior = self.check_input(c, "prior", c.take("prior", str), ("amount", "count", "rate"))
                base = self.check_input(c, "base", c.take("base", str, default=prior), ("amount", "count"))
                c.done()
                num, den = [(cur, 1), (prior, -1)], [(base, 1)]
                if "numerator" in n.data or "denominator" in n.data:
                    n.fail("change", "change 与 numerator/denominator 不能同时使用")
            else:
                num = self.terms(n, "numerator")
                den = self.terms(n, "denominator", required=False)
                if not den and len(num) != 1:
                    n.fail("denominator", "没有分母时，分子只能是一个输入项（直接取该输入值）")
            # A declared reading: inputs taken out of the numerator, with the document that says so.
            exclude = [self.check_input(n, "exclude", i, ("amount", "count", "rate"))
                       for i in n.take("exclude", list, default=[], check=list_of(str))]
            basis = n.take("basis", str, default="")
            if exclude and not basis:
                n.fail("basis", "exclude 须同时写明依据 basis（文件名称和文号），以便在扣分理由中说明")
            num = list(num) + [(i, -1) for i in exclude]
            n.done()
            names = {i: self.inputs[i].name for i, _ in list(num) + list(den)}
            out[mid] = R.Measure(mid, label, num, den, percent, dmin, dmax, exclude, basis, names,
                                 self.printed_digits if self.compare == "as_printed" else None)
        return out

    def terms(self, n, key, required=True):
        items = n.take(key, list, default=... if required else [], check=list_of(str))
        out = []
        for t in items:
            sign = -1 if t.startswith("-") else 1
            iid = t.lstrip("+-").strip()
            self.check_input(n, key, iid, ("amount", "count", "rate"))
            out.append((iid, sign))
        if required and not out:
            n.fail(key, "至少需要一个输入项")
        return out

    # ---------------------------------------------------------------- hierarchy
    def levels(self, r, total):
        l1 = []
        for n in r.children("level1", name_key="id"):
            l1.append(Level(n.take("id", str), n.take("name", str), n.take("printed", str, default=""),
                            n.take("weight", float, check=positive)))
            n.done()
        ids1 = {l.id for l in l1}
        l2 = []
        for n in r.children("level2", name_key="id"):
            lv = Level(n.take("id", str), n.take("name", str), n.take("printed", str, default=""),
                       n.take("weight", float, check=positive), n.take("parent", str))
            if lv.parent not in ids1:
                n.fail("parent", f"上级一级指标 {lv.parent!r} 不存在；现有：{'、'.join(ids1)}")
            n.done()
            l2.append(lv)
        _unique(self, "level1", [l.id for l in l1])
        _unique(self, "level2", [l.id for l in l2])
        s1 = sum(l.weight for l in l1)
        if abs(s1 - total) > WEIGHT_TOL:
            self.err("level1", f"一级指标分值合计为 {fmt_num(s1)}，应等于总分 {fmt_num(total)}")
        for p in l1:
            s2 = sum(c.weight for c in l2 if c.parent == p.id)
            if abs(s2 - p.weight) > WEIGHT_TOL:
                self.err(f"level2（{p.name}）", f"下属二级指标分值合计为 {fmt_num(s2)}，应等于一级指标分值 {fmt_num(p.weight)}")
        return tuple(l1), tuple(l2)

    def build_indicators(self, r, l1, l2):
        out = []
        funcs = set()
        for n in r.children("indicators", name_key="id"):
            iid = n.take("id", str)
            if not _ID_RE.match(iid):
                n.fail("id", "指标 id 应为小写英文字母、数字和下划线")
            parent = n.take("parent", str)
            if parent not in l2:
                n.fail("parent", f"上级二级指标 {parent!r} 不存在")
            weight = n.take("weight", float, check=positive)
            func = n.take("function", str)
            if not _FUNC_RE.match(func):
                n.fail("function", "Excel 函数名应为 PERF_ 加大写英文字母、数字或下划线，例如 PERF_PROCUREMENT")
            if func in funcs:
                n.fail("function", f"函数名 {func} 重复")
            funcs.add(func)
            name = n.take("name", str)
            description = n.take("description", str)
            criteria = n.take("criteria", str)
            args = n.take("inputs", list, check=list_of(str))
            rule_node = n.child("rule")
            rule = self.rule(rule_node, weight)
            veto, veto_label = (), ""
            if (v := n.child("veto", default=None)) is not None:
                veto = tuple(self.check_input(v, "inputs", i, ("flag",)) for i in v.take("inputs", list, check=list_of(str)))
                veto_label = v.take("label", str)
                v.done()
            na, na_label = None, ""
            if (v := n.child("not_applicable", default=None)) is not None:
                na = self.input_ref(v, "input", ("flag",))
                na_label = v.take("label", str)
                v.done()
            errata = []
            for e in n.children("errata", default=[]):
                er = Erratum(e.take("field", str, check=one_of("name", "description", "criteria")),
                             e.take("printed", str), e.take("correct", str), e.take("note", str))
                if er.printed not in {"name": name, "description": description, "criteria": criteria}[er.field]:
                    e.fail("printed", f"印刷原文 {er.printed!r} 不在该指标的 {er.field} 中：勘误应引用原文")
                e.done()
                errata.append(er)
            n.done()
            used = list(dict.fromkeys(_rule_inputs(rule) + list(veto) + ([na] if na else [])))
            for a in args:
                self.check_input(n, "inputs", a)
            if len(set(args)) != len(args):
                n.fail("inputs", "参数列表中有重复的输入项")
            missing = [u for u in used if u not in args]
            extra = [a for a in args if a not in used]
            if missing:
                n.fail("inputs", f"评分规则用到了 {missing}，但它们不在该指标的参数列表 inputs 中")
            with_default = [self.inputs[a].default is not None for a in args]
            if any(d and not later for d, later in zip(with_default, with_default[1:])):
                n.fail("inputs", "有默认值的输入项（函数中可省略的参数）必须排在参数列表的最后")
            if extra:
                n.fail("inputs", f"参数列表中的 {extra} 未被评分规则使用")
            lv2 = l2[parent]
            out.append(Indicator(iid, name, l1[lv2.parent], lv2, weight, func, description, criteria, tuple(args),
                                 rule, veto, na, veto_label, na_label, tuple(errata)))
        _unique(self, "indicators", [i.id for i in out])
        for lv in l2.values():
            s = sum(i.weight for i in out if i.level2.id == lv.id)
            if abs(s - lv.weight) > WEIGHT_TOL:
                self.err(f"indicators（{lv.name}）", f"三级指标分值合计为 {fmt_num(s)}，应等于二级指标分值 {fmt_num(lv.weight)}")
        return tuple(out)

    # ---------------------------------------------------------------- rules
    def rule(self, n: Node, points: float) -> R.Rule:
        fam = n.take("family", str, check=one_of(*R.FAMILIES))
        declared = n.take("points", float, default=None, check=positive)
        if declared is not None and abs(declared - points) > WEIGHT_TOL:
            n.fail("points", f"规则分值 {fmt_num(declared)} 与所属指标（或组成部分）分值 {fmt_num(points)} 不一致")
        obj = R.FAMILIES[fam].__new__(R.FAMILIES[fam])
        obj.points = points
        obj.rounder = self.rounder
        getattr(self, f"rule_{fam}")(n, obj)
        n.done()
        obj.inputs = tuple(dict.fromkeys(_rule_inputs(obj)))
        return obj

    def _measure_common(self, n, obj):
        mid = n.take("measure", str)
        if mid not in self.measures:
            n.fail("measure", f"未声明的计算指标 {mid!r}：请在 [measures.{mid}] 中声明")
        obj.measure = self.measures[mid]
        obj.zero_denominator = n.take("zero_denominator", str, default=self.zero_default, check=one_of(*ZERO_POLICIES))

    def rule_bands(self, n, obj):
        self._measure_common(n, obj)
        bands = []
        for b in n.children("bands"):
            iv = self.interval(b, "range")
            has_p, has_s = "points" in b.data, "share" in b.data
            if has_p == has_s:
                b.fail("points", "每个档次须给出 points（分数）或 share（占分值的比例）之一")
            pts = b.take("points", float, check=non_negative) if has_p else b.take("share", float, check=non_negative) * obj.points
            b.done()
            if pts > obj.points + WEIGHT_TOL:
                b.fail("points", f"档次分数 {fmt_num(pts)} 超过分值 {fmt_num(obj.points)}")
            bands.append((iv, pts))
        problem = check_partition([iv for iv, _ in bands], obj.measure.domain_min, math.inf)
        if problem:
            n.fail("bands", f"档次区间应无缝、不重叠地覆盖 {fmt_num(obj.measure.domain_min)} 以上的全部取值：{problem}")
        if abs(max(p for _, p in bands) - obj.points) > WEIGHT_TOL:
            n.fail("bands", f"最高档分数应等于分值 {fmt_num(obj.points)}，否则无法得满分")
        m = obj.measure
        obj.bands = tuple((iv, p, iv.describe(m.label, m.percent, m.domain_min), f"band:{R._iv_key(iv)}") for iv, p in bands)

    def rule_ratio_points(self, n, obj):
        self._measure_common(n, obj)
        obj.cap = n.take("cap", float, default=1.0, check=positive)
        obj.zero_above = n.take("zero_above", float, default=None, check=non_negative)

    def rule_linear_deduction(self, n, obj):
        self._measure_common(n, obj)
        obj.threshold = self.fraction(n, "threshold")
        obj.per_point = n.take("per_point", float, check=positive)
        obj.direction = n.take("direction", str, default="above", check=one_of("above", "below"))
        obj.floor = self.floor(n, obj)
        obj.count_points = n.take("count_points", str, default="pro_rata", check=one_of(*R.COUNT_POINTS))

    def rule_step_deduction(self, n, obj):
        self._measure_common(n, obj)
        obj.target = self.fraction(n, "target")
        obj.step = self.fraction(n, "step", check=positive)
        obj.deduction = n.take("deduction", float, check=positive)
        obj.direction = n.take("direction", str, default="below", check=one_of("above", "below"))
        obj.floor = self.floor(n, obj)

    def floor(self, n, obj):
        f = n.take("floor", float, default=0.0, check=non_negative)
        if f >= obj.points:
            n.fail("floor", f"保底分 {fmt_num(f)} 应小于分值 {fmt_num(obj.points)}")
        return f

    def rule_per_item_penalty(self, n, obj):
        obj.input = self.input_ref(n, "input", ("count",))
        obj.per_item = n.take("per_item", float, check=positive)
        obj.floor = self.floor(n, obj)
        obj.what = n.take("what", str, default=self.inputs[obj.input].name)
        obj.unit = self.inputs[obj.input].unit

    def rule_checklist(self, n, obj):
        items = []
        for it in n.children("items"):
            iid = self.input_ref(it, "input", ("judgement",))
            pts = it.take("points", float, check=positive)
            spec = self.inputs[iid]
            if spec.kind == "judgement" and abs(spec.max - pts) > WEIGHT_TOL:
                it.fail("input", f"输入项 {iid!r} 的满分 {fmt_num(spec.max)} 与本项分值 {fmt_num(pts)} 不一致")
            items.append((iid, pts, it.take("label", str)))
            it.done()
        s = sum(p for _, p, _ in items)
        if abs(s - obj.points) > WEIGHT_TOL:
            n.fail("items", f"各项分值合计 {fmt_num(s)}，应等于分值 {fmt_num(obj.points)}")
        obj.items = tuple(items)

    def rule_tiered(self, n, obj):
        obj.input = self.input_ref(n, "input", ("choice",))
        obj.label = n.take("label", str)
        opts = {}
        for o in n.children("options"):
            lab = o.take("label", str)
            if lab in opts:
                o.fail("label", f"档次 {lab!r} 重复")
            opts[lab] = o.take("points", float, check=non_negative)
            o.done()
        if not opts or abs(max(opts.values()) - obj.points) > WEIGHT_TOL:
            n.fail("options", f"最高档分数应等于分值 {fmt_num(obj.points)}")
        obj.options = opts
        spec = self.inputs[obj.input]
        if spec.options and tuple(opts) != spec.options:
            n.fail("options", f"输入项 {obj.input!r} 已被另一规则定义了不同的档次")
        spec.options = tuple(opts)

    def rule_manual(self, n, obj):
        obj.input = self.input_ref(n, "input", ("score", "judgement"))
        obj.label = n.take("label", str, default="")
        spec = self.inputs[obj.input]
        if abs(spec.max - obj.points) > WEIGHT_TOL:
            n.fail("input", f"输入项 {obj.input!r} 的满分 {fmt_num(spec.max)} 与分值 {fmt_num(obj.points)} 不一致")

    def rule_quarterly_progress(self, n, obj):
        qs, labels = [], []
        for q in n.children("quarters"):
            iid = self.input_ref(q, "input", ("rate",))
            qs.append((iid, q.take("schedule", float, check=positive), q.take("points", float, check=non_negative)))
            labels.append(self.inputs[iid].name)
            q.done()
        obj.quarters, obj.labels = tuple(qs), tuple(labels)
        obj.average_points = n.take("average_points", float, check=non_negative)
        obj.cap = n.take("cap", float, default=1.0, check=positive)
        obj.capping = n.take("capping", str, default="each_quarter", check=one_of(*R.CAPPING))
        s = sum(p for _, _, p in qs) * obj.cap + obj.average_points * obj.cap
        if not qs or abs(s - obj.points) > WEIGHT_TOL:
            n.fail("quarters", f"各季度分值与平均分值合计（乘以上限 cap）为 {fmt_num(s)}，应等于分值 {fmt_num(obj.points)}")

    def rule_composite(self, n, obj):
        parts = []
        for p in n.children("parts", name_key="name"):
            name = p.data.get("name") if isinstance(p.data.get("name"), str) else p.fail("name", "缺少组成部分名称")
            p.seen.add("name")
            pts = p.data.get("points")
            if isinstance(pts, bool) or not isinstance(pts, (int, float)) or pts <= 0:
                p.fail("points", "组成部分须给出大于 0 的分值 points")
            parts.append((name, self.rule(p, float(pts))))
        s = sum(r.points for _, r in parts)
        if not parts or abs(s - obj.points) > WEIGHT_TOL:
            n.fail("parts", f"各组成部分分值合计 {fmt_num(s)}，应等于分值 {fmt_num(obj.points)}")
        obj.parts = tuple(parts)

    # ---------------------------------------------------------------- goal table and consistency
    def goal_table(self, r):
        g = r.child("goal_table", default=None)
        if g is None:
            return None
        title = g.take("title", str)
        cats = []
        for c in g.children("categories", name_key="level1"):
            cats.append((c.take("level1", str), tuple(c.take("level2", list, check=list_of(str)))))
            c.done()
        g.done()
        return GoalTable(title, tuple(cats))

    def check_choice_inputs(self):
        for spec in self.inputs.values():
            if spec.kind == "choice" and not spec.options:
                self.err(f"inputs.{spec.id}", "选择类输入项必须由某个 tiered 规则给出档次")


def _rule_inputs(rule) -> list[str]:
    if isinstance(rule, R.Composite):
        return [i for _, r in rule.parts for i in _rule_inputs(r)]
    if isinstance(rule, R._MeasureRule):
        return list(rule.measure.inputs)
    if isinstance(rule, R.Checklist):
        return [i for i, _, _ in rule.items]
    if isinstance(rule, R.QuarterlyProgress):
        return [i for i, _, _ in rule.quarters]
    return [rule.input]


def _note_check(v):
    """A short polarity note shown after the input's name (“是＝本项 0 分”); the defined name stays bare."""
    if not v.strip() or len(v) > 20 or "\n" in v:
        return "应为一句不超过 20 个字的简短提示（如“是＝本项 0 分”），显示在输入项名称之后"
    return None


def _id_check(v):
    return None if _ID_RE.match(v) else "应为上一年度指标体系中某个输入项的 id（小写英文字母、数字和下划线）"


def _unique(b, key, ids):
    seen = set()
    for i in ids:
        if i in seen:
            b.err(key, f"id {i!r} 重复")
        seen.add(i)


def _excel_name(name):
    if not _NAME_RE.match(name) or _CELLREF_RE.match(name) or len(name) > 255:
        return (f"{name!r} 不能用作 Excel 定义名称：只能含文字、数字、下划线和点，不能以数字开头，"
                f"不能有空格或括号，也不能像单元格地址")
    return None
