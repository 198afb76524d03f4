"""What stops these workbooks on a managed PC, read the way the Excel user's session sees it: the workbook's Mark of
the Web, the macro settings and trusted locations (user settings and policy keys), the Defender ASR rule that blocks
Office child processes, the policy that disables cmd.exe, and WPS registered in Excel's place.

Every registry path and value here is stated in the sources listed in docs/windows-install.md (依据 M1-M8); none
of it has been read on a real Windows PC by this project. All reads go through ``doctor.Probe``.
"""
from __future__ import annotations

import ntpath
import re

from perfscore.deploy.doctor import FAIL, NA, OK, WARN, Check

GUIDE = "docs/windows-install.md"
EXCEL_SEC = r"HKCU\Software\Microsoft\Office\{ver}\Excel\Security"
EXCEL_POL = r"HKCU\Software\Policies\Microsoft\Office\{ver}\Excel\Security"
COMMON_POL_TL = r"HKCU\Software\Policies\Microsoft\Office\{ver}\Common\Security\Trusted Locations"
# Trust Center → 宏设置 (VBAWarnings; policy “VBA Macro Notification Settings” writes the same value name)
VBA_LEVELS = {"1": "启用所有宏", "2": "禁用所有宏，并发出通知（默认）", "3": "禁用无数字签署的所有宏",
              "4": "禁用所有宏，并且不通知"}
ZONES = {"0": "本机", "1": "本地 Intranet", "2": "受信任的站点", "3": "Internet", "4": "受限站点"}
ASR_RULE = "d4f940ab-401b-4efc-aadc-ad5f3c50688a"  # Block all Office applications from creating child processes
ASR_ROOTS = [r"HKLM\SOFTWARE\Policies\Microsoft\Windows Defender\Windows Defender Exploit Guard\ASR",
             r"HKLM\SOFTWARE\Microsoft\Windows Defender\Windows Defender Exploit Guard\ASR"]
ASR_MODES = {"0": "未启用", "1": "阻止", "2": "审核（只记录，不阻止）", "6": "警告（用户可暂时放行）"}
DISABLE_CMD = [r"HKCU\Software\Policies\Microsoft\Windows\System", r"HKLM\Software\Policies\Microsoft\Windows\System"]
WPS = re.compile(r"\\(et|wps|wpp|ksolaunch)\.exe|\\kingsoft\\|\\wps office\\", re.I)


def office_version(excel_path: str | None) -> str:
    """The Office version key (``16.0`` for Office 2016 to Microsoft 365) from Excel's folder, default 16.0."""
    m = re.search(r"\\office(1[2-9])\\", (excel_path or "").lower())
    return f"{m.group(1)}.0" if m else "16.0"


def _norm(path: str) -> str:
    return ntpath.normcase(ntpath.normpath(path.strip().strip('"'))).rstrip("\\")


def _expand(value: str, probe) -> str:
    return re.sub(r"%([^%]+)%", lambda m: probe.env(m.group(1)) or m.group(0), value)


def trusted_locations(probe, ver: str) -> tuple[list[dict], dict]:
    """Excel's trusted locations as [{path, subfolders, source}] and the flags that limit them."""
    pol_tl, user_tl = EXCEL_POL.format(ver=ver) + r"\Trusted Locations", EXCEL_SEC.format(ver=ver) + r"\Trusted Locations"
    flags = {"all_disabled": probe.reg_value(pol_tl, "AllLocationsDisabled") == "1",
             "allow_network": (probe.reg_value(pol_tl, "AllowNetworkLocations")
                               or probe.reg_value(user_tl, "AllowNetworkLocations")) == "1",
             "user_allowed": probe.reg_value(COMMON_POL_TL.format(ver=ver), "Allow User Locations") != "0"}
    out = []
    for base, source in ((pol_tl, "组策略"), (user_tl, "用户设置")):
        if source == "用户设置" and not flags["user_allowed"]:
            continue
        for sub in probe.reg_subkeys(base):
            path = probe.reg_value(base + "\\" + sub, "Path")
            if path:
                out.append({"path": _expand(path, probe), "subfolders": probe.reg_value(base + "\\" + sub,
                            "AllowSubfolders") == "1", "source": source})
    return out, flags


def covering_location(folder: str, locations: list[dict], flags: dict) -> dict | None:
    """The trusted location that covers ``folder`` (a network folder only when network locations are allowed)."""
    if flags["all_disabled"]:
        return None
    f = _norm(folder)
    network = folder.startswith("\\\\")
    for loc in locations:
        p = _norm(loc["path"])
        if (f == p or (loc["subfolders"] and f.startswith(p + "\\"))) and (not network or flags["allow_network"]):
            return loc
    return None


def zone_of(path: str, probe) -> tuple[str | None, str]:
    """(ZoneId, where it came from): the ``Zone.Identifier`` stream Windows writes on downloads (Mark of the Web),
    or Internet for a share reached by IP address (Microsoft's own example, M1)."""
    text = probe.read_text(path + ":Zone.Identifier")
    if text:
        m = re.search(r"^\s*ZoneId\s*=\s*(\d+)", text, re.M | re.I)
        if m:
            return m.group(1), "网络标记（Zone.Identifier）"
    if re.match(r"^\\\\\d{1,3}(\.\d{1,3}){3}\\", path):
        return "3", "通过 IP 地址访问的共享"
    return None, ""


def macro_checks(workbook_path: str | None, probe, ver: str) -> list[Check]:
    sec, pol = EXCEL_SEC.format(ver=ver), EXCEL_POL.format(ver=ver)
    out = []
    level_pol = probe.reg_value(pol, "VBAWarnings")
    level = level_pol or probe.reg_value(sec, "VBAWarnings") or "2"
    how = "组策略" if level_pol else ("用户设置" if level != "2" or probe.reg_value(sec, "VBAWarnings") else "默认")
    label = VBA_LEVELS.get(level, f"未知的值 {level}")
    locations, flags = trusted_locations(probe, ver)
    folder = ntpath.dirname(workbook_path) if workbook_path else None
    trusted = covering_location(folder, locations, flags) if folder else None
    where = "、".join(f"{loc['path']}{'（含子文件夹）' if loc['subfolders'] else ''}（{loc['source']}）" for loc in locations)
    place = (f"受信任位置：{where or '无'}" + ("；组策略禁用了所有受信任位置" if flags["all_disabled"] else "")
             + ("" if flags["user_allowed"] else "；组策略不承认用户自己添加的受信任位置"))
    if trusted:
        out.append(Check("受信任位置", OK, f"工作簿所在的 {folder} 属于受信任位置 {trusted['path']}（{trusted['source']}）：宏直接运行"))
    elif folder:
        net = folder.startswith("\\\\") and not flags["allow_network"] and \
            covering_location(folder, locations, {**flags, "allow_network": True}) is not None
        out.append(Check("受信任位置", WARN if level in ("1", "2") else FAIL,
                         f"工作簿所在的 {folder} 不在受信任位置中" + ("（它是网络位置，而 Excel 不允许网络上的受信任位置）" if net else "")
                         + f"。{place}",
                         f"把工作簿放到受信任位置，或由 IT 用组策略把存放工作簿的文件夹设为受信任位置（见 {GUIDE} 第 5 节）"))
    else:
        out.append(Check("受信任位置", OK if locations else NA, place))
    detail = f"宏设置：{label}（{how}）"
    if level in ("3", "4") and not trusted:
        out.append(Check("宏设置", FAIL if folder else WARN, detail + "：不在受信任位置的 perfscore 工作簿的宏不会运行"
                         "（它的 VBA 没有数字签名），分数不会重新计算",
                         f"把工作簿放在受信任位置（组策略可统一下发，见 {GUIDE} 第 5 节）；不要为此降低宏设置"))
    else:
        note = "：不在受信任位置的工作簿，打开时要点消息栏上的“启用内容”" if level == "2" and not trusted else ""
        out.append(Check("宏设置", OK, detail + note))
    if workbook_path:
        zone, source = zone_of(workbook_path, probe)
        block = probe.reg_value(pol, "blockcontentexecutionfrominternet")
        if zone in ("3", "4") and not trusted:
            name = f"{ZONES[zone]} 区域（{source}）"
            if block == "0":
                out.append(Check("来自 Internet 的文件", WARN, f"工作簿属于{name}；组策略关闭了“阻止来自 Internet 的宏”，"
                                 "打开时要点“启用内容”", "右键工作簿 → 属性 → 勾选“解除锁定”，或把它放到受信任位置"))
            else:
                fix = ("右键工作簿 → 属性 → 勾选“解除锁定”后重新打开（或 PowerShell：Unblock-File 工作簿.xlsm），或把它放到受信任位置"
                       if source.startswith("网络标记") else
                       "改用服务器名访问共享（\\\\服务器名\\共享），或由 IT 把该共享设为受信任位置（需允许网络上的受信任位置）")
                out.append(Check("来自 Internet 的文件", FAIL,
                                 f"工作簿属于{name}：Excel 会阻止它的宏，消息栏显示“Microsoft 已阻止宏运行，因为此文件的来源不受信任”"
                                 + ("（组策略“阻止来自 Internet 的 Office 文件中的宏”已启用）" if block == "1" else "（Office 2203 起的默认做法）"),
                                 fix + f"；见 {GUIDE} 第 5 节"))
        else:
            out.append(Check("来自 Internet 的文件", OK, f"{ZONES.get(zone, '没有网络标记')}" + (f"（{source}）" if source else "")
                             + ("，但在受信任位置中" if zone in ("3", "4") else "")))
    return out


def asr_check(probe, python_dir: str | None) -> Check:
    name = "Defender 规则：阻止 Office 创建子进程"
    mode = None
    for root in ASR_ROOTS:
        mode = probe.reg_value(root + r"\Rules", ASR_RULE) or mode
        if mode:
            break
    if mode not in ("1", "6"):
        return Check(name, OK, ASR_MODES.get(mode or "0", f"值 {mode}") + f"（规则 {ASR_RULE}）")
    def covers(p):
        e, py = _norm(_expand(p, probe)), _norm(python_dir) if python_dir else None
        return bool(re.search(r"(^|\\)cmd\.exe$", e)) or (py is not None and (e == py or py.startswith(e + "\\")
                                                                              or e.startswith(py + "\\")))
    hit = [p for root in ASR_ROOTS for p in probe.reg_names(root + r"\ASROnlyExclusions") if covers(p)]
    what = (f"规则 {ASR_RULE} 为“{ASR_MODES[mode]}”：Excel 中 xlwings 的 DLL 启动 cmd.exe（再由它启动 pythonw.exe）会被拦截，"
            "单元格显示“Could not create Python process.”，其后的 Error message 为系统的“拒绝访问”")
    if hit:
        return Check(name, WARN, what + f"。已有排除项：{'、'.join(hit)}（是否生效无法从注册表判断）",
                     "在 Excel 中按 Ctrl+Alt+F9 重新计算一次：分数正常即排除项有效；否则请安全管理员核对排除项"
                     f"（见 {GUIDE} 第 6 节）")
    target = python_dir or r"C:\Program Files\Python311"
    return Check(name, FAIL if mode == "1" else WARN, what,
                 f"请安全管理员为该规则加排除项（Python 安装目录 {target}，见 {GUIDE} 第 6 节），或改为审核模式；"
                 "国产终端安全软件的同类防护同样要放行")


def cmd_policy_check(probe) -> Check | None:
    for key in DISABLE_CMD:
        v = probe.reg_value(key, "DisableCMD")
        if v in ("1", "2"):
            return Check("命令提示符", FAIL, f"组策略“阻止访问命令提示符”已启用（{key}\\DisableCMD = {v}）：xlwings 经 cmd.exe /K "
                         "启动 Python（xlwings.bas 第 449-454 行），函数无法启动 Python",
                         "请 IT 对使用评分工作簿的用户关闭该策略（用户配置 → 管理模板 → 系统 → 阻止访问命令提示符）")
    return None


def xlsm_association(probe) -> list[Check]:
    """WPS opening .xlsm files (the user's choice first, then the machine's). WPS registered as Excel.Application
    is doctor.office_check's business."""
    prog = probe.reg_value(r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\FileExts\.xlsm\UserChoice", "ProgId") \
        or probe.reg_value(r"HKCR\.xlsm", "")
    command = probe.reg_value(rf"HKCR\{prog}\shell\open\command", "") if prog else None
    if command and WPS.search(command):
        return [Check(".xlsm 的打开方式", WARN, f"双击 .xlsm 会用 WPS 打开（{prog}：{command.split(' /')[0]}），WPS 不能运行 PERF_ 函数",
                      "右键工作簿 → 打开方式 → 选择其他应用 → Excel，并勾选“始终使用此应用打开 .xlsm 文件”；"
                      "只用 WPS 的用户请改用 Excel 公式版工作簿（.xlsx）")]
    return []
