"""MS-OVBA compression ([MS-OVBA] section 2.4.1), compression side only.

VBA stores module source code and the ``dir`` stream as a *CompressedContainer*
(2.4.1.1.1): one signature byte ``0x01`` followed by *CompressedChunks*
(2.4.1.1.4).  Each chunk encodes at most 4096 bytes of the input (a
*DecompressedChunk*, 2.4.1.1.3) and is compressed independently: copy tokens
never reach back across the start of their own decompressed chunk.

Layout of one chunk:

* ``CompressedChunkHeader`` (2.4.1.1.5), little-endian 16 bits:
  bits 0-11 = chunk size in bytes *including* the header, minus 3;
  bits 12-14 = signature ``0b011``;
  bit 15 = ``CompressedChunkFlag`` (1 = compressed tokens, 0 = raw bytes).
* Compressed: a series of *TokenSequences* (2.4.1.1.7): a ``FlagByte`` whose bit
  ``i`` (LSB first) says whether token ``i`` of the next up-to-8 tokens is a
  literal byte (0) or a 2-byte ``CopyToken`` (1, 2.4.1.1.8).
* Raw (2.4.1.3.10): the 4096 input bytes verbatim (a short final chunk padded
  with 0x00 to 4096), used when compression would make the chunk larger than
  4098 bytes.

The CopyToken's split between offset bits and length bits is not fixed: it
depends on how far the current position is from the start of the decompressed
chunk (``CopyToken Help``, 2.4.1.3.19.1).  Near the start of a chunk few
offset bits are needed, so more bits go to the length.

The pure-Python matcher below uses hash chains over 3-byte prefixes instead of
the specification's exhaustive backwards scan (2.4.1.3.19.4); it finds the same
longest match (ties go to the nearest candidate, as in the spec) but does it
fast enough for the ~46 KB xlwings.bas.  The decoder any reader uses is the
one in the spec, so any valid choice of matches is acceptable; the result is
deterministic either way.
"""

from __future__ import annotations

import struct

__all__ = ["compress", "CHUNK_SIZE"]

#: Size of a DecompressedChunk (2.4.1.1.3).
CHUNK_SIZE = 4096
#: Largest CompressedChunk including its 2-byte header (2.4.1.1.4).
_MAX_COMPRESSED_CHUNK = 4098
#: Minimum match length a CopyToken can express (length is stored minus 3).
_MIN_MATCH = 3


def _copy_token_help(difference: int) -> tuple[int, int]:
    """2.4.1.3.19.1 CopyToken Help.

    ``difference`` is DecompressedCurrent - DecompressedChunkStart (>= 1 when a
    copy token is possible).  Returns ``(bit_count, maximum_length)`` where
    ``bit_count`` is the number of *offset* bits (between 4 and 12) and
    ``maximum_length`` the longest match that the remaining length bits can
    encode.
    """
    # BitCount = smallest n >= 4 with 2**n >= difference.
    bit_count = max((difference - 1).bit_length(), 4)
    length_mask = 0xFFFF >> bit_count
    return bit_count, length_mask + _MIN_MATCH


def _compress_chunk(data: bytes, start: int, end: int) -> bytes:
    """Compress ``data[start:end]`` (at most 4096 bytes) into one CompressedChunk.

    Implements 2.4.1.3.7 (Compressing a DecompressedChunk) with the raw-chunk
    fallback of 2.4.1.3.10.  Returns header + chunk data.
    """
    assert 0 < end - start <= CHUNK_SIZE
    out = bytearray()
    # Hash chains: 3-byte prefix -> list of positions (ascending) in this chunk.
    chains: dict[bytes, list[int]] = {}
    pos = start

    def index(p: int) -> None:
        if p + _MIN_MATCH <= end:
            chains.setdefault(data[p:p + _MIN_MATCH], []).append(p)

    while pos < end:
        # One TokenSequence (2.4.1.3.8): flag byte placeholder + up to 8 tokens.
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= end:
                break
            best_len = 0
            best_off = 0
            difference = pos - start
            if difference > 0 and pos + _MIN_MATCH <= end:
                bit_count, max_len = _copy_token_help(difference)
                limit = min(max_len, end - pos)
                candidates = chains.get(data[pos:pos + _MIN_MATCH])
                if candidates:
                    # Nearest candidate first: on equal length the nearest wins,
                    # matching the spec's strict ">" in 2.4.1.3.19.4.
                    for cand in reversed(candidates):
                        # Quick reject: the byte that would extend the best match.
                        if best_len and data[cand + best_len] != data[pos + best_len]:
                            continue
                        n = _MIN_MATCH
                        # Matches may overlap the current position; comparing the
                        # input with itself reproduces exactly what the
                        # byte-by-byte decoder copy (2.4.1.3.5) would produce.
                        while n < limit and data[cand + n] == data[pos + n]:
                            n += 1
                        if n > best_len:
                            best_len = n
                            best_off = pos - cand
                            if n == limit:
                                break
            if best_len >= _MIN_MATCH:
                # CopyToken (2.4.1.3.19.3 Pack CopyToken): offset-1 in the high
                # bit_count bits, length-3 in the low 16-bit_count bits.
                token = ((best_off - 1) << (16 - bit_count)) | (best_len - _MIN_MATCH)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                for p in range(pos, pos + best_len):
                    index(p)
                pos += best_len
            else:
                # LiteralToken (2.4.1.3.9 Compressing a Token, no match found).
                out.append(data[pos])
                index(pos)
                pos += 1
        out[flag_at] = flags

    if len(out) + 2 <= _MAX_COMPRESSED_CHUNK:
        # CompressedChunkSize - 3 in bits 0-11, signature 0b011, flag 1.
        header = (len(out) + 2 - 3) | (0b011 << 12) | 0x8000
        return struct.pack("<H", header) + bytes(out)

    # Raw chunk (2.4.1.3.10): header size field 4095 (= 4098 - 3), flag 0, and
    # always 4096 data bytes: a short *final* chunk is padded with 0x00 up to
    # 4096 as the spec says (a decoder then returns those NULs after the input).
    # Only an incompressible tail of more than ~3600 bytes takes this path,
    # which VBA source text never is.
    raw = data[start:end]
    return struct.pack("<H", 0x0FFF | (0b011 << 12)) + raw + b"\x00" * (CHUNK_SIZE - len(raw))


def compress(data: bytes) -> bytes:
    """Return ``data`` as an MS-OVBA CompressedContainer (2.4.1.3.6).

    The empty input gives the bare signature byte ``b"\\x01"``.
    """
    data = bytes(data)
    out = bytearray(b"\x01")  # SignatureByte (2.4.1.1.1)
    for start in range(0, len(data), CHUNK_SIZE):
        out += _compress_chunk(data, start, min(start + CHUNK_SIZE, len(data)))
    return bytes(out)
