"""doctor's checks of what stops the workbooks on managed PCs, each failure produced with the fake Windows probe:
WOW64 expansion of %ProgramFiles% in 32-bit Office, Mark of the Web and the internet-macro policy, macro settings and
trusted locations (user and policy keys), the Defender ASR rule, per-user Python (from its registration), WPS, the
cmd.exe policy, running as SYSTEM, and the COM-server start in the DLL's words."""
import re
import shutil
import sys
from pathlib import Path

import pytest

from perfscore.deploy import comserver, policy
from perfscore.deploy.doctor import FAIL, NA, OK, WARN, run_checks

from test_doctor import (C2R, EXCEL, HKCU_PY, HKLM_PY, POL, PY, REF, SEC, TRUSTED, FakeProbe, _assert_chinese_fixes,  # noqa: F401
                         _by, _healthy, _trusted, _with_conf, real_probe_output)

OFFICE32 = r"C:\Program Files (x86)\Microsoft Office\root\Office16\EXCEL.EXE /automation"
C2R32 = {C2R: "x86"}
ASR = r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\Windows Defender Exploit Guard\ASR"


def _office32(registry):
    return {k: v for k, v in registry.items() if k not in ((EXCEL, "", "64"), C2R)} | {(EXCEL, "", "32"): OFFICE32} | C2R32


# ------------------------------------------------------------------------------------------ WOW64
def test_programfiles_in_interpreter_win_fails_in_32bit_office(tmp_path, real_probe_output):
    wb = _with_conf(REF, tmp_path / REF.name, [("INTERPRETER_WIN", r"%ProgramFiles%\Python311\pythonw.exe")])
    probe = _healthy(real_probe_output, registry=_office32)
    checks = run_checks(wb, probe)
    c = _by(checks, "INTERPRETER_WIN 中的 %ProgramFiles%")
    assert c.status == FAIL and r"C:\Program Files (x86)\Python311\pythonw.exe" in c.detail
    assert r"%ProgramW6432%\Python311\pythonw.exe" in c.fix
    py = _by(checks, "Excel 启动的 Python")
    assert py.status == FAIL and r"C:\Program Files (x86)\Python311\pythonw.exe 不存在" in py.detail
    assert "Could not load xlwings32-0.37.8.dll from either of the following folders: " \
           r"C:\Program Files (x86)\Python311, C:\Program Files (x86)" in py.fix
    assert probe.ran == []
    _assert_chinese_fixes(checks)
    # the same setting with %ProgramW6432% works in 32-bit Office
    (tmp_path / "b").mkdir()
    wb2 = _with_conf(REF, tmp_path / "b" / REF.name, [("INTERPRETER_WIN", r"%ProgramW6432%\Python311\pythonw.exe")])
    checks = run_checks(wb2, _healthy(real_probe_output, registry=_office32))
    assert _by(checks, "Excel 启动的 Python").status == OK
    assert not [c for c in checks if "%ProgramFiles%" in c.name]
    assert _by(checks, "32 位 Excel 用的 DLL").status == OK


def test_programfiles_in_64bit_office_warns_about_other_pcs(tmp_path, real_probe_output):
    wb = _with_conf(REF, tmp_path / REF.name, [("INTERPRETER_WIN", r"%ProgramFiles%\Python311\pythonw.exe")])
    checks = run_checks(wb, _healthy(real_probe_output))
    assert _by(checks, "INTERPRETER_WIN 中的 %ProgramFiles%").status == WARN
    assert _by(checks, "Excel 启动的 Python").status == OK


def test_office_environ_is_what_a_32bit_process_inherits():
    env = FakeProbe().envs
    e32 = comserver.office_environ(env, 32)
    assert e32["ProgramFiles"] == r"C:\Program Files (x86)" and e32["ProgramW6432"] == r"C:\Program Files"
    assert e32["CommonProgramFiles"] == r"C:\Program Files (x86)\Common Files"
    assert e32["PROCESSOR_ARCHITECTURE"] == "x86" and e32["PROCESSOR_ARCHITEW6432"] == "AMD64"
    assert comserver.office_environ(env, 64) == env and comserver.office_environ(env, None) == env


# ------------------------------------------------------------------------------------------ Mark of the Web
def _copy(tmp_path, name="wb"):
    d = tmp_path / name
    d.mkdir()
    return Path(shutil.copy(REF, d / REF.name))


def test_mark_of_the_web_blocks_macros_unless_trusted(tmp_path, real_probe_output):
    wb = _copy(tmp_path)
    motw = {str(wb.resolve()) + ":Zone.Identifier": "[ZoneTransfer]\r\nZoneId=3\r\nHostUrl=https://mail.example/\r\n"}
    checks = run_checks(wb, _healthy(real_probe_output, files=lambda f: f | motw))
    c = _by(checks, "来自 Internet 的文件")
    assert c.status == FAIL and "Internet 区域（网络标记（Zone.Identifier））" in c.detail and "已阻止宏运行" in c.detail
    assert "解除锁定" in c.fix and "Unblock-File" in c.fix
    assert _by(checks, "受信任位置").status == WARN  # not in a trusted location either
    _assert_chinese_fixes(checks)
    # the policy “Block macros from running in Office files from the Internet” named when set
    checks = run_checks(wb, _healthy(real_probe_output, files=lambda f: f | motw,
                                     registry=lambda r: r | {(POL, "blockcontentexecutionfrominternet", "64"): "1"}))
    assert "组策略“阻止来自 Internet 的 Office 文件中的宏”已启用" in _by(checks, "来自 Internet 的文件").detail
    # policy turned off: the old bar with 启用内容
    checks = run_checks(wb, _healthy(real_probe_output, files=lambda f: f | motw,
                                     registry=lambda r: r | {(POL, "blockcontentexecutionfrominternet", "64"): "0"}))
    assert _by(checks, "来自 Internet 的文件").status == WARN
    # in a trusted location the mark does not matter
    checks = run_checks(wb, _healthy(real_probe_output, files=lambda f: f | motw,
                                     registry=lambda r: r | _trusted(str(wb.parent.resolve()), SEC + r"\Trusted Locations\Location3")))
    assert _by(checks, "来自 Internet 的文件").status == OK and _by(checks, "受信任位置").status == OK
    # an intranet zone is no problem
    checks = run_checks(wb, _healthy(real_probe_output, files=lambda f: f | {
        str(wb.resolve()) + ":Zone.Identifier": "[ZoneTransfer]\nZoneId=1\n"}))
    assert _by(checks, "来自 Internet 的文件").status == OK


def test_share_by_ip_address_counts_as_internet():
    probe = FakeProbe()
    checks = policy.macro_checks(r"\\192.168.1.20\绩效\某单位2021.xlsm", probe, "16.0")
    c = _by(checks, "来自 Internet 的文件")
    assert c.status == FAIL and "通过 IP 地址访问的共享" in c.detail and "服务器名" in c.fix
    assert _by(policy.macro_checks(r"\\fileserver\绩效\某单位2021.xlsm", probe, "16.0"), "来自 Internet 的文件").status == OK


# ------------------------------------------------------------------------------------------ macro settings, trusted locations
def test_vba_warning_level_from_policy_wins_and_blocks_outside_trusted_locations(tmp_path, real_probe_output):
    wb = _copy(tmp_path)
    probe = _healthy(real_probe_output, registry=lambda r: r | {(POL, "VBAWarnings", "64"): "4", (SEC, "VBAWarnings", "64"): "1"})
    checks = run_checks(wb, probe)
    c = _by(checks, "宏设置")
    assert c.status == FAIL and "禁用所有宏，并且不通知（组策略）" in c.detail and "受信任位置" in c.fix
    assert _by(checks, "受信任位置").status == FAIL
    # the same level, but the workbook lies in a location the policy trusts
    pol_loc = POL + r"\Trusted Locations\Location1"
    probe = _healthy(real_probe_output, registry=lambda r: r | {(POL, "VBAWarnings", "64"): "3"}
                     | _trusted(str(tmp_path.resolve()), pol_loc, subfolders=True))
    checks = run_checks(wb, probe)
    assert _by(checks, "宏设置").status == OK and "（组策略）" in _by(checks, "受信任位置").detail
    # the user's level 3 without policy, workbook in the user's trusted location: fine
    probe = _healthy(real_probe_output, registry=lambda r: r | {(SEC, "VBAWarnings", "64"): "3"})
    assert _by(run_checks(REF, probe), "宏设置").status == OK


def test_policy_limits_on_trusted_locations(tmp_path, real_probe_output):
    base = {(POL, "VBAWarnings", "64"): "3"}
    # all trusted locations disabled by policy
    probe = _healthy(real_probe_output, registry=lambda r: r | base | {
        (POL + r"\Trusted Locations", "AllLocationsDisabled", "64"): "1"})
    checks = run_checks(REF, probe)
    assert _by(checks, "受信任位置").status == FAIL and "组策略禁用了所有受信任位置" in _by(checks, "受信任位置").detail
    assert _by(checks, "宏设置").status == FAIL
    # user-added locations not allowed by policy (“Allow mix of policy and user locations” = 0)
    probe = _healthy(real_probe_output, registry=lambda r: r | base | {
        (r"HKCU\Software\Policies\Microsoft\Office\16.0\Common\Security\Trusted Locations", "Allow User Locations", "64"): "0"})
    c = _by(run_checks(REF, probe), "受信任位置")
    assert c.status == FAIL and "组策略不承认用户自己添加的受信任位置" in c.detail
    # a network folder counts only when network locations are allowed
    loc = {(SEC + r"\Trusted Locations\Location5", "Path", "64"): "\\\\fileserver\\绩效\\"}
    probe = FakeProbe(registry=loc | base)
    c = _by(policy.macro_checks(r"\\fileserver\绩效\a.xlsm", probe, "16.0"), "受信任位置")
    assert c.status == FAIL and "网络位置" in c.detail
    probe = FakeProbe(registry=loc | base | {(SEC + r"\Trusted Locations", "AllowNetworkLocations", "64"): "1"})
    assert _by(policy.macro_checks(r"\\fileserver\绩效\a.xlsm", probe, "16.0"), "受信任位置").status == OK
    # a location written with an environment variable (REG_EXPAND_SZ) is expanded
    probe = FakeProbe(registry={(SEC + r"\Trusted Locations\Location0", "Path", "64"): r"%USERPROFILE%\绩效\\"} | base)
    assert _by(policy.macro_checks(r"C:\Users\kj\绩效\a.xlsm", probe, "16.0"), "受信任位置").status == OK


def test_office_version_from_excel_path():
    assert policy.office_version(OFFICE32) == "16.0"
    assert policy.office_version(r"C:\Program Files\Microsoft Office\Office15\EXCEL.EXE") == "15.0"
    assert policy.office_version(None) == "16.0"


# ------------------------------------------------------------------------------------------ ASR, cmd.exe
@pytest.mark.parametrize("mode, status", [("1", FAIL), ("6", WARN), ("2", OK), ("0", OK)])
def test_asr_rule_against_office_child_processes(real_probe_output, mode, status):
    probe = _healthy(real_probe_output, registry=lambda r: r | {(ASR + r"\Rules", policy.ASR_RULE, "64"): mode})
    checks = run_checks(None, probe)
    c = _by(checks, "Defender 规则：阻止 Office 创建子进程")
    assert c.status == status, c
    if status != OK:
        assert "Could not create Python process." in c.detail and "拒绝访问" in c.detail
        assert "排除项" in c.fix and PY in c.fix
        _assert_chinese_fixes(checks)


def test_asr_exclusion_for_python_turns_the_failure_into_a_note(real_probe_output):
    probe = _healthy(real_probe_output, registry=lambda r: r | {(ASR + r"\Rules", policy.ASR_RULE, "64"): "1",
                                                                (ASR + r"\ASROnlyExclusions", PY + "\\", "64"): "0"})
    c = _by(run_checks(None, probe), "Defender 规则：阻止 Office 创建子进程")
    assert c.status == WARN and "已有排除项" in c.detail and "Ctrl+Alt+F9" in c.fix


def test_disabled_command_prompt(real_probe_output):
    probe = _healthy(real_probe_output, registry=lambda r: r | {
        (r"HKCU\Software\Policies\Microsoft\Windows\System", "DisableCMD", "64"): "2"})
    c = _by(run_checks(None, probe), "命令提示符")
    assert c.status == FAIL and "cmd.exe /K" in c.detail and "阻止访问命令提示符" in c.fix
    assert not [c for c in run_checks(None, _healthy(real_probe_output)) if c.name == "命令提示符"]


# ------------------------------------------------------------------------------------------ install scope
def test_per_user_python_is_found_from_its_registration(real_probe_output):
    per_user = r"C:\Users\kj\AppData\Local\Programs\Python\Python311"

    def as_per_user(d):
        d["base_prefix"] = d["prefix"] = per_user
    probe = _healthy(real_probe_output, registry=lambda r: {k: v for k, v in r.items() if k != HKLM_PY}
                     | {HKCU_PY: per_user + "\\"})
    as_per_user(probe.pythons[PY + r"\python.exe"])
    c = _by(run_checks(None, probe), "Python 的安装范围")
    assert c.status == WARN and "登记在 HKCU" in c.detail and "Install Python for all users" in c.fix
    # not registered anywhere (a copied Python or a venv)
    probe = _healthy(real_probe_output, registry=lambda r: {k: v for k, v in r.items() if k != HKLM_PY})
    c = _by(run_checks(None, probe), "Python 的安装范围")
    assert c.status == WARN and "没有登记" in c.detail
    # registered for all users: fine wherever the folder is (the old test only looked for AppData in the path)
    probe = _healthy(real_probe_output, registry=lambda r: r | {HKLM_PY: per_user})
    as_per_user(probe.pythons[PY + r"\python.exe"])
    assert _by(run_checks(None, probe), "Python 的安装范围").status == OK


# ------------------------------------------------------------------------------------------ WPS
def test_wps_registered_as_excel_application(real_probe_output):
    et = r"C:\Users\kj\AppData\Local\Kingsoft\WPS Office\12.1.0.17147\office6\et.exe /Automation"
    probe = _healthy(real_probe_output, registry=lambda r: {k: v for k, v in r.items() if k[0] != EXCEL} | {(EXCEL, "", "64"): et})
    checks = run_checks(None, probe)
    c = _by(checks, "Excel")
    assert c.status == FAIL and "WPS 表格" in c.detail and "公式版" in c.fix and "兼容" in c.fix
    _assert_chinese_fixes(checks)


def test_xlsm_opened_by_wps(real_probe_output):
    probe = _healthy(real_probe_output, registry=lambda r: r | {
        (r"HKCR\.xlsm", "", "64"): "KET.xlsm",
        (r"HKCR\KET.xlsm\shell\open\command", "", "64"): r'"C:\Program Files\Kingsoft\WPS Office\ksolaunch.exe" /et "%1"'})
    c = _by(run_checks(None, probe), ".xlsm 的打开方式")
    assert c.status == WARN and "WPS" in c.detail and "始终使用此应用" in c.fix
    # the user's own choice wins over the machine's association
    probe = _healthy(real_probe_output, registry=lambda r: r | {
        (r"HKCR\.xlsm", "", "64"): "KET.xlsm",
        (r"HKCR\KET.xlsm\shell\open\command", "", "64"): r'"C:\WPS\et.exe" "%1"',
        (r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\FileExts\.xlsm\UserChoice", "ProgId", "64"):
            "Excel.SheetMacroEnabled.12",
        (r"HKCR\Excel.SheetMacroEnabled.12\shell\open\command", "", "64"): r'"C:\Office16\EXCEL.EXE" "%1"'})
    assert not [c for c in run_checks(None, probe) if c.name == ".xlsm 的打开方式"]


# ------------------------------------------------------------------------------------------ who runs doctor
def test_as_system_the_per_user_checks_are_left_out_and_said_so(real_probe_output):
    probe = _healthy(real_probe_output, who={"user": "WS01$", "system": True, "elevated": True})
    checks = run_checks(REF, probe)
    c = _by(checks, "运行身份")
    assert c.status == WARN and "SYSTEM" in c.detail and "perfscore 环境检查" in c.fix
    assert not [c for c in checks if c.name in ("宏设置", "受信任位置", "来自 Internet 的文件", "按 Excel 的方式启动 Python")]
    assert probe.started == []
    assert _by(checks, "Python 的安装范围").status == OK  # machine-wide checks still run


# ------------------------------------------------------------------------------------------ the COM server, as the DLL starts it
def test_com_server_is_started_with_the_command_and_environment_excel_would_use(real_probe_output):
    probe = _healthy(real_probe_output, registry=_office32)
    checks = run_checks(REF, probe)
    assert _by(checks, "按 Excel 的方式启动 Python").status == OK
    (command, env), = probe.started
    fullname = str(REF.resolve()).replace("\\", "\\\\")
    assert command == ('cmd.exe  /K ""pythonw" -B -c "import sys, os;import xlwings.utils;xlwings.utils.prepare_sys_path('
                       f'\\"FALSE;{fullname};{fullname};;;;\\");import xlwings; xlwings.serve(\'$(CLSID)\')""')
    assert env["ProgramFiles"] == r"C:\Program Files (x86)"  # the 32-bit Excel's environment


@pytest.mark.parametrize("result, words, fix", [
    ({"stage": "create", "error": "拒绝访问。"}, "Could not create Python process. Error message: 拒绝访问。", "AppLocker"),
    ({"stage": "exited", "output": ""}, "Python process exited before it was possible to create the interface object.",
     "命令提示符"),
    ({"stage": "python_failed", "output": "ModuleNotFoundError: No module named 'win32com'"},
     "Could not activate Python COM server, hr = -2147221164", "pywin32"),
    ({"stage": "python_failed", "output": "'pythonw' 不是内部或外部命令，也不是可运行的程序\r\n或批处理文件。"},
     "Could not activate Python COM server, hr = -2147221164", "PATH"),
    ({"stage": "timeout", "hr": -2147221164, "output": ""}, "Could not activate Python COM server, hr = -2147221164",
     "SHOW CONSOLE"),
    ({"stage": "ok", "seconds": 3.0, "module_error": "ModuleNotFoundError: No module named 'perfscore'"},
     "导入 perfscore.udfs 出错", "install.bat"),
])
def test_com_server_failures_in_the_dlls_words(real_probe_output, result, words, fix):
    probe = _healthy(real_probe_output, com=result)
    checks = run_checks(None, probe)
    c = _by(checks, "按 Excel 的方式启动 Python")
    assert c.status == FAIL and words in c.detail and fix in c.fix, c
    _assert_chinese_fixes(checks)
    text, ok = __import__("perfscore.deploy.doctor", fromlist=["report"]).report(checks)
    assert not ok and "Traceback" not in text


def test_no_pywin32_for_the_simulation_is_not_a_failure(real_probe_output):
    probe = _healthy(real_probe_output, com={"stage": "unavailable", "error": "运行 doctor 的 Python 中没有 pywin32"})
    assert _by(run_checks(None, probe), "按 Excel 的方式启动 Python").status == NA


# ------------------------------------------------------------------------------------------ XLPyCommand, against xlwings.bas
def _vba_concat(expr: str, variables: dict) -> str:
    """Evaluate a VBA string expression made of literals, variables, Chr(34) and &."""
    out, i = [], 0
    tokens = re.findall(r'"(?:[^"]|"")*"|Chr\(34\)|[A-Za-z_]\w*|&', expr)
    assert "".join(tokens).replace(" ", "") == expr.replace(" ", "").replace("\t", ""), expr  # nothing skipped
    for t in tokens:
        if t == "&":
            continue
        if t.startswith('"'):
            out.append(t[1:-1].replace('""', '"'))
        elif t == "Chr(34)":
            out.append('"')
        else:
            out.append(variables[t])
        i += 1
    return "".join(out)


def test_xlpy_command_is_what_xlwings_bas_builds():
    import xlwings
    bas = (Path(xlwings.__file__).parent / "xlwings.bas").read_text("utf-8", "replace")
    body = bas[bas.index("Function XLPyCommand()"):bas.index("End Function", bas.index("Function XLPyCommand()"))]

    def rhs(var, nth=0):
        return re.findall(rf"^\s*{var} = (.+?)\s*$", body, re.M)[nth]
    conf = {"ADD_WORKBOOK_TO_PYTHONPATH": "FALSE", "PYTHONPATH": r"D:\lib&x", "INTERPRETER_WIN": r"C:\P y\pythonw.exe",
            "SHOW CONSOLE": "TRUE"}
    fullname = r"C:\绩效\某单位'2021.xlsm"
    # PYTHONPATH = AddExcelDir & ";" & ThisWorkbook.FullName & ... ; then the three Replace() lines
    pp = ";".join(["FALSE", fullname, fullname, "", "", "", conf["PYTHONPATH"]])
    assert "PYTHONPATH = Replace(PYTHONPATH, \"\\\", \"\\\\\")" in body and "Replace(PYTHONPATH, \"&\", \"^&\")" in body
    pp = pp.replace("\\", "\\\\").replace("'", "\\'").replace("&", "^&")
    python_win = _vba_concat(rhs("PYTHON_WIN", 3), {"ConsoleSwitch": "/showconsole", "PYTHON_WIN": conf["INTERPRETER_WIN"]})
    tail = _vba_concat(rhs("tail"), {"LicenseKeyEnvString": "", "PYTHONPATH": pp})
    expected = _vba_concat(rhs("XLPyCommand", 1), {"PYTHON_WIN": python_win, "tail": tail})
    assert comserver.xlpy_command(conf, fullname) == expected
    # conda branch
    conda = {"CONDA PATH": r"C:\conda", "CONDA ENV": "perf"}
    cc = _vba_concat(rhs("CondaCmd"), {"CondaPath": conda["CONDA PATH"], "CondaEnv": "perf"})
    python_win = _vba_concat(rhs("PYTHON_WIN", 2), {"ConsoleSwitch": "", "CondaCmd": cc})
    tail = _vba_concat(rhs("tail"), {"LicenseKeyEnvString": "", "PYTHONPATH": "true;x;x;;;;".replace("\\", "\\\\")})
    assert comserver.xlpy_command(conda, "x") == _vba_concat(rhs("XLPyCommand", 1), {"PYTHON_WIN": python_win, "tail": tail})


# ------------------------------------------------------------------------------------------ the command line
def test_doctor_log_and_pause(tmp_path):
    import os
    import subprocess
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    log = tmp_path / "install.log"
    log.write_text("[perfscore] earlier lines\n", "utf-8")
    p = subprocess.run([sys.executable, "-m", "perfscore", "doctor", "--log", str(log), "--pause"], input="\n",
                       capture_output=True, text=True, env=env)
    assert p.returncode == 0 and "按回车键关闭此窗口" in p.stdout
    text = log.read_text("utf-8")
    assert text.startswith("[perfscore] earlier lines\n[doctor] ") and "perfscore 环境检查" in text
    assert text.endswith("[doctor] exit 0\n")
    p = subprocess.run([sys.executable, "-m", "perfscore", "doctor", "--pause"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, env=env)  # no console to press Enter in: no hang, no traceback
    assert p.returncode == 0 and "Traceback" not in p.stderr


def test_start_menu_entry_runs_doctor_as_the_user():
    from perfscore.deploy import shortcut
    s = shortcut.spec(r"C:\Program Files\Python311\python.exe", r"C:\ProgramData")
    assert s["path"] == r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\perfscore\perfscore 环境检查.lnk"
    assert s["target"] == r"C:\Program Files\Python311\python.exe" and s["arguments"] == "-m perfscore doctor --pause"
    assert shortcut.main([]) == 1  # not Windows: says so, changes nothing
