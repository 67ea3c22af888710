"""Plain NumPy twin of ``kernels/softmax.py`` (issue #7): the integer log-softmax.

Whole-array int64 arithmetic following the kernel's docstring; the tests compare the two bit
for bit.
"""
import numpy as np


def log_softmax_q(logits, frac_bits, exp_table, ln_table):
    """Returns (log-probabilities, int64 values saturated at int32's minimum; table lookups)."""
    l = np.asarray(logits, np.int64)
    d = l.max() - l                                   # >= 0
    shift = frac_bits - 5                             # exp table step: 1/32 nat
    inside = d < ((len(exp_table) - 1) << shift)
    di = d[inside]
    e = np.asarray(exp_table, np.int64)
    idx = di >> shift
    a, b = e[idx], e[idx + 1]
    total = int(np.sum(a + (((b - a) * (di & ((1 << shift) - 1)) + ((1 << shift) >> 1)) >> shift)))
    top = total.bit_length() - 1                      # total >= 2^15
    mant = total >> (top - 15)
    u = mant - 32768
    t = np.asarray(ln_table, np.int64)
    i = u >> 7
    ln_q20 = int(t[i] + (((t[i + 1] - t[i]) * (u & 127) + 64) >> 7)) + (top - 15) * 726817
    drop = 20 - frac_bits
    log_sum = (ln_q20 + ((1 << drop) >> 1)) >> drop
    return np.maximum(l - l.max() - log_sum, -2 ** 31), int(inside.sum()) + 1
