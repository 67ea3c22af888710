"""One BLAS thread for every azsim process, so that a run's numbers do not depend on it.

azsim's inference is integer and bit-exact, but the integer model is made from float
arithmetic first: calibration runs the float golden model (``azsim.model.float_ref``) through
NumPy's matrix products, and the activation ranges it measures set the quantization scales.
OpenBLAS splits a product differently for different thread counts, and the split changes the
last bits of some sums (measured here: ``enc.0.r``'s range 2.810157299 with one thread,
2.810157537 with two), which can move a scale and with it the integer model: the 4-bit
`small` point of a sweep counted 270,790,611 effectual MACs in a one-thread sweep worker and
270,786,836 in `azsim run`, until both used one thread. The 8-bit default run was the same
either way (measured), but nothing guaranteed it.

Sweep workers always ran with one BLAS thread (:data:`azsim.sweep.worker.WORKER_ENV`); the CLI
now does too, so `azsim run`, `azsim eval` and every sweep point agree on one machine. BLAS
threads buy azsim nothing: its hot loops are numba kernels with their own threads
(``NUMBA_NUM_THREADS``, untouched here). The thread count of a BLAS library is read when the
library loads, so this must run before NumPy is imported; :func:`pin_blas_threads` says whether
it did. Across machines with different BLAS kernels (CPU types, NumPy builds) the float sums
can still differ in their last bits.
"""
from __future__ import annotations

import os
import sys

__all__ = ["BLAS_ONE_THREAD", "pin_blas_threads"]

# OpenBLAS (NumPy's and SciPy's wheels), MKL, Apple Accelerate: their thread-count variables.
BLAS_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "VECLIB_MAXIMUM_THREADS": "1"}


def pin_blas_threads() -> bool:
    """Set one BLAS thread for this process and its children; True if NumPy was not imported
    yet (so the setting takes effect here), False if it came too late for this process."""
    os.environ.update(BLAS_ONE_THREAD)
    return "numpy" not in sys.modules
