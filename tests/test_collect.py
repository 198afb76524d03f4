"""perfscore collect over generated workbooks plus hostile and broken files: every bad file is explained in 异常
within bounded time and memory, the good ones are summarised with the engine's own totals, the originals are
never touched. All files are generated here at run time (tests/workbook_variants.py makes the valid ones)."""
import contextlib
import csv
import io
import multiprocessing
import os
import random
import re
import signal
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.receiving import collect
from perfscore.receiving.collect import workers
from perfscore.cli import main
from perfscore.receiving.collect import csv_cell, expand_sources
from perfscore.excel.workbook import build_workbook

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workbook_variants import VariantFactory, varied  # noqa: E402

FORK = "fork" in multiprocessing.get_all_start_methods()
INJECTED = ['=HYPERLINK("http://x","点我")', "+1", "-2", "@SUM(A1)"]


def _rezip(src, dst, edit):
    """Copy a zip, passing each part's (name, bytes) through ``edit``."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, edit(info.filename, z.read(info.filename)))


def _billion_laughs(root: str, body: str) -> str:
    ents = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10 if i > 1 else "lol" * 10}">' for i in range(1, 10))
    return f'<?xml version="1.0"?><!DOCTYPE {root} [{ents}]>{body}'


def _with_shared_strings(src, dst, sst: str, compression=zipfile.ZIP_STORED):
    """A plain workbook whose A1 uses a shared-strings part with the given XML (openpyxl writes inline strings)."""
    def edit(name, data):
        text = data.decode()
        if name == "xl/worksheets/sheet1.xml":
            return re.sub(r'<c r="A1"[^>]*>.*?</c>', '<c r="A1" t="s"><v>0</v></c>', text, flags=re.S).encode()
        if name == "xl/_rels/workbook.xml.rels":
            return text.replace("</Relationships>", '<Relationship Id="rIdSST" Target="sharedStrings.xml" Type='
                                '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
                                "</Relationships>").encode()
        if name == "[Content_Types].xml":
            return text.replace("</Types>", '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>').encode()
        return data
    _rezip(src, dst, edit)
    with zipfile.ZipFile(dst, "a", compression) as z:
        z.writestr("xl/sharedStrings.xml", sst)


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    system, case = load_system(2020), load_case(REFERENCE_CASE)
    return VariantFactory(system, case, tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def batch(tmp_path_factory, factory):
    system = factory.system
    d = tmp_path_factory.mktemp("收到的工作簿")
    (d / "南山区").mkdir()
    expected, hostile = {}, {}
    variants = varied(system, factory.base_case, 24, seed=7)
    # two departments with identical inputs: equal totals share a rank
    variants.append((dict(variants[0][0]), {**variants[0][1], "部门名称": "并列单位"}))
    for k, (raw, header) in enumerate(variants):
        if k < len(INJECTED):
            header = {**header, "部门名称": INJECTED[k]}  # names a spreadsheet would run as formulas
        where = d / "南山区" if k % 3 == 0 else d  # directories are searched recursively
        path = where / f"好{k:02d}.{'xlsm' if k % 2 else 'xlsx'}"
        expected[header["部门名称"]] = (path, factory.write(path, raw, header))

    # a workbook whose stored score was edited by hand (the engine gives less than full marks here)
    rng = random.Random(3)
    while True:
        raw = varied(system, factory.base_case, 1, seed=rng.randrange(10**6))[0][0]
        res = score_case(system, raw)
        if res.by_id("procurement").score < 2:
            break
    cell = next(k for k, f in factory.formulas.items() if k[0] == "评分表" and f.startswith("=PERF_PROCUREMENT("))
    factory.write(d / "改分.xlsm", raw, {"部门名称": "改过分的单位", "预算年度": 2020}, overrides={cell: 2.0})
    hostile["改分.xlsm"] = ("未通过", ["政府采购执行情况", "手工改过"])
    # an input left blank: the indicator cannot be scored, the file does not pass
    raw2 = dict(variants[1][0])
    raw2.pop("satisfaction_rate")
    factory.write(d / "缺数据.xlsm", raw2, {"部门名称": "缺数据的单位", "预算年度": 2020})
    hostile["缺数据.xlsm"] = ("未通过", ["公众或服务对象满意度", "无法计分"])

    good = expected[INJECTED[1]][0].read_bytes()
    (d / "截断.xlsm").write_bytes(good[: len(good) // 2])
    hostile["截断.xlsm"] = ("无法读取", ["不是有效的 Excel 工作簿"])
    (d / "其实是PDF.xlsx").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + b"0" * 4000)
    hostile["其实是PDF.xlsx"] = ("无法读取", ["不是有效的 Excel 工作簿"])
    (d / "文本.xlsm").write_text("部门名称,总分\n某单位,100\n", encoding="utf-8")
    hostile["文本.xlsm"] = ("无法读取", ["不是有效的 Excel 工作簿"])

    # password-protected: an OLE compound file holding EncryptionInfo and EncryptedPackage
    from perfscore.excel.vba import cfb
    root = cfb.Storage()
    root.add_stream("EncryptionInfo", b"\x04\x00\x04\x00\x40\x00\x00\x00" + b"\x00" * 200)
    root.add_stream("EncryptedPackage", os.urandom(6000))
    (d / "加密.xlsx").write_bytes(cfb.write_cfb(root))
    hostile["加密.xlsx"] = ("无法读取", ["受密码保护"])

    # a workbook of another layout (plain openpyxl)
    plain = d.parent / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"], wb.active["B1"] = "别的表格", "别的数字"
    wb.save(plain)
    (d / "别的版式.xlsx").write_bytes(plain.read_bytes())
    hostile["别的版式.xlsx"] = ("无法读取", ["不是 perfscore 评分工作簿"])

    # XML entity bombs: in the sheet of a perfscore workbook, in sharedStrings of a plain one, and one hidden
    # behind 5000 bytes of whitespace (past the reader's prolog check: calamine refuses the entity itself)
    src = expected["并列单位"][0]
    part = next(p for p, (sheet, _) in factory.parts.items() if sheet == "基础数据")
    _rezip(src, d / "实体炸弹.xlsm", lambda n, b: _billion_laughs("worksheet", b.decode().replace(
        "<t>并列单位</t>", "<t>&lol9;</t>")).encode() if n == part else b)
    hostile["实体炸弹.xlsm"] = ("无法读取", ["DTD/实体声明"])
    sst = _billion_laughs("sst", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                                 'count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>')
    _with_shared_strings(plain, d / "实体炸弹_共享字符串.xlsx", sst)
    hostile["实体炸弹_共享字符串.xlsx"] = ("无法读取", ["DTD/实体声明"])
    _rezip(src, d / "实体炸弹_藏在后面.xlsm", lambda n, b: (b'<?xml version="1.0"?>' + b" " * 5000 + _billion_laughs(
        "worksheet", b.decode().replace("<t>并列单位</t>", "<t>&lol9;</t>")).split("?>", 1)[1].encode())
        if n == part else b)
    hostile["实体炸弹_藏在后面.xlsm"] = ("无法读取", ["DTD/实体声明"])

    # zip bomb: a part that inflates to 200 MB of zeros
    with zipfile.ZipFile(d / "压缩炸弹.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        for n in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
            z.writestr(n, "<x/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            zeros = b"\0" * (1 << 22)
            for _ in range(50):
                f.write(zeros)
    hostile["压缩炸弹.xlsx"] = ("无法读取", ["压缩炸弹"])
    # an oversized sheet (33 MB of ordinary rows, ordinary compression)
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i * 7919 % 100003}</v></c><c r="B{i}"><v>{i}</v></c></row>'
                   for i in range(1, 460_000))
    with zipfile.ZipFile(d / "超大工作表.xlsx", "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet><sheetData>{rows}</sheetData></worksheet>")
    hostile["超大工作表.xlsx"] = ("无法读取", ["工作表过大"])
    # a sheet whose range is enormous though the file is tiny: calamine would allocate hundreds of GB, so the
    # reader refuses it from the cell references before parsing (a worker that died anyway would be isolated
    # by the single-file retry: see test_stuck_file_is_ended)
    _rezip(src, d / "范围极大.xlsm", lambda n, b: b.replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>') if n == part else b)
    hostile["范围极大.xlsm"] = ("无法读取", ["范围异常（到 XFD"])
    # an unknown rules year (规则年度 changed to 2031 inside the sheet XML)
    factory.write(d.parent / "2020.xlsm", variants[2][0], {**variants[2][1], "部门名称": "改了规则年度的单位"})
    _rezip(d.parent / "2020.xlsm", d / "未知年度.xlsm",
           lambda n, b: re.sub(rb'(<c r="C7"[^>]*><v>)2020(</v>)', rb"\g<1>2031\g<2>", b) if n == part else b)
    hostile["未知年度.xlsm"] = ("无法读取", ["规则年度 2031 没有对应的指标体系", "2020"])

    # skipped: an Office lock file, a macOS ._ file, a text file
    (d / "~$好01.xlsm").write_bytes(b"\x06lock" + b"\0" * 160)
    (d / "._好01.xlsm").write_bytes(b"\0\x05\x16\x07" + b"\0" * 80)
    (d / "说明.txt").write_text("不是工作簿", encoding="utf-8")

    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in d.rglob("*") if p.is_file()}
    out_dir = d.parent / "输出"
    out_dir.mkdir()
    buf = io.StringIO()
    t0 = time.perf_counter()
    code = main(["collect", str(d), "-o", str(out_dir / "汇总.xlsx"), "--csv", str(out_dir / "汇总.csv")], out=buf)
    elapsed = time.perf_counter() - t0
    return {"dir": d, "out": out_dir, "code": code, "stdout": buf.getvalue(), "expected": expected,
            "hostile": hostile, "before": before, "elapsed": elapsed, "n": len(expected) + len(hostile)}


def _sheet(path, name):
    """The table of a summary sheet as dicts: the header is row 3 (under the title and subtitle rows); rows after
    the first empty one (notes under the table) are not part of it."""
    rows = list(openpyxl.load_workbook(path)[name].values)
    title, header = rows[0], rows[2]
    assert isinstance(title[0], str) and title[0], f"{name}: row 1 is not the title: {title}"
    labels = [h for h in header if h is not None]
    assert header[0] and all(isinstance(h, str) for h in labels) and len(set(labels)) == len(labels), (
        f"{name}: row 3 is not a header of distinct labels: {header}")
    out = []
    for r in rows[3:]:
        if all(v is None for v in r):
            break
        out.append({k: v for k, v in zip(rows[2], r) if k is not None})
    return out


@pytest.fixture(scope="module")
def sheets(batch):
    path = batch["out"] / "汇总.xlsx"
    return {name: _sheet(path, name) for name in ("汇总", "排名", "指标得分率", "等级分布", "异常")}


def test_batch_completes_in_bounded_time(batch):
    assert batch["code"] == 1, batch["stdout"]  # some files are in 异常: reported, the batch completed
    out = batch["stdout"]
    n_fail = sum(1 for cat, _ in batch["hostile"].values() if cat == "未通过")
    n_unread = len(batch["hostile"]) - n_fail
    assert f"汇总 {batch['n']} 个文件" in out
    assert f"读取成功 {len(batch['expected']) + n_fail}" in out and f"未通过 {n_fail}" in out
    assert f"无法读取 {n_unread}\n" in out  # no timeouts, no ended workers, no internal errors
    assert "Office 锁定文件（~$） 1 个" in out and "隐藏文件 1 个" in out
    assert batch["elapsed"] < 30


def test_every_bad_file_explained(batch, sheets):
    bad = {Path(r["文件"]).name: r for r in sheets["异常"]}
    assert set(bad) == set(batch["hostile"])
    for name, (category, words) in batch["hostile"].items():
        assert bad[name]["类别"] == category, (name, bad[name])
        for w in words:
            assert w in bad[name]["原因"], (name, bad[name]["原因"])
    summary = {Path(r["文件"]).name: r for r in sheets["汇总"]}
    assert summary["改分.xlsm"]["检查结果"] == "未通过" and summary["改分.xlsm"]["部门名称"] == "改过分的单位"
    assert summary["截断.xlsm"]["检查结果"] == "无法读取" and summary["截断.xlsm"]["综合评分"] is None
    # read but not scorable: the department is still named, the rules year as the file states it
    assert summary["未知年度.xlsm"]["部门名称"] == "改了规则年度的单位" and summary["未知年度.xlsm"]["规则年度"] == 2031


def test_good_files_have_the_engines_scores(batch, sheets, factory):
    rows = {r["部门名称"]: r for r in sheets["汇总"] if r["部门名称"] in batch["expected"]}
    assert len(rows) == len(batch["expected"])
    system = factory.system
    for dept, (path, res) in batch["expected"].items():
        r = rows[dept]
        assert r["检查结果"].startswith("通过") and r["规则年度"] == 2020 and r["预算年度"] == 2020
        assert r["文件"] == path.relative_to(batch["dir"]).as_posix()  # relative to the collected folder
        assert r["综合评分"] == pytest.approx(res.total, abs=1e-9) and r["评分等级"] == res.grade
        for ind in res.indicators:
            assert r[ind.indicator.name] == pytest.approx(ind.score, abs=1e-9)
    # columns as a reviewer reads them: the main table that prints (rank, department, total, grade, 一级 subtotals,
    # indicators that lost points, check result, problems), then every indicator in table order, the rest
    head = list(sheets["汇总"][0])
    assert head == ["排名", "部门名称", "综合评分", "评分等级", *[lv.name for lv in system.level1], "失分指标数",
                    "检查结果", "问题", *[i.name for i in system.indicators], "预算年度", "规则年度", "文件"]
    for dept, (path, res) in batch["expected"].items():
        r = rows[dept]
        assert [r[lv.name] for lv in system.level1] == [pytest.approx(res.level1[lv.id].score) for lv in system.level1]
        assert r["失分指标数"] == sum(1 for i in res.indicators if i.deducted > 0)
    # rows in rank order, the files without a total at the end
    ranks = [r["排名"] for r in sheets["汇总"] if r["综合评分"] is not None]
    assert ranks == sorted(ranks) and ranks[0] == 1
    totals = [r["综合评分"] is None for r in sheets["汇总"]]
    assert totals == sorted(totals)


def test_ranking_with_shared_ranks(sheets):
    ranking = sheets["排名"]
    scored = [r for r in sheets["汇总"] if r["综合评分"] is not None]
    assert len(ranking) == len(scored)
    totals = [r["综合评分"] for r in ranking]
    assert totals == sorted(totals, reverse=True)
    for r in ranking:
        assert r["排名"] == 1 + sum(1 for t in totals if round(t, 2) > round(r["综合评分"], 2))
    tied = {r["部门名称"]: r["排名"] for r in ranking}
    assert tied["并列单位"] == tied[INJECTED[0]]
    assert Counter(r["排名"] for r in ranking)[tied["并列单位"]] >= 2


def test_indicator_rates_and_grade_counts(sheets, factory):
    summary = [r for r in sheets["汇总"] if r["规则年度"] == 2020]
    rates = {r["指标"]: r for r in sheets["指标得分率"]}
    for ind in factory.system.indicators:
        vals = [r[ind.name] for r in summary if r[ind.name] is not None]
        row = rates[ind.name]
        assert row["计分文件数"] == len(vals) and row["分值"] == ind.weight
        assert row["平均得分率"] == pytest.approx(sum(v / ind.weight for v in vals) / len(vals))
        assert row["平均得分"] == pytest.approx(sum(vals) / len(vals))
    # the file with the blank input fails check: only files that pass are rated (issue 25)
    assert rates["公众或服务对象满意度"]["未能计分文件数"] == 0
    grades = {r["等级"]: r["文件数"] for r in sheets["等级分布"]}
    assert list(grades) == ["优", "良", "中", "差"]
    assert grades == {g: sum(1 for r in sheets["汇总"] if r["评分等级"] == g) for g in grades}


def test_summary_workbook_chart_formats_and_widths(batch):
    path = batch["out"] / "汇总.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汇总", "排名", "各指标得分", "问题清单", "扣分明细", "指标得分率", "等级分布", "等级分布图",
                             "异常"]
    assert type(wb["等级分布图"]).__name__ == "Chartsheet"  # the chart prints alone on one page, full size
    with zipfile.ZipFile(path) as z:
        charts = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert any("chartsheets/" in n for n in z.namelist())
    assert len(charts) == 1 and "<c:barChart>" in charts[0]
    assert "等级分布!$B$4:$B$7" in charts[0].replace("'", "") and "等级分布!$A$4:$A$7" in charts[0].replace("'", "")
    for ws in wb:
        title, sub = ws["A1"].value, ws["A2"].value
        assert title.startswith("深圳市部门整体支出绩效自评汇总")
        assert re.search(r"地区：深圳市；规则年度：2020；汇总日期：\d{4}-\d{2}-\d{2}；文件夹：收到的工作簿0；共\d+个文件", sub)
        assert ws.freeze_panes == ("C4" if ws.title in ("汇总", "排名", "各指标得分", "扣分明细") else "A4")
        ps = ws.page_setup
        assert ps.orientation == "landscape" and int(ps.paperSize) == 9
        if ws.title == "各指标得分":  # full size across pages, 排名 and 部门名称 on every page, title in the page header
            assert not ws.sheet_properties.pageSetUpPr or not ws.sheet_properties.pageSetUpPr.fitToPage
            assert ws.print_title_rows == "$3:$3" and ws.print_title_cols == "$A:$B"
            assert "各指标得分" in ws.oddHeader.left.text
        else:
            assert ws.sheet_properties.pageSetUpPr.fitToPage and ps.fitToWidth in (None, 1, "1") and int(ps.fitToHeight) == 0  # width 1 is the default
            assert ws.print_title_rows == "$1:$3"
        assert ws.oddFooter.center.text == "第 &P 页 共 &N 页"
    ws = wb["汇总"]
    head = [c.value for c in ws[3]]
    total = ws.cell(4, head.index("综合评分") + 1)
    assert total.number_format == "0.00" and ws.cell(4, 5).number_format == "0.00"
    assert ws.column_dimensions["B"].width >= 12  # department names fit
    problems = head.index("问题") + 1
    assert ws.cell(4, problems).alignment.wrap_text
    rates = wb["指标得分率"]
    col = [c.value for c in rates[3]].index("平均得分率") + 1
    assert rates.cell(4, col).number_format == "0.00%"
    grades = wb["等级分布"]
    assert grades.cell(4, 3).number_format == "0.00%"
    reasons = wb["异常"]
    col = [c.value for c in reasons[3]].index("原因") + 1
    assert reasons.cell(4, col).alignment.wrap_text and reasons.column_dimensions["D"].width >= 60


def test_files_are_relative_links_and_no_absolute_path_anywhere(batch, sheets):
    path = batch["out"] / "汇总.xlsx"
    wb = openpyxl.load_workbook(path)
    for name in ("汇总", "排名", "异常"):
        ws = wb[name]
        col = [c.value for c in ws[3]].index("文件") + 1
        cells = [ws.cell(r, col) for r in range(4, ws.max_row + 1) if ws.cell(r, col).value]
        assert cells
        for c in cells:
            target = (batch["dir"] / c.value)
            if target.is_file():  # an unreadable folder has no link; every workbook has one
                link = c.hyperlink.target.replace("\\", "/")
                assert not os.path.isabs(link) and (batch["out"] / link).resolve() == target.resolve(), link
    secret = [str(batch["dir"]), str(batch["dir"].parent), "pytest-of"]
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            text = z.read(n).decode("utf-8", "replace")
            assert not any(s in text for s in secret), n
    csv_text = (batch["out"] / "汇总.csv").read_text("utf-8-sig")
    assert not any(s in csv_text for s in secret)


def test_xlsx_keeps_formula_like_text_as_text(batch):
    wb = openpyxl.load_workbook(batch["out"] / "汇总.xlsx")
    for sheet in ("汇总", "排名"):
        cells = [c for row in wb[sheet].iter_rows() for c in row if c.value == INJECTED[0]]
        assert cells and all(c.data_type == "s" for c in cells)
    with zipfile.ZipFile(batch["out"] / "汇总.xlsx") as z:
        assert not any("<f>" in z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/"))


def test_csv_same_rows_escaped_numbers_as_numbers(batch, sheets):
    raw = (batch["out"] / "汇总.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == len(sheets["汇总"]) == batch["n"]
    names = {r["部门名称"] for r in rows}
    for bad in INJECTED:
        assert "'" + bad in names and bad not in names
    for r in rows:
        for v in r.values():
            assert not v.startswith(("=", "+", "-", "@", "\t", "\r")), v
    by_name = {r["部门名称"]: r for r in rows}
    # unreadable rows have no year: the years of the others are still plain integers (not "2020.0")
    assert any(r["检查结果"] == "无法读取" for r in rows)
    assert {r["预算年度"] for r in rows} <= {"2020", ""} and {r["规则年度"] for r in rows} <= {"2020", "2031", ""}
    assert list(rows[0]) == list(sheets["汇总"][0]) and [r["文件"] for r in rows] == [r["文件"] for r in sheets["汇总"]]
    total = by_name["并列单位"]["综合评分"]
    assert re.fullmatch(r"\d+(\.\d+)?", total) and float(total) == pytest.approx(
        batch["expected"]["并列单位"][1].total)


def test_csv_cell_rules():
    assert csv_cell("=1+2") == "'=1+2" and csv_cell("+1") == "'+1" and csv_cell("-1") == "'-1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("\t=1") == "'\t=1"
    assert csv_cell("正常单位") == "正常单位" and csv_cell("1-2") == "1-2"
    assert csv_cell(-1.0) == -1.0 and csv_cell(95.5) == 95.5 and csv_cell(None) is None


def test_csv_escapes_file_names(tmp_path, factory, monkeypatch):
    raw, header = varied(factory.system, factory.base_case, 1, seed=11)[0]
    d = tmp_path / "in"
    d.mkdir()
    factory.write(d / "=1+2.xlsm", raw, header)
    factory.write(d / "-3.xlsx", raw, {**header, "部门名称": "@坏"})
    monkeypatch.chdir(d)
    assert main(["collect", ".", "-o", str(tmp_path / "s.xlsx"), "--csv", str(tmp_path / "s.csv")],
                out=io.StringIO()) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "s.csv").read_text("utf-8-sig"))))
    assert {r["文件"] for r in rows} == {"'=1+2.xlsm", "'-3.xlsx"} and {r["部门名称"] for r in rows} >= {"'@坏"}


def test_originals_unchanged(batch):
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in batch["dir"].rglob("*") if p.is_file()}
    assert after == batch["before"]


def test_no_overwrite_without_force(batch, capsys):
    target = batch["out"] / "汇总.xlsx"
    before = target.read_bytes()
    assert main(["collect", str(batch["dir"]), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert "已存在" in err and "--force" in err and target.read_bytes() == before
    assert main(["collect", str(batch["dir"]), "-o", str(batch["out"] / "新.xlsx"),
                 "--csv", str(batch["out"] / "汇总.csv")]) == 2  # the CSV is protected as well
    assert not (batch["out"] / "新.xlsx").exists()


def test_usage_errors(tmp_path, capsys):
    (tmp_path / "空").mkdir()
    assert main(["collect", str(tmp_path / "空"), "-o", str(tmp_path / "a.xlsx")]) == 2
    assert "没有找到" in capsys.readouterr().err
    assert main(["collect", str(tmp_path / "不存在"), "-o", str(tmp_path / "a.xlsx")]) == 2
    assert "找不到" in capsys.readouterr().err
    assert main(["collect", str(tmp_path / "空"), "-o", str(tmp_path / "a.xlsx"), "--jobs", "0"]) == 2
    assert main(["collect", str(tmp_path / "空"), "-o", str(tmp_path / "a.csv")]) == 2
    assert not list(tmp_path.glob("*.xlsx"))


def test_sources_recursive_globs_and_skips(batch, tmp_path):
    d = batch["dir"]
    files = [p.name for p in expand_sources([str(d)])[0]]
    assert len(files) == batch["n"] and "好00.xlsx" in files  # 好00 is in the sub-folder 南山区
    assert not any(f.startswith(("~$", "._")) or f.endswith(".txt") for f in files)
    paths, odd, skipped = expand_sources([str(d / "好*.xlsm"), str(d / "**" / "好0*.xlsx")])
    assert {p.name for p in paths} == {p.name for p in d.glob("好*.xlsm")} | {p.name for p in d.rglob("好0*.xlsx")}
    assert any(p.parent.name == "南山区" for p in paths) and not odd
    # the output file itself is never read, even when it is written into the folder being collected
    paths, _, skipped = expand_sources([str(d)], exclude=[d / "改分.xlsm"])
    assert "改分.xlsm" not in {p.name for p in paths} and skipped["输出文件本身"] == 1
    # a pipe named like a workbook is reported, never opened (opening a FIFO would block)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "管道.xlsx")
        paths, odd, _ = expand_sources([str(tmp_path / "管道.xlsx")])
        assert not paths and "不是普通文件" in odd[0][1]


def test_output_inside_source_folder_is_refused_even_with_force(batch, tmp_path, factory):
    """An output inside the collected folder would be read as a received workbook next time (issue 25 item 6e)."""
    d = tmp_path / "in"
    d.mkdir()
    for k, (raw, header) in enumerate(varied(factory.system, factory.base_case, 3, seed=5)):
        factory.write(d / f"单位{k}.xlsm", raw, header)
    out = d / "汇总.xlsx"
    for force in ([], ["--force"]):
        buf, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            assert main(["collect", str(d), "-o", str(out)] + force, out=buf) == 2
        assert "在要汇总的文件夹" in err.getvalue() and "加 --force 也不行" in err.getvalue()
    assert not out.exists() and [p.name for p in d.iterdir() if p.name.startswith(".")] == []  # nothing left behind
    buf = io.StringIO()
    assert main(["collect", str(d), "-o", str(tmp_path / "汇总.xlsx")], out=buf) == 0 and "汇总 3 个文件" in buf.getvalue()


# ------------------------------------------------------------------------------------------ time and memory
def _slow_score(original, kind):
    def score(path):
        name = Path(path).name
        if name.startswith("慢"):
            time.sleep(60)  # interrupted by the soft timeout
        if name.startswith("卡死"):
            if hasattr(signal, "pthread_sigmask"):
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # like native code: no Python signal
            time.sleep(60)
        if name.startswith("吃内存"):
            blob = bytearray(700 * 1024 * 1024)  # above the worker's limit
            return {"size": len(blob)}
        return original(path)
    return score


@pytest.mark.skipif(not FORK or not hasattr(signal, "setitimer"), reason="POSIX fork and SIGALRM")
def test_slow_stuck_and_greedy_files_do_not_hang_the_batch(tmp_path, factory, monkeypatch):
    d = tmp_path / "in"
    d.mkdir()
    variants = varied(factory.system, factory.base_case, 6, seed=9)
    names = ["慢.xlsm", "卡死.xlsm", "吃内存.xlsm", "a.xlsm", "b.xlsm", "c.xlsm"]
    for name, (raw, header) in zip(names, variants):
        factory.write(d / name, raw, header)
    monkeypatch.setattr(workers, "score_file", _slow_score(workers.score_file, None))
    monkeypatch.setattr(workers, "FILE_TIMEOUT", 0.5)
    monkeypatch.setattr(workers, "HARD_TIMEOUT", 2.0)
    monkeypatch.setattr(workers, "WORKER_MEMORY_MB", 256)
    paths = sorted(d.iterdir())
    t0 = time.perf_counter()
    rows = dict(zip((p.name for p in paths), collect.collect_rows(paths, 2)))
    elapsed = time.perf_counter() - t0
    assert elapsed < 15
    assert rows["慢.xlsm"]["category"] == "超时" and "0.5 秒" in rows["慢.xlsm"]["reason"]
    assert rows["卡死.xlsm"]["category"] == "进程终止" and "2 秒仍未完成" in rows["卡死.xlsm"]["reason"]
    assert rows["吃内存.xlsm"]["category"] == "无法读取" and "内存超过上限" in rows["吃内存.xlsm"]["reason"]
    for name in ("a.xlsm", "b.xlsm", "c.xlsm"):  # innocent files in the same chunks still get their rows
        assert rows[name]["status"].startswith("通过"), rows[name]


def test_worker_rows_are_small_and_plain(batch, factory):
    path = batch["expected"][INJECTED[1]][0]
    row = collect.process_file(str(path))
    assert set(row) == {"department", "budget_year", "year", "scores", "total", "grade", "status", "category",
                        "problems", "reason", "kind", "region", "level1", "lost"}
    assert all(isinstance(v, (str, int, float, tuple, type(None))) for v in row.values())
    plain = (str, int, float)
    assert all(isinstance(x, plain) for j, d, why, items in row["lost"] for x in (j, d, why)
               + tuple(v for item in items for v in item))
    assert len(row["scores"]) == len(factory.system.indicators)


def test_progress_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    plain, tty = io.StringIO(), Tty()
    for stream in (plain, tty):
        p = collect.Progress(3, stream)
        for _ in range(3):
            p.update(1)
        p.close()
    assert plain.getvalue() == "" and "3/3" in tty.getvalue() and tty.getvalue().endswith("\n")


# ------------------------------------------------------------------------------------------ safety of the XML stack
def test_defusedxml_in_use_by_openpyxl(batch):
    import defusedxml  # noqa: F401
    import openpyxl.xml
    assert openpyxl.xml.DEFUSEDXML is True
    with pytest.raises(Exception) as exc:  # openpyxl refuses the entity bomb instead of expanding it
        openpyxl.load_workbook(batch["dir"] / "实体炸弹_共享字符串.xlsx")
    chain, e = [], exc.value
    while e is not None:
        chain.append(type(e).__module__ + "." + type(e).__name__)
        e = e.__cause__ or e.__context__
    assert any(c.startswith("defusedxml.") for c in chain), chain


# ------------------------------------------------------------------------------------------ the generator itself
def test_variants_are_internally_consistent(factory):
    """Every formula cell of a variant holds what the builder would cache for its inputs."""
    for raw, header in varied(factory.system, factory.base_case, 3, seed=21, require_scored=False):
        values, _ = factory.cached_values(raw, header)
        cached = build_workbook(factory.system, factory.case_for(raw, header)).cached
        assert set(values) == set(cached)
        for key, v in cached.items():
            assert values[key] == v and type(values[key]) is type(v), key


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_workers_end_when_the_parent_is_killed(tmp_path):
    """A collect killed from outside (SIGKILL: no clean-up runs) leaves no worker waiting for work forever."""
    import subprocess
    script = (
        "import sys, time\n"
        "from perfscore.receiving import collect\n"
        "from perfscore.receiving.collect import workers\n"
        "workers.score_file = lambda p: time.sleep(60)\n"
        "print('start', flush=True)\n"
        "collect.collect_rows([f'{i}.xlsm' for i in range(8)], 2)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "start"
    deadline = time.monotonic() + 10
    kids = []
    while len(kids) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True,
                              text=True).stdout.split()
    assert len(kids) == 2
    p.kill()
    p.wait()

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    deadline = time.monotonic() + 5
    while any(alive(k) for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(k) for k in kids)


# ------------------------------------------------------------------------------------------ issue 10, item 7
def _collect(tmp_path, *sources, extra=()):
    out = tmp_path / "输出"
    out.mkdir(exist_ok=True)
    buf = io.StringIO()
    code = main(["collect", *map(str, sources), "-o", str(out / "汇总.xlsx"), "--csv", str(out / "汇总.csv"),
                 *extra], out=buf)
    return code, buf.getvalue(), {n: _sheet(out / "汇总.xlsx", n) for n in openpyxl.load_workbook(
        out / "汇总.xlsx", read_only=True).sheetnames if n != "等级分布图"}


def test_empty_broken_xml_and_big_shared_strings_are_named_in_chinese(tmp_path, factory):
    d = tmp_path / "in"
    d.mkdir()
    raw, header = varied(factory.system, factory.base_case, 1, seed=31)[0]
    factory.write(d / "正常.xlsm", raw, header)
    (d / "空文件.xlsm").write_bytes(b"")
    part = next(p for p, (sheet, _) in factory.parts.items() if sheet == "基础数据")
    _rezip(d / "正常.xlsm", d / "XML损坏.xlsm", lambda n, b: b[: len(b) // 2] if n == part else b)
    plain = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    wb.save(plain)
    rng = random.Random(5)
    items = "".join(f"<si><t>{rng.randrange(10**8):08d}</t></si>" for _ in range(1_600_000))
    _with_shared_strings(plain, d / "字符串过多.xlsx", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                         f'2006/main" count="1600000" uniqueCount="1600000">{items}</sst>', zipfile.ZIP_DEFLATED)
    code, out, sheets = _collect(tmp_path, d)
    assert code == 1
    bad = {r["文件"]: r for r in sheets["异常"]}
    assert set(bad) == {"空文件.xlsm", "XML损坏.xlsm", "字符串过多.xlsx"}
    assert bad["空文件.xlsm"]["原因"].startswith("文件为空（0 字节）")
    assert "已损坏" in bad["XML损坏.xlsm"]["原因"]
    assert "共享字符串表" in bad["字符串过多.xlsx"]["原因"] and "工作表过大" not in bad["字符串过多.xlsx"]["原因"]
    for r in bad.values():  # the parser's own English words never reach the sheet
        assert "Error" not in r["原因"] and not re.search(r"[A-Za-z]{5,}", re.sub(r"sharedStrings|Excel", "", r["原因"]))


def test_duplicate_departments_flagged_and_not_all_ranked(tmp_path, factory):
    d = tmp_path / "in"
    (d / "副本").mkdir(parents=True)
    variants = varied(factory.system, factory.base_case, 3, seed=41)
    factory.write(d / "唯一.xlsm", *variants[0])
    factory.write(d / "原件.xlsm", variants[1][0], {**variants[1][1], "部门名称": "某某局"})
    copy = (d / "原件.xlsm").read_bytes()
    for k in range(26):  # 27 copies of one department in all
        (d / "副本" / f"副本{k:02d}.xlsm").write_bytes(copy)
    # two different submissions for one department (full-width letters and spaces still match)
    factory.write(d / "甲.xlsm", variants[2][0], {**variants[2][1], "部门名称": "ＡＢ 中心"})
    factory.write(d / "乙.xlsm", variants[0][0], {**variants[0][1], "部门名称": "AB中心"})
    code, out, sheets = _collect(tmp_path, d)
    assert code == 1 and "部门名称重复 29 个文件（其中重复副本 26 个），参加排名 2 个" in out
    rows = sheets["汇总"]
    copies = [r for r in rows if r["部门名称"] == "某某局"]
    assert len(copies) == 27 and [r["排名"] for r in copies].count("未排名") == 26
    assert sum(isinstance(r["排名"], int) for r in copies) == 1
    assert all("部门名称重复" in r["问题"] for r in copies)
    differing = [r for r in rows if r["部门名称"] in ("ＡＢ 中心", "AB中心")]
    assert [r["排名"] for r in differing] == ["未排名", "未排名"]
    assert all("数据不同" in r["问题"] and "均未参加排名" in r["问题"] for r in differing)
    assert [r["部门名称"] for r in sheets["排名"]] in (["某某局", variants[0][1]["部门名称"]],
                                                     [variants[0][1]["部门名称"], "某某局"])
    bad = sheets["异常"]
    assert len(bad) == 29 and {r["类别"] for r in bad} == {"部门重复"}
    assert sum(r["文件数"] for r in sheets["等级分布"]) == 4  # the 26 copies are not counted again


def _as_nobody(fn):
    """Run fn() in a forked child without root's right to read every folder; returns what fn returned."""
    import pickle
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            if os.getuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            data = pickle.dumps(("ok", fn()))
        except BaseException as exc:
            data = pickle.dumps(("error", repr(exc)))
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    import pickle as p
    status, value = p.loads(data)
    assert status == "ok", value
    return value


@pytest.mark.skipif(not hasattr(os, "fork") or not sys.platform.startswith("linux"), reason="POSIX permissions")
def test_unreadable_subfolder_is_listed(factory):
    import shutil
    import tempfile
    base = Path(tempfile.mkdtemp(prefix="collect-perm-", dir="/tmp"))
    try:
        os.chmod(base, 0o777)
        d = base / "收到的"
        (d / "锁住的区").mkdir(parents=True)
        raw, header = varied(factory.system, factory.base_case, 1, seed=51)[0]
        factory.write(d / "可读.xlsm", raw, header)
        factory.write(d / "锁住的区" / "看不到.xlsm", raw, {**header, "部门名称": "另一单位"})
        for p in (base, d, d / "可读.xlsm"):
            os.chmod(p, 0o777 if p.is_dir() else 0o644)
        os.chmod(d / "锁住的区", 0o000)
        paths, odd, _ = _as_nobody(lambda: expand_sources([str(d)]))
        assert [p.name for p in paths] == ["可读.xlsm"]
        assert len(odd) == 1 and odd[0][0].name == "锁住的区" and "无法读取此文件夹（没有读取权限）" in odd[0][1]
        # the whole command: the folder is a row of 异常, the exit code says so
        out = base / "输出"
        out.mkdir(mode=0o777)
        os.chmod(out, 0o777)
        code, text = _as_nobody(lambda: (main(["collect", str(d), "-o", str(out / "汇总.xlsx"), "--jobs", "1"],
                                              out=(buf := io.StringIO())), buf.getvalue()))
        assert code == 1, text
        bad = _sheet(out / "汇总.xlsx", "异常")
        assert [(r["文件"], r["类别"]) for r in bad] == [("锁住的区/", "无法读取")]
        assert "没有汇总" in bad[0]["原因"]
    finally:
        os.chmod(base / "收到的" / "锁住的区", 0o755)
        shutil.rmtree(base, ignore_errors=True)


# ------------------------------------------------------------------------------------------ --compare
@pytest.fixture(scope="module")
def two_years(tmp_path_factory, factory):
    """Last year's summary (6 departments, budget year 2019) and this year's files (4 of them again, 1 new)."""
    root = tmp_path_factory.mktemp("两年")
    last, now = root / "2019年收到的", root / "2020年收到的"
    last.mkdir()
    now.mkdir()
    for k, (raw, header) in enumerate(varied(factory.system, factory.base_case, 6, seed=61)):
        factory.write(last / f"单位{k}.xlsm", raw, {**header, "预算年度": 2019})
    for k, (raw, header) in enumerate(varied(factory.system, factory.base_case, 4, seed=62)):
        factory.write(now / f"单位{k}.xlsm", raw, header)
    raw, header = varied(factory.system, factory.base_case, 5, seed=63)[4]
    factory.write(now / "新单位.xlsm", raw, {**header, "部门名称": "新成立的单位"})
    assert main(["collect", str(last), "-o", str(root / "上次汇总.xlsx")], out=io.StringIO()) == 0
    return {"root": root, "now": now, "last": root / "上次汇总.xlsx",
            "before": {r["部门名称"]: r for r in _sheet(root / "上次汇总.xlsx", "汇总")}}


def test_compare_matches_adds_and_lists_missing(two_years, tmp_path):
    code, out, sheets = _collect(tmp_path, two_years["now"], extra=["--compare", str(two_years["last"])])
    assert code == 0, out
    assert "与上次汇总 上次汇总.xlsx 对比：两年都有 4，仅本次有 1，仅上次有 2" in out
    cmp = {r["部门名称"]: r for r in sheets["与上次对比"]}
    now = {r["部门名称"]: r for r in sheets["汇总"]}
    before = two_years["before"]
    assert set(cmp) == set(now) | set(before)
    for name in (f"测试单位{k:05d}" for k in range(1, 5)):
        r = cmp[name]
        assert r["对比情况"] == "两年都有" and r["本次排名"] == now[name]["排名"]
        assert r["本次综合评分"] == now[name]["综合评分"] and r["上次综合评分"] == before[name]["综合评分"]
        assert r["上次评分等级"] == before[name]["评分等级"] and r["上次规则年度"] == 2020
        assert r["增减"] == pytest.approx(round(now[name]["综合评分"] - before[name]["综合评分"], 2))
        assert r["说明"] is None
    assert cmp["新成立的单位"]["对比情况"] == "仅本次有" and cmp["新成立的单位"]["上次综合评分"] is None
    for name in ("测试单位00005", "测试单位00006"):
        assert cmp[name]["对比情况"] == "仅上次有" and cmp[name]["本次综合评分"] is None
        assert cmp[name]["上次综合评分"] == before[name]["综合评分"] and "本次没有收到" in cmp[name]["说明"]
    ws = openpyxl.load_workbook(tmp_path / "输出" / "汇总.xlsx")["与上次对比"]
    assert "上次汇总.xlsx" in ws["A1"].value and ws.page_setup.orientation == "landscape"
    notes = [c.value for c in ws["A"] if c.value and "按部门名称匹配" in str(c.value)]
    assert notes and "没有部门代码" in notes[0]


def test_compare_other_rules_year_or_region_shown_beside_not_subtracted(two_years, tmp_path):
    # a summary written by an earlier collect (header in row 1, no title rows) under another rules year
    before = two_years["before"]
    old = openpyxl.Workbook()
    ws = old.active
    ws.title = "汇总"
    ws.append(["文件", "部门名称", "预算年度", "规则年度", "综合评分", "评分等级"])
    for name, r in before.items():
        ws.append([r["文件"], name, 2019, 2019, r["综合评分"], r["评分等级"]])
    old.save(tmp_path / "旧版汇总.xlsx")
    code, out, sheets = _collect(tmp_path, two_years["now"], extra=["--compare", str(tmp_path / "旧版汇总.xlsx")])
    assert code == 0 and "指标体系不同、分数并列未相减 4" in out
    r = {x["部门名称"]: x for x in sheets["与上次对比"]}["测试单位00001"]
    assert r["上次综合评分"] == before["测试单位00001"]["综合评分"] and r["上次规则年度"] == 2019
    assert r["增减"] is None and "规则年度不同（上次 2019，本次 2020）" in r["说明"] and "不相减" in r["说明"]
    # the same rules year, but another region's indicator system
    other = openpyxl.load_workbook(two_years["last"])
    for sheet in other:
        sheet["A2"] = sheet["A2"].value.replace("地区：深圳市", "地区：广州市")
    other.save(tmp_path / "广州.xlsx")
    code, out, sheets = _collect(tmp_path / "输出", two_years["now"], extra=["--compare", str(tmp_path / "广州.xlsx")])
    r = {x["部门名称"]: x for x in sheets["与上次对比"]}["测试单位00002"]
    assert r["增减"] is None and "地区不同（上次 广州市，本次 深圳市）" in r["说明"]


def test_compare_refuses_what_is_not_a_summary(two_years, tmp_path, factory, capsys):
    d = tmp_path
    (d / "文本.xlsx").write_text("部门名称,综合评分\n某单位,90\n", encoding="utf-8")
    wb = openpyxl.Workbook()
    wb.active["A1"] = "别的表格"
    wb.save(d / "别的.xlsx")
    wb.active.title = "汇总"
    wb.save(d / "无表头.xlsx")
    raw, header = varied(factory.system, factory.base_case, 1, seed=71)[0]
    factory.write(d / "评分工作簿.xlsm", raw, header)
    big = openpyxl.load_workbook(two_years["last"])
    big["汇总"]["XFD1048576"] = 1
    big.save(d / "范围极大.xlsx")
    (d / "上次.csv").write_text("x", encoding="utf-8")
    cases = {"不存在.xlsx": "找不到", "文本.xlsx": "不是有效的 Excel 工作簿", "别的.xlsx": "没有“汇总”工作表",
             "无表头.xlsx": "找不到“部门名称”“综合评分”表头", "评分工作簿.xlsm": "没有“汇总”工作表",
             "范围极大.xlsx": "范围异常", "上次.csv": "不是 .xlsx 文件"}
    for name, words in cases.items():
        out = d / f"不应写出{len(name)}.xlsx"
        code = main(["collect", str(two_years["now"]), "-o", str(out), "--compare", str(d / name)])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "Traceback" not in err and "上次的汇总表" in err, (name, err)
        assert not out.exists()


# ------------------------------------------------------------------------------------------ what a reviewer prints
RENDER_TOOLS = ("soffice", "pdftotext", "pdfinfo")


@pytest.mark.skipif(not all(__import__("shutil").which(x) for x in RENDER_TOOLS),
                    reason="needs LibreOffice and poppler: apt-get install libreoffice-calc poppler-utils fonts-noto-cjk")
def test_summary_prints_readably_through_libreoffice(two_years, tmp_path, factory):
    """40 departments (in two district sub-folders) and a comparison with last year, rendered to PDF."""
    import subprocess

    from perfscore.render import pdf_pages, to_pdf
    d = tmp_path / "收到的"
    variants = varied(factory.system, factory.base_case, 40, seed=81)
    for k, (raw, header) in enumerate(variants):
        sub = d / ("南山区" if k % 3 == 0 else "福田区")
        sub.mkdir(parents=True, exist_ok=True)
        factory.write(sub / f"单位{k:02d}.xlsm", raw, header)
    code, out, sheets = _collect(tmp_path, d, extra=["--compare", str(two_years["last"])])
    assert code == 0 and len(sheets["汇总"]) == 40
    pdf = to_pdf([tmp_path / "输出" / "汇总.xlsx"], tmp_path / "pdf")[0]
    sizes = pdf_pages(pdf)
    texts = [subprocess.run(["pdftotext", "-f", str(k), "-l", str(k), "-layout", str(pdf), "-"], capture_output=True,
                            text=True, timeout=60).stdout for k in range(1, len(sizes) + 1)]
    assert all(s["width"] > s["height"] for s in sizes)  # landscape
    n = len(texts)
    for k, t in enumerate(texts, 1):
        assert re.search(rf"第\s*{k}\s*页\s*共\s*{n}\s*页", t), (k, t[-200:])  # the footer

    def pages(title):  # the title row is repeated on every page of its sheet
        return [t for t in texts if t.lstrip().startswith("深圳市部门整体支出绩效自评汇总" + title)]
    summary = pages("（按综合评分排序）")
    assert 1 <= len(summary) <= 2  # 40 departments: the main table (the indicators print on 各指标得分)
    flat = "".join("".join(p.split()) for p in summary)
    assert all(v[1]["部门名称"] in flat for v in variants) and "排名" in flat and "问题" in flat
    assert len(pages("：排名")) <= 2 and len(pages("：各指标平均得分率")) == 1
    grades = pages("：等级分布")
    assert len(grades) == 2  # the table, then the chart alone on its own page
    assert "文件数" in grades[0] and "占比" in grades[0]
    chart = "".join(grades[1].split())
    assert all(g in chart for g in "优良中差") and "评分等级" in chart and "占比" not in chart
    assert len(pages("：异常")) == 1 and "无" in pages("：异常")[0] and len(pages("：与上次汇总")) >= 1
    other = [t for t in texts if not t.lstrip().startswith("深圳市部门整体支出绩效自评汇总")]
    assert other == []  # no stray pages: every page under its sheet's title (各指标得分: in the page header)
    # no absolute path: not in the text, not in the PDF's links either
    text = "".join(texts)
    for secret in (str(tmp_path), "pytest-of", "/tmp/"):
        assert secret not in text
    assert b"pytest-of" not in pdf.read_bytes() and b"/tmp/" not in pdf.read_bytes()
    assert "南山区/单位00.xlsm" in "".join("".join(t.split()) for t in texts)
