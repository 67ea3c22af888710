"""``golomb``: an entropy-coded weight format (issue #3).

Arm's Ethos-U weight codec compresses int8 weights with Golomb-Rice codes over values and zero
runs; this format is that idea in its plainest form. Scanning the matrix row-major, the payload
alternates

    Rice(zero run before the next nonzero, k_z), Rice(zigzag(value), k_v), ...,
    Rice(trailing zero run, k_z)

where zigzag maps the nonzero values +1, -1, +2, -2, ... to 0, 1, 2, 3, ... and Rice(u, k) is
floor(u / 2^k) one-bits, a zero-bit, and the k low bits of u (LSB first). The encoder picks the
k_z and k_v in 0..15 that minimize the stream; both travel in the header parameter
(k_z | k_v << 8). Size formula: 24 + ceil(sum of Rice code lengths / 8) bytes.
Decoding is a sequential bit walk, done by the Numba kernel ``azsim.kernels.rice_decode``.
"""
from __future__ import annotations

import numpy as np

from ..errors import CompressedStreamError
from ..kernels import rice_decode
from .format_base import Encoded, check_codes, register
from .stream import unwrap, wrap

_MAX_K = 15
_STATUS = {-1: "truncated", -2: "describes more weights than its shape",
           -3: "holds a value outside its bit-width"}


def value_range(bits: int) -> tuple[int, int]:
    return (-1, 1) if bits == 1 else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def rice_lengths(u: np.ndarray, k: int) -> np.ndarray:
    return (u >> k) + 1 + k


def best_k(u: np.ndarray) -> int:
    """The Rice parameter that minimizes the total length of ``u``'s codes."""
    if u.size == 0:
        return 0
    return int(np.argmin([rice_lengths(u, k).sum() for k in range(_MAX_K + 1)]))


def rice_pack(u: np.ndarray, ks: np.ndarray) -> tuple[bytes, int]:
    """Rice-code every u[i] with parameter ks[i]; returns (bytes LSB-first, bit count)."""
    q = u >> ks
    lengths = q + 1 + ks
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    bits = np.zeros(total, np.uint8)
    n_ones = int(q.sum())
    if n_ones:
        first = np.repeat(starts, q)
        offset = np.arange(n_ones) - np.repeat(np.cumsum(q) - q, q)
        bits[first + offset] = 1
    for j in range(int(ks.max(initial=0))):
        sel = ks > j
        bits[(starts + q + 1 + j)[sel]] = ((u[sel] >> j) & 1).astype(np.uint8)
    return np.packbits(bits, bitorder="little").tobytes(), total


def _symbols(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero runs (nnz + 1 of them) and zigzagged nonzero values of the row-major scan."""
    flat = q.ravel().astype(np.int64)
    nz = np.flatnonzero(flat)
    runs = np.diff(np.concatenate([[-1], nz, [flat.size]])) - 1
    v = flat[nz]
    return runs, 2 * (np.abs(v) - 1) + (v < 0)


class GolombFormat:
    name = "golomb"
    format_id = 6

    def encode(self, q: np.ndarray, bits: int) -> Encoded:
        check_codes(q, bits)
        runs, values = _symbols(q)
        k_z, k_v = best_k(runs), best_k(values)
        seq = np.empty(runs.size + values.size, np.int64)
        seq[0::2], seq[1::2] = runs, values
        ks = np.empty_like(seq)
        ks[0::2], ks[1::2] = k_z, k_v
        payload, _ = rice_pack(seq, ks)
        index_bits = int(rice_lengths(runs, k_z).sum())
        value_bits = int(rice_lengths(values, k_v).sum())
        stream = wrap(self.format_id, bits, q.shape, payload, param=k_z | (k_v << 8))
        return Encoded(self.name, stream, tuple(q.shape), bits, symbols=int(seq.size),
                       index_bits=index_bits, value_bits=value_bits)

    def decode(self, stream: bytes) -> np.ndarray:
        head, payload = unwrap(stream, self.format_id)
        k_z, k_v = head.param & 0xFF, head.param >> 8
        if k_z > _MAX_K or k_v > _MAX_K:
            raise CompressedStreamError(f"golomb stream has Rice parameters {k_z}, {k_v}; "
                                        f"allowed 0..{_MAX_K}")
        out = np.zeros(head.rows * head.cols, np.int8)
        vmin, vmax = value_range(head.bits)
        status = rice_decode(np.frombuffer(payload, np.uint8), 8 * len(payload), k_z, k_v,
                             vmin, vmax, out)
        if status != 0:
            raise CompressedStreamError(f"golomb stream {_STATUS.get(status, 'is invalid')}")
        return out.reshape(head.rows, head.cols)


def expected_bytes(q: np.ndarray) -> int:
    """The documented size formula, from the same optimal parameters the encoder picks."""
    runs, values = _symbols(q)
    n_bits = rice_lengths(runs, best_k(runs)).sum() + rice_lengths(values, best_k(values)).sum()
    return 24 + int(-(-n_bits // 8))


GOLOMB = register(GolombFormat())
