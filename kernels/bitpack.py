"""Bit packing of variable-length codes (the encoder side of the ``golomb`` format)."""
import numpy as np

from .jit import jit


@jit
def pack_codes(ones, terminated, field, width, out):
    """Write each symbol as ``ones`` one-bits, a zero-bit if ``terminated``, then the low
    ``width`` bits of ``field`` (LSB first), bits LSB-first into the zeroed uint8 ``out``.
    Returns the number of bits written."""
    pos = 0
    for s in range(ones.shape[0]):
        for _ in range(ones[s]):
            out[pos >> 3] |= np.uint8(1 << (pos & 7))
            pos += 1
        pos += terminated[s]
        f = field[s]
        for j in range(width[s]):
            if (f >> j) & 1:
                out[pos >> 3] |= np.uint8(1 << (pos & 7))
            pos += 1
    return pos


@jit
def read_fields(payload, start_bit, widths, out):
    """out[k] = the ``widths[k]``-bit field (<= 32 bits) starting after the previous one, from
    bit ``start_bit`` of ``payload`` (LSB-first). The caller checks the payload is long enough.
    Returns the bit position after the last field."""
    pos = start_bit
    for k in range(out.shape[0]):
        w = widths[k]
        b = pos >> 3
        sh = pos & 7
        need = (sh + w + 7) >> 3
        acc = np.int64(0)
        for t in range(need):
            acc |= np.int64(payload[b + t]) << (8 * t)
        out[k] = (acc >> sh) & ((np.int64(1) << w) - 1)
        pos += w
    return pos


@jit
def read_codes(payload, start_bit, width, signed, out):
    """``out.shape[0]`` fields of ``width`` bits (<= 8) from bit ``start_bit`` of ``payload``
    (LSB-first) into ``out`` (uint8 or int8): the fields themselves, or with ``signed`` the
    weight codes they hold (1 bit: 1 -> +1, 0 -> -1; else two's complement), one byte a weight
    however many there are. The caller checks the payload is long enough. Returns the bit
    position after the last field."""
    pos = start_bit
    mask = (1 << width) - 1
    half = 1 << (width - 1)
    for k in range(out.shape[0]):
        b = pos >> 3
        sh = pos & 7
        f = np.int64(payload[b]) >> sh
        if sh + width > 8:
            f |= np.int64(payload[b + 1]) << (8 - sh)
        f &= mask
        if signed:
            if width == 1:
                f = 2 * f - 1
            elif f >= half:
                f -= 1 << width
        out[k] = f
        pos += width
    return pos
