"""Reading a WAV test folder's ``transcripts.tsv`` (no NumPy: the sweep's parent process
reads it to identify a test set without importing the numerical stack)."""
from __future__ import annotations

import codecs
import os
from pathlib import Path

from .errors import AzsimError, named
from .paths import read_small_file


def read_transcripts(tsv: Path, alphabet: str | None = None) -> list[tuple[str, str]]:
    """``(file, text)`` rows of a ``transcripts.tsv``: UTF-8, the header ``file<TAB>text``,
    then one line per WAV (blank lines are skipped). Texts are lower-cased with their
    whitespace collapsed, as the model writes; with ``alphabet`` (a character model's
    characters), a text holding any other character is an error: the model could never
    write it, so it would count as a word error on every run."""
    where = named("testset", str(tsv))
    raw = read_small_file(tsv, where).removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise AzsimError(f"{where}:{line}: not UTF-8 (byte {raw[exc.start]:#04x} at offset "
                         f"{exc.start}); save transcripts.tsv as UTF-8") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    empty = AzsimError(f"{where}: holds no utterances; it needs the header 'file<TAB>text' "
                       "and a line 'file<TAB>text' per WAV")
    if not text.strip():
        raise empty
    if [f.strip() for f in lines[0].split("\t")] != ["file", "text"]:
        raise AzsimError(f"{where}:1: first line is {lines[0][:40]!r}; it must be the header "
                         "'file<TAB>text'")
    if not any(line.strip() for line in lines[1:]):
        raise empty
    rows, line_of = [], {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise AzsimError(f"{where}:{number}: has {len(fields)} tab-separated field(s) "
                             f"({line[:40]!r}); expected 'file<TAB>text'")
        file, ref = fields[0].strip(), fields[1].strip()
        if not file:
            raise AzsimError(f"{where}:{number}: no file name; expected 'file<TAB>text'")
        if not ref:
            raise AzsimError(f"{where}:{number}: no reference text for {file}; every "
                             "utterance needs its transcript")
        key = os.path.normpath(file)
        if key in line_of:   # it was decoded and counted in the WER twice (until 2026-12-06)
            raise AzsimError(f"{where}:{number}: {file} is listed again (first on line "
                             f"{line_of[key]}); list each WAV once")
        line_of[key] = number
        rows.append((file, reference_text(f"{where}:{number}", f"the text of {file}", ref,
                                          alphabet)))
    return rows


def reference_text(where: str, what: str, ref: str, alphabet: str | None = None) -> str:
    """A reference transcript as the model writes: lower-cased, whitespace collapsed. With
    ``alphabet`` (a character model's characters), a text holding any other character is a
    one-line error naming ``where`` and ``what``: the model could never write it, so it
    would count as a word error on every run."""
    ref = " ".join(ref.lower().split())
    if alphabet is not None:
        # every character at once (a reference with '5' and '.' took two runs to learn both)
        bad = list(dict.fromkeys(ch for ch in ref if ch != " " and ch not in alphabet))
        if bad:
            advice = []
            if any(ch.isdigit() for ch in bad):
                advice.append("spell numbers out as words")
            if any(not ch.isdigit() and not ch.isalpha() for ch in bad):
                advice.append("remove punctuation and spell symbols out as words")
            if any(ch.isalpha() for ch in bad):
                advice.append("write letters the model knows")
            shown = ", ".join(repr(ch) for ch in bad[:8]) + (", ..." if len(bad) > 8 else "")
            raise AzsimError(f"{where}: {what} ({ref[:40]!r}) holds {shown}, which the model "
                             f"cannot write (it writes {_describe(alphabet)}); "
                             + "; ".join(advice))
    return ref


def _describe(alphabet: str) -> str:
    letters = "".join(ch for ch in alphabet if ch.isalpha())
    if letters == "abcdefghijklmnopqrstuvwxyz":
        rest = [repr(ch) for ch in alphabet if not ch.isalpha() and ch != " "]
        return "a-z" + "".join(f", {r}" for r in rest) + " and spaces"
    return repr(alphabet)
