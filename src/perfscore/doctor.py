"""`perfscore doctor`: check what can be checked where it runs, and say what to fix (in Chinese)."""
from __future__ import annotations

import importlib
import importlib.metadata as md
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

OK, FAIL, NA = "通过", "未通过", "不适用"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def pinned_xlwings() -> str | None:
    for req in md.requires("perfscore") or []:
        m = re.match(r"^xlwings\s*==\s*([\w.]+)", req)
        if m:
            return m.group(1)
    return None


def run_checks() -> list[Check]:
    out = []
    win = sys.platform.startswith("win")
    v = sys.version_info
    out.append(Check("Python 版本", OK if v >= (3, 11) else FAIL, platform.python_version(),
                     "" if v >= (3, 11) else "请安装 Python 3.11 或更新版本（64 位），并重新安装 perfscore"))
    pin = pinned_xlwings()
    try:
        have = md.version("xlwings")
    except md.PackageNotFoundError:
        have = None
    if have is None:
        out.append(Check("xlwings", FAIL, "未安装", f"pip install xlwings=={pin}"))
    else:
        good = have == pin
        out.append(Check("xlwings 版本", OK if good else FAIL, f"已安装 {have}，工作簿内置的是 {pin}",
                         "" if good else f"版本必须一致，否则 Excel 报“Could not load xlwings64-x.dll”：pip install xlwings=={pin}"))
    if win:
        try:
            importlib.import_module("win32com.client")
            out.append(Check("pywin32", OK, "可导入 win32com"))
        except ImportError:
            out.append(Check("pywin32", FAIL, "无法导入 win32com", "pip install pywin32，然后重新打开 Excel"))
        bits = "64" if sys.maxsize > 2**32 else "32"
        dll = Path(sys.prefix) / f"xlwings{bits}-{have}.dll"
        out.append(Check("xlwings DLL", OK if dll.exists() else FAIL, str(dll),
                         "" if dll.exists() else f"重新安装 xlwings=={pin}（pip install --force-reinstall xlwings=={pin}），"
                                                 "并确认 Excel 与 Python 同为 64 位或同为 32 位"))
        try:
            import winreg
            winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, r"Excel.Application\CLSID")
            out.append(Check("Excel", OK, "已注册 Excel.Application"))
        except OSError:
            out.append(Check("Excel", FAIL, "未找到 Excel.Application", "请安装桌面版 Microsoft Excel（WPS 不支持 xlwings 函数）"))
    else:
        for name in ("pywin32", "xlwings DLL", "Excel"):
            out.append(Check(name, NA, f"当前系统为 {platform.system()}：只有 Windows 上的 Excel 能运行 PERF_ 函数"))
    try:
        udfs = importlib.import_module("perfscore.udfs")
        n = len([k for k in dir(udfs) if k.startswith("PERF_")])
        out.append(Check("函数模块 perfscore.udfs", OK, f"可导入，{n} 个 PERF_ 函数"))
    except Exception as exc:  # report any import failure, it is exactly what Excel would hit
        out.append(Check("函数模块 perfscore.udfs", FAIL, f"导入失败：{type(exc).__name__}: {exc}",
                         "重新安装 perfscore；确认 xlwings.conf 中 UDF MODULES 为 perfscore.udfs"))
    try:
        from .system import available_years, load_system
        years = available_years()
        for y in years:
            load_system(y)
        out.append(Check("指标体系", OK, "可用年度：" + "、".join(map(str, years))))
    except Exception as exc:
        out.append(Check("指标体系", FAIL, str(exc), "按提示修正指标体系文件"))
    return out


def report(checks) -> tuple[str, bool]:
    lines = ["perfscore 环境检查", ""]
    for c in checks:
        mark = {"通过": "✓", "未通过": "✗", "不适用": "-"}[c.status]
        lines.append(f"{mark} {c.name}：{c.status}（{c.detail}）")
        if c.fix:
            lines.append(f"    怎么办：{c.fix}")
    ok = all(c.status != FAIL for c in checks)
    lines += ["", "全部通过。" if ok else "有未通过的项目，请按“怎么办”处理后重新运行 perfscore doctor。",
              "安装与常见故障见 docs/windows-install.md。"]
    return "\n".join(lines), ok
