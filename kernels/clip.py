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

from .jit import jit


@jit
def mse_row_scales(w, qmax, factors):
    """Per-row grid steps (float64 [O]) of ``w`` [O, I] (float64) minimizing the squared
    rounding error over the candidate steps ``factors[k] * max|w[r]| / qmax``; an all-zero row
    gets step 1 (as the unclipped grid gives it)."""
    rows, cols = w.shape
    out = np.ones(rows)
    for r in range(rows):
        top = 0.0
        for j in range(cols):
            a = abs(w[r, j])
            if a > top:
                top = a
        if top == 0.0:
            continue
        best = np.inf
        for k in range(factors.shape[0]):
            s = factors[k] * top / qmax
            err = 0.0
            for j in range(cols):
                c = np.rint(w[r, j] / s)
                if c > qmax:
                    c = qmax
                elif c < -qmax:
                    c = -qmax
                d = w[r, j] - c * s
                err += d * d
            if err < best:
                best = err
                out[r] = s
    return out
