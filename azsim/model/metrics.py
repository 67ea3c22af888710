"""Recognition accuracy: word and character error rates by Levenshtein distance."""
from __future__ import annotations


def edit_distance(ref, hyp) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def error_rate(refs: list[str], hyps: list[str], unit: str = "word") -> float:
    """Total edits over total reference units (words, or characters without spaces' runs)."""
    split = str.split if unit == "word" else (lambda s: list(" ".join(s.split())))
    edits = sum(edit_distance(split(r), split(h)) for r, h in zip(refs, hyps))
    total = sum(len(split(r)) for r in refs)
    return edits / total if total else 0.0
