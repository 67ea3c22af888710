"""Beam search over the integer RNN-T, with a prediction-network cache (issue #7).

The search is time-synchronous, as a streaming device runs it: one pass per encoder frame,
with at most ``max_symbols_per_frame`` symbols per frame -- the limit greedy decoding applies
(``azsim.execute.integer.greedy_decode``); cf. the time-synchronous decoding of Saon et al.,
"Alignment-length synchronous decoding for RNN transducer", ICASSP 2020, and the original
RNN-T beam search of Graves, "Sequence transduction with recurrent neural networks", 2012.
For frame t, with B the hypotheses entering it:

1. the joint projection of the encoder frame is computed once (``joint.enc``);
2. round s = 0 .. S-1: every active hypothesis h (s symbols emitted at t) gets one joint
   evaluation and an integer log-softmax; h + blank ends the frame; h + v for the best
   ``beam`` non-blank tokens v (by log-probability plus biasing bonus) are candidates for
   round s + 1. Candidates are pruned to the ``beam`` best, and a candidate is dropped when
   even the largest bonus it could still earn at t cannot lift it above the ``beam``-th best
   hypothesis that already ended t, nor (with biasing) into the committed slots of step 4
   (exact: log-probabilities are <= 0). A label sequence already reached at t through
   another alignment is not a reason to drop a candidate: one that has used fewer of the
   frame's S symbols must still pay a blank to end it, and this one may not.
   Each surviving candidate needs the prediction network for its new label prefix;
3. after S rounds the remaining hypotheses end the frame without a blank, as greedy does;
4. hypotheses with the same label sequence are merged, keeping the better (Viterbi, "max");
   the ``beam`` best survive to t + 1. With biasing, up to ``committed_slots`` more may
   survive (``decode.context_committed_slots``, default 1): the best by committed score (the
   score without the bonus of an unfinished match, which the end of the match or of the
   utterance may still take back). Without this fallback slot, partial matches of a context
   name filled the beam and the search ended on a half name ("drop in on fene" for "drop in
   on ximena") once their bonus was taken back. More slots keep more of the paths the bonus
   would otherwise push out: at beam 8 and 2.5 nats, 8 slots cut the WER cost of biasing on
   the general test set from +0.31 to +0.08 points (docs/biasing-history.md).

Every joint evaluation and prediction-network step is real work on the processor: they go to
the event log under the same layers and fields as greedy decoding (``joint.enc``,
``joint.out``, ``pred.*``, ``joint.pred``), plus the softmax on ``joint.out``
(``azsim.decode.scores``). The bookkeeping (sorting, dictionaries, the trie) runs on the host
core and is not charged.

Prediction-network cache: the LSTM state and joint projection z_pred of a label prefix depend
only on the prefix, so they are kept per prefix (a label-tree node id): the prefixes alive in
the beam, plus those computed during the current frame. A candidate whose prefix is already
cached (the same labels reached through another alignment) costs no prediction step; those are
the reported cache hits. The cache holds at most ``kept + S * beam`` entries, ``kept`` the
hypotheses that survived the last frame (``beam``, plus the committed slots with a context):
each of the S rounds adds at most ``beam`` candidates. Likewise the
log-probabilities of a prefix at the current frame are kept until the frame ends, so a prefix
re-reached within a frame costs no second joint evaluation.

Scores are integers in Q.10 nats (``azsim.decode.scores``): the model's log-probability
(``am``) plus the biasing bonus (``bias``, ``azsim.decode.context``).

Internal-LM discount inside context matches (``decode.context_ilm_weight`` = lambda > 0): the
prediction network is also a language model of the training text, and it has learnt that
after "call " come the training contacts ("amy", "dad"), not unseen names ("dagny"): its prior
outvotes both the acoustics and a fixed bonus. Following internal-LM estimation (Meng et al.,
"Internal language model estimation for domain-adaptive end-to-end speech recognition", SLT
2021: the RNN-T's internal LM is its joint network with the encoder's contribution removed),
a token that extends a context match earns, besides ``context_weight``, lambda x -log P_ILM(token
| prefix), with P_ILM the joint's softmax over the non-blank tokens for a zero encoder output,
the term capped at ``context_ilm_cap_nats`` (which also bounds the pruning). Like the bonus it
is taken back when the match fails, so only whole phrases keep it; outside matches the search
is unchanged. The internal LM is real work: one joint projection of the zero encoder vector
per utterance (``joint.enc``) and one ``joint.out`` evaluation plus softmax per label prefix
from which a token could earn a bonus (it does not depend on the frame, so it is kept as
long as the prefix's prediction-cache entry and freed with it).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..compress.ptq import QuantizedRNNT
from ..execute.events import EventLog
from ..execute.integer import (greedy_decode, joint_enc_step, joint_out_step, layer_infos,
                               prediction_step)
from ..model.vocab import BLANK
from .context import NONE, ROOT, ContextTrie
from .scores import SCORE_FRAC_BITS, charge_log_softmax, log_softmax, nats_to_q, q_to_nats


@dataclass(frozen=True)
class IlmDiscount:
    """The internal-LM term of context matches (module docstring), in fixed point."""
    weight_q: int   # lambda at scale 2^-SCORE_FRAC_BITS (1.0 = 1024)
    cap_q: int      # the most -log P_ILM counted per token, Q.10 nats

    @classmethod
    def from_nats(cls, weight: float, cap_nats: float) -> IlmDiscount | None:
        """None when ``weight`` is 0 (no discount: the search is exactly as without it)."""
        if weight <= 0:
            return None
        return cls(nats_to_q(weight), nats_to_q(cap_nats))

    @property
    def max_extra_q(self) -> int:
        return (self.cap_q * self.weight_q) >> SCORE_FRAC_BITS

    def extra_q(self, ilm_logp: np.ndarray) -> np.ndarray:
        """Per token: lambda x min(-log P_ILM, cap), Q.10 nats (int64, >= 0)."""
        return (np.minimum(-ilm_logp, self.cap_q) * self.weight_q) >> SCORE_FRAC_BITS


@dataclass(frozen=True)
class Hypothesis:
    """One entry of the N-best list; scores in Q.10 nats (``score_q = am_q + bias_q``)."""
    tokens: tuple[int, ...]
    token_frames: tuple[int, ...]   # encoder input frame of each emission
    token_am_q: tuple[int, ...]     # model score accumulated up to and including each token
    token_bias_q: tuple[int, ...]   # biasing score accumulated up to each token
    am_q: int
    bias_q: int

    @property
    def score_q(self) -> int:
        return self.am_q + self.bias_q

    @property
    def score(self) -> float:
        return q_to_nats(self.score_q)


@dataclass(frozen=True)
class SearchResult:
    """What a decoder returns for one utterance (greedy or beam)."""
    method: str                    # "greedy" or "beam"
    beam: int
    scored: bool                   # False for greedy: it takes argmaxes, computes no scores
    nbest: tuple[Hypothesis, ...]  # best first
    step_frames: np.ndarray        # encoder input frame of each decoder step
    best_last_emit: np.ndarray     # per step: frame of the best hypothesis' last emission, -1
    best_id: np.ndarray            # per step: id of the best hypothesis' delivered text (the
                                   # one finish() and alias rewriting would deliver then)
    joint_evals: int
    pred_evals: int
    pred_cache_hits: int
    pred_cache_max: int = 1        # the most prediction states held at once (SRAM reserve)

    @property
    def tokens(self) -> tuple[int, ...]:
        return self.nbest[0].tokens

    @property
    def token_frames(self) -> tuple[int, ...]:
        return self.nbest[0].token_frames


class _Labels:
    """Label sequences as nodes of a prefix tree: equal ids <=> equal label sequences."""

    def __init__(self):
        self.index: dict[tuple[int, int], int] = {}

    def get(self, parent: int, token: int) -> int | None:
        return self.index.get((parent, token))

    def add(self, parent: int, token: int) -> int:
        node = self.index.get((parent, token))
        if node is None:
            node = self.index[(parent, token)] = len(self.index) + 1   # 0 = the empty sequence
        return node


class _Hyp:
    __slots__ = ("node", "am", "bias", "cnode", "cpend", "path")

    def __init__(self, node, am, bias, cnode, cpend, path):
        self.node, self.am, self.bias = node, am, bias
        self.cnode, self.cpend = cnode, cpend       # biasing state (azsim.decode.context)
        self.path = path    # (previous path, token, frame, am after, bias after) or None

    @property
    def score(self) -> int:
        return self.am + self.bias

    def key(self):
        return (-self.score, self.node)


def _merge(pool: dict, hyp: _Hyp) -> None:
    """Keep the better of two hypotheses with the same label sequence (Viterbi)."""
    old = pool.get(hyp.node)
    if old is None or hyp.key() < old.key():
        pool[hyp.node] = hyp


def _top_tokens(logp: np.ndarray, k: int) -> np.ndarray:
    """The k best non-blank tokens, ties to the lower id (a stable sort: deterministic)."""
    order = np.argsort(-logp[1:], kind="stable")[:k] + 1
    return order


def _candidates(h: _Hyp, logp: np.ndarray, k: int, context: ContextTrie | None,
                extra: np.ndarray | None = None):
    """The k best non-blank extensions of h by log-probability plus biasing bonus (plus the
    internal-LM term ``extra`` per token, for tokens that extend a match).

    Every token outside the top-k by log-probability and outside the trie's extending tokens
    gets the same (lowest) bonus, so it cannot beat the top-k: the candidate set is exact."""
    tokens = set(_top_tokens(logp, k).tolist())
    if context is not None:
        tokens.update(context.extending_tokens(h.cnode))
    out = []
    for tok in tokens:
        if context is not None:
            cnode, cpend, delta = context.step(h.cnode, h.cpend, tok,
                                               int(extra[tok]) if extra is not None else 0)
        else:
            cnode, cpend, delta = NONE, 0, 0
        lp = int(logp[tok])
        out.append((-(lp + delta), tok, lp, delta, cnode, cpend))
    out.sort()
    return out[:k]


def _ilm_logp(qm: QuantizedRNNT, log: EventLog, z_enc0: np.ndarray, z_pred: np.ndarray,
              frame: int, logits: np.ndarray) -> np.ndarray:
    """Integer log P_ILM over the non-blank tokens for one label prefix (module docstring):
    the joint output for a zero encoder output, blank excluded from the softmax."""
    joint_out_step(qm, log, z_enc0, z_pred, frame, logits)
    rest = np.delete(logits, BLANK)
    # beyond the exp table (16 nats = 2^14 at Q.10): contributes 0; clamped to int32
    logits[BLANK] = max(int(rest.min()) - (1 << 24), int(np.iinfo(np.int32).min))
    logp = np.empty(logits.shape[0], np.int64)
    charge_log_softmax(log, frame, logits.shape[0], log_softmax(logits, logp))
    return logp


def prediction_entries_held(decode) -> int:
    """The most prediction-network cache entries (an LSTM state and a z_pred each) a decoder
    of ``decode`` (the model's ``decode`` config) holds at once: 1 for greedy decoding; for
    the beam search the hypotheses that survived the last frame (``beam``, plus the committed
    slots with a context) and ``beam`` more in each of the frame's S rounds (the cache bound
    above; until a 2026-12-06 review the reserve was (beam + slots) x (S + 1), 96 entries
    where 56 are held at beam 8 with 8 slots). The processor keeps them in SRAM
    (azsim.execute.integer.recurrent_state_bytes)."""
    if decode.beam <= 1:
        return 1
    kept = decode.beam + (decode.context_committed_slots if decode.context_file else 0)
    return kept + decode.max_symbols_per_frame * decode.beam


def ilm_row_bytes(decode, vocab_size: int) -> int:
    """SRAM for one cache entry's internal-LM row when the search discounts by it (a context
    and ``context_ilm_weight`` > 0 at a beam above 1): an int32 term per token, held as long
    as its entry (:func:`prediction_entries_held` entries at most)."""
    on = decode.beam > 1 and decode.context_file and decode.context_ilm_weight > 0
    return 4 * vocab_size if on else 0


def beam_search(qm: QuantizedRNNT, enc_out: np.ndarray, enc_frames: np.ndarray, log: EventLog,
                beam: int, context: ContextTrie | None = None,
                committed_slots: int = 1, ilm: IlmDiscount | None = None) -> SearchResult:
    """Time-synchronous beam search (module docstring); ``beam`` >= 1 hypotheses per frame."""
    if beam < 1:
        raise ValueError(f"beam = {beam}: a beam search keeps at least one hypothesis")
    if context is None:
        ilm = None
    max_symbols = qm.cfg.decode.max_symbols_per_frame
    n_v = qm.joint_out.q.shape[0]
    logits = np.empty(n_v, np.int32)
    labels = _Labels()
    w_max = context.weight_q if context is not None else 0
    w_max += ilm.max_extra_q if ilm is not None else 0
    n_steps = enc_out.shape[0]
    best_last_emit = np.full(n_steps, -1, np.int64)
    best_id = np.zeros(n_steps, np.int64)
    text_ids: dict[tuple[int, ...], int] = {}   # delivered token sequence -> its id
    joint_evals = pred_evals = hits = 0
    cache_max = 1

    first = int(enc_frames[0]) if n_steps else 0
    cache = {0: prediction_step(qm, log, BLANK, [None] * len(qm.pred), first)}
    pred_evals += 1
    ilm_extra: dict[int, np.ndarray] = {}     # label prefix -> internal-LM term per token
    z_enc0 = None
    if ilm is not None:
        z_enc0 = joint_enc_step(qm, log, np.zeros(qm.joint_enc.q.shape[1], np.int8), first)

    def extra_for(h: _Hyp, frame: int) -> np.ndarray | None:
        """The internal-LM term of h's extensions; None where no token can earn a bonus."""
        nonlocal joint_evals
        if ilm is None or not context.can_earn(h.cnode):
            return None
        got = ilm_extra.get(h.node)
        if got is None:
            got = ilm_extra[h.node] = ilm.extra_q(
                _ilm_logp(qm, log, z_enc0, cache[h.node][1], frame, logits))
            joint_evals += 1
        return got
    hyps = [_Hyp(0, 0, 0, ROOT, 0, None)]
    for t in range(n_steps):
        frame = int(enc_frames[t])
        z_enc = joint_enc_step(qm, log, enc_out[t], frame)
        ended: dict[int, _Hyp] = {}
        frame_logp: dict[int, np.ndarray] = {}   # per label prefix, at this frame
        active = hyps
        for s in range(max_symbols):
            cands: dict[tuple[int, int], tuple] = {}
            for h in active:
                logp = frame_logp.get(h.node)
                if logp is None:     # the same prefix re-reached at t needs no new evaluation
                    logp = np.empty(n_v, np.int64)
                    joint_out_step(qm, log, z_enc, cache[h.node][1], frame, logits)
                    charge_log_softmax(log, frame, n_v, log_softmax(logits, logp))
                    frame_logp[h.node] = logp
                    joint_evals += 1
                lp_blank = int(logp[BLANK])
                _merge(ended, _Hyp(h.node, h.am + lp_blank, h.bias, h.cnode, h.cpend, h.path))
                for _neg, tok, lp, delta, cnode, cpend in _candidates(
                        h, logp, beam, context, extra_for(h, frame)):
                    score = h.score + lp + delta
                    old = cands.get((h.node, tok))
                    if old is None or score > old[0]:
                        cands[(h.node, tok)] = (score, h, tok, lp, delta, cnode, cpend)
            # the beam-th best ended score; a candidate must still be able to reach it. With a
            # context the fallback slots also keep the best by committed score (score less
            # the pending bonus), so a candidate must be able to reach either set.
            ended_scores = sorted((x.score for x in ended.values()), reverse=True)
            floor = ended_scores[beam - 1] if len(ended_scores) >= beam else None
            if context is not None and committed_slots and floor is not None:
                committed = sorted((x.score - x.cpend for x in ended.values()), reverse=True)
                floor = (min(floor, committed[committed_slots - 1])
                         if len(committed) >= committed_slots else None)
            reach = (max_symbols - s - 1) * w_max
            ranked = sorted(cands.values(), key=lambda c: (-c[0], c[1].node, c[2]))
            active = []
            for score, h, tok, lp, delta, cnode, cpend in ranked:
                if len(active) == beam or (floor is not None and score + reach < floor):
                    break
                # The same labels may already be out there with a better score, from an earlier
                # round of this frame or the frame before, having emitted fewer symbols at t;
                # they do not dominate this one, which may end the frame at the symbol cap
                # without a blank (until 2026-12-06 it was dropped, and beams 2-8 returned
                # worse best scores than greedy on 2 of the shipped test utterances).
                node = labels.add(h.node, tok)
                if node in cache:
                    hits += 1
                else:
                    cache[node] = prediction_step(qm, log, tok, cache[h.node][0], frame)
                    pred_evals += 1
                    cache_max = max(cache_max, len(cache))
                am, bias = h.am + lp, h.bias + delta
                active.append(_Hyp(node, am, bias, cnode, cpend,
                                   (h.path, tok, frame, am, bias)))
            if not active:
                break
        else:
            for h in active:          # S symbols emitted at t: the frame ends without a blank
                _merge(ended, h)
        ranked_end = sorted(ended.values(), key=_Hyp.key)
        hyps = ranked_end[:beam]
        if context is not None and len(ranked_end) > beam:
            # The fallback slots: also keep the best hypotheses by committed score (without
            # the bonus of unfinished matches), so partial matches cannot crowd every path
            # that would win once their bonus is taken back.
            kept = {h.node for h in hyps}
            by_committed = sorted(ranked_end, key=lambda h: (h.cpend - h.score, h.node))
            hyps = hyps + [h for h in by_committed[:committed_slots] if h.node not in kept]
        cache = {h.node: cache[h.node] for h in hyps}
        # the internal-LM rows go with their cache entries: kept for every prefix seen, they
        # grew to 63 rows (7.3 KB) on a names utterance that the SRAM reserve, which counts
        # the cache's entries, did not hold (decoding audit, 2026-12-06)
        ilm_extra = {node: row for node, row in ilm_extra.items() if node in cache}
        # what would be delivered if the search stopped here: ranked with unfinished matches'
        # bonus taken back, as the final N-best is, and aliases as their phrases. Until
        # 2026-12-06 the end-pointers followed hyps[0], whose score still held a pending
        # bonus: a half name that finish() overturns was taken for the text, and an alias
        # and its phrase (the same delivered text) counted as a change (decoding audit).
        best = hyps[0] if context is None else \
            min(hyps, key=lambda h: (-(h.score + context.finish(h.cnode, h.cpend)), h.node))
        best_last_emit[t] = best.path[2] if best.path is not None else -1
        best_id[t] = best.node if context is None or not context.canonical else \
            text_ids.setdefault(_delivered_tokens(best, context), len(text_ids))

    final = []
    for h in hyps:
        end = context.finish(h.cnode, h.cpend) if context is not None else 0
        final.append(_Hyp(h.node, h.am, h.bias + end, h.cnode, h.cpend, h.path))
    final.sort(key=_Hyp.key)
    nbest = tuple(_hypothesis(h) for h in final)
    if context is not None and context.canonical:
        nbest = _rewrite_aliases(nbest, context)
    return SearchResult("beam", beam, True, nbest,
                        np.asarray(enc_frames[:n_steps], np.int64), best_last_emit, best_id,
                        joint_evals, pred_evals, hits, cache_max)


def _delivered_tokens(h: _Hyp, context: ContextTrie) -> tuple[int, ...]:
    """The tokens ``h`` delivers: its label sequence with completed aliases as their phrases."""
    return rewrite_hypothesis(_hypothesis(h), context).tokens


def _hypothesis(h: _Hyp) -> Hypothesis:
    steps = []
    p = h.path
    while p is not None:
        steps.append(p[1:])
        p = p[0]
    steps.reverse()
    return Hypothesis(tuple(s[0] for s in steps), tuple(s[1] for s in steps),
                      tuple(s[2] for s in steps), tuple(s[3] for s in steps), h.am, h.bias)


def rewrite_hypothesis(hyp: Hypothesis, context: ContextTrie) -> Hypothesis:
    """``hyp`` with every completed alias of ``context`` replaced by its phrase's tokens. A
    phrase's k-th token takes the frame and the accumulated scores of the alias token at the
    same relative position (the last takes the alias's last), so frames stay in order and
    the scores at every word boundary are unchanged."""
    spans = context.rewrite_spans(hyp.tokens)
    if not spans:
        return hyp
    per_token = list(zip(hyp.tokens, hyp.token_frames, hyp.token_am_q, hyp.token_bias_q))
    out, at = [], 0
    for start, end, phrase in spans:
        out += per_token[at:start]
        # the k-th of n phrase tokens takes alias token floor(k (m-1) / (n-1)) of m: the
        # first the first, the last the last (ceil((k+1) m / n) - 1 gave the first phrase
        # token the alias's second frame when the alias was longer; a decoding audit)
        n, m = len(phrase), end - start
        out += [(tok,) + per_token[start + (j * (m - 1) // (n - 1) if n > 1 else m - 1)][1:]
                for j, tok in enumerate(phrase)]
        at = end
    out += per_token[at:]
    tokens, frames, am, bias = (tuple(col) for col in zip(*out))
    return Hypothesis(tokens, frames, am, bias, hyp.am_q, hyp.bias_q)


def _rewrite_aliases(nbest: tuple[Hypothesis, ...], context: ContextTrie
                     ) -> tuple[Hypothesis, ...]:
    """The N-best list with aliases rewritten; of hypotheses that become the same tokens,
    the better (earlier) one stays."""
    out, seen = [], set()
    for hyp in nbest:
        hyp = rewrite_hypothesis(hyp, context)
        if hyp.tokens not in seen:
            seen.add(hyp.tokens)
            out.append(hyp)
    return tuple(out)


def greedy_search(qm: QuantizedRNNT, enc_out: np.ndarray, enc_frames: np.ndarray,
                  log: EventLog) -> SearchResult:
    """Greedy decoding exactly as ``azsim.execute.integer.greedy_decode`` (same events), with
    the per-step trace the end-pointers need. Greedy takes argmaxes of logits and computes no
    probabilities, so its single hypothesis carries no scores (``scored`` is False)."""
    joint_before = log.total("invocations", "joint.out")
    pred_before = log.total("invocations", "pred.embed")
    tokens, token_frames = greedy_decode(qm, enc_out, enc_frames, log)
    n_steps = enc_out.shape[0]
    steps = np.asarray(enc_frames[:n_steps], np.int64)
    emitted = np.asarray(token_frames, np.int64)
    # Greedy keeps one growing hypothesis: the number of tokens so far identifies its text.
    count = np.searchsorted(emitted, steps, side="right")
    last = np.where(count > 0, emitted[np.maximum(count - 1, 0)] if emitted.size else -1, -1)
    zeros = tuple(0 for _ in tokens)
    hyp = Hypothesis(tuple(tokens), tuple(token_frames), zeros, zeros, 0, 0)
    return SearchResult("greedy", 1, False, (hyp,), steps, last.astype(np.int64),
                        count.astype(np.int64),
                        log.total("invocations", "joint.out") - joint_before,
                        log.total("invocations", "pred.embed") - pred_before, 0)


def make_decoder(beam: int, context: ContextTrie | None = None, committed_slots: int = 1,
                 ilm: IlmDiscount | None = None
                 ) -> Callable[[QuantizedRNNT, np.ndarray, np.ndarray, EventLog], SearchResult]:
    """The decoder ``azsim.execute.integer.run_utterance`` calls: greedy for beam 0 or 1."""
    if beam <= 1:
        if context is not None:
            raise ValueError("contextual biasing needs a beam search (beam >= 2)")
        return greedy_search
    return lambda qm, enc_out, enc_frames, log: beam_search(qm, enc_out, enc_frames, log,
                                                            beam, context, committed_slots,
                                                            ilm)


def alignment_score_q(qm: QuantizedRNNT, enc_out: np.ndarray, enc_frames: np.ndarray,
                      tokens, token_frames, context: ContextTrie | None = None) -> int:
    """The search's score (Q.10 nats) of one alignment: per frame, the log-probability of each
    token emitted there, then of the blank unless ``max_symbols_per_frame`` tokens were
    emitted -- the path score a beam search assigns. For tests and analysis: the events of
    this replay go to a scratch log, not to the processor's."""
    n_frames = int(max(enc_frames[-1] + 1 if len(enc_frames) else 1, 1))
    log = EventLog(layer_infos(qm), n_frames)
    max_symbols = qm.cfg.decode.max_symbols_per_frame
    n_v = qm.joint_out.q.shape[0]
    logits = np.empty(n_v, np.int32)
    logp = np.empty(n_v, np.int64)
    states, z_pred = prediction_step(qm, log, BLANK, [None] * len(qm.pred), 0)
    total, k = 0, 0
    cnode, cpend = ROOT, 0
    for t in range(enc_out.shape[0]):
        frame = int(enc_frames[t])
        z_enc = joint_enc_step(qm, log, enc_out[t], frame)
        emitted = 0
        while True:
            joint_out_step(qm, log, z_enc, z_pred, frame, logits)
            log_softmax(logits, logp)
            if k < len(tokens) and token_frames[k] == frame and emitted < max_symbols:
                tok = int(tokens[k])
                total += int(logp[tok])
                if context is not None:
                    cnode, cpend, delta = context.step(cnode, cpend, tok)
                    total += delta
                states, z_pred = prediction_step(qm, log, tok, states, frame)
                k += 1
                emitted += 1
                if emitted == max_symbols:
                    break
                continue
            total += int(logp[BLANK])
            break
    if k != len(tokens):
        raise ValueError("token_frames do not match the encoder frames")
    if context is not None:
        total += context.finish(cnode, cpend)
    return total
