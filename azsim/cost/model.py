"""The processor cost model: an utterance's events and activity -> cycles, traffic and energy.

Inputs are only what the executor recorded (:class:`azsim.execute.events.EventLog`: counts per
layer and frame, and which activations each invocation saw nonzero), the layer-to-array mapping
(:mod:`azsim.schedule.mapping`), the residency plan and the action energies (issue #4).

Per layer and frame, the **array side** takes:

* the matrix-vector products: on the PE array, each invocation replayed by
  :func:`azsim.cost.pe_array.pe_invocations` (broadcast, queues, lanes, load imbalance, decoder
  rate, per-bank SRAM port), on the systolic array :func:`azsim.cost.systolic.fed_gemm_cycles`
  with M = 1 (SCALE-Sim's folds on the physical array, each fold's weight phase stretched when
  the port or the decoder feeds it more slowly), its input read again for every further column
  fold and, weight-stationary, its int32 partial sums written and read back between row folds;
  an embedding lookup reads one row through the port and the decoder (the slower of the two);
* at least the frame's whole SRAM traffic (weights read, streamed tiles written, activations and
  state read and written) through the ``sram_bytes_per_cycle`` port;
* then the nonlinear unit: sigmoid/tanh lookups and element-wise operations at
  ``nonlinear_ops_per_cycle``, after the product (an LSTM cell needs all four gates of a unit,
  which the array completes together at the end of the product).

**DRAM** (:func:`azsim.kernels.stream_pipeline`): streamed layers' weights arrive in tiles
through two SRAM buffers (:func:`stream_buffer_bytes`: ``stream_tile_bytes``, or the largest
streaming layer's stage when every one stages less), the channel moving a tile in
``tile bytes / (bandwidth / clock)`` cycles -- or in the decoder's time when the decoder sits on
the DRAM->SRAM path and is slower -- after ``dram_latency_ns``; the array computes on one tile
while the next arrives, and prefetches across layers; a layer's nonlinear work follows its
last tile. A streamed embedding fetches each lookup's row on demand, when the token selecting
it is known, so every lookup waits the latency. Each frame starts with empty buffers.
A layer's cycles are its span on the frame's timeline; what exceeds its array-side time is
stall, attributed to the DRAM, or to the decoder in the frames where the decoder is the slower
of the two (until 2026-12-06 every stall was booked to the DRAM, so a layer waiting on a slow
decoder reported itself DRAM-bound).

**Per-row parameters** (``weight_side_bytes``: each output row's bias and requantization
multipliers and shifts, :mod:`azsim.compress.sidecar`) travel with the layer's weights: held in
SRAM beside them when resident, fetched from DRAM and staged with them when streamed, and read
through the port on every invocation (at the port's rate, not in the PE banks' schedule).

**Energy** is counts x energy per action (:mod:`azsim.cost.energy`), per component:

* ``mac``: MACs issued at full energy -- every dense MAC with no zero handling; the effectual
  ones (nonzero weight and activation) when gating; the entries walked (padding included) when
  skipping;
* ``gated_mac``: with gating, the MACs with a zero operand;
* ``sram_weights`` / ``sram_activations``: bytes read and written per buffer;
* ``dram``, ``decoder``, ``lut`` (table lookups), ``elementwise`` (requantizations and cell
  products: per LSTM unit 8 requantizations of the gate accumulators, 3 cell products and 1
  output requantization; per output of any other matrix one requantization; and, for the joint
  output layer, the addition of the two joint projections per hidden unit, a plain add
  counted apart: ``elementwise_adds``).

MACs skipped are counted (``macs_skipped``: dense MACs never issued) and cost nothing here.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .. import kernels as K
from ..execute.events import FIELD
from ..schedule.mapping import pe_stream_bytes, pe_tables, stores_per_pe
from .pe_array import BOUNDS, pe_invocations
from .systolic import cell_pack, fed_gemm_cycles, gemm_cycles, row_col_folds, slot_bits

__all__ = ["CostPlan", "LayerCost", "UtteranceCost", "plan_costs", "utterance_costs",
           "stored_layers", "preload_costs", "elementwise_ops_per_invocation",
           "elementwise_adds_per_invocation",
           "sram_weight_footprint_bytes", "sram_layer_footprint_bytes", "ATTRIBUTION", "COMPONENTS", "BOUND_CLASS",
           "psum_buffer_bytes"]

ATTRIBUTION = ("compute", "sram", "decoder", "nonlinear", "dram")
# The coarse classes of what bounds a layer.
BOUND_CLASS = {"compute": "compute", "nonlinear": "compute", "sram": "memory", "dram": "memory",
               "decoder": "decoder"}
COMPONENTS = ("mac", "gated_mac", "sram_weights", "sram_activations", "dram", "decoder", "lut",
              "elementwise")
COUNTS = ("macs_dense", "macs_issued", "macs_real", "macs_full", "macs_gated", "macs_skipped",
          "sram_weight_read_bytes", "sram_weight_write_bytes", "sram_act_read_bytes",
          "sram_act_write_bytes", "dram_read_bytes", "decoded_symbols", "lut_lookups",
          "elementwise_ops", "elementwise_adds")


def sram_weight_footprint_bytes(info, hw) -> int:
    """SRAM a resident layer occupies: its stream, or the matrix with zeros filled back in."""
    if hw.decoder_location == "sram_to_pe" or info.kind == "embedding":
        return info.weight_stream_bytes
    return info.weight_dense_bytes


def sram_layer_footprint_bytes(info, hw) -> int:
    """SRAM a resident layer occupies with its per-row parameters (biases, requantization
    multipliers and shifts: ``info.weight_side_bytes``, azsim.compress.sidecar), which stay
    packed whatever the decoder does to the weights."""
    return sram_weight_footprint_bytes(info, hw) + info.weight_side_bytes


def stream_buffer_bytes(info, hw) -> int:
    """One of the two SRAM buffers a layer needs to stream: what it stages at once, a tile
    (``hw.stream_tile_bytes``), or its whole SRAM-side size (per-row parameters included)
    when that is less; for an embedding one row (a lookup fetches its row, ``n_in`` bytes as
    the executor counts it)."""
    if info.kind == "embedding":
        return info.n_in
    return min(hw.stream_tile_bytes, sram_layer_footprint_bytes(info, hw))


def elementwise_ops_per_invocation(info) -> int:
    """Element-wise multiply-adds of one invocation (see the module docstring)."""
    if info.kind == "lstm":
        return 12 * (info.n_out // 4)
    if info.kind == "embedding":
        return 0
    return info.n_out


def elementwise_adds_per_invocation(info) -> int:
    """Plain element-wise adds of one invocation: the joint output layer's sum of the two
    joint projections, one per hidden unit (its input)."""
    return info.n_in if info.kind == "joint_out" else 0


@dataclass(frozen=True)
class CostPlan:
    """Everything fixed across utterances: hardware, energies, residency, PE tables."""
    hw: object
    energies: object
    residency: object
    tables: dict = field(default_factory=dict)   # layer name -> PeTables (pe array only)
    # layer name -> the bytes its weights take as this processor stores them, where that is
    # not the matrix's own stream (:func:`stored_layers`: a stream per PE)
    stored_bytes: dict = field(default_factory=dict)

    def weight_stored_bytes(self, info) -> int:
        """What ``info``'s weights occupy in SRAM when stored encoded, and what one pass
        fetches from DRAM for them (the layer's per-row parameters,
        ``info.weight_side_bytes``, come beside them)."""
        return self.stored_bytes.get(info.name, info.weight_stream_bytes)


@dataclass(frozen=True)
class LayerCost:
    """One layer's [n_frames] arrays for one utterance."""
    cycles: np.ndarray              # int64: span on the frame timeline
    compute_cycles: np.ndarray      # float64: array-side time (no DRAM stall)
    attributed: dict                # ATTRIBUTION name -> float64 cycles; sums to the span
    sched_cycles: np.ndarray        # float64: broadcast/queue/lane cycles of the products
    busy_pe_cycles: np.ndarray      # float64: PE-cycles of work (pe array)
    counts: dict                    # COUNTS name -> float64
    energy_pj: dict                 # COMPONENTS name -> float64
    # float64: the time the channel spent on the layer's tiles within its own span, when the
    # DRAM (or, where it is the slower, the DRAM->SRAM decoder) sets the tiles' pace
    dram_transfer_cycles: np.ndarray = None
    decoder_transfer_cycles: np.ndarray = None

    # Issue #2 names, kept for callers of the first model.
    @property
    def macs_issued(self) -> np.ndarray:
        return self.counts["macs_issued"]

    @property
    def dram_read_bytes(self) -> np.ndarray:
        return self.counts["dram_read_bytes"]

    @property
    def sram_read_bytes(self) -> np.ndarray:
        return self.counts["sram_weight_read_bytes"] + self.counts["sram_act_read_bytes"]

    @property
    def sram_write_bytes(self) -> np.ndarray:
        return self.counts["sram_weight_write_bytes"] + self.counts["sram_act_write_bytes"]


@dataclass(frozen=True)
class UtteranceCost:
    layers: list                    # LayerCost per layer, in EventLog order
    frame_cycles: np.ndarray        # int64 [n_frames]


def stored_layers(layers, matrices: dict, hw, index_bits: int, pointer_bits: int) -> list:
    """``layers`` (LayerInfo) with ``weight_stream_bytes`` as ``hw`` stores the weights: on a
    PE array that decodes in front of each PE, every PE keeps its interleaved rows as its own
    stream (EIE's layout; :func:`azsim.schedule.mapping.pe_stream_bytes`), whose bytes, the
    sum over the PEs and the layer's matrices, are what SRAM holds and DRAM delivers; a
    matrix's single stream, elsewhere. The embedding table is never re-laid out."""
    if not stores_per_pe(hw):
        return list(layers)
    out = []
    for info in layers:
        blocks = matrices.get(info.name)
        if blocks is None or info.kind == "embedding":
            out.append(info)
            continue
        nbytes = sum(int(pe_stream_bytes(m, hw.pe_count, index_bits, pointer_bits).sum())
                     for m in blocks)
        out.append(dataclasses.replace(info, weight_stream_bytes=nbytes))
    return out


def plan_costs(matrices: dict, hw, energies, residency, index_bits: int,
               pointer_bits: int, stored) -> CostPlan:
    """Build the per-layer PE tables once (``matrices``: layer name -> its column blocks);
    ``stored``: the layers as :func:`stored_layers` gives them, whose bytes the plan charges.
    Required: without it a PE array decoding in front of each PE read per-PE stream bytes
    from SRAM but charged DRAM and staging the matrix's single stream (a cost audit)."""
    tables = {}
    if hw.array == "pe":
        tables = {name: pe_tables(blocks, hw, index_bits, pointer_bits)
                  for name, blocks in matrices.items()}
    stored_bytes = {info.name: info.weight_stream_bytes for info in stored}
    return CostPlan(hw, energies, residency, tables, stored_bytes)


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, np.float64)


def _pe_products(name: str, log, plan, inv: np.ndarray) -> dict:
    """Per-frame sums of the PE array invocations of one layer."""
    hw, tables = plan.hw, plan.tables[name]
    n = inv.size
    acc = {key: _zeros(n) for key in ("mv", "sched", "busy", "issued", "real", "decoded",
                                      "wbytes", *BOUNDS)}

    def add(frames, r, weight=None):
        w = np.ones(frames.size) if weight is None else weight
        bound = r.bound
        for key, value in (("mv", r.cycles), ("sched", r.sched_cycles), ("busy", r.busy_pe_cycles),
                           ("issued", r.issued), ("real", r.real), ("decoded", r.decoded),
                           ("wbytes", r.wbytes)):
            np.add.at(acc[key], frames, np.asarray(value, np.float64) * w)
        for b, key in enumerate(BOUNDS):
            np.add.at(acc[key], frames, np.where(bound == b, r.cycles, 0.0) * w)

    traced = np.zeros(n, np.int64)
    if hw.skips_activations:
        frames, masks = log.activity(name)
        if frames.size:
            add(frames, pe_invocations(tables, masks, hw))
            traced = np.bincount(frames, minlength=n)
    untraced = inv - traced
    if np.any(untraced < 0):
        raise ValueError(f"layer {name}: more traced invocations than counted")
    if untraced.any():
        dense = pe_invocations(tables, np.ones((1, tables.n_in), bool), hw)
        frames = np.flatnonzero(untraced)
        rep = {k: getattr(dense, k) for k in ("cycles", "sched_cycles", "decoder_cycles",
                                              "sram_cycles", "busy_pe_cycles", "issued", "real",
                                              "decoded", "wbytes")}
        one = type(dense)(**{k: np.repeat(v, frames.size) for k, v in rep.items()})
        add(frames, one, untraced[frames].astype(np.float64))
    return acc


# A partial sum spilled between a ws array's row folds: int32, as the accumulators hold it.
PSUM_BYTES = 4


def psum_buffer_bytes(layers, hw) -> int:
    """SRAM a ws systolic array keeps for spilled partial sums: the largest matrix layer's
    int32 outputs, when its reduction takes more than one row fold (0 otherwise)."""
    if hw.array != "systolic" or hw.dataflow != "ws":
        return 0
    return max((PSUM_BYTES * info.n_out for info in layers
                if info.kind != "embedding" and info.n_in > hw.systolic_rows), default=0)


def _systolic_products(info, plan, inv: np.ndarray) -> dict:
    """Per-frame sums of the systolic array invocations of one layer (data-independent).

    Cycles: SCALE-Sim's folds on the physical array (:mod:`azsim.cost.systolic`), each
    fold's weight phase stretched when the SRAM port or the decoder feeds it more slowly
    (:func:`fed_gemm_cycles`); the stretch is attributed to whichever of the two is slower.
    Activation traffic beyond the executor's one read of the input vector: the input vector
    is read again for every further column fold (SCALE-Sim's ifmap reads), and in ws the int32
    partial sums of every row fold but the last are written to SRAM and read back by the next
    (azsim's accounting of where they live between folds; os accumulates in the cells)."""
    hw = plan.hw
    in_sram = hw.decoder_location == "sram_to_pe"
    rows, cols = hw.systolic_rows, hw.systolic_cols
    pack = cell_pack(info, hw)
    gemm = gemm_cycles(1, info.n_in, info.n_out, rows, cols, hw.dataflow, pack)
    wbytes = info.weight_stream_bytes if in_sram else info.weight_dense_bytes
    decoded = info.weight_symbols if in_sram else 0
    port = wbytes / hw.sram_bytes_per_cycle
    decoder = decoded / hw.decoder_symbols_per_cycle
    fed = fed_gemm_cycles(1, info.n_in, info.n_out, rows, cols, hw.dataflow,
                          max(port, decoder), pack)
    stretch = fed - gemm
    row_folds, col_folds = row_col_folds(1, info.n_in, info.n_out, rows, cols, hw.dataflow,
                                         pack)
    spills = (row_folds - 1) * info.n_out * PSUM_BYTES if hw.dataflow == "ws" else 0
    inv = inv.astype(np.float64)
    acc = {"mv": inv * fed, "sched": inv * gemm, "busy": inv * info.weight_count,
           "issued": inv * info.weight_count, "real": inv * info.weight_count,
           "decoded": inv * decoded, "wbytes": inv * wbytes,
           "act_reread_bytes": inv * float((col_folds - 1) * info.n_in),
           "psum_bytes": inv * float(spills)}
    attributed = {"compute": float(gemm), ("sram" if port >= decoder else "decoder"): stretch}
    acc.update({key: inv * attributed.get(key, 0.0) for key in BOUNDS})
    return acc


def _layer_arrays(k: int, info, log, plan) -> dict:
    """Array-side cycles, attribution, counts and pipeline inputs of one layer, per frame."""
    hw, en = plan.hw, plan.energies
    c = log.counts[k].astype(np.float64)
    inv = log.counts[k][:, FIELD["invocations"]]
    n = inv.size
    resident = info.name in plan.residency.resident
    in_sram = hw.decoder_location == "sram_to_pe"
    # what the layer's weights fetch from DRAM per frame when they stream: a pass over the
    # weights as stored (the executor counts the matrix's own stream per invocation) with
    # the layer's per-row parameters (until 2026-12-07 in no count: docs/plans/
    # side-parameters.md), one row per lookup for an embedding
    stored = plan.weight_stored_bytes(info)
    side = float(info.weight_side_bytes)
    stream_bytes = c[:, FIELD["weight_bytes"]] if info.kind == "embedding" \
        else inv * (float(stored) + side)
    cnt = {key: _zeros(n) for key in COUNTS}
    cnt["macs_dense"] = c[:, FIELD["macs_dense"]]
    cnt["sram_act_read_bytes"] = c[:, FIELD["act_read_bytes"]]
    cnt["sram_act_write_bytes"] = c[:, FIELD["act_write_bytes"]]
    cnt["lut_lookups"] = c[:, FIELD["lut_lookups"]]
    cnt["elementwise_ops"] = inv * float(elementwise_ops_per_invocation(info))
    cnt["elementwise_adds"] = inv * float(elementwise_adds_per_invocation(info))
    attributed = {key: _zeros(n) for key in ATTRIBUTION}
    if info.kind == "embedding":
        # A lookup reads one row through the port; the row is decoded on the way (issue #3).
        # A streamed row is first written into the tile buffer, like any streamed weights
        # (until 2026-12-06 it was charged neither that write nor its read).
        # The row's bytes and its symbols pass the port and the decoder in one pipeline, so
        # the lookup takes the slower of the two; the decoder's excess is the decoder's
        # (until 2026-12-06 the decoder's time was not charged, only its energy).
        cnt["sram_weight_read_bytes"] = stream_bytes
        cnt["decoded_symbols"] = c[:, FIELD["decode_symbols"]]
        port = stream_bytes / hw.sram_bytes_per_cycle
        decode = cnt["decoded_symbols"] / hw.decoder_symbols_per_cycle
        mv = np.maximum(port, decode)
        attributed["sram"] += port
        attributed["decoder"] += mv - port
        sched = busy = _zeros(n)
        stage = _zeros(n) if resident else stream_bytes
        cnt["sram_weight_write_bytes"] = stage
        stream_symbols = _zeros(n)
    else:
        acc = _pe_products(info.name, log, plan, inv) if hw.array == "pe" \
            else _systolic_products(info, plan, inv)
        mv, sched, busy = acc["mv"], acc["sched"], acc["busy"]
        for key in BOUNDS:
            attributed[key] += acc[key]
        cnt["macs_issued"], cnt["macs_real"] = acc["issued"], acc["real"]
        cnt["macs_skipped"] = np.maximum(cnt["macs_dense"] - acc["real"], 0.0)
        if hw.zero_handling == "gate":
            cnt["macs_full"] = c[:, FIELD["macs_effectual"]]
            cnt["macs_gated"] = cnt["macs_dense"] - cnt["macs_full"]
        else:
            cnt["macs_full"] = acc["issued"]
        # every invocation reads the layer's per-row parameters beside its weights (each
        # output row's bias and requantization; charged at the port, not in the PE banks'
        # schedule: a row's 5-14 bytes beside its weights' walk)
        cnt["sram_weight_read_bytes"] = acc["wbytes"] + inv * side
        held = stored if in_sram else info.weight_dense_bytes
        stage = _zeros(n) if resident else inv * (float(held) + side)
        cnt["sram_weight_write_bytes"] = stage
        stream_symbols = _zeros(n) if (resident or in_sram) else c[:, FIELD["decode_symbols"]]
        cnt["decoded_symbols"] = acc["decoded"] + stream_symbols
        if hw.array == "systolic":   # column folds re-read the input; ws spills partial sums
            cnt["sram_act_read_bytes"] = cnt["sram_act_read_bytes"] + acc["act_reread_bytes"] \
                + acc["psum_bytes"]
            cnt["sram_act_write_bytes"] = cnt["sram_act_write_bytes"] + acc["psum_bytes"]
    # The whole SRAM traffic of the frame through the port is a floor on the array side.
    sram_floor = (cnt["sram_weight_read_bytes"] + cnt["sram_weight_write_bytes"]
                  + cnt["sram_act_read_bytes"] + cnt["sram_act_write_bytes"]) \
        / hw.sram_bytes_per_cycle
    extra = np.maximum(sram_floor - mv, 0.0)
    attributed["sram"] += extra
    nonlinear = (cnt["lut_lookups"] + cnt["elementwise_ops"] + cnt["elementwise_adds"]) \
        / hw.nonlinear_ops_per_cycle
    attributed["nonlinear"] += nonlinear
    cnt["dram_read_bytes"] = _zeros(n) if resident else stream_bytes
    dram_bpc = hw.dram_bandwidth_gb_per_s * 1e9 / (hw.clock_mhz * 1e6)
    # a streamed table fetches each lookup's row on its own, when its token is known
    on_demand = info.kind == "embedding"
    tile_bytes = plan.residency.staging_bytes // 2 or hw.stream_tile_bytes
    per_stage = inv if on_demand else np.ceil(stage / tile_bytes)
    n_tiles = np.where(stage > 0, per_stage, 0).astype(np.int64)
    safe = np.maximum(n_tiles, 1)
    dram_tile = cnt["dram_read_bytes"] / safe / dram_bpc
    decoder_tile = stream_symbols / safe / hw.decoder_symbols_per_cycle
    return {"compute": mv + extra + nonlinear, "tail": nonlinear, "on_demand": on_demand,
            "attributed": attributed, "sched": sched, "busy": busy, "counts": cnt,
            "n_tiles": n_tiles,
            "tile_cycles": np.maximum(dram_tile, decoder_tile),
            "dram_tile_cycles": dram_tile,   # the same tiles behind an infinitely fast decoder
            "decoder_paced": decoder_tile > dram_tile,   # the decoder sets the tiles' pace
            "energy": _energy(cnt, info, en, plan.hw)}


def _energy(cnt: dict, info, en, hw) -> dict:
    sram = en.sram_pj_per_byte
    # a MAC at the width of its slot: a pruned 1-bit matrix's zeros flowing through 2-bit
    # slots were charged at 1 bit (slot_bits; packing took the same width since 2026-12-07)
    return {"mac": cnt["macs_full"] * en.mac_pj_at(slot_bits(info, hw)),
            "gated_mac": cnt["macs_gated"] * en.gated_mac_pj,
            "sram_weights": (cnt["sram_weight_read_bytes"] + cnt["sram_weight_write_bytes"]) * sram,
            "sram_activations": (cnt["sram_act_read_bytes"] + cnt["sram_act_write_bytes"]) * sram,
            "dram": cnt["dram_read_bytes"] * en.dram_pj_per_byte,
            "decoder": cnt["decoded_symbols"] * en.decode_symbol_pj,
            "lut": cnt["lut_lookups"] * en.lut_lookup_pj,
            "elementwise": cnt["elementwise_ops"] * en.elementwise_pj
            + cnt["elementwise_adds"] * en.elementwise_add_pj}


def utterance_costs(log, plan) -> UtteranceCost:
    """Costs of every layer of one utterance (see the module docstring)."""
    hw = plan.hw
    parts = [_layer_arrays(k, info, log, plan) for k, info in enumerate(log.layers)]
    n_layers, n_frames = len(parts), log.n_frames
    inv = log.counts[:, :, FIELD["invocations"]]              # [layers, frames]
    order = np.argwhere(inv.T > 0)                            # (frame, layer), frame-major
    frames, layers = order[:, 0], order[:, 1]
    compute = np.array([parts[k]["compute"][f] for f, k in order], np.float64)
    tail = np.array([parts[k]["tail"][f] for f, k in order], np.float64)
    n_tiles = np.array([parts[k]["n_tiles"][f] for f, k in order], np.int64)
    tile_cycles = np.array([parts[k]["tile_cycles"][f] for f, k in order], np.float64)
    on_demand = np.array([parts[k]["on_demand"] for _, k in order], np.bool_)
    frame_ptr = np.searchsorted(frames, np.arange(n_frames + 1)).astype(np.int64)
    latency = hw.dram_latency_ns * 1e-9 * hw.clock_mhz * 1e6
    span, stall, in_span = K.stream_pipeline(frame_ptr, compute, tail, n_tiles, tile_cycles,
                                             on_demand, float(latency), 2)
    stall = np.maximum(stall, 0.0)
    # Who the stall belongs to: the same pipeline with the decoder infinitely fast (tiles at
    # the DRAM's pace alone) stalls for DRAM bandwidth and latency; what the decoder adds to
    # that is the decoder's. Until 2026-12-06 a layer whose decoder was the slower per tile
    # booked its whole stall, DRAM latency included, to the decoder, and one decoder symbol
    # per cycle either way flipped ~800 k latency cycles a frame between the two (cost audit).
    # (a second pass only where some decoder sets a pace: otherwise it is the first pass)
    dram_tile = np.array([parts[k]["dram_tile_cycles"][f] for f, k in order], np.float64)
    if np.array_equal(dram_tile, tile_cycles):
        stall_dram = stall
    else:
        _, stall_dram, _ = K.stream_pipeline(frame_ptr, compute, tail, n_tiles, dram_tile,
                                             on_demand, float(latency), 2)
        stall_dram = np.clip(stall_dram, 0.0, stall)
    # Whole cycles: the rounded-up running total of each frame, differenced per item.
    cycles_item = np.zeros(span.size, np.int64)
    frame_cycles = np.zeros(n_frames, np.int64)
    for f in range(n_frames):
        lo, hi = frame_ptr[f], frame_ptr[f + 1]
        if hi > lo:
            total = np.ceil(np.cumsum(span[lo:hi]) - 1e-9).astype(np.int64)
            cycles_item[lo:hi] = np.diff(np.concatenate([[0], total]))
            frame_cycles[f] = total[-1]
    cycles = np.zeros((n_layers, n_frames), np.int64)
    cycles[layers, frames] = cycles_item

    def per_layer(item_values):
        lf = np.zeros((n_layers, n_frames))
        lf[layers, frames] = item_values
        return lf

    stall_dram_lf, stall_dec_lf = per_layer(stall_dram), per_layer(stall - stall_dram)
    in_span_lf = per_layer(in_span)
    out = []
    for k, p in enumerate(parts):
        attributed = dict(p["attributed"])
        attributed["dram"] = stall_dram_lf[k]
        attributed["decoder"] = attributed["decoder"] + stall_dec_lf[k]
        # the channel's time on the tiles within the span belongs to whichever sets their pace
        paced = p["decoder_paced"]
        out.append(LayerCost(cycles[k], p["compute"], attributed, p["sched"], p["busy"],
                             p["counts"], p["energy"], np.where(paced, 0.0, in_span_lf[k]),
                             np.where(paced, in_span_lf[k], 0.0)))
    return UtteranceCost(out, frame_cycles)


def preload_costs(layers, plan) -> dict:
    """Once per run, resident weights are read from DRAM, decoded once if the decoder sits on
    the DRAM->SRAM path, and written into SRAM (as stream or as decoded matrix); ``layers``
    as the processor stores them (:func:`stored_layers`):
    layer name -> {dram_read_bytes, sram_write_bytes, decoded_symbols, energy_pj by component}."""
    hw, en = plan.hw, plan.energies
    out = {}
    for info in layers:
        res = info.name in plan.residency.resident
        dram = info.weight_pass_bytes if res else 0
        sram = sram_layer_footprint_bytes(info, hw) if res else 0
        symbols = info.weight_symbols if (res and hw.decoder_location == "dram_to_sram"
                                          and info.kind != "embedding") else 0
        out[info.name] = {"dram_read_bytes": dram, "sram_write_bytes": sram,
                          "decoded_symbols": symbols,
                          "energy_pj": {"dram": dram * en.dram_pj_per_byte,
                                        "sram_weights": sram * en.sram_pj_per_byte,
                                        "decoder": symbols * en.decode_symbol_pj}}
    return out
