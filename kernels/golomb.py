"""Decoding of the ``golomb`` weight format (layout: azsim/compress/formats_entropy.py).

The payload alternates Golomb codes of a zero-run length (parameter m_z) and codes of a
nonzero value's palette rank: Golomb with parameter m_v, or a fixed ``m_v``-bit field when
``fixed_width`` is set. A Golomb code of u with parameter M is floor(u / M) one-bits, a
zero-bit, then r = u mod M in truncated binary: with b = ceil(log2 M) and c = 2^b - M, an
r < c takes a (b-1)-bit field; otherwise v = r + c takes a (b-1)-bit field holding v >> 1
followed by one bit holding v & 1. Fields are read least significant bit first, bits LSB-first
from each byte.
"""
from .jit import jit

OK = 0
TRUNCATED = -1
OVERRUN = -2    # the codes describe more weights than the header's shape
BAD_VALUE = -3  # a palette rank beyond the palette
TRAILING = -4   # bits after the last code beyond the last byte's zero padding


@jit
def _read_field(payload, pos, width, n_bits):
    if pos + width > n_bits:
        return -1, pos
    v = 0
    for j in range(width):
        v |= ((payload[(pos + j) >> 3] >> ((pos + j) & 7)) & 1) << j
    return v, pos + width


@jit
def golomb_params(m):
    """(b, c) of the truncated-binary remainder for parameter m >= 1."""
    b = 0
    while (1 << b) < m:
        b += 1
    return b, (1 << b) - m


@jit
def _read_golomb(payload, pos, m, b, c, n_bits):
    """One Golomb code at bit ``pos``; returns (value, new pos) or (-1, pos) if truncated."""
    q = 0
    while True:
        if pos >= n_bits:
            return -1, pos
        bit = (payload[pos >> 3] >> (pos & 7)) & 1
        pos += 1
        if bit == 0:
            break
        q += 1
    if b == 0:
        return q, pos
    r, pos = _read_field(payload, pos, b - 1, n_bits)
    if r < 0:
        return -1, pos
    if r >= c:
        x, pos = _read_field(payload, pos, 1, n_bits)
        if x < 0:
            return -1, pos
        r = ((r << 1) | x) - c
    return q * m + r, pos


@jit
def golomb_decode(payload, n_bits, m_z, m_v, fixed_width, palette, out):
    """Decode into ``out`` (int8, flat, zero-filled by the caller); returns a status code."""
    n = out.shape[0]
    b_z, c_z = golomb_params(m_z)
    b_v, c_v = golomb_params(m_v)
    pos = 0
    idx = 0
    while True:
        run, pos = _read_golomb(payload, pos, m_z, b_z, c_z, n_bits)
        if run < 0:
            return TRUNCATED
        idx += run
        if idx == n:
            # The encoder pads the last byte with zero bits and writes nothing after it.
            if n_bits - pos >= 8:
                return TRAILING
            while pos < n_bits:
                if (payload[pos >> 3] >> (pos & 7)) & 1:
                    return TRAILING
                pos += 1
            return OK
        if idx > n:
            return OVERRUN
        if fixed_width:
            u, pos = _read_field(payload, pos, m_v, n_bits)
        else:
            u, pos = _read_golomb(payload, pos, m_v, b_v, c_v, n_bits)
        if u < 0:
            return TRUNCATED
        if u >= palette.shape[0]:
            return BAD_VALUE
        out[idx] = palette[u]
        idx += 1
