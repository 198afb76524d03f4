"""check, freeze, rules diff and carry-forward on real generated workbooks."""
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore.annual import carry_forward, diff_systems
from perfscore.cache import sheet_parts
from perfscore.check import check_workbook, freeze
from perfscore.cli import main
from perfscore.system import PACKAGE_SYSTEMS

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "workbook" / "参考案例_深圳市科技开发交流中心_2020.xlsm"
SRC2020 = PACKAGE_SYSTEMS / "shenzhen" / "2020.toml"


def _edit_part(src, dst, part_pred, old, new):
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if part_pred(info.filename, data):
                assert old in data, (info.filename, old)
                data = data.replace(old, new, 1)
            out.writestr(info, data)


def _is_sheet(name, title):
    with zipfile.ZipFile(REF) as z:
        return name == sheet_parts(z)[title]


def test_check_passes_reference_and_is_readonly():
    before = REF.read_bytes()
    rep = check_workbook(REF)
    assert rep.passed and rep.status == "通过" and rep.result.total == pytest.approx(97.93)
    assert REF.read_bytes() == before


def test_check_flags_hand_edited_score(tmp_path, capsys):
    edited = tmp_path / "改过的.xlsm"
    _edit_part(REF, edited, lambda n, d: _is_sheet(n, "评分表"), b"<v>1.95</v>", b"<v>2.0</v>")
    rep = check_workbook(edited)
    assert not rep.passed
    assert any(i.where == "政府采购执行情况" and "手工改过" in i.message for i in rep.items)
    assert main(["check", str(edited)]) == 1
    assert "未通过" in capsys.readouterr().out


def test_check_refuses_broken_file(tmp_path, capsys):
    bad = tmp_path / "坏的.xlsm"
    bad.write_bytes(b"%PDF-1.4 not a workbook")
    assert main(["check", str(bad)]) == 2
    assert "不是有效的 Excel 工作簿" in capsys.readouterr().err


def test_freeze_values_only_no_macros(tmp_path):
    out = tmp_path / "提交版.xlsx"
    freeze(REF, out)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert not any("vbaProject" in n for n in names)
        assert "macroEnabled" not in z.read("[Content_Types].xml").decode()
    wb = openpyxl.load_workbook(out)
    assert "xlwings.conf" not in wb.sheetnames
    formulas = [c.coordinate for ws in wb for row in ws.iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=") and c.data_type == "f"]
    assert formulas == []
    ws = wb["评分表"]
    assert ws["G8"].value == 1.95 and ws["G25"].value == 97.93 and ws["G26"].value == "优"
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$2:$3"
    assert wb["自评表"]["E9"].value is not None
    with pytest.raises(Exception, match="已存在"):
        freeze(REF, out)


def test_freeze_recomputes_instead_of_trusting_the_cache(tmp_path):
    edited = tmp_path / "改过的.xlsm"
    _edit_part(REF, edited, lambda n, d: _is_sheet(n, "评分表"), b"<v>1.95</v>", b"<v>2.0</v>")
    out = tmp_path / "提交版.xlsx"
    freeze(edited, out)
    assert openpyxl.load_workbook(out)["评分表"]["G8"].value == 1.95


@pytest.mark.skipif(not shutil.which("soffice"), reason="needs LibreOffice: apt-get install libreoffice-calc")
def test_frozen_copy_opens_in_libreoffice_with_same_scores(tmp_path):
    import subprocess
    out = tmp_path / "提交版.xlsx"
    written = freeze(REF, out, pdf=True)
    pdf = written[-1]
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "97.93" in text and "1.95" in text and "优" in text


def _system_2021(tmp_path):
    text = SRC2020.read_text("utf-8").replace("year = 2020", "year = 2021")
    text = text.replace('{ range = "[90%, inf)", points = 1 },\n  { range = "[75%, 90%)", points = 0.7 },',
                        '{ range = "[95%, inf)", points = 1 },\n  { range = "[75%, 95%)", points = 0.7 },')
    p = tmp_path / "2021.toml"
    p.write_text(text, "utf-8")
    return p


def test_rules_diff_lists_threshold_changes(tmp_path, capsys):
    p = _system_2021(tmp_path)
    changes = diff_systems(str(SRC2020), str(p))
    assert changes == ["indicators[fixed_asset_utilization].rule.bands[0].range：[90%, inf) → [95%, inf)",
                       "indicators[fixed_asset_utilization].rule.bands[1].range：[75%, 90%) → [75%, 95%)"]
    text = SRC2020.read_text("utf-8").replace('name = "预算编制规范性"\nweight = 5\n', 'name = "预算编制规范性"\nweight = 4\n')
    text = text.replace('name = "预算编制合理性"\nweight = 5\n', 'name = "预算编制合理性"\nweight = 6\n')
    text = text.replace('{ input = "rationality_5", points = 1,', '{ input = "rationality_5", points = 2,')
    text = text.replace('[inputs.rationality_5]\nname = "预算编制合理性_5"\nkind = "judgement"\nmax = 1',
                        '[inputs.rationality_5]\nname = "预算编制合理性_5"\nkind = "judgement"\nmax = 2')
    q = tmp_path / "w.toml"
    q.write_text(text, "utf-8")
    changes = diff_systems(str(SRC2020), str(q))
    assert "indicators[budget_compliance].weight：5 → 4" in changes
    assert "indicators[budget_rationality].weight：5 → 6" in changes
    assert main(["rules", "diff", "2020", "2020"]) == 0 and "没有变化" in capsys.readouterr().out


def test_carry_forward_copies_standing_fields_only(tmp_path):
    p = _system_2021(tmp_path)
    out = tmp_path / "2021.xlsm"
    carried = carry_forward(REF, 2021, out, system_path=p)
    assert carried == ["核定编制数"]
    wb = openpyxl.load_workbook(out)
    ws = wb["基础数据"]
    values = {ws.cell(r, 2).value: ws.cell(r, 4).value for r in range(10, ws.max_row + 1)}
    assert ws["C3"].value == "深圳市科技开发交流中心" and ws["C4"].value == 2021 and ws["C7"].value == 2021
    assert values["核定编制数"] == 20
    assert values["在编人数"] is None and values["政府采购预算数"] is None
    with pytest.raises(Exception, match="已存在"):
        carry_forward(REF, 2021, out, system_path=p)


def _plain_workbook_with_sheet_xml(path, sheet_xml: bytes, names=("基础数据", "评分表")):
    wb = openpyxl.Workbook()
    wb.active.title = names[0]
    for n in names[1:]:
        wb.create_sheet(n)
    wb.save(path)
    tmp = path.with_suffix(".tmp.xlsx")
    _edit_part(path, tmp, lambda n, d: n == "xl/worksheets/sheet1.xml", b"<sheetData", b"<sheetData")
    with zipfile.ZipFile(tmp) as z, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info, sheet_xml if info.filename == "xl/worksheets/sheet1.xml" else z.read(info.filename))
    tmp.unlink()


def test_far_cell_refused_before_the_reader_sizes_its_grid(tmp_path, capsys):
    p = tmp_path / "远处单元格.xlsx"
    _plain_workbook_with_sheet_xml(p, b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                      b'<sheetData><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
    assert main(["check", str(p)]) == 2
    assert "范围异常（到 XFD" in capsys.readouterr().err


def test_entity_bomb_behind_padding_refused(tmp_path, capsys):
    p = tmp_path / "填充后的炸弹.xlsx"
    bomb = (b'<?xml version="1.0"?>' + b"<!-- " + b"x" * 70000 + b" -->"
            + b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')
    _plain_workbook_with_sheet_xml(p, bomb)
    assert main(["check", str(p)]) == 2
    assert "DTD/实体声明" in capsys.readouterr().err
