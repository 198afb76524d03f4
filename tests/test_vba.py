"""Tests for perfscore.excel.vba: MS-OVBA compression, the CFB writer, the VBA project and the .xlsm.

The checks are real third-party readers, not mocks: oletools' ``decompress_stream``
(compression oracle), ``olefile`` (compound file), ``olevba`` (whole project) and,
when installed, LibreOffice headless through its UNO bridge.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oletools.olevba import VBA_Parser, decompress_stream

from perfscore.excel.vba import cfb, ovba, project
from perfscore.excel.vba.project import (
    VbaModule,
    build_vba_project,
    document_modules,
    parse_module_file,
    save_xlsm,
    stored_source,
    xlwings_modules,
)

XLWINGS_DIR = Path(__import__("xlwings").__file__).parent
XLWINGS_BAS = XLWINGS_DIR / "xlwings.bas"
DICTIONARY_CLS = XLWINGS_DIR / "addin" / "Dictionary.cls"
LO_SCRIPT = Path(project.__file__).parents[1] / "uno" / "lo_list_modules.py"

# ---------------------------------------------------------------------------------------------
# (a) MS-OVBA compression, oracle: oletools.olevba.decompress_stream
# ---------------------------------------------------------------------------------------------

# [MS-OVBA] 3.2 examples (hex as printed in the spec).
SPEC_NO_COMPRESSION = (
    b"abcdefghijklmnopqrstuv.",
    "01 19 B0 00 61 62 63 64 65 66 67 68 00 69 6A 6B 6C 6D 6E 6F 70 00 71 72 73 74 75 76 2E",
)
SPEC_NORMAL = (
    b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",
    "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 30 6D 6E"
    " 6F 70 06 71 02 70 04 10 72 73 74 75 76 10 77 78 79 7A 00 3C",
)
SPEC_MAXIMUM_HEX = "01 03 B0 02 61 45 00"
# What the spec's pseudo-code gives for SPEC_NORMAL's input (see the test).
PSEUDO_CODE_NORMAL = (
    "01 2F B0 00 23 61 61 61 62 63 64 65 82 66 00 70 61 67 68 69 6A 01 38 08 61 6B 6C 00 20 6D 6E"
    " 6F 70 06 71 02 70 04 00 72 73 74 75 76 10 77 78 79 7A 00 2C"
)


def _hex(s: str) -> bytes:
    return bytes.fromhex(s.replace(" ", ""))


def _roundtrip(data: bytes) -> bytes:
    """Compress, decompress with oletools (the oracle), compare. A short final chunk stored raw is padded with
    0x00 to 4096 bytes (MS-OVBA 2.4.1.3.10), which the decoder returns after the data."""
    packed = ovba.compress(data)
    out = decompress_stream(packed)
    tail = len(data) % 4096
    if tail and not _chunk_headers(packed)[-1][1]:
        assert out == data + b"\x00" * (4096 - tail)
    else:
        assert out == data
    return packed


def _chunk_headers(packed: bytes) -> list[tuple[int, bool]]:
    """(chunk size incl. header, compressed flag) of every chunk, walking the container."""
    out, pos = [], 1
    while pos < len(packed):
        header = int.from_bytes(packed[pos : pos + 2], "little")
        assert (header >> 12) & 0b111 == 0b011, "chunk signature"
        size = (header & 0x0FFF) + 3
        out.append((size, bool(header & 0x8000)))
        pos += size
    return out


def test_short_final_raw_chunk_is_padded_as_the_spec_says():
    """MS-OVBA 2.4.1.3.10: a raw chunk always carries 4096 bytes; a short final one is padded with 0x00."""
    data = b"Attribute VB_Name = \"x\"\r\n" * 160 + b"\r\n" * 8 + random.Random(3).randbytes(3900)
    packed = ovba.compress(data)
    headers = _chunk_headers(packed)
    assert headers[-1] == (4098, False) and len(packed) == 1 + sum(size for size, _ in headers)
    assert decompress_stream(packed) == data + b"\x00" * (4096 - len(data) % 4096)


def test_compress_empty():
    assert ovba.compress(b"") == b"\x01"
    assert decompress_stream(b"\x01") == b""


@pytest.mark.parametrize("data", [b"a", b"ab", b"abc", b"aaaa", b"\x00", b"\r\n"])
def test_compress_tiny(data):
    _roundtrip(data)


def test_spec_example_no_compression_is_byte_identical():
    text, hexed = SPEC_NO_COMPRESSION
    assert ovba.compress(text) == _hex(hexed)


def test_spec_example_maximum_compression_is_byte_identical():
    expected = _hex(SPEC_MAXIMUM_HEX)
    text = decompress_stream(expected)  # a run of 'a' (the spec prints it as such)
    assert set(text) == {ord("a")} and len(text) == 73
    assert ovba.compress(text) == expected


def test_spec_example_normal_compression():
    # The spec's printed output for this example does not follow its own
    # pseudo-code at three copy tokens (0x0030 vs 0x0020, 0x1004 vs 0x0004,
    # 0x003C vs 0x002C: it picks a farther one of several equally long
    # matches).  Both decode to the same text; ours is what the pseudo-code
    # (nearest of the longest matches, 2.4.1.3.19.4) produces.
    text, hexed = SPEC_NORMAL
    assert decompress_stream(_hex(hexed)) == text
    ours = _roundtrip(text)
    assert len(ours) == len(_hex(hexed))
    assert ours == _hex(PSEUDO_CODE_NORMAL)


@pytest.mark.parametrize("size", [1, 100, 4095, 4096, 4097, 8192, 10_000, 50_000])
def test_compress_random_bytes(size):
    data = random.Random(size).randbytes(size)
    packed = _roundtrip(data)
    # Incompressible full chunks are stored raw (2.4.1.3.10): 4098 bytes, flag 0.
    headers = _chunk_headers(packed)
    assert len(headers) == -(-size // 4096)
    if size >= 4096:
        assert headers[0] == (4098, False)


@pytest.mark.parametrize(
    "data",
    [
        b"a" * 100_000,
        b"ab" * 30_000,
        b"Dim x As Long\r\n" * 5_000,
        b"\x00" * 4096,
        b"\x00" * 4097,
        bytes(range(256)) * 64,
    ],
    ids=["a-run", "ab-run", "vba-lines", "zeros-4096", "zeros-4097", "byte-ramp"],
)
def test_compress_repetitive(data):
    packed = _roundtrip(data)
    assert len(packed) < len(data) / 4
    assert all(compressed and size <= 4098 for size, compressed in _chunk_headers(packed))


def test_compress_xlwings_bas():
    data = XLWINGS_BAS.read_bytes()
    assert len(data) > 40_000 and data.count(b"\n") > 1_000  # large: this broke ms_ovba_compression
    packed = _roundtrip(data)
    assert len(_chunk_headers(packed)) == -(-len(data) // 4096)
    assert len(packed) < len(data) / 2


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=12_000))
def test_compress_property_binary(data):
    assert decompress_stream(ovba.compress(data)) == data


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"b", b" ", b"\r\n", b"End Sub", b"xyz" * 20]), max_size=3_000))
def test_compress_property_matchy_text(parts):
    # Few distinct pieces: long, overlapping and chunk-crossing matches.
    data = b"".join(parts)
    assert decompress_stream(ovba.compress(data)) == data


# ---------------------------------------------------------------------------------------------
# CFB writer, checked with olefile
# ---------------------------------------------------------------------------------------------


def _cfb_order(name: str):
    return (len(name), name.upper())


def _check_tree(entries, root_sid) -> list[str]:
    """In-order names of one storage's tree; asserts BST order and red-black rules."""
    names: list[str] = []

    def walk(sid) -> int:  # returns black height
        if sid == olefile.NOSTREAM:
            return 1
        e = entries[sid]
        lh = walk(e.sid_left)
        names.append(e.name)
        rh = walk(e.sid_right)
        assert lh == rh, f"black heights differ under {e.name}"
        if e.color == 0:  # red: children must be black (or nil)
            for c in (e.sid_left, e.sid_right):
                assert c == olefile.NOSTREAM or entries[c].color == 1
        return lh + (e.color == 1)

    walk(root_sid)
    if root_sid != olefile.NOSTREAM:
        assert entries[root_sid].color == 1, "tree root must be black"
    assert names == sorted(names, key=_cfb_order), names
    return names


def test_cfb_roundtrip_with_olefile():
    rng = random.Random(7)
    root = cfb.Storage()
    expected: dict[str, bytes] = {}
    names = ["b", "A", "ab", "AC", "Zz", "_VBA_PROJECT", "dir", "xlwings", "PROJECT", "PROJECTwm"]
    names += [f"Module{i}" for i in range(12)]
    vba = root.add_storage("VBA")
    sub = vba.add_storage("Nested")
    for i, name in enumerate(names):
        size = [0, 1, 63, 64, 65, 4095, 4096, 4097, 20_000][i % 9]
        data = rng.randbytes(size)
        (vba if i % 2 else root).add_stream(name, data)
        expected[("VBA/" if i % 2 else "") + name] = data
    sub.add_stream("deep", b"deep data")
    expected["VBA/Nested/deep"] = b"deep data"
    blob = cfb.write_cfb(root)
    assert cfb.write_cfb(root) == blob  # deterministic

    ole = olefile.OleFileIO(io.BytesIO(blob), raise_defects=olefile.DEFECT_INCORRECT)
    listed = {"/".join(p) for p in ole.listdir(streams=True, storages=False)}
    assert listed == set(expected)
    for path, data in expected.items():
        assert ole.get_size(path) == len(data)
        assert ole.openstream(path).read() == data
    # Directory trees: sibling order by CFB name comparison, valid red-black colouring.
    entries = ole.direntries
    for e in entries:
        if e is not None and e.entry_type in (olefile.STGTY_ROOT, olefile.STGTY_STORAGE):
            _check_tree(entries, e.sid_child)
    ole.close()


def test_cfb_rejects_bad_names():
    root = cfb.Storage()
    root.add_stream("dir", b"")
    with pytest.raises(ValueError, match="duplicate"):
        root.add_stream("DIR", b"")
    with pytest.raises(ValueError, match="31"):
        root.add_stream("x" * 32, b"")
    with pytest.raises(ValueError, match="/"):
        root.add_stream("a/b", b"")


# ---------------------------------------------------------------------------------------------
# (b) The VBA project: xlwings.bas + Dictionary.cls + own module + ThisWorkbook + 2 sheets
# ---------------------------------------------------------------------------------------------

OWN_BAS = """Attribute VB_Name = "PerfMacros"
Option Explicit

' Chinese text is built with ChrW: VBA source stays ASCII.
Public Function PerfTitle() As String
    PerfTitle = ChrW(&H7EE9) & ChrW(&H6548) & ChrW(&H8BC4) & ChrW(&H4EF7)
End Function
"""

_HEADER_LINE = re.compile(r'(?:VERSION \S+ CLASS|BEGIN|END|  \w+ = .*|Attribute VB_\w+ = .*)\Z')


def _split_header(text: str) -> tuple[list[str], str]:
    """Split exported/stored module text into (module-level Attribute lines, body).

    This is the only normalisation in the comparison: line endings become CRLF,
    the editor's export header (``VERSION 1.0 CLASS``, ``BEGIN``..``END``) is
    dropped, and the leading ``Attribute VB_xxx = ...`` lines are returned
    separately (they are compared as a list, not textually with the body).
    Procedure-level attributes (``Attribute Item.VB_UserMemId = 0``) stay in
    the body and must match byte for byte.
    """
    lines = re.sub(r"\r\n|\r|\n", "\r\n", text).split("\r\n")
    i = 0
    attrs = []
    while i < len(lines) and _HEADER_LINE.match(lines[i]):
        if lines[i].startswith("Attribute "):
            attrs.append(lines[i])
        i += 1
    return attrs, "\r\n".join(lines[i:])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Workbook with two sheets and the full module set, saved as .xlsm."""
    wb = openpyxl.Workbook()
    wb.active.title = "指标"  # Chinese sheet names are fine: code names are ASCII
    wb.create_sheet("xlwings.conf")
    docs = document_modules(wb)
    modules = docs + xlwings_modules() + [parse_module_file(OWN_BAS, "PerfMacros.bas")]
    t0 = time.perf_counter()
    vba_bin = build_vba_project(modules)
    build_seconds = time.perf_counter() - t0
    path = tmp_path_factory.mktemp("xlsm") / "绩效评分.xlsm"
    save_xlsm(wb, path, vba_bin)
    return {"path": path, "modules": modules, "vba_bin": vba_bin, "build_seconds": build_seconds}


def test_xlwings_sources_are_ascii_and_parse():
    for f in (XLWINGS_BAS, DICTIONARY_CLS):
        f.read_bytes().decode("ascii")  # raises if xlwings ever ships non-ASCII
    bas, cls = xlwings_modules()
    assert (bas.name, bas.kind) == ("xlwings", "standard")
    assert (cls.name, cls.kind) == ("Dictionary", "class")
    assert 'Attribute VB_Name = "xlwings"' not in bas.code
    assert ("VB_Exposed", "True") in cls.attributes


def test_document_modules_set_code_names():
    wb = openpyxl.Workbook()
    wb.create_sheet("B")
    wb["B"].sheet_properties.codeName = "Sheet1"  # taken: the first sheet gets Sheet2
    docs = document_modules(wb)
    assert [d.name for d in docs] == ["ThisWorkbook", "Sheet2", "Sheet1"]
    assert wb.code_name == "ThisWorkbook"
    assert [ws.sheet_properties.codeName for ws in wb.worksheets] == ["Sheet2", "Sheet1"]
    assert docs[0].base == project.WORKBOOK_BASE and docs[1].base == project.WORKSHEET_BASE


def test_build_time_and_size(built):
    assert built["build_seconds"] < 5
    assert 10_000 < len(built["vba_bin"]) < 200_000


def test_xlsm_package(built):
    with zipfile.ZipFile(built["path"]) as z:
        ct = z.read("[Content_Types].xml").decode()
        wb_xml = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        assert z.read("xl/vbaProject.bin") == built["vba_bin"]
        sheets = [z.read(n).decode() for n in sorted(z.namelist()) if n.startswith("xl/worksheets/sheet")]
    assert "application/vnd.ms-excel.sheet.macroEnabled.main+xml" in ct
    assert "application/vnd.ms-office.vbaProject" in ct  # Default for .bin (openpyxl's way)
    assert "vbaProject.bin" in rels and "relationships/vbaProject" in rels
    assert 'codeName="ThisWorkbook"' in wb_xml
    assert ['codeName="Sheet1"' in sheets[0], 'codeName="Sheet2"' in sheets[1]] == [True, True]
    # Atomic write left no temporary file behind.
    assert [p.name for p in built["path"].parent.iterdir()] == [built["path"].name]


def test_olevba_reads_every_module_back(built):
    parser = VBA_Parser(str(built["path"]))
    try:
        assert parser.detect_vba_macros()
        got = {vba_filename: (stream, code) for _, stream, vba_filename, code in parser.extract_macros()}
    finally:
        parser.close()
    modules = built["modules"]
    ext = {"standard": ".bas", "class": ".cls", "document": ".cls"}  # olevba: MODULETYPE 0x21 / 0x22
    assert set(got) == {m.name + ext[m.kind] for m in modules}
    for m in modules:
        stream, code = got[m.name + ext[m.kind]]
        assert stream == f"VBA/{m.name}"
        assert code == stored_source(m)  # exactly what we stored, byte for byte

    # Against the original files; see _split_header for the normalisation.
    xl_code = got["xlwings.bas"][1]
    assert xl_code == XLWINGS_BAS.read_bytes().decode("ascii")  # identical, header included
    assert xl_code.count("\r\n") == 1203

    attrs, body = _split_header(got["Dictionary.cls"][1])
    src_attrs, src_body = _split_header(DICTIONARY_CLS.read_bytes().decode("ascii"))
    assert body == src_body
    assert attrs[:2] == ['Attribute VB_Name = "Dictionary"', f'Attribute VB_Base = "{project.CLASS_BASE}"']
    # Every attribute of the file is kept (its values win over the defaults); Excel's two extra
    # class attributes are added.
    assert sorted(attrs) == sorted(
        src_attrs + [f'Attribute VB_Base = "{project.CLASS_BASE}"'] + [
            "Attribute VB_TemplateDerived = False",
            "Attribute VB_Customizable = False",
        ]
    )

    attrs, body = _split_header(got["PerfMacros.bas"][1])
    assert attrs == ['Attribute VB_Name = "PerfMacros"'] and body == _split_header(OWN_BAS)[1]

    for doc, base in (("ThisWorkbook", project.WORKBOOK_BASE), ("Sheet1", project.WORKSHEET_BASE)):
        attrs, body = _split_header(got[doc + ".cls"][1])
        assert attrs[:2] == [f'Attribute VB_Name = "{doc}"', f'Attribute VB_Base = "{base}"']
        assert "Attribute VB_PredeclaredId = True" in attrs and body == ""


def test_project_streams(built):
    ole = olefile.OleFileIO(io.BytesIO(built["vba_bin"]), raise_defects=olefile.DEFECT_INCORRECT)
    try:
        streams = {"/".join(p) for p in ole.listdir()}
        names = [m.name for m in built["modules"]]
        assert streams == {"PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir"} | {f"VBA/{n}" for n in names}
        assert ole.openstream("VBA/_VBA_PROJECT").read() == b"\xCC\x61\xFF\xFF\x00\x00\x00"
        text = ole.openstream("PROJECT").read().decode("ascii")
        wm = ole.openstream("PROJECTwm").read()
    finally:
        ole.close()
    lines = text.split("\r\n")
    assert [ln for ln in lines if ln.split("=")[0] in ("Document", "Module", "Class")] == [
        "Document=ThisWorkbook/&H00000000",
        "Document=Sheet1/&H00000000",
        "Document=Sheet2/&H00000000",
        "Module=xlwings",
        "Class=Dictionary",
        "Module=PerfMacros",
    ]
    assert 'Name="VBAProject"' in lines
    # CMG/DPB/GC decode ([MS-OVBA] 2.4.3.3) to: not protected, no password, visible.
    fields = dict(ln.split("=", 1) for ln in lines if ln[:4] in ("CMG=", "DPB=", "GC=\""))
    assert project._decrypt(fields["CMG"].strip('"')) == b"\0\0\0\0"
    assert project._decrypt(fields["DPB"].strip('"')) == b"\0"
    assert project._decrypt(fields["GC"].strip('"')) == b"\xFF"
    expected_wm = b"".join(n.encode() + b"\0" + n.encode("utf-16-le") + b"\0\0" for n in names) + b"\0\0"
    assert wm == expected_wm


def test_decrypt_known_excel_vector():
    # A CMG value written by Office (project not protected) decodes to four zero bytes.
    assert project._decrypt("1715EF1A11262C2A2C2A2C2A2C2A") == b"\0\0\0\0"
    pid = "{9E76F5A0-DAC8-4521-BCEF-644697F88708}"
    assert project._decrypt(project._encrypt(pid, b"\x01\x02\x03", seed=0xA6)) == b"\x01\x02\x03"


# ---------------------------------------------------------------------------------------------
# Determinism and input errors
# ---------------------------------------------------------------------------------------------

_BUILD_SNIPPET = """
import hashlib, openpyxl
from perfscore.excel.vba.project import build_vba_project, document_modules, xlwings_modules
wb = openpyxl.Workbook(); wb.create_sheet("B")
print(hashlib.sha256(build_vba_project(document_modules(wb) + xlwings_modules())).hexdigest())
"""


def test_build_is_deterministic(built):
    assert build_vba_project(built["modules"]) == built["vba_bin"]
    # Also across interpreters with different hash seeds.
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run(
            [sys.executable, "-c", _BUILD_SNIPPET], env=env, capture_output=True, text=True, check=True, timeout=60
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_non_ascii_source_is_rejected():
    mod = VbaModule("M", code='MsgBox "绩效"\r\n')
    with pytest.raises(ValueError, match=r"line 2: non-ASCII .*ChrW\(&H7EE9\)"):
        build_vba_project([mod])
    with pytest.raises(ValueError, match="non-ASCII byte 0xE7.*ChrW"):
        project._ascii_text('x\nMsgBox "绩效"'.encode("utf-8"), "M.bas")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: VbaModule("1abc"), "invalid VBA module name"),
        (lambda: VbaModule("a" * 32), "invalid VBA module name"),
        (lambda: VbaModule("M", attributes=(("VB_Name", '"X"'),)), "derived"),
        (lambda: parse_module_file("Option Explicit\r\n"), "VB_Name"),
        (lambda: parse_module_file("VERSION 1.0 CLASS\r\nBEGIN\r\n  MultiUse = -1\r\n"), "BEGIN block"),
        (lambda: build_vba_project([VbaModule("A"), VbaModule("a")]), "duplicate"),
        (lambda: build_vba_project([VbaModule("A")], project_name="A"), "project's name"),
        (lambda: build_vba_project([VbaModule("A")], codepage=99999), "code page"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_parse_exported_class_header():
    m = parse_module_file(DICTIONARY_CLS.read_bytes().decode("ascii"))  # no file name: header says class
    assert m.kind == "class" and m.name == "Dictionary"
    assert not m.code.startswith(("VERSION", "BEGIN", "Attribute VB_"))
    assert parse_module_file('Attribute VB_Name = "X"\n', "X.cls").kind == "class"
    assert parse_module_file('Attribute VB_Name = "X"\n', "X.bas").kind == "standard"


def test_save_xlsm_errors_leave_target_untouched(tmp_path):
    wb = openpyxl.Workbook()
    target = tmp_path / "book.xlsm"
    target.write_bytes(b"old")
    with pytest.raises(ValueError, match="not a compound file"):
        save_xlsm(wb, target, b"junk")
    with pytest.raises(ValueError, match=".xlsm"):
        save_xlsm(wb, tmp_path / "book.xlsx", build_vba_project(document_modules(wb)))
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsm"]


# ---------------------------------------------------------------------------------------------
# (c) LibreOffice headless loads the .xlsm and lists every module under VBAProject
# ---------------------------------------------------------------------------------------------

_LO_HINT = "LibreOffice check needs: apt-get install libreoffice-calc python3-uno"


def _lo_available() -> bool:
    if shutil.which("soffice") is None or not os.path.exists("/usr/bin/python3"):
        return False
    probe = subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, timeout=30)
    return probe.returncode == 0


def test_libreoffice_lists_modules(built):
    if not _lo_available():
        pytest.skip(_LO_HINT)
    t0 = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # system Python, own paths
    run = subprocess.run(
        ["/usr/bin/python3", str(LO_SCRIPT), str(built["path"]), "--timeout", "45"],
        capture_output=True, text=True, timeout=60, env=env,
    )
    elapsed = time.perf_counter() - t0
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert "VBAProject" in result["libraries"]
    lo = result["modules"]
    assert set(lo) == {m.name for m in built["modules"]}
    # LibreOffice's own marker of the module type it read from the dir stream.
    lo_type = {"standard": "VBAModule", "class": "VBAClassModule", "document": "VBADocumentModule"}
    for m in built["modules"]:
        assert lo[m.name].startswith(f"Rem Attribute VBA_ModuleType={lo_type[m.kind]}\n")
    assert "Function GetConfig(" in lo["xlwings"] and "Public Function Exists(" in lo["Dictionary"]
    assert "ChrW(&H7EE9)" in lo["PerfMacros"]
    assert elapsed < 30, f"LibreOffice check took {elapsed:.1f} s"


def test_dir_stream_records(built):
    """Walk the decompressed VBA/dir stream record by record ([MS-OVBA] 2.3.4.2)."""
    ole = olefile.OleFileIO(io.BytesIO(built["vba_bin"]))
    try:
        data = decompress_stream(ole.openstream("VBA/dir").read())
    finally:
        ole.close()
    pos, ids, module_types = 0, [], []
    while pos < len(data):
        rec_id = int.from_bytes(data[pos : pos + 2], "little")
        size = int.from_bytes(data[pos + 2 : pos + 6], "little")
        if rec_id == 0x0009:  # PROJECTVERSION: the u32 is Reserved=4, then 6 bytes follow
            assert size == 4
            size = 6
        ids.append(rec_id)
        if rec_id in (0x0021, 0x0022):
            module_types.append(rec_id)
        pos += 6 + size
    assert pos == len(data) and ids[-1] == 0x0010  # dir Terminator ends the stream exactly
    assert ids[:13] == [0x01, 0x02, 0x14, 0x03, 0x04, 0x05, 0x40, 0x06, 0x3D, 0x07, 0x08, 0x09, 0x0C]
    assert ids.count(0x0D) == 2  # stdole and Office, REFERENCEREGISTERED
    kind_id = {"standard": 0x0021, "class": 0x0022, "document": 0x0022}
    assert module_types == [kind_id[m.kind] for m in built["modules"]]
    assert ids.count(0x002B) == len(built["modules"])  # one Terminator per module


def test_office_reference_is_version_2_0_as_excel_writes_it(built):
    """Office 2016+ alone knows type library 2.8; Excel-saved files reference 2.0, which every Office resolves."""
    ole = olefile.OleFileIO(io.BytesIO(built["vba_bin"]))
    try:
        data = decompress_stream(ole.openstream("VBA/dir").read())
    finally:
        ole.close()
    libids = re.findall(rb"\*\\G\{[0-9A-F-]+\}#[0-9.]+#", data)
    assert b"*\\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#" in libids
    assert b"*\\G{00020430-0000-0000-C000-000000000046}#2.0#" in libids
    assert not any(b"#2.8#" in x for x in libids)
