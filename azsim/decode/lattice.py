"""The word lattice a device sends upstream, and its compact serialization (issue #7).

Built from the search's final N-best list: hypotheses are cut into words (characters between
spaces; for word-piece models, pieces from one "▁" piece to the next) and merged by word
history, so every distinct word prefix is one node and hypotheses that share their first words
share those nodes and edges. An edge carries its word, the encoder input frames of the word's
first and last token, and the model (``am``) and biasing (``bias``) score of its span, from the
previous word boundary up to this one (for characters, the boundary is the space after the
word; trailing blanks go to the final weight). A node where a hypothesis ends carries a final
weight, so the sum along a path plus the final weight is the hypothesis' score. Where two
hypotheses reach the same word history with different timings or scores, the better one's are
kept (Viterbi). Scores are integers in Q.10 nats (``azsim.decode.scores``); greedy decoding
computes none, so its one-path lattice carries zeros.

Serialization ("AZL", version 1), every integer an unsigned LEB128 varint, signed ones
zig-zag coded first (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...)::

    "AZL" 0x01                        magic and version
    frame_us                          duration of one frame index, microseconds
    score_frac_bits                   scores are integers at scale 2^-score_frac_bits nats
    n_words, then per word: byte length, UTF-8 bytes
    n_nodes                           node 0 is the start; src < dst on every edge
    n_edges, then per edge, sorted by (dst, src):
        dst - previous dst            (0 allowed: a node may have several in-edges)
        dst - 1 - src
        word index
        zz(start_frame - previous edge's start_frame)
        end_frame - start_frame
        zz(am), zz(bias)
    n_finals, then per final node, ascending:
        node - previous final node (first: node)
        zz(am), zz(bias)
    CRC-32 of all preceding bytes, 4 bytes little-endian

``load_lattice`` checks everything (magic, version, bounds, order, length, CRC) and raises
:class:`LatticeFormatError` with what is wrong.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from ..errors import AzsimError
from ..model.vocab import Vocab
from .scores import SCORE_FRAC_BITS

MAGIC = b"AZL\x01"


class LatticeFormatError(AzsimError):
    """Serialized lattice bytes are truncated, corrupted or of another format."""


@dataclass(frozen=True)
class Edge:
    src: int
    dst: int
    word: int            # index into Lattice.words
    start_frame: int
    end_frame: int
    am_q: int
    bias_q: int


@dataclass(frozen=True)
class Lattice:
    frame_us: int
    words: tuple[str, ...]
    n_nodes: int
    edges: tuple[Edge, ...]                   # sorted by (dst, src)
    finals: tuple[tuple[int, int, int], ...]  # (node, am_q, bias_q), ascending node
    score_frac_bits: int = SCORE_FRAC_BITS

    def paths(self) -> list[tuple[tuple[str, ...], int, int]]:
        """The best path to every final node: (words, am_q, bias_q), best total first."""
        best: dict[int, tuple[int, int, tuple[str, ...]]] = {0: (0, 0, ())}
        for e in self.edges:          # sorted by dst and src < dst: a topological order
            if e.src not in best:
                continue
            am, bias, words = best[e.src]
            cand = (am + e.am_q, bias + e.bias_q, words + (self.words[e.word],))
            old = best.get(e.dst)
            if old is None or cand[0] + cand[1] > old[0] + old[1]:
                best[e.dst] = cand
        out = []
        for node, am, bias in self.finals:
            if node in best:
                a, b, words = best[node]
                out.append((words, a + am, b + bias))
        out.sort(key=lambda p: -(p[1] + p[2]))
        return out


def word_segments(hyp, vocab: Vocab) -> list[tuple[str, int, int, int, int]]:
    """(word, start frame, end frame, am at boundary, bias at boundary) of one hypothesis."""
    segs: list[tuple[str, int, int, int, int]] = []
    cur: list[str] = []
    start = end = 0
    for i, tok in enumerate(hyp.tokens):
        piece = vocab.tokens[tok]
        if vocab.kind == "chars":
            if piece == " ":
                if cur:
                    segs.append(("".join(cur), start, end, hyp.token_am_q[i],
                                 hyp.token_bias_q[i]))
                    cur = []
                continue
        elif piece.startswith("▁"):
            if cur:
                segs.append(("".join(cur), start, end, hyp.token_am_q[i - 1],
                             hyp.token_bias_q[i - 1]))
                cur = []
            piece = piece[1:]
        if not piece:
            continue
        if not cur:
            start = hyp.token_frames[i]
        cur.append(piece)
        end = hyp.token_frames[i]
    if cur:
        segs.append(("".join(cur), start, end, hyp.am_q, hyp.bias_q))
    return segs


def build_lattice(nbest, vocab: Vocab, frame_us: int) -> Lattice:
    """Merge N-best hypotheses (best first) by word history into a lattice."""
    word_index: dict[str, int] = {}
    nodes: dict[tuple[int, ...], int] = {(): 0}
    edges: list[Edge] = []
    finals: dict[int, tuple[int, int]] = {}
    # Nodes are word histories, so every node but the root has one incoming edge and one
    # score from the root: ``reach``. An edge or final weight is always taken relative to the
    # reach of the node it leaves, so that every path sums to the score of the hypothesis that
    # ends there, even where it shares a prefix created by another hypothesis with other
    # boundary scores (e.g. "... sixty eight" ending where a better hypothesis goes on to
    # "minutes": its final weight must not be added to the better one's prefix score).
    reach: dict[int, tuple[int, int]] = {0: (0, 0)}
    for hyp in nbest:
        history: tuple[int, ...] = ()
        for word, start, end, am, bias in word_segments(hyp, vocab):
            w = word_index.setdefault(word, len(word_index))
            nxt = history + (w,)
            if nxt not in nodes:
                src = nodes[history]
                nodes[nxt] = len(nodes)
                edges.append(Edge(src, nodes[nxt], w, start, end, am - reach[src][0],
                                  bias - reach[src][1]))
                reach[nodes[nxt]] = (am, bias)
            history = nxt
        node = nodes[history]
        if node not in finals:
            finals[node] = (hyp.am_q - reach[node][0], hyp.bias_q - reach[node][1])
    edges.sort(key=lambda e: (e.dst, e.src))
    return Lattice(frame_us, tuple(word_index), len(nodes), tuple(edges),
                   tuple((n, a, b) for n, (a, b) in sorted(finals.items())))


# ------------------------------------------------------------------------------ serialization


def _varint(out: bytearray, n: int) -> None:
    if n < 0:
        raise ValueError(f"varint of a negative number {n}")
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _zigzag(n: int) -> int:
    return 2 * n if n >= 0 else -2 * n - 1


def _unzigzag(z: int) -> int:
    return z >> 1 if not z & 1 else -((z + 1) >> 1)


def serialize(lat: Lattice) -> bytes:
    out = bytearray(MAGIC)
    _varint(out, lat.frame_us)
    _varint(out, lat.score_frac_bits)
    _varint(out, len(lat.words))
    for word in lat.words:
        raw = word.encode("utf-8")
        _varint(out, len(raw))
        out += raw
    _varint(out, lat.n_nodes)
    _varint(out, len(lat.edges))
    prev_dst = prev_start = 0
    for e in lat.edges:
        _varint(out, e.dst - prev_dst)
        _varint(out, e.dst - 1 - e.src)
        _varint(out, e.word)
        _varint(out, _zigzag(e.start_frame - prev_start))
        _varint(out, e.end_frame - e.start_frame)
        _varint(out, _zigzag(e.am_q))
        _varint(out, _zigzag(e.bias_q))
        prev_dst, prev_start = e.dst, e.start_frame
    _varint(out, len(lat.finals))
    prev = 0
    for node, am, bias in lat.finals:
        _varint(out, node - prev)
        _varint(out, _zigzag(am))
        _varint(out, _zigzag(bias))
        prev = node
    out += struct.pack("<I", zlib.crc32(out))
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes, end: int):
        self.data, self.pos, self.end = data, 0, end

    def varint(self, what: str) -> int:
        n = shift = 0
        while True:
            if self.pos >= self.end:
                raise LatticeFormatError(f"lattice: truncated while reading {what} "
                                         f"(byte {self.pos})")
            byte = self.data[self.pos]
            self.pos += 1
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return n
            shift += 7
            if shift > 63:
                raise LatticeFormatError(f"lattice: {what} at byte {self.pos} is longer than "
                                         "64 bits")

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > self.end:
            raise LatticeFormatError(f"lattice: truncated while reading {what} (byte {self.pos})")
        raw = self.data[self.pos:self.pos + n]
        self.pos += n
        return raw


def load_lattice(data: bytes) -> Lattice:
    """Parse and check serialized lattice bytes (module docstring)."""
    if len(data) < len(MAGIC) + 4:
        raise LatticeFormatError(f"lattice: {len(data)} bytes is too short for a lattice "
                                 "(magic, header and CRC need at least 8)")
    if data[:3] != MAGIC[:3]:
        raise LatticeFormatError(f"lattice: magic {bytes(data[:3])!r} is not b'AZL'")
    if data[3] != MAGIC[3]:
        raise LatticeFormatError(f"lattice: version {data[3]} is not supported (only 1)")
    end = len(data) - 4
    (crc,) = struct.unpack("<I", data[end:])
    if zlib.crc32(data[:end]) != crc:
        raise LatticeFormatError("lattice: CRC-32 mismatch (corrupted bytes)")
    r = _Reader(data, end)
    r.pos = len(MAGIC)
    frame_us = r.varint("frame_us")
    frac_bits = r.varint("score_frac_bits")
    n_words = r.varint("n_words")
    words = []
    for k in range(n_words):
        raw = r.take(r.varint(f"length of word {k}"), f"word {k}")
        try:
            words.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise LatticeFormatError(f"lattice: word {k} is not UTF-8") from None
    n_nodes = r.varint("n_nodes")
    n_edges = r.varint("n_edges")
    edges = []
    dst = start = 0
    for k in range(n_edges):
        dst += r.varint(f"edge {k} dst")
        back = r.varint(f"edge {k} src")
        src = dst - 1 - back
        word = r.varint(f"edge {k} word")
        start += _unzigzag(r.varint(f"edge {k} start"))
        length = r.varint(f"edge {k} duration")
        am = _unzigzag(r.varint(f"edge {k} am"))
        bias = _unzigzag(r.varint(f"edge {k} bias"))
        if not 0 <= src < dst < n_nodes:
            raise LatticeFormatError(f"lattice: edge {k} goes from node {src} to {dst}; "
                                     f"nodes are 0..{n_nodes - 1} and src < dst")
        if word >= n_words:
            raise LatticeFormatError(f"lattice: edge {k} has word {word}; there are {n_words}")
        if start < 0:
            raise LatticeFormatError(f"lattice: edge {k} starts at frame {start} (< 0)")
        if edges and (dst, src) <= (edges[-1].dst, edges[-1].src):
            raise LatticeFormatError(f"lattice: edge {k} is out of (dst, src) order")
        edges.append(Edge(src, dst, word, start, start + length, am, bias))
    n_finals = r.varint("n_finals")
    finals = []
    node = 0
    for k in range(n_finals):
        step = r.varint(f"final {k} node")
        if k and step == 0:
            raise LatticeFormatError(f"lattice: final {k} repeats node {node}")
        node += step
        if node >= n_nodes:
            raise LatticeFormatError(f"lattice: final {k} is node {node}; nodes are "
                                     f"0..{n_nodes - 1}")
        finals.append((node, _unzigzag(r.varint(f"final {k} am")),
                       _unzigzag(r.varint(f"final {k} bias"))))
    if r.pos != end:
        raise LatticeFormatError(f"lattice: {end - r.pos} unexpected bytes before the CRC")
    return Lattice(frame_us, tuple(words), n_nodes, tuple(edges), tuple(finals), frac_bits)
