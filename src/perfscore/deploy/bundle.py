"""`perfscore bundle`: an offline installation bundle for Windows PCs without access to PyPI, built on any machine.

The bundle holds ``wheels/`` (the perfscore wheel and every runtime dependency as a ``win_amd64`` wheel for one
CPython version, pywin32 included), ``install.bat`` and ``说明.txt``. It is built with pip (``pip wheel``,
``pip download --only-binary=:all: --platform win_amd64``). pip evaluates environment markers for the machine
it runs on, not for the target platform, so Windows-only requirements (xlwings's ``pywin32``; ``tzdata`` and
others where they apply) are found by evaluating every wheel's ``Requires-Dist`` for Windows and downloading what
is missing until the set is closed.

Why 64-bit only: the xlwings ``win_amd64`` wheel carries both ``xlwings32-<v>.dll`` and ``xlwings64-<v>.dll`` (in
``xlwings-<v>.data/data/``, checked below), so one 64-bit Python serves 32-bit and 64-bit Office alike; for 32-bit
Python pip would pick xlwings's pure-Python wheel, which has no DLL at all.

``install.bat`` is encoded in GBK (code page 936) with CRLF line ends: cmd.exe reads a batch file in the console's
code page, which is 936 on Simplified-Chinese Windows, so the Chinese messages show without ``chcp`` (and without
the side effects of switching the console to 65001). Every command line in it is ASCII, so on a PC with another
code page only the messages are garbled, never the commands.

The same bundle wherever it is built, and a new version for every different bundle:
- every wheel's version comes from ``bundle-lock.txt`` (not from the building environment, not "newest on PyPI");
  a wheel the lock does not name stops the build;
- perfscore's own version gets a local label from a hash of the sources and the lock (``0.1.0+b<10 hex>``), so a
  bundle with other contents always has another version and pip replaces the installed perfscore instead of
  answering "Requirement already satisfied";
- the perfscore wheel is built with the locked setuptools, from sources with LF line ends, and rewritten with fixed
  dates, modes and no compression, so its bytes do not depend on the machine, its zlib or the checkout.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from perfscore.errors import PerfscoreError

PLATFORM = "win_amd64"
_NETWORK = re.compile(r"NewConnectionError|Failed to establish|Temporary failure in name resolution|Name or service "
                      r"not known|ConnectTimeout|ConnectionError|ProxyError|Network is unreachable|Could not fetch URL|"
                      r"ReadTimeout|SSLError|Connection refused|getaddrinfo failed", re.I)


LOCK = Path(__file__).with_name("bundle-lock.txt")
PREFLIGHT = Path(__file__).with_name("preflight.py")
# install.bat's own exit codes (doctor's pass through: 0 all passed, 1 something failed, 70 internal error)
EXIT_CODES = {0: "安装完成，doctor 全部通过", 1: "安装完成，但 doctor 有未通过的项目（见日志）",
              10: "没有管理员权限", 11: "找不到 64 位的 Python（py -V:<版本>）", 12: "找到的 Python 是 32 位的",
              13: "Python 不是为所有用户安装的（没有登记在 HKLM）", 14: "pip 安装失败（见日志）",
              15: "安装包不完整（缺少 wheels、requirements.txt 或 preflight.py）", 16: "install.bat 的参数不对",
              70: "doctor 内部错误（见日志）"}


class BundleError(PerfscoreError):
    pass


@dataclass
class Bundle:
    path: Path
    wheels: list[str]
    size: int
    version: str = ""     # perfscore's version in this bundle (0.1.0+b<hash>)


def _marker_env(python: str) -> dict:
    """Environment markers of 64-bit CPython ``python`` on Windows."""
    return {"implementation_name": "cpython", "implementation_version": python + ".0", "os_name": "nt",
            "platform_machine": "AMD64", "platform_python_implementation": "CPython", "platform_release": "10",
            "platform_system": "Windows", "platform_version": "10.0", "python_full_version": python + ".0",
            "python_version": python, "sys_platform": "win32", "extra": ""}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wheel_meta(path: Path) -> tuple[str, str, list[str]]:
    """(normalised name, version, Requires-Dist lines) of a wheel."""
    with zipfile.ZipFile(path) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        text = z.read(meta).decode("utf-8", "replace")
    head = text.split("\n\n", 1)[0]
    fields = re.findall(r"^([\w-]+): (.*)$", head, re.M)
    get = lambda k: [v.strip() for f, v in fields if f.lower() == k]  # noqa: E731
    return _norm(get("name")[0]), get("version")[0], get("requires-dist")


def missing_requirements(wheel_dir: Path, python: str) -> list[str]:
    """Requirements of the wheels in ``wheel_dir`` that apply on Windows and that no wheel there satisfies."""
    from packaging.requirements import Requirement
    from packaging.version import Version
    have = {}
    metas = []
    for w in sorted(wheel_dir.glob("*.whl")):
        name, version, reqs = _wheel_meta(w)
        have[name] = Version(version)
        metas.append(reqs)
    env = _marker_env(python)
    missing = []
    for reqs in metas:
        for line in reqs:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            v = have.get(_norm(req.name))
            if v is None or (req.specifier and not req.specifier.contains(v, prereleases=True)):
                s = f"{req.name}{req.specifier}"
                if s not in missing:
                    missing.append(s)
    return missing


def wheel_platform_ok(filename: str, python: str) -> bool:
    """Installable on 64-bit CPython ``python`` on Windows, judged by the wheel's file-name tags."""
    m = re.match(r"^.+?-[^-]+(?:-\d[^-]*)?-([^-]+)-([^-]+)-([^-]+)\.whl$", filename)
    if not m:
        return False
    pys, abis, plats = (set(x.split(".")) for x in m.groups())
    nodot = python.replace(".", "")
    py_ok = bool(pys & {f"cp{nodot}", "py3", f"py{nodot}", "py2.py3"}) or any(
        p.startswith("cp3") and int(p[3:] or 0) <= int(nodot[1:]) for p in pys if "abi3" in abis)
    return py_ok and bool(plats & {"any", PLATFORM})


def xlwings_dlls(wheel: Path) -> list[str]:
    """The DLL file names an xlwings wheel installs (from ``*.data/data/``)."""
    with zipfile.ZipFile(wheel) as z:
        return sorted(n.rsplit("/", 1)[1] for n in z.namelist() if re.search(r"\.data/data/xlwings(32|64)-[^/]+\.dll$", n))


def tested_versions() -> dict[str, str]:
    """name -> version of perfscore's runtime dependencies (transitively) as installed here: the bundle gets the
    versions this environment runs and tests with, not whatever is newest on PyPI that day."""
    import importlib.metadata as md

    from packaging.requirements import Requirement
    seen, todo = {}, ["perfscore"]
    while todo:
        name = todo.pop()
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        key = _norm(dist.metadata["Name"])
        if key in seen:
            continue
        seen[key] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    seen.pop("perfscore", None)
    return seen


def read_lock(path: Path = LOCK) -> dict[str, dict[str, str]]:
    """``{"runtime": {name: version}, "build": {name: version}}`` from ``bundle-lock.txt``."""
    sections: dict[str, dict[str, str]] = {}
    current = None
    for n, raw in enumerate(Path(path).read_text("utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            current = sections.setdefault(m.group(1), {})
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)", line)
        if not m or current is None:
            raise BundleError(f"{Path(path).name} 第 {n} 行格式不对（应在 [runtime] 或 [build] 下写 名称==版本）：{raw.strip()}")
        current[_norm(m.group(1))] = m.group(2)
    missing = [s for s in ("runtime", "build") if s not in sections]
    if missing:
        raise BundleError(f"{Path(path).name} 中缺少 [{'] ['.join(missing)}] 段")
    return sections


def lock_drift(lock: dict[str, str], tested: dict[str, str]) -> list[str]:
    """Packages whose version in this environment (what the tests ran with) differs from the lock."""
    return [f"{k} {tested[k]}（锁定 {v}）" for k, v in sorted(lock.items()) if k in tested and tested[k] != v]


def source_root() -> Path:
    """The perfscore source tree (pyproject.toml + src/) this module belongs to."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file() or not (root / "src" / "perfscore").is_dir():
        raise BundleError("找不到 perfscore 的源代码（pyproject.toml）：perfscore bundle 需要在 perfscore 源代码目录的开发安装中运行"
                          "（pip install -e .）")
    return root


def _pip(args: list[str], what: str, env_extra: dict | None = None) -> str:
    cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--retries", "1", "--timeout", "30"]
    try:
        env = {**os.environ, **(env_extra or {})}
        env.setdefault("PIP_RETRIES", "1")  # also for the nested pip that sets up the isolated build environment
        p = subprocess.run(cmd, capture_output=True, text=True, encoding="utf-8", errors="replace", env=env)
    except OSError as exc:
        raise BundleError(f"无法运行 pip（{exc}）") from None
    if p.returncode != 0:
        err = (p.stderr or p.stdout).strip()
        if "No module named pip" in err:
            raise BundleError(f"当前 Python（{sys.executable}）没有 pip：请先安装 pip")
        if _NETWORK.search(err):
            raise BundleError(f"{what}失败：无法连接 PyPI（或 pip 配置的镜像）。perfscore bundle 要从网上下载 Windows 用的安装包，"
                              "请在能访问 PyPI 的电脑上运行（需要代理时设置 HTTPS_PROXY，或用 PIP_INDEX_URL 指定可访问的镜像）。"
                              f"\npip 的输出（最后几行）：\n{_tail(err)}")
        raise BundleError(f"{what}失败（pip 退出码 {p.returncode}）：\n{_tail(err)}")
    return p.stdout


def _tail(text: str, n: int = 8) -> str:
    return "\n".join(text.splitlines()[-n:])


_TEXT = {".py", ".toml", ".md", ".txt", ".json", ".conf", ".bas", ".cls", ""}


def _source_files(root: Path) -> list[tuple[str, bytes]]:
    """(relative path, bytes) of what the wheel is built from, sorted; text files with LF line ends (a Windows
    checkout with autocrlf gives the same bytes as a Linux one)."""
    files = [root / n for n in ("pyproject.toml", "README.md", "LICENSE") if (root / n).is_file()]
    for p in sorted((root / "src").rglob("*")):
        parts = p.relative_to(root).parts
        if p.is_file() and "__pycache__" not in parts and not any(x.endswith(".egg-info") for x in parts) \
                and p.suffix != ".pyc":
            files.append(p)
    out = []
    for p in files:
        data = p.read_bytes()
        if p.suffix.lower() in _TEXT:
            data = data.replace(b"\r\n", b"\n")
        out.append((p.relative_to(root).as_posix(), data))
    return sorted(out)


def bundle_version(files: list[tuple[str, bytes]], lock_text: str) -> str:
    """``<pyproject version>+b<10 hex>``: the hash of the sources and the lock. Any change gives a new version."""
    pyproject = dict(files)["pyproject.toml"].decode("utf-8")
    m = re.search(r'^version\s*=\s*"([^"+]+)"', pyproject, re.M)
    if not m:
        raise BundleError("pyproject.toml 中没有 version = \"...\"")
    h = hashlib.sha256()
    for rel, data in files:
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    h.update(lock_text.replace("\r\n", "\n").encode("utf-8"))
    return f"{m.group(1)}+b{h.hexdigest()[:10]}"


def _copy_source(files: list[tuple[str, bytes]], dest: Path, version: str) -> Path:
    """The sources written out with the bundle's version stamped into pyproject.toml and ``__version__``."""
    for rel, data in files:
        if rel == "pyproject.toml":
            data = re.sub(rb'^(version\s*=\s*")[^"]+(")', rb"\g<1>" + version.encode() + rb"\g<2>", data, count=1,
                          flags=re.M)
        elif rel == "src/perfscore/__init__.py":
            data = re.sub(rb'^(__version__\s*=\s*")[^"]+(")', rb"\g<1>" + version.encode() + rb"\g<2>", data,
                          count=1, flags=re.M)
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return dest


def normalise_wheel(path: Path) -> None:
    """Rewrite a wheel with fixed dates (1980-01-01), modes (0644) and no compression, entries in the same order:
    its bytes then depend only on the contents (RECORD hashes contents, so it stays valid)."""
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            new = zipfile.ZipInfo(info.filename, (1980, 1, 1, 0, 0, 0))
            new.external_attr = (0o100644 << 16) if not info.is_dir() else ((0o40755 << 16) | 0x10)
            new.create_system = 3
            dst.writestr(new, src.read(info), zipfile.ZIP_STORED)
    tmp.replace(path)


def _check_output_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} 已存在且不是目录：请换一个输出目录")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BundleError(f"目录 {out} 已存在且不为空：为免覆盖已有文件，请换一个目录，或加 --force 用新的安装包替换它")


def build_bundle(output, python: str = "3.11", *, force: bool = False, log=None, source=None,
                 lock_path: Path = LOCK) -> Bundle:
    """Build the offline bundle in ``output`` (a directory). Never replaces a non-empty directory without ``force``.
    ``source`` (a perfscore source tree) defaults to the one this module belongs to."""
    log = log or (lambda msg: None)
    if not re.fullmatch(r"3\.\d{1,2}", python) or int(python.split(".")[1]) < 11:
        raise BundleError(f"--python 应为 3.11 或更新的版本号（如 3.11、3.12），收到“{python}”")
    out = Path(output).resolve()
    _check_output_dir(out, force)
    root = Path(source) if source else source_root()
    lock = read_lock(lock_path)
    drift = lock_drift(lock["runtime"], tested_versions())
    if drift:
        log("注意：本机环境（测试所用）的版本与 bundle-lock.txt 锁定的不同，安装包按锁定的版本生成："
            + "、".join(drift) + "。要改用本机的版本，先用它们通过测试，再修改 src/perfscore/deploy/bundle-lock.txt")
    files = _source_files(root)
    version = bundle_version(files, Path(lock_path).read_text("utf-8"))
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; the bundle is meant to be copied and shared
    try:
        wheels = stage / "wheels"
        wheels.mkdir()
        with tempfile.TemporaryDirectory(prefix="perfscore-bundle-") as tmp:
            log(f"构建 perfscore {version} 的 wheel …")
            build_pins = Path(tmp) / "build-constraints.txt"
            build_pins.write_text("".join(f"{k}=={v}\n" for k, v in sorted(lock["build"].items())), "utf-8")
            _pip(["wheel", "--no-deps", "-q", "-w", str(wheels), str(_copy_source(files, Path(tmp) / "src", version))],
                 "构建 perfscore 的 wheel", {"PIP_CONSTRAINT": str(build_pins), "SOURCE_DATE_EPOCH": "315532800"})
            own = sorted(wheels.glob("perfscore-*.whl"))
            if len(own) != 1:
                raise BundleError(f"构建 perfscore 的 wheel 后应有一个文件，实际为 {[w.name for w in own]}")
            normalise_wheel(own[0])
            pins = Path(tmp) / "constraints.txt"
            pins.write_text("".join(f"{k}=={v}\n" for k, v in sorted(lock["runtime"].items())), "utf-8")
            target = ["--only-binary=:all:", "--platform", PLATFORM, "--python-version", python, "--implementation",
                      "cp", "-d", str(wheels), "-q", "-c", str(pins)]
            log(f"下载运行所需的 {PLATFORM} 安装包（Python {python}，版本按 {Path(lock_path).name}）…")
            _pip(["download", *target, str(own[0]), "pywin32"], "下载依赖包")
            for _ in range(5):  # Windows-only requirements that pip skipped (markers are judged for this machine)
                missing = missing_requirements(wheels, python)
                if not missing:
                    break
                log("补充只在 Windows 上需要的包：" + "、".join(missing))
                _pip(["download", *target, *missing], "下载 Windows 专用的依赖包")
            else:
                raise BundleError("依赖关系无法补全：" + "、".join(missing_requirements(wheels, python)))
        _verify(wheels, python)
        versions = _check_locked(wheels, lock["runtime"], Path(lock_path).name)
        unused = sorted(set(lock["runtime"]) - set(versions))
        if unused:
            log(f"{Path(lock_path).name} 中的 {'、'.join(unused)} 在 Python {python} 上不需要，未放入安装包")
        _write_scripts(stage, version, python, versions)
        _write_manifest(stage, version, python, versions)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(old / "previous")
            stage.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            stage.rename(out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    files_out = sorted(p.name for p in (out / "wheels").glob("*.whl"))
    return Bundle(out, files_out, sum(p.stat().st_size for p in out.rglob("*") if p.is_file()), version)


def _check_locked(wheels: Path, lock: dict[str, str], lock_name: str) -> dict[str, str]:
    """name -> version of every wheel but perfscore; each must be exactly the locked version."""
    versions, bad = {}, []
    for w in sorted(wheels.glob("*.whl")):
        name, version, _ = _wheel_meta(w)
        if name == "perfscore":
            continue
        versions[name] = version
        if lock.get(name) != version:
            bad.append(f"{name} {version}" + (f"（锁定 {lock[name]}）" if name in lock else "（未锁定）"))
    if bad:
        raise BundleError(f"以下包不是 {lock_name} 锁定的版本：{'、'.join(bad)}。请在 src/perfscore/deploy/{lock_name} 的 "
                          "[runtime] 中写明它们的版本（先用该版本通过测试）")
    return versions


def _verify(wheels: Path, python: str) -> None:
    names = [w.name for w in sorted(wheels.glob("*.whl"))]
    bad = [n for n in names if not wheel_platform_ok(n, python)]
    if bad:
        raise BundleError(f"以下包不能装到 64 位 Windows 的 Python {python}：{'、'.join(bad)}")
    xl = [w for w in wheels.glob("xlwings-*.whl")]
    if len(xl) != 1:
        raise BundleError(f"安装包中应有一个 xlwings 的 wheel，实际为 {[w.name for w in xl]}")
    version = _wheel_meta(xl[0])[1]
    want = [f"xlwings32-{version}.dll", f"xlwings64-{version}.dll"]
    if xlwings_dlls(xl[0]) != want:
        raise BundleError(f"{xl[0].name} 中没有 32 位和 64 位 Excel 用的两个 DLL（{'、'.join(want)}），"
                          f"实际为 {xlwings_dlls(xl[0]) or '无'}：这不是 {PLATFORM} 的 xlwings 安装包")
    if not any(n.lower().startswith("pywin32-") for n in names):
        raise BundleError("安装包中缺少 pywin32")


INSTALL_BAT = r"""@echo off
rem perfscore offline installer {version}. Encoding: GBK (code page 936), CRLF. Commands are ASCII only.
rem Usage: install.bat [/quiet]   /quiet: no pauses (GPO, SCCM). Exit codes and log: see the README in this folder.
setlocal
cd /d "%~dp0"
set "PYTHONUTF8=1"
set "PY=py -V:{python}"
if defined PERFSCORE_PY set "PY=%PERFSCORE_PY%"
set "WHEELS=%~dp0wheels"
set "QUIET="
set "RC=0"
set "LOGDIR=%ProgramData%\perfscore\logs"
if not defined ProgramData set "LOGDIR=%TEMP%\perfscore\logs"
set "LOG=%LOGDIR%\install.log"
if not exist "%LOGDIR%\" mkdir "%LOGDIR%" >nul 2>&1
if exist "%LOG%" move /y "%LOG%" "%LOGDIR%\install.prev.log" >nul 2>&1
>"%LOG%" echo [perfscore] install.bat {version} for Python {python}
if exist "%LOG%" goto :log_ok
set "LOG=%TEMP%\perfscore-install.log"
>"%LOG%" echo [perfscore] install.bat {version} for Python {python}
:log_ok

:args
if "%~1"=="" goto :args_done
if /i "%~1"=="/quiet" goto :arg_quiet
if /i "%~1"=="/q" goto :arg_quiet
echo 错误：不认识的参数“%~1”。用法：install.bat，或静默安装 install.bat /quiet（不暂停；退出码见“说明.txt”）
>>"%LOG%" echo [perfscore] error 16: unknown argument
set "RC=16"
goto :end
:arg_quiet
set "QUIET=1"
>>"%LOG%" echo [perfscore] quiet mode
shift
goto :args
:args_done

echo perfscore {version} 离线安装（Python {python}，64 位，为本机所有用户安装，不连网）
echo 日志：%LOG%
echo.
if not exist "%WHEELS%\" goto :incomplete
if not exist "%~dp0requirements.txt" goto :incomplete
if not exist "%~dp0preflight.py" goto :incomplete
fltmc >nul 2>&1
if errorlevel 1 goto :not_admin
>>"%LOG%" echo [perfscore] elevated: yes
%PY% -c "import sys" >nul 2>&1
if errorlevel 1 goto :no_python
%PY% "%~dp0preflight.py" --python {python} --xlwings {xlwings} --log "%LOG%"
set "RC=%ERRORLEVEL%"
if not "%RC%"=="0" goto :fail
echo 正在从本目录安装 perfscore {version} 及其依赖（不访问网络）……
%PY% -m pip install --no-index --find-links "%WHEELS%" --no-user --no-warn-script-location --disable-pip-version-check --log "%LOG%" -r "%~dp0requirements.txt"
if errorlevel 1 goto :pip_failed
>>"%LOG%" echo [perfscore] pip install: done
%PY% -m perfscore.deploy.shortcut --log "%LOG%"
echo.
echo 安装完成。下面检查本机（py -V:{python} -m perfscore doctor）：
echo.
%PY% -m perfscore doctor --log "%LOG%"
set "RC=%ERRORLEVEL%"
echo.
if "%RC%"=="0" echo perfscore {version} 已安装，检查全部通过。
if not "%RC%"=="0" echo perfscore {version} 已安装，但检查有未通过的项目（退出码 %RC%）：请按上面每一项的“怎么办”处理。
echo 以管理员或 SYSTEM 身份运行时，检查的是这个账户看到的设置。请让使用 Excel 的用户从“开始”菜单运行“perfscore 环境检查”，
echo 或在命令提示符中运行：py -V:{python} -m perfscore doctor 工作簿.xlsm
goto :end

:incomplete
echo 错误：安装包不完整：本目录中应有 wheels 文件夹、requirements.txt 和 preflight.py。请重新拷贝整个安装包，并按 MANIFEST.txt 核对。
>>"%LOG%" echo [perfscore] error 15: bundle incomplete
set "RC=15"
goto :fail

:not_admin
echo 错误：需要管理员权限。请右键 install.bat，选择“以管理员身份运行”；静默部署时以 SYSTEM 或管理员身份运行 install.bat /quiet。
>>"%LOG%" echo [perfscore] error 10: not elevated, fltmc failed
set "RC=10"
goto :fail

:no_python
echo 错误：没有找到 64 位的 Python {python}（py -V:{python}）。请先为所有用户安装 python.org 的 python-{python}.x-amd64.exe（本安装包不含）：
echo   选“Customize installation”，勾选“Install Python {python} for all users”和“Add Python to environment variables”；
echo   或静默安装：python-{python}.x-amd64.exe /quiet InstallAllUsers=1 PrependPath=1 Include_launcher=1
>>"%LOG%" echo [perfscore] error 11: py -V:{python} did not start
set "RC=11"
goto :fail

:pip_failed
echo 错误：安装失败，见上面 pip 的输出和日志。
>>"%LOG%" echo [perfscore] error 14: pip install failed
set "RC=14"
goto :fail

:fail
echo.
echo 安装未完成（退出码 %RC%）。说明见本目录的“说明.txt”。

:end
>>"%LOG%" echo [perfscore] exit code %RC%
echo 日志：%LOG%
if not defined QUIET pause
exit /b %RC%
"""

README_TXT = """perfscore 离线安装包 {version}（Windows，64 位 Python {python}）
================================================

本目录不需要联网即可安装 perfscore。里面有：
  wheels\\           perfscore {version} 及其全部依赖（{n} 个 win_amd64 / 通用 wheel，含 pywin32 和带两个 DLL 的 xlwings）
  requirements.txt  每个包的确切版本；install.bat 按它安装
  install.bat       安装脚本（GBK 编码）
  preflight.py      install.bat 在安装前运行的检查（64 位、是否为所有用户安装）
  MANIFEST.txt      全部版本，以及每个文件的 SHA-256

步骤（每台电脑一次，需要管理员权限）：
1. 安装 64 位 Python {python}（python.org 的 python-{python}.x-amd64.exe，本包不含，请另外带来）：
   选“Customize installation”，勾选“Install Python {python} for all users”和“Add Python to environment variables”。
   也可静默安装：python-{python}.x-amd64.exe /quiet InstallAllUsers=1 PrependPath=1 Include_launcher=1
   无论 Office 是 32 位还是 64 位，都装 64 位 Python。
2. 右键 install.bat →“以管理员身份运行”。它为所有用户安装 perfscore，在“开始”菜单中加入“perfscore 环境检查”，
   然后运行 py -V:{python} -m perfscore doctor。
   静默安装（组策略、SCCM，以 SYSTEM 或管理员身份）：install.bat /quiet —— 不暂停，退出码见下表。
3. 使用 Excel 的用户从“开始”菜单运行“perfscore 环境检查”（管理员身份看不到该用户的宏设置、受信任位置和配置文件）。
   doctor 中的每个“未通过”都附有“怎么办”。给出工作簿可一并核对：py -V:{python} -m perfscore doctor 某单位2021.xlsm

日志：%ProgramData%\\perfscore\\logs\\install.log（上一次的为 install.prev.log；该目录不可写时在 %TEMP%\\perfscore-install.log）。
其中有 pip 的详细日志和 doctor 的全部输出；安装结束时屏幕上也会打印日志的位置。

install.bat 的退出码：
{codes}

核对拷贝是否完整：certutil -hashfile wheels\\某个文件.whl SHA256，与 MANIFEST.txt 中的值比较。
升级：用新一年的安装包再运行一次 install.bat（每个安装包的 perfscore 版本都不同，会替换已安装的版本）；
  升级前请关闭 Excel。xlwings 的版本必须与工作簿中 VBA 的版本一致，换了 xlwings 版本就要重新生成工作簿。
WPS 不能运行工作簿中的 Python 函数：WPS 用户请使用“Excel 公式版”工作簿（.xlsx）。
卸载、组策略中的受信任位置、安全软件、常见故障：见 perfscore 的 docs/windows-install.md。
"""


def install_bat(version: str, python: str, xlwings: str) -> bytes:
    """install.bat as it goes into the bundle: GBK, CRLF."""
    data = INSTALL_BAT.format(python=python, version=version, xlwings=xlwings).replace("\n", "\r\n").encode("gbk")
    risky = gbk_risky_bytes(data)
    if risky:  # a trail byte cmd.exe could read as ^ | \\ ` under another code page
        raise BundleError(f"install.bat 的中文提示含有在其他代码页下会被误读的字节：{risky[:5]}")
    return data


def _write_scripts(stage: Path, version: str, python: str, versions: dict[str, str]) -> None:
    (stage / "install.bat").write_bytes(install_bat(version, python, versions.get("xlwings", "")))
    (stage / "preflight.py").write_bytes(PREFLIGHT.read_bytes().replace(b"\r\n", b"\n"))
    (stage / "requirements.txt").write_bytes(requirements_text(version, versions).encode("ascii"))
    n = len(list((stage / "wheels").glob("*.whl")))
    codes = "\n".join(f"  {k:>3}  {v}" for k, v in EXIT_CODES.items())
    (stage / "说明.txt").write_bytes(b"\xef\xbb\xbf" + README_TXT.format(python=python, n=n, version=version, codes=codes)
                                     .replace("\n", "\r\n").encode("utf-8"))


def requirements_text(version: str, versions: dict[str, str]) -> str:
    lines = [f"# perfscore {version}: install.bat installs exactly these (pip install --no-index -r requirements.txt)",
             f"perfscore=={version}"] + [f"{k}=={v}" for k, v in sorted(versions.items())]
    return "\r\n".join(lines) + "\r\n"


def gbk_risky_bytes(data: bytes) -> list[str]:
    """GBK characters whose trail byte is an ASCII character with meaning to cmd.exe (``\\ ^ | `` ` ``). Decoded in
    code page 936 they are harmless; under another code page the trail byte would stand alone."""
    out, i = [], 0
    while i < len(data):
        b = data[i]
        if b >= 0x81 and i + 1 < len(data):
            if data[i + 1] in b"\\^|`":
                out.append(data[i:i + 2].decode("gbk", "replace"))
            i += 2
        else:
            i += 1
    return out


def _write_manifest(stage: Path, version: str, python: str, versions: dict[str, str]) -> None:
    lines = [f"# perfscore 离线安装包 {version}，64 位 Windows 上的 Python {python}",
             "# 版本（与 requirements.txt 相同；来自 bundle-lock.txt，在哪台电脑上生成都一样）：",
             f"# perfscore=={version}"] + [f"# {k}=={v}" for k, v in sorted(versions.items())] + [
             "# 每个文件的 SHA-256。在 Windows 上核对：certutil -hashfile <文件> SHA256；在 Linux 上：sha256sum -c MANIFEST.txt"]
    for p in sorted(stage.rglob("*")):
        if p.is_file():
            lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(stage).as_posix()}")
    (stage / "MANIFEST.txt").write_text("\r\n".join(lines) + "\r\n", "utf-8", newline="")


def manifest_versions(text: str) -> dict[str, str]:
    """name -> version from a MANIFEST.txt's header."""
    return {_norm(m.group(1)): m.group(2) for m in re.finditer(r"^# ([A-Za-z0-9._-]+)==(\S+)\s*$", text, re.M)}


def manifest_hashes(text: str) -> dict[str, str]:
    """relative path -> SHA-256 from a MANIFEST.txt."""
    return {m.group(2): m.group(1) for m in re.finditer(r"^([0-9a-f]{64})  (.+?)\s*$", text, re.M)}

