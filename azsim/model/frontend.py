"""The log-mel frontend: waveform -> [n_frames, n_mels] features for the RNN-T encoder.

The recipe is the usual one for on-device RNN-T (no pre-emphasis, no dither, no mean
normalisation, so the output is a pure function of the samples):

1. cut the waveform into frames of ``window_ms`` every ``hop_ms``; a last partial frame is
   dropped, so ``n_frames = 1 + (n_samples - window) // hop`` (0 if the input is shorter than
   one window, because a streaming device cannot emit a frame it has not fully heard);
2. multiply by a periodic Hann window and zero-pad to ``n_fft``;
3. power spectrum ``|rfft|^2``;
4. HTK-style mel filterbank (``mel = 2595 log10(1 + f / 700)``), triangles laid out evenly
   on the mel axis between ``f_min_hz`` and ``f_max_hz`` and evaluated in the mel domain (as
   HTK and Kaldi do), peak weight 1, no area normalisation;
5. natural log of ``max(energy, log_floor)``.

The whole utterance is processed in one vectorised pass (stride tricks + batched FFT).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from azsim.errors import ConfigError

__all__ = ["FrontendSpec", "hop_window_s", "hz_to_mel", "mel_to_hz", "mel_filterbank",
           "log_mel", "ms_to_samples"]


def ms_to_samples(ms: float, sample_rate_hz: int) -> int:
    """A duration the config gives in ms, as the frontend cuts it: whole samples."""
    return round(ms * sample_rate_hz / 1000)


def hop_window_s(frontend) -> tuple[float, float]:
    """The hop and the window in seconds of ``frontend`` (anything with ``sample_rate_hz``,
    ``hop_ms`` and ``window_ms``: a model config's frontend, a :class:`FrontendSpec`) as its
    whole samples make them, which is what frames arrive by: 10 ms at 22,050 Hz is 220
    samples, 9.977 ms. Until 2026-12-06 the timeline, the end-pointers and the utterance
    lengths used the ms as written, so at 22,050 Hz the last frame 'arrived' 6 ms after the
    end of its audio (audit)."""
    rate = frontend.sample_rate_hz
    return (ms_to_samples(frontend.hop_ms, rate) / rate,
            ms_to_samples(frontend.window_ms, rate) / rate)


@dataclass(frozen=True)
class FrontendSpec:
    """Parameters of the log-mel frontend (hashable, so derived tables can be cached)."""

    sample_rate_hz: int = 16000
    n_mels: int = 80
    window_ms: float = 25.0
    hop_ms: float = 10.0
    n_fft: int = 512
    f_min_hz: float = 20.0
    f_max_hz: float = 7600.0
    log_floor: float = 1e-6

    def __post_init__(self) -> None:
        # Report every problem at once, like the rest of azsim's config validation.
        problems = []
        if self.sample_rate_hz <= 0:
            problems.append(f"sample_rate_hz={self.sample_rate_hz} (must be > 0)")
        if self.n_mels <= 0:
            problems.append(f"n_mels={self.n_mels} (must be > 0)")
        if self.hop_ms <= 0 or self.hop_samples < 1:
            problems.append(f"hop_ms={self.hop_ms} (must give at least 1 sample)")
        if self.window_ms <= 0 or not 1 <= self.window_samples <= self.n_fft:
            problems.append(
                f"window_ms={self.window_ms} gives {self.window_samples} samples "
                f"(must be 1..n_fft={self.n_fft})"
            )
        nyquist_hz = self.sample_rate_hz / 2
        if not 0 <= self.f_min_hz < self.f_max_hz <= nyquist_hz:
            problems.append(
                f"f_min_hz={self.f_min_hz}, f_max_hz={self.f_max_hz} "
                f"(need 0 <= f_min_hz < f_max_hz <= {nyquist_hz})"
            )
        if not self.log_floor > 0:
            problems.append(f"log_floor={self.log_floor} (must be > 0)")
        if problems:
            raise ConfigError("FrontendSpec: " + "; ".join(problems))

    @property
    def window_samples(self) -> int:
        """Frame length in samples (25 ms at 16 kHz = 400)."""
        return ms_to_samples(self.window_ms, self.sample_rate_hz)

    @property
    def hop_samples(self) -> int:
        """Frame shift in samples (10 ms at 16 kHz = 160)."""
        return ms_to_samples(self.hop_ms, self.sample_rate_hz)

    def n_frames(self, n_samples: int) -> int:
        """Number of complete frames in ``n_samples`` samples."""
        if n_samples < self.window_samples:
            return 0
        return 1 + (n_samples - self.window_samples) // self.hop_samples


def hz_to_mel(f_hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f_hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


@functools.lru_cache(maxsize=16)
def mel_filterbank(spec: FrontendSpec) -> np.ndarray:
    """Triangular mel filters, float64 ``[n_mels, n_fft // 2 + 1]``, read-only (cached).

    Filter ``m`` rises from mel point ``m`` to ``m + 1`` and falls to ``m + 2``, where the
    ``n_mels + 2`` points are evenly spaced in mel between ``f_min_hz`` and ``f_max_hz``.
    """
    edges_mel = np.linspace(hz_to_mel(spec.f_min_hz), hz_to_mel(spec.f_max_hz), spec.n_mels + 2)
    bin_hz = np.arange(spec.n_fft // 2 + 1) * spec.sample_rate_hz / spec.n_fft
    bin_mel = hz_to_mel(bin_hz)[np.newaxis, :]
    left, centre, right = (edges_mel[i : i + spec.n_mels, np.newaxis] for i in range(3))
    rising = (bin_mel - left) / (centre - left)
    falling = (right - bin_mel) / (right - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    # Cached and shared between callers: nobody may modify it in place.
    weights.flags.writeable = False
    return weights


# Frames per block of log_mel: 40 s of 10 ms frames, about 20 MB of spectra at n_fft 512.
_BLOCK_FRAMES = 4096


@functools.lru_cache(maxsize=16)
def _hann_periodic(window_samples: int) -> np.ndarray:
    # Periodic (not symmetric) Hann: the DFT-even form used for spectral analysis frames.
    n = np.arange(window_samples)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / window_samples)
    window.flags.writeable = False
    return window


def log_mel(samples: np.ndarray, spec: FrontendSpec = FrontendSpec()) -> np.ndarray:
    """Log-mel features of a mono waveform sampled at ``spec.sample_rate_hz``.

    Args:
        samples: 1-D float array (normally in [-1, 1]).
        spec: frontend parameters.

    Returns:
        float32 ``[n_frames, n_mels]`` with ``n_frames = spec.n_frames(len(samples))``;
        shape ``(0, n_mels)`` if the input is shorter than one window.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"log_mel: samples have shape {x.shape}; expected a 1-D mono array")
    n_frames = spec.n_frames(len(x))
    if n_frames == 0:
        return np.zeros((0, spec.n_mels), dtype=np.float32)
    # A strided view: frame i is x[i*hop : i*hop + window], no copy until the windowing.
    frames = np.lib.stride_tricks.sliding_window_view(x, spec.window_samples)[:: spec.hop_samples]
    assert frames.shape[0] == n_frames
    window, bank = _hann_periodic(spec.window_samples), mel_filterbank(spec).T
    out = np.empty((n_frames, spec.n_mels), np.float32)
    # In blocks of frames: the spectra of a whole utterance at once took about 1 MB a second
    # of audio (700 MB for 10 minutes; audit, 2026-12-06); each frame's result is the same.
    for start in range(0, n_frames, _BLOCK_FRAMES):
        block = frames[start:start + _BLOCK_FRAMES]
        spectrum = np.fft.rfft(block * window, n=spec.n_fft, axis=1)
        power = spectrum.real**2 + spectrum.imag**2
        out[start:start + block.shape[0]] = np.log(np.maximum(power @ bank, spec.log_floor))
    return out
