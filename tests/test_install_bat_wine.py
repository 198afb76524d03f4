"""install.bat run by a real cmd.exe implementation: Wine's (not Microsoft's). `py` and `fltmc` are stand-in
executables (pip's distlib launcher stub whose "interpreter" is a batch file answering with the exit code the test
chose), so every exit-code path runs through cmd.exe's own parsing of the GBK, CRLF file. Wine's code page here is
not 936, so the Chinese messages come out garbled: the commands, which are ASCII, must work regardless.

Skipped when Wine is not installed (Debian: apt-get install wine64 wine); about 3 s a run after a one-off ~10 s
for Wine's prefix."""
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from perfscore.deploy.bundle import install_bat

WINE = shutil.which("wine")
pytestmark = pytest.mark.skipif(WINE is None, reason="Wine is not installed here (apt-get install wine64 wine)")
VERSION = "0.1.0+b0123456789"

FAKE = r"""@echo off
>>"%FAKE_CALLS%" echo %~n1 %~4
if /i "%~n1"=="fltmc" exit /b %FAKE_FLTMC%
if "%~3"=="-c" exit /b %FAKE_PYTHON%
if /i "%~nx3"=="preflight.py" exit /b %FAKE_PREFLIGHT%
if "%~4"=="pip" exit /b %FAKE_PIP%
if "%~4"=="perfscore" exit /b %FAKE_DOCTOR%
exit /b 0
"""


def _launcher(target_bat: str) -> bytes:
    import pip._vendor.distlib as distlib
    stub = (Path(distlib.__file__).parent / "t64.exe").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("__main__.py", "")
    return stub + f"#!C:\\windows\\system32\\cmd.exe /c {target_bat}\r\n".encode("ascii") + buf.getvalue()


def _win(path: Path) -> str:
    return "Z:" + str(path).replace("/", "\\")


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    base = tmp_path_factory.mktemp("wine")
    env = {**os.environ, "WINEPREFIX": str(base / "prefix"), "WINEDEBUG": "-all", "WINEDLLOVERRIDES": "mscoree,mshtml="}
    p = subprocess.run([WINE, "cmd", "/c", "exit /b 0"], env=env, capture_output=True, timeout=300)
    if p.returncode != 0:
        pytest.skip(f"Wine does not start here: {p.stderr[-300:]!r}")
    bundle = base / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    (bundle / "install.bat").write_bytes(install_bat(VERSION, "3.11", "0.37.8"))
    for f in ("requirements.txt", "preflight.py"):
        (bundle / f).write_text("", "ascii")
    (bundle / "fake.bat").write_bytes(FAKE.replace("\n", "\r\n").encode("ascii"))
    for exe in ("py.exe", "fltmc.exe"):  # found in the current directory, which install.bat sets to its own
        (bundle / exe).write_bytes(_launcher(_win(bundle / "fake.bat")))
    log = base / "prefix" / "drive_c" / "ProgramData" / "perfscore" / "logs" / "install.log"

    def run(*args, fltmc=0, python=0, preflight=0, pip=0, doctor=0, stdin=""):
        calls = base / "calls.txt"
        calls.unlink(missing_ok=True)
        e = {**env, "FAKE_CALLS": _win(calls), "FAKE_FLTMC": str(fltmc), "FAKE_PYTHON": str(python),
             "FAKE_PREFLIGHT": str(preflight), "FAKE_PIP": str(pip), "FAKE_DOCTOR": str(doctor)}
        p = subprocess.run([WINE, "cmd", "/c", _win(bundle / "install.bat"), *args], env=e, input=stdin.encode(),
                           capture_output=True, timeout=120)
        steps = [line.strip() for line in (calls.read_text("latin-1").splitlines() if calls.exists() else [])]
        return p.returncode, steps, log.read_text("utf-8", "replace") if log.exists() else ""
    return run


def test_quiet_install_under_wine_cmd_returns_doctors_code_and_writes_the_log(wine):
    rc, steps, log = wine("/quiet")
    assert rc == 0
    assert steps == ["fltmc", "py import sys", "py --python", "py pip", "py perfscore.deploy.shortcut", "py perfscore"]
    assert log.startswith(f"[perfscore] install.bat {VERSION} for Python 3.11") and "[perfscore] quiet mode" in log
    assert "[perfscore] exit code 0" in log
    rc, _, log = wine("/quiet", doctor=1)
    assert rc == 1 and "[perfscore] exit code 1" in log


@pytest.mark.parametrize("kw, code, last", [
    ({"fltmc": 1}, 10, "fltmc"), ({"python": 103}, 11, "py import sys"), ({"preflight": 13}, 13, "py --python"),
    ({"preflight": 12}, 12, "py --python"), ({"pip": 1}, 14, "py pip")])
def test_failures_under_wine_cmd(wine, kw, code, last):
    rc, steps, log = wine("/quiet", **kw)
    assert rc == code and steps[-1] == last and f"[perfscore] exit code {code}" in log


def test_unknown_argument_and_interactive_pause_under_wine_cmd(wine):
    rc, steps, _ = wine("/bogus", stdin="\r\n")
    assert rc == 16 and steps == []
    rc, steps, log = wine(stdin="\r\n", doctor=1)  # interactive: one pause at the end, fed by the newline
    assert rc == 1 and steps[-1] == "py perfscore" and "quiet mode" not in log
