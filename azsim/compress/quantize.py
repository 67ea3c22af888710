"""Quantization primitives: per-channel symmetric weights, multipliers, activation scales, LUTs."""
from __future__ import annotations

import numpy as np

from ..kernels import LUT_ENTRIES, LUT_IN_FRAC_BITS, LUT_OUT_FRAC_BITS, mse_row_scales

I8_MAX = 127

# How a row's grid step is chosen (``model.weight_range``): "max" covers max|w| (nothing is
# clipped); "mse" clips the range to the step that minimizes the row's squared rounding error.
WEIGHT_RANGES = ("max", "mse")
# The "mse" search's shrink factors of max|w|: 1.00, 0.99, ..., 0.21, the grid of GPTQ's
# reference implementation (Frantar et al., ICLR 2023, code `quant.py`, `Quantizer.configure`:
# grid=100, maxshrink=0.8), whose search minimizes the error's 2.4-norm; here the squared
# error, the variance the rounding adds to the layer's outputs.
MSE_SHRINK_FACTORS = np.arange(100, 20, -1, dtype=np.float64) / 100.0


def weight_qmax(bits: int) -> int:
    """Largest code of the b-bit weight grid, b in 1..8.

    * b = 1, binary: codes {-1, +1}, qmax 1 (code 0 only for weights that are exactly 0).
    * b = 2, ternary: codes {-1, 0, +1}, qmax 1.
    * b >= 3: the symmetric grid {-(2^(b-1)-1), ..., 2^(b-1)-1}; the code -2^(b-1) is unused.
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"weight bits must be in 1..8, got {bits}")
    return 1 if bits == 1 else (1 << (bits - 1)) - 1


def quantize_per_channel(w: np.ndarray, bits: int,
                         weight_range: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (per-row) quantization: int8 codes and float64 scales, w ~ q * scale.

    * b >= 2 (symmetric uniform grid; b = 2 is ternary {-s, 0, +s}):
      scale[o] = max|w[o, :]| / weight_qmax(b) and q = clip(rint(w / scale), -qmax, qmax);
      with ``weight_range="mse"`` scale[o] is instead the step of
      :data:`MSE_SHRINK_FACTORS` x max|w[o, :]| / qmax with the least squared rounding error
      of the row (``kernels.mse_row_scales``), the weights beyond the range clipped to +-qmax.
    * b = 1 (binary {-s, +s}, as in BinaryConnect / XNOR-Net): q = sign(w), and
      scale[o] = mean |w[o, j]| over the row's nonzero weights. That is the least-squares scale
      for sign codes (XNOR-Net's alpha = ||W||_1 / n); a weight that is exactly 0 (e.g. pruned)
      keeps code 0 and adds no error, so the mean runs over the nonzeros only - on a row
      without exact zeros it is simply mean |w| of the row.

    An all-zero row gets codes 0 and the median scale of the other rows (1 if all are zero),
    which sets only its bias's resolution in the accumulator.
    """
    w64 = np.asarray(w, np.float64)
    scale = per_channel_scale(w64, bits, weight_range)
    if bits == 1:
        return np.sign(w64).astype(np.int8), scale
    qmax = weight_qmax(bits)
    q = np.clip(np.rint(w64 / scale[:, None]), -qmax, qmax).astype(np.int8)
    return q, scale


def per_channel_scale(w: np.ndarray, bits: int, weight_range: str = "max") -> np.ndarray:
    """The per-row grid step of :func:`quantize_per_channel` (float64 [O]). The binary grid's
    mean-|w| scale is the least-squares one already, so ``weight_range`` leaves b = 1 alone."""
    if weight_range not in WEIGHT_RANGES:
        raise ValueError(f"weight_range {weight_range!r}: choose from {', '.join(WEIGHT_RANGES)}")
    qmax = weight_qmax(bits)
    w64 = np.asarray(w, np.float64)
    if w64.size and not np.all(np.isfinite(w64)):   # a NaN row got step 1 and codes 0
        raise ValueError("weights to quantize hold NaN or infinite values")
    if weight_range == "mse" and bits > 1 and w64.ndim == 2 and w64.size:
        step = mse_row_scales(np.ascontiguousarray(w64), float(qmax), MSE_SHRINK_FACTORS)
    elif bits == 1:
        nnz = np.count_nonzero(w64, axis=1)
        step = np.where(nnz > 0, np.abs(w64).sum(axis=1) / np.maximum(nnz, 1), 0.0)
    else:
        max_abs = np.max(np.abs(w64), axis=1) if w64.shape[1] else np.zeros(w64.shape[0])
        step = max_abs / qmax   # 0 for a zero row, and for a subnormal one whose step underflows
    return _empty_rows_at_a_populated_step(step, w64)


def _empty_rows_at_a_populated_step(step: np.ndarray, w64: np.ndarray) -> np.ndarray:
    """``step`` with every row that holds no nonzero weight (or whose step underflowed) at
    the median step of the populated rows (1 if there are none). Such a row's codes are 0
    whatever its step, but its bias enters the accumulator at the input scale x the row's
    step: at step 1 a pruned-away gate row's bias was rounded ~200 times coarser than its
    neighbours' (0.011 against 5.6e-5 in the gate pre-activation of small at 90 % global
    pruning; an integer-arithmetic audit, 2026-12-07)."""
    step = np.asarray(step, np.float64).copy()
    empty = ~(step > 0)
    if w64.ndim == 2 and w64.shape[1]:
        empty |= ~np.any(w64 != 0, axis=1)
    if empty.any():
        step[empty] = np.median(step[~empty]) if (~empty).any() else 1.0
    return step


def activation_scale(max_abs: float) -> float:
    """Per-tensor symmetric int8 scale from a calibrated max |x| (max calibration)."""
    return max_abs / I8_MAX if max_abs > 0 else 1.0


def quantize_activations(x: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x, np.float64) / scale), -I8_MAX, I8_MAX).astype(np.int8)


def quantize_multiplier(real) -> tuple[np.ndarray, np.ndarray]:
    """Express positive reals as M * 2^-s with M an int32 in [2^30, 2^31) (Jacob et al. 2018);
    below 2^-32 the shift stops at 62 and M = rint(real * 2^62) is smaller.

    Returns int64 arrays (mult, shift) with 1 <= shift <= 62 so that the kernels' int64
    product ``acc * M`` of an int32 accumulator cannot overflow. Zero maps to M = 0.
    """
    real = np.atleast_1d(np.asarray(real, np.float64))
    if np.any(real < 0) or not np.all(np.isfinite(real)):
        raise ValueError("requantization scales must be finite and non-negative")
    frac, exp = np.frexp(real)                    # real = frac * 2^exp, frac in [0.5, 1)
    mult = np.rint(frac * (1 << 31)).astype(np.int64)
    carry = mult == (1 << 31)                     # rounding reached 2^31: renormalize
    mult[carry] >>= 1
    exp = exp + carry
    shift = 31 - exp.astype(np.int64)
    # Scales below 2^-32: the shift is clamped at 62 and M = rint(real * 2^62), below 2^30
    # (it was the 31-bit M shifted right, truncated: up to 6 times the rounding error; an
    # integer-arithmetic audit, 2026-12-07).
    too_small = shift > 62
    mult[too_small] = np.rint(np.ldexp(real[too_small], 62)).astype(np.int64)
    shift[too_small] = 62
    if np.any(shift < 1):
        raise ValueError("requantization scale too large (2^30 or more, once rounded to a "
                         "31-bit multiplier: from 2^30 - 2^-2 up)")
    mult[real == 0] = 0
    shift[real == 0] = 31
    return mult, shift


def build_lut(fn) -> np.ndarray:
    """513-entry Q0.15 table of ``fn`` on the Q3.12 grid: entry i is fn(-8 + i / 32)."""
    step = 16.0 / (LUT_ENTRIES - 1)
    x = -8.0 + step * np.arange(LUT_ENTRIES)
    scale = 1 << LUT_OUT_FRAC_BITS
    return np.clip(np.rint(fn(x) * scale), -scale, scale - 1).astype(np.int16)


SIGMOID_LUT = build_lut(lambda x: 1.0 / (1.0 + np.exp(-x)))
TANH_LUT = build_lut(np.tanh)
GATE_SCALE = float(1 << LUT_IN_FRAC_BITS)  # Q3.12: real value x is stored as x * 2^12
