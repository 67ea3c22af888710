"""What a branching encoder costs and saves on the processor (issue #7, part 4).

Runs ``azsim run --branch`` (the Python API) for a set of cheap branches, arbitrators and
processor choices and prints one row each: steps on the cheap branch, encoder MACs issued
saved, which weight layers stream from DRAM on every use (the rest stay in SRAM), and energy, cycles and WER against the
same run without branching on the same processor (every run carries its own baseline).

Usage::

    python examples/branch_cost.py [--test test] [--utterances N] [--only SUBSTRING]

``--test ""`` runs the 4 shipped clips instead of a test set.
"""
from __future__ import annotations

import argparse

import azsim

# The one-shot cheap branch that was --branch's default until 2026-12-03: the full model's own
# encoder pruned to 30 %, the blank arbitrator at 2 nats.
ONE_SHOT = ['model.branch.weights=""', "model.branch.sparsity=0.3",
            'model.branch.arbitrator="blank"', "model.branch.blank_margin_nats=2",
            "model.branch.energy_threshold=-1", 'model.branch.weight_format=""']
SRAM_TO_PE = ['hw.decoder_location="sram_to_pe"']
ROWS = [
    ("--branch (small-branch60, 8-bit bitmask, blank-energy 4 / 0.75)", []),
    ("  the same, 4-bit cheap branch", ["model.branch.bits=4"]),
    ("  the same, 8-bit, decoder on SRAM->PE", SRAM_TO_PE),
    # 2.5 MiB (2,621,440 B) instead of az-edge's 2 MiB: room for both decoded 8-bit encoders.
    ("  the same, 8-bit, 2.5 MiB SRAM (both branches resident)", ["hw.sram_bytes=2621440"]),
    ("one-shot 30 % of the full encoder, 8-bit, blank 2", ONE_SHOT),
    ("  the same, 4-bit cheap branch", ONE_SHOT + ["model.branch.bits=4"]),
    ("small-sparse60 as the branch, 8-bit, blank-energy 4 / 0.75",
     ['model.branch.weights="small-sparse60"']),
    ("  the same, decoder on SRAM->PE", ['model.branch.weights="small-sparse60"'] + SRAM_TO_PE),
]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="small")
    ap.add_argument("--hw", default="az-edge")
    ap.add_argument("--test", default="test", help="test set; '' for the 4 shipped clips")
    ap.add_argument("--utterances", type=int, default=None)
    ap.add_argument("--only", default="", help="rows whose label contains this")
    args = ap.parse_args(argv)
    where = f"test set {args.test!r}" if args.test else "the 4 shipped clips"
    print(f"model {args.model} on {args.hw}, {where}; changes against the same processor "
          "without branching")
    print(f"{'configuration':<62}{'cheap %':>8}{'MACs saved %':>13}{'streamed':>16}"
          f"{'energy %':>9}{'cycles %':>9}{'WER %':>7}{'change':>7}")
    for label, overrides in ROWS:
        if args.only not in label:
            continue
        r = azsim.simulate(model=args.model, hardware=args.hw,
                           overrides=["model.branch.enabled=true", *overrides],
                           testset=args.test or None, utterances=args.utterances)
        b = r["branch"]
        wer = b["wer"] * 100 if b["wer"] is not None else float("nan")
        change = b["wer_change"] * 100 if b["wer_change"] is not None else float("nan")
        print(f"{label:<62}{b['cheap_share'] * 100:>8.1f}"
              f"{b['encoder_macs_issued_saved_share'] * 100:>13.1f}"
              f"{_streamed(r['layers']):>16}"
              f"{-b['energy_saved_share'] * 100:>+9.1f}{-b['cycles_saved_share'] * 100:>+9.1f}"
              f"{wer:>7.2f}{change:>+7.2f}")


def _streamed(layers) -> str:
    """The weight layers that do not stay in SRAM, by branch: "cheap 2", "full 2", "none"."""
    names = [row["name"] for row in layers if not row["resident"] and row["weight_count"]]
    cheap = sum(n.startswith("cheap.") for n in names)
    parts = [f"cheap {cheap}" if cheap else "", f"full {len(names) - cheap}"
             if len(names) > cheap else ""]
    return ", ".join(p for p in parts if p) or "none"


if __name__ == "__main__":
    main()
