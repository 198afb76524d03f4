"""The Start-menu entry “perfscore 环境检查” for all users, so that the person who uses Excel runs doctor as
themselves (install.bat runs elevated, maybe as SYSTEM: another profile, HKCU and PATH than the Excel user's).

``python -m perfscore.deploy.shortcut [--remove] [--log FILE]`` (install.bat runs it after pip). The entry starts
this Python's ``python.exe -m perfscore doctor --pause`` (a console window that stays open until Enter). It is
written with the shell's IShellLink through pywin32, which the bundle installs. A failure is reported in Chinese and
never stops the installation.
"""
from __future__ import annotations

import ntpath
import os
import sys

NAME = "perfscore 环境检查"
FOLDER = "perfscore"


def spec(python_exe: str, programdata: str) -> dict:
    """Where the entry goes and what it starts."""
    folder = ntpath.join(programdata, "Microsoft", "Windows", "Start Menu", "Programs", FOLDER)
    return {"folder": folder, "path": ntpath.join(folder, NAME + ".lnk"), "target": python_exe,
            "arguments": "-m perfscore doctor --pause",
            "description": "检查本机能否运行评分工作簿中的 PERF_ 函数（以当前用户身份）"}


def _create(s: dict) -> None:  # pragma: no cover - Windows only
    import pythoncom
    from win32com.shell import shell
    os.makedirs(s["folder"], exist_ok=True)
    link = pythoncom.CoCreateInstance(shell.CLSID_ShellLink, None, pythoncom.CLSCTX_INPROC_SERVER, shell.IID_IShellLink)
    link.SetPath(s["target"])
    link.SetArguments(s["arguments"])
    link.SetDescription(s["description"])
    link.SetWorkingDirectory(ntpath.dirname(s["target"]))
    link.QueryInterface(pythoncom.IID_IPersistFile).Save(s["path"], 0)


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m perfscore.deploy.shortcut",
                                description="为所有用户在“开始”菜单中加入（或删除）“perfscore 环境检查”")
    p.add_argument("--remove", action="store_true", help="删除该菜单项（卸载时）")
    p.add_argument("--log", metavar="文件", help="把结果追加到该文件（UTF-8）")
    a = p.parse_args(argv)
    s = spec(sys.executable, os.environ.get("ProgramData") or r"C:\ProgramData")
    if sys.platform != "win32":
        msg, rc = f"“开始”菜单项只在 Windows 上创建（当前系统：{sys.platform}），未做任何改动。", 1
    else:  # pragma: no cover - Windows only
        try:
            if a.remove:
                import shutil
                shutil.rmtree(s["folder"], ignore_errors=True)
                msg, rc = f"已删除“开始”菜单项：{s['folder']}", 0
            else:
                _create(s)
                msg, rc = f"已在“开始”菜单中加入“{NAME}”：{s['path']}（运行 {s['target']} {s['arguments']}）", 0
        except Exception as exc:  # never a traceback; installing goes on without the entry
            msg, rc = (f"注意：无法在“开始”菜单中加入“{NAME}”（{type(exc).__name__}: {exc}）。使用 Excel 的用户可在命令提示符中运行 "
                       f"py -V:{sys.version_info[0]}.{sys.version_info[1]} -m perfscore doctor"), 1
    print(msg)
    if a.log:
        try:
            with open(a.log, "a", encoding="utf-8") as f:
                f.write(f"[shortcut] {msg}\n")
        except OSError:
            pass
    return rc


if __name__ == "__main__":
    sys.exit(main())
