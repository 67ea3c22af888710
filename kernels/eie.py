"""Cycle model of one sparse matrix-vector product on an EIE-style PE array (issue #4, item 6).

The architecture is EIE's (Han et al., ISCA 2016, section III-IV); the derivation of every
rule below, with citations, is in :mod:`azsim.validate.eie`.

``eie_column_entries`` counts, for every PE and every column, the entries of that PE's slice
of the column in EIE's relative-index format: PE ``p`` of ``P`` owns rows ``r`` with
``r % P == p`` at local index ``r // P``; each nonzero is one entry, preceded by
``gap >> index_bits`` padding entries, where ``gap`` is the number of zero local positions
since the PE's previous nonzero of the column (or since the column top). A padding entry
covers ``2^index_bits`` positions, the same rule as :mod:`azsim.compress.formats_sparse`.

``eie_schedule`` replays the broadcast of the nonzero activations, in order, to the PEs'
activation queues and returns the cycle at which the last PE finishes. With ``b_k`` the cycle
activation ``k`` is broadcast, ``c[p, k] = max(work[p, k], min_cycles_per_column)`` its cost on
PE ``p`` (one entry per cycle), ``D`` the queue depth and ``f[p, k]`` the cycle PE ``p`` is done
with activation ``k`` (it leaves the queue then)::

    b_0 = 0,  b_k = max(b_(k-1) + 1, max_p f[p, k - D])        (one broadcast per cycle;
                                                                no broadcast into a full queue)
    f[p, k] = max(b_k, f[p, k - 1]) + c[p, k]                    (f[p, -1] = 0)
    cycles  = max(max_p f[p, K - 1], b_(K-1) + 1)   (0 when no activation is nonzero;
                                                    a broadcast takes its own cycle)

All quantities are integers, so the kernel and its NumPy twin agree exactly.
"""
import numpy as np

from .jit import jit


@jit
def eie_column_entries(col_ptr, row_idx, n_pes, index_bits):
    """Entries (nonzeros + padding) of every PE's slice of every column: int64[n_pes, cols].

    ``col_ptr`` (int64[cols + 1]) and ``row_idx`` (int64[nnz]) are a CSC structure whose row
    indices ascend within each column.
    """
    n_cols = col_ptr.size - 1
    out = np.zeros((n_pes, n_cols), np.int64)
    last = np.empty(n_pes, np.int64)
    for c in range(n_cols):
        for p in range(n_pes):
            last[p] = -1
        for i in range(col_ptr[c], col_ptr[c + 1]):
            r = row_idx[i]
            p = r % n_pes
            local = r // n_pes
            gap = local - last[p] - 1
            out[p, c] += 1 + (gap >> index_bits)
            last[p] = local
    return out


@jit
def broadcast_cycle(finish, k, b_prev, queue_depth):
    """``b_k = max(b_(k-1) + 1, max_p f[p, k - D])``: the cycle activation ``k`` is broadcast,
    one per cycle and never into a full queue. ``finish`` is the ring of ``f[p, k - D]`` kept
    at column ``k % D`` (shared by :func:`eie_schedule` and the PE-array model)."""
    b = b_prev + 1
    if k >= queue_depth:
        slot = k % queue_depth
        for p in range(finish.shape[0]):
            if finish[p, slot] > b:
                b = finish[p, slot]
    return b


@jit
def eie_schedule(work, queue_depth, min_cycles_per_column):
    """Cycles of one SpMV: ``(cycles, busy_cycles int64[n_pes], broadcast_stall_cycles)``.

    ``work`` is int64[n_pes, K]: the entries each PE walks for each broadcast (nonzero)
    activation, in broadcast order. ``busy_cycles[p]`` sums PE p's costs; a PE is idle (a
    bubble) for ``cycles - busy_cycles[p]`` cycles. ``broadcast_stall_cycles`` counts the cycles
    the broadcast waited for a full queue.
    """
    n_pes, n_act = work.shape
    finish = np.zeros((n_pes, queue_depth), np.int64)  # ring: f[p, k - D] sits at k % D
    last = np.zeros(n_pes, np.int64)                   # f[p, k - 1]
    busy = np.zeros(n_pes, np.int64)
    stall = 0
    b_prev = -1
    for k in range(n_act):
        b = broadcast_cycle(finish, k, b_prev, queue_depth)
        slot = k % queue_depth
        stall += b - (b_prev + 1)
        for p in range(n_pes):
            c = work[p, k]
            if c < min_cycles_per_column:
                c = min_cycles_per_column
            start = b if b > last[p] else last[p]
            last[p] = start + c
            finish[p, slot] = last[p]
            busy[p] += c
        b_prev = b
    cycles = 0
    if n_act > 0:
        cycles = b_prev + 1   # the last broadcast's own cycle (costs of 0 end no earlier)
        for p in range(n_pes):
            if last[p] > cycles:
                cycles = last[p]
    return cycles, busy, stall
