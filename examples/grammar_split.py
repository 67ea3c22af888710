"""WER of a test set split by grammar: the utterances an earlier grammar could make, and the
others (README, issue #6, "Fresh draws at today's grammar are far harder").

Two steps:

1. ``classify``: draws ``--draws`` sentences of an earlier grammar version (``--grammar``,
   default 1: before the open slots; ``azsim.corpus.grammar.GRAMMARS``) with ``--seed`` and
   marks each reference of the given corpus splits as made by it or not.

       python examples/grammar_split.py classify split.json runs/t32/test.npz runs/t32/dev.npz

2. ``wer``: word errors of each ``azsim eval --json`` record (run on the same splits, in the
   same order) on the two parts.

       python examples/grammar_split.py wer split.json eval_small.json eval_qat4.json

Until 2026-12-05 the earlier grammar lived only in earlier code (step 1 ran in a venv with
commit 151573c installed); ``grammar.sentences(..., version=1)`` draws the same sentences.

Measured 2026-12-04 with 800,000 draws and seed 0 (43,007 distinct sentences): 829 of t32's
1,500 utterances, 4,544 of its 7,503 words, are sentences of the earlier grammar.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def classify(out: str, splits: list[str], draws: int, seed: int, version: int = 1) -> None:
    from azsim.corpus import grammar
    made = set(grammar.sentences(draws, seed=seed, version=version))
    record = {"draws": draws, "seed": seed, "grammar_version": version,
              "distinct": len(made), "splits": []}
    for path in splits:
        with np.load(path, allow_pickle=False) as data:
            refs = [str(t) for t in data["texts"]]
        record["splits"].append({"path": path, "earlier": [r in made for r in refs]})
        words = sum(len(r.split()) for r in refs if r in made)
        print(f"{path}: {sum(r in made for r in refs)} of {len(refs)} utterances, "
              f"{words} words, from the earlier grammar")
    with open(out, "w") as fh:
        json.dump(record, fh)


def wer(split_file: str, evals: list[str]) -> None:
    from azsim.model.metrics import edit_distance
    with open(split_file) as fh:
        marks = [s["earlier"] for s in json.load(fh)["splits"]]
    print("| eval record | all | earlier grammar | the others |")
    print("|---|---:|---:|---:|")
    for path in evals:
        with open(path) as fh:
            rec = json.load(fh)
        sets = rec["sets"] if "sets" in rec else [rec]
        if len(sets) != len(marks):
            sys.exit(f"{path}: {len(sets)} sets, but {split_file} classifies {len(marks)}")
        errors = {True: 0, False: 0}
        words = {True: 0, False: 0}
        for s, earlier in zip(sets, marks):
            hyps = s["hypotheses"]
            if len(hyps) != len(earlier):
                sys.exit(f"{path}: a set of {len(hyps)} utterances where {split_file} has "
                         f"{len(earlier)}")
            for h, part in zip(hyps, earlier):
                ref = h["reference"].split()
                errors[part] += edit_distance(ref, h["hypothesis"].split())
                words[part] += len(ref)
        total = 100 * (errors[True] + errors[False]) / (words[True] + words[False])
        print(f"| {path} | {total:.2f} | {100 * errors[True] / words[True]:.2f} "
              f"({words[True]} words) | {100 * errors[False] / words[False]:.2f} "
              f"({words[False]} words) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="step", required=True)
    c = sub.add_parser("classify")
    c.add_argument("out")
    c.add_argument("splits", nargs="+")
    c.add_argument("--draws", type=int, default=800000)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--grammar", type=int, default=1,
                   help="the earlier grammar version (azsim.corpus.grammar.GRAMMARS)")
    w = sub.add_parser("wer")
    w.add_argument("split_file")
    w.add_argument("evals", nargs="+")
    args = ap.parse_args()
    if args.step == "classify":
        classify(args.out, args.splits, args.draws, args.seed, args.grammar)
    else:
        wer(args.split_file, args.evals)


if __name__ == "__main__":
    main()
