"""Cycle kernels of the PE array and of the weight-streaming pipeline (issue #4).

The model each kernel implements is stated here once; azsim/cost/pe_array.py and the module
docstring of azsim/cost/model.py explain where it comes from. The cycle, work and count
outputs are integer recurrences, so the NumPy twins in tests/reference/pe_array_np.py agree
with them exactly; the weight-byte sums (float64) are added in another order there and agree to the
last bits (tests/test_pe_array.py: exact for the integers, 1e-12 relative for the bytes).

``pe_slice_nnz(q, n_pes)``: nonzero codes of every PE's slice of every column, int64[n_pes,
cols]; PE ``p`` owns the rows ``r`` with ``r % n_pes == p``.

``pe_invocations(cost, issued, real, decoded, wbytes, active, queue_depth)``: the tables are
``[cols, n_pes]`` (column-major per PE, so that a broadcast column's PEs are contiguous). For
every invocation ``i`` (a row of the boolean ``active[n_inv, cols]``), the columns with
``active[i, j]`` are broadcast in index order, at most one per cycle, into per-PE queues of
``queue_depth`` entries; PE ``p`` spends ``cost[j, p]`` cycles on column ``j``. With ``b_k`` the broadcast cycle of
the k-th active column and ``f[p, k]`` the cycle PE ``p`` is done with it::

    b_0 = 0,  b_k = max(b_(k-1) + 1, max_p f[p, k - D])      (no broadcast into a full queue)
    f[p, k] = max(b_k, f[p, k - 1]) + cost[j_k, p]
    cycles  = max(max_p f[p, K - 1], b_(K-1) + 1)  (0 when no column is active)

(a broadcast takes its cycle even when every PE's cost for the column is 0, as at
``min_cycles_per_column = 0``: K broadcasts take at least K cycles; until 2026-12-06 a last
column of no work ended the product a cycle early, an audit found)

(the recurrence of kernels/eie.py). Per invocation it returns the cycles, the busy PE-cycles
(sum of cost), and, over the active columns, the sums of ``issued``, ``real``, ``decoded`` and
``wbytes`` and the per-PE maxima of ``decoded`` and ``wbytes`` (the decoder and SRAM-port
bounds need the busiest PE).

``stream_pipeline(frame_ptr, compute, tail, n_tiles, tile_cycles, on_demand, latency,
n_buffers)``: items (layers in execution order) of consecutive frames, ``frame_ptr``
delimiting each frame. An item with ``n_tiles == 0`` has resident weights and computes for
``compute`` cycles; a streamed item is split into ``n_tiles`` tiles that DRAM fetches in order
into ``n_buffers`` SRAM buffers (2 = double buffering), each tile occupying the channel
``tile_cycles`` and arriving ``latency`` cycles after its request; its compute less its
``tail`` is spread evenly over the tiles, and the ``tail`` (the nonlinear unit's work, which
needs the whole product) follows the last tile. Per frame, from empty buffers at time 0, with
tile ``g`` of the frame and ``t`` the compute timeline (the end of the previous tile or item)::

    fetch_g  = max(channel_free, done_(g - n_buffers))     (its buffer must be free)
               and, for an ``on_demand`` item, >= t        (its address is known only then)
    channel_free = fetch_g + tile_cycles
    arrive_g = fetch_g + latency + tile_cycles
    done_g   = max(t, arrive_g) + (compute - tail) / n_tiles

An ``on_demand`` item is a streamed embedding: each tile is one lookup's row, which depends on
the token just emitted, so it cannot be fetched ahead (until 2026-12-06 it was prefetched like
weights, and the DRAM latency of every token-driven lookup was hidden; a DRAM audit found it,
as it found the nonlinear work spread over the tiles, hidden behind the fetches).

It returns each item's span on the compute timeline (from the end of the previous item to its
own end), the stall cycles within it (span - compute), and the channel time of its own tiles
that falls within its span (``sum_g |[fetch_g, fetch_g + tile_cycles] & [start, end]|``): what
the channel spent on the item while the item ran, the measure of whether it is bound by what
delivers its tiles (tiles fetched while earlier items computed do not count).
"""
import numpy as np

from .eie import broadcast_cycle
from .jit import jit


@jit
def pe_slice_nnz(q, n_pes):
    """Nonzero codes of each PE's slice of each column: int64[n_pes, cols]."""
    n_rows, n_cols = q.shape
    out = np.zeros((n_pes, n_cols), np.int64)
    for r in range(n_rows):
        p = r % n_pes
        for c in range(n_cols):
            if q[r, c] != 0:
                out[p, c] += 1
    return out


@jit
def pe_invocations(cost, issued, real, decoded, wbytes, active, queue_depth):
    """Cycles and counts of each invocation; see the module docstring.

    Returns ``(cycles, busy, issued_sum, real_sum, decoded_sum, decoded_max_pe, bytes_sum,
    bytes_max_pe)``: int64 arrays, and float64 for the bytes.
    """
    n_cols, n_pes = cost.shape
    n_inv = active.shape[0]
    cycles = np.zeros(n_inv, np.int64)
    busy = np.zeros(n_inv, np.int64)
    issued_sum = np.zeros(n_inv, np.int64)
    real_sum = np.zeros(n_inv, np.int64)
    decoded_sum = np.zeros(n_inv, np.int64)
    decoded_max = np.zeros(n_inv, np.int64)
    bytes_sum = np.zeros(n_inv, np.float64)
    bytes_max = np.zeros(n_inv, np.float64)
    finish = np.zeros((n_pes, queue_depth), np.int64)
    last = np.zeros(n_pes, np.int64)
    dec_pe = np.zeros(n_pes, np.int64)
    bytes_pe = np.zeros(n_pes, np.float64)
    # A column's cost, issued and real entries summed over the PEs do not depend on the
    # invocation: summed once here, they leave the per-PE loop below (integers: exact in any
    # order).
    col_cost = np.zeros(n_cols, np.int64)
    col_issued = np.zeros(n_cols, np.int64)
    col_real = np.zeros(n_cols, np.int64)
    for j in range(n_cols):
        for p in range(n_pes):
            col_cost[j] += cost[j, p]
            col_issued[j] += issued[j, p]
            col_real[j] += real[j, p]
    for i in range(n_inv):
        for p in range(n_pes):
            last[p] = 0
            dec_pe[p] = 0
            bytes_pe[p] = 0.0
        k = 0
        b_prev = -1
        for j in range(n_cols):
            if not active[i, j]:
                continue
            b = broadcast_cycle(finish, k, b_prev, queue_depth)
            slot = k % queue_depth
            for p in range(n_pes):
                start = b if b > last[p] else last[p]
                last[p] = start + cost[j, p]
                finish[p, slot] = last[p]
                dec_pe[p] += decoded[j, p]
                bytes_pe[p] += wbytes[j, p]
            busy[i] += col_cost[j]
            issued_sum[i] += col_issued[j]
            real_sum[i] += col_real[j]
            b_prev = b
            k += 1
        done = 0
        dmax = 0
        bmax = 0.0
        dsum = 0
        bsum = 0.0
        for p in range(n_pes):
            if k > 0 and last[p] > done:
                done = last[p]
            if dec_pe[p] > dmax:
                dmax = dec_pe[p]
            if bytes_pe[p] > bmax:
                bmax = bytes_pe[p]
            dsum += dec_pe[p]
            bsum += bytes_pe[p]
        if k > 0 and b_prev + 1 > done:   # the last broadcast's own cycle
            done = b_prev + 1
        cycles[i] = done
        decoded_sum[i] = dsum
        decoded_max[i] = dmax
        bytes_sum[i] = bsum
        bytes_max[i] = bmax
    return cycles, busy, issued_sum, real_sum, decoded_sum, decoded_max, bytes_sum, bytes_max


@jit
def stream_pipeline(frame_ptr, compute, tail, n_tiles, tile_cycles, on_demand, latency,
                    n_buffers):
    """Span, stall and in-span channel cycles of each item; see the module docstring."""
    n_items = compute.shape[0]
    span = np.zeros(n_items, np.float64)
    stall = np.zeros(n_items, np.float64)
    in_span = np.zeros(n_items, np.float64)
    done_ring = np.zeros(n_buffers, np.float64)
    most = 1
    for i in range(n_items):
        if n_tiles[i] > most:
            most = n_tiles[i]
    fetches = np.zeros(most, np.float64)
    for f in range(frame_ptr.shape[0] - 1):
        t = 0.0
        channel_free = 0.0
        g = 0
        for i in range(frame_ptr[f], frame_ptr[f + 1]):
            start = t
            n = n_tiles[i]
            if n <= 0:
                t += compute[i]
            else:
                per_tile = (compute[i] - tail[i]) / n
                for j in range(n):
                    slot = g % n_buffers
                    fetch = channel_free
                    if g >= n_buffers and done_ring[slot] > fetch:
                        fetch = done_ring[slot]
                    if on_demand[i] and t > fetch:
                        fetch = t
                    fetches[j] = fetch
                    channel_free = fetch + tile_cycles[i]
                    arrive = fetch + latency + tile_cycles[i]
                    begin = t if t > arrive else arrive
                    t = begin + per_tile
                    done_ring[slot] = t
                    g += 1
                t += tail[i]
                for j in range(n):
                    lo = fetches[j] if fetches[j] > start else start
                    hi = fetches[j] + tile_cycles[i]
                    if hi > t:
                        hi = t
                    if hi > lo:
                        in_span[i] += hi - lo
            span[i] = t - start
            stall[i] = span[i] - compute[i]
    return span, stall, in_span
