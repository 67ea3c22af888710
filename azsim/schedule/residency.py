"""Which layers' weights stay resident in SRAM, and which stream from DRAM every invocation.

Batch-1 LSTM inference is memory-bound, so whether weights fit on chip dominates everything
(DESIGN.md). A layer is resident if its encoded stream fits in the SRAM left after the
activation working set; layers are admitted greedily by reuse -- invocations per stream byte,
as counted by the executor -- so the weights fetched most often per byte stay on chip.
Resident weights are read from DRAM once (at load), streamed ones on every invocation.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Residency:
    resident: frozenset[str]
    weight_budget_bytes: int
    resident_bytes: int


def plan_residency(layers, invocations: dict[str, int], sram_bytes: int,
                   activation_bytes: int, footprint) -> Residency:
    """``footprint(info)`` is the SRAM a resident layer takes (stream or decoded matrix)."""
    budget = max(sram_bytes - activation_bytes, 0)
    order = sorted(layers, key=lambda info: (-invocations.get(info.name, 0)
                                             / max(footprint(info), 1), info.name))
    used, resident = 0, set()
    for info in order:
        if used + footprint(info) <= budget:
            resident.add(info.name)
            used += footprint(info)
    return Residency(frozenset(resident), budget, used)
