"""Sigmoid and tanh by lookup table with linear interpolation.

Input: int16 Q3.12, i.e. x in [-8, 8). Output: int16 Q0.15. The table has 513 entries at a
step of 2^-5 (16 / 512), indexed by the top 9 bits of the biased input; the low 7 bits
interpolate linearly between neighbours. One lookup reads two table entries. This is the
table-plus-interpolation unit of integer LSTM accelerators (e.g. TFLite's int16 LUT kernels
use 513-entry tables the same way); the tables are built in ``azsim.model.quantized``.
"""
import numpy as np

from .jit import jit

LUT_IN_FRAC_BITS = 12   # Q3.12 input
LUT_OUT_FRAC_BITS = 15  # Q0.15 output
LUT_ENTRIES = 513
LUT_INDEX_SHIFT = 7     # 16 input bits = 9 index bits + 7 interpolation bits


@jit
def lut_interp(x, table):
    """Interpolated table lookup of one Q3.12 value; returns a Q0.15 value as int64."""
    u = np.int64(x) + 32768
    idx = u >> LUT_INDEX_SHIFT
    frac = u & ((1 << LUT_INDEX_SHIFT) - 1)
    a = np.int64(table[idx])
    b = np.int64(table[idx + 1])
    return a + (((b - a) * frac + (1 << (LUT_INDEX_SHIFT - 1))) >> LUT_INDEX_SHIFT)
