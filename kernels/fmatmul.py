"""Float matrix products in a fixed order, for the float golden model and its calibration.

The integer model is made from float arithmetic: calibration runs the float model
(``azsim.model.float_ref``) and its activation ranges set the quantization scales. With NumPy's
``@`` those ranges depended on the BLAS library's thread count and CPU kernels (OpenBLAS
splits and blocks sums differently; measured: one range read 2.810157299 with one thread and
2.810157537 with two, and the 4-bit `small` model's test WER moved between 15.26 and 15.41 %
across thread counts and machines). Here every output is one sum, over ``k`` in ascending
order, of float32 x float32 products accumulated in float64 and rounded to float32 once at
the end. No step is reassociated (``fastmath`` off: LLVM may neither reorder nor contract the
additions into fused multiply-adds), so the result depends on the inputs only, on any CPU and
any thread count.

Two loop orders with the same arithmetic: ``matmul_nt`` reads ``w`` as stored ([N, K], a
weight matrix), four outputs at a time, for one or a few rows of ``x`` (the recurrent step,
the joint network); ``matmul_kn`` reads ``w`` transposed ([K, N]) and vectorizes across
outputs, for many rows (the encoder's input products). Tests check they agree bit for bit
with each other and with the NumPy twin.
"""
import numpy as np

from .jit import jit


@jit
def matmul_nt(x, w):
    """``x @ w.T`` for float32 ``x`` [M, K] and ``w`` [N, K]: float32 [M, N]."""
    m, k = x.shape
    n = w.shape[0]
    out = np.empty((m, n), np.float32)
    for i in range(m):
        j = 0
        while j + 4 <= n:
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
            j += 4
        while j < n:
            s = 0.0
            for kk in range(k):
                s += np.float64(x[i, kk]) * np.float64(w[j, kk])
            out[i, j] = s
            j += 1
    return out


@jit
def matmul_kn(x, wt):
    """``x @ wt`` for float32 ``x`` [M, K] and ``wt`` [K, N] (a weight matrix transposed):
    float32 [M, N], the same sums as :func:`matmul_nt` of ``wt.T``."""
    m, k = x.shape
    n = wt.shape[1]
    out = np.empty((m, n), np.float32)
    acc = np.empty(n, np.float64)
    for i in range(m):
        for j in range(n):
            acc[j] = 0.0
        for kk in range(k):
            a = np.float64(x[i, kk])
            for j in range(n):
                acc[j] += a * np.float64(wt[kk, j])
        for j in range(n):
            out[i, j] = acc[j]
    return out
