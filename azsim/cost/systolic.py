"""Dense systolic-array baseline: cycles of a GEMM on an R x C array (issue #4).

The GEMM multiplies an M x K input (M vectors: batch or time steps; M = 1 for the matrix-vector
products of streaming batch-1 inference) by a K x N weight matrix (N outputs). The mapping and
the fill/drain terms are SCALE-Sim's (Samajdar et al., "A Systematic Methodology for
Characterizing Scalability of DNN Accelerators using SCALE-Sim", ISPASS 2020; the v3 code's
``systolic_compute_ws.py`` / ``systolic_compute_os.py`` demand matrices):

* weight stationary (ws): the array holds an R x C tile of the weights (K on rows, N on
  columns); the M inputs stream through. ``folds = ceil(K/R) * ceil(N/C)``, and each fold takes
  ``R`` cycles to load the weights, ``M`` to stream the inputs and ``R + C - 2`` of skew to fill
  and drain: ``2R + C + M - 2``.
* output stationary (os): the array holds an R x C tile of outputs (M on rows, N on columns);
  the K-long reductions stream through. ``folds = ceil(M/R) * ceil(N/C)``, each taking
  ``K + R + C - 2`` cycles.

``cycles = folds * per_fold`` counts cycles; SCALE-Sim's "Total Cycles" reports the 0-based
index of the cycle of the last output, one less (benchmarks/scalesim_compare.py shows both).

A precision-scalable array packs ``p = floor(8/b)`` b-bit weights per cell: a fold covers
``p x C`` outputs (the N direction), ``ceil(N / pC)`` column folds, while the inputs still
cross the ``C`` physical columns and the weights still load over ``R`` cycles, so the skew
and the load stay those of the physical array (``pack``; until 2026-12-06 the array was
costed as ``pC`` columns wide, its skew included: +34 % cycles at 4 bits, +102 % at 2 bits
on a 16 x 16 ws array; audit). A systolic array moves operands in lockstep, so zero operands
cost their cycles (they can only be gated, which saves energy).

Feeding the array (:func:`fed_gemm_cycles`): SCALE-Sim's fold assumes the weights arrive as
fast as the array takes them, one row of C cells per cycle in ws (the R-cycle load), one per
cycle beside the K inputs in os. When the SRAM port (or the weight decoder on the SRAM->PE
path) delivers a fold's weights more slowly, that part of the fold stretches to the feed
time of that fold's weights; the skew does not overlap it (a ws fold cannot compute before
its tile is loaded).

:func:`cell_pack`: the weights a cell holds are the decoded matrix's codes, so a pruned
1-bit matrix (three values, held at 2 bits) packs floor(8/2) a cell, not floor(8/1).
"""
from __future__ import annotations

import numpy as np

__all__ = ["gemm_cycles", "fed_gemm_cycles", "folds", "row_col_folds", "cell_pack", "slot_bits"]


def slot_bits(info, hw) -> int:
    """The width of the values a MAC slot (a systolic cell's, or a PE lane's) holds for the
    layer ``info``: the width the MACs multiply or, where the zeros flow through the slots
    (a systolic array, or a PE array that does not skip zero weights), the width of the
    decoded codes when wider. A pruned 1-bit grid matrix's codes are -1, 0 and +1, held at
    2 bits (:attr:`LayerInfo.weight_decoded_bits`). Lane packing
    (``azsim.schedule.mapping``), cell packing and MAC energy take it."""
    return max(info.mac_weight_bits, info.weight_decoded_bits) if hw.walks_zero_weights \
        else info.mac_weight_bits


def cell_pack(info, hw) -> int:
    """Weights one cell of ``hw``'s systolic array holds and multiplies per cycle for the
    layer ``info``: floor(8/b) on a precision-scalable array, b its :func:`slot_bits` (a
    pruned 1-bit matrix packed 8 a cell until an audit, and took half the cycles of the same
    values at 2 bits)."""
    return hw.macs_per_lane(slot_bits(info, hw))


def row_col_folds(m: int, k: int, n: int, rows: int, cols: int, dataflow: str,
                  pack: int = 1) -> tuple[int, int]:
    """(row folds, column folds) of the GEMM: ws tiles K over the rows, os tiles M; both
    tile N over ``pack x cols`` (``pack`` weights per cell)."""
    col_folds = -(-n // (cols * pack))
    if dataflow == "ws":
        return -(-k // rows), col_folds
    if dataflow == "os":
        return -(-m // rows), col_folds
    raise ValueError(f"dataflow = {dataflow!r}: expected 'ws' or 'os'")


def folds(m: int, k: int, n: int, rows: int, cols: int, dataflow: str, pack: int = 1) -> int:
    """Number of array tiles (folds) the GEMM is split into."""
    row_folds, col_folds = row_col_folds(m, k, n, rows, cols, dataflow, pack)
    return row_folds * col_folds


def gemm_cycles(m, k, n, rows: int, cols: int, dataflow: str, pack: int = 1):
    """Cycles of an (M x K) @ (K x N) GEMM; m, k, n may be arrays (broadcast together).
    ``pack``: weights per cell (a precision-scalable array's floor(8/b))."""
    m, k, n = (np.asarray(v, np.int64) for v in (m, k, n))
    if np.any(m < 1) or np.any(k < 1) or np.any(n < 1) or rows < 1 or cols < 1 or pack < 1:
        raise ValueError("GEMM dimensions, array size and pack must be >= 1")
    col_folds = -(-n // (cols * pack))
    if dataflow == "ws":
        out = -(-k // rows) * col_folds * (2 * rows + cols + m - 2)
    elif dataflow == "os":
        out = -(-m // rows) * col_folds * (rows + cols + k - 2)
    else:
        raise ValueError(f"dataflow = {dataflow!r}: expected 'ws' or 'os'")
    return int(out) if out.ndim == 0 else out


def _tiles(total: int, tile: int) -> list[tuple[int, int]]:
    """(size, how many) of the tiles ``total`` is cut into, ``tile`` at most each."""
    full, rest = divmod(total, tile)
    return [(size, count) for size, count in ((tile, full), (rest, 1)) if count and size]


def fed_gemm_cycles(m: int, k: int, n: int, rows: int, cols: int, dataflow: str,
                    feed_cycles: float, pack: int = 1) -> float:
    """Cycles of the GEMM when its weights take ``feed_cycles`` to reach the array in all
    (the SRAM port's or the decoder's time for the whole matrix): each fold's weight phase
    -- ws: the R-cycle load, os: the K cycles the weights stream beside the inputs -- takes
    at least the feed time of the weights that fold holds (its share of the matrix: ws an
    r x c tile, os a K x c block, fed again for every row fold). Equals :func:`gemm_cycles`
    while the feed keeps up. (Until an audit the feed was spread evenly over the folds, so a
    partial fold lent its slack to the full ones: K = 17, N = 16 on 16 x 16 ws at 8 B/cycle
    took 96 cycles where its 256-weight fold alone needs 32 + 31 and the 16-weight one 47.)"""
    base = gemm_cycles(m, k, n, rows, cols, dataflow, pack)
    col_tiles = _tiles(n, cols * pack)
    if dataflow == "ws":
        row_tiles, phase = _tiles(k, rows), rows
    else:
        row_tiles, phase = [(k, -(-m // rows))], k
    per_weight = feed_cycles / (k * n)
    extra = sum(rc * cc * max(r * c * per_weight - phase, 0.0)
                for r, rc in row_tiles for c, cc in col_tiles)
    return float(base + extra)
