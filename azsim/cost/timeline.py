"""Streaming timeline: frames arrive in real time; a frame cannot start before it arrives.

A frame's audio is complete when the analysis window of the last log-mel frame stacked into it
closes; a frame starts when it has arrived and the previous frame is done (one frame in flight),
and takes the cycles the cost model gives it. The latency a user feels is from the end of the
audio to the final result: the finish of the last frame whose work reaches the decoder (the
result frame) minus the end of the audio. With a time reduction of R, the frames after the
last whole group of R run the layers before the reduction and are dropped there (as in
training), so they cannot change the result; a device still runs them, and their cycles
stay in the busy time and the energy.
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
    result_frame: int = -1       # the last frame whose work reaches the decoder (-1: the last)


    @property
    def end_of_speech_latency_s(self) -> float:
        """From the end of the audio to the final result, the result frame's finish (>= 0)."""
        if not self.finish_s.size:
            return 0.0
        return max(float(self.finish_s[self.result_frame]) - self.audio_end_s, 0.0)

    @property
    def last_frame_latency_s(self) -> float:
        """From the arrival of the result frame's audio to its result: the processor's part
        of the final latency. The end-of-speech latency above is often 0 on a fast
        processor, because the audio after the last whole frame (up to a frame) is not a
        frame of its own and the last result is ready before the audio ends; this one still
        shows the work of the last frame."""
        if not self.finish_s.size:
            return 0.0
        k = self.result_frame
        return float(self.finish_s[k] - self.arrival_s[k])

    @property
    def busy_s(self) -> float:
        return float(self.compute_s.sum())


def frame_arrival_s(n_frames: int, stack_frames: int, stride: int, hop_s: float,
                    window_s: float) -> np.ndarray:
    """When the audio of each encoder input frame is complete: the end of the analysis window
    of the last log-mel frame stacked into it (``hop_s``, ``window_s``: in whole samples,
    :func:`azsim.model.frontend.hop_window_s`)."""
    last_mel = np.arange(n_frames) * stride + stack_frames - 1
    return last_mel * hop_s + window_s


def timeline(frame_cycles: np.ndarray, clock_mhz: float, frame_s: float,
             arrival: np.ndarray, audio_end_s: float, result_frame: int = -1) -> Timeline:
    """A frame starts when its audio has arrived and the previous frame is done;
    ``result_frame``: the last frame whose work reaches the decoder (-1: the last frame)."""
    compute_s = np.asarray(frame_cycles, np.float64) / (clock_mhz * 1e6)
    start, finish = np.empty_like(compute_s), np.empty_like(compute_s)
    busy_until = 0.0
    for f in range(compute_s.size):
        start[f] = max(arrival[f], busy_until)
        finish[f] = busy_until = start[f] + compute_s[f]
    if result_frame < 0:
        result_frame += compute_s.size
    return Timeline(frame_s, arrival, start, finish, compute_s, audio_end_s,
                    max(result_frame, 0))
