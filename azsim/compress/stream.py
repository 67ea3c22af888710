"""The container every encoded weight stream lives in (issue #3).

Layout (little-endian), 24 bytes of header followed by the format's payload::

    offset  size  field
    0       4     magic b"AZW1"
    4       1     format id (see ``azsim.compress.formats.FORMAT_IDS``)
    5       1     bits per code (1..8)
    6       2     format parameter (e.g. relative-index or pointer width; 0 if unused)
    8       4     rows
    12      4     cols
    16      4     payload length in bytes
    20      4     CRC-32 of the payload (zlib.crc32)

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

MAGIC = b"AZW1"
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


def wrap(format_id: int, bits: int, shape: tuple[int, int], payload: bytes, param: int = 0) -> bytes:
    rows, cols = shape
    return _HEADER.pack(MAGIC, format_id, bits, param, rows, cols, len(payload),
                        zlib.crc32(payload)) + payload


def unwrap(stream: bytes, expected_format: int | None = None,
           name: str | None = None) -> tuple[StreamHeader, bytes]:
    """Check a stream and return its header and payload; ``name`` (a format's) for messages.

    Every decoder starts here, so a declared shape above MAX_DECODED_WEIGHTS is refused before
    anything is allocated."""
    if len(stream) < HEADER_BYTES:
        raise CompressedStreamError(
            f"weight stream of {len(stream)} bytes is shorter than its {HEADER_BYTES}-byte header")
    magic, fmt, bits, param, rows, cols, n, crc = _HEADER.unpack_from(stream)
    if magic != MAGIC:
        what = (" (a lattice of azsim run --save-lattice: read it with "
                "azsim.decode.lattice.load_lattice)" if magic.startswith(b"AZL") else "")
        raise CompressedStreamError(f"weight stream starts with {magic!r}, expected "
                                    f"{MAGIC!r}{what}")
    if expected_format is not None and fmt != expected_format:
        raise CompressedStreamError(f"weight stream has format id {fmt}, expected {expected_format}")
    if not 1 <= bits <= 8:
        raise CompressedStreamError(f"weight stream declares {bits} bits per code, allowed 1..8")
    if rows * cols > MAX_DECODED_WEIGHTS:
        what = f"{name} stream" if name else f"weight stream (format id {fmt})"
        raise CompressedStreamError(f"{what} declares a {rows}x{cols} matrix; "
                                    f"at most {MAX_DECODED_WEIGHTS} weights are allowed")
    payload = stream[HEADER_BYTES:]
    if len(payload) != n:
        raise CompressedStreamError(f"weight stream payload is {len(payload)} bytes, header says {n}"
                                    f" ({'truncated' if len(payload) < n else 'trailing bytes'})")
    if zlib.crc32(payload) != crc:
        raise CompressedStreamError("weight stream payload fails its CRC-32 check (corrupted)")
    return StreamHeader(fmt, bits, param, rows, cols, n), payload
