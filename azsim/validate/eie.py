"""EIE's published layer times against a cycle model driven by actual sparse data (issue #4).

What the paper says (Han et al., "EIE: Efficient Inference Engine on Compressed Deep Neural
Network", ISCA 2016, arXiv 1602.01528v2). The whole text was read in a text extraction of the
arXiv PDF held by the ``search`` tool's file index (``find_string "64 16-bit activations"``);
every passage quoted here is from it.

* Distribution (section III-C): "With N PEs, PEk holds all rows Wi, output activations bi, and
  input activations ai for which i (mod N) = k. The portion of column Wj in PEk is stored in
  the CSC format ... but with the zero counts referring only to zeros in the subset of the
  column in this PE." Figure 2's example: 4 PEs, each owns 4 rows of a 16x8 W.
* Format (section III-B): per column a vector v of 4-bit weights and an "equal-length vector z
  that encodes the number of zeros before the corresponding entry in v ... If more than 15
  zeros appear before a non-zero entry we add a zero in vector v"; a pointer vector p marks
  where each column starts ("the number of non-zeros in column j (including padded zeros) is
  given by pj+1 - pj").
* Broadcast (section III-C): "scanning vector a to find its next non-zero value aj and
  broadcasting aj along with its index j to all PEs ... PE1 has all zeros in column 2 and so
  performs no multiplications"; section VII-A: "Each PE gets all the non-zero elements of a in
  order". Nonzeros are found by a quadtree of leading non-zero detection nodes, "Each group of
  4 PEs does a local leading non-zero detection", 16 + 4 + 1 = 21 nodes for 64 PEs, and "the
  timing of the activation collection and broadcast is non-critical as most PEs take many
  cycles to consume each input activation" (section IV): one broadcast per cycle at most.
* Activation queue (section IV): "The broadcast is disabled if any PE has a full queue. At any
  point in time each PE processes the activation at the head of its queue."
* Pointer read unit (section IV): "The index j of the entry at the head of the activation queue
  is used to look up the start and end pointers pj and pj+1 ... To allow both pointers to be
  read in one cycle using single-ported SRAM arrays, we store pointers in two SRAM banks ...
  EIE pointers are 16-bits in length." At most one column per PE per cycle.
* Sparse matrix read unit (section IV): the PE's slice "is stored in a 64-bit-wide SRAM. Thus
  eight entries are fetched on each SRAM read. The high 13 bits of the current pointer p
  selects an SRAM row, and the low 3-bits select one of the eight entries in that row. A single
  (v,x) entry is provided to the arithmetic unit each cycle." One multiply-accumulate per PE per
  cycle; section VI: "4 pipeline stages to update one activation ... activation bypassing is
  employed to avoid a pipeline hazard" (no stall), and "In the steady state, both Spmat SRAM
  and Ptr SRAM are accessed every 64/8 = 8 cycles".
* Activation read/write unit (section IV): "Each activation register file holds 64 16-bit
  activations. This is sufficient to accommodate 4K activation vectors across 64 PEs. Longer
  activation vectors can be accommodated with the 2KB activation SRAM. When the activation
  vector has a length greater than 4K, the M x V will be completed in several batches, where
  each batch is of length 4K or less. All the local reduction is done in the register file. The
  SRAM is read only at the beginning and written at the end of the batch." Modeled by
  :func:`spmv_time`: Alex-6 runs as 3 input batches, VGG-6 as 7, NT-Wd as 3 output batches
  (each a separate SpMV, after the previous one). It also keeps VGG-6 addressable: without
  batches a PE holds up to 100,922 entries of it, beyond the 2^16 a 16-bit pointer reaches;
  per 4K batch at most 16,671.
* Queue depth (section VI-C, Figure 8): "At FIFO size = 1, around half of the total cycles are
  idle ... diminishing returns beyond a depth of 8. Thus, we choose 8". The model reproduces
  that: at depth 1 its load-balance efficiency is about 0.5 (tests/test_validate_eie.py).
* Scale (sections I, VI): 64 PEs at 800 MHz, 102 GOP/s; 9.157 mW and 0.638 mm2 per PE
  (Table II, by component: memory 5.416, clock network 1.874, register 1.026, combinational
  0.841 mW); 0.59 W for 64 PEs (Table V). The clock network is charged as an energy per PE per
  cycle (1.874 mW / 800 MHz = 2.34 pJ; suite field ``clock_network_mw_per_pe``).
* Benchmarks (Table III): all nine sizes and densities (Weight%, Act%) are the reference csv's,
  including the five it marks unchecked. Section VII-A on the target class: "The density of W
  is 10%, and the density of a is 30%, both with random distribution" -- the data model here.
* Times (Table IV, EIE rows): "EIE's theoretical computation time is calculated by dividing
  workload GOPs by peak throughput. The actual computation time is around 10% more than the
  theoretical computation time due to load imbalance" (section VI-A). Divided by the entries of
  azsim's random matrix (nonzeros plus padding in the active columns, per PE, at one entry per
  cycle; seed 0), "theoretical" gives 0.94-1.09 for seven layers, 1.19 for Alex-8 and 1.23 for
  VGG-6, whose real pruned matrices therefore hold more entries than an i.i.d. one. (1.36, the
  report's "work x" for VGG-6, is the scale of the active columns' density that reaches the
  paper's entries, not the ratio of entries; this said 1.36 and 0.92 until a review of
  2026-12-07 recomputed the entries.)

Checked and not modeled, as the paper gives no number to time them by: the 32 KB pointer SRAM
(16K pointers per PE) cannot hold VGG-6's 7 x 4,097 pointers, and section VII-C says only that
"EIE is still able to execute" VGG-6 with 64 PEs; the activation SRAM's read and write at the
edges of a batch (its width is not given; 64 activations a PE, at most a few tens of cycles a
batch); the latency of the LNZD tree and the broadcast H-tree ("can be pipelined because FIFOs
decouple producer and consumer", section VII-B).

The model. The layer runs on the same PE-array cycle model as ``azsim run``
(:func:`azsim.cost.pe_array.pe_invocations`, on the ``eie-64pe`` hardware preset): per-PE
tables of the layer (:func:`azsim.schedule.mapping.pe_tables_from_csc`: each PE's slice of each
column encoded as above, entries = nonzeros + padding), the nonzero activations broadcast in
order, at most one per cycle, into queues of ``queue_depth``; a PE spends
``max(ceil(entries / lanes), min_cycles_per_column)`` cycles on a column; the per-PE decoder
rate and SRAM port bound the whole product; layers longer than the activation register files
run in batches (:func:`spmv_time`). The weights are resident: every PE's entries, of all
batches, must fit in its share of ``hw.sram_bytes`` (EIE's 128 KB Spmat SRAM; VGG-6's fullest
PE takes 100,922 bytes), or :func:`run_suite` refuses the suite. Every constant is in the
hardware preset or the suite with its source; none is per layer. The data: a random weight matrix of the published size with
i.i.d. Bernoulli(weight density) entries, and exactly round(activation density x columns)
nonzero activations at random positions (the published density is a measured fraction of this
layer's input, so its count is known; drawing it would only add sampling noise), from one seed.

What it misses (seed 0: mean |error| 9.1 %, max 27.2 % on VGG-6; seeds 1-3 give 9.0 % and
27.3-27.5 %; the goal was <= 5 % and <= 10 %): the structure of real pruned matrices. The
paper's theoretical time is its count of work over the peak rate (64 entries per cycle); for
Alex-8 and VGG-6 it implies 19 and 23 % more entries in the active columns than an i.i.d. matrix
of the published densities holds (Alex-8 has at most 16 rows per PE slice, so its excess cannot
even be padding: its active columns must be denser than the layer). Alex-8 and VGG-8 have the
same size and nearly the same densities (25 % / 37.5 % and 23 % / 41.1 %), hence nearly the
same i.i.d. work, yet were measured at 9.9 and 8.4 us: no model fed only Table III's numbers
can be within 8 % of both. Row densities of pruned layers vary, and inputs that are often active
keep more weights, but the paper publishes no distribution from which to model either without
a per-layer constant.

A second, diagnostic run separates the two sources of error: the same cycle model on a matrix
whose active columns hold the paper's own count of work (their density scaled by the factor,
``published_work_scale``, at which their entries equal the theoretical time x 64 PEs x clock;
the inactive columns do not take time). It leaves the timing model's own error: mean 4.3 %, max
13.2 % (VGG-6, whose measured time is 22 % above its theoretical one, the largest excess after
NT-We's, with 4,591 active columns over which an i.i.d. imbalance averages out).
Power: counts x energy per action (the hardware's energy table) plus the clock tree's energy
per PE-cycle, over the simulated time.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from azsim import config as cfgmod
from azsim.cost.energy import (_BYTES_PER_ACCESS as _BYTES_PER_SRAM_ACCESS, action_energies,
                               sram_access_pj, supply_scales, wide_mac_pj)
from azsim.errors import AzsimError, ConfigError
from azsim.cost.pe_array import BOUNDS, pe_invocations
from azsim.kernels import eie_column_entries, eie_schedule
from azsim.schedule.mapping import pe_tables_from_csc

from .report import LayerResult, ValidationReport, summarize
from .spec import ValidationLayer, ValidationSuite

__all__ = ["SparseLayer", "random_layer", "column_entries", "spmv_cycles", "spmv_time",
           "SpmvTime", "batch_bounds", "sub_csc", "simulate_layer", "run_suite",
           "weight_sram_bytes", "weight_sram_bytes_per_pe"]

# Random draws per chunk while generating a matrix (float32: 16 MB), so that EIE's largest
# layer (VGG-6, 1.03e8 weights) never needs a dense array.
_CHUNK_DRAWS = 1 << 22
# The published-work search: relative tolerance on the entries and most secant steps.
_WORK_TOL = 0.002
_WORK_STEPS = 12
# Bytes of the two 16-bit column pointers a PE reads per broadcast column (EIE section IV,
# "Pointer Read Unit"), and of one 16-bit activation (EIE computes in 16-bit fixed point,
# section VI "Arithmetic Precision").
_POINTER_BYTES = 4
_ACTIVATION_BYTES = 2
# 1 mW for one cycle at 1 MHz is 1 nJ: pJ per cycle = mW / MHz x 1000.
_PJ_PER_MW_MHZ = 1000.0


class SparseLayer:
    """A generated layer: CSC structure of its weights and its nonzero activation columns."""

    def __init__(self, n_rows: int, col_ptr: np.ndarray, row_idx: np.ndarray,
                 active: np.ndarray) -> None:
        self.n_rows = int(n_rows)
        self.col_ptr = col_ptr
        self.row_idx = row_idx
        self.active = active

    @property
    def n_cols(self) -> int:
        return self.col_ptr.size - 1


def _rng(layer: ValidationLayer, seed: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(layer.name.encode("utf-8"))])


def _bernoulli_csc(rng, n_cols: int, n_rows: int, density: float):
    chunk = max(1, _CHUNK_DRAWS // n_rows)
    counts, rows = [], []
    for start in range(0, n_cols, chunk):
        n = min(chunk, n_cols - start)
        mask = rng.random((n, n_rows), dtype=np.float32) < np.float32(density)
        rows.append(np.nonzero(mask)[1].astype(np.int64))  # row-major: by column, rows ascending
        counts.append(np.count_nonzero(mask, axis=1))
    col_ptr = np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.int64)
    return col_ptr, np.concatenate(rows)


def _active(rng, layer: ValidationLayer) -> np.ndarray:
    k = int(round(layer.activation_density * layer.input_dim))
    return np.sort(rng.permutation(layer.input_dim)[:k]).astype(np.int64)


def random_layer(layer: ValidationLayer, seed: int) -> SparseLayer:
    """The layer's random matrix and activations; same (layer name, seed), same data.

    The activations come first, from their own draws: a random order of the inputs whose first
    round(density x inputs) are the nonzero ones, so a denser activation vector at the same
    seed is a superset of a sparser one over the same matrix.
    """
    rng = _rng(layer, seed)
    active = _active(rng, layer)
    col_ptr, row_idx = _bernoulli_csc(rng, layer.input_dim, layer.output_dim,
                                      layer.weight_density)
    return SparseLayer(layer.output_dim, col_ptr, row_idx, active)
def column_entries(col_ptr, row_idx, n_rows: int, pes: int, index_bits: int) -> np.ndarray:
    """Entries (nonzeros + padding) of each PE's slice of each column, int64[pes, cols].

    Checks the CSC structure (pointers from 0 to nnz, never decreasing; rows ascending within a
    column and inside [0, n_rows)); raises ValueError otherwise.
    """
    col_ptr = np.ascontiguousarray(col_ptr, np.int64)
    row_idx = np.ascontiguousarray(row_idx, np.int64)
    if pes < 1 or not 1 <= index_bits <= 62:
        raise ValueError(f"pes = {pes} and index_bits = {index_bits}: need pes >= 1, "
                         "1 <= index_bits <= 62")
    if col_ptr.ndim != 1 or col_ptr.size < 1 or col_ptr[0] != 0 or col_ptr[-1] != row_idx.size \
            or np.any(np.diff(col_ptr) < 0):
        raise ValueError("col_ptr must run from 0 to len(row_idx) without decreasing")
    if row_idx.size and (row_idx.min() < 0 or row_idx.max() >= n_rows):
        raise ValueError(f"row indices must lie in [0, {n_rows})")
    step = np.diff(row_idx)
    starts = np.zeros(row_idx.size, bool)
    starts[col_ptr[:-1][np.diff(col_ptr) > 0]] = True
    if np.any((step <= 0) & ~starts[1:]):
        raise ValueError("row indices must ascend strictly within each column")
    return eie_column_entries(col_ptr, row_idx, int(pes), int(index_bits))


def spmv_cycles(work, queue_depth: int, min_cycles_per_column: int
                ) -> tuple[int, np.ndarray, int]:
    """``(cycles, busy cycles per PE, broadcast stall cycles)`` of one SpMV (kernels/eie.py)."""
    work = np.ascontiguousarray(work, np.int64)
    if work.ndim != 2 or work.shape[0] < 1:
        raise ValueError(f"work must be a (pes, activations) array, got shape {work.shape}")
    if work.size and work.min() < 0:
        raise ValueError("work must be non-negative")
    if queue_depth < 1 or min_cycles_per_column < 0:
        raise ValueError(f"queue_depth = {queue_depth} must be >= 1 and min_cycles_per_column"
                         f" = {min_cycles_per_column} >= 0")
    cycles, busy, stall = eie_schedule(work, int(queue_depth), int(min_cycles_per_column))
    return int(cycles), busy, int(stall)


def batch_bounds(n: int, length: int) -> list[tuple[int, int]]:
    """Consecutive batches ``[start, stop)`` of at most ``length`` covering ``range(n)``
    (``length`` 0: one batch)."""
    if n < 0 or length < 0:
        raise ValueError(f"n = {n} and length = {length} must be >= 0")
    if length == 0 or n <= length:
        return [(0, n)]
    return [(start, min(start + length, n)) for start in range(0, n, length)]


def sub_csc(col_ptr, row_idx, r0: int, r1: int, c0: int, c1: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """The block rows ``[r0, r1)`` x columns ``[c0, c1)`` of a CSC matrix, its rows renumbered
    from ``r0`` (a batch stores its own CSC: its zero counts start at its first row)."""
    ptr = np.asarray(col_ptr, np.int64)[c0:c1 + 1]
    seg = np.asarray(row_idx, np.int64)[ptr[0]:ptr[-1]]
    if r0 == 0 and (seg.size == 0 or seg.max() < r1):
        return ptr - ptr[0], seg
    col = np.repeat(np.arange(c1 - c0), np.diff(ptr))
    keep = (seg >= r0) & (seg < r1)
    counts = np.bincount(col[keep], minlength=c1 - c0)
    return (np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            (seg[keep] - r0).astype(np.int64))


class SpmvTime:
    """Time and counts of one SpMV run as batches (sums over the batches)."""

    def __init__(self, n_pes: int) -> None:
        self.cycles = 0             # sum over batches of each batch's cycles (ceil)
        self.sched_cycles = 0       # broadcast + queues
        self.decoder_cycles = 0.0
        self.sram_cycles = 0.0
        self.busy_pe_cycles = 0
        self.issued = 0             # entries walked (padding included)
        self.real = 0               # real matrix elements among them
        self.decoded = 0
        self.wbytes = 0.0
        self.active_entries = 0     # stored entries in the broadcast columns
        self.pe_entries = np.zeros(n_pes, np.int64)  # stored entries per PE, all columns
        self.input_batches = 0
        self.output_batches = 0

    @property
    def bound(self) -> str:
        return BOUNDS[int(np.argmax([float(self.sched_cycles), self.decoder_cycles,
                                     self.sram_cycles]))]


def spmv_time(col_ptr, row_idx, n_rows: int, active_cols, hw, bits: int, index_bits: int,
              batch_length: int = 0) -> SpmvTime:
    """One SpMV on the PE-array cycle model (:func:`azsim.cost.pe_array.pe_invocations`).

    With ``batch_length`` > 0 (EIE: 64 activation registers per PE x 64 PEs = 4K, section IV
    "Activation Read/Write"), an input or output vector longer than ``batch_length`` runs as
    several batches of at most that length, one after the other: every block of
    ``batch_length`` rows x ``batch_length`` columns is its own SpMV (its own CSC, pointer array
    and broadcast of the block's nonzero activations), and a batch starts when the previous
    one has finished on every PE. ``batch_length`` must be a multiple of ``hw.pe_count`` (so a
    row keeps its PE); 0 runs the layer as one SpMV.
    """
    n_pes = hw.pe_count
    if batch_length % n_pes:
        raise ValueError(f"batch_length = {batch_length} must be a multiple of pe_count = "
                         f"{n_pes}")
    active_cols = np.asarray(active_cols, np.int64)
    out = SpmvTime(n_pes)
    col_batches = batch_bounds(len(col_ptr) - 1, batch_length)
    row_batches = batch_bounds(int(n_rows), batch_length)
    out.input_batches, out.output_batches = len(col_batches), len(row_batches)
    for r0, r1 in row_batches:
        for c0, c1 in col_batches:
            ptr, idx = sub_csc(col_ptr, row_idx, r0, r1, c0, c1)
            tables = pe_tables_from_csc(ptr, idx, r1 - r0, hw, bits, index_bits)
            # what SRAM stores: the stream entries the decoder walks (nonzeros + padding),
            # not the entries the lanes step through, which are every row's without weight
            # skipping (a review, 2026-12-07: zero_handling=skip_activations refused VGG-6)
            out.pe_entries += tables.decoded.sum(axis=1)
            act = active_cols[(active_cols >= c0) & (active_cols < c1)] - c0
            if act.size == 0:
                continue
            mask = np.zeros((1, tables.n_in), bool)
            mask[0, act] = True
            inv = pe_invocations(tables, mask, hw)
            out.cycles += int(np.ceil(inv.cycles[0]))
            out.sched_cycles += int(inv.sched_cycles[0])
            out.decoder_cycles += float(inv.decoder_cycles[0])
            out.sram_cycles += float(inv.sram_cycles[0])
            out.busy_pe_cycles += int(inv.busy_pe_cycles[0])
            out.issued += int(inv.issued[0])
            out.real += int(inv.real[0])
            out.decoded += int(inv.decoded[0])
            out.wbytes += float(inv.wbytes[0])
            out.active_entries += int(tables.walk[:, act].sum())
    return out


def _batch_length(suite_regs: int, hw) -> int:
    return int(suite_regs) * hw.pe_count


def _published_work(layer: ValidationLayer, hw, seed: int, bits: int, index_bits: int,
                    batch_length: int = 0):
    """(cycles, scale, capped, unconverged) on a matrix whose active columns hold the paper's
    count of work; ``capped``: the work needs more than a dense matrix holds, and the scale
    stopped at 1 / weight density; ``unconverged``: ``_WORK_STEPS`` evaluations ended none
    within ``_WORK_TOL`` of the work. The cycles and scale are always those of one evaluation,
    the closest to the work (until an audit of 2026-12-07 a search that ran out of steps
    returned the last one's cycles with the next step's scale, never evaluated)."""
    if not layer.published_theoretical_us:
        return None, None, False, False
    active = _active(_rng(layer, seed), layer)
    k = active.size
    if k == 0:
        return 0, 1.0, False, False
    target = layer.published_theoretical_us * hw.clock_mhz * hw.pe_count

    def entries(scale):
        # The active columns' draws come first from a fresh generator (the same draws at
        # every scale); they sit at the layer's active positions, the other columns are empty.
        ptr_k, idx = _bernoulli_csc(_rng(layer, seed), k, layer.output_dim,
                                    min(layer.weight_density * scale, 1.0))
        counts = np.zeros(layer.input_dim, np.int64)
        counts[active] = np.diff(ptr_k)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        t = spmv_time(ptr, idx, layer.output_dim, active, hw, bits, index_bits, batch_length)
        return float(t.active_entries), t

    # Entries grow monotonically with the scale (the same draws, a higher threshold), nearly
    # in proportion: a proportional first guess, then linear interpolation inside the bracket.
    s_max = 1.0 / max(layer.weight_density, 1e-12)
    lo, v_lo, hi, v_hi = 0.0, 0.0, None, None
    scale, capped, converged = 1.0, False, False
    best = None   # (|entries - work|, cycles, scale) of the closest evaluation
    for _ in range(_WORK_STEPS):
        value, t = entries(scale)
        if best is None or abs(value - target) < best[0]:
            best = (abs(value - target), t.cycles, scale)
        if abs(value - target) <= _WORK_TOL * target:
            converged = True
            break
        if value < target:
            lo, v_lo = scale, value
            if scale >= s_max:
                capped = True
                break
        else:
            hi, v_hi = scale, value
        if hi is None:
            scale = min(scale * target / value if value > 0 else 2.0 * scale, s_max)
        else:
            scale = lo + (target - v_lo) * (hi - lo) / (v_hi - v_lo)
    return best[1], best[2], capped, not (converged or capped)


@dataclass(frozen=True)
class SuiteEnergies:
    """What a suite's own memories and arithmetic cost: a MAC, and a byte of the pointer and
    of the activation SRAM (the weight SRAM is the hardware's bank)."""
    mac_pj: float
    pointer_pj_per_byte: float
    activation_pj_per_byte: float


def suite_energies(suite: ValidationSuite, table, energies) -> SuiteEnergies:
    """The suite's ``mac_bits``, ``pointer_sram_bank_bytes`` and ``activation_sram_bytes``
    priced from the hardware's energy table (0: the hardware's MAC, its weight-SRAM bank).
    Until 2026-12-06 pointers and activations were charged at EIE's 128 KB weight bank and
    its 16-bit MACs as 8-bit ones, errors that cancelled in the chip power (an audit)."""
    hw = suite.hardware
    dyn = supply_scales(table, hw)[0]

    def per_byte(capacity: int) -> float:
        if not capacity:
            return energies.sram_pj_per_byte
        return sram_access_pj(table, capacity) * dyn / _BYTES_PER_SRAM_ACCESS
    return SuiteEnergies(
        mac_pj=wide_mac_pj(table, hw, suite.mac_bits) if suite.mac_bits else energies.mac_pj,
        pointer_pj_per_byte=per_byte(suite.pointer_sram_bank_bytes),
        activation_pj_per_byte=per_byte(suite.activation_sram_bytes))


def simulate_layer(layer: ValidationLayer, hw, seed: int, *, weight_bits: int = 4,
                   index_bits: int = 4, energies=None, published_work: bool = False,
                   activation_registers_per_pe: int = 0, clock_network_mw_per_pe: float = 0.0,
                   memories: "SuiteEnergies | None" = None) -> LayerResult:
    """Generate the layer's data, map it onto the PE array, replay the broadcast; time,
    counts and energy (``energies``: action energies, default the hardware's table).

    ``activation_registers_per_pe`` (0 = no limit) sets the batches (:func:`spmv_time`);
    ``clock_network_mw_per_pe`` (the clock tree's power on ``hw``: a suite's
    ``clock_network_mw_per_pe_simulated``) charges it as ``mW / MHz`` nJ per PE per cycle;
    ``memories`` the suite's pointer and activation SRAM and MAC energies (default: the
    hardware's weight-SRAM bank and 8-bit MAC for all)."""
    data = random_layer(layer, seed)
    batch_length = _batch_length(activation_registers_per_pe, hw)
    t = spmv_time(data.col_ptr, data.row_idx, data.n_rows, data.active, hw, weight_bits,
                  index_bits, batch_length)
    cycles = t.cycles
    if energies is None:
        energies = action_energies(cfgmod.energy_table_of(hw), hw)
    if memories is None:
        memories = SuiteEnergies(energies.mac_pj, energies.sram_pj_per_byte,
                                 energies.sram_pj_per_byte)
    # Every output batch broadcasts the nonzero activations again and reads their pointers.
    broadcasts = data.active.size * t.output_batches
    clock_pj = cycles * hw.pe_count * clock_network_mw_per_pe / hw.clock_mhz * _PJ_PER_MW_MHZ
    parts_pj = {
        "weight_sram": t.wbytes * energies.sram_pj_per_byte,
        "pointer_sram": broadcasts * hw.pe_count * _POINTER_BYTES * memories.pointer_pj_per_byte,
        "activation_sram": (broadcasts + layer.output_dim) * _ACTIVATION_BYTES
        * memories.activation_pj_per_byte,
        "mac": t.issued * memories.mac_pj,
        "decoder": t.decoded * energies.decode_symbol_pj,
        "static": cycles * energies.leak_pj_per_cycle,
        "clock": clock_pj}
    energy_pj = sum(parts_pj.values())
    seconds = cycles / (hw.clock_mhz * 1e6)
    sram_bytes = weight_sram_bytes(int(t.pe_entries.max()), weight_bits, index_bits)
    # a layer that does not fit is refused by run_suite: no diagnostic for a time it drops
    work_cycles, scale, capped, unconverged = (
        _published_work(layer, hw, seed, weight_bits, index_bits, batch_length)
        if published_work and sram_bytes <= weight_sram_bytes_per_pe(hw)
        else (None, None, False, False))
    return LayerResult.build(
        layer, cycles=cycles, clock_mhz=hw.clock_mhz, cycles_published_work=work_cycles,
        published_work_scale=scale, published_work_capped=capped,
        published_work_unconverged=unconverged, weight_sram_bytes_per_pe=sram_bytes,
        nonzero_weights=int(data.row_idx.size), nonzero_activations=int(data.active.size),
        macs=t.real, padding_entries=t.issued - t.real,
        load_balance_efficiency=(t.busy_pe_cycles / (hw.pe_count * t.sched_cycles)
                                 if t.sched_cycles else 1.0),
        bound=t.bound, energy_uj=energy_pj / 1e6, clock_energy_uj=clock_pj / 1e6,
        energy_by_part_uj={k: v / 1e6 for k, v in parts_pj.items()},
        power_w=energy_pj * 1e-12 / seconds if seconds else 0.0,
        max_pe_entries=int(t.pe_entries.max()), input_batches=t.input_batches,
        output_batches=t.output_batches)


def weight_sram_bytes(entries: int, weight_bits: int, index_bits: int) -> int:
    """Bytes of ``entries`` stored (weight, relative index) entries, packed: EIE's Spmat SRAM
    holds them back to back, eight 8-bit entries a 64-bit row, a pointer addressing one entry
    ("The high 13 bits of the current pointer p selects an SRAM row, and the low 3-bits select
    one of the eight entries in that row", section IV)."""
    return -(-int(entries) * (int(weight_bits) + int(index_bits)) // 8)


def weight_sram_bytes_per_pe(hw) -> int:
    """The weight SRAM one PE holds: its share of ``hw.sram_bytes``. Each PE reads only its own
    SRAM (EIE section III-C: "The portion of column Wj in PEk is stored in the CSC format";
    the eie-64pe preset is 64 x EIE's 128 KB Spmat SRAM), and a validation suite keeps the
    pointers and activations in SRAMs of their own (``pointer_sram_bank_bytes``,
    ``activation_sram_bytes``), so all of it is the weights'."""
    return hw.sram_bytes // hw.pe_count


def _check_resident(suite: ValidationSuite, layers: list[LayerResult]) -> None:
    """Every layer's weights must fit in each PE's weight SRAM (a ConfigError naming the
    layers that do not, and the ``hw.sram_bytes`` that holds them).

    Why an error, not a flagged row: the cycle model reads every weight from the PE's SRAM,
    and a validation suite has no DRAM (``hw.dram_*`` are refused as unused), so the time of a
    layer that does not fit is the time of hardware that cannot run it -- no number the
    simulator can stand behind, and one that would enter the error summary and --max-error.
    ``azsim run`` does the same when SRAM cannot hold what a model keeps on chip. Until an
    audit of 2026-12-07 this was not checked: ``--set hw.sram_bytes`` changed only the energy.
    """
    hw = suite.hardware
    have = weight_sram_bytes_per_pe(hw)
    over = [r for r in layers if r.weight_sram_bytes_per_pe > have]
    if not over:
        return
    entry = f"{suite.weight_bits} + {suite.relative_index_bits} bits"
    listed = ", ".join(f"{r.name!r} ({r.weight_sram_bytes_per_pe:,} bytes: "
                       f"{r.max_pe_entries:,} entries of {entry})" for r in over)
    need = max(r.weight_sram_bytes_per_pe for r in over)
    raise ConfigError(
        f"validation suite {suite.name!r}: hw.sram_bytes = {hw.sram_bytes} gives each of the "
        f"{hw.pe_count} PEs {have:,} bytes of weight SRAM, too few for the weights on the "
        f"fullest PE of {listed}"
        f" (they must stay resident: a validation suite has no DRAM); give hw.sram_bytes >= "
        f"{need * hw.pe_count} ({hw.pe_count} x {need:,})")


def run_suite(suite: ValidationSuite, seed: int = 0) -> ValidationReport:
    """Simulate every layer of the suite on its hardware, with the published-work diagnostic.
    ``suite`` is a :func:`azsim.validate.load_suite` result (not its name). A layer whose
    weights do not fit in a PE's weight SRAM is a ConfigError (:func:`_check_resident`)."""
    if not isinstance(suite, ValidationSuite):
        raise AzsimError(f"suite = {suite!r}: expected a ValidationSuite, e.g. "
                         "load_suite('eie') or load_suite('my-chip.toml')")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise AzsimError(f"seed = {seed!r}: expected an integer >= 0")
    hw = suite.hardware
    table = cfgmod.energy_table_of(hw)
    energies = action_energies(table, hw)
    memories = suite_energies(suite, table, energies)
    layers = [simulate_layer(layer, hw, seed, weight_bits=suite.weight_bits,
                             index_bits=suite.relative_index_bits, energies=energies,
                             published_work=True,
                             activation_registers_per_pe=suite.activation_registers_per_pe,
                             clock_network_mw_per_pe=suite.clock_network_mw_per_pe_simulated,
                             memories=memories)
              for layer in suite.layers]
    _check_resident(suite, layers)
    return summarize(suite, layers, seed, energies.table)
