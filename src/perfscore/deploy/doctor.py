"""`perfscore doctor [WORKBOOK]`: check the Python that Excel will actually start for the workbook's PERF_ functions,
and say in Chinese how to fix what fails.

How Excel finds Python, from xlwings 0.37.8's ``xlwings.bas`` (the module embedded in every perfscore workbook):
- The interpreter is ``GetConfig("INTERPRETER_WIN")``, else ``GetConfig("INTERPRETER", "pythonw")`` (l. 431-435);
  with ``CONDA PATH`` and ``CONDA ENV`` set and the bare name, conda activates the env (l. 449-454). Settings come
  from the workbook's ``xlwings.conf`` sheet, then ``xlwings.conf`` in the workbook's folder, then the per-user
  ``%USERPROFILE%\\.xlwings\\xlwings.conf`` (``GetConfig``, l. 649-712; see xlconf.py).
- Python is started as ``cmd.exe /K ""<interpreter>" -B -c "...xlwings.serve(...)"`` (l. 449-469); a bare
  ``pythonw`` is therefore found by cmd.exe on PATH.
- The DLL is chosen by Excel's bitness (``#If Win64``: ``xlwings64-0.37.8.dll``, else ``xlwings32-0.37.8.dll``,
  l. 43-63). With an explicit interpreter path, ``XLPyLoadDLL`` loads it from the interpreter's folder or that
  folder's parent (l. 473-505); with the bare name nothing is pre-loaded, so Windows must find the DLL named in
  the ``Declare`` statements on its DLL search path (PATH).
- The win_amd64 wheel puts both DLLs in ``xlwings-0.37.8.data/data/``, i.e. into ``sys.prefix`` (next to
  python.exe) for an all-users install; the pure-Python wheel that pip picks for 32-bit Python has none.

- 32-bit Office expands ``%ProgramFiles%`` in those settings to the ``(x86)`` folder (WOW64; comserver.py):
  doctor expands them as Excel of the detected bitness does.

Besides the interpreter, doctor reads what stops the workbooks on managed PCs (policy.py: Mark of the Web, macro
settings and trusted locations including policy keys, the Defender ASR rule against Office child processes, the
policy that disables cmd.exe, WPS registered as Excel.Application) and starts the COM server the way the DLL
does (comserver.py), quoting the DLL's messages. These depend on who runs doctor: install.bat runs it elevated or
as SYSTEM; the Start-menu entry “perfscore 环境检查” (shortcut.py) runs it as the Excel user.

Everything Windows-specific (environment, files at Windows paths, the registry, running the other interpreter)
goes through ``Probe``; tests/test_doctor.py replaces it with a fake and runs every check's logic on Linux.
"""
from __future__ import annotations

import importlib.metadata as md
import json
import ntpath
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from perfscore.excel.xlconf import PORTABLE, effective, is_machine_path, parse_user_conf, sheet_config

OK, FAIL, WARN, NA = "通过", "未通过", "注意", "不适用"
MARK = {OK: "✓", FAIL: "✗", WARN: "!", NA: "-"}
EXCEL_CLSID = r"CLSID\{00024500-0000-0000-C000-000000000046}\LocalServer32"  # Excel.Application
GUIDE = "docs/windows-install.md"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


# ------------------------------------------------------------------------------------------ the seam
class Probe:
    """The only way doctor looks at Windows. Tests substitute a fake with the same methods."""

    windows = sys.platform == "win32"

    def env(self, name: str) -> str | None:
        return os.environ.get(name)

    def is_file(self, path: str) -> bool:
        return os.path.isfile(path)

    def read_text(self, path: str) -> str | None:
        try:
            with open(path, "rb") as f:
                raw = f.read(1024 * 1024)
        except OSError:
            return None
        for enc in ("utf-8", "mbcs" if self.windows else "latin-1"):
            try:
                return raw.decode(enc)
            except (UnicodeDecodeError, LookupError):
                continue
        return raw.decode("latin-1")

    def reg_value(self, key: str, name: str = "", view: str | None = None) -> str | None:
        """A registry value (``HKLM\\...``, ``HKCR\\...``) in the 64-bit view, the 32-bit one, or either."""
        if not self.windows:
            return None
        import winreg
        for v in ([view] if view else ["64", "32"]):
            try:
                with self._open(key, v) as k:
                    return str(winreg.QueryValueEx(k, name)[0])
            except OSError:
                continue
        return None

    def _open(self, key: str, view: str | None):
        import winreg
        hive, _, sub = key.partition("\\")
        root = {"HKLM": winreg.HKEY_LOCAL_MACHINE, "HKCU": winreg.HKEY_CURRENT_USER,
                "HKCR": winreg.HKEY_CLASSES_ROOT}[hive]
        flag = {"32": winreg.KEY_WOW64_32KEY}.get(view, winreg.KEY_WOW64_64KEY)
        return winreg.OpenKey(root, sub, 0, winreg.KEY_READ | flag)

    def reg_subkeys(self, key: str, view: str | None = None) -> list[str]:
        """Names of a key's subkeys (e.g. Trusted Locations\\Location0 ...); empty when absent or unreadable."""
        if not self.windows:
            return []
        import winreg
        try:
            with self._open(key, view) as k:
                return [winreg.EnumKey(k, i) for i in range(winreg.QueryInfoKey(k)[0])]
        except OSError:
            return []

    def reg_names(self, key: str, view: str | None = None) -> list[str]:
        """Names of a key's values (e.g. the paths listed under ASROnlyExclusions)."""
        if not self.windows:
            return []
        import winreg
        try:
            with self._open(key, view) as k:
                return [winreg.EnumValue(k, i)[0] for i in range(winreg.QueryInfoKey(k)[1])]
        except OSError:
            return []

    def identity(self) -> dict:
        """Who runs doctor: user name, SYSTEM or not, elevated or not."""
        user = os.environ.get("USERNAME", "")
        system = user.endswith("$") or "\\systemprofile" in (os.environ.get("USERPROFILE") or "").lower()
        elevated = False
        if self.windows:
            try:
                import ctypes
                elevated = bool(ctypes.windll.shell32.IsUserAnAdmin())
            except (OSError, AttributeError):
                pass
        return {"user": user, "system": system, "elevated": elevated}

    def environ(self) -> dict:
        return dict(os.environ)

    def start_com_server(self, command: str, env: dict, timeout: float) -> dict:  # pragma: no cover - Windows only
        """Start ``command`` as the xlwings DLL does and wait for its COM server (see comserver.py)."""
        import re as _re
        import tempfile
        import time
        import uuid
        try:
            import pythoncom
            import win32api
            import win32com.client
            import win32job
        except ImportError as exc:
            return {"stage": "unavailable", "error": f"运行 doctor 的 Python 中没有 pywin32（{exc}）"}
        from perfscore.deploy.comserver import INTERVAL, REGDB_E_CLASSNOTREG
        clsid = "{%s}" % str(uuid.uuid4()).upper()
        cmdline = command.replace("$(CLSID)", clsid)
        fd, out_path = tempfile.mkstemp(prefix="perfscore-doctor-", suffix=".txt")
        os.close(fd)
        job = win32job.CreateJobObject(None, "")
        try:
            limits = win32job.QueryInformationJobObject(job, win32job.JobObjectExtendedLimitInformation)
            limits["BasicLimitInformation"]["LimitFlags"] |= win32job.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
            win32job.SetInformationJobObject(job, win32job.JobObjectExtendedLimitInformation, limits)
            with open(out_path, "wb") as f:
                try:
                    p = subprocess.Popen(cmdline, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                         creationflags=0x08000000)  # CREATE_NO_WINDOW
                except OSError as exc:
                    return {"stage": "create", "error": exc.strerror or str(exc)}
            try:
                win32job.AssignProcessToJobObject(job, p._handle)
            except Exception:
                pass
            pythoncom.CoInitialize()
            start, hr, text = time.monotonic(), None, ""
            while time.monotonic() - start < timeout:
                try:
                    obj = pythoncom.CoCreateInstance(clsid, None, pythoncom.CLSCTX_LOCAL_SERVER, pythoncom.IID_IDispatch)
                except pythoncom.com_error as exc:
                    hr = exc.hresult
                    if hr != REGDB_E_CLASSNOTREG:
                        break
                else:
                    res = {"stage": "ok", "seconds": time.monotonic() - start}
                    try:
                        win32com.client.Dispatch(obj).Module("perfscore.udfs")
                    except pythoncom.com_error as exc:
                        res["module_error"] = str(exc.excepinfo[2] if exc.excepinfo else exc)
                    return res
                with open(out_path, "rb") as f:
                    text = f.read().decode("mbcs", "replace")
                if p.poll() is not None:
                    return {"stage": "exited", "output": text}
                if _re.search(r"Traceback|Error|不是内部或外部命令|is not recognized|找不到", text):
                    return {"stage": "python_failed", "output": text}
                time.sleep(INTERVAL)
            return {"stage": "timeout", "hr": hr if hr is not None else REGDB_E_CLASSNOTREG, "output": text}
        finally:
            try:
                win32api.CloseHandle(job)  # kills cmd.exe and the Python it started
            except Exception:
                pass
            try:
                os.unlink(out_path)
            except OSError:
                pass

    def run_python(self, exe: str, args: list[str]) -> tuple[int, str, str]:
        import tempfile
        try:
            p = subprocess.run([exe, "-B", "-c", PROBE_SCRIPT, *args], capture_output=True, text=True,
                               encoding="utf-8", errors="replace", timeout=120, cwd=tempfile.gettempdir(),
                               env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            return -1, "", f"{type(exc).__name__}: {exc}"
        return p.returncode, p.stdout, p.stderr


# Runs inside the interpreter Excel would start (python.exe beside its pythonw.exe): what is installed there.
PROBE_SCRIPT = r'''
import json, sys, site
out = {"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3],
       "bits": 64 if sys.maxsize > 2**32 else 32, "prefix": sys.prefix, "base_prefix": sys.base_prefix}
try:
    out["user_site"] = site.getusersitepackages()
except Exception:
    out["user_site"] = None
import importlib.metadata as md
out["dists"] = {}
for d in ("perfscore", "xlwings", "pywin32"):
    try:
        out["dists"][d] = md.version(d)
    except Exception:
        out["dists"][d] = None
def attempt(key, fn):
    try:
        out[key] = {"ok": True, "value": fn()}
    except BaseException as e:
        out[key] = {"ok": False, "error": "%s: %s" % (type(e).__name__, str(e)[:300])}
def pin():
    for r in md.requires("perfscore") or []:
        r = r.replace(" ", "")
        if r.startswith("xlwings=="):
            return r[len("xlwings=="):].split(";")[0]
attempt("xlwings_pin", pin)
def com():
    import win32com.client, pythoncom
attempt("pywin32_import", com)
def udfs():
    import perfscore, perfscore.udfs as u
    return {"file": perfscore.__file__, "functions": sorted(k for k in dir(u) if k.startswith("PERF_"))}
attempt("udfs", udfs)
args = sys.argv[1:]  # workbook name, its rules year, its region key (规则地区)
own = []
def systems():
    from perfscore.engine.system import available_regions, available_years, load_system
    res = {"years": available_years(), "by_region": {r: available_years(r) for r in available_regions()}, "broken": []}
    for r, years in res["by_region"].items():
        for y in years:
            try:  # one region's broken file must not hide whether the workbook's own region is installed
                load_system(y, region=r)
            except Exception as exc:
                res["broken"].append(str(exc))
    if len(args) > 1 and args[1]:
        year, region = int(args[1]), (args[2] if len(args) > 2 and args[2] else "shenzhen")
        fy = {"region_key": region, "regions": available_regions(), "region_years": available_years(region)}
        if year in fy["region_years"]:  # the year's own file in the workbook's region, as check and collect take it
            s = load_system(year, region=region)
            own.append(s)
            fy.update(year=s.year, region=s.region, title=s.title, name=s.name)
        else:  # what the functions would fall back to (load_system: the newest earlier year of the region)
            try:
                fy["fallback"] = load_system(year, region=region).year
            except Exception:
                fy["fallback"] = None
        res["for_year"] = fy
    return res
attempt("systems", systems)
if args and args[0] and own:
    def wrappers():
        from perfscore.excel.xlwings_bridge import generate_udf_module
        return generate_udf_module(args[0], own)
    attempt("wrappers", wrappers)
sys.stdout.write("\n" + json.dumps(out) + "\n")
'''


# ------------------------------------------------------------------------------------------ the workbook
@dataclass
class WorkbookInfo:
    path: Path
    year: int
    region: str                     # 规则地区: the key of the region whose indicator system the workbook is scored by
    year_problem: str | None        # 规则年度/规则地区 edited (the reader's message), None when intact
    title: str
    system_name: str | None         # 《...》 from the 填报说明 sheet: the indicator system (and region) it was built from
    conf_rows: list | None          # (key, value) of the xlwings.conf sheet, None without one
    modules: dict | None            # VBA module name -> source, None without a VBA project
    xlwings_version: str | None     # from the DLL name xlwings.bas declares

    @property
    def folder(self) -> str:
        return str(self.path.resolve().parent)


def read_workbook(path) -> WorkbookInfo:
    import zipfile

    from perfscore.engine.system import is_region_key  # lazy: survives a broken install
    from perfscore.errors import PerfscoreError  # lazy: survives a broken install
    from perfscore.files import damaged_as_error  # lazy: survives a broken install
    from perfscore.receiving.reader import read_filled  # lazy: survives a broken install
    from perfscore.excel.vba.extract import VbaReadError, workbook_modules  # lazy: survives a broken install
    from perfscore.excel.xlconf import read_conf_sheet  # lazy: survives a broken install
    path = Path(path)
    filled = read_filled(path)  # refuses anything that is not a sane perfscore workbook, in Chinese
    title = ""
    with damaged_as_error(path), zipfile.ZipFile(path) as z:  # parts read_filled did not read whole: the VBA project
        if "docProps/core.xml" in z.namelist():
            m = re.search(rb"<dc:title[^>]*>(.*?)</dc:title>", z.read("docProps/core.xml"), re.S)
            if m:
                from xml.sax.saxutils import unescape
                title = unescape(m.group(1).decode("utf-8", "replace"))
        try:
            modules = workbook_modules(path)
        except VbaReadError as exc:
            raise PerfscoreError(f"工作簿中的 VBA 工程无法读取（{exc}）：请用 perfscore template 重新生成") from None
    version = None
    if modules and "xlwings" in modules:
        m = re.search(r'"xlwings(?:64|32)-([\w.]+)\.dll"', modules["xlwings"])
        version = m.group(1) if m else None
    problem = filled.year_problem
    if problem is None and not is_region_key(filled.region):  # never handed on (the probe may be an older perfscore)
        problem = (f"规则地区被改动（“基础数据”表中为“{filled.region[:60]}”，不是地区代码）：未知的规则地区，"
                   f"规则地区由生成程序填写，不应修改")
    return WorkbookInfo(path, filled.year, filled.region, problem, title, _system_name(path),
                        read_conf_sheet(path), modules, version)


def _system_name(path) -> str | None:
    """The system's name as the 填报说明 sheet states it: “本工作簿按《<name>》<year> 年版计分”."""
    from python_calamine import CalamineWorkbook

    from perfscore.errors import PerfscoreError  # lazy: survives a broken install
    try:
        wb = CalamineWorkbook.from_path(str(path))
        if "填报说明" not in wb.sheet_names:
            return None
        rows = wb.get_sheet_by_name("填报说明").to_python()[:10]
    except BaseException as exc:  # calamine's parse errors (pyo3 panics are BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        raise PerfscoreError("工作簿的“填报说明”表无法读取（文件已损坏）：请对方用 Excel 重新保存后发送") from None
    for row in rows:
        for v in row:
            m = re.search(r"本工作簿按《(.+?)》", v) if isinstance(v, str) else None
            if m:
                return m.group(1)
    return None


# ------------------------------------------------------------------------------------------ the checks
def _expand(value: str, get) -> str:
    """``ExpandEnvironmentStrings`` as the VBA applies it to every setting: known %VAR% replaced, others kept.
    ``get`` looks a variable up as Excel sees it (comserver.office_env: 32-bit Excel sees the (x86) folders)."""
    return re.sub(r"%([^%]+)%", lambda m: get(m.group(1)) or m.group(0), value)


def pinned_xlwings() -> str | None:
    """The xlwings version this perfscore requires (pyproject: ``xlwings==...``)."""
    try:
        for req in md.requires("perfscore") or []:
            m = re.match(r"^xlwings\s*==\s*([\w.]+)", req)
            if m:
                return m.group(1)
    except md.PackageNotFoundError:
        pass
    return None


def office_check(probe) -> tuple[Check, int | None, str | None]:
    """Is desktop Excel registered, is it a Store (AppX) Office, and which bitness (None = unknown); also the
    registered server's command line."""
    exe64 = probe.reg_value("HKCR\\" + EXCEL_CLSID, "", "64")
    exe32 = probe.reg_value("HKCR\\" + EXCEL_CLSID, "", "32")
    exe = exe64 or exe32
    if not exe:
        return Check("Excel", FAIL, "本机没有注册桌面版 Excel（Excel.Application）",
                     "安装桌面版 Microsoft Office（Excel）。WPS 不能运行 PERF_ 函数：在 WPS 中只能查看上次保存的结果，"
                     "WPS 用户请使用 Excel 公式版工作簿（.xlsx）。"), None, None
    if "\\windowsapps\\" in exe.lower():
        return Check("Excel", FAIL, f"Excel 来自 Microsoft Store（{exe}）",
                     "Microsoft Store 版 Office 不支持 xlwings 函数（xlwings 问题 #1166）：卸载后安装常规的"
                     "“即点即用”或 MSI 版 Office。"), None, exe
    from perfscore.deploy.policy import WPS
    if WPS.search(exe):
        return Check("Excel", FAIL, f"Excel.Application 注册的是 WPS 表格（{exe.split(' /')[0]}），不是 Microsoft Excel",
                     "WPS 不能运行 PERF_ 函数。装有 Microsoft Excel 时：在 WPS 的“配置工具 → 高级 → 兼容设置”中取消让 WPS "
                     "兼容第三方系统和软件，再修复 Office（控制面板 → 程序 → Microsoft Office → 更改 → 快速修复）；"
                     "只有 WPS 的电脑请改用 Excel 公式版工作簿（.xlsx）"), None, exe
    bits, how = None, ""
    platform_ = probe.reg_value(r"HKLM\SOFTWARE\Microsoft\Office\ClickToRun\Configuration", "Platform")
    if platform_ in ("x64", "x86"):
        bits, how = (64 if platform_ == "x64" else 32), f"即点即用 Platform={platform_}"
    if bits is None:
        for ver in ("16.0", "15.0", "14.0"):
            b = probe.reg_value(rf"HKLM\SOFTWARE\Microsoft\Office\{ver}\Outlook", "Bitness")
            if b in ("x64", "x86"):
                bits, how = (64 if b == "x64" else 32), f"Office {ver} Bitness={b}"
                break
    if bits is None and bool(exe64) != bool(exe32):
        bits, how = (64 if exe64 else 32), f"Excel 注册在{'64' if exe64 else '32'} 位注册表视图"
    detail = f"{exe.split(' /')[0]}；" + (f"{bits} 位（{how}）" if bits else "位数无法从注册表确定，下面两种 DLL 都检查")
    return Check("Excel", OK, detail), bits, exe


@dataclass
class Interpreter:
    command: str                  # what the VBA passes to cmd.exe
    exe: str | None               # the file it resolves to, None when not found
    dll_dirs: list[str] = field(default_factory=list)  # where the DLL must be
    how: str = ""
    explicit: bool = False


def _on_path(name: str, probe) -> tuple[str | None, list[str]]:
    dirs = [d.strip().strip('"') for d in (probe.env("PATH") or "").split(";") if d.strip()]
    exe_name = name if name.lower().endswith(".exe") else name + ".exe"
    for d in dirs:
        cand = ntpath.join(d, exe_name)
        if probe.is_file(cand):
            return cand, dirs
    return None, dirs


def resolve_interpreter(conf: dict, probe, env_get=None) -> Interpreter:
    """The interpreter and DLL locations, following ``XLPyCommand``/``XLPyLoadDLL`` of xlwings.bas; settings are
    expanded with ``env_get`` (the environment as Excel sees it; default: as doctor sees it)."""
    env_get = env_get or probe.env
    get = lambda k: _expand(str(conf.get(k) or ""), env_get)  # noqa: E731
    interp = get("INTERPRETER_WIN") or get("INTERPRETER") or "pythonw"
    conda_path, conda_env = get("CONDA PATH"), get("CONDA ENV")
    if interp in ("python", "pythonw") and conda_path and conda_env:
        if conda_env == "base":
            base = ntpath.join(conda_path, interp)
        elif "\\" in conda_env:
            base = ntpath.join(conda_env, interp)
        else:
            base = ntpath.join(conda_path, "envs", conda_env, interp)
        exe = base + ".exe" if probe.is_file(base + ".exe") else None
        folder = ntpath.dirname(base)
        return Interpreter(f"conda activate {conda_env} && python", exe, [folder, ntpath.dirname(folder)],
                           f"CONDA PATH/CONDA ENV（{conda_path}，{conda_env}）", True)
    if interp in ("python", "pythonw"):
        exe, dirs = _on_path(interp, probe)
        return Interpreter(interp, exe, dirs, "PATH 中第一个 " + interp + ".exe")
    folder = ntpath.dirname(interp)
    return Interpreter(interp, interp if probe.is_file(interp) else None, [folder, ntpath.dirname(folder)],
                       "xlwings.conf 中的 INTERPRETER_WIN", True)


def _runner(exe: str, probe) -> str:
    """python.exe beside pythonw.exe (pythonw has no console to print to); the same installation."""
    folder, name = ntpath.split(exe)
    if name.lower() == "pythonw.exe" and probe.is_file(ntpath.join(folder, "python.exe")):
        return ntpath.join(folder, "python.exe")
    return exe


def config_checks(info: WorkbookInfo | None, probe) -> tuple[list[Check], dict]:
    """The three config layers; returns the checks and the effective config for the keys that matter."""
    out = []
    if info is not None and info.conf_rows is not None:
        sheet, dups = sheet_config([[k, v] for k, v in info.conf_rows])
        if dups:
            out.append(Check("xlwings.conf 工作表", FAIL, "重复的键：" + "、".join(dups),
                             "xlwings 读到重复的键会出错：在隐藏的 xlwings.conf 表中删除重复的行（取消隐藏：右键工作表标签 → 取消隐藏）"))
        machine = [f"{k} = {v}" for k, v in info.conf_rows if is_machine_path(v)]
        if machine:
            out.append(Check("xlwings.conf 工作表", WARN, "含本机路径：" + "；".join(machine),
                             "工作簿会被带到别的电脑，那里的路径不同：改用环境变量路径（如 %LOCALAPPDATA%\\...），"
                             "或删除该行，让 Excel 使用 PATH 中的 pythonw"))
    elif info is not None:
        sheet = {}
        out.append(Check("xlwings.conf 工作表", WARN, "工作簿中没有 xlwings.conf 工作表：个人配置文件的设置全部生效",
                         "用 perfscore template 重新生成工作簿（再用 perfscore carry-forward 带入数据）"))
    else:
        sheet = dict(PORTABLE)  # every perfscore workbook carries these
    directory = None
    if info is not None:
        text = probe.read_text(ntpath.join(info.folder, "xlwings.conf")) if probe.windows else None
        directory = parse_user_conf(text) if text else None
    profile = probe.env("USERPROFILE") or ""
    user_path = ntpath.join(profile, ".xlwings", "xlwings.conf")
    text = probe.read_text(user_path) if profile else None
    user = parse_user_conf(text) if text else None
    keys = ("INTERPRETER_WIN", "INTERPRETER", "CONDA PATH", "CONDA ENV", "PYTHONPATH", "UDF MODULES",
            "ADD_WORKBOOK_TO_PYTHONPATH", "SHOW CONSOLE", "DEBUG UDFS", "USE UDF SERVER")
    conf, layers = {}, {}
    for k in keys:
        conf[k], layers[k] = effective(k, sheet, directory, user)
    where = {"directory": "工作簿所在文件夹的 xlwings.conf", "user": f"个人配置文件 {user_path}"}
    applied = [f"{k} = {conf[k]}（来自{where[layers[k]]}）" for k in keys if layers[k] in where]
    if applied:
        out.append(Check("个人/文件夹 xlwings.conf", WARN,
                         "以下设置不在工作簿的 xlwings.conf 表中，由配置文件补上并生效：" + "；".join(applied),
                         f"这些文件多半是以前运行 xlwings addin install 或 xlwings config create 留下的。若不是有意设置的，"
                         f"把 {user_path} 改名（例如 xlwings.conf.bak）后重新打开 Excel。"))
    else:
        out.append(Check("个人/文件夹 xlwings.conf", OK,
                         f"没有配置文件覆盖工作簿的设置（{user_path} {'存在，但未设置相关的键' if user else '不存在'}）"))
    if str(conf["DEBUG UDFS"]).upper() == "TRUE":
        out.append(Check("DEBUG UDFS", FAIL, f"DEBUG UDFS = {conf['DEBUG UDFS']}：Excel 不启动 Python，而是等待调试服务器",
                         "删除 DEBUG UDFS 设置（xlwings.bas 第 463-464 行：设为 TRUE 时命令行被替换为调试用的 GUID）"))
    if str(conf["ADD_WORKBOOK_TO_PYTHONPATH"]).upper() != "FALSE":
        out.append(Check("ADD_WORKBOOK_TO_PYTHONPATH", WARN,
                         f"生效值为 {conf['ADD_WORKBOOK_TO_PYTHONPATH'] or '（默认 true）'}：从 OneDrive/SharePoint 打开时"
                         "xlwings 要把网址换算成本地路径，可能失败",
                         "在 xlwings.conf 工作表中设置 ADD_WORKBOOK_TO_PYTHONPATH = FALSE（perfscore 不需要工作簿所在的文件夹）"))
    return out, conf


def interpreter_checks(interp: Interpreter, probe, bits: int | None = None, version: str | None = None) -> list[Check]:
    out = []
    if interp.exe is None:
        if interp.explicit:
            dll = f"xlwings{bits or 64}-{version or '<版本>'}.dll"
            out.append(Check("Excel 启动的 Python", FAIL, f"{interp.how}指向的 {interp.command} 不存在",
                             f"Excel 会报 “Could not load {dll} from either of the following folders: "
                             f"{', '.join(interp.dll_dirs)}”{'' if bits else '（32 位 Excel 为 xlwings32-…）'}。改正该路径（用环境变量写，如 %ProgramW6432%\\Python311\\pythonw.exe），"
                             "或删除该设置并按 docs/windows-install.md 为所有用户安装 Python"))
        else:
            out.append(Check("Excel 启动的 Python", FAIL, f"PATH 中找不到 {interp.command}.exe",
                             "以管理员身份运行离线安装包中的 install.bat；或用 python.org 的 64 位安装程序选“Customize installation”"
                             "→ 勾选“Install Python for all users”和“Add Python to environment variables”。装好后重新打开 Excel"))
        return out
    low = interp.exe.lower()
    if "\\microsoft\\windowsapps\\" in low:
        out.append(Check("Excel 启动的 Python", FAIL, f"{interp.exe}（Microsoft Store 的 Python 或其“应用执行别名”）",
                         "Microsoft Store 的 Python 不能运行 xlwings 函数（xlwings 问题 #2371）：安装 python.org 的 64 位 Python"
                         "（为所有用户），并在“设置 → 应用 → 应用执行别名”中关闭 python.exe / pythonw.exe 的别名"))
        return out
    out.append(Check("Excel 启动的 Python", OK, f"{interp.exe}（{interp.how}）"))
    return out


def expansion_checks(conf: dict, bits: int | None, env_get) -> list[Check]:
    """Settings naming %ProgramFiles% / %CommonProgramFiles%: 32-bit Excel reads them as the (x86) folders."""
    from perfscore.deploy.comserver import wow64_sensitive
    out = []
    for k in ("INTERPRETER_WIN", "INTERPRETER", "CONDA PATH", "CONDA ENV", "PYTHONPATH"):
        v = conf.get(k)
        if not wow64_sensitive(v):
            continue
        fixed = re.sub(r"%(Common)?ProgramFiles%", lambda m: f"%{m.group(1) or ''}ProgramW6432%", str(v), flags=re.I)
        if bits == 32:
            out.append(Check(f"{k} 中的 %ProgramFiles%", FAIL,
                             f"{k} = {v}：32 位 Excel 把它展开为 {_expand(str(v), env_get)}（WOW64 下 32 位程序的 ProgramFiles 指向 "
                             "Program Files (x86)），64 位 Python 不在那里",
                             f"改为 {fixed}（%ProgramW6432% 在 32 位和 64 位程序中都指向 C:\\Program Files）"))
        else:
            out.append(Check(f"{k} 中的 %ProgramFiles%", WARN,
                             f"{k} = {v}：在本机{'的 64 位 Excel ' if bits == 64 else ''}中可用，但在装 32 位 Office 的电脑上"
                             "会展开为 C:\\Program Files (x86)\\…，工作簿带到那里就找不到 Python",
                             f"改为 {fixed}"))
    return out


def scope_check(data: dict, probe) -> Check:
    """All users or one user, from the Python's PEP 514 registration (HKLM vs HKCU), not from its path."""
    tag = ".".join(data["version"].split(".")[:2]) + ("" if data["bits"] == 64 else "-32")
    key = rf"SOFTWARE\Python\PythonCore\{tag}\InstallPath"
    hklm = probe.reg_value("HKLM\\" + key, "", "64" if data["bits"] == 64 else "32")
    hkcu = probe.reg_value("HKCU\\" + key, "")
    norm = lambda p: ntpath.normcase(ntpath.normpath(p.strip().strip('"'))).rstrip("\\") if p else None  # noqa: E731
    prefix = norm(data.get("base_prefix") or data.get("prefix"))
    name = "Python 的安装范围"
    if prefix and prefix == norm(hklm):
        return Check(name, OK, f"为所有用户安装（登记在 HKLM\\{key}）")
    fix = ("这台电脑的其他用户（以及以其他账户运行的 Excel）没有这个 Python：按 docs/windows-install.md 为所有用户安装 64 位 "
           f"Python {tag}（“Customize installation”→“Install Python for all users”），再以管理员身份运行 install.bat")
    if prefix and prefix == norm(hkcu):
        return Check(name, WARN, f"只为当前用户安装（登记在 HKCU\\{key}：{data.get('base_prefix')}）", fix)
    other = f"；本机为所有用户登记的 Python {tag} 在 {hklm}" if hklm else ""
    return Check(name, WARN, f"{data.get('base_prefix')} 没有登记在 HKLM 或 HKCU\\{key}（虚拟环境、conda 或拷贝来的 Python）"
                 + other, fix)


def dll_checks(interp: Interpreter, bits: int | None, version: str | None, probe) -> list[Check]:
    if interp.exe is None or not version:
        return []
    out = []
    for b in ([bits] if bits else [64, 32]):
        name = f"xlwings{b}-{version}.dll"
        found = next((ntpath.join(d, name) for d in interp.dll_dirs if probe.is_file(ntpath.join(d, name))), None)
        where = " Python 所在文件夹或其上一级" if interp.explicit else " PATH 中的文件夹"
        if found:
            out.append(Check(f"{b} 位 Excel 用的 DLL", OK, found))
        else:
            err = (f"“文件未找到: {name}”（VBA 运行时错误 53；英文版 Office：“File not found: {name}”）"
                   if not interp.explicit else
                   f"“Could not load {name} from either of the following folders: {interp.dll_dirs[0]}, "
                   f"{interp.dll_dirs[1] if len(interp.dll_dirs) > 1 else ''}”")
            out.append(Check(f"{b} 位 Excel 用的 DLL", FAIL, f"在{where}找不到 {name}：Excel 会报{err}",
                             f"为所有用户重新安装 xlwings=={version}（离线安装包中的 install.bat）；它必须装在 64 位 Python 中"
                             f"（win_amd64 的安装包同时带 32 位和 64 位 Excel 用的两个 DLL）。若文件装上后又消失，"
                             "是杀毒软件隔离了它：在安全软件中放行 Python 安装目录"))
    return out


def installed_checks(data: dict | None, error: str, expect_xlwings: str | None, windows: bool, label: str) -> list[Check]:
    """What the interpreter reports about itself (the probe script's JSON)."""
    if data is None:
        return [Check(label, FAIL, f"无法运行：{error[-400:]}",
                      "确认该 Python 能正常启动（在命令提示符中运行它）；必要时重新安装 64 位 Python 3.11，再运行 install.bat")]
    out = []
    py_ok = tuple(int(x) for x in data["version"].split(".")[:2]) >= (3, 11)
    if windows and data["bits"] != 64:
        out.append(Check("Python 版本与位数", FAIL, f"{data['version']}，{data['bits']} 位",
                         "必须用 64 位 Python：32 位 Python 上 pip 只能装不带 DLL 的 xlwings 通用包，Excel 无法调用。"
                         "Excel 是 32 位还是 64 位都可以。请卸载它，安装 64 位 Python 3.11（为所有用户）"))
    else:
        out.append(Check("Python 版本与位数", OK if py_ok else FAIL, f"{data['version']}，{data['bits']} 位",
                         "" if py_ok else "perfscore 需要 Python 3.11 或更新版本（64 位）"))
    have = data["dists"].get("xlwings")
    if have is None:
        out.append(Check("xlwings", FAIL, "未安装", f"运行离线安装包中的 install.bat（安装 xlwings=={expect_xlwings}）"))
    elif expect_xlwings and have != expect_xlwings:
        out.append(Check("xlwings", FAIL, f"已安装 {have}，需要 {expect_xlwings}",
                         f"工作簿内置的 VBA 只认 xlwings{{32|64}}-{expect_xlwings}.dll：安装 xlwings=={expect_xlwings}"
                         "（与工作簿配套的 perfscore 离线安装包），或用本机的 perfscore 重新生成工作簿"))
    else:
        out.append(Check("xlwings", OK, have))
    if windows:
        pw = data.get("pywin32_import", {})
        out.append(Check("pywin32", OK if pw.get("ok") else FAIL,
                         f"{data['dists'].get('pywin32') or '未安装'}" + ("" if pw.get("ok") else f"；{pw.get('error', '')}"),
                         "" if pw.get("ok") else "运行离线安装包中的 install.bat（含 pywin32），然后重新打开 Excel"))
    u = data.get("udfs", {})
    if u.get("ok"):
        out.append(Check("函数模块 perfscore.udfs", OK, f"perfscore {data['dists'].get('perfscore')}，"
                         f"{len(u['value']['functions'])} 个 PERF_ 函数"))
        us = data.get("user_site")
        if windows and us and u["value"]["file"].lower().startswith(us.lower()):
            out.append(Check("安装范围", WARN, f"perfscore 装在当前用户的目录（{us}）",
                             "其他用户用不了，且 pip 的脚本目录不在 PATH 中：以管理员身份运行 install.bat，为所有用户安装"))
    else:
        out.append(Check("函数模块 perfscore.udfs", FAIL, f"导入失败：{u.get('error', '')}",
                         "运行离线安装包中的 install.bat 安装 perfscore（装到 Excel 启动的这个 Python 中）"))
    s = data.get("systems", {})
    if s.get("ok"):
        by_region = s["value"].get("by_region") or {"shenzhen": s["value"]["years"]}
        listed = "可用地区与年度：" + "；".join(f"{r}：{'、'.join(map(str, ys))}" for r, ys in by_region.items())
        broken = s["value"].get("broken") or []
        if broken:
            out.append(Check("指标体系", FAIL, listed + "；有误的文件：" + "；".join(broken),
                             "按提示修正指标体系文件（或环境变量 PERFSCORE_SYSTEMS 指向的目录）"))
        else:
            out.append(Check("指标体系", OK, listed))
    elif "systems" in data and u.get("ok"):
        out.append(Check("指标体系", FAIL, s.get("error", ""), "按提示修正指标体系文件（或环境变量 PERFSCORE_SYSTEMS 指向的目录）"))
    return out


def _functions(vba: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"^Function (PERF_\w+)\(([^)]*)\)", vba, re.M)}


def workbook_checks(info: WorkbookInfo, data: dict | None, installed_xlwings: str | None) -> list[Check]:
    out = []
    if info.modules is None or "xlwings" not in info.modules:
        return [Check("工作簿的 VBA", FAIL, "工作簿中没有 xlwings 的 VBA 模块（可能另存为过 .xlsx）",
                      "用 perfscore template 重新生成工作簿，再用 perfscore carry-forward 带入数据；始终以 .xlsm 保存")]
    if installed_xlwings and info.xlwings_version != installed_xlwings:
        out.append(Check("工作簿的 xlwings 版本", FAIL, f"工作簿的 VBA 要 xlwings {info.xlwings_version}，本机装的是 {installed_xlwings}",
                         "安装与工作簿配套的 perfscore 离线安装包，或用本机的 perfscore 重新生成工作簿（template + carry-forward）"))
    else:
        out.append(Check("工作簿的 xlwings 版本", OK, str(info.xlwings_version)))
    if data is None or not data.get("udfs", {}).get("ok"):
        return out
    system_check, own = _system_check(info, data.get("systems", {}))
    out.append(system_check)
    if not own:
        out.append(Check("函数包装（VBA 模块 xlwings_udfs）", NA, "无法比较：本机没有工作簿所用的指标体系，见上一项"))
        return out
    w = data.get("wrappers", {})
    mine = (info.modules.get("xlwings_udfs") or "").replace("\r\n", "\n").strip()
    if not w.get("ok"):
        out.append(Check("函数包装（VBA 模块 xlwings_udfs）", FAIL, f"本机 perfscore 无法生成包装：{w.get('error', '')}",
                         "重新安装 perfscore（install.bat）"))
    elif w["value"].replace("\r\n", "\n").strip() == mine:
        out.append(Check("函数包装（VBA 模块 xlwings_udfs）", OK, f"与本机 perfscore 一致（{len(_functions(mine))} 个函数）"))
    else:
        a, b = _functions(mine), _functions(w["value"])
        diff = [f"{n} 仅在工作簿中" for n in sorted(a.keys() - b.keys())] + \
               [f"{n} 仅在本机 perfscore 中" for n in sorted(b.keys() - a.keys())] + \
               [f"{n} 参数不同（工作簿：{a[n]}；本机：{b[n]}）" for n in sorted(a.keys() & b.keys()) if a[n] != b[n]]
        out.append(Check("函数包装（VBA 模块 xlwings_udfs）", FAIL,
                         "工作簿的函数包装与本机 perfscore 不一致：" + ("；".join(diff[:5]) or "文字不同"),
                         "工作簿与本机 perfscore 的版本不配套：安装与工作簿配套的 perfscore 离线安装包，"
                         "或用本机的 perfscore 重新生成工作簿（perfscore template，再 perfscore carry-forward 带入数据）"))
    return out


def _system_check(info: WorkbookInfo, sysinfo: dict) -> tuple[Check, bool]:
    """The indicator system of the workbook's region (规则地区) and rules year, as check and collect take it: that
    region's own file for that year, no fallback. Returns the check and whether the system is installed here."""
    name, key, year = "规则年度与地区", info.region, info.year
    install = (f"在本机安装该地区的指标体系：把地区文件夹 {key}（其中要有 {year}.toml）放到环境变量 PERFSCORE_SYSTEMS "
               f"指向的目录下，即 %PERFSCORE_SYSTEMS%\\{key}\\{year}.toml（未设置该环境变量时先设置，如 "
               f"PERFSCORE_SYSTEMS=D:\\绩效规则；见 {GUIDE} 第 8 节“本地区自己的评分表”），或安装含该地区、该年度指标体系的 "
               f"perfscore 离线安装包；然后重新打开 Excel")
    if info.year_problem:
        return Check(name, FAIL, info.year_problem, "规则年度和规则地区由生成程序填写：改回原值，或用 perfscore template "
                     "重新生成工作簿（再用 perfscore carry-forward 带入数据）"), False
    fy = sysinfo.get("value", {}).get("for_year") if sysinfo.get("ok") else None
    if fy is None:
        return Check(name, FAIL, f"工作簿的规则年度 {year}、规则地区 {key}：本机 perfscore 无法加载指标体系"
                     f"（{sysinfo.get('error', '')}）", install), False
    if "year" not in fy:
        if key not in fy["regions"]:
            detail = (f"工作簿的规则地区是“{key}”：本机没有安装这个地区的指标体系（本机现有地区："
                      f"{'、'.join(fy['regions']) or '无'}），PERF_ 函数无法按该地区的规则计分")
        else:
            then = (f"PERF_ 函数会按该地区 {fy['fallback']} 年的规则计分" if fy.get("fallback")
                    else "PERF_ 函数无法计分")
            detail = (f"工作簿的规则年度是 {year}（地区“{key}”）：本机该地区只有 "
                      f"{'、'.join(map(str, fy['region_years'])) or '无'} 年度的指标体系，没有 {year} 年的文件，{then}")
        return Check(name, FAIL, detail, install), False
    expect_title = f"{fy['title']}（{fy['year']} 年版）"
    if (info.system_name or fy["name"]) != fy["name"] or (info.title or expect_title) != expect_title:
        return Check(name, FAIL, f"工作簿按《{info.system_name}》（{info.title}）生成；本机地区“{key}”{fy['year']} 年的"
                     f"指标体系是《{fy['name']}》（{expect_title}，{fy['region']}）",
                     "本机用的不是生成该工作簿的那份评分表：设置环境变量 PERFSCORE_SYSTEMS 指向本地区的指标体系目录"
                     f"（见 {GUIDE} 第 8 节），或安装配套的 perfscore"), True
    return Check(name, OK, f"{year} 年，地区 {key}（{fy['region']}），{fy['name']}"), True


def _parse_probe(rc: int, stdout: str, stderr: str) -> tuple[dict | None, str]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line), ""
            except ValueError:
                break
    return None, (stderr or stdout or f"退出码 {rc}").strip()


def identity_check(who: dict) -> Check:
    name = "运行身份"
    if who.get("system"):
        return Check(name, WARN, "以 SYSTEM 身份运行（静默安装）：按用户的设置（宏设置、受信任位置、网络标记、个人 xlwings.conf）"
                     "和按 Excel 的方式启动 Python 没有检查，它们因用户而异",
                     "请使用 Excel 的用户登录后，从“开始”菜单运行“perfscore 环境检查”"
                     f"（或 py -V:{sys.version_info[0]}.{sys.version_info[1]} -m perfscore doctor）")
    return Check(name, OK, f"用户 {who.get('user') or '（未知）'}" + ("（以管理员身份运行；Excel 通常不是，但按用户的设置是同一账户的）"
                                                               if who.get("elevated") else ""))


def run_checks(workbook=None, probe: Probe | None = None, com_timeout: float = 60.0) -> list[Check]:
    probe = probe or Probe()
    info = read_workbook(workbook) if workbook else None
    args = [info.path.name, "" if info.year_problem else str(info.year), info.region] if info else ["", "", ""]
    checks: list[Check] = []
    if probe.windows:
        from perfscore.deploy import comserver, policy
        who = probe.identity()
        checks.append(identity_check(who))
        office, bits, excel_exe = office_check(probe)
        checks.append(office)
        checks += policy.xlsm_association(probe)
        conf_checks, conf = config_checks(info, probe)
        checks += conf_checks
        env_get = comserver.office_env(probe.env, bits)
        checks += expansion_checks(conf, bits, env_get)
        interp = resolve_interpreter(conf, probe, env_get)
        checks += interpreter_checks(interp, probe, bits, (info.xlwings_version if info else None) or pinned_xlwings())
        data, error = None, "Excel 启动的 Python 不存在"
        runnable = interp.exe and "\\microsoft\\windowsapps\\" not in interp.exe.lower()
        if runnable:
            data, error = _parse_probe(*probe.run_python(_runner(interp.exe, probe), args))
            expect = (info.xlwings_version if info else None) or (data or {}).get("xlwings_pin", {}).get("value") \
                or pinned_xlwings()
            checks += installed_checks(data, error, expect, True, "Excel 启动的 Python")
            if data is not None:
                checks.append(scope_check(data, probe))
            checks += dll_checks(interp, bits, expect, probe)
        cmd_policy = policy.cmd_policy_check(probe)
        if cmd_policy:
            checks.append(cmd_policy)
        checks.append(policy.asr_check(probe, (data or {}).get("base_prefix") or (ntpath.dirname(interp.exe)
                                                                                 if interp.exe else None)))
        if who.get("system"):
            pass  # the identity check says what was left out
        else:
            wb_path = str(info.path.resolve()) if info else None
            checks += policy.macro_checks(wb_path, probe, policy.office_version(excel_exe))
            if runnable and data is not None:
                command = comserver.xlpy_command({k: (None if v is None else _expand(str(v), env_get))
                                                  for k, v in conf.items()}, wb_path or "")
                env = comserver.office_environ(probe.environ(), bits)
                checks.append(comserver.com_server_check(probe.start_com_server(command, env, com_timeout), command))
    else:
        import platform
        checks.append(Check("Excel、xlwings.conf、DLL", NA, f"当前系统为 {platform.system()}：只有 Windows 上的 Excel 能运行"
                                                           " PERF_ 函数；以下检查的是运行本命令的 Python"))
        data, error = _parse_probe(*probe.run_python(sys.executable, args))
        expect = (info.xlwings_version if info else None) or pinned_xlwings()
        checks += installed_checks(data, error, expect, False, "运行本命令的 Python")
    if info is not None:
        checks += workbook_checks(info, data, (data or {}).get("dists", {}).get("xlwings"))
    return checks


def report(checks, workbook=None) -> tuple[str, bool]:
    lines = ["perfscore 环境检查" + (f"（工作簿：{workbook}）" if workbook else ""), ""]
    for c in checks:
        lines.append(f"{MARK[c.status]} {c.name}：{c.status}（{c.detail}）")
        if c.fix:
            lines.append(f"    怎么办：{c.fix}")
    ok = all(c.status != FAIL for c in checks)
    again = f"py -V:{sys.version_info[0]}.{sys.version_info[1]} -m perfscore doctor"
    lines += ["", "全部通过。" if ok else f"有未通过的项目，请按“怎么办”处理后重新运行 {again}（或“开始”菜单中的“perfscore 环境检查”）。",
              f"Excel 仍报错时：在工作簿的 xlwings.conf 表中加一行 SHOW CONSOLE = TRUE，重新计算，会弹出 Python 的命令行窗口显示真正的错误。"
              f"安装与常见故障见 {GUIDE}。"]
    return "\n".join(lines), ok
