"""Output vocabularies. Index 0 is always the RNN-T blank."""
from __future__ import annotations

from dataclasses import dataclass

BLANK = 0
CHARS = " abcdefghijklmnopqrstuvwxyz'"  # 28 symbols + blank = 29 (tiny and trained models)


@dataclass(frozen=True)
class Vocab:
    tokens: tuple[str, ...]  # tokens[0] is the blank, rendered as ""
    kind: str

    @property
    def size(self) -> int:
        return len(self.tokens)

    def decode(self, ids) -> str:
        text = "".join(self.tokens[i] for i in ids if i != BLANK)
        if self.kind == "wordpieces":  # "▁" marks a word start, as in SentencePiece
            text = text.replace("▁", " ")
        return " ".join(text.split())

    def encode(self, text: str) -> list[int]:
        if self.kind != "chars":
            raise ValueError("only character vocabularies can encode text")
        index = {t: i for i, t in enumerate(self.tokens)}
        return [index[ch] for ch in " ".join(text.lower().split()) if ch in index]


def make_vocab(kind: str, size: int) -> Vocab:
    """The character set, or ``size - 1`` placeholder word-pieces for untrained presets."""
    if kind == "chars":
        tokens = ("",) + tuple(CHARS)
        if size != len(tokens):
            raise ValueError(f"a character vocabulary has {len(tokens)} entries, not {size}")
        return Vocab(tokens, kind)
    # Placeholder pieces: an untrained word-piece model has no learned inventory; every
    # 8th piece starts a word so that random outputs still render as words.
    pieces = tuple(("▁" if i % 8 == 0 else "") + f"wp{i}" for i in range(1, size))
    return Vocab(("",) + pieces, kind)
