"""Reading filled workbooks safely and fast: python-calamine for values, after checks that bound the time and
memory a hostile file can cost (corrupt or non-zip files, encrypted files, zip bombs, XML entity bombs,
oversized sheets). Every refusal is a PerfscoreError whose message says what is wrong, in Chinese.
"""
from __future__ import annotations

import lzma
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from perfscore.errors import PerfscoreError
from perfscore.files import missing_text
from perfscore.excel.layout import GOAL_SHEET, HEADER_FIELDS, INPUT_SHEET, REGION_NAME, SCORE_SHEET, YEAR_NAME

DEDUCTION_SHEET = "扣分说明"

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


ERROR, WARNING = "错误", "警告"  # the levels of check.Item (kept here: check imports this module)
KINDS = {"python": "Python 版（PERF_ 函数，含宏）", "excel": "Excel 公式版（原生公式，无宏）",
         "values": "提交版（仅数值，无公式）"}
_ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!",
                "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#BUSY!")
MAX_FORMULAS = 20000      # formula cells remembered per sheet; a perfscore sheet has a few hundred
MAX_ROWS = 20000          # <row> elements per read sheet (rows without r= would otherwise grow the grid)


@dataclass(frozen=True)
class CellError:
    """A cell holding an error value (#VALUE! …): calamine reads it as empty, the sheet XML says otherwise."""
    code: str

    def __str__(self):
        return self.code


@dataclass
class SheetScan:
    """What the values reader does not tell: hidden rows and columns, formulas and error cells of one sheet."""
    hidden_rows: set = field(default_factory=set)
    hidden_cols: list = field(default_factory=list)     # (first, last) column numbers, 1-based
    formulas: dict = field(default_factory=dict)        # coordinate -> formula text (shared ones expanded)
    errors: dict = field(default_factory=dict)          # coordinate -> error code

    def col_hidden(self, col: int) -> bool:
        return any(a <= col <= b for a, b in self.hidden_cols)


@dataclass
class Package:
    names: dict = field(default_factory=dict)   # defined name -> (sheet title, coordinate) for single cells
    sheets: dict = field(default_factory=dict)  # sheet title -> SheetScan (the sheets asked for)
    has_vba: bool = False


@dataclass
class FilledWorkbook:
    path: str
    year: int
    header: dict = field(default_factory=dict)         # 部门名称, 预算年度, 填报人, 联系电话
    inputs: dict = field(default_factory=dict)         # input name (Chinese) -> raw cell value (the named cell)
    stored_scores: dict = field(default_factory=dict)  # indicator name -> cached value (CellError for #VALUE! …)
    stored_total: object = None
    stored_grade: object = None
    kind: str = "python"                               # a key of KINDS
    issues: list = field(default_factory=list)         # (level, where, message): layout problems check reports
    formulas: dict = field(default_factory=dict)       # (sheet, coordinate) -> formula text, 评分表 and 扣分说明
    input_cells: dict = field(default_factory=dict)    # input name -> coordinate in 基础数据
    year_problem: str | None = None                    # the 规则年度 cell was edited: why the file cannot be scored
    region: str = "shenzhen"                           # 规则地区 (workbooks made before regions: Shenzhen)

    @property
    def kind_text(self) -> str:
        return KINDS.get(self.kind, self.kind)


def inspect_package(path, extent_sheets=()) -> Package:
    """Refuse, with a reason, anything that is not a sane OOXML package. Reads the zip directory and the
    prolog of every XML part; the sheets named in ``extent_sheets`` are read whole, once, refused when a
    cell reference reaches far beyond a perfscore sheet (see ``_FAR``), and scanned (hidden rows and columns,
    formulas, error cells). Returns the defined names and those scans."""
    path = Path(path)
    try:
        if not path.is_file():
            raise UnreadableWorkbook("不是普通文件（是文件夹或设备）：请指定工作簿文件" if path.exists()
                                     else missing_text(path))
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        raise UnreadableWorkbook(f"无法读取文件（{_oserror(exc)}）") from None
    if size == 0:
        raise UnreadableWorkbook("文件为空（0 字节）：请对方重新发送工作簿")
    if size > MAX_FILE_BYTES:
        raise UnreadableWorkbook(f"文件过大（{size / 1024 / 1024:.1f} MB，上限 {MAX_FILE_BYTES // 1024 // 1024} MB）：评分工作簿通常不到 1 MB")
    if head == OLE_MAGIC:
        raise UnreadableWorkbook("文件受密码保护（已加密），或是旧版 .xls 格式：请提交未加密的 .xlsm 工作簿")
    pkg = Package()
    try:
        if not zipfile.is_zipfile(path):
            raise UnreadableWorkbook("不是有效的 Excel 工作簿（不是 zip 格式）：文件可能已损坏，或是改了扩展名的其他文件")
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if len(infos) > MAX_ENTRIES:
                raise UnreadableWorkbook(f"压缩包内文件过多（{len(infos)} 个）：不是正常的工作簿")
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED:
                raise UnreadableWorkbook(f"解压后过大（{total / 1024 / 1024:.0f} MB）：疑似压缩炸弹，未读取")
            for i in infos:
                if i.file_size > MAX_PART:
                    what = ("工作表过大" if i.filename.startswith("xl/worksheets/") else
                            "共享字符串表（工作簿中全部文字所在的部件）过大" if i.filename.endswith("sharedStrings.xml")
                            else "部件过大")
                    raise UnreadableWorkbook(f"{what}（{_short(i.filename)} 解压后 {i.file_size / 1024 / 1024:.0f} MB）：未读取")
                if i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 1024 * 1024:
                    raise UnreadableWorkbook(f"{_short(i.filename)} 的压缩比异常（{i.file_size // i.compress_size}:1）：疑似压缩炸弹，未读取")
                if i.flag_bits & 0x1:
                    raise UnreadableWorkbook("压缩包已加密：请提交未加密的工作簿")
            names = {i.filename for i in infos}
            if "xl/workbook.xml" not in names:
                raise UnreadableWorkbook("zip 文件中没有 xl/workbook.xml：不是 Excel 工作簿")
            pkg.has_vba = "xl/vbaProject.bin" in names
            whole = {}
            if extent_sheets:
                from perfscore.excel.cache import sheet_parts
                wbxml = z.read("xl/workbook.xml")
                _check_prolog_bytes("xl/workbook.xml", wbxml)
                parts = sheet_parts(z)
                whole = {parts[t]: t for t in extent_sheets if t in parts}
                pkg.names = _defined_names(wbxml.decode("utf-8"))
            for i in infos:
                if i.filename in whole:
                    data = z.read(i)
                    _check_prolog_bytes(i.filename, data)
                    # Excel and openpyxl write r= first; the general pattern is needed only if some cell does not
                    m = (_FAR_FAST if data.count(b"<c ") == data.count(b'<c r="') else _FAR).search(data)
                    if m:
                        ref = m.group(1).decode("ascii", "replace")
                        raise UnreadableWorkbook(f"“{whole[i.filename]}”表的范围异常（到 {ref}…）："
                                                 f"不是 perfscore 评分工作簿的正常内容，未读取")
                    if data.count(b"<row") > MAX_ROWS:
                        raise UnreadableWorkbook(f"“{whole[i.filename]}”表的行数异常：不是 perfscore 评分工作簿的正常内容，未读取")
                    title = whole[i.filename]
                    pkg.sheets[title] = _scan_sheet(title, data.decode("utf-8"), formulas=title != GOAL_SHEET)
                elif i.filename.endswith((".xml", ".rels")):
                    _check_prolog(z, i)
    except PerfscoreError:
        raise
    except zipfile.BadZipFile as exc:
        raise UnreadableWorkbook(f"文件已损坏（zip 结构错误：{_short(str(exc))}）") from None
    except UnicodeDecodeError:
        raise UnreadableWorkbook("文件已损坏（工作簿中的 XML 不是有效的 UTF-8 文本）") from None
    except KeyError:
        raise UnreadableWorkbook("文件已损坏（工作簿的内部引用指向不存在的部件）：请对方重新保存后发送") from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise UnreadableWorkbook(f"文件已损坏（压缩数据无法解开：{type(exc).__name__}）：请对方重新保存后发送") from None
    return pkg


def _oserror(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    if isinstance(exc, IsADirectoryError):
        return "这是一个文件夹"
    return exc.strerror or type(exc).__name__


def _short(s: str, n: int = 80) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


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
_FAR = re.compile(rb'<(?:c|dimension)\s[^>]*?\b(?:r|ref)="((?:[A-Z]+[0-9]+:)?(?:[A-Z]{3}|[C-Z][A-Z]|B[M-Z]|[A-Z]{1,2}[0-9]{5})[^"]{0,12})',
                  re.I)
_FAR_FAST = re.compile(rb'<(?:c r|dimension ref)="((?:[A-Z]+[0-9]+:)?(?:[A-Z]{3}|[C-Z][A-Z]|B[M-Z]|[A-Z]{1,2}[0-9]{5})[^"]{0,12})',
                       re.I)
_DEFNAME = re.compile(r'<definedName\b([^>]*)>([^<]*)</definedName>')
_CELLREF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Z]{1,3})\$?([0-9]{1,7})$")
_ROW = re.compile(r"<row\b([^>]*)>")
_COL = re.compile(r"<col\b([^>]*)>")
_ECELL = re.compile(r'<c\b([^>]*\bt="e"[^>]*)>(?:\s*<f\b[^>]*?(?:/>|>[^<]*</f>))?\s*<v>([^<]{0,40})</v>')
_ATTR = re.compile(r'\b([A-Za-z:]+)="([^"]*)"')


def _unescape(s: str) -> str:
    if "&" not in s:
        return s
    if "&#" in s:
        return _unescape_refs(s)
    return s.replace("&quot;", '"').replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@lru_cache(maxsize=4096)
def _unescape_refs(s: str) -> str:  # the same formula texts recur in every workbook of a batch
    import html
    return html.unescape(s)


def _defined_names(wbxml: str) -> dict:
    """Workbook-level defined names that point at one cell -> (sheet title, coordinate)."""
    out, seen = {}, set()
    for m in _DEFNAME.finditer(wbxml):
        attrs = dict(_ATTR.findall(m.group(1)))
        if "localSheetId" in attrs or "name" not in attrs:
            continue
        name = _unescape(attrs["name"])
        if name in seen:  # a name defined twice is not something Excel writes: trust neither
            out.pop(name, None)
            continue
        seen.add(name)
        ref = _CELLREF.match(_unescape(m.group(2)).strip())
        if ref:
            sheet = ref.group(1).replace("''", "'") if ref.group(1) is not None else ref.group(2)
            out[name] = (sheet, ref.group(3) + ref.group(4))
    return out


_HIDDEN_ROW = re.compile(r'<row\b[^>]*\bhidden="(?:1|true)"')


def _scan_sheet(title: str, xml: str, formulas: bool = True) -> SheetScan:
    scan = SheetScan()
    if _HIDDEN_ROW.search(xml):
        r = 0
        for m in _ROW.finditer(xml):
            attrs = dict(_ATTR.findall(m.group(1)))
            r = int(attrs["r"]) if attrs.get("r", "").isdigit() else r + 1
            if attrs.get("hidden") in ("1", "true"):
                scan.hidden_rows.add(r)
    if "<col" in xml and "hidden=" in xml:
        for m in _COL.finditer(xml):
            attrs = dict(_ATTR.findall(m.group(1)))
            if attrs.get("hidden") in ("1", "true") and attrs.get("min", "").isdigit():
                lo = int(attrs["min"])
                hi = int(attrs["max"]) if attrs.get("max", "").isdigit() else lo
                scan.hidden_cols.append((lo, hi))
    if 't="e"' in xml:
        for m in _ECELL.finditer(xml):
            coord = _R.search(m.group(1))
            if coord:
                scan.errors[coord.group(1)] = m.group(2) or "#VALUE!"
    if not formulas or "<f" not in xml:
        return scan
    shared, children = {}, []
    for coord, m in _formula_cells(xml):
        if len(scan.formulas) >= MAX_FORMULAS:
            raise UnreadableWorkbook(f"“{title}”表的公式单元格过多：不是 perfscore 评分工作簿的正常内容，未读取")
        text = _unescape(m.group(2) or "")
        fattrs = m.group(1)
        if fattrs and 'shared' in fattrs:
            fattrs = dict(_ATTR.findall(fattrs))
            if fattrs.get("t") == "shared" and "si" in fattrs:
                if text:
                    shared[fattrs["si"]] = (coord, text)
                else:
                    children.append((coord, fattrs["si"]))
                    continue
        scan.formulas[coord] = text
    for coord, si in children:
        if si in shared:
            origin, text = shared[si]
            try:
                from openpyxl.formula.translate import Translator
                scan.formulas[coord] = Translator("=" + text, origin).translate_formula(coord)[1:]
            except Exception:  # an untranslatable shared formula: keep it visibly different
                scan.formulas[coord] = f"（共享公式 {si}）"
        else:
            scan.formulas[coord] = f"（共享公式 {si}）"
    return scan


_R = re.compile(r'\br="([A-Za-z]{1,3}[0-9]{1,7})"')
_FELEM = re.compile(r"<f\b([^>]*?)(?:/>|>([^<]*)</f>)")


def _formula_cells(xml: str):
    """(coordinate, match of the <f> element) of every formula cell: found from each <f back to its <c (a
    sheet has a few hundred formulas among thousands of cells, so this beats a regex over every cell)."""
    pos = xml.find("<f", 0)
    while pos != -1:
        m = _FELEM.match(xml, pos)
        if m:
            start = xml.rfind("<c", 0, pos)
            head = xml[start:pos] if start != -1 else ""
            if head and head.rstrip().endswith(">") and not head.rstrip().endswith("/>") and head.count(">") == 1 \
                    and head[2:3].isspace():
                coord = _R.search(head)
                if coord:
                    yield coord.group(1), m
            pos = xml.find("<f", m.end())
        else:
            pos = xml.find("<f", pos + 2)


def _v(x):
    return None if x == "" else x


def _rc(coord: str) -> tuple[int, int]:
    """'D23' -> (23, 4), 1-based."""
    m = re.match(r"([A-Z]+)([0-9]+)$", coord)
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


def _col_letter(col: int) -> str:
    s = ""
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


def _at(grid, coord):
    r, c = _rc(coord)
    if r - 1 < len(grid) and c - 1 < len(grid[r - 1]):
        return _v(grid[r - 1][c - 1])
    return None


def _label(grid, row: int, col: int):
    if row - 1 < len(grid) and col - 1 < len(grid[row - 1]):
        v = grid[row - 1][col - 1]
        return v.strip() if isinstance(v, str) else v
    return None


_STATED_YEAR = re.compile(r"([0-9]{4}) 年版")


def read_filled(path) -> FilledWorkbook:
    """Inputs, header fields, rules year and the stored (cached) scores of a perfscore workbook.

    Every input is read from the cell its defined name points to — the cell the workbook's formulas use —
    never by row label. Layout problems a reviewer could be misled by (a label repeated, hidden rows or
    columns among the inputs, a name pointing away from its row, formulas typed into input cells) are
    collected in ``issues`` for ``check`` to report."""
    from python_calamine import CalamineWorkbook
    pkg = inspect_package(path, extent_sheets=(INPUT_SHEET, SCORE_SHEET, GOAL_SHEET, DEDUCTION_SHEET))
    try:
        wb = CalamineWorkbook.from_path(str(path))
        names = wb.sheet_names
        if INPUT_SHEET not in names or SCORE_SHEET not in names:
            raise UnreadableWorkbook(f"不是 perfscore 评分工作簿（缺少“{INPUT_SHEET}”或“{SCORE_SHEET}”工作表）：请使用 perfscore template 生成的工作簿")
        rows = wb.get_sheet_by_name(INPUT_SHEET).to_python(skip_empty_area=False)
        score_rows = wb.get_sheet_by_name(SCORE_SHEET).to_python(skip_empty_area=False)
    except PerfscoreError:
        raise
    except BaseException as exc:  # calamine's own parse errors (and pyo3 panics, which are BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        raise UnreadableWorkbook("无法读取工作簿内容（文件已损坏，或不是 Excel 保存的正常工作簿）：请对方重新保存后发送") from None
    if INPUT_SHEET not in pkg.sheets or SCORE_SHEET not in pkg.sheets:
        raise UnreadableWorkbook(f"不是 perfscore 评分工作簿（找不到“{INPUT_SHEET}”或“{SCORE_SHEET}”工作表的内容）")
    scan = pkg.sheets[INPUT_SHEET]
    where_input = {n: c for n, (sh, c) in pkg.names.items() if sh == INPUT_SHEET}
    missing = [label for label, _ in HEADER_FIELDS if label not in where_input] + \
              ([YEAR_NAME] if YEAR_NAME not in where_input else [])
    if missing:
        raise UnreadableWorkbook(f"“{INPUT_SHEET}”表缺少名称 {'、'.join(missing)}：不是 perfscore 生成的工作簿，"
                                 f"或名称被删除；请使用 perfscore template 生成的工作簿")
    issues = []
    year_coord = where_input[YEAR_NAME]
    year_row, _ = _rc(year_coord)
    stated = _STATED_YEAR.search(str(_label(rows, year_row, 5) or ""))
    stated = int(stated.group(1)) if stated else None
    year = _at(rows, year_coord)
    good = isinstance(year, float) and year.is_integer() and 1990 <= year <= 2100
    year_problem = None
    if not good or (stated is not None and int(year) != stated):
        made = f"本工作簿按 {stated} 年版规则生成，" if stated else ""
        year_problem = (f"规则年度被改动（“{INPUT_SHEET}”表中为 {_show_value(year)}）：{made}规则年度由生成程序填写，不应修改；"
                        f"请改回{' ' + str(stated) if stated else '原值'}，或用 perfscore template 重新生成工作簿")
    if isinstance(year, float) and year.is_integer() and abs(year) < 10000:
        year = int(year)
    else:
        year = stated or 0
    header = {label: _at(rows, where_input[label]) for label, _ in HEADER_FIELDS}
    out = FilledWorkbook(str(path), year, header, issues=issues, kind=_kind(pkg), year_problem=year_problem)
    meta = [YEAR_NAME]
    if REGION_NAME in where_input:
        meta.append(REGION_NAME)
        region = _at(rows, where_input[REGION_NAME])
        if not isinstance(region, str) or not region.strip():
            out.year_problem = out.year_problem or (f"规则地区被改动（“{INPUT_SHEET}”表中为 {_show_value(region)}）："
                                                    f"规则地区由生成程序填写，不应修改；请用 perfscore template 重新生成工作簿")
        else:
            out.region = region.strip()
    for label in [lb for lb, _ in HEADER_FIELDS] + meta:
        r, c = _rc(where_input[label])
        if _label(rows, r, 1) != label:
            issues.append((ERROR, INPUT_SHEET, f"名称“{label}”指向 {where_input[label]}，而该行的标签是"
                                               f"“{_short(_label(rows, r, 1) or '', 20)}”：表格结构被改动，请核实"))
    # the input table: header row, then one row per input (label in B, value in D)
    try:
        start = next(k for k, r in enumerate(rows) if [str(x) for x in r[:4]] == INPUT_HEAD) + 2  # 1-based first row
    except StopIteration:
        raise UnreadableWorkbook("“基础数据”表中找不到“序号/输入项/单位/数值”表头：版式与 perfscore 工作簿不同") from None
    labels: dict = {}
    last = start - 1
    for k in range(start, len(rows) + 1):
        lab = _label(rows, k, 2)
        if isinstance(lab, str) and lab:
            labels.setdefault(lab, []).append(k)
            last = k
    header_names = {lb for lb, _ in HEADER_FIELDS} | {YEAR_NAME, REGION_NAME}
    for name, coord in where_input.items():
        if name in header_names or name.startswith("_xlnm."):
            continue
        out.inputs[name] = _at(rows, coord)
        out.input_cells[name] = coord
        r, c = _rc(coord)
        if c != 4 or _label(rows, r, 2) != name:
            issues.append((ERROR, name, f"名称“{name}”指向 {coord}，不是表中“{name}”一行的“数值”单元格："
                                        f"计分用的是 {coord} 的值（{_show_value(out.inputs[name])}），表格结构被改动，请核实"))
    for lab, at in labels.items():
        if len(at) > 1:
            used = _rc(where_input[lab])[0] if lab in where_input else None
            msg = f"“{lab}”在“{INPUT_SHEET}”表中出现 {len(at)} 次（第 {'、'.join(map(str, at[:5]))} 行）"
            if used:
                msg += f"；计分只用名称指向的第 {used} 行（{_show_value(out.inputs.get(lab))}），其余是多出来的行"
            issues.append((ERROR, lab, msg + "：请核实是否有人添加了误导审阅的行"))
    hidden = sorted(r for r in scan.hidden_rows if 1 <= r <= max(last, start))
    if hidden:
        what = [str(_label(rows, r, 2) or _label(rows, r, 1) or f"第 {r} 行") for r in hidden[:5]]
        issues.append((WARNING, INPUT_SHEET, f"有 {len(hidden)} 行被隐藏（{'、'.join(what)}"
                                            f"{'等' if len(hidden) > 5 else ''}）：审阅时看不到，请取消隐藏后核对"))
    cols = [c for c in range(1, 7) if scan.col_hidden(c)]
    if cols:
        issues.append((WARNING, INPUT_SHEET, f"第 {'、'.join(_col_letter(c) for c in cols)} 列被隐藏：审阅时看不到部分输入，请取消隐藏后核对"))
    for name in [lb for lb, _ in HEADER_FIELDS] + list(out.input_cells):
        coord = where_input[name]
        if coord in scan.formulas:
            issues.append((WARNING, name, f"输入单元格 {coord} 中是公式（={_short(scan.formulas[coord], 60)}）而不是填写的数值："
                                          f"请直接填写数值"))
    # stored scores: by the 评分表 layout (indicator name in C, score in G)
    sscan = pkg.sheets[SCORE_SHEET]
    for k, r in enumerate(score_rows, 1):
        if len(r) < 7:
            continue
        err = sscan.errors.get(f"G{k}")
        value = CellError(err) if err else _v(r[6])
        if isinstance(r[2], str) and r[2].strip() and r[2] != "三级指标":
            out.stored_scores[r[2].strip()] = value
        elif r[0] == "综合评分":
            out.stored_total = value
        elif r[0] == "评分等级":
            out.stored_grade = value
    for title in (SCORE_SHEET, DEDUCTION_SHEET):
        if title in pkg.sheets:
            out.formulas.update({(title, c): f for c, f in pkg.sheets[title].formulas.items()})
    return out


def _kind(pkg: Package) -> str:
    texts = list(pkg.sheets[SCORE_SHEET].formulas.values())
    if not texts:
        return "values"
    if pkg.has_vba or any("PERF_" in t.upper() for t in texts):
        return "python"
    return "excel"


def _show_value(v) -> str:
    if v is None:
        return "（空）"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return _short(repr(v), 24)
    return f"“{_short(str(v), 30)}”"


def rules_system(filled: FilledWorkbook, system_path=None):
    """The indicator system of the workbook's region and rules year (its own file, no fallback), or the file at
    ``system_path`` (a region's own table kept outside PERFSCORE_SYSTEMS), which must be that year's; an edited
    规则年度 is refused as such, not looked up."""
    from perfscore.engine.system import load_system_file, require_exact_year
    if filled.year_problem:
        raise UnreadableWorkbook(filled.year_problem)
    if system_path is not None:
        system = load_system_file(system_path)
        if system.year != filled.year:
            raise UnreadableWorkbook(f"工作簿按 {filled.year} 年规则填写，而 {system_path} 是 {system.year} 年的指标体系："
                                     f"请指定 {filled.year} 年的指标体系文件")
        return system
    return require_exact_year(filled.year, region=filled.region)


def raw_inputs(filled: FilledWorkbook, system) -> dict:
    """Input id -> raw value, by the names the rules year's system declares. Unknown or missing names are a
    layout error (a workbook of another year's layout, or names deleted)."""
    by_name = {s.name: s.id for s in system.inputs.values()}
    unknown = [n for n in filled.inputs if n not in by_name]
    if unknown:
        raise UnreadableWorkbook(f"“基础数据”表中有指标体系 {system.year} 年版没有的输入项：{'、'.join(map(_short, unknown[:5]))}")
    absent = [n for n in by_name if n not in filled.inputs]
    if absent:
        raise UnreadableWorkbook(f"“基础数据”表缺少指标体系 {system.year} 年版的输入项（名称）：{'、'.join(absent[:5])}"
                                 f"{'等' if len(absent) > 5 else ''}：名称被删除或工作簿不是按该年度生成的")
    return {by_name[n]: v for n, v in filled.inputs.items()}


def read_goal_table(path):
    """(tasks, expected, actual, rows) from a perfscore 自评表, by its layout; ([], "", "", []) if absent."""
    from python_calamine import CalamineWorkbook

    from perfscore.engine.case import GoalRow, Task
    try:
        wb = CalamineWorkbook.from_path(str(path))
        if GOAL_SHEET not in wb.sheet_names:
            return [], "", "", []
        rows = [[_v(x) for x in r] + [None] * 7 for r in wb.get_sheet_by_name(GOAL_SHEET).to_python()]
    except BaseException as exc:  # calamine's parse errors and pyo3 panics
        if isinstance(exc, (KeyboardInterrupt, SystemExit, MemoryError)):
            raise
        raise UnreadableWorkbook(f"无法读取“{GOAL_SHEET}”表（文件已损坏）：请对方重新保存后发送") from None
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
    from perfscore.engine.case import Case, CaseInput
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
