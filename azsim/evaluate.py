"""Accuracy of a model as azsim runs it: WER and CER by integer inference (issue #6).

The test set is log-mel features of speech in test-bucket sentences, which no training text
is, shipped in ``azsim/data/testset/`` (its voices were held out from every corpus but one:
stage 3's names corpus heard 11 of its 14, README "Voices the models heard"), or any corpus
split file written by
``azsim corpus``, or a folder of WAV files with a ``transcripts.tsv``. The model is pruned,
calibrated on the shipped calibration utterances (dev voices and sentences, never test),
quantized exactly as ``azsim run`` quantizes it, and every utterance is decoded by the
integer kernels; torch plays no part.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import os
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from . import config as cfgmod
from .api import bits_override, prepare_model
from ._version import code_version
from .arguments import checked
from .config import to_dict
from .config.schema import layer_bit_overrides
from .errors import AzsimError, AzsimWarning, named, named_item, quoted
from .paths import path_kind, resolved_path
from .compress.ptq import QuantizedRNNT
from .corpus.build import corpus_meta, read_corpus_meta
from .corpus.grammar import fingerprint as grammar_fingerprint
from .corpus.grammar import version_of as grammar_version_of
from .decode.endpoint import check_tail_on_testset, with_tail
from .decode.summary import context_record, decoder_for
from .execute.branch import branch_shares, cheap_bits, encoder_macs
from .execute.integer import run_utterance
from .model import float_ref
from .model.audio import shipped_audio_paths
from .model.frontend import hop_window_s
from .model.loading import (Utterance, check_feature_frontend, frontend_mismatches,
                            load_utterances)
from .model.metrics import (edit_operations, error_rate, paired_wer_difference,
                            phrase_counts)
from .model.vocab import CHARS, make_vocab
from .npzfile import check_offsets, read_npz
from .transcripts import read_transcripts, reference_text
from .report.report import achieved_sparsity, mean_weight_bits


@dataclass(frozen=True)
class TestSet:
    name: str
    utterances: list[Utterance]
    references: list[str]
    grammar: str | None = None     # the fingerprint in its corpus.json, if it has one
    voices: list[str] | None = None   # each utterance's speaker, if the set records them
    # a .npz set's content (its features, offsets and texts): a record of another set with the
    # same file stem and texts, another draw's test.npz, paired with this one (audit, 2026-12-07)
    content_sha256: str | None = None


def _testset_dir() -> Path:
    return Path(str(importlib.resources.files("azsim") / "data" / "testset"))


def shipped_testsets() -> list[str]:
    return sorted(p.stem for p in _testset_dir().glob("*.npz") if p.stem != "calibration")


_NPZ_LAYOUTS = ("a test set .npz holds texts, offsets and either float features (a corpus "
                "split) or uint8 features_u8 with feature_offset and feature_step (the "
                "shipped layout)")
_NPZ_ARRAYS = ("features", "features_u8", "feature_offset", "feature_step", "offsets", "texts")


def check_testset_arrays(where: str, arrays: dict, n_mels: int, min_frames: int) -> bool:
    """Raise a one-line :class:`AzsimError` starting with ``where`` unless ``arrays`` is a
    test set in one of the two layouts (see examples/make_shipped_data.py and
    azsim/corpus/build.py):

    * corpus split: ``features`` float [frames, n_mels], ``offsets`` int [n + 1], ``texts``
      str [n];
    * shipped: ``features_u8`` uint8 [frames, n_mels] codes, ``feature_offset`` and
      ``feature_step`` float [n] (``x = offset + code * step``), ``offsets``, ``texts``.

    ``offsets`` start at 0, rise by at least ``min_frames`` (the frames the model needs for
    one encoder output, ``float_ref.min_feature_frames``) per utterance and end at the number
    of feature rows; there is at least one utterance, each with a non-blank reference text;
    every float is finite, every step positive. Returns whether the layout is the shipped
    (quantized) one."""
    quantized = "features_u8" in arrays
    feat_key = "features_u8" if quantized else "features"
    needed = ("texts", "offsets", feat_key) + (("feature_offset", "feature_step")
                                               if quantized else ())
    missing = [k for k in needed if k not in arrays]
    if missing:
        raise AzsimError(f"{where}: no {' or '.join(missing)} array; {_NPZ_LAYOUTS}")

    texts = arrays["texts"]
    if texts.dtype.kind != "U" or texts.ndim != 1:
        raise AzsimError(f"{where}: texts is {texts.dtype} with shape {texts.shape}; expected "
                         "a 1-D array of strings (the reference transcripts)")
    n = texts.size
    if n == 0:
        raise AzsimError(f"{where}: holds no utterances (texts is empty); a test set needs "
                         "at least one")
    blank = [k for k in range(n) if not str(texts[k]).strip()]
    if blank:
        raise AzsimError(f"{where}: texts[{blank[0]}] is blank; every utterance needs its "
                         "reference transcript")

    feats = arrays[feat_key]
    if quantized and feats.dtype != np.uint8:
        raise AzsimError(f"{where}: features_u8 is {feats.dtype}; expected uint8 codes")
    if not quantized and feats.dtype.kind != "f":
        raise AzsimError(f"{where}: features is {feats.dtype}; expected floats (float16 "
                         "log-mel features)")
    if feats.ndim != 2:
        raise AzsimError(f"{where}: {feat_key} has shape {feats.shape}; expected "
                         f"[frames, {n_mels}]")
    if feats.shape[1] != n_mels:
        raise AzsimError(f"{where}: {feat_key} has {feats.shape[1]} mel channels (shape "
                         f"{feats.shape}); the model expects {n_mels} (frontend.n_mels)")
    if not quantized:
        bad = ~np.isfinite(feats).all(axis=1)
        if bad.any():
            row = int(np.argmax(bad))
            raise AzsimError(f"{where}: features row {row} holds NaN or infinity; log-mel "
                             "features must be finite")

    check_offsets(where, arrays["offsets"], n, feats.shape[0], feat_key, min_frames)

    if quantized:
        for key in ("feature_offset", "feature_step"):
            a = arrays[key]
            if a.dtype.kind not in "iuf":
                raise AzsimError(f"{where}: {key} is {a.dtype}; expected floats")
            if a.shape != (n,):
                raise AzsimError(f"{where}: {key} has shape {a.shape}; expected ({n},), one "
                                 "value per utterance (as texts)")
            if not np.isfinite(a).all():
                k = int(np.argmax(~np.isfinite(a)))
                raise AzsimError(f"{where}: {key}[{k}] is {a[k]}; it must be finite")
        lo, step = arrays["feature_offset"], arrays["feature_step"]
        if np.any(step <= 0):
            k = int(np.argmax(step <= 0))
            raise AzsimError(f"{where}: feature_step[{k}] is {step[k]}; it must be positive "
                             "(x = feature_offset + code * feature_step)")
        with np.errstate(over="ignore", invalid="ignore"):
            top = np.isfinite((lo.astype(np.float32) + 255 * step.astype(np.float32)))
        if not top.all():
            k = int(np.argmax(~top))
            raise AzsimError(f"{where}: feature_offset[{k}] + 255 * feature_step[{k}] is "
                             "not a finite float32; the features must be finite")
    if "voices" in arrays:
        voices = arrays["voices"]
        if voices.dtype.kind != "U" or voices.shape != (n,):
            raise AzsimError(f"{where}: voices is {voices.dtype} with shape {voices.shape}; "
                             f"expected ({n},) strings, each utterance's speaker (as texts)")
    return quantized


_AUDIO_ARRAYS = ("audio", "audio_offsets")   # a corpus test or names split keeps its audio


def split_holds_audio(path) -> bool:
    """Whether the ``.npz`` at ``path`` has the int16 audio of its utterances beside their
    features (``azsim corpus`` keeps it in the test and names splits), from its member names
    alone."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
    return all(f"{k}.npy" in names for k in _AUDIO_ARRAYS)


def _split_audio(where: str, arrays: dict, n: int, sample_rate_hz: int, seconds: list
                 ) -> list[np.ndarray]:
    """Each utterance's float32 samples from a split's int16 ``audio`` and its
    ``audio_offsets``, checked: one-line errors naming the array."""
    audio, off = arrays["audio"], arrays["audio_offsets"]
    if audio.dtype != np.int16 or audio.ndim != 1:
        raise AzsimError(f"{where}: audio is {audio.dtype} {audio.shape}, not 1-D int16 "
                         "samples, as 'azsim corpus' writes")
    if off.ndim != 1 or off.size != n + 1 or not np.issubdtype(off.dtype, np.integer) \
            or off[0] != 0 or off[-1] != audio.size or np.any(np.diff(off) < 0):
        raise AzsimError(f"{where}: audio_offsets must be {n + 1} rising sample offsets from 0 "
                         f"to the {audio.size} samples of audio")
    out = []
    for k in range(n):
        x = audio[off[k]:off[k + 1]].astype(np.float32) / 32768.0
        if abs(x.size / sample_rate_hz - seconds[k]) > 0.1:   # not this utterance's audio
            raise AzsimError(f"{where}: utterance {k}'s audio lasts {x.size / sample_rate_hz:.2f}"
                             f" s and its features {seconds[k]:.2f} s; the audio is not theirs")
        out.append(x)
    return out


def features_seconds(n_frames: int, frontend) -> float:
    """How long the audio of ``n_frames`` feature frames lasts, when only the features are
    kept: until the last frame's window ends, ``(n_frames - 1) x hop + window``, the shortest
    audio that gives that many frames (the frontend drops a last partial frame, so the audio
    may have run up to one hop longer) and the time the last frame arrives on a device.
    Until 2026-12-06 it was ``n_frames x hop``, a window less a hop (15 ms) short of the last
    frame's arrival: end-pointers fired after the end of the audio, and every test-set run's
    latency after the end of speech was 15 ms longer than the same audio's as a WAV (audit)."""
    if n_frames <= 0:
        return 0.0
    hop_s, window_s = hop_window_s(frontend)   # in whole samples
    return (n_frames - 1) * hop_s + window_s


def _from_npz(path: Path, name: str, cfg, where: str | None = None) -> TestSet:
    """A corpus split (float16 ``features``) or a shipped set (``features_u8`` codes with a
    per-utterance ``feature_offset`` and ``feature_step``; see examples/make_shipped_data.py),
    checked by :func:`check_testset_arrays`."""
    where = where or named("testset", str(path))
    # the audio only for a silence tail (a names split's is 50 MB)
    tail = cfg.decode.endpoint_tail_ms > 0
    arrays = read_npz(path, where, what=_NPZ_LAYOUTS,
                      keys=_NPZ_ARRAYS + ("voices",) + (_AUDIO_ARRAYS if tail else ()))
    quantized = check_testset_arrays(where, arrays, cfg.frontend.n_mels,
                                     float_ref.min_feature_frames(cfg.encoder))
    meta = read_corpus_meta(path.parent, f"{where}:") or {}   # None: the split says nothing
    check_feature_frontend(where, meta.get("frontend"), cfg)
    offsets, texts = arrays["offsets"].astype(np.int64), arrays["texts"]
    feats = arrays["features_u8"] if quantized else arrays["features"]
    seconds = [features_seconds(int(offsets[k + 1] - offsets[k]), cfg.frontend)
               for k in range(len(texts))]
    audio = _split_audio(where, arrays, len(texts), cfg.frontend.sample_rate_hz, seconds) \
        if tail and all(k in arrays for k in _AUDIO_ARRAYS) else [None] * len(texts)
    utts = []
    for k in range(len(texts)):
        f = feats[offsets[k]:offsets[k + 1]].astype(np.float32)
        if quantized:
            f = arrays["feature_offset"][k] + f * arrays["feature_step"][k]
        # with its samples, the utterance lasts exactly as long as they do
        length = seconds[k] if audio[k] is None else audio[k].size / cfg.frontend.sample_rate_hz
        utts.append(Utterance(f"{name}/{k:04d}", str(path), length, f, audio[k]))
    alphabet = _alphabet(cfg)
    refs = [reference_text(where, f"texts[{k}]", str(t), alphabet) for k, t in enumerate(texts)]
    voices = [str(v) for v in arrays["voices"]] if "voices" in arrays else None
    digest = hashlib.sha256()
    for a in (offsets, np.ascontiguousarray(feats)) + ((arrays["feature_offset"],
                                                        arrays["feature_step"])
                                                       if quantized else ()):
        digest.update(np.ascontiguousarray(a).tobytes())
    digest.update("\n".join(str(t) for t in texts).encode())
    return TestSet(name, utts, refs, voices=voices, content_sha256=digest.hexdigest())


SHIPPED_TESTSET_GRAMMAR_VERSION = 0   # the grammar the shipped test and names sets were drawn from


def _alphabet(cfg) -> str | None:
    """The characters a character model writes (None for word-piece models)."""
    return CHARS if cfg.vocab == "chars" else None


def load_testset(spec: str, cfg, where: str | None = None) -> TestSet:
    """``spec``: a shipped set's name (``test``, ``names``), a ``.npz`` split, or a folder of
    WAVs with ``transcripts.tsv`` (columns file, text). Every input is checked (one-line
    :class:`AzsimError`, beginning with ``where``, by default ``--test SPEC`` or
    ``testset='SPEC'``, :func:`azsim.errors.named`); a set
    without utterances is an error, never a WER of 0."""
    shipped = _shipped_testset(spec)
    if shipped is not None:
        # both shipped sets are grammar version 0's draw, sentence and voice for sentence and
        # voice (tests/test_corpus.py); their records said "not recorded"
        return replace(_from_npz(shipped, spec, cfg, where),
                       grammar=grammar_fingerprint(SHIPPED_TESTSET_GRAMMAR_VERSION))
    path = Path(spec)
    label = where or named("testset", spec)
    if str(spec) == "calibration" and not os.path.exists(spec):
        raise AzsimError(f"{label}: the shipped calibration set sets the model's activation "
                         "scales, so a WER on it is not held out; the shipped test sets are "
                         f"{', '.join(shipped_testsets())}")
    found = path_kind(path, label)
    # A set of the user's is named as given (its utterances by the file's stem): two corpora's
    # dev splits were both 'dev' in eval's lines and records, and a corpus's test split
    # 'test', the shipped set's name.
    if found == "file" and path.suffix == ".npz":
        return replace(_from_npz(path, path.stem, cfg, where), name=str(spec),
                       grammar=corpus_meta(path.parent).get("grammar"))
    if found == "folder" and path_kind(path / "transcripts.tsv", label) == "file":
        tsv = path / "transcripts.tsv"
        rows = read_transcripts(tsv, _alphabet(cfg))
        # one file by two spellings (a/../x.wav and x.wav, or an absolute path and a name):
        # read_transcripts compares the spellings; the files are compared here
        listed: dict[str, str] = {}
        for f, _ in rows:
            real = os.path.realpath(path / f)
            if real in listed:
                raise AzsimError(f"{tsv}: {f} and {listed[real]} are the same file; list "
                                 "each WAV once")
            listed[real] = f
        unlisted = sorted(p.name for p in path.iterdir()
                          if p.suffix.lower() == ".wav" and os.path.realpath(p) not in listed)
        if unlisted:   # they were left out without a word
            warnings.warn(f"{label}: {len(unlisted)} WAV file{'s' if len(unlisted) != 1 else ''}"
                          f" of the folder not in transcripts.tsv, so not evaluated "
                          f"({', '.join(unlisted[:3])}{', ...' if len(unlisted) > 3 else ''})",
                          AzsimWarning, stacklevel=2)
        utts = load_utterances([str(path / f) for f, _ in rows], cfg)
        return TestSet(str(spec), utts, [t for _, t in rows])
    raise AzsimError(f"{label}: not a shipped test set "
                     f"({', '.join(shipped_testsets())}),"
                     " a corpus .npz split, or a folder with transcripts.tsv")


def _shipped_testset(spec) -> Path | None:
    """The shipped set's file that ``spec`` names (``test``, ``names``), else None; a name the
    OS refuses is none (os.path.isfile answers False)."""
    spec = str(spec)
    shipped = _testset_dir() / f"{spec}.npz"
    # calibration.npz sets the activation scales: a set calibrated on itself is no held-out
    # figure, and `--test calibration` ran it (a corpus audit, 2026-12-07)
    if "/" not in spec and not spec.endswith(".npz") and spec in shipped_testsets():
        return shipped
    return None


def _set_identity(spec: str, where: str) -> str:
    """The file or folder :func:`load_testset` reads for ``spec`` (named ``where``)."""
    shipped = _shipped_testset(spec)
    return str(shipped if shipped is not None else resolved_path(spec, where))


def calibration_utterances(cfg) -> list[Utterance]:
    """Shipped calibration features: dev-split speech, disjoint from the test voices, made
    with the default frontend. Under other frontend settings those features cannot stand
    for the model's input; the shipped audio through the model's own frontend calibrates
    instead, as it does for ``azsim run`` on audio. Those four WAVs are shipped test-set
    utterances (0, 1, 2 and 4): a warning says so, since a figure on the shipped test set is
    then calibrated on part of it (an accuracy audit, 2026-12-06)."""
    if frontend_mismatches(None, cfg):
        warnings.warn("the model's frontend differs from the default, so it is calibrated on "
                      "the shipped audio, which is 4 of the shipped test set's utterances, "
                      "not on the shipped dev calibration set: accuracy on the shipped test "
                      "set is then not fully held out", AzsimWarning, stacklevel=2)
        return load_utterances([str(p) for p in shipped_audio_paths()], cfg)
    path = _testset_dir() / "calibration.npz"
    return _from_npz(path, "calibration", cfg, f"shipped calibration set {path}").utterances


def _weights_sha256(cfg, weights) -> str | None:
    """The content hash of the weights an evaluation used (None for generated weights)."""
    from .model.loading import resolve_weights_path
    from .paths import file_sha256
    name = weights or cfg.weights
    path = resolve_weights_path(cfg, name) if name else None
    return file_sha256(path) if path is not None else None


def evaluate(model: str = cfgmod.DEFAULT_MODEL, testset: str = "test", bits: int | None = None,
             overrides=(), weights: str | None = None, include_float: bool = False,
             progress: Callable[[str, int, int], None] | None = None,
             baseline: dict | None = None, baseline_label: str = "baseline",
             utterances: int | None = None) -> dict:
    """WER/CER of the integer model (and, optionally, of the float golden model) on the test
    set's first ``utterances`` utterances (all by default).

    ``baseline``: an earlier result of this function (``azsim eval --json``) on the same test
    set; the result then gains ``compare``, this model's WER minus the baseline's with a paired
    bootstrap interval. The references are checked before anything is decoded. With
    ``include_float``, ``float_vs_integer`` compares the integer model against the float one
    the same way."""
    if not isinstance(testset, (str, os.PathLike)) or not str(testset):   # named as given
        raise AzsimError(f"testset={testset!r}: expected a test set name or path (test, names, "
                         "a corpus .npz split or a folder of WAVs with transcripts.tsv)")
    return evaluate_sets(model, [testset], bits, overrides, weights, include_float, progress,
                         baseline, baseline_label, utterances,
                         _named=lambda name: named("testset", name))[0]


def head_of(tset: TestSet, utterances: int | None) -> TestSet:
    """The test set's first ``utterances`` utterances (all when None), in place."""
    n = len(tset.utterances)
    if utterances is not None and not 1 <= utterances <= n:
        raise AzsimError(f"{named('utterances', utterances)}: test set {tset.name} has {n} "
                         f"utterances (allowed: 1..{n})")
    if utterances is not None:
        del tset.utterances[utterances:], tset.references[utterances:]
        if tset.voices is not None:
            del tset.voices[utterances:]
    return tset


def evaluate_sets(model: str, testsets, bits: int | None = None, overrides=(),
                  weights: str | None = None, include_float: bool = False,
                  progress: Callable[[str, int, int], None] | None = None,
                  baseline: dict | None = None, baseline_label: str = "baseline",
                  utterances: int | None = None, *, _named=None) -> list[dict]:
    """``evaluate`` on several test sets with one prepared model: every set is loaded (and
    each checked against its ``baseline``) before anything is decoded, so a bad name costs
    no work. ``baseline``: one earlier result per set, in the sets' order (a list; a single
    result for a single set). One result per set; ``pooled`` combines them. ``utterances``:
    each set's first that many (a quick look; all by default)."""
    (model, testsets, bits, overrides, weights, progress, baseline, utterances, include_float,
     baseline_label) = (
        checked(name, value) for name, value in (
            ("model", model), ("testsets", testsets), ("bits", bits),
            ("overrides", overrides), ("weights", weights), ("progress", progress),
            ("baseline", baseline), ("utterances", utterances),
            ("include_float", include_float), ("baseline_label", baseline_label)))
    overrides = list(overrides) + ([bits_override(bits)] if bits is not None else [])
    cfgmod.check_weights_named_once(weights, overrides)
    cfg = cfgmod.load_model_config(model, overrides)
    # how messages name a set: an item of testsets, or evaluate's testset (``_named``)
    label = _named or (lambda name: named_item("testsets", name))
    seen: dict[str, str] = {}
    for name in testsets:   # a set given twice would count twice in the pooled figures
        key = _set_identity(name, label(name))
        if key in seen:
            first = seen[key]
            also = "" if first == name else f" (as {label(first)} too)"
            raise AzsimError(f"{label(name)}: given twice{also}; each set is "
                             "evaluated and pooled once")
        seen[key] = name
    for name in testsets:
        check_tail_on_testset(cfg, name, label(name))
    tsets = [head_of(load_testset(name, cfg, label(name)), utterances)
             for name in testsets]
    # a copy of a set under another name is the same utterances: pooled, they counted twice
    # (the check above compares files; a copy is another file; an eval audit)
    by_content: dict[str, str] = {}
    for name, tset in zip(testsets, tsets):
        if tset.content_sha256 is None:
            continue
        first = by_content.setdefault(tset.content_sha256, name)
        if first != name:
            raise AzsimError(f"{label(name)}: holds the same utterances as {label(first)} (their "
                             "features and texts hash alike); each set is evaluated and "
                             "pooled once")
    baselines = [None] * len(tsets) if baseline is None else \
        baseline if isinstance(baseline, list) else [baseline]
    if len(baselines) != len(tsets):
        raise AzsimError(f"{baseline_label}: holds {len(baselines)} test set"
                         f"{'' if len(baselines) == 1 else 's'}, this evaluation "
                         f"{len(tsets)}; compare evaluations of the same sets, in one order")
    for base, tset in zip(baselines, tsets):
        if base is not None:
            _check_pairs(base, tset, baseline_label)
    setup = decoder_for(cfg)   # greedy or beam search; reads --context before the work
    report = progress or (lambda *_: None)
    w, qm = prepare_model(cfg, weights, calibration_utterances(cfg))
    return [_evaluate_set(cfg, weights, w, qm, tset, include_float, report, base,
                          baseline_label, setup) for tset, base in zip(tsets, baselines)]


def _check_pairs(baseline: dict, tset: TestSet, baseline_label: str) -> None:
    """The compared record holds this set's utterances in its order."""
    base_refs = [h["reference"] for h in baseline["hypotheses"]]
    if base_refs != list(tset.references):
        raise AzsimError(f"{baseline_label}: its {len(base_refs)} references are not those "
                         f"of test set '{tset.name}' ({len(tset.references)} "
                         "utterances); compare two evaluations of the same set")
    # the references alone do not pair the rows: the shipped set says "cancel the timer"
    # 19 times, so rows reordered among equal references, or another set with the same
    # texts, passed and paired unrelated utterances (audit, 2026-12-06)
    ids = [u.name for u in tset.utterances]
    for k, (h, name) in enumerate(zip(baseline["hypotheses"], ids)):
        if h.get("utterance", name) != name:
            raise AzsimError(f"{baseline_label}: its row {k} is utterance "
                             f"{quoted(h['utterance'])}, the set's is {quoted(name)}; "
                             "compare two evaluations of the same set, in its order")
    theirs = baseline.get("testset_sha256")
    if theirs and tset.content_sha256 and theirs != tset.content_sha256:
        raise AzsimError(f"{baseline_label}: it evaluated another set than '{tset.name}' (its "
                         f"features and texts hash to {theirs[:12]}, this set's to "
                         f"{tset.content_sha256[:12]}); compare two evaluations of the same "
                         "set")


def _decode_record(cfg, setup) -> dict:
    """How the integer model's hypotheses were searched (issue #7 settings): the run report's
    context record, its keys prefixed with ``context_``."""
    ctx = context_record(cfg, setup.context) or {"file": None}
    return {"method": "beam" if cfg.decode.beam > 1 else "greedy", "beam": cfg.decode.beam,
            **{f"context_{k}": v for k, v in ctx.items()}}


def _evaluate_set(cfg, weights, w, qm, tset: TestSet, include_float: bool, report,
                  baseline: dict | None, baseline_label: str, setup) -> dict:
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    hyps, float_hyps, results = [], [], []
    # as azsim run decodes them: with the tail of silence (audio sets only, checked before)
    utts = [with_tail(u, cfg.decode.endpoint_tail_ms, cfg) for u in tset.utterances]
    for k, utt in enumerate(utts):
        r = run_utterance(qm, utt.features, setup.decoder)
        hyps.append(vocab.decode(r.tokens))
        if cfg.branch.enabled:
            results.append(r)
        report(f"evaluate {tset.name}", k + 1, len(tset.utterances))
    if include_float:
        float_hyps = [vocab.decode(tokens) for _, tokens in float_ref.recognize_many(
            w, cfg, [utt.features for utt in utts],
            progress=lambda done, total: report(f"float model {tset.name}", done, total))]
    words = sum(len(r.split()) for r in tset.references)
    ops = _operation_counts(tset.references, hyps)
    word_errors = sum(ops.values())
    out = {
        # what made the figures: the code (its fingerprint, not only the release), the whole
        # model config and the weights' content; two records with another --set (say
        # max_symbols_per_frame=1: 45.7 against 2.9 % WER) differed only in their WERs (a
        # report audit, 2026-12-06)
        "azsim_version": code_version(), "config": to_dict(cfg),
        "model": cfg.name, "weights": weights or cfg.weights or "generated",
        "weights_sha256": _weights_sha256(cfg, weights),
        "testset": tset.name, "utterances": len(tset.utterances), "words": words,
        # the .npz set's features, offsets and texts (None for a folder of WAVs)
        "testset_sha256": tset.content_sha256,
        # which grammar the set was drawn from (None: not recorded), its version if it is one
        # of azsim's (``corpus.grammar.GRAMMARS``), and the one 'azsim corpus' draws by default
        "testset_grammar": tset.grammar,
        "testset_grammar_version": grammar_version_of(tset.grammar),
        "grammar_now": grammar_fingerprint(),
        "weight_bits": cfg.weight_bits, "layer_bits": layer_bit_overrides(cfg),
        # code bits per weight over the weight matrices (as azsim run's model record)
        "weight_bits_mean": mean_weight_bits(qm),
        "sparsity": cfg.sparsity, "prune": cfg.prune, "prune_saliency": cfg.prune_saliency,
        # the zeros the weights actually have: a trained sparse model carries its own
        # (``sparsity`` is only the one-shot pruning asked for)
        "weight_sparsity": achieved_sparsity(qm),
        "weight_format": cfg.weight_format, "quantizer": cfg.quantizer,
        "weight_range": cfg.weight_range,
        "wer": word_errors / words if words else 0.0,
        "cer": error_rate(tset.references, hyps, "char"),
        "sentence_errors": sum(r.split() != h.split() for r, h in zip(tset.references, hyps)),
        "word_errors": word_errors, **ops,
        "decode": _decode_record(cfg, setup),
        "hypotheses": [{"utterance": u.name, "reference": r, "hypothesis": h}
                       for u, r, h in zip(tset.utterances, tset.references, hyps)],
    }
    if setup.context is not None:
        out.update(phrase_counts(setup.context.phrases, tset.references, hyps))
    if cfg.branch.enabled:
        out["branch"] = _branch_change(cfg, qm, tset, utts, results, hyps, report,
                                       setup.decoder)
    if include_float:
        out["float_method"] = "greedy"    # the float golden model searches greedily
        out["float_wer"] = error_rate(tset.references, float_hyps, "word")
        out["float_cer"] = error_rate(tset.references, float_hyps, "char")
        for rec, fh in zip(out["hypotheses"], float_hyps):
            rec["float_hypothesis"] = fh
        out["float_vs_integer"] = paired_wer_difference(tset.references, float_hyps, hyps)
    if baseline is not None:
        out["compare"] = _compare_record(baseline, baseline_label, tset.references,
                                         [h["hypothesis"] for h in baseline["hypotheses"]],
                                         hyps)
    if tset.voices is not None:
        for rec, voice in zip(out["hypotheses"], tset.voices):
            rec["voice"] = voice
        out["by_voice"] = by_voice(out["hypotheses"], None if baseline is None else
                                   [h["hypothesis"] for h in baseline["hypotheses"]])
    return out


def _compare_record(baseline: dict, label: str, refs, base_hyps: list[str],
                    hyps: list[str]) -> dict:
    """This model's WER minus the compared record's (``baseline``, named ``label``), paired
    over the utterances, with what the record says of its model."""
    d = paired_wer_difference(refs, base_hyps, hyps)
    return {"baseline": label, "baseline_model": baseline.get("model"),
            "baseline_weights": baseline.get("weights"),
            "baseline_weight_bits": baseline.get("weight_bits"), "baseline_wer": d["wer_a"],
            **d}


def by_voice(hypotheses: list[dict], baseline: list[str] | None = None) -> dict:
    """Word errors per speaker (the records' ``voice``): a held-out set has few voices, and
    they differ by points, so a change can help some and hurt others (E34's rule, on three
    dev voices, chose a 4-bit model the test voices did not; README). For each voice, sorted:
    utterances, words, word errors and WER of ``hypothesis``; the same for
    ``float_hypothesis`` (``float_*``) when the records have it, and for ``baseline``, the
    hypotheses of a compared record in the same order (``baseline_*``)."""
    out: dict[str, dict] = {}
    sources = [("", "hypothesis")]
    if hypotheses and "float_hypothesis" in hypotheses[0]:
        sources.append(("float_", "float_hypothesis"))
    for k, rec in enumerate(hypotheses):
        v = out.setdefault(rec["voice"], {"utterances": 0, "words": 0})
        ref = rec["reference"].split()
        v["utterances"] += 1
        v["words"] += len(ref)
        hyps = [(prefix, rec[key]) for prefix, key in sources]
        if baseline is not None:
            hyps.append(("baseline_", baseline[k]))
        for prefix, hyp in hyps:
            v[prefix + "word_errors"] = v.get(prefix + "word_errors", 0) + int(
                sum(edit_operations(ref, hyp.split())))
    for v in out.values():
        for prefix in ("", "float_", "baseline_"):
            if prefix + "word_errors" in v:
                v[prefix + "wer"] = v[prefix + "word_errors"] / v["words"] if v["words"] else 0.0
    return dict(sorted(out.items()))


def _operation_counts(refs: list[str], hyps: list[str]) -> dict:
    """Word errors split into substitutions, deletions and insertions (their sum is the word
    errors): a model that emits words into a pause inserts, one that drops them deletes."""
    ops = np.array([edit_operations(r.split(), h.split()) for r, h in zip(refs, hyps)],
                   np.int64).reshape(-1, 3).sum(axis=0)
    return {"word_substitutions": int(ops[0]), "word_deletions": int(ops[1]),
            "word_insertions": int(ops[2])}


def pooled(results: list[dict], baselines: list[dict] | None = None) -> dict:
    """Several results of one model as one test set: WER and CER over all their utterances
    (errors over words, not a mean of rates), and with float hypotheses the paired interval of
    integer minus float over all of them; with ``baselines`` (the compared records, one per
    result) ``compare`` as each set's, over all of them."""
    # as evaluate_sets calls it these hold; a caller of its own got WER 0 for no sets and
    # per-voice figures against a baseline of other rows (a statistics audit, 2026-12-07)
    if not results:
        raise AzsimError("pooled: no results to pool; give one or more evaluate() results")
    if baselines is not None:
        if len(baselines) != len(results):
            raise AzsimError(f"pooled: {len(baselines)} baselines for {len(results)} results; "
                             "give one compared record per result, in their order")
        for k, (b, r) in enumerate(zip(baselines, results)):
            if [h["reference"] for h in b["hypotheses"]] != \
                    [h["reference"] for h in r["hypotheses"]]:
                raise AzsimError(f"pooled: baseline {k} holds other references than result "
                                 f"{k} ({r['testset']}); give the record of the same set")
    refs = [h["reference"] for r in results for h in r["hypotheses"]]
    hyps = [h["hypothesis"] for r in results for h in r["hypotheses"]]
    base_hyps = None if baselines is None else \
        [h["hypothesis"] for b in baselines for h in b["hypotheses"]]
    words = sum(r["words"] for r in results)
    word_errors = sum(r["word_errors"] for r in results)
    out = {"testsets": [r["testset"] for r in results], "utterances": len(refs),
           "words": words, "wer": word_errors / words if words else 0.0,
           "cer": error_rate(refs, hyps, "char"), "word_errors": word_errors,
           **{k: sum(r[k] for r in results)
              for k in ("word_substitutions", "word_deletions", "word_insertions")}}
    if all("context_phrases_missed" in r for r in results):
        out.update({k: sum(r[k] for r in results)
                    for k in ("context_phrases_in_references", "context_phrases_missed")})
    if all("by_voice" in r for r in results):     # a voice in several sets counts once
        out["by_voice"] = by_voice([h for r in results for h in r["hypotheses"]], base_hyps)
    if all("float_wer" in r for r in results):
        float_hyps = [h["float_hypothesis"] for r in results for h in r["hypotheses"]]
        out["float_wer"] = error_rate(refs, float_hyps, "word")
        out["float_cer"] = error_rate(refs, float_hyps, "char")   # as each set's record has
        out["float_vs_integer"] = paired_wer_difference(refs, float_hyps, hyps)
    if baselines is not None and all("compare" in r for r in results):
        out["compare"] = _compare_record(baselines[0], results[0]["compare"]["baseline"], refs,
                                         base_hyps, hyps)
    return out


def _branch_change(cfg, qm, tset, utts, results, hyps: list[str], report,
                   decoder=None) -> dict:
    """Issue #7: the branching encoder against the same model without it (the full branch on
    every step): share of steps per branch, encoder MACs of both runs, and the WER change.
    ``utts``: the utterances the branching run decoded (its silence tail included); the
    baseline decodes the same ones (it decoded the test set's without the tail until an
    accuracy audit of 2026-12-06: 267 steps against 199, '20.9 % saved' for 41 %)."""
    base_qm = QuantizedRNNT(**{f.name: getattr(qm, f.name) for f in fields(QuantizedRNNT)})
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    base, base_hyps = [], []
    for k, utt in enumerate(utts):
        base.append(run_utterance(base_qm, utt.features, decoder))
        base_hyps.append(vocab.decode(base[-1].tokens))
        report("evaluate without branching", k + 1, len(utts))
    macs, base_macs = encoder_macs(results), encoder_macs(base)
    change = paired_wer_difference(tset.references, base_hyps, hyps)
    b = cfg.branch
    return {**branch_shares(results), "arbitrator": b.arbitrator,
            "blank_margin_nats": b.blank_margin_nats, "energy_threshold": b.energy_threshold,
            "cheap_weights": b.weights or "the full model's", "cheap_sparsity": b.sparsity,
            "cheap_prune": b.prune, "cheap_bits": cheap_bits(qm),
            "encoder_macs": macs, "encoder_macs_no_branching": base_macs,
            "encoder_macs_saved_share": {
                name: 1.0 - macs[name] / base_macs[name] if base_macs[name] else 0.0
                for name in macs},
            "wer_no_branching": change["wer_a"], "wer_change": change["difference"],
            "wer_change_ci95": change["ci95"], "wer_change_utterances": change["utterances"]}
