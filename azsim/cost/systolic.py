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

A precision-scalable array packs ``floor(8/b)`` b-bit weights per cell, i.e. that many more
columns of weights (the N direction) per fold. A systolic array moves operands in lockstep, so
zero operands cost their cycles (they can only be gated, which saves energy).
"""
from __future__ import annotations

import numpy as np

__all__ = ["gemm_cycles", "folds"]


def folds(m: int, k: int, n: int, rows: int, cols: int, dataflow: str) -> int:
    """Number of array tiles (folds) the GEMM is split into."""
    if dataflow == "ws":
        return -(-k // rows) * -(-n // cols)
    if dataflow == "os":
        return -(-m // rows) * -(-n // cols)
    raise ValueError(f"dataflow = {dataflow!r}: expected 'ws' or 'os'")


def gemm_cycles(m, k, n, rows: int, cols: int, dataflow: str):
    """Cycles of an (M x K) @ (K x N) GEMM; m, k, n may be arrays (broadcast together)."""
    m, k, n = (np.asarray(v, np.int64) for v in (m, k, n))
    if np.any(m < 1) or np.any(k < 1) or np.any(n < 1) or rows < 1 or cols < 1:
        raise ValueError("GEMM dimensions and array size must be >= 1")
    col_folds = -(-n // cols)
    if dataflow == "ws":
        out = -(-k // rows) * col_folds * (2 * rows + cols + m - 2)
    elif dataflow == "os":
        out = -(-m // rows) * col_folds * (rows + cols + k - 2)
    else:
        raise ValueError(f"dataflow = {dataflow!r}: expected 'ws' or 'os'")
    return int(out) if out.ndim == 0 else out
