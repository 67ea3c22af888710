"""Beam search over the integer tiny model: greedy equivalence, N-best, events (issue #7)."""
import dataclasses

import numpy as np
import pytest

from azsim import kernels as K
from azsim.compress.ptq import quantize_model
from azsim.config import load_model_config
from azsim.decode.beam import IlmDiscount, alignment_score_q, make_decoder
from azsim.decode.context import build_trie
from azsim.decode.scores import EXP_TABLE, LN_TABLE, SCORE_FRAC_BITS, log_softmax
from azsim.execute.integer import run_utterance
from azsim.model.audio import shipped_audio_paths
from azsim.model.loading import calibrate, load_utterances, model_weights
from azsim.model.vocab import make_vocab
from reference import decode_np as R

I32_MIN, I32_MAX = -(2 ** 31), 2 ** 31 - 1


# ------------------------------------------------------------------------ integer log-softmax

def _logit_cases():
    rng = np.random.default_rng(3)
    yield np.zeros(1, np.int32)
    yield np.zeros(29, np.int32)                                   # uniform
    yield np.array([I32_MAX, I32_MIN, 0], np.int32)                # extremes
    yield np.array([I32_MIN] * 5, np.int32)
    yield np.array([0, -16 * 1024, -16 * 1024 + 1, -16 * 1024 - 1], np.int32)  # table edge
    yield rng.integers(-20000, 20000, 29).astype(np.int32)
    yield rng.integers(-3000, 3000, 4097).astype(np.int32)          # he2019's vocabulary
    yield (rng.standard_normal(4097) * 5000).astype(np.int32)


@pytest.mark.parametrize("logits", list(_logit_cases()), ids=lambda x: f"n{x.size}")
@pytest.mark.parametrize("frac_bits", [5, 10, 16, 20])
def test_log_softmax_matches_twin(logits, frac_bits):
    out = np.empty(logits.size, np.int64)
    lookups = K.log_softmax_q(logits, frac_bits, EXP_TABLE, LN_TABLE, out)
    want, want_lookups = R.log_softmax_q(logits, frac_bits, EXP_TABLE, LN_TABLE)
    np.testing.assert_array_equal(out, want)
    assert lookups == want_lookups
    assert out.max() <= 0


@pytest.mark.parametrize("logits", list(_logit_cases())[5:], ids=lambda x: f"n{x.size}")
def test_log_softmax_is_accurate(logits):
    out = np.empty(logits.size, np.int64)
    log_softmax(logits, out)
    x = logits.astype(np.float64) / 2 ** SCORE_FRAC_BITS
    exact = x - x.max() - np.log(np.exp(x - x.max()).sum())
    # within 3e-3 nats wherever the probability is not negligible (> e^-10)
    keep = exact > -10
    assert np.abs(out[keep] / 2 ** SCORE_FRAC_BITS - exact[keep]).max() < 3e-3


# ------------------------------------------------------------------------------- the search

@pytest.fixture(scope="module")
def tiny():
    cfg = load_model_config("tiny")
    utts = load_utterances(shipped_audio_paths()[:2], cfg)
    w = model_weights(cfg)
    qm = quantize_model(w, cfg, calibrate(w, cfg, utts), 8)
    # The untrained preset's blank bias makes it emit nothing; lower it until greedy emits on
    # a good share of the frames, so that the search has real choices.
    variants = {0: qm}
    for shift in range(2000, 40001, 2000):
        out_b = qm.out_b.copy()
        out_b[0] -= shift
        emitting = dataclasses.replace(qm, out_b=out_b)
        r = run_utterance(emitting, utts[0].features)
        if len(r.tokens) >= 0.3 * len(r.enc_out):
            variants[1] = emitting
            break
    return cfg, utts, variants


@pytest.mark.parametrize("beam", [0, 1])
def test_beam_0_and_1_run_the_greedy_decoder_bit_for_bit(tiny, beam):
    """``--beam 0|1`` is greedy decoding (``make_decoder`` dispatches to it), not a one-wide
    time-synchronous search, which ranks whole paths and can end elsewhere: the defaults
    must reproduce greedy's tokens and events exactly."""
    _, utts, variants = tiny
    for qm in variants.values():
        for utt in utts:
            ref = run_utterance(qm, utt.features)
            got = run_utterance(qm, utt.features, make_decoder(beam))
            assert got.tokens == ref.tokens and got.token_frames == ref.token_frames
            np.testing.assert_array_equal(got.events.counts, ref.events.counts)
            assert got.search.method == "greedy" and not got.search.scored


@pytest.mark.parametrize("beam", [2, 4])
def test_nbest_is_sorted_and_beats_greedy(tiny, beam):
    _, utts, variants = tiny
    emitted = 0
    for qm in variants.values():
        for utt in utts:
            greedy = run_utterance(qm, utt.features)
            emitted += len(greedy.tokens)
            r = run_utterance(qm, utt.features, make_decoder(beam))
            s = r.search
            steps = s.step_frames
            scores = [h.score_q for h in s.nbest]
            assert scores == sorted(scores, reverse=True) and len(scores) == beam
            g = alignment_score_q(qm, r.enc_out, steps, greedy.tokens, greedy.token_frames)
            assert s.nbest[0].score_q >= g
            # every N-best entry's score is the score of its own alignment
            for h in s.nbest:
                assert alignment_score_q(qm, r.enc_out, steps, h.tokens, h.token_frames) \
                    == h.score_q
            assert list(r.tokens) == list(s.nbest[0].tokens)
    assert emitted > 0      # the lowered blank bias made greedy emit: a real comparison


def test_search_work_is_charged_as_events(tiny):
    _, utts, variants = tiny
    qm = variants[1]
    greedy = run_utterance(qm, utts[0].features)
    r = run_utterance(qm, utts[0].features, make_decoder(4))
    s, log = r.search, r.events
    assert log.total("invocations", "joint.out") == s.joint_evals
    assert log.total("invocations", "pred.embed") == s.pred_evals
    assert log.total("invocations", "joint.pred") == s.pred_evals
    assert log.total("invocations", "pred.0.lstm") == s.pred_evals
    # the encoder and the per-frame joint projection do not depend on the decoder
    for layer in ("enc.0.lstm", "enc.1.lstm", "joint.enc"):
        assert log.total("macs_dense", layer) == greedy.events.total("macs_dense", layer)
    assert s.joint_evals > greedy.events.total("invocations", "joint.out")
    # the softmax: one table lookup per log-probability near the top, plus the ln
    n_v, n_j = qm.joint_out.q.shape[0], qm.joint_out.q.shape[1]
    lut = log.total("lut_lookups", "joint.out")
    assert s.joint_evals * (n_j + 2) <= lut <= s.joint_evals * (n_j + n_v + 1)
    assert s.pred_cache_hits > 0     # the same labels through another alignment: no new step


def test_biasing_pulls_the_search_to_a_phrase(tiny):
    cfg, utts, variants = tiny
    qm = variants[0]
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    plain = run_utterance(qm, utts[0].features, make_decoder(4))
    assert vocab.decode(plain.tokens) == ""
    trie = build_trie(["call mom"], vocab, 6.0)
    r = run_utterance(qm, utts[0].features, make_decoder(4, trie))
    best = r.search.nbest[0]
    assert "call mom" in vocab.decode(best.tokens)
    # its bias score is what the trie gives its tokens, with at least one whole "call mom"
    node, pending, bias = 0, 0, 0
    for tok in best.tokens:
        node, pending, delta = trie.step(node, pending, tok)
        bias += delta
    bias += trie.finish(node, pending)
    assert best.bias_q == bias >= 8 * trie.weight_q
    assert alignment_score_q(qm, r.enc_out, r.search.step_frames, best.tokens,
                             best.token_frames, trie) == best.score_q


def test_committed_slots_add_nothing_without_a_pending_match(tiny):
    """The extra slots hold the best hypotheses by committed score. Behind a carrier phrase
    the utterance never says, no bonus is ever pending (carrier arcs earn nothing), the two
    rankings agree, and any number of slots keeps the same hypotheses."""
    cfg, utts, variants = tiny
    qm = variants[0]
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    trie = build_trie(["mom"], vocab, 3.0, prefixes=["qqqq"])
    runs = [run_utterance(qm, utts[0].features, make_decoder(4, trie, slots)).search
            for slots in (1, 2, 4)]
    for s in runs:
        assert all(h.bias_q == 0 for h in s.nbest)
        assert [(h.tokens, h.score_q) for h in s.nbest] == \
            [(h.tokens, h.score_q) for h in runs[0].nbest]


def test_committed_slots_keep_more_hypotheses(tiny):
    cfg, utts, variants = tiny
    qm = variants[0]
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    trie = build_trie(["call mom"], vocab, 6.0)
    one = run_utterance(qm, utts[0].features, make_decoder(4, trie, 1)).search
    many = run_utterance(qm, utts[0].features, make_decoder(4, trie, 4)).search
    assert len(one.nbest) <= 5 and len(many.nbest) <= 8
    assert len(many.nbest) > len(one.nbest)      # measured 7 against 4
    assert many.joint_evals > one.joint_evals    # and 644 against 588


def test_internal_lm_discount_values():
    ilm = IlmDiscount.from_nats(0.5, 3.0)
    assert IlmDiscount.from_nats(0.0, 3.0) is None        # off: the plain search
    logp = np.array([0, -1024, -2048, -3 * 1024, -10 * 1024], np.int64)
    # 0.5 x min(-log P, 3 nats)
    np.testing.assert_array_equal(ilm.extra_q(logp), [0, 512, 1024, 1536, 1536])
    assert ilm.max_extra_q == 1536


def test_internal_lm_discount_in_the_search(tiny):
    """With the internal-LM discount a phrase earns at least its bonus, the model part of
    every score is still its alignment's, and the internal LM's work is charged: one zero-
    vector joint projection per utterance and one joint.out per evaluated prefix."""
    cfg, utts, variants = tiny
    qm = variants[0]
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    trie = build_trie(["call mom"], vocab, 6.0)
    plain = run_utterance(qm, utts[0].features, make_decoder(4, trie))
    r = run_utterance(qm, utts[0].features,
                      make_decoder(4, trie, 1, IlmDiscount.from_nats(1.0, 4.0)))
    s = r.search
    best = s.nbest[0]
    assert "call mom" in vocab.decode(best.tokens)
    assert best.bias_q >= 8 * trie.weight_q and plain.search.nbest[0].bias_q >= 8 * trie.weight_q
    for h in s.nbest:
        assert alignment_score_q(qm, r.enc_out, s.step_frames, h.tokens, h.token_frames) \
            == h.am_q
    assert r.events.total("invocations", "joint.out") == s.joint_evals
    assert r.events.total("invocations", "joint.enc") == \
        plain.events.total("invocations", "joint.enc") + 1
    # a discount of weight 0 is no discount: the same search, bit for bit
    off = run_utterance(qm, utts[0].features,
                        make_decoder(4, trie, 1, IlmDiscount.from_nats(0.0, 4.0)))
    assert [(h.tokens, h.score_q) for h in off.search.nbest] == \
        [(h.tokens, h.score_q) for h in plain.search.nbest]
    np.testing.assert_array_equal(off.events.counts, plain.events.counts)


def test_internal_lm_softmax_excludes_the_blank(tiny):
    """P_ILM is a distribution over the non-blank tokens (the blank's logit is pushed below
    the exp table, so it takes no share)."""
    from azsim.decode.beam import _ilm_logp
    from azsim.execute.events import EventLog
    from azsim.execute.integer import layer_infos, prediction_step
    cfg, utts, variants = tiny
    qm = variants[0]
    log = EventLog(layer_infos(qm), 1)
    _, z_pred = prediction_step(qm, log, 0, [None] * len(qm.pred), 0)
    z0 = np.zeros(qm.joint_enc.q.shape[0], np.int32)
    logits = np.empty(qm.joint_out.q.shape[0], np.int32)
    logp = _ilm_logp(qm, log, z0, z_pred, 0, logits)
    p = np.exp(logp[1:] / 2 ** SCORE_FRAC_BITS)
    assert abs(p.sum() - 1.0) < 5e-3 and (logp[1:] <= 0).all()


def test_aliases_are_rewritten_in_the_nbest(tiny):
    """An alias found by the search comes out as its phrase. An alias is a path of the trie
    like a phrase, so the search with "call mom" as an alias of "qx" is the search with
    both as phrases; its hypotheses come out with the phrase's tokens, frames in order and the
    same scores."""
    from azsim.decode.beam import rewrite_hypothesis
    cfg, utts, variants = tiny
    qm = variants[0]
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    as_phrase = run_utterance(qm, utts[0].features,
                              make_decoder(4, build_trie(["qx", "call mom"], vocab,
                                                                6.0))).search
    trie = build_trie(["qx"], vocab, 6.0, aliases={"call mom": "qx"})
    r = run_utterance(qm, utts[0].features, make_decoder(4, trie)).search
    before, after = as_phrase.nbest[0], r.nbest[0]
    assert "call mom" in vocab.decode(before.tokens)
    assert vocab.decode(after.tokens) == vocab.decode(before.tokens).replace("call mom", "qx")
    assert (after.am_q, after.bias_q) == (before.am_q, before.bias_q)
    assert list(after.token_frames) == sorted(after.token_frames)
    assert rewrite_hypothesis(before, trie) == after
    assert [rewrite_hypothesis(h, trie) for h in as_phrase.nbest][:2] == list(r.nbest[:2])
    assert len({h.tokens for h in r.nbest}) == len(r.nbest)    # merged where they met
    assert not any(trie.rewrite_spans(h.tokens) for h in r.nbest)


def test_no_committed_slots_is_a_valid_setting(tmp_path):
    """The README's "per-character bonus alone" is `context_committed_slots=0`, which the
    search handles; the schema's range began at 1 and refused it (decoding audit). Without
    phrases it changes nothing, so it is refused there (a CLI audit, 2026-12-06)."""
    from azsim import config as cfgmod
    from azsim.errors import ConfigError
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("call mom\n")
    cfg = cfgmod.load_model_config("tiny", ["model.decode.context_committed_slots=0",
                                            f"model.decode.context_file={ctx}",
                                            "model.decode.beam=4"])
    assert cfg.decode.context_committed_slots == 0
    for setting in ("context_committed_slots=0", "context_ilm_weight=0.5",
                    "context_ilm_cap_nats=2"):
        with pytest.raises(ConfigError, match="without it nothing is biased"):
            cfgmod.load_model_config("tiny", [f"model.decode.{setting}"])


def test_internal_lm_rows_are_reserved_with_the_cache_entries():
    """With the internal-LM discount each cache entry carries a row of int32 terms per
    token; the SRAM reserve holds them (they were kept for the whole utterance and left out
    of it; decoding audit). Without a context, or at weight 0, nothing is reserved."""
    from types import SimpleNamespace

    from azsim.decode.beam import ilm_row_bytes
    on = SimpleNamespace(beam=8, context_file="ctx.txt", context_ilm_weight=0.25)
    assert ilm_row_bytes(on, 29) == 4 * 29
    assert ilm_row_bytes(SimpleNamespace(beam=8, context_file="", context_ilm_weight=0.25),
                         29) == 0
    assert ilm_row_bytes(SimpleNamespace(beam=8, context_file="c", context_ilm_weight=0.0),
                         29) == 0
    assert ilm_row_bytes(SimpleNamespace(beam=1, context_file="c", context_ilm_weight=0.25),
                         29) == 0


def test_the_sram_reserve_holds_the_internal_lm_rows(tmp_path):
    """End to end: the same context at an internal-LM weight of 0.25 reserves at least the
    rows of every cache entry more than at 0 (13 entries x 29 int32 terms on tiny at beam 2)."""
    import azsim
    from azsim.decode.beam import ilm_row_bytes, prediction_entries_held
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("call mom\n")
    base = ["model.decode.beam=2", f"model.decode.context_file={ctx}"]

    def reserve(weight):
        run = azsim.simulate("tiny", overrides=base + [f"model.decode.context_ilm_weight={weight}"])
        return run.to_dict()["traffic"]["sram_activation_bytes"]
    decode = load_model_config("tiny", base + ["model.decode.context_ilm_weight=0.25"]).decode
    rows = prediction_entries_held(decode) * ilm_row_bytes(decode, 29)
    assert rows == 13 * 4 * 29
    assert reserve(0.25) - reserve(0) >= rows
