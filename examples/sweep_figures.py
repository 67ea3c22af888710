"""Regenerate the README's sweep figures (docs/figures/*.png) and the report excerpt.

    python examples/sweep_figures.py                 # every figure
    python examples/sweep_figures.py --figure bits   # one figure (and the sweep it needs)

Each figure is one `azsim plot` of a results database that one `azsim sweep` fills; the exact
commands are printed as they run, so any figure can be reproduced by hand:

- dense-vs-sparse, bits, energy-breakdown, pareto: the tiny model over the shipped audio,
  4 bit-widths x 4 sparsities x 4 clock frequencies (64 points; --jobs all cores);
- timeline: he2019 (Table 1 of He et al., ICASSP 2019) 8-bit dense against 4-bit 80 % sparse
  (rle) at 200 MHz, where both stay under the 30 ms frame budget (the dense model's worst
  frames take about 16 ms, the sparse one's 8) (about a minute);
- roofline: the same two he2019 points at az-edge's own 800 MHz, where the DRAM's 12.8 GB/s
  is 16 B a cycle against the SRAM port's 64 (at 200 MHz the two roofs coincide);
- cycle-breakdown: the four he2019 points at 800 MHz (8 and 4 bits, dense and 80 % sparse),
  each one's busy time by what it waited on;
- bits-wer, pareto-wer: the trained small model over the first 100 utterances of the shipped
  test set (`--test test --utterances 100`), 5 bit-widths x 3 one-shot sparsities (15 points,
  about 2 minutes on 2 cores), so WER is measured on held-out speech beside energy;
- bits-wer-gptq: the same 15 points with GPTQ rounding (`--set model.quantizer="gptq"`).

Results go to build/sweep/*.sqlite (git-ignored), written afresh on every run.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = os.path.join(ROOT, "docs", "figures")
RESULTS = os.path.join(ROOT, "build", "sweep")   # git-ignored

SWEEPS = {
    "tiny": ["--model", "tiny", "--set", "model.weight_bits=8,6,4,2",
             "--set", "model.sparsity=0,0.5,0.75,0.9", "--set", "hw.clock_mhz=200,400,800,1600"],
    "he2019": ["--model", "he2019", "--jobs", "1", "--set", "hw.clock_mhz=200",
               "--set", 'model.weight_format="rle"', "--set", "model.weight_bits=8,4",
               "--set", "model.sparsity=0,0.8"],
    "he2019-800": ["--model", "he2019", "--jobs", "1",
                   "--set", 'model.weight_format="rle"', "--set", "model.weight_bits=8,4",
                   "--set", "model.sparsity=0,0.8"],
    "small-test": ["--model", "small", "--test", "test", "--utterances", "100",
                   "--set", "model.weight_bits=8,6,5,4,3", "--set", "model.sparsity=0,0.25,0.5"],
    "small-test-gptq": ["--model", "small", "--test", "test", "--utterances", "100",
                        "--set", "model.weight_bits=8,6,5,4,3", "--set", "model.sparsity=0,0.25,0.5",
                        "--set", 'model.quantizer="gptq"'],
}
# figure -> (sweep, `azsim plot --kind`, extra `azsim plot` arguments)
PLOTS = {
    "dense-vs-sparse": ("tiny", "dense-vs-sparse", ["--where", "hw.clock_mhz=800"]),
    "bits": ("tiny", "bits", ["--where", "hw.clock_mhz=800"]),
    "energy-breakdown": ("tiny", "energy-breakdown", ["--where", "hw.clock_mhz=800"]),
    "pareto": ("tiny", "pareto", []),
    "timeline": ("he2019", "timeline", []),   # 8-bit dense, 4-bit 80 % sparse (timeline_points)
    "roofline": ("he2019-800", "roofline", []),   # the timeline's two points, at 800 MHz
    "cycle-breakdown": ("he2019-800", "cycle-breakdown", []),   # its four points
    "bits-wer": ("small-test", "bits", []),
    "pareto-wer": ("small-test", "pareto", []),
    "bits-wer-gptq": ("small-test-gptq", "bits", ["--where", "model.quantizer=gptq"]),
}


def azsim(*args: str) -> None:
    cmd = [sys.executable, "-m", "azsim.cli", *args]
    print("$ azsim " + " ".join(shlex.quote(a) for a in args), flush=True)
    subprocess.run(cmd, check=True)


def timeline_points(db: str) -> list[str]:
    """--point arguments for the 8-bit dense and the 4-bit 80 % sparse he2019 points (the
    timeline's and the roofline's)."""
    from azsim.sweep.store import open_for_reading
    keys = {(p.config["model"]["weight_bits"], p.config["model"]["sparsity"]): p.key
            for p in open_for_reading(db) if p.status == "ok"}
    return ["--point", keys[(8, 0.0)][:16], "--point", keys[(4, 0.8)][:16]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", choices=sorted(PLOTS), action="append",
                        help="only this figure (repeatable); default all")
    args = parser.parse_args()
    figures = args.figure or list(PLOTS)
    os.makedirs(FIGURES, exist_ok=True)
    os.makedirs(RESULTS, exist_ok=True)
    for sweep in dict.fromkeys(PLOTS[f][0] for f in figures):
        db = os.path.join(RESULTS, f"{sweep}.sqlite")
        for stale in (db, db + "-wal", db + "-shm"):   # points of an older azsim would mix in
            if os.path.exists(stale):
                os.remove(stale)
        azsim("sweep", *SWEEPS[sweep], "--results", db)
    for fig in figures:
        sweep, kind, extra = PLOTS[fig]
        db = os.path.join(RESULTS, f"{sweep}.sqlite")
        if kind in ("timeline", "roofline"):
            extra = extra + timeline_points(db)
        azsim("plot", db, "--kind", kind, *extra, "-o", os.path.join(FIGURES, f"{fig}.png"))
    if "dense-vs-sparse" in figures:
        azsim("report", os.path.join(RESULTS, "tiny.sqlite"), "--where", "hw.clock_mhz=800",
              "--markdown", os.path.join(RESULTS, "tiny_report.md"))


if __name__ == "__main__":
    main()
