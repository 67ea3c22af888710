"""azsim's dense systolic baseline against SCALE-Sim v3, cycle for cycle (issue #4).

SCALE-Sim (Georgia Tech / Arm; ``scalesim`` on PyPI) is not an azsim dependency: it needs
numpy < 2.4 and pandas. Create a scratch venv once::

    python3 -m venv /tmp/venv-scalesim
    /tmp/venv-scalesim/bin/pip install scalesim "numpy<2.4"

then ``python benchmarks/scalesim_compare.py`` (``--scalesim-python PATH`` for another venv).
Each GEMM (M x K inputs times K x N weights: M = 1 is a batch-1 matrix-vector product) runs
in SCALE-Sim in GEMM mode with memories large enough that it reports no stall cycles, in a
child process of that venv's interpreter; azsim's :func:`azsim.cost.systolic.gemm_cycles`
gives its cycles. SCALE-Sim's "Total Cycles" is the 0-based index of the last output's cycle,
so azsim's count is compared with it + 1; the table shows the raw numbers too.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import subprocess
import sys
import tempfile

DEFAULT_PYTHON = "/tmp/venv-scalesim/bin/python"

# (rows, cols) x dataflow x (M, K, N): batch-1 GEMVs of RNN-T-like shapes and batched GEMMs.
ARRAYS = ((8, 8), (16, 16), (32, 32))
DATAFLOWS = ("ws", "os")
GEMMS = ((1, 256, 1024), (1, 640, 512), (1, 1280, 256), (16, 256, 256), (64, 128, 256))

_CFG = """[general]
run_name = azsim_cmp

[run_presets]
InterfaceBandwidth = CALC
UseRamulatorTrace = False

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
ifmapsramszkB = 65536
filtersramszkB = 65536
ofmapsramszkB = 65536
IfmapOffset = 0
FilterOffset = 100000000
OfmapOffset = 200000000
Dataflow = {df}
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
FilterCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40
"""


def worker(rows: int, cols: int, df: str, m: int, n: int, k: int) -> None:
    """Run inside the SCALE-Sim venv: print 'total_cycles stall_cycles' of one GEMM."""
    from scalesim.scale_sim import scalesim  # the scratch venv's package

    with tempfile.TemporaryDirectory() as tmp:
        cfg, topo, layout = (os.path.join(tmp, f) for f in ("c.cfg", "t.csv", "l.csv"))
        with open(cfg, "w") as fh:
            fh.write(_CFG.format(rows=rows, cols=cols, df=df))
        with open(topo, "w") as fh:
            fh.write(f"Layer, M, N, K,\nL0, {m}, {n}, {k},\n")
        with open(layout, "w") as fh:  # read but unused without custom layouts
            fh.write("Layer," + ",".join(f"f{i}" for i in range(20)) + ",\nL0,"
                     + ",".join("1" for _ in range(20)) + ",\n")
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
                           layout=layout, input_type_gemm=True)
            sim.run_scale(top_path=tmp)
        with open(os.path.join(tmp, "azsim_cmp", "COMPUTE_REPORT.csv")) as fh:
            row = list(csv.reader(fh))[1]
    print(int(row[2]), int(row[3]))


def scalesim_cycles(python: str, rows, cols, df, m, n, k) -> tuple[int, int]:
    out = subprocess.run([python, os.path.abspath(__file__), "--worker", str(rows), str(cols),
                          df, str(m), str(n), str(k)], capture_output=True, text=True,
                         check=True)
    total, stall = out.stdout.split()[-2:]
    return int(total), int(stall)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scalesim-python", default=DEFAULT_PYTHON,
                        help="python of a venv with scalesim installed")
    parser.add_argument("--worker", nargs=6, metavar=("ROWS", "COLS", "DF", "M", "N", "K"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        r, c, df, m, n, k = args.worker
        worker(int(r), int(c), df, int(m), int(n), int(k))
        return 0
    if not os.path.exists(args.scalesim_python):
        print(f"no SCALE-Sim interpreter at {args.scalesim_python}; create it with\n"
              "  python3 -m venv /tmp/venv-scalesim\n"
              '  /tmp/venv-scalesim/bin/pip install scalesim "numpy<2.4"\n'
              "or pass --scalesim-python PATH")
        return 2
    from azsim.cost.systolic import gemm_cycles

    version = subprocess.run([args.scalesim_python, "-c", "import importlib.metadata as m; "
                              "print(m.version('scalesim'))"], capture_output=True,
                             text=True).stdout.strip()
    print(f"SCALE-Sim {version} (GEMM mode, ideal memory) vs azsim.cost.systolic.gemm_cycles")
    print(f"{'array':>7}{'df':>4}{'M':>5}{'K':>6}{'N':>6}{'SCALE-Sim':>11}{'stall':>7}"
          f"{'+1':>9}{'azsim':>9}{'diff %':>8}")
    worst, stalled = 0.0, 0
    for rows, cols in ARRAYS:
        for df in DATAFLOWS:
            for m, k, n in GEMMS:
                total, stall = scalesim_cycles(args.scalesim_python, rows, cols, df, m, n, k)
                ours = gemm_cycles(m, k, n, rows, cols, df)
                diff = 100.0 * (ours - (total + 1)) / (total + 1)
                worst = max(worst, abs(diff))
                stalled += stall > 0   # the comparison assumes none (memories large enough)
                print(f"{f'{rows}x{cols}':>7}{df:>4}{m:>5}{k:>6}{n:>6}{total:>11,}{stall:>7}"
                      f"{total + 1:>9,}{ours:>9,}{diff:>+8.2f}", flush=True)
    ok = worst <= 2 and not stalled
    print(f"max |difference| {worst:.2f} % (target <= 2 %); GEMMs with SCALE-Sim stalls "
          f"{stalled} (must be 0: the comparison is of stall-free runs): "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
