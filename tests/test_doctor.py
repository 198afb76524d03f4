"""The xlwings.conf sheet and `perfscore doctor`: every check's logic run here, with the Windows parts (registry,
the other interpreter, Windows paths) supplied by a fake at the one seam, ``doctor.Probe``."""
from pathlib import Path

import openpyxl
import pytest

from perfscore.annual import carry_forward
from perfscore.system import PACKAGE_SYSTEMS
from perfscore.xlconf import PORTABLE, effective, is_machine_path, parse_user_conf, read_conf_sheet, sheet_config

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "workbook" / "参考案例_深圳市科技开发交流中心_2020.xlsm"
TEMPLATE = ROOT / "workbook" / "评分表模板_2020.xlsm"


# ------------------------------------------------------------------------------------------ the conf sheet
@pytest.mark.parametrize("path", [REF, TEMPLATE], ids=["reference", "template"])
def test_committed_workbooks_carry_portable_conf(path):
    rows = read_conf_sheet(path)
    assert rows == [("UDF MODULES", "perfscore.udfs"), ("ADD_WORKBOOK_TO_PYTHONPATH", "FALSE")]
    assert not any(is_machine_path(v) for _, v in rows)


def _with_conf(src, dst, extra_rows):
    wb = openpyxl.load_workbook(src, keep_vba=True)
    ws = wb["xlwings.conf"]
    for k, v in extra_rows:
        ws.append([k, v])
    wb.save(dst)
    return dst


def _system_2021(tmp_path):
    p = tmp_path / "2021.toml"
    p.write_text((PACKAGE_SYSTEMS / "shenzhen" / "2020.toml").read_text("utf-8").replace("year = 2020", "year = 2021"),
                 "utf-8")
    return p


def test_carry_forward_keeps_other_conf_keys_and_rewrites_ours(tmp_path):
    old = _with_conf(REF, tmp_path / "old.xlsm", [("INTERPRETER_WIN", r"%LOCALAPPDATA%\Programs\Python\Python311\pythonw.exe"),
                                                 ("SHOW CONSOLE", True)])
    wb = openpyxl.load_workbook(old)  # make one of ours stale, to see it rewritten
    wb["xlwings.conf"]["B2"] = "true"
    wb.save(tmp_path / "old2.xlsm")
    out = tmp_path / "new.xlsm"
    carried = carry_forward(tmp_path / "old2.xlsm", 2021, out, system_path=_system_2021(tmp_path))
    assert "xlwings.conf 中的 INTERPRETER_WIN" in carried and "xlwings.conf 中的 SHOW CONSOLE" in carried
    rows = read_conf_sheet(out)
    assert rows == [("UDF MODULES", "perfscore.udfs"), ("ADD_WORKBOOK_TO_PYTHONPATH", "FALSE"),
                    ("INTERPRETER_WIN", r"%LOCALAPPDATA%\Programs\Python\Python311\pythonw.exe"), ("SHOW CONSOLE", True)]
    assert openpyxl.load_workbook(out)["xlwings.conf"].sheet_state == "hidden"


def test_carry_forward_without_extra_keys_writes_portable_conf(tmp_path):
    out = tmp_path / "new.xlsm"
    carry_forward(REF, 2021, out, system_path=_system_2021(tmp_path))
    assert read_conf_sheet(out) == list(PORTABLE.items())


def test_sheet_config_reads_like_getconfigfromsheet():
    rows = [["udf modules", "a"], ["INTERPRETER_WIN", "x"], [None, None], ["PYTHONPATH", "ignored after a blank"]]
    conf, dups = sheet_config(rows)
    assert conf == {"UDF MODULES": "a", "INTERPRETER_WIN": "x"} and dups == []
    assert sheet_config([["A", 1], ["a", 2]])[1] == ["a"]


def test_user_conf_parsing_and_layering():
    user = parse_user_conf('"INTERPRETER_WIN","C:\\Users\\old\\venv\\Scripts\\python.exe"\n\n"udf modules","x"\n'
                           '"INTERPRETER_WIN","second ignored"\n')
    assert user == {"INTERPRETER_WIN": r"C:\Users\old\venv\Scripts\python.exe", "UDF MODULES": "x"}
    sheet = {"UDF MODULES": "perfscore.udfs", "ADD_WORKBOOK_TO_PYTHONPATH": "FALSE"}
    assert effective("UDF MODULES", sheet, None, user) == ("perfscore.udfs", "sheet")     # the sheet wins
    assert effective("INTERPRETER_WIN", sheet, None, user)[1] == "user"                    # a key the sheet lacks
    assert effective("INTERPRETER_WIN", {"INTERPRETER_WIN": ""}, None, user) == ("", "sheet")
    assert effective("CONDA PATH", sheet, None, user) == (None, "default")
    assert is_machine_path(r"C:\Python311\pythonw.exe") and is_machine_path(r"\\srv\py\pythonw.exe")
    assert not is_machine_path(r"%LOCALAPPDATA%\Programs\Python\Python311\pythonw.exe") and not is_machine_path("pythonw")
