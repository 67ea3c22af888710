"""The clipped per-row range of a symmetric weight grid (``model.weight_range = "mse"``).

A b-bit per-row grid with step ``s`` holds ``q * s`` for integer codes ``|q| <= qmax``. With
``s = max|w| / qmax`` nothing is clipped, but one outlier sets the step of its whole row. For
each row this tries the steps ``f * max|w| / qmax`` for the shrink factors ``f`` given
(largest first) and keeps the one with the least squared rounding error
``sum_j (w[j] - clip(rint(w[j] / s), -qmax, qmax) * s)^2``; a later factor must be strictly
better, so ties keep the wider range. Plain loops in float64 in a fixed order, so the chosen
step depends on the weights only, on any CPU.
"""
import numpy as np
from numba import prange

from .jit import PARALLEL_MIN_MACS, jit, jit_parallel


@jit
def _row_scale(w, r, qmax, factors, out):
    """The least-error step of row ``r`` into ``out[r]`` (left at 1 for an all-zero row)."""
    cols = w.shape[1]
    top = 0.0
    for j in range(cols):
        a = abs(w[r, j])
        if a > top:
            top = a
    if top == 0.0:
        return
    best = np.inf
    found = False   # the first grid is kept even when every error overflows to inf (|w| ~ 1e155)
    for k in range(factors.shape[0]):
        s = factors[k] * top / qmax
        if s <= 0.0:   # a subnormal row's step underflows: no grid (left at 1, as zero)
            continue
        err = 0.0
        for j in range(cols):
            c = np.rint(w[r, j] / s)
            if c > qmax:
                c = qmax
            elif c < -qmax:
                c = -qmax
            d = w[r, j] - c * s
            err += d * d
        if err < best or not found:
            best = err
            out[r] = s
            found = True


@jit_parallel
def _rows_parallel(w, qmax, factors, out):
    for r in prange(w.shape[0]):
        _row_scale(w, r, qmax, factors, out)


@jit
def mse_row_scales(w, qmax, factors):
    """Per-row grid steps (float64 [O]) of ``w`` [O, I] (float64) minimizing the squared
    rounding error over the candidate steps ``factors[k] * max|w[r]| / qmax``; an all-zero row
    gets step 1 (as the unclipped grid gives it). Rows run in parallel from
    ``PARALLEL_MIN_MACS`` element-candidates on (``kernels/jit.py``), each row on one thread,
    so the thread count does not change the result (he2019's 120 M weights: 26.7 s on one
    thread)."""
    out = np.ones(w.shape[0])
    if w.shape[0] * w.shape[1] * factors.shape[0] >= PARALLEL_MIN_MACS:
        _rows_parallel(w, qmax, factors, out)
    else:
        for r in range(w.shape[0]):
            _row_scale(w, r, qmax, factors, out)
    return out
