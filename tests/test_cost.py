"""Invariants of the first cost model and the report (issue #2)."""
import numpy as np
import pytest

import azsim


@pytest.fixture(scope="module")
def base():
    return azsim.simulate().to_dict()


def _run(*overrides, **kw):
    return azsim.simulate(overrides=list(overrides), **kw).to_dict()


def test_report_has_the_documented_fields(base):
    for key in ("azsim_version", "model", "hardware", "audio", "latency", "traffic", "energy",
                "compute", "layers", "transcripts"):
        assert key in base
    assert {"name", "params", "weight_bits"} <= set(base["model"])
    assert {"cycles", "seconds", "rtf"} <= set(base["latency"])
    assert {"dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes"} <= set(base["traffic"])
    assert {"total_uj", "breakdown_uj", "table"} <= set(base["energy"])
    assert {"macs_dense", "macs_issued", "macs_skipped"} <= set(base["compute"])
    assert all({"name", "cycles", "dram_read_bytes", "energy_uj"} <= set(r) for r in base["layers"])
    assert base["audio"]["utterances"] == len(base["transcripts"]) == 4


def test_energy_is_the_sum_of_its_parts(base):
    e = base["energy"]
    assert e["total_uj"] == pytest.approx(sum(e["breakdown_uj"].values()), rel=1e-12)
    mac_uj = base["compute"]["macs_issued"] * e["per_action_pj"]["mac"] / 1e6
    assert e["breakdown_uj"]["mac"] == pytest.approx(mac_uj, rel=1e-12)
    assert sum(r["energy_uj"] for r in base["layers"]) + e["breakdown_uj"]["leakage"] == \
        pytest.approx(e["total_uj"], rel=1e-12)


def test_skipping_never_adds_cycles_and_gating_changes_energy_only(base):
    none = _run("hw.zero_handling=none")
    gate = _run("hw.zero_handling=gate")
    assert base["latency"]["cycles"] <= none["latency"]["cycles"]
    assert gate["latency"]["cycles"] == none["latency"]["cycles"]
    assert gate["energy"]["breakdown_uj"]["mac"] < none["energy"]["breakdown_uj"]["mac"]
    assert gate["compute"]["macs_skipped"] == 0 == none["compute"]["macs_skipped"]


def test_more_dram_bandwidth_never_adds_cycles():
    slow = _run("hw.dram_bandwidth_gb_per_s=0.5", "hw.sram_bytes=4096")
    fast = _run("hw.dram_bandwidth_gb_per_s=50", "hw.sram_bytes=4096")
    assert fast["latency"]["cycles"] <= slow["latency"]["cycles"]


def test_model_that_fits_reads_weights_from_dram_once(base):
    assert base["traffic"]["dram_read_bytes"] == base["model"]["weight_stream_bytes"]
    assert all(r["resident"] for r in base["layers"])


def test_model_that_does_not_fit_streams_weights_every_frame(base):
    small = _run("hw.sram_bytes=4096")
    assert small["traffic"]["dram_read_bytes"] > 10 * base["traffic"]["dram_read_bytes"]
    assert small["energy"]["total_uj"] > base["energy"]["total_uj"]


def test_lower_bits_shrink_weight_bytes(base):
    four = _run(bits=4)
    assert four["model"]["weight_stream_bytes"] < 0.55 * base["model"]["weight_stream_bytes"]


def test_streaming_timeline_is_causal(base):
    for u in base["utterances"]:
        assert len(u["frame_arrival_ms"]) == u["frames"]
        assert np.all(np.diff(u["frame_arrival_ms"]) > 0)
        assert u["frame_arrival_ms"][-1] <= u["seconds"] * 1000 + 1e-9
        assert u["end_of_speech_ms"] >= 0


def test_slow_clock_shows_real_time_limits():
    slow = _run("hw.clock_mhz=1", "hw.macs_per_cycle=1")
    assert slow["latency"]["rtf"] > 1
    assert slow["latency"]["end_of_speech_ms"] > 0


SPARSE = ("model.sparsity=0.9", "model.weight_bits=4", 'model.weight_format="rle"')


def test_decoder_location_decides_what_sram_holds():
    # The rle streams (~21 kB) fit in 40 kB of SRAM; the 4-bit matrices with zeros filled back
    # in (~79 kB) do not.
    eie = _run(*SPARSE, "hw.sram_bytes=40000", 'hw.decoder_location="sram_to_pe"')
    seed = _run(*SPARSE, "hw.sram_bytes=40000", 'hw.decoder_location="dram_to_sram"')
    assert all(r["resident"] for r in eie["layers"])
    assert not all(r["resident"] for r in seed["layers"])
    assert seed["traffic"]["dram_read_bytes"] > eie["traffic"]["dram_read_bytes"]


def test_resident_layers_decode_once_on_the_dram_to_sram_path():
    d = _run(*SPARSE, 'hw.decoder_location="dram_to_sram"')
    for row in d["layers"]:
        if row["resident"] and row["kind"] != "embedding":
            assert row["decoded_symbols"] == row["weight_symbols"]
    e = _run(*SPARSE, 'hw.decoder_location="sram_to_pe"')
    assert e["energy"]["breakdown_uj"]["decoder"] > d["energy"]["breakdown_uj"]["decoder"]


def test_a_slow_decoder_bounds_latency():
    fast = _run(*SPARSE, 'hw.decoder_location="sram_to_pe"', "hw.decoder_symbols_per_cycle=1000")
    slow = _run(*SPARSE, 'hw.decoder_location="sram_to_pe"', "hw.decoder_symbols_per_cycle=0.01")
    assert slow["latency"]["cycles"] > fast["latency"]["cycles"]
    assert any(r["bound"] == "decoder" for r in slow["layers"])
