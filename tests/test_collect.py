"""collect over generated workbooks plus hostile and broken files: every bad file explained, the batch completes."""
import csv
import io
import random
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore import score_case
from perfscore.cli import main
from perfscore.collect import csv_safe, expand_sources

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from synth import Synth, _set_cell  # noqa: E402


def _rezip(src, dst, edit):
    """Copy a zip, passing each (name, bytes) through ``edit``."""
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, edit(info.filename, z.read(info.filename)))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("收到")
    synth = Synth(tmp_path_factory.mktemp("base"))
    rnd = random.Random(7)
    expected = {}
    for i in range(12):
        raw = synth.variant_inputs(rnd)
        res = synth.write(d / f"好{i:02d}.xlsm", raw, f"测试单位{i:02d}")
        expected[f"测试单位{i:02d}"] = res
    # a department name that a spreadsheet would run as a formula
    raw = synth.variant_inputs(rnd)
    expected["=HYPERLINK(\"http://x\",\"点我\")"] = synth.write(d / "注入.xlsm", raw, "=HYPERLINK(\"http://x\",\"点我\")")
    hostile = {}
    # a workbook whose stored score was edited by hand
    raw = synth.variant_inputs(rnd)
    synth.write(d / "改分.xlsm", raw, "改过分的单位", stored_override={synth.score_cell["政府采购执行情况"]: 2.0})
    hostile["改分.xlsm"] = "政府采购执行情况"
    # corrupt zip
    good = (d / "好00.xlsm").read_bytes()
    (d / "截断.xlsm").write_bytes(good[: len(good) // 2])
    hostile["截断.xlsm"] = "不是有效的 Excel 工作簿"
    # not a workbook at all
    (d / "其实是PDF.xlsx").write_bytes(b"%PDF-1.4\n" + b"0" * 2000)
    hostile["其实是PDF.xlsx"] = "不是有效的 Excel 工作簿"
    # an encrypted (password-protected) workbook is an OLE compound file
    from perfscore.vba import cfb
    root = cfb.Storage()
    root.add_stream("EncryptionInfo", b"\x04\x00\x04\x00" + b"\x00" * 200)
    root.add_stream("EncryptedPackage", b"\x00" * 5000)
    (d / "加密.xlsx").write_bytes(cfb.write_cfb(root))
    hostile["加密.xlsx"] = "受密码保护"
    # XML entity bomb (billion laughs) in the sheet of an otherwise valid xlsx
    plain = d.parent / "plain.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = "别的表格"
    wb.save(plain)
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 if i > 1 else "")) * 10}">' for i in range(1, 10))
            + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
              '<si><t>&lol9;</t></si></sst>')
    bomb = bomb.replace("<sst", "<worksheet").replace("</sst>", "</worksheet>")
    _rezip(plain, d / "实体炸弹.xlsx", lambda n, b: bomb.encode() if n == "xl/worksheets/sheet1.xml" else b)
    hostile["实体炸弹.xlsx"] = "DTD/实体声明"
    # zip bomb: a sheet that inflates to 100 MB of zeros
    with zipfile.ZipFile(d / "压缩炸弹.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            chunk = b"\0" * (1 << 20)
            for _ in range(100):
                f.write(chunk)
    hostile["压缩炸弹.xlsx"] = "疑似压缩炸弹"
    # an oversized sheet that compresses normally
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i * 7919 % 100003}</v></c></row>' for i in range(1, 900_000))
    with zipfile.ZipFile(d / "超大.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet><sheetData>{rows}</sheetData></worksheet>")
    hostile["超大.xlsx"] = "过大"
    # a workbook of another layout
    plain2 = d / "别的版式.xlsx"
    plain2.write_bytes(plain.read_bytes())
    hostile["别的版式.xlsx"] = "不是 perfscore 评分工作簿"
    # an unknown rules year
    part = synth.input_part
    _rezip(d / "好01.xlsm", d / "未知年度.xlsm",
           lambda n, b: _set_cell(b.decode(), "C7", 2031.0).encode() if n == part else b)
    hostile["未知年度.xlsm"] = "没有 2031 年度的指标体系文件"
    # an Office lock file is skipped, not reported
    (d / "~$好00.xlsm").write_bytes(b"lock")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in d.iterdir()}
    out_dir = d.parent / "输出"
    out_dir.mkdir()
    t0 = time.perf_counter()
    buf = io.StringIO()
    code = main(["collect", str(d), "-o", str(out_dir / "汇总.xlsx"), "--csv", str(out_dir / "汇总.csv")], out=buf)
    elapsed = time.perf_counter() - t0
    return {"dir": d, "out": out_dir, "code": code, "stdout": buf.getvalue(), "expected": expected,
            "hostile": hostile, "before": before, "elapsed": elapsed}


def _sheet(batch, name):
    ws = openpyxl.load_workbook(batch["out"] / "汇总.xlsx")[name]
    rows = list(ws.values)
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def test_batch_completes_and_reports(batch):
    assert batch["code"] == 1  # some files landed in 异常
    assert "共 22 个文件" in batch["stdout"] and "无法读取 8" in batch["stdout"] and "未通过 1" in batch["stdout"]
    assert batch["elapsed"] < 60


def test_every_bad_file_is_explained(batch):
    bad = {Path(r["文件"]).name: r for r in _sheet(batch, "异常")}
    assert set(bad) == set(batch["hostile"])
    for name, words in batch["hostile"].items():
        assert words in bad[name]["原因"], (name, bad[name]["原因"])
    assert bad["改分.xlsm"]["类别"] == "未通过" and "手工改过" in bad["改分.xlsm"]["原因"]


def test_good_files_summarised_with_recomputed_totals(batch):
    rows = {r["部门名称"]: r for r in _sheet(batch, "汇总")
            if r["部门名称"] in batch["expected"] and r["检查结果"] == "通过"}
    assert len(rows) == 13
    for dept, res in batch["expected"].items():
        assert rows[dept]["综合评分"] == pytest.approx(res.total)
        assert rows[dept]["评分等级"] == res.grade
        assert rows[dept]["政府采购执行情况"] == pytest.approx(res.by_id("procurement").score)


def test_ranking_rates_grades_and_chart(batch):
    ranking = _sheet(batch, "排名")
    totals = [r["综合评分"] for r in ranking]
    assert totals == sorted(totals, reverse=True) and ranking[0]["排名"] == 1
    scored = [r for r in _sheet(batch, "汇总") if r["综合评分"] is not None]
    rates = {r["指标"]: r for r in _sheet(batch, "指标得分率")}
    sat = [r["公众或服务对象满意度"] / 6 for r in scored]
    assert rates["公众或服务对象满意度"]["平均得分率"] == pytest.approx(sum(sat) / len(sat))
    grades = {r["等级"]: r["单位数"] for r in _sheet(batch, "等级分布")}
    assert sum(grades.values()) == len(scored)
    ws = openpyxl.load_workbook(batch["out"] / "汇总.xlsx")["等级分布"]
    with zipfile.ZipFile(batch["out"] / "汇总.xlsx") as z:
        assert any(n.startswith("xl/charts/chart") for n in z.namelist())
    assert ws.max_row == 5


def test_xlsx_keeps_formula_like_text_as_text(batch):
    wb = openpyxl.load_workbook(batch["out"] / "汇总.xlsx")
    cells = [c for row in wb["汇总"].iter_rows() for c in row if c.value == '=HYPERLINK("http://x","点我")']
    assert cells and all(c.data_type == "s" for c in cells)


def test_csv_escapes_formula_text(batch):
    text = (batch["out"] / "汇总.csv").read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    names = {r["部门名称"] for r in rows}
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in names
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values() if v)
    assert csv_safe("+1") == "'+1" and csv_safe("@x") == "'@x" and csv_safe(-1.0) == -1.0 and csv_safe("正常") == "正常"


def test_originals_never_modified(batch):
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in batch["dir"].iterdir()}
    assert after == batch["before"]


def test_no_overwrite_without_force(batch, capsys):
    code = main(["collect", str(batch["dir"]), "-o", str(batch["out"] / "汇总.xlsx")])
    assert code == 2 and "已存在" in capsys.readouterr().err


def test_sources_expand_dirs_and_globs(batch):
    files = expand_sources([str(batch["dir"])])
    assert not any(f.name.startswith("~$") for f in files) and len(files) == 22
    assert len(expand_sources([str(batch["dir"] / "好*.xlsm")])) == 12


def test_defusedxml_in_use():
    import openpyxl.xml
    assert openpyxl.xml.DEFUSEDXML is True
