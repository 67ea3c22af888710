"""Which layers of `small` can run at 4 bits? (README, "Mixed precision per layer")

Each row is E32's `small` with GPTQ rounding at 4 bits and some layers kept at 8
(``model.layer_bits``), or the uniform 8-bit model: its WER by ``azsim eval`` on the given
test sets (one prepared model per row, all sets at once) and its weight bytes, energy and
latency on the default processor by ``azsim sweep`` on the shipped test set (250 requests),
with the decoder on either path. Prints one markdown table.

    python examples/layer_bits_study.py OUT_DIR [--test test --test runs/dv31/dev.npz ...]

``OUT_DIR`` keeps every eval JSON and the sweep's results database; a second run reuses them
(the sweep resumes, an eval whose JSON exists is not run again). On 2 cores: 15 evals of the
shipped set, dv31 and tv30 in about 12 minutes, the sweep in 2.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

# (label, weight_bits, layer_bits): the uniform models, then one group at 8 bits on a 4-bit
# base, then the mixes; the one-group-at-4 rows on an 8-bit base close the table.
ROWS = [
    ("8 bits", 8, "enc:8"),
    ("4 bits", 4, "enc:4"),
    ("4, enc.0 at 8", 4, "enc.0:8"),
    ("4, enc.1 at 8", 4, "enc.1:8"),
    ("4, enc.2 at 8", 4, "enc.2:8"),
    ("4, pred at 8", 4, "pred:8"),
    ("4, joint at 8", 4, "joint:8"),
    ("4, joint.out at 8", 4, "joint.out:8"),
    ("4, pred + joint.out at 8", 4, "pred:8+joint.out:8"),
    ("4, pred + joint at 8", 4, "pred:8+joint:8"),
    ("8, enc.0 at 4", 8, "enc.0:4"),
    ("8, enc.1 at 4", 8, "enc.1:4"),
    ("8, enc.2 at 4", 8, "enc.2:4"),
    ("8, pred at 4", 8, "pred:4"),
    ("8, joint at 4", 8, "joint:4"),
]


def _eval(out_dir: str, bits: int, layers: str, tests: list[str]) -> dict:
    path = os.path.join(out_dir, f"eval_{bits}_{layers.replace(':', '').replace('+', '_')}.json")
    if not os.path.exists(path):
        cmd = ["azsim", "eval", "--weights", "small", "--gptq", "--bits", str(bits), "--set",
               f"model.layer_bits={layers}", "--json", path]
        for t in tests:
            cmd += ["--test", t]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "NUMBA_NUM_THREADS": "1"})
    with open(path) as fh:
        data = json.load(fh)
    return {s["testset"]: s for s in data.get("sets", [data])}


def _costs(out_dir: str) -> dict:
    """(weight_bits, layer_bits, decoder_location) -> the sweep's flat row."""
    db = os.path.join(out_dir, "layer_bits.sqlite")
    for bits in (4, 8):
        specs = ",".join(layers for _, b, layers in ROWS if b == bits)
        subprocess.run(["azsim", "sweep", "--test", "test", "--set", "model.weights=small",
                        "--set", "model.quantizer=gptq", "--set", f"model.weight_bits={bits}",
                        "--set", f"model.layer_bits={specs}", "--set",
                        "hw.decoder_location=dram_to_sram,sram_to_pe", "--results", db,
                        "--resume"], check=True, stdout=subprocess.DEVNULL)
    rows = json.loads(subprocess.run(["azsim", "results", "export", "--json", db],
                                     check=True, capture_output=True, text=True).stdout)
    return {(r["model.weight_bits"], r["model.layer_bits"], r["hw.decoder_location"]): r
            for r in rows if r["status"] == "ok"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--test", action="append", default=None,
                    help="test sets for the WER columns (default: the shipped test set)")
    args = ap.parse_args()
    tests = args.test or ["test"]
    os.makedirs(args.out_dir, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:   # two evals at a time, one numba thread each
        wers = list(pool.map(lambda r: _eval(args.out_dir, r[1], r[2], tests), ROWS))
    costs = _costs(args.out_dir)
    names = list(wers[0])
    head = [f"WER % {n}" for n in names] + ["weights kB", "energy uJ", "latency ms",
                                             "energy uJ, sram_to_pe"]
    print("| layers | " + " | ".join(head) + " |")
    print("|---|" + "---:|" * len(head))
    for (label, bits, layers), wer in zip(ROWS, wers):
        near = costs[(bits, layers, "dram_to_sram")]
        far = costs[(bits, layers, "sram_to_pe")]
        cells = [f"{100 * wer[n]['wer']:.2f}" for n in names] + [
            f"{near['weight_stream_bytes'] / 1e3:,.0f}", f"{near['energy_total_uj']:,.0f}",
            f"{near['latency_s'] * 1e3:.0f}", f"{far['energy_total_uj']:,.0f}"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
