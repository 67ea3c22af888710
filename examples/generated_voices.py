"""A selection (dev) set in generated voices: no data split holds them, and their vocal tracts
lie outside the range the training voices were perturbed over.

Every one of espeak-ng's 94 English voice variants is in the train, dev or test split (split
0, ``synth.split_variants``), and the dev voices share formant tables with test voices (dev
``max`` has robosoft8's formant lines, dev ``Nguyen`` 8 of its 9 with robosoft4's), so a model
chosen on the dev voices is chosen partly on the test voices' tables. This script writes a dev
set whose speakers are made here, to judge future model choices (the 4-bit goal) on voices
linked to neither:

1. Base variants: split 0's training variants whose voice file (``DATA/voices/!v/NAME``)
   shares fewer than 5 ``formant`` lines with every dev and test variant's file, and that
   define formants 1, 2 and 3 (a voice file without them, the klatt voices, keeps espeak-ng's
   default formants, which no vocal-tract factor moves). Lines are compared by their text with
   runs of white space made one space: training ``f5``'s lines end in a space, so as written
   it shares none with test ``f2``, which has six of them.
2. Candidates, drawn with a seeded generator: a base, an accent, a rate, pitch and word gap as
   ``synth.draw_speaker`` draws them, and a voice file ``synth.random_variant(base, rng,
   vtl_scale=[(0.78, 0.84), (1.16, 1.22)])``: a vocal-tract factor beyond training's 0.85-1.15
   (``synth.VTL_FORMANT_SCALE``) on both sides, every other range training's.
3. A screen: each candidate says one fixed sentence (its accent, 175 wpm, pitch 50, word gap
   0, no channel), as log-mel features of azsim's frontend less their mean over the
   utterance, and is compared by dynamic time warping (Euclidean frame distance, the path's
   mean) with references in the same accent and at the same settings: all 94 shipped
   variants and M voice files perturbed as training perturbs them (``random_variant`` at its
   default ranges of a training variant). It is rejected when its nearest reference is nearer
   than the threshold the references set themselves: the 25th percentile of the shipped
   variants' nearest-neighbour distances to each other (per accent). Candidates are drawn
   until N pass (at most ``--max-draws``).
4. ``DIR/dev.npz``: U utterances a speaker of dev-bucket sentences (never a training text),
   drawn, placed in channels and written by the corpus code (``build.build_corpus`` with the
   dev split of ``build.plan``, whose speakers alone are replaced by the generated ones, the
   utterances dealt to them in turn), in the format of ``azsim corpus``'s dev.npz; its zip
   members carry a fixed date, so the same arguments write the same bytes. ``DIR/corpus.json``
   is the corpus description with ``generated_voices`` added: the command, the rules, the
   thresholds, each speaker's voice file and its sha256, the rejected candidates, the counts.

Usage::

    python examples/generated_voices.py /work/runs/gv34 [--speakers 24] [--utterances 100]
        [--seed 34] [--references 300] [--grammar 1] [--max-draws 240] [--jobs J]

then, once a rule naming it is registered, ``azsim eval --test DIR/dev.npz ...``. Needs
espeak-ng 1.51 (the shipped data's; ``build.check_shipped_split`` refuses another).
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import os
import shlex
import sys
import time
import zipfile
from pathlib import Path

import numba
import numpy as np

from azsim.corpus import build, grammar, synth
from azsim.model.frontend import FrontendSpec, log_mel
from azsim.paths import file_sha256

SPLIT_SEED = 0                  # every training corpus's voice split
SHARED_FORMANT_LIMIT = 5        # a base shares fewer formant lines with any held-out variant
NEEDED_FORMANTS = ("1", "2", "3")
GENERATED_VTL = [(0.78, 0.84), (1.16, 1.22)]   # outside training's VTL_FORMANT_SCALE
SCREEN_SENTENCE = "what is the weather like in boston today"
SCREEN_SPEED_WPM, SCREEN_PITCH, SCREEN_WORD_GAP = 175, 50, 0   # espeak-ng's defaults
THRESHOLD_PERCENTILE = 25
# the generator streams of the seed: candidates and reference perturbations (the sentences and
# channels are build.plan's, of the seed itself)
_CANDIDATES, _REFERENCES = 1, 2
_STREAM = 0x6776                # "gv"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def formant_lines(name: str, data_dir: str, exact: bool = False) -> list[str]:
    """The ``formant`` lines of variant ``name``'s file, white space made single spaces
    (``exact``: as written)."""
    with open(os.path.join(data_dir, "voices", "!v", name), encoding="utf-8",
              errors="replace") as f:
        return [line if exact else " ".join(line.split()) for line in f.read().splitlines()
                if line.split()[:1] == ["formant"]]


def base_variants(split: dict, data_dir: str) -> tuple[list[str], dict]:
    """The training variants fit to be bases (rule 1 of the docstring), and for each training
    variant the held-out variant it shares most formant lines with, how many, and whether it
    defines formants 1-3."""
    held_out = split["dev"] + split["test"]
    held = {v: set(formant_lines(v, data_dir)) for v in held_out}
    held_exact = {v: set(formant_lines(v, data_dir, exact=True)) for v in held_out}
    kept, table = [], {}
    for v in split["train"]:
        own = formant_lines(v, data_dir)
        shared = {h: len(set(own) & lines) for h, lines in held.items()}
        nearest = max(sorted(shared), key=shared.get)
        exact = set(formant_lines(v, data_dir, exact=True))
        defined = {line.split()[1] for line in own if len(line.split()) >= 2}
        complete = all(k in defined for k in NEEDED_FORMANTS)
        table[v] = {"most_shared_with": nearest, "shared_lines": shared[nearest],
                    "shared_lines_exact_text": max(len(exact & lines)
                                                   for lines in held_exact.values()),
                    "formant_lines": len(own), "defines_formants_1_to_3": complete}
        if shared[nearest] < SHARED_FORMANT_LIMIT and complete:
            kept.append(v)
    return kept, table


def draw_candidate(rng: np.random.Generator, bases: list[str], data_dir: str) -> dict:
    """A base, an accent, a rate, pitch and word gap as ``synth.draw_speaker`` draws them (the
    accent first, then the variant), then the voice file at the generated VTL range."""
    accent = synth.ACCENTS[rng.integers(len(synth.ACCENTS))]
    base = bases[rng.integers(len(bases))]
    speed = int(rng.integers(synth.SPEED_WPM[0], synth.SPEED_WPM[1] + 1))
    pitch = int(rng.integers(synth.PITCH[0], synth.PITCH[1] + 1))
    gap = int(rng.integers(synth.WORD_GAP_10MS[0], synth.WORD_GAP_10MS[1] + 1))
    vtl = synth.draw_scale(GENERATED_VTL, copy.deepcopy(rng))   # random_variant's first draw
    text = synth.random_variant(base, rng, data_dir, vtl_scale=GENERATED_VTL)
    return {"base": base, "accent": accent, "speed_wpm": speed, "pitch": pitch,
            "word_gap_10ms": gap, "vtl": float(vtl), "variant_text": text}


def screen_features(job) -> np.ndarray:
    """In a synthesis worker: ``(accent, variant, variant_text, spec, grammar version)`` saying
    the screen sentence at the screen settings, as mean-normalized log-mel features."""
    accent, variant, text, spec, version = job
    speaker = synth.Speaker(f"{accent}+{variant}", SCREEN_SPEED_WPM, SCREEN_PITCH,
                            SCREEN_WORD_GAP, text)
    audio = synth.speak(grammar.spoken(SCREEN_SENTENCE, version), speaker, build.worker_dir(),
                        grammar.espeak_amplitude(version))
    f = log_mel(synth._trim(audio), spec).astype(np.float64)   # the speech, as synthesize keeps it
    return f - f.mean(axis=0)


@numba.njit(cache=False)
def dtw(a, b):
    """Dynamic time warping of frames ``a`` [n, d] and ``b`` [m, d]: steps (1, 1), (1, 0),
    (0, 1), Euclidean frame distance; the cheapest path's total over its number of cells."""
    n, m = a.shape[0], b.shape[0]
    prev_c = np.full(m + 1, np.inf)
    prev_l = np.zeros(m + 1)
    cur_c = np.empty(m + 1)
    cur_l = np.empty(m + 1)
    prev_c[0] = 0.0
    for i in range(1, n + 1):
        cur_c[0] = np.inf
        cur_l[0] = 0.0
        for j in range(1, m + 1):
            s = 0.0
            for k in range(a.shape[1]):
                x = a[i - 1, k] - b[j - 1, k]
                s += x * x
            best, length = prev_c[j - 1], prev_l[j - 1]      # diagonal first on a tie
            if prev_c[j] < best:
                best, length = prev_c[j], prev_l[j]
            if cur_c[j - 1] < best:
                best, length = cur_c[j - 1], cur_l[j - 1]
            cur_c[j] = best + np.sqrt(s)
            cur_l[j] = length + 1.0
        prev_c, cur_c = cur_c, prev_c
        prev_l, cur_l = cur_l, prev_l
    return prev_c[m] / prev_l[m]


@numba.njit(cache=False)
def dtw_to_all(q, refs, offsets):
    """``dtw(q, ref)`` for each reference ``refs[offsets[r]:offsets[r + 1]]``."""
    out = np.empty(offsets.size - 1)
    for r in range(offsets.size - 1):
        out[r] = dtw(q, refs[offsets[r]:offsets[r + 1]])
    return out


class References:
    """Per accent: the references' screen features, names and the threshold."""

    def __init__(self, shipped: list[str], perturbed: list[tuple[str, str]], pool, spec,
                 version: int):
        self.shipped, self.perturbed = shipped, perturbed
        self.names = shipped + [f"perturbed#{k} ({base})" for k, (base, _) in
                                enumerate(perturbed)]
        self.pool, self.spec, self.version = pool, spec, version
        self.accents: dict[str, dict] = {}

    def of(self, accent: str) -> dict:
        if accent not in self.accents:
            jobs = [(accent, v, "", self.spec, self.version) for v in self.shipped]
            jobs += [(accent, f"{base}~random", text, self.spec, self.version)
                     for base, text in self.perturbed]
            feats = list(self.pool.imap(screen_features, jobs, chunksize=8))
            refs = np.ascontiguousarray(np.concatenate(feats))
            offsets = np.concatenate([[0], np.cumsum([f.shape[0] for f in feats])])
            n = len(self.shipped)
            dist = np.full((n, n), np.inf)
            for i in range(n - 1):   # each pair once: the DTW here is symmetric
                dist[i, i + 1:] = dtw_to_all(feats[i], refs, offsets[i + 1:n + 1])
                dist[i + 1:, i] = dist[i, i + 1:]
            nn = dist.min(axis=1)
            self.accents[accent] = {
                "refs": refs, "offsets": offsets,
                "threshold": float(np.percentile(nn, THRESHOLD_PERCENTILE)),
                "shipped_nn": {v: float(d) for v, d in zip(self.shipped, nn)}}
        return self.accents[accent]


def screen(cand: dict, feats: np.ndarray, refs: References) -> dict:
    ref = refs.of(cand["accent"])
    d = dtw_to_all(feats, ref["refs"], ref["offsets"])
    k = int(np.argmin(d))
    return {"nearest": refs.names[k], "distance": float(d[k]), "threshold": ref["threshold"],
            "passed": bool(d[k] >= ref["threshold"])}


def fixed_date_npz(path: Path) -> None:
    """Rewrite the .npz at ``path`` with every zip member dated ``_ZIP_DATE``: numpy dates
    them at the time of writing, so two draws of the same set differed in their bytes. The
    members (the .npy arrays) are kept byte for byte."""
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w", allowZip64=True) as zout:
        for info in zin.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            new.compress_type, new.external_attr = info.compress_type, info.external_attr
            zout.writestr(new, zin.read(info.filename))
    build._write_whole(path, buf.getvalue())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--speakers", type=int, default=24, help="generated speakers (N)")
    ap.add_argument("--utterances", type=int, default=100, help="utterances a speaker (U)")
    ap.add_argument("--seed", type=int, default=34)
    ap.add_argument("--references", type=int, default=300,
                    help="training-style perturbed voices among the screen's references (M)")
    ap.add_argument("--grammar", type=int, default=1,
                    help="the grammar version of the sentences (1: the 4-bit goal's dev sets "
                         "dv31, d22, d23 and its training draws)")
    ap.add_argument("--max-draws", type=int, default=None,
                    help="candidates screened at most (default 10 x --speakers)")
    ap.add_argument("--jobs", type=int, default=None, help="synthesis workers (default: cores)")
    args = ap.parse_args(argv)
    if args.speakers < 1 or args.utterances < 1 or args.references < 0:
        ap.error("--speakers and --utterances must be >= 1, --references >= 0")
    max_draws = args.max_draws or 10 * args.speakers
    started = time.time()
    data_dir = synth.espeak_data_dir()
    all_variants = synth.list_variants()
    build.check_shipped_split(all_variants)
    build.refuse_a_held_corpus(args.out_dir, "DIR")
    split = synth.split_variants(all_variants, SPLIT_SEED)
    bases, base_table = base_variants(split, data_dir)
    print(f"{len(all_variants)} variants; split {SPLIT_SEED}: {len(split['train'])} train, "
          f"{len(split['dev'])} dev, {len(split['test'])} test")
    print(f"{len(bases)} base variants (training variants sharing < {SHARED_FORMANT_LIMIT} "
          f"formant lines with every dev and test variant and defining formants 1-3): "
          f"{', '.join(bases)}")

    spec = FrontendSpec()
    ref_rng = np.random.default_rng([args.seed, _STREAM, _REFERENCES])
    perturbed = []
    for _ in range(args.references):   # as training draws them: a training variant, perturbed
        base = split["train"][ref_rng.integers(len(split["train"]))]
        perturbed.append((base, synth.random_variant(base, ref_rng, data_dir)))
    rng = np.random.default_rng([args.seed, _STREAM, _CANDIDATES])
    accepted, rejected, drawn = [], [], 0
    with build.synthesis_pool(args.jobs or os.cpu_count() or 1) as pool:
        refs = References(all_variants, perturbed, pool, spec, args.grammar)
        while len(accepted) < args.speakers and drawn < max_draws:
            batch = [draw_candidate(rng, bases, data_dir)
                     for _ in range(min(args.speakers - len(accepted), max_draws - drawn))]
            feats = pool.map(screen_features, [(c["accent"], f"{c['base']}~random",
                                                c["variant_text"], spec, args.grammar)
                                               for c in batch])
            for cand, f in zip(batch, feats):
                drawn += 1
                cand.update(screen(cand, f, refs))
                (accepted if cand["passed"] else rejected).append(cand)
                if len(accepted) == args.speakers:
                    break
            print(f"  screened {drawn}: {len(accepted)} passed, {len(rejected)} rejected "
                  f"({time.time() - started:.0f} s)", flush=True)
    if len(accepted) < args.speakers:
        print(f"only {len(accepted)} of {args.speakers} candidates passed in {drawn} draws "
              "(--max-draws); nothing written", file=sys.stderr)
        return 1
    speakers = []
    for j, c in enumerate(accepted):
        c["voice"] = f"{c['accent']}+{c['base']}~gen{j:02d}"
        speakers.append(synth.Speaker(c["voice"], c["speed_wpm"], c["pitch"],
                                      c["word_gap_10ms"], c["variant_text"]))
    print(f"{drawn} candidates drawn, {len(rejected)} rejected; thresholds "
          + ", ".join(f"{a} {r['threshold']:.3f}" for a, r in sorted(refs.accents.items())))
    print(f"{'speaker':32s} {'base':10s} {'accent':15s} {'vtl':>6s}  {'nearest reference':28s}"
          f" {'distance':>8s} {'threshold':>9s}")
    for c in accepted:
        print(f"{c['voice']:32s} {c['base']:10s} {c['accent']:15s} {c['vtl']:6.3f}  "
              f"{c['nearest']:28s} {c['distance']:8.3f} {c['threshold']:9.3f}")
    screened_s = time.time() - started

    n_utts = args.speakers * args.utterances
    plan = build.plan

    def generated_speakers(*a, **kw):   # build.plan's dev split, its speakers dealt in turn
        work = plan(*a, **kw)
        work["dev"] = [(t, speakers[k % len(speakers)], c, u)
                       for k, (t, _, c, u) in enumerate(work["dev"])]
        return work
    build.plan = generated_speakers
    try:
        meta = build.build_corpus(args.out_dir, {"train": 0, "dev": n_utts, "test": 0,
                                                 "names": 0},
                                  seed=args.seed, jobs=args.jobs,
                                  voice_split_seed=SPLIT_SEED, grammar_version=args.grammar)
    finally:
        build.plan = plan
    out = Path(args.out_dir)
    fixed_date_npz(out / "dev.npz")
    with np.load(out / "dev.npz") as z:
        texts, voices = [str(t) for t in z["texts"]], [str(v) for v in z["voices"]]
    words = sum(len(t.split()) for t in texts)
    per_speaker = {s.voice: voices.count(s.voice) for s in speakers}
    assert set(per_speaker.values()) == {args.utterances}, per_speaker
    assert all(synth.sentence_split(t) == "dev" for t in texts)

    def cand_record(c, full):
        keys = ("voice", "base", "accent", "speed_wpm", "pitch", "word_gap_10ms", "vtl",
                "nearest", "distance", "threshold") if full else (
                "base", "accent", "vtl", "nearest", "distance", "threshold")
        rec = {k: c[k] for k in keys if k in c}
        if full:
            rec["variant_text"] = c["variant_text"]
            rec["variant_sha256"] = hashlib.sha256(c["variant_text"].encode()).hexdigest()
        return rec
    meta["generated_voices"] = {
        "command": "python examples/generated_voices.py "
                   + " ".join(shlex.quote(a) for a in (argv if argv is not None
                                                       else sys.argv[1:])),
        "seed": args.seed, "voice_split_seed": SPLIT_SEED, "espeak_ng": synth.espeak_version(),
        "note": "dev.npz is spoken by the generated speakers below, not by the split's dev "
                "variants ('variants' is the split the base variants come from); its "
                "sentences and channels are build.plan's dev draw of the seed, the utterances "
                "dealt to the speakers in turn",
        "base_rule": f"split {SPLIT_SEED}'s training variants whose voice file shares fewer "
                     f"than {SHARED_FORMANT_LIMIT} 'formant' lines (their text, runs of white "
                     "space made one space) with every dev and test variant's file and "
                     "defines formants 1, 2 and 3",
        "base_variants": bases, "training_variants_checked": base_table,
        "speaker_draw": "accent, base, speed, pitch, word gap as synth.draw_speaker; voice "
                        "file synth.random_variant(base, rng, vtl_scale=GENERATED_VTL), the "
                        "other ranges training's",
        "vtl_scale": GENERATED_VTL,
        "training_ranges": {"vtl": synth.VTL_FORMANT_SCALE, "jitter": synth.FORMANT_JITTER,
                            "level": synth.FORMANT_LEVEL_SCALE,
                            "width": synth.FORMANT_WIDTH_SCALE, "pitch": synth.PITCH_SCALE,
                            "roughness": synth.ROUGHNESS},
        "screen": {
            "sentence": SCREEN_SENTENCE,
            "speaker": f"the candidate's accent, {SCREEN_SPEED_WPM} wpm, pitch {SCREEN_PITCH}, "
                       f"word gap {SCREEN_WORD_GAP}, no channel, trimmed to the speech",
            "features": "azsim's log-mel frontend (FrontendSpec()), less each mel's mean over "
                        "the utterance",
            "distance": "DTW, steps (1,1) (1,0) (0,1), Euclidean frame distance, the "
                        "cheapest path's total over its length",
            "references": f"in the candidate's accent: the {len(all_variants)} shipped "
                          f"variants and {args.references} voice files random_variant draws "
                          "at its default ranges from a training variant (as training does)",
            "threshold_rule": f"per accent, the {THRESHOLD_PERCENTILE}th percentile of the "
                              "shipped variants' nearest-neighbour distances to each other; "
                              "a candidate nearer than it to any reference is rejected",
            "thresholds": {a: r["threshold"] for a, r in sorted(refs.accents.items())},
            "shipped_nearest_neighbour_distances": {a: r["shipped_nn"] for a, r in
                                                    sorted(refs.accents.items())},
            "max_draws": max_draws},
        "drawn": drawn, "rejected": len(rejected),
        "rejected_candidates": [cand_record(c, False) for c in rejected],
        "speakers": [cand_record(c, True) for c in accepted],
        "utterances": len(texts), "utterances_per_speaker": args.utterances, "words": words,
        "dev_npz_sha256": file_sha256(out / "dev.npz"),
    }
    build._write_whole(out / "corpus.json", (json.dumps(meta, indent=2) + "\n").encode())
    total_s = time.time() - started
    print(f"{out / 'dev.npz'}: {len(texts)} utterances, {words} words, "
          f"{meta['seconds']['dev'] / 3600:.2f} h, sha256 {meta['generated_voices']['dev_npz_sha256']}")
    print(f"screen {screened_s:.0f} s, synthesis {total_s - screened_s:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
