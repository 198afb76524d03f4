"""`perfscore report`: the 自评报告 draft. Every number from the engine, the outline from data, GB/T 9704 layout,
the PDF through LibreOffice in the fonts installed here. The reference draft against the reference report."""
import io
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.cli import EXIT_OK, EXIT_UNSCORABLE, EXIT_USAGE, demo_report_name, main
from perfscore.receiving.compare import diff_workbooks
from perfscore.report.docx_report import load_source, write_report
from perfscore.errors import CaseFileError
from perfscore.engine.numbers import fmt_num
from perfscore.report.outline import OutlineError, load_outline, outline_path_for
from perfscore.excel.workbook import build_workbook, write_workbook

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL_FONTS = {"方正小标宋简体", "仿宋_GB2312", "黑体", "楷体_GB2312", "宋体"}


def _texts(doc):
    return [p.text for p in doc.paragraphs]


def _scoring_part(texts):
    """Body paragraphs up to the appendix (which quotes the report's wrong figures on purpose)."""
    end = next((k for k, t in enumerate(texts) if t.startswith("附：数据核对")), len(texts))
    return texts[:end]


@pytest.fixture(scope="module")
def draft(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    path = d / "自评报告.docx"
    write_report(REFERENCE_CASE, path)
    case = load_case(REFERENCE_CASE)
    result = score_case(load_system(2020), case.raw_values())
    return {"path": path, "doc": Document(str(path)), "result": result, "dir": d}


def _rate(score, weight):
    return fmt_num(score / weight * 100) + "%"


# ------------------------------------------------------------------------------------------ numbers
def test_every_indicator_paragraph_states_engine_score_and_rate(draft):
    texts = _scoring_part(_texts(draft["doc"]))
    for r in draft["result"].indicators:
        name = r.indicator.name
        paras = [t for t in texts if re.match(rf"（\d+）{re.escape(name)}，", t)]
        assert len(paras) == 1, name
        p = paras[0]
        assert f"指标满分{fmt_num(r.weight)}分，评价得分{fmt_num(r.score)}分，得分率{_rate(r.score, r.weight)}。" in p, p
        assert "评分依据：" in p
    for lv in draft["result"].level2.values():
        assert any(t.startswith(f"{lv.level.name}指标满分{fmt_num(lv.level.weight)}分") and
                   f"评价得分{fmt_num(lv.score)}分，得分率{_rate(lv.score, lv.level.weight)}。" in t for t in texts), lv.level.name


def test_reference_draft_reproduces_the_reports_number_sentences(draft):
    """The reference report's scoring sentences (一（三）（四）、二（三）、评分表), corrected where the report is wrong."""
    body = "\n".join(_scoring_part(_texts(draft["doc"])))
    right = [  # as the report writes them (spaces removed)
        "预算编制指标满分10分", "评价得分10分，得分率100%",
        "（1）预算编制合理性，指标满分5分，评价得分5分，得分率100%",
        "（2）预算编制规范性，指标满分5分，评价得分5分，得分率100%",
        "目标设置指标满分10分",
        "绩效目标完整性，指标满分3分，评价得分3分，得分率100%",
        "绩效指标明确性，指标满分7分，评价得分7分，得分率100%",
        "资金管理指标满分8分", "评价得分7.95分，得分率99.38%",
        "（1）政府采购执行情况，指标满分2分，评价得分1.95分，得分率97.5%",
        "政府采购预算数为13,200元", "政府采购实际数为12,560元", "政府采购执行率=12560/13200=95.15%",
        "（2）财务合规性，指标满分3分，评价得分3分，得分率100%", "3.00%",
        "（3）预决算信息公开，指标满分3分，评价得分3分，得分率100%",
        "项目管理指标满分4分", "评价得分4分，得分率100%",
        "（1）项目实施程序，指标满分2分，评价得分2分", "（2）项目监管，指标满分2分，评价得分2分",
        "资产管理指标满分3分", "评价得分3分，得分率100%",
        "（1）资产管理安全性，指标满分2分，评价得分2分", "（2）固定资产利用率，指标满分1分，评价得分1分",
        "固定资产利用率=130457.85/132825.86=98.22%",
        "人员管理指标满分2分", "评价得分1分，得分率50%",
        "（1）财政供养人员控制率，指标满分1分，评价得分1分", "财政供养人员控制率=20/20=100",
        "（2）编外人员控制率，指标满分1分，评价得分0分", "编外人员控制率=3/(3+20)=13.04%",
        "制度管理指标满分3分", "评价得分2分，得分率66.67%",
        "经济性指标满分6分", "评价得分6分，得分率100%", "“三公”经费控制率=(161226-155385)/55100=10.60%",
        "（1）公用经费控制率，指标满分6分，评价得分6分",
        "（2）重点工作完成情况，指标满分8分，评价得分8分，得分率100%",
        "（3）项目完成及时性，指标满分6分，评价得分6分，得分率100%", "=4/4=100.00%",
        "效果性指标满分25分", "评价得分25分，得分率100%",
        "公平性指标满分9分", "评价得分9分，得分率100%",
        "（1）群众信访办理情况，指标满分3分，评价得分3分", "（2）公众或服务对象满意度，指标满分6分，评价得分6分",
        "满意度为99.00%",
    ]
    corrected = [  # where the report is wrong: the number the rules give
        "（1）预算执行率，指标满分6分，评价得分5.98分，得分率99.67%",         # report: 6 分
        "效率性指标满分20分",
        "评价得分19.98分，得分率99.9%",                                    # report: 20 分
        "日常公用经费控制率=313869.54/399015.91=78.66%",                  # report: 78.67%
        "综合得分97.93分，评价等级为“优”",                                 # report: 97.95
    ]
    for s in right + corrected:
        assert s in body, s
    for wrong in ("15.00%", "78.67%", "97.95", "评价得分6分，得分率100%。本年度一季度"):
        assert wrong not in body, wrong
    problems = [t for t in _scoring_part(_texts(draft["doc"])) if re.match(r"\d\..+（扣", t)]
    assert [p.split("（扣")[0] for p in problems] == ["1.政府采购执行情况", "2.编外人员控制率", "3.管理制度健全性",
                                                    "4.预算执行率"]
    assert "编外人员控制率13.04%（>10%），扣1分" in problems[1]


def test_score_table_total_grade_and_goal_table(draft):
    doc, res = draft["doc"], draft["result"]
    *goal_parts, score = doc.tables
    rows = [[c.text for c in r.cells] for r in score.rows]
    assert rows[0][0] == "评价指标" and rows[1][:4] == ["一级指标", "二级指标", "三级指标", "分值"]
    by_name = {r[2]: r for r in rows[2:]}
    for r in res.indicators:
        assert by_name[r.indicator.name][6] == fmt_num(r.score), r.indicator.name
        assert by_name[r.indicator.name][3] == fmt_num(r.weight)
    assert rows[-3][0] == "综合评分" and rows[-3][-1] == "97.93"
    assert rows[-2][0] == "评分等级" and rows[-2][-1] == "优"
    assert rows[-1][-1] == "钟林"
    for t in (*goal_parts, score):  # the header row repeats on every page
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    gtext = "\n".join(c.text for goal in goal_parts for r in goal.rows for c in r.cells)
    assert "深圳市科技开发交流中心" in gtext and "在职员工满意度" in gtext and "12,741,400.04" in gtext
    widths = [round(c.width.mm) for c in score.rows[2].cells]
    assert sum(widths) <= 225.5   # fits the landscape type area


def test_fill_in_paragraphs_and_narrative(draft, tmp_path):
    texts = _texts(draft["doc"])
    fill = [p for p in draft["doc"].paragraphs if p.text.startswith("【待填写：")]
    assert {p.text.split("】")[0][5:] for p in fill} >= {"部门主要职能", "年度总体工作和重点工作任务", "改进措施", "后续工作计划"}
    assert all(p.runs[0].font.highlight_color is not None for p in fill)
    assert any(t.startswith("一、中国科协“海智计划”") for t in texts)   # 主要履职目标 from the 自评表 text
    src = REFERENCE_CASE.read_text("utf-8") + '\n[narrative]\nfunctions = """本中心是市科协直属事业单位。\n承担科技交流任务。"""\n'
    case = tmp_path / "有职能.toml"
    case.write_text(src, "utf-8")
    out = tmp_path / "r.docx"
    write_report(case, out)
    t2 = _texts(Document(str(out)))
    k = t2.index("（一）部门主要职能")
    assert t2[k + 1:k + 3] == ["本中心是市科协直属事业单位。", "承担科技交流任务。"]
    assert not any(t.startswith("【待填写：部门主要职能") for t in t2)
    case.write_text(REFERENCE_CASE.read_text("utf-8") + '\n[narrative]\nfunction = "x"\n', "utf-8")
    with pytest.raises(CaseFileError, match=r"narrative\.function.*未知的键"):
        load_case(case)


def test_no_placeholder_syntax_left(draft):
    doc = draft["doc"]
    everything = _texts(doc) + [c.text for t in doc.tables for r in t.rows for c in r.cells]
    everything += [p.text for s in doc.sections for f in (s.footer, s.even_page_footer) for p in f.paragraphs]
    for t in everything:
        assert "{" not in t and "}" not in t, t


# ------------------------------------------------------------------------------------------ layout
def _mm(emu):
    return emu / 36000


def test_page_size_margins_and_grid(draft):
    doc = draft["doc"]
    portrait = [s for s in doc.sections if s.page_width < s.page_height]
    landscape = [s for s in doc.sections if s.page_width > s.page_height]
    assert portrait and landscape
    for s in portrait:
        assert abs(s.page_width.mm - 210) < 0.1 and abs(s.page_height.mm - 297) < 0.1
        assert abs(s.top_margin.mm - 37) < 0.1 and abs(s.left_margin.mm - 28) < 0.1
        assert abs(_mm(s.page_width - s.left_margin - s.right_margin) - 156) < 0.1
        assert abs(_mm(s.page_height - s.top_margin - s.bottom_margin) - 225) < 0.1
    for s in landscape:
        assert abs(_mm(s.page_width - s.left_margin - s.right_margin) - 225) < 0.1
        assert abs(_mm(s.page_height - s.top_margin - s.bottom_margin) - 156) < 0.1
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16)
    lines = 225 / 25.4 * 72 / normal.paragraph_format.line_spacing.pt
    assert 22 <= lines < 22.1   # 22 lines fill the type area
    squeeze = int(normal.element.rPr.find(qn("w:spacing")).get(qn("w:val"))) / 20
    assert 28 * (16 + squeeze) <= 156 / 25.4 * 72 < 29 * (16 + squeeze)   # 28 characters a line
    assert doc.styles["公文标题"].font.size == Pt(22)


def _fonts(style):
    return style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))


def test_fonts(draft):
    doc = draft["doc"]
    assert _fonts(doc.styles["公文标题"]) == "方正小标宋简体"
    assert _fonts(doc.styles["Normal"]) == "仿宋_GB2312"
    assert _fonts(doc.styles["一级标题"]) == "黑体"
    assert _fonts(doc.styles["二级标题"]) == "楷体_GB2312"
    assert _fonts(doc.styles["页码"]) == "宋体" and doc.styles["页码"].font.size == Pt(14)
    # every font that text in the draft can take: run-level fonts, the styles the paragraphs and tables use (with
    # the styles they are based on) and the document defaults
    parts = [doc.element] + [f._element for s in doc.sections for f in (s.footer, s.even_page_footer)]
    used_styles = {e.get(qn("w:val")) for part in parts for tag in ("w:pStyle", "w:tblStyle", "w:rStyle")
                   for e in part.iter(qn(tag))} | {doc.styles["Normal"].style_id}
    styles = {s.style_id: s for s in doc.styles}
    for sid in list(used_styles):
        base = styles[sid].base_style
        while base is not None:
            used_styles.add(base.style_id)
            base = base.base_style
    elements = parts + [styles[sid].element for sid in used_styles]
    elements.append(doc.styles.element.find(qn("w:docDefaults")))
    used = {f.get(qn(a)) for el in elements for f in el.iter(qn("w:rFonts"))
            for a in ("w:eastAsia", "w:ascii", "w:hAnsi", "w:cs") if f.get(qn(a))}
    assert used <= OFFICIAL_FONTS, used - OFFICIAL_FONTS
    themes = [f for el in elements for f in el.iter(qn("w:rFonts")) if any("Theme" in a or "theme" in a for a in f.attrib)]
    assert not themes   # a theme font would win over the named ones
    heading = [p for p in doc.paragraphs if p.text == "一、部门（单位）基本情况"][0]
    assert heading.style.name == "一级标题"
    assert [p for p in doc.paragraphs if p.text == "（一）部门主要职能"][0].style.name == "二级标题"


def test_page_numbers_odd_right_even_left(draft):
    doc = draft["doc"]
    assert doc.settings.odd_and_even_pages_header_footer
    s = doc.sections[0]
    odd, even = s.footer.paragraphs[0], s.even_page_footer.paragraphs[0]
    assert odd.alignment == 2 and even.alignment == 0   # right, left
    for p in (odd, even):
        assert p.text.startswith("— ") and p.text.endswith(" —")
        assert "PAGE" in "".join(t.text for t in p._p.iter(qn("w:instrText")))


# ------------------------------------------------------------------------------------------ sources
def test_workbook_source_scores_inputs_not_stored_cells(tmp_path, draft):
    system = load_system(2020)
    wb_path = tmp_path / "填好的.xlsm"
    write_workbook(build_workbook(system, load_case(REFERENCE_CASE)), wb_path)
    wb = openpyxl.load_workbook(wb_path, keep_vba=True)
    ws = wb["评分表"]
    row = next(r for r in ws.iter_rows() if r[2].value == "政府采购执行情况")
    row[6].value = 2          # someone typed the full score over the formula
    wb.save(wb_path)
    src = load_source(wb_path)
    assert src.kind == "workbook" and src.result.total == 97.93 and not src.findings
    out = tmp_path / "来自工作簿.docx"
    assert main(["report", str(wb_path), "-o", str(out)], out=io.StringIO()) == EXIT_OK
    texts = _texts(Document(str(out)))
    assert any("（1）政府采购执行情况，指标满分2分，评价得分1.95分" in t for t in texts)
    assert not any(t.startswith("附：数据核对") for t in texts)   # no stated figures in a workbook


def test_cli_no_overwrite_bad_source_and_unscorable(tmp_path, capsys):
    out = tmp_path / "r.docx"
    out.write_bytes(b"someone's draft")
    assert main(["report", str(REFERENCE_CASE), "-o", str(out)], out=io.StringIO()) == EXIT_USAGE
    assert "已存在" in capsys.readouterr().err and out.read_bytes() == b"someone's draft"
    assert main(["report", str(REFERENCE_CASE), "-o", str(out), "--force"], out=io.StringIO()) == EXIT_OK
    assert out.read_bytes()[:2] == b"PK"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.docx"]   # nothing temporary left
    assert main(["report", str(tmp_path / "x.csv"), "-o", str(tmp_path / "y.docx")], out=io.StringIO()) == EXIT_USAGE
    assert "案例文件（.toml）或填好的评分工作簿" in capsys.readouterr().err
    broken = tmp_path / "缺数据.toml"
    broken.write_text(REFERENCE_CASE.read_text("utf-8").replace("procurement_budget = {", "# procurement_budget = {"), "utf-8")
    assert main(["report", str(broken), "-o", str(tmp_path / "z.docx")], out=io.StringIO()) == EXIT_UNSCORABLE
    assert "政府采购执行情况" in capsys.readouterr().err and not (tmp_path / "z.docx").exists()


# ------------------------------------------------------------------------------------------ the outline is data
def _outline_with(tmp_path, old, new):
    text = outline_path_for(load_system(2020)).read_text("utf-8")
    assert old in text
    p = tmp_path / "提纲.report.toml"
    p.write_text(text.replace(old, new, 1), "utf-8")
    return p


def test_outline_validation_names_file_and_key(tmp_path):
    p = _outline_with(tmp_path, 'level = 1\n', 'level = 1\ncolour = "red"\n')
    with pytest.raises(OutlineError, match=r"提纲\.report\.toml：sections\[0\]\.colour.*未知的键"):
        load_outline(p)
    p = _outline_with(tmp_path, "得分率{rate}。{data}", "得分率{rat}。{data}")
    with pytest.raises(OutlineError, match=r"sentences\.indicator.*未知的占位符 \{rat\}"):
        load_outline(p)
    p = _outline_with(tmp_path, "{n}. {name}", "{n:>3}. {name}")
    with pytest.raises(OutlineError, match="不能带格式"):
        load_outline(p)
    p = _outline_with(tmp_path, 'level1 = "decision"', 'level1 = "decisions"')
    with pytest.raises(OutlineError, match="没有一级指标 'decisions'"):
        write_report(REFERENCE_CASE, tmp_path / "a.docx", outline_path=p)


def test_a_different_outline_changes_the_draft_without_code(tmp_path):
    p = _outline_with(tmp_path, 'heading = "三、总体评价和整改措施"', 'heading = "三、总体评价"')
    out = tmp_path / "b.docx"
    assert main(["report", str(REFERENCE_CASE), "-o", str(out), "--outline", str(p)], out=io.StringIO()) == EXIT_OK
    assert "三、总体评价" in _texts(Document(str(out)))


def test_system_loader_does_not_take_the_outline_for_a_system():
    from perfscore.engine.system import available_years
    assert outline_path_for(load_system(2020)).exists()
    assert available_years() == sorted(set(available_years())) and all(isinstance(y, int) for y in available_years())


# ------------------------------------------------------------------------------------------ committed draft
def test_committed_draft_equals_fresh_regeneration(tmp_path):
    name = demo_report_name(load_case(REFERENCE_CASE))
    fresh = tmp_path / name
    write_report(REFERENCE_CASE, fresh)
    diff = diff_workbooks(ROOT / "workbook" / name, fresh)
    assert not diff, "workbook/ draft is stale (run `perfscore demo --force` and commit):\n" + "\n".join(diff)


# ------------------------------------------------------------------------------------------ PDF
@pytest.mark.skipif(not all(shutil.which(x) for x in ("soffice", "pdffonts", "pdfinfo", "pdftotext", "pdftoppm")),
                    reason="PDF needs: apt-get install libreoffice-writer poppler-utils fonts-noto-cjk fonts-arphic-ukai")
def test_pdf_uses_only_installed_cjk_fonts(tmp_path):
    from perfscore.render import pdf_fonts, pdf_pages, to_png
    from perfscore.render import REPORT_SUBSTITUTES, font_substitutes
    out, said = tmp_path / "报告.docx", io.StringIO()
    assert main(["report", str(REFERENCE_CASE), "-o", str(out), "--pdf"], out=said) == EXIT_OK
    pdf = out.with_suffix(".pdf")
    fonts = pdf_fonts(pdf)
    assert fonts
    missing = dict(font_substitutes())
    allowed = tuple(REPORT_SUBSTITUTES[name][1] for name in missing) + tuple(n.replace("_", "") for n in OFFICIAL_FONTS)
    for f in fonts:
        assert f.split("+")[-1].startswith(allowed), f"{f}: neither an official font nor a declared stand-in {allowed}"
    said = said.getvalue()
    if missing:   # the terminal names each missing official font and the font printed in its place
        assert "本机没有公文字体" in said
        for name, used in missing.items():
            assert name in said and f"{used}代替{name}" in said
        # the stand-ins of the right style are the ones installed (.ci/run installs their packages)
        body = [f for f in fonts if "LXGWWenKai" in f]
        assert body and any("GBZenKai" in f for f in fonts), fonts
    pages = pdf_pages(pdf)
    assert any(p["width"] > p["height"] for p in pages) and any(p["width"] < p["height"] for p in pages)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
    squashed = "".join(text.split())
    assert "综合得分97.93分" in squashed
    assert "—1—" in squashed and "—2—" in squashed   # page numbers as 公文 write them
    pngs = to_png(pdf, tmp_path, dpi=30)
    assert len(pngs) == len(pages)
    assert main(["report", str(REFERENCE_CASE), "-o", str(out), "--pdf"], out=io.StringIO()) == EXIT_USAGE


def test_outline_doc_lists_every_template_and_narrative_key():
    from perfscore.engine.case import NARRATIVE_KEYS
    from perfscore.report.outline import BLOCK_KINDS, SENTENCE_FIELDS
    doc = (ROOT / "docs" / "report-outline.md").read_text("utf-8")
    for k in list(SENTENCE_FIELDS) + list(BLOCK_KINDS) + list(NARRATIVE_KEYS):
        assert f"`{k}`" in doc, k


def test_formula_amounts_exact_to_the_cent(draft):
    body = "\n".join(_texts(draft["doc"]))
    assert "资金调整、调剂比例=381700/12741400.04=3.00%" in body


# ------------------------------------------------------------------------------------------ issue 23
_REVIEW = re.compile(r"【(?:待填写|审核提示)[^】]*】")


def _all_text(doc):
    """(text, marked) for every paragraph of the body and of every table cell; ``marked`` when the whole paragraph
    is highlighted (a passage to be removed before submission)."""
    paras = list(doc.paragraphs) + [p for t in doc.tables for r in t.rows for c in r.cells for p in c.paragraphs]
    out = []
    for p in paras:
        marked = bool(p.runs) and all(r.font.highlight_color is not None for r in p.runs if r.text.strip())
        out.append((p.text, marked))
    return out


def _unmarked(doc):
    """The draft as it would be submitted: whole marked paragraphs and marked passages removed."""
    return [_REVIEW.sub("", t) for t, marked in _all_text(doc) if not marked]


def _doc_figures_agree_with_engine(doc, res):
    name_score = {r.indicator.name: r.score for r in res.indicators}
    name_score.update({lv.level.name: lv.score for lv in list(res.level1.values()) + list(res.level2.values())})
    texts = _unmarked(doc)
    total = fmt_num(res.total)
    for t in texts:
        for m in re.finditer(r"(自评得分|综合得分|综合评分|自评总分)(?:为|是|：)?([0-9.]+)分", t):
            assert m.group(2) == total, t
        for m in re.finditer(r"评价等级为“(.)”", t):
            assert m.group(1) == res.grade, t
        m = re.match(r"(?:（\d+）)?(.+?)(?:，|)指标满分([0-9.]+)分.*?评价得分([0-9.]+)分", t)
        if m and m.group(1) in name_score:
            assert m.group(3) == fmt_num(name_score[m.group(1)]), t
    return texts


def test_no_total_or_score_differs_from_the_engine_outside_the_marked_appendix(draft, tmp_path):
    doc, res = draft["doc"], draft["result"]
    texts = _doc_figures_agree_with_engine(doc, res)
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert any("自评得分97.93分" in c for c in cells)            # the 自评表 copied from the source said 97.95
    assert not any("97.95" in t for t in texts)
    everything = [t for t, _ in _all_text(doc)]
    assert any("97.95" in t for t in everything)                  # … and the marked appendix says so
    appendix = [t for t, marked in _all_text(doc) if "97.95" in t]
    assert all(marked for t, marked in _all_text(doc) if "97.95" in t), appendix
    assert any("原写自评得分97.95分" in t and "97.93分" in t for t in appendix)
    # the appendix quotes the engine's figure as the body prints it: 78.66%, never a rounded 79%
    assert not any(re.search(r"(?<![0-9.])79%", t) for t in everything)
    assert any("按评分规则计算的78.66%" in t and "98%" in t for t in everything)
    # inputs that change the total: the 自评表 text follows the engine, not the source's 97.95
    src = REFERENCE_CASE.read_text("utf-8").replace('outside_staff = { value = 3,', 'outside_staff = { value = 9,') \
        .replace('effectiveness_score = { value = 25,', 'effectiveness_score = { value = 7.96,')
    case = tmp_path / "变了.toml"
    case.write_text(src, "utf-8")
    out = tmp_path / "变了.docx"
    write_report(case, out)
    res2 = score_case(load_system(2020), load_case(case).raw_values())
    assert fmt_num(res2.total) == "80.89"
    doc2 = Document(str(out))
    _doc_figures_agree_with_engine(doc2, res2)
    cells2 = [c.text for t in doc2.tables for r in t.rows for c in r.cells]
    assert any("自评得分80.89分" in c for c in cells2) and not any("97.9" in t for t in _unmarked(doc2))


def test_tool_residue_is_marked_and_worded_for_a_reviewer(draft):
    doc = draft["doc"]
    for t, marked in _all_text(doc):
        for tool_word in ("案例文件", "报告写", "小计：", "perfscore", " 得分："):
            assert tool_word not in t, t
    # every assumed-value note inline and the whole appendix are highlighted passages
    para = [p for p in doc.paragraphs if "一季度支出进度为25.00%" in p.text][0]
    notes = [r for r in para.runs if r.text.startswith("【审核提示：此数为假设值")]
    assert notes and all(r.font.highlight_color is not None for r in notes)
    assert all(r.font.highlight_color is None for r in para.runs if r.text.startswith("（1）预算执行率"))
    k = next(i for i, p in enumerate(doc.paragraphs) if p.text.startswith("附：数据核对"))
    rest = [p for p in doc.paragraphs[k:] if p.text.strip()]
    assert len(rest) > 5 and all(r.font.highlight_color is not None for p in rest for r in p.runs if r.text.strip())
    assert "定稿前删除" in doc.paragraphs[k].text


def test_document_properties_are_the_departments(draft):
    import zipfile
    doc = draft["doc"]
    cp = doc.core_properties
    assert cp.author == cp.last_modified_by == "深圳市科技开发交流中心"
    assert cp.title == "2020年度部门整体绩效自评报告" and not cp.comments
    with zipfile.ZipFile(draft["path"]) as z:
        names = z.namelist()
        assert not any("thumbnail" in n for n in names)
        assert b"python-docx" not in z.read("docProps/core.xml")
        assert b"perfscore" not in z.read("docProps/core.xml")


PROVINCIAL_OUTLINE = [   # the provincial 自评报告 提纲's parts, as the Shenzhen outline heads them
    "部门（单位）基本情况", "部门主要职能", "机构设置、人员和资产情况", "年度总体工作和重点工作任务", "部门预算编制情况",
    "部门预算执行情况", "预算绩效管理工作开展情况及自评组织实施", "主要履职绩效分析", "主要履职目标", "主要履职情况",
    "部门履职绩效情况", "绩效目标完成情况分析", "总体评价和整改措施", "主要经验、做法", "存在问题及改进措施",
    "后续工作计划、相关建议", "评价结果应用", "其他需要说明的问题", "评价指标评分情况",
]


def test_every_provincial_outline_section_is_present(draft):
    doc = draft["doc"]
    headings = [p.text for p in doc.paragraphs if p.style.name in ("一级标题", "二级标题")]
    for part in PROVINCIAL_OUTLINE:
        assert sum(part in h for h in headings) == 1, (part, headings)
    texts = _texts(doc)
    # 组织架构/人员/资产 from the case's inputs
    assert "截至2020年末，本部门核定编制数20人，在编人数20人，另有编外人员3人；固定资产账面净值132,825.86元，" \
           "其中在用固定资产130,457.85元。" in texts
    # 预算执行率 with its basis
    assert any("预算总指标16,878,372.51元" in t and "已冻结资金357,864元" in t and
               "=16316473.33/(16878372.51-357864)=98.76%" in t for t in texts)
    # every 自评表 target against its actual; the shortfall with its gap and a 原因 to fill in
    goal_rows = [t for t in texts if re.match(r"\d\..+（.+指标）：预期指标值", t)]
    assert len(goal_rows) == 8
    short = [t for t in goal_rows if t.startswith("2.公用经费支付完成率")][0]
    assert "预期指标值100%，实际完成值98%，比预期低2个百分点，未达到预期。偏差原因：【待填写：原因】" in short
    assert "7.预算执行率（成本指标）：预期指标值≥90%，实际完成值98.76%，达到预期。" in goal_rows
    # a 原因 to fill in for each problem, with the figure that shows it
    problems = [t for t in texts if re.match(r"\d\..+（扣", t)]
    assert len(problems) == 4 and all(t.endswith("原因：【待填写：原因】") for t in problems)
    assert "编外人员控制率=3/(3+20)=13.04%" in problems[1]
    fills = {p.text.split("】")[0][5:] for p in doc.paragraphs if p.text.startswith("【待填写：")}
    assert {"评价结果应用", "其他需要说明的问题", "预算绩效管理工作开展情况及自评组织实施", "机构设置"} <= fills


def test_goal_gap_reads_targets_as_written():
    from perfscore.report.docx_report import _goal_gap
    assert _goal_gap("=100%", "=98%") == (False, "低2个百分点")
    assert _goal_gap("≥90%", "98.76%") == (True, "")
    assert _goal_gap("≥90%", "85%") == (False, "低5个百分点")
    assert _goal_gap("12个月", "11个月") == (False, "低1个月")
    assert _goal_gap("及时", "及时") == (True, "")
    assert _goal_gap("及时", "基本及时") == (None, "")
    assert _goal_gap("≥90%", "≥90%") == (True, "")
    assert _goal_gap("≤5%", "8%") == (False, "高3个百分点")


def test_prose_punctuation_and_terms(draft):
    from perfscore.report.docx_report import zh_prose
    assert zh_prose("广东(深圳)工作基地:全年共举办“AI时代,智能未来”") == "广东（深圳）工作基地：全年共举办“AI时代，智能未来”"
    assert zh_prose("(1) 日常公用经费控制率<90%的, 得3分; (2) 90%≤x") == "（1）日常公用经费控制率<90%的，得3分；（2）90%≤x"
    assert zh_prose("编外人员控制率=3/(3+20)=13.04%，12,741,400.04元") == "编外人员控制率=3/(3+20)=13.04%，12,741,400.04元"
    doc = draft["doc"]
    prose = [t for t, _ in _all_text(doc)]
    for t in prose:
        assert not re.search(r"[\u4e00-\u9fff] |[ ][\u4e00-\u9fff]", t), t           # no space beside Chinese
        assert not re.search(r"[\u4e00-\u9fff][(),;]|[(),;][\u4e00-\u9fff]", t), t  # no half-width punctuation
        assert "三公经费" not in t and "出国境" not in t and "”“三公" not in t, t
    assert any("“三公”经费预算数为55,100元" in t and "因公出国（境）费决算数" in t for t in prose)


def _mm_of(twips):
    return int(twips) / 1440 * 25.4


def test_page_number_dash_7mm_below_type_area_and_turned_on_landscape_pages(draft):
    doc = draft["doc"]
    st = doc.styles["页码"].paragraph_format
    assert st.line_spacing_rule == 4 and abs(st.line_spacing.pt - 14) < 0.01     # exactly one 4号 em
    em_mm = 14 * 25.4 / 72
    for s in doc.sections:
        if s.page_width > s.page_height:
            continue
        # the dash is at the middle of that em: footer distance + half an em = 7 mm below the type area's bottom
        dash_below = (s.bottom_margin.mm) - (s.footer_distance.mm + em_mm / 2)
        assert abs(dash_below - 7) < 0.05, dash_below
    wp = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}"
    wps = "{http://schemas.microsoft.com/office/word/2010/wordprocessingShape}"
    landscape = [s for s in doc.sections if s.page_width > s.page_height]
    assert landscape
    for s in landscape:
        # the portrait page turned clockwise: binding (28 mm) at the head of the table, foot (35 mm) at the left
        assert abs(s.top_margin.mm - 28) < 0.1 and abs(s.left_margin.mm - 35) < 0.1
        for footer, odd in ((s.footer, True), (s.even_page_footer, False)):
            assert not footer.is_linked_to_previous
            anchors = list(footer._element.iter(wp + "anchor"))
            assert len(anchors) == 1 and "".join(t.text for t in footer._element.iter(qn("w:t"))) == "— 1 —"
            a = anchors[0]
            h, v = a.find(wp + "positionH"), a.find(wp + "positionV")
            assert h.get("relativeFrom") == v.get("relativeFrom") == "page"
            x = int(h.find(wp + "posOffset").text) / 36000
            y = int(v.find(wp + "posOffset").text) / 36000
            ext = a.find(wp + "extent")
            w_mm, h_mm = int(ext.get("cx")) / 36000, int(ext.get("cy")) / 36000
            # the dash's axis 7 mm left of the type area (which starts 35 mm from the left edge)
            assert abs((x + w_mm / 2) - (35 - 7)) < 0.05
            body = a.find(f".//{wps}bodyPr")
            assert body.get("vert") == "vert"                    # reads downwards: the portrait line, turned
            if odd:   # lower left: ends one character before the type area's lower edge (210 - 26 = 184 mm)
                assert abs((y + h_mm) - (184 - em_mm)) < 0.05
            else:     # upper left: starts one character after the type area's upper edge (28 mm)
                assert abs(y - (28 + em_mm)) < 0.05
    # back in portrait (the appendix): portrait page numbers again
    last = doc.sections[-1]
    assert last.page_width < last.page_height and not list(last.footer._element.iter(wp + "anchor"))
    assert "PAGE" in "".join(t.text for t in last.footer._element.iter(qn("w:instrText")))


def test_table_rows_do_not_split_and_totals_keep_with_the_table(draft):
    doc = draft["doc"]
    *goal_parts, score = doc.tables
    for t in doc.tables:
        for k, r in enumerate(t.rows):
            long_text = max(len(c.text) for c in r.cells) > 400
            assert (r._tr.trPr.find(qn("w:cantSplit")) is not None) or long_text, (k, r.cells[0].text)
    rows = score.rows
    tail = [k for k, r in enumerate(rows) if r.cells[0].text in ("综合评分", "评分等级", "填表人")]
    assert len(tail) == 3 and tail[-1] == len(rows) - 1
    for k in range(tail[0] - 1, tail[-1]):   # the last indicator row and the totals hold to what follows
        assert all(p.paragraph_format.keep_with_next for c in rows[k].cells for p in c.paragraphs), k
    # the 自评表 in parts, each repeating its own full column header
    heads = [[c.text for c in t.rows[0].cells] for t in goal_parts]
    assert heads[0][0] == "部门（单位）名称" and heads[1][1] == "预期目标" and heads[2][1:4] == ["一级指标", "二级指标", "三级指标"]
    first = goal_parts[0]
    assert all(first.rows[k]._tr.trPr.find(qn("w:tblHeader")) is not None for k in range(3))


def test_report_honours_region_and_year(tmp_path, monkeypatch, capsys):
    """`report CASE --region R --year Y` scores with region R's system of year Y (and says so when R has none)."""
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(ROOT / "tests" / "data" / "systems"))
    case = tmp_path / "tp.toml"
    case.write_text('schema = 1\n[case]\ntitle = "测试报告"\ndepartment = "测试局"\nyear = 2018\n'
                    '[inputs]\nadjusted = 12.5\ninitial_budget = 100\nstaff_in = 10\nstaff_seconded = 1\nquota = 10\n'
                    'plan_quality = 13\nspent = 90\nfinal_budget = 100\nprocured = 0.9\nprocurement_plan = 1\n'
                    'process_score = 12.5\noutput_score = 18\neffect_score = 19\n', "utf-8")
    out, said = tmp_path / "r.docx", io.StringIO()
    assert main(["report", str(case), "--region", "testprovince", "--year", "2018", "-o", str(out)], out=said) == EXIT_OK
    texts = _texts(Document(str(out)))
    assert any("综合得分83.25分" in t for t in texts) and "testprovince" in said.getvalue()
    assert main(["report", str(case), "--region", "shenzhen", "--year", "2018", "-o", str(tmp_path / "x.docx")],
                out=io.StringIO()) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "2018" in err and "Traceback" not in err and not (tmp_path / "x.docx").exists()
