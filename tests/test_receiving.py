"""check, freeze, rules diff and carry-forward on real generated workbooks."""
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore.receiving.annual import carry_forward, diff_systems
from perfscore.excel.cache import sheet_parts
from perfscore.receiving.check import FreezeRefused, check_workbook, freeze
from perfscore.cli import main
from perfscore.engine.system import PACKAGE_SYSTEMS

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
    goal = wb["自评表"]
    head = next(r for r in range(1, 20) if goal.cell(r, 2).value == "任务名称")
    assert goal.cell(head + 2, 4).value is not None  # the first task's 预算数, a value after freezing
    with pytest.raises(Exception, match="已存在"):
        freeze(REF, out)


def test_freeze_recomputes_instead_of_trusting_the_cache(tmp_path):
    edited = tmp_path / "改过的.xlsm"
    _edit_part(REF, edited, lambda n, d: _is_sheet(n, "评分表"), b"<v>1.95</v>", b"<v>2.0</v>")
    out = tmp_path / "提交版.xlsx"
    with pytest.raises(FreezeRefused):  # a failing workbook gives no clean-looking 提交版
        freeze(edited, out)
    assert not out.exists()
    freeze(edited, out, force=True)
    wb = openpyxl.load_workbook(out)
    assert wb["评分表"]["G8"].value == 1.95  # recomputed, not the edited cache
    assert wb.sheetnames[0] == "未通过检查" and "2" in " ".join(str(c.value) for c in wb["未通过检查"]["B"] if c.value)
    assert all("未通过检查" in ws.oddHeader.center.text for ws in wb.worksheets)
    rep = check_workbook(out)  # and the forced copy does not pass as a clean one
    assert not rep.passed and any(i.where == "未通过检查" for i in rep.items)


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
    carried, missing = carry_forward(REF, 2021, out, system_path=p)
    assert carried == ["核定编制数"] and missing == []
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


# ---------------------------------------------------------------- inputs read where the formulas read them
def _sheet_edit(src, dst, title, *edits):
    """Copy ``src`` to ``dst`` with regex edits (pattern, replacement) applied to one sheet's XML."""
    import re
    with zipfile.ZipFile(src) as z:
        part = sheet_parts(z)[title]
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == part:
                text = data.decode("utf-8")
                for pattern, repl in edits:
                    text, n = re.subn(pattern, repl, text, count=1)
                    assert n == 1, pattern
                data = text.encode("utf-8")
            out.writestr(info, data)


_HIDDEN_DUPLICATE = (r"</sheetData>", '<row r="70" hidden="1"><c r="B70" t="inlineStr"><is><t>政府采购实际数</t></is></c>'
                                      '<c r="D70"><v>12560</v></c></row></sheetData>')


def test_visible_input_is_used_and_hidden_duplicate_reported(tmp_path, capsys):
    """The reviewer's trap: the visible 政府采购实际数 (the cell the formulas use) changed to 14000, a hidden row
    further down repeats the label with 12560, the cached scores left as they were."""
    trap = tmp_path / "陷阱.xlsm"
    _sheet_edit(REF, trap, "基础数据", (r'(<c r="D23"[^>]*><v>)12560(</v>)', r"\g<1>14000\2"), _HIDDEN_DUPLICATE,
                (r'<dimension ref="A1:([A-Z]+)66"', r'<dimension ref="A1:\g<1>70"'))
    rep = check_workbook(trap)
    assert not rep.passed
    assert rep.result.by_id("procurement").score == 1 and rep.result.total == pytest.approx(96.98)
    assert any(i.level == "错误" and "B70" in i.where and "多了" in i.message and "政府采购实际数" in i.message
               for i in rep.items)
    assert any(i.level == "错误" and "第 70 行（隐藏）" in i.message for i in rep.items)
    assert any(i.where == "政府采购执行情况" and "手工改过" in i.message for i in rep.items)
    assert main(["check", str(trap)]) == 1
    assert "第 70 行（隐藏）" in capsys.readouterr().out
    out = tmp_path / "提交版.xlsx"
    assert main(["freeze", str(trap), "-o", str(out)]) == 1 and not out.exists()  # refused, with the reasons
    assert "未生成提交版" in capsys.readouterr().out
    notes = []
    freeze(trap, out, notes=notes, force=True)
    wb = openpyxl.load_workbook(out)
    assert wb["基础数据"]["D23"].value == 14000
    assert wb["评分表"]["G8"].value == 1 and wb["评分表"]["G25"].value == pytest.approx(96.98)
    assert any("政府采购执行情况" in n and "1.95" in n for n in notes)  # freeze says which stored score differed


def test_name_pointing_away_and_formula_in_input_reported(tmp_path):
    moved = tmp_path / "名称改指.xlsm"
    with zipfile.ZipFile(REF) as z, zipfile.ZipFile(moved, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            data = z.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = data.replace("'基础数据'!$D$23".encode(), "'基础数据'!$M$23".encode())
            out.writestr(info, data)
    tmp = tmp_path / "t.xlsm"
    shutil.copy(moved, tmp)
    _sheet_edit(tmp, moved, "基础数据", _HIDDEN_DUPLICATE, (r'(<c r="D22"[^>]*?)( t="n")?>(<v>[^<]*</v>)', r"\1><f>12000+1</f>\3"),
                (r'(<c r="H23"[^>]*>.*?</c>)', r'\1<c r="M23"><v>13000</v></c>'))  # past the last column
    rep = check_workbook(moved)
    assert rep.filled.inputs["政府采购实际数"] == 12560  # read where the genuine workbook has it, not where the name points
    assert any(i.where == "政府采购实际数" and "应指向 基础数据!D23" in i.message and "M$23" in i.message
               and i.level == "错误" for i in rep.items)
    assert any("D22" in i.where and "是公式" in i.message and i.level == "错误" for i in rep.items)
    assert any("M23" in i.where and "多了" in i.message for i in rep.items)
    assert not rep.passed


def test_hidden_input_column_fails(tmp_path):
    """A hidden 数值 column: the reviewer cannot see what is scored."""
    hid = tmp_path / "隐藏列.xlsm"
    _sheet_edit(REF, hid, "基础数据", (r'<col width="18" customWidth="1" min="4" max="4"\s*/>',
                                       '<col width="18" customWidth="1" min="4" max="4" hidden="1" />'))
    rep = check_workbook(hid)
    assert not rep.passed
    assert any(i.level == "错误" and "第 D 列有内容却被隐藏" in i.message for i in rep.items)


def test_error_cells_are_not_recalculated_not_tampering(tmp_path):
    """Scores that became #VALUE! where the functions could not run: said so, apart from hand edits."""
    import re
    with zipfile.ZipFile(REF) as z:
        xml = z.read(sheet_parts(z)["评分表"]).decode("utf-8")
    cells = re.findall(r'<c r="(G[0-9]+)"[^>]*><f>', xml)
    edits = [(rf'(<c r="{c}"[^>]*?)(?: t="[^"]*")?>(<f>[^<]*</f>)<v>[^<]*</v>', r'\1 t="e">\2<v>#VALUE!</v>')
             for c in cells if c != "G27"]
    bad = tmp_path / "未重算.xlsm"
    _sheet_edit(REF, bad, "评分表", *edits)
    rep = check_workbook(bad)
    assert not any("手工改过" in i.message for i in rep.items)
    msg = [i for i in rep.items if "错误值 #VALUE!" in i.message]
    assert len(msg) == 1 and "没有更新" in msg[0].message and f"{len(rep.result.indicators) + 2} 个" in msg[0].message


@pytest.mark.parametrize("year", ["1999", "1e300"])
def test_altered_rules_year_reported_as_such(tmp_path, capsys, year):
    p = tmp_path / "改年度.xlsm"
    _sheet_edit(REF, p, "基础数据", (r'(<c r="C7"[^>]*><v>)2020(</v>)', rf"\g<1>{year}\2"))
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert "规则年度被改动" in err and "2020" in err and len(err) < 300


# ---------------------------------------------------------------- score formulas compared with the rules year's
def test_score_formula_replaced_or_edited_is_reported_by_name(tmp_path, capsys):
    p = tmp_path / "改公式.xlsm"
    _sheet_edit(REF, p, "评分表",
                (r'(<c r="G8"[^>]*?)>(<f>[^<]*</f>)(<v>1.95</v>)', r"\1>\3"),                  # constant over formula
                (r'(<c r="G5"[^>]*?>)<f>PERF_BUDGET_COMPLIANCE\(', r"\1<f>5+0*PERF_BUDGET_COMPLIANCE("))
    rep = check_workbook(p)
    assert rep.filled.kind == "python"
    by = {i.where: i.message for i in rep.items}
    assert "固定数值" in by["政府采购执行情况（评分表 G8）"]
    assert "公式被改动" in by["预算编制规范性（评分表 G5）"]
    assert not rep.passed
    assert main(["check", str(p)]) == 1
    assert "Python 版" in capsys.readouterr().out


def test_formula_spelling_of_other_spreadsheets_is_not_an_edit():
    from perfscore.receiving.formula_key import formula_key as normalise_formula
    assert normalise_formula("='评分表'!$G$4") == normalise_formula("=评分表!G4")
    assert normalise_formula('=IF(ISNUMBER(F3), E3-F3, "—")') == normalise_formula('=if(isnumber(F3),E3-F3,"—")')
    assert normalise_formula('=_xlfn.IFERROR(A1,"a b")') == normalise_formula('=IFERROR(A1,"a b")')
    assert normalise_formula('="a b"') != normalise_formula('="ab"')


def test_native_formula_workbook_is_recognised_and_its_formulas_checked(tmp_path):
    from perfscore.engine.case import REFERENCE_CASE, load_case
    from perfscore.engine.system import load_system
    from perfscore.excel.workbook import build_workbook, write_workbook
    built = build_workbook(load_system(2020), load_case(REFERENCE_CASE), engine="excel")
    path = write_workbook(built, tmp_path / "原生公式.xlsx")
    rep = check_workbook(path)
    assert rep.filled.kind == "excel" and "Excel 公式版" in rep.filled.kind_text
    assert rep.passed, rep.items
    edited = tmp_path / "改过.xlsx"
    _sheet_edit(path, edited, "评分表", (r'(<c r="G8"[^>]*?)>(<f>[^<]*</f>)', r"\1>"))
    rep = check_workbook(edited)
    assert any(i.where.startswith("政府采购执行情况") and "固定数值" in i.message for i in rep.items)


def test_frozen_copy_is_the_values_kind(tmp_path):
    out = tmp_path / "提交版.xlsx"
    freeze(REF, out)
    rep = check_workbook(out)
    assert rep.filled.kind == "values" and rep.passed


# ---------------------------------------------------------------- bad files and arguments: clear reasons, exit 2
def _toml_case(tmp_path, body: str, name="案例.toml", bom=False):
    p = tmp_path / name
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + body.encode("utf-8"))
    return p


_CASE = 'schema = 1\n[case]\ntitle = "自评"\ndepartment = "某单位"\nyear = 2020\n[inputs]\n'


def test_case_file_with_bom_and_boolean_flag_is_accepted(tmp_path, capsys):
    p = _toml_case(tmp_path, _CASE + "fin_violation = false\n", bom=True)
    assert main(["score", str(p)]) in (0, 1)
    assert "某单位" in capsys.readouterr().out


@pytest.mark.parametrize("body, words", [
    (_CASE + "x = { source = \"x\" }\n", ["缺少 value", "x = { value = 数值"]),
    (_CASE + "fin_violation = [1, 2]\n", ["应为数值、文字（加引号）或 true/false，实际为列表"]),
    ("schema = 1\n[case\n", ["表头 [...] 缺少结尾的 ]", "第 2 行第 6 列"]),
    ("schema = 1\n[case]\ntitle = 自评\n", ["无效的值", "第 3 行"]),
    ("schema = 1\nschema = 2\n", ["重复", "第 2 行"]),
    ("schema = 1\n[case]\ntitle = { a = 1\n", ["内联表", "}"]),
    ("a = " + "[" * 5000 + "\n", ["嵌套过深"]),
    ('schema = 1\n[case]\ntitle = "a\\qb"\n', ["第 3 行"]),
])
def test_case_file_errors_in_chinese(tmp_path, capsys, body, words):
    p = _toml_case(tmp_path, body)
    assert main(["score", str(p)]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, err
    assert "<class" not in err and "Expected" not in err and "Traceback" not in err


def test_oversized_and_device_case_files_refused(tmp_path, capsys):
    big = _toml_case(tmp_path, _CASE + "# " + "x" * (3 * 1024 * 1024) + "\n")
    assert main(["score", str(big)]) == 2
    assert "文件过大" in capsys.readouterr().err
    assert main(["score", "/dev/zero"]) == 2
    assert "不是普通文件" in capsys.readouterr().err
    assert main(["validate", "/dev/zero"]) == 2
    assert "不是普通文件" in capsys.readouterr().err


def test_system_file_with_bom_and_deep_nesting(tmp_path, capsys):
    p = tmp_path / "2020.toml"
    p.write_bytes(b"\xef\xbb\xbf" + SRC2020.read_bytes())
    assert main(["validate", str(p)]) == 0
    p.write_text("schema = 1\nx = " + "{ a = " * 3000 + "1" + " }" * 3000 + "\n", "utf-8")
    assert main(["validate", str(p)]) == 2
    assert "嵌套过深" in capsys.readouterr().err


def test_many_repeated_statements_stay_linear(tmp_path, capsys):
    """20,000 copies of one wrong [[stated]] figure: one finding (共 N 处), not N findings naming N others."""
    import time
    from perfscore.engine.case import REFERENCE_CASE
    text = REFERENCE_CASE.read_text("utf-8")
    one = '\n[[stated]]\nref = "total"\nvalue = 90\nsource = "第 1 页"\n'
    p = _toml_case(tmp_path, text + one * 20000 + '\n[[stated]]\nref = "total"\nvalue = 91\nsource = "第 2 页"\n' * 3)
    t = time.perf_counter()
    assert main(["score", str(p)]) == 3
    out = capsys.readouterr().out
    assert time.perf_counter() - t < 20 and len(out) < 200_000
    assert "共 20000 处" in out and "91（第 2 页 等 3 处）" in out


def test_output_into_unwritable_place_or_onto_a_folder(tmp_path, capsys):
    (tmp_path / "是文件夹.xlsm").mkdir()
    assert main(["template", "--year", "2020", "-o", str(tmp_path / "是文件夹.xlsm"), "--force"]) == 2
    assert "是一个文件夹" in capsys.readouterr().err
    for argv in (["template", "--year", "2020", "-o", "/proc/模板.xlsm"],
                 ["freeze", str(REF), "-o", "/proc/提交版.xlsx"],
                 ["carry-forward", str(REF), "--year", "2020", "--system", str(SRC2020), "-o", "/proc/新.xlsm"],
                 ["collect", str(REF), "-o", "/proc/汇总.xlsx"],
                 ["collect", str(REF), "-o", str(tmp_path / "汇总.xlsx"), "--csv", "/proc/汇总.csv"]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "/proc" in err and "内部错误" not in err, err


def test_os_errors_are_told_in_chinese(capsys):
    from perfscore.files import os_error_text
    assert "没有权限" in os_error_text(PermissionError(13, "Permission denied", "/a/b.xlsx"))
    assert "是一个文件夹" in os_error_text(IsADirectoryError(21, "Is a directory", "/a/b"))


def test_terminal_output_neutralises_control_and_bidi_characters(tmp_path, capsys):
    from perfscore.cli import safe_text
    assert safe_text("a\x00b\u202ec\x1b[2Jd\re\n\tf") == "a\\u0000b\\u202ec\\u001b[2Jd\\u000de\n\tf"
    p = _toml_case(tmp_path, _CASE.replace("某单位", "某\u202e单位\u2066") + "fin_violation = false\n")
    main(["score", str(p)])
    out = capsys.readouterr().out
    assert "\u202e" not in out and "\u2066" not in out
    assert "某\\u202e单位\\u2066" in out
    p = _toml_case(tmp_path, _CASE + '"\u202e" = 1\n', name="b.toml")
    assert main(["score", str(p)]) == 2
    err = capsys.readouterr().err
    assert "\u202e" not in err and "\\u202e" in err
    p = _toml_case(tmp_path, _CASE.replace("某单位", "某\\u0000单位"), name="c.toml")
    assert main(["score", str(p)]) == 2
    assert "控制字符 U+0000" in capsys.readouterr().err


def test_unscorable_statement_says_why(tmp_path, capsys):
    p = _toml_case(tmp_path, _CASE + '[[stated]]\nref = "level1.management"\nvalue = 19\nsource = "第 3 页"\n')
    assert main(["score", str(p)]) in (1, 3)
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if "无法按规则计算" in ln)
    assert not line.rstrip().endswith("：") and "无法计分" in line


@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftotext")),
                    reason="needs LibreOffice and poppler: apt-get install libreoffice-calc poppler-utils")
def test_empty_goal_rows_print_empty_in_libreoffice(tmp_path):
    """The 自评表 完成情况 of an empty indicator row prints empty (no #VALUE!), in the blank template (3 rows for each
    of the 9 二级指标) and in the filled reference (the rows it leaves empty), where LibreOffice recalculates a
    formula whose cached text is empty."""
    import subprocess

    from perfscore.engine.case import REFERENCE_CASE, load_case
    from perfscore.render import to_pdf
    from perfscore.engine.system import load_system
    from perfscore.excel.workbook import build_workbook, write_workbook
    system = load_system(2020)
    paths = [tmp_path / "空白.xlsm", tmp_path / "参考.xlsm"]
    for path, case in zip(paths, (None, load_case(REFERENCE_CASE))):
        built = build_workbook(system, case)
        goal = [v for (sheet, coord), v in built.cached.items() if sheet == "自评表" and coord.startswith("G")
                and "PERF_TARGET" in built.formulas[(sheet, coord)]]
        from perfscore.excel.workbook import GOAL_ROWS_PER_CATEGORY
        slots = sum(max(GOAL_ROWS_PER_CATEGORY, len([r for r in (case.goal_rows if case else [])
                                                      if (r.level1, r.level2) == (l1, l2)]))
                    for l1, l2s in system.goal_table.categories for l2 in l2s)
        assert goal.count("") == slots - (len(case.goal_rows) if case else 0)
        write_workbook(built, path)
    for pdf in to_pdf(paths, tmp_path):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
        assert "实际完成指标值" in text
        assert "#VALUE!" not in text and "#NAME?" not in text, pdf.name


def test_shared_formulas_as_excel_saves_them_are_not_edits(tmp_path):
    """Excel saves runs of similar formulas as one shared formula; expanded, they equal the generated ones."""
    p = tmp_path / "共享公式.xlsm"
    _sheet_edit(REF, p, "扣分说明",
                (r'(<c r="G3"[^>]*>)<f>([^<]*)</f>', r'\1<f t="shared" ref="G3:G5" si="0">\2</f>'),
                (r'(<c r="G4"[^>]*>)<f>[^<]*</f>', r'\1<f t="shared" si="0"/>'),
                (r'(<c r="G5"[^>]*>)<f>[^<]*</f>', r'\1<f t="shared" si="0" />'))
    rep = check_workbook(p)
    assert rep.filled.package.sheet("扣分说明").formulas["G5"] == 'IF(ISNUMBER(F5),E5-F5,"—")'
    assert rep.passed and rep.status == "通过", rep.items


def test_far_cell_with_attributes_before_its_reference_refused(tmp_path, capsys):
    p = tmp_path / "属性在前.xlsx"
    _plain_workbook_with_sheet_xml(p, b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                      b'<sheetData><row r="1"><c s="0" t="n" r="XFD1048576"><v>1</v></c></row>'
                                      b'</sheetData></worksheet>')
    assert main(["check", str(p)]) == 2
    assert "范围异常（到 XFD1048576" in capsys.readouterr().err


def test_system_file_flag_default_accepts_toml_boolean(tmp_path, capsys):
    p = tmp_path / "2020.toml"
    text = SRC2020.read_text("utf-8")
    assert 'default = "否"' in text
    p.write_text(text.replace('default = "否"', "default = false"), "utf-8")
    assert main(["validate", str(p)]) == 0
