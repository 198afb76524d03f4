"""lo_fill_save.py: a blank template filled and saved by LibreOffice (UNO), as a department using LibreOffice would
send it back. The saved file holds the inputs where the template's names point; its formulas keep their keys; the
.xlsm keeps its VBA project, rewritten by LibreOffice in the way docs/libreoffice-save.md describes."""
import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore import load_system, score_case
from perfscore.cli import main
from perfscore.excel.vba.extract import workbook_modules
from perfscore.receiving.formula_key import formula_key

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "src" / "perfscore" / "excel" / "uno" / "lo_fill_save.py"
SYSTEM = load_system(2020)


def _lo_available():
    if shutil.which("soffice") is None or not os.path.exists("/usr/bin/python3"):
        return False
    return subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, timeout=30).returncode == 0


pytestmark = pytest.mark.skipif(not _lo_available(),
                                reason="需要 LibreOffice：apt-get install libreoffice-calc python3-uno")

INPUTS = {"部门名称": "测试局", "政府采购预算数": 13200, "政府采购实际数": 12560, "政府采购政策落实得分": 1,
          "涉密部门": "否", "满意度": None}
CELLS = [["基础数据", "C5", "张三"]]


def fill_save(src: Path, out: Path, jobs: dict, *extra: str) -> dict:
    jobs_file = out.with_suffix(".json")
    jobs_file.write_text(json.dumps(jobs, ensure_ascii=False), "utf-8")
    p = subprocess.run(["/usr/bin/python3", str(SCRIPT), str(src), str(jobs_file), str(out), *extra],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def template(folder: Path, *args: str) -> Path:
    out = folder / ("模板_公式版.xlsx" if "excel" in args else "模板.xlsm")
    assert main(["template", "--year", "2020", *args, "-o", str(out)], out=io.StringIO()) == 0
    return out


def name_cells(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    out = {}
    for name, d in wb.defined_names.items():
        (sheet, coord), = d.destinations
        out[name] = (sheet, coord.replace("$", ""))
    return out


def formulas(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.value.startswith("=")}


def assert_inputs(template_path: Path, saved: Path, inputs: dict):
    """Read back at the *template's* coordinates, never where the saved file's names point."""
    where = name_cells(template_path)
    assert name_cells(saved) == where
    wb = openpyxl.load_workbook(saved)
    for name, value in inputs.items():
        sheet, coord = where[name]
        assert wb[sheet][coord].value == value, (name, wb[sheet][coord].value)
    for sheet, coord, value in CELLS:
        assert wb[sheet][coord].value == value


def assert_same_formulas(original: Path, saved: Path):
    a, b = formulas(original), formulas(saved)
    assert set(a) == set(b)
    assert [k for k in a if formula_key(a[k], k[0]) != formula_key(b[k], k[0])] == []


def score_cell(path: Path, indicator: str, data_only=True):
    ws = openpyxl.load_workbook(path, data_only=data_only)["评分表"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 3).value == indicator)
    return ws.cell(row, 7).value


def lo_vba_export(name: str, source: str, is_class: bool) -> str:
    """A module as LibreOffice 7.4 writes it back into the vbaProject.bin of an .xlsm it saves (measured): a final
    empty line added; a class module keeps of its Attribute lines only VB_Name, then gets "Option ClassModule"."""
    lines = source.split("\r\n")
    if is_class:
        lines = [ln for ln in lines if not ln.startswith("Attribute ") or ln.startswith("Attribute VB_Name ")]
        lines.insert(1, "Option ClassModule")
    return "\r\n".join(lines) + "\r\n"


def test_formula_workbook_filled_recalculated_and_saved(tmp_path):
    blank = template(tmp_path, "--engine", "excel")
    saved = tmp_path / "填好_公式版.xlsx"
    info = fill_save(blank, saved, {"set": INPUTS, "cells": CELLS, "recalc": True}, "--view")
    assert info["filter"] == info["loaded_as"] == "Calc MS Excel 2007 XML"
    assert_inputs(blank, saved, INPUTS)
    assert_same_formulas(blank, saved)
    raw = {iid: INPUTS[inp.name] for iid, inp in SYSTEM.inputs.items() if inp.name in INPUTS}
    expected = score_case(SYSTEM, raw).by_id("procurement").score
    assert str(score_cell(blank, "政府采购执行情况")).startswith("未填写：")
    assert score_cell(saved, "政府采购执行情况") == pytest.approx(expected)  # recalculated by LibreOffice
    panes = {ws.title: ws.freeze_panes for ws in openpyxl.load_workbook(blank).worksheets}
    assert set(panes.values()) != {None}
    assert {ws.title: ws.freeze_panes for ws in openpyxl.load_workbook(saved).worksheets} == panes  # --view

    # saved again, as users do: a LibreOffice file through LibreOffice, one input cleared; hidden this time
    again = tmp_path / "再存_公式版.xlsx"
    fill_save(saved, again, {"set": {"政府采购实际数": None}})
    assert_inputs(blank, again, INPUTS | {"政府采购实际数": None})
    assert_same_formulas(blank, again)
    # a hidden document is stored without view settings: the frozen panes are gone
    assert {ws.freeze_panes for ws in openpyxl.load_workbook(again).worksheets} == {None}


def test_macro_workbook_filled_and_saved_keeps_a_rewritten_vba_project(tmp_path):
    blank = template(tmp_path)
    saved = tmp_path / "填好.xlsm"
    info = fill_save(blank, saved, {"set": INPUTS, "cells": CELLS})
    assert info["filter"] == info["loaded_as"] == "Calc MS Excel 2007 VBA XML"
    assert_inputs(blank, saved, INPUTS)
    assert_same_formulas(blank, saved)
    wb = openpyxl.load_workbook(saved)
    assert wb["xlwings.conf"].sheet_state == "hidden"
    # without Python, LibreOffice cannot run PERF_ functions: the cells that depend on the edited inputs
    # were recalculated to #VALUE! as soon as an input changed (no "recalc" asked); the others keep their values
    assert score_cell(saved, "政府采购执行情况") == "#VALUE!"
    assert score_cell(saved, "预算编制合理性") == score_cell(blank, "预算编制合理性")
    original, rewritten = workbook_modules(blank), workbook_modules(saved)
    assert set(original) == set(rewritten)
    for name, source in original.items():
        assert rewritten[name] == lo_vba_export(name, source, name == "Dictionary"), name
    with zipfile.ZipFile(saved) as z, zipfile.ZipFile(blank) as zb:
        assert z.read("xl/vbaProject.bin") != zb.read("xl/vbaProject.bin")  # rewritten, not kept

    # saved as .xlsx from the .xlsm: no VBA project at all
    plain = tmp_path / "填好.xlsx"
    assert fill_save(blank, plain, {})["filter"] == "Calc MS Excel 2007 XML"
    assert workbook_modules(plain) is None
    assert_same_formulas(blank, plain)


def test_refuses_unknown_names_suffixes_and_values(tmp_path):
    blank = template(tmp_path, "--engine", "excel")
    jobs = tmp_path / "jobs.json"
    for content, out, message in (({"set": {"没有的名字": 1}}, "a.xlsx", "no defined name '没有的名字'"),
                                  ({"set": {}}, "a.ods", "output must end in .xlsx or .xlsm"),
                                  ({"cells": [["没有的表", "A1", 1]]}, "a.xlsx", "no sheet '没有的表'"),
                                  ({"set": {"满意度": [1]}}, "a.xlsx", "满意度: a value must be a number"),
                                  ({"cells": [["基础数据", "C5"]]}, "a.xlsx", "each entry must be"),
                                  ({"sets": {}}, "a.xlsx", "unknown keys in the jobs file")):
        jobs.write_text(json.dumps(content, ensure_ascii=False), "utf-8")
        p = subprocess.run(["/usr/bin/python3", str(SCRIPT), str(blank), str(jobs), str(tmp_path / out)],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == 1 and message in p.stderr, (content, p.stderr)
        assert not (tmp_path / out).exists()
