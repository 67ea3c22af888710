"""Synthetic smart-speaker speech with espeak-ng: voices, speeds, pitches, rooms and noise.

No recorded speech can be downloaded here (../shared/speech-data.md), so the corpus is made
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
    out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True)
    return " ".join(out.stdout.split()[:5])


def list_variants() -> list[str]:
    """espeak-ng's voice variants (``espeak-ng --voices=variant``), minus non-speech ones."""
    out = subprocess.run([espeak_binary(), "--voices=variant"], capture_output=True,
                         text=True, check=True).stdout.splitlines()[1:]
    rows = [line.split() for line in out]
    # Columns: Pty Language Age/Gender VoiceName File; the -v suffix is the file's base name.
    return sorted(r[4].split("/")[-1] for r in rows
                  if len(r) >= 5 and r[3] not in _EXCLUDED_VARIANTS)


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
    voice: str          # espeak-ng -v argument, accent+variant
    speed_wpm: int
    pitch: int
    word_gap_10ms: int


@dataclass(frozen=True)
class Channel:
    gain_db: float
    noise: str          # clean | white | pink | brown | hum
    snr_db: float
    rt60_s: float       # 0: no reverberation
    lead_s: float
    trail_s: float


def draw_speaker(rng: np.random.Generator, variants: list[str]) -> Speaker:
    accent = ACCENTS[rng.integers(len(ACCENTS))]
    return Speaker(f"{accent}+{variants[rng.integers(len(variants))]}",
                   int(rng.integers(SPEED_WPM[0], SPEED_WPM[1] + 1)),
                   int(rng.integers(PITCH[0], PITCH[1] + 1)),
                   int(rng.integers(WORD_GAP_10MS[0], WORD_GAP_10MS[1] + 1)))


def draw_channel(rng: np.random.Generator) -> Channel:
    clean = rng.random() < CLEAN_SHARE
    return Channel(float(rng.uniform(*GAIN_DB)),
                   "clean" if clean else ("white", "pink", "brown", "hum")[rng.integers(4)],
                   float(rng.uniform(*SNR_DB)),
                   float(rng.uniform(*RT60_S)) if rng.random() < REVERB_SHARE else 0.0,
                   float(rng.uniform(*LEAD_SILENCE_S)), float(rng.uniform(*TRAIL_SILENCE_S)))


def speak(text: str, speaker: Speaker, workdir: str) -> np.ndarray:
    """espeak-ng's rendering of ``text`` at 16 kHz, float32 in [-1, 1)."""
    path = os.path.join(workdir, "utt.wav")
    cmd = [espeak_binary(), "-v", speaker.voice, "-s", str(speaker.speed_wpm), "-p",
           str(speaker.pitch), "-g", str(speaker.word_gap_10ms), "-w", path, text]
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


def render(clean: np.ndarray, channel: Channel, rng: np.random.Generator) -> np.ndarray:
    """Place speech in a room and in noise; returns float32 audio that does not clip."""
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
        p_speech = np.mean(x[lead.size:lead.size + speech.size] ** 2) if speech.size else 1e-9
        noise *= np.sqrt(p_speech / max(np.mean(noise ** 2), 1e-20)
                         / 10 ** (channel.snr_db / 10))
        x = x + noise
    peak = np.max(np.abs(x))
    if peak > 0.99:
        x *= 0.99 / peak
    return x.astype(np.float32)


def synthesize(text: str, speaker: Speaker, channel: Channel, seed: int,
               workdir: str | None = None) -> np.ndarray:
    """One utterance of ``text``: espeak-ng speech through ``channel``, 16 kHz float32."""
    rng = np.random.default_rng(seed)
    if workdir is not None:
        return render(speak(text, speaker, workdir), channel, rng)
    with tempfile.TemporaryDirectory(prefix="azsim-tts-") as tmp:
        return render(speak(text, speaker, tmp), channel, rng)
