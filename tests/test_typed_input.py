"""What accountants actually type (issue 19): one reading in the engine, the native formulas and check on a file
saved by LibreOffice; dates typed into amounts; rates typed as 95.15; the workbook's calcId; quarterly progress
that goes down."""
import io
import re
import zipfile

import pytest

from perfscore import REFERENCE_CASE, load_case, load_system, score_case
from perfscore.cli import main
from perfscore.excel.cache import sheet_parts
from perfscore.excel.native import recalc
from perfscore.excel.workbook import CALC_ID, build_workbook, write_workbook
from perfscore.receiving.check import check_workbook

from test_lo_fill_save import _lo_available, fill_save, template

SYSTEM = load_system(2020)
CASE = load_case(REFERENCE_CASE)
NAMES = {s.id: s.name for s in SYSTEM.inputs.values()}

# typed forms a person enters or pastes, and what every engine must make of them (None: refused)
TYPED = [
    ("procurement_actual", "12,560", 12560.0), ("procurement_actual", "１２５６０", 12560.0),
    ("procurement_actual", " 12560 ", 12560.0), ("procurement_actual", "12560元", 12560.0),
    ("procurement_actual", "１２，５６０．００", 12560.0), ("procurement_actual", "\u300012560", 12560.0),
    ("procurement_actual", "1.256e4", None), ("procurement_actual", "2020-12-31", None),
    ("procurement_actual", "3/4", None), ("procurement_actual", "12560%", None), ("procurement_actual", "①", None),
    ("staff_actual", "２３", 23.0), ("staff_actual", "20人", 20.0), ("staff_actual", "20.5", None),
    ("satisfaction_rate", "95%", 0.95), ("satisfaction_rate", "95.15", 0.9515), ("satisfaction_rate", "９５％", 0.95),
    ("satisfaction_rate", "0.9515", 0.9515),
    ("rationality_1", "是 ", 1.0), ("rationality_1", "\u3000否", 0.0), ("rationality_1", "1", 1.0),
    ("rationality_1", "0.5", 0.5), ("rationality_1", "Yes", 1.0), ("rationality_1", "可以", None),
    ("classified", "否 ", False), ("classified", "是", True), ("classified", "１", True), ("classified", "也许", None),
    ("budget_disclosure", " 按规定公开", "按规定公开"), ("budget_disclosure", "１", "按规定公开"),
]


@pytest.mark.parametrize("iid,typed,want", TYPED, ids=[f"{i}-{t!r}" for i, t, _ in TYPED])
def test_engine_reads_typed_text_by_the_one_rule(iid, typed, want):
    spec = SYSTEM.inputs[iid]
    if want is None:
        with pytest.raises(Exception) as e:
            spec.parse(typed)
        assert "收到" in str(e.value) and "Traceback" not in str(e.value)
    else:
        got = spec.parse(typed)
        assert got == want or (isinstance(want, float) and got == pytest.approx(want)), got


@pytest.mark.parametrize("iid,typed,want", TYPED, ids=[f"{i}-{t!r}" for i, t, _ in TYPED])
def test_native_formulas_read_typed_text_as_the_engine(iid, typed, want):
    """The 评分表 cell of the indicator that uses the input: the engine's score, or a message where it refuses."""
    built = _native()
    raw = CASE.raw_values()
    raw[iid] = typed
    res = score_case(SYSTEM, raw)
    got = recalc(built, {NAMES[k]: v for k, v in raw.items() if k in NAMES})
    for k, r in enumerate(res.indicators):
        cell = got[("评分表", f"G{4 + k}")]
        if r.error is None:
            assert cell == pytest.approx(r.score), (r.indicator.name, cell)
        else:
            assert isinstance(cell, str) and cell, (r.indicator.name, cell)
    helper = got[("基础数据", "J" + built.names[NAMES[iid]][1][1:])]
    assert (helper == "") == (want is not None), helper
    if want is None:  # refused: said so, naming the 基础数据 row
        assert f"第 {built.names[NAMES[iid]][1][1:]} 行" in helper


_BUILT = []


def _native():
    if not _BUILT:
        _BUILT.append(build_workbook(SYSTEM, None, engine="excel"))
    return _BUILT[0]


@pytest.mark.skipif(not _lo_available(), reason="需要 LibreOffice：apt-get install libreoffice-calc python3-uno")
def test_typed_text_filled_in_libreoffice_checks_as_the_engine(tmp_path):
    """The same typed text in a real spreadsheet: LibreOffice recalculates the 公式版, saves it, and check gives
    the engine's total with no finding of a changed score."""
    excel = template(tmp_path, "--engine", "excel")
    raw = {k: v for k, v in CASE.raw_values().items()}
    typed = {"procurement_actual": "12,560", "procurement_budget": "１３２００", "staff_actual": " 20 ",
             "satisfaction_rate": "99%", "rationality_1": "是 ", "classified": "否\u3000", "q4_progress": "98.76%",
             "fixed_assets_total": "132,825.86元"}
    raw.update(typed)
    values = {NAMES[k]: (v if not isinstance(v, str) or not v.endswith("%") or k in typed else float(v[:-1]) / 100)
              for k, v in raw.items() if k in NAMES}
    values.update({"部门名称": "测试局", "预算年度": 2020, "填报人": "张三"})
    out = tmp_path / "手填.xlsx"
    fill_save(excel, out, {"set": values, "recalc": True})
    rep = check_workbook(out)
    want = score_case(SYSTEM, raw)
    assert rep.passed and rep.status == "通过", [(i.level, i.where, i.message) for i in rep.items]
    assert rep.result.total == pytest.approx(want.total)


def test_date_typed_into_an_amount_is_refused_by_check(tmp_path):
    """Typing 2020-12-31 into an amount cell stores 44196 shown as a date: check refuses it as a date."""
    src = write_workbook(build_workbook(SYSTEM, CASE, engine="excel"), tmp_path / "真.xlsx")
    dst = tmp_path / "日期.xlsx"
    with zipfile.ZipFile(src) as z:
        data = {i.filename: z.read(i.filename) for i in z.infolist()}
        part = sheet_parts(z)["基础数据"]
    styles = data["xl/styles.xml"].decode()
    n = len(re.findall(r"<xf\b", styles.split("<cellXfs", 1)[1].split("</cellXfs>", 1)[0]))
    styles = re.sub(r"(<cellXfs[^>]*>)", r'\1', styles).replace("</cellXfs>", '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/></cellXfs>')
    data["xl/styles.xml"] = styles.encode()
    xml = data[part].decode()
    xml = re.sub(r'<c r="D23"[^>]*>.*?</c>', f'<c r="D23" s="{n}"><v>44196</v></c>', xml, count=1, flags=re.S)
    data[part] = xml.encode()
    with zipfile.ZipFile(dst, "w") as z:
        for k, v in data.items():
            z.writestr(k, v)
    rep = check_workbook(dst)
    assert not rep.passed
    assert any("日期" in i.message for i in rep.items), rep.items


def test_rate_typed_as_a_percentage_number_displays_and_validates(tmp_path):
    built = build_workbook(SYSTEM, None, engine="excel")
    ws = built.wb["基础数据"]
    coord = built.names["满意度"][1]
    assert ws[coord].number_format == '[<=1]0.00%;0.00"%"'  # 95.15 shows as 95.15%, 0.9515 too
    dv = next(d for d in ws.data_validations.dataValidation if coord in str(d.sqref))
    assert f"{coord}<=100" in dv.formula1  # 95.15 (a percentage) is let through, as the message recommends
    assert "95.15" in dv.error


def test_current_calc_id(tmp_path):
    for engine in ("python", "excel"):
        path = write_workbook(build_workbook(SYSTEM, None, engine=engine), tmp_path / f"t.{'xlsm' if engine == 'python' else 'xlsx'}")
        with zipfile.ZipFile(path) as z:
            wb = z.read("xl/workbook.xml").decode()
        assert f'calcId="{CALC_ID}"' in wb and "fullCalcOnLoad" not in wb


def test_quarterly_progress_that_goes_down_is_a_data_warning(capsys, tmp_path):
    case = tmp_path / "案例.toml"
    text = REFERENCE_CASE.read_text("utf-8")
    old = 'q2_progress = { value = "50%"'
    assert old in text
    case.write_text(text.replace(old, 'q2_progress = { value = "20%"', 1), "utf-8")
    raw = load_case(case).raw_values()
    res = score_case(SYSTEM, raw)
    broken = [c.label for c in SYSTEM.checks if c.holds(res.inputs) is False]
    assert broken == ["季度支出进度是累计数：二季度不应小于一季度"]
    assert main(["score", str(case), "--year", "2020"], out=io.StringIO()) in (0, 3)
