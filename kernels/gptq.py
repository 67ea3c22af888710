"""Error-compensating rounding onto a per-row grid (GPTQ, Frantar et al., ICLR 2023).

Round-to-nearest quantizes every weight on its own. GPTQ quantizes a matrix ``w`` [O, I] one
input column at a time and, after each column, moves the not yet quantized columns so that
the layer's *output* error on calibration inputs stays small: it minimizes
``sum_x |(w - q) x|^2 = tr((w - q) H (w - q)^T)`` with ``H = sum_x x x^T`` (the inputs' Gram
matrix), greedily, column by column (Optimal Brain Quantization). With ``U`` the upper
Cholesky factor of ``H^-1``, column ``i``'s rounding error ``e = (w[:, i] - q[:, i]) / U[i, i]``
is spread as ``w[:, j] -= e * U[i, j]`` over the columns ``j > i`` (the paper's Algorithm 1
with block size 1, which is the same arithmetic without the blocking).

Everything here is plain loops in float64 in a fixed order (own Cholesky factorizations, no
LAPACK), so the chosen codes depend on the inputs only, on any CPU and thread count, as the
float golden model's calibration does (``fmatmul.py``).
"""
import numpy as np
from numba import prange

from .jit import PARALLEL_MIN_MACS, jit, jit_parallel


@jit
def _gram_row(g, x, a):
    """Row ``a`` of ``x^T x`` from the diagonal on, added to ``g`` and mirrored: each entry is
    one ascending sum over the rows of ``x`` (from 0.0), then added to ``g``. The loops run
    over the rows of ``x`` outermost, so each product reads a row's inputs in order."""
    m, k = x.shape
    s = np.zeros(k - a)
    for r in range(m):
        xa = np.float64(x[r, a])
        for b in range(a, k):
            s[b - a] += xa * np.float64(x[r, b])
    for b in range(a, k):
        g[a, b] += s[b - a]
        if b != a:
            g[b, a] += s[b - a]


@jit_parallel
def _gram_parallel(g, x):
    """Rows ``i`` and ``K - 1 - i`` together, so that every task has about K entries."""
    k = x.shape[1]
    for i in prange((k + 1) // 2):
        _gram_row(g, x, i)
        if k - 1 - i != i:
            _gram_row(g, x, k - 1 - i)


@jit
def gram_accumulate(g, x):
    """``g += x^T x`` for float32 rows ``x`` [M, K] into a float64 [K, K] matrix (each entry
    one ascending sum over the rows, products exact in float64, then added to ``g``). Rows of
    ``g`` run in parallel from ``PARALLEL_MIN_MACS`` products on, each on one thread and
    written by it alone, so the result does not depend on the thread count. (Summing each
    entry over the rows of ``x`` innermost, as before 2026-12-05, read ``x`` by columns: he2019's
    Gram matrices took 24 s on the shipped audio.)"""
    m, k = x.shape
    if m * k * (k + 1) // 2 >= PARALLEL_MIN_MACS:
        _gram_parallel(g, x)
    else:
        for a in range(k):
            _gram_row(g, x, a)


@jit
def _cholesky_diagonal(a, low, j):
    s = a[j, j]
    for k in range(j):
        s -= low[j, k] * low[j, k]
    if s <= 0.0:
        raise ValueError("matrix is not positive definite")
    low[j, j] = np.sqrt(s)


@jit
def _cholesky_entry(a, low, i, j):
    s = a[i, j]
    for k in range(j):
        s -= low[i, k] * low[j, k]
    low[i, j] = s / low[j, j]


@jit_parallel
def _cholesky_by_columns(a, low):
    """Column j's diagonal, then its entries below it in parallel (each reads rows i and j
    of ``L`` in memory order)."""
    n = a.shape[0]
    for j in range(n):
        _cholesky_diagonal(a, low, j)
        for i in prange(j + 1, n):
            _cholesky_entry(a, low, i, j)


@jit
def cholesky_lower(a):
    """Lower-triangular ``L`` with ``a = L L^T`` for a symmetric positive definite ``a``
    (Cholesky-Banachiewicz: each entry is ``a[i, j]`` minus ``L[i, k] L[j, k]`` for
    ascending ``k < j``, divided by ``L[j, j]``; the diagonal its square root). By rows, or
    from ``PARALLEL_MIN_MACS`` on by columns with the rows in parallel: every entry is the
    same terms in the same order, so ``L`` does not depend on the thread count. Raises if
    ``a`` is not positive definite."""
    n = a.shape[0]
    low = np.zeros((n, n))
    if n * n * n // 6 >= PARALLEL_MIN_MACS:
        _cholesky_by_columns(a, low)
        return low
    for i in range(n):
        for j in range(i):
            _cholesky_entry(a, low, i, j)
        _cholesky_diagonal(a, low, i)
    return low


@jit
def _inverse_gram_row(inv_low, hinv, i):
    """Row ``i`` of ``L^-T L^-1`` from the diagonal on: entry ``j >= i`` gains
    ``L^-1[k, i] L^-1[k, j]`` for ascending ``k >= j``."""
    n = inv_low.shape[0]
    for k in range(i, n):
        a = inv_low[k, i]
        for j in range(i, k + 1):
            hinv[i, j] += a * inv_low[k, j]


@jit_parallel
def _inverse_gram_parallel(inv_low, hinv):
    n = inv_low.shape[0]
    for i in prange((n + 1) // 2):        # rows i and n - 1 - i: about n entries a task
        _inverse_gram_row(inv_low, hinv, i)
        if n - 1 - i != i:
            _inverse_gram_row(inv_low, hinv, n - 1 - i)


@jit
def inverse_upper_cholesky(h):
    """Upper ``U`` with ``h^-1 = U^T U``, for a symmetric positive definite ``h``.

    ``h = L L^T`` gives ``h^-1 = L^-T L^-1``; ``U`` is the upper factor GPTQ needs: the
    transpose of the lower Cholesky factor of ``h^-1``. The rows of ``h^-1`` are independent
    and run in parallel from ``PARALLEL_MIN_MACS`` on; every entry is the same sum in the
    same order either way, so ``U`` does not depend on the thread count."""
    n = h.shape[0]
    low = cholesky_lower(h)
    # inv_low = L^-1 (lower), by forward substitution, a row at a time: row i is
    # -(sum over k < i of L[i, k] * row k) / L[i, i], plus 1 / L[i, i] on the diagonal (the
    # loops read rows, not columns, so a 2048-wide matrix stays in cache order).
    inv_low = np.zeros((n, n))
    for i in range(n):
        for k in range(i):
            coef = low[i, k]
            for j in range(k + 1):
                inv_low[i, j] -= coef * inv_low[k, j]
        inv_low[i, i] = 1.0
        for j in range(i + 1):
            inv_low[i, j] /= low[i, i]
    # hinv = L^-T L^-1: upper triangle by rows, then mirrored.
    hinv = np.zeros((n, n))
    if n * n * n // 6 >= PARALLEL_MIN_MACS:
        _inverse_gram_parallel(inv_low, hinv)
    else:
        for i in range(n):
            _inverse_gram_row(inv_low, hinv, i)
    for i in range(n):
        for j in range(i):
            hinv[i, j] = hinv[j, i]
    # U = chol(hinv)^T in the upper form: hinv = U^T U.
    return cholesky_lower(hinv).T.copy()


@jit
def _round_code(v, scale, qmax, binary):
    """The nearest grid code of value ``v`` on a row of step ``scale`` (round half to even,
    clipped to +-qmax); binary grids have codes -1 and +1 only."""
    if binary:
        return 1.0 if v >= 0.0 else -1.0
    c = np.rint(v / scale)
    if c > qmax:
        return float(qmax)
    if c < -qmax:
        return float(-qmax)
    return c


@jit_parallel
def gptq_round(w, upper, scale, qmax, binary, keep):
    """Codes for ``w`` [O, I] (float64, columns already in processing order) on the per-row
    grid ``code * scale[o]`` with |code| <= qmax (binary: codes +-1), greedily compensating
    each column's error on the later columns through ``upper`` (``inverse_upper_cholesky``
    of the damped Gram matrix, same column order). Weights with ``keep`` False (pruned) get
    code 0 and their whole value is compensated. ``w`` is not modified. Returns int8 codes.

    A row's compensation never touches another row, so rows run in parallel, each one by
    one thread in column order: the codes are the same for any thread count."""
    o_n, i_n = w.shape
    codes = np.zeros((o_n, i_n), np.int8)
    for o in prange(o_n):
        work = w[o].copy()
        for i in range(i_n):
            v = work[i]
            c = _round_code(v, scale[o], qmax, binary) if keep[o, i] else 0.0
            codes[o, i] = np.int8(c)
            err = (v - c * scale[o]) / upper[i, i]
            for j in range(i + 1, i_n):
                work[j] -= err * upper[i, j]
    return codes


@jit
def _mark_least(values, k, marks):
    """Set ``marks`` at the ``k`` least ``values``, ties going to the earlier index: the
    first ``k`` of a stable sort, found by one selection (``np.partition``) instead."""
    if k <= 0:
        return
    threshold = np.partition(values, k - 1)[k - 1]
    below = 0
    for t in range(values.size):
        if values[t] < threshold:
            marks[t] = True
            below += 1
    for t in range(values.size):
        if below == k:
            break
        if values[t] == threshold:
            marks[t] = True
            below += 1


@jit_parallel
def obs_prune(w, upper, block_counts, block, per_row):
    """Prune ``w`` [O, I] (float64, columns in processing order) by SparseGPT's adaptive mask
    selection (Frantar & Alistarh, "SparseGPT: Massive Language Models Can Be Accurately
    Pruned in One-Shot", ICML 2023, Algorithm 1 without quantization) and return the pruned
    weights, the kept ones compensated. ``upper``: ``inverse_upper_cholesky`` of the damped
    input Gram matrix (same column order); ``block_counts[b]``: how many weights block ``b``
    (columns ``b * block`` .. ``b * block + block - 1``) prunes, in all (``per_row`` False) or
    in each row (``per_row`` True: N:M groups, one block per group of M columns).

    When the sweep reaches a block, the block's mask prunes its ``block_counts[b]`` weights of
    least saliency ``w^2 / U[i, i]^2`` (the Optimal Brain Surgeon error of removing the weight
    alone, with the weights as compensation has left them so far; ties: the earlier weight,
    row-major inside the block; one selection, not a sort), or that many of each row's.
    Then, column by column, each pruned weight's value ``v`` is spread as
    ``w[o, j] -= v / U[i, i] * U[i, j]`` over the columns ``j > i`` of its row. A kept weight
    has no error, so it moves only by what earlier columns spread onto it.

    Rows are independent between mask selections, so they run in parallel; the selection
    runs on one thread: the result does not depend on the thread count."""
    o_n, i_n = w.shape
    work = w.copy()
    for b0 in range(0, i_n, block):
        width = min(block, i_n - b0)
        k = block_counts[b0 // block]
        pruned = np.zeros((o_n, width), np.bool_)
        if k > 0 and per_row:
            for o in prange(o_n):
                row = np.empty(width)
                for c in range(width):
                    d = upper[b0 + c, b0 + c]
                    row[c] = work[o, b0 + c] * work[o, b0 + c] / (d * d)
                order = np.argsort(row, kind="mergesort")
                for t in range(min(k, width)):
                    pruned[o, order[t]] = True
        elif k > 0:
            saliency = np.empty(o_n * width)
            for o in prange(o_n):
                for c in range(width):
                    d = upper[b0 + c, b0 + c]
                    saliency[o * width + c] = work[o, b0 + c] * work[o, b0 + c] / (d * d)
            _mark_least(saliency, min(k, o_n * width), pruned.reshape(o_n * width))
        for o in prange(o_n):
            for c in range(width):
                if pruned[o, c]:
                    i = b0 + c
                    err = work[o, i] / upper[i, i]
                    work[o, i] = 0.0
                    for j in range(i + 1, i_n):
                        work[o, j] -= err * upper[i, j]
    return work
