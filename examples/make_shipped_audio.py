"""Regenerate the speech shipped in ``azsim/data/audio/`` with espeak-ng.

azsim ships a few short smart-speaker commands so that every example and test can run the
model on real speech without downloading anything. They are synthesised (espeak-ng is free
of licence questions) in two voices so that the audio is not all from one speaker, resampled
from espeak's 22050 Hz to the frontend's 16000 Hz with azsim's own ``load_audio`` and written
as 16-bit PCM mono WAV, with leading/trailing silence trimmed to keep the package small.

Usage (needs ``espeak-ng`` on PATH)::

    python examples/make_shipped_audio.py [OUTPUT_DIR]

The default output directory is ``azsim/data/audio`` next to this script. The output depends
on the espeak-ng version, so the shipped files are committed rather than rebuilt at install.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile

import numpy as np

from azsim.model.audio import load_audio, write_wav

SAMPLE_RATE_HZ = 16000
SPEED_WPM = 150
# Keep this much audio around the speech so that onsets and decays are not clipped.
MARGIN_S = 0.10
# Anything quieter than this (about -46 dBFS) counts as silence when trimming.
SILENCE_LEVEL = 0.005

# (file name, reference text, espeak-ng voice): two accents / speakers, alternating.
UTTERANCES = [
    ("utt01_lights.wav", "turn on the kitchen lights", "en-us"),
    ("utt02_timer.wav", "set a timer for ten minutes", "en-gb+m3"),
    ("utt03_music.wav", "play some music", "en-us"),
    ("utt04_call.wav", "call mom", "en-gb+m3"),
]


def trim_silence(samples: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Drop leading and trailing silence, keeping ``MARGIN_S`` on each side."""
    loud = np.flatnonzero(np.abs(samples) > SILENCE_LEVEL)
    if loud.size == 0:
        return samples
    margin = round(MARGIN_S * sample_rate_hz)
    start = max(0, loud[0] - margin)
    stop = min(len(samples), loud[-1] + 1 + margin)
    return samples[start:stop]


def synthesise(text: str, voice: str, wav_path: pathlib.Path) -> None:
    """Run espeak-ng; it writes 22050 Hz 16-bit mono WAV."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-w", str(wav_path), text],
        check=True,
        capture_output=True,
    )


def main(out_dir: pathlib.Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    total_bytes = 0
    with tempfile.TemporaryDirectory() as tmp:
        for file_name, text, voice in UTTERANCES:
            raw_path = pathlib.Path(tmp) / file_name
            synthesise(text, voice, raw_path)
            audio = load_audio(raw_path, target_rate_hz=SAMPLE_RATE_HZ)
            samples = trim_silence(audio.samples, SAMPLE_RATE_HZ)
            out_path = out_dir / file_name
            write_wav(out_path, samples, SAMPLE_RATE_HZ)
            size = out_path.stat().st_size
            total_bytes += size
            duration_s = len(samples) / SAMPLE_RATE_HZ
            print(f"{file_name}  {duration_s:5.2f} s  {size:7d} B  [{voice}] {text}")
    lines = ["file\ttext"] + [f"{name}\t{text.lower()}" for name, text, _ in UTTERANCES]
    (out_dir / "transcripts.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"total {total_bytes} B of WAV in {out_dir}")


if __name__ == "__main__":
    default_dir = pathlib.Path(__file__).resolve().parent.parent / "azsim" / "data" / "audio"
    main(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else default_dir)
