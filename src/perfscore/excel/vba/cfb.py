"""A minimal, deterministic Compound File Binary writer ([MS-CFB], version 3).

Only what a ``vbaProject.bin`` needs: a root storage holding nested storages
and streams, written in one go.  Fixed choices, so that the same input always
gives the same bytes:

* major version 3, 512-byte sectors (MS-CFB 2.2), 64-byte mini sectors;
* streams shorter than 4096 bytes (the mini stream cutoff) live in the mini
  stream (MS-CFB 2.5), longer ones in regular sectors;
* all CLSIDs, state bits and timestamps are zero (MS-CFB 2.6.1 allows zero
  times; the root entry's modified time may be zero as well);
* sector layout: mini stream, large streams, directory, MiniFAT, FAT.  Only
  the 109 DIFAT entries in the header are used (no DIFAT sectors), which caps
  the file at 109 FAT sectors, i.e. about 7 MB: far beyond any VBA project.

The directory of each storage is a red-black tree keyed by CFB's name order
(MS-CFB 2.6.4: shorter names first, then code points compared after
upper-casing).  We build a perfectly balanced tree from the sorted names and
colour it so that the red-black properties hold (see ``_build_tree``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = ["Storage", "write_cfb"]

SECTOR_SIZE = 512
MINI_SECTOR_SIZE = 64
MINI_STREAM_CUTOFF = 4096
DIR_ENTRY_SIZE = 128

# Special sector numbers (MS-CFB 2.1).
FATSECT = 0xFFFFFFFD
ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
NOSTREAM = 0xFFFFFFFF

# Object types and colours of a directory entry (MS-CFB 2.6.1).
_STORAGE, _STREAM, _ROOT = 1, 2, 5
_RED, _BLACK = 0, 1

_HEADER_DIFAT_ENTRIES = 109


@dataclass
class Storage:
    """A storage: a named folder holding streams (bytes) and child storages."""

    name: str = "Root Entry"
    streams: dict[str, bytes] = field(default_factory=dict)
    storages: dict[str, "Storage"] = field(default_factory=dict)

    def add_stream(self, name: str, data: bytes) -> None:
        _check_name(name)
        self._check_free(name)
        self.streams[name] = bytes(data)

    def add_storage(self, name: str) -> "Storage":
        _check_name(name)
        self._check_free(name)
        child = Storage(name)
        self.storages[name] = child
        return child

    def _check_free(self, name: str) -> None:
        # Names are compared case-insensitively within one storage (MS-CFB 2.6.4).
        taken = {n.upper() for n in (*self.streams, *self.storages)}
        if name.upper() in taken:
            raise ValueError(f"duplicate CFB entry name {name!r} in storage {self.name!r}")


def _check_name(name: str) -> None:
    # MS-CFB 2.6.1: at most 31 UTF-16 code units plus terminator; '/', '\\',
    # ':' and '!' are not allowed.
    if not name:
        raise ValueError("CFB entry name must not be empty")
    if len(name.encode("utf-16-le")) > 62:
        raise ValueError(f"CFB entry name {name!r} is longer than 31 characters")
    if any(c in name for c in "/\\:!"):
        raise ValueError(f"CFB entry name {name!r} contains one of / \\ : !")


def _sort_key(name: str) -> tuple[int, str]:
    """MS-CFB 2.6.4 ordering: shorter name first, then upper-cased compare.

    (The spec upper-cases with a simple per-character mapping; for the ASCII
    names used in VBA projects ``str.upper`` is exactly that.)
    """
    return (len(name.encode("utf-16-le")), name.upper())


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: list["_Entry"] = field(default_factory=list)
    index: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = _BLACK
    start: int = ENDOFCHAIN
    size: int = 0


def _build_tree(nodes: list[_Entry]) -> int:
    """Link ``nodes`` (siblings in one storage) as a balanced red-black tree.

    Returns the index of the tree's root (NOSTREAM if empty).

    Splitting the sorted list at its median gives a tree whose empty (nil)
    links all sit at depth D or D+1, where D is the depth of the deepest node.
    Colouring exactly the nodes at depth D red when that level is not full
    (and everything else black) gives every root-to-nil path the same number
    of black nodes, no red node has a red child, and the root is black.
    """
    ordered = sorted(nodes, key=lambda e: _sort_key(e.name))
    depth_of: dict[int, int] = {}

    def link(lo: int, hi: int, depth: int) -> int:
        if lo >= hi:
            return NOSTREAM
        mid = (lo + hi) // 2
        node = ordered[mid]
        depth_of[mid] = depth
        node.left = link(lo, mid, depth + 1)
        node.right = link(mid + 1, hi, depth + 1)
        return node.index

    root = link(0, len(ordered), 0)
    if ordered:
        max_depth = max(depth_of.values())
        level_full = sum(1 for d in depth_of.values() if d == max_depth) == 2 ** max_depth
        for i, node in enumerate(ordered):
            node.color = _RED if (depth_of[i] == max_depth and not level_full) else _BLACK
    return root


def _chain(fat: list[int], first: int, count: int) -> None:
    """Record a contiguous chain of ``count`` sectors starting at ``first``."""
    for i in range(count):
        fat[first + i] = first + i + 1 if i + 1 < count else ENDOFCHAIN


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def write_cfb(root: Storage) -> bytes:
    """Serialise ``root`` (and everything below it) as a CFB v3 file."""
    # 1. Flatten the tree into directory entries; index 0 is the root entry.
    entries: list[_Entry] = []

    def flatten(storage: Storage, kind: int) -> _Entry:
        entry = _Entry(storage.name, kind)
        entry.index = len(entries)
        entries.append(entry)
        for name in sorted(storage.streams, key=_sort_key):
            child = _Entry(name, _STREAM, data=storage.streams[name])
            child.index = len(entries)
            entries.append(child)
            entry.children.append(child)
        for name in sorted(storage.storages, key=_sort_key):
            entry.children.append(flatten(storage.storages[name], _STORAGE))
        return entry

    root_entry = flatten(root, _ROOT)
    root_entry.name = "Root Entry"  # MS-CFB 2.6.2: the root is always so named.
    for entry in entries:
        if entry.kind in (_STORAGE, _ROOT):
            entry.child = _build_tree(entry.children)
    root_entry.color = _BLACK

    # 2. Mini stream: small streams packed in 64-byte mini sectors (MS-CFB 2.5).
    minifat: list[int] = []
    mini_stream = bytearray()
    big_streams: list[_Entry] = []
    for entry in entries:
        if entry.kind != _STREAM:
            continue
        entry.size = len(entry.data)
        if entry.size == 0:
            entry.start = ENDOFCHAIN
        elif entry.size < MINI_STREAM_CUTOFF:
            n = _ceil_div(entry.size, MINI_SECTOR_SIZE)
            entry.start = len(minifat)
            minifat.extend([FREESECT] * n)
            _chain(minifat, entry.start, n)
            mini_stream += entry.data.ljust(n * MINI_SECTOR_SIZE, b"\0")
        else:
            big_streams.append(entry)

    # 3. Sector counts. The FAT must also describe its own sectors, so its size
    # is found by iterating to a fixed point.
    n_mini_stream = _ceil_div(len(mini_stream), SECTOR_SIZE)
    n_big = [_ceil_div(e.size, SECTOR_SIZE) for e in big_streams]
    n_dir = _ceil_div(len(entries) * DIR_ENTRY_SIZE, SECTOR_SIZE)
    n_minifat = _ceil_div(len(minifat) * 4, SECTOR_SIZE)
    n_other = n_mini_stream + sum(n_big) + n_dir + n_minifat
    n_fat = 1
    while n_fat * (SECTOR_SIZE // 4) < n_other + n_fat:
        n_fat += 1
    if n_fat > _HEADER_DIFAT_ENTRIES:
        raise ValueError("compound file too large for a header-only DIFAT (about 7 MB)")
    total = n_other + n_fat

    # 4. Place everything and build the FAT.
    fat = [FREESECT] * (n_fat * (SECTOR_SIZE // 4))
    body = bytearray()
    sector = 0

    def place(data: bytes, count: int) -> int:
        nonlocal sector
        first = sector
        _chain(fat, first, count)
        body.extend(data.ljust(count * SECTOR_SIZE, b"\0"))
        sector += count
        return first

    # The root entry's stream *is* the mini stream; its size is the mini
    # stream's size (MS-CFB 2.6.2).
    if n_mini_stream:
        root_entry.start = place(bytes(mini_stream), n_mini_stream)
        root_entry.size = len(mini_stream)
    else:
        root_entry.start = ENDOFCHAIN
        root_entry.size = 0
    for entry, count in zip(big_streams, n_big):
        entry.start = place(entry.data, count)

    dir_start = sector
    dir_bytes = bytearray()
    for entry in entries:
        dir_bytes += _pack_entry(entry)
    # Unused entries in the last directory sector (MS-CFB 2.6.3).
    while len(dir_bytes) < n_dir * SECTOR_SIZE:
        dir_bytes += _unused_entry()
    place(bytes(dir_bytes), n_dir)

    if n_minifat:
        minifat_padded = minifat + [FREESECT] * (n_minifat * (SECTOR_SIZE // 4) - len(minifat))
        minifat_start = place(struct.pack(f"<{len(minifat_padded)}I", *minifat_padded), n_minifat)
    else:
        minifat_start = ENDOFCHAIN

    fat_start = sector
    for i in range(n_fat):
        fat[fat_start + i] = FATSECT
    body += struct.pack(f"<{len(fat)}I", *fat)
    sector += n_fat
    assert sector == total and len(body) == total * SECTOR_SIZE

    # 5. Header (MS-CFB 2.2).
    difat = [fat_start + i for i in range(n_fat)]
    difat += [FREESECT] * (_HEADER_DIFAT_ENTRIES - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",  # signature
        b"\0" * 16,  # header CLSID
        0x003E,  # minor version
        0x0003,  # major version 3
        0xFFFE,  # byte order: little-endian
        9,  # sector shift: 2**9 = 512
        6,  # mini sector shift: 2**6 = 64
        b"\0" * 6,  # reserved
        0,  # number of directory sectors (must be 0 in v3)
        n_fat,
        dir_start,
        0,  # transaction signature
        MINI_STREAM_CUTOFF,
        minifat_start,
        n_minifat,
        ENDOFCHAIN,  # first DIFAT sector: none
        0,  # number of DIFAT sectors
    )
    header += struct.pack(f"<{_HEADER_DIFAT_ENTRIES}I", *difat)
    assert len(header) == SECTOR_SIZE
    return bytes(header + body)


def _pack_entry(entry: _Entry) -> bytes:
    """One 128-byte directory entry (MS-CFB 2.6.1)."""
    name = entry.name.encode("utf-16-le") + b"\0\0"
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),  # name length in bytes, including the terminator
        entry.kind,
        entry.color,
        entry.left,
        entry.right,
        entry.child,
        b"\0" * 16,  # CLSID
        0,  # state bits
        0,  # creation time
        0,  # modified time
        entry.start if entry.kind != _STORAGE else 0,
        entry.size,
    )


def _unused_entry() -> bytes:
    return struct.pack(
        "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, b"\0" * 16, 0, 0, 0, 0, 0
    )
