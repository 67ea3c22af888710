"""From names and paths to a model ready to simulate: config, float weights, features."""
from __future__ import annotations

import importlib.resources
import math
import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import AudioError, AzsimError, AzsimWarning, ConfigError, quoted
from . import float_ref
from .audio import load_audio, shipped_audio_paths
from .budget import check_memory_budget
from .frontend import FrontendSpec, hop_window_s, log_mel, mel_filterbank
from .weights import generate_weights, load_weights


def frontend_spec(cfg) -> FrontendSpec:
    """The frontend of ``cfg``; refused when some of its mel filters hold no FFT bin (80 mels
    at n_fft 512 have none empty, 128 one, 400 ninety): their channels would be constant,
    inputs the model cannot use, and the run would go on without a word."""
    f = cfg.frontend
    spec = FrontendSpec(sample_rate_hz=f.sample_rate_hz, n_mels=f.n_mels, window_ms=f.window_ms,
                        hop_ms=f.hop_ms, n_fft=f.n_fft,
                        f_max_hz=min(7600.0, f.sample_rate_hz / 2))
    empty = np.flatnonzero(mel_filterbank(spec).sum(axis=1) == 0)
    if empty.size:
        raise ConfigError(f"model.frontend.n_mels = {f.n_mels}: {empty.size} of the mel filters "
                          f"hold{'s' if empty.size == 1 else ''} no FFT bin (the first is filter {empty[0]}; n_fft = {f.n_fft} "
                          f"gives {f.n_fft // 2 + 1} bins up to {spec.sample_rate_hz / 2:g} Hz), "
                          "so their features would be constant; use fewer mels or a larger "
                          "n_fft")
    return spec


@dataclass(frozen=True)
class Utterance:
    name: str
    path: str
    seconds: float
    features: np.ndarray  # log-mel [n_frames, n_mels]
    # float32 samples at the frontend's rate when the utterance comes from a file holding
    # them beside its features (a corpus test or names split): a silence tail is appended
    # to them (azsim.decode.endpoint.with_tail); None: read the audio from ``path``
    audio: np.ndarray | None = None


def _too_short(cfg, n_frames: int) -> str | None:
    """Why ``n_frames`` feature frames give ``cfg``'s encoder no output, or None."""
    need = float_ref.min_feature_frames(cfg.encoder)
    if n_frames >= need:
        return None
    f, enc = cfg.frontend, cfg.encoder
    hop_s, window_s = hop_window_s(f)
    need_ms = (window_s + (need - 1) * hop_s) * 1000
    reduced = (f", time reduction x{enc.time_reduction_factor}"
               if enc.time_reduction_after and enc.time_reduction_factor > 1 else "")
    return (f"the model needs at least {need_ms:g} ms for one encoder step ({need} frames: "
            f"window_ms = {f.window_ms:g}, hop_ms = {f.hop_ms:g}, stack_frames = "
            f"{enc.stack_frames}{reduced})")


# The training corpus' speech peaks: espeak-ng speech scaled to 0.9 of full scale times a
# gain of -18 to 0 dB (azsim/corpus/synth.py GAIN_DB), -18.9 to -0.9 dBFS. The frontend does not
# normalize the level (a log-mel of the samples as they are), and speech more than 6 dB below
# the quietest the models heard lost words in an audit (2026-12-06: clips peaking at -29 to
# -30 dBFS, "tell fatima i will be late" and others, float model alike).
TRAINED_PEAK_DBFS = (-18.9, -0.9)
QUIET_MARGIN_DB = 6.0


def audio_warnings(audio, spec: FrontendSpec) -> list[str]:
    """What in a user's audio is outside what the trained models heard: a rate too low for
    the frontend's mel filters (8 kHz audio holds nothing above 4 kHz; the filters reach
    ``f_max_hz``, and the models were trained on 16 kHz speech: an 8 kHz clip gave a fluent
    wrong transcript), or speech far quieter than the training corpus. Costs are unaffected."""
    out = []
    rate = audio.source_rate_hz or audio.sample_rate_hz
    if rate / 2 < spec.f_max_hz:
        out.append(f"{audio.path}: {rate} Hz audio holds nothing above {rate / 2:g} Hz, and the "
                   f"frontend's mel filters reach {spec.f_max_hz:g} Hz (the trained models "
                   "heard 16 kHz speech): its transcript and WER mean little; costs are "
                   "unaffected")
    peak = float(np.max(np.abs(audio.samples))) if audio.samples.size else 0.0
    peak_dbfs = 20 * math.log10(peak) if peak > 0 else -math.inf
    quiet = TRAINED_PEAK_DBFS[0] - QUIET_MARGIN_DB
    if peak > 0 and peak_dbfs < quiet:
        out.append(f"{audio.path}: peaks at {peak_dbfs:.1f} dBFS, more than "
                   f"{QUIET_MARGIN_DB:g} dB below the quietest speech the trained models heard "
                   f"({TRAINED_PEAK_DBFS[0]:g} dBFS; the frontend does not normalize the "
                   "level): raise its level (e.g. sox IN OUT gain -n -3) for a meaningful "
                   "transcript; costs are unaffected")
    return out


def load_utterances(paths, cfg) -> list[Utterance]:
    """Read every file first, so that a bad file fails before any simulation work starts.
    Audio outside what the trained models heard is warned about (:func:`audio_warnings`)."""
    spec = frontend_spec(cfg)
    out = []
    for path in paths:
        audio = load_audio(path, spec.sample_rate_hz)
        for text in audio_warnings(audio, spec):
            warnings.warn(text, AzsimWarning, stacklevel=2)
        feats = log_mel(audio.samples, spec)
        why = _too_short(cfg, feats.shape[0])
        if why:
            raise AudioError(f"{path}: {audio.duration_s * 1000:.5g} ms of audio is too short; "
                             + why)
        out.append(Utterance(Path(path).name, str(path), audio.duration_s, feats))
    # two files of one name in different folders (a/x.wav, b/x.wav) are named by their paths
    names = [u.name for u in out]
    return [replace(u, name=u.path) if names.count(u.name) > 1 else u for u in out]


# The frontend a feature set was made with, when it does not say (the shipped sets, corpus
# splits moved away from their corpus.json): azsim's default, which made every shipped set.
_FRONTEND_KEYS = ("sample_rate_hz", "n_mels", "window_ms", "hop_ms", "n_fft", "f_max_hz")


def check_frontend_record(where: str, recorded) -> None:
    """Raise a one-line :class:`AzsimError` starting with ``where`` (the ``corpus.json``)
    unless ``recorded``, its ``frontend``, is a JSON object whose frontend settings are
    numbers, as :func:`frontend_mismatches` compares them."""
    if not isinstance(recorded, dict):
        raise AzsimError(f"{where}: frontend is {quoted(recorded)}; expected an object of the "
                         f"frontend settings ({', '.join(_FRONTEND_KEYS)})")
    for key in _FRONTEND_KEYS:
        value = recorded.get(key, 0)
        try:   # float() of an integer of 400 digits overflows
            finite = not isinstance(value, bool) and math.isfinite(value)
        except (TypeError, OverflowError):
            finite = False
        if not finite:
            raise AzsimError(f"{where}: frontend.{key} is {quoted(value)}; expected a finite "
                             "number")


def frontend_mismatches(recorded: dict | None, cfg) -> list[str]:
    """How features made with the frontend ``recorded`` (``corpus.json``'s ``frontend``;
    None or a missing key: the default :class:`FrontendSpec`; checked by
    :func:`check_frontend_record`) differ from what ``cfg``'s frontend would compute; empty
    when they do not."""
    want, default = frontend_spec(cfg), FrontendSpec()
    recorded = recorded if isinstance(recorded, dict) else {}
    problems = []
    for key in _FRONTEND_KEYS:
        have, need = recorded.get(key, getattr(default, key)), getattr(want, key)
        if have != need:
            setting = "f_max_hz (from sample_rate_hz)" if key == "f_max_hz" else \
                f"model.frontend.{key}"
            problems.append(f"{key} = {have:g} where the model's {setting} = {need:g}")
    return problems


def check_feature_frontend(where: str, recorded: dict | None, cfg) -> None:
    """Raise a one-line :class:`AzsimError` starting with ``where`` unless features made with
    the frontend ``recorded`` are what ``cfg``'s frontend would compute
    (:func:`frontend_mismatches`). Features cannot be re-framed: read with another hop they
    would be timed (seconds, real-time factor, latency) and decoded as if they were the
    model's own."""
    problems = frontend_mismatches(recorded, cfg)
    if problems:
        raise AzsimError(f"{where}: its features were computed with {'; '.join(problems)}; "
                         "features are read only with the frontend that made them (give "
                         "audio instead, or the same frontend settings)")


@lru_cache(maxsize=4)
def _shipped_features(spec: FrontendSpec) -> tuple[np.ndarray, ...]:
    """Log-mel features of the shipped utterances (read once per frontend spec)."""
    return tuple(log_mel(load_audio(p, spec.sample_rate_hz).samples, spec)
                 for p in shipped_audio_paths())


def shipped_weights_dir() -> Path:
    return Path(str(importlib.resources.files("azsim") / "data" / "models"))


def resolve_weights_path(cfg, weights_path=None):
    """The weights file to load: ``weights_path`` (a file or a shipped set's name), else
    ``cfg.weights`` (likewise), else None (generate untrained weights from the seed)."""
    name = weights_path if weights_path is not None else (cfg.weights or None)
    if name is None:
        return None
    shipped = shipped_weights_dir() / f"{name}.npz"
    # os.path.isfile: a name the OS refuses is no shipped name (load_weights says why)
    if "/" not in str(name) and not str(name).endswith(".npz") and os.path.isfile(shipped):
        return shipped
    return name


def model_weights(cfg, weights_path=None) -> dict[str, np.ndarray]:
    """Float weights: from a ``.npz`` file, or generated deterministically from ``cfg.seed``.

    Generated weights normalize features with the mean and standard deviation of the shipped
    audio, so untrained presets see inputs of realistic range.
    """
    check_memory_budget(cfg)   # before anything of the model's size is allocated
    from_config = weights_path is None
    weights_path = resolve_weights_path(cfg, weights_path)
    if weights_path is not None:
        try:
            return load_weights(weights_path, cfg)
        except AzsimError as exc:
            # a model file's (or --set's) missing weights file: say which setting named it
            # (a newcomer audit: "nope.npz: no such weights file" from `--model mine.toml`)
            if from_config and not os.path.exists(weights_path):
                raise type(exc)(f"model {cfg.name}'s model.weights: {exc}") from None
            raise
    return dict(_untrained(_untrained_key(cfg)).weights)


@dataclass(frozen=True)
class _UntrainedKey:
    """The fields of a ModelConfig that untrained weights depend on: not the precision,
    pruning, decoding or branch fields that sweeps vary."""
    seed: int
    vocab_size: int
    frontend: object
    encoder: object
    prediction: object
    joint: object


def _untrained_key(cfg) -> _UntrainedKey:
    return _UntrainedKey(cfg.seed, cfg.vocab_size, cfg.frontend, cfg.encoder, cfg.prediction,
                         cfg.joint)


@dataclass(frozen=True)
class _Untrained:
    """Generated weights (read-only) and the float encoder's run over the shipped audio that
    set their blank bias: its outputs and max |activation| per encoder tensor."""
    weights: dict
    features: tuple
    encoder_outputs: list
    encoder_max_abs: dict


_UNTRAINED: OrderedDict = OrderedDict()     # _UntrainedKey -> _Untrained, newest last
_UNTRAINED_KEEP = 2
_UNTRAINED_LOCK = threading.Lock()          # sweep workers under Dask run points in threads


def _untrained(key: _UntrainedKey) -> _Untrained:
    """:func:`_make_untrained`, kept for the last ``_UNTRAINED_KEEP`` keys."""
    with _UNTRAINED_LOCK:
        entry = _UNTRAINED.get(key)
        if entry is None:
            entry = _UNTRAINED[key] = _make_untrained(key)
            while len(_UNTRAINED) > _UNTRAINED_KEEP:
                _UNTRAINED.popitem(last=False)
        _UNTRAINED.move_to_end(key)
        return entry


def _make_untrained(key: _UntrainedKey) -> _Untrained:
    """Generated weights with their blank bias, made once per process for each architecture
    and seed. The blank bias runs the float encoder over the shipped audio: 8.2 s of a
    22 s ``azsim run --model he2019`` (profiled 2026-12-04 beside a training run), paid again by every sweep point
    that changes bits or sparsity. The arrays are read-only, since every caller shares them
    (pruning and quantization make new arrays)."""
    shipped = _shipped_features(frontend_spec(key))
    for path, f in zip(shipped_audio_paths(), shipped):
        why = _too_short(key, f.shape[0])
        if why:   # the blank bias needs the encoder's outputs on every shipped utterance
            raise ConfigError(f"model.frontend: the untrained model's blank bias runs on the "
                              f"shipped audio, and {Path(path).name} is too short for these "
                              f"settings: {why}")
    feats = np.concatenate(shipped)
    weights = generate_weights(key, feats.mean(axis=0), feats.std(axis=0) + 1e-3)
    stats = float_ref.ActivationStats()
    outputs = float_ref.encoder_many(weights, key, list(shipped), stats)
    _set_untrained_blank_bias(weights, key, outputs)
    for array in [*weights.values(), *outputs]:
        array.flags.writeable = False
    return _Untrained(weights, shipped, outputs, dict(stats.max_abs))


def _shipped_encoder_run(weights, cfg, features) -> _Untrained | None:
    """``cfg``'s cached untrained model if ``weights`` uses its encoder (the same arrays: not
    pruned, not loaded from a file) and its blank-bias run saw exactly ``features``; else
    None."""
    with _UNTRAINED_LOCK:
        entry = _UNTRAINED.get(_untrained_key(cfg))
    if entry is None:
        return None
    same_encoder = all(weights.get(k) is v for k, v in entry.weights.items()
                       if k.startswith(("enc.", "frontend.")))
    same_audio = len(features) == len(entry.features) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(features, entry.features))
    return entry if same_encoder and same_audio else None


def branch_weights(cfg, name) -> dict[str, np.ndarray]:
    """The float weights of a cheap encoder branch (``model.branch.weights``): a whole model
    of the same architecture, or a file of its encoder's arrays alone."""
    return load_weights(resolve_weights_path(cfg, name), cfg, allow_encoder_only=True)


def _set_untrained_blank_bias(weights, cfg, encoder_outputs) -> None:
    """Make random weights emit blank, as a trained model does on most joint steps.

    Random joint weights emit a symbol on almost every step (up to max_symbols_per_frame),
    which would charge the prediction network several times per frame. No bias gives a
    trained model's rate: a random LSTM's state drifts after each emission, so a bias tuned on
    one state fails in the next. So the blank bias is set just above the largest
    (best non-blank - blank) logit margin over the shipped audio's encoder frames and the
    prediction outputs after 16 different tokens: untrained presets then emit (almost)
    nothing. That understates prediction-network work by one step per symbol a trained model
    would emit (about 6 % of he2019's MACs at 4 word-pieces/s) instead of overstating it up to
    five-fold. Trained weights (issue #6) replace this. ``encoder_outputs``: the float
    encoder's outputs for the shipped audio.
    """
    tokens = np.unique(np.linspace(0, cfg.vocab_size - 1, 16).astype(int))
    preds = np.stack([float_ref.prediction_step(weights, cfg, int(k), None)[0] for k in tokens])
    pred_part = float_ref.matmul(preds, weights["joint.w_pred"])         # [n_tokens, J]
    largest = -np.inf
    for enc in encoder_outputs:
        enc_part = float_ref.matmul(enc, weights["joint.w_enc"]) + weights["joint.b"]  # [T, J]
        hidden = np.tanh(enc_part[:, None, :] + pred_part[None, :, :])  # [T, n_tokens, J]
        logits = float_ref.matmul(hidden.reshape(-1, hidden.shape[-1]), weights["joint.w_out"])
        logits = logits.reshape(*hidden.shape[:2], -1) + weights["joint.b_out"]
        largest = max(largest, float((logits[..., 1:].max(axis=-1) - logits[..., 0]).max()))
    # Margin above the largest observed: 10 % of it, so int8 rounding cannot flip the choice.
    weights["joint.b_out"][0] += np.float32(max(largest, 0.0) * 1.1)


def calibrate(weights, cfg, utterances) -> dict[str, float]:
    """Max |activation| per tensor over the float model's run on ``utterances``."""
    return calibration_stats(weights, cfg, utterances).max_abs


def calibration_stats(weights, cfg, utterances,
                      input_grams: bool = False) -> float_ref.ActivationStats:
    """The float model's run on ``utterances``: max |activation| per tensor and, with
    ``input_grams``, every weight matrix's input Gram matrix (for the gptq quantizer)."""
    stats = float_ref.ActivationStats(grams={} if input_grams else None)
    features = [utt.features for utt in utterances]
    done = None if input_grams else _shipped_encoder_run(weights, cfg, features)
    if done is None:
        float_ref.recognize_many(weights, cfg, features, stats)
        return stats
    # The untrained model's blank bias already ran this encoder on this audio: the same
    # outputs bit for bit and the same max |x| per encoder tensor (a max does not depend on
    # the order), recorded before the prediction and joint networks', as recognize_many
    # records them for up to float_ref._LOCKSTEP utterances (6.6 s of he2019's run).
    stats.max_abs.update(done.encoder_max_abs)
    for enc_out in done.encoder_outputs:
        float_ref.greedy_decode(weights, cfg, enc_out, stats)
    return stats


def pruned_weights(unpruned, cfg, utterances) -> tuple[dict, dict]:
    """The float weights after ``cfg``'s pruning, and what a gptq quantizer should compensate
    the pruned weights against. Magnitude saliency prunes without data, and gptq then spreads
    the pruned values over the kept weights (``unpruned``). ``prune_saliency = "obs"`` chooses
    the weights on the inputs the unpruned model sees on ``utterances`` (SparseGPT's
    one-shot setting) and compensates them itself, so there is nothing left to compensate."""
    from ..compress.pipeline import obs_prune_weights, prune_weights
    from ..compress.prune import prunes
    if cfg.prune_saliency != "obs" or not prunes(cfg.prune, cfg.sparsity):
        return prune_weights(unpruned, cfg), unpruned
    grams = calibration_stats(unpruned, cfg, utterances, input_grams=True).grams
    w = obs_prune_weights(unpruned, cfg, grams)
    return w, w
