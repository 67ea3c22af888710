"""The report's "decode", "lattice" and "endpoint" sections (issue #7).

``decoder_for(cfg)`` gives the decoder ``run_utterance`` calls and the compiled context;
``report_sections(...)`` turns the searches, the streaming timelines and the finished layer
rows of the report into plain data with units in the names.
"""
from __future__ import annotations

import base64
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import AzsimWarning, as_called
from ..model.frontend import hop_window_s
from ..model.loading import frontend_spec
from ..model.metrics import phrase_counts
from ..model.vocab import make_vocab
from .beam import IlmDiscount, make_decoder
from .context import ContextTrie, context_input, load_context
from .endpoint import digital_silence_db, frame_energy_db, loud_frames, run_endpointers
from .lattice import build_lattice, serialize
from .scores import SCORE_FRAC_BITS, q_to_nats

# Streaming the audio instead: 16 kHz, 16-bit mono PCM (issue #7) = 32,000 bytes per second.
AUDIO_UPLINK_BYTES_PER_S = 16000 * 2
# Layers the search runs (per hypothesis and symbol); everything else is the encoder.
DECODER_LAYER_PREFIXES = ("pred.", "joint.")


@dataclass(frozen=True)
class DecodeSetup:
    decoder: object                 # callable for run_utterance
    context: ContextTrie | None
    vocab: object


def decoder_for(cfg) -> DecodeSetup:
    """The decoder of ``cfg.decode`` (greedy for beam <= 1) and its compiled context."""
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    d = cfg.decode
    context = load_context(d.context_file, vocab, d.context_weight) if d.context_file else None
    if context is not None and context.aliases and d.context_weight > 0:
        n = len(context.aliases)
        warnings.warn(
            f"{context_input(d.context_file)}: {n} alternative spelling{'s' if n != 1 else ''} "
            f"with a bonus of {d.context_weight:g} nats per character: every alias is a path "
            "that earns it, and on the trained small model any bonus with aliases took over "
            "requests (+8.9 WER points at 1.5 nats, README issue #7); the measured setting "
            "is " + as_called("--context-weight 0", "model.decode.context_weight = 0"),
            AzsimWarning, stacklevel=2)
    ilm = IlmDiscount.from_nats(d.context_ilm_weight, d.context_ilm_cap_nats)
    return DecodeSetup(make_decoder(d.beam, context, d.context_committed_slots, ilm), context,
                       vocab)


def context_record(cfg, context: ContextTrie | None) -> dict | None:
    """The biasing settings of a run or an evaluation (None without a context)."""
    if context is None:
        return None
    d = cfg.decode
    return {"file": d.context_file, "phrases": len(context.phrases),
            "aliases": len(context.aliases), "trie_nodes": context.nodes,
            "weight_nats": d.context_weight, "committed_slots": d.context_committed_slots,
            "ilm_weight": d.context_ilm_weight, "ilm_cap_nats": d.context_ilm_cap_nats}


def _is_decoder_layer(name: str) -> bool:
    return name.startswith(DECODER_LAYER_PREFIXES)


def _nbest_rows(search, vocab) -> list[dict]:
    rows, texts = [], set()
    for h in search.nbest:
        text = vocab.decode(h.tokens)
        if text in texts:        # different spacing, same words: the better one is listed
            continue
        texts.add(text)
        rows.append({"text": text,
                     "score": q_to_nats(h.score_q) if search.scored else None,
                     "am_score": q_to_nats(h.am_q) if search.scored else None,
                     "bias_score": q_to_nats(h.bias_q) if search.scored else None})
    return rows


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def report_sections(data: dict, *, cfg, utts, speech_seconds, results, costs, timelines,
                    setup: DecodeSetup, references=None) -> dict:
    """The three sections, from the finished report ``data`` (for its layer rows). With a
    context and a reference per utterance, the context section counts the phrases in the
    references and those the transcripts miss (issue #7's name errors, sweepable)."""
    d, vocab = cfg.decode, setup.vocab
    stride = cfg.encoder.stack_stride or cfg.encoder.stack_frames
    hop_s, window_s = hop_window_s(cfg.frontend)
    frame_us = int(round(timelines[0].frame_s * 1e6))
    layers = results[0].events.layers
    dec_idx = [k for k, info in enumerate(layers) if _is_decoder_layer(info.name)]
    dec_rows = [row for row in data["layers"] if _is_decoder_layer(row["name"])]
    total_cycles = data["latency"]["cycles"]
    dec_cycles = sum(row["cycles"] for row in dec_rows)

    utt_dec, utt_lat, utt_ep = [], [], []
    spec = frontend_spec(cfg)
    silence_db = digital_silence_db(spec)   # the energy of a frame of digital zeros
    for u, seconds, r, c, tl in zip(utts, speech_seconds, results, costs, timelines):
        search = r.search
        n_steps = len(search.step_frames)
        utt_dec.append({
            "file": u.name, "nbest": _nbest_rows(search, vocab),
            "joint_evals": search.joint_evals, "pred_evals": search.pred_evals,
            "pred_cache_hits": search.pred_cache_hits,
            "joint_evals_per_step": search.joint_evals / n_steps if n_steps else 0.0,
            "decoder_cycles": int(sum(int(c[k].cycles.sum()) for k in dec_idx))})
        lat = build_lattice(search.nbest, vocab, frame_us)
        raw = serialize(lat)
        audio_bytes = int(round(seconds * AUDIO_UPLINK_BYTES_PER_S))
        utt_lat.append({"file": u.name, "uplink_bytes": len(raw), "audio_bytes": audio_bytes,
                        "nodes": lat.n_nodes, "edges": len(lat.edges), "words": len(lat.words),
                        "azl_base64": base64.b64encode(raw).decode("ascii")})
        loud = loud_frames(frame_energy_db(u.features, spec), d.endpoint_energy_db,
                           d.endpoint_noise_margin_db, d.endpoint_noise_floor, silence_db)
        ep = run_endpointers(loud, hop_s, window_s, cfg.encoder.stack_frames, stride,
                             search.step_frames, search.best_last_emit, search.best_id,
                             tl.arrival_s, tl.finish_s, d.endpoint_final_ms / 1e3,
                             d.endpoint_speculative_ms / 1e3, d.endpoint_downstream_ms / 1e3,
                             audio_end_s=tl.audio_end_s)
        ms = (lambda s: None if s is None else s * 1e3)
        utt_ep.append({
            "file": u.name, "end_of_speech_ms": ms(ep.end_of_speech_s),
            "speculative_fired_ms": [s * 1e3 for s in ep.speculative_fired_s],
            "speculative_decided_ms": [s * 1e3 for s in ep.speculative_decided_s],
            "resets": ep.resets, "final_fired_ms": ms(ep.final_fired_s),
            "final_decided_ms": ep.final_decided_s * 1e3, "final_forced": ep.final_forced,
            "cut_off": ep.cut_off,
            "speculation_confirmed": ep.speculation_confirmed,
            "latency_no_speculation_ms": ms(ep.latency_s(False)),
            "latency_with_speculation_ms": ms(ep.latency_s(True))})

    context = context_record(cfg, setup.context)
    if context is not None:
        if references is not None and all(r is not None for r in references):
            counts = phrase_counts(setup.context.phrases, list(references), data["transcripts"])
            context["phrases_in_references"] = counts["context_phrases_in_references"]
            context["phrases_missed"] = counts["context_phrases_missed"]
    method = "beam" if d.beam > 1 else "greedy"
    decode = {
        "method": method, "beam": d.beam, "max_symbols_per_frame": d.max_symbols_per_frame,
        "merge": "max (Viterbi)", "score_units": "nats (natural log)",
        "score_frac_bits": SCORE_FRAC_BITS, "context": context,
        "joint_evals": sum(x["joint_evals"] for x in utt_dec),
        "pred_evals": sum(x["pred_evals"] for x in utt_dec),
        "pred_cache_hits": sum(x["pred_cache_hits"] for x in utt_dec),
        "decoder_cycles": dec_cycles,
        "decoder_cycles_share": dec_cycles / total_cycles if total_cycles else 0.0,
        "decoder_energy_uj": sum(row["energy_uj"] for row in dec_rows),
        "utterances": utt_dec}
    up = [x["uplink_bytes"] for x in utt_lat]
    audio = [x["audio_bytes"] for x in utt_lat]
    lattice = {"format": "AZL v1 (azsim.decode.lattice)",
               "audio_bytes_per_s": AUDIO_UPLINK_BYTES_PER_S,
               "uplink_bytes": up, "audio_bytes": audio,
               "uplink_bytes_total": sum(up), "audio_bytes_total": sum(audio),
               "uplink_to_audio_ratio": sum(up) / sum(audio) if sum(audio) else 0.0,
               "utterances": utt_lat}
    fires = sum(len(x["speculative_fired_ms"]) for x in utt_ep)
    resets = sum(x["resets"] for x in utt_ep)
    # The end-pointers' latency is a mean over the utterances whose final end-pointer fired
    # after the end of speech: a cut-off has none, and an utterance whose file ended first
    # (forced) has the file's own end in it, not the end-pointer's (an audit, 2026-12-07:
    # `azsim run --endpoint-final-ms 600` averaged 4 forced files into "784.2 ms", and one
    # under the 600 ms of silence the end-pointer needs was averaged in on `tiny`).
    timed = [x for x in utt_ep if not x["final_forced"]]
    no_spec = _mean(x["latency_no_speculation_ms"] for x in timed)
    with_spec = _mean(x["latency_with_speculation_ms"] for x in timed)
    endpoint = {
        "final_ms": d.endpoint_final_ms, "speculative_ms": d.endpoint_speculative_ms,
        "lead_ms": d.endpoint_final_ms - d.endpoint_speculative_ms,
        "energy_db": d.endpoint_energy_db, "noise_margin_db": d.endpoint_noise_margin_db,
        "noise_floor": d.endpoint_noise_floor,
        "tail_ms": d.endpoint_tail_ms,
        "downstream_ms": d.endpoint_downstream_ms,
        "final_fired": sum(not x["final_forced"] for x in utt_ep),
        "cut_offs": sum(x["cut_off"] for x in utt_ep),
        "speculative_fires": fires, "resets": resets,
        "reset_rate": resets / fires if fires else 0.0,
        "latency_no_speculation_ms_mean": no_spec,
        "latency_with_speculation_ms_mean": with_spec,
        "latency_saved_ms_mean": (no_spec - with_spec) if no_spec is not None else None,
        # the utterances those means are over: with speech, final end-pointer fired, not cut off
        "latency_utterances": sum(x["latency_no_speculation_ms"] is not None for x in timed),
        # with speech, but the file ended before the final end-pointer fired
        "latency_forced": sum(x["latency_no_speculation_ms"] is not None and x["final_forced"]
                              for x in utt_ep),
        "utterances": utt_ep}
    return {"decode": decode, "lattice": lattice, "endpoint": endpoint}
