"""Recognition accuracy: word and character error rates by Levenshtein distance."""
from __future__ import annotations

import numpy as np


def edit_distance(ref, hyp) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def edit_operations(ref, hyp) -> tuple[int, int, int]:
    """(substitutions, deletions, insertions) of a minimal alignment of ``hyp`` to ``ref``:
    their sum is :func:`edit_distance`. Among minimal alignments the one with the fewest
    substitutions, then deletions, is taken (a fixed rule, so the split is reproducible)."""
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]     # (edits, S, D, I)
    for i, r in enumerate(ref, 1):
        cur = [(i, 0, i, 0)]
        for j, h in enumerate(hyp, 1):
            e, s_, d, n = prev[j - 1]
            diag = (e + (r != h), s_ + (r != h), d, n)
            e, s_, d, n = prev[j]
            up = (e + 1, s_, d + 1, n)
            e, s_, d, n = cur[j - 1]
            left = (e + 1, s_, d, n + 1)
            cur.append(min(diag, up, left))
        prev = cur
    return prev[-1][1:]


def error_rate(refs: list[str], hyps: list[str], unit: str = "word") -> float:
    """Total edits over total reference units: words, or characters (each whitespace run
    counts as one space character, in the edits and in the total, as jiwer's CER does).
    No reference units and no edits is a rate of 0; edits against no reference units have no
    rate, and raise ValueError (the loaders refuse blank references, so no reported figure
    meets it; a rate of 0 there would hide the insertions)."""
    if len(refs) != len(hyps):   # zip dropped the unmatched utterances (accuracy audit)
        raise ValueError(f"{len(refs)} references against {len(hyps)} hypotheses: one each")
    split = str.split if unit == "word" else (lambda s: list(" ".join(s.split())))
    edits = sum(edit_distance(split(r), split(h)) for r, h in zip(refs, hyps))
    total = sum(len(split(r)) for r in refs)
    if not total and edits:
        raise ValueError(f"{edits} {unit} edit(s) against references of no {unit}s: the "
                         "error rate is undefined")
    return edits / total if total else 0.0


# Fewer utterances than this get no printed interval: a bootstrap over one utterance is a
# zero-width "95 % interval" that excludes 0, over two a meaningless one (a statistics audit,
# 2026-12-07; records keep the numbers).
MIN_INTERVAL_UTTERANCES = 20


def paired_wer_difference(refs: list[str], hyps_a: list[str], hyps_b: list[str],
                          resamples: int = 2000, seed: int = 0) -> dict:
    """WER of B minus WER of A on the same utterances, with a 95 % paired bootstrap interval.

    The utterances are resampled with replacement ``resamples`` times (Bisani and Ney, "Bootstrap
    estimates for confidence intervals in ASR performance evaluation", ICASSP 2004); each
    resample's difference is (its B word errors - its A word errors) / its reference words, so
    utterances stay paired and long ones weigh by their words, as in the WER itself. The
    interval is the 2.5th and 97.5th percentile; ``share_b_worse`` is the fraction of resamples
    in which B has more errors than A. Rates and differences are fractions (0.01 = one point).

    ``hypothesis_word_edits`` (the word edit distance from A's hypotheses to B's, summed) and
    ``utterances_differing`` say how far apart the two models are regardless of the
    references: only the words where they differ can move the difference, so its spread on a
    set grows with them (a compressed model that reproduces its float model word for word
    cannot differ from it, whatever the set). ``utterances_b_worse`` / ``_better`` count the
    utterances where B has more / fewer word errors than A: a sign test's counts, which on a
    set where A was chosen or tuned lean against any B that writes differently.
    """
    if not len(refs) == len(hyps_a) == len(hyps_b):
        raise ValueError("paired comparison needs one hypothesis of each per reference")
    words = np.array([len(r.split()) for r in refs], np.int64)
    err_a = np.array([edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps_a)],
                     np.int64)
    err_b = np.array([edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps_b)],
                     np.int64)
    apart = np.array([edit_distance(a.split(), b.split()) for a, b in zip(hyps_a, hyps_b)],
                     np.int64)
    total = int(words.sum())
    if not total and (err_a.any() or err_b.any()):
        raise ValueError("word errors against references of no words: the error rates and "
                         "their difference are undefined")
    out = {"utterances": len(refs), "words": total, "word_errors_a": int(err_a.sum()),
           "hypothesis_word_edits": int(apart.sum()),
           "utterances_differing": int(np.count_nonzero(apart)),
           "utterances_b_worse": int(np.count_nonzero(err_b > err_a)),
           "utterances_b_better": int(np.count_nonzero(err_b < err_a)),
           "word_errors_b": int(err_b.sum()),
           "wer_a": int(err_a.sum()) / total if total else 0.0,
           "wer_b": int(err_b.sum()) / total if total else 0.0,
           "difference": (int(err_b.sum()) - int(err_a.sum())) / total if total else 0.0,
           "resamples": resamples}
    if not refs or total == 0:
        return {**out, "ci95": [0.0, 0.0], "share_b_worse": 0.0}
    rng = np.random.default_rng(seed)
    n = len(refs)
    diffs = np.empty(resamples)
    delta = (err_b - err_a).astype(np.float64)
    chunk = max(1, min(resamples, 4_000_000 // max(n, 1)))   # bound the count matrix's memory
    for start in range(0, resamples, chunk):
        rows = min(chunk, resamples - start)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=rows).astype(np.float64)
        diffs[start:start + rows] = (counts @ delta) / np.maximum(counts @ words, 1)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return {**out, "ci95": [float(lo), float(hi)], "share_b_worse": float(np.mean(diffs > 0))}


def phrase_counts(phrases, refs: list[str], hyps: list[str]) -> dict:
    """How often the context phrases occur in the references (as whole words) and how many
    of those occurrences the hypotheses miss: per utterance and phrase, the reference's count
    minus the hypothesis' (never below zero). For one-word names, a name is missed when the
    hypothesis does not have it (issue #7's name errors)."""
    def count(words: list[str], phrase: list[str]) -> int:
        n = len(phrase)
        return sum(words[i:i + n] == phrase for i in range(len(words) - n + 1))

    split = [p.split() for p in phrases]
    occurrences = missed = 0
    for ref, hyp in zip(refs, hyps):
        r, h = ref.split(), hyp.split()
        for phrase in split:
            k = count(r, phrase)
            occurrences += k
            missed += max(0, k - count(h, phrase)) if k else 0
    return {"context_phrases_in_references": occurrences, "context_phrases_missed": missed}
