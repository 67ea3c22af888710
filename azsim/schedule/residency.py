"""Which layers' weights stay resident in SRAM, and which stream from DRAM every invocation.

Batch-1 LSTM inference is memory-bound, so whether weights fit on chip dominates everything
(DESIGN.md). A layer is resident if its SRAM footprint (its encoded stream, or the matrix with
zeros filled back in, depending on where the decoder sits) fits in the SRAM left after the
activation working set. Residency is a knapsack: a resident layer is read from DRAM once, at
load (its stream), instead of what it fetches when it streams (the executor's count over the
run: the stream on every invocation, one row per lookup for an embedding), and costs its
footprint, so the layers kept are those of the most DRAM bytes saved that fit (an exact 0/1
knapsack since 2026-12-07; greedily by bytes saved per SRAM byte before). The two differ
where the decoder sits before SRAM: a sparse layer then streams its compressed bytes but
occupies its dense size, so it saves less per SRAM byte than a dense layer invoked as often
(before 2026-12-03 the key was invocations per footprint byte, which kept a 60 % sparse cheap
encoder branch on chip and streamed the full branch it runs beside; README, "Branching
encoder").

A model that fits in SRAM beside its activations is preloaded whole and reads every weight
from DRAM once (issue #4's invariant), its embedding table too: a streamed lookup's row
depends on the token just emitted, so it cannot be fetched ahead and every prediction step
would wait the DRAM latency for it. Only when the model does not fit does the knapsack leave
out a layer that would fetch fewer bytes by streaming than by its preload -- an embedding
whose lookups read less than its table, or a layer never invoked. So more SRAM adds DRAM
bytes in one place only, where the whole model starts to fit and the table is preloaded
rather than looked up (the tiny model: 488 bytes once against 4 rows of 16, a 424 byte price
for no DRAM wait per token; tests/test_cost_properties.py). Cycles are not the objective: a
plan of fewer DRAM bytes can hide its tiles less well, and more SRAM then costs a few cycles
(at most +0.64 % in 3,400 random pairs of a 2026-12-06 audit). Until the second
change of 2026-12-06 the table streamed at any SRAM size whenever the double buffer fitted:
a model that fitted stalled on DRAM at every token, and more SRAM added 44 % to the tiny
model's cycles at a 100 us DRAM latency (a 2026-12-06 audit). Before the first, the key was
invocations x stream bytes for every layer, which valued the 488-byte table as 4 x 488 bytes
saved.

Double buffering (issue #4): when any layer must stream, two buffers are reserved first, so that
DRAM fills one while the array computes on the other (:mod:`azsim.cost.model`); the resident
layers share what is left. A buffer holds what the largest streaming layer stages at once: a
tile (``hw.stream_tile_bytes``), or less for a layer that stages less per invocation, one row
for an embedding looked up from DRAM. Until 2026-12-06 two full tiles were reserved whatever
streamed, so where only the tiny model's embedding (16-byte rows) would stream, 32 KiB were
kept for two rows, the layers that space would have held streamed instead, and at 159,079
bytes of SRAM the tiny model read 9,899,384 DRAM bytes, 62 times the 158,208 a few bytes more
gave (an audit; then 157,784 there, and 1,358,144 at 158,000, where a 4 KiB layer streamed;
since 2026-12-07 each layer's per-row parameters take SRAM beside its weights, and the
whole of tiny needs 171,004 bytes).
The knapsack is solved for each reserve a streaming layer may need, the layers needing more
kept on chip.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


FRONTIER_LIMIT = 200_000   # Pareto states kept before the exact knapsack gives way to greedy


def _best_subset(items: list, capacity: int, footprint, saving) -> list:
    """The items of the largest total ``saving`` whose ``footprint``s fit in ``capacity``
    (0/1 knapsack, solved exactly over the Pareto frontier of (footprint, saving): each
    state a subset no other beats in both). Until 2026-12-07 the layers were admitted
    greedily by saving per byte, which has no bound for 0/1 choices: small layers of a high
    ratio took the space, a large one of a slightly lower ratio stayed out, and he2019 at
    99.9 MB of SRAM read 3.27 GB from DRAM where 0.26 GB was possible (a residency audit).
    Models have tens of layers, so the frontier stays small (424 states for he2019); past
    FRONTIER_LIMIT states the greedy order is kept, as before."""
    frontier = [(0, 0, 0)]   # (footprint, saving, bitmask of items), footprint ascending
    for k, info in enumerate(items):
        w, v = footprint(info), saving(info)
        if w > capacity or v <= 0:
            continue
        added = [(fw + w, fv + v, m | (1 << k)) for fw, fv, m in frontier if fw + w <= capacity]
        merged, frontier, best = sorted(frontier + added, key=lambda s: (s[0], -s[1])), [], -1
        for state in merged:   # keep a state only if it saves more than every lighter one
            if state[1] > best:
                frontier.append(state)
                best = state[1]
        if len(frontier) > FRONTIER_LIMIT:
            return []
    mask = max(frontier, key=lambda s: (s[1], -s[0]))[2]
    return [info for k, info in enumerate(items) if mask >> k & 1]


@dataclass(frozen=True)
class Residency:
    resident: frozenset[str]
    weight_budget_bytes: int
    resident_bytes: int
    staging_bytes: int = 0       # SRAM reserved for double-buffered streaming (0: none streams)
    activation_bytes: int = 0    # SRAM reserved for activations and recurrent state
    # the DRAM bytes the plan expects over the run (preloads plus streamed passes), by the
    # caller's preload_bytes and streamed_bytes: what the cost model must then charge
    planned_dram_read_bytes: int = 0


def plan_residency(layers, streamed_bytes: dict[str, int], sram_bytes: int,
                   activation_bytes: int, footprint,
                   staging_bytes: int | Callable = 0,
                   preload_bytes: Callable = lambda info: info.weight_stream_bytes
                   ) -> Residency:
    """``footprint(info)`` is the SRAM a resident layer takes (stream or decoded matrix),
    ``preload_bytes(info)`` what it reads from DRAM once when resident (its stream, and
    the per-row parameters beside it where the caller counts them), and
    ``streamed_bytes[name]`` what it reads from DRAM over the run when it streams;
    ``staging_bytes`` the double buffer a streaming layer needs (a number for every layer, or
    ``staging_bytes(info)``), reserved only if a layer that streams fetches anything: the
    largest of the streaming layers'.

    Every layer resident if they all fit; otherwise, of the plans below, the one that reads the
    fewest DRAM bytes (the first of a tie): every layer worth keeping, if they fit without a
    double buffer; then, for each double buffer a streaming layer needs, smallest first, the
    layers needing a larger one kept on chip and the exact knapsack over the rest beside it
    (:func:`_best_subset`), what still fits added after."""
    def fetched(info) -> int:
        return streamed_bytes.get(info.name, 0)

    def saving(info) -> int:
        return fetched(info) - preload_bytes(info)

    def need(info) -> int:
        return staging_bytes(info) if callable(staging_bytes) else staging_bytes

    def staging(resident) -> int:
        return max((need(info) for info in layers
                    if info.name not in resident and fetched(info) > 0), default=0)

    def dram_bytes(resident) -> int:
        return sum(preload_bytes(info) if info.name in resident else fetched(info)
                   for info in layers)

    budget = max(sram_bytes - activation_bytes, 0)
    # Worth keeping: layers that would fetch at least their stream's bytes by streaming
    # (keeping one read once either way costs no DRAM byte and spares the stream's latency).
    worth = [info for info in layers if fetched(info) > 0 and saving(info) >= 0]
    if sum(footprint(info) for info in layers) <= budget:   # the model fits: preload it
        everything = frozenset(info.name for info in layers)
        return Residency(everything, budget, sum(footprint(info) for info in layers), 0,
                         activation_bytes, dram_bytes(everything))
    plans = []   # (resident, SRAM left for weights, double buffer), in order of preference
    names = frozenset(info.name for info in worth)   # every layer worth keeping, unbuffered
    if staging(names) == 0 and sum(footprint(info) for info in worth) <= budget:
        plans.append((names, budget, 0))
    order = sorted(worth, key=lambda info: (-saving(info) / max(footprint(info), 1), info.name))
    reserves = sorted({need(info) for info in layers if fetched(info) > 0}) or [0]
    for reserve in reserves:   # the largest forces nothing on chip: always a plan
        forced = [info for info in layers if fetched(info) > 0 and need(info) > reserve]
        used = sum(footprint(info) for info in forced)
        if used > budget - reserve and reserve != reserves[-1]:
            continue   # (too small an SRAM for the largest is api._check_sram_reserve's error)
        chosen = {info.name for info in forced}
        room = budget - reserve - used
        free = [info for info in order if info.name not in chosen]
        for info in _best_subset(free, room, footprint, saving):
            chosen.add(info.name)
            used += footprint(info)
        # then what still fits, by saving per byte (layers that save nothing but a stream's
        # latency among them)
        for info in order:
            if info.name not in chosen and used + footprint(info) <= budget - reserve:
                chosen.add(info.name)
                used += footprint(info)
        plans.append((frozenset(chosen), max(budget - staging(chosen), 0), staging(chosen)))
    # of the plans that fit (the largest reserve's may not: then api's reserve check says
    # so), the fewest DRAM bytes, the first of a tie
    fitting = [plan for plan in plans
               if sum(footprint(info) for info in layers if info.name in plan[0]) + plan[2]
               <= budget] or plans
    resident, left, buffer = min(fitting, key=lambda plan: dram_bytes(plan[0]))
    return Residency(resident, left, sum(footprint(info) for info in layers
                                          if info.name in resident), buffer, activation_bytes,
                     dram_bytes(resident))
