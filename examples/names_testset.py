"""A biasing test set for contact names of one's own (issue #7).

The shipped ``names`` set and ``azsim corpus --names N`` call the grammar's 20 unseen contacts
(``grammar.NEW_CONTACTS``), on which the biasing settings were tuned. This script makes the
same kind of set for any names: requests from the grammar's contact templates
(``grammar.name_sentences(..., names=...)``) spoken by espeak-ng in the held-out *test* voices
(the corpus's voice split, seed 0) through the corpus's random channels, saved as a corpus
split (float16 log-mel ``features``, ``offsets``, ``texts``) that ``azsim eval --test`` and
``examples/biasing_eval.py --names-set`` read, plus a context file of the names after the
grammar's carriers for ``azsim context-aliases``.

Usage::

    python examples/names_testset.py NAMES.txt OUT.npz [--utterances 600] [--seed 51]
        [--context OUT.txt] [--jobs N]

The README's "names it was not tuned on" measurement (issue #7) used the 20 names of its
text, ``--utterances 600 --seed 51``.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from azsim.corpus import build, grammar, synth
from azsim.model.frontend import FrontendSpec

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", metavar="NAMES.txt", help="one name per line (lower case a-z, ')")
    ap.add_argument("out", metavar="OUT.npz")
    ap.add_argument("--utterances", type=int, default=600)
    ap.add_argument("--seed", type=int, default=51)
    ap.add_argument("--context", default=None, metavar="OUT.txt",
                    help="also write the names after the grammar's carriers as a context file")
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args(argv)
    with open(args.names, encoding="utf-8") as fh:
        names = [" ".join(line.lower().split()) for line in fh if line.strip()
                 and not line.startswith("#")]
    allowed = set("abcdefghijklmnopqrstuvwxyz' ")
    bad = [n for n in names if set(n) - allowed]
    if not names or bad:
        print(f"names_testset: error: {args.names}: "
              + (f"{bad[0]!r} has characters outside a-z, ' and space" if bad else "no names"),
              file=sys.stderr)
        return 2
    # names the model was trained on are no test of unheard names: they said nothing (a
    # corpus audit, 2026-12-07); a near-spelling (within 2 edits) is named too
    from azsim.model.metrics import edit_distance
    trained = set(grammar.CONTACTS) | set(grammar.TRAIN_NAMES)
    heard = [n for n in names if n in trained]
    if heard:
        print(f"names_testset: error: {args.names}: {heard[0]!r} is a name the models were "
              "trained on (grammar.CONTACTS or TRAIN_NAMES); give names they never heard",
              file=sys.stderr)
        return 2
    near = [(n, t) for n in names for t in sorted(trained) if edit_distance(n, t) <= 2]
    if near:
        print(f"names_testset: warning: {len(near)} names within 2 edits of a trained name "
              f"({near[0][0]!r} ~ {near[0][1]!r}, ...)", file=sys.stderr)
    texts = grammar.name_sentences(args.utterances, args.seed, names=names)
    voices = synth.split_variants(synth.list_variants(), 0)["test"]
    rng = np.random.default_rng(args.seed)
    tasks = [(t, synth.draw_speaker(rng, voices), synth.draw_channel(rng),
              int(rng.integers(2 ** 31)), (0, 0.0), FrontendSpec()) for t in texts]
    # the corpus's own synthesis workers (no pause): float16 features, as a corpus split
    with build.synthesis_pool(args.jobs) as pool:
        feats = [f for _, f in pool.imap(build.render_one, tasks, chunksize=8)]
    offsets = np.concatenate([[0], np.cumsum([f.shape[0] for f in feats])]).astype(np.int64)
    np.savez(args.out, features=np.concatenate(feats), offsets=offsets, texts=np.array(texts))
    if args.context:
        with open(args.context, "w", encoding="utf-8") as fh:
            fh.write("".join(f"@prefix {p}\n" for p in grammar.CARRIER_PHRASES)
                     + "".join(n + "\n" for n in names))
    print(f"{args.out}: {len(texts)} requests to {len(names)} names, "
          f"{offsets[-1] / 100 / 3600:.2f} h of test-voice speech")
    return 0


if __name__ == "__main__":
    sys.exit(main())
