"""`perfscore bundle`: the offline Windows bundle is really built here (pip download from PyPI, ~33 MB, about 10 s)
and its contents checked. Skipped, with the reason, only when PyPI cannot be reached."""
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from perfscore.deploy.bundle import (BundleError, build_bundle, gbk_risky_bytes, missing_requirements, tested_versions,
                              wheel_platform_ok, xlwings_dlls)

ROOT = Path(__file__).resolve().parents[1]


def _pypi_reachable() -> str | None:
    url = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/").rstrip("/") + "/pip/"
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=15)
        return None
    except Exception as exc:  # any failure means: no index to download from
        return f"PyPI ({url}) is unreachable from this machine ({type(exc).__name__}: {exc}); the bundle needs it"


@pytest.fixture(scope="session")
def bundle(tmp_path_factory):
    reason = _pypi_reachable()
    if reason:
        pytest.skip(reason)
    before = {p.name for p in ROOT.iterdir()} | {p.name for p in (ROOT / "src").iterdir()}
    out = tmp_path_factory.mktemp("bundle") / "离线安装包"
    b = build_bundle(out, "3.11")
    after = {p.name for p in ROOT.iterdir()} | {p.name for p in (ROOT / "src").iterdir()}
    assert after == before, "building the wheel left files in the source tree"
    return b


def test_bundle_has_every_runtime_dependency_as_win_amd64_wheels(bundle):
    names = bundle.wheels
    assert [n for n in names if n.startswith("perfscore-")] == ["perfscore-0.1.0-py3-none-any.whl"]
    assert "xlwings-0.37.8-cp311-cp311-win_amd64.whl" in names
    assert any(n.startswith("pywin32-") and n.endswith("-cp311-cp311-win_amd64.whl") for n in names)
    assert all(wheel_platform_ok(n, "3.11") for n in names)
    assert missing_requirements(bundle.path / "wheels", "3.11") == []  # closed under Windows markers
    pins = tested_versions()
    for n in names:  # the versions this environment tests with
        dist = n.split("-")[0].replace("_", "-").lower()
        if dist in pins:
            assert n.split("-")[1] == pins[dist], n


def test_xlwings_wheel_carries_both_dlls(bundle):
    wheel = bundle.path / "wheels" / "xlwings-0.37.8-cp311-cp311-win_amd64.whl"
    assert xlwings_dlls(wheel) == ["xlwings32-0.37.8.dll", "xlwings64-0.37.8.dll"]
    with zipfile.ZipFile(wheel) as z:  # they install into sys.prefix, beside python.exe
        assert {n for n in z.namelist() if n.endswith(".dll")} == {
            "xlwings-0.37.8.data/data/xlwings32-0.37.8.dll", "xlwings-0.37.8.data/data/xlwings64-0.37.8.dll"}


def test_perfscore_wheel_carries_data_and_pins(bundle):
    with zipfile.ZipFile(bundle.path / "wheels" / "perfscore-0.1.0-py3-none-any.whl") as z:
        names = z.namelist()
        meta = z.read("perfscore-0.1.0.dist-info/METADATA").decode()
    assert "perfscore/systems/shenzhen/2020.toml" in names and "perfscore/deploy/doctor.py" in names and "perfscore/excel/uno/lo_recalc.py" in names
    assert "Requires-Dist: xlwings==0.37.8" in meta and "Requires-Dist: olefile==0.47" in meta


def test_install_bat_is_gbk_offline_all_users_then_doctor(bundle):
    raw = (bundle.path / "install.bat").read_bytes()
    text = raw.decode("gbk")
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert gbk_risky_bytes(raw) == []
    for line in text.splitlines():
        if not line.isascii():  # Chinese only in messages, commands stay ASCII
            assert line.lstrip().startswith("echo "), line
        if line.lstrip().startswith("echo ") and line.startswith("  "):
            assert "(" not in line and ")" not in line, line  # would end the enclosing if ( ... ) block
    assert 'set "PY=py -V:3.11"' in text and "net session" in text and "sys.maxsize > 2**32" in text
    pip = next(line for line in text.splitlines() if "-m pip install" in line)
    assert '--no-index --find-links "%WHEELS%"' in pip and "--no-user" in pip and pip.endswith("perfscore==0.1.0")
    assert "%PY% -m perfscore doctor" in text
    assert text.index("-m pip install") < text.index("-m perfscore doctor")


def test_readme_and_manifest(bundle):
    readme = (bundle.path / "说明.txt").read_bytes()
    assert readme.startswith(b"\xef\xbb\xbf") and "以管理员身份运行" in readme.decode("utf-8-sig")
    manifest = (bundle.path / "MANIFEST.txt").read_bytes().decode("utf-8").split("\r\n")
    listed = {line.split("  ", 1)[1]: line.split("  ", 1)[0] for line in manifest if line}
    assert set(listed) == {p.relative_to(bundle.path).as_posix() for p in bundle.path.rglob("*")
                           if p.is_file() and p.name != "MANIFEST.txt"}
    for rel, digest in listed.items():
        assert hashlib.sha256((bundle.path / rel).read_bytes()).hexdigest() == digest


def test_missing_windows_only_requirement_is_found(bundle, tmp_path):
    shutil.copytree(bundle.path / "wheels", tmp_path / "w")
    next((tmp_path / "w").glob("pywin32-*.whl")).unlink()
    assert [m for m in missing_requirements(tmp_path / "w", "3.11") if m.startswith("pywin32")]


def test_refuses_non_empty_directory_and_bad_python(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(BundleError, match="已存在且不为空.*--force"):
        build_bundle(tmp_path, "3.11")
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    for bad in ("3.10", "2.7", "latest"):
        with pytest.raises(BundleError, match="--python 应为 3.11"):
            build_bundle(tmp_path / "new", bad)


def test_no_network_gives_a_chinese_message(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)           # no local find-links or mirrors
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens on the discard port
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    with pytest.raises(BundleError, match="无法连接 PyPI") as info:
        build_bundle(tmp_path / "b", "3.11")
    assert "Traceback" not in str(info.value)
    assert not (tmp_path / "b").exists() and not list(tmp_path.iterdir())  # nothing half-built left behind


def test_cli_bundle_refusal_exit_code(tmp_path):
    (tmp_path / "x").write_text("keep")
    p = subprocess.run([sys.executable, "-m", "perfscore", "bundle", "-o", str(tmp_path)], capture_output=True,
                       text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert p.returncode == 2 and "已存在且不为空" in p.stderr and "Traceback" not in p.stderr
