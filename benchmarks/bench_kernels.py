"""Throughput of azsim's int8 GEMV/GEMM kernels against NumPy and a plain memory copy.

Issue #2 asks ``gemv_i8`` to read its weights at >= 70 % of the bandwidth of a plain memory
copy of the same size. The default shape, 8192 x 1280, is one LSTM gate matrix of he2019
(4 gates x 2048 cells, 640 inputs + 640 recurrent projections), 10.5 MB of int8 weights.

All kernels are timed in the same run, on the same buffers: each is called once to warm up
(numba compilation, page faults) and then ``--repeats`` times; the table quotes the median
of ``time.perf_counter`` differences. ``gemv_i8`` and ``gemm_i8`` split rows over numba's
threads (all cores unless NUMBA_NUM_THREADS says otherwise); the copy runs on one thread (a
single ``memcpy`` already streams at the memory's rate); NumPy's float32 GEMV runs on however
many threads its BLAS uses. The default matrix fits a large last-level cache (this project's
2-core VM reports 480 MiB of L3): pass ``--rows 800000`` (1 GB) to measure DRAM streaming.

Usage::

    python benchmarks/bench_kernels.py [--repeats 15] [--rows 8192] [--cols 1280] [--check]

Exits 0 unless ``--check`` is given and the bandwidth target is missed.
"""
import argparse
import glob
import os
import statistics
import sys
import time

import numpy as np

from azsim.kernels import gemm_i8, gemv_i8

TARGET = 0.70   # issue #2: gemv_i8 weight bandwidth >= 70 % of the copy's read bandwidth
GEMM_T = 64     # input vectors per gemm_i8 call


def blocked_seconds(fns, repeats):
    """Per function of ``fns``: (median, min, max) wall time over ``repeats`` back-to-back
    calls, after one warm-up call; one function after the other, as STREAM times its kernels.
    Not interleaved, unlike the other benchmarks: between calls of single-threaded work the
    parallel kernels' thread pool goes to sleep, and an interleaved gemv_i8 timed the threads'
    wake-up (median 7.9 ms, min 0.79 ms, measured 2026-12-07) instead of the memory. The min
    and max show the spread: two back-to-back runs on a loaded machine gave medians of 7.8
    and 0.33 ms with nothing to show which to trust (a benchmark audit)."""
    out = []
    for fn in fns:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out.append((statistics.median(times), min(times), max(times)))
    return out


def exact_reference(w, xs, bias, chunk_rows=65536):
    """``xs @ w.T + bias`` as int32, exactly, a block of ``chunk_rows`` weight rows at a time.

    float64 BLAS products are exact here: every partial sum is an integer below 2**53
    (|int8 x int8| <= 2**14 per term, so up to 2**38 terms). The reference was a whole
    int64 copy of ``w`` and NumPy's int64 matmul: at ``--rows 200000`` the script took
    30.6 s and 4.2 GB of memory with it, 14.3 s and 2.8 GB with this (the README's
    ``--rows 800000`` needs about four times both; a benchmark audit)."""
    assert w.shape[1] <= 2**38
    xs64 = xs.astype(np.float64)
    out = np.empty((xs.shape[0], w.shape[0]), dtype=np.int32)
    for r0 in range(0, w.shape[0], chunk_rows):
        r1 = min(r0 + chunk_rows, w.shape[0])
        acc = xs64 @ w[r0:r1].astype(np.float64).T + bias[r0:r1]
        out[:, r0:r1] = acc.astype(np.int64).astype(np.int32)
    return out


def last_level_cache_bytes():
    """Size of the largest CPU cache reported by Linux sysfs, or None if unavailable."""
    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        with open(path) as f:
            text = f.read().strip()
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
    return max(sizes, default=None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed calls per kernel")
    parser.add_argument("--rows", type=int, default=8192, help="weight rows (outputs)")
    parser.add_argument("--cols", type=int, default=1280, help="weight columns (inputs)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args(argv)
    rows, cols = args.rows, args.cols

    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(rows, cols), dtype=np.int8)
    x = rng.integers(-127, 128, size=cols, dtype=np.int8)
    xs = rng.integers(-127, 128, size=(GEMM_T, cols), dtype=np.int8)
    bias = rng.integers(-2**20, 2**20, size=rows, dtype=np.int32)
    col_nnz = np.count_nonzero(w, axis=0).astype(np.int64)
    out = np.empty(rows, dtype=np.int32)
    out_t = np.empty((GEMM_T, rows), dtype=np.int32)
    nz_out = np.empty(GEMM_T, dtype=np.int64)
    eff_out = np.empty(GEMM_T, dtype=np.int64)
    w32, x32 = w.astype(np.float32), x.astype(np.float32)
    src = rng.integers(0, 256, size=w.nbytes, dtype=np.uint8)
    dst = np.empty_like(src)

    llc = last_level_cache_bytes()
    print(f"weights: {rows} x {cols} int8 = {w.nbytes / 1e6:.1f} MB"
          + (f"; largest CPU cache {llc / 2**20:.0f} MiB"
             + (" (the weights FIT in it: bandwidths are cache, not DRAM, bandwidths)"
                if llc >= w.nbytes else "") if llc else ""))
    print(f"median of {args.repeats} back-to-back calls after one warm-up call\n")

    macs = rows * cols
    (t_gemv, *s_gemv), (t_np, *s_np), (t_copy, *s_copy), (t_gemm, *s_gemm) = \
        blocked_seconds([lambda: gemv_i8(w, x, bias, col_nnz, out),
                             lambda: w32 @ x32,
                             lambda: np.copyto(dst, src),
                             lambda: gemm_i8(w, xs, bias, col_nnz, out_t, nz_out, eff_out)],
                            args.repeats)

    # (kernel, median s, MACs per call, weight bytes read per call, note, (min, max) s)
    rows_out = [
        ("gemv_i8", t_gemv, macs, w.nbytes, "", s_gemv),
        ("numpy f32 w @ x", t_np, macs, w32.nbytes, "float32 weights: 4 B each", s_np),
        (f"gemm_i8 T={GEMM_T}", t_gemm, GEMM_T * macs, w.nbytes, "weights read once per call",
         s_gemm),
        ("np.copyto uint8", t_copy, 0, src.nbytes, "bytes read; writes as many", s_copy),
    ]
    print(f"load average {os.getloadavg()[0]:.2f} over {os.cpu_count()} cores")
    print(f"{'kernel':<18} {'median ms':>10} {'min-max ms':>17} {'GMAC/s':>8} {'GB/s':>8}  note")
    for name, t, n_mac, n_bytes, note, (lo, hi) in rows_out:
        gmacs = f"{n_mac / t / 1e9:8.2f}" if n_mac else f"{'-':>8}"
        spread = f"{lo * 1e3:.3f}-{hi * 1e3:.3f}"
        print(f"{name:<18} {t * 1e3:10.3f} {spread:>17} {gmacs} {n_bytes / t / 1e9:8.2f}  {note}")

    # what was timed must be right (a speed of wrong results is none): exact references
    # (a benchmark audit, 2026-12-07: the kernels' outputs were never compared)
    gemv_i8(w, x, bias, col_nnz, out)
    gemm_i8(w, xs, bias, col_nnz, out_t, nz_out, eff_out)
    if not (np.array_equal(out, exact_reference(w, x[None, :], bias)[0])
            and np.array_equal(out_t, exact_reference(w, xs, bias))):
        print("FAIL: gemv_i8 or gemm_i8 differs from the exact integer reference")
        return 1
    print("outputs equal the exact integer reference (gemv_i8 and gemm_i8)")
    ratio = (w.nbytes / t_gemv) / (src.nbytes / t_copy)
    ok = ratio >= TARGET
    print(f"\ngemv_i8 weight bandwidth / copy read bandwidth = {ratio:.1%} "
          f"(target >= {TARGET:.0%}, issue #2): {'PASS' if ok else 'FAIL'}")
    print(f"numpy f32 GEMV / gemv_i8 time = {t_np / t_gemv:.2f}; "
          f"gemm_i8 per-vector time / gemv_i8 time = {t_gemm / GEMM_T / t_gemv:.3f}")
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
