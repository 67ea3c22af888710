"""Codebook (weight-sharing) quantization, as in Deep Compression (Han et al., ICLR 2016).

A layer's weights share 2^b values. Index 0 is reserved for the exact value 0.0, so pruned
zeros stay zeros (and sparse formats can elide them); the other 2^b - 1 values are fitted to the
layer's nonzero weights by Lloyd's algorithm (1-D k-means) with linear initialization -
centroids evenly spaced from the smallest to the largest nonzero weight, the initialization
Han et al. found best because it keeps centroids on the rare large weights.

Lloyd's algorithm here is exact and deterministic: the nonzero weights are sorted once, so each
assignment step is a ``np.searchsorted`` of the midpoints between sorted centroids (each
cluster is a contiguous run of the sorted weights) and each update is a per-run mean. A
centroid whose cluster is empty keeps its value. Neither step can increase the squared error,
so the fitted codebook is never worse than its initialization. It stops when the assignment no
longer changes or after ``max_iter`` (default 50) updates.

For the integer datapath, ``codebook_to_int_codes`` turns the shared values into int8 codes with
one per-tensor scale (EIE stores 16-bit shared values; int8 lets the existing int8 MAC datapath
run them).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_ITER = 50


@dataclass(frozen=True, eq=False)
class Codebook:
    """Shared values and per-weight indices: the layer's weights are ``values[indices]``."""
    values: np.ndarray   # float64 [2^bits]; values[0] == 0.0
    indices: np.ndarray  # uint8, the weight matrix's shape
    bits: int

    def __post_init__(self):
        if not 1 <= self.bits <= 8:
            raise ValueError(f"codebook bits must be in 1..8, got {self.bits}")
        if self.values.shape != (1 << self.bits,) or self.values[0] != 0.0:
            raise ValueError(f"a {self.bits}-bit codebook needs {1 << self.bits} values with "
                             f"values[0] == 0.0")
        if self.indices.dtype != np.uint8 or (self.indices.size
                                             and int(self.indices.max()) >= self.values.size):
            raise ValueError("codebook indices must be uint8 below the number of values")

    def dequantize(self) -> np.ndarray:
        """The shared-value approximation of the weights (float64)."""
        return self.values[self.indices]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.indices.shape


def _check_weights(w) -> np.ndarray:
    w64 = np.asarray(w, np.float64)
    if w64.ndim != 2:
        raise ValueError(f"codebook quantization needs a 2-D weight matrix, got shape {w64.shape}")
    if not np.all(np.isfinite(w64)):
        raise ValueError("codebook quantization needs finite weights")
    return w64


def linear_init(nonzero: np.ndarray, k: int) -> np.ndarray:
    """k centroids evenly spaced over [min, max] of ``nonzero`` (its midpoint when k == 1)."""
    lo, hi = float(np.min(nonzero)), float(np.max(nonzero))
    return np.array([(lo + hi) / 2]) if k == 1 else np.linspace(lo, hi, k)


def _run_bounds(xs: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Cluster j of sorted centroids ``c`` holds xs[b[j]:b[j+1]] (ties at a midpoint go down)."""
    mids = (c[1:] + c[:-1]) / 2
    return np.concatenate(([0], np.searchsorted(xs, mids, side="right"), [xs.size]))


def lloyd_1d(x: np.ndarray, init: np.ndarray, max_iter: int = MAX_ITER) -> tuple[np.ndarray, int]:
    """1-D k-means from ``init``; returns (sorted centroids, update steps taken)."""
    xs = np.sort(np.asarray(x, np.float64).ravel())
    c = np.sort(np.asarray(init, np.float64))
    bounds = _run_bounds(xs, c)
    for it in range(max_iter):
        counts = np.diff(bounds)
        full = counts > 0
        sums = np.zeros(c.size)
        # Empty runs have start == next start, so dropping them leaves each kept run's slice
        # ending where the next nonempty one starts.
        sums[full] = np.add.reduceat(xs, bounds[:-1][full])
        c = np.sort(np.where(full, sums / np.maximum(counts, 1), c))
        new_bounds = _run_bounds(xs, c)
        if np.array_equal(new_bounds, bounds):
            return c, it + 1
        bounds = new_bounds
    return c, max_iter


def assign(w: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """uint8 indices into [0.0, *sorted centroids]: 0 for exact zeros, else 1 + nearest centroid."""
    mids = (centroids[1:] + centroids[:-1]) / 2
    idx = np.searchsorted(mids, w, side="left") + 1
    return np.where(w == 0, 0, idx).astype(np.uint8)


def fit_codebook(w: np.ndarray, bits: int, max_iter: int = MAX_ITER) -> Codebook:
    """Fit a 2^bits-value codebook to ``w`` (index 0 = 0.0, the rest Lloyd on the nonzeros).

    ``max_iter=0`` returns the linear initialization itself (useful as a baseline). An all-zero
    matrix gives an all-zero codebook. At bits = 1 only one nonzero value remains (the mean of
    the nonzero weights), so for signed weights the binary grid of ``quantize_per_channel`` is
    the better 1-bit choice.
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"codebook bits must be in 1..8, got {bits}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    w64 = _check_weights(w)
    k = (1 << bits) - 1
    nonzero = w64[w64 != 0]
    if nonzero.size == 0:
        return Codebook(np.zeros(k + 1), np.zeros(w64.shape, np.uint8), bits)
    c, _ = lloyd_1d(nonzero, linear_init(nonzero, k), max_iter)
    return Codebook(np.concatenate(([0.0], c)), assign(w64, c), bits)


def codebook_to_int_codes(cb: Codebook, int_bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Express the shared values as int8 codes with ONE per-tensor scale.

    scale = max|values| / (2^(int_bits-1) - 1) and code(v) = rint(v / scale), so
    ``codes * scale`` approximates ``cb.dequantize()`` with an added error of at most scale / 2
    per weight, i.e. max|values| / 254 (0.39 % of the largest shared value) at int_bits = 8.
    Index 0 stays code 0; a nonzero shared value smaller than scale / 2 also rounds to 0, and
    shared values closer than a step may merge, so the codes take at most 2^bits - 1 distinct
    nonzero values. Returns (int8 codes with the indices' shape, float64 per-row scale - the
    same per-tensor value on every row, the form ``QMatrix.scale`` has).
    """
    if not 2 <= int_bits <= 8:
        raise ValueError(f"int_bits must be in 2..8, got {int_bits}")
    if cb.indices.ndim != 2:
        raise ValueError(f"codebook_to_int_codes needs a 2-D index matrix, got {cb.indices.shape}")
    value_codes, scale = table_codes(cb, int_bits)
    return value_codes[cb.indices], np.full(cb.indices.shape[0], scale)


def table_codes(cb: Codebook, int_bits: int = 8) -> tuple[np.ndarray, float]:
    """The shared values as int8 codes (index -> code) and their one per-tensor scale."""
    qmax = (1 << (int_bits - 1)) - 1
    max_abs = float(np.max(np.abs(cb.values)))
    scale = max_abs / qmax if max_abs > 0 else 1.0
    value_codes = np.clip(np.rint(cb.values / scale), -qmax, qmax).astype(np.int8)
    value_codes[0] = 0
    return value_codes, scale
