"""The built macro-enabled workbook, checked by real parts: olevba, LibreOffice, the `formulas` engine, openpyxl."""
import datetime
import json
import os
import shutil
import subprocess
import time
import types
import zipfile
from pathlib import Path

import openpyxl
import openpyxl.packaging.core
import openpyxl.writer.excel
import pytest
from oletools.olevba import VBA_Parser

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.cli import demo_engine, demo_outputs, main
from perfscore.receiving.compare import diff_workbooks
from perfscore.errors import PerfscoreError
from perfscore.excel.vba import parse_module_file, stored_source, xlwings_modules
from perfscore.excel.workbook import YEAR_NAME, build_workbook, write_workbook

ROOT = Path(__file__).resolve().parents[1]
LO_SCRIPT = ROOT / "src" / "perfscore" / "excel" / "uno" / "lo_list_modules.py"


@pytest.fixture(scope="module")
def system():
    return load_system(2020)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, system):
    case = load_case(REFERENCE_CASE)
    built = build_workbook(system, case)
    path = tmp_path_factory.mktemp("wb") / "参考案例.xlsm"
    write_workbook(built, path)
    return {"path": path, "built": built, "case": case, "result": score_case(system, case.raw_values())}


# ------------------------------------------------------------------------------- 5b: olevba reads every module
def test_olevba_reads_every_module_identical_to_source(reference):
    expected = {m.name: stored_source(m) for m in xlwings_modules()}
    udfs_src = (ROOT / "macros" / "xlwings_udfs.bas").read_text("utf-8")
    expected["xlwings_udfs"] = stored_source(parse_module_file(udfs_src, "xlwings_udfs.bas"))
    parser = VBA_Parser(str(reference["path"]))
    try:
        got = {stream.split("/")[-1]: code for _, stream, _, code in parser.extract_macros()}
    finally:
        parser.close()
    wb = openpyxl.load_workbook(reference["path"], keep_vba=True)
    documents = {wb.code_name} | {ws.sheet_properties.codeName for ws in wb.worksheets}
    assert set(got) == set(expected) | documents
    for name, src in expected.items():
        # olevba returns the stored text; line ends are the only thing normalised
        assert got[name].replace("\r\n", "\n") == src.replace("\r\n", "\n"), name
    assert got["xlwings_udfs"].count("Function PERF_") == 26


# ------------------------------------------------------------------------------- 5c: LibreOffice lists modules
def _lo_available():
    if shutil.which("soffice") is None or not os.path.exists("/usr/bin/python3"):
        return False
    return subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, timeout=30).returncode == 0


def test_libreoffice_loads_and_lists_every_module(reference):
    if not _lo_available():
        pytest.skip("LibreOffice check needs: apt-get install libreoffice-calc python3-uno")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(["/usr/bin/python3", str(LO_SCRIPT), str(reference["path"]), "--timeout", "60"],
                         capture_output=True, text=True, timeout=90, env=env)
    assert run.returncode == 0, run.stderr
    mods = json.loads(run.stdout)["modules"]
    wb = openpyxl.load_workbook(reference["path"], keep_vba=True)
    documents = {wb.code_name} | {ws.sheet_properties.codeName for ws in wb.worksheets}
    assert set(mods) == {"xlwings", "Dictionary", "xlwings_udfs"} | documents
    assert "Function PERF_PROCUREMENT(" in mods["xlwings_udfs"]


# ------------------------------------------------------------------------------- 5d: the formula engine agrees
@pytest.fixture(scope="module")
def evaluated(reference):
    from perfscore.excel.formula_engine import evaluate
    return evaluate(reference["path"])


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-9
    return a == b


def test_formula_engine_reproduces_every_formula_cell(reference, evaluated):
    cached = reference["built"].cached
    perf = [k for k, f in reference["built"].formulas.items() if "PERF_" in f]
    assert len(perf) > 60
    wrong = {k: (v, evaluated.get(k)) for k, v in cached.items() if not _same(evaluated.get(k), v)}
    assert not wrong, list(wrong.items())[:5]


def test_formula_engine_agrees_on_the_blank_template(tmp_path):
    """Every cell of an empty workbook shows what its formula gives: the messages, not stale numbers."""
    from perfscore.excel.formula_engine import evaluate
    built = build_workbook(load_system(2020))
    path = tmp_path / "模板.xlsm"
    write_workbook(built, path)
    got = evaluate(path)
    wrong = {k: (v, got.get(k)) for k, v in built.cached.items() if not _same(got.get(k), v)}
    assert not wrong, list(wrong.items())[:5]
    assert built.cached[("评分表", "G25")] == "各项分数均未得出，无法合计"


def test_every_score_subtotal_total_and_grade(reference, evaluated, system):
    res = reference["result"]
    ws = openpyxl.load_workbook(reference["path"])["评分表"]
    for row in range(4, 4 + 21):
        ind = next(i for i in system.indicators if i.name == ws.cell(row, 3).value)
        assert ws.cell(row, 7).value.startswith(f"={ind.function}(")
        assert evaluated[("评分表", f"G{row}")] == res.by_id(ind.id).score
    assert evaluated[("评分表", "G25")] == pytest.approx(97.93)
    assert evaluated[("评分表", "G26")] == "优"
    sub = {ws2.cell(r, 4).value: evaluated[("扣分说明", f"F{r}")]
           for ws2 in [openpyxl.load_workbook(reference["path"])["扣分说明"]] for r in range(26, 40)
           if ws2.cell(r, 4).value}
    assert sub["部门决策"] == 20 and sub["部门管理"] == pytest.approx(17.95) and sub["部门绩效"] == pytest.approx(59.98)
    assert sub["效率性"] == pytest.approx(19.98)
    assert evaluated[("扣分说明", "I7")] == "政府采购执行率 95.15%，扣 0.05 分"


# ------------------------------------------------------------------------------- cached values
def test_cached_values_present_and_no_forced_recalc(reference):
    wb = openpyxl.load_workbook(reference["path"], data_only=True)
    ws = wb["评分表"]
    assert ws["G8"].value == 1.95 and ws["G25"].value == 97.93 and ws["G26"].value == "优"
    with zipfile.ZipFile(reference["path"]) as z:
        assert "fullCalcOnLoad" not in z.read("xl/workbook.xml").decode()
    blank = build_workbook(load_system(2020))
    msg = blank.cached[("评分表", "G8")]
    assert msg == "请填写「政府采购预算数」等 3 项"  # 政府采购政策落实得分 too: a blank cell is not its default


# ------------------------------------------------------------------------------- read-back equals the data
def test_readback_labels_weights_rule_texts(reference, system):
    wb = openpyxl.load_workbook(reference["path"])
    ws = wb["评分表"]
    assert ws["A1"].value == system.title
    for k, ind in enumerate(system.indicators):
        row = 4 + k
        assert ws.cell(row, 3).value == ind.name
        assert ws.cell(row, 4).value == ind.weight
        assert ws.cell(row, 5).value == ind.description
        assert ws.cell(row, 6).value.split("\n【勘误】")[0] == ind.criteria
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A4:A7", "A8:A17", "A18:A24", "B4:B5", "B8:B10"} <= merged
    assert ws["A4"].value == "部门决策 (20分)"
    assert [ws.cell(r, 1).value for r in (25, 26, 27)] == ["综合评分", "评分等级", "填表人"]
    assert "【勘误】" in ws.cell(6, 6).value  # 绩效目标完整性 "(8分)"


def test_defined_names_validation_protection_and_conf(reference, system):
    wb = openpyxl.load_workbook(reference["path"])
    names = set(wb.defined_names)
    assert {s.name for s in system.inputs.values()} | {YEAR_NAME, "部门名称", "预算年度", "填报人", "联系电话"} <= names
    data = wb["基础数据"]
    dest = wb.defined_names["政府采购预算数"].attr_text
    cell = data[dest.split("!")[1].replace("$", "")]
    assert cell.value == 13200 and cell.protection.locked is False
    assert data.protection.sheet and wb["评分表"].protection.sheet
    assert wb["评分表"]["G8"].protection.locked is True
    assert len(data.data_validations.dataValidation) == len(system.inputs)
    conf = wb["xlwings.conf"]
    assert conf.sheet_state == "hidden" and conf["A1"].value == "UDF MODULES" and conf["B1"].value == "perfscore.udfs"
    assert (conf["A2"].value, conf["B2"].value) == ("ADD_WORKBOOK_TO_PYTHONPATH", "FALSE")
    assert conf["A3"].value is None  # the first blank row ends xlwings's key list
    assert wb.defined_names[YEAR_NAME].attr_text == "'基础数据'!$C$7"


def test_print_setup(reference):
    wb = openpyxl.load_workbook(reference["path"])
    ws = wb["评分表"]
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$2:$3"
    assert "第 &P 页 共 &N 页" in ws.oddFooter.center.text
    assert ws.freeze_panes == "A4"


# ------------------------------------------------------------------------------- nothing lost
def test_no_overwrite_without_force_and_atomic(tmp_path, system):
    target = tmp_path / "已有.xlsm"
    target.write_bytes(b"someone's work")
    with pytest.raises(PerfscoreError, match="已存在"):
        write_workbook(build_workbook(system), target)
    assert target.read_bytes() == b"someone's work"
    write_workbook(build_workbook(system), target, force=True)
    assert zipfile.is_zipfile(target)
    assert [p.name for p in tmp_path.iterdir()] == ["已有.xlsm"]  # no temporary files left behind


def test_template_command_refuses_unknown_year(tmp_path, capsys):
    assert main(["template", "--year", "2031", "-o", str(tmp_path / "x.xlsm")]) == 2
    assert "现有年度为 2020" in capsys.readouterr().err


# ------------------------------------------------------------------------------- committed workbooks are current
@pytest.mark.parametrize("name,system_,case", demo_outputs(), ids=lambda v: v if isinstance(v, str) else "")
def test_committed_workbook_equals_fresh_regeneration(tmp_path, name, system_, case):
    committed = ROOT / "workbook" / name
    fresh = tmp_path / name
    write_workbook(build_workbook(system_, case, engine=demo_engine(name)), fresh)
    diff = diff_workbooks(committed, fresh)
    assert not diff, "workbook/ is stale (run `perfscore demo --force` and commit):\n" + "\n".join(diff)


def test_regeneration_is_stable(tmp_path, system, monkeypatch):
    """Built a day and a second later (the clocks openpyxl and zipfile read, moved on instead of sleeping), the
    workbook is the same but for the times in docProps/core.xml."""
    a, b = tmp_path / "a.xlsm", tmp_path / "b.xlsm"
    write_workbook(build_workbook(system), a)
    later = datetime.timedelta(days=1, seconds=1)

    class Later(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.now(tz) + later

    clock = types.SimpleNamespace(datetime=Later, timezone=datetime.timezone)
    monkeypatch.setattr(openpyxl.packaging.core, "datetime", clock)
    monkeypatch.setattr(openpyxl.writer.excel, "datetime", clock)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + later.total_seconds())
    write_workbook(build_workbook(system), b)
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        assert za.read("docProps/core.xml") != zb.read("docProps/core.xml")  # the clock did move
    assert diff_workbooks(a, b) == []
