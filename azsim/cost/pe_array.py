"""Cycles of one matrix-vector product on the EIE-style PE array, driven by its actual data.

Per invocation (one input vector), given the layer's :class:`azsim.schedule.mapping.PeTables`
and which input activations are nonzero:

* **broadcast and queues** (``kernels/pe_array.py``): the columns to process -- the nonzero
  activations when the array skips zero activations, else all -- are broadcast in order, at most
  one per cycle, into per-PE activation queues of ``queue_depth`` entries; each PE works through
  its queue at ``cost[p, j]`` cycles per column. The result is the cycle the slowest PE finishes,
  so load imbalance between PEs shows, smoothed by the queues (EIE section IV, "Activation
  Queue and Load Balancing").
* **decoder rate** (weights decoded on the SRAM->PE path): the decoder's
  ``decoder_symbols_per_cycle`` are shared evenly by the PEs (one decoder slice per PE, as EIE's
  per-PE sparse-matrix read unit), so the busiest PE needs ``decoded_p / (rate / P)`` cycles.
* **SRAM port**: each PE's bank delivers ``sram_bytes_per_cycle / P`` bytes per cycle, so the
  busiest PE needs ``wbytes_p / (port / P)`` cycles. The decoder and the port are streams with
  buffering (EIE fetches 8 entries per 64-bit read into a buffer), so they bound the whole
  invocation, not each column.

An invocation takes the largest of the three; which one is its bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels as K

__all__ = ["Invocations", "pe_invocations"]

BOUNDS = ("compute", "decoder", "sram")


@dataclass(frozen=True)
class Invocations:
    """Per-invocation cycles and counts (arrays [n_inv])."""
    cycles: np.ndarray          # float64: max of the three bounds below
    sched_cycles: np.ndarray    # int64: broadcast + queues + lanes
    decoder_cycles: np.ndarray  # float64
    sram_cycles: np.ndarray     # float64: the busiest PE's bank port
    busy_pe_cycles: np.ndarray  # int64: sum over PEs of their cost
    issued: np.ndarray          # int64: MAC slots issued (entries walked, padding included)
    real: np.ndarray            # int64: of which real matrix elements
    decoded: np.ndarray         # int64: stream entries decoded
    wbytes: np.ndarray          # float64: weight bytes read from SRAM

    @property
    def bound(self) -> np.ndarray:
        """Index into BOUNDS of each invocation's largest term."""
        return np.argmax(np.stack([self.sched_cycles.astype(np.float64), self.decoder_cycles,
                                   self.sram_cycles]), axis=0)


def pe_invocations(tables, active: np.ndarray, hw) -> Invocations:
    """Costs of the invocations whose nonzero activations are the rows of ``active``
    (bool [n_inv, n_in]); with ``hw.skips_activations`` false every column is processed."""
    active = np.ascontiguousarray(active, dtype=np.bool_)
    if active.ndim != 2 or active.shape[1] != tables.n_in:
        raise ValueError(f"active must be (invocations, {tables.n_in}), got {active.shape}")
    if not hw.skips_activations:
        active = np.ones_like(active)
    *layout, idle_cost = tables.kernel_layout()
    out = K.pe_invocations(*layout, active, hw.queue_depth)
    sched, busy, issued, real, decoded, decoded_max, wbytes, wbytes_max = out
    busy = busy + active.astype(np.int64) @ idle_cost   # the PEs with nothing to do
    n_pes = hw.pe_count
    if hw.decoder_location == "sram_to_pe":
        decoder = decoded_max / (hw.decoder_symbols_per_cycle / n_pes)
    else:
        decoder = np.zeros(sched.shape, np.float64)
    sram = wbytes_max / (hw.sram_bytes_per_cycle / n_pes)
    cycles = np.maximum(np.maximum(sched.astype(np.float64), decoder), sram)
    return Invocations(cycles, sched, decoder, sram, busy, issued, real, decoded, wbytes)
