"""One BLAS thread for every azsim process, so that a run's numbers do not depend on it.

azsim's inference is integer and bit-exact, but the integer model is made from float
arithmetic first: calibration runs the float golden model, and the activation ranges it
measures set the quantization scales. When those products were NumPy's ``@``, OpenBLAS summed
differently with different thread counts, which moved the last bits of some ranges (measured:
``enc.0.r`` read 2.810157299 with one thread and 2.810157537 with two) and with them a 4-bit
scale: a sweep point (one thread) counted 270,790,611 effectual MACs and `azsim run` (two)
270,786,836. The float model's products now run in a fixed order (``kernels/fmatmul.py``),
which removes that dependence at its source. What still goes through BLAS (the frontend's
float64 mel projection, rounded to float32) is pinned here as well: the CLI, the sweep workers
(:data:`azsim.sweep.worker.WORKER_ENV`) and the tests run one BLAS thread. BLAS threads buy
azsim nothing: its hot loops are numba kernels with their own threads (``NUMBA_NUM_THREADS``,
untouched here; their spin before sleeping is shortened, ``KERNEL_THREAD_WAIT``). A BLAS
library reads its thread count when it loads, so this must run before NumPy is imported (a
process that imported NumPy first keeps its BLAS threads).
"""
from __future__ import annotations

import os

__all__ = ["BLAS_ONE_THREAD", "KERNEL_THREAD_WAIT", "pin_threads"]

# OpenBLAS (NumPy's and SciPy's wheels), MKL, Apple Accelerate: their thread-count variables.
BLAS_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                   "VECLIB_MAXIMUM_THREADS": "1"}


# How long numba's idle kernel threads spin before they sleep. GNU libgomp (the OpenMP runtime
# of numba's Linux wheels) spins 300,000 iterations by default: two azsim processes on two
# cores then wait for each other's descheduled threads at the end of every parallel region.
# Measured here (2026-12-03, `benchmarks/bench_side_by_side.py -- run --model he2019`, with
# products below kernels.jit.PARALLEL_MIN_MACS on one thread): alone 17.2 s, two side by
# side 75.6 s with libgomp's default; 18.1 and 31.2 s at 10,000; 20.4 and 27.9 s with
# OMP_WAIT_POLICY=PASSIVE; 25.4 and 27.3 s on one thread. A value the user set is kept.
KERNEL_THREAD_WAIT = {"GOMP_SPINCOUNT": "10000"}


def pin_threads() -> None:
    """Set one BLAS thread for this process (if NumPy is not imported yet) and its children,
    and a short spin for numba's kernel threads (before numba loads its OpenMP runtime)."""
    os.environ.update(BLAS_ONE_THREAD)
    for key, value in KERNEL_THREAD_WAIT.items():
        os.environ.setdefault(key, value)
