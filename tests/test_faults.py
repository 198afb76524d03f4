"""Issue 25, items 3 and 6: a region key is only ever a key, and the faults found by trying the receiving
commands as a user would (corrupt compressed members, control characters, folder-link loops, concurrent or
interrupted collects, outputs over inputs, misleading messages). Every file is made here from the committed
reference workbooks."""
import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfscore.cli import main

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "workbook" / "参考案例_深圳市科技开发交流中心_2020.xlsm"
REFERENCE_NATIVE = ROOT / "workbook" / "参考案例_深圳市科技开发交流中心_2020_公式版.xlsx"
SHENZHEN_2020 = ROOT / "src" / "perfscore" / "systems" / "shenzhen" / "2020.toml"
SYSTEMS = Path(__file__).parent / "data" / "systems"


def _rewrite(src, dst, edit, compression=None):
    """Copy a workbook, passing each part's (name, bytes) through ``edit``; ``compression``: {name: method}."""
    compression = compression or {}
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for info in z.infolist():
            out.writestr(info.filename, edit(info.filename, z.read(info.filename)),
                         compress_type=compression.get(info.filename, zipfile.ZIP_DEFLATED))
    return Path(dst)


def _input_sheet_part(path):
    from perfscore.excel.cache import sheet_parts
    with zipfile.ZipFile(path) as z:
        return sheet_parts(z)["基础数据"]


def _with_region(src, dst, region: str):
    """The workbook with its 规则地区 cell (基础数据!C8, the defined name 规则地区) set to ``region``."""
    from xml.sax.saxutils import escape
    part = _input_sheet_part(src)

    def edit(name, data):
        if name != part:
            return data
        text, n = re.subn(r'(<c r="C8"[^>]*><is><t>)[^<]*(</t>)', lambda m: m.group(1) + escape(region) + m.group(2),
                          data.decode("utf-8"))
        assert n == 1
        return text.encode("utf-8")
    return _rewrite(src, dst, edit)


def _run(argv):
    """(exit code, stdout, stderr) of the CLI, in process."""
    import contextlib
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(argv, out=out)
    return rc, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------------------ item 3: region keys
@pytest.fixture
def evil_systems(tmp_path, monkeypatch):
    """Rules files a sender could point at: an absolute folder, and a folder beside a PERFSCORE_SYSTEMS root
    reached by ../ — each holding a genuine 2020 file, so that a path built from 规则地区 would load it."""
    evil = tmp_path / "evil"
    evil.mkdir()
    shutil.copy(SHENZHEN_2020, evil / "2020.toml")
    root = tmp_path / "systems"
    (root / "shenzhen").mkdir(parents=True)
    shutil.copytree(SYSTEMS / "testprovince", root / "testprovince")
    (tmp_path / "x").mkdir()
    shutil.copy(SHENZHEN_2020, tmp_path / "x" / "2020.toml")
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(root))
    return tmp_path


def _regions_of(tmp_path):
    return [str(tmp_path / "evil"), "../x", "../../x", "shenzhen/../testprovince", "/tmp/evil", "", "  ",
            "shen zhen", "深圳", "shenzhen/", "C:\\evil", "nonexistent"]


@pytest.mark.parametrize("k", range(12))
def test_check_refuses_a_region_that_is_not_a_key(evil_systems, k):
    region = _regions_of(evil_systems)[k]
    wb = _with_region(REFERENCE, evil_systems / f"改地区{k}.xlsm", region)
    rc, out, err = _run(["check", str(wb)])
    assert rc in (1, 2) and "通过" not in out.replace("未通过", "")
    said = out + err
    if region.strip():
        assert "未知的规则地区" in said, said
        assert "shenzhen（2020）" in said and "testprovince（2018、2020）" in said  # the installed regions
    else:
        assert "规则地区" in said


def test_freeze_report_and_carry_forward_refuse_a_path_as_region(evil_systems):
    wb = _with_region(REFERENCE, evil_systems / "绝对路径.xlsm", str(evil_systems / "evil"))
    new = evil_systems / "x" / "2021.toml"
    new.write_text(SHENZHEN_2020.read_text("utf-8").replace("\nyear = 2020", "\nyear = 2021"), "utf-8")
    for argv in (["freeze", str(wb), "-o", str(evil_systems / "提交版.xlsx")],
                 ["report", str(wb), "-o", str(evil_systems / "报告.docx")],
                 ["carry-forward", str(wb), "--year", "2021", "--system", str(new), "-o", str(evil_systems / "新.xlsm")]):
        rc, out, err = _run(argv)
        assert rc == 2 and "未知的规则地区" in err, (argv, out, err)
    assert not any(evil_systems.glob("提交版*")) and not any(evil_systems.glob("报告*"))


def test_doctor_names_a_path_as_region_without_looking_it_up(evil_systems):
    from perfscore.deploy.doctor import read_workbook
    wb = _with_region(REFERENCE, evil_systems / "绝对路径.xlsm", "../x")
    info = read_workbook(wb)
    assert info.year_problem and "未知的规则地区" in info.year_problem


def test_collect_lists_a_path_as_region_in_the_anomalies(evil_systems):
    d = evil_systems / "收到的"
    d.mkdir()
    shutil.copy(REFERENCE, d / "正常.xlsm")
    for k, region in enumerate([str(evil_systems / "evil"), "../../x", "shenzhen/../testprovince"]):
        _with_region(REFERENCE, d / f"改地区{k}.xlsm", region)
    out = evil_systems / "汇总.xlsx"
    rc, said, err = _run(["collect", str(d), "-o", str(out), "--jobs", "1"])
    assert rc == 1, err
    wb = openpyxl.load_workbook(out)
    anomalies = {r[0]: r for r in wb["异常"].iter_rows(values_only=True) if r and isinstance(r[0], str)}
    for k in range(3):
        row = next(v for name, v in anomalies.items() if f"改地区{k}.xlsm" in name)
        assert any(isinstance(x, str) and "未知的规则地区" in x for x in row), row
    ranked = [r[5] for r in wb["排名"].iter_rows(min_row=4, values_only=True) if r and r[5]]
    assert ranked == ["正常.xlsm"]


@pytest.mark.parametrize("region", ["../x", "/tmp/evil", "", "shenzhen/..", "a b"])
def test_region_option_is_a_key(evil_systems, region):
    for argv in (["inputs", "--region", region], ["template", "--year", "2020", "--region", region, "-o",
                                                  str(evil_systems / "t.xlsm")],
                 ["report", str(REFERENCE), "--region", region, "-o", str(evil_systems / "r.docx")]):
        rc, out, err = _run(argv)
        assert rc == 2 and "未知的规则地区" in err, (argv, err)
    assert not (evil_systems / "t.xlsm").exists()


def test_engine_refuses_non_keys_everywhere(evil_systems):
    from perfscore.engine.system import available_years, load_system, require_exact_year, year_files
    from perfscore.errors import UnknownRegion, UnknownYear
    assert issubclass(UnknownRegion, UnknownYear)
    for region in (str(evil_systems / "evil"), "../x", "shenzhen/../testprovince", "", ".", ".."):
        for call in (lambda: year_files(region, None), lambda: available_years(region),
                     lambda: load_system(2020, region=region), lambda: require_exact_year(2020, region=region)):
            with pytest.raises(UnknownRegion, match="未知的规则地区"):
                call()
    assert load_system(2020, region="testprovince").key == "testprovince"
