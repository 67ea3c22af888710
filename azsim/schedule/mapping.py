"""How a layer's weight matrix maps onto the MAC array: which PE owns which rows (issue #4).

PE array (``hw.array = "pe"``): PE ``p`` of ``P`` owns the output rows ``r`` with
``r % P == p`` and the weights of those rows (EIE's interleaving, Han et al., ISCA 2016,
section III: it spreads the nonzeros of real matrices, whose density drifts along the rows,
evenly). An LSTM's four gate blocks of ``H`` rows each land on the same PE for unit ``u``
whenever ``P`` divides ``H``, so a PE can update its own cells. For every PE and every column of
the layer's input, :class:`PeTables` holds what that PE does when the column is broadcast:

* ``walk``: the entries its lanes step through. Skipping zero weights, the nonzeros -- plus, when
  SRAM holds EIE's relative-index stream (``weight_format = "rle"`` decoded on the SRAM->PE path),
  the padding entries that zero runs longer than the index field need, counted in the PE's own
  slice as EIE stores it (the zero counts "refer only to zeros in the subset of the column in
  this PE", section III). Without weight skipping, every row the PE owns.
* ``real``: of those, the real matrix elements (``walk`` minus padding): the MACs issued.
* ``decoded``: the stream entries the PE's decoder slice walks (SRAM->PE decoding only).
* ``wbytes``: the weight bytes it reads from SRAM: its dense slice at the weight bit-width when
  SRAM holds the matrix with zeros filled back in. When SRAM holds the encoded weights, each
  PE holds its own rows as a stream of the weight format in its own bank, with its own column
  pointers and zero counts (EIE's layout): :func:`pe_stream_bytes` encodes every PE's slice
  for real, and a PE's stream bytes are spread over its columns in proportion to their
  entries (evenly over the columns for a PE whose slice holds no entry), the one
  approximation here. Until 2026-12-06 (a compression audit) the whole matrix's single
  stream was apportioned over the per-PE entries: at 64 PEs one set of column pointers
  stood for 64, and a 256 x 256 4-bit rle matrix was charged 13,289 bytes for a layout of
  46,778.
* ``cost``: cycles, ``max(min_cycles_per_column, ceil(walk / (lanes_per_pe x MACs per lane)))``:
  a PE multiplies at most ``lanes`` entries of one column per cycle, and moves past at most one
  column per cycle (its pointer read).

Systolic array: the tiling (folds) is :mod:`azsim.cost.systolic`'s.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .. import kernels as K
from ..compress.pipeline import MIN_POINTER_BITS, row_slice_streams
from ..compress.stream import HEADER_BYTES
from ..execute.events import decoded_bits

__all__ = ["PeTables", "pe_rows", "pe_tables", "stream_entries", "tables_from_counts",
           "pe_tables_from_csc", "pe_stream_bytes", "stores_per_pe"]


@dataclass(frozen=True)
class PeTables:
    """Per-PE, per-input-column work of one layer: arrays [pe_count, n_in]."""
    cost: np.ndarray      # int64 cycles
    walk: np.ndarray      # int64 entries stepped through (MAC slots issued)
    real: np.ndarray      # int64 real matrix elements among them
    decoded: np.ndarray   # int64 stream entries decoded on the SRAM->PE path
    wbytes: np.ndarray    # float64 weight bytes read from SRAM
    rows: np.ndarray      # int64 [pe_count]: output rows each PE owns

    @property
    def n_in(self) -> int:
        return self.cost.shape[1]

    def kernel_layout(self) -> tuple[np.ndarray, ...]:
        """(cost, walk, real, decoded, wbytes) as contiguous [n_in, PEs] arrays, the layout of
        :func:`azsim.kernels.pe_invocations`, and ``idle_cost`` [n_in]: the cycles of the PEs
        left out of them (computed once, then kept).

        A PE with nothing to walk, decode or read (one owning no rows: most of them when
        ``pe_count`` exceeds the rows) that spends no more cycles on any column than every
        other PE never finishes later than they do (``f[p, k]`` grows with the costs), so it
        neither ends an invocation nor holds up a broadcast: only its busy cycles count, which
        ``idle_cost`` carries. The kernel then loops over the PEs that work, not all
        ``pe_count`` of them (65536 PEs on a 256-row layer took minutes); the results are
        the same."""
        cached = self.__dict__.get("_kernel_layout")
        if cached is None:
            tables = (self.cost, self.walk, self.real, self.decoded, self.wbytes)
            idle = ~(self.walk.any(axis=1) | self.real.any(axis=1) | self.decoded.any(axis=1)
                     | self.wbytes.any(axis=1))
            if idle.all() or not (self.cost[idle] <= self.cost[~idle].min(axis=0)).all():
                idle[:] = False
            cached = tuple(np.ascontiguousarray(a[~idle].T) for a in tables) + \
                (self.cost[idle].sum(axis=0, dtype=np.int64),)
            object.__setattr__(self, "_kernel_layout", cached)
        return cached


def pe_rows(n_rows: int, n_pes: int) -> np.ndarray:
    """Rows each PE owns under interleaving: ceil((n_rows - p) / n_pes), at least 0."""
    p = np.arange(n_pes)
    return np.maximum(n_rows - p + n_pes - 1, 0) // n_pes


def _csc(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cols, rows = np.nonzero(q.T)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=q.shape[1]))])
    return ptr.astype(np.int64), rows.astype(np.int64)


def stream_entries(q: np.ndarray, fmt: str, n_pes: int, index_bits: int,
                   nnz: np.ndarray | None = None) -> np.ndarray:
    """Entries a decoder walks in each PE's slice of each column in weight format ``fmt``
    [n_pes, n_in] (the format's ``symbols``, azsim/compress/formats_sparse.py): every code for
    ``dense``; nonzeros plus EIE padding for ``rle``; for ``golomb`` a zero-run code and a
    value code per nonzero, and on the last column the final run code of each PE's stream
    (its zeros after its last nonzero, to the end of its last row: the streams are
    row-major), so that a PE owning rows walks its stream's 2 nnz + 1 symbols in a pass over
    every column (a pass whose last input is zero skips that column and the code with it, as
    it skips the column's other entries); the
    nonzeros otherwise (bitmask presence bits and csr/csc pointers are read through the port
    as bytes, not decoded as entries). A ``codebook+`` prefix is ignored. Until 2026-12-06
    golomb counted one entry per nonzero, half its symbols; until 2026-12-07 it left out the
    final run codes, one per PE stream (audits: 64 PE streams of 352 symbols charged 288)."""
    fmt = fmt.split("+")[-1]
    if fmt == "dense":
        return np.repeat(pe_rows(q.shape[0], n_pes)[:, None], q.shape[1], axis=1)
    if fmt == "rle":
        ptr, idx = _csc(q)
        return K.eie_column_entries(ptr, idx, n_pes, index_bits)
    nnz = K.pe_slice_nnz(q, n_pes) if nnz is None else nnz
    if fmt != "golomb":
        return nnz
    entries = 2 * nnz
    if entries.shape[1]:
        entries[:, -1] += pe_rows(q.shape[0], n_pes) > 0
    return entries


def stores_per_pe(hw) -> bool:
    """Whether ``hw`` keeps each PE's rows as its own encoded stream: a PE array decoding in
    front of each PE (``sram_to_pe``). Its weights then occupy SRAM, and stream from DRAM,
    as the PEs' streams (:func:`pe_stream_bytes`), not as the matrix's single stream."""
    return hw.array == "pe" and hw.decoder_location == "sram_to_pe"


# A model's matrices, a few times over (a sweep's points share them): the key holds the
# stream, so the bound also bounds what the cache keeps alive (he2019's are 120 MB at 8 bits).
@functools.lru_cache(maxsize=64)
def _slice_bytes(stream: bytes, n_pes: int, pointer_bits: int, index_bits: int) -> tuple:
    parts = row_slice_streams(stream, n_pes, pointer_bits, index_bits)
    # Each part less its headers, and the matrix's headers counted once (on PE 0): one header
    # describes every part, and a codebook stream's two (its own and its index stream's,
    # with the pointer and index widths) describe every part's index stream alike, as a plain
    # format's one header does. Until 2026-12-07 the codebook's inner header was not counted
    # at all (an audit: at 1 PE a 425-byte stream was charged 401); a first fix that day
    # charged it in every part, which no plain format's part is (a review).
    headers = [0 if part is None else HEADER_BYTES * (2 if "+" in part.format else 1)
               for part in parts]
    sizes = [0 if part is None else part.nbytes - h for part, h in zip(parts, headers)]
    sizes[0] += max(headers)
    return tuple(sizes)


def pe_stream_bytes(m, n_pes: int, index_bits: int, pointer_bits: int = MIN_POINTER_BITS
                    ) -> np.ndarray:
    """Bytes of each PE's stream of matrix ``m`` (QMatrix-like) when each of ``n_pes`` PEs
    stores its interleaved rows in the matrix's format, [n_pes] int64 (0 for a PE owning no
    row): the payloads of real streams, :func:`azsim.compress.pipeline.row_slice_streams`
    (pointers, indices, values, a codebook's table and its index stream, inner header
    included), with the matrix's one header, which says what every part holds, counted once
    (on PE 0) rather than once a PE: at 1 PE, the matrix's stream length."""
    return np.array(_slice_bytes(m.stream, int(n_pes), int(pointer_bits), int(index_bits)),
                    np.int64)


def _block_tables(m, hw, index_bits: int, pointer_bits: int):
    """The tables of one matrix (a column block of the layer's input)."""
    q = np.ascontiguousarray(m.q)
    nnz = K.pe_slice_nnz(q, hw.pe_count)
    stored = pe_bytes = None
    if hw.decoder_location == "sram_to_pe":
        stored = stream_entries(q, m.format, hw.pe_count, index_bits, nnz)
        pe_bytes = pe_stream_bytes(m, hw.pe_count, index_bits, pointer_bits)
    # the decoded matrix in SRAM holds its zeros: a 1-bit grid matrix with zeros takes 2 bits,
    # a codebook's indices their b bits (index 0 is the zero)
    bits = decoded_bits(m.bits, int(nnz.sum()) < q.size, m.format)
    return tables_from_counts(nnz, stored, pe_rows(q.shape[0], hw.pe_count), hw, bits,
                              pe_bytes, getattr(m, "mac_bits", None) or m.bits,
                              padded=m.format.split("+")[-1] == "rle")


def tables_from_counts(nnz: np.ndarray, stored: np.ndarray | None, rows: np.ndarray, hw,
                       bits: int, pe_bytes: np.ndarray | None, mac_bits: int | None = None,
                       padded: bool = True):
    """(cost, walk, real, decoded, wbytes, rows) from the nonzeros ``nnz`` and the stored
    stream entries ``stored`` (None unless SRAM holds the stream) of each PE's slice of each
    column, [pe_count, n_in], and the rows each PE owns. ``pe_bytes`` [pe_count]: the bytes
    of each PE's stream (None unless SRAM holds the stream). ``bits`` is the width of the
    decoded codes, zeros included (:func:`azsim.execute.events.decoded_bits`), ``mac_bits``
    (default ``bits``) that of the values the lanes multiply.
    ``padded``: the stream's entries beyond the nonzeros are padding entries the lanes
    multiply (EIE's rle); otherwise they are codes a zero detector drops before the lanes
    (a dense stream's zeros), so skipping zero weights walks the nonzeros alone, as it does
    when SRAM holds the dense matrix (a dense stream on the SRAM->PE path walked every row
    until 2026-12-06: 8 cycles and 32 MACs issued for 4 real ones; audit)."""
    dense = np.repeat(rows[:, None], nnz.shape[1], axis=1).astype(np.int64)
    in_sram = hw.decoder_location == "sram_to_pe"
    if in_sram and stored is None:
        raise ValueError("SRAM->PE decoding needs the stored entries of each slice")
    if hw.skips_weights:
        walk = stored if in_sram and padded else nnz
        real = nnz
    else:
        walk, real = dense, dense
    decoded = stored if in_sram else np.zeros_like(dense)
    if in_sram:
        # each column's share of its PE's stream in proportion to its entries: an average over
        # the stream, so fractions of a byte; whole bytes by largest remainders (tried on
        # 2026-12-06) gave the leftover bytes of tied slices to the first PEs and slowed the
        # busiest PE's port by up to 8 % (a review found it), so the shares stay exact. A PE
        # whose slice has no entry still reads its pointers: its bytes go evenly to the columns.
        if pe_bytes is None:
            raise ValueError("SRAM->PE decoding needs the bytes of each PE's stream")
        per_pe = stored.sum(axis=1, keepdims=True).astype(np.float64)
        share = np.where(per_pe > 0, stored / np.maximum(per_pe, 1.0),
                         1.0 / max(stored.shape[1], 1))
        wbytes = share * np.asarray(pe_bytes, np.float64)[:, None]
    else:
        wbytes = dense * (bits / 8.0)
    # A lane slot holds the values it multiplies; where the lanes walk the zeros too (weights
    # not skipped) it holds the decoded codes, zeros included: a pruned 1-bit matrix's
    # -1/0/+1 take 2 bits (as on the systolic array, azsim.cost.systolic.cell_pack). Until
    # 2026-12-07 they packed 8 a lane at zero_handling "none" and ran twice as fast as the same
    # values at 2 bits (230,038 against 505,382 cycles on tiny with two lanes a PE).
    lane_bits = bits if mac_bits is None else mac_bits
    if hw.walks_zero_weights:
        lane_bits = max(lane_bits, bits)
    lanes = hw.lanes_per_pe * hw.macs_per_lane(lane_bits)
    cost = np.maximum(-(-walk // lanes), hw.min_cycles_per_column)
    # A PE that owns no rows holds no column pointers to read: it idles. It was charged
    # min_cycles_per_column a column, so 1,000 PEs on a 29-row layer, 971 of them empty,
    # reported a load balance of 1.000 (a cost audit); cycles are unchanged, since such a PE
    # never finishes last.
    cost = np.where(rows[:, None] > 0, cost, 0)
    return (cost.astype(np.int64), walk.astype(np.int64), real.astype(np.int64),
            decoded.astype(np.int64), wbytes.astype(np.float64), rows)


def pe_tables(matrices, hw, index_bits: int, pointer_bits: int = MIN_POINTER_BITS) -> PeTables:
    """Tables of a layer whose input feeds the column blocks ``matrices`` (QMatrix-like: ``q``,
    ``bits``, ``format``, ``stream``) with the same rows; ``index_bits`` is the relative
    index width of ``rle`` streams, ``pointer_bits`` the least pointer width of csr/csc/rle."""
    blocks = [_block_tables(m, hw, index_bits, pointer_bits) for m in matrices]
    rows = blocks[0][5]
    if any(not np.array_equal(b[5], rows) for b in blocks):
        raise ValueError("column blocks of one layer must have the same rows")
    cat = [np.ascontiguousarray(np.concatenate([b[i] for b in blocks], axis=1)) for i in range(5)]
    return PeTables(*cat, rows=rows)


def pe_tables_from_csc(col_ptr: np.ndarray, row_idx: np.ndarray, n_rows: int, hw, bits: int,
                       index_bits: int) -> PeTables:
    """Tables of a matrix given by its CSC structure (rows ascending in each column), stored in
    SRAM in EIE's relative-index format of ``bits``-bit weights and ``index_bits``-bit indices
    (one entry = bits + index_bits)."""
    n_pes = hw.pe_count
    n_cols = col_ptr.size - 1
    cols = np.repeat(np.arange(n_cols), np.diff(col_ptr))
    nnz = np.bincount((row_idx % n_pes) * n_cols + cols,
                      minlength=n_pes * n_cols).reshape(n_pes, n_cols).astype(np.int64)
    stored = K.eie_column_entries(col_ptr, row_idx, n_pes, index_bits)
    # the entries alone: the column pointers sit in their own SRAM (the validation suite
    # charges their reads as a separate bank)
    pe_bytes = stored.sum(axis=1) * (bits + index_bits) / 8.0
    parts = tables_from_counts(nnz, stored, pe_rows(n_rows, n_pes), hw, bits, pe_bytes)
    return PeTables(*[np.ascontiguousarray(a) for a in parts[:5]], rows=parts[5])
