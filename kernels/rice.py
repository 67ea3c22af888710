"""Golomb-Rice decoding of the ``golomb`` weight format (see azsim/compress/formats_entropy.py).

The payload alternates Rice codes of a zero-run length (parameter k_z) and of a nonzero value
(parameter k_v, zig-zag mapped), row-major, ending with the run of trailing zeros. A Rice code
of u with parameter k is floor(u / 2^k) one-bits, a zero-bit, then the k low bits of u, least
significant first. Bits are read LSB-first from each byte.
"""
import numpy as np

from .jit import jit

OK = 0
TRUNCATED = -1
OVERRUN = -2    # the codes describe more weights than the header's shape
BAD_VALUE = -3  # a value outside the b-bit domain


@jit
def _read_rice(payload, pos, k, n_bits):
    """Decode one Rice code at bit ``pos``; returns (value, new pos) or (-1, pos) if truncated."""
    q = 0
    while True:
        if pos >= n_bits:
            return -1, pos
        bit = (payload[pos >> 3] >> (pos & 7)) & 1
        pos += 1
        if bit == 0:
            break
        q += 1
        if q > (1 << 30):
            return -1, pos
    if pos + k > n_bits:
        return -1, pos
    r = 0
    for j in range(k):
        r |= ((payload[(pos + j) >> 3] >> ((pos + j) & 7)) & 1) << j
    return (q << k) | r, pos + k


@jit
def rice_decode(payload, n_bits, k_z, k_v, vmin, vmax, out):
    """Decode into ``out`` (int8, flat, zero-filled by the caller); returns a status code."""
    n = out.shape[0]
    pos = 0
    idx = 0
    while True:
        run, pos = _read_rice(payload, pos, k_z, n_bits)
        if run < 0:
            return TRUNCATED
        idx += run
        if idx == n:
            return OK if pos <= n_bits else TRUNCATED
        if idx > n:
            return OVERRUN
        u, pos = _read_rice(payload, pos, k_v, n_bits)
        if u < 0:
            return TRUNCATED
        # zig-zag over nonzero values: +1 -> 0, -1 -> 1, +2 -> 2, -2 -> 3, ...
        v = (u >> 1) + 1
        if u & 1:
            v = -v
        if v < vmin or v > vmax:
            return BAD_VALUE
        out[idx] = v
        idx += 1
