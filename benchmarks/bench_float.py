"""The float golden model's speed: one utterance at a time against several in lockstep.

Calibration, the untrained presets' blank bias, ``azsim eval --float`` and training's dev
decoding run the float model (``azsim.model.float_ref``, fixed-order float64 sums so that the
integer model made from it is the same on every machine) over many utterances. Its LSTM steps
are matrix-vector products, bound by streaming the weights: ``recognize_many`` runs the
encoders of up to 16 utterances in lockstep, so each step's recurrent and projection
products stream the weights once per four utterances (``matmul_kn``) instead of once per
utterance. This script times both on the same utterances and checks that they agree bit for
bit (encoder outputs and tokens):

* baseline: ``recognize`` of each utterance in turn (what everything used before);
* lockstep: ``recognize_many`` of all of them.

Rows are medians of ``--repeats`` timed calls after one warm-up call of each.

Usage::

    python benchmarks/bench_float.py [--models he2019 small] [--utterances 4] [--repeats 3]
"""
import argparse
import sys
from pathlib import Path

import numba
import numpy as np

from azsim.config import load_model_config
from azsim.model import float_ref
from azsim.model.audio import shipped_audio_paths
from azsim.model.loading import load_utterances, model_weights

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kernels import blocked_seconds  # noqa: E402  (a sibling script, not a package)


def median_seconds(fn, repeats):
    """Median wall time of ``fn()`` over ``repeats`` calls after one warm-up call
    (bench_kernels' ``median_seconds`` became ``blocked_seconds`` on 2026-12-07, and this
    script's import of the old name failed before it timed anything)."""
    return blocked_seconds([fn], repeats)[0][0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["he2019", "small"])
    ap.add_argument("--utterances", type=int, default=4,
                    help="the shipped utterances, repeated up to this many")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"numba {numba.__version__}, {numba.get_num_threads()} threads; medians of "
          f"{args.repeats} after one warm-up")
    print(f"{'model':<8} {'utts':>4} {'audio s':>7} {'enc. MB':>10} {'one at a time s':>15} "
          f"{'lockstep s':>10} {'speed-up':>8}")
    for name in args.models:
        cfg = load_model_config(name)
        w = model_weights(cfg)
        shipped = [u.features for u in load_utterances(shipped_audio_paths(), cfg)]
        feats = [shipped[k % len(shipped)] for k in range(args.utterances)]
        one = [float_ref.recognize(w, cfg, f) for f in feats]
        many = float_ref.recognize_many(w, cfg, feats)
        if len(many) != len(one):   # zip() would compare only the shorter list
            print(f"{name}: lockstep gave {len(many)} results for {len(one)} utterances",
                  file=sys.stderr)
            return 1
        for (enc_a, tok_a), (enc_b, tok_b) in zip(one, many):
            if not (np.array_equal(enc_a, enc_b) and tok_a == tok_b):
                print(f"{name}: lockstep results differ from one at a time", file=sys.stderr)
                return 1
        t_one = median_seconds(lambda: [float_ref.recognize(w, cfg, f) for f in feats],
                               args.repeats)
        t_many = median_seconds(lambda: float_ref.recognize_many(w, cfg, feats), args.repeats)
        audio_s = sum(f.shape[0] for f in feats) * cfg.frontend.hop_ms / 1000
        mb = sum(a.nbytes for k, a in w.items() if k.startswith("enc.")) / 1e6
        print(f"{name:<8} {len(feats):>4} {audio_s:>7.1f} {mb:>10.1f} {t_one:>15.2f} "
              f"{t_many:>10.2f} {t_one / t_many:>7.2f}x")
    print("results: identical, bit for bit (encoder outputs and tokens)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
