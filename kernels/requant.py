"""Requantization by integer multiplier and shift, and saturation helpers."""
import numpy as np

from .jit import jit

I8_MAX = 127  # activations use the symmetric range [-127, 127]
I16_MIN = -32768
I16_MAX = 32767


@jit
def requantize_scalar(acc, mult, shift, lo, hi):
    """round(acc * mult / 2^shift), ties half up (toward +inf), saturated to [lo, hi]; acc,
    mult, shift are integers, ``shift`` in 1..62 as
    :func:`azsim.compress.quantize.quantize_multiplier` makes it (the rounding term
    ``1 << (shift - 1)`` is undefined at 0, where the kernel and its twin differ in sign, and
    the shift at 64 and more). gemmlowp (Jacob et al., CVPR 2018) rounds ties away from zero
    instead: the two differ by 1 LSB on negative ties only."""
    v = (np.int64(acc) * np.int64(mult) + (np.int64(1) << np.int64(shift - 1))) >> np.int64(shift)
    if v < lo:
        return np.int64(lo)
    if v > hi:
        return np.int64(hi)
    return v


@jit
def requantize_i32(acc, mult, shift, lo, hi, out):
    """Per-channel requantization of an int32 vector ``acc`` into ``out``, an int array whose
    dtype holds [lo, hi] (a narrower one would wrap the saturated value).

    ``mult`` and ``shift`` are per-channel arrays of the same length as ``acc``.
    """
    for k in range(acc.shape[0]):
        out[k] = requantize_scalar(acc[k], mult[k], shift[k], lo, hi)


@jit
def saturate_i16(v):
    if v < I16_MIN:
        return np.int64(I16_MIN)
    if v > I16_MAX:
        return np.int64(I16_MAX)
    return np.int64(v)


@jit
def q15_to_i8(v):
    """Q0.15 -> int8 at scale 2^-7 with rounding half up, saturated to [-127, 127]."""
    r = (np.int64(v) + 128) >> 8
    if r > I8_MAX:
        return np.int64(I8_MAX)
    if r < -I8_MAX:
        return np.int64(-I8_MAX)
    return r
