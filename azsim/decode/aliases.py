"""Alternative spellings of context phrases, heard by the model itself (issue #7).

A model that never heard a name spells it its own way: the shipped ``small`` writes
"kasimir" as "casimir" and "siobhan" as "sheila", and a bonus on the name's own letters
cannot reach a spelling the acoustics never suggest. Le et al. ("Deep shallow fusion for
RNN-T personalization", SLT 2021) add alternative spellings to the biasing list and map them
back; theirs come from a grapheme-to-grapheme model trained on text-to-speech audio decoded by
the recognizer. Here the recognizer is asked directly: every phrase is spoken by espeak-ng
in ``voices`` *training* voices (the corpus's voice split, so no held-out voice is used),
after each of the context's carrier phrases in turn ("call siobhan", "text siobhan", ...),
through the corpus's random channels, and decoded greedily by the integer model that will
run. A spelling heard at least ``min_count`` times becomes an alias of the phrase
(``PHRASE | ALIAS | ...`` in the context file, ``azsim.decode.context``) unless

* it is the phrase itself, another phrase, or heard for two phrases (it would name one
  contact for another);
* it shares a word with the keep list: words a user says for other things. By default the
  words of the grammar's requests (``grammar.request_words``), which hold the training
  contacts: "anna" is not an alias of "anouk" when "call anna" is a request of its own.

The decodes run on the host, once per context: nothing here is charged to the processor.
"""
from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..paths import output_file
from .context import starts_another

ALIAS_VOICES = 40      # renderings per phrase; the feasibility run of 2026-12-04 used 40
ALIAS_MIN_COUNT = 2    # a spelling heard once may be noise of one voice or channel
VOICE_SPLIT_SEED = 0   # the corpus's voice split of the shipped held-out sets


@dataclass
class AliasResult:
    """Per phrase: every spelling heard (with counts), the aliases kept, and why the others
    were dropped."""
    heard: dict[str, collections.Counter] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)          # alias -> phrase
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)  # phrase -> {spelling: why}
    carrier_missed: dict[str, int] = field(default_factory=dict)   # renderings whose carrier
    #                                                                the model did not hear
    skipped: list[str] = field(default_factory=list)   # phrases left out of the biasing

    def heard_right(self, phrase: str) -> float:
        """Share of the phrase's renderings the model wrote exactly right."""
        total = sum(self.heard[phrase].values()) + self.carrier_missed.get(phrase, 0)
        return self.heard[phrase][phrase] / total if total else 0.0

    def as_dict(self) -> dict:
        return {"phrases": {p: {"heard": dict(self.heard[p].most_common()),
                                "heard_right_share": self.heard_right(p),
                                "biased": p not in self.skipped,
                                "aliases": [a for a, q in self.aliases.items() if q == p],
                                "dropped": self.dropped.get(p, {}),
                                "carrier_missed": self.carrier_missed.get(p, 0)}
                            for p in self.heard},
                "aliases": len(self.aliases), "skipped": list(self.skipped)}


def spelling_after(hypothesis: str, carrier: str) -> str | None:
    """What the model wrote for the phrase: the words after ``carrier`` when the hypothesis
    starts with it (the whole hypothesis without a carrier), None if it does not."""
    words, lead = hypothesis.split(), carrier.split()
    if words[:len(lead)] != lead:
        return None
    return " ".join(words[len(lead):])


def choose_aliases(heard: dict[str, collections.Counter], keep_words: set[str],
                   min_count: int) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """``(alias -> phrase, phrase -> {dropped spelling: reason})`` from the spellings heard
    per phrase (module docstring)."""
    phrases = set(heard)
    claims: dict[str, list[str]] = collections.defaultdict(list)
    dropped: dict[str, dict[str, str]] = {p: {} for p in heard}
    for phrase, counts in heard.items():
        for spelling, n in counts.items():
            if spelling == phrase:
                continue
            longer = starts_another(spelling, phrases)
            why = ("empty" if not spelling else
                   f"heard {n} < {min_count} times" if n < min_count else
                   "another phrase" if spelling in phrases else
                   f"starts phrase {longer!r}" if longer is not None else
                   "has kept words " + ", ".join(sorted(set(spelling.split()) & keep_words))
                   if set(spelling.split()) & keep_words else None)
            if why:
                dropped[phrase][spelling] = why
            else:
                claims[spelling].append(phrase)
    aliases = {}
    for spelling, owners in claims.items():
        if len(owners) == 1:
            aliases[spelling] = owners[0]
        else:
            for p in owners:
                dropped[p][spelling] = "heard for " + ", ".join(sorted(owners))
    for spelling in [a for a in aliases if starts_another(a, aliases) is not None]:
        # rewritten inside the longer spelling (parse_context refuses the pair)
        dropped[aliases.pop(spelling)][spelling] = \
            f"starts alias {starts_another(spelling, aliases)!r}"
    return dict(sorted(aliases.items(), key=lambda kv: (kv[1], kv[0]))), dropped


def _render(task):
    """One rendering's log-mel features (float32), in a corpus synthesis worker."""
    from ..corpus import build, synth
    from ..model.frontend import log_mel
    text, speaker, channel, seed, spec = task
    return log_mel(synth.synthesize(text, speaker, channel, seed, build.worker_dir()), spec
                   ).astype(np.float32)


def hear_phrases(qm, cfg, phrases: list[str], prefixes: list[str], voices: int, seed: int,
                 progress: Callable[[str, int, int], None] | None = None,
                 jobs: int | None = None
                 ) -> tuple[dict[str, collections.Counter], dict[str, int]]:
    """Speak each phrase ``voices`` times (after the prefixes in turn) in training voices and
    decode it greedily with ``qm``: per phrase the spellings heard and how many renderings
    lost their carrier. Every voice, channel and seed is drawn first, so ``jobs`` synthesis
    processes give what one does."""
    import os

    from ..corpus import build, synth
    from ..execute.integer import run_utterance
    from ..model.loading import frontend_spec
    from ..model.vocab import make_vocab

    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    spec = frontend_spec(cfg)
    train_voices = synth.split_variants(synth.list_variants(), VOICE_SPLIT_SEED)["train"]
    rng = np.random.default_rng(seed)
    carriers = list(prefixes) or [""]
    tasks, owners = [], []
    for phrase in phrases:
        for k in range(voices):
            carrier = carriers[k % len(carriers)]
            speaker = synth.draw_speaker(rng, train_voices)
            channel = synth.draw_channel(rng)
            tasks.append((f"{carrier} {phrase}".strip(), speaker, channel,
                          int(rng.integers(2 ** 31)), spec))
            owners.append((phrase, carrier))
    heard = {p: collections.Counter() for p in phrases}
    missed = dict.fromkeys(phrases, 0)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    with build.synthesis_pool(jobs) as pool:
        for done, ((phrase, carrier), features) in enumerate(
                zip(owners, pool.imap(_render, tasks, chunksize=4)), start=1):
            text = vocab.decode(run_utterance(qm, features).tokens)
            spelling = spelling_after(text, carrier)
            if spelling is None:
                missed[phrase] += 1
            else:
                heard[phrase][spelling] += 1
            if progress:
                progress("hear phrases", done, len(tasks))
    return heard, missed


def find_aliases(qm, cfg, phrases: list[str], prefixes: list[str], keep_words: set[str],
                 voices: int = ALIAS_VOICES, min_count: int = ALIAS_MIN_COUNT, seed: int = 0,
                 progress: Callable[[str, int, int], None] | None = None,
                 jobs: int | None = None, skip_heard: float | None = None) -> AliasResult:
    """The aliases of ``phrases`` for the integer model ``qm`` (module docstring). With
    ``skip_heard``, a phrase the model writes right in at least that share of its renderings
    is left out of the biasing (``AliasResult.skipped``) with its aliases; its spellings still
    take part in the checks, so no other phrase's alias can name it."""
    heard, missed = hear_phrases(qm, cfg, phrases, prefixes, voices, seed, progress, jobs)
    aliases, dropped = choose_aliases(heard, keep_words, min_count)
    return skip_heard_phrases(AliasResult(heard, aliases, dropped, missed), skip_heard)


def skip_heard_phrases(result: AliasResult, share: float | None) -> AliasResult:
    """``result`` with the phrases written right in at least ``share`` of their renderings
    left out of the biasing, with their aliases (None: nothing left out)."""
    if share is not None:
        result.skipped = [p for p in result.heard if result.heard_right(p) >= share]
        result.aliases = {a: p for a, p in result.aliases.items() if p not in result.skipped}
    return result


def write_context(path: str, phrases: list[str], prefixes: list[str], aliases: dict[str, str],
                  header: list[str], skipped: dict[str, str] | None = None) -> None:
    """A context file: ``header`` as comments, the prefixes, one ``PHRASE | ALIAS ...`` line
    per phrase; ``skipped`` phrases (phrase -> why) as comment lines."""
    by_phrase = collections.defaultdict(list)
    for alias, phrase in aliases.items():
        by_phrase[phrase].append(alias)
    skipped = skipped or {}
    lines = [f"# {h}" for h in header] + [f"@prefix {p}" for p in prefixes]
    lines += [f"# {p}  ({skipped[p]})" if p in skipped else " | ".join([p] + by_phrase[p])
              for p in phrases]
    with output_file(path, "w", encoding="utf-8") as fh:   # whole or not at all
        fh.write("\n".join(lines) + "\n")
