"""The 部门整体支出绩效自评报告 as a Word draft: every number from the engine, the wording from the region's outline.

``load_source`` scores a case file or a filled workbook (never trusting stored cells); ``build_report`` writes the
outline's sections with python-docx in the GB/T 9704-2012 layout (A4, type area 156 × 225 mm, 22 lines of 28
characters, 3号 仿宋_GB2312 body, 2号 方正小标宋简体 title, 黑体/楷体_GB2312 headings, “— 1 —” page numbers
outside on odd and even pages); ``write_report`` saves it atomically and, on request, a PDF through LibreOffice.
"""
from __future__ import annotations

import datetime as _dt
import math
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
from perfscore.render import soffice, to_pdf

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
LINES, CHARS = 22, 28
PAGE_W, PAGE_H = 210, 297                     # mm
TOP, LEFT, TYPE_W, TYPE_H = 37, 28, 156, 225  # mm: margins and type area
BOTTOM, RIGHT = PAGE_H - TOP - TYPE_H, PAGE_W - LEFT - TYPE_W  # 35, 26
PAGE_NO_GAP = 7      # mm: the page number's line sits 7 mm below the type area
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

    def t(self, key, **values) -> str:
        tpl = self.o.sentences[key]
        return tight(tpl.fill({**self.base, **values})) if tpl else ""

    def fill(self, tpl, **values) -> str:
        return tight(tpl.fill({**self.base, **values}))

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
        fs = self.src.findings
        out = [self.t("findings_intro", count=len(fs))] if fs else [self.t("no_findings")]
        out += [self.t("finding", n=k, message=f.message) for k, f in enumerate(fs, 1)]
        assumed = self.case.assumed()
        if assumed:
            out.append(self.t("assumed_intro"))
            out += [self.t("assumed", n=k, label=self.system.inputs[i].name if i in self.system.inputs else i,
                           value=v.value, why=v.assumed) for k, (i, v) in enumerate(assumed.items(), 1)]
        return [p for p in out if p]

    def narrative(self, block) -> str | None:
        text = self.case.narrative.get(block.key, "")
        if not text and block.fallback == "goal_table.expected":
            text = self.case.goals_expected
        elif not text and block.fallback == "goal_table.actual":
            text = self.case.goals_actual
        return text.strip() or None

    def fill_in(self, block) -> str:
        return self.o.fill_in.fill({**self.base, "label": NARRATIVE_KEYS[block.key], "hint": block.hint})


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
        self._style("页码", FONT_PAGE_NO, PAGE_NO_PT, indent_chars=0, exact=False, grid=False, squeeze=False)

    # ------------------------------------------------------------ pages
    def _page(self, sec, *, landscape):
        from docx.enum.section import WD_ORIENT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Mm
        sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
        if landscape:  # the portrait page turned: the binding side (28 mm) is now at the bottom
            sec.page_width, sec.page_height = Mm(PAGE_H), Mm(PAGE_W)
            sec.top_margin, sec.bottom_margin = Mm(RIGHT), Mm(LEFT)
            sec.left_margin, sec.right_margin = Mm(TOP), Mm(BOTTOM)
        else:
            sec.page_width, sec.page_height = Mm(PAGE_W), Mm(PAGE_H)
            sec.top_margin, sec.bottom_margin = Mm(TOP), Mm(BOTTOM)
            sec.left_margin, sec.right_margin = Mm(LEFT), Mm(RIGHT)
        sec.header_distance = Mm(15)
        # the page number's line is 7 mm below the type area: its text (4号, about 5 mm) ends that far lower
        bottom = LEFT if landscape else BOTTOM
        sec.footer_distance = Mm(bottom - PAGE_NO_GAP - 5)
        sec.gutter = Mm(0)
        grid = sec._sectPr.find(qn("w:docGrid"))
        if grid is None:
            grid = OxmlElement("w:docGrid")
            sec._sectPr.append(grid)
        for a in list(grid.attrib):
            del grid.attrib[a]
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(LINE_PITCH))

    def _footers(self, sec):
        """“— 1 —” in 4号 宋体: odd pages at the right, even pages at the left, one character in from the edge."""
        from docx.enum.text import WD_ALIGN_PARAGRAPH as A
        from docx.shared import Pt
        self.doc.settings.odd_and_even_pages_header_footer = True
        for footer, align in ((sec.footer, A.RIGHT), (sec.even_page_footer, A.LEFT)):
            footer.is_linked_to_previous = False
            p = footer.paragraphs[0]
            p.style = self.doc.styles["页码"]
            p.alignment = align
            if align == A.RIGHT:
                p.paragraph_format.right_indent = Pt(PAGE_NO_PT)
            else:
                p.paragraph_format.left_indent = Pt(PAGE_NO_PT)
            p.add_run("— ")
            _page_field(p)
            p.add_run(" —")
        for header in (sec.header, sec.even_page_header):
            header.is_linked_to_previous = False

    def new_section(self, landscape):
        from docx.enum.section import WD_SECTION
        sec = self.doc.add_section(WD_SECTION.NEW_PAGE)
        self._page(sec, landscape=landscape)
        return sec

    # ------------------------------------------------------------ content
    def para(self, text, style="Normal", *, fill_in=False):
        p = self.doc.add_paragraph(style=self.doc.styles[style])
        run = p.add_run(xml_text(text))  # text from a received workbook or case file may carry \x01
        if fill_in:
            from docx.enum.text import WD_COLOR_INDEX
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
        return p

    def table(self, widths_mm, header_rows, rows, *, merges=(), bold_rows=(), keep_rows=()):
        """A fixed-width bordered table; the first ``header_rows`` rows repeat on every page."""
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Mm
        t = self.doc.add_table(rows=len(rows), cols=len(widths_mm))
        t.style = self.doc.styles["Table Grid"]
        t.alignment = WD_TABLE_ALIGNMENT.CENTER
        t.autofit = False   # w:tblLayout fixed: the column widths hold
        for k, w in enumerate(widths_mm):
            t.columns[k].width = Mm(w)
        for i, row in enumerate(rows):
            tr = t.rows[i]
            if i < header_rows:
                trpr = tr._tr.get_or_add_trPr()
                h = OxmlElement("w:tblHeader")
                trpr.append(h)
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
        cp = self.doc.core_properties
        cp.title, cp.author, cp.last_modified_by = xml_text(title), xml_text(author), "perfscore"
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0, tzinfo=None)
        cp.created = cp.modified = now
        cp.revision = 1
        cp.language = "zh-CN"
        self.doc.save(str(path))


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
    b = DocxBuilder()
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
        b.para(w.fill(sec.heading), "一级标题" if sec.level == 1 else "二级标题")
        for blk in sec.blocks:
            _block(b, w, blk, src)
    return b


def _block(b: DocxBuilder, w: Writer, blk, src):
    if blk.kind == "narrative":
        text = w.narrative(blk)
        if text is None:
            b.para(w.fill_in(blk), fill_in=True)
        else:
            for line in (ln.strip() for ln in text.splitlines()):
                if line:
                    b.para(line)
    elif blk.kind == "text":
        b.para(w.fill(blk.template))
    elif blk.kind == "scores" and blk.level1 == EVERY_LEVEL1:
        for n, lv in enumerate(w.system.level1, 1):
            lr = w.r.level1[lv.id]
            b.para(w.fill(blk.heading, n=DIGITS_ZH[n] if n <= 10 else n, name=lv.name,
                          weight=_score(lv.weight), score=_score(lr.score), rate=_rate(lr.score, lv.weight)), "二级标题")
            _scores(b, w, lv.id)
    elif blk.kind == "scores":
        _scores(b, w, blk.level1)
    elif blk.kind == "overall":
        b.para(w.overall())
    elif blk.kind == "problems":
        for p in w.problems():
            b.para(p)
    elif blk.kind == "findings":
        for p in w.findings():
            b.para(p)
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
                rows.append([(l1.printed or l1.name) if len(rows) == start1 else "", l2.name if len(rows) == start2 else "",
                             ind.name, _score(ind.weight), ind.description, ind.criteria, _score(ir.score)])
            if len(rows) - 1 > start2:
                merges.append((start2, 1, len(rows) - 1, 1))
        if len(rows) - 1 > start1:
            merges.append((start1, 0, len(rows) - 1, 0))
    end = len(rows)
    rows.append(["综合评分", None, None, None, None, None, _score(r.total)])
    rows.append(["评分等级", None, None, None, None, None, r.grade])
    rows.append(["填表人", None, None, None, w.base["preparer"], None, None])   # a name needs more than the 得分 column
    merges += [(k, 0, k, 5) for k in range(end, end + 2)] + [(end + 2, 0, end + 2, 3), (end + 2, 4, end + 2, 6)]
    b.table(SCORE_WIDTHS, 2, rows, merges=merges, bold_rows=range(end, end + 3), keep_rows=range(end - 1, end + 2))


def _goal_table(b: DocxBuilder, w: Writer):
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
        rows.append([None, t.name, t.status, money(t.budget_total), money(t.budget_fiscal),
                     money(t.executed_total), money(t.executed_fiscal)])
    if not tasks:
        rows.append([None, "", "", "", "", "", ""])
    merges.append((t0, 0, len(rows) - 1, 0))
    rows.append(["金额合计", None, None] + [money(sum(getattr(t, k) for t in tasks)) for k in
                                          ("budget_total", "budget_fiscal", "executed_total", "executed_fiscal")])
    merges.append((len(rows) - 1, 0, len(rows) - 1, 2))
    g0 = len(rows)
    rows.append(["年度总体目标完成情况", "预期目标", None, None, "目标实际完成情况", None, None])
    rows.append([None, c.goals_expected, None, None, c.goals_actual, None, None])
    merges += [(g0, 0, g0 + 1, 0), (g0, 1, g0, 3), (g0, 4, g0, 6), (g0 + 1, 1, g0 + 1, 3), (g0 + 1, 4, g0 + 1, 6)]
    h0 = len(rows)
    rows.append(["年度绩效指标完成情况", "一级指标", "二级指标", "三级指标", "预期指标值", None, "实际完成指标值"])
    merges.append((h0, 4, h0, 5))
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
    merges.append((h0, 0, len(rows) - 1, 0))
    b.table(GOAL_WIDTHS, 1, rows, merges=merges, bold_rows={0, t0, t0 + 1, g0, h0})
    b.para("", "首部")


# ------------------------------------------------------------------------------------------ writing files
def write_report(source, output, *, force=False, pdf=False, outline_path=None, year=None, system_path=None,
                 src: Source | None = None, on_note=None, region=None) -> list[Path]:
    """Write the .docx (and, with ``pdf``, a PDF beside it) atomically; refuse to overwrite without ``force``.
    ``on_note(text)`` hears when the generic outline stands in for the region's own."""
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
        with tempfile.TemporaryDirectory(prefix="perfscore-report-") as d:
            staged = Path(d) / ("report" + ".docx")
            staged.write_bytes(output.read_bytes())
            made = to_pdf([staged], d)[0]
            with atomic_output(pdf_path) as tmp:
                Path(tmp).write_bytes(made.read_bytes())
        written.append(pdf_path)
    return written
