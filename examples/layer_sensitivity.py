"""Which weight groups lose most at low bit-widths? (issue #6)

The float golden model with one group's matrices on the b-bit per-row grid (rounded to nearest,
as ``quantize_per_channel`` does) and every other matrix on the 8-bit grid: the WER change
shows where the rounding error hurts. Activations stay float, so this isolates the weights.

    python examples/layer_sensitivity.py [--bits 4] [--weights small] [--test test]
"""
import argparse

import numpy as np

from azsim import config as cfgmod
from azsim.compress.pipeline import is_prunable
from azsim.compress.quantize import quantize_per_channel
from azsim.evaluate import load_testset
from azsim.model import float_ref
from azsim.model.loading import model_weights
from azsim.model.metrics import error_rate
from azsim.model.vocab import make_vocab

GROUPS = [(), ("enc.0.",), ("enc.1.",), ("enc.2.",), ("pred.",), ("joint.",), ("enc.",),
          ("enc.", "pred.", "joint.")]


def on_grid(w, bits):
    q, scale = quantize_per_channel(w, bits)
    return (q * scale[:, None]).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--test", default="test")
    args = ap.parse_args()
    cfg = cfgmod.load_model_config("small", [])
    w0 = model_weights(cfg, args.weights)
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    tset = load_testset(args.test, cfg)
    mats = [k for k in w0 if w0[k].ndim == 2 and is_prunable(k)]
    print(f"| matrices at {args.bits} bits (the rest at 8) | WER % |")
    print("|---|---:|")
    for group in GROUPS:
        w = dict(w0)
        for k in mats:
            w[k] = on_grid(w0[k], args.bits if k.startswith(group) and group else 8)
        hyps = [vocab.decode(float_ref.recognize(w, cfg, u.features)[1])
                for u in tset.utterances]
        label = ", ".join(g.rstrip(".") for g in group) or "none"
        print(f"| {label} | {100 * error_rate(tset.references, hyps, 'word'):.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
