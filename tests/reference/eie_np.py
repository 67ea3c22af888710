"""Plain NumPy twins of ``kernels/eie.py``, written from the formulas in its docstring.

Slow and obvious: a dense matrix sliced per PE for the entry counts, and full (P, K) arrays
of broadcast and finish cycles for the schedule.
"""
import numpy as np


def column_entries(dense, n_pes, index_bits):
    """Entries of every PE's slice of every column of a dense (rows, cols) matrix."""
    dense = np.asarray(dense) != 0
    out = np.zeros((n_pes, dense.shape[1]), np.int64)
    for p in range(n_pes):
        mine = dense[p::n_pes, :]  # local row l is global row p + l * n_pes
        for c in range(dense.shape[1]):
            local = np.flatnonzero(mine[:, c])
            gaps = np.diff(np.concatenate([[-1], local])) - 1
            out[p, c] = local.size + int(np.sum(gaps >> index_bits))
    return out


def schedule(work, queue_depth, min_cycles_per_column):
    work = np.asarray(work, np.int64)
    n_pes, n_act = work.shape
    cost = np.maximum(work, min_cycles_per_column)
    b = np.zeros(n_act, np.int64)
    f = np.zeros((n_pes, n_act), np.int64)
    for k in range(n_act):
        b[k] = 0 if k == 0 else b[k - 1] + 1
        if k >= queue_depth:
            b[k] = max(b[k], f[:, k - queue_depth].max())
        before = f[:, k - 1] if k > 0 else np.zeros(n_pes, np.int64)
        f[:, k] = np.maximum(b[k], before) + cost[:, k]
    cycles = max(int(f[:, -1].max()), int(b[-1]) + 1) if n_act else 0
    stall = int(np.sum(b[1:] - b[:-1] - 1)) if n_act else 0
    return cycles, cost.sum(axis=1), stall
