"""What a department using LibreOffice sends back (issue 25 item 2): a blank template of each kind filled with the
reference case in LibreOffice Calc (UNO) and saved — as .xlsx, and the .xlsm with LibreOffice's VBA filter and
as .xlsx — passes ``check`` with the engine's score, is named as last saved by LibreOffice, and goes through
freeze, collect and report; a second save of the saved file passes too."""
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.cli import main
from perfscore.receiving.check import check_workbook

from test_lo_fill_save import _lo_available, fill_save, template

pytestmark = pytest.mark.skipif(not _lo_available(), reason="需要 LibreOffice：apt-get install libreoffice-calc python3-uno")

SYSTEM = load_system(2020)
CASE = load_case(REFERENCE_CASE)
RESULT = score_case(SYSTEM, CASE.raw_values())


def _typed(v):
    """A case value as Calc stores what a person types: 25% becomes the number 0.25, 是/否 stay text. (Text "25%"
    in a cell is issue 19: the engine reads it, the native formulas refuse it.)"""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, str) and v.endswith("%"):
        return float(v[:-1]) / 100
    return v


def _jobs() -> dict:
    """Every input of the reference case as a person types it, and the header fields."""
    names = {spec.id: spec.name for spec in SYSTEM.inputs.values()}
    values = {names[k]: _typed(v) for k, v in CASE.raw_values().items() if k in names}
    values.update({"部门名称": CASE.department, "预算年度": CASE.year, "填报人": CASE.preparer or "张三"})
    return {"set": values, "recalc": True}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("lo")
    excel, python = template(d, "--engine", "excel"), template(d)
    out = {"excel.xlsx": d / "公式版_LibreOffice.xlsx", "python.xlsm": d / "Python版_LibreOffice.xlsm",
           "python.xlsx": d / "Python版_另存为.xlsx"}
    fill_save(excel, out["excel.xlsx"], _jobs())
    fill_save(python, out["python.xlsm"], _jobs())
    fill_save(python, out["python.xlsx"], _jobs())
    return out


@pytest.mark.parametrize("which", ["excel.xlsx", "python.xlsm", "python.xlsx"])
def test_filled_and_saved_in_libreoffice_passes_check(saved, which, capsys):
    path = saved[which]
    with zipfile.ZipFile(path) as z:
        assert b"LibreOffice" in z.read("docProps/app.xml")  # really LibreOffice's file, not ours
    rep = check_workbook(path)
    assert rep.passed, [(i.level, i.where, i.message) for i in rep.items]
    assert rep.result.total == pytest.approx(RESULT.total) and rep.result.grade == RESULT.grade
    assert not any("改" in i.message and i.level == "错误" for i in rep.items)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "最后由 LibreOffice 保存" in out and "检查结果：通过" in out
    if which == "excel.xlsx":  # LibreOffice recalculated the native formulas: the stored scores are the engine's
        assert rep.status == "通过", rep.items


def test_saved_twice_in_libreoffice_still_passes(saved, tmp_path):
    again = tmp_path / "再次保存.xlsx"
    fill_save(saved["excel.xlsx"], again, {"set": {"填报人": "李四"}, "recalc": True})
    rep = check_workbook(again)
    assert rep.passed and rep.filled.header["填报人"] == "李四", rep.items


def test_libreoffice_files_go_through_freeze_collect_report(saved, tmp_path):
    frozen = tmp_path / "提交版.xlsx"
    assert main(["freeze", str(saved["excel.xlsx"]), "-o", str(frozen)], out=io.StringIO()) == 0
    assert check_workbook(frozen).passed
    folder = tmp_path / "收到的"
    folder.mkdir()
    for k, path in enumerate(saved.values()):
        (folder / f"单位{k}{path.suffix}").write_bytes(path.read_bytes())
    summary = tmp_path / "汇总.xlsx"
    assert main(["collect", str(folder), "-o", str(summary)], out=io.StringIO()) == 1  # one department, three files
    wb = openpyxl.load_workbook(summary)
    rows = [r for r in list(wb["汇总"].values)[3:] if r and r[1]]
    assert len(rows) == 3 and all(r[2] == pytest.approx(RESULT.total) for r in rows), rows  # all verified, scored
    problems = [r for r in list(wb["异常"].values)[3:] if r and r[0]]
    assert len(problems) == 3 and all(r[2] == "部门重复" for r in problems), problems
    report = tmp_path / "自评报告.docx"
    assert main(["report", str(saved["excel.xlsx"]), "-o", str(report)], out=io.StringIO()) == 0
    assert Path(report).stat().st_size > 10_000
