"""Which layers' weights stay resident in SRAM, and which stream from DRAM every invocation.

Batch-1 LSTM inference is memory-bound, so whether weights fit on chip dominates everything
(DESIGN.md). A layer is resident if its SRAM footprint (its encoded stream, or the matrix with
zeros filled back in, depending on where the decoder sits) fits in the SRAM left after the
activation working set. Residency is a knapsack: a resident layer saves its DRAM stream on every
invocation (invocations x stream bytes, as counted by the executor) and costs its footprint, so
layers are admitted greedily by DRAM bytes saved per SRAM byte. The two differ where the decoder
sits before SRAM: a sparse layer then streams its compressed bytes but occupies its dense size,
so it saves less per SRAM byte than a dense layer invoked as often (before 2026-12-03 the key
was invocations per footprint byte, which kept a 60 % sparse cheap encoder branch on chip and
streamed the full branch it runs beside; README, "Branching encoder").
Resident weights are read from DRAM once (at load), streamed ones on every invocation.

Double buffering (issue #4): when any layer must stream, two tiles of ``staging_bytes / 2`` are
reserved first, so that DRAM fills one tile while the array computes on the other
(:mod:`azsim.cost.pipeline`); the resident layers share what is left.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Residency:
    resident: frozenset[str]
    weight_budget_bytes: int
    resident_bytes: int
    staging_bytes: int = 0       # SRAM reserved for double-buffered streaming (0: none streams)


def plan_residency(layers, invocations: dict[str, int], sram_bytes: int,
                   activation_bytes: int, footprint, staging_bytes: int = 0) -> Residency:
    """``footprint(info)`` is the SRAM a resident layer takes (stream or decoded matrix) and
    ``info.weight_stream_bytes`` what it fetches from DRAM per invocation when it streams;
    ``staging_bytes`` the double buffer a streaming layer needs (reserved only if one streams)."""
    budget = max(sram_bytes - activation_bytes, 0)
    if sum(footprint(info) for info in layers) <= budget:
        used = sum(footprint(info) for info in layers)
        return Residency(frozenset(info.name for info in layers), budget, used, 0)
    budget = max(budget - staging_bytes, 0)
    order = sorted(layers, key=lambda info: (-invocations.get(info.name, 0)
                                             * info.weight_stream_bytes
                                             / max(footprint(info), 1), info.name))
    used, resident = 0, set()
    for info in order:
        if used + footprint(info) <= budget:
            resident.add(info.name)
            used += footprint(info)
    staging = staging_bytes if len(resident) < len(layers) else 0
    return Residency(frozenset(resident), budget, used, staging)
