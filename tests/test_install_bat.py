"""install.bat run through a model of cmd.exe (tests/batch_sim.py): quiet mode, every exit-code path, the log, and
what it hands to pip and doctor. Also preflight.py's judgement with a fake registry. No network, no Windows."""
import re
import sys
from pathlib import Path

import pytest

from perfscore.deploy import preflight
from perfscore.deploy.bundle import EXIT_CODES, INSTALL_BAT, gbk_risky_bytes, install_bat

sys.path.insert(0, str(Path(__file__).parent))
from batch_sim import Batch, Unsupported  # noqa: E402

VERSION = "0.1.0+b0123456789"
BUNDLE = r"C:\部署\perfscore-离线安装包"
BAT = BUNDLE + r"\install.bat"
LOGDIR = r"C:\ProgramData\perfscore\logs"
LOG = LOGDIR + r"\install.log"


def _text():
    return install_bat(VERSION, "3.11", "0.37.8").decode("gbk")


class FakePC:
    """What install.bat's external commands answer: admin or not, Python found or not, exit codes of each step."""

    def __init__(self, admin=True, python=True, preflight=0, pip=0, doctor=0):
        self.admin, self.python, self.preflight, self.pip, self.doctor = admin, python, preflight, pip, doctor

    def __call__(self, cmd):
        if cmd.startswith("fltmc"):
            return (0, []) if self.admin else (1, [])
        if not cmd.startswith("py -V:3.11 "):
            return 9009, ["不是内部或外部命令"]
        if not self.python:
            return 103, []
        rest = cmd[len("py -V:3.11 "):]
        if rest.startswith('-c "import sys"'):
            return 0, []
        if "preflight.py" in rest:
            return self.preflight, ["[preflight]"]
        if rest.startswith("-m pip install"):
            return self.pip, ["pip output"]
        if rest.startswith("-m perfscore.deploy.shortcut"):
            return 0, []
        if rest.startswith("-m perfscore doctor"):
            return self.doctor, ["doctor report"]
        raise AssertionError(cmd)


def run(args=("/quiet",), pc=None, bundle_files=("requirements.txt", "preflight.py"), wheels=True, writable=None,
        env=None):
    files = {(BUNDLE + "\\" + f).lower(): "" for f in bundle_files}
    dirs = [r"C:\ProgramData", BUNDLE] + ([BUNDLE + r"\wheels"] if wheels else []) + [r"C:\Temp"]
    b = Batch(_text(), BAT, pc or FakePC(), env={"ProgramData": r"C:\ProgramData", "TEMP": r"C:\Temp", **(env or {})},
              dirs=dirs, files=files, writable=writable or (lambda p: True))
    return b.run(list(args))


def test_every_line_is_in_the_modelled_subset_and_commands_are_ascii():
    text = _text()
    assert Batch(text, BAT, None).check_syntax() == []
    with pytest.raises(Unsupported):  # the model refuses what it does not know, so the check above can fail
        Batch("for %%f in (*) do echo %%f\r\n", BAT, lambda c: (0, [])).run([])
    for line in text.splitlines():
        if not line.isascii():  # Chinese only in messages: everything before "echo " is ASCII
            assert "echo " in line and line.split("echo ", 1)[0].isascii(), line
        if line.lstrip().startswith("echo ") or " echo " in line:
            msg = line.split("echo ", 1)[1]
            assert not re.search(r"[<>|&^]", msg), line  # would be a redirection, pipe or escape in cmd.exe
        assert not re.search(r"\d>>", line.replace("2>&1", "")), line  # "... 1>>log" would redirect handle 1
    raw = install_bat(VERSION, "3.11", "0.37.8")
    assert gbk_risky_bytes(raw) == [] and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_quiet_success_exit_code_is_doctors_and_nothing_pauses():
    r = run()
    assert r.exit_code == 0 and r.pauses == 0
    pip = next(c for c in r.commands if "-m pip install" in c)
    assert f'--log "{LOG}"' in pip and '--no-index --find-links "' + BUNDLE + r'\wheels"' in pip
    assert pip.endswith(f'-r "{BUNDLE}\\requirements.txt"') and "--no-user" in pip
    assert [c.split()[3] if c.startswith("py -V:3.11 -m") else c.split()[0] for c in r.commands] == [
        "fltmc", "py", "py", "pip", "perfscore.deploy.shortcut", "perfscore"]
    assert r.commands[-1] == f'py -V:3.11 -m perfscore doctor --log "{LOG}"'
    assert f"日志：{LOG}" in r.console  # the log's path is printed
    log = r.files[LOG.lower()]
    assert log.startswith(f"[perfscore] install.bat {VERSION} for Python 3.11\r\n")
    assert "[perfscore] quiet mode" in log and log.endswith("[perfscore] exit code 0\r\n")
    assert r.env["PYTHONUTF8"] == "1"  # Python's redirected output and the log are UTF-8 like pip's --log


@pytest.mark.parametrize("doctor_rc", [1, 70])
def test_quiet_exit_code_follows_doctor(doctor_rc):
    r = run(pc=FakePC(doctor=doctor_rc))
    assert r.exit_code == doctor_rc and r.pauses == 0
    assert any(f"退出码 {doctor_rc}" in line for line in r.console)


@pytest.mark.parametrize("pc, code, last", [
    (FakePC(admin=False), 10, "fltmc"),
    (FakePC(python=False), 11, 'py -V:3.11 -c "import sys"'),
    (FakePC(preflight=12), 12, "preflight.py"),
    (FakePC(preflight=13), 13, "preflight.py"),
    (FakePC(pip=1), 14, "-m pip install"),
])
def test_failure_paths_exit_with_their_code_and_stop(pc, code, last):
    r = run(pc=pc)
    assert r.exit_code == code and r.pauses == 0
    assert last in r.commands[-1]  # nothing runs after the failing step
    assert not any("perfscore doctor" in c for c in r.commands)
    assert r.files[LOG.lower()].endswith(f"[perfscore] exit code {code}\r\n")
    assert any(f"安装未完成（退出码 {code}）" in line for line in r.console)
    assert code in EXIT_CODES


def test_incomplete_bundle_and_unknown_argument():
    r = run(bundle_files=("preflight.py",))
    assert r.exit_code == 15 and r.commands == []
    r = run(wheels=False)
    assert r.exit_code == 15
    r = run(args=("/silent",))
    assert r.exit_code == 16 and r.commands == [] and r.pauses == 1  # not quiet: the message stays on screen
    assert any("不认识的参数“/silent”" in line for line in r.console)


def test_interactive_pauses_once_and_still_returns_doctors_code():
    r = run(args=(), pc=FakePC(doctor=1))
    assert r.exit_code == 1 and r.pauses == 1
    assert "[perfscore] quiet mode" not in r.files[LOG.lower()]
    assert run(args=("/Q",)).pauses == 0  # switches are case-insensitive


def test_previous_log_kept_and_fallback_when_programdata_is_not_writable():
    pc = FakePC()
    files = {LOG.lower(): "old run\r\n"}
    b = Batch(_text(), BAT, pc, env={"ProgramData": r"C:\ProgramData", "TEMP": r"C:\Temp"},
              dirs=[r"C:\ProgramData", LOGDIR, BUNDLE, BUNDLE + r"\wheels"],
              files=files | {(BUNDLE + "\\" + f).lower(): "" for f in ("requirements.txt", "preflight.py")})
    r = b.run(["/quiet"])
    assert r.files[(LOGDIR + r"\install.prev.log").lower()] == "old run\r\n"
    r = run(writable=lambda p: not p.lower().startswith(r"c:\programdata"))
    assert r.exit_code == 0 and r"c:\temp\perfscore-install.log" in r.files
    assert r"日志：C:\Temp\perfscore-install.log" in r.console
    assert r.commands[-1].endswith(r'--log "C:\Temp\perfscore-install.log"')


def test_perfscore_py_overrides_the_launcher():
    seen = []

    def ext(cmd):
        seen.append(cmd)
        return (0, [])
    Batch(_text(), BAT, ext, env={"ProgramData": r"C:\ProgramData", "PERFSCORE_PY": r'"D:\Py311\python.exe"'},
          dirs=[r"C:\ProgramData", BUNDLE, BUNDLE + r"\wheels"],
          files={(BUNDLE + "\\" + f).lower(): "" for f in ("requirements.txt", "preflight.py")}).run(["/quiet"])
    assert seen[1].startswith(r'"D:\Py311\python.exe" -c')


def test_exit_codes_are_documented_in_the_readme_and_the_guide():
    from perfscore.deploy.bundle import README_TXT
    assert "{codes}" in README_TXT
    guide = (Path(__file__).resolve().parents[1] / "docs" / "windows-install.md").read_text("utf-8")
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", guide, re.M), code
    for code in (10, 11, 14, 15, 16):  # install.bat's own; 12 and 13 come from preflight.py
        assert f'set "RC={code}"' in INSTALL_BAT


# ------------------------------------------------------------------------------------------ preflight.py
def _reg(values):
    return lambda hive, key: values.get((hive, key))


KEY = r"SOFTWARE\Python\PythonCore\3.11\InstallPath"


def test_preflight_all_users_python_passes():
    code, msgs = preflight.judge(r"C:\Program Files\Python311", 64, "3.11",
                                 _reg({("HKLM", KEY): "C:\\Program Files\\Python311\\"}), [], None, "0.37.8")
    assert code == 0 and "为所有用户安装" in msgs[0]


def test_preflight_per_user_python_is_refused_from_its_registration():
    per_user = r"C:\Users\kj\AppData\Local\Programs\Python\Python311"
    code, msgs = preflight.judge(per_user, 64, "3.11", _reg({("HKCU", KEY): per_user + "\\"}), [], None, "0.37.8")
    assert code == preflight.EXIT_SCOPE == 13 and "注册在 HKCU" in msgs[0] and "for all users" in msgs[1]
    # a per-user Python in an unusual folder is caught too: the test is the registration, not the path
    odd = r"D:\Tools\Py311"
    code, msgs = preflight.judge(odd, 64, "3.11", _reg({("HKCU", KEY): odd, ("HKLM", KEY): r"C:\Program Files\Python311"}),
                                 [], None, None)
    assert code == 13 and r"C:\Program Files\Python311" in msgs[0]
    code, _ = preflight.judge(odd, 64, "3.11", _reg({}), [], None, None)
    assert code == 13


def test_preflight_32bit_and_warnings():
    assert preflight.judge(r"C:\Python311-32", 32, "3.11", _reg({}), [], None, None)[0] == 12
    py = r"C:\Program Files\Python311"
    code, msgs = preflight.judge(py, 64, "3.11", _reg({("HKLM", KEY): py}), ["EXCEL.EXE"], "0.33.1", "0.37.8")
    assert code == 0
    assert any("EXCEL.EXE 正在运行" in m for m in msgs)
    assert any("xlwings 0.33.1" in m and "重新生成" in m for m in msgs)


def test_preflight_main_never_shows_a_traceback(tmp_path, capsys):
    log = tmp_path / "install.log"
    rc = preflight.main(["--python", "3.11", "--xlwings", "0.37.8", "--log", str(log)])
    out = capsys.readouterr().out
    assert rc == 13 and "Traceback" not in out  # no winreg here: reported, install.bat stops
    assert "[preflight] exit 13" in log.read_text("utf-8")
