"""First cost model (issue #2): per layer and frame, cycles = max(compute, SRAM, DRAM).

To be replaced by the cycle-approximate processor model (issue #4). Inputs are only the event
counts of the executor, the hardware config, the residency plan and the action energies.

Per (layer, frame), with the frame's counts summed over the layer's invocations:

* MACs issued: effectual MACs if the hardware skips zero operands, else all dense MACs;
* compute cycles = MACs issued / ``macs_per_cycle``;
* SRAM cycles = (weight bytes if resident + activation bytes read + written) /
  ``sram_bytes_per_cycle``;
* DRAM cycles = weight bytes if streamed / (DRAM bytes per cycle at the clock);
* decoder cycles = stream entries decoded / ``decoder_symbols_per_cycle``;
* cycles = ceil(max of the four); the largest names the layer's bound.

Where the weight decoder sits (issue #3) decides what SRAM holds and when decoding happens:
``sram_to_pe`` (EIE) keeps the compressed stream in SRAM and decodes it on every pass;
``dram_to_sram`` (the seed's processor) expands streams on their way into SRAM, which then
holds the matrix with zeros filled back in: a resident layer is decoded once, at load, and read
dense; a streamed layer is decoded every pass and staged through SRAM (written, then read).

Energy = sum of counts x energy per action (``azsim.cost.energy``): MACs charged are all dense
MACs with no zero handling and only effectual MACs with gating or skipping (a gated MAC's
residual energy is taken as zero until issue #4 adds it as its own action); leakage is
charged over busy time only: between frames the array is assumed power-gated, as Accelergy
and Timeloop charge leakage over a workload's run time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..execute.events import FIELD

PJ_PER_MW_S = 1e9  # 1 mW for 1 s = 1e-3 J = 1e9 pJ


@dataclass(frozen=True)
class LayerCost:
    """[n_frames] arrays for one utterance and one layer."""
    cycles: np.ndarray
    compute_cycles: np.ndarray
    sram_cycles: np.ndarray
    dram_cycles: np.ndarray
    decoder_cycles: np.ndarray
    macs_issued: np.ndarray
    sram_read_bytes: np.ndarray
    sram_write_bytes: np.ndarray
    dram_read_bytes: np.ndarray
    mac_pj: np.ndarray
    sram_pj: np.ndarray
    dram_pj: np.ndarray
    lut_pj: np.ndarray
    decoder_pj: np.ndarray
    decoded_symbols: np.ndarray


def sram_weight_footprint_bytes(info, hw) -> int:
    """SRAM a resident layer occupies: its stream, or the matrix with zeros filled back in."""
    if hw.decoder_location == "sram_to_pe" or info.kind == "embedding":
        return info.weight_stream_bytes
    return info.weight_dense_bytes


def layer_costs(counts: np.ndarray, layers, hw, energies, resident) -> list[LayerCost]:
    """Costs of every layer of one utterance from its counts [n_layers, n_frames, n_fields]."""
    dram_bytes_per_cycle = hw.dram_bandwidth_gb_per_s * 1e9 / (hw.clock_mhz * 1e6)
    out = []
    for k, info in enumerate(layers):
        c = counts[k]
        dense, eff = c[:, FIELD["macs_dense"]], c[:, FIELD["macs_effectual"]]
        issued = eff if hw.zero_handling == "skip" else dense
        charged = dense if hw.zero_handling == "none" else eff
        stream_bytes = c[:, FIELD["weight_bytes"]]
        is_resident = info.name in resident
        zeros = np.zeros_like(stream_bytes)
        if hw.decoder_location == "sram_to_pe" or info.kind == "embedding":
            w_sram_read, w_sram_write = (stream_bytes if is_resident else zeros), zeros
            decoded = c[:, FIELD["decode_symbols"]]
        else:
            dense_bytes = c[:, FIELD["invocations"]] * info.weight_dense_bytes
            w_sram_read, w_sram_write = dense_bytes, (zeros if is_resident else dense_bytes)
            decoded = zeros if is_resident else c[:, FIELD["decode_symbols"]]
        sram_read = c[:, FIELD["act_read_bytes"]] + w_sram_read
        sram_write = c[:, FIELD["act_write_bytes"]] + w_sram_write
        dram_read = zeros if is_resident else stream_bytes
        compute = issued / hw.macs_per_cycle
        sram = (sram_read + sram_write) / hw.sram_bytes_per_cycle
        dram = dram_read / dram_bytes_per_cycle
        decoder = decoded / hw.decoder_symbols_per_cycle
        cycles = np.ceil(np.maximum(np.maximum(compute, sram), np.maximum(dram, decoder)))
        out.append(LayerCost(cycles.astype(np.int64), compute, sram, dram, decoder, issued,
                             sram_read, sram_write, dram_read, charged * energies.mac_pj,
                             (sram_read + sram_write) * energies.sram_pj_per_byte,
                             dram_read * energies.dram_pj_per_byte,
                             c[:, FIELD["lut_lookups"]] * energies.lut_lookup_pj,
                             decoded * energies.decode_symbol_pj, decoded))
    return out


@dataclass(frozen=True)
class Timeline:
    """Streaming timeline of one utterance: frames arrive in real time (DESIGN.md)."""
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
    compute_s = frame_cycles / (clock_mhz * 1e6)
    start, finish = np.empty_like(compute_s), np.empty_like(compute_s)
    busy_until = 0.0
    for f in range(frame_cycles.size):
        start[f] = max(arrival[f], busy_until)
        finish[f] = busy_until = start[f] + compute_s[f]
    return Timeline(frame_s, arrival, start, finish, compute_s, audio_end_s)
