"""The public Python API: ``simulate(model, hardware, audio, ...) -> Report``."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, MutableMapping, Sequence

from . import config as cfgmod
from ._version import code_version
from .arguments import checked
from .compress.ptq import quantize_model
from .config.loader import OptionOverride, override_key
from .cost.energy import action_energies
from .cost.model import (plan_costs, preload_costs, psum_buffer_bytes, stored_layers,
                         sram_layer_footprint_bytes, stream_buffer_bytes,
                         utterance_costs)
from .cost.timeline import frame_arrival_s, timeline
from .decode.beam import ilm_row_bytes, prediction_entries_held
from .decode.endpoint import check_tail_on_testset, speech_seconds, with_tail
from .decode.summary import decoder_for, report_sections
from .errors import AudioError, AzsimError, ConfigError, WeightsError, named
from .execute.branch import with_cheap_branch
from .execute.events import FIELD
from .execute.integer import layer_matrices, recurrent_state_bytes, run_utterance
from .model.audio import shipped_audio_paths, shipped_transcripts
from .model.budget import check_memory_budget
from .model.frontend import hop_window_s
from .model.loading import (branch_weights, calibration_stats, load_utterances, model_weights,
                            pruned_weights, resolve_weights_path)
from .model.vocab import make_vocab
from .model.weights import parameter_count
from .paths import file_sha256
from .report.branch import branch_section
from .report.report import build_report
from .schedule.residency import plan_residency


def simulate(model: str = cfgmod.DEFAULT_MODEL, hardware: str = cfgmod.DEFAULT_HARDWARE,
             audio: Sequence[str] | None = None,
             bits: int | None = None, overrides: Sequence[str] = (), weights: str | None = None,
             calibration_audio: Sequence[str] | None = None,
             progress: Callable[[str, int, int], None] | None = None,
             cache: MutableMapping | None = None, testset: str | None = None,
             utterances: int | None = None):
    """Run ``model`` on ``audio`` in integer arithmetic and cost it on ``hardware``.

    ``model`` and ``hardware`` are preset names or TOML paths; ``overrides`` are
    ``section.field=value`` strings (``bits`` is shorthand for ``model.weight_bits``;
    ``model.layer_bits``, ``model.sparsity``, ``model.prune``, ``model.weight_format`` and
    ``model.quantizer`` select the compression);
    ``audio`` defaults to the shipped utterances, and calibration uses the shipped utterances
    unless ``calibration_audio`` is given. ``progress(stage, done, total)`` is called as work
    completes. Raises :class:`azsim.errors.AzsimError` subclasses on bad input.

    ``cache`` (issue #5, for sweeps): a mapping the caller owns, valid while the weight and
    audio files do not change. Calls with the same model config, weights and audio then reuse
    the quantized model and its integer run, which do not depend on the hardware: a sweep over
    processor fields costs each model once. The report is the same with or without it.

    ``testset`` (instead of ``audio``): a test set as ``azsim eval`` takes it (``test``,
    ``names``, a corpus ``.npz`` split or a folder of WAVs with ``transcripts.tsv``), its
    first ``utterances`` utterances (default all). Every utterance has a reference, so the
    report's WER is measured on held-out speech, as in ``azsim eval``; the model is calibrated
    on the shipped calibration set, as there.
    """
    (model, hardware, audio, calibration_audio, overrides, bits, weights, progress, cache,
     testset, utterances) = (
        checked(name, value) for name, value in (
            ("model", model), ("hardware", hardware),
            ("audio", audio), ("calibration_audio", calibration_audio),
            ("overrides", overrides), ("bits", bits), ("weights", weights),
            ("progress", progress), ("cache", cache), ("testset", testset),
            ("utterances", utterances)))
    return _simulate(model, hardware, audio, bits, overrides, weights, calibration_audio,
                     progress, cache, testset, utterances)[0]


def _check_sram_reserve(hw, act_bytes: int, staging_bytes: int) -> None:
    """What the model keeps on chip whatever streams must fit in SRAM: a 256-byte SRAM ran
    the tiny model, which keeps 1,088 bytes of activations and state, as if it did (the
    weight budget was clamped to 0; a DRAM audit found it)."""
    need = act_bytes + staging_bytes
    if need > hw.sram_bytes:
        tiles = (f" and two stream buffers of {staging_bytes // 2:,} bytes (hw.stream_tile_bytes, "
                 "or the largest streaming layer's stage if less)" if staging_bytes else "")
        raise ConfigError(f"hw.sram_bytes = {hw.sram_bytes:,} cannot hold what the model keeps "
                          f"on chip: {act_bytes:,} bytes of activations and state (the largest "
                          "layer's writes in a frame, every LSTM layer's state, the decoder's "
                          "entries and, on a weight-stationary systolic array, the partial "
                          f"sums between row folds){tiles}; give at least {need:,}")


def _search_state_bytes(qm, decode) -> int:
    """SRAM the search's prediction-network entries take (with the recurrent state and the
    internal-LM rows): part of what :func:`_check_sram_reserve` checks after the run."""
    entries = prediction_entries_held(decode)
    return recurrent_state_bytes(qm, entries) + \
        entries * ilm_row_bytes(decode, qm.joint_out.q.shape[0])


def _check_search_fits(qm, cfg, hw) -> None:
    """A beam whose entries alone overflow SRAM, refused before the search rather than after
    it (``--beam 64`` with 100 symbols a frame searched for 17 s, then named hw.sram_bytes
    alone; a decoding audit, 2026-12-07), naming the settings and an upper bound on the beam
    that could fit."""
    decode = cfg.decode
    if decode.beam <= 1:   # greedy decoding: the check after the run says it all
        return
    need = _search_state_bytes(qm, decode)
    if need <= hw.sram_bytes:
        return
    fits = max((b for b in range(1, decode.beam)
                if _search_state_bytes(qm, dataclasses.replace(decode, beam=b))
                <= hw.sram_bytes), default=None)
    slots = (f", context_committed_slots = {decode.context_committed_slots}"
             if decode.context_file else "")
    # an upper bound: the activations and stream buffers, known after the run, come on top
    # (a review found beam 46 "fitting" here and refused after its search; 45 ran)
    advice = (f"no beam above {fits} can fit, and one near it may not once the activations "
              "and stream buffers are added" if fits else "not even a beam of 1 fits")
    raise ConfigError(
        f"model.decode.beam = {decode.beam} with max_symbols_per_frame = "
        f"{decode.max_symbols_per_frame}{slots}: the search holds up to "
        f"{prediction_entries_held(decode):,} prediction-network entries, {need:,} bytes with "
        f"the recurrent state, more than hw.sram_bytes = {hw.sram_bytes:,}; {advice}")


def _simulate(model, hardware, audio, bits, overrides, weights, calibration_audio, progress,
              cache, testset=None, utterances=None):
    """:func:`simulate`, returning the report and the integer run of each utterance."""
    overrides = list(overrides) + ([bits_override(bits)] if bits is not None else [])
    cfgmod.check_weights_named_once(weights, overrides)
    cfg = cfgmod.load_model_config(model, overrides)
    if weights is not None:
        # The record's config names the weights the run used (until 2026-12-06 a run with
        # --weights recorded the preset's model.weights, e.g. "small" for small-qat4).
        cfg = dataclasses.replace(cfg, weights=str(weights))
    hw = cfgmod.load_hardware_config(hardware, overrides)
    check_memory_budget(cfg, hw)
    table = cfgmod.energy_table_of(hw)
    energies = action_energies(table, hw)
    setup = decoder_for(cfg)  # issue #7: greedy or beam search; reads --context before the work
    _check_testset(cfg, audio, testset, utterances, calibration_audio)
    paths = [] if testset is not None else \
        list(audio) if audio else [str(p) for p in shipped_audio_paths()]
    report_progress = progress or (lambda *_: None)
    # The integer run depends on the model, its weights and the audio, not on ``hw`` (events
    # are counted, not costed): if execution ever takes hardware fields, key them too.
    cache_key = (cfg, weights, tuple(paths), audio is None,
                 tuple(calibration_audio) if calibration_audio is not None else None,
                 testset, utterances)
    cached = cache.get(cache_key) if cache is not None else None
    if cached is not None:
        utts, qm, results, refs, set_name = cached
    else:
        set_name = None
        if testset is not None:   # read only here: a sweep's cached points skip the set
            tset = _load_testset(cfg, testset, utterances)
            set_name = tset.name
            utts, qm, results, refs = _run_testset(cfg, weights, tset, report_progress,
                                                   setup.decoder, hw)
        else:
            utts, qm, results = _run_model(cfg, weights, paths, audio, calibration_audio,
                                           report_progress, setup.decoder, hw)
            shipped = shipped_transcripts()
            refs = [shipped.get(u.name) if audio is None else None for u in utts]
        if cache is not None:
            cache[cache_key] = (utts, qm, results, refs, set_name)
    layers = results[0].events.layers
    matrices = layer_matrices(qm)
    # the weights as this processor stores them (a stream per PE where each PE decodes its
    # own rows): what SRAM holds, what a resident layer loads and a streaming one fetches
    stored = stored_layers(layers, matrices, hw, cfg.rle_index_bits, cfg.pointer_bits)
    # over the run when streaming: a pass over the stored weights and the layer's per-row
    # parameters per invocation, one row per lookup for the embedding (the executor counts
    # the matrices' own streams per invocation)
    streamed = {info.name: int(sum(r.events.total("weight_bytes", info.name) for r in results))
                if info.kind == "embedding" else
                int(sum(r.events.total("invocations", info.name) for r in results))
                * info.weight_pass_bytes for info in stored}
    # SRAM kept for activations: the largest layer's writes in a frame, beside the recurrent
    # state every LSTM layer keeps across frames and the decoder's prediction-network entries
    # (left out until 2026-12-06, so a plan could fill with weights the SRAM they need; audit)
    # with their internal-LM rows when the search discounts by them (a decoding audit).
    act_bytes = max(int(r.events.counts[..., FIELD["act_write_bytes"]].max(initial=0))
                    for r in results) + _search_state_bytes(qm, cfg.decode) + \
        psum_buffer_bytes(layers, hw)
    residency = plan_residency(stored, streamed, hw.sram_bytes, act_bytes,
                               lambda info: sram_layer_footprint_bytes(info, hw),
                               staging_bytes=lambda info: 2 * stream_buffer_bytes(info, hw),
                               preload_bytes=lambda info: info.weight_pass_bytes)
    _check_sram_reserve(hw, act_bytes, residency.staging_bytes)
    stride = cfg.encoder.stack_stride or cfg.encoder.stack_frames
    hop_s, window_s = hop_window_s(cfg.frontend)
    frame_s = stride * hop_s
    # Issue #4: the cycle model, driven by each invocation's activations.
    plan = plan_costs(matrices, hw, energies, residency, cfg.rle_index_bits, cfg.pointer_bits,
                      stored)
    utt_costs = [utterance_costs(r.events, plan) for r in results]
    costs = [uc.layers for uc in utt_costs]
    timelines = []
    for uc, r, u in zip(utt_costs, results, utts):
        arrival = frame_arrival_s(r.n_frames, cfg.encoder.stack_frames, stride, hop_s,
                                  window_s)
        timelines.append(timeline(uc.frame_cycles, hw.clock_mhz, frame_s, arrival, u.seconds,
                                  r.result_frame))
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    baseline = None
    if cfg.branch.enabled:
        # Issue #7: the same run without branching, on the same processor, so that what the
        # branching encoder saves is a difference of two measured runs.
        baseline, base_results = _simulate(
            model, hardware, audio, None, _without_branch(overrides),
            weights, calibration_audio, None, cache, testset, utterances)
    report = build_report(
        version=code_version(), cfg=cfg, hw=hw, energies=energies, qm=qm,
        params=parameter_count(cfg), utts=utts, results=results, costs=costs,
        timelines=timelines, residency=residency, preload=preload_costs(stored, plan),
        stored_bytes=plan.stored_bytes,
        transcripts=[vocab.decode(r.tokens) for r in results],
        references=refs,
        sections=lambda data: {**report_sections(
            data, cfg=cfg, utts=utts, speech_seconds=[speech_seconds(u, cfg) for u in utts],
            results=results, costs=costs, timelines=timelines, setup=setup,
            references=refs),
            **(branch_section(data, baseline.data, cfg=cfg, qm=qm, results=results,
                              base_results=base_results) if baseline is not None else {})})
    if set_name is not None:
        report.data["audio"]["testset"] = set_name
    report.data["model"].update(_weights_identity(cfg))
    return report, results


def bits_override(bits: int) -> str:
    """The override the API's ``bits`` stands for, named ``bits=B`` in messages."""
    return OptionOverride(f"model.weight_bits={bits}", f"bits={bits}")


def _weights_identity(cfg) -> dict:
    """``weights``: the weights a run used as given (a shipped name or a path; "generated"
    for a preset's seeded draw), and ``weights_sha256``, the content hash of their file (None
    when generated), so that a record says which model made it."""
    path = resolve_weights_path(cfg, cfg.weights) if cfg.weights else None
    if path is None:
        return {"weights": "generated", "weights_sha256": None}
    # read whole by the run already, so it exists
    return {"weights": cfg.weights, "weights_sha256": file_sha256(path)}


def _without_branch(overrides) -> list[str]:
    """``overrides`` for the same run with the branch off: no ``model.branch.*`` setting
    (the loader refuses those with the branch off) and ``model.branch.enabled=false``."""
    return [o for o in overrides if not override_key(o).startswith("model.branch.")] + \
        ["model.branch.enabled=false"]


def _check_testset(cfg, audio, testset, utterances, calibration_audio) -> None:
    """One-line errors for what cannot go with ``testset`` (before any work)."""
    if testset is None:
        if utterances is not None:
            raise AzsimError(f"{named('utterances', utterances)}: only with "
                             f"{named('testset')} (audio files run as given)")
        return
    if audio:
        raise AzsimError(f"{named('testset', testset)}: give a test set or "
                         f"{named('audio')} files, not both")
    if calibration_audio is not None:
        raise AzsimError(f"{named('testset', testset)}: a test set is calibrated on the shipped "
                         "calibration set, not on calibration_audio")
    check_tail_on_testset(cfg, testset)


def _load_testset(cfg, testset, utterances):
    """The test set's first ``utterances`` utterances (all by default)."""
    from .evaluate import head_of, load_testset
    return head_of(load_testset(testset, cfg), utterances)


def _run_testset(cfg, weights, tset, report_progress, decoder, hw):
    """:func:`_run_model` for a test set's features, calibrated as ``azsim eval`` is."""
    from .evaluate import calibration_utterances
    report_progress("calibrate", 0, 1)
    _, qm = prepare_model(cfg, weights, calibration_utterances(cfg))
    report_progress("calibrate", 1, 1)
    _check_search_fits(qm, cfg, hw)
    # Issue #7: silence after each utterance (a folder of WAVs only; checked before).
    utts = [with_tail(u, cfg.decode.endpoint_tail_ms, cfg) for u in tset.utterances]
    results = []
    for k, utt in enumerate(utts):
        results.append(run_utterance(qm, utt.features, decoder))
        report_progress("simulate", k + 1, len(utts))
    return utts, qm, results, list(tset.references)


def prepare_model(cfg, weights, calibration_utterances):
    """The float weights after pruning, and the integer model calibrated on
    ``calibration_utterances``: what ``azsim run`` and ``azsim eval`` both execute. Pruning
    comes first, so calibration sees the activations of the model that will run. With
    ``model.branch.enabled`` the integer model also holds the cheap encoder branch."""
    w, compensate = pruned_weights(model_weights(cfg, weights), cfg, calibration_utterances)
    stats = calibration_stats(w, cfg, calibration_utterances,
                              input_grams=cfg.quantizer == "gptq")
    try:
        qm = quantize_model(w, cfg, stats.max_abs, cfg.weight_bits, stats.grams, compensate)
    except WeightsError as exc:   # it names the array; say whose (a CLI audit, 2026-12-06)
        where = named("weights", weights) if weights is not None else \
            f"model.weights = {cfg.weights}" if cfg.weights else \
            f"model {cfg.name}'s generated weights"
        raise WeightsError(f"{where}: {exc}") from None
    if cfg.branch.enabled:
        # Issue #7: the cheap encoder branch, quantized with the same activation scales so
        # that both branches share the recurrent state (azsim.execute.branch). Under gptq
        # its matrices are rounded against the full branch's calibration inputs.
        branch_w = branch_weights(cfg, cfg.branch.weights) if cfg.branch.weights else None
        qm = with_cheap_branch(qm, w, stats.max_abs, cfg, branch_w, stats.grams)
    return w, qm


def _run_model(cfg, weights, paths, audio, calibration_audio, report_progress, decoder, hw):
    """Load the audio, prune, calibrate and quantize the model, and run it in integer
    arithmetic: everything :func:`simulate` does before the hardware enters."""
    utts = load_utterances(paths, cfg)
    if calibration_audio is None and audio is None:
        calib = utts
    elif calibration_audio:
        calib = load_utterances(calibration_audio, cfg)
    else:
        try:
            calib = load_utterances([str(p) for p in shipped_audio_paths()], cfg)
        except AudioError as exc:   # say why a file the user never named matters
            raise AudioError(f"calibration on the shipped audio: {exc}") from None
    report_progress("calibrate", 0, 1)
    _, qm = prepare_model(cfg, weights, calib)
    report_progress("calibrate", 1, 1)
    _check_search_fits(qm, cfg, hw)
    # Issue #7: silence after each utterance, so the end-pointers can fire (after calibration).
    utts = [with_tail(u, cfg.decode.endpoint_tail_ms, cfg) for u in utts]
    results = []
    for k, utt in enumerate(utts):
        results.append(run_utterance(qm, utt.features, decoder))
        report_progress("simulate", k + 1, len(utts))
    return utts, qm, results
