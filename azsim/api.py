"""The public Python API: ``simulate(model, hardware, audio, ...) -> Report``."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import config as cfgmod
from ._version import __version__
from .compress.pipeline import prune_weights
from .compress.ptq import quantize_model
from .cost.energy import action_energies
from .cost.first_model import (frame_arrival_s, layer_costs, sram_weight_footprint_bytes,
                               timeline)
from .execute.events import FIELD
from .execute.integer import run_utterance
from .model.audio import shipped_audio_paths, shipped_transcripts
from .model.loading import calibrate, load_utterances, model_weights
from .model.vocab import make_vocab
from .model.weights import parameter_count
from .report.report import build_report
from .schedule.residency import plan_residency


def simulate(model: str = "tiny", hardware: str = "az-edge", audio: Sequence[str] | None = None,
             bits: int | None = None, overrides: Sequence[str] = (), weights: str | None = None,
             calibration_audio: Sequence[str] | None = None,
             progress: Callable[[str, int, int], None] | None = None):
    """Run ``model`` on ``audio`` in integer arithmetic and cost it on ``hardware``.

    ``model`` and ``hardware`` are preset names or TOML paths; ``overrides`` are
    ``section.field=value`` strings (``bits`` is shorthand for ``model.weight_bits``;
    ``model.sparsity``, ``model.prune``, ``model.weight_format`` and ``model.quantizer``
    select the compression);
    ``audio`` defaults to the shipped utterances, and calibration uses the shipped utterances
    unless ``calibration_audio`` is given. ``progress(stage, done, total)`` is called as work
    completes. Raises :class:`azsim.errors.AzsimError` subclasses on bad input.
    """
    overrides = list(overrides) + ([f"model.weight_bits={bits}"] if bits is not None else [])
    cfg = cfgmod.load_model_config(model, overrides)
    hw = cfgmod.load_hardware_config(hardware, overrides)
    table = cfgmod.load_energy_table(hw.energy_table)
    energies = action_energies(table, hw)
    paths = list(audio) if audio else [str(p) for p in shipped_audio_paths()]
    utts = load_utterances(paths, cfg)
    calib = utts if calibration_audio is None and audio is None else \
        load_utterances(calibration_audio or [str(p) for p in shipped_audio_paths()], cfg)
    # Prune first, so calibration sees the activations of the model that will run.
    w = prune_weights(model_weights(cfg, weights), cfg)
    report_progress = progress or (lambda *_: None)
    report_progress("calibrate", 0, 1)
    qm = quantize_model(w, cfg, calibrate(w, cfg, calib), cfg.weight_bits)
    report_progress("calibrate", 1, 1)
    results = []
    for k, utt in enumerate(utts):
        results.append(run_utterance(qm, utt.features))
        report_progress("simulate", k + 1, len(utts))
    layers = results[0].events.layers
    invocations = {info.name: int(sum(r.events.total("invocations", info.name) for r in results))
                   for info in layers}
    act_bytes = max(int(r.events.counts[..., FIELD["act_write_bytes"]].max(initial=0))
                    for r in results)
    residency = plan_residency(layers, invocations, hw.sram_bytes, act_bytes,
                               lambda info: sram_weight_footprint_bytes(info, hw))
    stride = cfg.encoder.stack_stride or cfg.encoder.stack_frames
    frame_s = stride * cfg.frontend.hop_ms / 1000.0
    costs = [layer_costs(r.events.counts, layers, hw, energies, residency.resident)
             for r in results]
    timelines = []
    for c, r, u in zip(costs, results, utts):
        arrival = frame_arrival_s(r.n_frames, cfg.encoder.stack_frames, stride,
                                  cfg.frontend.hop_ms, cfg.frontend.window_ms)
        timelines.append(timeline(np.sum([lc.cycles for lc in c], axis=0), hw.clock_mhz,
                                  frame_s, arrival, u.seconds))
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    refs = shipped_transcripts()
    return build_report(
        version=__version__, cfg=cfg, hw=hw, energies=energies, qm=qm,
        params=parameter_count(cfg), utts=utts, results=results, costs=costs,
        timelines=timelines, residency=residency,
        transcripts=[vocab.decode(r.tokens) for r in results],
        references=[refs.get(u.name) if audio is None else None for u in utts])
