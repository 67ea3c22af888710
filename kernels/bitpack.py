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
