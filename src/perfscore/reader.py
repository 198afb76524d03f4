"""Reading filled workbooks safely and fast: python-calamine for values, after checks that bound the time and
memory a hostile file can cost (corrupt or non-zip files, encrypted files, zip bombs, XML entity bombs,
oversized sheets). Every refusal is a PerfscoreError whose message says what is wrong, in Chinese.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import PerfscoreError
from .layout import GOAL_SHEET, HEADER_FIELDS, INPUT_SHEET, SCORE_SHEET, YEAR_NAME

MAX_FILE_BYTES = 20 * 1024 * 1024        # a filled workbook is ~60 KB
MAX_UNCOMPRESSED = 64 * 1024 * 1024      # all parts together, after decompression
MAX_PART = 32 * 1024 * 1024              # one part (a sheet's XML)
MAX_RATIO = 200                          # compression ratio of one part; ordinary XML stays below ~30
MAX_ENTRIES = 2000
INPUT_HEAD = ["序号", "输入项", "单位", "数值"]
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class UnreadableWorkbook(PerfscoreError):
    pass


@dataclass
class FilledWorkbook:
    path: str
    year: int
    header: dict = field(default_factory=dict)         # 部门名称, 预算年度, 填报人, 联系电话
    inputs: dict = field(default_factory=dict)         # input name (Chinese) -> raw cell value
    stored_scores: dict = field(default_factory=dict)  # indicator name -> cached value
    stored_total: object = None
    stored_grade: object = None


def inspect_package(path, extent_sheets=()) -> None:
    """Refuse, with a reason, anything that is not a sane OOXML package. Reads the zip directory and the
    prolog of every XML part; the sheets named in ``extent_sheets`` are read whole, once, and refused when a
    cell reference reaches far beyond a perfscore sheet (see ``_FAR``)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise UnreadableWorkbook(f"无法读取文件（{exc.strerror or exc}）") from None
    if size > MAX_FILE_BYTES:
        raise UnreadableWorkbook(f"文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_FILE_BYTES // 1024 // 1024} MB）：评分工作簿通常不到 1 MB")
    if head == OLE_MAGIC:
        raise UnreadableWorkbook("文件受密码保护（已加密），或是旧版 .xls 格式：请提交未加密的 .xlsm 工作簿")
    if not zipfile.is_zipfile(path):
        raise UnreadableWorkbook("不是有效的 Excel 工作簿（不是 zip 格式）：文件可能已损坏，或是改了扩展名的其他文件")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ENTRIES:
                raise UnreadableWorkbook(f"压缩包内文件过多（{len(infos)} 个）：不是正常的工作簿")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED:
                raise UnreadableWorkbook(f"解压后过大（{total / 1024 / 1024:.0f} MB）：疑似压缩炸弹，未读取")
            for i in infos:
                if i.file_size > MAX_PART:
                    raise UnreadableWorkbook(f"工作表过大（{i.filename} 解压后 {i.file_size / 1024 / 1024:.0f} MB）：未读取")
                if i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 1024 * 1024:
                    raise UnreadableWorkbook(f"{i.filename} 的压缩比异常（{i.file_size // i.compress_size}:1）：疑似压缩炸弹，未读取")
                if i.flag_bits & 0x1:
                    raise UnreadableWorkbook("压缩包已加密：请提交未加密的工作簿")
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise UnreadableWorkbook("zip 文件中没有 xl/workbook.xml：不是 Excel 工作簿")
            whole = {}
            if extent_sheets:
                from .cache import sheet_parts
                _check_prolog(z, z.getinfo("xl/workbook.xml"))
                parts = sheet_parts(z)
                whole = {parts[t]: t for t in extent_sheets if t in parts}
            for i in infos:
                if i.filename in whole:
                    data = z.read(i)
                    _check_prolog_bytes(i.filename, data)
                    m = _FAR.search(data)
                    if m:
                        ref = m.group(0).split(b'"')[1].decode()
                        raise UnreadableWorkbook(f"“{whole[i.filename]}”表的范围异常（到 {ref}…）："
                                                 f"不是 perfscore 评分工作簿的正常内容，未读取")
                elif i.filename.endswith((".xml", ".rels")):
                    _check_prolog(z, i)
    except zipfile.BadZipFile as exc:
        raise UnreadableWorkbook(f"文件已损坏（zip 结构错误：{exc}）") from None
    except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise UnreadableWorkbook(f"文件已损坏（{type(exc).__name__}）") from None


_ROOT = re.compile(rb"<[A-Za-z_]")


def _check_prolog(z, info, limit=1024 * 1024):
    """No DTD or entity declaration before the root element (where XML allows them), however much padding
    (comments, whitespace) comes first."""
    seen = b""
    with z.open(info) as f:
        while len(seen) < limit:
            chunk = f.read(65536)
            if not chunk:
                break
            seen += chunk
            if _ROOT.search(seen):
                break
    _check_prolog_bytes(info.filename, seen, limit)


def _check_prolog_bytes(name, data, limit=1024 * 1024):
    root = _ROOT.search(data, 0, limit)
    if root is None and len(data) >= limit:
        raise UnreadableWorkbook(f"{name} 开头 1 MB 内没有 XML 根元素：不是正常的工作簿，未读取")
    if _DTD.search(data, 0, root.start() if root else len(data)):
        raise UnreadableWorkbook(f"{name} 含有 DTD/实体声明（可能是 XML 实体炸弹）：正常的工作簿不会有，未读取")


# a reference beyond column BL (64) or row 9999: three letters, two letters from BM on, or five or more digits
_FAR = re.compile(rb'<(?:c r|dimension ref)="(?:[A-Z]+[0-9]+:)?(?:[A-Z]{3}|[C-Z][A-Z]|B[M-Z]|[A-Z]{1,2}[0-9]{5})')


def _v(x):
    return None if x == "" else x


def read_filled(path) -> FilledWorkbook:
    """Inputs, header fields, rules year and the stored (cached) scores of a perfscore workbook."""
    from python_calamine import CalamineWorkbook
    inspect_package(path, extent_sheets=(INPUT_SHEET, SCORE_SHEET, GOAL_SHEET))
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        if INPUT_SHEET not in names or SCORE_SHEET not in names:
            raise UnreadableWorkbook(f"不是 perfscore 评分工作簿（缺少“{INPUT_SHEET}”或“{SCORE_SHEET}”工作表）：请使用 perfscore template 生成的工作簿")
        rows = wb.get_sheet_by_name(INPUT_SHEET).to_python()
        score_rows = wb.get_sheet_by_name(SCORE_SHEET).to_python()
    except PerfscoreError:
        raise
    except Exception as exc:  # calamine's own parse errors
        raise UnreadableWorkbook(f"无法读取工作簿内容（{type(exc).__name__}: {str(exc)[:120]}）") from None
    labels = {str(r[0]).strip(): r for r in rows[:12] if r and isinstance(r[0], str)}
    if YEAR_NAME not in labels or any(label not in labels for label, _ in HEADER_FIELDS):
        raise UnreadableWorkbook("“基础数据”表的版式与 perfscore 工作簿不同（找不到部门信息或规则年度）：请使用 perfscore template 生成的工作簿")
    year = _v(labels[YEAR_NAME][2])
    if not isinstance(year, float) or not year.is_integer():
        raise UnreadableWorkbook(f"规则年度无效（{year!r}）：请勿修改“基础数据”表中的规则年度")
    out = FilledWorkbook(str(path), int(year), {label: _v(labels[label][2]) for label, _ in HEADER_FIELDS})
    try:
        start = next(k for k, r in enumerate(rows) if [str(x) for x in r[:4]] == INPUT_HEAD) + 1
    except StopIteration:
        raise UnreadableWorkbook("“基础数据”表中找不到“序号/输入项/单位/数值”表头：版式与 perfscore 工作簿不同") from None
    for r in rows[start:]:
        if len(r) >= 4 and isinstance(r[1], str) and r[1].strip():
            out.inputs[r[1].strip()] = _v(r[3])
    for r in score_rows:
        if len(r) >= 7 and isinstance(r[2], str) and r[2].strip() and r[2] != "三级指标":
            out.stored_scores[r[2].strip()] = _v(r[6])
        elif r and r[0] == "综合评分":
            out.stored_total = _v(r[6])
        elif r and r[0] == "评分等级":
            out.stored_grade = _v(r[6])
    return out


def raw_inputs(filled: FilledWorkbook, system) -> dict:
    """Input id -> raw value, by the names the rules year's system declares. Unknown names are a layout error."""
    by_name = {s.name: s.id for s in system.inputs.values()}
    unknown = [n for n in filled.inputs if n not in by_name]
    if unknown:
        raise UnreadableWorkbook(f"“基础数据”表中有指标体系 {system.year} 年版没有的输入项：{'、'.join(unknown[:5])}")
    return {by_name[n]: v for n, v in filled.inputs.items()}




def read_goal_table(path):
    """(tasks, expected, actual, rows) from a perfscore 自评表, by its layout; ([], "", "", []) if absent."""
    from python_calamine import CalamineWorkbook

    from .case import GoalRow, Task
    wb = CalamineWorkbook.from_path(str(path))
    if GOAL_SHEET not in wb.sheet_names:
        return [], "", "", []
    rows = [[_v(x) for x in r] + [None] * 7 for r in wb.get_sheet_by_name(GOAL_SHEET).to_python()]
    tasks, rows_out, expected, actual = [], [], "", ""
    k = next((i for i, r in enumerate(rows) if r[1] == "任务名称"), None)
    if k is not None:
        i = k + 2
        while i < len(rows) and rows[i][0] != "金额合计":
            r = rows[i]
            if r[1] or r[2] or any(isinstance(x, float) for x in r[3:7]):
                tasks.append(Task(str(r[1] or ""), str(r[2] or ""), *(float(x) if isinstance(x, float) else 0.0 for x in r[3:7])))
            i += 1
    g = next((i for i, r in enumerate(rows) if r[1] == "预期目标"), None)
    if g is not None and g + 1 < len(rows):
        expected, actual = str(rows[g + 1][1] or ""), str(rows[g + 1][4] or "")
    h = next((i for i, r in enumerate(rows) if r[1] == "一级指标" and r[2] == "二级指标"), None)
    if h is not None:
        l1 = l2 = None
        for r in rows[h + 1:]:
            l1, l2 = r[1] or l1, r[2] or l2
            if r[3] or r[4] or r[5]:
                rows_out.append(GoalRow(str(l1), str(l2), str(r[3] or ""), _text(r[4]), _text(r[5])))
    return tasks, expected, actual, rows_out


def _text(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def case_from_filled(filled: FilledWorkbook, system):
    """A Case holding everything the department filled in, to rebuild, freeze or carry forward the workbook."""
    from .case import Case, CaseInput
    h = filled.header
    year = h.get("预算年度")
    case = Case(filled.path, "自评工作簿", str(h.get("部门名称") or ""),
                int(year) if isinstance(year, float) and year.is_integer() else system.year,
                str(h.get("填报人") or ""), _text(h.get("联系电话")))
    for iid, v in raw_inputs(filled, system).items():
        if v is not None:
            case.inputs[iid] = CaseInput(v)
    case.tasks, case.goals_expected, case.goals_actual, case.goal_rows = read_goal_table(filled.path)
    return case
