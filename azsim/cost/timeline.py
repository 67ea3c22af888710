"""Streaming timeline: frames arrive in real time; a frame cannot start before it arrives.

A frame's audio is complete when the analysis window of the last log-mel frame stacked into it
closes; a frame starts when it has arrived and the previous frame is done (one frame in flight),
and takes the cycles the cost model gives it. The latency a user feels is from the end of the
audio to the final result: the finish of the last frame minus the end of the audio.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Timeline", "frame_arrival_s", "timeline"]


@dataclass(frozen=True)
class Timeline:
    """Streaming timeline of one utterance."""
    frame_s: float               # audio per encoder input frame
    arrival_s: np.ndarray        # when each frame's audio is complete
    start_s: np.ndarray
    finish_s: np.ndarray
    compute_s: np.ndarray        # processing time of each frame
    audio_end_s: float           # end of the utterance's audio

    @property
    def end_of_speech_latency_s(self) -> float:
        """From the end of the audio to the last frame's result (>= 0)."""
        return max(float(self.finish_s[-1]) - self.audio_end_s, 0.0) if self.finish_s.size else 0.0

    @property
    def last_frame_latency_s(self) -> float:
        """From the arrival of the last frame's audio to its result: the processor's part of
        the final latency. The end-of-speech latency above is often 0 on a fast processor,
        because the audio after the last whole frame (up to a frame) is not a frame of its
        own and the last result is ready before the audio ends; this one still shows the
        work of the last frame."""
        return float(self.finish_s[-1] - self.arrival_s[-1]) if self.finish_s.size else 0.0

    @property
    def busy_s(self) -> float:
        return float(self.compute_s.sum())


def frame_arrival_s(n_frames: int, stack_frames: int, stride: int, hop_ms: float,
                    window_ms: float) -> np.ndarray:
    """When the audio of each encoder input frame is complete: the end of the analysis window
    of the last log-mel frame stacked into it."""
    last_mel = np.arange(n_frames) * stride + stack_frames - 1
    return (last_mel * hop_ms + window_ms) / 1000.0


def timeline(frame_cycles: np.ndarray, clock_mhz: float, frame_s: float,
             arrival: np.ndarray, audio_end_s: float) -> Timeline:
    """A frame starts when its audio has arrived and the previous frame is done."""
    compute_s = np.asarray(frame_cycles, np.float64) / (clock_mhz * 1e6)
    start, finish = np.empty_like(compute_s), np.empty_like(compute_s)
    busy_until = 0.0
    for f in range(compute_s.size):
        start[f] = max(arrival[f], busy_until)
        finish[f] = busy_until = start[f] + compute_s[f]
    return Timeline(frame_s, arrival, start, finish, compute_s, audio_end_s)
