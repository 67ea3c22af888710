"""``golomb``: an entropy-coded weight format (issue #3).

Arm's Ethos-U weight codec compresses int8 weights with Golomb-Rice codes over zero runs and
over values remapped through a palette; this format is that idea with true Golomb codes.

Payload (after the 24-byte stream header, whose parameter field is 0)::

    m_z      u16   Golomb parameter of the zero runs (>= 1)
    mode     u8    0: value ranks are Golomb-coded with m_v; 1: fixed fields of m_v bits
    m_v      u16
    P        u8    number of distinct nonzero values
    palette  P x int8, in descending order of frequency (ties: ascending value)
    codes    row-major: G(run before the 1st nonzero, m_z), V(rank of its value), ...,
             G(trailing zero run, m_z)

G(u, M) is floor(u / M) one-bits, a zero-bit and u mod M in truncated binary (see
``azsim.kernels.golomb``); fields are LSB-first. Zero runs of a pruned matrix are close to
geometric, for which Golomb codes with the right M are near-optimal (Gallager & van Voorhis
1975); ranking values by frequency gives the commonest values the shortest codes, and a palette
of few values (after pruning at 4 bits, often +-6 and +-7 only) is cheapest as fixed fields.
The encoder picks each parameter as the best of a candidate set (every M up to 256, powers of
two to 2^15, no more than twice the mean run plus 2): the minimum over those, not over every
M. Size formula: 24 + 6 + P + ceil(sum of code lengths / 8) bytes (the fixed fields m_z,
mode, m_v and P).
"""
from __future__ import annotations

import struct

import numpy as np

from ..errors import CompressedStreamError
from ..kernels import golomb_decode
from ..kernels import pack_codes as _pack_codes
from .format_base import Encoded, check_codes, check_param, register, value_range
from .stream import unwrap, wrap

_PARAMS = struct.Struct("<HBH")
_STATUS = {-1: "truncated", -2: "describes more weights than its shape",
           -3: "refers past the end of its palette",
           -4: "has bits after its last code (only the last byte's zero padding may follow)"}
_M_CANDIDATES = np.unique(np.concatenate([np.arange(1, 257), 1 << np.arange(9, 16)]))


def _tb_params(m: int) -> tuple[int, int]:
    b = max(m - 1, 0).bit_length()
    return b, (1 << b) - m


def golomb_lengths(u: np.ndarray, m: int) -> np.ndarray:
    b, c = _tb_params(m)
    rem_bits = 0 if b == 0 else np.where(u % m < c, b - 1, b)
    return u // m + 1 + rem_bits


def best_m(u: np.ndarray) -> int:
    """The Golomb parameter, of the candidates (every M up to 256 and powers of two to 2^15,
    at most twice the mean plus 2), that minimizes the total length of ``u``'s codes."""
    if u.size == 0:
        return 1
    # Score candidates on the histogram of distinct values: cost per candidate is the number of
    # distinct values, not the number of symbols.
    values, counts = np.unique(u, return_counts=True)
    cands = _M_CANDIDATES[_M_CANDIDATES <= max(2 * float(u.mean()) + 2, 1)]
    return int(min(cands, key=lambda m: (int(golomb_lengths(values, int(m)) @ counts), m)))


def _golomb_fields(u: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ones, remainder field, field width) of each Golomb code."""
    b, c = _tb_params(m)
    q, r = u // m, u % m
    if b == 0:
        return q, np.zeros_like(u), np.zeros_like(u)
    v = r + c
    long = r >= c
    field = np.where(long, (v >> 1) | ((v & 1) << (b - 1)), r)
    return q, field, np.where(long, b, b - 1)


def pack_codes(ones: np.ndarray, terminated: np.ndarray, field: np.ndarray,
               width: np.ndarray) -> bytes:
    """Each symbol: ``ones`` one-bits, a zero-bit if ``terminated``, then ``width`` field bits."""
    total = int(ones.sum() + terminated.sum() + width.sum())
    out = np.zeros(-(-total // 8), np.uint8)
    _pack_codes(ones, terminated, field, width, out)
    return out.tobytes()


def _symbols(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero runs (nnz + 1 of them), palette ranks of the nonzeros, and the palette."""
    flat = q.ravel().astype(np.int64)
    nz = np.flatnonzero(flat)
    runs = np.diff(np.concatenate([[-1], nz, [flat.size]])) - 1
    values, inverse, counts = np.unique(flat[nz], return_inverse=True, return_counts=True)
    order = np.lexsort((values, -counts))          # by frequency, then by value
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return runs, rank[inverse], values[order].astype(np.int8)


def _value_coding(ranks: np.ndarray, palette_size: int) -> tuple[int, int, int]:
    """(mode, m_v, total bits): Golomb with the best m_v, or fixed fields if shorter."""
    m = best_m(ranks)
    golomb_bits = int(golomb_lengths(ranks, m).sum())
    width = max(palette_size - 1, 0).bit_length()
    fixed_bits = width * ranks.size
    return (1, width, fixed_bits) if fixed_bits < golomb_bits else (0, m, golomb_bits)


class GolombFormat:
    name = "golomb"
    format_id = 6

    def encode(self, q: np.ndarray, bits: int) -> Encoded:
        q = check_codes(q, bits)
        runs, ranks, palette = _symbols(q)
        m_z = best_m(runs)
        mode, m_v, value_code_bits = _value_coding(ranks, palette.size)
        rq, rf, rw = _golomb_fields(runs, m_z)
        if mode:
            vq, vf, vw = np.zeros_like(ranks), ranks, np.full_like(ranks, m_v)
        else:
            vq, vf, vw = _golomb_fields(ranks, m_v)
        n = runs.size + ranks.size
        ones, field, width = (np.empty(n, np.int64) for _ in range(3))
        terminated = np.ones(n, np.int64)
        ones[0::2], field[0::2], width[0::2] = rq, rf, rw
        ones[1::2], field[1::2], width[1::2] = vq, vf, vw
        terminated[1::2] = 0 if mode else 1
        header = _PARAMS.pack(m_z, mode, m_v) + bytes([palette.size]) + palette.tobytes()
        stream = wrap(self.format_id, bits, q.shape, header + pack_codes(ones, terminated,
                                                                          field, width))
        return Encoded(self.name, stream, tuple(q.shape), bits, symbols=int(n),
                       index_bits=int(golomb_lengths(runs, m_z).sum()),
                       value_bits=value_code_bits + 8 * len(header))

    def decode(self, stream: bytes) -> np.ndarray:
        head, payload = unwrap(stream, self.format_id, self.name)   # bounds rows x cols
        check_param(self.name, head.param)
        fixed = _PARAMS.size + 1
        if len(payload) < fixed or len(payload) < fixed + payload[_PARAMS.size]:
            raise CompressedStreamError("golomb stream is truncated inside its parameters")
        m_z, mode, m_v = _PARAMS.unpack_from(payload)
        n_pal = payload[_PARAMS.size]
        palette = np.frombuffer(payload[fixed:fixed + n_pal], np.int8)
        lo, hi = value_range(head.bits)
        if m_z < 1 or mode > 1 or (mode == 0 and m_v < 1) or (mode == 1 and m_v > 8):
            raise CompressedStreamError(f"golomb stream has invalid parameters m_z={m_z}, "
                                        f"mode={mode}, m_v={m_v}")
        if palette.size and (palette.min() < lo or palette.max() > hi or np.any(palette == 0)
                             or np.unique(palette).size != palette.size):
            raise CompressedStreamError("golomb stream has a palette value outside its "
                                        "bit-width, a zero or a repeat")
        codes = np.frombuffer(payload[fixed + n_pal:], np.uint8)
        out = np.zeros(head.rows * head.cols, np.int8)
        status = golomb_decode(codes, 8 * codes.size, m_z, m_v, mode == 1, palette, out)
        if status != 0:
            raise CompressedStreamError(f"golomb stream {_STATUS.get(status, 'is invalid')}")
        return out.reshape(head.rows, head.cols)


def expected_bytes(q: np.ndarray) -> int:
    """The documented size formula, from the same parameters the encoder picks."""
    runs, ranks, palette = _symbols(q)
    n_bits = int(golomb_lengths(runs, best_m(runs)).sum()) + _value_coding(ranks, palette.size)[2]
    return 24 + _PARAMS.size + 1 + palette.size + -(-n_bits // 8)


GOLOMB = register(GolombFormat())
