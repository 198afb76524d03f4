"""Printing: LibreOffice (no Python inside) renders the filled workbook from its cached values — 评分表 on
landscape A4 pages, CJK text in the aliased official-looking fonts (no fallback boxes), 97.93 and 优 shown."""
import shutil
import subprocess

import pytest

from perfscore import REFERENCE_CASE, load_case, load_system
from perfscore.render import pdf_fonts, pdf_pages, to_pdf, to_png
from perfscore.excel.workbook import build_workbook, write_workbook

pytestmark = pytest.mark.skipif(
    not all(shutil.which(x) for x in ("soffice", "pdftoppm", "pdffonts", "pdftotext")),
    reason="rendering needs: apt-get install libreoffice-calc poppler-utils fonts-noto-cjk fonts-arphic-ukai")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    system = load_system(2020)
    path = d / "参考案例.xlsm"
    write_workbook(build_workbook(system, load_case(REFERENCE_CASE)), path)
    pdf = to_pdf([path], d)[0]
    pages = []
    for k, size in enumerate(pdf_pages(pdf), 1):
        text = subprocess.run(["pdftotext", "-f", str(k), "-l", str(k), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, timeout=60).stdout
        pages.append({"text": text, **size})
    return {"pdf": pdf, "pages": pages, "system": system, "dir": d}


def test_score_table_prints_landscape_with_every_indicator(rendered):
    table = [p for p in rendered["pages"] if "评分标准" in p["text"] and "一级指标" in p["text"] and "指标说明" in p["text"]]
    assert table, "评分表 pages not found in the PDF"
    assert all(p["width"] > p["height"] for p in table)  # landscape
    text = "".join(p["text"] for p in table)
    squashed = "".join(text.split())
    for ind in rendered["system"].indicators:
        assert ind.name[:6] in squashed, ind.name  # a long name wraps inside its cell, interleaving with others
    assert "97.93" in text and "优" in text


def test_only_cjk_fonts_no_fallback(rendered):
    fonts = pdf_fonts(rendered["pdf"])
    assert fonts
    for f in fonts:
        name = f.split("+")[-1]
        assert name.startswith(("NotoSerifCJK", "NotoSansCJK", "UKai")), f"unexpected font {f} (missing glyphs?)"


def test_pages_render_to_png(rendered):
    pngs = to_png(rendered["pdf"], rendered["dir"], dpi=40)
    assert len(pngs) == len(rendered["pages"]) and all(p.stat().st_size > 1000 for p in pngs)


@pytest.mark.parametrize("engine", ["python", "excel"])
def test_footer_fits_its_margin_and_blank_total_is_empty(engine):
    """The footer “第 N 页 共 M 页” needs room between its distance from the edge and the text area (it was cut in
    half: a 0.5 in footer under a 0.6 in bottom margin left 0.1 in for an 11-pt line), and the blank 自评表's
    金额合计 shows empty, not 0.00 (issue 19 item 8, in part)."""
    built = build_workbook(load_system(2020), None, engine=engine)
    for ws in built.wb.worksheets:
        if ws.title == "xlwings.conf":
            continue
        m = ws.page_margins
        assert (m.bottom - m.footer) * 72 >= 11 * 1.5, (ws.title, m.bottom, m.footer)  # one line of 11-pt text
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    totals = [v for (sheet, coord), v in built.cached.items()
              if sheet == "自评表" and "SUM(" in built.formulas[(sheet, coord)]]
    assert totals and all(v == "" for v in totals), totals
