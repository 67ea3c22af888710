"""The processor cost model on the tiny model (issues #2 and #4): report fields and invariants."""
import numpy as np
import pytest

import azsim
from azsim.errors import AzsimError

SPARSE = ("model.sparsity=0.9", "model.weight_bits=4", 'model.weight_format="rle"')
EIE_PATH = ('hw.decoder_location="sram_to_pe"',)
STREAMING = ("hw.sram_bytes=4096", "hw.stream_tile_bytes=1024")


@pytest.fixture(scope="module")
def base():
    return azsim.simulate(model="tiny").to_dict()


_CACHE: dict = {}


def _run(*overrides, **kw):
    """One simulation; the integer run is shared across hardware variants (api cache)."""
    kw.setdefault("model", "tiny")   # the invariants on the small untrained preset (fast)
    return azsim.simulate(overrides=list(overrides), cache=_CACHE, **kw).to_dict()


def _full_fit(base) -> int:
    """The least SRAM holding tiny whole at the default settings: its weights, their per-row
    parameters and the activation reserve (159,080 bytes before the parameters were counted,
    2026-12-07; the tests below keep their offsets from it)."""
    tr = base["traffic"]
    return tr["sram_weight_bytes"] + tr["sram_weight_side_bytes"] + tr["sram_activation_bytes"]


def _cycles(report):
    return np.array([r["cycles"] for r in report["layers"]])


def test_report_has_the_documented_fields(base):
    for key in ("azsim_version", "model", "hardware", "audio", "latency", "traffic", "energy",
                "compute", "layers", "transcripts"):
        assert key in base
    assert {"name", "params", "weight_bits"} <= set(base["model"])
    assert {"cycles", "seconds", "rtf", "per_frame_ms_p50", "per_frame_ms_p99",
            "end_of_speech_ms", "dram_stall_cycles"} <= set(base["latency"])
    assert {"dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"} <= set(base["traffic"])
    assert {"total_uj", "breakdown_uj", "components_uj", "actions", "table"} <= set(base["energy"])
    assert set(base["energy"]["breakdown_uj"]) == {"mac", "sram", "dram", "lut", "decoder",
                                                   "leakage"}
    assert {"mac", "gated_mac", "sram_weights", "sram_activations", "dram", "decoder", "lut",
            "elementwise", "leakage"} == set(base["energy"]["components_uj"])
    assert {"macs_dense", "macs_issued", "macs_skipped", "macs_gated"} <= set(base["compute"])
    for row in base["layers"]:
        assert {"name", "cycles", "bound", "bound_resource", "utilization", "dram_read_bytes",
                "energy_uj", "energy_components_uj"} <= set(row)
        assert row["bound"] in ("compute", "memory", "decoder", "idle")
        assert 0.0 <= row["utilization"] <= 1.0
        # Whole cycles are rounded up once per frame.
        assert sum(row["cycles_by_resource"].values()) == pytest.approx(
            row["cycles"], abs=base["audio"]["frames"])
    assert base["hardware"]["macs_per_cycle"] == 256
    assert base["audio"]["utterances"] == len(base["transcripts"]) == 4


def test_energy_is_counts_times_table_exactly(base):
    e = base["energy"]
    assert e["total_uj"] == pytest.approx(sum(e["breakdown_uj"].values()), rel=1e-12)
    assert e["total_uj"] == pytest.approx(sum(e["components_uj"].values()), rel=1e-12)
    for name, row in e["actions"].items():
        assert row["energy_uj"] == pytest.approx(row["count"] * row["energy_pj"] / 1e6, rel=1e-12)
    assert e["total_uj"] == pytest.approx(sum(r["energy_uj"] for r in e["actions"].values()),
                                          rel=1e-9)
    assert e["actions"]["mac"]["count"] == base["compute"]["macs_issued"]
    assert sum(r["energy_uj"] for r in base["layers"]) + e["breakdown_uj"]["leakage"] == \
        pytest.approx(e["total_uj"], rel=1e-12)
    assert e["actions"]["leak_cycle"]["count"] == base["latency"]["cycles"]


def test_static_power_scales_with_the_sram_and_idle_time_draws_its_share(base):
    """Leakage was one fixed figure charged over busy cycles only: a larger SRAM leaked no
    more, and the time between frames was free whatever the processor did in it."""
    e = base["energy"]
    mw = 10.0 + 5.0 * 2                          # az-edge: logic + 5 mW/MiB x 2 MiB
    assert e["leakage_mw"] == pytest.approx(mw, rel=1e-12)
    assert e["actions"]["leak_idle_cycle"]["energy_uj"] == 0.0   # the preset: power-gated
    big = _run("hw.sram_bytes=8388608")
    assert big["energy"]["leakage_mw"] == pytest.approx(10.0 + 5.0 * 8, rel=1e-12)
    share = 0.25
    idle = _run(f"hw.idle_leakage_share={share}")
    audio_s = sum(u["seconds"] for u in idle["utterances"])
    busy_s = idle["latency"]["seconds"]
    assert idle["energy"]["idle_seconds"] == pytest.approx(audio_s - busy_s, rel=1e-9)
    assert idle["energy"]["actions"]["leak_idle_cycle"]["energy_uj"] == pytest.approx(
        mw * 1e-3 * share * (audio_s - busy_s) * 1e6, rel=1e-9)
    assert idle["energy"]["breakdown_uj"]["leakage"] == pytest.approx(
        e["breakdown_uj"]["leakage"] + idle["energy"]["actions"]["leak_idle_cycle"]["energy_uj"],
        rel=1e-12)
    assert idle["latency"]["cycles"] == base["latency"]["cycles"]


def test_a_processor_slower_than_real_time_still_idles_while_it_waits_for_audio():
    """At RTF > 1 the last frame finishes after the audio, yet the processor waits for the
    first frame and between the early ones. Until 2026-12-06 idle time was the audio's
    duration less the busy time, 0 here (an audit: 0.218 s of idle leakage missed)."""
    slow = _run("hw.clock_mhz=3", "hw.pe_count=1", "hw.lanes_per_pe=1",
                "hw.sram_bytes_per_cycle=1", "hw.idle_leakage_share=1")
    assert slow["latency"]["rtf"] > 1
    span_s = sum(max(u["seconds"], u["frame_finish_ms"][-1] / 1e3) for u in slow["utterances"])
    waited_s = span_s - slow["latency"]["seconds"]
    assert waited_s > 0.1
    assert slow["energy"]["idle_seconds"] == pytest.approx(waited_s, rel=1e-9)
    first = slow["utterances"][0]
    assert first["frame_finish_ms"][-1] / 1e3 > first["seconds"]   # slower than its audio


def test_a_supply_voltage_scales_on_chip_energy_as_v_squared_and_static_power_as_v(
        base, tmp_path):
    """No voltage was modelled: a faster clock cost nothing per action. hw.supply_v scales
    the table's on-chip energies from its own voltage (Horowitz: 0.9 V)."""
    same = _run("hw.supply_v=0.9")
    assert same["energy"]["actions"] == base["energy"]["actions"]
    half = _run("hw.supply_v=0.45")
    assert half["latency"]["cycles"] == base["latency"]["cycles"]
    for name, row in half["energy"]["actions"].items():
        ref = base["energy"]["actions"][name]
        assert row["count"] == ref["count"], name
        factor = 1.0 if name == "dram_read_byte" else 0.5 if name.startswith("leak") else 0.25
        assert row["energy_pj"] == pytest.approx(ref["energy_pj"] * factor, rel=1e-12), name
    table = tmp_path / "novolt.toml"
    from azsim.config import load_energy_table
    src = load_energy_table("horowitz-45nm")
    lines = ['name = "novolt"', 'source = "test"']
    for action, a in src.actions.items():
        lines += [f"[actions.{action}]", f"energy_pj = {a.energy_pj}", f'per = "{a.per}"',
                  'source = "test"']
    table.write_text("\n".join(lines) + "\n")
    with pytest.raises(AzsimError, match="hw.supply_v = 0.8: energy table novolt gives no "
                                         "voltage_v"):
        _run("hw.supply_v=0.8", f'hw.energy_table="{table}"')
    assert _run(f'hw.energy_table="{table}"')["energy"]["total_uj"] == \
        pytest.approx(base["energy"]["total_uj"], rel=1e-12)


def test_a_streamed_layer_waiting_on_a_slow_decoder_is_decoder_bound(base):
    """Every stall of a streamed layer was booked to the DRAM: with the decoder on the
    DRAM->SRAM path at 4 symbols a cycle (3.9 k cycles a tile against the channel's 1 k) the
    encoder layers said 'dram'."""
    small_sram = f"hw.sram_bytes={_full_fit(base) - 93_544}"   # tiny's encoder streams
    channel = _run(small_sram)
    slow = _run(small_sram, "hw.decoder_symbols_per_cycle=4")
    for a, b in zip(channel["layers"], slow["layers"]):
        if a["resident"] or a["kind"] == "embedding":   # an embedding reads rows, no tiles
            continue
        assert a["bound_resource"] == "dram" and b["bound_resource"] == "decoder", b["name"]
        # the DRAM keeps what it would stall behind an infinitely fast decoder (its latency)
        assert b["cycles_by_resource"]["dram"] <= a["cycles_by_resource"]["dram"]
        assert b["cycles_by_resource"]["dram"] < b["cycles_by_resource"]["decoder"]
        assert sum(b["cycles_by_resource"].values()) == pytest.approx(
            b["cycles"], abs=slow["audio"]["frames"])
        assert b["cycles"] > a["cycles"]


def test_dram_latency_stays_the_drams_behind_a_slightly_slower_decoder(base):
    """The stall is split by what it would be with an infinitely fast decoder: until
    2026-12-06 a decoder a little slower per tile than the channel took the whole stall,
    the DRAM latency of every frame's first tile included, and one symbol a cycle either way
    moved it all between 'decoder' and 'dram' (a cost audit)."""
    slow_dram = (f"hw.sram_bytes={_full_fit(base) - 93_544}", "hw.dram_latency_ns=100000")
    fast_dec = _run(*slow_dram, "hw.decoder_symbols_per_cycle=1000")
    # the channel's pace per 1 KiB-ish tile against a decoder just slower than it
    per_tile = {r["name"]: r for r in fast_dec["layers"] if not r["resident"]
                and r["kind"] != "embedding"}
    assert per_tile
    slow_dec = _run(*slow_dram, "hw.decoder_symbols_per_cycle=1.5")
    for row in slow_dec["layers"]:
        if row["name"] not in per_tile:
            continue
        ref = per_tile[row["name"]]["cycles_by_resource"]
        got = row["cycles_by_resource"]
        # the latency (80 k cycles a frame) stays the DRAM's, the decoder gets what it adds
        assert got["dram"] >= 0.9 * ref["dram"] > 0, row["name"]
        assert sum(got.values()) == pytest.approx(row["cycles"], abs=slow_dec["audio"]["frames"])
    assert slow_dec["latency"]["dram_stall_cycles"] >= \
        0.9 * fast_dec["latency"]["dram_stall_cycles"]


def test_skipping_never_adds_cycles_and_gating_changes_energy_only(base):
    none = _run("hw.zero_handling=none", *SPARSE)
    gate = _run("hw.zero_handling=gate", *SPARSE)
    assert np.array_equal(_cycles(gate), _cycles(none))
    assert gate["latency"]["cycles"] == none["latency"]["cycles"]
    assert gate["energy"]["breakdown_uj"]["mac"] < none["energy"]["breakdown_uj"]["mac"]
    assert gate["compute"]["macs_gated"] > 0 and gate["energy"]["components_uj"]["gated_mac"] > 0
    assert gate["compute"]["macs_skipped"] == 0 == none["compute"]["macs_skipped"]
    for mode in ("skip_weights", "skip_activations", "skip_both"):
        for path in ((), EIE_PATH):
            skip = _run(f"hw.zero_handling={mode}", *SPARSE, *path)
            ref = _run("hw.zero_handling=none", *SPARSE, *path)
            assert np.all(_cycles(skip) <= _cycles(ref)), (mode, path)
            assert skip["compute"]["macs_skipped"] > 0
    both = _run("hw.zero_handling=skip_both", *SPARSE, *EIE_PATH)
    assert both["latency"]["cycles"] < none["latency"]["cycles"]


def test_skip_is_an_alias_of_skip_both():
    a = _run("hw.zero_handling=skip", *SPARSE)
    b = _run("hw.zero_handling=skip_both", *SPARSE)
    assert a["hardware"]["zero_handling"] == "skip_both"
    assert a["latency"] == b["latency"] and a["energy"]["total_uj"] == b["energy"]["total_uj"]


def test_more_dram_bandwidth_never_adds_cycles():
    runs = [_run(f"hw.dram_bandwidth_gb_per_s={bw}", *STREAMING) for bw in (0.5, 2, 12.8, 50)]
    for slow, fast in zip(runs, runs[1:]):
        # Per frame (a layer's own span may grow when its predecessor finishes earlier and it
        # waits for data it had prefetched before; the frame never finishes later).
        assert fast["latency"]["cycles"] <= slow["latency"]["cycles"]
        for us, uf in zip(slow["utterances"], fast["utterances"]):
            assert np.all(np.array(uf["frame_compute_ms"]) <= np.array(us["frame_compute_ms"]) + 1e-12)
    assert runs[0]["latency"]["dram_stall_cycles"] > runs[-1]["latency"]["dram_stall_cycles"]
    assert any(r["bound_resource"] == "dram" for r in runs[0]["layers"])


def test_dram_latency_costs_cycles_only_when_streaming(base):
    slow = _run("hw.dram_latency_ns=10000", *STREAMING)
    fast = _run("hw.dram_latency_ns=0", *STREAMING)
    assert slow["latency"]["cycles"] > fast["latency"]["cycles"]
    # The tiny model fits, so it is preloaded whole, its embedding too (its 4 lookups would
    # read 64 of the table's 488 bytes, each waiting the DRAM latency): DRAM latency reaches
    # no layer. Until 2026-12-06 the table streamed and stalled at every token.
    slow_fit = _run("hw.dram_latency_ns=10000")
    assert all(r["resident"] for r in base["layers"])
    for fit, slow_row in zip(base["layers"], slow_fit["layers"]):
        assert slow_row["resident"] and slow_row["cycles"] == fit["cycles"], fit["name"]
    assert slow_fit["latency"]["cycles"] == base["latency"]["cycles"]
    assert slow_fit["latency"]["dram_stall_cycles"] == 0


@pytest.mark.parametrize("path", [(), EIE_PATH])
def test_dram_bytes_are_the_encoded_stream_bytes_fetched(path):
    d = _run(*SPARSE, *STREAMING, *path)
    assert not all(r["resident"] for r in d["layers"])
    for row in d["layers"]:
        if row["kind"] == "embedding":
            continue  # a lookup fetches one row, not the table
        # the weights as stored: the matrix's stream where it is decoded on the way into
        # SRAM; where each PE decodes its own rows, the PEs' streams, each with its own
        # column pointers (more bytes than the single stream at 16 PEs; mapping.py)
        per_pass = row["weight_stored_bytes"]
        if path:
            assert per_pass > row["weight_stream_bytes"], row["name"]
        else:
            assert per_pass == row["weight_stream_bytes"], row["name"]
        # with the layer's per-row parameters, fetched beside its weights on every pass
        assert row["weight_side_bytes"] > 0, row["name"]
        expected = (per_pass + row["weight_side_bytes"]) * \
            (1 if row["resident"] else row["invocations"])
        assert row["dram_read_bytes"] == expected, row["name"]
    assert d["traffic"]["dram_read_bytes"] == sum(r["dram_read_bytes"] for r in d["layers"])


def test_model_that_fits_reads_weights_from_dram_once():
    """The trained small model fits in az-edge's SRAM, its embedding looked up 146 times on
    the shipped audio: every layer is resident and read from DRAM once, at load."""
    d = azsim.simulate(model="small", cache=_CACHE).to_dict()
    assert all(r["resident"] for r in d["layers"])
    assert d["traffic"]["dram_read_bytes"] == d["model"]["weight_stream_bytes"] + \
        d["model"]["weight_side_bytes"]
    assert d["latency"]["dram_stall_cycles"] == 0


def test_a_model_that_fits_is_preloaded_whole_and_a_cheap_lookup_streams_when_it_does_not(base):
    """tiny's embedding is looked up 4 times (untrained, it emits little): 4 rows of 16 bytes
    against a 488-byte table. The model fits, so it is preloaded whole, the table too: every
    weight read once (issue #4), no DRAM wait at any token. When the model does not fit, the
    knapsack streams the table's rows rather than spend SRAM on 424 bytes it would not read."""
    embed = next(r for r in base["layers"] if r["kind"] == "embedding")
    assert all(r["resident"] for r in base["layers"])
    assert embed["invocations"] == 4 and embed["dram_read_bytes"] == embed["weight_stream_bytes"]
    assert base["traffic"]["dram_read_bytes"] == base["model"]["weight_stream_bytes"] + \
        base["model"]["weight_side_bytes"]
    assert base["latency"]["dram_stall_cycles"] == 0
    tight = _run(*STREAMING)
    embed = next(r for r in tight["layers"] if r["kind"] == "embedding")
    assert not embed["resident"]
    assert embed["dram_read_bytes"] == 4 * embed["shape"][1] < embed["weight_stream_bytes"]


def test_model_that_does_not_fit_streams_weights_every_frame(base):
    small = _run(*STREAMING)
    assert small["traffic"]["dram_read_bytes"] > 10 * base["traffic"]["dram_read_bytes"]
    assert small["energy"]["total_uj"] > base["energy"]["total_uj"]
    assert small["latency"]["cycles"] > base["latency"]["cycles"]


def test_lower_bits_shrink_weight_bytes(base):
    four = _run(bits=4)
    assert four["model"]["weight_stream_bytes"] < 0.55 * base["model"]["weight_stream_bytes"]


def test_a_pruned_1_bit_matrix_is_decoded_at_2_bits():
    """1-bit codes are -1 and +1: a decoded matrix with its zeros filled back in needs a
    third value, so a pruned 1-bit model occupies and reads SRAM as a 2-bit one does (it was
    counted at 1 bit, half; a compression audit, 2026-12-06). Unpruned, 1 bit stays 1 bit."""
    fmt = 'model.weight_format="rle"'
    one, two = (_run(fmt, "model.sparsity=0.5", bits=b) for b in (1, 2))
    assert one["traffic"]["sram_weight_bytes"] == two["traffic"]["sram_weight_bytes"]
    dense_one, dense_two = (_run(fmt, bits=b) for b in (1, 2))
    assert all(r["weight_nnz"] == r["weight_count"] for r in dense_one["layers"]
               if r["kind"] != "embedding")
    embed = next(r["weight_stream_bytes"] for r in dense_one["layers"]
                 if r["kind"] == "embedding")   # int8 codes at any bit-width
    assert 2 * (dense_one["traffic"]["sram_weight_bytes"] - embed) + embed == \
        dense_two["traffic"]["sram_weight_bytes"]
    for r, t in zip(one["layers"], two["layers"]):
        if r["name"].startswith("enc."):   # every frame: the same decoded bytes read
            assert r["sram_read_bytes"] == pytest.approx(t["sram_read_bytes"], rel=0.01), r["name"]


def test_a_pruned_1_bit_codebook_is_decoded_at_1_bit():
    """A codebook's 1-bit indices are 0 (the zero) and 1 (its shared value): unlike the
    {-1, +1} grid, a pruned 1-bit codebook needs no third value. It was held at 2 bits an
    index (a compression audit, 2026-12-07: 39,864 bytes of SRAM weights at 50 % sparsity,
    20,176 unpruned)."""
    book = ('model.weight_format="rle"', "model.quantizer=codebook")
    pruned, dense = (_run(*book, *extra, bits=1) for extra in (("model.sparsity=0.5",), ()))
    assert any(r["weight_nnz"] < r["weight_count"] for r in pruned["layers"])
    assert pruned["traffic"]["sram_weight_bytes"] == dense["traffic"]["sram_weight_bytes"]


def test_precision_scalable_lanes_pack_low_bit_macs():
    # A wide SRAM port, so that the lanes (not the port) bound the products.
    # 4 PEs own 64 rows of a 256-row gate matrix: 4 cycles per column at 16 lanes, 2 packed.
    wide = ("hw.sram_bytes_per_cycle=4096", "hw.zero_handling=none", "model.weight_bits=4",
            "hw.pe_count=4")
    native = _run(*wide, "hw.precision_scalable=false")
    packed = _run(*wide, "hw.precision_scalable=true")
    assert np.all(_cycles(packed) <= _cycles(native))
    assert packed["latency"]["cycles"] < 0.75 * native["latency"]["cycles"]
    assert packed["energy"]["actions"]["mac"]["energy_pj"] < native["energy"]["actions"]["mac"]["energy_pj"]


@pytest.mark.parametrize("array", ["pe", "systolic"])
def test_codebook_weights_are_multiplied_at_their_values_width_not_their_index_width(array):
    """A 4-bit codebook stores 4-bit indices of int8 shared values: the MACs multiply the
    int8 values, so precision-scalable lanes cannot pack them. Until 2026-12-06 they were
    costed as 4-bit MACs: about half the cycles and 0.20 instead of 0.30 pJ a MAC (audit)."""
    wide = ("hw.sram_bytes_per_cycle=4096", "hw.lanes_per_pe=1", "model.weight_bits=4",
            f"hw.array={array}", "hw.zero_handling=gate")
    book = ("model.quantizer=codebook",)
    native = _run(*wide, *book, "hw.precision_scalable=false")
    scalable = _run(*wide, *book, "hw.precision_scalable=true")
    assert scalable["latency"]["cycles"] == native["latency"]["cycles"]
    assert scalable["energy"]["actions"]["mac"] == native["energy"]["actions"]["mac"]
    assert {r["mac_weight_bits"] for r in scalable["layers"]} == {8}
    assert {r["weight_bits"] for r in scalable["layers"] if r["kind"] != "embedding"} == {4}
    # a uniform 4-bit grid's codes are its values: those pack
    grid = _run(*wide, "hw.precision_scalable=true")
    assert grid["latency"]["cycles"] < 0.75 * native["latency"]["cycles"]
    assert {r["mac_weight_bits"] for r in grid["layers"] if r["kind"] != "embedding"} == {4}


def test_streaming_timeline_is_causal(base):
    for u in base["utterances"]:
        assert len(u["frame_arrival_ms"]) == u["frames"]
        assert np.all(np.diff(u["frame_arrival_ms"]) > 0)
        assert u["frame_arrival_ms"][-1] <= u["seconds"] * 1000 + 1e-9
        assert u["end_of_speech_ms"] >= 0
        # the result frame's response: its result minus its arrival, never below the latency
        # after the end of the audio (which arrives no earlier than that frame). With the
        # time reduction of 2 it is the last frame of the last whole pair.
        k = u["result_frame"]
        assert k == (u["frames"] // 2) * 2 - 1
        last = u["frame_finish_ms"][k] - u["frame_arrival_ms"][k]
        assert u["last_frame_ms"] == pytest.approx(last) and last > 0
        assert u["end_of_speech_ms"] == pytest.approx(
            max(u["frame_finish_ms"][k] - u["seconds"] * 1e3, 0.0), abs=1e-9)
        assert u["end_of_speech_ms"] <= u["last_frame_ms"] + 1e-9
    lat = base["latency"]
    assert lat["last_frame_ms"] == pytest.approx(
        np.mean([u["last_frame_ms"] for u in base["utterances"]]))
    assert lat["last_frame_ms_max"] == max(u["last_frame_ms"] for u in base["utterances"])


def test_slow_clock_shows_real_time_limits():
    slow = _run("hw.clock_mhz=1", "hw.pe_count=1", "hw.lanes_per_pe=1")
    assert slow["latency"]["rtf"] > 1
    assert slow["latency"]["end_of_speech_ms"] > 0
    assert slow["latency"]["last_frame_ms"] > 0
    assert slow["latency"]["per_frame_ms_p99"] >= slow["latency"]["per_frame_ms_p50"] > 0


def test_decoder_location_decides_what_sram_holds():
    # The 16 PEs' rle streams (~41 kB: the matrices' single streams are ~21 kB, but every
    # PE keeps its own column pointers) fit in 60 kB of SRAM; the 4-bit matrices with zeros
    # filled back in (~79 kB) do not.
    eie = _run(*SPARSE, "hw.sram_bytes=60000", *EIE_PATH)
    seed = _run(*SPARSE, "hw.sram_bytes=60000", 'hw.decoder_location="dram_to_sram"')
    assert all(r["resident"] for r in eie["layers"] if r["kind"] != "embedding")
    assert not all(r["resident"] for r in seed["layers"])
    assert seed["traffic"]["dram_read_bytes"] > eie["traffic"]["dram_read_bytes"]


def test_resident_layers_decode_once_on_the_dram_to_sram_path():
    d = _run(*SPARSE, 'hw.decoder_location="dram_to_sram"')
    for row in d["layers"]:
        if row["resident"] and row["kind"] != "embedding":
            assert row["decoded_symbols"] == row["weight_symbols"]
    e = _run(*SPARSE, *EIE_PATH)
    assert e["energy"]["breakdown_uj"]["decoder"] > d["energy"]["breakdown_uj"]["decoder"]


def test_residency_keeps_the_layers_that_save_the_most_dram_bytes_per_sram_byte():
    """A sparse layer decoded into SRAM streams its compressed bytes but occupies its dense
    size: invoked 10 times at 50 B a time it saves 500 DRAM bytes for 100 SRAM bytes, less than
    a dense 100 B layer invoked 6 times (600 B). Reuse per footprint byte alone (the rule before
    2026-12-03) would have kept the sparse one; the knapsack keeps the one saving more."""
    from types import SimpleNamespace

    from azsim.schedule.residency import plan_residency
    sparse = SimpleNamespace(name="sparse", weight_stream_bytes=50, footprint=100)
    dense = SimpleNamespace(name="dense", weight_stream_bytes=100, footprint=100)
    # Bytes each fetches over the run when it streams: invocations x stream bytes.
    r = plan_residency([sparse, dense], {"sparse": 10 * 50, "dense": 6 * 100}, sram_bytes=150,
                       activation_bytes=0, footprint=lambda info: info.footprint)
    assert r.resident == {"dense"} and r.resident_bytes == 100
    r = plan_residency([sparse, dense], {"sparse": 13 * 50, "dense": 6 * 100}, sram_bytes=150,
                       activation_bytes=0, footprint=lambda info: info.footprint)
    assert r.resident == {"sparse"}
    # Read once either way: kept when everything fits (no DRAM byte lost, no stream latency).
    everything = plan_residency([sparse, dense], {"sparse": 50, "dense": 100}, sram_bytes=200,
                                activation_bytes=0, footprint=lambda info: info.footprint,
                                staging_bytes=64)
    assert everything.resident == {"sparse", "dense"} and everything.staging_bytes == 0
    # A layer that would fetch less by streaming than its preload streams when the model does
    # not fit, and the double buffer is reserved for it; one never invoked is not kept. When
    # the whole model fits it is preloaded, those two as well (no DRAM wait per lookup).
    table = SimpleNamespace(name="table", weight_stream_bytes=400, footprint=400)
    idle = SimpleNamespace(name="idle", weight_stream_bytes=100, footprint=100)
    fetched = {"dense": 600, "table": 64, "idle": 0}
    r = plan_residency([dense, table, idle], fetched, sram_bytes=599, activation_bytes=0,
                       footprint=lambda info: info.footprint, staging_bytes=64)
    assert r.resident == {"dense"} and r.staging_bytes == 64
    r = plan_residency([dense, table, idle], fetched, sram_bytes=600, activation_bytes=0,
                       footprint=lambda info: info.footprint, staging_bytes=64)
    assert r.resident == {"dense", "table", "idle"} and r.staging_bytes == 0


@pytest.mark.parametrize("seed", range(40))
def test_residency_reads_the_fewest_dram_bytes_any_subset_can(seed):
    """The greedy rule (bytes saved per SRAM byte) has no bound for 0/1 choices: small
    high-ratio layers took the space and he2019 at 99.9 MB of SRAM read 3.27 GB where 0.26 GB
    was possible (a residency audit, 2026-12-07). Against every subset of up to 9 layers, with
    one double buffer for any streaming layer: the plan reads the fewest DRAM bytes of all
    subsets that fit beside it."""
    import itertools
    from types import SimpleNamespace

    from azsim.schedule.residency import plan_residency
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 10))
    layers = [SimpleNamespace(name=f"l{k}", weight_stream_bytes=int(rng.integers(10, 400)),
                              footprint=0) for k in range(n)]
    for info in layers:
        info.footprint = info.weight_stream_bytes * int(rng.integers(1, 3))
    fetched = {info.name: info.weight_stream_bytes * int(rng.integers(1, 30)) for info in layers}
    reserve = 16
    sram = int(rng.integers(50, sum(info.footprint for info in layers)))
    r = plan_residency(layers, fetched, sram_bytes=sram, activation_bytes=0,
                       footprint=lambda info: info.footprint, staging_bytes=reserve)

    def dram(resident):
        return sum(info.weight_stream_bytes if info.name in resident else fetched[info.name]
                   for info in layers)
    best = min(dram({layers[k].name for k in subset})
               for size in range(n + 1) for subset in itertools.combinations(range(n), size)
               if sum(layers[k].footprint for k in subset) + reserve <= sram)
    assert dram(r.resident) == best


def test_the_double_buffer_holds_what_the_streaming_layers_stage():
    """A layer that stages less than a tile needs less than two tiles: when only a table whose
    lookups fetch 16-byte rows streams, 32 bytes are reserved, not two full tiles, so a
    layer that fits beside the rows stays on chip (two tiles were reserved whatever
    streamed, and the dense layer streamed too; audit). A layer whose stage needs more than
    the SRAM beside the others can hold is never left to stream under a smaller reserve."""
    from types import SimpleNamespace

    from azsim.schedule.residency import plan_residency
    dense = SimpleNamespace(name="dense", weight_stream_bytes=100, footprint=100, need=200)
    table = SimpleNamespace(name="table", weight_stream_bytes=400, footprint=400, need=32)
    fetched = {"dense": 600, "table": 64}

    def plan(sram_bytes, need=lambda info: info.need):
        return plan_residency([dense, table], fetched, sram_bytes=sram_bytes,
                              activation_bytes=0, footprint=lambda info: info.footprint,
                              staging_bytes=need)
    r = plan(132)
    assert r.resident == {"dense"} and r.staging_bytes == 32 and r.weight_budget_bytes == 100
    assert plan(132, need=lambda info: 200).resident == frozenset()   # the rule before
    r = plan(131)   # the dense layer no longer fits beside two rows: both stream
    assert r.resident == frozenset() and r.staging_bytes == 200
    # A plan that does not fit never wins over one that does: with 90 bytes, streaming both
    # needs the dense layer's 100-byte reserve; keeping the table (60 bytes, not worth it by
    # DRAM bytes) beside the dense layer's 20-byte reserve fits (a review's case).
    big = SimpleNamespace(name="big", weight_stream_bytes=1000, footprint=1000, need=20)
    row = SimpleNamespace(name="row", weight_stream_bytes=60, footprint=60, need=100)
    r = plan_residency([big, row], {"big": 100_000, "row": 55}, sram_bytes=90,
                       activation_bytes=0, footprint=lambda info: info.footprint,
                       staging_bytes=lambda info: info.need)
    assert r.resident == {"row"} and r.staging_bytes == 20


def test_tiny_keeps_its_layers_when_only_embedding_rows_stream(base):
    """One byte short of the whole (159,079 bytes before the per-row parameters were
    counted; 171,003 since) tiny fits but for its table, which streams 16-byte rows: it read
    9,899,384 DRAM bytes, 62 times the 158,208 of a few bytes more, because two 16 KiB tiles
    were reserved and a matrix layer streamed instead (audit). Now two rows are kept."""
    run = _run(f"hw.sram_bytes={_full_fit(base) - 1}")
    resident = _run(f"hw.sram_bytes={_full_fit(base) + 10_920}")
    embed = next(r for r in run["layers"] if r["name"] == "pred.embed")
    assert not embed["resident"]
    assert all(r["resident"] for r in run["layers"] if r["name"] != "pred.embed")
    assert run["traffic"]["sram_staging_bytes"] == 2 * 16
    assert run["traffic"]["dram_read_bytes"] <= resident["traffic"]["dram_read_bytes"]


def test_a_layer_whose_tiles_arrived_ahead_is_not_dram_bound(base):
    """At 157,000 bytes of SRAM tiny streams its joint layers, whose tiles arrive while the
    encoder computes: at 12.8 GB/s joint.out's cycles are those at 1,000 GB/s, so DRAM does
    not bound it. It was labelled DRAM-bound by its whole transfer time (cost audit); the
    bound now counts the channel's time on the layer's tiles within its own span. A layer
    that does wait for its tiles (enc.1 at 120,000 bytes) is still DRAM-bound."""
    sram = f"hw.sram_bytes={_full_fit(base) - 2_080}"   # 157,000 before 2026-12-07
    slow = _run(sram, "hw.dram_bandwidth_gb_per_s=12.8")
    fast = _run(sram, "hw.dram_bandwidth_gb_per_s=1000")
    joint = {r["name"]: r for r in slow["layers"]}["joint.out"]
    assert not joint["resident"]
    assert joint["cycles"] == pytest.approx(
        {r["name"]: r for r in fast["layers"]}["joint.out"]["cycles"], rel=1e-3)
    assert joint["bound_resource"] == max(joint["cycles_by_resource"],
                                          key=joint["cycles_by_resource"].get) != "dram"
    enc1 = {r["name"]: r for r in _run(f"hw.sram_bytes={_full_fit(base) - 39_080}")["layers"]
            }["enc.1.lstm"]
    assert enc1["bound_resource"] == "dram" and enc1["cycles_by_resource"]["dram"] > 0


def test_pes_that_own_no_rows_idle_in_the_load_balance():
    """1,000 PEs on tiny's 29-row joint.out: 971 own no rows and read no pointers. They were
    charged min_cycles_per_column a column and the layer reported a load balance of 1.000
    (cost audit); at most 29 of 1,000 PEs work now."""
    run = _run("hw.pe_count=1000", "hw.min_cycles_per_column=1")
    joint = {r["name"]: r for r in run["layers"]}["joint.out"]
    assert joint["shape"][0] == 29
    assert 0 < joint["load_balance"] <= 29 / 1000 + 1e-12


def test_utterances_carry_their_energy_and_traffic_and_the_preload_is_the_rest():
    """Energy and traffic per utterance and per frame (the README promised them; records had
    cycles alone; a report audit): the utterances' energies plus the one-time preload's are
    the run's, their frames' energies plus their idle static energy are theirs, and their
    traffic plus the preload's is the run's."""
    for overrides in ((), ("hw.sram_bytes=120000",), ("hw.idle_leakage_share=0.5",)):
        d = _run(*overrides)
        us, tr = d["utterances"], d["traffic"]
        # the preload, priced on its own: its DRAM reads, its SRAM writes (the resident
        # footprints), and its decoding on the DRAM->SRAM path
        pj = d["energy"]["per_action_pj"]
        preload_write = tr["sram_write_bytes"] - sum(u["sram_write_bytes"] for u in us)
        symbols = sum(lay["weight_symbols"] for lay in d["layers"]
                      if lay["resident"] and lay["kind"] != "embedding")
        preload_uj = (tr["weight_preload_bytes"] * pj["dram_read_byte"]
                      + preload_write * pj["sram_write_byte"]
                      + symbols * pj["decode_symbol"]) * 1e-6
        assert sum(u["dram_read_bytes"] for u in us) + tr["weight_preload_bytes"] == \
            tr["dram_read_bytes"]
        assert sum(u["sram_read_bytes"] for u in us) == tr["sram_read_bytes"]
        for u in us:
            assert len(u["frame_energy_uj"]) == u["frames"]
            assert sum(u["frame_energy_uj"]) <= u["energy_uj"] * (1 + 1e-12)
        assert sum(u["energy_uj"] for u in us) + preload_uj == pytest.approx(
            d["energy"]["total_uj"])


def test_a_slow_decoder_bounds_latency():
    fast = _run(*SPARSE, *EIE_PATH, "hw.decoder_symbols_per_cycle=1000")
    slow = _run(*SPARSE, *EIE_PATH, "hw.decoder_symbols_per_cycle=0.5")
    assert slow["latency"]["cycles"] > fast["latency"]["cycles"]
    assert any(r["bound"] == "decoder" for r in slow["layers"])


def test_systolic_baseline_runs_dense():
    sys_ = _run("hw.array=systolic", "hw.zero_handling=gate", "hw.sram_bytes_per_cycle=4096")
    assert sys_["hardware"]["macs_per_cycle"] == 256
    assert sys_["compute"]["macs_skipped"] == 0
    from azsim.cost.systolic import gemm_cycles
    for row in sys_["layers"]:
        if row["kind"] in ("lstm", "projection", "linear", "joint_out") and row["invocations"]:
            n_out, n_in = row["shape"]
            per_call = gemm_cycles(1, n_in, n_out, 16, 16, "ws")
            assert row["cycles"] >= row["invocations"] * per_call


def _layer(run, name):
    return next(r for r in run["layers"] if r["name"] == name)


def test_systolic_traffic_follows_the_dataflow_and_the_folds():
    """SCALE-Sim's activation traffic: the input is read once per column fold, and ws spills
    the int32 partial sums of every row fold but the last (written, read back); os keeps
    them in the cells. Until 2026-12-06 every systolic run read the PE array's 42.6 MB."""
    sys_ = ("hw.array=systolic", "hw.zero_handling=gate", "hw.sram_bytes_per_cycle=4096")
    ws = _run(*sys_, "hw.dataflow=ws")
    os_ = _run(*sys_, "hw.dataflow=os")
    wide = _run(*sys_, "hw.dataflow=os", "hw.systolic_cols=1024")   # one column fold
    for name in ("enc.0.lstm", "joint.out"):
        w, o, one = _layer(ws, name), _layer(os_, name), _layer(wide, name)
        n_out, n_in = w["shape"]
        inv = w["invocations"]
        reread = (_ceil_div(n_out, 16) - 1) * n_in * inv
        spill = (_ceil_div(n_in, 16) - 1) * n_out * 4 * inv
        assert reread > 0 and spill > 0
        assert o["sram_read_bytes"] == one["sram_read_bytes"] + reread
        assert o["sram_write_bytes"] == one["sram_write_bytes"]
        assert w["sram_read_bytes"] == o["sram_read_bytes"] + spill
        assert w["sram_write_bytes"] == o["sram_write_bytes"] + spill
    assert ws["traffic"]["sram_read_bytes"] > os_["traffic"]["sram_read_bytes"] \
        > wide["traffic"]["sram_read_bytes"]


def _ceil_div(a, b):
    return -(-a // b)


def test_a_larger_array_leaks_more():
    """Static power has a share per MAC unit: a 64 x 64 systolic array leaks 16 times the
    MAC share of a 16 x 16 one (az-edge: 5/256 mW a MAC). It leaked the same until
    2026-12-06, so the largest array reported the lowest energy (audit)."""
    sys_ = ("hw.array=systolic", "hw.zero_handling=gate")
    small = _run(*sys_)
    big = _run(*sys_, "hw.systolic_rows=64", "hw.systolic_cols=64")
    assert small["energy"]["leakage_mw"] == pytest.approx(20.0)
    assert big["energy"]["leakage_mw"] == pytest.approx(20.0 + 5.0 * (4096 - 256) / 256)


def test_a_pruned_one_bit_matrix_takes_the_cycles_of_its_two_bit_codes_on_a_systolic_array():
    """Pruned at 1 bit the codes are -1, 0, +1, held at 2 bits (the same SRAM bytes as the
    2-bit grid's), and the zeros flow through the array: a precision-scalable cell packs 4,
    so the products take the 2-bit run's cycles (audit: 8 a cell, half the cycles)."""
    sys_ = ("hw.array=systolic", "hw.zero_handling=gate", "hw.precision_scalable=true",
            "hw.sram_bytes_per_cycle=4096", "model.sparsity=0.5", "model.weight_format=rle")
    one, two = _run(*sys_, bits=1), _run(*sys_, bits=2)
    assert one["traffic"]["sram_weight_bytes"] == two["traffic"]["sram_weight_bytes"]
    for a, b in zip(one["layers"], two["layers"]):
        if a["kind"] != "embedding" and a["invocations"] == b["invocations"]:
            assert a["cycles_by_resource"]["compute"] == b["cycles_by_resource"]["compute"], \
                a["name"]
            assert a["utilization"] <= 1.0


def test_a_systolic_run_says_so_in_its_header():
    """The terminal header names the array: a systolic run printed the PE array's header,
    and its ws and os runs the same one (audit)."""
    from azsim.report.render import render_text
    ws = _run("hw.array=systolic", "hw.zero_handling=gate")
    os_ = _run("hw.array=systolic", "hw.zero_handling=gate", "hw.dataflow=os",
               "hw.systolic_rows=8")
    head = [render_text(r).splitlines()[0] for r in (ws, os_)]
    assert "16 x 16 ws systolic array" in head[0] and "8 x 16 os systolic array" in head[1]
    assert "systolic" not in render_text(_run()).splitlines()[0]


def test_systolic_array_cannot_skip():
    from azsim.errors import ConfigError
    with pytest.raises(ConfigError, match="systolic"):
        _run("hw.array=systolic", "hw.zero_handling=skip_both")


def test_activity_trace_agrees_with_the_executors_counts(base):
    """Skipping both operands on the DRAM->SRAM path, the PEs issue exactly the effectual MACs
    that the executor counted (the trace and the counts are two records of one computation)."""
    for row in base["layers"]:
        if row["kind"] != "embedding":
            assert row["macs_issued"] == row["macs_effectual"], row["name"]
            assert row["macs_skipped"] == row["macs_dense"] - row["macs_effectual"]


def test_the_recurrent_state_keeps_its_sram(base):
    """Every LSTM layer keeps c (int16 a unit) and r (int8 an output) across frames, tiny's
    three layers of 64 units 576 bytes, and greedy decoding one z_pred of the joint's 64 int32
    units, 256 bytes, beside the largest layer's 256 bytes of activation writes in a frame.
    Until 2026-12-06 only the latter was reserved, so an SRAM holding the weights and 256
    bytes counted the model resident with no room for its state (audit)."""
    reserve = base["traffic"]["sram_activation_bytes"]
    assert reserve == 256 + 3 * (2 * 64 + 64) + 4 * 64
    weights = base["traffic"]["sram_weight_bytes"] + base["traffic"]["sram_weight_side_bytes"]
    fits = _run(f"hw.sram_bytes={weights + reserve}")
    assert all(r["resident"] for r in fits["layers"])
    short = _run(f"hw.sram_bytes={weights + reserve - 1}", "hw.stream_tile_bytes=64")
    assert not all(r["resident"] for r in short["layers"])


def test_a_beam_holds_its_prediction_cache_in_sram():
    """The search's cache holds at most beam + committed slots + S x beam prediction states
    with their z_pred (azsim.decode.beam); greedy decoding one."""
    from types import SimpleNamespace

    from azsim.decode.beam import prediction_entries_held
    from azsim.execute.integer import recurrent_state_bytes

    def lstm(units, outputs=None):
        m = SimpleNamespace(q=np.zeros((4 * units, 3), np.int8))
        p = SimpleNamespace(q=np.zeros((outputs or 0, units if outputs else 0), np.int8))
        return SimpleNamespace(w_x=m, w_p=p, has_projection=outputs is not None)
    qm = SimpleNamespace(enc=[lstm(64), lstm(32, 16)], pred=[lstm(8)],
                         joint_pred=SimpleNamespace(q=np.zeros((10, 8), np.int8)))
    enc, pred = (2 * 64 + 64) + (2 * 32 + 16), 2 * 8 + 8 + 4 * 10
    assert recurrent_state_bytes(qm) == enc + pred
    assert recurrent_state_bytes(qm, 12) == enc + 12 * pred

    def decode(beam, slots=8, context=None, symbols=5):
        return SimpleNamespace(beam=beam, context_committed_slots=slots, context_file=context,
                               max_symbols_per_frame=symbols)
    assert prediction_entries_held(decode(1)) == prediction_entries_held(decode(0)) == 1
    assert prediction_entries_held(decode(2)) == 2 + 5 * 2
    assert prediction_entries_held(decode(8, context="c.txt")) == 8 + 8 + 5 * 8


@pytest.mark.parametrize("beam,context", [(2, False), (4, True)])
def test_the_beam_searchs_cache_stays_within_its_sram_reserve(tmp_path, beam, context):
    """The bound the reserve uses is the search's own: the most prediction states the search
    held at once (SearchResult.pred_cache_max) on the trained model over shipped test
    utterances never exceeds it (a review: the reserve was (beam + slots) x (S + 1))."""
    from azsim.api import _simulate
    from azsim.config import load_model_config
    from azsim.decode.beam import prediction_entries_held
    sets = [f"model.decode.beam={beam}"]
    if context:
        phrases = tmp_path / "names.txt"
        phrases.write_text("@prefix call\nsteven\nsusan\nmark\n")
        sets.append(f'model.decode.context_file="{phrases}"')
    _, results = _simulate("small", "az-edge", None, None, sets, None, None, None, None,
                           "test", 12)
    held = max(r.search.pred_cache_max for r in results)
    bound = prediction_entries_held(load_model_config("small", sets).decode)
    assert 1 < held <= bound, (held, bound)


def test_frames_arrive_by_the_frontends_whole_samples():
    """10.03 ms at 16 kHz is 160 samples, 10 ms: frames arrive every 10 ms, not 10.03, so the
    last one's window closes before the audio ends. The nominal ms put its arrival 6.9 ms
    after the end of the audio and made an end-of-speech latency of 6.2 ms (audit)."""
    nominal = _run()
    odd = _run("model.frontend.hop_ms=10.03")
    for a, b in zip(nominal["utterances"], odd["utterances"]):
        assert b["frame_arrival_ms"] == pytest.approx(a["frame_arrival_ms"], abs=1e-9)
        assert b["frame_arrival_ms"][-1] <= b["seconds"] * 1e3
    assert odd["audio"]["frame_ms"] == pytest.approx(30.0)
    assert odd["latency"]["end_of_speech_ms"] == nominal["latency"]["end_of_speech_ms"] == 0.0


def test_a_frame_dropped_at_the_time_reduction_does_not_delay_the_result():
    """Three of the four shipped clips have an odd frame count: their last frame runs enc.0
    and is dropped at the time reduction. Its cycles count; the final result is the frame
    before it. At 1 MHz the end-of-speech latency was that frame's 5.8 ms alone (audit)."""
    slow = _run("hw.clock_mhz=1", model="small")
    odd = [u for u in slow["utterances"] if u["frames"] % 2]
    assert len(odd) == 3
    for u in odd:
        k = u["result_frame"]
        assert k == u["frames"] - 2
        assert u["frame_finish_ms"][k] < u["seconds"] * 1e3
        assert u["end_of_speech_ms"] == 0.0
        assert u["cycles"] == pytest.approx(sum(u["frame_compute_ms"]) * 1e3, rel=1e-9)
    # on one of them the dropped frame itself finishes after the audio has ended
    assert any(u["frame_finish_ms"][-1] > u["seconds"] * 1e3 for u in odd)


def test_an_sram_too_small_for_what_the_model_keeps_is_a_one_line_error(cli):
    """tiny keeps 1,088 bytes of activations and state: a 256-byte SRAM ran as if it held
    them, the weight budget clamped to 0 (DRAM audit)."""
    code, out, err = cli("run", "--model", "tiny", "--set", "hw.sram_bytes=256",
                         "--set", "hw.stream_tile_bytes=128")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "hw.sram_bytes = 256 cannot hold" in err and "give at least 1,344" in err


def test_streamed_embedding_lookups_each_wait_the_dram_latency(base):
    """With only the embedding streaming, every lookup's row is fetched when its token is
    known: the layer's DRAM stall is at least the latency per lookup (it was prefetched at
    the frame's start and hid it; DRAM audit). Tiny streams its table just below the size
    that holds the whole model."""
    latency_cycles = 10_000 * 1e-9 * 800e6     # 10 us at 800 MHz
    run = _run(f"hw.sram_bytes={_full_fit(base) - 80}", "hw.stream_tile_bytes=64",
               "hw.dram_latency_ns=10000")
    embed = next(r for r in run["layers"] if r["name"] == "pred.embed")
    assert not embed["resident"] and embed["invocations"] > 0
    assert all(r["resident"] for r in run["layers"] if r is not embed)
    assert embed["cycles_by_resource"]["dram"] >= embed["invocations"] * latency_cycles - 1e-6


def test_an_embedding_lookup_waits_for_a_slow_decoder():
    """A looked-up row passes the SRAM port and the decoder in one pipeline: with the decoder
    far slower than the port, each lookup takes its symbols' decode time and the excess over
    the port is the decoder's (the decoder's energy was charged, its time was not)."""
    fast = _run("hw.decoder_symbols_per_cycle=1000000")
    slow = _run("hw.decoder_symbols_per_cycle=0.5")
    e_fast, e_slow = (next(r for r in run["layers"] if r["kind"] == "embedding")
                      for run in (fast, slow))
    assert e_fast["bound"] != "decoder" and e_fast["cycles_by_resource"]["decoder"] == 0
    assert e_slow["decoded_symbols"] > 0
    assert e_slow["cycles"] == pytest.approx(e_slow["decoded_symbols"] / 0.5)
    assert e_slow["bound"] == "decoder"
    assert e_slow["cycles_by_resource"]["decoder"] == pytest.approx(
        e_slow["cycles"] - e_slow["cycles_by_resource"]["sram"])
    assert slow["latency"]["cycles"] > fast["latency"]["cycles"]


def test_a_streamed_layers_nonlinear_work_follows_its_last_tile():
    """The nonlinear unit needs the whole product: on a DRAM-bound streamed layer its work
    adds to the layer's cycles instead of hiding behind the tile fetches (it was spread over
    the tiles; DRAM audit). A slow nonlinear unit against a near-free one: the difference is
    the nonlinear cycles, whole."""
    base = ("hw.sram_bytes=40000", "hw.stream_tile_bytes=4096", "hw.dram_bandwidth_gb_per_s=0.2")
    slow = _run(*base, "hw.nonlinear_ops_per_cycle=1")
    fast = _run(*base, "hw.nonlinear_ops_per_cycle=100000")
    # the first streamed layer of a frame (a later one's fetches may overlap the previous
    # layer's nonlinear tail, which then shows in that layer's span)
    r = next(r for r in slow["layers"] if not r["resident"] and r["kind"] == "lstm")
    f = next(x for x in fast["layers"] if x["name"] == r["name"])
    nonlinear = r["cycles_by_resource"]["nonlinear"]
    assert nonlinear > 100_000
    assert r["cycles"] - f["cycles"] >= 0.99 * nonlinear, r["name"]


def test_the_joint_add_is_priced_as_an_add(base):
    """The joint output layer adds its two int32 projections (kernels/joint.py: no multiply,
    one scale): one int32_add each. Until 2026-12-07 each was an elementwise_op, int32_mult
    + int32_add, 32 times the table's add (an energy audit)."""
    joint = next(r for r in base["layers"] if r["name"] == "joint.out")
    n_out, n_in = joint["shape"]
    assert joint["elementwise_ops"] == joint["invocations"] * n_out
    assert joint["elementwise_adds"] == joint["invocations"] * n_in > 0
    assert all(r["elementwise_adds"] == 0 for r in base["layers"] if r is not joint)
    actions = base["energy"]["actions"]
    assert actions["elementwise_add"]["count"] == joint["elementwise_adds"]
    assert actions["elementwise_add"]["energy_pj"] == pytest.approx(0.1)      # int32_add
    assert actions["elementwise_op"]["energy_pj"] == pytest.approx(3.1 + 0.1)  # + int32_mult
