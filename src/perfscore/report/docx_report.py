"""The 部门整体支出绩效自评报告 as a Word draft: every number from the engine, the wording from the region's outline.

``load_source`` scores a case file or a filled workbook (never trusting stored cells); ``build_report`` writes the
outline's sections with python-docx in the GB/T 9704-2012 layout (A4, type area 156 × 225 mm, 22 lines of 28
characters, 3号 仿宋_GB2312 body, 2号 方正小标宋简体 title, 黑体/楷体_GB2312 headings, “— 1 —” page numbers
outside on odd and even pages); ``write_report`` saves it atomically and, on request, a PDF through LibreOffice.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from perfscore.engine.case import Case, NARRATIVE_KEYS, load_case
from perfscore.engine.crosscheck import Finding, cross_check
from perfscore.engine.scoring import CaseResult, IndicatorResult, score_case
from perfscore.errors import PerfscoreError
from perfscore.files import atomic_output, check_output, missing_text, xml_text
from perfscore.engine.numbers import fmt_num, fmt_pct
from perfscore.report.outline import EVERY_LEVEL1, Outline, outline_for
from perfscore.text import tight
from perfscore.engine.system import DEFAULT_REGION, load_system, require_region
from perfscore.receiving.reader import case_from_filled, read_filled, rules_system
from perfscore.render import font_substitutes, soffice, to_pdf

# ------------------------------------------------------------------------------------------ GB/T 9704-2012
FONT_TITLE = "方正小标宋简体"
FONT_BODY = "仿宋_GB2312"
FONT_H1 = "黑体"
FONT_H2 = "楷体_GB2312"
FONT_PAGE_NO = "宋体"
BODY_PT = 16         # 3号
TITLE_PT = 22        # 2号
PAGE_NO_PT = 14      # 4号
TABLE_PT = 10.5      # 五号: the 评分表's long criteria text
LINES = 22           # lines per page (GB/T 9704: 22 lines of 28 characters; the 28 come from character spacing)
PAGE_W, PAGE_H = 210, 297                     # mm
TOP, LEFT, TYPE_W, TYPE_H = 37, 28, 156, 225  # mm: margins and type area
BOTTOM, RIGHT = PAGE_H - TOP - TYPE_H, PAGE_W - LEFT - TYPE_W  # 35, 26
PAGE_NO_GAP = 7      # mm: the page number's dash (一字线) sits 7 mm below the type area
PAGE_NO_EM_MM = PAGE_NO_PT * 25.4 / 72   # 4.94 mm
TWIPS_PER_MM = 1440 / 25.4
LINE_PITCH = int(TYPE_H * TWIPS_PER_MM / LINES)          # 579 twips = 28.95 pt: 22 lines fill the type area
# 28 characters of 16 pt need 448 pt; the type area is 442.2 pt wide: body text is condensed by 0.25 pt a
# character (28 × 15.75 = 441 pt). Word's character grid (docGrid linesAndChars) would do the same, but LibreOffice
# lays such a grid out at double pitch (14 characters a line), so the condensing is set on the text instead.
CHAR_SQUEEZE_TWIPS = -5

DIGITS_ZH = "零一二三四五六七八九十"


class Unscorable(PerfscoreError):
    """Some indicator cannot be scored: the draft would lack its numbers (exit code 1, like `score`)."""


@dataclass
class Source:
    path: str
    kind: str                      # "case" or "workbook"
    case: Case
    result: CaseResult
    findings: list[Finding] = field(default_factory=list)


def load_source(path, *, year=None, system_path=None, region=None) -> Source:
    """Score a case file (.toml) or a filled workbook (.xlsm/.xlsx) with the engine. ``region`` (--region) picks
    a case file's region; a workbook is scored by its own 规则地区."""
    p = Path(path)
    suffix = p.suffix.lower()
    if region is not None:
        require_region(region)
    if suffix == ".toml":
        case = load_case(p)
        system = load_system(year if year is not None else case.year, path=system_path,
                             region=region or case.region or DEFAULT_REGION)
        case.check_against(system)
        kind = "case"
    elif suffix in (".xlsm", ".xlsx"):
        if not p.is_file():
            raise PerfscoreError(f"{p}：{missing_text(p)}")
        filled = read_filled(p)
        if region is not None and region != filled.region:
            raise PerfscoreError(f"工作簿的规则地区是“{filled.region[:60]}”，而 --region 为 {region}：工作簿按自己的规则地区计分，"
                                 f"请去掉 --region")
        system = rules_system(filled, system_path)
        case = case_from_filled(filled, system)
        kind = "workbook"
    else:
        raise PerfscoreError(f"{p} 不是案例文件（.toml）或填好的评分工作簿（.xlsm/.xlsx）：请指定其中之一")
    result = score_case(system, case.raw_values())
    findings = cross_check(case, result) if case.stated else []
    return Source(str(p), kind, case, result, findings)


# ------------------------------------------------------------------------------------------ numbers as written
def _score(v) -> str:
    return fmt_num(v)


def _rate(score, weight, digits=2) -> str:
    return fmt_num(score / weight * 100, digits) + "%"


def _count_zh(n: int) -> str:
    return "两" if n == 2 else (DIGITS_ZH[n] if 0 <= n <= 10 else str(n))


_HAN = "\u3400-\u9fff\uf900-\ufaff"
_FULL_PUNCT = "（），。；：、“”‘’《》【】！？—…"
_SPACE_ZH = re.compile(rf"[ \u00a0\u3000]+(?=[{_HAN}{_FULL_PUNCT}])|(?<=[{_HAN}{_FULL_PUNCT}])[ \u00a0\u3000]+")
_PAREN = re.compile(r"\(([^()]*)\)")
_HAS_HAN = re.compile(rf"[{_HAN}]")


def zh_prose(text: str) -> str:
    """Chinese prose as an official document sets it: full-width brackets, commas, semicolons and colons around
    Chinese text, and no spaces next to Chinese characters or full-width punctuation. Brackets of a formula
    (“3/(3+20)”), thousands separators (“12,741,400.04”) and times stay half-width."""
    def paren(m):
        inner, before = m.group(1), text_now[:m.start()].rstrip(" ")[-1:]
        # Chinese inside or just before (“科密(Comet)”), or an item number “(1)” (digits only, not after an operator or a figure)
        after = text_now[m.end():].lstrip(" ")[:1]
        zh = _HAS_HAN.search(inner) or _HAS_HAN.match(before) or (inner.strip().isdigit() and _HAS_HAN.match(after)) \
            or (inner.strip().isdigit() and (not before or before not in "/*×÷+-=%.0123456789)\x01"))
        return ("（" + inner.strip() + "）") if zh else ("\x00" + inner + "\x01")
    text_now = text
    while True:
        new = _PAREN.sub(paren, text_now)
        if new == text_now:
            break
        text_now = new
    text = text_now.replace("\x00", "(").replace("\x01", ")")
    text = re.sub(r"(?<![0-9]),|,(?![0-9])", "，", text)
    text = text.replace(";", "；")
    text = re.sub(rf"(?<=[{_HAN}）])\s*:|:(?![0-9])", "：", text)
    text = re.sub(r"[ \u00a0]*=[ \u00a0]*", "=", text)
    return _SPACE_ZH.sub("", text)


def _join_zh(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return "、".join(items[:-1]) + "和" + items[-1]


def _input_value(spec, v) -> str:
    if spec.kind == "rate":
        return fmt_pct(v)
    if spec.kind == "amount":
        s = f"{v:,.2f}"
        return (s[:-3] if s.endswith(".00") else s) + spec.unit
    if spec.kind == "count":
        return f"{fmt_num(v)}{spec.unit}"
    return fmt_num(v)


NUMERIC_KINDS = ("amount", "count", "rate")


class Writer:
    """Fills the outline's templates from one scored source. Text only; ``DocxBuilder`` lays it out."""

    def __init__(self, src: Source, outline: Outline):
        self.src, self.o, self.r, self.case = src, outline, src.result, src.case
        s = self.r.system
        self.system = s
        self.base = {
            "year": self.case.year, "department": self.case.department or "（待填写）",
            "preparer": self.case.preparer or "（待填写）", "phone": self.case.phone or "（待填写）",
            "system_name": s.name, "system_title": s.title, "system_year": s.year,
            "goal_table_title": s.goal_table.title if s.goal_table else "部门（单位）整体支出绩效目标完成情况自评表",
            "total": _score(self.r.total), "grade": self.r.grade,
        }
        self.corrections: list[tuple[str, str, str, str]] = []   # (where, label, as the source says, engine's)

    def prose(self, text: str) -> str:
        """The outline's terms (“三公经费” → ““三公”经费”), full-width punctuation, no stray spaces."""
        for k, v in self.o.terms.items():
            text = text.replace(k, v)
        return tight(zh_prose(text))

    def t(self, key, **values) -> str:
        tpl = self.o.sentences[key]
        return self.prose(tpl.fill({**self.base, **values})) if tpl else ""

    def fill(self, tpl, **values) -> str:
        return self.prose(tpl.fill({**self.base, **values}))

    def review(self, note: str) -> str:
        return self.o.review.fill({**self.base, "note": note})

    # ---------------------------------------------------------------- the source's own text
    _TOTAL = re.compile(r"((?:自评|综合|评价)?(?:得分|评分|总分))(为|是|：)?([0-9]+(?:\.[0-9]+)?)分")
    _GRADE = re.compile(r"((?:评价|评分|自评)等级)(为|是|：)?“?(优秀|优|良好|良|中|合格|差|不合格)”?")

    def engine_text(self, text: str, where: str) -> str:
        """Text copied from the source, with any total or grade it states set to the engine's: a 自评表 that says
        “自评得分97.95分” when the rules give 97.93 is shown with 97.93, and the change is listed in the appendix."""
        total, grade = _score(self.r.total), self.r.grade

        def fix_total(m):
            stated = m.group(3)
            # only a whole-report total (自评得分, 综合得分, 总分 …) is the engine's to set; “评价得分6分” is an indicator's
            if not (m.group(1).startswith(("自评", "综合")) or m.group(1) == "总分"):
                return m.group(0)
            if _same_number(stated, self.r.total):
                return m.group(0)
            self._correct((where, m.group(1), stated + "分", total + "分"))
            return m.group(1) + (m.group(2) or "") + total + "分"

        def fix_grade(m):
            if m.group(3) == grade or m.group(3) + "秀" == grade:
                return m.group(0)
            self._correct((where, m.group(1), "“" + m.group(3) + "”", "“" + grade + "”"))
            return m.group(1) + (m.group(2) or "") + "“" + grade + "”"
        return self._GRADE.sub(fix_grade, self._TOTAL.sub(fix_total, text))

    def _correct(self, item):
        if item not in self.corrections:
            self.corrections.append(item)

    def all_source_text(self):
        """Read every passage the draft copies from the source once, so that the appendix (wherever the outline
        puts it) lists each figure set to the engine's."""
        from perfscore.engine.case import NARRATIVE_KEYS
        for key, text in self.case.narrative.items():
            self.engine_text(text, NARRATIVE_KEYS.get(key, key))
        self.engine_text(self.case.goals_expected or "", "自评表“预期目标”")
        self.engine_text(self.case.goals_actual or "", "自评表“目标实际完成情况”")
        for t in self.case.tasks or []:
            self.engine_text(t.status or "", f"自评表“{t.name}”完成情况")

    def source_text(self, text: str, where: str) -> str:
        return self.prose(self.engine_text(text, where))

    # ---------------------------------------------------------------- scores
    def level1_sentence(self, l1id) -> str:
        lr = self.r.level1[l1id]
        return self.t("level1", name=lr.level.name, weight=_score(lr.level.weight), score=_score(lr.score),
                      rate=_rate(lr.score, lr.level.weight))

    def groups(self, l1id):
        """[(heading, sentence, [indicator paragraphs])] for each 二级指标 under one 一级指标."""
        out = []
        groups = [lv for lv in self.system.level2 if lv.parent == l1id]
        for n, lv in enumerate(groups, 1):
            lr = self.r.level2[lv.id]
            members = [r for r in self.r.indicators if r.indicator.level2.id == lv.id]
            vals = dict(n=n, name=lv.name, weight=_score(lv.weight), score=_score(lr.score),
                        rate=_rate(lr.score, lv.weight), indicators=_join_zh(r.indicator.name for r in members),
                        count=_count_zh(len(members)))
            sentence = self.t("group" if len(members) > 1 else "group_single", **vals)
            paras = [self.indicator(k, r) for k, r in enumerate(members, 1)]
            out.append((self.t("group_heading", **vals), sentence, paras))
        return out

    def indicator(self, n: int, r: IndicatorResult) -> str:
        ind = r.indicator
        return self.t("indicator", n=n, name=ind.name, weight=_score(ind.weight), score=_score(r.score),
                      rate=_rate(r.score, ind.weight), deducted=_score(r.deducted), reason=r.reason,
                      level1=ind.level1.name, level2=ind.level2.name, data=self.data(r), figures=self.figures(r),
                      judgement=self.judgement(r),
                      verdict=self.t("verdict_full" if r.deducted <= 0 else "verdict_deducted",
                                     reason=r.reason, deducted=_score(r.deducted)))

    def data(self, r) -> str:
        items = []
        assumed = self.case.assumed() if self.src.kind == "case" else {}
        for iid in r.indicator.inputs:
            spec = self.system.inputs[iid]
            if spec.kind not in NUMERIC_KINDS or iid not in self.r.inputs:
                continue
            value = _input_value(spec, self.r.inputs[iid])
            if iid in assumed:
                items.append(self.t("data_assumed", label=spec.name, value=value, why=assumed[iid].assumed))
            else:
                items.append(self.t("data_item", label=spec.name, value=value))
        return self.t("data", items="，".join(items)) if items else ""

    def figures(self, r) -> str:
        items = []
        for f in r.figures:
            if f.id in self.system.inputs:  # the input itself, already listed with the data
                continue
            m = self.system.measures.get(f.id)
            formula = "" if math.isinf(f.value) else f.formula
            if m is not None and not m.den:  # a rate taken as it is from one input: listed with the data
                continue
            if formula:
                items.append(self.t("figure_formula", label=f.label, value=f.display, formula=formula))
            else:
                items.append(self.t("figure", label=f.label, value=f.display))
        return self.t("figures", items="；".join(items)) if items else ""

    def judgement(self, r) -> str:
        rule = r.indicator.rule
        items = []
        if r.parts:
            items = [self.t("judgement_item", label=p.name, score=_score(p.score), points=_score(p.points))
                     for p in r.parts]
        elif rule.family == "checklist":
            for iid, pts, label in rule.items:
                got = self.r.inputs.get(iid)
                if got is not None:
                    items.append(self.t("judgement_item", label=label, score=_score(got), points=_score(pts)))
        return self.t("judgement", items="；".join(items)) if items else ""

    # ---------------------------------------------------------------- evaluation, problems, findings
    def overall(self) -> str:
        parts = "；".join(self.t("overall_part", name=lr.level.name, weight=_score(lr.level.weight),
                                 score=_score(lr.score), rate=_rate(lr.score, lr.level.weight))
                          for lr in self.r.level1.values())
        return self.t("overall", parts=parts)

    def problems(self) -> list[str]:
        out = []
        for r in self.r.indicators:
            if r.deducted and r.deducted > 0:
                out.append(self.t("problem", n=len(out) + 1, name=r.indicator.name, weight=_score(r.weight),
                                  score=_score(r.score), rate=_rate(r.score, r.weight),
                                  deducted=_score(r.deducted), reason=r.reason, figures=self.figures(r)))
        return out or [self.t("no_problems")]

    def findings(self) -> list[str]:
        """The appendix, every item worded as a reviewer's note: each figure the source states differently from the
        rules, with the engine's figure (at the precision the draft prints), the figures of source text the draft
        set to the engine's, and the assumed inputs."""
        fs = self.src.findings
        out = [self.t("findings_intro", count=len(fs))] if fs else [self.t("no_findings")]
        notes = {(s.ref, str(s.value), s.source): s.note for s in self.case.stated}
        for k, f in enumerate(fs, 1):
            out.append(self.t("finding", n=k, message=f.message, label=f.label.replace(" 小计", "得分").replace(" ", ""),
                              stated=_stated(f), computed=self.engine_figure(f.ref) or f.computed,
                              source=f.source, note=notes.get((f.ref, f.stated, f.source.split("，共 ")[0]), "")))
        out += [self.t("corrected", n=k, where=where, label=label, stated=stated, value=value)
                for k, (where, label, stated, value) in enumerate(self.corrections, 1)]
        assumed = self.case.assumed()
        if assumed:
            out.append(self.t("assumed_intro"))
            out += [self.t("assumed", n=k, label=self.system.inputs[i].name if i in self.system.inputs else i,
                           value=v.value, why=v.assumed) for k, (i, v) in enumerate(assumed.items(), 1)]
        return [p for p in out if p]

    def engine_figure(self, ref: str) -> str:
        """The engine's value for a stated figure's ref, as the draft prints it (97.93分, 78.66%, “优”)."""
        kind, _, target = ref.partition(".")
        r = self.r
        if kind == "total":
            return _score(r.total) + "分"
        if kind == "grade":
            return "“" + r.grade + "”"
        if kind == "score":
            return _score(r.by_id(target).score) + "分"
        if kind in ("level1", "level2"):
            return _score(getattr(r, kind)[target].score) + "分"
        if kind == "rate":
            lv = r.level1.get(target) or r.level2.get(target)
            return _rate(lv.score, lv.level.weight) if lv else ""
        if kind == "figure" and target in self.system.measures:
            m = self.system.measures[target]
            try:
                v = m.value(r.inputs)
            except Exception:   # a figure the rules cannot compute: the crosscheck's own words say why
                return ""
            return fmt_pct(v) if m.percent else fmt_num(v)
        return ""

    # ---------------------------------------------------------------- facts and the 自评表's targets
    def facts(self, block) -> str | None:
        """A sentence whose placeholders are the system's inputs (金额、人数 as the draft writes them) and measures
        (their formula and value); None when the source lacks one of them."""
        values = {}
        for _, name in block.template.parts:
            if name is None or name in self.base:
                continue
            if name in self.system.inputs:
                if name not in self.r.inputs:
                    return None
                values[name] = _input_value(self.system.inputs[name], self.r.inputs[name])
            else:
                m = self.system.measures[name]
                if any(i not in self.r.inputs for i in m.inputs):
                    return None
                try:
                    v = m.value(self.r.inputs)
                except Exception:
                    return None
                values[name] = f"{m.formula(self.r.inputs)}={fmt_pct(v) if m.percent else fmt_num(v)}"
        return self.fill(block.template, **values)

    def goal_analysis(self) -> list[str]:
        """Each 自评表 performance target against its actual: met, off by how much (with a 【待填写：原因】), or
        not comparable as written (a 【待填写】 for the comparison)."""
        out = []
        for k, g in enumerate(self.case.goal_rows, 1):
            target, actual = _plain_target(g.target), _plain_target(g.actual)
            met, gap = _goal_gap(g.target, g.actual)
            if met is True:
                status = self.t("goal_met", target=target, actual=actual)
            elif met is False:
                status = self.t("goal_off", target=target, actual=actual, gap=gap)
            else:
                status = self.t("goal_unknown", target=target, actual=actual)
            out.append(self.t("goal_row", n=k, level1=g.level1, level2=g.level2, name=g.name, target=target,
                              actual=actual, status=status))
        return out or [self.t("no_goal_rows")]

    def narrative(self, block) -> str | None:
        text = self.case.narrative.get(block.key, "")
        if not text and block.fallback == "goal_table.expected":
            text = self.case.goals_expected
        elif not text and block.fallback == "goal_table.actual":
            text = self.case.goals_actual
        from perfscore.engine.case import NARRATIVE_KEYS
        return self.source_text(text.strip(), NARRATIVE_KEYS[block.key]) if text.strip() else None

    def fill_in(self, block) -> str:
        return self.o.fill_in.fill({**self.base, "label": NARRATIVE_KEYS[block.key], "hint": block.hint})


def _same_number(stated: str, value) -> bool:
    try:
        return abs(float(stated) - round(value, 2)) < 1e-9
    except (TypeError, ValueError):
        return False


def _stated(f: Finding) -> str:
    """The source's figure as the appendix quotes it: a score with 分, a rate as written, a grade in quotes."""
    kind = f.ref.partition(".")[0]
    if kind == "grade":
        return "“" + f.stated + "”"
    if kind in ("score", "level1", "level2", "total"):
        return fmt_num(float(f.stated)) + "分" if _number(f.stated) else f.stated
    return f.stated


def _number(text) -> bool:
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


_TARGET = re.compile(r"^\s*(=|＝|≥|>=|＞=|≤|<=|>|＞|<|＜)?\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(%|％|[^0-9\s]*)\s*$")


def _plain_target(text: str) -> str:
    """“=100%” as prose says it: “100%”."""
    return re.sub(r"^\s*[=＝]\s*", "", text or "").strip() or "（未填）"


def _goal_gap(target: str, actual: str):
    """(met, gap): met True / False, or None when the two cannot be compared as written; gap in words
    (“低2个百分点”). A target “≥90%” is met by 98.76%; “=100%” is missed by 98%."""
    t, a = _TARGET.match(target or ""), _TARGET.match(actual or "")
    if not t or not a:
        return ((target or "").strip() == (actual or "").strip() and bool((target or "").strip())) or None, ""
    top, tv, tu = t.group(1) or "=", float(t.group(2)), t.group(3).replace("％", "%")
    aop, av, au = a.group(1) or "=", float(a.group(2)), a.group(3).replace("％", "%")
    if tu != au:
        return None, ""
    if aop not in ("=", "＝"):   # “≥90%” as the actual: only says it is as the target when written the same
        return (True, "") if (top, tv) == (aop, av) else (None, "")
    top = {"＝": "=", ">=": "≥", "＞=": "≥", "＞": ">", "<=": "≤", "＜": "<"}.get(top, top)
    met = {"=": av == tv, "≥": av >= tv, ">": av > tv, "≤": av <= tv, "<": av < tv}[top]
    if met:
        return True, ""
    diff = abs(av - tv)
    unit = "个百分点" if tu == "%" else tu
    return False, ("低" if av < tv else "高") + fmt_num(diff) + unit


# ------------------------------------------------------------------------------------------ Word layout
def _docx():
    try:
        import docx  # noqa: F401
    except ImportError:  # pragma: no cover - a runtime dependency
        raise PerfscoreError("缺少 python-docx，无法生成 Word 报告：请运行 pip install python-docx==1.2.0") from None


class DocxBuilder:
    def __init__(self):
        _docx()
        from docx import Document
        self.doc = Document()
        self._styles()
        sec = self.doc.sections[0]
        self._page(sec, landscape=False)
        self._footers(sec)

    # ------------------------------------------------------------ styles and fonts
    @staticmethod
    def _fonts(rpr_parent, name):
        """Set one font for every script (w:ascii, w:hAnsi, w:eastAsia, w:cs), dropping theme fonts that would win."""
        from docx.oxml.ns import qn
        rpr = rpr_parent.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            from docx.oxml import OxmlElement
            rfonts = OxmlElement("w:rFonts")
            rpr.insert(0, rfonts)
        for a in list(rfonts.attrib):
            del rfonts.attrib[a]
        for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(a), name)
        rfonts.set(qn("w:hint"), "eastAsia")

    def _style(self, name, font, size, *, base="Normal", bold=False, align=None, indent_chars=2, exact=True,
               outline=None, keep_next=False, grid=True, squeeze=True):
        from docx.enum.style import WD_STYLE_TYPE
        from docx.enum.text import WD_LINE_SPACING
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Pt, Twips
        styles = self.doc.styles
        st = styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        if name != "Normal":
            st.base_style = styles[base]
            st.quick_style = True
        st.font.size = Pt(size)
        st.font.bold = bold
        self._fonts(st.element, font)
        if squeeze:
            sp = OxmlElement("w:spacing")
            sp.set(qn("w:val"), str(CHAR_SQUEEZE_TWIPS))
            _insert_rpr(st.element.get_or_add_rPr(), sp)
        pf = st.paragraph_format
        pf.space_before = pf.space_after = Pt(0)
        if exact:
            pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            pf.line_spacing = Twips(LINE_PITCH)
        else:
            pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
        if align is not None:
            pf.alignment = align
        pf.keep_with_next = keep_next
        ppr = st.element.get_or_add_pPr()
        ind = ppr.find(qn("w:ind"))
        if ind is None:
            ind = OxmlElement("w:ind")
            ppr.append(ind)
        ind.set(qn("w:firstLineChars"), str(indent_chars * 100))
        ind.set(qn("w:firstLine"), str(int(indent_chars * size * 20)))
        if not grid:
            snap = OxmlElement("w:snapToGrid")
            snap.set(qn("w:val"), "0")
            ppr.append(snap)
        if outline is not None:
            ol = OxmlElement("w:outlineLvl")
            ol.set(qn("w:val"), str(outline))
            ppr.append(ol)
        _order_ppr(ppr)
        return st

    def _styles(self):
        from docx.enum.text import WD_ALIGN_PARAGRAPH as A
        from docx.oxml.ns import qn
        styles = self.doc.styles
        defaults = styles.element.find(qn("w:docDefaults"))
        rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
        rf = rpr.find(qn("w:rFonts"))
        for a in list(rf.attrib):
            del rf.attrib[a]
        for a in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rf.set(qn(a), FONT_BODY)
        # the character grid's pitch is reckoned from the default size: 3号, as the body
        for tag in ("w:sz", "w:szCs"):
            el = rpr.find(qn(tag))
            if el is None:
                from docx.oxml import OxmlElement
                el = OxmlElement(tag)
                rpr.append(el)
            el.set(qn("w:val"), str(BODY_PT * 2))
        lang = rpr.find(qn("w:lang"))
        if lang is not None:
            lang.set(qn("w:eastAsia"), "zh-CN")
        self._style("Normal", FONT_BODY, BODY_PT, align=A.JUSTIFY)
        self._style("公文标题", FONT_TITLE, TITLE_PT, align=A.CENTER, indent_chars=0, outline=None, keep_next=True)
        self._style("首部", FONT_BODY, BODY_PT, indent_chars=0)
        self._style("一级标题", FONT_H1, BODY_PT, outline=0, keep_next=True)
        self._style("二级标题", FONT_H2, BODY_PT, outline=1, keep_next=True)
        self._style("三级标题", FONT_BODY, BODY_PT, bold=True, outline=2, keep_next=True)
        self._style("表题", FONT_H1, BODY_PT, align=A.CENTER, indent_chars=0, keep_next=True)
        self._style("表格文字", FONT_BODY, TABLE_PT, align=A.LEFT, indent_chars=0, exact=False, grid=False,
                    squeeze=False)
        self._style("表头", FONT_H1, TABLE_PT, align=A.CENTER, indent_chars=0, exact=False, grid=False, squeeze=False)
        st = self._style("页码", FONT_PAGE_NO, PAGE_NO_PT, indent_chars=0, exact=False, grid=False, squeeze=False)
        # one em high exactly: the dash, at the middle of the em, is then half a line above the footer's bottom
        from docx.enum.text import WD_LINE_SPACING
        from docx.shared import Pt
        st.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        st.paragraph_format.line_spacing = Pt(PAGE_NO_PT)

    # ------------------------------------------------------------ pages
    def _page(self, sec, *, landscape):
        from docx.enum.section import WD_ORIENT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Mm
        sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        if landscape:
            # GB/T 9704-2012 10.1 横排表格: the portrait page turned a quarter clockwise — its binding side (28 mm,
            # 订口) is the table's head, its foot (35 mm, where the page number is) the table's left side
            sec.page_width, sec.page_height = Mm(PAGE_H), Mm(PAGE_W)
            sec.top_margin, sec.bottom_margin = Mm(LEFT), Mm(RIGHT)
            sec.left_margin, sec.right_margin = Mm(BOTTOM), Mm(TOP)
        else:
            sec.page_width, sec.page_height = Mm(PAGE_W), Mm(PAGE_H)
            sec.top_margin, sec.bottom_margin = Mm(TOP), Mm(BOTTOM)
            sec.left_margin, sec.right_margin = Mm(LEFT), Mm(RIGHT)
        sec.header_distance = Mm(15)
        # the page number's dash is 7 mm below the type area: the footer's one-em line (4号) ends half an em lower
        sec.footer_distance = Mm(BOTTOM - PAGE_NO_GAP - PAGE_NO_EM_MM / 2)
        sec.gutter = Mm(0)
        grid = sec._sectPr.find(qn("w:docGrid"))
        if grid is None:
            grid = OxmlElement("w:docGrid")
            sec._sectPr.append(grid)
        for a in list(grid.attrib):
            del grid.attrib[a]
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(LINE_PITCH))

    def _footers(self, sec, landscape=False):
        """“— 1 —” in 4号 宋体: odd pages at the right, even pages at the left, one character in from the type
        area's edge, the dash 7 mm below the type area. On a landscape (横排表格) page the number keeps that place
        on the sheet: turned with the page, it stands left of the table, reading downwards, odd pages at the
        lower left and even pages at the upper left (GB/T 9704-2012 10.1)."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH as A
        from docx.shared import Pt
        self.doc.settings.odd_and_even_pages_header_footer = True
        for footer, odd in ((sec.footer, True), (sec.even_page_footer, False)):
            footer.is_linked_to_previous = False
            p = footer.paragraphs[0]
            p.style = self.doc.styles["页码"]
            if landscape:
                p._p.append(self._turned_page_number(odd))
                continue
            p.alignment = A.RIGHT if odd else A.LEFT
            if odd:
                p.paragraph_format.right_indent = Pt(PAGE_NO_PT)
            else:
                p.paragraph_format.left_indent = Pt(PAGE_NO_PT)
            p.add_run("— ")
            _page_field(p)
            p.add_run(" —")
        for header in (sec.header, sec.even_page_header):
            header.is_linked_to_previous = False

    def _turned_page_number(self, odd: bool):
        """A text box anchored to the landscape page, its text turned a quarter clockwise (vert="vert"): the page
        number where it stands on a portrait page, seen with the sheet turned."""
        from docx.oxml import parse_xml
        self._shapes = getattr(self, "_shapes", 100) + 1   # wp:docPr ids, unique in the document
        emu = lambda mm: int(round(mm * 36000))   # noqa: E731
        box_w, box_h = 10.0, 45.0                                  # mm: across and along the turned line
        x = BOTTOM - PAGE_NO_GAP - box_w / 2                       # the dash's axis 7 mm left of the type area
        type_top, type_bottom = LEFT, PAGE_W - RIGHT               # the landscape type area: 28 … 184 mm
        em = PAGE_NO_EM_MM
        y = type_bottom - em - box_h if odd else type_top + em     # one character in from the type area's end
        align = "right" if odd else "left"                         # along the turned line: bottom / top
        style = self.doc.styles["页码"].style_id
        run = ('<w:r><w:t xml:space="preserve">{}</w:t></w:r>')
        fld = ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText>'
               '</w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r>'
               '<w:r><w:fldChar w:fldCharType="end"/></w:r>')
        n = self._shapes
        xml = f"""<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
  xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
  xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
  xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><w:drawing>
 <wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="{n}" behindDoc="0" locked="0"
   layoutInCell="1" allowOverlap="1">
  <wp:simplePos x="0" y="0"/>
  <wp:positionH relativeFrom="page"><wp:posOffset>{emu(x)}</wp:posOffset></wp:positionH>
  <wp:positionV relativeFrom="page"><wp:posOffset>{emu(y)}</wp:posOffset></wp:positionV>
  <wp:extent cx="{emu(box_w)}" cy="{emu(box_h)}"/>
  <wp:effectExtent l="0" t="0" r="0" b="0"/>
  <wp:wrapNone/>
  <wp:docPr id="{n}" name="页码{n}" descr="页码（横排表格页）"/>
  <wp:cNvGraphicFramePr/>
  <a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">
   <wps:wsp>
    <wps:cNvSpPr txBox="1"/>
    <wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{emu(box_w)}" cy="{emu(box_h)}"/></a:xfrm>
     <a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr>
    <wps:txbx><w:txbxContent><w:p><w:pPr><w:pStyle w:val="{style}"/><w:jc w:val="{align}"/></w:pPr>
     {run.format("— ")}{fld}{run.format(" —")}</w:p></w:txbxContent></wps:txbx>
    <wps:bodyPr rot="0" vert="vert" wrap="square" lIns="0" tIns="0" rIns="0" bIns="0" anchor="ctr" anchorCtr="0">
     <a:noAutofit/></wps:bodyPr>
   </wps:wsp>
  </a:graphicData></a:graphic>
 </wp:anchor></w:drawing></w:r>"""
        return parse_xml(xml)

    def new_section(self, landscape):
        """A new page in the other orientation, with its own footers (a landscape page's number is turned)."""
        from docx.enum.section import WD_SECTION
        from docx.oxml.ns import qn
        sec = self.doc.add_section(WD_SECTION.NEW_PAGE)
        # the new section's properties are a copy of the last one's, references to its footers included: drop them,
        # so that this section's footers are parts of its own
        for ref in sec._sectPr.findall(qn("w:footerReference")) + sec._sectPr.findall(qn("w:headerReference")):
            sec._sectPr.remove(ref)
        self._page(sec, landscape=landscape)
        self._footers(sec, landscape=landscape)
        return sec

    # ------------------------------------------------------------ content
    review = False                  # building a section that is a reviewer's note: every paragraph marked
    markers: tuple[str, ...] = ()   # how a passage to be removed before submission begins (“【待填写：”)

    def para(self, text, style="Normal", *, fill_in=False):
        """One paragraph. ``fill_in``: all of it is to be filled in or removed (yellow); otherwise each passage
        that begins with one of ``markers`` and runs to its “】” is yellow. A paragraph with a long run of
        figures (a formula, an amount) is set flush left: justified, its lines would be stretched apart."""
        from docx.enum.text import WD_COLOR_INDEX
        p = self.doc.add_paragraph(style=self.doc.styles[style])
        text = xml_text(text)  # text from a received workbook or case file may carry \x01
        for piece, marked in ([(text, True)] if fill_in else _marked(text, self.markers)):
            run = p.add_run(piece)
            if marked:
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        if style == "Normal" and _LONG_FIGURES.search(text):
            from docx.enum.text import WD_ALIGN_PARAGRAPH
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT
        return p

    def gap(self):
        """A hairline paragraph between two tables that are to read as one (Word would join them without it)."""
        from docx.shared import Pt
        p = self.doc.add_paragraph(style=self.doc.styles["首部"])
        pf = p.paragraph_format
        from docx.enum.text import WD_LINE_SPACING
        pf.line_spacing_rule, pf.line_spacing = WD_LINE_SPACING.EXACTLY, Pt(1)
        pf.keep_with_next = True
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        snap = OxmlElement("w:snapToGrid")   # not to the 28.95 pt line grid
        snap.set(qn("w:val"), "0")
        ppr = p._p.get_or_add_pPr()
        ppr.append(snap)
        _order_ppr(ppr)
        return p

    def table(self, widths_mm, header_rows, rows, *, merges=(), bold_rows=(), keep_rows=(), split_rows=()):
        """A fixed-width bordered table; the first ``header_rows`` rows repeat on every page. No row splits across
        pages (w:cantSplit) except ``split_rows`` (a cell of text longer than a page)."""
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.oxml import OxmlElement
        from docx.shared import Mm
        t = self.doc.add_table(rows=len(rows), cols=len(widths_mm))
        t.style = self.doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False   # w:tblLayout fixed: the column widths hold
        for k, w in enumerate(widths_mm):
            t.columns[k].width = Mm(w)
        for i, row in enumerate(rows):
            tr = t.rows[i]
            trpr = tr._tr.get_or_add_trPr()
            if i not in split_rows:
                trpr.append(OxmlElement("w:cantSplit"))
            if i < header_rows:
                trpr.append(OxmlElement("w:tblHeader"))
            for k, text in enumerate(row):
                cell = tr.cells[k]
                cell.width = Mm(widths_mm[k])
                if text is None:
                    continue
                p = cell.paragraphs[0]
                p.style = self.doc.styles["表头" if (i < header_rows or i in bold_rows) else "表格文字"]
                p.add_run(xml_text(str(text)))
        for (r0, c0, r1, c1) in merges:
            m = t.cell(r0, c0).merge(t.cell(r1, c1))
            # merging gathers the cells' paragraphs: the others are empty, keep the first cell's only
            for extra in m.paragraphs[1:]:
                extra._p.getparent().remove(extra._p)
        for i in keep_rows:  # e.g. the last indicator row with the total rows: not left alone on a page
            for c in t.rows[i].cells:
                for p in c.paragraphs:
                    p.paragraph_format.keep_with_next = True
        from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT as V
        for row in t.rows:
            for c in row.cells:
                c.vertical_alignment = V.CENTER
        return t

    def save(self, path, title, author):
        """Properties as the department's own document: its name as author and last editor, the report's title;
        none of python-docx's (“generated by python-docx”, its template's thumbnail)."""
        cp = self.doc.core_properties
        cp.title, cp.author, cp.last_modified_by = xml_text(title), xml_text(author), xml_text(author)
        cp.comments = cp.subject = cp.keywords = cp.category = ""
        pkg = self.doc.part.package
        for rel in list(pkg.rels.values()):
            if rel.reltype.endswith("/thumbnail"):
                pkg.rels.pop(rel.rId)
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0, tzinfo=None)
        cp.created = cp.modified = now
        cp.revision = 1
        cp.language = "zh-CN"
        self.doc.save(str(path))


_LONG_FIGURES = re.compile(r"[0-9A-Za-z.,%/()+\-=×]{14,}")


def _marked(text: str, markers) -> list[tuple[str, bool]]:
    """Split text into (piece, marked) at each passage from a marker (“【待填写：”) to the next “】”."""
    out, k = [], 0
    while markers:
        starts = [(text.find(m, k), m) for m in markers if text.find(m, k) >= 0]
        if not starts:
            break
        a = min(starts)[0]
        b = text.find("】", a)
        b = len(text) if b < 0 else b + 1
        if a > k:
            out.append((text[k:a], False))
        out.append((text[a:b], True))
        k = b
    if k < len(text) or not out:
        out.append((text[k:], False))
    return out


_PPR_ORDER = ["pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
              "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
              "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd", "snapToGrid",
              "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc", "textDirection",
              "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange"]


_RPR_ORDER = ["rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
              "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing", "w",
              "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign",
              "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath"]


def _insert_rpr(rpr, el):
    """Add a child to w:rPr at its place in the schema's order."""
    from docx.oxml.ns import qn
    for old in rpr.findall(el.tag):
        rpr.remove(old)
    rpr.append(el)
    rank = {qn("w:" + n): k for k, n in enumerate(_RPR_ORDER)}
    kids = sorted(rpr, key=lambda e: rank.get(e.tag, len(rank)))
    for e in kids:
        rpr.remove(e)
        rpr.append(e)


def _order_ppr(ppr):
    """Children of w:pPr in the schema's order (Word refuses some files whose elements are out of order)."""
    from docx.oxml.ns import qn
    rank = {qn("w:" + n): k for k, n in enumerate(_PPR_ORDER)}
    kids = list(ppr)
    kids.sort(key=lambda e: rank.get(e.tag, len(rank)))
    for e in kids:
        ppr.remove(e)
        ppr.append(e)


def _page_field(p):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    for kind, text in (("begin", None), ("instr", " PAGE "), ("separate", None), ("text", "1"), ("end", None)):
        r = OxmlElement("w:r")
        if kind in ("begin", "separate", "end"):
            fc = OxmlElement("w:fldChar")
            fc.set(qn("w:fldCharType"), kind)
            r.append(fc)
        elif kind == "instr":
            it = OxmlElement("w:instrText")
            it.set(qn("xml:space"), "preserve")
            it.text = text
            r.append(it)
        else:
            t = OxmlElement("w:t")
            t.text = text
            r.append(t)
        p._p.append(r)


# ------------------------------------------------------------------------------------------ the report
SCORE_WIDTHS = (20, 20, 28, 13, 48, 82, 14)      # mm, 225 in all (landscape type area)
GOAL_WIDTHS = (24, 34, 40, 32, 32, 31, 32)


def build_report(src: Source, outline: Outline) -> DocxBuilder:
    if src.result.errors:
        names = "、".join(r.indicator.name for r in src.result.errors[:5])
        raise Unscorable(f"有 {len(src.result.errors)} 项指标无法计分（{names}）：报告中的得分和总分无法给出。"
                             f"请先补齐数据（perfscore score 或 perfscore check 会列出每项原因），再生成报告")
    outline.check_against(src.result.system)
    w = Writer(src, outline)
    w.all_source_text()
    b = DocxBuilder()
    b.markers = outline.markers()
    b.para(w.fill(outline.title), "公文标题")
    b.para("", "首部")
    for h in outline.header:
        b.para(w.fill(h), "首部")
    b.para("", "首部")
    landscape = False
    for sec in outline.sections:
        if sec.when == "stated" and not (src.kind == "case" and src.case.stated):
            continue
        if sec.landscape != landscape:
            b.new_section(sec.landscape)
            landscape = sec.landscape
        b.review = sec.review
        b.para(w.fill(sec.heading), "一级标题" if sec.level == 1 else "二级标题", fill_in=sec.review)
        for blk in sec.blocks:
            _block(b, w, blk, src)
        b.review = False
    return b


def _block(b: DocxBuilder, w: Writer, blk, src):
    def para(text, style="Normal", fill_in=False):
        b.para(text, style, fill_in=fill_in or b.review)
    if blk.kind == "narrative":
        text = w.narrative(blk)
        if text is None:
            para(w.fill_in(blk), fill_in=True)
        else:
            for line in (ln.strip() for ln in text.splitlines()):
                if line:
                    para(line)
    elif blk.kind == "text":
        para(w.fill(blk.template))
    elif blk.kind == "facts":
        text = w.facts(blk)
        para(text if text is not None else w.o.fill_in.fill({**w.base, "label": "基本数据", "hint": blk.hint}),
             fill_in=text is None)
    elif blk.kind == "scores" and blk.level1 == EVERY_LEVEL1:
        for n, lv in enumerate(w.system.level1, 1):
            lr = w.r.level1[lv.id]
            b.para(w.fill(blk.heading, n=DIGITS_ZH[n] if n <= 10 else n, name=lv.name,
                          weight=_score(lv.weight), score=_score(lr.score), rate=_rate(lr.score, lv.weight)), "二级标题")
            _scores(b, w, lv.id)
    elif blk.kind == "scores":
        _scores(b, w, blk.level1)
    elif blk.kind == "overall":
        para(w.overall())
    elif blk.kind == "problems":
        for p in w.problems():
            para(p)
    elif blk.kind == "goal_analysis":
        for p in w.goal_analysis():
            para(p)
    elif blk.kind == "findings":
        for p in w.findings():
            para(p)
    elif blk.kind == "score_table":
        _score_table(b, w)
    elif blk.kind == "goal_table" and w.system.goal_table is not None:  # a system without a 自评表: none here
        _goal_table(b, w)


def _scores(b: DocxBuilder, w: Writer, level1: str):
    """One 一级指标: its sentence, then each 二级指标's heading and sentence and its indicators' paragraphs."""
    first = w.level1_sentence(level1)
    if first:
        b.para(first)
    for heading, sentence, paras in w.groups(level1):
        if heading:
            b.para(heading, "三级标题")
        if sentence:
            b.para(sentence)
        for p in paras:
            b.para(p)


def _score_table(b: DocxBuilder, w: Writer):
    r, s = w.r, w.system
    title = w.t("score_table_title")
    if title:
        b.para(title, "表题")
    rows = [["评价指标", None, None, None, "指标说明", "评分标准", "得分"],
            ["一级指标", "二级指标", "三级指标", "分值", None, None, None]]
    merges = [(0, 0, 0, 3), (0, 4, 1, 4), (0, 5, 1, 5), (0, 6, 1, 6)]
    for l1 in s.level1:
        start1 = len(rows)
        for l2 in s.level2:
            if l2.parent != l1.id:
                continue
            start2 = len(rows)
            for ir in r.indicators:
                if ir.indicator.level2.id != l2.id:
                    continue
                ind = ir.indicator
                rows.append([w.prose(l1.printed or l1.name) if len(rows) == start1 else "",
                             l2.name if len(rows) == start2 else "", ind.name, _score(ind.weight),
                             w.prose(ind.description), w.prose(ind.criteria), _score(ir.score)])
            if len(rows) - 1 > start2:
                merges.append((start2, 1, len(rows) - 1, 1))
        if len(rows) - 1 > start1:
            merges.append((start1, 0, len(rows) - 1, 0))
    end = len(rows)
    rows.append(["综合评分", None, None, None, None, None, _score(r.total)])
    rows.append(["评分等级", None, None, None, None, None, r.grade])
    rows.append(["填表人", None, None, None, w.base["preparer"], None, None])   # a name needs more than the 得分 column
    merges += [(k, 0, k, 5) for k in range(end, end + 2)] + [(end + 2, 0, end + 2, 3), (end + 2, 4, end + 2, 6)]
    # the last 一级指标's rows stay with the totals: a vertically merged cell holds its rows on one page
    last_group = max(k for k, row in enumerate(rows[:end]) if row[0])
    b.table(SCORE_WIDTHS, 2, rows, merges=merges, bold_rows=range(end, end + 3),
            keep_rows=range(max(last_group, end - 3), end + 2))


def _goal_table(b: DocxBuilder, w: Writer):
    """The 自评表 in three tables that read as one, each with its own column header repeated on the next page:
    部门名称 and the tasks (部门名称 and the task columns repeat), the 年度总体目标 (预期目标 | 目标实际完成情况),
    the 绩效指标 (一级指标 … 实际完成指标值)."""
    c, s = w.case, w.system
    title = w.t("goal_table_title")
    if title:
        b.para(title, "表题")
    rows = [["部门（单位）名称", None, c.department, None, None, "预算年度", str(c.year)]]
    merges = [(0, 0, 0, 1), (0, 2, 0, 4)]
    t0 = len(rows)
    rows.append(["年度主要任务完成情况", "任务名称", "完成情况", "预算数（元）", None, "执行数（元）", None])
    rows.append([None, None, None, "全额", "其中：财政拨款", "全额", "其中：财政拨款"])
    merges += [(t0, 3, t0, 4), (t0, 5, t0, 6), (t0, 1, t0 + 1, 1), (t0, 2, t0 + 1, 2)]

    def money(v):
        return f"{v:,.2f}"
    tasks = c.tasks or []
    for t in tasks:
        rows.append([None, w.prose(t.name), w.source_text(t.status, f"自评表“{t.name}”完成情况"),
                     money(t.budget_total), money(t.budget_fiscal), money(t.executed_total), money(t.executed_fiscal)])
    if not tasks:
        rows.append([None, "", "", "", "", "", ""])
    merges.append((t0, 0, len(rows) - 1, 0))
    rows.append(["金额合计", None, None] + [money(sum(getattr(t, k) for t in tasks)) for k in
                                          ("budget_total", "budget_fiscal", "executed_total", "executed_fiscal")])
    merges.append((len(rows) - 1, 0, len(rows) - 1, 2))
    b.table(GOAL_WIDTHS, t0 + 2, rows, merges=merges, bold_rows={0, t0, t0 + 1})
    b.gap()
    rows = [["年度总体目标完成情况", "预期目标", None, None, "目标实际完成情况", None, None],
            [None, w.source_text(c.goals_expected, "自评表“预期目标”"), None, None,
             w.source_text(c.goals_actual, "自评表“目标实际完成情况”"), None, None]]
    merges = [(0, 0, 1, 0), (0, 1, 0, 3), (0, 4, 0, 6), (1, 1, 1, 3), (1, 4, 1, 6)]
    b.table(GOAL_WIDTHS, 1, rows, merges=merges, bold_rows={0}, split_rows={1})
    b.gap()
    rows = [["年度绩效指标完成情况", "一级指标", "二级指标", "三级指标", "预期指标值", None, "实际完成指标值"]]
    merges = [(0, 4, 0, 5)]
    cats = s.goal_table.categories if s.goal_table else ()
    for l1, l2s in cats:
        start1 = len(rows)
        for l2 in l2s:
            items = [gr for gr in c.goal_rows if gr.level1 == l1 and gr.level2 == l2] or [None]
            start2 = len(rows)
            for gr in items:
                rows.append([None, l1 if len(rows) == start1 else "", l2 if len(rows) == start2 else "",
                             gr.name if gr else "", gr.target if gr else "", None, gr.actual if gr else ""])
                merges.append((len(rows) - 1, 4, len(rows) - 1, 5))
            if len(rows) - 1 > start2:
                merges.append((start2, 2, len(rows) - 1, 2))
        if len(rows) - 1 > start1:
            merges.append((start1, 1, len(rows) - 1, 1))
    merges.append((0, 0, len(rows) - 1, 0))
    b.table(GOAL_WIDTHS, 1, rows, merges=merges, bold_rows={0})
    b.para("", "首部")


# ------------------------------------------------------------------------------------------ writing files
def write_report(source, output, *, force=False, pdf=False, outline_path=None, year=None, system_path=None,
                 src: Source | None = None, on_note=None, region=None) -> list[Path]:
    """Write the .docx (and, with ``pdf``, a PDF beside it) atomically; refuse to overwrite without ``force``.
    ``on_note(text)`` hears when the generic outline stands in for the region's own, and, with ``pdf``, when the
    official fonts are missing here and which fonts the PDF is printed with instead."""
    output = check_output(output, ".docx", force, "报告", inputs=[source])
    pdf_path = output.with_suffix(".pdf")
    if pdf:
        check_output(pdf_path, ".pdf", force, "PDF")
    if pdf:
        soffice()   # before anything is written: say now that LibreOffice is missing
    src = src or load_source(source, year=year, system_path=system_path, region=region)
    outline, note = outline_for(src.result.system, outline_path)
    if note and on_note:
        on_note(note)
    built = build_report(src, outline)
    title = outline.title.fill({**Writer(src, outline).base})
    with atomic_output(output) as tmp:
        built.save(tmp, title, src.case.department)
    written = [output]
    if pdf:
        subs = font_substitutes()
        if subs and on_note:
            on_note("本机没有公文字体" + "、".join(n for n, _ in subs) + "，PDF 中以" +
                    "；".join(f"{s}代替{n}" for n, s in subs) + "（均为字形相近的免费字体）。Word 文件中仍指定公文字体，"
                    "在装有这些字体的电脑上打开或另存为 PDF，即为正式字形")
        with tempfile.TemporaryDirectory(prefix="perfscore-report-") as d:
            staged = Path(d) / ("report" + ".docx")
            staged.write_bytes(output.read_bytes())
            made = to_pdf([staged], d)[0]
            with atomic_output(pdf_path) as tmp:
                Path(tmp).write_bytes(made.read_bytes())
        written.append(pdf_path)
    return written
