"""Per-row parameters stored beside the weights (azsim.compress.sidecar): their layout and
size, and what the cost model charges for them (docs/plans/side-parameters.md)."""
import numpy as np
import pytest

import azsim
from azsim import config as cfgmod
from azsim.api import prepare_model
from azsim.compress.sidecar import (ACTIVATION_TABLE_BYTES, SideSection, layer_side_sections,
                                    pack_side, section_bytes, side_bytes_from_weights,
                                    unpack_side)
from azsim.execute import integer
from azsim.execute.integer import layer_infos
from azsim.model.audio import shipped_audio_paths
from azsim.model.loading import load_utterances, model_weights

# bytes a row: int32 bias, int32 multiplier + uint8 shift per requantization; an LSTM layer
# also holds its hidden output's one (multiplier, shift) pair (5 bytes)
PER_ROW = {"lstm": 4 + 5 + 5, "projection": 5, "joint.enc": 4 + 5, "joint.pred": 5,
           "joint.out": 4 + 5}


def _qm(model="tiny", *overrides):
    cfg = cfgmod.load_model_config(model, list(overrides))
    utts = load_utterances([str(p) for p in shipped_audio_paths()], cfg)
    return cfg, prepare_model(cfg, None, utts)[1]


@pytest.fixture(scope="module")
def tiny():
    return _qm()


def _expected(info) -> int:
    kind = info.name if info.name.startswith("joint.") else info.kind
    if kind not in PER_ROW:
        return 0
    return PER_ROW[kind] * info.n_out + (5 if kind == "lstm" else 0)


def test_every_layer_carries_its_packed_section(tiny):
    """tiny: 3 LSTM layers of 256 gate rows, a 64-unit joint, 29 outputs:
    3 x (14 x 256 + 5) + 9 x 64 + 5 x 64 + 9 x 29 = 11,924 bytes."""
    cfg, qm = tiny
    infos = layer_infos(qm)
    for info in infos:
        assert info.weight_side_bytes == _expected(info), info.name
    assert {i.name: i.weight_side_bytes for i in infos}["pred.embed"] == 0
    assert sum(i.weight_side_bytes for i in infos) == 11_924
    # compress counts the same from the float weights' shapes
    assert side_bytes_from_weights(model_weights(cfg)) == 11_924


def test_small_side_bytes_from_shapes():
    """The shipped small model: 57,753 bytes beside 1.34 MB of 8-bit weights (4.3 %)."""
    assert side_bytes_from_weights(model_weights(cfgmod.load_model_config("small"))) == 57_753


def test_sections_round_trip_and_are_the_arrays_the_kernels_use(tiny):
    _, qm = tiny
    for name, (kind, s) in layer_side_sections(qm).items():
        data = pack_side(s)
        assert len(data) == section_bytes(kind, s.rows), name
        back = unpack_side(data, kind, s.rows)
        if s.bias is None:
            assert back.bias is None
        else:
            np.testing.assert_array_equal(back.bias, s.bias)
        for (m0, s0), (m1, s1) in zip(s.pairs, back.pairs, strict=True):
            np.testing.assert_array_equal(m0, m1)
            np.testing.assert_array_equal(s0, s1)
        assert back.scalars == tuple((int(m), int(k)) for m, k in s.scalars)


def _kernel_arrays(qm) -> dict:
    """Layer name -> (bias, [(mult, shift), ...], [scalar pairs]) as the integer executor
    passes them to the kernels (azsim/execute/integer.py), written out independently of
    sidecar's own wiring."""
    out = {}
    for layer in qm.enc + qm.pred:
        out[f"{layer.name}.lstm"] = (layer.bias_q, [(layer.mult_x, layer.shift_x),
                                                    (layer.mult_r, layer.shift_r)],
                                     [(layer.h_mult, layer.h_shift)])
        if layer.has_projection:
            out[f"{layer.name}.proj"] = (None, [(layer.p_mult, layer.p_shift)], [])
    out["joint.enc"] = (qm.joint_b, [(qm.je_mult, qm.je_shift)], [])
    out["joint.pred"] = (None, [(qm.jp_mult, qm.jp_shift)], [])
    out["joint.out"] = (qm.out_b, [(qm.out_mult, qm.out_shift)], [])
    return out


@pytest.mark.parametrize("overrides", [(), ("model.encoder.projection=32",)])
def test_each_unpacked_section_holds_the_arrays_the_kernels_are_called_with(overrides):
    """Field by field: a section wired to a neighbour's arrays (joint.pred given joint.enc's
    multipliers, an LSTM's bias slot given its mult_x) round-trips as well as the right one,
    so the round trip alone cannot catch it (a review, 2026-12-07)."""
    _, qm = _qm("tiny", *overrides)
    want = _kernel_arrays(qm)
    sections = layer_side_sections(qm)
    assert sections.keys() == want.keys()
    assert any(name.endswith(".proj") for name in want) == bool(overrides)
    for name, (kind, s) in sections.items():
        back = unpack_side(pack_side(s), kind, s.rows)
        bias, pairs, scalars = want[name]
        if bias is None:
            assert back.bias is None, name
        else:
            np.testing.assert_array_equal(back.bias, bias, err_msg=name)
        assert len(back.pairs) == len(pairs), name
        for (m, k), (m_want, k_want) in zip(back.pairs, pairs):
            np.testing.assert_array_equal(m, m_want, err_msg=name)
            np.testing.assert_array_equal(k, k_want, err_msg=name)
        assert back.scalars == tuple((int(m), int(k)) for m, k in scalars), name


@pytest.mark.parametrize("section, what", [
    (SideSection(2, None, ((np.array([2 ** 31, 1]), np.array([3, 3])),)), r"mult0\[0\] = 2147483648"),
    (SideSection(2, None, ((np.array([1, 1]), np.array([3, 256])),)), r"shift0\[1\] = 256"),
    (SideSection(2, None, ((np.array([1, 1]), np.array([63, 3])),)), r"shift0\[0\] = 63"),
    (SideSection(2, None, ((np.array([1, 1]), np.array([3, 0])),)), r"shift0\[1\] = 0 lies"),
    (SideSection(2, None, ((np.array([-1, 1]), np.array([3, 3])),)), r"mult0\[0\] = -1"),
    (SideSection(2, np.array([0, 2 ** 31]), ()), r"bias\[1\] = 2147483648"),
    (SideSection(3, np.array([0, 1]), ()), "bias has 2 rows, the layer 3"),
    (SideSection(1, None, (), ((1, -2),)), r"scalar shift0\[0\] = -2"),
])
def test_a_value_its_field_cannot_hold_is_refused(section, what):
    with pytest.raises(ValueError, match=what):
        pack_side(section)


def test_unpack_checks_the_length():
    with pytest.raises(ValueError, match="9 bytes, 10 expected"):
        unpack_side(bytes(9), "projection", 2)


def test_the_activation_tables_are_two_513_entry_int16_tables():
    assert ACTIVATION_TABLE_BYTES == 2 * 513 * 2


def test_a_branching_encoders_cheap_layers_hold_their_own():
    _, qm = _qm("tiny", "model.branch.enabled=true")
    infos = {i.name: i for i in layer_infos(qm)}
    cheap = [i for i in infos.values() if i.name.startswith("cheap.")]
    assert cheap
    for info in cheap:
        assert info.weight_side_bytes == _expected(info) > 0, info.name
    assert infos["branch.arbiter"].weight_side_bytes == 0


def _pair(monkeypatch, *overrides):
    """A run, and the same run with every layer's section emptied."""
    with_side = azsim.simulate(model="tiny", overrides=list(overrides)).to_dict()
    with monkeypatch.context() as m:
        m.setattr(integer, "side_section_bytes", lambda qm: {})
        without = azsim.simulate(model="tiny", overrides=list(overrides)).to_dict()
    return with_side, without


def test_a_resident_layer_loads_and_reads_its_section(monkeypatch):
    """Resident: the section is read from DRAM and written into SRAM once, at load, and read
    from SRAM on every invocation; nothing else moves."""
    a, b = _pair(monkeypatch)
    assert all(r["resident"] for r in a["layers"])
    for ra, rb in zip(a["layers"], b["layers"], strict=True):
        side, inv = ra["weight_side_bytes"], ra["invocations"]
        assert rb["weight_side_bytes"] == 0
        assert ra["dram_read_bytes"] - rb["dram_read_bytes"] == side, ra["name"]
        assert ra["sram_write_bytes"] - rb["sram_write_bytes"] == side, ra["name"]
        assert ra["sram_read_bytes"] - rb["sram_read_bytes"] == inv * side, ra["name"]
        assert ra["cycles"] >= rb["cycles"], ra["name"]
        assert ra["macs_issued"] == rb["macs_issued"]
    assert a["model"]["weight_side_bytes"] == 11_924
    assert a["traffic"]["sram_weight_side_bytes"] == 11_924
    assert a["traffic"]["sram_weight_bytes"] == b["traffic"]["sram_weight_bytes"]
    assert a["traffic"]["weight_preload_bytes"] - b["traffic"]["weight_preload_bytes"] == 11_924
    assert a["energy"]["total_uj"] > b["energy"]["total_uj"]


def test_a_streamed_layer_fetches_stages_and_reads_its_section_every_pass(monkeypatch):
    a, b = _pair(monkeypatch, "hw.sram_bytes=4096", "hw.stream_tile_bytes=1024")
    streamed = [(ra, rb) for ra, rb in zip(a["layers"], b["layers"], strict=True)
                if not ra["resident"] and ra["kind"] != "embedding"]
    assert streamed
    for ra, rb in streamed:
        assert not rb["resident"], ra["name"]   # the same plan: the differences are the section's
        moved = ra["invocations"] * ra["weight_side_bytes"]
        assert moved > 0
        assert ra["dram_read_bytes"] - rb["dram_read_bytes"] == moved, ra["name"]
        assert ra["sram_write_bytes"] - rb["sram_write_bytes"] == moved, ra["name"]
        assert ra["sram_read_bytes"] - rb["sram_read_bytes"] == moved, ra["name"]
    resident_side = sum(r["weight_side_bytes"] for r in a["layers"] if r["resident"])
    assert a["traffic"]["sram_weight_side_bytes"] == resident_side


def test_compress_reports_the_sections_run_charges(cli):
    import json
    code, out, _ = cli("compress", "--model", "tiny", "--bits", "4", "--sparsity", "0.8",
                       "--format", "rle", "--json", "-")
    assert code == 0 and json.loads(out)["weight_side_bytes"] == 11_924
    code, text, _ = cli("compress", "--model", "tiny", "--format", "rle")
    assert code == 0 and "+ 11,924 bytes of per-row biases" in text
    code, out, _ = cli("run", "--model", "tiny", "--json", "-")
    assert code == 0 and json.loads(out)["model"]["weight_side_bytes"] == 11_924
    code, text, _ = cli("run", "--model", "tiny")
    assert code == 0 and "encoded + 11.92 kB per-row parameters)" in text.splitlines()[0]


@pytest.mark.parametrize("model, overrides", [
    ("tiny", ("hw.sram_bytes=100000", "hw.stream_tile_bytes=1024")),
    ("tiny", ("hw.sram_bytes=4096", "hw.stream_tile_bytes=1024")),
    ("small", ("hw.sram_bytes=400000", "hw.stream_tile_bytes=16384")),
])
def test_the_residency_plan_counts_the_sections_it_will_be_charged(monkeypatch, model, overrides):
    """The planner chooses what stays on chip by the DRAM bytes each choice would read; those
    must be the bytes the cost model then charges, sections included. With the streamed
    passes counted without their sections (api's estimate), small at 400,000 bytes read
    277,409,068 DRAM bytes where 277,079,596 were possible (a review, 2026-12-07)."""
    import azsim.api as api
    plans = []
    real = api.plan_residency

    def spy(*args, **kw):
        plans.append(real(*args, **kw))
        return plans[-1]
    monkeypatch.setattr(api, "plan_residency", spy)
    d = azsim.simulate(model=model, overrides=list(overrides)).to_dict()
    assert not all(r["resident"] for r in d["layers"])
    assert len(plans) == 1
    assert plans[0].planned_dram_read_bytes == d["traffic"]["dram_read_bytes"]
