"""perfscore collect over generated workbooks plus hostile and broken files: every bad file is explained in 异常
within bounded time and memory, the good ones are summarised with the engine's own totals, the originals are
never touched. All files are generated here at run time (tests/workbook_variants.py makes the valid ones)."""
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
from perfscore import collect
from perfscore.cli import main
from perfscore.collect import csv_cell, expand_sources
from perfscore.workbook import build_workbook

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


def _with_shared_strings(src, dst, sst: str):
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
    with zipfile.ZipFile(dst, "a") as z:
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
    from perfscore.vba import cfb
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
    rows = list(openpyxl.load_workbook(path)[name].values)
    return [dict(zip(rows[0], r)) for r in rows[1:]]


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
        assert Path(r["文件"]) == path
        assert r["综合评分"] == pytest.approx(res.total, abs=1e-9) and r["评分等级"] == res.grade
        for ind in res.indicators:
            assert r[ind.indicator.name] == pytest.approx(ind.score, abs=1e-9)
    # columns: the header, every indicator in table order, then the results
    head = list(sheets["汇总"][0])
    assert head == ["文件", "部门名称", "预算年度", "规则年度", *[i.name for i in system.indicators],
                    "综合评分", "评分等级", "检查结果", "问题"]


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
    assert rates["公众或服务对象满意度"]["未能计分文件数"] == 1  # the file with the blank input
    grades = {r["等级"]: r["文件数"] for r in sheets["等级分布"]}
    assert list(grades) == ["优", "良", "中", "差"]
    assert grades == {g: sum(1 for r in sheets["汇总"] if r["评分等级"] == g) for g in grades}


def test_summary_workbook_chart_formats_and_widths(batch):
    path = batch["out"] / "汇总.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汇总", "排名", "指标得分率", "等级分布", "异常"]
    charts = wb["等级分布"]._charts
    assert len(charts) == 1 and type(charts[0]).__name__ == "BarChart"
    with zipfile.ZipFile(path) as z:
        chart = next(z.read(n).decode() for n in z.namelist() if n.startswith("xl/charts/chart"))
    assert "等级分布!$B$2:$B$5" in chart.replace("'", "") and "等级分布!$A$2:$A$5" in chart.replace("'", "")
    ws = wb["汇总"]
    head = [c.value for c in ws[1]]
    total = ws.cell(2, head.index("综合评分") + 1)
    assert total.number_format == "0.00" and ws.cell(2, 5).number_format == "0.00"
    assert ws.column_dimensions["A"].width >= 20 and ws.freeze_panes == "C2"
    rates = wb["指标得分率"]
    col = [c.value for c in rates[1]].index("平均得分率") + 1
    assert rates.cell(2, col).number_format == "0.00%"
    grades = wb["等级分布"]
    assert grades.cell(2, 3).number_format == "0.00%"


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


def test_output_inside_source_folder_with_force(batch, tmp_path, factory):
    d = tmp_path / "in"
    d.mkdir()
    for k, (raw, header) in enumerate(varied(factory.system, factory.base_case, 3, seed=5)):
        factory.write(d / f"单位{k}.xlsm", raw, header)
    out = d / "汇总.xlsx"
    buf = io.StringIO()
    assert main(["collect", str(d), "-o", str(out)], out=buf) == 0 and "汇总 3 个文件" in buf.getvalue()
    buf = io.StringIO()
    assert main(["collect", str(d), "-o", str(out), "--force"], out=buf) == 0
    assert "汇总 3 个文件" in buf.getvalue() and "输出文件本身 1 个" in buf.getvalue()
    assert [p.name for p in d.iterdir() if p.name.startswith(".")] == []  # no temporary file left behind


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
    monkeypatch.setattr(collect, "_score_file", _slow_score(collect._score_file, None))
    monkeypatch.setattr(collect, "FILE_TIMEOUT", 0.5)
    monkeypatch.setattr(collect, "HARD_TIMEOUT", 2.0)
    monkeypatch.setattr(collect, "WORKER_MEMORY_MB", 256)
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
                        "problems", "reason", "kind"}
    assert all(isinstance(v, (str, int, float, tuple, type(None))) for v in row.values())
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
        "from perfscore import collect\n"
        "collect._score_file = lambda p: time.sleep(60)\n"
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
