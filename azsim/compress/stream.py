"""The container every encoded weight stream lives in (issue #3).

Layout (little-endian), 24 bytes of header followed by the format's payload::

    offset  size  field
    0       4     magic b"AZW2"
    4       1     format id (each format's ``format_id``, ``azsim.compress.format_base.FORMATS``)
    5       1     bits per code (1..8)
    6       2     format parameter (e.g. relative-index or pointer width; 0 if unused)
    8       4     rows
    12      4     cols
    16      4     payload length in bytes
    20      4     CRC-32 (zlib.crc32) of header bytes 0-19 and the payload

Version 2 (2026-12-06) checks the header too: in version 1 (b"AZW1") the CRC covered the
payload alone, and one flipped bit of the bit width, the format parameter or the shape could
decode to another matrix without an error (an audit found 6,830 such streams among 409,765
corrupted copies, one declaring a 33,554,438 x 7 matrix). Version 1 streams are refused with
a message saying to encode them again.

The stream's length -- header included -- is the size azsim reports: the header is what a
decoder on chip needs to know to walk the payload, so it is part of the cost. Anything that does
not check out raises :class:`azsim.errors.CompressedStreamError`; a stream never decodes to
garbage weights.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import CompressedStreamError

MAGIC = b"AZW2"
_OLD_MAGICS = (b"AZW1",)
# A forged header must not make a decoder allocate gigabytes: 2^28 weights is far above any
# layer azsim models (the largest RNN-T matrices, e.g. a joint output layer, hold ~20 million).
# unwrap checks it, so no decoder can skip it.
MAX_DECODED_WEIGHTS = 1 << 28
_HEADER = struct.Struct("<4sBBHIIII")
HEADER_BYTES = _HEADER.size  # 24


@dataclass(frozen=True)
class StreamHeader:
    format_id: int
    bits: int
    param: int
    rows: int
    cols: int
    payload_bytes: int


_CRC_OFFSET = 20


def stream_crc(head: bytes, payload: bytes) -> int:
    """The CRC-32 a stream stores: of its header's first 20 bytes (all but the CRC field)
    and its payload."""
    return zlib.crc32(payload, zlib.crc32(head[:_CRC_OFFSET]))


def wrap(format_id: int, bits: int, shape: tuple[int, int], payload: bytes, param: int = 0) -> bytes:
    rows, cols = shape
    head = _HEADER.pack(MAGIC, format_id, bits, param, rows, cols, len(payload), 0)
    return head[:_CRC_OFFSET] + struct.pack("<I", stream_crc(head, payload)) + payload


def unwrap(stream: bytes, expected_format: int | None = None,
           name: str | None = None) -> tuple[StreamHeader, bytes]:
    """Check a stream and return its header and payload; ``name`` (a format's) for messages.

    Every decoder starts here, so a declared shape above MAX_DECODED_WEIGHTS is refused before
    anything is allocated."""
    if len(stream) < HEADER_BYTES:
        raise CompressedStreamError(
            f"weight stream of {len(stream)} bytes is shorter than its {HEADER_BYTES}-byte header")
    magic, fmt, bits, param, rows, cols, n, crc = _HEADER.unpack_from(stream)
    if magic in _OLD_MAGICS:
        raise CompressedStreamError(
            f"weight stream starts with {magic!r}, a version whose CRC left the header out "
            f"(before 2026-12-06); encode it again with azsim compress (expected {MAGIC!r})")
    if magic != MAGIC:
        what = (" (a lattice of azsim run --save-lattice: read it with "
                "azsim.decode.lattice.load_lattice)" if magic.startswith(b"AZL") else "")
        raise CompressedStreamError(f"weight stream starts with {magic!r}, expected "
                                    f"{MAGIC!r}{what}")
    payload = stream[HEADER_BYTES:]
    if len(payload) != n:
        raise CompressedStreamError(f"weight stream payload is {len(payload)} bytes, header says {n}"
                                    f" ({'truncated' if len(payload) < n else 'trailing bytes'})")
    if stream_crc(stream[:HEADER_BYTES], payload) != crc:
        raise CompressedStreamError("weight stream fails its CRC-32 check of header and payload "
                                    "(corrupted)")
    if expected_format is not None and fmt != expected_format:
        raise CompressedStreamError(f"weight stream has format id {fmt}, expected {expected_format}")
    if not 1 <= bits <= 8:
        raise CompressedStreamError(f"weight stream declares {bits} bits per code, allowed 1..8")
    if rows * cols > MAX_DECODED_WEIGHTS:
        what = f"{name} stream" if name else f"weight stream (format id {fmt})"
        raise CompressedStreamError(f"{what} declares a {rows}x{cols} matrix; "
                                    f"at most {MAX_DECODED_WEIGHTS} weights are allowed")
    return StreamHeader(fmt, bits, param, rows, cols, n), payload
