"""Dense and sparse weight formats whose size is a real stream's length (issue #3).

Every stream is the 24-byte header of :mod:`azsim.compress.stream` followed by one LSB-first
bit string (see :mod:`azsim.compress.format_base` for the value domain and bit order). With
b = bits per code, nnz = nonzero codes, p = pointer width and ``iw(n) = max(1, ceil(log2 n))``:

``dense`` (id 1, param 0)
    rows*cols b-bit codes, row-major. 1-bit dense holds only -1/+1 (no zeros).
    Size 24 + ceil(rows*cols*b / 8).
``bitmask`` (id 2, param 0)
    rows*cols presence bits, row-major (1 = nonzero), then the nnz b-bit values, row-major.
    Size 24 + ceil((rows*cols + nnz*b) / 8).
``csr`` (id 3, param p)
    rows+1 p-bit row pointers (ptr[0] = 0, ptr[rows] = nnz; row i owns entries
    ptr[i]..ptr[i+1]-1), then nnz iw(cols)-bit column indices (ascending within a row), then
    nnz b-bit values. Size 24 + ceil(((rows+1)*p + nnz*(iw(cols) + b)) / 8).
``csc`` (id 4, param p)
    The same by columns: cols+1 pointers, nnz iw(rows)-bit row indices, nnz values.
``rle`` (id 5, param r | p << 8)
    EIE's relative-index format (Han et al., ISCA 2016, section III). cols+1 p-bit column
    pointers counting entries (column j owns entries ptr[j]..ptr[j+1]-1), then the entries in
    column-major order, each an r-bit relative index z followed by a v-bit value, v = b (v = 2
    when b = 1: EIE marks padding with value 0, which a 1-bit field cannot hold). z counts the
    zeros between the previous entry of the column (or the column top) and this entry. A
    nonzero whose zero run g exceeds 2^r - 1 is preceded by g // 2^r padding entries
    (z = 2^r - 1, value 0), each covering 2^r zero positions, and keeps z = g mod 2^r. Zeros
    after a column's last nonzero take no entries. Size
    24 + ceil(((cols+1)*p + (nnz + padding)*(r + v)) / 8).

``symbols`` counts the entries a hardware decoder walks: every code (dense), the nonzeros
(bitmask, csr, csc), or nonzeros + padding entries (rle). ``index_bits`` + ``value_bits`` is
the payload bit count before the final byte's padding; rle's padding value fields are position
overhead and count in ``index_bits``.
"""
from __future__ import annotations

import numpy as np

from ..errors import CompressedStreamError
from .format_base import (BitWriter, Encoded, check_codes, check_param, code_fields,
                          field_codes, open_stream, register, value_range)
from .stream import HEADER_BYTES, wrap

MAX_POINTER_BITS = 32
MAX_RELATIVE_INDEX_BITS = 16


def index_width(n: int) -> int:
    """Bits of an index into ``n`` positions: ceil(log2 n), at least 1."""
    return max(1, (int(n) - 1).bit_length())


def _size_bytes(payload_bits: int) -> int:
    return HEADER_BYTES + (payload_bits + 7) // 8


def _check_pointer_bits(pointer_bits: int, name: str) -> int:
    if not 1 <= pointer_bits <= MAX_POINTER_BITS:
        raise ValueError(f"{name} pointer_bits is {pointer_bits}; allowed 1..{MAX_POINTER_BITS}")
    return int(pointer_bits)


def _pointers(counts: np.ndarray, pointer_bits: int, name: str) -> np.ndarray:
    """Cumulative entry pointers [len(counts) + 1]; ValueError if the last does not fit."""
    ptr = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    needed = int(ptr[-1]).bit_length()
    if needed > pointer_bits:
        raise ValueError(f"{name} pointer value {int(ptr[-1])} does not fit in "
                         f"pointer_bits={pointer_bits}; it needs pointer_bits >= {needed}")
    return ptr


def _read_pointers(reader, count: int, pointer_bits: int, name: str) -> np.ndarray:
    ptr = reader.read(count, pointer_bits)
    if ptr[0] != 0:
        raise CompressedStreamError(f"{name} stream's first pointer is {int(ptr[0])}, expected 0")
    if np.any(np.diff(ptr) < 0):
        raise CompressedStreamError(f"{name} stream's pointers decrease (not monotonic)")
    return ptr


class DenseFormat:
    """All codes, b bits each, row-major."""

    name = "dense"
    format_id = 1

    def expected_bytes(self, shape: tuple[int, int], nnz: int, bits: int) -> int:
        return _size_bytes(shape[0] * shape[1] * bits)

    def encode(self, q: np.ndarray, bits: int) -> Encoded:
        q8 = check_codes(q, bits)
        if bits == 1 and q8.size and not q8.all():
            raise ValueError(f"the dense format cannot store zero codes at 1 bit "
                             f"({q8.size - np.count_nonzero(q8)} zeros in a {q8.shape[0]}x"
                             f"{q8.shape[1]} matrix; 1-bit dense holds only -1/+1); use a sparse "
                             f"format such as 'bitmask', 'csr' or 'rle'")
        writer = BitWriter()
        writer.write(code_fields(q8.ravel(), bits), bits)
        stream = wrap(self.format_id, bits, q8.shape, writer.to_bytes())
        return Encoded(self.name, stream, q8.shape, bits, symbols=q8.size, index_bits=0,
                       value_bits=writer.bit_count)

    def decode(self, stream: bytes) -> np.ndarray:
        head, reader = open_stream(stream, self.format_id, self.name)
        check_param(self.name, head.param)
        n = head.rows * head.cols
        if head.bits == 8:  # byte-aligned two's complement: the payload is the int8 matrix
            codes = reader.read_bytes(n).view(np.int8).copy()
        else:
            codes = reader.read_small(n, head.bits, codes=True)
        reader.finish()
        return codes.reshape(head.rows, head.cols)


class BitmaskFormat:
    """A presence bit per weight, then the nonzero values."""

    name = "bitmask"
    format_id = 2

    def expected_bytes(self, shape: tuple[int, int], nnz: int, bits: int) -> int:
        return _size_bytes(shape[0] * shape[1] + nnz * bits)

    def encode(self, q: np.ndarray, bits: int) -> Encoded:
        q8 = check_codes(q, bits)
        flat = q8.ravel()
        present = flat != 0
        writer = BitWriter()
        writer.write(present, 1)
        writer.write(code_fields(flat[present], bits), bits)
        stream = wrap(self.format_id, bits, q8.shape, writer.to_bytes())
        nnz = int(present.sum())
        return Encoded(self.name, stream, q8.shape, bits, symbols=nnz, index_bits=flat.size,
                       value_bits=nnz * bits)

    def decode(self, stream: bytes) -> np.ndarray:
        head, reader = open_stream(stream, self.format_id, self.name)
        check_param(self.name, head.param)
        present = reader.read_small(head.rows * head.cols, 1, codes=False).view(bool)
        values = reader.read_small(int(np.count_nonzero(present)), head.bits, codes=True)
        reader.finish()
        if np.any(values == 0):
            raise CompressedStreamError(f"{self.name} stream stores a zero under a presence bit")
        out = np.zeros(head.rows * head.cols, np.int8)
        out[present] = values
        return out.reshape(head.rows, head.cols)


class CompressedSparseFormat:
    """CSR (by rows) or CSC (by columns): pointers, minor-axis indices, values."""

    def __init__(self, by_columns: bool, pointer_bits: int = 16) -> None:
        self.by_columns = by_columns
        self.name = "csc" if by_columns else "csr"
        self.format_id = 4 if by_columns else 3
        self.pointer_bits = _check_pointer_bits(pointer_bits, self.name)

    def _axes(self, shape: tuple[int, int]) -> tuple[int, int]:
        """(major, minor) extents: the pointer axis and the index axis."""
        return (shape[1], shape[0]) if self.by_columns else (shape[0], shape[1])

    def expected_bytes(self, shape: tuple[int, int], nnz: int, bits: int) -> int:
        major, minor = self._axes(shape)
        return _size_bytes((major + 1) * self.pointer_bits + nnz * (index_width(minor) + bits))

    def encode(self, q: np.ndarray, bits: int) -> Encoded:
        q8 = check_codes(q, bits)
        lines = q8.T if self.by_columns else q8  # [major, minor]
        major_idx, minor_idx = np.nonzero(lines)  # ordered by major, then minor
        ptr = _pointers(np.count_nonzero(lines, axis=1), self.pointer_bits, self.name)
        width = index_width(lines.shape[1])
        writer = BitWriter()
        writer.write(ptr, self.pointer_bits)
        writer.write(minor_idx, width)
        writer.write(code_fields(lines[major_idx, minor_idx], bits), bits)
        stream = wrap(self.format_id, bits, q8.shape, writer.to_bytes(), param=self.pointer_bits)
        nnz = minor_idx.size
        return Encoded(self.name, stream, q8.shape, bits, symbols=nnz,
                       index_bits=ptr.size * self.pointer_bits + nnz * width,
                       value_bits=nnz * bits)

    def decode(self, stream: bytes) -> np.ndarray:
        head, reader = open_stream(stream, self.format_id, self.name)
        pointer_bits = head.param
        if not 1 <= pointer_bits <= MAX_POINTER_BITS:
            raise CompressedStreamError(f"{self.name} stream declares {pointer_bits}-bit "
                                        f"pointers; allowed 1..{MAX_POINTER_BITS}")
        major, minor = self._axes((head.rows, head.cols))
        ptr = _read_pointers(reader, major + 1, pointer_bits, self.name)
        nnz = int(ptr[-1])
        minor_idx = reader.read(nnz, index_width(minor))
        values = reader.read_small(nnz, head.bits, codes=True)
        reader.finish()
        if nnz and int(minor_idx.max()) >= minor:
            raise CompressedStreamError(f"{self.name} stream has index {int(minor_idx.max())}, "
                                        f"beyond the matrix's {minor}")
        major_idx = np.repeat(np.arange(major), np.diff(ptr))
        if np.any((np.diff(minor_idx) <= 0) & (major_idx[1:] == major_idx[:-1])):
            raise CompressedStreamError(f"{self.name} stream's indices repeat or are unsorted "
                                        f"within a line")
        if np.any(values == 0):
            raise CompressedStreamError(f"{self.name} stream stores a zero value")
        out = np.zeros((major, minor), np.int8)
        out[major_idx, minor_idx] = values
        return np.ascontiguousarray(out.T) if self.by_columns else out


def rle_value_bits(bits: int) -> int:
    """Width of an rle value field: b, or 2 at 1 bit so that padding's value 0 fits."""
    return max(bits, 2)


def rle_padding_entries(q: np.ndarray, relative_index_bits: int) -> int:
    """How many padding entries the rle format inserts for ``q``."""
    *_, pads = _rle_walk(np.asarray(q), relative_index_bits)
    return int(pads.sum())


def _rle_walk(q: np.ndarray, r: int) -> tuple[np.ndarray, ...]:
    """Column-major nonzeros: (column, row, zero run before it, padding entries before it)."""
    cols_nz, rows_nz = np.nonzero(q.T)
    previous = np.full(cols_nz.size, -1, np.int64)
    same_column = cols_nz[1:] == cols_nz[:-1]
    previous[1:][same_column] = rows_nz[:-1][same_column]
    gap = rows_nz - previous - 1
    return cols_nz, rows_nz, gap, gap >> r  # a padding entry covers 2^r positions (itself included)


class RelativeIndexFormat:
    """EIE's column-major relative-index ("run-length") format with padding entries."""

    name = "rle"
    format_id = 5

    def __init__(self, index_bits: int = 4, pointer_bits: int = 16) -> None:
        if not 1 <= index_bits <= MAX_RELATIVE_INDEX_BITS:
            raise ValueError(f"rle index_bits is {index_bits}; allowed "
                             f"1..{MAX_RELATIVE_INDEX_BITS}")
        self.index_bits = int(index_bits)
        self.pointer_bits = _check_pointer_bits(pointer_bits, self.name)

    def expected_bytes(self, shape: tuple[int, int], nnz: int, bits: int,
                       padding_entries: int = 0) -> int:
        entry_bits = self.index_bits + rle_value_bits(bits)
        return _size_bytes((shape[1] + 1) * self.pointer_bits
                           + (nnz + padding_entries) * entry_bits)

    def encode(self, q: np.ndarray, bits: int) -> Encoded:
        q8 = check_codes(q, bits)
        r, vw = self.index_bits, rle_value_bits(bits)
        cols_nz, rows_nz, gap, pads = _rle_walk(q8, r)
        nnz = cols_nz.size
        n_entries = nnz + int(pads.sum())
        at = np.arange(nnz) + np.cumsum(pads)  # entry slot of each nonzero
        z = np.full(n_entries, (1 << r) - 1, np.int64)
        z[at] = gap & ((1 << r) - 1)
        value = np.zeros(n_entries, np.int64)
        value[at] = code_fields(q8[rows_nz, cols_nz], vw)
        per_column = np.bincount(cols_nz, weights=pads + 1, minlength=q8.shape[1])
        ptr = _pointers(per_column.astype(np.int64), self.pointer_bits, self.name)
        writer = BitWriter()
        writer.write(ptr, self.pointer_bits)
        writer.write(z | (value << r), r + vw)  # LSB first: z, then the value
        stream = wrap(self.format_id, bits, q8.shape, writer.to_bytes(),
                      param=r | (self.pointer_bits << 8))
        return Encoded(self.name, stream, q8.shape, bits, symbols=n_entries,
                       index_bits=writer.bit_count - nnz * vw, value_bits=nnz * vw)

    def decode(self, stream: bytes) -> np.ndarray:
        head, reader = open_stream(stream, self.format_id, self.name)
        r, pointer_bits = head.param & 0xFF, head.param >> 8
        if not (1 <= r <= MAX_RELATIVE_INDEX_BITS and 1 <= pointer_bits <= MAX_POINTER_BITS):
            raise CompressedStreamError(f"rle stream declares {r}-bit relative indices and "
                                        f"{pointer_bits}-bit pointers; allowed 1.."
                                        f"{MAX_RELATIVE_INDEX_BITS} and 1..{MAX_POINTER_BITS}")
        rows, cols = head.rows, head.cols
        vw = rle_value_bits(head.bits)
        ptr = _read_pointers(reader, cols + 1, pointer_bits, self.name)
        entries = reader.read(int(ptr[-1]), r + vw)
        reader.finish()
        z = entries & ((1 << r) - 1)
        value = field_codes(entries >> r, vw)
        lo, hi = value_range(head.bits)
        if entries.size and (value.min() < lo or value.max() > hi):
            raise CompressedStreamError(f"rle stream holds a value outside [{lo}, {hi}]")
        padding = value == 0
        if np.any(padding & (z != (1 << r) - 1)):
            raise CompressedStreamError(f"rle stream has a zero value with a relative index "
                                        f"below {(1 << r) - 1} (only padding entries hold 0)")
        column = np.repeat(np.arange(cols), np.diff(ptr))
        advanced = np.cumsum(z + 1)  # positions consumed, counted across columns
        before_column = np.concatenate([[0], advanced])[ptr[:-1]]
        row = advanced - before_column[column] - 1
        if row.size and int(row.max()) >= rows:
            raise CompressedStreamError(f"rle stream runs to row {int(row.max())} of a column "
                                        f"of {rows} rows")
        # A padding entry only carries the run to a nonzero further down its column; one that
        # ends a column adds bytes that decode to nothing (the encoder never writes it).
        last = ptr[1:][np.diff(ptr) > 0] - 1
        if np.any(padding[last]):
            c = int(np.flatnonzero(np.diff(ptr) > 0)[np.argmax(padding[last])])
            raise CompressedStreamError(f"rle stream ends column {c} with a padding entry; "
                                        "padding only precedes a nonzero of its column")
        out = np.zeros((rows, cols), np.int8)
        keep = ~padding
        out[row[keep], column[keep]] = value[keep]
        return out


DENSE = register(DenseFormat())
BITMASK = register(BitmaskFormat())
CSR = register(CompressedSparseFormat(by_columns=False))
CSC = register(CompressedSparseFormat(by_columns=True))
RLE = register(RelativeIndexFormat())
