"""Shallow-fusion contextual biasing with a prefix trie over the model's tokens (issue #7).

Zhao et al., "Shallow-fusion end-to-end contextual biasing", Interspeech 2019: the biasing
phrases (contacts, device names) are compiled into a prefix structure over the model's output
units; during the beam search every token that extends a partial match earns a bonus, and when
the hypothesis leaves the structure before completing a phrase (their failure arcs) the bonus
accumulated since the last completed phrase is subtracted again, so a hypothesis only keeps the
bonus of whole phrases. Following the paper's word-boundary restriction, a phrase may start
only at the start of a word, and a completed phrase counts only when a word boundary (a space,
or the end of the utterance) follows it: "mom" earns its bonus in "call mom" but gives it back
in "moment".

Carrier phrases (their section 3.3, "biasing prefixes"): a context may name prefixes such as
"call" or "text"; then a phrase earns its bonus only right after one of them ("call kasimir"),
so the common words of other requests ("turn the kitchen lights on") never meet the trie. The
prefix is walked through the trie without bonus (``earns`` is False on its arcs), which keeps
the search exact and makes a failed prefix cost nothing.

The bonus is ``weight`` natural-log units (nats) per matched token, added to the token's
log-probability, i.e. the model's probability is multiplied by e^weight per matched character.
Scores are integers in Q.10 nats (``azsim.decode.scores``).

Alternative spellings (``PHRASE | ALIAS | ALIAS ...`` in a context file): a model that never
heard a name spells it its own way ("kasimir" -> "casimir", "siobhan" -> "sheila"), so no
bonus on the name's own letters reaches it. Following Le et al., "Deep shallow fusion for
RNN-T personalization", SLT 2021, each alias is a phrase of the trie like any other (it earns
the same bonus), and a completed alias followed by a word boundary is rewritten to its phrase
in the search's results (``rewrite_spans``), so the transcript, the N-best list and the
lattice carry the name. ``azsim context-aliases`` finds the aliases a model needs by decoding
the names spoken by text-to-speech (``azsim.decode.aliases``).

Biasing state of a hypothesis: ``(node, pending)``. ``node`` is ``NONE`` inside a word where no
phrase can start, ``ROOT`` at a word start, or a trie node; ``pending`` is the bonus earned
since the last completed phrase (what a failure takes back).
"""
from __future__ import annotations

from dataclasses import dataclass
from ..errors import AzsimError, as_called, quoted
from ..model.vocab import Vocab
from ..paths import read_small_text

NONE = -1   # inside a word in which no phrase started: nothing can match until the next word
ROOT = 0    # at a word start: a phrase may start here


class ContextError(AzsimError):
    """A context (biasing phrases) file is unreadable, empty, or has characters the model
    cannot emit."""


@dataclass(frozen=True)
class ContextTrie:
    """Phrases as token-id paths from ``ROOT``; node k > 0 was reached by ``token[k]``."""
    children: tuple[dict, ...]     # per node: token id -> child node
    is_end: tuple[bool, ...]       # a phrase ends at this node
    word_start: tuple[bool, ...]   # the next token starts a word (ROOT, or after a space)
    earns: tuple[bool, ...]        # reaching this node earns the bonus (False: a prefix arc)
    space: int                     # token id of the word separator
    weight_q: int                  # bonus per matched token, Q.10 nats
    phrases: tuple[str, ...]
    prefixes: tuple[str, ...] = ()
    canonical: dict | None = None  # node where an alias ends -> (alias length, phrase tokens)
    aliases: tuple[tuple[str, str], ...] = ()   # (alias, phrase)

    @property
    def nodes(self) -> int:
        return len(self.children)

    def step(self, node: int, pending: int, token: int, extra_q: int = 0
             ) -> tuple[int, int, int]:
        """Advance the biasing state by one emitted (non-blank) token.

        Returns ``(node, pending, delta)``: the new state and the score change, +weight (plus
        ``extra_q``, the search's internal-LM bonus for this token, ``azsim.decode.beam``) for
        a token that extends a match, minus the pending bonus when a match fails.
        """
        is_space = token == self.space
        if node == NONE:
            return (ROOT if is_space else NONE), 0, 0
        if is_space and self.is_end[node]:
            pending = 0            # a whole phrase followed by a word boundary: keep its bonus
        child = self.children[node].get(token)
        if child is not None:
            gain = self.weight_q + extra_q if self.earns[child] else 0
            return child, pending + gain, gain
        delta = -pending           # the partial match failed: take its bonus back
        if is_space:
            return ROOT, 0, delta
        if self.word_start[node]:  # this token starts a word: it may start another phrase
            child = self.children[ROOT].get(token)
            if child is not None:
                gain = self.weight_q + extra_q if self.earns[child] else 0
                return child, gain, delta + gain
        return NONE, 0, delta

    def finish(self, node: int, pending: int) -> int:
        """Score change at the end of the utterance: an unfinished match gives its bonus back."""
        return 0 if node > ROOT and self.is_end[node] else -pending

    def can_earn(self, node: int) -> bool:
        """Whether some token from ``node`` would earn the bonus (not only walk a carrier)."""
        if node == NONE:
            return False
        if any(self.earns[c] for c in self.children[node].values()):
            return True
        return node != ROOT and self.word_start[node] and \
            any(self.earns[c] for c in self.children[ROOT].values())

    def extending_tokens(self, node: int) -> tuple[int, ...]:
        """Tokens that can earn a bonus from ``node`` (for the search's candidate set)."""
        if node == NONE:
            return ()
        out = tuple(self.children[node])
        if node != ROOT and self.word_start[node]:
            out += tuple(self.children[ROOT])
        return out + ((self.space,) if node != ROOT else ())

    def rewrite_spans(self, tokens) -> list[tuple[int, int, tuple[int, ...]]]:
        """Where ``tokens`` spell a completed alias: ``(start, end, phrase tokens)`` per
        alias, ``tokens[start:end]`` being the alias's own (earning) tokens, matched the way
        the search matched them (after a carrier when the context has ``@prefix`` lines, at a
        word start, followed by a word boundary or the end)."""
        if not self.canonical:
            return []
        spans, node, pending = [], ROOT, 0
        for i, tok in enumerate(list(tokens) + [None]):
            if (tok is None or tok == self.space) and node in self.canonical:
                length, phrase = self.canonical[node]
                spans.append((i - length, i, phrase))
            if tok is None:
                break
            node, pending, _ = self.step(node, pending, int(tok))
        return spans


def build_trie(phrases: list[str], vocab: Vocab, weight_nats: float,
               source: str = "context", prefixes: list[str] = (),
               aliases: dict | None = None) -> ContextTrie:
    """Compile phrases (already normalized: lower case, single spaces) into a trie; with
    ``prefixes``, every phrase hangs after every prefix and only the phrase's arcs earn.
    ``aliases``: alternative spelling -> its phrase; each is a phrase of the trie whose
    completion is rewritten to the phrase (``ContextTrie.rewrite_spans``)."""
    from .scores import nats_to_q

    if vocab.kind != "chars":
        raise ContextError(f"{source}: contextual biasing needs a character vocabulary; this "
                           f"model has {vocab.kind} (no text-to-token mapping)")
    index = {t: i for i, t in enumerate(vocab.tokens) if t}
    space = index[" "]
    children: list[dict] = [{}]
    is_end, word_start, earns = [False], [True], [False]

    def insert(node: int, text: str, earn: bool) -> int:
        for ch in text:
            tok = index[ch]
            child = children[node].get(tok)
            if child is None:
                child = len(children)
                children[node][tok] = child
                children.append({})
                is_end.append(False)
                word_start.append(tok == space)
                earns.append(earn)
            node = child
        return node

    aliases = dict(aliases or {})
    phrase_set = set(phrases)
    for alias, phrase in aliases.items():
        if alias in phrase_set or phrase not in phrase_set:
            raise ContextError(f"{source}: alias {quoted(alias)} of {quoted(phrase)}: an "
                               "alias must differ from every phrase and belong to one of them")
    check_carriers(prefixes, source)
    starts = [insert(ROOT, p + " ", False) for p in prefixes] or [ROOT]
    canonical = {}
    for phrase in phrases:
        for start in starts:
            is_end[insert(start, phrase, True)] = True
    for alias, phrase in aliases.items():
        for start in starts:
            end = insert(start, alias, True)
            is_end[end] = True
            canonical[end] = (len(alias), tuple(index[ch] for ch in phrase))
    return ContextTrie(tuple(children), tuple(is_end), tuple(word_start), tuple(earns), space,
                       nats_to_q(weight_nats), tuple(phrases), tuple(prefixes), canonical,
                       tuple(aliases.items()))


PREFIX_MARK = "@prefix "
ALIAS_MARK = "|"


@dataclass(frozen=True)
class ContextSpec:
    """A context file's content: phrases, carrier prefixes and alternative spellings."""
    phrases: list[str]
    prefixes: list[str]
    aliases: dict    # alternative spelling -> its phrase


def context_input(path: str) -> str:
    """How messages name a context file the model config holds: given by ``--context`` or by
    ``--set model.decode.context_file`` (or a model file); the config no longer knows which."""
    return as_called(f"--context (model.decode.context_file) {path}",
                     f"model.decode.context_file = {path!r}")


def check_carriers(prefixes, source: str) -> None:
    """No carrier prefix may start another: one trie state per position, so a phrase after
    "message " would walk the carrier nodes of "message to " and earn only where it leaves
    them."""
    for a in prefixes:
        for b in prefixes:
            if a != b and (b + " ").startswith(a + " "):
                raise ContextError(f"{source}: carrier prefixes {quoted(a)} and {quoted(b)}: "
                                   f"one starts the other, so a phrase after {quoted(a)} would "
                                   f"not earn on the words it shares with {quoted(b)}; keep one "
                                   "of them")


def parse_context(path: str, vocab: Vocab, where: str | None = None) -> ContextSpec:
    """A context file: one phrase per line, optionally followed by its alternative spellings
    (``siobhan | sheila | shivon``: the model's own spellings, rewritten to the phrase);
    ``@prefix WORDS`` lines name carrier phrases (e.g. ``@prefix call``) after which alone
    phrases are boosted; blank lines and lines starting with '#' are skipped. Text is
    lower-cased with whitespace collapsed; a character the model cannot emit, an alias that is
    also a phrase, or one alias given to two phrases is an error, named by ``where`` (by
    default :func:`context_input`)."""
    where = where or context_input(path)
    text = read_small_text(path, where, ContextError).removeprefix("\ufeff")   # BOM
    allowed = {t for t in vocab.tokens if t}
    shown = "".join(t for t in vocab.tokens if t and t != " ")
    phrases: list[str] = []
    prefixes: list[str] = []
    aliases: dict[str, str] = {}
    alias_lines: dict[str, int] = {}
    phrase_set: set[str] = set()

    def check(text: str, lineno: int) -> str:
        if not text:
            raise ContextError(f"{where} line {lineno}: an empty phrase or alias "
                               "('PHRASE | ALIAS | ...' needs text between the bars)")
        bad = sorted({ch for ch in text if ch not in allowed})
        if bad:
            raise ContextError(f"{where} line {lineno}: {quoted(text)} has "
                               f"{', '.join(repr(c) for c in bad[:8])}"
                               f"{', ...' if len(bad) > 8 else ''}, which the model cannot "
                               f"emit (allowed: {shown} and space)")
        return text

    # lines end at \n alone (an \r before it is dropped): str.splitlines would also end one at
    # a form feed, U+2028 and others, and every line number after it would be off
    for lineno, line in enumerate(text.split("\n"), start=1):
        phrase = " ".join(line.removesuffix("\r").lower().split())
        if not phrase or phrase.startswith("#"):
            continue
        if phrase.startswith(PREFIX_MARK) or phrase == PREFIX_MARK.strip():
            prefix = phrase[len(PREFIX_MARK):].strip()
            if not prefix:
                raise ContextError(f"{where} line {lineno}: '@prefix' needs the "
                                   "carrier words after it (e.g. '@prefix call')")
            check(prefix, lineno)
            if prefix not in prefixes:
                prefixes.append(prefix)
            continue
        head, *alts = [part.strip() for part in phrase.split(ALIAS_MARK)]
        head = check(head, lineno)
        if head not in phrase_set:   # a set: `in phrases` made a long list quadratic
            phrase_set.add(head)
            phrases.append(head)
        for alt in alts:
            alt = check(alt, lineno)
            if aliases.get(alt, head) != head:
                raise ContextError(f"{where} line {lineno}: alias {quoted(alt)} of "
                                   f"{quoted(head)} is already an alias of "
                                   f"{quoted(aliases[alt])} (line "
                                   f"{alias_lines[alt]}); an alias must name one phrase")
            aliases[alt], alias_lines[alt] = head, lineno
    if not phrases:
        raise ContextError(f"{where}: no phrases (one phrase per line; '#' starts a "
                           "comment, '@prefix WORDS' names a carrier phrase)")
    for alt, head in aliases.items():
        if alt in phrase_set:
            raise ContextError(f"{where} line {alias_lines[alt]}: alias {quoted(alt)} of "
                               f"{quoted(head)} is also a phrase of its own; an alias must differ "
                               "from every phrase")
    entries = phrases + list(aliases)
    for alt, head in aliases.items():
        longer = starts_another(alt, entries)
        if longer is not None:
            kind = "phrase" if longer in phrases else "alias"
            raise ContextError(f"{where} line {alias_lines[alt]}: alias {quoted(alt)} of "
                               f"{quoted(head)} starts the {kind} {quoted(longer)}, so a "
                               f"transcript that spells {quoted(longer)} would have its "
                               f"{quoted(alt)} rewritten to {quoted(head)}; drop the alias")
    # here, not only when the trie is built: `azsim context-aliases` had synthesized aliases
    # for a file that `--context` then refused (decoding audit, 2026-12-06)
    check_carriers(prefixes, where)
    return ContextSpec(phrases, prefixes, aliases)


def starts_another(alias: str, entries) -> str | None:
    """The first of ``entries`` (phrases and aliases) that begins with the words of ``alias``
    and goes on, or None. The search's rewrite takes an alias at its word boundary, so such an
    alias was rewritten inside the longer entry ("call mary ann" with alias "mary" of
    "mary ann" read "call mary ann ann"; a decoding audit, 2026-12-07)."""
    return next((e for e in entries if e != alias and e.startswith(alias + " ")), None)


def read_phrases(path: str, vocab: Vocab) -> list[str]:
    """The phrases of a context file (``parse_context`` without prefixes and aliases)."""
    return parse_context(path, vocab).phrases


def load_context(path: str, vocab: Vocab, weight_nats: float) -> ContextTrie:
    if vocab.kind != "chars":
        raise ContextError(f"{context_input(path)}: contextual biasing needs a character "
                           f"vocabulary; this model has {vocab.kind} (no text-to-token mapping)")
    spec = parse_context(path, vocab)
    return build_trie(spec.phrases, vocab, weight_nats, context_input(path), spec.prefixes,
                      spec.aliases)
