"""Per-layer weight precision, ``model.layer_bits``: the layers it names are quantized,
encoded, run and costed exactly as in a model of that width, the others as in a model of
``weight_bits``; bad specs are one-line errors naming the layers there are."""
import json

import numpy as np
import pytest

import azsim
from azsim.config import load_model_config
from azsim.compress import survey as sv
from azsim.compress.pipeline import is_prunable
from azsim.compress.ptq import quantize_model
from azsim.config.schema import (layer_bit_overrides, layer_bit_widths, matrix_bit_widths,
                                 matrix_layer, weight_layer_names)
from azsim.errors import ConfigError
from azsim.model.loading import calibrate, load_utterances, model_weights
from azsim.model.audio import shipped_audio_paths

MIXED = "enc.0:8+joint.out:8"
# The layers MIXED puts at 8 bits in tiny (its encoder layers have no projection).
AT_8 = {"enc.0.lstm", "joint.out"}


def _cfg(model="tiny", *overrides):
    return load_model_config(model, list(overrides))


def test_layer_names_follow_the_report_and_matrices_map_onto_them():
    small = _cfg("small")
    assert weight_layer_names(small) == (
        "enc.0.lstm", "enc.0.proj", "enc.1.lstm", "enc.1.proj", "enc.2.lstm", "enc.2.proj",
        "pred.0.lstm", "joint.enc", "joint.pred", "joint.out")
    assert [matrix_layer(n) for n in ("enc.1.w_x", "enc.1.w_r", "enc.1.w_p", "pred.0.w_r",
                                      "joint.w_enc", "joint.w_pred", "joint.w_out")] == [
        "enc.1.lstm", "enc.1.lstm", "enc.1.proj", "pred.0.lstm", "joint.enc", "joint.pred",
        "joint.out"]


def test_groups_and_later_pairs_win():
    cfg = _cfg("small", "model.weight_bits=4", 'model.layer_bits="enc:8+enc.2:4+joint.out:6"')
    widths = layer_bit_widths(cfg, cfg.weight_bits)
    assert widths == {"enc.0.lstm": 8, "enc.0.proj": 8, "enc.1.lstm": 8, "enc.1.proj": 8,
                      "enc.2.lstm": 4, "enc.2.proj": 4, "pred.0.lstm": 4, "joint.enc": 4,
                      "joint.pred": 4, "joint.out": 6}
    assert layer_bit_overrides(cfg) == {"enc.0.lstm": 8, "enc.0.proj": 8, "enc.1.lstm": 8,
                                        "enc.1.proj": 8, "joint.out": 6}
    # naming a layer at the model's own width is no override
    same = _cfg("small", "model.weight_bits=4", 'model.layer_bits="pred:4"')
    assert layer_bit_overrides(same) == {}
    assert matrix_bit_widths(cfg, 4, ["enc.2.w_p", "enc.1.w_r"]) == {"enc.2.w_p": 4,
                                                                    "enc.1.w_r": 8}
    # the cheap branch's own default width, with the same per-layer settings over it
    assert layer_bit_widths(cfg, 2)["pred.0.lstm"] == 2
    assert layer_bit_widths(cfg, 2)["enc.0.lstm"] == 8


@pytest.mark.parametrize("spec, words", [
    ("enc.7:8", ["no layer 'enc.7'", "enc.0.lstm", "joint.out", "a group of them (enc, enc.0"]),
    ("enc.0=8", ["'enc.0=8' is not LAYER:BITS"]),
    ("enc.0:8+", ["'' is not LAYER:BITS"]),
    ("joint:9", ["joint at 9 bits", "1 to 8 bits"]),
    ("joint:0", ["joint at 0 bits"]),
    ("pred.embed:4", ["pred.embed is a lookup table kept int8"]),
    ("en:8", ["no layer 'en'"]),            # a group is a whole dotted part, not a prefix
])
def test_bad_specs_are_config_errors_naming_the_layers(spec, words):
    with pytest.raises(ConfigError) as exc:
        _cfg("small", f'model.layer_bits="{spec}"')
    for w in ["model.layer_bits"] + words:
        assert w in str(exc.value), (w, str(exc.value))


def test_the_cli_refuses_a_bad_spec_in_one_line(cli):
    code, out, err = cli("run", "--model", "tiny", "--set", "model.layer_bits=enc.9:8")
    assert code == 2 and err.count("\n") == 1 and "no layer 'enc.9'" in err, err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def tiny_quantized():
    """tiny's weights quantized uniformly at 4 and 8 bits and mixed (MIXED over 4)."""
    utts = load_utterances([str(p) for p in shipped_audio_paths()][:1], _cfg())
    out = {}
    for name, overrides in (("4", ["model.weight_bits=4"]), ("8", ["model.weight_bits=8"]),
                            ("mixed", ["model.weight_bits=4", f'model.layer_bits="{MIXED}"'])):
        cfg = _cfg("tiny", *overrides)
        w = model_weights(cfg)
        out[name] = quantize_model(w, cfg, calibrate(w, cfg, utts), cfg.weight_bits)
    return out


def test_each_matrix_has_the_codes_stream_and_bits_of_its_layers_width(tiny_quantized):
    q4, q8, mixed = (tiny_quantized[k] for k in ("4", "8", "mixed"))
    seen = set()
    for m4, m8, mm in zip(q4.matrices(), q8.matrices(), mixed.matrices()):
        if mm.name == "pred.embed":          # a lookup table, int8 in every model
            assert mm.bits == 8
            continue
        layer = matrix_layer(mm.name)
        ref = m8 if layer in AT_8 else m4
        if layer in AT_8:
            seen.add(layer)
        assert mm.bits == ref.bits == (8 if layer in AT_8 else 4)
        assert np.array_equal(mm.q, ref.q), mm.name
        assert np.array_equal(mm.scale, ref.scale), mm.name
        assert mm.stream == ref.stream and mm.stream_bytes == ref.stream_bytes, mm.name
    assert seen == AT_8
    assert q4.weight_stream_bytes < mixed.weight_stream_bytes < q8.weight_stream_bytes


@pytest.fixture(scope="module")
def reports():
    """tiny on one shipped utterance at 4, 8 bits and mixed, on az-edge without zero
    skipping (so that a layer's cycles depend on its weights, not on its inputs' zeros)."""
    audio = [str(shipped_audio_paths()[0])]
    fixed = ["hw.zero_handling=none"]
    return {name: azsim.simulate(model="tiny", audio=audio, overrides=fixed + extra).to_dict()
            for name, extra in (("4", ["model.weight_bits=4"]), ("8", ["model.weight_bits=8"]),
                                ("mixed", ["model.weight_bits=4",
                                           f'model.layer_bits="{MIXED}"']))}


def test_a_layer_costs_what_it_costs_in_a_model_of_its_width(reports):
    """The precision-scalable array packs 2 MACs a lane at 4 bits, 1 at 8: each layer of the
    mixed model takes the cycles, MAC slots, weight bytes and MAC energy of that layer in
    the uniform model of its own width."""
    by = {k: {row["name"]: row for row in r["layers"]} for k, r in reports.items()}
    assert by["mixed"].keys() == by["4"].keys()
    for name, row in by["mixed"].items():
        if name == "pred.embed":
            continue
        ref = by["8" if name in AT_8 else "4"][name]
        for key in ("weight_bits", "mac_weight_bits", "weight_stream_bytes", "weight_side_bytes",
                    "cycles", "macs_issued", "sram_read_bytes"):
            assert row[key] == ref[key], (name, key, row[key], ref[key])
        assert row["energy_breakdown_uj"]["mac"] == pytest.approx(
            ref["energy_breakdown_uj"]["mac"], rel=1e-12)
    assert by["4"]["enc.0.lstm"]["cycles"] < by["8"]["enc.0.lstm"]["cycles"]
    assert reports["mixed"]["model"]["layer_bits"] == {"enc.0.lstm": 8, "joint.out": 8}
    assert reports["4"]["model"]["layer_bits"] == {}
    # code bits per weight over the weight layers (the int8 embedding left out)
    rows = [row for row in by["mixed"].values() if row["kind"] != "embedding"]
    mean = sum(row["weight_bits"] * row["weight_count"] for row in rows) / \
        sum(row["weight_count"] for row in rows)
    assert 4 < mean < 8
    assert reports["mixed"]["model"]["weight_bits_mean"] == pytest.approx(mean, rel=1e-12)
    assert reports["4"]["model"]["weight_bits_mean"] == 4.0
    assert reports["8"]["model"]["weight_bits_mean"] == 8.0


def test_run_and_eval_say_which_layers_have_another_width(cli, shipped_test_head):
    code, out, err = cli("run", "--model", "tiny", "--bits", "4", "--set",
                         f"model.layer_bits={MIXED}")
    assert code == 0, err
    assert "4-bit weights, 8-bit in enc.0.lstm+joint.out, " in out.splitlines()[0]
    assert " bits a weight, " in out.splitlines()[0]
    code, out, err = cli("eval", "--test", shipped_test_head(2), "--bits", "4", "--set",
                         "model.layer_bits=joint:6+joint.out:8", "--json", "-")
    assert code == 0, err
    record = json.loads(out[out.index("{"):])
    assert record["layer_bits"] == {"joint.enc": 6, "joint.pred": 6, "joint.out": 8}
    # code bits per weight, counted here from small's weight matrices (the embedding left out)
    w = {n: a for n, a in model_weights(_cfg("small")).items() if is_prunable(n)}
    widths = {"joint.enc": 6, "joint.pred": 6, "joint.out": 8}
    mean = sum(widths.get(matrix_layer(n), 4) * a.size for n, a in w.items()) / \
        sum(a.size for a in w.values())
    assert 4 < mean < 8
    assert record["weight_bits_mean"] == pytest.approx(mean, rel=1e-12)
    code, out, err = cli("eval", "--test", shipped_test_head(2), "--bits", "4", "--set",
                         "model.layer_bits=joint:6+joint.out:8")
    assert code == 0, err
    assert f", {mean:.2f} bits a weight, " in out.splitlines()[0]


def test_compress_encodes_each_matrix_at_its_layers_width(cli):
    code, out, err = cli("compress", "--model", "tiny", "--bits", "4", "--format", "dense",
                         "--set", f"model.layer_bits={MIXED}", "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    assert data["layer_bits"] == {"enc.0.lstm": 8, "joint.out": 8}
    # the same bytes as encoding each matrix alone at its own width
    cfg = _cfg("tiny")
    w = {n: a for n, a in model_weights(cfg).items() if is_prunable(n)}
    expected = 0
    for name, a in w.items():
        bits = 8 if matrix_layer(name) in AT_8 else 4
        codes = sv.model_codes({name: a}, bits, "uniform")
        expected += sv.survey(codes, bits, ("dense",))[0].bytes
    assert data["formats"][0]["bytes"] == expected
    uniform = sv.survey(sv.model_codes(w, 4, "uniform"), 4, ("dense",))[0].bytes
    assert expected > uniform
    # code bits per weight, as azsim run's record says it (the README promised it here and
    # only run had it until 2026-12-07)
    mean = sum((8 if matrix_layer(n) in AT_8 else 4) * a.size for n, a in w.items()) / \
        sum(a.size for a in w.values())
    assert data["weight_bits_mean"] == pytest.approx(mean, rel=1e-12)
    code, out, err = cli("compress", "--model", "tiny", "--bits", "4", "--format", "dense",
                         "--set", f"model.layer_bits={MIXED}")
    assert code == 0, err
    assert f", {mean:.2f} bits a weight (" in out.splitlines()[0]


def test_prune_refuses_layer_bits_it_would_ignore(cli, tmp_path):
    out_path = tmp_path / "p.npz"
    code, out, err = cli("prune", str(out_path), "--model", "tiny", "--sparsity", "0.5",
                         "--set", "model.layer_bits=joint:8")
    assert code == 2 and "model.layer_bits" in err and "azsim prune" in err, err
    assert not out_path.exists()


def test_a_pareto_plot_of_mixed_points_calls_its_colours_the_base_width(tmp_path):
    """A point '8, enc.0 at 4' drawn in the 8-bit colour was labelled '8-bit'."""
    from azsim.plot import plots
    from azsim.sweep import runner
    from azsim.sweep import spec as sp
    from azsim.sweep.store import ResultStore, open_for_reading
    db = str(tmp_path / "r.sqlite")
    spec = sp.build_spec(model="tiny", hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8", "model.layer_bits=enc:8,enc.0:4"])
    with ResultStore(db) as store:
        assert runner.run_sweep(sp.expand(spec), spec, store, jobs=1).failed == 0
    fig = plots.make_figure("pareto", open_for_reading(db))
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "8-bit base" in labels and "8-bit" not in labels, labels


def test_the_cheap_branch_takes_the_same_layer_widths_over_its_own_bits():
    """README: the cheap encoder branch (issue #7) takes model.layer_bits over its own
    model.branch.bits, as the full encoder takes it over model.weight_bits."""
    audio = [str(shipped_audio_paths()[0])]
    base = ["model.branch.enabled=true", "model.weight_bits=4", 'model.layer_bits="enc.0:8"']
    for branch_bits, rest in ((0, 4), (2, 2)):
        r = azsim.simulate(model="tiny", audio=audio,
                           overrides=base + [f"model.branch.bits={branch_bits}"]).to_dict()
        bits = {row["name"]: row["weight_bits"] for row in r["layers"]}
        assert bits["enc.0.lstm"] == bits["cheap.enc.0.lstm"] == 8
        assert bits["enc.1.lstm"] == 4 and bits["cheap.enc.1.lstm"] == rest
