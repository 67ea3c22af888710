"""Reading, writing and resampling speech audio.

azsim feeds the RNN-T real speech, so the reader is strict: it accepts exactly one format,
16-bit PCM mono WAV, and rejects everything else with an :class:`~azsim.errors.AudioError`
whose one-line message names the file, the bad value and what is allowed. The RIFF parser is
written by hand (``struct``) rather than with the stdlib ``wave`` module so that each failure
(truncation, odd byte count, WAVE_FORMAT_EXTENSIBLE...) gets its own precise message.

Samples are float32 in [-1, 1): int16 value ``v`` maps to ``v / 32768``, and the writer maps
back with ``round(x * 32768)`` clipped to int16, so read -> write -> read is bit exact.
"""

from __future__ import annotations

import importlib.resources
import math
import pathlib
import struct
from dataclasses import dataclass

import numpy as np

from azsim.config.schema import SAMPLE_RATE_RANGE_HZ
from azsim.errors import AudioError
from azsim.paths import path_kind, read_small_file

__all__ = [
    "Audio",
    "read_wav",
    "load_audio",
    "write_wav",
    "shipped_audio_paths",
    "shipped_transcripts",
]

_ALLOWED = "azsim needs mono 16-bit PCM"
# How to make one, in each refusal of a format (sox; ffmpeg -ac 1 -c:a pcm_s16le does the same)
_CONVERT = "; convert it with: sox IN.wav -b 16 -c 1 -e signed-integer OUT.wav"
_FORMAT_NAMES = {0x0003: "IEEE float", 0x0006: "A-law", 0x0007: "mu-law", 0x0002: "ADPCM",
                 0x0011: "IMA ADPCM", 0x0055: "MP3"}
_FORMAT_PCM = 0x0001
_FORMAT_EXTENSIBLE = 0xFFFE
_INT16_SCALE = 32768.0


# eq=False: the generated __eq__ would compare arrays element-wise and fail on truth value.
@dataclass(frozen=True, eq=False)
class Audio:
    """A mono utterance.

    Attributes:
        samples: float32, shape ``[n_samples]``, values in [-1, 1); read-only.
        sample_rate_hz: samples per second.
        path: the file it came from (as given by the caller).
    """

    samples: np.ndarray
    sample_rate_hz: int
    path: str
    source_rate_hz: int = 0   # the file's own rate when resampled (0: sample_rate_hz)

    @property
    def duration_s(self) -> float:
        """Length of the utterance in seconds."""
        return len(self.samples) / self.sample_rate_hz


def _readonly(samples: np.ndarray) -> np.ndarray:
    # Audio is frozen; make the array honour that too so no stage can edit shared input.
    samples.flags.writeable = False
    return samples


def _parse_fmt(name: str, body: bytes) -> tuple[int, int]:
    """Check a ``fmt `` chunk; return ``(sample_rate_hz, block_align_bytes)``."""
    if len(body) < 16:
        raise AudioError(f"{name}: fmt chunk is {len(body)} bytes; a WAV fmt chunk needs at least 16")
    tag, channels, rate_hz, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _FORMAT_EXTENSIBLE:
        # WAVE_FORMAT_EXTENSIBLE: the real format code is the first 2 bytes of the sub-format GUID.
        if len(body) < 40:
            raise AudioError(
                f"{name}: WAVE_FORMAT_EXTENSIBLE fmt chunk is {len(body)} bytes; it needs 40"
            )
        tag = struct.unpack_from("<H", body, 24)[0]
    if tag != _FORMAT_PCM:
        kind = f"{_FORMAT_NAMES[tag]} samples, " if tag in _FORMAT_NAMES else ""
        raise AudioError(f"{name}: {kind}format tag is {tag:#06x}, not PCM (0x0001); "
                         f"{_ALLOWED}{_CONVERT}")
    if channels != 1:
        raise AudioError(f"{name}: has {channels} channels; {_ALLOWED}{_CONVERT}")
    if bits != 16:
        raise AudioError(f"{name}: has {bits} bits per sample; {_ALLOWED}{_CONVERT}")
    lo_hz, hi_hz = SAMPLE_RATE_RANGE_HZ
    if not lo_hz <= rate_hz <= hi_hz:
        raise AudioError(f"{name}: sample rate is {rate_hz} Hz; azsim reads {lo_hz}-{hi_hz} Hz "
                         "(speech is usually 8000-48000 Hz)")
    return rate_hz, block_align


# Data sizes that writers streaming to a pipe leave in place of the length they cannot know:
# 0xFFFFFFFF (ffmpeg), 0x7FFFF000 (sox: `sox -t raw ... - -t wav -` wrote it on 2026-12-06,
# sox 14.4.2; azsim had called the file truncated). 0, the third, is told apart from an empty
# data chunk followed by metadata by ``_chunk_follows``.
_STREAMED_DATA_SIZES = (0xFFFFFFFF, 0x7FFFF000)


def _chunk_follows(raw: bytes, pos: int) -> bool:
    """Whether a RIFF chunk header (a four-character code of printable ASCII and a size that
    fits the file) starts at ``pos``: after an empty data chunk, metadata, not streamed
    samples. Printable ASCII (0x20-0x7E), as RIFF codes are: Adobe's XMP chunk is ``_PMX``,
    whose samples were read from its XML; and ASCII only, not ``str.isalnum``, which takes
    Latin-1 letters such as 0xFF: quiet samples in [-64, -1] looked like a chunk code, and
    one in ten streamed files opening on dither was refused as empty (audit, 2026-12-07)."""
    head = raw[pos:pos + 4]
    if len(raw) < pos + 8 or not all(0x20 <= b <= 0x7E for b in head):
        return False
    return pos + 8 + struct.unpack_from("<I", raw, pos + 4)[0] <= len(raw)


def read_wav(path: str | pathlib.Path) -> Audio:
    """Read a 16-bit PCM mono WAV file.

    Raises:
        AudioError: the file is missing, not RIFF/WAVE, not mono, not 16-bit, not PCM, has no
            samples, has a data chunk larger than the file, or an odd data byte count.
    """
    name = str(path)
    if path_kind(path, name, AudioError, "give a readable WAV file") is None:
        raise AudioError(f"{name}: no such file; give the path of a mono 16-bit PCM WAV")
    # a folder, a device or a FIFO is refused (/dev/zero would fill the memory); a RIFF file's
    # sizes are 32-bit, so no WAV is longer than 4 GiB
    raw = read_small_file(path, name, AudioError, limit_mb=4096)

    if len(raw) < 12 or raw[0:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise AudioError(f"{name}: not a RIFF/WAVE file (starts with {raw[:12]!r}); {_ALLOWED} WAV")

    # Walk the chunks. The RIFF size field is ignored: many writers get it wrong, and the
    # data chunk size (checked below) is what matters.
    fmt: tuple[int, int] | None = None
    data: bytes | None = None
    pos = 12
    while pos + 8 <= len(raw):
        chunk_id, size = struct.unpack_from("<4sI", raw, pos)
        body_start = pos + 8
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(name, raw[body_start : body_start + size])
        elif chunk_id == b"data":
            available = len(raw) - body_start
            if size in _STREAMED_DATA_SIZES and size > available or \
                    (size == 0 and available > 0 and not _chunk_follows(raw, body_start)):
                # a writer streaming to a pipe cannot go back to fill in the size: it leaves
                # a placeholder, and the samples run to the end of the file (as sox and
                # ffmpeg read it; such files were called empty or truncated until 2026-12-06)
                size = available - (available & 1)
            if size > available:
                raise AudioError(
                    f"{name}: truncated: data chunk declares {size} bytes but only "
                    f"{available} follow; the file must hold the whole data chunk"
                )
            data = raw[body_start : body_start + size]
            break  # anything after the samples (LIST, id3...) is irrelevant
        pos = body_start + size + (size & 1)  # chunks are padded to an even length

    if fmt is None:
        raise AudioError(f"{name}: no fmt chunk before the data; {_ALLOWED} WAV")
    if data is None:
        raise AudioError(f"{name}: no data chunk; a WAV file must contain samples")
    rate_hz, block_align = fmt
    if len(data) % 2:
        raise AudioError(
            f"{name}: data chunk has an odd byte count ({len(data)}); 16-bit samples need an even count"
        )
    if block_align not in (0, 2):
        raise AudioError(f"{name}: block align is {block_align} bytes; {_ALLOWED} (block align 2)")
    if not data:
        raise AudioError(f"{name}: is empty (0 samples); it must contain at least one sample")

    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(_INT16_SCALE)
    return Audio(samples=_readonly(samples), sample_rate_hz=rate_hz, path=name)


def load_audio(path: str | pathlib.Path, target_rate_hz: int = 16000) -> Audio:
    """Read a WAV file (see :func:`read_wav`) and resample it to ``target_rate_hz``.

    Resampling is polyphase (``scipy.signal.resample_poly``) with up/down factors reduced by
    their gcd, e.g. 22050 Hz -> 16000 Hz uses up=320, down=441. The output length is
    ``ceil(n * up / down)``.
    """
    if target_rate_hz <= 0:
        raise AudioError(f"{path}: target rate {target_rate_hz} Hz; it must be a positive integer")
    audio = read_wav(path)
    if audio.sample_rate_hz == target_rate_hz:
        return audio
    # Imported here, not at the top: scipy.signal costs every process that imports azsim.api
    # 0.5-1.5 s (70 % of that import, measured with -X importtime), and audio at the model's
    # rate, like the shipped utterances, never needs it (issue #5: sweep workers' start-up).
    from scipy.signal import resample_poly

    g = math.gcd(target_rate_hz, audio.sample_rate_hz)
    up, down = target_rate_hz // g, audio.sample_rate_hz // g
    resampled = resample_poly(audio.samples.astype(np.float64), up, down)
    # The anti-aliasing filter can overshoot full scale slightly; keep the [-1, 1] contract.
    samples = np.clip(resampled, -1.0, 1.0).astype(np.float32)
    return Audio(samples=_readonly(samples), sample_rate_hz=target_rate_hz, path=audio.path,
                 source_rate_hz=audio.sample_rate_hz)


def write_wav(path: str | pathlib.Path, samples: np.ndarray, sample_rate_hz: int) -> None:
    """Write float samples in [-1, 1] as a 16-bit PCM mono WAV file.

    Values outside [-1, 1) are clipped to the int16 range.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1:
        raise AudioError(f"{path}: samples have shape {x.shape}; write_wav needs a 1-D mono array")
    if not np.all(np.isfinite(x)):
        raise AudioError(f"{path}: samples contain NaN or infinity; they must be finite")
    lo_hz, hi_hz = SAMPLE_RATE_RANGE_HZ
    if int(sample_rate_hz) != sample_rate_hz or not lo_hz <= sample_rate_hz <= hi_hz:
        # the rates read_wav reads: a 500 Hz file was written and then refused, and 2**31 Hz
        # was a struct.error from the header (an audio audit, 2026-12-07)
        raise AudioError(f"{path}: sample rate {sample_rate_hz} Hz; write_wav writes whole "
                         f"rates of {lo_hz}-{hi_hz} Hz, the ones azsim reads")
    pcm = np.clip(np.round(x * _INT16_SCALE), -32768, 32767).astype("<i2").tobytes()
    rate_hz = int(sample_rate_hz)
    riff = struct.pack("<4sI4s", b"RIFF", 36 + len(pcm), b"WAVE")
    # fmt fields: tag, channels, rate, byte rate, block align (bytes/frame), bits per sample.
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, _FORMAT_PCM, 1, rate_hz, 2 * rate_hz, 2, 16)
    header = riff + fmt + struct.pack("<4sI", b"data", len(pcm))
    pathlib.Path(path).write_bytes(header + pcm)


def _shipped_audio_dir() -> pathlib.Path:
    """``azsim/data/audio`` inside the installed package (setup.cfg ``package_data``)."""
    # Anchored on azsim.model, a regular package, because importlib.resources.files("azsim")
    # fails on Python 3.11 while azsim is a namespace package under an editable install
    # (MultiplexedPath rejects the editable finder's path hook). The package is installed as
    # plain files, so the traversable is a real directory we can hand out as pathlib paths.
    model_dir = pathlib.Path(str(importlib.resources.files("azsim.model")))
    return model_dir.parent / "data" / "audio"


def shipped_audio_paths() -> list[pathlib.Path]:
    """Paths of the WAV utterances shipped with azsim, sorted by name."""
    return sorted(_shipped_audio_dir().glob("*.wav"))


def shipped_transcripts() -> dict[str, str]:
    """Reference text of each shipped utterance: WAV file name -> lower-case transcript."""
    tsv = _shipped_audio_dir() / "transcripts.tsv"
    lines = tsv.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].split("\t") != ["file", "text"]:
        raise AudioError(f"{tsv}: first line must be the header 'file<TAB>text'")
    transcripts: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise AudioError(f"{tsv}:{number}: has {len(fields)} fields; expected 'file<TAB>text'")
        transcripts[fields[0]] = fields[1]
    return transcripts
