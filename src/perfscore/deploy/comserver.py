"""Start Python the way Excel does, and say what Excel would say.

The command line is built as ``XLPyCommand`` builds it (xlwings 0.37.8 ``xlwings.bas`` l. 398-470); the start
follows ``Config::ActivateRPCServer`` in the xlwings DLL (``xlwingsdll/config.cpp``): ``$(CLSID)`` replaced by a
new GUID, ``CreateProcessA`` of that command line, then ``CoCreateInstance(CLSID, CLSCTX_LOCAL_SERVER)`` every
100 ms, up to 600 times (about 60 s), while ``REGDB_E_CLASSNOTREG`` comes back and the process is alive. Its
messages, which Excel shows in the cell (the workbook's wrappers write ``Err.Description``), are quoted verbatim
from the DLL (the strings are in ``xlwings64-0.37.8.dll`` and ``xlwings32-0.37.8.dll`` of the win_amd64 wheel).

Because the command is ``cmd.exe /K ...``, cmd.exe stays alive when Python fails: the DLL cannot see the failure and
waits the full minute before "Could not activate Python COM server". doctor captures the output the DLL throws away
and stops as soon as Python has reported an error.

How 32-bit Office sees the environment (WOW64): a 32-bit process gets ``ProgramFiles`` and ``CommonProgramFiles``
pointing at the ``(x86)`` folders and ``PROCESSOR_ARCHITECTURE=x86``; ``ProgramW6432`` and
``CommonProgramW6432`` keep the 64-bit folders. xlwings expands configuration values with
``WScript.Shell.ExpandEnvironmentStrings`` inside Excel's process (l. 994-1017), so a setting like
``%ProgramFiles%\\Python311\\pythonw.exe`` means ``C:\\Program Files (x86)\\...`` in 32-bit Excel.
"""
from __future__ import annotations

import re

from perfscore.deploy.doctor import FAIL, NA, OK, Check

REGDB_E_CLASSNOTREG = -2147221164          # 0x80040154, what CoCreateInstance returns until the server registered
ATTEMPTS, INTERVAL = 600, 0.1              # config.cpp: for(k=0; k<600; k++) { ... Sleep(100); }
MSG_CREATE = "Could not create Python process."
MSG_EXITED = "Python process exited before it was possible to create the interface object."
MSG_ACTIVATE = "Could not activate Python COM server, hr = "
WOW64 = {"PROGRAMFILES": "ProgramFiles(x86)", "COMMONPROGRAMFILES": "CommonProgramFiles(x86)"}


def office_env(get, bits: int | None):
    """``get(name)`` for environment variables as Excel of ``bits`` sees them (64-bit or unknown: unchanged)."""
    if bits != 32:
        return get

    def get32(name):
        up = name.upper()
        if up in WOW64:
            return get(WOW64[up]) or get(name)
        if up == "PROCESSOR_ARCHITECTURE":
            return "x86"
        if up == "PROCESSOR_ARCHITEW6432":
            return get("PROCESSOR_ARCHITECTURE") or "AMD64"
        return get(name)
    return get32


def office_environ(environ: dict, bits: int | None) -> dict:
    """The environment block a process started by Excel of ``bits`` inherits (the DLL passes Excel's own)."""
    if bits != 32:
        return dict(environ)
    get = office_env(lambda k: next((v for n, v in environ.items() if n.upper() == k.upper()), None), 32)
    out = {k: v for k, v in environ.items() if k.upper() not in (*WOW64, "PROCESSOR_ARCHITECTURE")}
    for name in ("ProgramFiles", "CommonProgramFiles", "PROCESSOR_ARCHITECTURE", "PROCESSOR_ARCHITEW6432"):
        v = get(name)
        if v:
            out[name] = v
    return out


def expand(value: str, get) -> str:
    """``ExpandEnvironmentStrings``: known %VAR% replaced, unknown ones kept as written."""
    return re.sub(r"%([^%]+)%", lambda m: get(m.group(1)) or m.group(0), value)


def wow64_sensitive(value) -> bool:
    """A setting that names %ProgramFiles% or %CommonProgramFiles% (32-bit Excel reads them as the (x86) folders)."""
    return bool(re.search(r"%(ProgramFiles|CommonProgramFiles)%", str(value or ""), re.I))


def _true(v) -> bool:
    return str(v).strip().lower() == "true"


def xlpy_command(conf: dict, fullname: str) -> str:
    """The command line ``XLPyCommand`` gives the DLL; ``conf`` holds the effective, already expanded settings."""
    get = lambda k, d="": "" if conf.get(k) is None else str(conf.get(k))  # noqa: E731
    add = get("ADD_WORKBOOK_TO_PYTHONPATH") or "true"
    pythonpath = ";".join([add, fullname, fullname, get("ONEDRIVE_CONSUMER_WIN"), get("ONEDRIVE_COMMERCIAL_WIN"),
                           get("SHAREPOINT_WIN"), get("PYTHONPATH")])
    pythonpath = pythonpath.replace("\\", "\\\\").replace("'", "\\'").replace("&", "^&")
    python_win = get("INTERPRETER_WIN") or get("INTERPRETER") or "pythonw"
    console = "/showconsole" if _true(conf.get("SHOW CONSOLE")) else ""
    conda_path, conda_env = get("CONDA PATH"), get("CONDA ENV")
    if python_win in ("python", "pythonw") and conda_path and conda_env:
        python_win = f'cmd.exe {console} /K ""{conda_path}\\condabin\\conda" activate {conda_env} && python'
    else:
        python_win = f'cmd.exe {console} /K ""{python_win}"'
    if _true(conf.get("DEBUG UDFS")):
        return "{506e67c3-55b5-48c3-a035-eed5deea7d6d}"
    key = get("LICENSE_KEY")
    lic = f"os.environ['XLWINGS_LICENSE_KEY']='{key}';" if key else ""
    tail = (f' -B -c "import sys, os;{lic}import xlwings.utils;xlwings.utils.prepare_sys_path(\\"{pythonpath}\\");'
            "import xlwings; xlwings.serve('$(CLSID)')\"")
    return python_win + tail + '"'


def _why(output: str) -> str:
    if re.search(r"No module named '?(win32com|pythoncom|pywintypes)", output):
        return "该 Python 中没有 pywin32：以管理员身份运行离线安装包中的 install.bat"
    if re.search(r"No module named '?(xlwings|perfscore)", output):
        return "该 Python 中没有 xlwings 或 perfscore：以管理员身份运行离线安装包中的 install.bat（装到 Excel 启动的这个 Python）"
    if re.search(r"不是内部或外部命令|is not recognized as an internal or external command|系统找不到指定的路径|cannot find the path",
                 output, re.I):
        return "cmd.exe 找不到 Excel 要启动的 Python：按上面“Excel 启动的 Python”一项改正 PATH 或 INTERPRETER_WIN"
    return "按 Python 的输出处理；仍不明白时把本检查的全部输出发给 IT"


def com_server_check(result: dict, command: str) -> Check:
    """One Check from ``Probe.start_com_server``'s result, in the DLL's own words."""
    name = "按 Excel 的方式启动 Python"
    stage = result.get("stage")
    out = (result.get("output") or "").strip()
    shown = f"；Python 的输出：{out[-600:]}" if out else ""
    if stage == "ok":
        if result.get("module_error"):
            return Check(name, FAIL, f"COM 服务器已启动（{result['seconds']:.1f} 秒），但导入 perfscore.udfs 出错："
                         f"{result['module_error'][-600:]}", "以管理员身份运行离线安装包中的 install.bat，重新安装 perfscore")
        return Check(name, OK, f"cmd.exe /K 启动的 Python 在 {result['seconds']:.1f} 秒内注册了 COM 服务器，perfscore.udfs 可以导入")
    if stage == "create":
        return Check(name, FAIL, f"Excel 会报：“{MSG_CREATE} Error message: {result.get('error', '')}”（命令：{command[:160]}…）",
                     "Windows 不允许启动 cmd.exe：检查 AppLocker/软件限制策略和安全软件；Excel 中还要注意下面的 Defender 规则")
    if stage == "exited":
        return Check(name, FAIL, f"Excel 会报：“{MSG_EXITED}”（cmd.exe 启动后立即退出）{shown}",
                     "多半是组策略禁止了命令提示符（见“命令提示符”一项）或 cmd.exe 被拦截")
    if stage == "python_failed":
        return Check(name, FAIL, f"Python 启动后出错；Excel 会在约 {ATTEMPTS * INTERVAL:.0f} 秒内没有响应，然后报"
                     f"“{MSG_ACTIVATE}{REGDB_E_CLASSNOTREG}”（cmd.exe /K 一直在，DLL 看不出 Python 已退出）{shown}", _why(out))
    if stage == "timeout":
        return Check(name, FAIL, f"{ATTEMPTS * INTERVAL:.0f} 秒内 Python 没有注册 COM 服务器：Excel 会报"
                     f"“{MSG_ACTIVATE}{result.get('hr', REGDB_E_CLASSNOTREG)}”{shown}",
                     "安全软件可能拦截了 pythonw.exe 或它与 Excel 之间的 COM 通信（见第 6 节）；在工作簿的 xlwings.conf 表中"
                     "加一行 SHOW CONSOLE = TRUE 后重新计算，看 Python 窗口中的报错")
    return Check(name, NA, f"无法模拟：{result.get('error', '')}")
