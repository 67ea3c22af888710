"""Tests of azsim.model.frontend: shapes, a tone, silence, and a slow per-frame reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim.errors import ConfigError
from azsim.model.frontend import FrontendSpec, hz_to_mel, log_mel, mel_filterbank, mel_to_hz

SPEC = FrontendSpec()


def reference_log_mel(samples: np.ndarray, spec: FrontendSpec) -> np.ndarray:
    """Obviously-correct loop version: one frame at a time, full complex FFT, scalar filters."""
    sr = spec.sample_rate_hz
    win = round(spec.window_ms * sr / 1000)
    hop = round(spec.hop_ms * sr / 1000)
    n_bins = spec.n_fft // 2 + 1

    def mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    lo, hi = mel(spec.f_min_hz), mel(spec.f_max_hz)
    points = [lo + (hi - lo) * i / (spec.n_mels + 1) for i in range(spec.n_mels + 2)]
    filters = np.zeros((spec.n_mels, n_bins))
    for m in range(spec.n_mels):
        left, centre, right = points[m], points[m + 1], points[m + 2]
        for k in range(n_bins):
            b = mel(k * sr / spec.n_fft)
            if left < b <= centre:
                filters[m, k] = (b - left) / (centre - left)
            elif centre < b < right:
                filters[m, k] = (right - b) / (right - centre)

    hann = [0.5 - 0.5 * math.cos(2 * math.pi * n / win) for n in range(win)]
    rows = []
    start = 0
    while start + win <= len(samples):
        frame = np.zeros(spec.n_fft)
        frame[:win] = [samples[start + n] * hann[n] for n in range(win)]
        power = np.abs(np.fft.fft(frame)[:n_bins]) ** 2
        rows.append([math.log(max(float(filters[m] @ power), spec.log_floor)) for m in range(spec.n_mels)])
        start += hop
    return np.array(rows, dtype=np.float64).reshape(-1, spec.n_mels)


def test_matches_slow_reference_on_random_audio():
    rng = np.random.default_rng(7)
    samples = rng.uniform(-0.5, 0.5, size=5000).astype(np.float32)
    fast = log_mel(samples, SPEC)
    slow = reference_log_mel(samples.astype(np.float64), SPEC)
    assert fast.shape == slow.shape == (1 + (5000 - 400) // 160, 80)
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-4)


def test_matches_reference_with_other_spec():
    spec = FrontendSpec(sample_rate_hz=8000, n_mels=23, window_ms=32.0, hop_ms=16.0, n_fft=256,
                        f_min_hz=0.0, f_max_hz=4000.0, log_floor=1e-10)
    samples = np.random.default_rng(3).standard_normal(2000) * 0.1
    np.testing.assert_allclose(log_mel(samples, spec), reference_log_mel(samples, spec),
                               rtol=1e-5, atol=1e-4)


def test_output_shape_and_dtype():
    out = log_mel(np.zeros(16000), SPEC)
    assert out.shape == (98, 80)
    assert out.dtype == np.float32


@pytest.mark.parametrize("n_samples", [400, 401, 559, 560, 561, 16000, 16159, 16160])
def test_frame_count_formula(n_samples):
    expected = 1 + (n_samples - 400) // 160
    assert SPEC.n_frames(n_samples) == expected
    assert log_mel(np.zeros(n_samples), SPEC).shape == (expected, 80)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=3000))
def test_frame_count_property(n_samples):
    out = log_mel(np.zeros(n_samples), SPEC)
    expected = 1 + (n_samples - 400) // 160 if n_samples >= 400 else 0
    assert out.shape == (expected, 80)


@pytest.mark.parametrize("n_samples", [0, 1, 399])
def test_short_input_gives_zero_frames(n_samples):
    out = log_mel(np.zeros(n_samples), SPEC)
    assert out.shape == (0, 80)
    assert out.dtype == np.float32


def test_silence_gives_log_floor():
    out = log_mel(np.zeros(4000), SPEC)
    np.testing.assert_array_equal(out, np.float32(np.log(SPEC.log_floor)))


def test_1khz_tone_peaks_in_the_nearest_mel_bin():
    t = np.arange(16000) / 16000
    out = log_mel(0.5 * np.sin(2 * np.pi * 1000.0 * t), SPEC)
    edges_mel = np.linspace(hz_to_mel(SPEC.f_min_hz), hz_to_mel(SPEC.f_max_hz), SPEC.n_mels + 2)
    centres_hz = mel_to_hz(edges_mel[1:-1])
    nearest = int(np.argmin(np.abs(centres_hz - 1000.0)))
    assert np.all(np.argmax(out, axis=1) == nearest)


def test_filterbank_shape_and_properties():
    fb = mel_filterbank(SPEC)
    assert fb.shape == (80, 257)
    assert fb.min() >= 0.0 and fb.max() <= 1.0
    assert np.all(fb.max(axis=1) > 0)  # no empty filter at the low end
    assert not fb.flags.writeable
    assert mel_filterbank(FrontendSpec()) is fb  # cached per spec
    # Nothing outside [f_min, f_max].
    bin_hz = np.arange(257) * 16000 / 512
    assert np.all(fb[:, (bin_hz < SPEC.f_min_hz) | (bin_hz > SPEC.f_max_hz)] == 0)


def test_mel_scale_round_trip():
    f = np.array([0.0, 20.0, 1000.0, 7600.0])
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f)), f, atol=1e-9)
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.5)  # HTK: 1 kHz ~ 1000 mel


def test_rejects_non_1d_input():
    with pytest.raises(ValueError, match="1-D"):
        log_mel(np.zeros((2, 1000)), SPEC)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"n_mels": 0}, "n_mels"),
        ({"window_ms": 40.0}, "window_ms"),  # 640 samples > n_fft 512
        ({"hop_ms": 0.0}, "hop_ms"),
        ({"f_max_hz": 9000.0}, "f_max_hz"),
        ({"f_min_hz": 8000.0, "f_max_hz": 7600.0}, "f_min_hz"),
        ({"log_floor": 0.0}, "log_floor"),
    ],
)
def test_spec_validation(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        FrontendSpec(**kwargs)


def test_long_audio_is_framed_in_blocks_with_the_same_features(monkeypatch):
    """log_mel runs in blocks of frames (a 10-minute file took 700 MB at once; audit): the
    features do not depend on the block size, including blocks that split the frames
    unevenly."""
    import azsim.model.frontend as fe
    spec = FrontendSpec()
    x = np.random.default_rng(3).standard_normal(16000 * 3 + 123) * 0.1
    whole = log_mel(x, spec)
    for block in (1, 7, 100, 299):
        monkeypatch.setattr(fe, "_BLOCK_FRAMES", block)
        np.testing.assert_array_equal(log_mel(x, spec), whole, err_msg=str(block))
