"""Reading module source back out of a ``vbaProject.bin`` (MS-OVBA), for ``perfscore doctor``.

The compound file is read with ``olefile``; the ``dir`` stream's records give each module's name, stream and
source offset (MS-OVBA 2.3.4.2); the source is MS-OVBA-compressed (2.4.1). tests/test_doctor.py checks the result
against ``oletools.olevba`` on a real generated workbook.
"""
from __future__ import annotations

import io
import zipfile


class VbaReadError(Exception):
    pass


def decompress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1.3.1: a signature byte 0x01, then chunks of up to 4096 decompressed bytes."""
    if not data or data[0] != 1:
        raise VbaReadError("compressed container does not start with 0x01")
    out = bytearray()
    pos, n = 1, len(data)
    while pos + 2 <= n:
        header = int.from_bytes(data[pos:pos + 2], "little")
        end = min(pos + (header & 0x0FFF) + 3, n)
        pos += 2
        start = len(out)
        if not header & 0x8000:  # raw chunk
            out += data[pos:pos + 4096]
            pos += 4096
            continue
        while pos < end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= end:
                    break
                if not flags >> bit & 1:
                    out.append(data[pos])
                    pos += 1
                    continue
                token = int.from_bytes(data[pos:pos + 2], "little")
                pos += 2
                bits = max((len(out) - start - 1).bit_length(), 4)
                offset = (token >> (16 - bits)) + 1
                length = (token & (0xFFFF >> bits)) + 3
                if offset > len(out) - start:
                    raise VbaReadError("copy token points before the chunk")
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def _modules_from_dir(dir_data: bytes):
    """(name, stream name, source offset) of each module, from the decompressed ``dir`` stream."""
    pos, n = 0, len(dir_data)
    codepage = "cp1252"
    mods, cur = [], None
    while pos + 6 <= n:
        rid = int.from_bytes(dir_data[pos:pos + 2], "little")
        size = int.from_bytes(dir_data[pos + 2:pos + 6], "little")
        pos += 6
        if rid == 0x0009:  # PROJECTVERSION: Reserved(4) is in the size field's place, then 4 + 2 bytes
            pos += 6
            continue
        body = dir_data[pos:pos + size]
        pos += size
        if rid == 0x0003 and size == 2:
            codepage = f"cp{int.from_bytes(body, 'little')}"
        elif rid == 0x0019:
            cur = {"name": body.decode(codepage, "replace"), "stream": None, "offset": 0}
            mods.append(cur)
        elif rid == 0x001A and cur is not None:
            cur["stream"] = body.decode(codepage, "replace")
        elif rid == 0x0031 and cur is not None:
            cur["offset"] = int.from_bytes(body, "little")
    return mods, codepage


def read_modules(vba_bin: bytes) -> dict[str, str]:
    """Module name -> source text (as stored, CRLF line ends) of a ``vbaProject.bin``."""
    import olefile
    try:
        ole = olefile.OleFileIO(io.BytesIO(vba_bin))
    except Exception as exc:
        raise VbaReadError(f"not a compound file: {exc}") from None
    try:
        root = next((p[:-1] for p in ole.listdir() if p[-1] == "dir" and len(p) >= 2 and p[-2] == "VBA"), None)
        if root is None:
            raise VbaReadError("no VBA/dir stream")
        mods, codepage = _modules_from_dir(decompress(ole.openstream(root + ["dir"]).read()))
        out = {}
        for m in mods:
            if m["stream"] and ole.exists("/".join(root + [m["stream"]])):
                data = ole.openstream(root + [m["stream"]]).read()
                out[m["name"]] = decompress(data[m["offset"]:]).decode(codepage, "replace")
        return out
    finally:
        ole.close()


def workbook_modules(path) -> dict[str, str] | None:
    """The VBA modules of an .xlsm, or None when it carries no VBA project."""
    with zipfile.ZipFile(path) as z:
        name = next((n for n in z.namelist() if n.lower() == "xl/vbaproject.bin"), None)
        if name is None:
            return None
        return read_modules(z.read(name))
