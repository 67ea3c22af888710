"""What the on-device search costs: beam width against processor work, lattice and latency.

Runs ``azsim run`` (the Python API) on the shipped audio with 1 s of silence appended (so both
end-pointers fire) for several beam widths and prints one row per width: joint and
prediction-network evaluations, prefixes served from the prediction cache, the decoder's share
of the cycles and its energy, lattice uplink bytes against streaming the audio, and the mean
user-perceived latency after the end of speech without and with speculative end-pointing.

Usage::

    python examples/beam_cost.py [--model tiny] [--hw az-edge] [--beams 1 2 4 8]
"""
from __future__ import annotations

import argparse

import azsim


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--hw", default="az-edge")
    ap.add_argument("--beams", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--tail-ms", type=float, default=1000.0)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args(argv)
    print(f"model {args.model} on {args.hw}, shipped audio + {args.tail_ms:g} ms of silence")
    print(f"{'beam':>4}{'joint':>7}{'pred':>6}{'cached':>7}{'dec cyc %':>10}{'dec mJ':>10}"
          f"{'total mJ':>10}{'lattice B':>10}{'audio B':>9}{'EP ms':>8}{'EP+spec':>8}"
          f"{'resets':>7}")
    for beam in args.beams:
        r = azsim.simulate(model=args.model, hardware=args.hw, overrides=args.overrides + [
            f"model.decode.beam={beam}", f"model.decode.endpoint_tail_ms={args.tail_ms}"])
        d, lat, ep = r["decode"], r["lattice"], r["endpoint"]
        print(f"{beam:>4}{d['joint_evals']:>7}{d['pred_evals']:>6}{d['pred_cache_hits']:>7}"
              f"{100 * d['decoder_cycles_share']:>10.1f}{d['decoder_energy_uj'] / 1e3:>10.3f}"
              f"{r['energy']['total_uj'] / 1e3:>10.3f}{lat['uplink_bytes_total']:>10}"
              f"{lat['audio_bytes_total']:>9}{ep['latency_no_speculation_ms_mean']:>8.1f}"
              f"{ep['latency_with_speculation_ms_mean']:>8.1f}{ep['resets']:>7}")


if __name__ == "__main__":
    main()
