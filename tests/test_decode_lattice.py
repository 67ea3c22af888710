"""Word lattice: merging by word history, serialization round trip, corruption (issue #7)."""
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim.decode.beam import Hypothesis
from azsim.decode.lattice import (Edge, Lattice, LatticeFormatError, build_lattice,
                                  load_lattice, serialize, word_segments)
from azsim.model.vocab import make_vocab

VOCAB = make_vocab("chars", 29)


def _hyp(text, frames, am, bias=None, final_am=None, final_bias=None):
    """A hypothesis whose k-th character is emitted at frames[k], with cumulative scores."""
    tokens = tuple(VOCAB.tokens.index(c) for c in text)
    bias = bias or [0] * len(text)
    return Hypothesis(tokens, tuple(frames), tuple(am), tuple(bias),
                      am[-1] if final_am is None else final_am,
                      bias[-1] if final_bias is None else final_bias)


def test_word_segments_cut_at_spaces_with_boundary_scores():
    h = _hyp("call  mom", [1, 2, 2, 3, 5, 6, 8, 9, 9],
             [-10, -20, -30, -40, -50, -60, -70, -80, -90], final_am=-95)
    assert word_segments(h, VOCAB) == [("call", 1, 3, -50, 0), ("mom", 8, 9, -95, 0)]
    wp = make_vocab("wordpieces", 17)   # pieces "▁wp8", "wp9".. (every 8th starts a word)
    hw = Hypothesis((8, 9, 16, 1), (0, 1, 3, 4), (-1, -2, -3, -4), (0, 0, 0, 0), -6, 0)
    assert word_segments(hw, wp) == [("wp8wp9", 0, 1, -2, 0), ("wp16wp1", 3, 4, -6, 0)]


def test_lattice_merges_same_word_history_and_keeps_path_scores():
    best = _hyp("call mom", range(8), [-1, -2, -3, -4, -5, -6, -7, -8], final_am=-9)
    second = _hyp("call tom", range(8), [-1, -2, -3, -4, -5, -7, -8, -9], final_am=-11)
    third = _hyp("call  mom", range(9), [-1, -2, -3, -4, -5, -6, -7, -8, -9], final_am=-12)
    lat = build_lattice([best, second, third], VOCAB, 30000)
    # call -> {mom, tom}; the third has the same words as the best: merged, nothing new
    assert lat.n_nodes == 4 and len(lat.edges) == 3
    assert lat.words == ("call", "mom", "tom")
    paths = lat.paths()
    assert [p[0] for p in paths] == [("call", "mom"), ("call", "tom")]
    assert paths[0][1] == best.am_q                  # the best path is exact
    assert paths[1][1] == second.am_q                # shares the best's "call" edge (-5)
    call = lat.edges[0]
    assert (call.src, call.dst, call.start_frame, call.end_frame, call.am_q) == (0, 1, 0, 3, -5)


def test_a_hypothesis_ending_inside_a_better_ones_prefix_keeps_its_own_score():
    # Found with the trained model: the best hypothesis goes on after "sixty eight" (its
    # boundary score there is taken at the space), a worse one ends at "eight" with a total
    # below the best's boundary score. Every path must sum to its own hypothesis' score, so
    # the best hypothesis stays the best path.
    best = _hyp("ab cd", range(5), [-1, -2, -3, -4, -5], final_am=-20)
    short = _hyp("ab", range(2), [-1, -6], final_am=-25)
    lat = build_lattice([best, short], VOCAB, 30000)
    paths = lat.paths()
    assert [p[0] for p in paths] == [("ab", "cd"), ("ab",)]
    assert [p[1] for p in paths] == [best.am_q, short.am_q]


def test_round_trip_and_size():
    hyps = [_hyp("turn on the lights", range(0, 36, 2), [-k for k in range(1, 19)],
                 bias=[0] * 17 + [2048]),
            _hyp("turn off the lights", range(0, 38, 2), [-k for k in range(2, 21)])]
    lat = build_lattice(hyps, VOCAB, 30000)
    raw = serialize(lat)
    assert load_lattice(raw) == lat
    assert load_lattice(raw).paths() == lat.paths()
    # golden size (a format change must be deliberate): magic 4, frame_us 3, frac bits 1,
    # word table 1 + 23, node and edge counts 2, 7 edges 50, finals 1 + 2 x 3, CRC 4
    assert len(raw) == 95


def test_empty_lattice_round_trips():
    lat = build_lattice([Hypothesis((), (), (), (), -3000, 0)], VOCAB, 30000)
    assert lat.n_nodes == 1 and lat.edges == () and lat.finals == ((0, -3000, 0),)
    assert load_lattice(serialize(lat)) == lat


def test_corruption_is_detected():
    lat = build_lattice([_hyp("call mom", range(8), [-k for k in range(8)])], VOCAB, 30000)
    raw = serialize(lat)
    for cut in range(len(raw)):
        with pytest.raises(LatticeFormatError):
            load_lattice(raw[:cut])
    for k in range(len(raw)):
        bad = bytearray(raw)
        bad[k] ^= 0x10
        with pytest.raises(LatticeFormatError) as exc:
            load_lattice(bytes(bad))
        assert "\n" not in str(exc.value)
    with pytest.raises(LatticeFormatError, match="version 2"):
        load_lattice(b"AZL\x02" + raw[4:])
    # structurally wrong but with a valid CRC: edges pointing past the last node
    broken = Lattice(lat.frame_us, lat.words, 1, lat.edges, ())
    with pytest.raises(LatticeFormatError, match="node"):
        load_lattice(serialize(broken))
    body = raw[:-4] + b"\x00"                 # a stray byte before a valid CRC
    with pytest.raises(LatticeFormatError, match="unexpected bytes"):
        load_lattice(body + zlib.crc32(body).to_bytes(4, "little"))


_SCORES = st.integers(-(2 ** 40), 2 ** 40)


@st.composite
def _lattices(draw):
    n_nodes = draw(st.integers(1, 12))
    words = tuple(draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5,
                                unique=True)))
    pairs = set()
    if n_nodes > 1:
        for _ in range(draw(st.integers(0, 20))):
            dst = draw(st.integers(1, n_nodes - 1))
            pairs.add((dst, draw(st.integers(0, dst - 1))))
    edges = []
    for dst, src in sorted(pairs):
        start = draw(st.integers(0, 10 ** 6))
        edges.append(Edge(src, dst, draw(st.integers(0, len(words) - 1)), start,
                          start + draw(st.integers(0, 1000)), draw(_SCORES), draw(_SCORES)))
    finals = tuple(sorted({n: (n, draw(_SCORES), draw(_SCORES)) for n in
                           draw(st.lists(st.integers(0, n_nodes - 1), max_size=4))}.values()))
    return Lattice(draw(st.integers(0, 10 ** 7)), words, n_nodes, tuple(edges), finals)


@settings(max_examples=200, deadline=None)
@given(_lattices())
def test_round_trip_property(lat):
    assert load_lattice(serialize(lat)) == lat
