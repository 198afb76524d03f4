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


class BundleError(PerfscoreError):
    pass


@dataclass
class Bundle:
    path: Path
    wheels: list[str]
    size: int


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


def source_root() -> Path:
    """The perfscore source tree (pyproject.toml + src/) this module belongs to."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file() or not (root / "src" / "perfscore").is_dir():
        raise BundleError("找不到 perfscore 的源代码（pyproject.toml）：perfscore bundle 需要在 perfscore 源代码目录的开发安装中运行"
                          "（pip install -e .）")
    return root


def _pip(args: list[str], what: str) -> str:
    cmd = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--retries", "1", "--timeout", "30"]
    try:
        env = {**os.environ}
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


def _copy_source(root: Path, dest: Path) -> Path:
    """A clean copy of what the wheel is built from, so the build leaves nothing in the source tree."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)
    shutil.copytree(root / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return dest


def _check_output_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} 已存在且不是目录：请换一个输出目录")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise BundleError(f"目录 {out} 已存在且不为空：为免覆盖已有文件，请换一个目录，或加 --force 用新的安装包替换它")


def build_bundle(output, python: str = "3.11", *, force: bool = False, log=None) -> Bundle:
    """Build the offline bundle in ``output`` (a directory). Never replaces a non-empty directory without ``force``."""
    log = log or (lambda msg: None)
    if not re.fullmatch(r"3\.\d{1,2}", python) or int(python.split(".")[1]) < 11:
        raise BundleError(f"--python 应为 3.11 或更新的版本号（如 3.11、3.12），收到“{python}”")
    out = Path(output).resolve()
    _check_output_dir(out, force)
    root = source_root()
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; the bundle is meant to be copied and shared
    try:
        wheels = stage / "wheels"
        wheels.mkdir()
        with tempfile.TemporaryDirectory(prefix="perfscore-bundle-") as tmp:
            log("构建 perfscore 的 wheel …")
            _pip(["wheel", "--no-deps", "-q", "-w", str(wheels), str(_copy_source(root, Path(tmp) / "src"))],
                 "构建 perfscore 的 wheel")
            own = sorted(wheels.glob("perfscore-*.whl"))
            if len(own) != 1:
                raise BundleError(f"构建 perfscore 的 wheel 后应有一个文件，实际为 {[w.name for w in own]}")
            pins = Path(tmp) / "constraints.txt"
            pins.write_text("".join(f"{k}=={v}\n" for k, v in sorted(tested_versions().items())), "utf-8")
            target = ["--only-binary=:all:", "--platform", PLATFORM, "--python-version", python, "--implementation",
                      "cp", "-d", str(wheels), "-q", "-c", str(pins)]
            log(f"下载运行所需的 {PLATFORM} 安装包（Python {python}）…")
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
        _write_scripts(stage, own[0].name, python)
        _write_manifest(stage)
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
    files = sorted(p.name for p in (out / "wheels").glob("*.whl"))
    return Bundle(out, files, sum(p.stat().st_size for p in out.rglob("*") if p.is_file()))


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
rem perfscore offline installer. Encoding: GBK (code page 936), CRLF. Commands are ASCII only.
setlocal
cd /d "%~dp0"
set "PY=py -V:{python}"
set "WHEELS=%~dp0wheels"

echo perfscore 离线安装（Python {python}，64 位，为本机所有用户安装，不连网）
echo.
net session >nul 2>&1
if errorlevel 1 (
  echo 错误：需要管理员权限。请右键 install.bat，选择“以管理员身份运行”。
  goto :fail
)
%PY% -c "import sys" >nul 2>&1
if errorlevel 1 (
  echo 错误：没有找到 Python {python}（64 位）。请先运行 python.org 的 python-{python}.x-amd64.exe：
  echo   选“Customize installation”，勾选“Install Python {python} for all users”和“Add Python to environment variables”；
  echo   或在管理员命令提示符中运行：python-{python}.x-amd64.exe /quiet InstallAllUsers=1 PrependPath=1 Include_launcher=1
  goto :fail
)
%PY% -c "import sys; sys.exit(0 if sys.maxsize > 2**32 else 1)"
if errorlevel 1 (
  echo 错误：找到的 Python {python} 是 32 位的。xlwings 在 32 位 Python 上没有 Excel 所需的 DLL。
  echo   请卸载它，安装 64 位的 python-{python}.x-amd64.exe（32 位和 64 位 Office 都能用 64 位 Python）。
  goto :fail
)
%PY% -c "import os, sys; la = os.environ.get('LOCALAPPDATA', '').lower(); sys.exit(1 if la and sys.prefix.lower().startswith(la) else 0)"
if errorlevel 1 (
  echo 错误：这个 Python 只为当前用户安装（在 %LOCALAPPDATA% 下），其他用户和 Excel 可能找不到它。
  echo   请卸载后重新安装，勾选“Install Python {python} for all users”。
  goto :fail
)
echo 正在从本目录安装 perfscore 及其依赖（不访问网络）……
%PY% -m pip install --no-index --find-links "%WHEELS%" --no-user --no-warn-script-location {requirement}
if errorlevel 1 (
  echo 错误：安装失败，见上面 pip 的输出。
  goto :fail
)
echo.
echo 安装完成。下面检查 Excel 会启动的 Python（py -m perfscore doctor）：
echo.
%PY% -m perfscore doctor
echo.
echo 以后可随时运行：py -m perfscore doctor 工作簿.xlsm
pause
exit /b 0

:fail
echo.
echo 安装未完成。说明见本目录的“说明.txt”。
pause
exit /b 1
"""

README_TXT = """perfscore 离线安装包（Windows，64 位 Python {python}）
================================================

本目录不需要联网即可安装 perfscore。里面有：
  wheels\\        perfscore 及其全部依赖（{n} 个 win_amd64 / 通用 wheel，含 pywin32 和带两个 DLL 的 xlwings）
  install.bat    安装脚本（GBK 编码）
  MANIFEST.txt   每个文件的 SHA-256，可用来核对拷贝是否完整

步骤（每台电脑一次，需要管理员权限）：
1. 安装 64 位 Python {python}（python.org 的 python-{python}.x-amd64.exe，本包不含）：
   选“Customize installation”，勾选“Install Python {python} for all users”和“Add Python to environment variables”。
   也可静默安装：python-{python}.x-amd64.exe /quiet InstallAllUsers=1 PrependPath=1 Include_launcher=1
   无论 Office 是 32 位还是 64 位，都装 64 位 Python。
2. 右键 install.bat →“以管理员身份运行”。它为所有用户安装 perfscore，然后运行 py -m perfscore doctor。
3. doctor 中的每个“未通过”都附有“怎么办”。给出工作簿可一并核对：py -m perfscore doctor 某单位2021.xlsm

安全软件、宏的受信任位置、常见故障：见 perfscore 的 docs/windows-install.md。
"""


def _write_scripts(stage: Path, own_wheel: str, python: str) -> None:
    version = own_wheel.split("-")[1]
    bat = INSTALL_BAT.format(python=python, requirement=f"perfscore=={version}")
    data = bat.replace("\n", "\r\n").encode("gbk")
    risky = gbk_risky_bytes(data)
    if risky:  # a trail byte cmd.exe could read as ^ | \\ ` under another code page
        raise BundleError(f"install.bat 的中文提示含有在其他代码页下会被误读的字节：{risky[:5]}")
    (stage / "install.bat").write_bytes(data)
    n = len(list((stage / "wheels").glob("*.whl")))
    (stage / "说明.txt").write_bytes(b"\xef\xbb\xbf" + README_TXT.format(python=python, n=n).replace("\n", "\r\n")
                                     .encode("utf-8"))


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


def _write_manifest(stage: Path) -> None:
    lines = []
    for p in sorted(stage.rglob("*")):
        if p.is_file():
            lines.append(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(stage).as_posix()}")
    (stage / "MANIFEST.txt").write_text("\r\n".join(lines) + "\r\n", "utf-8")


def default_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}" if sys.version_info >= (3, 11) else "3.11"

