"""Throughput and size of azsim's weight formats (issue #3).

Part (a), throughput: every registered format encodes and decodes a random int8 matrix
(default 2048 x 1280, 8-bit codes) at sparsity 0 and 0.9. Rates are MB of the *dense int8*
matrix (rows * cols bytes, 1 MB = 1e6 bytes) per second, the median of ``--repeats`` timed
calls after one warm-up call, all in the same run on the same buffers. The issue's target is
>= 100 MB/s decode on one core; each format gets PASS only if it meets it at every sparsity.
The formats gather their fields with Numba kernels (``azsim/compress/format_base.py``) in
one thread; numba's thread count is printed anyway, and the ``cpu/wall`` column (process CPU
time over wall time) shows how many cores a call really used.

Part (b), sizes for he2019: the prunable matrices (names ending .w_x/.w_r/.w_p, joint.*) are
magnitude-pruned per matrix (``prune_weights``) to each sparsity, quantized once per
(bits, sparsity) with ``quantize_per_channel`` and encoded in every format. Every stream is
decoded and compared with its codes (column ``exact``). Encoding all 120 M weights at
12 points x 6 formats takes many minutes on this 2-core VM, so by default only
``--sample-layers N`` representative matrices are used (enc.0.w_x, enc.3.w_r, joint.w_out,
then further ones in model order); ``--full`` uses every prunable matrix. Magnitude pruning is
per matrix, so a sampled matrix is pruned exactly as in the full model.

Usage::

    python benchmarks/bench_compress.py [--repeats 5] [--rows 2048] [--cols 1280]
                                        [--sample-layers 3 | --full] [--skip-throughput]
                                        [--skip-sizes] [--check]

Exits 0 unless ``--check`` is given and some format misses the decode target or some stream
does not round-trip.
"""
import argparse
import statistics
import sys
import time

import numpy as np

from azsim.compress.pipeline import decode_matrix, encode_codes, is_prunable, prune_weights
from azsim.compress.format_base import FORMATS
from azsim.compress.quantize import quantize_per_channel

DECODE_TARGET_MBPS = 100.0          # issue #3: decode >= 100 MB/s of int8 weights on one core
THROUGHPUT_SPARSITIES = (0.0, 0.9)
SIZE_BITS = (8, 4, 2)
SIZE_SPARSITIES = (0.0, 0.5, 0.8, 0.9)
REPRESENTATIVE = ("enc.0.w_x", "enc.3.w_r", "joint.w_out")
FORMAT_ORDER = ("dense", "bitmask", "csr", "csc", "rle", "golomb")


def format_names():
    """Registered formats, in a fixed order (any format not listed here goes last)."""
    names = list(FORMATS)
    return [n for n in FORMAT_ORDER if n in names] + [n for n in names if n not in FORMAT_ORDER]


def timed(fn, repeats):
    """(median wall seconds, median cpu/wall ratio, last result, median CPU seconds) over
    ``repeats`` calls after a warm-up call."""
    result = fn()
    walls, ratios, cpus = [], [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0
        walls.append(wall)
        cpus.append(cpu)
        ratios.append(cpu / wall if wall > 0 else float("nan"))
    return statistics.median(walls), statistics.median(ratios), result, statistics.median(cpus)


def random_codes(rows, cols, sparsity, rng):
    """8-bit codes uniform in [-127, 127] with a ``sparsity`` share of zeros (exactly)."""
    q = rng.integers(-127, 128, size=(rows, cols)).astype(np.int8)
    q[q == 0] = 1                                   # zeros only where we put them
    n_zero = int(round(sparsity * q.size))
    q.ravel()[rng.permutation(q.size)[:n_zero]] = 0
    return q


def throughput(args):
    import numba

    print(f"== (a) throughput: {args.rows} x {args.cols} random int8 codes (8-bit), "
          f"median of {args.repeats} after 1 warm-up ==")
    print(f"numba.get_num_threads() = {numba.get_num_threads()} (not set by this script; "
          f"the formats' kernels run in one thread)")
    rng = np.random.default_rng(args.seed)
    mats = {s: random_codes(args.rows, args.cols, s, rng) for s in THROUGHPUT_SPARSITIES}
    dense_mb = args.rows * args.cols / 1e6
    header = (f"{'format':<8} {'sparsity':>8} {'bytes':>10} {'enc MB/s':>9} {'enc cpu/wall':>12} "
              f"{'dec MB/s':>9} {'dec cpu/wall':>12} {'exact':>5} {'decode>=100':>11}")
    print(header)
    print("-" * len(header))
    verdicts, all_exact = {}, True
    for name in format_names():
        ok = True
        for s, q in mats.items():
            t_enc, r_enc, enc, _ = timed(lambda: encode_codes(q, 8, name), args.repeats)
            t_dec, r_dec, dec, cpu_dec = timed(lambda: decode_matrix(enc), args.repeats)
            exact = bool(np.array_equal(dec, q))
            all_exact &= exact
            dec_rate = dense_mb / t_dec
            # The target is one core's rate: judged on the CPU time of these one-threaded
            # kernels, which a descheduled process does not inflate (judged on wall time, a
            # run at cpu/wall 0.5 failed formats that decode at 160-180 MB/s of CPU; a
            # benchmark audit, 2026-12-07). The table's MB/s column stays wall time.
            passed = dense_mb / max(cpu_dec, 1e-12) >= DECODE_TARGET_MBPS
            ok &= passed
            print(f"{name:<8} {s:>8.1f} {enc.nbytes:>10d} {dense_mb / t_enc:>9.1f} {r_enc:>12.2f} "
                  f"{dec_rate:>9.1f} {r_dec:>12.2f} {'yes' if exact else 'NO':>5} "
                  f"{'PASS' if passed else 'FAIL':>11}")
        verdicts[name] = ok
    print()
    print(f"decode target >= {DECODE_TARGET_MBPS:.0f} MB/s of one core's CPU time at sparsity "
          f"{' and '.join(str(s) for s in THROUGHPUT_SPARSITIES)}:")
    for name, ok in verdicts.items():
        print(f"  {name:<8} {'PASS' if ok else 'FAIL'}")
    print()
    return all(verdicts.values()), all_exact


def he2019_matrices(args):
    """Float weights of the chosen prunable he2019 matrices, and a description of the choice."""
    from azsim.config import load_model_config
    from azsim.model.loading import model_weights

    cfg = load_model_config("he2019", ["model.sparsity=0.8"])
    weights = model_weights(cfg)
    prunable = [k for k in weights if is_prunable(k)]
    if args.full:
        names = prunable
        what = f"all {len(names)} prunable matrices (--full)"
    else:
        extra = [k for k in prunable if k not in REPRESENTATIVE]
        names = ([k for k in REPRESENTATIVE if k in weights] + extra)[:args.sample_layers]
        what = (f"SAMPLE of {len(names)} of the {len(prunable)} prunable matrices "
                f"(--sample-layers {args.sample_layers}; pass --full for all): {', '.join(names)}")
    return {k: weights[k] for k in names}, what, sum(weights[k].size for k in prunable)


def sizes(args):
    from azsim.config import load_model_config

    t0 = time.perf_counter()
    mats, what, n_all = he2019_matrices(args)
    n = sum(m.size for m in mats.values())
    print(f"== (b) he2019 sizes: {what} ==")
    print(f"{n:,} weights of {n_all:,} prunable ({100 * n / n_all:.1f} %); magnitude pruning per "
          f"matrix; per-row quantization; int8 = 1 byte/weight; bytes include each stream's "
          f"24-byte header")
    print("bits/w = stream bits per weight; x int8 = dense int8 bytes / format bytes "
          "(higher is smaller); exact = every matrix decodes back to its codes")
    header = (f"{'bits':>4} {'sparsity':>8} {'format':<8} {'bytes':>12} {'bits/w':>7} "
              f"{'x int8':>7} {'exact':>5}")
    print(header)
    print("-" * len(header))
    all_exact = True
    for s in SIZE_SPARSITIES:
        cfg = load_model_config("he2019", [f"model.sparsity={s}"])
        pruned = prune_weights(mats, cfg)
        for bits in SIZE_BITS:
            codes = {k: quantize_per_channel(w, bits)[0] for k, w in pruned.items()}
            for name in format_names():
                if name == "dense" and bits == 1:
                    continue
                total, exact = 0, True
                for q in codes.values():
                    enc = encode_codes(q, bits, name)
                    total += enc.nbytes
                    exact &= bool(np.array_equal(decode_matrix(enc), q))
                all_exact &= exact
                print(f"{bits:>4} {s:>8.1f} {name:<8} {total:>12,d} {8 * total / n:>7.3f} "
                      f"{n / total:>7.2f} {'yes' if exact else 'NO':>5}", flush=True)
    print(f"(sizes part took {time.perf_counter() - t0:.0f} s)")
    return all_exact


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement")
    parser.add_argument("--rows", type=int, default=2048, help="throughput matrix rows")
    parser.add_argument("--cols", type=int, default=1280, help="throughput matrix columns")
    parser.add_argument("--seed", type=int, default=0)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--sample-layers", type=int, default=3,
                       help="he2019 matrices for the size table (default 3)")
    group.add_argument("--full", action="store_true", help="size table over every matrix")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-sizes", action="store_true")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a decode target is missed or a round trip fails")
    args = parser.parse_args(argv)
    if args.sample_layers < 1:
        parser.error("--sample-layers must be >= 1")

    ok = True
    if not args.skip_throughput:
        passed, exact = throughput(args)
        ok &= passed and exact
    if not args.skip_sizes:
        ok &= sizes(args)
    return 0 if (ok or not args.check) else 1


if __name__ == "__main__":
    sys.exit(main())
