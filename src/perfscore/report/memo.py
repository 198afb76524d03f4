"""``collect … --memo 汇总说明.docx [--pdf]``: the reviewer's 汇总 memo, drafted in the GB/T 9704 layout of the
department report (report/docx_report.py's DocxBuilder: A4, 3号 仿宋 body, 2号 小标宋 title, 黑体/楷体 headings,
“— 1 —” page numbers).

Every number is read from the sheets of the summary workbook as they are written (the ``Table`` rows handed to
receiving/summary.py), never recomputed from the files: the memo and the workbook cannot disagree. ``Digest``
gathers those numbers; ``build_memo`` writes the sections:

    一、基本情况          files received, passed (with warnings), failed, unreadable; the roster's missing units;
                          units ranked, mean, highest and lowest total
    二、评分等级分布      counts and shares per grade, and the distribution as a bar chart (a DrawingML chart in
                          the document: Word, WPS and LibreOffice draw and print it; its data can be edited)
    三、失分较多的指标和单位  the indicators with the lowest mean score rate and their most common problems
                          (问题清单), the most common problems overall, the lowest-scoring units with their largest
                          deductions and the engine's reasons (扣分明细)
    四、与上次汇总相比    from 与上次对比 and 指标增减 (--compare): rises and drops, the largest drops and the
                          indicators behind them, the indicators that fell most; the same budget year said once
    五、未提交、未通过检查和无法读取的文件  the roster's missing units, each failed or unreadable file with the
                          decisive reason (the first line of its 异常 row), duplicates, names not on the roster
    六、下一步工作        【待填写】

The passages only the reviewer can write (organisation of the work, analysis, requirements, the addressee, the
sender) are marked 【待填写】 and highlighted.
"""
from __future__ import annotations

import datetime as _dt
import tempfile
from collections import Counter
from pathlib import Path

from perfscore.engine.numbers import fmt_num
from perfscore.report.docx_report import DocxBuilder, tight
from perfscore.files import xml_text
from perfscore.receiving.collect.lastyear import CHANGES, COMPARE
from perfscore.receiving.collect.roster import NOT_SUBMITTED, ROSTER, TWICE, UNLISTED
from perfscore.receiving.collect.tables import DETAIL, GRADES, ISSUES, PROBLEMS, RANKING, RATES, SUMMARY
from perfscore.render import to_pdf

FILL = "【待填写：{}】"
TOP_INDICATORS = 5
TOP_PROBLEMS = 5
TOP_UNITS = 5
TOP_LISTED = 30           # files or units listed by name in a section; the rest are counted and referred to the sheet
CHART_W_MM, CHART_H_MM = 150, 80


def _rows(tables, name) -> list[dict]:
    t = next((t for t in tables if t.name == name), None)
    if t is None:
        return []
    return [dict(zip((c.name for c in t.columns), r)) for r in t.rows]


def _pct(part, whole) -> str:
    return fmt_num(part / whole * 100, 1) + "%" if whole else "0%"


def _first_line(text) -> str:
    line = (text or "").split("\n")[0].strip()
    for tag in ("[错误] ", "[警告] "):
        if line.startswith(tag):
            line = line[len(tag):]
    return line


class Digest:
    """The memo's numbers, read from the summary's sheets (tables.summary_tables)."""

    def __init__(self, tables, facts):
        summary = _rows(tables, SUMMARY)
        self.received = len(summary)
        status = Counter(r["检查结果"] for r in summary)
        self.passed = sum(n for s, n in status.items() if s and s.startswith("通过"))
        self.warned = status.get("通过（有警告）", 0)
        self.failed = status.get("未通过", 0)
        self.unreadable = self.received - self.passed - self.failed
        self.unranked = sum(1 for r in summary if r["排名"] == "未排名")
        self.ranking = _rows(tables, RANKING)
        totals = [r["综合评分"] for r in self.ranking]
        self.ranked = len(totals)
        self.mean = sum(totals) / len(totals) if totals else None
        self.best = self.ranking[0] if self.ranking else None
        self.worst = self.ranking[-1] if self.ranking else None
        self.grades = [(r["等级"], r["文件数"], r["占比"]) for r in _rows(tables, GRADES)]
        self.graded = sum(n for _, n, _ in self.grades)
        self.rates = _rows(tables, RATES)
        self.issues = _rows(tables, ISSUES)
        self.detail = _rows(tables, DETAIL)
        anomalies = _rows(tables, PROBLEMS)
        self.bad_files = [r for r in anomalies if r["类别"] != "部门重复"]
        self.duplicates = [r for r in anomalies if r["类别"] == "部门重复"]
        roster = _rows(tables, ROSTER)
        self.has_roster = any(t.name == ROSTER for t in tables)
        self.listed = sum(1 for r in roster if r["名单序号"] is not None)
        self.missing = [r for r in roster if r["提交情况"] == NOT_SUBMITTED]
        self.twice = [r for r in roster if r["提交情况"] == TWICE]
        self.unlisted = [r for r in roster if r["提交情况"] == UNLISTED]
        self.submitted = self.listed - len(self.missing)
        self.has_compare = any(t.name == COMPARE for t in tables)
        self.compare = _rows(tables, COMPARE)
        self.changes = _rows(tables, CHANGES)
        self.same_budget = (facts.get("compare") or {}).get("same_budget") or []
        self.regions = facts.get("regions") or []
        self.years = facts.get("years") or []
        self.budget_years = sorted({r["预算年度"] for r in summary if isinstance(r.get("预算年度"), int)})


def _year_text(d: Digest) -> str:
    return "、".join(map(str, d.budget_years)) if d.budget_years else "____"


class MemoWriter:
    def __init__(self, d: Digest, *, summary_name, folder, date, roster_name=None, previous_name=None, drop=0.5):
        self.d, self.summary_name, self.folder, self.date = d, summary_name, folder, date
        self.roster_name, self.previous_name, self.drop = roster_name, previous_name, drop
        self.b = DocxBuilder()

    def p(self, text, style="Normal"):
        self.b.para(tight(text), style)

    def fill(self, what, style="Normal"):
        self.b.para(FILL.format(what), style, fill_in=True)

    def h1(self, text):
        self.p(text, "一级标题")

    def h2(self, text):
        self.p(text, "二级标题")

    # ---------------------------------------------------------------- sections
    def build(self):
        d = self.d
        region = "、".join(d.regions)
        self.title = f"{region}{_year_text(d)}年度部门整体支出绩效自评汇总情况说明"
        self.p(self.title, "公文标题")
        self.b.para("", "首部")
        self.fill("主送单位", "首部")
        self.p(f"现将{_year_text(d)}年度部门整体支出绩效自评结果的汇总情况说明如下。本说明中的数字均取自汇总表"
               f"“{self.summary_name}”（{self.date:%Y年%m月%d日}汇总，文件夹“{self.folder}”），分数均按各单位工作簿中的"
               f"原始数据重新计算。")
        self.basics()
        self.grades()
        self.weakest()
        self.changes()
        self.failures()
        self.h1("六、下一步工作")
        self.fill("整改要求、复核安排和时间节点")
        self.b.para("", "首部")
        self.b.para("", "首部")
        for k, text in enumerate((FILL.format("单位名称（落款）"), f"{self.date.year}年{self.date.month}月{self.date.day}日")):
            para = self.b.para(text, "首部", fill_in=k == 0)
            _sign_off(para)
        return self.b

    def basics(self):
        d = self.d
        self.h1("一、基本情况")
        self.fill("本次自评工作的组织情况（通知文号、时间安排、培训和答疑等）")
        text = (f"本次共收到{d.received}个文件，其中通过检查{d.passed}个（含有警告的{d.warned}个），"
                f"未通过检查{d.failed}个，无法读取{d.unreadable}个。")
        if d.has_roster:
            text += (f"按名单“{self.roster_name}”，应提交{d.listed}个单位，已提交{d.submitted}个，未提交{len(d.missing)}个，"
                     f"重复提交{len(d.twice)}个；另有{len(d.unlisted)}个文件的部门名称不在名单中。")
        else:
            text += FILL.format("应提交的单位数和未提交的单位（汇总时指定名单即可列出）")
        if d.duplicates:
            text += f"部门名称重复的文件{len(d.duplicates)}个，其中{d.unranked}个未参加排名（见汇总表“异常”表）。"
        self.p(text)
        if d.ranked:
            self.p(f"参加排名的{d.ranked}个单位平均综合评分{fmt_num(d.mean)}分；最高{fmt_num(d.best['综合评分'])}分"
                   f"（{d.best['部门名称']}），最低{fmt_num(d.worst['综合评分'])}分（{d.worst['部门名称']}）。")
        else:
            self.p("没有通过检查、可以排名的单位。")

    def grades(self):
        d = self.d
        self.h1("二、评分等级分布")
        if not d.graded:
            self.p("没有计入等级分布的单位。")
            return
        parts = "；".join(f"“{g}”{n}个，占{_pct(n, d.graded)}" for g, n, _ in d.grades)
        self.p(f"计入等级分布的{d.graded}个单位中，{parts}。")
        # (no figure in the chart's title: LibreOffice sets a gap between Chinese and figures in chart text)
        add_bar_chart(self.b.doc, [g for g, _, _ in d.grades], [n for _, n, _ in d.grades], "各等级单位数", "单位数")
        self.p("图1 评分等级分布", "表题")
        self.fill("对等级分布的分析（与往年相比、与其他地区相比）")

    def weakest(self):
        d = self.d
        self.h1("三、失分较多的指标和单位")
        self.h2("（一）得分率最低的指标")
        rated = [r for r in d.rates if r["平均得分率"] is not None]
        rated.sort(key=lambda r: (r["平均得分率"], r["序号"]))
        weak = [r for r in rated if r["平均得分率"] < 1 - 1e-9][:TOP_INDICATORS]
        if not rated:
            self.p("没有参加统计的单位，无法给出指标得分率。")
        elif not weak:
            self.p("各项指标的平均得分率均为100%。")
        for n, r in enumerate(weak, 1):
            problems = [i for i in d.issues if i["指标"] == r["指标"]][:2]
            said = "；".join(f"{i['问题']}（{i['单位数']}个单位，平均扣{fmt_num(i['平均扣分'])}分）" for i in problems)
            self.p(f"{n}. {r['指标']}（{r['一级指标']}，分值{fmt_num(r['分值'])}分）：平均得分{fmt_num(r['平均得分'])}分，"
                   f"平均得分率{fmt_num(r['平均得分率'] * 100)}%，{r['失分文件数']}个单位失分"
                   + (f"。主要问题：{said}。" if said else "。"))
        self.h2("（二）较为普遍的问题")
        if not d.issues:
            self.p("参加统计的单位都没有失分。" if d.graded else "没有参加统计的单位。")
        for n, i in enumerate(d.issues[:TOP_PROBLEMS], 1):
            self.p(f"{n}. {i['指标']}——{i['问题']}：{i['单位数']}个单位，平均扣{fmt_num(i['平均扣分'])}分。")
        self.h2("（三）得分最低的单位")
        low = list(reversed(d.ranking[-TOP_UNITS:])) if d.ranking else []
        if not low:
            self.p("没有参加排名的单位。")
        for n, r in enumerate(low, 1):
            mine = sorted((x for x in d.detail if x["部门名称"] == r["部门名称"] and x["排名"] == r["排名"]),
                          key=lambda x: -x["扣分"])[:3]
            reasons = "；".join(f"{x['指标']}扣{fmt_num(x['扣分'])}分（{x['扣分理由']}）" for x in mine)
            self.p(f"{n}. {r['部门名称']}：综合评分{fmt_num(r['综合评分'])}分，等级“{r['评分等级']}”，排第{r['排名']}名"
                   + (f"。扣分最多的是：{reasons}。" if reasons else "。"))
        self.fill("失分原因分析和对相关单位的要求")

    def changes(self):
        d = self.d
        self.h1("四、与上次汇总相比")
        if not d.has_compare:
            self.fill("与上年情况的比较（汇总时指定上次的汇总表即可生成本节）")
            return
        both = [r for r in d.compare if r["对比情况"] == "两年都有"]
        diff = [r for r in both if r["增减"] is not None]
        up = sum(1 for r in diff if r["增减"] > 0)
        down = sum(1 for r in diff if r["增减"] < 0)
        same = sum(1 for r in diff if r["增减"] == 0)
        only_now = [r for r in d.compare if r["对比情况"] == "仅本次有"]
        only_before = [r for r in d.compare if r["对比情况"] == "仅上次有"]
        self.p(f"与上次汇总“{self.previous_name}”相比，两次都有的单位{len(both)}个，其中可比（指标体系相同）的{len(diff)}个："
               f"综合评分上升{up}个，下降{down}个，持平{same}个；仅本次有{len(only_now)}个，仅上次有{len(only_before)}个。")
        if d.same_budget:
            self.p(f"注意：上次与本次汇总中同一单位的预算年度相同（{'、'.join(map(str, d.same_budget))}），"
                   f"上次的汇总表可能选错，以下比较请核实后使用。")
        drops = sorted((r for r in d.changes if r["增减"] is not None and r["增减"] <= -self.drop + 1e-9),
                       key=lambda r: r["增减"])[:TOP_UNITS]
        for n, r in enumerate(drops, 1):
            fell = (r["下降的指标"] or "").split("）、")
            said = "）、".join(fell[:4]) + ("）" if len(fell) > 4 else "")
            more = f"等{r['下降的指标数']}项" if len(fell) > 4 else ""
            self.p(f"{n}. {r['部门名称']}：综合评分由{fmt_num(r['上次综合评分'])}分降至{fmt_num(r['本次综合评分'])}分"
                   f"（{fmt_num(r['增减'])}分）" + (f"，下降较多的指标：{said}{more}。" if r["下降的指标"] else "。"))
        # indicators that fell most on average, over the comparable units
        if d.changes:
            names = [k for k in d.changes[0] if k not in ("部门名称", "本次综合评分", "上次综合评分", "增减", "下降的指标数",
                                                          "下降的指标")]
            avg = []
            for name in names:
                vals = [r[name] for r in d.changes if r[name] is not None]
                if vals:
                    fell = sum(1 for v in vals if v <= -self.drop + 1e-9)
                    avg.append((sum(vals) / len(vals), name, fell, len(vals)))
            avg.sort()
            worse = [a for a in avg if a[0] < 0][:3]
            if worse:
                self.p("平均下降最多的指标：" + "；".join(
                    f"{name}（平均{fmt_num(m)}分，{fell}个单位下降{fmt_num(self.drop)}分或更多）" for m, name, fell, _ in worse) + "。")
        self.fill("变化原因分析")

    def failures(self):
        d = self.d
        self.h1("五、未提交、未通过检查和无法读取的文件")
        if d.has_roster:
            self.h2("（一）未提交的单位")
            if d.missing:
                names = "、".join(r["单位名称"] + (f"（{r['主管部门']}）" if r.get("主管部门") else "")
                                 for r in d.missing[:TOP_LISTED])
                more = f"等{len(d.missing)}个单位（见汇总表“名单核对”表）" if len(d.missing) > TOP_LISTED else ""
                self.p(f"名单中有{len(d.missing)}个单位没有提交：{names}{more}。")
            else:
                self.p("名单中的单位都已提交。")
            if d.twice:
                self.p(f"重复提交的单位{len(d.twice)}个：" + "、".join(r["单位名称"] for r in d.twice[:TOP_LISTED]) + "。")
            if d.unlisted:
                self.p(f"部门名称不在名单中的文件{len(d.unlisted)}个：" + "；".join(
                    f"“{r['单位名称']}”" + (f"（名单中最接近的是“{r['名单中最接近的名称']}”）" if r.get("名单中最接近的名称") else "")
                    for r in d.unlisted[:TOP_LISTED]) + "。")
        self.h2("（二）未通过检查和无法读取的文件" if d.has_roster else "（一）未通过检查和无法读取的文件")
        if not d.bad_files:
            self.p("没有未通过检查或无法读取的文件。")
        for n, r in enumerate(d.bad_files[:TOP_LISTED], 1):
            who = f"（{r['部门名称']}）" if r.get("部门名称") else ""
            why = _first_line(r["原因"])
            self.p(f"{n}. {r['文件']}{who}，{r['类别']}：{why}" + ("" if why.endswith(("。", "）", "”")) else "。"))
        if len(d.bad_files) > TOP_LISTED:
            self.p(f"另有{len(d.bad_files) - TOP_LISTED}个文件，见汇总表“异常”表。")
        self.fill("对未提交、未通过检查单位的处理意见（退回重报、限期补交等）")


def _sign_off(para) -> None:
    """落款 and date at the right, four characters in from the edge (GB/T 9704 7.3.5.1)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt
    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    para.paragraph_format.right_indent = Pt(4 * 16)


# ------------------------------------------------------------------------------------------ the chart
C_NS = "http://schemas.openxmlformats.org/drawingml/2006/chart"
A_NS = "http://schemas.openxmlformats.org/drawingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
EMU_PER_MM = 36000


def _esc(s) -> str:
    from xml.sax.saxutils import escape
    return escape(xml_text(str(s)))


def _font(size_pt, face="仿宋_GB2312", bold=False) -> str:
    return (f'<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="{int(size_pt * 100)}" b="{int(bold)}">'
            f'<a:latin typeface="{face}"/><a:ea typeface="{face}"/><a:cs typeface="{face}"/></a:defRPr></a:pPr>'
            f'<a:endParaRPr lang="zh-CN"/></a:p></c:txPr>')


def chart_xml(categories, values, title, axis_title) -> str:
    n = len(categories)
    cats = "".join(f'<c:pt idx="{i}"><c:v>{_esc(c)}</c:v></c:pt>' for i, c in enumerate(categories))
    vals = "".join(f'<c:pt idx="{i}"><c:v>{v}</c:v></c:pt>' for i, v in enumerate(values))
    face = "仿宋_GB2312"
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<c:chartSpace xmlns:c="{C_NS}" xmlns:a="{A_NS}" xmlns:r="{R_NS}">'
        f'<c:roundedCorners val="0"/>'
        f'<c:chart><c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="1400" b="0">'
        f'<a:latin typeface="黑体"/><a:ea typeface="黑体"/><a:cs typeface="黑体"/></a:defRPr></a:pPr>'
        f'<a:r><a:rPr lang="zh-CN" sz="1400" b="0"><a:latin typeface="黑体"/><a:ea typeface="黑体"/>'
        f'<a:cs typeface="黑体"/></a:rPr><a:t>{_esc(title)}</a:t></a:r></a:p></c:rich></c:tx>'
        f'<c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/>'
        f'<c:plotArea><c:layout/><c:barChart><c:barDir val="col"/><c:grouping val="clustered"/><c:varyColors val="0"/>'
        f'<c:ser><c:idx val="0"/><c:order val="0"/><c:tx><c:strRef><c:f>Sheet1!$B$1</c:f><c:strCache><c:ptCount val="1"/>'
        f'<c:pt idx="0"><c:v>{_esc(axis_title)}</c:v></c:pt></c:strCache></c:strRef></c:tx>'
        f'<c:spPr><a:solidFill><a:srgbClr val="4472C4"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>'
        f'<c:dLbls>{_font(12, face)}<c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
        f'<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
        f'<c:cat><c:strRef><c:f>Sheet1!$A$2:$A${n + 1}</c:f><c:strCache><c:ptCount val="{n}"/>{cats}</c:strCache>'
        f'</c:strRef></c:cat>'
        f'<c:val><c:numRef><c:f>Sheet1!$B$2:$B${n + 1}</c:f><c:numCache><c:formatCode>General</c:formatCode>'
        f'<c:ptCount val="{n}"/>{vals}</c:numCache></c:numRef></c:val></c:ser>'
        f'<c:gapWidth val="80"/><c:axId val="1001"/><c:axId val="1002"/></c:barChart>'
        f'<c:catAx><c:axId val="1001"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/>'
        f'<c:axPos val="b"/><c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="out"/>'
        f'<c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>{_font(12, face)}<c:crossAx val="1002"/>'
        f'<c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/></c:catAx>'
        f'<c:valAx><c:axId val="1002"/><c:scaling><c:orientation val="minMax"/><c:min val="0"/></c:scaling>'
        f'<c:delete val="0"/><c:axPos val="l"/><c:majorGridlines/>'
        f'<c:title><c:tx><c:rich><a:bodyPr rot="-5400000" vert="horz"/><a:lstStyle/><a:p><a:pPr>'
        f'<a:defRPr sz="1200" b="0"><a:latin typeface="{face}"/><a:ea typeface="{face}"/></a:defRPr></a:pPr>'
        f'<a:r><a:rPr lang="zh-CN" sz="1200" b="0"><a:latin typeface="{face}"/><a:ea typeface="{face}"/></a:rPr>'
        f'<a:t>{_esc(axis_title)}</a:t></a:r></a:p></c:rich></c:tx><c:overlay val="0"/></c:title>'
        f'<c:numFmt formatCode="0" sourceLinked="0"/><c:majorTickMark val="out"/><c:minorTickMark val="none"/>'
        f'<c:tickLblPos val="nextTo"/>{_font(12, face)}<c:crossAx val="1001"/><c:crosses val="autoZero"/>'
        f'<c:crossBetween val="between"/><c:majorUnit val="{_major_unit(max(values, default=0))}"/></c:valAx>'
        f'</c:plotArea><c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
        f'<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr sz="1200"><a:latin typeface="{face}"/>'
        f'<a:ea typeface="{face}"/></a:defRPr></a:pPr><a:endParaRPr lang="zh-CN"/></a:p></c:txPr>'
        f'<c:externalData r:id="rId1"><c:autoUpdate val="0"/></c:externalData>'
        f'</c:chartSpace>')


def _major_unit(top) -> int:
    """Whole units between gridlines, about five of them: counts of units are whole numbers."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if top / step <= 6:
            return step
    return 10 ** len(str(int(top)))


def _chart_data(categories, values, axis_title) -> bytes:
    """The chart's data as a small workbook embedded beside it (Word and WPS open it to edit the chart)."""
    import io

    import xlsxwriter
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("Sheet1")
    ws.write_string(0, 0, "等级")
    ws.write_string(0, 1, axis_title)
    for i, (c, v) in enumerate(zip(categories, values), 1):
        ws.write_string(i, 0, str(c))
        ws.write_number(i, 1, v)
    wb.close()
    return buf.getvalue()


def add_bar_chart(doc, categories, values, title, axis_title) -> None:
    """A column chart in its own centred paragraph: a chart part (with its data as an embedded workbook)
    related to the document and drawn inline."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml
    package = doc.part.package
    k = 1 + sum(1 for p in package.iter_parts() if str(p.partname).startswith("/word/charts/chart"))
    chart = Part(PackURI(f"/word/charts/chart{k}.xml"),
                 "application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
                 chart_xml(categories, values, title, axis_title).encode("utf-8"), package)
    data = Part(PackURI(f"/word/embeddings/Microsoft_Excel_Worksheet{k}.xlsx"),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                _chart_data(categories, values, axis_title), package)
    rid_data = chart.relate_to(data, RT.PACKAGE)
    assert rid_data == "rId1"   # the chart XML refers to its data as rId1
    rid = doc.part.relate_to(chart, RT.CHART)
    p = doc.add_paragraph(style=doc.styles["首部"])
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.line_spacing_rule = None
    from docx.enum.text import WD_LINE_SPACING
    p.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    p.paragraph_format.first_line_indent = 0
    p.paragraph_format.keep_with_next = True
    cx, cy = CHART_W_MM * EMU_PER_MM, CHART_H_MM * EMU_PER_MM
    inline = parse_xml(
        f'<w:drawing xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        f'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        f'xmlns:a="{A_NS}" xmlns:c="{C_NS}" xmlns:r="{R_NS}">'
        f'<wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/>'
        f'<wp:effectExtent l="0" t="0" r="0" b="0"/><wp:docPr id="{1000 + k}" name="图表 {k}" descr="{_esc(title)}"/>'
        f'<wp:cNvGraphicFramePr/><a:graphic><a:graphicData uri="{C_NS}"><c:chart r:id="{rid}"/></a:graphicData>'
        f'</a:graphic></wp:inline></w:drawing>')
    run = p.add_run()
    run._r.append(inline)


# ------------------------------------------------------------------------------------------ writing
def build_memo(tables, facts, *, summary_name, folder, date=None, roster=None, previous=None, drop=0.5):
    """-> (DocxBuilder, title, Digest)."""
    d = Digest(tables, facts)
    w = MemoWriter(d, summary_name=summary_name, folder=folder, date=date or _dt.date.today(),
                   roster_name=roster.name if roster else None, previous_name=previous.name if previous else None,
                   drop=drop)
    b = w.build()
    return b, w.title, d


def write_memo(tables, facts, path, *, summary_name, folder, date=None, roster=None, previous=None, drop=0.5,
               pdf=None) -> None:
    """Write the memo to ``path`` (a temporary file collect puts in place with the summary) and, with ``pdf``
    (another such file), its PDF through LibreOffice."""
    b, title, _ = build_memo(tables, facts, summary_name=summary_name, folder=folder, date=date, roster=roster,
                             previous=previous, drop=drop)
    b.save(path, title, "perfscore")
    if pdf is not None:
        with tempfile.TemporaryDirectory(prefix="perfscore-memo-") as tmp:
            staged = Path(tmp) / "memo.docx"
            staged.write_bytes(Path(path).read_bytes())
            made = to_pdf([staged], tmp)[0]
            Path(pdf).write_bytes(made.read_bytes())
