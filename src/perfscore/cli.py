"""The `perfscore` command: a thin shell over the library. Every command has Chinese help and an example.

退出码（脚本可据此判断）：
  0  成功
  1  有指标因输入数据不可用而无法计分（已列出原因）
  2  命令行用法、文件或年度有误（已说明如何改正）
  3  计分完成，但交叉核对发现报告数字与计算结果不一致（仅 score 命令）
 70  程序内部错误（请报告开发人员）
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys

from perfscore import __version__

EXIT_OK, EXIT_UNSCORABLE, EXIT_USAGE, EXIT_FINDINGS, EXIT_INTERNAL = 0, 1, 2, 3, 70

_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "the following arguments are required: %s": "缺少必需的参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项 %(value)r（可选：%(choices)s）",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "%(prog)s: error: %(message)s\n": "%(prog)s：错误：%(message)s\n",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值：%(value)r",
    "expected one argument": "需要一个值",
}
argparse._ = lambda s: _ZH.get(s, s)  # argparse looks its words up through this module-level gettext

COMMANDS = {}


def command(name, help, example):
    """Register a subcommand; ``example`` is printed in its help (a test checks every command has one)."""
    def deco(fn):
        COMMANDS[name] = (fn, help, example)
        return fn
    return deco


WORKBOOK_SYSTEM_HELP = "工作簿所用的指标体系文件（本地区自行维护、未放入 PERFSCORE_SYSTEMS 时）"


def _system_args(p, year_help="指标体系年度（默认：案例文件中的年度；无案例时为最新年度）"):
    p.add_argument("--year", type=int, metavar="年度", help=year_help)
    p.add_argument("--region", metavar="地区", default=None,
                   help="指标体系的地区（perfscore rules list 列出现有地区；默认：案例文件中的地区，否则 shenzhen）")
    p.add_argument("--system", metavar="路径", help="使用包外的指标体系文件（TOML），例如本地区自行维护的评分表")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfscore", description="部门整体支出绩效自评评分：按指标体系计算每项得分、总分和等级，并核对报告数字。",
        epilog=__doc__.split("\n", 2)[2].strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"perfscore {__version__}", help="显示版本")
    sub = parser.add_subparsers(dest="command", metavar="命令")
    sub.required = True
    for name, (fn, help, example) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help, epilog=f"示例：\n  {example}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        fn.configure(p)
        p.set_defaults(func=fn)
    return parser


# ------------------------------------------------------------------------------------------ commands
def _load_for(args, case=None):
    from perfscore.engine.system import load_system  # lazy: start-up
    from perfscore.engine.system import DEFAULT_REGION  # lazy: start-up
    year = args.year if args.year is not None else (case.year if case else None)
    region = _region_arg(args) or getattr(case, "region", None) or DEFAULT_REGION
    return load_system(year, path=args.system, region=region)


def _region_arg(args):
    """--region as given: None when absent; anything given (even empty) must be an installed region's key."""
    if args.region is None:
        return None
    from perfscore.engine.system import require_region  # lazy: start-up
    return require_region(args.region)


def _score_and_print(case, system, as_json, out):
    from perfscore.engine.crosscheck import cross_check  # lazy: start-up
    from perfscore.engine.scoring import score_case  # lazy: start-up
    from perfscore.report.terminal import assumed_block, findings_block, score_table  # lazy: start-up
    case.check_against(system)
    result = score_case(system, case.raw_values())
    findings = cross_check(case, result)
    if as_json:
        d = result.to_dict()
        d["case"] = {"path": case.path, "department": case.department, "year": case.year,
                     "assumed": {k: {"value": v.value, "why": v.assumed} for k, v in case.assumed().items()}}
        d["findings"] = [dataclasses.asdict(f) for f in findings]
        out.write(json.dumps(d, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(f"{case.department}　{case.title}（{case.year} 年度）\n")
        out.write(score_table(result) + "\n")
        out.write(assumed_block(case) + "\n")
        out.write(findings_block(findings) + "\n")
    return result, findings


def cmd_score(args, out):
    from perfscore.engine.case import load_case  # lazy: start-up
    case = load_case(args.case)
    system = _load_for(args, case)
    result, findings = _score_and_print(case, system, args.json, out)
    if result.errors:
        return EXIT_UNSCORABLE
    return EXIT_FINDINGS if findings else EXIT_OK


cmd_score.configure = lambda p: (p.add_argument("case", metavar="案例文件", help="案例文件（TOML），格式见 docs/case-file.md"),
                                 _system_args(p), p.add_argument("--json", action="store_true", help="以 JSON 输出全部结果"))
command("score", "为一个案例计分：列出每项指标的分值、得分和理由，小计、总分、等级，以及交叉核对结果",
        "perfscore score 我的单位2020.toml --year 2020")(cmd_score)


def cmd_inputs(args, out):
    from perfscore.report.terminal import inputs_table  # lazy: start-up
    system = _load_for(args)
    if args.json:
        out.write(json.dumps([{"id": s.id, "name": s.name, "kind": s.kind, "unit": s.unit, "min": s.min,
                               "max": None if s.max == float("inf") else s.max, "options": list(s.options),
                               "default": s.default, "help": s.help} for s in system.inputs.values()],
                             ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(inputs_table(system) + "\n")
    return EXIT_OK


cmd_inputs.configure = lambda p: (_system_args(p, "指标体系年度（默认：最新年度）"),
                                  p.add_argument("--json", action="store_true", help="以 JSON 输出"))
command("inputs", "列出一个年度的指标体系需要填写的全部输入项（名称、单位、有效范围、用于哪项指标）",
        "perfscore inputs --year 2020")(cmd_inputs)


DEMO_DIR = "workbook"


def demo_outputs():
    """(file name, system, case) of the workbooks `perfscore demo` writes under workbook/."""
    from perfscore.engine.case import REFERENCE_CASE, load_case  # lazy: start-up
    from perfscore.engine.system import available_years, load_system  # lazy: start-up
    case = load_case(REFERENCE_CASE)
    newest = load_system(available_years()[-1])
    return [(f"评分表模板_{newest.year}.xlsm", newest, None),
            (f"参考案例_{case.department}_{case.year}.xlsm", load_system(case.year), case),
            (f"评分表模板_{newest.year}{NATIVE_TAG}.xlsx", newest, None),
            (f"参考案例_{case.department}_{case.year}{NATIVE_TAG}.xlsx", load_system(case.year), case)]


NATIVE_TAG = "_公式版"


def demo_engine(name) -> str:
    """The kind of workbook a demo output is: "excel" (native formulas, .xlsx) or "python" (.xlsm)."""
    return "excel" if str(name).endswith(".xlsx") else "python"


def demo_report_name(case) -> str:
    """The reference draft `perfscore demo` writes beside the workbooks."""
    return f"参考案例_{case.department}_{case.year}_自评报告.docx"


def _demo_write(target, write, force, out, suffix):
    """Write one demo output; an existing file is replaced only with --force, else compared and left alone."""
    import os
    import tempfile
    from pathlib import Path

    from perfscore.receiving.compare import diff_workbooks  # lazy: start-up
    if target.exists() and not force:
        fd, tmp = tempfile.mkstemp(suffix=suffix, dir=target.parent)
        os.close(fd)
        os.unlink(tmp)
        try:
            write(tmp, False)
            same = not diff_workbooks(target, tmp)
        finally:
            Path(tmp).unlink(missing_ok=True)
        out.write(f"  {target}：{'已是最新，未改动' if same else '已存在且与新生成的不同，未覆盖（确需覆盖请加 --force）'}\n")
        return
    write(target, force)
    out.write(f"  已写入 {target}\n")


def _demo_folder(output):
    """demo's -o: a folder (made if missing) that can be written to; a file, or a file's name, is refused."""
    from pathlib import Path

    from perfscore.errors import PerfscoreError  # lazy: start-up
    from perfscore.files import os_error_text, writable_folder  # lazy: start-up
    folder = Path(output)
    hint = f"demo 的 -o 是写入工作簿和报告草稿的目录（不存在时新建），例如 -o {folder.parent / 'perfscore示例'}"
    if folder.exists() and not folder.is_dir():
        raise PerfscoreError(f"{folder} 是一个文件，不是目录：{hint}")
    if not folder.exists() and folder.suffix.lower() in (".xlsx", ".xlsm", ".docx", ".pdf"):
        raise PerfscoreError(f"{folder} 像是文件名：{hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        exc.filename = str(folder)
        raise PerfscoreError(f"无法创建目录 {folder}：{os_error_text(exc)}") from None
    writable_folder(folder)
    return folder


def cmd_demo(args, out):
    from pathlib import Path

    from perfscore.engine.case import REFERENCE_CASE, load_case  # lazy: start-up
    from perfscore.report.docx_report import write_report  # lazy: start-up
    from perfscore.engine.system import load_system  # lazy: start-up
    from perfscore.excel.workbook import build_workbook, write_workbook  # lazy: start-up
    folder = _demo_folder(args.output)  # before anything is printed: a wrong -o is said at once
    case = load_case(REFERENCE_CASE)
    out.write("参考案例：按 2020 年深圳市评分表重新计算一份真实自评报告，并核对报告自己写出的数字。\n\n")
    _score_and_print(case, load_system(case.year), False, out)
    out.write("\n工作簿：\n")
    for name, system, c in demo_outputs():
        built = build_workbook(system, c, engine=demo_engine(name))
        _demo_write(folder / name, lambda p, force, built=built: write_workbook(built, p, force=force), args.force, out,
                    Path(name).suffix)
    out.write("\n报告草稿（perfscore report 生成）：\n")
    _demo_write(folder / demo_report_name(case), lambda p, force: write_report(REFERENCE_CASE, p, force=force),
                args.force, out, ".docx")
    return EXIT_OK


cmd_demo.configure = lambda p: (
    p.add_argument("-o", "--output", metavar="目录", default=DEMO_DIR, help="工作簿写入的目录（默认 workbook）"),
    p.add_argument("--force", action="store_true", help="覆盖目录中已有的同名工作簿和报告草稿"))
command("demo", "为参考案例（深圳市科技开发交流中心 2020 年度自评报告）计分、列出交叉核对结果，并在 workbook/ 下生成空白模板、已填好的参考工作簿"
        "（Python 函数版 .xlsm 和 Excel 公式版 .xlsx 各一套）和自评报告草稿（.docx）",
        "perfscore demo")(cmd_demo)


def cmd_validate(args, out):
    from perfscore.engine.system import load_system_file  # lazy: start-up
    s = load_system_file(args.path)
    out.write(f"指标体系文件有效：{s.name}，{s.year} 年起适用，{len(s.indicators)} 项三级指标，"
              f"{len(s.inputs)} 个输入项，总分 {s.total:g}。\n")
    return EXIT_OK


cmd_validate.configure = lambda p: p.add_argument("path", metavar="指标体系文件", help="要检查的指标体系文件（TOML）")
command("validate", "检查一个指标体系文件：未知的键、类型、分值合计、档次区间的缺口与重叠、未声明的输入项",
        "perfscore validate 本地区2021.toml")(cmd_validate)


def _workbook_out(args, system, default_name):
    from pathlib import Path
    return Path(args.output) if args.output else Path.cwd() / default_name


def cmd_template(args, out):
    from perfscore.engine.case import load_case  # lazy: start-up
    from perfscore.engine.system import load_system, require_exact_year  # lazy: start-up
    from perfscore.excel.workbook import build_workbook, write_workbook  # lazy: start-up
    case = load_case(args.case) if args.case else None
    if args.system:
        system = load_system(args.year, path=args.system)
    else:
        if args.year is None:
            raise_usage("请用 --year 指定规则年度，例如 --year 2020")
        system = require_exact_year(args.year, region=_region_arg(args) or getattr(case, "region", None) or "shenzhen")
    native = args.engine == "excel"
    path = _workbook_out(args, system, f"部门整体支出绩效评分表_{system.year}{NATIVE_TAG + '.xlsx' if native else '.xlsm'}")
    write_workbook(build_workbook(system, case, password=args.password, engine=args.engine), path, force=args.force)
    kind = "Excel 公式版，不含宏，WPS/LibreOffice/Excel 均可实时计分" if native else "Python 函数版，含宏"
    out.write(f"已生成 {path}（{system.name} {system.year} 年版，{kind}"
              f"{'，已填入 ' + case.department if case else '，空白模板'}）\n")
    if args.system and not native:
        out.write(f"注意：工作簿中的函数按规则年度 {system.year} 查找指标体系。请把 {args.system} 以 <地区>/{system.year}.toml "
                  f"的结构放到各电脑环境变量 PERFSCORE_SYSTEMS 指向的目录（见 docs/windows-install.md）。\n")
    return EXIT_OK


def raise_usage(msg):
    from perfscore.errors import PerfscoreError  # lazy: start-up
    raise PerfscoreError(msg)


cmd_template.configure = lambda p: (
    p.add_argument("--year", type=int, metavar="年度", help="规则年度（必须有该年度的指标体系文件）"),
    p.add_argument("--region", metavar="地区", help="指标体系的地区（默认 shenzhen；perfscore rules list 列出现有地区）"),
    p.add_argument("--system", metavar="路径", help="使用包外的指标体系文件（TOML）"),
    p.add_argument("--engine", choices=["python", "excel"], default="python",
                   help="python（默认）：PERF_ 函数版 .xlsm，需要 Python 和 xlwings；excel：Excel 公式版 .xlsx，"
                        "只用表格软件自带的函数，WPS、LibreOffice、Mac 和不能装 Python 的电脑也能实时计分"),
    p.add_argument("-o", "--output", metavar="路径",
                   help="输出文件（python 版为 .xlsm，excel 版为 .xlsx），默认 部门整体支出绩效评分表_<年度>.xlsm 或 _公式版.xlsx"),
    p.add_argument("--case", metavar="案例文件", help="把案例文件中的数据填入工作簿"),
    p.add_argument("--password", metavar="密码", help="工作表保护密码（默认不设密码，只防误改）"),
    p.add_argument("--force", action="store_true", help="允许覆盖已存在的文件"))
command("template", "按某年度的指标体系生成评分工作簿：基础数据、评分表、自评表、扣分说明，分数实时计算。默认为含宏的 Python 函数版"
        "（.xlsm）；--engine excel 生成不含宏的 Excel 公式版（.xlsx）",
        "perfscore template --year 2020 -o 评分表2020.xlsm；perfscore template --year 2020 --engine excel -o 评分表2020_公式版.xlsx")(cmd_template)


def cmd_macros(args, out):
    from pathlib import Path

    from perfscore.engine.system import load_system_file  # lazy: start-up
    from perfscore.excel.xlwings_bridge import generate_udf_module  # lazy: start-up
    target = Path(args.output) / "xlwings_udfs.bas"
    text = generate_udf_module(systems=[load_system_file(args.system)] if args.system else None)
    if target.exists() and not args.force:
        same = target.read_text("utf-8") == text
        out.write(f"{target} {'已是最新' if same else '已存在且内容不同：加 --force 覆盖'}\n")
        return EXIT_OK if same else EXIT_USAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(target, text)
    out.write(f"已写入 {target}（{text.count(chr(10))} 行，由 xlwings 的包装生成器生成）\n")
    return EXIT_OK


def _atomic_write_text(path, text):
    from perfscore.files import atomic_output  # lazy: start-up
    with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)


cmd_macros.configure = lambda p: (
    p.add_argument("-o", "--output", metavar="目录", default="macros", help="输出目录（默认 macros）"),
    p.add_argument("--system", metavar="路径", help="为这个指标体系文件的函数生成（默认：包内深圳各年度的指标体系）"),
    p.add_argument("--force", action="store_true", help="允许覆盖已存在的文件"))
command("macros", "重新生成 VBA 模块 xlwings_udfs.bas（xlwings 的函数包装，指标体系变化后运行）",
        "perfscore macros -o macros --force")(cmd_macros)


def cmd_doctor(args, out):
    from perfscore.deploy.doctor import report, run_checks  # lazy: start-up
    try:
        text, ok = report(run_checks(args.workbook), args.workbook)
        out.write(text + "\n")
        if args.log:
            import datetime
            try:
                with open(args.log, "a", encoding="utf-8") as f:
                    f.write(f"[doctor] {datetime.datetime.now().isoformat(timespec='seconds')}\n{text}\n"
                            f"[doctor] exit {EXIT_OK if ok else EXIT_UNSCORABLE}\n")
            except OSError as exc:
                out.write(f"注意：无法写入日志 {args.log}（{exc.strerror or exc}）\n")
        return EXIT_OK if ok else EXIT_UNSCORABLE
    finally:
        if args.pause:  # started from the Start-menu entry: keep the window open
            try:
                input("按回车键关闭此窗口……")
            except (EOFError, OSError):
                pass


cmd_doctor.configure = lambda p: (
    p.add_argument("workbook", nargs="?", metavar="工作簿",
                   help="要检查的评分工作簿（.xlsm）：另外核对它的 xlwings.conf 表、规则年度、地区、函数包装，"
                        "以及网络标记和它所在的文件夹是否为受信任位置"),
    p.add_argument("--log", metavar="文件", help="把检查结果另外追加到该文件（UTF-8；install.bat 用它写安装日志）"),
    p.add_argument("--pause", action="store_true", help="结束前等待按回车（“开始”菜单中的“perfscore 环境检查”使用）"))
command("doctor", "检查 Excel 实际会启动的 Python：从哪里找到（工作簿的 xlwings.conf 表、个人配置文件、PATH，按 Excel 的位数展开环境变量）、"
        "是否 64 位、是否为所有用户安装、是否装有 perfscore、xlwings 及对应 Excel 位数的 DLL、pywin32；宏设置、受信任位置、"
        "网络标记、Defender 规则、WPS；并按 Excel 的方式启动一次 Python。给出工作簿时核对其规则年度、地区和函数包装。"
        "请以使用 Excel 的用户身份运行",
        "perfscore doctor 某单位2021.xlsm（Windows 上：py -V:3.11 -m perfscore doctor 某单位2021.xlsm）")(cmd_doctor)


def cmd_bundle(args, out):
    from perfscore.deploy.bundle import build_bundle  # lazy: start-up
    b = build_bundle(args.output, args.python, force=args.force, log=lambda m: out.write(m + "\n"))
    out.write(f"已生成离线安装包 {b.path}（perfscore {b.version}，{len(b.wheels)} 个 wheel，共 {b.size / 1024 / 1024:.1f} MB）。\n"
              f"把整个目录拷到目标电脑，先为所有用户安装 64 位 Python {args.python}，再以管理员身份运行 install.bat"
              f"（静默安装：install.bat /quiet，退出码见目录中的“说明.txt”）。\n")
    return EXIT_OK


cmd_bundle.configure = lambda p: (
    p.add_argument("-o", "--output", required=True, metavar="目录", help="安装包写入的目录（不存在则新建；已有内容时需加 --force）"),
    p.add_argument("--python", default="3.11", metavar="版本", help="目标电脑上的 Python 版本（默认 3.11；必须是 64 位）"),
    p.add_argument("--force", action="store_true", help="用新的安装包替换已有的非空目录"))
command("bundle", "在任何一台能上网的电脑上生成给 Windows 内网电脑用的离线安装包：perfscore 与全部依赖的 64 位 wheel（含 pywin32、"
        "带 32/64 位 Excel 两个 DLL 的 xlwings）和 install.bat（为所有用户安装、不联网，装完运行 doctor）",
        "perfscore bundle -o perfscore-离线安装包 --python 3.11")(cmd_bundle)


def cmd_check(args, out):
    from perfscore.receiving.check import check_workbook, report_text  # lazy: start-up
    rep = check_workbook(args.workbook, args.system)
    out.write(report_text(rep) + "\n")
    return EXIT_OK if rep.passed else EXIT_UNSCORABLE


cmd_check.configure = lambda p: (
    p.add_argument("workbook", metavar="工作簿", help="填好的评分工作簿（Python 版 .xlsm 或 Excel 公式版 .xlsx）"),
    p.add_argument("--system", metavar="路径", help=WORKBOOK_SYSTEM_HELP))
command("check", "检查一份填好的工作簿：说明是哪一种工作簿，按其规则年度重新计分，与文件中保存的分数和规则生成的公式比对，并检查输入表是否被改动（隐藏行列、重复项、公式）和数据是否合理（退出码 0 通过，1 未通过，2 无法读取）",
        "perfscore check 某单位2020.xlsm")(cmd_check)


def cmd_freeze(args, out):
    from perfscore.receiving.check import FreezeRefused, freeze, report_text  # lazy: start-up
    notes = []
    try:
        written = freeze(args.workbook, args.output, force=args.force, pdf=args.pdf, notes=notes, system_path=args.system)
    except FreezeRefused as exc:
        out.write(report_text(exc.report) + "\n")
        out.write("工作簿未通过检查，未生成提交版：请按上面列出的问题改正后重新检查。确需生成（例如留档），加 --force："
                  "提交版每页会印上红色的“未通过检查”，并附检查发现\n")
        return EXIT_UNSCORABLE
    for n in notes:
        out.write(f"{n}\n")
    for p in written:
        out.write(f"已写入 {p}\n")
    return EXIT_OK


cmd_freeze.configure = lambda p: (
    p.add_argument("workbook", metavar="工作簿", help="填好的评分工作簿（Python 版 .xlsm 或 Excel 公式版 .xlsx）"),
    p.add_argument("-o", "--output", metavar="路径", required=True, help="提交版（.xlsx，只有数值，不含宏）"),
    p.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 生成 PDF"),
    p.add_argument("--system", metavar="路径", help=WORKBOOK_SYSTEM_HELP),
    p.add_argument("--force", action="store_true",
                   help="允许覆盖已存在的文件；工作簿未通过检查时也生成（每页印红色“未通过检查”并附检查发现）"))
command("freeze", "生成提交版：分数由引擎重新计算后写成数值，去掉宏和 xlwings.conf，格式与打印设置不变；--pdf 另出 PDF",
        "perfscore freeze 某单位2020.xlsm -o 提交版.xlsx --pdf")(cmd_freeze)


def cmd_collect(args, out):
    from perfscore.receiving.collect import run_collect  # lazy: start-up
    write_memo = None
    if getattr(args, "memo", None):
        from perfscore.report.memo import write_memo  # lazy: start-up
    return run_collect(args, out, write_memo=write_memo)


def _collect_args(p):
    p.add_argument("sources", nargs="+", metavar="目录或通配符", help="工作簿所在目录，或通配符如 '收到的/*.xlsm'")
    p.add_argument("-o", "--output", metavar="路径", required=True, help="汇总工作簿（.xlsx）")
    p.add_argument("--csv", metavar="路径", help="同时输出 CSV（UTF-8 带 BOM，可直接用 Excel 打开）")
    p.add_argument("--jobs", type=int, metavar="N", help="并行进程数（默认为 CPU 核数）")
    p.add_argument("--compare", metavar="上次汇总.xlsx",
                   help="与上次 collect 生成的汇总表对比（按部门名称匹配），另加“与上次对比”表")
    p.add_argument("--drop-threshold", type=float, metavar="分", default=None,
                   help="与 --compare 同用：综合评分或某项指标下降这么多分或更多的标为红色（默认 0.5）")
    p.add_argument("--roster", metavar="名单.xlsx|csv",
                   help="应提交的单位名单（表头“单位名称”，可另加“主管部门”“单位代码”）：另加“名单核对”表，列出未提交、"
                        "重复提交和名单外的单位（附名单中最接近的名称），主管部门作为一列可筛选")
    p.add_argument("--memo", metavar="汇总说明.docx",
                   help="同时起草汇总说明（GB/T 9704 公文格式 .docx）：收到、通过、未通过、无法读取、未提交的数量，"
                        "等级分布图，失分最多的指标和单位及理由，与上次的变化，未通过的文件及原因；只有审核人能写的段落标出【待填写】")
    p.add_argument("--pdf", action="store_true", help="与 --memo 同用：另出汇总说明的 PDF（需要 LibreOffice）")
    p.add_argument("--system", action="append", metavar="路径",
                   help="包外的指标体系文件（可多次给出）：规则地区与文件所在文件夹同名、规则年度相同的工作簿按它计分，"
                        "其余按本机安装的指标体系")
    p.add_argument("--force", action="store_true", help="允许覆盖已存在的输出文件")


cmd_collect.configure = _collect_args
command("collect", "汇总大量填好的工作簿：逐一重新计分和检查，输出每个单位一行的汇总表、排名、各指标平均得分率、等级分布图和“异常”表",
        "perfscore collect 收到的工作簿/ -o 汇总.xlsx --csv 汇总.csv")(cmd_collect)


def cmd_rules(args, out):
    from perfscore.receiving.annual import diff_systems  # lazy: start-up
    from perfscore.engine.system import available_regions, available_years, load_system  # lazy: start-up
    if args.action == "list":
        out.write("现有指标体系（地区：年度，每个年度的文件适用到该地区下一个年度的文件为止）：\n")
        for region in available_regions():
            years = available_years(region)
            names = {load_system(y, region=region).region for y in years}
            out.write(f"  {region}（{'、'.join(sorted(names))}）：{'、'.join(map(str, years))}\n")
        return EXIT_OK
    if len(args.years) != 2:
        raise_usage("rules diff 需要两个年度（或两个 .toml 文件），例如 perfscore rules diff 2020 2021")
    changes = diff_systems(*args.years)
    out.write(f"{args.years[0]} → {args.years[1]}：{'没有变化' if not changes else f'{len(changes)} 处变化'}\n")
    for c in changes:
        out.write(f"  {c}\n")
    return EXIT_OK


cmd_rules.configure = lambda p: (
    p.add_argument("action", choices=["diff", "list"], help="diff：比较两个年度；list：列出现有年度"),
    p.add_argument("years", nargs="*", metavar="年度或文件", help="两个年度（如 2020 2021）或两个指标体系文件"))
command("rules", "查看指标体系：list 列出现有年度；diff 列出两个年度之间新增、删除的指标以及分值、阈值、文字的变化",
        "perfscore rules diff 2020 2021")(cmd_rules)


def cmd_carry_forward(args, out):
    from perfscore.receiving.annual import carry_forward  # lazy: start-up
    carried, missing = carry_forward(args.last, args.year, args.output, system_path=args.system,
                                     old_system_path=args.old_system, force=args.force)
    out.write(f"已生成 {args.output}：带入部门名称、填报人、联系电话"
              f"{'及 ' + '、'.join(carried) if carried else ''}；本年度数据留空待填。\n")
    if missing:
        out.write("未能带入（上年工作簿中为空或没有对应项，请在新工作簿中填写）：" + "、".join(missing) + "\n")
    return EXIT_OK


cmd_carry_forward.configure = lambda p: (
    p.add_argument("last", metavar="上年工作簿", help="上一年度填好的工作簿（.xlsm）"),
    p.add_argument("--year", type=int, required=True, metavar="年度", help="新年度（须有该年度的指标体系）"),
    p.add_argument("--system", metavar="路径", help="新年度使用包外的指标体系文件"),
    p.add_argument("--old-system", metavar="路径", help="上年工作簿所用的指标体系文件（未放入 PERFSCORE_SYSTEMS 时）"),
    p.add_argument("-o", "--output", required=True, metavar="路径", help="新年度工作簿（.xlsm）"),
    p.add_argument("--force", action="store_true", help="允许覆盖已存在的文件"))
command("carry-forward", "生成新年度工作簿，并从上年工作簿带入部门名称、联系人、编制数等固定信息，本年数据留空",
        "perfscore carry-forward 某单位2020.xlsm --year 2021 -o 某单位2021.xlsm")(cmd_carry_forward)


def cmd_report(args, out):
    from perfscore.report.docx_report import Unscorable, write_report  # lazy: start-up
    try:
        written = write_report(args.source, args.output, force=args.force, pdf=args.pdf, outline_path=args.outline,
                               year=args.year, system_path=args.system, region=args.region,
                               on_note=lambda t: out.write(f"注意：{t}\n"))
    except Unscorable as exc:
        sys.stderr.write(f"perfscore：{exc}\n")
        return EXIT_UNSCORABLE
    for p in written:
        out.write(f"已写入 {p}\n")
    return EXIT_OK


cmd_report.configure = lambda p: (
    p.add_argument("source", metavar="来源", help="案例文件（.toml）或填好的评分工作簿（.xlsm/.xlsx）"),
    p.add_argument("-o", "--output", metavar="路径", required=True, help="报告草稿（.docx）"),
    p.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 生成 PDF（与 .docx 同名）"),
    p.add_argument("--outline", metavar="路径", help="报告提纲文件（默认：指标体系文件旁的 <年度>.report.toml；没有则用通用提纲）"),
    _system_args(p),
    p.add_argument("--force", action="store_true", help="允许覆盖已存在的文件"))
command("report", "起草部门整体支出绩效自评报告（Word，党政机关公文格式）：每个得分、得分率、比率都由引擎按来源重新计算，"
        "只有本部门才能写的段落照录来源或留出“待填写”",
        "perfscore report 某单位2020.xlsm -o 自评报告.docx --pdf")(cmd_report)


# ------------------------------------------------------------------------------------------ entry point
# control characters (except tab and newline) and bidirectional overrides from inputs would reorder or hide
# what a terminal shows (U+202E makes “1.95” read “59.1”); they are printed as visible \uXXXX escapes
# (also valid inside JSON strings)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")


def safe_text(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


class SafeStream:
    """A text stream that writes ``safe_text`` of everything."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(safe_text(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main(argv=None, out=None) -> int:
    from perfscore.errors import PerfscoreError  # lazy: start-up
    from perfscore.files import os_error_text  # lazy: start-up
    out = SafeStream(out or sys.stdout)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage or help
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.func(args, out)
    except PerfscoreError as exc:
        sys.stderr.write(safe_text(f"perfscore：{exc}\n"))
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("perfscore：已中断\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a file the user named cannot be read or written: their situation, not a defect
        sys.stderr.write(safe_text(f"perfscore：{os_error_text(exc)}\n"))
        return EXIT_USAGE
    except RecursionError:
        sys.stderr.write("perfscore：输入文件的结构嵌套过深，无法处理：请检查文件内容\n")
        return EXIT_USAGE
    except Exception as exc:  # a bug: say so plainly, without a traceback unless asked for
        if os.environ.get("PERFSCORE_DEBUG"):
            raise
        sys.stderr.write(safe_text(f"perfscore：内部错误（{type(exc).__name__}: {exc}）。这是程序缺陷，请将命令和输入文件发给开发人员；"
                         f"设置环境变量 PERFSCORE_DEBUG=1 可查看详细信息。\n"))
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
