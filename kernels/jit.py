"""JIT flags in one place (STYLE.md, from STUMPY/PyNNDescent).

``cache=True`` keeps compiled machine code next to the installed package so that CI and the
CLI pay numba's compile time once per install, not once per process. ``fastmath`` stays off:
the kernels are integer and must be bit-exact.

``jit_parallel`` is for the matrix kernels: batch-1 LSTM inference streams every weight once
per step, and one core cannot stream DRAM at full speed while computing (measured here:
5.6 GB/s on one core against 11.1 GB/s on two, `benchmarks/bench_kernels.py`). Rows are split
across threads; each output is still computed by one thread in a fixed order, so results are
bit-identical for any thread count. Set NUMBA_NUM_THREADS to limit the threads. Products
below ``PARALLEL_MIN_MACS`` run serially (the same block bodies, in a plain loop).
"""
import numba

jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
jit_parallel = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy",
                          parallel=True)

# Products with fewer multiply-accumulates than this run on the calling thread. Each
# ``prange`` loop is a parallel region: libgomp's threads spin while they wait for the next
# one, and a batch-1 RNN-T enters thousands of tiny regions per utterance (a recurrent step,
# a joint evaluation). Two processes side by side on 2 cores then each wait on the other's
# descheduled threads (measured: >13 min against 17 s alone, README "Development";
# ``benchmarks/bench_side_by_side.py``). Only the whole-utterance input products of the
# encoder (hundreds of rows at once) and he2019-sized matrices are worth splitting. Measured
# with `small` on this 2-core machine (2026-12-03, `azsim eval --weights small [--float]`,
# shipped test set): with every product parallel, 10.5 s float and 4.1-4.4 s 8-bit alone,
# two side by side over 200 s and 111 s; with this threshold 10.1-10.4 s and 3.8 s alone,
# 20.1 s and 6.8 s side by side; 1 << 22 measured the same within 0.5 s.
# numba's cache is keyed on the source file of each kernel, not on this one: after changing
# the value, delete kernels/__pycache__/*.nb[ic] (a stale cache keeps the old value).
PARALLEL_MIN_MACS = 1 << 20
