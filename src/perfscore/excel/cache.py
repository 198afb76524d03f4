"""Cached values: put the engine's value into every formula cell of a saved workbook, and stop Excel from
forcing a full recalculation on open.

openpyxl writes ``<c r="G4"><f>…</f><v/></c>`` and ``<calcPr fullCalcOnLoad="1"/>``; without a cached value,
WPS, LibreOffice (which never recalculates OOXML by default), file previewers and Excel without Python show
nothing or ``#NAME?``. Here each such cell gets ``<v>`` with the right type (``t="str"``, ``t="b"`` or a number)
and the flag is dropped. The file is rewritten through a temporary file and ``os.replace``.
"""
from __future__ import annotations

import math
import os
import re
import tempfile
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from perfscore.errors import PerfscoreError
from perfscore.files import xml_text

# openpyxl writes an empty value as <v/> with the standard library and as <v></v> with lxml; allow none at all too
_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f>(?:<v\s*/>|<v>\s*</v>)?</c>', re.S)


def sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """sheet title -> part name, from workbook.xml and its relationships."""
    wb = z.read("xl/workbook.xml").decode("utf-8")
    rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {m.group(1): m.group(2) for m in re.finditer(r'<Relationship[^>]*Id="([^"]+)"[^>]*Target="([^"]+)"', rels)}
    targets |= {m.group(2): m.group(1) for m in re.finditer(r'<Relationship[^>]*Target="([^"]+)"[^>]*Id="([^"]+)"', rels)}
    out = {}
    for m in re.finditer(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', wb):
        name = m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
        target = targets[m.group(2)].lstrip("/")
        out[name] = target if target.startswith("xl/") else "xl/" + target
    return out


def _value_xml(attrs: str, value) -> tuple[str, str]:
    attrs = re.sub(r'\s+t="[^"]*"', "", attrs)
    if isinstance(value, bool):
        return attrs + ' t="b"', "1" if value else "0"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return attrs + ' t="e"', "#NUM!"
        return attrs, repr(float(value)) if isinstance(value, float) else str(value)
    return attrs + ' t="str"', escape(xml_text(str(value)))


_CHARREF = re.compile(r"&#([0-9]{3,7});")


def _char(m) -> str:
    n = int(m.group(1))
    # characters XML allows as they are (not the markup ones, all below 128, nor surrogates or non-characters)
    return chr(n) if 128 <= n <= 0xD7FF or 0xE000 <= n <= 0xFFFD or 0x10000 <= n <= 0x10FFFF else m.group(0)


def _charrefs(text: str) -> str:
    return "".join(ch if ord(ch) < 128 else f"&#{ord(ch)};" for ch in text)


def inject_cached_values(path, cached: dict, texts: dict | None = None) -> None:
    """``cached``: (sheet title, coordinate) -> value. Every key must be a formula cell of the file. ``texts``:
    old -> new text replaced in the shared strings (the layout id, see workbook.layout_stamp)."""
    path = Path(path)
    by_sheet: dict[str, dict] = {}
    for (sheet, coord), v in cached.items():
        by_sheet.setdefault(sheet, {})[coord] = v
    with zipfile.ZipFile(path) as z:
        parts = sheet_parts(z)
        infos = z.infolist()
        data = {i.filename: z.read(i.filename) for i in infos}
    for sheet, cells in by_sheet.items():
        part = parts[sheet]
        xml = data[part].decode("utf-8")
        done = set()

        def fill(m):
            coord = m.group(1)
            if coord not in cells:
                return m.group(0)
            attrs, v = _value_xml(m.group(2), cells[coord])
            done.add(coord)
            return f'<c r="{coord}"{attrs}><f>{m.group(3)}</f><v>{v}</v></c>'

        xml = _CELL.sub(fill, xml)
        missing = set(cells) - done
        if missing:
            raise PerfscoreError(f"内部错误：{sheet} 中找不到公式单元格 {sorted(missing)[:5]}，无法写入计算结果")
        data[part] = xml.encode("utf-8")
    for old, new in (texts or {}).items():
        found = False
        for part in [p for p in data if p.startswith("xl/worksheets/") or p == "xl/sharedStrings.xml"]:
            xml = data[part].decode("utf-8")
            for form in (escape(old), _charrefs(escape(old))):  # openpyxl writes non-ASCII text as &#NNNNN;
                if form in xml:
                    xml, found = xml.replace(form, escape(new)), True
            data[part] = xml.encode("utf-8")
        if not found:
            raise PerfscoreError(f"内部错误：工作簿中找不到 {old}，无法写入版式编号")
    for part in data:  # openpyxl writes each non-ASCII character as &#NNNNN;: UTF-8 is a third of the size
        if part.endswith(".xml") and b"&#" in data[part]:
            data[part] = _CHARREF.sub(_char, data[part].decode("utf-8")).encode("utf-8")
    wbxml = data["xl/workbook.xml"].decode("utf-8")
    data["xl/workbook.xml"] = re.sub(r'\s+fullCalcOnLoad="1"', "", wbxml).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            for info in infos:
                zi = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))  # stable timestamps
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.external_attr = info.external_attr
                out.writestr(zi, data[info.filename])
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
