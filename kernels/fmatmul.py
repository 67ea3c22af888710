"""Float matrix products in a fixed order, for the float golden model and its calibration.

The integer model is made from float arithmetic: calibration runs the float model
(``azsim.model.float_ref``) and its activation ranges set the quantization scales. With NumPy's
``@`` those ranges depended on the BLAS library's thread count and CPU kernels (OpenBLAS splits
and blocks sums differently; measured: one range read 2.810157299 with one thread and
2.810157537 with two, and the 4-bit `small` model's test WER moved between 15.26 and 15.41 %
across thread counts and machines). Here every output is one sum, over ``k`` in ascending
order, of float32 x float32 products accumulated in float64 and rounded to float32 once at the
end. A product of two float32 values is exact in float64, so even a fused multiply-add gives
the same sum, and ``fastmath`` is off, so LLVM does not reorder the additions: the result
depends on the inputs only, on any CPU and any thread count.

Two loop orders with the same arithmetic, both parallel over outputs from
``PARALLEL_MIN_MACS`` on and serial below it (an output is summed by one thread either way, so
any thread count gives the same result): ``matmul_nt`` reads ``w`` as stored
([N, K], a weight matrix), four outputs at a time, for one or a few rows of ``x`` (a recurrent
step, the joint network); ``matmul_kn`` reads ``w`` transposed ([K, N]) and vectorizes along
its rows, for many rows (the encoder's input products over a whole utterance). Measured here
(2 threads): he2019's 8192 x 640 recurrent product about 2 ms (NumPy's float32 OpenBLAS:
1.1-1.5 ms), a 250-row product with it 10 GMAC/s (OpenBLAS: 40-60). Tests check they agree
bit for bit with each other and with the NumPy twin.
"""
import numpy as np
from numba import prange

from .jit import PARALLEL_MIN_MACS, jit, jit_parallel


@jit
def _nt_group(x, w, out, q):
    """Outputs 4q .. 4q+3 (fewer at the end) of every row of ``x``."""
    m, k = x.shape
    n = w.shape[0]
    j = 4 * q
    for i in range(m):
        if j + 4 <= n:
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for kk in range(k):
                a = np.float64(x[i, kk])
                s0 += a * np.float64(w[j, kk])
                s1 += a * np.float64(w[j + 1, kk])
                s2 += a * np.float64(w[j + 2, kk])
                s3 += a * np.float64(w[j + 3, kk])
            out[i, j] = s0
            out[i, j + 1] = s1
            out[i, j + 2] = s2
            out[i, j + 3] = s3
        else:
            for jj in range(j, n):
                s = 0.0
                for kk in range(k):
                    s += np.float64(x[i, kk]) * np.float64(w[jj, kk])
                out[i, jj] = s


@jit_parallel
def _matmul_nt_parallel(x, w, out):
    for q in prange((w.shape[0] + 3) // 4):
        _nt_group(x, w, out, q)


@jit
def matmul_nt(x, w):
    """``x @ w.T`` for float32 ``x`` [M, K] and ``w`` [N, K]: float32 [M, N].

    Groups of four outputs, each thread streaming four rows of ``w``, run in parallel for
    products of at least ``PARALLEL_MIN_MACS`` (``kernels/jit.py``) and on this thread below
    it; every output is summed by one thread, so the thread count does not change the
    result."""
    out = np.empty((x.shape[0], w.shape[0]), np.float32)
    if x.shape[0] * x.shape[1] * w.shape[0] >= PARALLEL_MIN_MACS:
        _matmul_nt_parallel(x, w, out)
    else:
        for q in range((w.shape[0] + 3) // 4):
            _nt_group(x, w, out, q)
    return out


_COLS = 256      # outputs per block: one block's accumulators stay in L1


@jit
def _kn_block(x, wt, out, blk):
    """Outputs blk * _COLS .. (blk + 1) * _COLS of every row of ``x``."""
    m, k = x.shape
    n = wt.shape[1]
    j0 = blk * _COLS
    width = min(n, j0 + _COLS) - j0
    a0 = np.empty(_COLS, np.float64)
    a1 = np.empty(_COLS, np.float64)
    a2 = np.empty(_COLS, np.float64)
    a3 = np.empty(_COLS, np.float64)
    i0 = 0
    while i0 + 4 <= m:
        for j in range(width):
            a0[j] = 0.0
            a1[j] = 0.0
            a2[j] = 0.0
            a3[j] = 0.0
        for kk in range(k):
            x0 = np.float64(x[i0, kk])
            x1 = np.float64(x[i0 + 1, kk])
            x2 = np.float64(x[i0 + 2, kk])
            x3 = np.float64(x[i0 + 3, kk])
            row = wt[kk, j0:j0 + width]
            for j in range(width):
                r = np.float64(row[j])
                a0[j] += x0 * r
                a1[j] += x1 * r
                a2[j] += x2 * r
                a3[j] += x3 * r
        for j in range(width):
            out[i0, j0 + j] = a0[j]
            out[i0 + 1, j0 + j] = a1[j]
            out[i0 + 2, j0 + j] = a2[j]
            out[i0 + 3, j0 + j] = a3[j]
        i0 += 4
    while i0 < m:        # the last rows, one at a time
        for j in range(width):
            a0[j] = 0.0
        for kk in range(k):
            x0 = np.float64(x[i0, kk])
            row = wt[kk, j0:j0 + width]
            for j in range(width):
                a0[j] += x0 * np.float64(row[j])
        for j in range(width):
            out[i0, j0 + j] = a0[j]
        i0 += 1


@jit_parallel
def _matmul_kn_parallel(x, wt, out):
    for blk in prange((wt.shape[1] + _COLS - 1) // _COLS):
        _kn_block(x, wt, out, blk)


@jit
def matmul_kn(x, wt):
    """``x @ wt`` for float32 ``x`` [M, K] and ``wt`` [K, N] (a weight matrix transposed):
    float32 [M, N], the same sums as :func:`matmul_nt` of ``wt.T``.

    Blocks of ``_COLS`` outputs run in parallel (from ``PARALLEL_MIN_MACS``,
    ``kernels/jit.py``); each output is still summed by one thread, over ``k`` in ascending
    order, so the result does not depend on the thread count. Four rows
    of ``x`` share every element of ``wt`` read (four accumulator rows), so a product streams
    the weights once per four rows; the inner loop runs along a row of ``wt`` and vectorizes."""
    out = np.empty((x.shape[0], wt.shape[1]), np.float32)
    if x.shape[0] * x.shape[1] * wt.shape[1] >= PARALLEL_MIN_MACS:
        _matmul_kn_parallel(x, wt, out)
    else:
        for blk in range((wt.shape[1] + _COLS - 1) // _COLS):
            _kn_block(x, wt, out, blk)
    return out
