"""The PE-array cycle model (issue #4): kernels against their NumPy twins, the mapping tables,
and the model's invariants at the level of single invocations."""
import dataclasses

import numpy as np
import pytest

from azsim import kernels as K
from azsim.config import load_hardware_config
from azsim.cost.pe_array import pe_invocations
from azsim.execute.events import EventLog, LayerInfo
from azsim.compress.pipeline import encode_codes
from azsim.schedule.mapping import pe_rows, pe_stream_bytes, pe_tables, stream_entries
from reference import pe_array_np as R

HW = load_hardware_config("az-edge")


@dataclasses.dataclass
class Mat:
    """The QMatrix fields the mapping reads; ``stream`` defaults to the codes encoded in
    ``format`` (give it for a codebook format)."""
    q: np.ndarray
    bits: int = 8
    format: str = "dense"
    stream_bytes: int = 0
    stream: bytes = b""

    def __post_init__(self):
        if not self.stream:
            self.stream = encode_codes(self.q, self.bits, self.format).stream


def _sparse(rng, shape, density, bits=8):
    lim = 2 ** (bits - 1) - 1
    q = rng.integers(-lim, lim + 1, shape).astype(np.int8)
    q[rng.random(shape) >= density] = 0
    return q


# ------------------------------------------------------------------------------ kernel twins


@pytest.mark.parametrize("shape,density,pes", [((1, 1), 1.0, 1), ((7, 5), 0.0, 3), ((37, 11), 0.3, 4),
                                               ((3, 9), 0.5, 8), ((64, 20), 0.9, 16)])
def test_pe_slice_nnz_matches_twin(shape, density, pes):
    q = _sparse(np.random.default_rng(shape[0]), shape, density)
    got = K.pe_slice_nnz(q, pes)
    assert np.array_equal(got, R.pe_slice_nnz(q, pes))
    assert got.sum() == np.count_nonzero(q)


@pytest.mark.parametrize("pes,cols,n_inv,depth", [(1, 1, 1, 1), (4, 30, 5, 1), (4, 30, 5, 8),
                                                   (16, 64, 3, 2), (3, 7, 4, 100)])
def test_pe_invocations_match_twin(pes, cols, n_inv, depth):
    rng = np.random.default_rng(pes * 31 + cols)
    cost = rng.integers(0, 6, (pes, cols)).astype(np.int64)
    walk = rng.integers(0, 6, (pes, cols)).astype(np.int64)
    real = np.minimum(walk, rng.integers(0, 6, (pes, cols))).astype(np.int64)
    dec = rng.integers(0, 9, (pes, cols)).astype(np.int64)
    wb = rng.random((pes, cols))
    active = rng.random((n_inv, cols)) < 0.5
    active[0] = False                      # an all-zero activation vector
    if n_inv > 1:
        active[1] = True                   # a dense one
    got = K.pe_invocations(*(np.ascontiguousarray(a.T) for a in (cost, walk, real, dec, wb)),
                           active, depth)
    want = R.pe_invocations(*(a.T for a in (cost, walk, real, dec, wb)), active, depth)
    for (name, w), g in zip(want.items(), got):
        if name.startswith("bytes"):     # float sums, added in another order by the twin
            np.testing.assert_allclose(g, w, rtol=1e-12)
        else:                            # cycles and counts: integers, exactly
            assert g.dtype == np.int64
            np.testing.assert_array_equal(g, np.asarray(w, np.int64))
    assert got[0][0] == 0


def test_pe_invocations_agree_with_the_eie_schedule():
    rng = np.random.default_rng(3)
    cost = rng.integers(1, 9, (8, 40)).astype(np.int64)
    t = np.ascontiguousarray(cost.T)
    zt = np.zeros_like(t)
    got = K.pe_invocations(t, zt, zt, zt, zt.astype(float), np.ones((1, 40), bool), 4)
    assert got[0][0] == K.eie_schedule(cost, 4, 0)[0]


@pytest.mark.parametrize("latency,buffers", [(0.0, 1), (7.0, 2), (100.0, 2), (3.0, 4)])
def test_stream_pipeline_matches_twin(latency, buffers):
    rng = np.random.default_rng(int(latency) + buffers)
    frame_ptr = np.array([0, 3, 5, 5, 9, 10])
    compute = rng.random(10) * 100
    tail = compute * rng.random(10) * 0.5
    n_tiles = rng.integers(0, 5, 10)
    tile_cycles = rng.random(10) * 30
    on_demand = rng.random(10) < 0.3
    args = (frame_ptr, compute, tail, n_tiles, tile_cycles, on_demand, latency, buffers)
    got = K.stream_pipeline(*args)
    want = R.stream_pipeline(*args)
    # bit for bit: the twin adds in the kernel's order (a tolerance of 1e-7 let ~100 cycles
    # through at spans of 1e9; kernel audit, 2026-12-07)
    for g, w in zip(got[:3], want[:3]):
        np.testing.assert_array_equal(g, w)
    # Resident items never stall; spans cover at least the compute; an item's channel time
    # within its span is at most the span and at most its tiles' channel time.
    assert np.all(got[2] <= got[0] + 1e-9)
    assert np.all(got[2] <= n_tiles * tile_cycles + 1e-9)
    assert np.all(got[0] >= compute - 1e-9)
    assert np.all(got[1][n_tiles == 0] == pytest.approx(0.0, abs=1e-9))


def _pipe(compute, n_tiles, tile_cycles, latency, buffers, tail=None, on_demand=None):
    n = len(compute)
    return K.stream_pipeline(np.array([0, n]), np.asarray(compute, float),
                             np.zeros(n) if tail is None else np.asarray(tail, float),
                             np.asarray(n_tiles), np.asarray(tile_cycles, float),
                             np.zeros(n, bool) if on_demand is None else np.asarray(on_demand),
                             float(latency), buffers)


def test_stream_pipeline_double_buffering_overlaps_transfer_and_compute():
    one = _pipe([100.0], [10], [10.0], 0.0, 1)[0][0]
    two = _pipe([100.0], [10], [10.0], 0.0, 2)[0][0]
    assert two == pytest.approx(10 + 100)        # first tile, then compute hides the rest
    assert one == pytest.approx(10 * (10 + 10))  # one buffer: fetch and compute alternate


def test_channel_time_in_span_counts_only_what_the_channel_did_while_the_item_ran():
    """A streamed item after a long resident one has its tiles fetched during the resident
    one's compute: none of that channel time is in its own span, so it is not bound by DRAM
    (the bound used the whole transfer time until 2026-12-06; cost audit). Streamed first,
    the same item waits for its tiles and its channel time lies in its span."""
    after = _pipe([500.0, 400.0], [0, 4], [0.0, 30.0], 0, 2)
    assert after[0][1] == pytest.approx(400.0)         # no stall
    # the two buffers filled during the resident item; the last two tiles are fetched as
    # buffers free up, inside the item's span: 60 cycles of channel against 400 of compute
    assert after[2][1] == pytest.approx(2 * 30.0)
    first = _pipe([40.0], [4], [30.0], 0, 2)
    assert first[2][0] == pytest.approx(4 * 30.0)      # all of its channel time in its span
    assert first[2][0] > 40.0                          # more than it computes: DRAM-bound


def test_an_embedding_row_is_fetched_when_its_token_is_known_not_ahead():
    """A streamed lookup's row depends on the token just emitted: each lookup waits the
    latency after the compute before it (it was prefetched at cycle 0; DRAM audit)."""
    # a resident item of 50 cycles, then 3 lookups of 1 cycle each, 2-cycle transfers
    ahead = _pipe([50.0, 3.0], [0, 3], [0.0, 2.0], 100, 2)[0]
    demand = _pipe([50.0, 3.0], [0, 3], [0.0, 2.0], 100, 2, on_demand=[False, True])[0]
    assert demand[1] == pytest.approx(3 * (100 + 2 + 1))     # each lookup: latency + row
    assert ahead[1] < demand[1]


def test_the_nonlinear_tail_follows_the_last_tile():
    """The nonlinear work needs the whole product: it is not hidden behind the fetches of a
    streamed layer's tiles (it was spread over them; DRAM audit)."""
    spread = _pipe([40.0], [4], [30.0], 0, 2)[0][0]
    tail = _pipe([40.0], [4], [30.0], 0, 2, tail=[20.0])[0][0]
    assert spread == pytest.approx(4 * 30 + 10)      # DRAM-bound: the last tile's compute
    assert tail == pytest.approx(4 * 30 + 5 + 20)    # its share of the products, then the tail


# --------------------------------------------------------------------------------- mapping


def test_rows_are_interleaved_over_pes():
    assert pe_rows(10, 4).tolist() == [3, 3, 2, 2]
    assert pe_rows(3, 8).tolist() == [1, 1, 1, 0, 0, 0, 0, 0]
    q = np.zeros((8, 2), np.int8)
    q[[0, 4], 0] = 1          # both on PE 0 of 4
    q[[1, 6], 1] = 1          # PE 1 and PE 2
    hw = dataclasses.replace(HW, pe_count=4, lanes_per_pe=1, decoder_location="dram_to_sram")
    t = pe_tables([Mat(q)], hw, 4)
    assert t.walk[:, 0].tolist() == [2, 0, 0, 0] and t.walk[:, 1].tolist() == [0, 1, 1, 0]
    assert t.cost[:, 0].tolist() == [2, 1, 1, 1]      # at least one cycle per column


def test_rle_padding_is_counted_per_pe_slice():
    q = np.zeros((40, 1), np.int8)
    q[32, 0] = 5                       # 32 zeros above it in one PE: two padding entries
    assert stream_entries(q, "rle", 1, 4).tolist() == [[3]]
    assert stream_entries(q, "rle", 2, 4).tolist() == [[2], [0]]   # 16 local zeros: one
    assert stream_entries(q, "codebook+rle", 1, 4).tolist() == [[3]]
    hw = dataclasses.replace(HW, pe_count=1, lanes_per_pe=1, decoder_location="sram_to_pe")
    t = pe_tables([Mat(q, 4, "rle", 10)], hw, 4)
    assert (t.walk[0, 0], t.real[0, 0], t.decoded[0, 0]) == (3, 1, 3)
    # one PE: its stream is the matrix's (24-byte header, two 16-bit pointers, 3 entries)
    assert t.wbytes.sum() == pytest.approx(encode_codes(q, 4, "rle").nbytes) == 31


@pytest.mark.parametrize("fmt", ["dense", "bitmask", "csr", "csc", "rle", "golomb"])
@pytest.mark.parametrize("n_pes", [1, 3, 8, 64])
def test_each_pe_stores_its_rows_as_a_real_stream_of_the_format(fmt, n_pes):
    """The per-PE layout is made of real streams: each decodes to its PE's interleaved rows
    (a codebook's too, through its table), and what the cost model charges a PE is its
    stream less its headers, the matrix's headers counted once: at 1 PE the matrix's
    stream. A codebook has two (its own and its index stream's, whose widths the parser
    needs): until 2026-12-07 the inner one was dropped, 24 bytes a matrix short (audit), and
    is now counted once, as a plain format's one header is (a review)."""
    from azsim.compress.codebook import fit_codebook
    from azsim.compress.pipeline import (decode_matrix, decode_stream, encode_codebook,
                                         row_slice_streams)
    from azsim.compress.stream import HEADER_BYTES
    rng = np.random.default_rng(n_pes)
    q = _sparse(rng, (37, 21), 0.15, bits=4)
    q[5] = 0                               # an empty row, and an all-zero column
    q[:, 7] = 0
    w = rng.standard_normal((37, 21)) * (q != 0)
    for enc in (encode_codes(q, 4, fmt), encode_codebook(fit_codebook(w, 4), fmt)):
        whole = decode_matrix(enc)
        parts = row_slice_streams(enc.stream, n_pes)
        assert len(parts) == n_pes and all(p is None for p in parts[37:])
        for p, part in enumerate(parts[:37]):
            name, bits, codes = decode_stream(part.stream)
            assert (name, bits) == (enc.format, 4)
            np.testing.assert_array_equal(codes, whole[p::n_pes])
        charged = pe_stream_bytes(Mat(whole, 4, enc.format, stream=enc.stream), n_pes, 4)
        heads = HEADER_BYTES * (2 if "+" in enc.format else 1)
        assert charged.tolist() == [
            (0 if part is None else part.nbytes - heads) + (p == 0) * heads
            for p, part in enumerate(parts)]
        if n_pes == 1:   # the matrix's stream, byte for byte
            assert parts[0].stream == enc.stream and int(charged.sum()) == enc.nbytes


def test_sram_decoding_pes_read_their_own_streams_whole_on_a_dense_vector():
    """With every input active, the PEs read every byte of their streams once: the bytes
    charged are the per-PE layout's, column pointers and all (64 sets for 64 PEs), not the
    single stream's (a compression audit: 13,289 bytes charged for a 46,778-byte layout)."""
    q = _sparse(np.random.default_rng(3), (256, 256), 0.2, bits=4)
    hw = load_hardware_config("eie-64pe", [])
    t = pe_tables([Mat(q, 4, "rle")], hw, 4)
    per_pe = pe_stream_bytes(Mat(q, 4, "rle"), 64, 4)
    np.testing.assert_allclose(t.wbytes.sum(axis=1), per_pe)
    assert per_pe.sum() > 3 * encode_codes(q, 4, "rle").nbytes
    inv = pe_invocations(t, np.ones((1, 256), bool), hw)
    assert float(inv.wbytes[0]) == pytest.approx(float(per_pe.sum()))


def test_lanes_and_precision_scaling():
    q = np.ones((64, 3), np.int8)
    hw = dataclasses.replace(HW, pe_count=1, lanes_per_pe=16, zero_handling="none")
    assert pe_tables([Mat(q, 8)], hw, 4).cost[0].tolist() == [4, 4, 4]
    packed = dataclasses.replace(hw, precision_scalable=True)
    assert pe_tables([Mat(q, 4)], packed, 4).cost[0].tolist() == [2, 2, 2]
    assert pe_tables([Mat(q, 2)], packed, 4).cost[0].tolist() == [1, 1, 1]
    assert pe_tables([Mat(q, 8)], packed, 4).cost[0].tolist() == [4, 4, 4]


# ------------------------------------------------------------------------------ invariants

MODES = ("none", "gate", "skip_weights", "skip_activations", "skip_both")


def _layer(rng, rows=96, cols=70, density=0.2):
    return [Mat(_sparse(rng, (rows, cols), density, 4), 4, "rle", 500),
            Mat(_sparse(rng, (rows, 17), density, 4), 4, "rle", 200)]


@pytest.mark.parametrize("location", ["dram_to_sram", "sram_to_pe"])
@pytest.mark.parametrize("seed", range(4))
def test_skipping_never_adds_cycles_per_invocation(location, seed):
    rng = np.random.default_rng(seed)
    mats = _layer(rng)
    active = rng.random((6, 87)) < rng.random((6, 1))
    cycles = {}
    for mode in MODES:
        hw = dataclasses.replace(HW, pe_count=8, lanes_per_pe=2, zero_handling=mode,
                                 decoder_location=location)
        cycles[mode] = pe_invocations(pe_tables(mats, hw, 4), active, hw).cycles
    assert np.array_equal(cycles["gate"], cycles["none"])
    for mode in ("skip_weights", "skip_activations", "skip_both"):
        assert np.all(cycles[mode] <= cycles["none"] + 1e-9), mode
    assert np.all(cycles["skip_both"] <= cycles["skip_weights"] + 1e-9)
    assert np.all(cycles["skip_both"] <= cycles["skip_activations"] + 1e-9)


def test_fewer_nonzero_activations_never_add_cycles():
    rng = np.random.default_rng(7)
    hw = dataclasses.replace(HW, pe_count=8, lanes_per_pe=1, zero_handling="skip_both")
    t = pe_tables(_layer(rng), hw, 4)
    dense = np.ones(87, bool)
    subsets = [dense.copy()]
    for _ in range(6):
        m = subsets[-1].copy()
        m[rng.choice(np.flatnonzero(m), size=10, replace=False)] = False
        subsets.append(m)
    c = pe_invocations(t, np.array(subsets), hw).cycles
    assert np.all(np.diff(c) <= 1e-9)


def test_load_imbalance_shows():
    """All nonzeros on the rows of one PE: that PE does all the work, in series."""
    q = np.zeros((64, 10), np.int8)
    q[0::8, :] = 1                      # rows owned by PE 0 of 8: 8 per column
    hw = dataclasses.replace(HW, pe_count=8, lanes_per_pe=1, zero_handling="skip_both",
                             decoder_location="dram_to_sram", sram_bytes_per_cycle=4096)
    r = pe_invocations(pe_tables([Mat(q)], hw, 4), np.ones((1, 10), bool), hw)
    assert r.sched_cycles[0] == 80
    assert r.busy_pe_cycles[0] == 80 + 7 * 10          # the others idle 1 cycle per column
    balanced = np.zeros((64, 10), np.int8)
    balanced[:8, :] = 1                 # one row per PE
    b = pe_invocations(pe_tables([Mat(balanced)], hw, 4), np.ones((1, 10), bool), hw)
    assert b.sched_cycles[0] == 10


@pytest.mark.parametrize("location", ["dram_to_sram", "sram_to_pe"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pes,depth", [(8, 1), (200, 2), (1024, 4)])
def test_pes_with_nothing_to_do_are_left_out_of_the_kernel_exactly(location, mode, pes, depth):
    """kernel_layout leaves out the PEs with nothing to walk (none of the rows, or only zero
    weights when skipping them): every result equals the kernel's over all PEs, and with
    more PEs than rows the kernel loops over the rows' PEs only (a 65536-PE array took
    minutes on the tiny model)."""
    rng = np.random.default_rng(pes + depth)
    mats = _layer(rng, rows=96, density=0.1)
    mats[0].q[5::8] = 0                  # PEs with only zero weights when P divides 8
    hw = dataclasses.replace(HW, pe_count=pes, lanes_per_pe=2, zero_handling=mode,
                             decoder_location=location, queue_depth=depth)
    tables = pe_tables(mats, hw, 4)
    active = rng.random((5, tables.n_in)) < rng.random((5, 1))
    got = pe_invocations(tables, active, hw)
    every_pe = dataclasses.replace(tables)   # the same tables, laid out with all the PEs
    object.__setattr__(every_pe, "_kernel_layout", tuple(np.ascontiguousarray(a.T) for a in (
        tables.cost, tables.walk, tables.real, tables.decoded, tables.wbytes))
        + (np.zeros(tables.n_in, np.int64),))
    want = pe_invocations(every_pe, active, hw)
    for field in dataclasses.fields(want):
        assert np.array_equal(getattr(got, field.name), getattr(want, field.name)), field.name
    if pes > 96:
        assert tables.kernel_layout()[0].shape[1] <= 96


def test_the_sram_port_and_the_decoder_bound_the_invocation():
    q = np.ones((64, 10), np.int8)
    hw = dataclasses.replace(HW, pe_count=4, lanes_per_pe=16, zero_handling="none",
                             decoder_location="dram_to_sram", sram_bytes_per_cycle=4)
    r = pe_invocations(pe_tables([Mat(q)], hw, 4), np.ones((1, 10), bool), hw)
    # 16 rows x 10 columns x 1 byte per PE through 1 byte/cycle.
    assert r.cycles[0] == pytest.approx(160) and r.bound[0] == 2
    slow_dec = dataclasses.replace(hw, decoder_location="sram_to_pe", sram_bytes_per_cycle=4096,
                                   decoder_symbols_per_cycle=2.0)
    r = pe_invocations(pe_tables([Mat(q, 8, "dense", 640)], slow_dec, 4),
                       np.ones((1, 10), bool), slow_dec)
    assert r.cycles[0] == pytest.approx(160 / 0.5) and r.bound[0] == 1


def test_event_log_traces_activity():
    info = LayerInfo("m", "linear", 4, 3, 12, 12, 8, 12)
    log = EventLog([info], 5)
    log.trace("m", 2, np.array([0, 3, 0], np.int8))
    log.trace("m", np.array([0, 4]), np.array([[1, 1, 0], [0, 0, 0]], np.int8))
    frames, mask = log.activity("m")
    assert frames.tolist() == [2, 0, 4]
    assert mask.tolist() == [[False, True, False], [True, True, False], [False, False, False]]
    with pytest.raises(ValueError):
        log.trace("m", 1, np.zeros(4, np.int8))


# ------------------------------------------- formats in SRAM on the PE array (2026-12-06 audit)

@pytest.mark.parametrize("fmt", ["dense", "bitmask", "csr", "csc", "golomb"])
def test_skipping_weights_issues_the_nonzeros_whatever_stream_sram_holds(fmt):
    """Only rle's padding entries are multiplied; a dense stream's zero codes are dropped by
    the zero detector before the lanes, as when SRAM holds the dense matrix. A dense stream
    in SRAM walked every row: 8 cycles and 32 MACs issued for 4 real ones."""
    q = np.zeros((8, 4), np.int8)
    q[0, :] = 3
    active = np.ones((1, 4), bool)
    for location in ("sram_to_pe", "dram_to_sram"):
        hw = load_hardware_config("az-edge", [
            "hw.pe_count=4", "hw.lanes_per_pe=1", "hw.zero_handling=skip_both",
            f"hw.decoder_location={location}", "hw.sram_bytes_per_cycle=4096",
            "hw.decoder_symbols_per_cycle=4096"])
        inv = pe_invocations(pe_tables([Mat(q, 8, fmt, 64)], hw, 4), active, hw)
        assert int(inv.cycles[0]) == 4 and int(inv.issued[0]) == int(inv.real[0]) == 4, \
            (fmt, location)


def test_golomb_decodes_a_run_code_and_a_value_code_per_nonzero():
    """Its stream holds 2 nnz + 1 symbols; the decoder counted one a nonzero (audit). Each of
    the 4 PEs' streams has its own final run code: 2 nnz + 4 (2026-12-07 audit)."""
    from azsim.compress.formats_entropy import GolombFormat
    q = _sparse(np.random.default_rng(5), (64, 32), 0.2)
    nnz = np.count_nonzero(q)
    assert GolombFormat().encode(q, 8).symbols == 2 * nnz + 1
    hw = load_hardware_config("az-edge", ["hw.decoder_location=sram_to_pe", "hw.pe_count=4"])
    tables = pe_tables([Mat(q, 8, "golomb", 100)], hw, 4)
    assert int(tables.decoded.sum()) == 2 * nnz + 4
    assert int(stream_entries(q, "codebook+golomb", 4, 4).sum()) == 2 * nnz + 4
    assert int(stream_entries(q, "golomb", 1, 4).sum()) == 2 * nnz + 1
    inv = pe_invocations(tables, np.ones((1, 32), bool), hw)
    assert int(inv.decoded[0]) == 2 * nnz + 4 and int(inv.real[0]) == nnz


@pytest.mark.parametrize("fmt", ["dense", "bitmask", "csr", "csc", "rle", "golomb"])
@pytest.mark.parametrize("n_pes", [1, 3, 64, 200])
def test_the_decoder_walks_the_symbols_the_per_pe_streams_hold(fmt, n_pes):
    """The entries charged to the PEs' decoders are the symbols of their real streams. A
    golomb stream per PE ends in its own final run code: until 2026-12-07 those were left
    out (audit: at 64 PEs, 2 % dense, the streams held 352 symbols and 288 were charged),
    and the decoder-bound cycles with them."""
    from azsim.compress.pipeline import row_slice_streams
    q = _sparse(np.random.default_rng(n_pes), (128, 64), 0.02, bits=4)
    parts = row_slice_streams(encode_codes(q, 4, fmt).stream, n_pes)
    held = [0 if part is None else part.symbols for part in parts]
    entries = stream_entries(q, fmt, n_pes, 4)
    assert entries.sum(axis=1).tolist() == held
    hw = load_hardware_config("az-edge", ["hw.decoder_location=sram_to_pe",
                                          f"hw.pe_count={n_pes}", "hw.zero_handling=skip_both",
                                          "hw.decoder_symbols_per_cycle=1"])
    tables = pe_tables([Mat(q, 4, fmt)], hw, 4)
    inv = pe_invocations(tables, np.ones((1, 64), bool), hw)
    assert int(inv.decoded[0]) == sum(held)
    assert float(inv.decoder_cycles[0]) == pytest.approx(max(held) * n_pes)


def test_a_pruned_1_bit_codebook_is_held_decoded_at_1_bit():
    """A codebook's 1-bit indices are 0 (the zero) and 1 (its one shared value): pruned, its
    decoded matrix still takes 1 bit a weight. It was held at 2 bits, as a pruned matrix on
    the {-1, +1} grid is, which needs a third value (2026-12-07 audit)."""
    from azsim.compress.codebook import fit_codebook
    from azsim.compress.pipeline import decode_matrix, encode_codebook
    rng = np.random.default_rng(0)
    w = rng.standard_normal((64, 64))
    w[rng.random(w.shape) < 0.5] = 0
    enc = encode_codebook(fit_codebook(w, 1), "rle")
    q = decode_matrix(enc)
    assert 0 < np.count_nonzero(q) < q.size
    hw = load_hardware_config("az-edge", ["hw.decoder_location=dram_to_sram", "hw.pe_count=4"])
    book = pe_tables([Mat(q, 1, enc.format, stream=enc.stream)], hw, 4)
    assert float(book.wbytes.sum()) == q.size / 8
    grid = pe_tables([Mat(np.sign(q).astype(np.int8), 1, "rle")], hw, 4)
    assert float(grid.wbytes.sum()) == q.size / 4


@pytest.mark.parametrize("n_active", [1, 3])
def test_a_broadcast_takes_its_cycle_even_for_a_column_of_no_work(n_active):
    """At min_cycles_per_column = 0, columns whose cost is 0 on every PE still take a
    broadcast cycle each: three took 2 cycles, one took 0 (audit)."""
    cols, pes = 4, 2
    zeros = np.zeros((cols, pes), np.int64)
    active = np.zeros((1, cols), bool)
    active[0, :n_active] = True
    got = K.pe_invocations(zeros, zeros, zeros, zeros, zeros.astype(np.float64), active, 2)
    assert int(got[0][0]) == n_active
    assert R.pe_invocations(zeros, zeros, zeros, zeros, zeros.astype(np.float64),
                            active, 2)["cycles"] == [n_active]
    assert K.eie_schedule(np.zeros((pes, n_active), np.int64), 2, 0)[0] == n_active
    # one unit of work in the first or the last column ends at the same cycle
    first, last = zeros.copy(), zeros.copy()
    first[0, 0], last[n_active - 1, 0] = 1, 1
    a = K.pe_invocations(first, zeros, zeros, zeros, zeros.astype(np.float64), active, 8)[0][0]
    b = K.pe_invocations(last, zeros, zeros, zeros, zeros.astype(np.float64), active, 8)[0][0]
    assert a == (1 if n_active == 1 else n_active) and b == n_active
