"""Where do the integer model's words part from the float model's? (issue #6)

The float golden model with one rounding point of the integer pipeline switched on at a time
(``float_ref.ActivationStats.quantize``), then all of them, then the integer model itself:
for each row the word edits between its greedy hypotheses and the float model's, and its
WER. The rounding mirrors the integer model (``kernels/lstm.py``, ``compress/ptq.py``):

* weights: b-bit codes per row (max |w|), the embedding int8 with one scale;
* ``in``, ``h``, ``r``: int8 at the per-tensor scales the integer model calibrates (max |x|
  of the float model on the shipped calibration set);
* ``gates``: pre-activations in Q3.12 (int16, saturating), sigmoid and tanh outputs in Q0.15;
* ``cell``: the cell state in Q4.11 (int16, saturating);
* ``joint``: the joint's pre-activation in Q3.12, its hidden layer int8 at 2^-7.

The lookup tables' interpolation and the requantization multipliers are not mirrored, so the
"all" row is close to, not equal to, the integer model's. The shipped set's table is in the
README ("Which rounding moves the words"); other sets and models:

    python examples/quant_noise_budget.py --test runs/d22/dev.npz --test runs/d23/dev.npz \\
        --test runs/t25/test.npz [--weights small] [--bits 8]
"""
import argparse

import numpy as np

from azsim import config as cfgmod
from azsim.compress.pipeline import is_prunable
from azsim.compress.ptq import JOINT_HIDDEN_SCALE
from azsim.compress.quantize import (GATE_SCALE, I8_MAX, activation_scale,
                                     quantize_per_channel)
from azsim.evaluate import calibration_utterances, evaluate_sets, load_testset
from azsim.kernels import CELL_FRAC_BITS, LUT_OUT_FRAC_BITS
from azsim.model import float_ref
from azsim.model.loading import calibrate, model_weights
from azsim.model.metrics import edit_distance, error_rate
from azsim.model.vocab import make_vocab

I16_MIN, I16_MAX = -(1 << 15), (1 << 15) - 1
POINTS = ("in", "h", "r", "gates", "cell", "joint")


def fixed(x: np.ndarray, step: float, lo: float, hi: float) -> np.ndarray:
    """``x`` (float32) rounded to the grid ``step`` with the codes saturated to [lo, hi]."""
    step = np.float32(step)
    return np.clip(np.rint(x / step), lo, hi) * step


class Rounding(float_ref.ActivationStats):
    """Round the activations at the chosen points as the integer model stores them."""

    def __init__(self, points: set[str], max_abs: dict[str, float]):
        super().__init__()
        self.points, self.calibrated = points, max_abs

    def update(self, name, x):   # calibration is done; nothing to record
        pass

    def quantize(self, point, x):
        layer, kind = point.rsplit(".", 1)   # "enc.0.h" -> ("enc.0", "h")
        if layer == "joint":
            if "joint" not in self.points:
                return x
            if kind == "z":
                return fixed(x, 1.0 / GATE_SCALE, I16_MIN, I16_MAX)
            return fixed(x, JOINT_HIDDEN_SCALE, -I8_MAX, I8_MAX)
        if kind in ("in", "h", "r") and kind in self.points:
            return fixed(x, activation_scale(self.calibrated[point]), -I8_MAX, I8_MAX)
        if kind == "z" and "gates" in self.points:
            return fixed(x, 1.0 / GATE_SCALE, I16_MIN, I16_MAX)
        if kind == "gates" and "gates" in self.points:
            return fixed(x, 2.0 ** -LUT_OUT_FRAC_BITS, I16_MIN, I16_MAX)
        if kind == "c" and "cell" in self.points:
            return fixed(x, 2.0 ** -CELL_FRAC_BITS, I16_MIN, I16_MAX)
        return x


def rounded_weights(w: dict, bits: int) -> dict:
    out = dict(w)
    for k, v in w.items():
        if v.ndim == 2 and is_prunable(k):
            q, scale = quantize_per_channel(v, bits)
            out[k] = (q * scale[:, None]).astype(np.float32)
    emb = w["pred.embed"]
    out["pred.embed"] = fixed(emb, activation_scale(float(np.max(np.abs(emb)))), -I8_MAX, I8_MAX)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--test", action="append", help="test set (repeatable; default: test)")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--bits", type=int, default=8)
    args = ap.parse_args()
    tests = args.test or ["test"]
    cfg = cfgmod.load_model_config("small", [])
    w = model_weights(cfg, args.weights)
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    tsets = [load_testset(name, cfg) for name in tests]
    feats = [u.features for t in tsets for u in t.utterances]
    refs = [r for t in tsets for r in t.references]
    max_abs = calibrate(w, cfg, calibration_utterances(cfg))

    def decode(weights, points):
        stats = Rounding(points, max_abs) if points else None
        return [vocab.decode(tokens) for _, tokens in
                float_ref.recognize_many(weights, cfg, feats, stats)]

    base = decode(w, set())
    n_words = sum(len(h.split()) for h in base)
    print(f"{len(refs)} utterances, {n_words} float-hypothesis words; float WER "
          f"{100 * error_rate(refs, base, 'word'):.2f} %")
    print("| rounded | word edits from the float model | utterances differing | WER % |")
    print("|---|---:|---:|---:|")

    def row(label, hyps):
        edits = [edit_distance(b.split(), h.split()) for b, h in zip(base, hyps)]
        print(f"| {label} | {sum(edits)} | {sum(e > 0 for e in edits)} | "
              f"{100 * error_rate(refs, hyps, 'word'):.2f} |", flush=True)

    wq = rounded_weights(w, args.bits)
    row(f"{args.bits}-bit weights and int8 embedding", decode(wq, set()))
    for point in POINTS:
        row(point, decode(w, {point}))
    row("every activation point", decode(w, set(POINTS)))
    row("weights and every activation point", decode(wq, set(POINTS)))
    results = evaluate_sets("small", tests, args.bits, weights=args.weights)
    row("the integer model (azsim eval)",
        [h["hypothesis"] for r in results for h in r["hypotheses"]])


if __name__ == "__main__":
    main()
