"""JIT flags in one place (STYLE.md, from STUMPY/PyNNDescent).

``cache=True`` keeps compiled machine code next to the installed package so that CI and the
CLI pay numba's compile time once per install, not once per process. ``fastmath`` stays off:
the kernels are integer and must be bit-exact.

``jit_parallel`` is for the matrix kernels: batch-1 LSTM inference streams every weight once
per step, and one core cannot stream DRAM at full speed while computing (measured here:
5.6 GB/s on one core against 11.1 GB/s on two, `benchmarks/bench_kernels.py`). Rows are split
across threads; each output is still computed by one thread in a fixed order, so results are
bit-identical for any thread count. Set NUMBA_NUM_THREADS to limit the threads.
"""
import numba

jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
jit_parallel = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy",
                          parallel=True)
