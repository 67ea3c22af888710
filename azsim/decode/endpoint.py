"""Final and speculative end-pointers on the processor timeline (issue #7).

A device must decide when the user has stopped talking. The final end-pointer fires when, for
``final_ms`` of audio, the frames have been quiet (log-mel energy below ``energy_db``) AND the
best hypothesis has emitted nothing but blanks; "activity" is the later of the last loud frame
and the best hypothesis' last emission, and the trailing silence is the audio time since then.
This is the classical trailing-silence rule with the RNN-T's own blank emissions as a second
voice-activity signal (Chang et al., "Joint endpointing and decoding with end-to-end models",
ICASSP 2019, compare acoustic and decoder silence).

The speculative end-pointer is the same rule with a shorter threshold (``speculative_ms``): it
fires ``final_ms - speculative_ms`` earlier and starts the downstream work (sending the lattice,
the server's or a second pass's response) on the current best hypothesis, the "prefetching" of
Chang et al., "Low latency speech recognition using end-to-end prefetching", Interspeech 2020,
who report ~200 ms saved. If activity resumes before the final end-pointer fires, the
speculation was wrong: a reset (counted), and the speculative end-pointer re-arms. When the
final end-pointer fires and the last speculation stood with the same best hypothesis, its
downstream result is used.

Timing. Decisions are taken per encoder input frame f, when its processing finishes on the
processor (``finish_s[f]`` of the cost stage's streaming timeline); audio times are frame
arrival times (``arrival_s[f]``, the end of the frame's audio). With D = ``downstream_ms``:

* result without speculation: ``finish_s[final] + D``;
* with speculation: ``max(finish_s[speculative] + D, finish_s[final])`` if the speculation
  stood and had the final hypothesis, else as without;
* user-perceived latency: result time minus the end of speech, taken as the end of the last
  loud analysis window of the whole utterance (an oracle, known only in hindsight).

If the audio ends before the final end-pointer fires, the result is taken when the last
decoder step's frame is done, and no earlier than the end of the audio, when it is known to
have ended (``final_forced``): a file ends where a microphone would keep listening. (The
audio's end, not its last whole frame's arrival, until the evening of 2026-12-06.)
(A frame after the last decoder step ends at the encoder's time reduction and cannot change
the text; until 2026-12-06 the decision waited for it to be computed.) ``tail_ms``
appends that much digital silence to every utterance so that the end-pointers can fire.

A final end-pointer that fires before the end of speech (a pause longer than ``final_ms``
inside the request) is a cut-off (``cut_off``): a device would stop listening there and lose
the words after it, the "early cut-off" of end-of-query detection (Shannon et al., "Improved
end-of-query detection for streaming speech recognition", Interspeech 2017). A cut-off has no
latency after the end of speech (its result came before the user had finished), so it is
counted, not averaged into the latencies.

Frame energy: ``10 log10(sum of mel-band powers)`` relative to the same sum for a full-scale
sine (0 dB), i.e. computed from the frontend's own log-mel features, as a device would. A frame
is quiet when its energy is below ``energy_db`` or less than ``noise_margin_db`` above the
noise floor, tracked causally as the lowest 100 ms average energy so far (the minimum-statistics
idea of Martin, "Noise power spectral density estimation based on optimal smoothing and minimum
statistics", IEEE TSAP 2001, reduced to one band): digital silence and steady background noise
are both quiet, while a fixed threshold alone would never see noise as silence. The floor never
rises (a minimum over the whole past, not over Martin's sliding window), which suits a single
query that starts in its own background; noise that begins after a quieter stretch stays loud,
and the stretch can be a single frame: the first frames' averages are over fewer than 10
frames, so a WAV opening with a few frames of digital zeros sets a floor near them (a decoding
audit, 2026-12-06). Averaging power instead of dB, over full windows only, fixed that case but
moved the pause table's decisions (latency +35 ms at pause 0, `examples/endpoint_pauses.py`)
because the 10 dB margin was set against dB averages; it is left for a measured retuning.

``noise_floor = "median-after-zeros"`` (``model.decode.endpoint_noise_floor``) is the measured
alternative for audio that may open with digital zeros: the floor is the lowest median of full
100 ms windows (before the first full window, the median of the frames so far, which does not
enter the minimum), counted from the first frame that is not digital silence (every mel band
at the frontend's log floor). Zeros before the microphone is live never set the floor, and the
one or two frames whose analysis window straddles their end are outvoted in the median. On
300 synthesized held-out requests (``examples/endpoint_floor.py``, 2026-12-07) it finds the end
of speech within 200 ms as often with 0, 10, 30 or 100 ms of leading zeros (50-52 requests
off by more), where the default is off by ~400 ms on 228 of 300 once the zeros reach 30 ms; it
is worse than the default only on noiseless recordings that open with zeros (there the zeros
are the right floor, and without them the floor is set by speech: median error 36.5 against
15.7 ms on the 77 noiseless requests), so it is not the default.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np

from ..errors import AzsimError, named
from ..model.audio import load_audio
from ..model.frontend import FrontendSpec, log_mel
from ..model.loading import Utterance, frontend_spec
from ..paths import path_kind

_EPS_S = 1e-9   # time comparisons of sums of float milliseconds


@functools.lru_cache(maxsize=8)
def _full_scale_db(spec: FrontendSpec) -> float:
    """10 log10(sum of mel powers) of a full-scale 1 kHz sine: the 0 dB reference."""
    t = np.arange(spec.sample_rate_hz) / spec.sample_rate_hz
    feats = log_mel(np.sin(2 * np.pi * 1000.0 * t), spec).astype(np.float64)
    return float(np.mean(10 * np.log10(np.exp(feats).sum(axis=1))))


def frame_energy_db(features: np.ndarray, spec: FrontendSpec) -> np.ndarray:
    """Energy of every log-mel frame, dB relative to a full-scale sine."""
    power = np.exp(features.astype(np.float64)).sum(axis=1)
    return 10 * np.log10(power) - _full_scale_db(spec)


def _tail_samples(cfg) -> int:
    return int(round(cfg.decode.endpoint_tail_ms * cfg.frontend.sample_rate_hz / 1000.0))


def speech_seconds(utt: Utterance, cfg) -> float:
    """Duration of the utterance's own audio, without the appended tail."""
    return utt.seconds - _tail_samples(cfg) / cfg.frontend.sample_rate_hz


NOISE_SMOOTH_FRAMES = 10   # 100 ms of 10 ms log-mel frames averaged before the minimum
NOISE_FLOORS = ("mean", "median-after-zeros")   # model.decode.endpoint_noise_floor
# A frame within this much of digital silence's energy is digital silence: one mel band 8 %
# above the log floor raises the 80-band sum by 0.004 dB.
_SILENCE_TOLERANCE_DB = 1e-3


def digital_silence_db(spec: FrontendSpec) -> float:
    """Energy of a frame of digital zeros: every mel band at the frontend's log floor."""
    row = np.full((1, spec.n_mels), np.log(spec.log_floor), np.float32)
    return float(frame_energy_db(row, spec)[0])


def _floor_mean(e: np.ndarray) -> np.ndarray:
    csum = np.concatenate([[0.0], np.cumsum(e)])
    k = np.arange(1, e.size + 1)
    lo = np.maximum(k - NOISE_SMOOTH_FRAMES, 0)
    smoothed = (csum[k] - csum[lo]) / (k - lo)          # mean of the last (up to) 10 frames
    return np.minimum.accumulate(smoothed)


def windowed_floor(values: np.ndarray, reduce=np.median) -> np.ndarray:
    """Floor per frame: ``reduce`` over each full window of ``NOISE_SMOOTH_FRAMES`` frames,
    the minimum so far; before the first full window, ``reduce`` over the frames so far (not
    entering the minimum)."""
    w = NOISE_SMOOTH_FRAMES
    floor = np.empty(values.size)
    for k in range(min(values.size, w - 1)):
        floor[k] = reduce(values[:k + 1])
    if values.size >= w:
        windows = np.lib.stride_tricks.sliding_window_view(values, w)
        floor[w - 1:] = np.minimum.accumulate(reduce(windows, axis=1))
    return floor


def _floor_median_after_zeros(e: np.ndarray, silence_db: float) -> np.ndarray:
    floor = np.full(e.size, np.inf)       # before the first live frame: no floor (quiet)
    live = np.flatnonzero(e > silence_db + _SILENCE_TOLERANCE_DB)
    if live.size:
        floor[live[0]:] = windowed_floor(e[live[0]:], np.median)
    return floor


def loud_frames(energy_db: np.ndarray, energy_floor_db: float, noise_margin_db: float,
                noise_floor: str = "mean", silence_db: float | None = None) -> np.ndarray:
    """Which log-mel frames are loud (module docstring); causal, as a device computes it.
    ``noise_floor``: one of :data:`NOISE_FLOORS`; ``"median-after-zeros"`` needs
    ``silence_db``, the energy of digital silence (:func:`digital_silence_db`)."""
    e = np.asarray(energy_db, np.float64)
    if e.size == 0:
        return np.zeros(0, bool)
    if noise_floor == "mean":
        floor = _floor_mean(e)
    elif noise_floor == "median-after-zeros":
        if silence_db is None:
            raise ValueError("noise_floor 'median-after-zeros' needs silence_db")
        floor = _floor_median_after_zeros(e, silence_db)
    else:
        raise ValueError(f"noise_floor {noise_floor!r}: one of {', '.join(NOISE_FLOORS)}")
    return e >= np.maximum(energy_floor_db, floor + noise_margin_db)


def with_tail(utt: Utterance, tail_ms: float, cfg) -> Utterance:
    """The utterance with ``tail_ms`` of digital silence appended (features recomputed)."""
    if tail_ms <= 0:
        return utt
    spec = frontend_spec(cfg)
    audio = utt.audio if utt.audio is not None else \
        load_audio(utt.path, spec.sample_rate_hz).samples
    pad = np.zeros(int(round(tail_ms * spec.sample_rate_hz / 1000.0)), np.float32)
    samples = np.concatenate([audio, pad])
    return replace(utt, seconds=len(samples) / spec.sample_rate_hz,
                   features=log_mel(samples, spec))


def check_tail_on_testset(cfg, testset: str, where: str | None = None) -> None:
    """A one-line error (naming ``where``, by default the ``testset`` input) unless
    ``cfg``'s tail can be appended to ``testset``'s utterances:
    the tail is silence added to the audio, so a set of features cannot take it (before
    2026-12-06 ``azsim eval`` dropped it without a word)."""
    from ..evaluate import _shipped_testset, split_holds_audio   # evaluate imports this
    tail_ms = cfg.decode.endpoint_tail_ms
    if tail_ms <= 0:
        return
    where = where or named("testset", testset)
    # a shipped set's name is its features, as load_testset reads it, even beside a folder
    # of that name in the current folder
    kind = None if _shipped_testset(testset) is not None else \
        path_kind(testset, where)
    if kind == "folder" or (kind == "file" and split_holds_audio(testset)):
        return
    raise AzsimError(f"{where}: model.decode.endpoint_tail_ms = {tail_ms:g} "
                     "appends silence to audio, and this test set holds features only; use a "
                     "folder of WAVs, a corpus test or names split (they keep their audio) or "
                     f"{named('audio')} files")


@dataclass(frozen=True)
class EndpointResult:
    """One utterance; times in seconds from the start of the audio."""
    end_of_speech_s: float | None        # None: no loud frame at all
    speculative_fired_s: tuple[float, ...]    # audio time of every speculative fire
    speculative_decided_s: tuple[float, ...]  # when the processor knew (frame finish)
    resets: int
    final_fired_s: float | None          # audio time; None if the audio ended first
    final_decided_s: float               # processor time of the final decision
    final_forced: bool
    speculation_confirmed: bool          # the last speculation stood, with the final text
    result_no_speculation_s: float
    result_with_speculation_s: float
    cut_off: bool = False                # the final end-pointer fired before the end of speech

    def latency_s(self, speculation: bool) -> float | None:
        """Result time minus the end of speech; None without speech or for a cut-off."""
        if self.end_of_speech_s is None or self.cut_off:
            return None
        t = self.result_with_speculation_s if speculation else self.result_no_speculation_s
        return t - self.end_of_speech_s


def run_endpointers(loud: np.ndarray, hop_s: float, window_s: float, stack_frames: int,
                    stride: int, step_frames: np.ndarray, best_last_emit: np.ndarray,
                    best_id: np.ndarray, arrival_s: np.ndarray, finish_s: np.ndarray,
                    final_s: float, speculative_s: float, downstream_s: float,
                    audio_end_s: float | None = None) -> EndpointResult:
    """Run both end-pointers over one utterance (module docstring).

    ``loud[k]``: log-mel frame k is above the energy threshold. ``step_frames``,
    ``best_last_emit``, ``best_id``: per decoder step, its encoder input frame, the input
    frame of the best hypothesis' last emission (-1: none) and the identity of its text.
    ``arrival_s``/``finish_s``: per encoder input frame, from the cost stage's timeline.
    ``audio_end_s``: when the audio ends (the file's whole length; default the last frame's
    arrival), before which a forced decision cannot be taken.
    """
    n = len(arrival_s)
    loud_idx = np.flatnonzero(loud)
    loud_end = loud_idx * hop_s + window_s                  # end of each loud window
    eos = float(loud_end[-1]) if loud_idx.size else None
    fires: list[int] = []
    resets = 0
    spec = final = None
    last_activity = None

    def text_at(frame: int) -> int:
        s = np.searchsorted(step_frames, frame, side="right") - 1
        return int(best_id[s]) if s >= 0 else -1

    for f in range(n):
        t_now = float(arrival_s[f])
        k = np.searchsorted(loud_idx, f * stride + stack_frames - 1, side="right")
        activity = float(loud_end[k - 1]) if k else None
        s = np.searchsorted(step_frames, f, side="right") - 1
        if s >= 0 and best_last_emit[s] >= 0:
            emit_t = float(arrival_s[best_last_emit[s]])
            activity = emit_t if activity is None else max(activity, emit_t)
        if activity is None:
            continue                              # nobody has spoken yet
        if last_activity is not None and activity > last_activity + _EPS_S and spec is not None:
            resets += 1                           # speech resumed after a speculative fire
            spec = None
        elif spec is not None and text_at(f) != text_at(spec):
            # the best text changed with no new activity (another hypothesis, whose last
            # emission is earlier, overtook it): the speculation's downstream work is void, so
            # it is a reset and the speculative end-pointer re-arms (it was left unconfirmed,
            # uncounted and disarmed; a decoding audit, 2026-12-06)
            resets += 1
            spec = None
        last_activity = activity
        trailing = t_now - activity
        if spec is None and trailing >= speculative_s - _EPS_S:
            spec = f
            fires.append(f)
        if trailing >= final_s - _EPS_S:
            final = f
            break
    forced = final is None
    # forced at the end of the audio: decided when the last decoder step's frame is done
    # (a frame after it ends at a time reduction and cannot change the text)
    end = (int(step_frames[-1]) if len(step_frames) else n - 1) if forced else final
    decided = float(finish_s[end]) if n else 0.0
    if forced and n:   # not before the audio is known to have ended (review, 2026-12-06):
        # at its end, which can be up to a frame after the last frame's arrival (the samples
        # of a partial frame; a latency audit found one record holding both ends)
        end_s = float(arrival_s[-1]) if audio_end_s is None else max(audio_end_s,
                                                                      float(arrival_s[-1]))
        decided = max(decided, end_s)

    # a speculation after the end (a forced end at the last decoder step, with the dropped
    # frame after it firing) came after the result was final: it saves nothing
    confirmed = spec is not None and spec <= end and n > 0 and text_at(spec) == text_at(end)
    no_spec = decided + downstream_s
    with_spec = max(float(finish_s[spec]) + downstream_s, decided) if confirmed else no_spec
    cut_off = not forced and eos is not None and eos > float(arrival_s[final]) + _EPS_S
    return EndpointResult(
        eos, tuple(float(arrival_s[f]) for f in fires), tuple(float(finish_s[f]) for f in fires),
        resets, None if forced else float(arrival_s[final]), decided, forced, confirmed,
        no_spec, with_spec, cut_off)
