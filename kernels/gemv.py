"""int8 x int8 -> int32 matrix-vector and matrix-matrix products that count their events.

Event counts come out of the same pass as the arithmetic (issue #2, DESIGN.md "execute"):
for each input vector the kernel reports how many activations are nonzero and how many
MACs had both a nonzero weight and a nonzero activation (the work a zero-skipping MAC array
must still do). ``col_nnz[i]`` is the number of nonzero weights in column i, known
statically from the model.
"""
import numpy as np
from numba import prange

from .jit import PARALLEL_MIN_MACS, jit, jit_parallel

ROW_BLOCK = 64  # output rows per parallel task: large enough to amortize scheduling


@jit
def count_effectual(x, col_nnz):
    """(nonzero activations, effectual MACs) of one input vector."""
    nz = 0
    eff = 0
    for i in range(x.shape[0]):
        if x[i] != 0:
            nz += 1
            eff += col_nnz[i]
    return nz, eff


@jit
def _gemv_block(w, x, bias, out, blk):
    n_out, n_in = w.shape
    for o in range(blk * ROW_BLOCK, min(n_out, (blk + 1) * ROW_BLOCK)):
        acc = np.int32(bias[o])
        for i in range(n_in):
            acc += np.int32(w[o, i]) * np.int32(x[i])
        out[o] = acc


@jit_parallel
def _gemv_rows_parallel(w, x, bias, out):
    for blk in prange((w.shape[0] + ROW_BLOCK - 1) // ROW_BLOCK):
        _gemv_block(w, x, bias, out, blk)


@jit
def _gemv_rows(w, x, bias, out):
    """Row blocks in parallel for large products, on this thread below PARALLEL_MIN_MACS
    (``kernels/jit.py``); each output is the same sum either way."""
    if w.shape[0] * w.shape[1] >= PARALLEL_MIN_MACS:
        _gemv_rows_parallel(w, x, bias, out)
    else:
        for blk in range((w.shape[0] + ROW_BLOCK - 1) // ROW_BLOCK):
            _gemv_block(w, x, bias, out, blk)


@jit
def gemv_i8(w, x, bias, col_nnz, out):
    """out = w @ x + bias in int32. Returns (nonzero activations, effectual MACs)."""
    _gemv_rows(w, x, bias, out)
    return count_effectual(x, col_nnz)


@jit
def _gemm_block(w, xs, bias, out, blk):
    n_out, n_in = w.shape
    for o in range(blk * ROW_BLOCK, min(n_out, (blk + 1) * ROW_BLOCK)):
        b = np.int32(bias[o])
        for t in range(xs.shape[0]):
            acc = b
            for i in range(n_in):
                acc += np.int32(w[o, i]) * np.int32(xs[t, i])
            out[t, o] = acc


@jit_parallel
def _gemm_rows_parallel(w, xs, bias, out):
    for blk in prange((w.shape[0] + ROW_BLOCK - 1) // ROW_BLOCK):
        _gemm_block(w, xs, bias, out, blk)


@jit
def _gemm_rows(w, xs, bias, out):
    if w.shape[0] * w.shape[1] * xs.shape[0] >= PARALLEL_MIN_MACS:
        _gemm_rows_parallel(w, xs, bias, out)
    else:
        for blk in range((w.shape[0] + ROW_BLOCK - 1) // ROW_BLOCK):
            _gemm_block(w, xs, bias, out, blk)


@jit
def gemm_i8(w, xs, bias, col_nnz, out, nz_out, eff_out):
    """out[t] = w @ xs[t] + bias for every row t of xs (int32).

    Loops weight-row-outer so that each weight row is read from memory once for all t (the
    rows of xs stay in cache); per-row nonzero-activation and effectual-MAC counts go to
    ``nz_out[t]`` and ``eff_out[t]``.
    """
    _gemm_rows(w, xs, bias, out)
    for t in range(xs.shape[0]):
        nz, eff = count_effectual(xs[t], col_nnz)
        nz_out[t] = nz
        eff_out[t] = eff
