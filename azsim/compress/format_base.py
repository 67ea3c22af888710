"""What every weight format shares (issue #3): the encoded result, the code domain, bit I/O and
the format registry.

Value domain
    A weight matrix reaches a format as integer *codes*, a 2-D [rows, cols] array; 0 means a zero
    (pruned) weight, which sparse formats skip.

    - ``bits == 1``: a nonzero is -1 or +1 (binary weights), stored as a one-bit field:
      1 -> +1, 0 -> -1. A 1-bit field cannot hold a zero, so 1-bit dense matrices have none.
    - ``bits >= 2`` (up to 8): codes in [-2^(b-1), 2^(b-1) - 1], stored as b-bit two's
      complement.

Bit order
    A payload is one continuous bit string. Fields are written LSB first, the first field
    starting at bit 0 of byte 0 (``np.packbits(..., bitorder="little")``), and the last byte is
    padded with zero bits. Sections are not byte aligned, so each format's size is
    ``24 + ceil(payload_bits / 8)`` bytes (the 24-byte header of :mod:`azsim.compress.stream`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CompressedStreamError
from ..kernels import read_codes, read_fields
from .stream import MAX_DECODED_WEIGHTS, StreamHeader, unwrap  # noqa: F401 (re-exported)

MAX_CODE_BITS = 8
MAX_FIELD_BITS = 32


@dataclass(frozen=True)
class Encoded:
    """One encoded weight matrix: the real stream and what it is made of."""

    format: str
    stream: bytes           # header + payload; len(stream) is the reported size
    shape: tuple[int, int]
    bits: int
    symbols: int            # entries a hardware decoder walks: stored nonzeros + padding entries
                            # (dense: every code)
    index_bits: int         # payload bits spent on positions (indices, masks, pointers, runs)
    value_bits: int         # payload bits spent on the nonzero values themselves

    @property
    def nbytes(self) -> int:
        return len(self.stream)

    def bits_per_weight(self) -> float:
        """Stream bits (header included) per weight of the matrix; 0.0 for an empty matrix."""
        n_weights = self.shape[0] * self.shape[1]
        return 8 * self.nbytes / n_weights if n_weights else 0.0


# ---- value domain --------------------------------------------------------------------------

def check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) \
            or not 1 <= bits <= MAX_CODE_BITS:
        raise ValueError(f"bits per code is {bits!r}; allowed 1..{MAX_CODE_BITS}")
    return int(bits)


def value_range(bits: int) -> tuple[int, int]:
    """Smallest and largest code of a ``bits``-bit matrix (zero is always allowed)."""
    return (-1, 1) if bits == 1 else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def check_codes(q: np.ndarray, bits: int) -> np.ndarray:
    """Validate ``q`` against the ``bits``-bit domain and return it as an int8 array.

    Raises ValueError naming the dtype, the shape, or the first offending value and where it is.
    """
    bits = check_bits(bits)
    arr = np.asarray(q)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"weight codes must be an integer array, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"weight codes must be a 2-D [rows, cols] array, got shape {arr.shape}")
    lo, hi = value_range(bits)
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        bad = (arr < lo) if arr.dtype.kind == "i" else np.zeros(arr.shape, bool)
        r, c = np.argwhere(bad | (arr > hi))[0]
        raise ValueError(f"weight code {int(arr[r, c])} at [{r}, {c}] is outside the {bits}-bit "
                         f"domain [{lo}, {hi}]")
    return arr.astype(np.int8, copy=False)


def code_fields(codes: np.ndarray, bits: int) -> np.ndarray:
    """Nonzero codes -> unsigned ``bits``-bit fields (1 bit: +1 -> 1, -1 -> 0; else two's
    complement)."""
    codes = np.asarray(codes, np.int64)
    if bits == 1:
        return (codes > 0).astype(np.int64)
    return codes & ((1 << bits) - 1)


def field_codes(fields: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned ``bits``-bit fields -> codes; the inverse of :func:`code_fields`."""
    fields = np.asarray(fields, np.int64)
    if bits == 1:
        return 2 * fields - 1
    return np.where(fields >= (1 << (bits - 1)), fields - (1 << bits), fields)


def check_param(name: str, param: int, expected: int = 0) -> None:
    """A stream's header parameter must be the one its format writes."""
    if param != expected:
        raise CompressedStreamError(f"{name} stream has header parameter {param}, expected "
                                    f"{expected}")


# ---- bit I/O -------------------------------------------------------------------------------

def _check_width(width: int) -> None:
    if not 1 <= width <= MAX_FIELD_BITS:
        raise ValueError(f"field width {width} bits; allowed 1..{MAX_FIELD_BITS}")


def _field_bit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """[n] unsigned values -> [n, width] uint8 bits, LSB first."""
    as_bytes = values.astype("<u8").view(np.uint8).reshape(-1, 8)[:, :(width + 7) // 8]
    return np.unpackbits(as_bytes, axis=1, bitorder="little")[:, :width]


def _bit_matrix_fields(bit_matrix: np.ndarray) -> np.ndarray:
    """[n, width] uint8 bits, LSB first -> [n] int64 values."""
    packed = np.packbits(bit_matrix, axis=1, bitorder="little")
    wide = np.zeros((bit_matrix.shape[0], 8), np.uint8)
    wide[:, :packed.shape[1]] = packed
    return wide.view("<u8").ravel().astype(np.int64)


class BitWriter:
    """Collects fields as (values, widths) arrays and packs them all at once, LSB first."""

    def __init__(self) -> None:
        self._segments: list[tuple[np.ndarray, int | np.ndarray]] = []
        self.bit_count = 0

    def write(self, values, widths) -> None:
        """Append ``values`` (non-negative ints); ``widths`` is one width for all or one each."""
        values = np.asarray(values, np.int64).ravel()
        if np.ndim(widths) == 0:
            widths = int(widths)
            _check_width(widths)
            limit = np.int64(1) << widths
        else:
            widths = np.asarray(widths, np.int64).ravel()
            if widths.shape != values.shape:
                raise ValueError(f"{values.size} values but {widths.size} field widths")
            if widths.size:
                _check_width(int(widths.min()))
                _check_width(int(widths.max()))
            limit = np.int64(1) << widths
        if values.size and (values.min() < 0 or np.any(values >= limit)):
            raise ValueError("a field value is negative or does not fit its width")
        self._segments.append((values, widths))
        self.bit_count += int(np.sum(widths) if np.ndim(widths) else widths * values.size)

    def to_bytes(self) -> bytes:
        parts = []
        for values, widths in self._segments:
            if values.size == 0:
                continue
            if np.ndim(widths) == 0:
                parts.append(_field_bit_matrix(values, widths).ravel())
            else:
                top = int(widths.max())
                mask = np.arange(top) < widths[:, None]
                parts.append(_field_bit_matrix(values, top)[mask])  # row-major: field order
        bit_vector = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
        return np.packbits(bit_vector, bitorder="little").tobytes()


class BitReader:
    """Reads LSB-first fields from a payload; reading past its end raises CompressedStreamError.

    Fields are gathered by the Numba kernel ``azsim.kernels.read_fields`` straight from the
    payload bytes (no bit-per-byte expansion), which is what keeps decoding above 100 MB/s.
    """

    def __init__(self, payload: bytes, name: str = "weight") -> None:
        self._bytes = np.frombuffer(payload, np.uint8)
        self._n_bits = 8 * self._bytes.size
        self._name = name
        self.position_bits = 0

    @property
    def remaining_bits(self) -> int:
        return self._n_bits - self.position_bits

    def _check(self, n_bits: int) -> None:
        if n_bits > self.remaining_bits:
            raise CompressedStreamError(
                f"{self._name} stream is truncated: needs {n_bits} more bits, "
                f"{self.remaining_bits} left")

    def _read(self, widths: np.ndarray) -> np.ndarray:
        out = np.empty(widths.size, np.int64)
        self.position_bits = int(read_fields(self._bytes, self.position_bits, widths, out))
        return out

    def read(self, count: int, width: int) -> np.ndarray:
        """``count`` fields of ``width`` bits each, as int64."""
        _check_width(width)
        count = int(count)
        self._check(count * width)
        return self._read(np.full(count, width, np.int64))

    def read_small(self, count: int, width: int, codes: bool) -> np.ndarray:
        """``count`` fields of ``width`` <= 8 bits, one byte each: uint8 fields, or with
        ``codes`` the int8 weight codes they hold (see :func:`field_codes`). A stream of 2^28
        weights then decodes in about a byte a weight, not the 16-26 of :meth:`read` and
        ``field_codes`` (measured 2026-12-06)."""
        _check_width(width)
        if width > 8:
            raise ValueError(f"read_small reads fields of at most 8 bits, not {width}")
        count = int(count)
        self._check(count * width)
        out = np.empty(count, np.int8 if codes else np.uint8)
        self.position_bits = int(read_codes(self._bytes, self.position_bits, width, codes, out))
        return out

    def read_bytes(self, count: int) -> np.ndarray:
        """``count`` whole bytes (as uint8) from a byte-aligned position: the fast path for
        8-bit fields, whose two's complement bytes are the codes themselves."""
        if self.position_bits % 8:
            raise ValueError("read_bytes needs a byte-aligned position")
        self._check(8 * int(count))
        start = self.position_bits // 8
        self.position_bits += 8 * int(count)
        return self._bytes[start:start + int(count)]

    def read_varying(self, widths) -> np.ndarray:
        """One field per entry of ``widths``, as int64."""
        widths = np.asarray(widths, np.int64).ravel()
        if widths.size == 0:
            return np.zeros(0, np.int64)
        _check_width(int(widths.min()))
        _check_width(int(widths.max()))
        self._check(int(widths.sum()))
        return self._read(widths)

    def finish(self) -> None:
        """Check that only the final byte's zero padding is left."""
        rest = self.remaining_bits
        if rest >= 8:
            raise CompressedStreamError(
                f"{self._name} stream has {rest // 8} trailing bytes after its last field")
        if rest and self._bytes[-1] >> (8 - rest):
            raise CompressedStreamError(f"{self._name} stream has nonzero padding bits")


def open_stream(stream: bytes, format_id: int, name: str) -> tuple[StreamHeader, BitReader]:
    """Unwrap (magic, format, length, CRC, the declared shape's bound) before decoding."""
    head, payload = unwrap(stream, format_id, name)
    return head, BitReader(payload, name)


# ---- registry ------------------------------------------------------------------------------

FORMATS: dict[str, object] = {}


def register(fmt):
    """Add a format object (``name``, ``format_id``, ``encode``, ``decode``); returns it."""
    for other in FORMATS.values():
        if other.format_id == fmt.format_id and other.name != fmt.name:
            raise ValueError(f"format id {fmt.format_id} of {fmt.name!r} is already taken by "
                             f"{other.name!r}")
    FORMATS[fmt.name] = fmt
    return fmt
