"""Plain NumPy twins of ``kernels/pe_array.py``, written from the formulas in its docstring.

Slow and obvious: full (P, K) arrays of broadcast and finish cycles per invocation, and the
streaming pipeline as explicit per-tile lists.
"""
import numpy as np

from . import eie_np


def pe_slice_nnz(q, n_pes):
    q = np.asarray(q) != 0
    return np.stack([q[p::n_pes].sum(axis=0) for p in range(n_pes)]).astype(np.int64)


def _schedule(cost, queue_depth):
    """EIE's broadcast-and-queue recurrence (the twin in eie_np) with no per-column minimum."""
    return eie_np.schedule(cost, queue_depth, 0)[0]


def pe_invocations(cost, issued, real, decoded, wbytes, active, queue_depth):
    """Tables [cols, n_pes], as the kernel takes them."""
    cost, issued, real, decoded, wbytes = (np.asarray(a).T for a in
                                           (cost, issued, real, decoded, wbytes))
    out = {name: [] for name in ("cycles", "busy", "issued", "real", "decoded", "decoded_max",
                                 "bytes", "bytes_max")}
    for mask in np.asarray(active, bool):
        cols = np.flatnonzero(mask)
        out["cycles"].append(_schedule(cost[:, cols], queue_depth))
        out["busy"].append(int(cost[:, cols].sum()))
        out["issued"].append(int(issued[:, cols].sum()))
        out["real"].append(int(real[:, cols].sum()))
        out["decoded"].append(int(decoded[:, cols].sum()))
        out["decoded_max"].append(int(decoded[:, cols].sum(axis=1).max()))
        out["bytes"].append(float(wbytes[:, cols].sum()))
        out["bytes_max"].append(float(wbytes[:, cols].sum(axis=1).max()))
    return out


def stream_pipeline(frame_ptr, compute, tail, n_tiles, tile_cycles, on_demand, latency,
                    n_buffers):
    span = np.zeros(len(compute))
    stall = np.zeros(len(compute))
    in_span = np.zeros(len(compute))
    for f in range(len(frame_ptr) - 1):
        t, channel, done = 0.0, 0.0, []
        for i in range(frame_ptr[f], frame_ptr[f + 1]):
            start = t
            if n_tiles[i] <= 0:
                t += compute[i]
                span[i] = t - start
                stall[i] = span[i] - compute[i]
                continue
            windows = []
            for _ in range(n_tiles[i]):
                free = done[-n_buffers] if len(done) >= n_buffers else 0.0
                fetch = max(channel, free, t if on_demand[i] else 0.0)
                channel = fetch + tile_cycles[i]
                windows.append((fetch, channel))
                t = max(t, fetch + latency + tile_cycles[i]) \
                    + (compute[i] - tail[i]) / n_tiles[i]
                done.append(t)
            t += tail[i]
            span[i] = t - start
            stall[i] = span[i] - compute[i]
            in_span[i] = sum(max(0.0, min(b, t) - max(a, start)) for a, b in windows)
    return span, stall, in_span
