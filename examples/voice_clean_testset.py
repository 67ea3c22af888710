"""Test speech in voices no shipped model heard (issue #6; preregistered as E30 in
docs/preregistration/2026-12-06-session22.md).

The shipped models descend from stage 3, whose names corpus was drawn before
``--voice-split-seed`` existed (README, "How the shipped models were made": ``azsim corpus
runs/names ... --seed 1``): its voices followed split 1, whose training variants include 11 of
the 14 test variants of split 0, the shipped test set's. Every other training corpus used
split 0. So the voices no shipped model heard are split 0's test variants that are not in
split 1's training variants (perturbed training voices derive from training variants only).

This script prints those voices and writes, with the corpus code unchanged but the test
variants restricted to them:

* ``DIR/test.npz`` and ``DIR/corpus.json``: a fresh draw of the test split (test-bucket
  sentences, never a training text), ``--test N --seed S --voice-split-seed 0 --grammar G``;
* ``DIR-shipped.npz`` (beside DIR, not in it, so that eval does not take DIR's corpus.json
  for its description): the shipped test set's utterances in those voices, in the shipped
  format.

Usage::

    python examples/voice_clean_testset.py runs/tv30 [--test 2000] [--seed 30] [--grammar 1]
    python examples/voice_clean_testset.py runs/dv31 --split dev --seed 31   # E31's dev draw

then ``azsim eval --test runs/tv30/test.npz ...`` (README, issue #6, "Voices the models heard").
"""
from __future__ import annotations

import argparse
import importlib.resources
import sys

import numpy as np

from azsim.corpus import build, synth

SHIPPED_SPLIT_SEED = 0      # every training corpus's voice split but stage 3's names corpus
STAGE3_NAMES_SPLIT_SEED = 1  # stage 3's names corpus: --seed 1 before --voice-split-seed


def unheard_voices(split: str = "test") -> list[str]:
    """Split 0's ``split`` variants ("test" or "dev") that no shipped model heard."""
    variants = synth.list_variants()
    shipped = synth.split_variants(variants, SHIPPED_SPLIT_SEED)
    stage3 = synth.split_variants(variants, STAGE3_NAMES_SPLIT_SEED)
    heard = set(shipped["train"]) | set(stage3["train"])
    return sorted(set(shipped[split]) - heard)


def unheard_test_voices() -> list[str]:
    return unheard_voices("test")


def shipped_subset(voices: list[str], out_path: str) -> int:
    src = importlib.resources.files("azsim") / "data" / "testset" / "test.npz"
    with np.load(str(src)) as z:
        a = {k: z[k] for k in z.files}
    keep = [k for k, v in enumerate(a["voices"]) if str(v).split("+")[-1] in voices]
    off = a["offsets"]
    frames = [a["features_u8"][off[k]:off[k + 1]] for k in keep]
    np.savez(out_path, features_u8=np.concatenate(frames),
             offsets=np.concatenate([[0], np.cumsum([f.shape[0] for f in frames])]),
             feature_offset=a["feature_offset"][keep], feature_step=a["feature_step"][keep],
             texts=a["texts"][keep], voices=a["voices"][keep])
    return len(keep)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--test", type=int, default=2000,
                    help="utterances to draw (of the --split split)")
    ap.add_argument("--split", choices=("test", "dev"), default="test",
                    help="dev: a draw in the dev voices no shipped model heard, to compare "
                         "models without the test voices (E31); writes DIR/dev.npz and no "
                         "shipped subset")
    ap.add_argument("--seed", type=int, default=30)
    ap.add_argument("--grammar", type=int, default=1)
    args = ap.parse_args(argv)
    which = args.split
    voices = unheard_voices(which)
    print(f"{which} voices no shipped model heard: {', '.join(voices)}")
    split = synth.split_variants

    def restricted(variants, seed):
        out = split(variants, seed)
        return {**out, which: [v for v in out[which] if v in voices]}
    synth.split_variants = restricted   # the corpus code, its held-out variants restricted
    sizes = {"train": 0, "dev": 0, "test": 0, "names": 0}
    sizes[which] = args.test
    try:
        meta = build.build_corpus(args.out_dir, sizes,
                                  seed=args.seed, voice_split_seed=SHIPPED_SPLIT_SEED,
                                  grammar_version=args.grammar)
    finally:
        synth.split_variants = split
    print(f"{args.out_dir}/{which}.npz: {meta['sizes'][which]} utterances, "
          f"{meta['seconds'][which] / 3600:.2f} h, {which} variants {meta['variants'][which]}")
    if which == "dev":
        return 0
    subset = f"{args.out_dir.rstrip('/')}-shipped.npz"
    n = shipped_subset(voices, subset)
    print(f"{subset}: {n} of the shipped test set's 250 utterances")
    return 0


if __name__ == "__main__":
    sys.exit(main())
