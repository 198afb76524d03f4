"""`perfscore bundle`: the offline Windows bundle is really built here (pip download from PyPI, ~39 MB, about 6 s
a build once pip's cache has the wheels) and its contents checked; a second bundle from changed sources is installed
over the first in a real venv and in a dry run with Windows tags; a third from a "Windows checkout" of the same
sources must be byte-for-byte the same. Skipped, with the reason, only when PyPI cannot be reached."""
import hashlib
import re
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

from perfscore.deploy.bundle import (BundleError, build_bundle, bundle_version, gbk_risky_bytes, lock_drift,
                                     manifest_hashes, manifest_versions, missing_requirements, read_lock,
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


LOCK = read_lock()
VERSION_RE = re.compile(r"^0\.1\.0\+b[0-9a-f]{10}$")


def test_bundle_has_every_runtime_dependency_as_win_amd64_wheels_at_the_locked_versions(bundle):
    names = bundle.wheels
    assert VERSION_RE.match(bundle.version), bundle.version
    assert [n for n in names if n.startswith("perfscore-")] == [f"perfscore-{bundle.version}-py3-none-any.whl"]
    assert "xlwings-0.37.8-cp311-cp311-win_amd64.whl" in names
    assert "pywin32-312-cp311-cp311-win_amd64.whl" in names  # pinned, although nothing here can install it
    assert all(wheel_platform_ok(n, "3.11") for n in names)
    assert missing_requirements(bundle.path / "wheels", "3.11") == []  # closed under Windows markers
    got = {n.split("-")[0].replace("_", "-").lower(): n.split("-")[1] for n in names if not n.startswith("perfscore-")}
    assert got == LOCK["runtime"]  # every wheel locked, every locked package present


def test_xlwings_wheel_carries_both_dlls(bundle):
    wheel = bundle.path / "wheels" / "xlwings-0.37.8-cp311-cp311-win_amd64.whl"
    assert xlwings_dlls(wheel) == ["xlwings32-0.37.8.dll", "xlwings64-0.37.8.dll"]
    with zipfile.ZipFile(wheel) as z:  # they install into sys.prefix, beside python.exe
        assert {n for n in z.namelist() if n.endswith(".dll")} == {
            "xlwings-0.37.8.data/data/xlwings32-0.37.8.dll", "xlwings-0.37.8.data/data/xlwings64-0.37.8.dll"}


def test_the_dll_messages_doctor_quotes_are_in_the_dlls(bundle):
    from perfscore.deploy.comserver import MSG_ACTIVATE, MSG_CREATE, MSG_EXITED
    with zipfile.ZipFile(bundle.path / "wheels" / "xlwings-0.37.8-cp311-cp311-win_amd64.whl") as z:
        for bits in (32, 64):
            dll = z.read(f"xlwings-0.37.8.data/data/xlwings{bits}-0.37.8.dll")
            for msg in (MSG_CREATE, MSG_EXITED, MSG_ACTIVATE, "Error message: ", "showconsole"):
                assert msg.encode("ascii") in dll, (bits, msg)


def test_perfscore_wheel_carries_data_pins_and_its_bundle_version(bundle):
    with zipfile.ZipFile(bundle.path / "wheels" / f"perfscore-{bundle.version}-py3-none-any.whl") as z:
        names = z.namelist()
        meta = z.read(f"perfscore-{bundle.version}.dist-info/METADATA").decode()
        init = z.read("perfscore/__init__.py").decode()
        infos = z.infolist()
    assert "perfscore/systems/shenzhen/2020.toml" in names and "perfscore/deploy/doctor.py" in names
    assert "perfscore/deploy/preflight.py" in names and "perfscore/deploy/shortcut.py" in names
    assert "Requires-Dist: xlwings==0.37.8" in meta and "Requires-Dist: olefile==0.47" in meta
    assert f"Version: {bundle.version}\n" in meta and f'__version__ = "{bundle.version}"' in init
    assert {(i.date_time, i.compress_type, i.external_attr >> 16) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), zipfile.ZIP_STORED, 0o100644)}
    assert (ROOT / "src" / "perfscore" / "__init__.py").read_text("utf-8").count('__version__ = "0.1.0"') == 1  # source untouched


def test_install_bat_is_gbk_offline_all_users_then_doctor(bundle):
    raw = (bundle.path / "install.bat").read_bytes()
    text = raw.decode("gbk")
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert gbk_risky_bytes(raw) == []
    assert 'set "PY=py -V:3.11"' in text and "fltmc >nul 2>&1" in text and "net session" not in text
    assert "preflight.py\" --python 3.11 --xlwings 0.37.8" in text
    pip = next(line for line in text.splitlines() if "-m pip install" in line)
    assert '--no-index --find-links "%WHEELS%"' in pip and "--no-user" in pip and '-r "%~dp0requirements.txt"' in pip
    assert "%PY% -m perfscore doctor --log" in text
    assert text.index("-m pip install") < text.index("-m perfscore doctor")
    assert (bundle.path / "preflight.py").read_bytes() == (ROOT / "src/perfscore/deploy/preflight.py").read_bytes()


def test_readme_requirements_and_manifest(bundle):
    readme = (bundle.path / "说明.txt").read_bytes()
    text = readme.decode("utf-8-sig")
    assert readme.startswith(b"\xef\xbb\xbf") and "以管理员身份运行" in text and "install.bat /quiet" in text
    assert bundle.version in text and "  13  " in text and "certutil -hashfile" in text and "公式版" in text
    manifest = (bundle.path / "MANIFEST.txt").read_bytes().decode("utf-8")
    assert "\n" not in manifest.replace("\r\n", "")
    listed = manifest_hashes(manifest)
    assert set(listed) == {p.relative_to(bundle.path).as_posix() for p in bundle.path.rglob("*")
                           if p.is_file() and p.name != "MANIFEST.txt"}
    for rel, digest in listed.items():
        assert hashlib.sha256((bundle.path / rel).read_bytes()).hexdigest() == digest
    pins = {"perfscore": bundle.version} | LOCK["runtime"]
    assert manifest_versions(manifest) == pins  # every pinned version is in MANIFEST.txt
    req = (bundle.path / "requirements.txt").read_text("ascii")
    assert {k.replace("_", "-").lower(): v for k, v in re.findall(r"^([\w.-]+)==(\S+)$", req, re.M)} == pins
    if shutil.which("sha256sum"):  # the header lines are comments to the usual checker too
        p = subprocess.run(["sha256sum", "--strict", "-c", "MANIFEST.txt"], cwd=bundle.path, capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr


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


# ------------------------------------------------------------------------------------------ the lock
def test_lock_agrees_with_pyproject_and_is_strict(tmp_path):
    import tomllib

    from packaging.requirements import Requirement
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    for line in deps:
        req = Requirement(line)
        name = req.name.replace("_", "-").lower()
        assert name in LOCK["runtime"], name
        assert req.specifier.contains(LOCK["runtime"][name]), (line, LOCK["runtime"][name])
    assert set(LOCK["build"]) == {"setuptools"}
    bad = tmp_path / "lock.txt"
    bad.write_text("[runtime]\npandas>=2\n[build]\nsetuptools==1\n", "utf-8")
    with pytest.raises(BundleError, match="第 2 行格式不对"):
        read_lock(bad)
    bad.write_text("[runtime]\npandas==3\n", "utf-8")
    with pytest.raises(BundleError, match=r"缺少 \[build\]"):
        read_lock(bad)
    assert lock_drift({"pandas": "3.1.1", "xlwings": "0.37.8"}, {"pandas": "3.2.0", "xlwings": "0.37.8"}) == [
        "pandas 3.2.0（锁定 3.1.1）"]


def test_version_label_follows_sources_and_lock_only():
    files = [("pyproject.toml", b'[project]\nversion = "0.1.0"\n'), ("src/perfscore/a.py", b"x = 1\n")]
    v = bundle_version(files, "[runtime]\n")
    assert VERSION_RE.match(v)
    assert bundle_version(files, "[runtime]\r\n") == v                        # line ends of the lock do not count
    assert bundle_version(files[:1] + [("src/perfscore/a.py", b"x = 2\n")], "[runtime]\n") != v
    assert bundle_version(files, "[runtime]\nnumpy==2\n") != v


# ------------------------------------------------------------------------------------------ upgrades
def _source_copy(dest: Path, *, crlf=False, touch=None) -> Path:
    """The perfscore sources as another checkout would have them (CRLF line ends, other mtimes and modes)."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for p in dest.rglob("*"):
        if p.is_file():
            if crlf and p.suffix in (".py", ".toml", ".md", ".txt"):
                p.write_bytes(p.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
                p.chmod(0o666)
            os.utime(p, (1_700_000_000, 1_700_000_000))
    if touch:
        touch(dest)
    return dest


def test_same_sources_give_the_same_bundle_byte_for_byte(bundle, tmp_path):
    other = build_bundle(tmp_path / "again", "3.11", source=_source_copy(tmp_path / "checkout", crlf=True))
    assert other.version == bundle.version
    assert (other.path / "MANIFEST.txt").read_bytes() == (bundle.path / "MANIFEST.txt").read_bytes()


@pytest.fixture(scope="session")
def newer_bundle(bundle, tmp_path_factory):
    """A bundle from changed sources: next year's, as far as pip can tell."""
    d = tmp_path_factory.mktemp("newer")

    def change(src):
        udfs = src / "src" / "perfscore" / "udfs.py"
        udfs.write_text(udfs.read_text("utf-8") + "\nNEXT_YEAR = True\n", "utf-8")
    return build_bundle(d / "bundle", "3.11", source=_source_copy(d / "src", touch=change))


WINDOWS_PIP = """import sys
import pip._internal.cli.cmdoptions as c
# pip refuses --platform unless it installs into --target (which ignores what is installed); a dry run installs
# nothing, so the check is lifted and pip resolves for 64-bit Windows against this venv's installed packages.
_orig = c.check_dist_restriction
c.check_dist_restriction = lambda options, check_target=False: _orig(options, False)
from pip._internal.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """One venv for the upgrade tests; each starts by installing the older bundle's perfscore (pip replaces
    whatever version is there with the one asked for)."""
    tmp_path = tmp_path_factory.mktemp("venv")
    d = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(d)], check=True)
    (tmp_path / "winpip.py").write_text(WINDOWS_PIP, "utf-8")
    py = d / "bin" / "python"

    def pip(*args, windows=False):
        cmd = [str(py), str(tmp_path / "winpip.py")] if windows else [str(py), "-m", "pip"]
        return subprocess.run([*cmd, *args, "--disable-pip-version-check"], capture_output=True, text=True)

    def installed():
        # the installed files are read, not imported: the dependencies are Windows wheels, not installed here
        p = subprocess.run([str(py), "-c", "import importlib.metadata as m; d = m.distribution('perfscore'); "
                            "print(d.version, 'NEXT_YEAR' in d.locate_file('perfscore/udfs.py').read_text('utf-8'))"],
                           capture_output=True, text=True)
        return p.stdout.split() or [p.stderr]
    return pip, installed


def _install_own(pip, b):
    """The perfscore wheel of bundle ``b``, installed for real (its Windows dependencies cannot be, here)."""
    p = pip("install", "--no-index", "--find-links", str(b.path / "wheels"), "--no-deps", f"perfscore=={b.version}")
    assert p.returncode == 0, p.stderr
    return p.stdout


def _windows_dry_run(pip, b, tmp_path):
    report = tmp_path / "report.json"
    p = pip("install", "--dry-run", "--report", str(report), "--platform", "win_amd64", "--python-version", "3.11",
            "--implementation", "cp", "--only-binary=:all:", "--no-index", "--find-links", str(b.path / "wheels"),
            "-r", str(b.path / "requirements.txt"), windows=True)
    assert p.returncode == 0, p.stderr
    import json
    return {i["metadata"]["name"].replace("_", "-").lower(): i["metadata"]["version"]
            for i in json.loads(report.read_text())["install"]}


def test_newer_bundle_installs_over_older_in_a_real_venv(bundle, newer_bundle, venv):
    pip, installed = venv
    assert newer_bundle.version != bundle.version
    _install_own(pip, bundle)
    assert installed() == [bundle.version, "False"]
    out = _install_own(pip, newer_bundle)
    assert f"Successfully installed perfscore-{newer_bundle.version}" in out
    assert installed() == [newer_bundle.version, "True"]  # the new code, not just a new number


def test_same_version_with_other_code_is_not_installed_which_is_why_versions_differ(bundle, newer_bundle, venv, tmp_path):
    """The defect being fixed: pip keeps an installed perfscore of the same version whatever the new wheel holds."""
    pip, installed = venv
    _install_own(pip, bundle)
    same = tmp_path / "same"
    same.mkdir()
    with zipfile.ZipFile(newer_bundle.path / "wheels" / f"perfscore-{newer_bundle.version}-py3-none-any.whl") as z:
        z.extractall(same / "x")
    new_name = f"perfscore-{bundle.version}"  # next year's code under last year's version
    (same / "x" / f"perfscore-{newer_bundle.version}.dist-info").rename(same / "x" / f"{new_name}.dist-info")
    meta = same / "x" / f"{new_name}.dist-info" / "METADATA"
    meta.write_text(meta.read_text("utf-8").replace(newer_bundle.version, bundle.version), "utf-8")
    (same / "x" / f"{new_name}.dist-info" / "RECORD").write_text("", "utf-8")
    wheel = same / f"{new_name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for f in sorted((same / "x").rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(same / "x").as_posix())
    p = pip("install", "--no-index", "--find-links", str(same), "--no-deps", f"perfscore=={bundle.version}")
    assert p.returncode == 0 and "Requirement already satisfied" in p.stdout
    assert installed() == [bundle.version, "False"]  # still the old code


def test_newer_bundle_upgrades_perfscore_in_a_windows_tagged_dry_run(bundle, newer_bundle, venv, tmp_path):
    pip, _ = venv
    _install_own(pip, bundle)
    plan = _windows_dry_run(pip, newer_bundle, tmp_path)
    assert plan["perfscore"] == newer_bundle.version
    assert plan["pywin32"] == "312" and plan["xlwings"] == "0.37.8"  # the Windows wheels resolve offline
    plan = _windows_dry_run(pip, bundle, tmp_path)  # the same bundle again: nothing to do for perfscore
    assert "perfscore" not in plan and plan["xlwings"] == "0.37.8"
