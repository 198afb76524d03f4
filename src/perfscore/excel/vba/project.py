"""Build an Excel ``vbaProject.bin`` from VBA source text, and attach it to a workbook.

The project is written the way [MS-OVBA] describes it, with no compiled code
(no "performance cache"), so Office compiles the modules from source when the
workbook is opened:

``PROJECT``            text: module list, project name, protection fields (2.3.1)
``PROJECTwm``          module names in MBCS and UTF-16 (2.3.3)
``VBA/_VBA_PROJECT``   7 bytes, version 0xFFFF = "no cache, recompile" (2.3.4.1)
``VBA/dir``            compressed binary project information (2.3.4.2)
``VBA/<module>``       compressed source text of each module (2.3.4.3)

Source text must be ASCII.  VBA keeps it in the project's code page (1252
here), so anything else would be mangled or rejected by Office; Chinese text
in VBA has to be built at run time, e.g. ``ChrW(&H8BC4) & ChrW(&H5206)``.

Public entry points:

* :class:`VbaModule` and :func:`parse_module_file` / :func:`read_module_file`
  turn ``.bas``/``.cls`` files exported from the VBA editor into modules;
* :func:`xlwings_modules` reads ``xlwings.bas`` and ``Dictionary.cls`` from the
  installed (pinned) xlwings package;
* :func:`document_modules` gives ``ThisWorkbook`` plus one document module per
  worksheet of an openpyxl workbook (assigning code names where missing);
* :func:`build_vba_project` returns the ``vbaProject.bin`` bytes
  (deterministic: same input, same bytes);
* :func:`save_xlsm` writes an openpyxl workbook with that project as ``.xlsm``.

Bad input raises :class:`ValueError` with a message meant for people.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import struct
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Literal

from perfscore.excel.vba.cfb import Storage, write_cfb
from perfscore.excel.vba.ovba import compress

__all__ = [
    "VbaModule",
    "parse_module_file",
    "read_module_file",
    "xlwings_modules",
    "document_modules",
    "stored_source",
    "build_vba_project",
    "save_xlsm",
    "CLASS_BASE",
    "WORKBOOK_BASE",
    "WORKSHEET_BASE",
]

ModuleKind = Literal["standard", "class", "document"]

#: ``VB_Base`` of a class module (MSForms-independent VBA class).
CLASS_BASE = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"
#: ``VB_Base`` of Excel's document modules: the Workbook and Worksheet coclasses.
WORKBOOK_BASE = "0{00020819-0000-0000-C000-000000000046}"
WORKSHEET_BASE = "0{00020820-0000-0000-C000-000000000046}"

# Libids of the two references Excel puts in every new project ([MS-OVBA]
# 2.1.1.8 LibidReference: *\G{guid}#major.minor#lcid#path#description).  VBA
# resolves a registered reference by GUID and version; the path is a hint.
# The Office library is referenced as version 2.0, as Excel-saved files (and
# the xlwings add-in) write it: Office of any version resolves 2.0 to its own
# library, whereas 2.8 exists only from Office 2016 on and shows as MISSING on
# older Office, which stops the project compiling.  No module uses either
# library.
_REFERENCES = (
    (
        "stdole",
        "*\\G{00020430-0000-0000-C000-000000000046}#2.0#0#"
        "C:\\Windows\\System32\\stdole2.tlb#OLE Automation",
    ),
    (
        "Office",
        "*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#"
        "C:\\Program Files\\Common Files\\Microsoft Shared\\OFFICE16\\MSO.DLL#"
        "Microsoft Office 16.0 Object Library",
    ),
)

# Fixed seed for the PROJECT stream's "data encryption" (2.4.3).  The spec
# asks for a random seed; any value decodes, and a fixed one keeps the output
# reproducible.
_ENCRYPTION_SEED = 0x17

_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}\Z")
_ATTRIBUTE = re.compile(r"Attribute\s+(VB_\w+)\s*=\s*(.*?)\s*\Z", re.IGNORECASE)
_NEWLINES = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class VbaModule:
    """One VBA module.

    ``code`` is the module body: everything after the module-level
    ``Attribute VB_xxx = ...`` header lines (which :func:`stored_source`
    writes).  Procedure-level attributes such as ``Attribute Item.VB_UserMemId
    = 0`` are part of the body.  ``attributes`` holds extra module-level
    attributes as ``(name, raw value text)`` pairs, e.g.
    ``("VB_Exposed", "True")``; the ``VB_Name`` and ``VB_Base`` attributes are
    derived from ``name`` and ``kind`` and must not be given.
    """

    name: str
    kind: ModuleKind = "standard"
    code: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    #: Document modules only: ``VB_Base`` (workbook or worksheet coclass).
    base: str | None = None
    #: MODULEPRIVATE / MODULEREADONLY records in the dir stream (2.3.4.2.3.2.9-10).
    private: bool = False
    read_only: bool = False

    def __post_init__(self) -> None:
        if not _IDENT.match(self.name):
            raise ValueError(
                f"invalid VBA module name {self.name!r}: use 1-31 ASCII letters, digits or "
                "underscores, starting with a letter"
            )
        if self.kind not in ("standard", "class", "document"):
            raise ValueError(f"module {self.name}: unknown kind {self.kind!r}")
        for key, _ in self.attributes:
            if key.lower() in ("vb_name", "vb_base"):
                raise ValueError(f"module {self.name}: attribute {key} is derived, do not pass it")


def _crlf(text: str) -> str:
    return _NEWLINES.sub("\r\n", text)


def parse_module_file(
    text: str, filename: str | None = None, kind: ModuleKind | None = None
) -> VbaModule:
    """Turn the text of a ``.bas``/``.cls`` file exported by the VBA editor into a module.

    Understood layout: for classes an optional ``VERSION 1.0 CLASS`` line and a
    ``BEGIN`` .. ``END`` block (editor metadata, not stored in the project);
    then module-level ``Attribute VB_xxx = value`` lines, ``VB_Name`` among them
    (required); then the code.  The kind is ``kind`` if given, else "class" for
    a ``VERSION ... CLASS`` header or a ``.cls`` file name, else "standard".
    """
    where = filename or "module text"
    lines = _crlf(text).split("\r\n")
    i = 0
    is_class_header = False
    if lines and re.match(r"VERSION\s+\S+\s+CLASS\s*\Z", lines[0], re.IGNORECASE):
        is_class_header = True
        i = 1
        if i < len(lines) and lines[i].strip().upper() == "BEGIN":
            while i < len(lines) and lines[i].strip().upper() != "END":
                i += 1
            if i == len(lines):
                raise ValueError(f"{where}: BEGIN block without END")
            i += 1
    name = None
    attributes: list[tuple[str, str]] = []
    while i < len(lines):
        m = _ATTRIBUTE.match(lines[i])
        if not m:
            break
        key, value = m.group(1), m.group(2)
        if key.lower() == "vb_name":
            name = _unquote(value, where)
        elif key.lower() != "vb_base":  # derived from the kind on output
            attributes.append((key, value))
        i += 1
    if name is None:
        raise ValueError(f'{where}: no `Attribute VB_Name = "..."` line in the module header')
    if kind is None:
        if is_class_header or (filename or "").lower().endswith(".cls"):
            kind = "class"
        else:
            kind = "standard"
    return VbaModule(name=name, kind=kind, code="\r\n".join(lines[i:]), attributes=tuple(attributes))


def _unquote(value: str, where: str) -> str:
    m = re.fullmatch(r'"([^"]*)"', value)
    if not m:
        raise ValueError(f"{where}: VB_Name value must be a quoted string, got {value}")
    return m.group(1)


def read_module_file(path: str | os.PathLike, kind: ModuleKind | None = None) -> VbaModule:
    """Read an exported ``.bas``/``.cls`` file (must be ASCII) and parse it."""
    path = Path(path)
    return parse_module_file(_ascii_text(path.read_bytes(), str(path)), path.name, kind)


def _ascii_text(raw: bytes, where: str) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{where}: line {line} has a non-ASCII byte 0x{raw[exc.start]:02X}; VBA source must be "
            "ASCII (build Chinese strings with ChrW())"
        ) from None


def xlwings_modules() -> list[VbaModule]:
    """``xlwings`` (standard) and ``Dictionary`` (class) from the installed xlwings package.

    These are the files xlwings itself copies into standalone workbooks; they
    must match the xlwings version on the user's PC (xlwings.bas names the DLL
    ``xlwings64-<version>.dll``), which is why they are read from the pinned
    package at run time rather than copied into this repository.
    """
    pkg = resources.files("xlwings")
    out = []
    for rel, kind in (("xlwings.bas", "standard"), ("addin/Dictionary.cls", "class")):
        res = pkg.joinpath(*rel.split("/"))
        out.append(parse_module_file(_ascii_text(res.read_bytes(), f"xlwings/{rel}"), rel, kind))
    return out


def document_modules(wb) -> list[VbaModule]:
    """Document modules for an openpyxl workbook: ThisWorkbook, then one per worksheet.

    Sets ``wb.code_name`` to "ThisWorkbook" and gives every worksheet without
    a code name ``SheetN`` (the first N not taken), as Excel would, so that the
    workbook XML and the VBA project agree.  Call it before
    :func:`build_vba_project` and :func:`save_xlsm`.
    """
    if not wb.code_name:
        wb.code_name = "ThisWorkbook"
    taken = {wb.code_name.upper()}
    taken.update(ws.sheet_properties.codeName.upper() for ws in wb.worksheets if ws.sheet_properties.codeName)
    n = 1
    for ws in wb.worksheets:
        if not ws.sheet_properties.codeName:
            while f"SHEET{n}" in taken:
                n += 1
            ws.sheet_properties.codeName = f"Sheet{n}"
            taken.add(f"SHEET{n}")
    names = [wb.code_name] + [ws.sheet_properties.codeName for ws in wb.worksheets]
    if len({x.upper() for x in names}) != len(names):
        raise ValueError(f"workbook code names are not unique: {names}")
    mods = [VbaModule(wb.code_name, "document", base=WORKBOOK_BASE)]
    mods += [VbaModule(n, "document", base=WORKSHEET_BASE) for n in names[1:]]
    return mods


# --------------------------------------------------------------------------------------
# Source text as stored in the module streams
# --------------------------------------------------------------------------------------

# Module-level attributes Excel writes for class and document modules, in its
# order, with the defaults of a new module of that kind.
_CLASS_DEFAULTS = (
    ("VB_GlobalNameSpace", "False"),
    ("VB_Creatable", "False"),
    ("VB_PredeclaredId", "False"),
    ("VB_Exposed", "False"),
    ("VB_TemplateDerived", "False"),
    ("VB_Customizable", "False"),
)
_DOCUMENT_DEFAULTS = (
    ("VB_GlobalNameSpace", "False"),
    ("VB_Creatable", "False"),
    ("VB_PredeclaredId", "True"),
    ("VB_Exposed", "True"),
    ("VB_TemplateDerived", "False"),
    ("VB_Customizable", "True"),
)


def stored_source(module: VbaModule) -> str:
    """The module's text as Excel stores it: header attributes, then the body, CRLF line ends.

    Standard module: ``Attribute VB_Name``, any extra attributes, body.
    Class/document module: ``VB_Name``, ``VB_Base``, the six standard
    attributes (given values override the defaults), any other attributes
    (e.g. ``VB_Description``), body.
    """
    head = [("VB_Name", f'"{module.name}"')]
    given = dict((k.lower(), (k, v)) for k, v in module.attributes)
    if module.kind == "standard":
        head += list(module.attributes)
    else:
        if module.kind == "class":
            base, defaults = CLASS_BASE, _CLASS_DEFAULTS
        else:
            base, defaults = module.base or WORKSHEET_BASE, _DOCUMENT_DEFAULTS
        head.append(("VB_Base", f'"{base}"'))
        for key, default in defaults:
            head.append((key, given.pop(key.lower(), (key, default))[1]))
        head += list(given.values())
    text = "".join(f"Attribute {k} = {v}\r\n" for k, v in head) + _crlf(module.code)
    _require_ascii(text, f"module {module.name}")
    return text


def _require_ascii(text: str, where: str) -> None:
    for lineno, line in enumerate(text.split("\n"), 1):
        for ch in line:
            if ord(ch) > 0x7F:
                raise ValueError(
                    f"{where}, line {lineno}: non-ASCII character {ch!r} (U+{ord(ch):04X}); VBA "
                    f"source must be ASCII, build such strings with ChrW(&H{ord(ch):04X})"
                )


# --------------------------------------------------------------------------------------
# dir stream ([MS-OVBA] 2.3.4.2)
# --------------------------------------------------------------------------------------


def _rec(rec_id: int, payload: bytes) -> bytes:
    """Id (u16), Size (u32), payload: the shape of almost every dir record."""
    return struct.pack("<HI", rec_id, len(payload)) + payload


def _u16(v: int) -> bytes:
    return struct.pack("<H", v)


def _u32(v: int) -> bytes:
    return struct.pack("<I", v)


def _dir_stream(modules: list[VbaModule], project_name: str, codepage: int, enc: str) -> bytes:
    def mbcs(s: str) -> bytes:
        return s.encode(enc)

    def utf16(s: str) -> bytes:
        return s.encode("utf-16-le")

    out = bytearray()
    # 2.3.4.2.1 PROJECTINFORMATION
    out += _rec(0x0001, _u32(0x00000001))  # PROJECTSYSKIND: 32-bit Windows
    out += _rec(0x0002, _u32(0x0409))  # PROJECTLCID (must be 0x409)
    out += _rec(0x0014, _u32(0x0409))  # PROJECTLCIDINVOKE (must be 0x409)
    out += _rec(0x0003, _u16(codepage))  # PROJECTCODEPAGE
    out += _rec(0x0004, mbcs(project_name))  # PROJECTNAME
    # PROJECTDOCSTRING: MBCS text, then Reserved=0x0040 + UTF-16 text.
    out += _rec(0x0005, b"") + _rec(0x0040, b"")
    # PROJECTHELPFILEPATH: HelpFile1, Reserved=0x003D, HelpFile2 (both empty).
    out += _rec(0x0006, b"") + _rec(0x003D, b"")
    out += _rec(0x0007, _u32(0))  # PROJECTHELPCONTEXT
    out += _rec(0x0008, _u32(0))  # PROJECTLIBFLAGS
    # PROJECTVERSION: Id, Reserved=4 (not a size: 6 bytes follow), major u32, minor u16.
    out += struct.pack("<HIIH", 0x0009, 4, 1, 0)
    # PROJECTCONSTANTS: MBCS text, Reserved=0x003C, UTF-16 text (both empty).
    out += _rec(0x000C, b"") + _rec(0x003C, b"")

    # 2.3.4.2.2 PROJECTREFERENCES: REFERENCENAME + REFERENCEREGISTERED each.
    for ref_name, libid in _REFERENCES:
        out += _rec(0x0016, mbcs(ref_name)) + _rec(0x003E, utf16(ref_name))
        lib = libid.encode("ascii")
        # REFERENCEREGISTERED (2.3.4.2.2.5): Size covers SizeOfLibid, Libid,
        # Reserved1 (u32 0) and Reserved2 (u16 0).
        out += _rec(0x000D, _u32(len(lib)) + lib + _u32(0) + _u16(0))

    # 2.3.4.2.3 PROJECTMODULES
    out += _rec(0x000F, _u16(len(modules)))  # Count
    out += _rec(0x0013, _u16(0xFFFF))  # PROJECTCOOKIE
    for m in modules:
        out += _rec(0x0019, mbcs(m.name))  # MODULENAME
        out += _rec(0x0047, utf16(m.name))  # MODULENAMEUNICODE
        # MODULESTREAMNAME: MBCS, Reserved=0x0032, UTF-16; stream named as the module.
        out += _rec(0x001A, mbcs(m.name)) + _rec(0x0032, utf16(m.name))
        out += _rec(0x001C, b"") + _rec(0x0048, b"")  # MODULEDOCSTRING (empty)
        # MODULEOFFSET: source starts at byte 0 of the module stream (no p-code).
        out += _rec(0x0031, _u32(0))
        out += _rec(0x001E, _u32(0))  # MODULEHELPCONTEXT
        out += _rec(0x002C, _u16(0xFFFF))  # MODULECOOKIE
        # MODULETYPE: 0x0021 procedural, 0x0022 document/class/designer;
        # Id then Reserved u32 = 0 (2.3.4.2.3.2.8).
        out += struct.pack("<HI", 0x0021 if m.kind == "standard" else 0x0022, 0)
        if m.read_only:
            out += struct.pack("<HI", 0x0025, 0)  # MODULEREADONLY
        if m.private:
            out += struct.pack("<HI", 0x0028, 0)  # MODULEPRIVATE
        out += struct.pack("<HI", 0x002B, 0)  # module Terminator
    out += struct.pack("<HI", 0x0010, 0)  # dir stream Terminator
    return bytes(out)


# --------------------------------------------------------------------------------------
# PROJECT stream ([MS-OVBA] 2.3.1) and its "data encryption" (2.4.3)
# --------------------------------------------------------------------------------------


def _encrypt(project_id: str, data: bytes, seed: int = _ENCRYPTION_SEED) -> str:
    """[MS-OVBA] 2.4.3.2 Encryption, as uppercase hex text.

    Used for the CMG, DPB and GC properties.  The "ignored" filler bytes are
    set to the seed (VBA itself writes a repeated byte there).
    """
    version = 2
    proj_key = sum(project_id.encode("ascii")) & 0xFF
    out = bytearray([seed, seed ^ version, seed ^ proj_key])
    unencrypted_1, encrypted_1, encrypted_2 = proj_key, seed ^ proj_key, seed ^ version
    ignored = bytes([seed]) * ((seed & 6) // 2)
    for byte in ignored + _u32(len(data)) + data:
        enc = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(enc)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, enc, byte
    return out.hex().upper()


def _decrypt(hex_text: str) -> bytes:
    """[MS-OVBA] 2.4.3.3 Decryption (the inverse of :func:`_encrypt`); used by tests."""
    buf = bytes.fromhex(hex_text)
    seed, version_enc, proj_key_enc = buf[0], buf[1], buf[2]
    if seed ^ version_enc != 2:
        raise ValueError("not MS-OVBA encrypted data (version byte is not 2)")
    unencrypted_1, encrypted_1, encrypted_2 = seed ^ proj_key_enc, proj_key_enc, version_enc
    plain = bytearray()
    for enc in buf[3:]:
        byte = enc ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        plain.append(byte)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, enc, byte
    plain = plain[(seed & 6) // 2 :]
    length = struct.unpack("<I", plain[:4])[0]
    if length != len(plain) - 4:
        raise ValueError("MS-OVBA encrypted data has an inconsistent length")
    return bytes(plain[4:])


def _project_stream(modules: list[VbaModule], project_name: str, project_id: str, enc: str) -> bytes:
    # CMG: ProjectProtectionState (u32 0 = not protected), 2.3.1.15.
    cmg = _encrypt(project_id, _u32(0))
    # DPB: ProjectPassword; a single 0x00 byte means "no password", 2.3.1.16.
    dpb = _encrypt(project_id, bytes([0x00]))
    # GC: ProjectVisibilityState; 0xFF = visible, 2.3.1.17.
    gc = _encrypt(project_id, bytes([0xFF]))
    lines = [f'ID="{project_id}"']
    # ProjectModule lines (2.3.1.3): Document=<name>/&H<u32 version>, Module=, Class=.
    for m in modules:
        if m.kind == "document":
            lines.append(f"Document={m.name}/&H00000000")
        elif m.kind == "class":
            lines.append(f"Class={m.name}")
        else:
            lines.append(f"Module={m.name}")
    lines += [
        f'Name="{project_name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{cmg}"',
        f'DPB="{dpb}"',
        f'GC="{gc}"',
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
    ]
    # ProjectWindowRecord (2.3.1.20): closed code windows.
    lines += [f"{m.name}=0, 0, 0, 0, C" for m in modules]
    return ("\r\n".join(lines) + "\r\n").encode(enc)


def _projectwm_stream(modules: list[VbaModule], enc: str) -> bytes:
    """2.3.3 PROJECTwm: each name as MBCS + NUL and UTF-16 + NUL, then a u16 0."""
    out = bytearray()
    for m in modules:
        out += m.name.encode(enc) + b"\0" + m.name.encode("utf-16-le") + b"\0\0"
    return bytes(out + b"\0\0")


# --------------------------------------------------------------------------------------
# Public builder
# --------------------------------------------------------------------------------------


def build_vba_project(
    modules: Iterable[VbaModule], project_name: str = "VBAProject", codepage: int = 1252
) -> bytes:
    """Return the bytes of a ``vbaProject.bin`` holding ``modules``.

    Modules appear in the given order.  Document modules must match the
    workbook's code names (see :func:`document_modules`).  The output depends
    only on the arguments.
    """
    modules = list(modules)
    if not _IDENT.match(project_name):
        raise ValueError(f"invalid VBA project name {project_name!r}")
    try:
        enc = codecs.lookup(f"cp{codepage}").name
    except LookupError:
        raise ValueError(f"unknown code page {codepage}") from None
    seen: set[str] = set()
    for m in modules:
        if m.name.upper() in seen:
            raise ValueError(f"duplicate VBA module name {m.name!r} (names are case-insensitive)")
        seen.add(m.name.upper())
    if project_name.upper() in seen:
        raise ValueError(f"a module may not have the project's name {project_name!r}")
    # A stable project ID per project name; Excel uses a GUID here.
    project_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"perfscore-vba:{project_name}")).upper() + "}"

    root = Storage()
    vba = root.add_storage("VBA")
    # 2.3.4.1 _VBA_PROJECT: Reserved1=0x61CC, Version=0xFFFF (forces Office to
    # compile from source), Reserved2=0x00, Reserved3=u16 (ignored), no PerformanceCache.
    vba.add_stream("_VBA_PROJECT", struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0000))
    vba.add_stream("dir", compress(_dir_stream(modules, project_name, codepage, enc)))
    for m in modules:
        # 2.3.4.3 Module stream: PerformanceCache (empty, MODULEOFFSET 0) +
        # CompressedSourceCode.
        vba.add_stream(m.name, compress(stored_source(m).encode(enc)))
    root.add_stream("PROJECT", _project_stream(modules, project_name, project_id, enc))
    root.add_stream("PROJECTwm", _projectwm_stream(modules, enc))
    return write_cfb(root)


# --------------------------------------------------------------------------------------
# Attaching the project to an openpyxl workbook
# --------------------------------------------------------------------------------------

_XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_VBA_CT = "application/vnd.ms-office.vbaProject"

_SEED_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    f'<Default Extension="bin" ContentType="{_VBA_CT}"/>'
    f'<Override PartName="/xl/vbaProject.bin" ContentType="{_VBA_CT}"/>'
    "</Types>"
)
_SEED_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
)


def save_xlsm(wb, path: str | os.PathLike, vba_bin: bytes) -> None:
    """Save openpyxl workbook ``wb`` as a macro-enabled ``.xlsm`` carrying ``vba_bin``.

    Uses openpyxl's keep-VBA route: a ``wb.vba_archive`` zip holding
    ``[Content_Types].xml``, ``_rels/.rels`` and ``xl/vbaProject.bin`` makes
    openpyxl write the vbaProject part, its relationship and the macro-enabled
    content type.  Code names are completed as in :func:`document_modules`,
    which must have produced the document modules inside ``vba_bin``.  The file
    is written to a temporary file in the target directory and moved into
    place with ``os.replace``, so readers never see a half-written file.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsm":
        raise ValueError(f"{path}: a workbook with macros must have the .xlsm extension")
    if not vba_bin.startswith(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"):
        raise ValueError("vba_bin is not a compound file (vbaProject.bin)")
    document_modules(wb)  # make sure the workbook has code names

    archive = zipfile.ZipFile(io.BytesIO(), "a", zipfile.ZIP_DEFLATED)
    archive.writestr("[Content_Types].xml", _SEED_CONTENT_TYPES)
    archive.writestr("_rels/.rels", _SEED_ROOT_RELS)
    archive.writestr("xl/vbaProject.bin", vba_bin)
    previous = wb.vba_archive
    wb.vba_archive = archive
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".xlsm.tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        wb.save(tmp)
        _check_xlsm(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        wb.vba_archive = previous


def _check_xlsm(path: str) -> None:
    """Check that openpyxl really wrote a macro-enabled package with the project."""
    with zipfile.ZipFile(path) as z:
        ct = z.read("[Content_Types].xml").decode("utf-8")
        names = set(z.namelist())
    if _XLSM_MAIN not in ct:
        raise ValueError("written workbook is not declared macro-enabled in [Content_Types].xml")
    if "xl/vbaProject.bin" not in names or _VBA_CT not in ct:
        raise ValueError("written workbook lacks the xl/vbaProject.bin part or its content type")
