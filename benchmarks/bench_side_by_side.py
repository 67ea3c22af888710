"""Wall time of an azsim command alone and with a second copy running beside it.

Architects run several azsim processes at once (an eval beside a training run, two evals in
two terminals). azsim's large matrix products are numba ``parallel=True`` (``kernels/jit.py``),
run by numba's OpenMP layer (GNU libgomp here), whose threads spin while they wait for work.
When every product was parallel, a batch-1 RNN-T entered thousands of tiny parallel regions
per utterance, and two processes with two spinning threads each on two cores stalled each
other (measured 2026-12-02: two ``azsim eval`` side by side ran over 13 minutes each against
17 s alone). Products below ``PARALLEL_MIN_MACS`` now run on one thread.

This script runs the same command alone and then two copies at once, with numba's default
threads (the CLI shortens libgomp's spin, ``azsim/threads.py``), with libgomp's own
longer spin, and with one thread (``NUMBA_NUM_THREADS=1``, the baseline, measured in the same
run), and prints the median wall time of each and the ratio of side by side to alone. Two
copies on two cores should take at most about twice as long as one alone; ``--check`` exits 1
if the default threads' ratio exceeds ``--max-slowdown``.

Usage::

    python benchmarks/bench_side_by_side.py [--repeats 3] [--check] [-- azsim args...]

The default command is ``azsim eval --weights small --float`` on the shipped test set.
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

DEFAULT_ARGS = ["eval", "--weights", "small", "--float"]
# (row name, environment changes); the first is the baseline
SETTINGS = [
    ("one-thread", {"NUMBA_NUM_THREADS": "1"}),
    ("long-spin", {"GOMP_SPINCOUNT": "300000"}),     # libgomp's own default wait
    ("default", {}),                                # the CLI's (azsim/threads.py)
]
THREAD_VARS = ("OMP_WAIT_POLICY", "NUMBA_NUM_THREADS", "GOMP_SPINCOUNT")


def _env(changes: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.update(changes)
    return env


TIMED_OUT: list[bool] = []   # a run stopped at --timeout: its time is a lower bound
OUTPUTS: list[bytes] = []     # every finished run's stdout: all settings must print the same


def run_copies(args: list[str], env: dict, copies: int, timeout_s: float) -> list[float]:
    """Start ``copies`` processes at once; the wall time of each (timeout_s if it ran out,
    noted in :data:`TIMED_OUT`, so the table marks the figure as a lower bound)."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-P", "-m", "azsim.cli", *args], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(copies)]
    # Each process is waited for on its own thread and stamped when it exits: waited for in
    # order, a copy that finished first was stamped when the one before it did, max(t1, t2)
    # (a benchmark audit, 2026-12-07).
    ends: list = [None] * copies
    errors: list = [b""] * copies
    outs: list = [b""] * copies

    def wait(k: int) -> None:
        try:
            outs[k], errors[k] = procs[k].communicate(timeout=timeout_s)
            ends[k] = time.perf_counter() - t0
        except subprocess.TimeoutExpired:
            procs[k].kill()
            procs[k].communicate()
    waiters = [threading.Thread(target=wait, args=(k,)) for k in range(copies)]
    for w in waiters:
        w.start()
    for w in waiters:
        w.join()
    times = []
    for k, p in enumerate(procs):
        if ends[k] is None:
            times.append(timeout_s)
            TIMED_OUT.append(True)
            continue
        if p.returncode != 0:
            raise SystemExit(f"azsim {' '.join(args)} failed: {errors[k].decode().strip()}")
        OUTPUTS.append(outs[k])
        times.append(ends[k])
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting and mode")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds before a run is stopped and counted at this time")
    parser.add_argument("--max-slowdown", type=float, default=2.5,
                        help="--check: largest side-by-side / alone ratio with the default "
                             "threads (two copies on two cores: ideal 1-2)")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--no-compare-output", action="store_true",
                        help="do not require every run to print the same (for a command that "
                             "prints its own timings)")
    parser.add_argument("azsim_args", nargs="*", help="azsim arguments (after --)")
    opts = parser.parse_args(argv)
    args = opts.azsim_args or DEFAULT_ARGS
    run_copies(args, _env({}), 1, opts.timeout)      # warm numba's cache and the page cache
    print(f"azsim {' '.join(args)}; {os.cpu_count()} cores; median of {opts.repeats}")
    print(f"{'setting':<12}{'alone s':>10}{'2 at once s':>14}{'ratio':>8}")
    ratios = {}
    cut_any = False
    for name, changes in SETTINGS:
        env = _env(changes)
        TIMED_OUT.clear()
        alone = statistics.median(run_copies(args, env, 1, opts.timeout)[0]
                                  for _ in range(opts.repeats))
        cut_alone = bool(TIMED_OUT)
        TIMED_OUT.clear()
        pair = statistics.median(t for _ in range(opts.repeats)
                                 for t in run_copies(args, env, 2, opts.timeout))
        cut_pair = bool(TIMED_OUT)
        ratios[name] = pair / alone
        # a run stopped at --timeout counts at the timeout: its time, and a ratio with it,
        # only bound the truth (the table had shown them as measured; a benchmark audit)
        mark = ("  (a bound only: a run hit --timeout)" if cut_alone or cut_pair else "")
        cut_any = cut_any or cut_alone or cut_pair
        print(f"{name:<12}{alone:>10.1f}{pair:>14.1f}{ratios[name]:>8.2f}{mark}", flush=True)
    # the same work in every setting, or the times compare nothing: the command's output
    # (WER, cycles, ...) must not depend on the thread settings (it went to /dev/null
    # unread until a benchmark audit)
    differing = sum(out != OUTPUTS[0] for out in OUTPUTS)
    if differing and not opts.no_compare_output:
        print(f"FAIL: {differing} of {len(OUTPUTS)} runs printed other output than the first "
              "(not the same work; --no-compare-output if the command prints timings)")
        return 1
    print(f"outputs: all {len(OUTPUTS)} finished runs printed the same"
          if not differing else f"outputs: {differing} of {len(OUTPUTS)} runs differ "
          "(not compared: --no-compare-output)")
    if opts.check and cut_any:   # a ratio with a run cut at the timeout proves nothing
        print(f"FAIL: a run hit --timeout {opts.timeout:g} s; give a longer one")
        return 1
    if opts.check and ratios["default"] > opts.max_slowdown:
        print(f"FAIL: side by side {ratios['default']:.2f}x slower than alone "
              f"(limit {opts.max_slowdown})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
