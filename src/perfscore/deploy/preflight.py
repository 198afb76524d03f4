"""Checks install.bat runs with the target Python before it installs anything (copied into the bundle as
``preflight.py``; it must run on a bare Python, so it uses the standard library only).

Usage (from install.bat): ``py -V:3.11 preflight.py --python 3.11 --xlwings 0.37.8 [--log FILE]``.
The exit code is install.bat's exit code for the failure (0 = go on):

- 12: the Python is 32-bit (pip would pick xlwings's pure-Python wheel, which has no DLL for Excel);
- 13: the Python is not the all-users installation: its folder is not the ``InstallPath`` registered under
  ``HKLM\\SOFTWARE\\Python\\PythonCore\\<tag>`` (PEP 514) - it is registered under HKCU (per-user install,
  which other users and Excel started by another account do not have) or not registered at all.

Warnings (exit code unchanged): Excel or pythonw.exe running (the running Python keeps the old perfscore until
Excel is restarted); xlwings already installed at another version than the bundle's (workbooks whose VBA was
generated for the old version stop working until they are regenerated).
"""
from __future__ import annotations

import os
import subprocess
import sys

EXIT_32BIT, EXIT_SCOPE = 12, 13


def _norm(path: str | None) -> str | None:
    if not path:
        return None
    return os.path.normcase(os.path.normpath(path.strip().strip('"'))).rstrip("\\/")


def registration(reg, tag: str) -> dict:
    """``{"HKLM": path or None, "HKCU": path or None}``: the InstallPath registered for ``tag`` (``3.11``; a 32-bit
    Python registers ``3.11-32``). ``reg(hive, key)`` returns the key's default value or None."""
    key = rf"SOFTWARE\Python\PythonCore\{tag}\InstallPath"
    return {hive: reg(hive, key) for hive in ("HKLM", "HKCU")}


def judge(prefix: str, bits: int, tag: str, reg, running: list[str], installed_xlwings: str | None,
          want_xlwings: str | None) -> tuple[int, list[str]]:
    """(exit code, messages in Chinese) for the Python at ``prefix``."""
    msgs = []
    if bits != 64:
        return EXIT_32BIT, [f"错误：找到的 Python {tag} 是 32 位的。xlwings 在 32 位 Python 上没有 Excel 所需的 DLL。",
                            f"  请卸载它，安装 64 位的 python-{tag}.x-amd64.exe（32 位和 64 位 Office 都能用 64 位 Python）。"]
    where = registration(reg, tag)
    mine = _norm(prefix)
    if _norm(where["HKLM"]) == mine:
        msgs.append(f"Python {tag}（64 位）为所有用户安装：{prefix}（注册在 HKLM\\SOFTWARE\\Python\\PythonCore\\{tag}）")
    else:
        if _norm(where["HKCU"]) == mine:
            why = f"它只为当前用户安装（注册在 HKCU\\SOFTWARE\\Python\\PythonCore\\{tag}，位置 {prefix}）"
        else:
            why = f"它没有登记为本机所有用户的 Python（{prefix} 不是 HKLM\\SOFTWARE\\Python\\PythonCore\\{tag} 中登记的位置）"
        other = f"；本机为所有用户安装的 Python {tag} 在 {where['HKLM']}" if where["HKLM"] else ""
        return EXIT_SCOPE, [f"错误：py -V:{tag} 找到的 Python 不能给所有用户使用：{why}{other}。",
                            f"  其他用户和 Excel 可能找不到它。请卸载这个 Python（设置 → 应用），然后用 python-{tag}.x-amd64.exe "
                            f"选“Customize installation”，勾选“Install Python {tag} for all users”重新安装；",
                            f"  静默安装：python-{tag}.x-amd64.exe /quiet InstallAllUsers=1 PrependPath=1 Include_launcher=1"]
    if running:
        msgs.append(f"注意：{'、'.join(running)} 正在运行。安装完成后请关闭并重新打开 Excel，新的 perfscore 才会生效；"
                    "如果 pip 报告文件被占用，先关闭 Excel 再运行 install.bat。")
    if installed_xlwings and want_xlwings and installed_xlwings != want_xlwings:
        msgs.append(f"注意：本机已装 xlwings {installed_xlwings}，本安装包将换成 xlwings {want_xlwings}。"
                    f"工作簿中的 VBA 只认生成它时的 xlwings 版本：以前用 xlwings {installed_xlwings} 生成的工作簿将无法计算，"
                    "需用本安装包的 perfscore 重新生成（perfscore template，再 perfscore carry-forward 带入数据）。")
    return 0, msgs


def _winreg_reader():
    import winreg
    roots = {"HKLM": winreg.HKEY_LOCAL_MACHINE, "HKCU": winreg.HKEY_CURRENT_USER}

    def reg(hive, key):
        try:
            with winreg.OpenKey(roots[hive], key, 0, winreg.KEY_READ | winreg.KEY_WOW64_64KEY) as k:
                return str(winreg.QueryValueEx(k, "")[0])
        except OSError:
            return None
    return reg


def _running() -> list[str]:
    try:
        out = subprocess.run(["tasklist", "/fo", "csv", "/nh"], capture_output=True, text=True, timeout=30,
                             errors="replace").stdout.lower()
    except (OSError, subprocess.SubprocessError):
        return []
    return [name for name in ("EXCEL.EXE", "pythonw.exe") if f'"{name.lower()}"' in out]


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description="perfscore install.bat: checks before installing")
    p.add_argument("--python", required=True)
    p.add_argument("--xlwings")
    p.add_argument("--log")
    a = p.parse_args(argv)
    try:
        import importlib.metadata as md
        try:
            installed = md.version("xlwings")
        except md.PackageNotFoundError:
            installed = None
        bits = 64 if sys.maxsize > 2**32 else 32
        code, msgs = judge(sys.base_prefix, bits, a.python, _winreg_reader(), _running(), installed, a.xlwings)
    except Exception as exc:  # never a traceback: say what happened and let install.bat stop
        code, msgs = EXIT_SCOPE, [f"错误：安装前的检查无法完成（{type(exc).__name__}: {exc}）。"]
    for m in msgs:
        print(m)
    if a.log:
        try:
            with open(a.log, "a", encoding="utf-8") as f:
                f.write("".join(f"[preflight] {m}\n" for m in msgs) + f"[preflight] exit {code}\n")
        except OSError:
            pass
    return code


if __name__ == "__main__":
    sys.exit(main())
