"""Case files: one department-year's inputs (with their sources), the figures its report states, its 自评表."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from perfscore.errors import CaseFileError
from perfscore.engine.schema import Node
from perfscore.engine.tomlfile import read_toml

PACKAGE_CASES = Path(__file__).parents[1] / "cases"
REFERENCE_CASE = PACKAGE_CASES / "shenzhen-2020-reference.toml"
STATED_KINDS = ("score", "level1", "level2", "rate", "figure", "total", "grade")
# [narrative]: passages only the department can write, quoted as they are by `perfscore report` (all optional)
NARRATIVE_KEYS = {
    "functions": "部门主要职能",
    "structure": "机构设置",
    "management": "预算绩效管理工作开展情况及自评组织实施",
    "annual_work": "年度总体工作和重点工作任务",
    "goals": "主要履职目标",
    "performance": "主要履职情况",
    "funding": "预算资金使用情况",
    "effects": "履职效果",
    "experience": "预算绩效管理工作主要经验、做法",
    "measures": "改进措施",
    "plan": "后续工作计划",
    "suggestions": "相关建议",
    "application": "评价结果应用",
    "other": "其他需要说明的问题",
}


@dataclass(slots=True)
class CaseInput:
    value: object
    source: str = ""
    assumed: str = ""


@dataclass(slots=True)
class Stated:
    ref: str
    value: object
    source: str
    note: str = ""

    @property
    def kind(self) -> str:
        return self.ref.split(".", 1)[0]

    @property
    def target(self) -> str:
        return self.ref.split(".", 1)[1] if "." in self.ref else ""


@dataclass(slots=True)
class GoalRow:
    level1: str
    level2: str
    name: str
    target: str
    actual: str


@dataclass(slots=True)
class Task:
    name: str
    status: str
    budget_total: float
    budget_fiscal: float
    executed_total: float
    executed_fiscal: float


@dataclass
class Case:
    path: str
    title: str
    department: str
    year: int
    preparer: str = ""
    phone: str = ""
    source: str = ""
    inputs: dict[str, CaseInput] = field(default_factory=dict)
    stated: list[Stated] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    goal_rows: list[GoalRow] = field(default_factory=list)
    goals_expected: str = ""
    goals_actual: str = ""
    narrative: dict[str, str] = field(default_factory=dict)
    region: str | None = None    # the indicator system's region (folder name, e.g. shenzhen); None: the default

    def raw_values(self) -> dict:
        return {k: v.value for k, v in self.inputs.items()}

    def assumed(self) -> dict[str, CaseInput]:
        return {k: v for k, v in self.inputs.items() if v.assumed}

    def check_against(self, system) -> None:
        """Every input id and stated ref must exist in the system that scores this case."""
        for iid in self.inputs:
            if iid not in system.inputs:
                by_name = {s.name: s.id for s in system.inputs.values()}
                hint = (f"（{iid!r} 是输入项 {by_name[iid]!r} 的中文名称：[inputs] 中请写 {by_name[iid]} = …）"
                        if iid in by_name else "")
                raise CaseFileError(self.path, f"inputs.{iid}",
                                    f"指标体系 {system.year} 年版中没有输入项 {iid!r}{hint}；"
                                    f"可用 `perfscore inputs --year {system.year}` 查看全部输入项")
        known = {"score": system.by_id, "level1": {l.id for l in system.level1},
                 "level2": {l.id for l in system.level2}, "figure": system.measures}
        known["rate"] = known["level1"] | known["level2"] | set(system.by_id)
        for s in self.stated:
            if s.kind in known and s.target not in known[s.kind]:
                raise CaseFileError(self.path, f"stated[{s.ref}]", f"引用的 {s.target!r} 在指标体系中不存在")
        if system.goal_table:
            cats = dict(system.goal_table.categories)
            for r in self.goal_rows:
                if r.level1 not in cats or r.level2 not in cats[r.level1]:
                    raise CaseFileError(self.path, f"goal_table.indicators[{r.name}]",
                                        f"一级/二级指标 {r.level1}/{r.level2} 不在自评表结构中")


def _bare(name: str) -> str:
    """A name as it is meant: without the spaces (and zero-width characters) around it that a quoted TOML key
    or a pasted reference can carry invisibly (“procurement_actual ” is procurement_actual)."""
    return name.strip().strip("\u200b\u200c\u200d\u2060\ufeff").strip()


def _input_value(node, key, v):
    """An input's value: a number, text (是/否, 95.15%…) or a TOML boolean (true/false, for 是/否 inputs)."""
    if isinstance(v, (str, int, float, bool)):
        return v
    what = {list: "列表", dict: "表"}.get(type(v), "日期或时间")
    node.fail(key, f"应为数值、文字（加引号）或 true/false，实际为{what}")


def load_case(path) -> Case:
    path = Path(path)
    data = read_toml(path, CaseFileError)
    f = str(path)
    root = Node(data, f, "", CaseFileError)
    if root.take("schema", int) != 1:
        root.fail("schema", "不支持的格式版本：本程序读取 schema = 1")
    c = root.child("case")
    case = Case(f, c.take("title", str), c.take("department", str),
                c.take("year", int, check=lambda y: None if 1990 <= y <= 2100 else "年度应在 1990–2100 之间"),
                c.take("preparer", str, default=""), c.take("phone", str, default=""), c.take("source", str, default=""))
    case.region = c.take("region", str, default=None)
    c.done()
    inputs = root.child("inputs")
    for k in list(inputs.data):
        v = inputs.take(k, object)
        if isinstance(v, dict):
            n = Node(v, f, f"inputs.{k}", CaseFileError)
            if "value" not in v:
                n.fail("value", f"缺少 value：应写成 {k} = {{ value = 数值, source = \"出处\" }}，或直接写 {k} = 数值")
            ci = CaseInput(_input_value(n, "value", v["value"]), n.take("source", str, default=""),
                           n.take("assumed", str, default=""))
            n.take("value", object)
            n.done()
        else:
            ci = CaseInput(_input_value(inputs, k, v))
        key = _bare(k)
        if key != k and (key in inputs.data or key in case.inputs):
            inputs.fail(k, f"与输入项 {key!r} 重复（名称前后的空格不算名称的一部分）：请删去其中一个")
        case.inputs[key] = ci
    inputs.done()
    for s in root.children("stated", default=[], name_key="ref"):
        st = Stated(_bare(s.take("ref", str)), s.take("value", (str, int, float)), s.take("source", str),
                    s.take("note", str, default=""))
        if st.kind not in STATED_KINDS:
            s.fail("ref", f"应以 {'/'.join(STATED_KINDS)} 开头，例如 score.procurement、figure.procurement_rate、total")
        s.done()
        case.stated.append(st)
    g = root.child("goal_table", default=None)
    if g is not None:
        g.take("budget_year", int, default=case.year)
        case.goals_expected = g.take("expected", str, default="")
        case.goals_actual = g.take("actual", str, default="")
        for t in g.children("tasks", default=[], name_key="name"):
            case.tasks.append(Task(t.take("name", str), t.take("status", str, default=""),
                                   *(t.take(k, float, default=0.0) for k in
                                     ("budget_total", "budget_fiscal", "executed_total", "executed_fiscal"))))
            t.done()
        for r in g.children("indicators", default=[], name_key="name"):
            case.goal_rows.append(GoalRow(_bare(r.take("level1", str)), _bare(r.take("level2", str)), r.take("name", str),
                                          r.take("target", str), r.take("actual", str)))
            r.done()
        g.done()
    n = root.child("narrative", default=None)
    if n is not None:
        for k in list(n.data):
            if k not in NARRATIVE_KEYS:
                n.fail(k, f"未知的键 {k!r}；[narrative] 允许的键：" +
                       "、".join(f"{key}（{zh}）" for key, zh in NARRATIVE_KEYS.items()))
            text = n.take(k, str).strip()
            if text:
                case.narrative[k] = text
        n.done()
    root.done()
    return case
