"""Synthetic smart-speaker speech with espeak-ng: voices, speeds, pitches, rooms and noise.

No recorded speech can be downloaded here (nothing is fetched at run time), so the corpus is made
with Debian's espeak-ng (``apt-get install espeak-ng``). Formant synthesis is far more uniform
than people are, and a model trained on a few espeak voices does not understand the others,
so every utterance draws a fresh speaker: one of espeak-ng's 8 English accents with one of
its ~100 voice variants, a speaking rate, pitch and word gap, a gain, a room (synthetic
exponentially decaying reverberation) and background noise (white, pink or brown, or mains
hum) at a random signal-to-noise ratio, with random leading and trailing silence.

The train/dev/test split is by voice AND by sentence: whole voice variants are reserved for
dev and test (their accents occur in training, their variants never), and every distinct
sentence belongs to one split by a hash of its text.

espeak-ng writes 22,050 Hz 16-bit mono; :func:`azsim.model.audio.load_audio` resamples it to
the frontend's 16 kHz (``resample_poly`` 320/441) and the features are azsim's own log-mel
frontend, exactly what inference sees.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve, lfilter

from ..errors import AzsimError
from ..model.audio import load_audio

SAMPLE_RATE_HZ = 16000

# espeak-ng 1.51's English accents (``espeak-ng --voices=en``, without the mbrola voices,
# which need non-free packages).
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
# Variants that are not speech-like (an alien, a PA system, a whisper, a test voice): left out.
_EXCLUDED_VARIANTS = {"Demonic", "Half-LifeAnnouncementSystem", "whisper", "female_whisper",
                      "fast_test", "croak", "UniversalRobot"}
# Fraction of the remaining variants reserved for each held-out split.
DEV_VARIANT_SHARE = 0.08
TEST_VARIANT_SHARE = 0.15

# Speaker and channel ranges (uniform unless noted). espeak-ng's defaults are 175 wpm,
# pitch 50 of 0..99, word gap 0 (units of 10 ms at the default rate).
SPEED_WPM = (125, 215)
PITCH = (20, 80)
WORD_GAP_10MS = (0, 3)
GAIN_DB = (-18.0, 0.0)
SNR_DB = (0.0, 30.0)   # white/pink/brown noise; a quarter of utterances stay clean
CLEAN_SHARE = 0.25
REVERB_SHARE = 0.3
RT60_S = (0.15, 0.6)
LEAD_SILENCE_S = (0.05, 0.5)
TRAIL_SILENCE_S = (0.2, 0.7)


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise AzsimError("espeak-ng: not found on PATH; install it with "
                         "'apt-get install espeak-ng' (Debian/Ubuntu)")
    return path


def espeak_version() -> str:
    """E.g. "eSpeak NG text-to-speech: 1.51" (the text before "Data at:")."""
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True)
    return " ".join(out.stdout.partition("Data at:")[0].split())


def list_variants() -> list[str]:
    """espeak-ng's voice variants (``espeak-ng --voices=variant``), minus non-speech ones."""
    lines = subprocess.run([espeak_binary(), "--voices=variant"], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    # Columns: Pty Language Age/Gender VoiceName File Other-Languages, aligned under the
    # header. The -v suffix is the file's base name, which may hold a space ("!v/Mr serious":
    # taking its first word alone made "en+Mr", which espeak-ng speaks as the accent's plain
    # voice, in corpora made before 2026-12-03).
    header = lines[0]
    start = header.index("File")
    end = header.index("Other") if "Other" in header else None
    out = []
    for line in lines[1:]:
        words = line.split()
        if len(words) >= 5 and words[3] not in _EXCLUDED_VARIANTS:
            out.append(line[start:end].strip().split("/")[-1])
    return sorted(out)


def split_variants(variants: list[str], seed: int) -> dict[str, list[str]]:
    """Disjoint train/dev/test voice variants (a seeded shuffle)."""
    rng = np.random.default_rng(seed)
    order = [variants[i] for i in rng.permutation(len(variants))]
    n_test = max(1, round(TEST_VARIANT_SHARE * len(order)))
    n_dev = max(1, round(DEV_VARIANT_SHARE * len(order)))
    return {"test": sorted(order[:n_test]), "dev": sorted(order[n_test:n_test + n_dev]),
            "train": sorted(order[n_test + n_dev:])}


def sentence_split(text: str) -> str:
    """The split a sentence belongs to, from a hash of its text: 10 % test, 5 % dev."""
    h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") % 100
    return "test" if h < 10 else "dev" if h < 15 else "train"


@dataclass(frozen=True)
class Speaker:
    voice: str          # espeak-ng -v argument, accent+variant (``~random`` appended for a
                        # perturbed variant, see ``variant_text``)
    speed_wpm: int
    pitch: int
    word_gap_10ms: int
    variant_text: str = ""  # a generated espeak-ng variant file to speak with instead of the
                            # named variant (random_variant); "" = the variant as shipped


# Perturbed speakers (``azsim corpus --random-voices SHARE``): each is a training variant's
# espeak-ng voice file with its formant resonances moved, as if a different vocal tract said
# it. Adult vocal tract lengths span roughly 0.85-1.15x their mean and formant frequencies
# scale inversely with length (Fant 1960; the warp range of VTLP, Jaitly & Hinton 2013, is
# 0.9-1.1); on top of the common factor each formant moves a little on its own (articulation
# and nasality differ between speakers), and the bandwidths and levels vary as breathy or
# pressed voices do. Pitch base and range scale together. Ranges are per speaker, uniform.
VTL_FORMANT_SCALE = (0.85, 1.15)
FORMANT_JITTER = (0.95, 1.05)
FORMANT_LEVEL_SCALE = (0.75, 1.33)
FORMANT_WIDTH_SCALE = (0.75, 1.33)
PITCH_SCALE = (0.8, 1.25)
ROUGHNESS = (0, 4)      # espeak-ng's creaky-voice setting, 0..7 (its default is 2)


def espeak_data_dir() -> str:
    """espeak-ng's data directory, as ``espeak-ng --version`` reports it."""
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True).stdout
    _, sep, path = out.partition("Data at:")
    if not sep or not os.path.isdir(path.strip()):
        raise AzsimError(f"espeak-ng: cannot find its data directory in {out.strip()!r}")
    return path.strip()


def _ranges(ranges, what: str) -> list[tuple[float, float]]:
    """``ranges``, a (lo, hi) pair or a sequence of such pairs, as a list of pairs, checked:
    each 0 < lo <= hi, and finite."""
    pairs = [ranges] if len(ranges) == 2 and all(
        isinstance(v, (int, float, np.integer, np.floating)) for v in ranges) else list(ranges)
    out = []
    for pair in pairs:
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise ValueError(f"{what} {ranges!r}: expected a (lo, hi) pair or a sequence of "
                             "such pairs") from None
        if not 0 < lo <= hi < float("inf"):
            raise ValueError(f"{what} {ranges!r}: each range needs 0 < lo <= hi")
        out.append((lo, hi))
    if not out:
        raise ValueError(f"{what} {ranges!r}: no range given")
    return out


def draw_scale(ranges, rng: np.random.Generator, what: str = "range") -> float:
    """A factor uniform over ``ranges``: one (lo, hi) pair, or a sequence of pairs drawn as one
    uniform over their union, each in proportion to its length. One generator call either way:
    a single pair is ``rng.uniform(lo, hi)``, the draw of ``random_variant`` before it took
    ranges."""
    pairs = _ranges(ranges, what)
    if len(pairs) == 1:
        return rng.uniform(*pairs[0])
    u = rng.uniform(0.0, sum(hi - lo for lo, hi in pairs))
    for lo, hi in pairs:
        if u < hi - lo:
            return lo + u
        u -= hi - lo
    return pairs[-1][1]   # u at the very top (rounding): the last range's end


def random_variant(base: str, rng: np.random.Generator, data_dir: str | None = None, *,
                   vtl_scale=VTL_FORMANT_SCALE, pitch_scale=PITCH_SCALE) -> str:
    """The text of an espeak-ng variant file: variant ``base`` with its formants and pitch
    perturbed (the ranges above). Lines it does not change are kept as they are.
    ``vtl_scale`` (the common formant factor) and ``pitch_scale``: a (lo, hi) pair or a
    sequence of pairs (:func:`draw_scale`); the defaults are the training ranges, and with
    them every draw is the one made before these parameters existed (a test). The common
    factor is the first value drawn from ``rng``."""
    vtl_pairs, pitch_pairs = _ranges(vtl_scale, "vtl_scale"), _ranges(pitch_scale,
                                                                       "pitch_scale")
    path = os.path.join(data_dir or espeak_data_dir(), "voices", "!v", base)
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    vtl = draw_scale(vtl_pairs, rng)
    pitch = draw_scale(pitch_pairs, rng)
    out = []
    for line in lines:
        words = line.split()
        if words[:1] == ["formant"] and len(words) >= 5:
            freq, level, width = (float(w) for w in words[2:5])
            freq *= vtl * rng.uniform(*FORMANT_JITTER)
            level *= rng.uniform(*FORMANT_LEVEL_SCALE)
            width *= rng.uniform(*FORMANT_WIDTH_SCALE)
            line = " ".join(["formant", words[1], *(str(round(v)) for v in (freq, level, width)),
                             *words[5:]])
        elif words[:1] == ["pitch"] and len(words) >= 3:
            line = f"pitch {round(float(words[1]) * pitch)} {round(float(words[2]) * pitch)}"
        elif words[:1] in (["roughness"], ["name"]):
            continue
        out.append(line)
    out.append(f"name {base}~random")
    out.append(f"roughness {int(rng.integers(ROUGHNESS[0], ROUGHNESS[1] + 1))}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Channel:
    gain_db: float
    noise: str          # clean | white | pink | brown | hum
    snr_db: float
    rt60_s: float       # 0: no reverberation
    lead_s: float
    trail_s: float


def draw_speaker(rng: np.random.Generator, variants: list[str], random_share: float = 0.0,
                 data_dir: str | None = None) -> Speaker:
    """A speaker: an accent, one of ``variants``, a rate, pitch and word gap; with
    probability ``random_share`` the variant's voice file perturbed (``random_variant``).
    With ``random_share`` 0 the draws are those of corpora made before it existed."""
    accent = ACCENTS[rng.integers(len(ACCENTS))]
    variant = variants[rng.integers(len(variants))]
    speaker = Speaker(f"{accent}+{variant}",
                      int(rng.integers(SPEED_WPM[0], SPEED_WPM[1] + 1)),
                      int(rng.integers(PITCH[0], PITCH[1] + 1)),
                      int(rng.integers(WORD_GAP_10MS[0], WORD_GAP_10MS[1] + 1)))
    if random_share > 0 and rng.random() < random_share:
        speaker = Speaker(speaker.voice + "~random", speaker.speed_wpm, speaker.pitch,
                          speaker.word_gap_10ms, random_variant(variant, rng, data_dir))
    return speaker


def draw_channel(rng: np.random.Generator) -> Channel:
    clean = rng.random() < CLEAN_SHARE
    return Channel(float(rng.uniform(*GAIN_DB)),
                   "clean" if clean else ("white", "pink", "brown", "hum")[rng.integers(4)],
                   float(rng.uniform(*SNR_DB)),
                   float(rng.uniform(*RT60_S)) if rng.random() < REVERB_SHARE else 0.0,
                   float(rng.uniform(*LEAD_SILENCE_S)), float(rng.uniform(*TRAIL_SILENCE_S)))


_RANDOM_VARIANT = "azsim-random"


def _private_data_dir(workdir: str) -> str:
    """A copy of espeak-ng's data directory in ``workdir`` made of symbolic links, with a
    variants folder of its own that a generated variant file can be written to (espeak-ng
    reads variants only from ``DATA/voices/!v``; ``--path`` points it here)."""
    root = os.path.join(workdir, "espeak")
    data = os.path.join(root, "espeak-ng-data")
    if os.path.isdir(data):
        return root
    system = espeak_data_dir()
    os.makedirs(os.path.join(data, "voices", "!v"))
    # Link every entry but the folder on the way down to the variants, which gets its own.
    for sub, own in (("", "voices"), ("voices", "!v"), (os.path.join("voices", "!v"), None)):
        for entry in os.listdir(os.path.join(system, sub)):
            if entry != own:
                os.symlink(os.path.join(system, sub, entry), os.path.join(data, sub, entry))
    return root


def speak(text: str, speaker: Speaker, workdir: str, amplitude: int | None = None
          ) -> np.ndarray:
    """espeak-ng's rendering of ``text`` at 16 kHz, float32 in [-1, 1); ``amplitude``: its
    ``-a`` (default 100, at which a few voices clip: ``grammar.espeak_amplitude``)."""
    path = os.path.join(workdir, "utt.wav")
    voice, extra = speaker.voice, []
    if speaker.variant_text:
        root = _private_data_dir(workdir)
        with open(os.path.join(root, "espeak-ng-data", "voices", "!v", _RANDOM_VARIANT), "w",
                  encoding="utf-8") as f:
            f.write(speaker.variant_text)
        voice, extra = f"{speaker.voice.partition('+')[0]}+{_RANDOM_VARIANT}", [f"--path={root}"]
    cmd = [espeak_binary(), *extra, "-v", voice, "-s", str(speaker.speed_wpm), "-p",
           str(speaker.pitch), "-g", str(speaker.word_gap_10ms),
           *([] if amplitude is None else ["-a", str(amplitude)]), "-w", path, text]
    subprocess.run(cmd, check=True, capture_output=True)
    return np.asarray(load_audio(path, SAMPLE_RATE_HZ).samples, np.float64)


def _trim(x: np.ndarray, level: float = 1e-3) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > level)
    return x[loud[0]:loud[-1] + 1] if loud.size else x


def _noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "hum":  # mains hum, 50 or 60 Hz with odd harmonics, plus a little hiss
        f0 = (50.0, 60.0)[rng.integers(2)]
        t = np.arange(n) / SAMPLE_RATE_HZ
        hum = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k
                  for k in (1, 3, 5, 7))
        return hum + 0.05 * rng.standard_normal(n)
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    if kind == "brown":  # 1/f^2: integrated white noise, leaky so it stays bounded
        return lfilter([1.0], [1.0, -0.995], white)
    # pink (1/f): Paul Kellet's economy filter, a standard 3-pole approximation
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1.0, -2.494956002, 2.017265875, -0.522189400]
    return lfilter(b, a, white)


def render(clean: np.ndarray, channel: Channel, rng: np.random.Generator,
           pause: tuple[int, int] | None = None) -> np.ndarray:
    """Place speech in a room and in noise; returns float32 audio that does not clip.
    ``pause``: samples [start, stop) of the trimmed speech that are a silent pause, left out
    of the speech power the SNR is set against (they lowered it, so speech with a 1 s pause
    was ~3 dB above its recorded SNR; a corpus audit, 2026-12-06)."""
    speech = _trim(clean)
    if channel.rt60_s > 0:
        # Exponentially decaying noise impulse response: -60 dB after RT60 seconds.
        n_ir = int(channel.rt60_s * SAMPLE_RATE_HZ)
        decay = np.exp(-6.9078 * np.arange(n_ir) / n_ir)  # ln(1000) = 6.9078 -> -60 dB
        ir = rng.standard_normal(n_ir) * decay
        ir[0] = 1.0 / (0.1 + 0.9 * rng.random())           # direct path dominates
        speech = fftconvolve(speech, ir)[:speech.size + n_ir // 2]
    lead = np.zeros(int(channel.lead_s * SAMPLE_RATE_HZ))
    trail = np.zeros(int(channel.trail_s * SAMPLE_RATE_HZ))
    x = np.concatenate([lead, speech, trail])
    peak = np.max(np.abs(speech)) if speech.size else 1.0
    x = x / max(peak, 1e-9) * 10 ** (channel.gain_db / 20) * 0.9
    if channel.noise != "clean":
        noise = _noise(channel.noise, x.size, rng)
        spoken = x[lead.size:lead.size + speech.size]
        if pause is not None:
            spoken = np.concatenate([spoken[:pause[0]], spoken[pause[1]:]])
        p_speech = np.mean(spoken ** 2) if spoken.size else 1e-9
        noise *= np.sqrt(p_speech / max(np.mean(noise ** 2), 1e-20)
                         / 10 ** (channel.snr_db / 10))
        x = x + noise
    peak = np.max(np.abs(x))
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def synthesize_with_pause(text: str, after_words: int, pause_s: float, speaker: Speaker,
                          channel: Channel, seed: int, workdir: str,
                          spoken: Callable[[str], str] | None = None,
                          amplitude: int | None = None) -> np.ndarray:
    """``text`` with a hesitation: ``pause_s`` of silence after its first ``after_words``
    words. The two parts are spoken separately by the same speaker, each trimmed to its
    speech, joined by the pause, and the whole placed in ``channel`` as :func:`synthesize`
    does (the channel's noise fills the pause as it fills the lead and the trail).
    ``spoken`` maps each part's words to what espeak-ng is given (``grammar.spoken``; a pause
    between "a" and "m" leaves them as they are); ``amplitude`` as :func:`speak`'s."""
    words = text.split()
    if not 0 < after_words < len(words):
        raise ValueError(f"after_words {after_words}: a word boundary inside the "
                         f"{len(words)}-word text {text!r}")
    say = spoken or (lambda t: t)
    first = _trim(speak(say(" ".join(words[:after_words])), speaker, workdir, amplitude))
    second = _trim(speak(say(" ".join(words[after_words:])), speaker, workdir, amplitude))
    gap = np.zeros(int(round(pause_s * SAMPLE_RATE_HZ)))
    # both parts trimmed already, so render's trim keeps the joined speech whole and the
    # pause where it is placed here
    return render(np.concatenate([first, gap, second]), channel, np.random.default_rng(seed),
                  pause=(first.size, first.size + gap.size))


def synthesize(text: str, speaker: Speaker, channel: Channel, seed: int,
               workdir: str | None = None,
               spoken: Callable[[str], str] | None = None,
               amplitude: int | None = None) -> np.ndarray:
    """One utterance of ``text``: espeak-ng speech through ``channel``, 16 kHz float32.
    ``spoken`` maps the text to what espeak-ng is given (``grammar.spoken``); ``amplitude``
    as :func:`speak`'s."""
    rng = np.random.default_rng(seed)
    said = text if spoken is None else spoken(text)
    if workdir is not None:
        return render(speak(said, speaker, workdir, amplitude), channel, rng)
    with tempfile.TemporaryDirectory(prefix="azsim-tts-") as tmp:
        return render(speak(said, speaker, tmp, amplitude), channel, rng)
