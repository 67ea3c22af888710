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
