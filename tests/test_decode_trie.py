"""Shallow-fusion biasing trie: bonus given per matched character and taken back (issue #7)."""
import numpy as np
import pytest

from azsim.decode.beam import _candidates, _Hyp
from azsim.decode.context import (NONE, ROOT, ContextError, build_trie, load_context,
                                  parse_context, read_phrases)
from azsim.model.vocab import make_vocab

VOCAB = make_vocab("chars", 29)
W = 1024  # 1.0 nat in Q.10


def _run(trie, text):
    """Feed text through the trie; returns per-character deltas (Q.10) and the end change."""
    node, pending, deltas = ROOT, 0, []
    for ch in text:   # character by character: Vocab.encode would strip a trailing space
        node, pending, delta = trie.step(node, pending, VOCAB.tokens.index(ch))
        deltas.append(delta)
    return deltas, trie.finish(node, pending)


@pytest.fixture(scope="module")
def trie():
    return build_trie(["call mom", "mom", "kitchen lights", "kitchen"], VOCAB, 1.0)


def test_trie_shares_prefixes(trie):
    # "call mom" 8 + "mom" 3 + "kitchen lights" 14 (shares nothing with the others) + root;
    # "kitchen" is a prefix of "kitchen lights": no new node, only an end mark.
    assert trie.nodes == 1 + 8 + 3 + 14
    assert trie.weight_q == W


def test_whole_phrase_keeps_its_bonus(trie):
    deltas, end = _run(trie, "call mom")
    assert deltas == [W] * 8 and end == 0
    assert sum(deltas) + end == 8 * W


def test_failed_partial_match_is_taken_back(trie):
    # "call mo" matches 7 characters, then "n" leaves the trie: all 7 bonuses are taken back.
    deltas, end = _run(trie, "call mon")
    assert deltas == [W] * 7 + [-7 * W] and end == 0
    # ... and the rest of the word cannot start a phrase
    deltas, end = _run(trie, "call monmom")
    assert deltas[7:] == [-7 * W, 0, 0, 0] and end == 0


def test_unfinished_match_at_the_end_is_taken_back(trie):
    deltas, end = _run(trie, "call mo")
    assert sum(deltas) == 7 * W and end == -7 * W


def test_phrase_must_end_at_a_word_boundary(trie):
    deltas, end = _run(trie, "moment")
    assert deltas == [W, W, W, -3 * W, 0, 0] and end == 0
    deltas, end = _run(trie, "mom ")
    assert deltas == [W, W, W, 0] and end == 0      # the space commits the phrase
    deltas, end = _run(trie, "mom is")
    assert sum(deltas) + end == 3 * W


def test_phrase_may_start_only_at_a_word_start(trie):
    deltas, end = _run(trie, "amom")
    assert deltas == [0, 0, 0, 0] and end == 0
    deltas, end = _run(trie, "a mom")
    assert deltas == [0, 0, W, W, W] and end == 0
    assert sum(deltas) + end == 3 * W


def test_completed_prefix_phrase_survives_a_failed_longer_one(trie):
    # "kitchen" is complete at the space; "kitchen lights" then fails at "a": only the bonus
    # earned after "kitchen" (space and "l") is taken back.
    deltas, end = _run(trie, "kitchen la")
    assert deltas == [W] * 7 + [W, W, -2 * W] and end == 0
    assert sum(deltas) + end == 7 * W


def test_failure_at_a_word_start_may_start_another_phrase(trie):
    # "call " then "k": "k" fails "call mom" at a word start, so it may start "kitchen" at
    # once: the 5 bonuses of "call " are taken back and 1 is earned.
    deltas, end = _run(trie, "call kitchen")
    assert deltas[:5] == [W] * 5
    assert deltas[5] == -5 * W + W
    assert sum(deltas) + end == 7 * W


def test_candidate_set_is_exact(trie):
    """The search scores only the top-k tokens plus the trie's extending tokens; that must
    give the same top-k as scoring every token (module docstring of azsim.decode.beam)."""
    rng = np.random.default_rng(7)
    states = [(ROOT, 0), (NONE, 0)]
    for text in ("call m", "call ", "kitchen", "kitchen ", "kitchen l", "mo", "mom", "x"):
        node, pending = ROOT, 0
        for ch in text:
            node, pending, _ = trie.step(node, pending, VOCAB.tokens.index(ch))
        states.append((node, pending))
    for node, pending in states:
        for k in (1, 2, 4):
            for _ in range(20):
                logp = -rng.integers(0, 6 * W, VOCAB.size).astype(np.int64)
                h = _Hyp(0, 0, 0, node, pending, None)
                got = [(c[0], c[1]) for c in _candidates(h, logp, k, trie)]
                brute = []
                for tok in range(1, VOCAB.size):
                    _, _, delta = trie.step(node, pending, tok)
                    brute.append((-(int(logp[tok]) + delta), tok))
                assert got == sorted(brute)[:k]


def test_read_phrases_normalizes_and_checks(tmp_path):
    path = tmp_path / "contacts.txt"
    path.write_text("# my contacts\nCall  Mom\n\n  kitchen LIGHTS \ncall mom\nO'Brien\n")
    assert read_phrases(str(path), VOCAB) == ["call mom", "kitchen lights", "o'brien"]
    bad = tmp_path / "bad.txt"
    bad.write_text("call mom\njosé\n")
    with pytest.raises(ContextError, match=r"line 2: 'josé' has 'é'") as exc:
        read_phrases(str(bad), VOCAB)
    assert "\n" not in str(exc.value)
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ContextError, match="no phrases"):
        read_phrases(str(empty), VOCAB)
    with pytest.raises(ContextError, match="cannot read"):
        read_phrases(str(tmp_path / "missing.txt"), VOCAB)
    with pytest.raises(ContextError, match="character vocabulary"):
        load_context(str(path), make_vocab("wordpieces", 64), 1.0)


@pytest.fixture(scope="module")
def carrier_trie():
    return build_trie(["mom", "kasimir"], VOCAB, 1.0, prefixes=["call", "drop in on"])


def test_carrier_prefix_is_walked_without_bonus(carrier_trie):
    deltas, end = _run(carrier_trie, "call mom")
    assert deltas == [0] * 5 + [W] * 3 and end == 0
    deltas, end = _run(carrier_trie, "drop in on kasimir please")
    assert sum(deltas) + end == 7 * W and deltas[:11] == [0] * 11


def test_carrier_phrases_gate_the_bonus(carrier_trie):
    # without a carrier phrase a name earns nothing, at a word start or anywhere
    for text in ("mom", "tell mom", "turn the kitchen lights on", "kasimir"):
        deltas, end = _run(carrier_trie, text)
        assert deltas == [0] * len(text) and end == 0, text
    # a failed prefix costs nothing; a failed name gives its bonus back
    deltas, end = _run(carrier_trie, "calm mom")
    assert deltas == [0] * 8 and end == 0
    deltas, end = _run(carrier_trie, "call mozart")
    assert sum(deltas) + end == 0 and deltas[7] == -2 * W
    # a prefix word failing at a word start may start another prefix
    deltas, end = _run(carrier_trie, "drop call mom")
    assert sum(deltas) + end == 3 * W


def test_candidate_set_is_exact_with_carrier_phrases(carrier_trie):
    rng = np.random.default_rng(11)
    for text in ("", "ca", "call ", "call m", "drop in ", "drop in on k", "x"):
        node, pending = ROOT, 0
        for ch in text:
            node, pending, _ = carrier_trie.step(node, pending, VOCAB.tokens.index(ch))
        for k in (1, 3):
            for _ in range(20):
                logp = -rng.integers(0, 6 * W, VOCAB.size).astype(np.int64)
                h = _Hyp(0, 0, 0, node, pending, None)
                got = [(c[0], c[1]) for c in _candidates(h, logp, k, carrier_trie)]
                brute = sorted((-(int(logp[t]) + carrier_trie.step(node, pending, t)[2]), t)
                               for t in range(1, VOCAB.size))
                assert got == brute[:k], text


def test_context_file_prefix_lines(tmp_path):
    path = tmp_path / "contacts.txt"
    path.write_text("@prefix Call\n@prefix  send a   message to\nmom\nKasimir\n@prefix call\n")
    spec = parse_context(str(path), VOCAB)
    assert (spec.phrases, spec.prefixes, spec.aliases) == (["mom", "kasimir"],
                                                           ["call", "send a message to"], {})
    trie = load_context(str(path), VOCAB, 2.0)
    assert trie.prefixes == ("call", "send a message to")
    deltas, end = _run(trie, "send a message to mom")
    assert sum(deltas) + end == 3 * 2 * W
    bad = tmp_path / "bad.txt"
    bad.write_text("mom\n@prefix\n")
    with pytest.raises(ContextError, match=r"line 2: '@prefix' needs the carrier words"):
        parse_context(str(bad), VOCAB)
    only = tmp_path / "only.txt"
    only.write_text("@prefix call\n")
    with pytest.raises(ContextError, match="no phrases"):
        parse_context(str(only), VOCAB)


def test_internal_lm_term_is_earned_and_taken_back_with_the_bonus(trie):
    """The search's internal-LM term (``extra_q``) rides on the bonus: earned by matched
    tokens only, and part of what a failed match gives back."""
    text, extra = "call mon", 300
    node, pending, deltas = ROOT, 0, []
    for ch in text:
        node, pending, delta = trie.step(node, pending, VOCAB.tokens.index(ch), extra)
        deltas.append(delta)
    assert deltas == [W + extra] * 7 + [-7 * (W + extra)]
    # a token that leaves the trie (or stays outside it) earns no term
    assert trie.step(NONE, 0, VOCAB.tokens.index("a"), extra) == (NONE, 0, 0)
    # carrier arcs earn neither the bonus nor the term
    carrier = build_trie(["mom"], VOCAB, 1.0, prefixes=["call"])
    node, pending = ROOT, 0
    for ch in "call ":
        node, pending, delta = carrier.step(node, pending, VOCAB.tokens.index(ch), extra)
        assert delta == 0
    assert carrier.step(node, pending, VOCAB.tokens.index("m"), extra)[2] == W + extra


def test_candidate_set_is_exact_with_an_internal_lm_term(trie):
    rng = np.random.default_rng(11)
    for text in ("call m", "call ", "kitchen", "mo", ""):
        node, pending = ROOT, 0
        for ch in text:
            node, pending, _ = trie.step(node, pending, VOCAB.tokens.index(ch))
        for k in (1, 2, 4):
            for _ in range(20):
                logp = -rng.integers(0, 6 * W, VOCAB.size).astype(np.int64)
                extra = rng.integers(0, 4 * W, VOCAB.size).astype(np.int64)
                h = _Hyp(0, 0, 0, node, pending, None)
                got = [(c[0], c[1]) for c in _candidates(h, logp, k, trie, extra)]
                brute = []
                for tok in range(1, VOCAB.size):
                    _, _, delta = trie.step(node, pending, tok, int(extra[tok]))
                    brute.append((-(int(logp[tok]) + delta), tok))
                assert got == sorted(brute)[:k]


def test_can_earn_only_where_a_bonus_is_possible():
    carrier = build_trie(["mom"], VOCAB, 1.0, prefixes=["call"])
    node, pending = ROOT, 0
    assert not carrier.can_earn(ROOT) and not carrier.can_earn(NONE)   # only carrier arcs
    for ch in "call":
        node, pending, _ = carrier.step(node, pending, VOCAB.tokens.index(ch))
        assert not carrier.can_earn(node)
    node, pending, _ = carrier.step(node, pending, VOCAB.tokens.index(" "))
    assert carrier.can_earn(node)                                       # "call " -> "m"
    plain = build_trie(["mom"], VOCAB, 1.0)
    assert plain.can_earn(ROOT)


def _tokens(text):
    return [VOCAB.tokens.index(ch) for ch in text]


def _text(tokens):
    return "".join(VOCAB.tokens[t] for t in tokens)


def _rewritten(trie, text):
    toks, out, at = _tokens(text), [], 0
    for start, end, phrase in trie.rewrite_spans(toks):
        out += toks[at:start] + list(phrase)
        at = end
    return _text(out + toks[at:])


def test_aliases_earn_like_phrases_and_are_rewritten_after_a_carrier():
    trie = build_trie(["kasimir", "siobhan"], VOCAB, 1.0, prefixes=["call", "tell"],
                      aliases={"casimir": "kasimir", "sheila": "siobhan", "shiv on": "siobhan"})
    assert trie.aliases == (("casimir", "kasimir"), ("sheila", "siobhan"),
                            ("shiv on", "siobhan"))
    deltas, end = _run(trie, "call casimir")
    assert sum(deltas) + end == 7 * W                    # the alias keeps its bonus
    assert _rewritten(trie, "call casimir") == "call kasimir"
    assert _rewritten(trie, "tell sheila dinner is ready") == "tell siobhan dinner is ready"
    assert _rewritten(trie, "call shiv on") == "call siobhan"         # a two-word alias
    assert _rewritten(trie, "tell sheila and call casimir") == "tell siobhan and call kasimir"
    # not after a carrier, not a whole word, or the phrase itself: unchanged
    for text in ("play sheila", "call sheilas", "call casimi", "call kasimir", "sheila",
                 "call shiv", ""):
        assert _rewritten(trie, text) == text


def test_aliases_without_carriers_match_at_any_word_start():
    trie = build_trie(["anouk"], VOCAB, 1.0, aliases={"anna": "anouk"})
    assert _rewritten(trie, "anna") == "anouk"
    assert _rewritten(trie, "is anna home") == "is anouk home"
    assert _rewritten(trie, "hannah joanna") == "hannah joanna"


def test_alias_must_differ_from_the_phrases():
    with pytest.raises(ContextError, match="alias 'mom' of 'mum'"):
        build_trie(["mom", "mum"], VOCAB, 1.0, aliases={"mom": "mum"})
    with pytest.raises(ContextError, match="alias 'ma' of 'dad'"):
        build_trie(["mom"], VOCAB, 1.0, aliases={"ma": "dad"})


def test_context_file_alias_lines(tmp_path):
    path = tmp_path / "contacts.txt"
    path.write_text("@prefix call\nKasimir | Casimir |casimer\nsiobhan|sheila\nmom\n")
    spec = parse_context(str(path), VOCAB)
    assert spec.phrases == ["kasimir", "siobhan", "mom"]
    assert spec.aliases == {"casimir": "kasimir", "casimer": "kasimir", "sheila": "siobhan"}
    trie = load_context(str(path), VOCAB, 1.0)
    assert _rewritten(trie, "call casimer") == "call kasimir"
    for body, message in (("mom | ma\ndad | ma\n", r"line 2: alias 'ma' of 'dad' is already "
                                                    r"an alias of 'mom' \(line 1\)"),
                          ("mom | dad\ndad\n", r"line 1: alias 'dad' of 'mom' is also a "
                                               "phrase of its own"),
                          ("mom | | ma\n", "line 1: an empty phrase or alias"),
                          ("mom | m0m\n", r"line 1: 'm0m' has '0', which the model cannot")):
        bad = tmp_path / "bad.txt"
        bad.write_text(body)
        with pytest.raises(ContextError, match=message):
            parse_context(str(bad), VOCAB)


def test_rewrite_spans_are_whole_word_aliases_in_order():
    """Property: on any text, every span is an alias spelled whole (a word start before it,
    a space or the end after it), spans are in order and do not overlap, and the phrase
    given is that alias's."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    words = st.sampled_from(["ab", "a", "b", "ba", "abb", "call", "c"])
    text_st = st.lists(words, max_size=8).map(" ".join)

    @settings(max_examples=300, deadline=None)
    @given(text_st, st.booleans(), st.sampled_from(["", " "]))
    def check(text, carriers, tail):
        aliases = {"ab": "mom", "b a": "dad", "abb": "mom"}
        trie = build_trie(["mom", "dad"], VOCAB, 1.0, prefixes=["call"] if carriers else [],
                          aliases=aliases)
        toks = _tokens(text + tail)
        spans = trie.rewrite_spans(toks)
        last = 0
        for start, end, phrase in spans:
            assert last <= start < end <= len(toks)
            alias = _text(toks[start:end])
            assert aliases[alias] == _text(phrase)
            assert start == 0 or _text(toks[:start]).endswith(" ")
            assert end == len(toks) or _text(toks[end:end + 1]) == " "
            if carriers:
                assert _text(toks[:start]).endswith("call ")
            last = end
    check()


@pytest.mark.parametrize("alias, phrase", [("abcdef", "mom"), ("ab", "mom"), ("abc", "mom"),
                                           ("abcd", "m"), ("a", "mom")])
def test_a_rewritten_phrase_keeps_the_alias_span_ends(alias, phrase):
    """A phrase's first token takes the alias's first frame and its last the alias's last
    (a one-token phrase the last), the others in order between (until 2026-12-06 a longer
    alias gave the phrase's first token the alias's second frame, which moved the lattice
    word's start)."""
    from azsim.decode.beam import Hypothesis, rewrite_hypothesis
    trie = build_trie([phrase], VOCAB, 1.0, aliases={alias: phrase})
    toks = _tokens("x " + alias)
    frames = tuple(range(10, 10 + 2 * len(toks), 2))       # distinct, increasing
    cum = tuple(range(len(toks)))
    out = rewrite_hypothesis(Hypothesis(toks, frames, cum, cum, 0, 0), trie)
    assert _text(out.tokens) == "x " + phrase
    span = out.token_frames[2:]
    assert span[-1] == frames[-1] and (len(span) == 1 or span[0] == frames[2])
    assert list(span) == sorted(span) and len(span) == len(phrase)


def test_an_alias_and_its_phrase_deliver_the_same_text():
    """The end-pointers compare per step the text that would be delivered: a hypothesis that
    spelled an alias and one that spelled its phrase are the same text (until 2026-12-06 they
    were two label sequences, and a flip between them counted as a reset)."""
    from azsim.decode.beam import _delivered_tokens

    def hyp(text):
        path = None
        for k, tok in enumerate(_tokens(text)):
            path = (path, tok, k, 0, 0)
        return _Hyp(0, 0, 0, ROOT, 0, path)

    trie = build_trie(["kasimir"], VOCAB, 1.0, aliases={"casimir": "kasimir"})
    assert _delivered_tokens(hyp("call casimir"), trie) == \
        _delivered_tokens(hyp("call kasimir"), trie) == tuple(_tokens("call kasimir"))
    # a partial alias is not rewritten
    assert _delivered_tokens(hyp("call casim"), trie) == tuple(_tokens("call casim"))


def test_a_long_context_file_parses_in_linear_time(tmp_path):
    """A device-names list of tens of thousands of lines: the phrases were de-duplicated by
    membership in a list, quadratic (30,000 lines took 16 s, 300,000 did not finish in 10
    min; a decoding audit). Order and de-duplication are unchanged."""
    import time
    names = [f"{a}{b}{c} {d}" for a in "abcdefghij" for b in "abcdefghij"
             for c in "abcdefghij" for d in ("kitchen", "lights", "fan", "door", "tv",
                                             "lamp", "radio", "blinds", "oven", "heater",
                                             "stove", "clock", "sink", "plug", "bell",
                                             "gate", "alarm", "tap", "fridge", "dryer",
                                             "washer", "mixer", "toaster", "kettle",
                                             "speaker", "phone", "camera", "sensor",
                                             "router", "printer", "hub", "light", "screen",
                                             "boiler", "pump", "valve", "vent")]
    assert len(names) == 37000
    path = tmp_path / "devices.txt"
    path.write_text("\n".join(names + names[:100] + ["siobhan | sheila"]) + "\n")
    start = time.perf_counter()
    spec = parse_context(str(path), VOCAB)
    trie = build_trie(spec.phrases, VOCAB, 1.0, aliases=spec.aliases)
    assert time.perf_counter() - start < 5.0
    assert spec.phrases == names + ["siobhan"] and spec.aliases == {"sheila": "siobhan"}
    assert trie.is_end[trie.children[ROOT][VOCAB.tokens.index("a")]] is False
