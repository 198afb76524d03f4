"""One read of a received workbook: the file's bytes taken into memory once, refused with a reason when the
package is not a sane OOXML file (size, zip bomb, encryption, DTD/entity declarations, far cell references), then
every sheet parsed in one pass into what the receiving side compares and reads: the cells (constant or formula with
its cached value), row and column attributes, merged ranges, data validations and protection; the workbook's
sheets (order, titles, visibility), defined names, the VBA project and the application that last saved it.

Working on one in-memory copy means a file replaced while it is being read cannot give two different answers.
Every refusal is an ``UnreadableWorkbook`` (a PerfscoreError) whose message says, in Chinese, what is wrong.
"""
from __future__ import annotations

import bz2  # noqa: F401  (zipfile's bzip2 members raise OSError from here)
import html
import io
import xml.etree.ElementTree as ET
import lzma
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from perfscore.errors import PerfscoreError
from perfscore.files import missing_text

MAX_FILE_BYTES = 20 * 1024 * 1024        # a filled workbook is ~60 KB
MAX_UNCOMPRESSED = 64 * 1024 * 1024      # all parts together, after decompression
MAX_PART = 32 * 1024 * 1024              # one part (a sheet's XML)
MAX_RATIO = 200                          # compression ratio of one part; ordinary XML stays below ~30
MAX_ENTRIES = 2000
MAX_SHEETS = 64
MAX_CELLS = 200_000                      # cells with content, all sheets together; a perfscore workbook has ~2,000
MAX_ROWS = 20000                         # <row> elements per sheet
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.I)
_ROOT = re.compile(rb"<[A-Za-z_]")
# a reference beyond column BL (64) or row 9999: three letters, two letters from BM on, or five or more digits
_FAR = re.compile(rb'<(?:c|dimension)\s[^>]*?\b(?:r|ref)="((?:[A-Z]+[0-9]+:)?(?:[A-Z]{3}|[C-Z][A-Z]|B[M-Z]|[A-Z]{1,2}'
                  rb'[0-9]{5})[^"]{0,12})', re.I)


class UnreadableWorkbook(PerfscoreError):
    pass


@dataclass(frozen=True)
class CellError:
    """A cell holding an error value (#VALUE! …)."""
    code: str

    def __str__(self):
        return self.code


@dataclass
class Sheet:
    title: str
    state: str = "visible"                               # visible, hidden or veryHidden
    values: dict = field(default_factory=dict)           # coordinate -> value (constant, or a formula's cached value)
    formulas: dict = field(default_factory=dict)         # coordinate -> formula text (shared formulas expanded)
    rows: dict = field(default_factory=dict)             # row number -> (hidden, height or None)
    cols: list = field(default_factory=list)             # (first, last, hidden, width or None), 1-based
    default_height: float | None = None
    zero_height: bool = False                            # rows not listed are hidden (sheetFormatPr zeroHeight)
    merged: set = field(default_factory=set)             # "A1:H1"
    validations: list = field(default_factory=list)      # (sqref, type, operator, formula1, formula2)
    protected: bool = False

    def row_hidden(self, r: int) -> bool:
        if r in self.rows:
            hidden, ht = self.rows[r]
            return hidden
        return self.zero_height

    def row_height(self, r: int) -> float | None:
        ht = self.rows.get(r, (False, None))[1]
        return ht if ht is not None else self.default_height

    def col_attrs(self, c: int) -> tuple[bool, float | None]:
        for lo, hi, hidden, width in self.cols:
            if lo <= c <= hi:
                return hidden, width
        return False, None


@dataclass
class Package:
    path: str
    sheets: list = field(default_factory=list)           # Sheet, in the workbook's order (titles may repeat)
    names: dict = field(default_factory=dict)            # workbook-level name -> reference text
    local_names: list = field(default_factory=list)      # (sheet index, name, reference text)
    repeated_names: list = field(default_factory=list)   # names defined twice at workbook level
    vba: bytes | None = None
    application: str = ""                                # docProps/app.xml <Application>

    def sheet(self, title: str) -> Sheet | None:
        return next((s for s in self.sheets if s.title == title), None)


# --------------------------------------------------------------------------------------------- the zip
def read_package(path) -> Package:
    """The whole package, checked and parsed (see the module docstring)."""
    parts = _parts(_read_bytes(Path(path)))
    try:
        return _parse(str(path), parts)
    except PerfscoreError:
        raise
    except UnicodeDecodeError:
        raise UnreadableWorkbook("文件已损坏（工作簿中的 XML 不是有效的 UTF-8 文本）：请对方重新保存后发送") from None
    except (KeyError, ValueError, IndexError):
        raise UnreadableWorkbook("文件已损坏（工作簿的内部结构不完整或互相矛盾）：请对方用 Excel 重新保存后发送") from None


def check_package(path) -> None:
    """Only the package checks of ``read_package`` (size, zip, bombs, encryption, DTDs, truncated parts), for files
    that are read otherwise (an earlier collect summary)."""
    _parts(_read_bytes(Path(path)))


def _parts(data: bytes) -> dict[str, bytes]:
    """The parts the readers use, from the file's bytes, after the package checks."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return _read_parts(z)
    except PerfscoreError:
        raise
    except zipfile.BadZipFile as exc:
        if "not a zip file" in str(exc):  # no central directory: truncated, or another kind of file
            raise UnreadableWorkbook("不是有效的 Excel 工作簿（zip 目录缺失）：文件可能不完整（传输中断）、已损坏，"
                                     "或是改了扩展名的其他文件；请对方重新发送") from None
        raise UnreadableWorkbook(f"文件已损坏（zip 结构错误：{_short(str(exc))}）：请对方重新保存后发送") from None
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise UnreadableWorkbook(f"文件已损坏（压缩数据无法解开：{type(exc).__name__}）：请对方重新保存后发送") from None


def _read_bytes(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise UnreadableWorkbook("不是普通文件（是文件夹或设备）：请指定工作簿文件" if path.exists()
                                     else missing_text(path))
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UnreadableWorkbook(f"无法读取文件（{_oserror(exc)}）") from None
    if not data:
        raise UnreadableWorkbook("文件为空（0 字节）：可能是上传、复制或下载时中断，请对方重新发送")
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableWorkbook(f"文件过大（超过 {MAX_FILE_BYTES // 1024 // 1024} MB）：评分工作簿通常不到 1 MB")
    if data[:8] == OLE_MAGIC:
        raise UnreadableWorkbook("文件受密码保护（已加密），或是旧版 .xls 格式：请提交未加密的 .xlsx/.xlsm 工作簿")
    if data[:2] != b"PK":
        raise UnreadableWorkbook("不是有效的 Excel 工作簿（不是 zip 格式）：文件可能已损坏，或是改了扩展名的其他文件")
    return data


_WANTED = re.compile(r"^(?:xl/workbook\.xml|xl/_rels/workbook\.xml\.rels|xl/sharedStrings\.xml|xl/worksheets/[^/]+\.xml"
                     r"|xl/vbaProject\.bin|docProps/app\.xml|xl/styles\.xml)$", re.I)


def _read_parts(z: zipfile.ZipFile) -> dict[str, bytes]:
    infos = z.infolist()
    if len(infos) > MAX_ENTRIES:
        raise UnreadableWorkbook(f"压缩包内文件过多（{len(infos)} 个）：不是正常的工作簿")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED:
        raise UnreadableWorkbook(f"解压后过大（{total / 1024 / 1024:.0f} MB）：疑似压缩炸弹，未读取")
    out = {}
    for i in infos:
        if i.flag_bits & 0x1:
            raise UnreadableWorkbook("压缩包已加密：请提交未加密的工作簿")
        if i.file_size > MAX_PART:
            what = ("工作表过大" if i.filename.startswith("xl/worksheets/") else
                    "共享字符串表（工作簿中全部文字所在的部件）过大" if i.filename.endswith("sharedStrings.xml") else "部件过大")
            raise UnreadableWorkbook(f"{what}（{_short(i.filename)} 解压后 {i.file_size / 1024 / 1024:.0f} MB）：未读取")
        if i.compress_size and i.file_size / i.compress_size > MAX_RATIO and i.file_size > 1024 * 1024:
            raise UnreadableWorkbook(f"{_short(i.filename)} 的压缩比异常（{i.file_size // i.compress_size}:1）：疑似压缩炸弹，未读取")
        if _WANTED.match(i.filename):
            if i.filename in out:
                raise UnreadableWorkbook(f"压缩包中 {_short(i.filename)} 出现两次：不是正常的工作簿，未读取")
            out[i.filename] = _read_member(z, i)
        elif i.filename.endswith((".xml", ".rels")):
            _check_prolog_stream(z, i)
    if "xl/workbook.xml" not in out:
        raise UnreadableWorkbook("zip 文件中没有 xl/workbook.xml：不是 Excel 工作簿")
    for name, data in out.items():
        if not name.endswith(".bin"):
            _check_prolog_bytes(name, data)
            _check_complete(name, data)
    return out


_ROOT_NAME = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def _check_complete(name: str, data: bytes) -> None:
    """The part ends with its root element's end tag (a truncated part, e.g. a transfer cut short, does not)."""
    m = _ROOT_NAME.search(data, _ROOT.search(data).start() if _ROOT.search(data) else 0)
    end = data.rstrip()
    if m is None or not (end.endswith(b"</" + m.group(1) + b">") or end.endswith(b"/>") and end.count(b"<") <= 2):
        what = "一张工作表的内容" if name.startswith("xl/worksheets/") else "工作簿的内部数据"
        raise UnreadableWorkbook(f"文件已损坏（{what}在中途截断，可能是传输不完整）：请对方重新保存后发送")


def _read_member(z, info) -> bytes:
    """A member read with its declared size as the bound (a lying header cannot make it grow past it)."""
    with z.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise UnreadableWorkbook(f"{_short(info.filename)} 的实际大小与压缩包目录不符：文件已损坏或被改动，未读取")
    return data


def _check_prolog_stream(z, info, limit=1024 * 1024):
    """No DTD or entity declaration before the root element, however much padding comes first."""
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


# --------------------------------------------------------------------------------------------- XML
_ATTR = re.compile(r'([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_SHEET = re.compile(r"<(?:\w+:)?sheet\b([^>]*?)/?>")
_REL = re.compile(r"<(?:\w+:)?Relationship\b([^>]*?)/?>")
_DEFNAME = re.compile(r"<(?:\w+:)?definedName\b([^>]*)>([^<]*)</(?:\w+:)?definedName>")
_APP = re.compile(r"<(?:\w+:)?Application>([^<]*)</")


def attrs(text: str) -> dict:
    """An element's attributes; a prefixed ``…:id`` (the relationship id, whatever its prefix) is ``r:id``."""
    out = {}
    for m in _ATTR.finditer(text):
        name = m.group(1)
        if ":" in name:
            name = "r:id" if name.endswith(":id") else name.split(":")[-1]
        out[name] = unescape(m.group(2) if m.group(2) is not None else m.group(3))
    return out


@lru_cache(maxsize=16384)
def unescape(s: str) -> str:
    return html.unescape(s) if "&" in s else s


def _truth(v) -> bool:
    return str(v).strip().lower() in ("1", "true")


def _parse(path: str, parts: dict[str, bytes]) -> Package:
    pkg = Package(path)
    wbxml = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts.get("xl/_rels/workbook.xml.rels", b"").decode("utf-8")
    targets = {}
    for m in _REL.finditer(rels):
        a = attrs(m.group(1))
        if "Id" in a and "Target" in a:
            t = a["Target"]
            targets[a["Id"]] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    strings = _shared_strings(parts.get("xl/sharedStrings.xml", b""))
    dates = _date_styles(parts.get("xl/styles.xml", b""))
    sheet_tags = _SHEET.findall(wbxml.split("<sheets", 1)[-1].split("</sheets>", 1)[0]) if "<sheets" in wbxml else []
    if len(sheet_tags) > MAX_SHEETS:
        raise UnreadableWorkbook(f"工作表过多（{len(sheet_tags)} 张）：不是 perfscore 评分工作簿的正常内容，未读取")
    cells = 0
    for tag in sheet_tags:
        a = attrs(tag)
        rid = a.get("r:id") or a.get("id")
        part = targets.get(rid or "")
        sheet = Sheet(a.get("name", ""), a.get("state", "visible") or "visible")
        if part is None or part not in parts:
            raise UnreadableWorkbook(f"工作表“{_short(sheet.title, 30)}”的内容在压缩包中找不到：文件已损坏，请对方重新保存后发送")
        _parse_sheet(sheet, parts[part], strings, part, dates)
        cells += len(sheet.values) + len(sheet.formulas)
        if cells > MAX_CELLS:
            raise UnreadableWorkbook("工作簿中有内容的单元格过多：不是 perfscore 评分工作簿的正常内容，未读取")
        pkg.sheets.append(sheet)
    for m in _DEFNAME.finditer(wbxml):
        a = attrs(m.group(1))
        name, ref = a.get("name", ""), unescape(m.group(2)).strip()
        if "localSheetId" in a:
            pkg.local_names.append((int(a["localSheetId"]) if a["localSheetId"].isdigit() else -1, name, ref))
        elif name in pkg.names:
            pkg.repeated_names.append(name)
        else:
            pkg.names[name] = ref
    pkg.vba = parts.get("xl/vbaProject.bin")
    app = _APP.search(parts.get("docProps/app.xml", b"").decode("utf-8", "replace"))
    pkg.application = unescape(app.group(1)).strip() if app else ""
    return pkg


_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")


def _num(s):
    try:
        return float(s) if s not in (None, "") else None
    except ValueError:
        return None


# number formats that show a date or time: the built-in ones (ECMA-376 18.8.30, with the East Asian ones) and any
# custom code with y, m, d, h or s outside quoted text, escapes and [colour]/[condition] brackets
_DATE_FORMAT_IDS = frozenset({*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)})
_NOT_DATE_PARTS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.')


def _date_styles(raw: bytes) -> frozenset:
    """The cell style indices (s=) whose number format shows a date or time."""
    if not raw:
        return frozenset()
    root = _parse_xml("xl/styles.xml", raw)
    ns = root.tag[: -len(_local(root.tag))]
    custom = {}
    for nf in root.iter(ns + "numFmt"):
        code = _NOT_DATE_PARTS.sub("", nf.get("formatCode") or "").lower()
        custom[nf.get("numFmtId")] = bool(re.search(r"[ymdhs]", code)) and "general" not in code
    out = set()
    xfs = root.find(ns + "cellXfs")
    for k, xf in enumerate(xfs if xfs is not None else ()):
        fid = xf.get("numFmtId", "0")
        if (fid.isdigit() and int(fid) in _DATE_FORMAT_IDS) or custom.get(fid):
            out.add(str(k))
    return frozenset(out)


def _serial_date(v: float):
    """An Excel serial day number (1900 system) as the date it shows."""
    import datetime as dt
    try:
        return dt.datetime(1899, 12, 30) + dt.timedelta(days=v)
    except OverflowError:
        return v


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parse_xml(name: str, raw: bytes):
    """The part's element tree (expat; DTDs were refused before, so no entity is ever expanded)."""
    try:
        return ET.fromstring(raw)
    except ET.ParseError:
        what = "一张工作表" if name.startswith("xl/worksheets/") else "工作簿的内部数据"
        raise UnreadableWorkbook(f"文件已损坏（{what}的 XML 格式错误或不完整，可能是传输中断）：请对方重新保存后发送") from None


def _shared_strings(raw: bytes) -> list[str]:
    if not raw:
        return []
    root = _parse_xml("xl/sharedStrings.xml", raw)
    ns = root.tag[: -len(_local(root.tag))]
    t_tag, rph_tag = ns + "t", ns + "rPh"
    out = []
    for si in root:
        parts = []
        for el in si:
            if el.tag == t_tag:
                parts.append(el.text or "")
            elif el.tag != rph_tag:  # rich text runs: <r><rPr/><t>…</t></r>
                parts += [t.text or "" for t in el.iter(t_tag)]
        out.append("".join(parts))
    return out


def _parse_sheet(sheet: Sheet, raw: bytes, strings: list[str], part: str = "", dates=frozenset()) -> None:
    m = _FAR.search(raw)
    if m:
        raise UnreadableWorkbook(f"“{_short(sheet.title, 30)}”表的范围异常（到 {m.group(1).decode('ascii', 'replace')}…）："
                                 f"不是 perfscore 评分工作簿的正常内容，未读取")
    root = _parse_xml(part, raw)
    ns = root.tag[: -len(_local(root.tag))]
    for el in root:
        tag = el.tag[len(ns):]
        if tag == "sheetData":
            _parse_cells(sheet, el, ns, strings, dates)
        elif tag == "sheetFormatPr":
            sheet.default_height = _num(el.get("defaultRowHeight"))
            sheet.zero_height = _truth(el.get("zeroHeight", "0"))
        elif tag == "cols":
            for col in el:
                lo, hi = col.get("min", ""), col.get("max", "")
                if lo.isdigit():
                    sheet.cols.append((int(lo), int(hi) if hi.isdigit() else int(lo), _truth(col.get("hidden", "0")),
                                       _num(col.get("width"))))
        elif tag == "sheetProtection":
            sheet.protected = _truth(el.get("sheet", "0"))
        elif tag == "mergeCells":
            sheet.merged = {(mc.get("ref") or "").replace("$", "").upper() for mc in el}
        elif tag == "dataValidations":
            for dv in el:
                fs = {_local(f.tag): f.text or "" for f in dv}
                typ = dv.get("type", "none")
                sheet.validations.append((" ".join(sorted((dv.get("sqref") or "").replace("$", "").upper().split())),
                                          typ, dv.get("operator", "between") if typ not in ("none", "list", "custom")
                                          else "", fs.get("formula1", ""), fs.get("formula2", "")))


def _parse_cells(sheet: Sheet, data, ns: str, strings: list[str], dates=frozenset()) -> None:
    """Rows (hidden, height) and every cell with content; a cell without r= is the one after its left neighbour."""
    c_tag, f_tag, v_tag, is_tag, t_tag = ns + "c", ns + "f", ns + "v", ns + "is", ns + "t"
    formulas, values, rows = sheet.formulas, sheet.values, sheet.rows
    shared, children = {}, []
    row = 0
    if len(data) > MAX_ROWS:
        raise UnreadableWorkbook(f"“{_short(sheet.title, 30)}”表的行数异常：不是 perfscore 评分工作簿的正常内容，未读取")
    for r_el in data:
        r = r_el.get("r")
        row = int(r) if r and r.isdigit() else row + 1
        ht = r_el.get("ht")
        rows[row] = (_truth(r_el.get("hidden", "0")), _num(ht) if ht else None)
        prev = None  # the row's previous cell: a cell without r= is the one after it
        for c in r_el:
            if c.tag != c_tag:
                continue
            ref = c.get("r")
            if ref is None:
                ref = f"{col_letter(rc(prev)[1] + 1 if prev else 1)}{row}"
            prev = ref
            if not len(c):
                continue
            if _REF.match(ref) is None:
                ref = ref.upper()
                if _REF.match(ref) is None:
                    raise UnreadableWorkbook(f"“{_short(sheet.title, 30)}”表中有无效的单元格地址 {_short(ref, 20)}：文件已损坏")
                prev = ref
            t = c.get("t", "n")
            value = None
            for child in c:
                tag = child.tag
                if tag == v_tag:
                    value = child.text if child.text is not None else ""
                elif tag == f_tag:
                    text = child.text or ""
                    if child.get("t") == "shared" and child.get("si") is not None:
                        if text:
                            shared[child.get("si")] = (ref, text)
                        else:
                            children.append((ref, child.get("si")))
                            continue
                    formulas[ref] = text
                elif tag == is_tag:
                    value = "".join(x.text or "" for x in child.iter(t_tag))
                    t = "inlineStr"
            if value is None:
                continue
            if t == "n":
                try:
                    values[ref] = float(value)
                    if dates and c.get("s") in dates:  # a number shown as a date: a date was typed (issue 19)
                        values[ref] = _serial_date(values[ref])
                except ValueError:
                    if value.strip():
                        values[ref] = value
            elif t == "s":
                k = int(value) if value.strip().isdigit() else -1
                if not 0 <= k < len(strings):
                    raise UnreadableWorkbook("工作簿中的文字索引指向不存在的共享字符串：文件已损坏，请对方重新保存后发送")
                values[ref] = strings[k]
            elif t in ("str", "inlineStr", "d"):
                values[ref] = value
            elif t == "b":
                values[ref] = value.strip() in ("1", "true")
            elif t == "e":
                values[ref] = CellError(value or "#VALUE!")
            else:
                values[ref] = value
    for coord, si in children:
        if si in shared:
            origin, text = shared[si]
            formulas[coord] = _translate(text, origin, coord)
        else:
            formulas[coord] = f"（共享公式 {si}）"


@lru_cache(maxsize=8192)
def _translate(text: str, origin: str, coord: str) -> str:
    try:
        from openpyxl.formula.translate import Translator
        return Translator("=" + text, origin).translate_formula(coord)[1:]
    except Exception:  # an untranslatable shared formula: keep it visibly different
        return f"（无法展开的共享公式 {origin}）"


@lru_cache(maxsize=4096)
def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


@lru_cache(maxsize=4096)
def col_letter(col: int) -> str:
    s = ""
    while col:
        col, rem = divmod(col - 1, 26)
        s = chr(65 + rem) + s
    return s


@lru_cache(maxsize=65536)
def rc(coord: str) -> tuple[int, int]:
    """'D23' -> (23, 4), 1-based."""
    m = _REF.match(coord)
    return int(m.group(2)), _col_number(m.group(1))


_CELLREF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def single_cell(ref: str) -> tuple[str, str] | None:
    """A defined name's reference text -> (sheet title, coordinate) when it is one cell, else None."""
    m = _CELLREF.match(ref.strip())
    if not m:
        return None
    sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
    return sheet, m.group(3).upper() + m.group(4)


def _oserror(exc: OSError) -> str:
    import errno
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    if isinstance(exc, IsADirectoryError):
        return "这是一个文件夹"
    if exc.errno == errno.ELOOP:
        return "路径中的链接形成了循环"
    return exc.strerror or type(exc).__name__


def _short(s, n: int = 80) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"
