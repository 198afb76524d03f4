"""The xlwings.conf sheet and `perfscore doctor`: every check's logic run here, with the Windows parts (registry,
the other interpreter, Windows paths) supplied by a fake at the one seam, ``doctor.Probe``."""
from pathlib import Path

import openpyxl
import pytest

from perfscore.receiving.annual import carry_forward
from perfscore.engine.system import PACKAGE_SYSTEMS
from perfscore.excel.xlconf import PORTABLE, effective, is_machine_path, parse_user_conf, read_conf_sheet, sheet_config

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
    carried, _ = carry_forward(tmp_path / "old2.xlsm", 2021, out, system_path=_system_2021(tmp_path))
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


# ------------------------------------------------------------------------------------------ the VBA reader
def test_vba_reader_matches_olevba_on_ours_and_on_an_excel_saved_workbook():
    import xlwings
    from oletools.olevba import VBA_Parser

    from perfscore.excel.vba.extract import workbook_modules
    for path in (REF, Path(xlwings.__file__).parent / "quickstart_standalone.xlsm"):  # the latter saved by Excel
        mine = workbook_modules(path)
        parser = VBA_Parser(str(path))
        theirs = {name.rsplit(".", 1)[0]: code for _, _, name, code in parser.extract_macros()}
        parser.close()
        assert sorted(mine) == sorted(theirs)
        for k in mine:
            assert mine[k].replace("\r\n", "\n").strip() == theirs[k].replace("\r\n", "\n").strip(), (path.name, k)


# ------------------------------------------------------------------------------------------ doctor, faked Windows
import json  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from perfscore.deploy import doctor  # noqa: E402
from perfscore.deploy.doctor import FAIL, NA, OK, WARN, Probe, run_checks  # noqa: E402

PY = r"C:\Program Files\Python311"


@pytest.fixture(scope="module")
def real_probe_output():
    """The probe script's JSON as this machine's interpreter really prints it (with a workbook named)."""
    rc, out, err = Probe().run_python(sys.executable, [REF.name, "2020", "shenzhen"])
    assert rc == 0, err
    data, _ = doctor._parse_probe(rc, out, err)
    assert data["udfs"]["ok"] and data["wrappers"]["ok"] and data["systems"]["value"]["for_year"]["year"] == 2020
    return data


class FakeProbe:
    """Windows as doctor sees it: environment, files, registry values, and what each interpreter reports."""
    windows = True

    def __init__(self, env=None, files=None, registry=None, pythons=None, who=None, com=None):
        self.envs = {"USERPROFILE": r"C:\Users\kj", "PATH": PY + r";" + PY + r"\Scripts;C:\Windows\system32",
                     "ProgramFiles": r"C:\Program Files", "ProgramFiles(x86)": r"C:\Program Files (x86)",
                     "ProgramW6432": r"C:\Program Files", "CommonProgramFiles": r"C:\Program Files\Common Files",
                     "CommonProgramFiles(x86)": r"C:\Program Files (x86)\Common Files",
                     "PROCESSOR_ARCHITECTURE": "AMD64"} | (env or {})
        self.files = dict(files or {})
        self.registry = dict(registry or {})
        self.pythons = dict(pythons or {})
        self.who = who or {"user": "kj", "system": False, "elevated": False}
        self.com = com or {"stage": "ok", "seconds": 1.5}
        self.ran, self.started = [], []

    def env(self, name):
        return self.envs.get(name)

    def is_file(self, path):
        return path in self.files

    def read_text(self, path):
        v = self.files.get(path)
        return v if isinstance(v, str) else None

    def reg_value(self, key, name="", view=None):
        for v in ([view] if view else ["64", "32"]):
            if (key, name, v) in self.registry:
                return self.registry[(key, name, v)]
        return None

    def reg_subkeys(self, key, view=None):
        return sorted({k[len(key) + 1:].split("\\")[0] for (k, _, _) in self.registry if k.startswith(key + "\\")})

    def reg_names(self, key, view=None):
        return [n for (k, n, _) in self.registry if k == key]

    def identity(self):
        return self.who

    def environ(self):
        return dict(self.envs)

    def start_com_server(self, command, env, timeout):
        self.started.append((command, env))
        return self.com

    def run_python(self, exe, args):
        self.ran.append((exe, args))
        data = self.pythons.get(exe)
        if data is None:
            return 1, "", "not runnable"
        return 0, "noise\n" + json.dumps(data) + "\n", ""


EXCEL = "HKCR\\" + doctor.EXCEL_CLSID
C2R = (r"HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration", "Platform", "64")
HKLM_PY = (r"HKLM\SOFTWARE\Python\PythonCore\3.11\InstallPath", "", "64")
HKCU_PY = (r"HKCU\SOFTWARE\Python\PythonCore\3.11\InstallPath", "", "64")
SEC = r"HKCU\Software\Microsoft\Office\16.0\Excel\Security"
POL = r"HKCU\Software\Policies\Microsoft\Office\16.0\Excel\Security"
TRUSTED = (SEC + r"\Trusted Locations\Location9", "Path", "64")  # where the committed workbooks lie


def _trusted(folder, key=TRUSTED[0], subfolders=False):
    r = {(key, "Path", "64"): folder + "\\"}
    return r | ({(key, "AllowSubfolders", "64"): "1"} if subfolders else {})


def _healthy(data, **over):
    files = {PY + r"\pythonw.exe": True, PY + r"\python.exe": True,
             PY + r"\xlwings64-0.37.8.dll": True, PY + r"\xlwings32-0.37.8.dll": True}
    registry = {(EXCEL, "", "64"): r"C:\Program Files\Microsoft Office\Root\Office16\EXCEL.EXE /automation",
                C2R: "x64", HKLM_PY: PY + "\\"} | _trusted(str(REF.resolve().parent))
    d = json.loads(json.dumps(data))
    d.update(executable=PY + r"\python.exe", prefix=PY, base_prefix=PY,
             user_site=r"C:\Users\kj\AppData\Roaming\Python\Python311\site-packages")
    d["dists"]["pywin32"] = "311"
    d["pywin32_import"] = {"ok": True, "value": None}
    d["udfs"]["value"]["file"] = PY + r"\Lib\site-packages\perfscore\__init__.py"
    kw = {"files": files, "registry": registry, "pythons": {PY + r"\python.exe": d}}
    for k, v in over.items():
        kw[k] = v(kw[k]) if callable(v) else v
    return FakeProbe(**kw)


def _by(checks, name):
    found = [c for c in checks if c.name == name] or [c for c in checks if c.name.startswith(name)]
    assert found, (name, [c.name for c in checks])
    return found[0] if len(found) == 1 else found


def _assert_chinese_fixes(checks):
    for c in checks:
        if c.status == FAIL:
            assert c.fix and re.search(r"[\u4e00-\u9fff]", c.fix), c


def test_healthy_pc_with_workbook_all_pass(real_probe_output):
    probe = _healthy(real_probe_output)
    checks = run_checks(REF, probe)
    assert all(c.status == OK for c in checks), [c for c in checks if c.status != OK]
    assert probe.ran == [(PY + r"\python.exe", [REF.name, "2020", "shenzhen"])]  # python.exe beside the pythonw Excel starts
    assert "64 位（即点即用 Platform=x64）" in _by(checks, "Excel").detail
    assert [c.name for c in checks if "DLL" in c.name] == ["64 位 Excel 用的 DLL"]  # only the bitness Excel has
    assert _by(checks, "规则年度与地区").status == OK and _by(checks, "函数包装").status == OK


def test_unknown_office_bitness_checks_both_dlls(real_probe_output):
    probe = _healthy(real_probe_output, registry=lambda r: {k: v for k, v in r.items() if k != C2R}
                     | {(EXCEL, "", "32"): r"C:\Office\EXCEL.EXE"},  # registered in both views: no clue
                     files=lambda f: {k: v for k, v in f.items() if "xlwings32" not in k})
    checks = run_checks(None, probe)
    assert "位数无法从注册表确定" in _by(checks, "Excel").detail
    c32 = _by(checks, "32 位 Excel 用的 DLL")
    assert c32.status == FAIL and "File not found: xlwings32-0.37.8.dll" in c32.detail and "杀毒软件" in c32.fix
    assert "“文件未找到: xlwings32-0.37.8.dll”（VBA 运行时错误 53" in c32.detail  # what Chinese Office shows
    assert _by(checks, "64 位 Excel 用的 DLL").status == OK
    _assert_chinese_fixes(checks)


def test_32bit_office_from_registry_view_needs_only_32bit_dll(real_probe_output):
    probe = _healthy(real_probe_output,
                     registry={(EXCEL, "", "32"): r"C:\Program Files (x86)\Microsoft Office\root\Office16\EXCEL.EXE"},
                     files=lambda f: {k: v for k, v in f.items() if "xlwings64" not in k})
    checks = run_checks(None, probe)
    assert "32 位（Excel 注册在32 位注册表视图）" in _by(checks, "Excel").detail
    assert [c.name for c in checks if "DLL" in c.name] == ["32 位 Excel 用的 DLL"]
    assert not [c for c in checks if c.status == FAIL]


def test_stale_per_user_conf_interpreter_is_reported_and_followed(real_probe_output):
    stale = '"INTERPRETER_WIN","C:\\Users\\kj\\Anaconda3\\python.exe"\n'
    probe = _healthy(real_probe_output, files=lambda f: f | {r"C:\Users\kj\.xlwings\xlwings.conf": stale})
    checks = run_checks(REF, probe)
    conf = _by(checks, "个人/文件夹 xlwings.conf")
    assert conf.status == WARN and r"INTERPRETER_WIN = C:\Users\kj\Anaconda3\python.exe" in conf.detail
    assert "xlwings addin install" in conf.fix
    py = _by(checks, "Excel 启动的 Python")
    assert py.status == FAIL and "Could not load xlwings64" in py.fix
    assert probe.ran == []  # nothing to run: the file does not exist
    _assert_chinese_fixes(checks)


def test_sheet_setting_wins_over_per_user_conf(tmp_path, real_probe_output):
    wb = _with_conf(REF, tmp_path / REF.name, [("INTERPRETER_WIN", r"%ProgramFiles%\Python311\pythonw.exe")])
    stale = '"INTERPRETER_WIN","C:\\Users\\kj\\Anaconda3\\python.exe"\n"CONDA PATH","C:\\Users\\kj\\Anaconda3"\n'
    probe = _healthy(real_probe_output, env={"ProgramFiles": r"C:\Program Files"},
                     files=lambda f: f | {r"C:\Users\kj\.xlwings\xlwings.conf": stale})
    checks = run_checks(wb, probe)
    py = _by(checks, "Excel 启动的 Python")
    assert py.status == OK and py.detail.startswith(PY + r"\pythonw.exe（xlwings.conf 中的 INTERPRETER_WIN")
    conf = _by(checks, "个人/文件夹 xlwings.conf")
    assert conf.status == WARN and "CONDA PATH" in conf.detail and "INTERPRETER_WIN" not in conf.detail
    assert _by(checks, "64 位 Excel 用的 DLL").status == OK  # explicit path: DLL beside the interpreter


def test_machine_path_and_duplicate_key_in_sheet(tmp_path, real_probe_output):
    wb = _with_conf(REF, tmp_path / REF.name, [("INTERPRETER_WIN", r"D:\Python311\pythonw.exe"),
                                               ("udf modules", "x")])
    checks = run_checks(wb, _healthy(real_probe_output))
    sheet = _by(checks, "xlwings.conf 工作表")
    assert {c.status for c in sheet} == {FAIL, WARN}
    assert any("D:\\Python311" in c.detail and "%LOCALAPPDATA%" in c.fix for c in sheet)
    assert any("udf modules" in c.detail for c in sheet)
    _assert_chinese_fixes(checks)


def test_python_not_on_path(real_probe_output):
    probe = _healthy(real_probe_output, env={"PATH": r"C:\Windows\system32"})
    checks = run_checks(None, probe)
    py = _by(checks, "Excel 启动的 Python")
    assert py.status == FAIL and "install.bat" in py.fix and "Install Python for all users" in py.fix
    _assert_chinese_fixes(checks)


def test_store_python_alias_first_on_path(real_probe_output):
    apps = r"C:\Users\kj\AppData\Local\Microsoft\WindowsApps"
    probe = _healthy(real_probe_output, env={"PATH": apps + ";" + PY},
                     files=lambda f: f | {apps + r"\pythonw.exe": True})
    py = _by(run_checks(None, probe), "Excel 启动的 Python")
    assert py.status == FAIL and "Microsoft Store" in py.detail and "应用执行别名" in py.fix
    assert probe.ran == []


def test_store_office_and_no_excel(real_probe_output):
    store = _healthy(real_probe_output, registry={(EXCEL, "", "64"): r"C:\Program Files\WindowsApps\Microsoft.Office.Desktop.Excel_16\Office16\EXCEL.EXE"})
    assert "Microsoft Store" in _by(run_checks(None, store), "Excel").detail
    none = _healthy(real_probe_output, registry={})
    excel = _by(run_checks(None, none), "Excel")
    assert excel.status == FAIL and "WPS" in excel.fix


def test_32bit_python_fails_with_the_bitness_rule(real_probe_output):
    probe = _healthy(real_probe_output)
    probe.pythons[PY + r"\python.exe"]["bits"] = 32
    c = _by(run_checks(None, probe), "Python 版本与位数")
    assert c.status == FAIL and "必须用 64 位 Python" in c.fix and "Excel 是 32 位还是 64 位都可以" in c.fix


def test_missing_packages_wrong_xlwings_and_user_install(real_probe_output):
    probe = _healthy(real_probe_output)
    d = probe.pythons[PY + r"\python.exe"]
    d["dists"]["xlwings"] = "0.33.1"
    d["pywin32_import"] = {"ok": False, "error": "ModuleNotFoundError: No module named 'win32com'"}
    d["udfs"]["value"]["file"] = d["user_site"] + r"\perfscore\__init__.py"
    checks = run_checks(REF, probe)
    assert _by(checks, "xlwings").status == FAIL and "需要 0.37.8" in _by(checks, "xlwings").detail
    assert _by(checks, "pywin32").status == FAIL and "win32com" in _by(checks, "pywin32").detail
    assert _by(checks, "安装范围").status == WARN
    assert _by(checks, "工作簿的 xlwings 版本").status == FAIL
    d["udfs"] = {"ok": False, "error": "ModuleNotFoundError: No module named 'perfscore'"}
    c = _by(run_checks(None, probe), "函数模块 perfscore.udfs")
    assert c.status == FAIL and "No module named 'perfscore'" in c.detail
    _assert_chinese_fixes(checks)


def test_interpreter_that_cannot_run(real_probe_output):
    probe = _healthy(real_probe_output, pythons={})
    c = _by(run_checks(None, probe), "Excel 启动的 Python")
    assert [x.status for x in c] == [OK, FAIL] and "not runnable" in c[1].detail


def test_workbook_rules_year_region_and_wrappers_compared(real_probe_output):
    probe = _healthy(real_probe_output)
    d = probe.pythons[PY + r"\python.exe"]
    own = d["systems"]["value"]["for_year"]
    d["systems"]["value"]["for_year"] = {"region_key": "shenzhen", "regions": ["shenzhen"], "region_years": [2019],
                                         "fallback": 2019}  # this PC has only an earlier year of the region
    checks = run_checks(REF, probe)
    c = _by(checks, "规则年度与地区")
    assert c.status == FAIL and "没有 2020 年的文件" in c.detail and "函数会按该地区 2019 年的规则计分" in c.detail
    assert r"%PERFSCORE_SYSTEMS%\shenzhen\2020.toml" in c.fix
    assert _by(checks, "函数包装").status == NA  # nothing to compare the wrappers with
    import dataclasses
    edited = dataclasses.replace(doctor.read_workbook(REF), year_problem="规则地区被改动（“基础数据”表中为（空））：…")
    c = _by(doctor.workbook_checks(edited, d, "0.37.8"), "规则年度与地区")
    assert c.status == FAIL and c.detail.startswith("规则地区被改动") and "perfscore template" in c.fix
    d["systems"]["value"]["for_year"] = own | {"name": "广州市部门整体支出绩效评价指标体系", "region": "广州市"}
    c = _by(run_checks(REF, probe), "规则年度与地区")
    assert c.status == FAIL and "《深圳市部门整体支出绩效评价指标体系》" in c.detail and "广州市" in c.detail
    assert "PERFSCORE_SYSTEMS" in c.fix
    d["systems"]["value"]["for_year"] = real_probe_output["systems"]["value"]["for_year"]
    d["wrappers"]["value"] = d["wrappers"]["value"].replace("Function PERF_TOTAL(", "Function PERF_SUM(") \
        .replace("PERF_PROCUREMENT(procurement_budget,", "PERF_PROCUREMENT(budget,")
    c = _by(run_checks(REF, probe), "函数包装")
    assert c.status == FAIL and "PERF_TOTAL 仅在工作簿中" in c.detail and "PERF_SUM 仅在本机 perfscore 中" in c.detail
    assert "PERF_PROCUREMENT 参数不同" in c.detail


def test_conda_settings_resolve_like_xlpyloaddll():
    probe = FakeProbe(files={r"C:\conda\envs\perf\pythonw.exe": True})
    interp = doctor.resolve_interpreter({"CONDA PATH": r"C:\conda", "CONDA ENV": "perf"}, probe)
    assert interp.exe == r"C:\conda\envs\perf\pythonw.exe" and interp.dll_dirs == [r"C:\conda\envs\perf", r"C:\conda\envs"]
    assert doctor.resolve_interpreter({"CONDA PATH": r"C:\conda", "CONDA ENV": "base"}, probe).dll_dirs[0] == r"C:\conda"


# ------------------------------------------------------------------------------------------ doctor, for real here
SYSTEMS = Path(__file__).parent / "data" / "systems"


@pytest.fixture(scope="module")
def tp_workbook(tmp_path_factory):
    """A workbook of the second test region (规则地区 testprovince, 2018), built from its file."""
    from test_regions import TP_CASE

    from perfscore.cli import main
    d = tmp_path_factory.mktemp("tp")
    (d / "tp.toml").write_text(TP_CASE, "utf-8")
    path = d / "测试局2018.xlsm"
    assert main(["template", "--system", str(SYSTEMS / "testprovince" / "2018.toml"), "--case", str(d / "tp.toml"),
                 "-o", str(path)]) == 0
    return path


def test_doctor_finds_the_workbooks_region_where_it_is_installed(tp_workbook, monkeypatch):
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(SYSTEMS))
    checks = run_checks(tp_workbook)
    assert all(c.status == OK for c in checks[1:]), checks
    c = _by(checks, "规则年度与地区")
    assert "2018 年，地区 testprovince（测试省）" in c.detail
    assert "PERF_TP_ADJUSTMENT" not in c.detail and _by(checks, "函数包装").status == OK  # its own region's wrappers
    assert "shenzhen：2020" in _by(checks, "指标体系").detail and "testprovince：2018、2020" in _by(checks, "指标体系").detail


def test_another_regions_broken_file_is_reported_without_hiding_the_workbooks_own(tp_workbook, monkeypatch, tmp_path):
    import shutil
    shutil.copytree(SYSTEMS / "testprovince", tmp_path / "testprovince")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "2021.toml").write_text("schema = 1\n[system]\n", "utf-8")
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(tmp_path))
    checks = run_checks(tp_workbook)
    c = _by(checks, "指标体系")
    assert c.status == FAIL and "elsewhere" in c.detail and "2021.toml" in c.detail
    assert _by(checks, "规则年度与地区").status == OK and _by(checks, "函数包装").status == OK


def test_doctor_names_the_region_key_that_is_not_installed(tp_workbook, monkeypatch, tmp_path):
    monkeypatch.delenv("PERFSCORE_SYSTEMS", raising=False)
    checks = run_checks(tp_workbook)
    c = _by(checks, "规则年度与地区")
    assert c.status == FAIL and "工作簿的规则地区是“testprovince”：本机没有安装这个地区的指标体系" in c.detail
    assert "shenzhen" in c.detail  # what is installed here
    assert r"%PERFSCORE_SYSTEMS%\testprovince\2018.toml" in c.fix and "第 8 节" in c.fix
    assert _by(checks, "函数包装").status == NA
    text, ok = doctor.report(checks, tp_workbook.name)
    assert not ok and "testprovince" in text
    # the region installed, but not the workbook's year (2020 only: nothing earlier to fall back to)
    (tmp_path / "testprovince").mkdir()
    (tmp_path / "testprovince" / "2020.toml").write_bytes((SYSTEMS / "testprovince" / "2020.toml").read_bytes())
    monkeypatch.setenv("PERFSCORE_SYSTEMS", str(tmp_path))
    c = _by(run_checks(tp_workbook), "规则年度与地区")
    assert c.status == FAIL and "工作簿的规则年度是 2018（地区“testprovince”）：本机该地区只有 2020 年度" in c.detail
    assert "PERF_ 函数无法计分" in c.detail


def test_doctor_on_this_machine_checks_the_workbook_against_this_perfscore():
    checks = run_checks(REF)
    assert checks[0].status == NA
    assert all(c.status == OK for c in checks[1:]), checks
    assert {"工作簿的 xlwings 版本", "规则年度与地区", "函数包装（VBA 模块 xlwings_udfs）"} <= {c.name for c in checks}


def test_doctor_cli_exit_codes(tmp_path):
    import os
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    ok = subprocess.run([sys.executable, "-m", "perfscore", "doctor", str(REF)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and "全部通过" in ok.stdout and "SHOW CONSOLE = TRUE" in ok.stdout
    bad = _with_conf(REF, tmp_path / "dup.xlsm", [("udf modules", "x")])
    # a duplicate key is only judged on Windows; here the file is still a valid workbook
    assert subprocess.run([sys.executable, "-m", "perfscore", "doctor", str(bad)], capture_output=True, env=env).returncode == 0
    missing = subprocess.run([sys.executable, "-m", "perfscore", "doctor", str(tmp_path / "无.xlsm")],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "文件不存在" in missing.stderr and "Traceback" not in missing.stderr


def test_report_shows_every_fix_and_says_not_all_passed(real_probe_output):
    probe = _healthy(real_probe_output, env={"PATH": r"C:\Windows\system32"})
    checks = run_checks(None, probe)
    text, ok = doctor.report(checks, None)
    assert not ok and "✗ Excel 启动的 Python：未通过" in text
    assert text.count("    怎么办：") == sum(1 for c in checks if c.fix)
    assert f"py -V:{sys.version_info[0]}.{sys.version_info[1]} -m perfscore doctor" in text and "SHOW CONSOLE = TRUE" in text
    assert "perfscore 环境检查" in text
