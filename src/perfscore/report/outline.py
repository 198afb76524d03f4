"""Report outlines: the chapters and sentence templates of a region's 自评报告, as data beside its indicator system.

An outline file ``<year>.report.toml`` sits next to ``<year>.toml`` (the system loader only takes digit-only stems,
so it is never mistaken for a system). It lists the sections in order, each with blocks (a narrative passage, the
score sentences of one 一级指标, the tables …) and the sentence templates whose ``{placeholders}`` are filled from the
engine's result. Every key and every placeholder is checked when the file is read; a mistake names file and key.
See docs/report-outline.md.
"""
from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from perfscore.engine.case import NARRATIVE_KEYS
from perfscore.errors import PerfscoreError
from perfscore.engine.schema import Node


class OutlineError(PerfscoreError):
    def __init__(self, file, key, problem):
        self.file, self.key, self.problem = str(file), key, problem
        where = f"{self.file}" + (f"：{key}" if key else "")
        super().__init__(f"报告提纲文件有误（{where}）：{problem}")


# Placeholders every template may use: the case and its result as a whole.
CASE_FIELDS = frozenset({"year", "department", "preparer", "phone", "system_name", "system_title", "system_year",
                         "goal_table_title", "total", "grade"})
_LEVEL = {"name", "weight", "score", "rate"}
SENTENCE_FIELDS = {
    "level1": _LEVEL,
    "group_heading": _LEVEL | {"n"},
    "group": _LEVEL | {"n", "indicators", "count"},
    "group_single": _LEVEL | {"n", "indicators", "count"},
    "indicator": _LEVEL | {"n", "deducted", "data", "figures", "judgement", "verdict", "reason", "level1", "level2"},
    "data": {"items"},
    "data_item": {"label", "value"},
    "data_assumed": {"label", "value", "why"},
    "figures": {"items"},
    "figure": {"label", "value"},
    "figure_formula": {"label", "value", "formula"},
    "judgement": {"items"},
    "judgement_item": {"label", "score", "points"},
    "verdict_full": {"reason"},
    "verdict_deducted": {"reason", "deducted"},
    "overall": {"parts"},
    "overall_part": _LEVEL,
    "problem": _LEVEL | {"n", "deducted", "reason", "figures"},
    "no_problems": set(),
    "score_table_title": set(),
    "goal_table_title": set(),
    "findings_intro": {"count"},
    "finding": {"n", "message", "label", "stated", "computed", "source", "note"},
    "no_findings": set(),
    "assumed_intro": set(),
    "assumed": {"n", "label", "value", "why"},
    "corrected": {"n", "label", "stated", "value", "where"},
    "goal_row": {"n", "level1", "level2", "name", "target", "actual", "status"},
    "goal_met": {"target", "actual"},
    "goal_off": {"target", "actual", "gap"},
    "goal_unknown": {"target", "actual"},
    "no_goal_rows": set(),
}
REPORT_FIELDS = {"title": set(), "header": set(), "fill_in": {"label", "hint"}, "review": {"note"}}
BLOCK_KINDS = ("narrative", "text", "facts", "scores", "overall", "problems", "goal_analysis", "score_table",
               "goal_table", "findings")
FALLBACKS = ("goal_table.expected", "goal_table.actual")
WHEN = ("always", "stated")
EVERY_LEVEL1 = "*"


@dataclass(frozen=True, slots=True)
class Template:
    """A sentence with named placeholders; ``fill`` never leaves one behind (all were checked at load)."""
    text: str
    parts: tuple  # (literal, field name or None)

    def fill(self, values: dict) -> str:
        return "".join(lit + ("" if name is None else str(values[name])) for lit, name in self.parts)

    def __bool__(self):
        return bool(self.text)


@dataclass(frozen=True, slots=True)
class Block:
    kind: str
    key: str = ""          # narrative: NARRATIVE_KEYS key
    hint: str = ""         # narrative: one line saying what goes there
    fallback: str = ""     # narrative: 自评表 text used when the source has no such passage
    level1: str = ""       # scores: the 一级指标 whose groups and indicators are written; "*": every one in turn
    heading: Template | None = None   # scores with level1 = "*": the heading before each 一级指标
    template: Template | None = None  # text; facts (its placeholders: the system's input and measure ids)


@dataclass(frozen=True, slots=True)
class Section:
    heading: Template
    level: int
    blocks: tuple[Block, ...]
    landscape: bool = False
    when: str = "always"
    review: bool = False   # a reviewer's note: the whole section is marked for removal before submission


@dataclass
class Outline:
    path: str
    title: Template
    header: tuple[Template, ...]
    fill_in: Template
    review: Template
    terms: dict[str, str]
    sentences: dict[str, Template]
    sections: list[Section] = field(default_factory=list)

    def markers(self) -> tuple[str, ...]:
        """How a passage to be removed before submission begins (“【待填写：”, “【审核提示：”): the literal text of
        ``fill_in`` and ``review`` up to their first placeholder. Such a passage runs to the next “】”."""
        return tuple(t.parts[0][0] for t in (self.fill_in, self.review) if t.parts and t.parts[0][0])

    def check_against(self, system) -> None:
        """Every 一级指标 named by a scores block exists in the system that scored the source."""
        ids = {lv.id for lv in system.level1}
        for k, s in enumerate(self.sections):
            for b in s.blocks:
                if b.kind == "scores" and b.level1 != EVERY_LEVEL1 and b.level1 not in ids:
                    raise OutlineError(self.path, f"sections[{k}].blocks.level1",
                                       f"指标体系 {system.year} 年版没有一级指标 {b.level1!r}；可用的有："
                                       + "、".join(f"{lv.id}（{lv.name}）" for lv in system.level1))
                if b.kind == "facts":
                    known = set(system.inputs) | set(system.measures) | CASE_FIELDS
                    bad = [name for _, name in b.template.parts if name is not None and name not in known]
                    if bad:
                        raise OutlineError(self.path, f"sections[{k}].blocks.template",
                                           f"指标体系 {system.year} 年版没有输入项或计算指标 {{{bad[0]}}}：facts 块的占位符"
                                           f"应为指标体系中的输入项 id（如 {{{next(iter(system.inputs), 'x')}}}）或计算指标 id")


def _template(node: Node, key: str, allowed, *, text=None) -> Template:
    """``allowed`` None: any identifier (a facts block's names are checked against the system when drafting)."""
    text = node.take(key, str) if text is None else text
    free = allowed is None
    allowed = set(allowed or ()) | CASE_FIELDS
    parts = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        node.fail(key, f"模板 {text!r} 的花括号不成对（{exc}）：占位符写作 {{名称}}，文字中的花括号写作 {{{{ 或 }}}}")
    for lit, name, spec, conv in parsed:
        if name is None:
            parts.append((lit, None))
            continue
        if spec or conv:
            node.fail(key, f"占位符 {{{name}}} 不能带格式或转换（“:”“!”）：数字的写法由程序统一处理")
        if free and not name.isidentifier():
            node.fail(key, f"占位符 {{{name}}} 应为输入项或计算指标的 id（字母、数字和下划线）")
        if not free and name not in allowed:
            node.fail(key, f"未知的占位符 {{{name}}}；此模板可用：" + "、".join(f"{{{a}}}" for a in sorted(allowed)))
        parts.append((lit, name))
    return Template(text, tuple(parts))


def load_outline(path) -> Outline:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise OutlineError(path, None, "文件不存在：请在指标体系文件旁放置 <年度>.report.toml（可复制已有年度的提纲修改），"
                                       "或用 --outline 指定提纲文件") from None
    except OSError as exc:
        raise OutlineError(path, None, f"无法读取文件（{exc.strerror or exc}）") from None
    except UnicodeDecodeError:
        raise OutlineError(path, None, "文件不是 UTF-8 编码：请用 UTF-8 保存") from None
    except tomllib.TOMLDecodeError as exc:
        raise OutlineError(path, None, f"TOML 语法错误：{exc}") from None
    f = str(path)
    root = Node(data, f, "", OutlineError)
    if root.take("schema", int) != 1:
        root.fail("schema", "不支持的格式版本：本程序读取 schema = 1")
    r = root.child("report")
    title = _template(r, "title", REPORT_FIELDS["title"])
    header_texts = r.take("header", list)
    header = []
    for i, t in enumerate(header_texts):
        if not isinstance(t, str):
            r.fail("header", f"第 {i + 1} 项应为文字")
        header.append(_template(r, "header", REPORT_FIELDS["header"], text=t))
    fill_in = _template(r, "fill_in", REPORT_FIELDS["fill_in"])
    review = _template(r, "review", REPORT_FIELDS["review"])
    terms = r.take("terms", dict, default={})
    for k, v in terms.items():
        if not isinstance(v, str) or not k:
            r.fail("terms", f"“{k}”应对应一段文字（正文中的写法）")
    r.done()
    s = root.child("sentences")
    sentences = {k: _template(s, k, allowed) for k, allowed in SENTENCE_FIELDS.items()}
    s.done()
    out = Outline(f, title, tuple(header), fill_in, review, dict(terms), sentences)
    for k, sec in enumerate(root.children("sections")):
        heading = _template(sec, "heading", ())
        level = sec.take("level", int, check=lambda v: None if v in (1, 2) else "应为 1（一级标题）或 2（二级标题）")
        landscape = sec.take("landscape", bool, default=False)
        when = sec.take("when", str, default="always",
                        check=lambda v: None if v in WHEN else f"应为 {'、'.join(WHEN)} 之一")
        review = sec.take("review", bool, default=False)
        blocks = []
        for b in sec.children("blocks", default=[]):
            kind = b.take("kind", str, check=lambda v: None if v in BLOCK_KINDS else
                          f"未知的块类型 {v!r}；可用：{'、'.join(BLOCK_KINDS)}")
            if kind == "narrative":
                key = b.take("key", str, check=lambda v: None if v in NARRATIVE_KEYS else
                             "应为以下之一：" + "、".join(f"{a}（{z}）" for a, z in NARRATIVE_KEYS.items()))
                blk = Block(kind, key=key, hint=b.take("hint", str),
                            fallback=b.take("fallback", str, default="",
                                            check=lambda v: None if v in FALLBACKS else f"应为 {'、'.join(FALLBACKS)} 之一"))
            elif kind == "text":
                blk = Block(kind, template=_template(b, "template", ()))
            elif kind == "facts":
                blk = Block(kind, template=_template(b, "template", None), hint=b.take("hint", str, default=""))
            elif kind == "scores":
                level1 = b.take("level1", str)
                each = _template(b, "heading", _LEVEL | {"n"}) if level1 == EVERY_LEVEL1 else None
                blk = Block(kind, level1=level1, heading=each)
            else:
                blk = Block(kind)
            b.done()
            blocks.append(blk)
        sec.done()
        out.sections.append(Section(heading, level, tuple(blocks), landscape, when, review))
    root.done()
    if not out.sections:
        root.fail("sections", "至少要有一个章节")
    return out


def outline_path_for(system) -> Path:
    """``<dir>/<stem>.report.toml`` beside the system file that scored the source."""
    p = Path(system.path)
    return p.with_name(f"{p.stem}.report.toml")


GENERIC_OUTLINE = Path(__file__).with_name("generic.report.toml")


def outline_for(system, path=None) -> tuple[Outline, str | None]:
    """The outline to draft with, and a note when it is not the region's own: ``path`` if given; else the file
    beside the system; else the generic outline (every 一级指标 in the system's order, the usual closing chapters),
    with a note saying where the region's own outline would go."""
    if path is not None:
        return load_outline(path), None
    own = outline_path_for(system)
    if own.exists():
        return load_outline(own), None
    note = (f"{system.name}（{system.year} 年版）没有报告提纲（{own}），已按通用提纲起草：各一级指标依次成节。"
            f"如需本地区的章节和句式，复制 {GENERIC_OUTLINE}（或已有地区的提纲）到该位置修改，"
            f"格式见 docs/report-outline.md")
    return load_outline(GENERIC_OUTLINE), note
