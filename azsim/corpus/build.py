"""Build the synthetic corpus: sentences x speakers x channels -> log-mel features on disk.

Layout of a corpus directory (one ``.npz`` per split, all arrays, no pickles)::

    train.npz dev.npz test.npz names.npz
        features   float16 [sum of frames, n_mels]   azsim's log-mel, utterances back to back
        offsets    int64   [n_utts + 1]             utterance k is features[offsets[k]:offsets[k+1]]
        texts      unicode [n_utts]                 reference transcripts
        voices     unicode [n_utts]                 espeak-ng voice (accent+variant)
        speed_wpm, pitch, snr_db (float, inf = clean), rt60_s   per utterance
        pause_s  float32 [n_utts]                   silence inside the request (0: none)
        audio, audio_offsets (test and names only)  int16 16 kHz PCM, for shipping WAVs
    corpus.json     the seed, sizes, variant split, frontend and espeak-ng used, and the
                    grammar's fingerprint (``grammar.fingerprint``: same value, same grammar)

``names`` holds test-voice requests to contacts never named in training (issue #7).
``names_train`` (optional, ``azsim corpus --names-train N``) holds training-voice requests to
``grammar.TRAIN_NAMES`` (and, with ``--pseudo-names K``, K generated names); training reads it
together with ``train`` (``azsim.train.data``).
Float16 keeps log-mel values (|x| < 30) to ~0.01, far below the frontend's own noise floor.
"""
from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import AzsimError, AzsimWarning, quoted
from ..model.frontend import FrontendSpec, hop_window_s, log_mel
from ..model.loading import check_feature_frontend, check_frontend_record
from ..npzfile import check_offsets, read_npz
from ..paths import load_json_file, os_reason, output_file, path_kind, resolved_path
from . import grammar, synth

SPLITS = ("train", "dev", "test", "names", "names_train")
# What training reads (``azsim.train.data``) and what it is measured on.
TRAINING_SPLITS = ("train", "names_train")
HELD_OUT_SPLITS = ("dev", "test", "names")
# Sentences drawn per utterance when building the pools: enough draws that every split's pool
# holds thousands of distinct sentences.
_POOL_DRAWS_PER_UTT = 4


def sentence_pools(seed: int, n_draws: int,
                   grammar_version: int = grammar.GRAMMAR_VERSION) -> dict[str, list[str]]:
    """Sentences of grammar ``grammar_version`` (with their natural repeats) assigned to
    splits by text hash."""
    pools: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for text in grammar.sentences(n_draws, seed, version=grammar_version):
        pools[synth.sentence_split(text)].append(text)
    return pools


def plan(seed: int, sizes: dict[str, int], variants: dict[str, list[str]],
         pseudo_names: int = 0, random_voices: float = 0.0,
         espeak_data: str | None = None,
         grammar_version: int = grammar.GRAMMAR_VERSION) -> dict[str, list]:
    """Per split: a list of (text, Speaker, Channel, utterance seed). ``names_train`` asks
    for ``grammar.TRAIN_NAMES`` and ``pseudo_names`` generated names (``grammar.pseudo_names``).
    ``random_voices`` is the share of training-voice utterances whose speaker is a perturbed
    training variant (``synth.random_variant``); held-out splits always use the variants as
    shipped. ``espeak_data`` is espeak-ng's data directory (default: the installed one's).
    ``grammar_version`` picks the requests' grammar (``grammar.GRAMMARS``; the contact-name
    requests are the same in every version)."""
    data_dir = espeak_data or (synth.espeak_data_dir() if random_voices > 0 else None)
    rng = np.random.default_rng(seed)
    total = sum(sizes.values())
    pools = sentence_pools(seed, max(20000, _POOL_DRAWS_PER_UTT * total), grammar_version)
    fixed = {"names": grammar.name_sentences(sizes.get("names", 0), seed + 1),
             "names_train": grammar.training_name_sentences(sizes.get("names_train", 0),
                                                            seed + 2, pseudo_names)}
    out = {}
    for split, n in sizes.items():
        voice_split = "train" if split in ("train", "names_train") else \
            "dev" if split == "dev" else "test"
        pool = fixed.get(split, pools.get(split))
        items = []
        for k in range(n):
            text = pool[k] if split in fixed else pool[rng.integers(len(pool))]
            share = random_voices if voice_split == "train" else 0.0
            items.append((text, synth.draw_speaker(rng, variants[voice_split], share, data_dir),
                          synth.draw_channel(rng), int(rng.integers(2 ** 31))))
        out[split] = items
    return out


def pause_plan(seed: int, split: str, texts: list[str], share: float,
               pause_ms: tuple[float, float]) -> list[tuple[int, float]]:
    """Per utterance of ``split``: (words before the pause, pause in seconds), (0, 0.0) for
    none. A ``share`` of the requests of two words or more pause after a random inner word for
    a time uniform in ``pause_ms`` (a hesitation: "set a timer for ... ten minutes"). Drawn
    from a generator of its own, so a corpus without pauses is the one drawn before pauses
    existed, and the same seed gives the same sentences, voices and channels with or without
    them."""
    if share <= 0:
        return [(0, 0.0)] * len(texts)
    rng = np.random.default_rng([seed, SPLITS.index(split), _PAUSE_STREAM])
    out = []
    for text in texts:
        n_words = len(text.split())
        draw, cut, ms = rng.random(), rng.integers(1, max(n_words, 2)), rng.uniform(*pause_ms)
        out.append((int(cut), float(ms) / 1000) if n_words >= 2 and draw < share else (0, 0.0))
    return out


_PAUSE_STREAM = 0x7061   # "pa": the pause draws' own stream of the corpus seed


def render_one(args):
    """In a synthesis worker (a pool started with ``init_worker``): one utterance, ``(text,
    speaker, channel, seed, (words before a pause, pause s), spec[, grammar version])``, as
    (audio, float16 log-mel features). The version says what espeak-ng is given for the text
    and at what amplitude (``grammar.spoken``, ``grammar.espeak_amplitude``; without it, the
    text at espeak-ng's default)."""
    text, speaker, channel, seed, (cut, pause_s), spec, *rest = args
    version = rest[0] if rest else 0
    spoken = functools.partial(grammar.spoken, version=version)
    amplitude = grammar.espeak_amplitude(version)
    workdir = worker_dir()
    if pause_s > 0:
        audio = synth.synthesize_with_pause(text, cut, pause_s, speaker, channel, seed, workdir,
                                            spoken, amplitude)
    else:
        audio = synth.synthesize(text, speaker, channel, seed, workdir, spoken, amplitude)
    return audio, log_mel(audio, spec).astype(np.float16)


_WORKDIR = None


def init_worker(parent: str) -> None:
    """A synthesis worker's scratch folder for espeak-ng's files, one per process, inside the
    pool's ``parent`` folder (:func:`synthesis_pool` removes it). Ctrl-C is the parent's to
    handle (it terminates the pool): a worker would print a KeyboardInterrupt traceback."""
    global _WORKDIR
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKDIR = tempfile.mkdtemp(prefix="worker-", dir=parent)


def worker_dir() -> str:
    """The scratch folder of this synthesis worker (a pool from :func:`synthesis_pool`)."""
    return _WORKDIR


def remove_scratch(path: str, attempts: int = 60, pause_s: float = 0.05) -> None:
    """Remove a synthesis pool's scratch folder, trying again while it is still being
    written. A pool stopped by SIGTERM kills its workers, not the espeak-ng each may be running:
    that one finishes its utterance (well under a second) and writes ``utt.wav`` into a folder
    being removed, and rmtree failed with "Directory not empty" over the signal's one-line
    message (a CI run of 2026-12-07, the race noted since 2026-12-06). ``attempts`` x
    ``pause_s`` (3 s) bounds the wait; a folder still busy after it is an error as before."""
    for attempt in range(attempts):
        try:
            shutil.rmtree(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(pause_s)


@contextlib.contextmanager
def synthesis_pool(jobs: int):
    """A pool of ``jobs`` forked synthesis workers whose scratch folders are removed when it
    closes. (Until 2026-12-06 each worker kept a TemporaryDirectory of its own, whose cleanup
    never ran in a pool process that is terminated: every corpus, alias search and test run
    left one folder per worker in the temp directory, 223 on this machine.)"""
    parent = tempfile.mkdtemp(prefix="azsim-corpus-")
    try:
        with mp.get_context("fork").Pool(jobs, initializer=init_worker,
                                         initargs=(parent,)) as pool:
            yield pool
    finally:
        remove_scratch(parent)


def build_corpus(out_dir, sizes: dict[str, int], seed: int = 0, jobs: int | None = None,
                 spec: FrontendSpec = FrontendSpec(),
                 progress: Callable[[str, int, int], None] | None = None,
                 voice_split_seed: int | None = None, pseudo_names: int = 0,
                 random_voices: float = 0.0, pauses: float = 0.0,
                 pause_ms: tuple[float, float] = (200.0, 1000.0),
                 grammar_version: int = grammar.GRAMMAR_VERSION) -> dict:
    """Synthesize every split into ``out_dir``; returns the corpus description.

    ``seed`` draws the sentences, speakers and channels; ``voice_split_seed`` (default: ``seed``)
    decides which voice variants belong to train, dev and test. Keeping the split seed of an
    existing corpus while changing ``seed`` draws fresh training data whose voices stay disjoint
    from that corpus's dev and test voices (sentences are split by a hash of their text, which
    no seed changes). ``pseudo_names`` adds that many generated names to the ``names_train``
    requests (``grammar.pseudo_names``); ``random_voices`` gives that share of the training
    voices' utterances a perturbed speaker (``plan``); ``pauses`` gives that share of every
    split's requests a silence of ``pause_ms`` (min, max) inside (``pause_plan``);
    ``grammar_version`` draws the requests of that version of the grammar
    (``grammar.GRAMMARS``: an earlier one reproduces the draws of the code that had it).
    """
    if not 0 <= pause_ms[0] <= pause_ms[1]:
        raise ValueError(f"pause_ms {pause_ms}: expected 0 <= min <= max")
    out = Path(out_dir)
    refuse_a_held_corpus(out_dir, "corpus DIR")
    all_variants = synth.list_variants()
    check_shipped_split(all_variants)   # before DIR is made: a refusal leaves nothing behind
    out.mkdir(parents=True, exist_ok=True)
    split_seed = seed if voice_split_seed is None else voice_split_seed
    variants = synth.split_variants(all_variants, split_seed)
    heard = shipped_test_voices_in_training(variants, sizes, all_variants)
    if heard:
        warnings.warn(f"corpus DIR {out_dir}: its training voices include {len(heard)} of the "
                      f"shipped test set's ({', '.join(heard[:4])}"
                      f"{', ...' if len(heard) > 4 else ''}); a model trained on it has heard "
                      "them, and its shipped-test-set WER is no held-out figure (give "
                      "--voice-split-seed 0, the shipped set's split)", AzsimWarning,
                      stacklevel=2)
    work = plan(seed, sizes, variants, pseudo_names, random_voices,
                grammar_version=grammar_version)   # grammar.sentences checks the version
    # no more synthesis workers than utterances (--jobs 16 forked 16 for one; CLI audit)
    jobs = max(1, min(jobs or os.cpu_count() or 1, sum(len(items) for items in work.values())))
    report = progress or (lambda *_: None)
    meta = {"seed": seed, "voice_split_seed": split_seed, "sizes": sizes,
            "pseudo_names": pseudo_names, "random_voices": random_voices,
            "pauses": pauses, "pause_ms": list(pause_ms),
            "grammar": grammar.fingerprint(grammar_version),
            "grammar_version": grammar_version, "variants": variants,
            "frontend": {"sample_rate_hz": spec.sample_rate_hz, "n_mels": spec.n_mels,
                         "window_ms": spec.window_ms, "hop_ms": spec.hop_ms,
                         "n_fft": spec.n_fft, "f_max_hz": spec.f_max_hz},
            "espeak_ng": synth.espeak_version(), "seconds": {}}
    with synthesis_pool(jobs) as pool:
        for split, items in work.items():
            feats, audios = [], []
            breaks = pause_plan(seed, split, [t for t, *_ in items], pauses, pause_ms)
            args = [(t, s, c, u, b, spec, grammar_version)
                    for (t, s, c, u), b in zip(items, breaks)]
            for k, (audio, f) in enumerate(pool.imap(render_one, args, chunksize=16)):
                feats.append(f)
                if split in ("test", "names"):
                    audios.append(np.clip(np.rint(audio * 32768), -32768, 32767).astype(np.int16))
                report(split, k + 1, len(items))
            arrays = {
                "features": np.concatenate(feats) if feats else np.zeros((0, spec.n_mels), np.float16),
                "offsets": np.concatenate([[0], np.cumsum([f.shape[0] for f in feats])]).astype(np.int64),
                "texts": np.array([t for t, *_ in items], dtype=str),
                "voices": np.array([s.voice for _, s, *_ in items], dtype=str),
                "speed_wpm": np.array([s.speed_wpm for _, s, *_ in items], np.int16),
                "pitch": np.array([s.pitch for _, s, *_ in items], np.int16),
                "snr_db": np.array([np.inf if c.noise == "clean" else c.snr_db
                                    for _, _, c, _ in items], np.float32),
                "rt60_s": np.array([c.rt60_s for _, _, c, _ in items], np.float32),
                "pause_s": np.array([p for _, p in breaks], np.float32),
            }
            if audios:
                arrays["audio"] = np.concatenate(audios)
                arrays["audio_offsets"] = np.concatenate(
                    [[0], np.cumsum([a.size for a in audios])]).astype(np.int64)
            _write_whole(out / f"{split}.npz", arrays=arrays)
            meta["seconds"][split] = split_seconds(arrays["offsets"], spec)
    _write_whole(out / "corpus.json", (json.dumps(meta, indent=2) + "\n").encode())
    return meta


def _write_whole(path: Path, data: bytes | None = None, arrays: dict | None = None) -> None:
    """Write ``data`` (or the .npz of ``arrays``) to ``path`` whole or not at all: under a
    temporary name beside it, renamed once complete. A full disk is a one-line error, not a
    traceback over a truncated split that a later run would trust (or fail on)."""
    try:
        with output_file(str(path), "wb") as fh:
            if arrays is not None:
                np.savez(fh, **arrays)
            else:
                fh.write(data)
    except OSError as exc:
        raise AzsimError(f"{path}: cannot write ({os_reason(exc)}); the corpus in "
                         f"{path.parent} is incomplete") from None


def has_split(corpus_dir, split: str, meta: dict | None = None) -> bool:
    """Whether the corpus holds ``split``: its file exists and ``corpus.json`` (``meta``, read
    here when None) lists it, with utterances (the file says how many) or with none and an
    empty file; a corpus whose description has no ``sizes`` holds the files it has. A file
    its description does not list, or lists as empty while it holds utterances (left by an
    earlier draw into the folder), is not the corpus's."""
    path = Path(corpus_dir) / f"{split}.npz"
    if not path.is_file():
        return False
    meta = read_corpus_meta(corpus_dir) if meta is None else meta
    sizes = (meta or {}).get("sizes")
    if not isinstance(sizes, dict):
        return True
    if split not in sizes:
        return False
    if sizes[split]:
        return True
    try:
        texts = _array_headers(path, str(path), ("texts",))["texts"]
    except (AzsimError, KeyError):
        return True   # a damaged split: its reader says what is wrong with it
    return texts[0][0] == 0


def read_corpus_meta(corpus_dir, what: str = "") -> dict | None:
    """``corpus_dir/corpus.json`` as written by :func:`build_corpus`, checked as far as
    features are read by it: None when there is none; a file that cannot be read, is no
    JSON object, or whose ``frontend`` is no object of numbers is a one-line
    :class:`AzsimError` beginning with ``what`` (e.g. ``corpus merge source``) and the
    file's path."""
    path = Path(corpus_dir) / "corpus.json"
    where = f"{what} {path}".lstrip()
    if path_kind(path, where) is None:
        return None
    meta = load_json_file(path, where)
    if not isinstance(meta, dict):
        raise AzsimError(f"{where}: holds {quoted(meta)}, not a corpus description (a JSON "
                         "object with 'frontend', as 'azsim corpus' writes)")
    if "frontend" in meta:   # null is no frontend either
        check_frontend_record(where, meta["frontend"])
    return meta


def corpus_meta(corpus_dir) -> dict:
    """``corpus_dir/corpus.json`` as written by :func:`build_corpus`, or {} when there is
    none or it cannot be read (:func:`read_corpus_meta`): for records that name what a set
    or a run came from (its ``grammar`` is None for corpora drawn before the fingerprint was
    recorded). What reads features by it reads it with :func:`read_corpus_meta`."""
    try:
        return read_corpus_meta(corpus_dir) or {}
    except AzsimError:
        return {}


def load_split(corpus_dir, split: str) -> dict[str, np.ndarray]:
    """Every array of one split, checked (``check_split``)."""
    check_split(corpus_dir, split)
    return _read_split(corpus_dir, split)


def check_shipped_split(all_variants: list[str]) -> None:
    """The voice split is a seeded shuffle of the installed espeak-ng's variant list: another
    release with one variant more or fewer gives split 0 other test variants (8 of the 14
    shared with one removed; a corpus audit, 2026-12-07), and corpora drawn there put the
    shipped test set's voices in training without a word. Refused unless split 0's test
    variants are exactly the shipped test set's (recorded in its ``voices``)."""
    import importlib.resources
    path = importlib.resources.files("azsim") / "data" / "testset" / "test.npz"
    with np.load(str(path), allow_pickle=False) as z:
        shipped = sorted({str(v).split("+")[-1] for v in z["voices"]})
    here = sorted(synth.split_variants(all_variants, 0)["test"])
    if here != shipped:
        raise AzsimError(f"espeak-ng here ({synth.espeak_version()}, {len(all_variants)} voice "
                         f"variants) splits its voices otherwise than the shipped data's: "
                         f"split 0's test variants would be {', '.join(here[:4])}, ..., the "
                         f"shipped test set's are {', '.join(shipped[:4])}, ...; corpora drawn "
                         "here could train on the shipped test voices. Install the espeak-ng "
                         "the shipped data was made with (1.51, Debian's 1.51+dfsg)")


def shipped_test_voices_in_training(variants: dict, sizes: dict,
                                    all_variants: list[str] | None = None) -> list[str]:
    """The shipped test set's voice variants among a corpus's training variants, when it has
    training splits. Stage 3's names corpus was drawn with --seed 1 before
    --voice-split-seed existed, and put 11 of the 14 into the training of every shipped model
    (README, issue #6, "Voices the models heard"); this is what would have said so."""
    if not any(sizes.get(split, 0) > 0 for split in ("train", "names_train")):
        return []
    # the variant list the caller already read (each read runs espeak-ng)
    shipped = synth.split_variants(all_variants or synth.list_variants(), 0)["test"]
    return sorted(set(shipped) & set(variants["train"]))


def split_seconds(offsets: np.ndarray, frontend) -> float:
    """Seconds of audio in a split whose utterances have the frame counts ``diff(offsets)``:
    each lasts until its last frame's window ends, ``(F - 1) x hop + window``, as a test set's
    utterance does (:func:`azsim.evaluate.features_seconds`). Until 2026-12-06 a split's
    seconds were its frames x hop, 15 ms an utterance short. ``frontend``: its
    ``sample_rate_hz``, ``hop_ms`` and ``window_ms`` (:func:`hop_window_s`)."""
    hop_s, window_s = hop_window_s(frontend)   # whole samples
    frames = np.diff(np.asarray(offsets, np.int64))
    frames = frames[frames > 0]
    return float((frames - 1).sum() * hop_s + frames.size * window_s)


def _read_split(corpus_dir, split: str) -> dict[str, np.ndarray]:
    with np.load(Path(corpus_dir) / f"{split}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _array_headers(path: Path, where: str, names=None) -> dict[str, tuple]:
    """``{name: (shape, dtype)}`` of the arrays ``names`` (default: all) of an .npz, from
    their .npy headers, without reading the (GB-sized) data."""
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if m.endswith(".npy")]
            for member in members:
                name = member[:-4]
                if names is not None and name not in names:
                    continue
                with zf.open(member) as fh:
                    major, _ = np.lib.format.read_magic(fh)
                    read = (np.lib.format.read_array_header_1_0 if major == 1
                            else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read(fh)
                out[name] = (shape, dtype)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise AzsimError(f"{where}: {' '.join(sorted(names or ['arrays']))} cannot be read "
                         f"({exc})") from None
    return out


def _feature_shape(path: Path, where: str) -> tuple:
    """The shape of ``features`` from its .npy header."""
    headers = _array_headers(path, where, ("features",))
    if "features" not in headers:
        raise AzsimError(f"{where}: features cannot be read (no features.npy)")
    return headers["features"][0]


def check_split(corpus_dir, split: str) -> int:
    """Raise a one-line ``AzsimError`` unless ``corpus_dir/split.npz`` is a corpus split as
    ``build_corpus`` writes it: features [frames, mels], offsets [n + 1] ascending from 0 to
    the frame count, texts [n] strings (features are checked from their header only).
    Returns n, its number of utterances."""
    path = Path(corpus_dir) / f"{split}.npz"
    where = f"corpus split {path}"
    arrays = read_npz(path, where, keys=("offsets", "texts"))
    with zipfile.ZipFile(path) as zf:
        names = {Path(n).stem for n in zf.namelist()}
    missing = {"features", "offsets", "texts"} - names
    if missing:
        raise AzsimError(f"{where}: no {', '.join(sorted(missing))} array; not a split made "
                         "by 'azsim corpus'")
    shape = _feature_shape(path, where)
    if len(shape) != 2:
        raise AzsimError(f"{where}: features has shape {shape}; expected [frames, mels]")
    texts = arrays["texts"]
    if texts.dtype.kind != "U" or texts.ndim != 1:
        raise AzsimError(f"{where}: texts is {texts.dtype} {texts.shape}; expected 1-D strings")
    check_offsets(where, arrays["offsets"], texts.size, shape[0], "features")
    return int(texts.size)


def check_training_corpus(corpus_dir) -> None:
    """What ``azsim train`` reads, checked before any training work: ``train`` (with
    ``names_train`` when there is one) holding utterances to train on, and ``dev`` holding
    utterances to choose the checkpoint written as weights.npz by (its word error rate)."""
    if path_kind(Path(corpus_dir) / "train.npz", f"--corpus {corpus_dir}") != "file":
        raise AzsimError(f"--corpus {corpus_dir}: no train.npz; make one with 'azsim corpus'")
    sizes = {split: check_split(corpus_dir, split) for split in ("train", "dev", "names_train")
             if split != "names_train" or (Path(corpus_dir) / f"{split}.npz").is_file()}
    if not sizes["train"] + sizes.get("names_train", 0):
        files = "train.npz and names_train.npz hold" if "names_train" in sizes \
            else "train.npz holds"
        raise AzsimError(f"--corpus {corpus_dir}: no training utterances ({files} none); make "
                         "a corpus with 'azsim corpus --train N', N > 0")
    if not sizes["dev"]:
        raise AzsimError(f"--corpus {corpus_dir}: dev.npz holds no utterances; training "
                         "writes the checkpoint with the lowest dev WER as weights.npz, so it "
                         "needs a dev split ('azsim corpus --dev N', N > 0)")


def _check_counts(where: str, meta: dict, sizes_required: bool) -> None:
    """A corpus description's ``sizes`` (utterances per split) and ``seconds`` (per split; a
    description may lack it) as :func:`build_corpus` writes them."""
    def number(v) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    for key, required, ok, wanted in (
            ("sizes", sizes_required, lambda v: number(v) and isinstance(v, int) and v >= 0,
             "a count of utterances"),
            ("seconds", False, lambda v: number(v) and 0 <= v < float("inf"),
             "a number of seconds")):
        value = meta.get(key, None if required else {})
        if not isinstance(value, dict):
            raise AzsimError(f"{where}: {key} is {quoted(value)}; expected an object of split: "
                             f"{wanted}, as 'azsim corpus' writes")
        for split, n in value.items():
            if not ok(n):
                raise AzsimError(f"{where}: {key}.{quoted(split)} is {quoted(n)}; expected "
                                 f"{wanted}")


def _check_mergeable(split: str, srcs: list) -> None:
    """The ``split`` of every source in ``srcs`` holds the same arrays, of the same dtype and
    the same shape past the first axis (the features' mels), so they concatenate; a
    ``pause_s`` missing from corpora drawn before pauses is filled with zeros."""
    first = None
    for src in srcs:
        path = src / f"{split}.npz"
        where = f"corpus merge source {src}"
        headers = _array_headers(path, f"corpus split {path}")
        if "pause_s" not in headers:
            headers["pause_s"] = None   # filled with zeros if another source has pauses
        if first is None:
            first, first_src = headers, src
            continue
        for holder, a, other, b in ((src, headers, first_src, first),
                                    (first_src, first, src, headers)):
            extra = sorted(set(a) - set(b))
            if extra:
                raise AzsimError(f"{where}: {split}.npz of {holder} holds "
                                 f"{', '.join(extra)}, which {split}.npz of {other} does not; "
                                 "only corpora with the same arrays merge (made by different "
                                 "azsim versions, or one relabeled?)")
        for key, head in headers.items():
            if head is None or first[key] is None:
                continue
            (shape, dtype), (shape0, dtype0) = head, first[key]
            same = dtype.kind == dtype0.kind if dtype.kind in "US" else dtype == dtype0
            if not same or shape[1:] != shape0[1:]:
                raise AzsimError(f"{where}: {split}.npz {key} is {dtype} {list(shape)} where "
                                 f"{first_src}'s is {dtype0} {list(shape0)}; only arrays of "
                                 "the same dtype and width merge (features of other mels?)")


def refuse_a_held_corpus(out_dir, label: str) -> None:
    """A one-line error if ``out_dir`` already holds a corpus (its ``corpus.json`` or a
    split): a draw, a merge or a relabeling writes only its own splits, so the others of the
    earlier corpus would stay beside them (training read a stale names_train.npz, some of it
    in the new draw's held-out voices, as its own until 2026-12-06), and whatever it writes
    replaces finished work (a merge or a relabeling into a corpus replaced it until then)."""
    out = Path(out_dir)
    held = [name for name in ["corpus.json"] + [f"{s}.npz" for s in SPLITS]
            if (out / name).exists()]
    if held:
        raise AzsimError(f"{label} {out_dir}: already holds a corpus ({', '.join(held)}); "
                         "give a new folder")


def _make_corpus_dir(out: Path, label: str) -> bool:
    """Create ``out`` for a merge or a relabeling; whether it was made here (and so is removed
    again if the command does not finish)."""
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AzsimError(f"{label}: cannot create the folder ({exc.strerror})") from None
    return made


@contextlib.contextmanager
def _whole_corpus_or_none(out: Path, made: bool):
    """A merge or a relabeling that stops part-way (an error, Ctrl-C, SIGTERM) removes the
    splits it wrote: a relabeling killed while decoding names_train left train, dev, test and
    names without corpus.json, which ``azsim train`` took as a corpus (without its
    names_train) and a second relabeling refused as one (an audit, 2026-12-07)."""
    before = set(out.iterdir())
    try:
        yield
    except BaseException:
        for name in ["corpus.json"] + [f"{split}.npz" for split in SPLITS]:
            path = out / name
            if path not in before and path.is_file():
                path.unlink()
        if made:
            try:
                out.rmdir()   # only if nothing else is in it
            except OSError:
                pass
        raise


def merge_corpora(out_dir, sources: list) -> dict:
    """Concatenate the training splits of several corpora into ``out_dir``; returns its
    description (``corpus.json``).

    ``train`` and ``names_train`` are the sources' utterances back to back, in the order given.
    The held-out splits (``dev``, ``test``, ``names``) are copied from the last source, so the
    merged corpus selects checkpoints on the same dev set as the newest draw it contains (the
    shipped 4-bit and 80 % models were trained on c14 and c15 merged this way). Every source
    must share the voice split (``voice_split_seed``) and the frontend: otherwise one source's
    training voices could be another's held-out voices, or the features would not be the same
    quantity.
    """
    out = Path(out_dir)
    srcs = [Path(s) for s in sources]
    if len(srcs) < 2:
        raise AzsimError(f"corpus merge: {len(srcs)} source corpus given; give two or more")
    metas, n_training, seen, held = [], [], {}, []
    for src in srcs:
        what = f"corpus merge source {src}"
        if resolved_path(out, f"corpus merge DIR {out_dir}") == resolved_path(src, what):
            raise AzsimError(f"corpus merge DIR {out_dir}: is also a source; write elsewhere")
        real = str(resolved_path(src, what))
        if real in seen:   # one corpus twice doubled every utterance of it
            raise AzsimError(f"corpus merge source {src}: given twice (as {seen[real]} too); "
                             "each corpus is merged once")
        seen[real] = src
        meta_path = src / "corpus.json"
        if path_kind(meta_path, what) != "file" or path_kind(src / "train.npz", what) != "file":
            raise AzsimError(f"corpus merge source {src}: no corpus.json and train.npz; "
                             "give folders made by 'azsim corpus'")
        meta = read_corpus_meta(src, "corpus merge source")
        if not isinstance(meta.get("frontend"), dict) or "hop_ms" not in meta["frontend"]:
            raise AzsimError(f"corpus merge source {meta_path}: not a corpus description (it "
                             "needs 'frontend' with 'hop_ms', as 'azsim corpus' writes)")
        held.append({split for split in SPLITS if has_split(src, split, meta)})
        counts = {split: check_split(src, split) for split in held[-1]}
        sizes = meta.get("sizes") if isinstance(meta.get("sizes"), dict) else {}
        lost = [split for split in SPLITS if sizes.get(split) and
                not (src / f"{split}.npz").is_file()]
        if lost:   # the merge went on without it (a dev split) and training failed later
            raise AzsimError(f"corpus merge source {src}: its corpus.json lists "
                             f"{sizes[lost[0]]} {lost[0]} utterance(s) but {lost[0]}.npz is "
                             "missing; draw the corpus again or restore the file")
        # the merged description is the last source's with its counts replaced: that one
        # must be whole; the others' counts are kept in its merged_from
        _check_counts(f"corpus merge source {meta_path}", meta, src is srcs[-1])
        n_training.append(sum(counts.get(split, 0) for split in TRAINING_SPLITS))
        metas.append(meta)
    # A source before the last gives only its training utterances (the last also gives the
    # held-out splits): one without any would add nothing, and the merge would hold no more.
    for src, n in zip(srcs[:-1], n_training):
        if not n:
            raise AzsimError(f"corpus merge source {src}: holds no training utterances; it "
                             "would add nothing to the merged corpus")
    for src, m in zip(srcs, metas):
        # the split's seed alone is not the split: corpora made before --voice-split-seed
        # record none (two of them compared None == None and merged, one's training voices
        # the other's test voices), and another espeak-ng voice list splits one seed
        # differently; the recorded variant lists are compared (corpus audit, 2026-12-06)
        v = m.get("variants")
        if not (isinstance(v, dict) and all(
                isinstance(v.get(k), list) and all(isinstance(x, str) for x in v[k])
                for k in ("train", "dev", "test"))):
            raise AzsimError(f"corpus merge source {src}: its corpus.json records no voice "
                             "split (the train, dev and test variants), so its training voices "
                             "cannot be checked against the others' held-out voices; give "
                             "corpora made by azsim corpus since 2026-12-02")
    for key in ("voice_split_seed", "variants", "frontend"):
        values = [m.get(key) for m in metas]
        if any(v != values[0] for v in values):
            if key == "variants":   # name the split whose voices differ
                split = next(k for k in ("train", "dev", "test")
                             if any(v[k] != values[0][k] for v in values))
                key = f"variants.{split}"
                values = [", ".join(v[split][:4]) + (", ..." if len(v[split]) > 4 else "")
                          for v in values]
            shown = [f"{s}: {v}" for s, v in zip(srcs, values)]
            raise AzsimError(f"corpus merge sources: {key} differs (" + "; ".join(shown)
                             + "); only corpora with the same voice split and frontend merge")
    for split in TRAINING_SPLITS:
        _check_mergeable(split, [s for s, h in zip(srcs, held) if split in h])
    refuse_a_held_corpus(out_dir, "corpus merge DIR")   # after naming a source given as DIR
    made = _make_corpus_dir(out, f"corpus merge DIR {out_dir}")
    with _whole_corpus_or_none(out, made):
        return _write_merged(out, srcs, metas, held)


def _write_merged(out: Path, srcs: list, metas: list, held: list) -> dict:
    """The writing half of :func:`merge_corpora`, its sources checked."""
    sizes, seconds = {}, {}
    front = metas[-1]["frontend"]
    # every azsim corpus records these; a hand-made description may give the hop alone
    timing = SimpleNamespace(sample_rate_hz=front.get("sample_rate_hz", 16000),
                             hop_ms=front["hop_ms"],
                             window_ms=front.get("window_ms", front["hop_ms"]))
    for split in TRAINING_SPLITS:
        # every split was checked above
        parts = [_read_split(s, split) for s, h in zip(srcs, held) if split in h]
        if not parts:
            continue
        if any("pause_s" in p for p in parts):   # corpora drawn before pauses had none
            for p in parts:
                p.setdefault("pause_s", np.zeros(p["texts"].size, np.float32))
        keys = set(parts[0])
        merged = {k: np.concatenate([p[k] for p in parts]) for k in keys if k != "offsets"}
        ends = np.cumsum([0] + [p["offsets"][-1] for p in parts[:-1]])
        merged["offsets"] = np.concatenate(
            [[0]] + [p["offsets"][1:] + end for p, end in zip(parts, ends)]).astype(np.int64)
        _write_whole(out / f"{split}.npz", arrays=merged)
        sizes[split] = int(merged["texts"].size)
        seconds[split] = split_seconds(merged["offsets"], timing)
    for split in HELD_OUT_SPLITS:
        path = srcs[-1] / f"{split}.npz"
        if split in held[-1]:   # listed; its count is what it holds
            sizes[split] = check_split(srcs[-1], split)
            with np.load(path, allow_pickle=False) as z:   # the offsets alone, not the audio
                seconds[split] = split_seconds(z["offsets"], timing)
            shutil.copyfile(path, out / f"{split}.npz")
    # The draw settings the sources do not share are None here (each source's stays in
    # merged_from): the last source's stood for all, so a merge of grammar 3 and grammar 0
    # draws said grammar 0, and eval called the grammar-3 utterances another grammar's.
    mixed = {key: None for key in ("grammar", "grammar_version", "random_voices", "pauses",
                                   "pause_ms", "pseudo_names")
             if len({json.dumps(m.get(key), sort_keys=True) for m in metas}) > 1}
    meta = dict(metas[-1], **mixed, seed=None, sizes=sizes, seconds=seconds,
                merged_from=[{"dir": str(s), "seed": m.get("seed"), "sizes": m.get("sizes"),
                              "random_voices": m.get("random_voices"),
                              "pauses": m.get("pauses", 0.0), "grammar": m.get("grammar"),
                              "grammar_version": m.get("grammar_version"),
                              "pseudo_names": m.get("pseudo_names")}
                             for s, m in zip(srcs, metas)])
    _write_whole(out / "corpus.json", (json.dumps(meta, indent=2) + "\n").encode())
    return meta


# Utterances decoded between two progress reports (and held as float32 features at once).
_RELABEL_CHUNK = 256


_HELD_OUT_NAMES = frozenset(grammar.NEW_CONTACTS)   # the names test set's contacts


def relabel_corpus(out_dir, source, weights: dict, model_cfg, teacher: str = "",
                   progress: Callable[[str, int, int], None] | None = None) -> dict:
    """A copy of corpus ``source`` in ``out_dir`` whose training transcripts are a teacher
    model's: sequence-level knowledge distillation (Kim and Rush, EMNLP 2016), so that a
    compressed student trained on it learns to write what the teacher writes, its mistakes
    included. Returns the description (``corpus.json``).

    Every utterance of ``train`` and ``names_train`` is decoded greedily by azsim's float
    golden model with ``weights`` (``model_cfg`` its configuration; ``teacher`` names them in
    the description); its hypothesis replaces ``texts``, the corpus's own transcript is kept
    as ``source_texts``, and an utterance whose hypothesis is empty keeps its transcript (an
    empty target teaches nothing but silence), as does one whose hypothesis is a text of the
    held-out sentence buckets (:func:`azsim.corpus.synth.sentence_split`), which no training
    text may be. The features and every other array are the
    source's, and the held-out splits are copied unchanged, so checkpoints are still chosen
    on the true dev transcripts. (``merge_corpora`` refuses to merge a relabeled corpus with
    one that is not: their training splits hold different arrays.)
    """
    from ..model.vocab import make_vocab

    out, src = Path(out_dir), Path(source)
    what = f"corpus relabel SOURCE {source}"
    meta = read_corpus_meta(src, "corpus relabel SOURCE")
    if meta is None or path_kind(src / "train.npz", what) != "file":
        raise AzsimError(f"{what}: no corpus.json and train.npz; give a folder made by "
                         "'azsim corpus'")
    if resolved_path(out, f"corpus relabel DIR {out_dir}") == src.resolve():
        raise AzsimError(f"corpus relabel DIR {out_dir}: is the source; write elsewhere")
    refuse_a_held_corpus(out_dir, "corpus relabel DIR")
    splits = [sp for sp in SPLITS if has_split(src, sp, meta)]
    sizes = {split: check_split(src, split) for split in splits}
    if not sum(sizes.get(split, 0) for split in TRAINING_SPLITS):
        raise AzsimError(f"{what}: holds no training utterances, so there is nothing to "
                         "relabel; give a corpus made with 'azsim corpus --train N', N > 0")
    # the teacher reads the features as its own: made by its frontend, of its width
    check_feature_frontend(what, meta.get("frontend"), model_cfg)
    for split in set(splits) & set(TRAINING_SPLITS):
        path = src / f"{split}.npz"
        mels = _feature_shape(path, f"corpus split {path}")[1]
        if mels != model_cfg.frontend.n_mels:
            raise AzsimError(f"corpus split {path}: features have {mels} mels where the "
                             f"model's model.frontend.n_mels = {model_cfg.frontend.n_mels}; "
                             "the teacher reads only features of its own frontend")
    vocab = make_vocab(model_cfg.vocab, model_cfg.vocab_size)
    report = progress or (lambda *_: None)
    made = _make_corpus_dir(out, f"corpus relabel DIR {out_dir}")
    with _whole_corpus_or_none(out, made):
        return _write_relabeled(out, src, meta, splits, weights, model_cfg, vocab, teacher,
                                report)


def _write_relabeled(out: Path, src: Path, meta: dict, splits: list, weights: dict, model_cfg,
                     vocab, teacher: str, report) -> dict:
    """The writing half of :func:`relabel_corpus`, its source checked."""
    from ..model import float_ref
    counts = {}
    for split in splits:
        if split not in TRAINING_SPLITS:
            shutil.copyfile(src / f"{split}.npz", out / f"{split}.npz")
            continue
        arrays = _read_split(src, split)
        off, feats = arrays["offsets"], arrays["features"]
        # a relabeled source's own transcripts are a teacher's: its source_texts are the
        # corpus's (until 2026-12-06 relabeling it again kept the first teacher's as them)
        truth = arrays.get("source_texts", arrays["texts"])
        texts = [str(t) for t in truth]
        hyps = []
        for start in range(0, len(texts), _RELABEL_CHUNK):
            chunk = [feats[off[k]:off[k + 1]].astype(np.float32)
                     for k in range(start, min(start + _RELABEL_CHUNK, len(texts)))]
            hyps += [vocab.decode(tokens) for _, tokens in float_ref.recognize_many(
                weights, model_cfg, chunk)]
            report(f"relabel {split}", len(hyps), len(texts))
        # a hypothesis whose text hashes to the held-out buckets keeps the transcript: the
        # teacher's mistakes ("turn the lights a") may be test or dev sentences, which no
        # training text may be (an accuracy audit, 2026-12-06: 3 of 15 changed texts)
        # and so does one spelling a names-test contact (NEW_CONTACTS): most names-test
        # sentences hash to train, so a teacher spelling "kasimir" for the training name
        # "casimir" put a test name into training (a corpus audit, 2026-12-06)
        held = [bool(h.split()) and (synth.sentence_split(" ".join(h.split())) != "train"
                                     or not _HELD_OUT_NAMES.isdisjoint(h.split()))
                for h in hyps]
        new = [t if not h.split() or out_of_train else h
               for h, t, out_of_train in zip(hyps, texts, held)]
        counts[split] = {"utterances": len(texts),
                         "changed": sum(n.split() != t.split() for n, t in zip(new, texts)),
                         "empty_kept_source": sum(not h.split() for h in hyps),
                         "held_out_kept_source": sum(held)}
        arrays["source_texts"] = truth
        arrays["texts"] = np.array(new, dtype=str)
        _write_whole(out / f"{split}.npz", arrays=arrays)
    meta = {**meta, "relabeled_from": str(src), "teacher": teacher,
            "relabeled": counts}
    _write_whole(out / "corpus.json", (json.dumps(meta, indent=2) + "\n").encode())
    return meta

