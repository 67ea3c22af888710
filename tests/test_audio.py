"""Tests of azsim.model.audio: WAV reading/writing, rejection messages, resampling, shipped data."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from azsim.errors import AudioError
from azsim.model.audio import (
    Audio,
    load_audio,
    read_wav,
    shipped_audio_paths,
    shipped_transcripts,
    write_wav,
)

# GUID tail shared by all WAVE_FORMAT_EXTENSIBLE sub-formats; the head is the format code.
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def make_wav(
    path,
    data: bytes,
    *,
    tag: int = 1,
    channels: int = 1,
    rate_hz: int = 16000,
    bits: int = 16,
    subformat: int | None = None,
    declared_data_bytes: int | None = None,
) -> None:
    """Write a WAV file with arbitrary header fields (including wrong ones)."""
    block_align = channels * max(1, bits // 8)
    fmt = struct.pack("<HHIIHH", tag, channels, rate_hz, rate_hz * block_align, block_align, bits)
    if subformat is not None:  # WAVE_FORMAT_EXTENSIBLE tail: cbSize, valid bits, mask, GUID
        fmt += struct.pack("<HHI", 22, bits, 4) + struct.pack("<H", subformat) + _GUID_TAIL
    size = len(data) if declared_data_bytes is None else declared_data_bytes
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)


def pcm16(values) -> bytes:
    return np.asarray(values, dtype="<i2").tobytes()


# ---------------------------------------------------------------------------------- round trip


def test_round_trip_is_exact_for_int16_grid(tmp_path):
    rng = np.random.default_rng(1)
    ints = rng.integers(-32768, 32768, size=1234)
    samples = ints / 32768.0
    path = tmp_path / "rt.wav"
    write_wav(path, samples, 16000)
    audio = read_wav(path)
    assert isinstance(audio, Audio)
    assert audio.sample_rate_hz == 16000
    assert audio.path == str(path)
    assert audio.samples.dtype == np.float32
    np.testing.assert_array_equal(audio.samples, samples.astype(np.float32))
    assert audio.duration_s == pytest.approx(1234 / 16000)


def test_round_trip_of_arbitrary_floats_is_within_half_a_step(tmp_path):
    samples = np.sin(np.linspace(0, 40, 5000)) * 0.9
    path = tmp_path / "sine.wav"
    write_wav(path, samples, 22050)
    audio = read_wav(path)
    assert audio.sample_rate_hz == 22050
    np.testing.assert_allclose(audio.samples, samples, atol=0.5 / 32768 + 1e-7)


def test_write_clips_out_of_range(tmp_path):
    path = tmp_path / "loud.wav"
    write_wav(path, np.array([2.0, -2.0, 1.0, -1.0]), 16000)
    s = read_wav(path).samples
    assert s.max() <= 1.0 and s.min() >= -1.0
    assert s[1] == -1.0 and s[0] == pytest.approx(32767 / 32768)


def test_samples_are_read_only(tmp_path):
    path = tmp_path / "ro.wav"
    write_wav(path, np.zeros(10), 16000)
    with pytest.raises(ValueError):
        read_wav(path).samples[0] = 1.0


def test_wave_format_extensible_pcm_is_accepted(tmp_path):
    path = tmp_path / "ext.wav"
    make_wav(path, pcm16([0, 16384, -16384]), tag=0xFFFE, subformat=1)
    np.testing.assert_array_equal(read_wav(path).samples, [0.0, 0.5, -0.5])


def test_extra_chunks_are_skipped(tmp_path):
    path = tmp_path / "list.wav"
    make_wav(path, pcm16([1, 2, 3]))
    raw = path.read_bytes()
    # Insert an odd-sized LIST chunk (plus pad byte) between the RIFF header and fmt.
    extra = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\x00"
    path.write_bytes(raw[:12] + extra + raw[12:])
    assert len(read_wav(path).samples) == 3


# ------------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("rate_hz", [22050, 8000, 44100])
@pytest.mark.parametrize("duration_s", [1.0, 0.37])
def test_resampling_to_16k_gives_the_right_length(tmp_path, rate_hz, duration_s):
    n = round(rate_hz * duration_s)
    t = np.arange(n) / rate_hz
    path = tmp_path / f"tone_{rate_hz}.wav"
    write_wav(path, 0.5 * np.sin(2 * np.pi * 440 * t), rate_hz)
    audio = load_audio(path)
    g = math.gcd(16000, rate_hz)
    assert audio.sample_rate_hz == 16000
    assert len(audio.samples) == math.ceil(n * (16000 // g) / (rate_hz // g))
    assert len(audio.samples) == pytest.approx(16000 * duration_s, abs=1)
    assert audio.samples.dtype == np.float32
    assert np.abs(audio.samples).max() <= 1.0
    # The 440 Hz tone survives: dominant frequency of the resampled signal.
    spectrum = np.abs(np.fft.rfft(audio.samples))
    peak_hz = np.argmax(spectrum) * 16000 / len(audio.samples)
    assert peak_hz == pytest.approx(440, abs=16000 / len(audio.samples) + 1)


def test_load_audio_at_target_rate_is_unchanged(tmp_path):
    path = tmp_path / "same.wav"
    write_wav(path, np.full(100, 0.25), 16000)
    np.testing.assert_array_equal(load_audio(path).samples, read_wav(path).samples)


# -------------------------------------------------------------------------------- rejection


def _bad_text(p):
    p.write_text("this is not audio\n")


def _bad_stereo(p):
    make_wav(p, pcm16([0, 0, 1, 1]), channels=2)


def _bad_8bit(p):
    make_wav(p, bytes([128, 130, 126, 128]), bits=8)


def _bad_float(p):
    make_wav(p, np.zeros(4, dtype="<f4").tobytes(), tag=3, bits=32)


def _bad_extensible_float(p):
    make_wav(p, pcm16([0, 1]), tag=0xFFFE, subformat=3)


def _bad_empty(p):
    make_wav(p, b"")


def _bad_truncated(p):
    make_wav(p, pcm16(range(100)))
    p.write_bytes(p.read_bytes()[:-50])


def _bad_declared_too_big(p):
    make_wav(p, pcm16([1, 2]), declared_data_bytes=1000)


def _bad_odd_bytes(p):
    make_wav(p, pcm16([1, 2]) + b"\x01")


def _bad_no_data_chunk(p):
    p.write_bytes(b"RIFF" + struct.pack("<I", 4) + b"WAVE")


def _bad_missing(p):
    pass  # never created


def _bad_rate_3hz(p):
    make_wav(p, pcm16(range(100)), rate_hz=3)   # 100 samples would be 33 s of "speech"


def _bad_rate_zero(p):
    make_wav(p, pcm16([1, 2]), rate_hz=0)


def _bad_rate_too_high(p):
    make_wav(p, pcm16([1, 2]), rate_hz=384000)


REJECTIONS = {
    "text": (_bad_text, "not a RIFF/WAVE file"),
    "stereo": (_bad_stereo, "has 2 channels; azsim needs mono 16-bit PCM"),
    "8bit": (_bad_8bit, "8 bits per sample"),
    "float": (_bad_float, "not PCM"),
    "extensible_float": (_bad_extensible_float, "not PCM"),
    "empty": (_bad_empty, "0 samples"),
    "truncated": (_bad_truncated, "truncated"),
    "declared_too_big": (_bad_declared_too_big, "declares 1000 bytes"),
    "odd_bytes": (_bad_odd_bytes, "odd byte count"),
    "no_data": (_bad_no_data_chunk, "fmt chunk"),
    "missing": (_bad_missing, "no such file"),
    "rate_3hz": (_bad_rate_3hz, "sample rate is 3 Hz; azsim reads 1000-192000 Hz"),
    "rate_zero": (_bad_rate_zero, "sample rate is 0 Hz"),
    "rate_too_high": (_bad_rate_too_high, "sample rate is 384000 Hz"),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_bad_files_raise_audio_error_naming_the_file(tmp_path, case):
    make, expected = REJECTIONS[case]
    path = tmp_path / f"bad_{case}.wav"
    make(path)
    with pytest.raises(AudioError) as info:
        read_wav(path)
    message = str(info.value)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message
    # load_audio goes through the same checks.
    with pytest.raises(AudioError):
        load_audio(path)


@pytest.mark.parametrize("declared", [0, 0xFFFFFFFF, 0x7FFFF000])
def test_a_streamed_wav_reads_its_samples_to_the_end(tmp_path, declared):
    """A writer streaming to a pipe leaves the data size 0, 0xFFFFFFFF (ffmpeg) or 0x7FFFF000
    (sox 14.4.2: `sox -t raw -r 16000 -e signed -b 16 -c 1 - -t wav -`, checked 2026-12-06):
    the samples run to the end of the file (as sox and ffmpeg read it). They were called
    empty or truncated."""
    values = np.arange(-300, 300, 7)
    path = tmp_path / "streamed.wav"
    make_wav(path, pcm16(values), declared_data_bytes=declared)
    np.testing.assert_array_equal(read_wav(path).samples * 32768, values)
    # an odd trailing byte of a stream that was cut is dropped, not an error
    path.write_bytes(path.read_bytes() + b"\x01")
    np.testing.assert_array_equal(read_wav(path).samples * 32768, values)


def test_an_empty_data_chunk_followed_by_metadata_stays_empty(tmp_path):
    path = tmp_path / "empty_with_list.wav"
    make_wav(path, b"")
    info = b"INFOISFT" + struct.pack("<I", 6) + b"azsim\x00"
    path.write_bytes(path.read_bytes() + b"LIST" + struct.pack("<I", len(info)) + info)
    with pytest.raises(AudioError, match="0 samples"):
        read_wav(path)


def test_write_wav_rejects_stereo_arrays(tmp_path):
    with pytest.raises(AudioError, match="1-D"):
        write_wav(tmp_path / "x.wav", np.zeros((10, 2)), 16000)


# ---------------------------------------------------------------------------- shipped audio


def test_shipped_audio_matches_transcripts():
    transcripts = shipped_transcripts()
    paths = shipped_audio_paths()
    assert len(transcripts) >= 4
    assert [p.name for p in paths] == sorted(transcripts)
    for path in paths:
        text = transcripts[path.name]
        assert path.is_file()
        assert text == text.lower() and text.strip()
        audio = read_wav(path)  # read_wav itself enforces mono 16-bit PCM
        assert audio.sample_rate_hz == 16000
        assert 0.5 <= audio.duration_s <= 4.0
        assert np.abs(audio.samples).max() > 0.05  # real speech, not silence
    assert sum(p.stat().st_size for p in paths) < 400_000


# ------------------------------------- audio outside what the models heard (2026-12-06 audit)

def _speech():
    from azsim.model.audio import shipped_audio_paths
    return read_wav(shipped_audio_paths()[0])


def test_band_limited_and_quiet_audio_is_warned_about(tmp_path):
    """8 kHz audio holds nothing above 4 kHz, where the mel filters reach 7.6 kHz: a clip gave
    a fluent wrong transcript. Speech far below the training corpus' levels lost words."""
    from scipy.signal import resample_poly

    from azsim.config import load_model_config
    from azsim.errors import AzsimWarning
    from azsim.model.loading import TRAINED_PEAK_DBFS, load_utterances
    import azsim.corpus.synth as synth
    # the documented range is the corpus' gains times the 0.9 of full scale it peaks at
    assert TRAINED_PEAK_DBFS == pytest.approx(
        [g + 20 * np.log10(0.9) for g in synth.GAIN_DB], abs=0.05)
    cfg = load_model_config("small", [])
    x = _speech().samples.astype(np.float64)
    narrow = tmp_path / "narrow.wav"
    write_wav(narrow, resample_poly(x, 1, 2), 8000)
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, x / np.max(np.abs(x)) * 10 ** (-30 / 20), 16000)
    fine = tmp_path / "fine.wav"
    write_wav(fine, x / np.max(np.abs(x)) * 10 ** (-20 / 20), 16000)
    with pytest.warns(AzsimWarning) as caught:
        load_utterances([str(narrow), str(quiet), str(fine)], cfg)
    texts = [str(w.message) for w in caught]
    assert len(texts) == 2, texts
    assert "narrow.wav: 8000 Hz audio holds nothing above 4000 Hz" in texts[0]
    assert "quiet.wav: peaks at -30.0 dBFS" in texts[1]


def test_two_files_of_one_name_are_named_by_their_paths(tmp_path):
    from azsim.config import load_model_config
    from azsim.model.loading import load_utterances
    src = _speech()
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        write_wav(tmp_path / folder / "x.wav", src.samples, 16000)
    write_wav(tmp_path / "y.wav", src.samples, 16000)
    paths = [str(tmp_path / "a" / "x.wav"), str(tmp_path / "b" / "x.wav"),
             str(tmp_path / "y.wav")]
    names = [u.name for u in load_utterances(paths, load_model_config("tiny", []))]
    assert names == paths[:2] + ["y.wav"]


def test_a_streamed_wav_opening_on_quiet_negative_samples_is_not_called_empty(tmp_path):
    """Data size 0 (streamed): samples -1 and -2 are the bytes FF FF FE FF, Latin-1 letters
    that str.isalnum took for a chunk code (then 100, 0: a 'size' of 100 that fits the
    file), so the file was refused as empty; about 1 in 10 streamed files opening on
    dither were."""
    values = np.concatenate([[-1, -2, 100, 0], np.arange(-3000, 3000, 3)])
    path = tmp_path / "streamed_dither.wav"
    make_wav(path, pcm16(values), declared_data_bytes=0)
    np.testing.assert_array_equal(read_wav(path).samples * 32768, values)


def test_an_empty_data_chunk_followed_by_xmp_stays_empty(tmp_path):
    """Adobe's XMP chunk is '_PMX': an empty data chunk before it was taken for a stream and
    its XML read as 16-bit samples, without a word."""
    path = tmp_path / "empty_with_xmp.wav"
    make_wav(path, b"")
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"></x:xmpmeta>'
    path.write_bytes(path.read_bytes() + b"_PMX" + struct.pack("<I", len(xmp)) + xmp)
    with pytest.raises(AudioError, match="0 samples"):
        read_wav(path)


@pytest.mark.parametrize("rate", [500, 0, -16000, 2**31, 16000.5])
def test_write_wav_writes_only_rates_read_wav_reads(tmp_path, rate):
    """A 500 Hz file was written and then refused by read_wav; 2**31 Hz was a struct.error
    from the header (an audio audit, 2026-12-07). Both are one clear error now."""
    from azsim.errors import AudioError
    with pytest.raises(AudioError, match="write_wav writes whole rates of"):
        write_wav(tmp_path / "a.wav", np.zeros(10), rate)
    assert not (tmp_path / "a.wav").exists()
