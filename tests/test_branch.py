"""Branching encoder (issue #7, part 4): shared state, arbitrators, MAC accounting, errors."""
import dataclasses

import numpy as np
import pytest

from azsim import config as cfgmod
from azsim.api import prepare_model
from azsim.compress.ptq import QuantizedRNNT
from azsim.errors import AzsimWarning
from azsim.execute.branch import (BranchedRNNT, blank_margin_q, branch_shares, encoder_macs,
                                  full_only_macs)
from azsim.execute.events import FIELD
from azsim.execute.integer import run_utterance
from azsim.model.audio import shipped_audio_paths
from azsim.model.loading import load_utterances


def _prepare(*overrides, model="tiny"):
    cfg = cfgmod.load_model_config(model, ["model.branch.enabled=true", *overrides])
    utts = load_utterances([str(p) for p in shipped_audio_paths()], cfg)
    _, qm = prepare_model(cfg, None, utts)
    return qm, utts


def _full_only(qm) -> QuantizedRNNT:
    return QuantizedRNNT(**{f.name: getattr(qm, f.name)
                            for f in dataclasses.fields(QuantizedRNNT)})


def _layer_counts(result, name):
    return result.events.counts[result.events.index[name]]


@pytest.fixture(scope="module")
def same():
    """A cheap branch identical to the full one (no pruning, same bits)."""
    return _prepare("model.branch.sparsity=0.0", 'model.branch.arbitrator="always"')


@pytest.fixture(scope="module")
def pruned():
    return _prepare("model.branch.sparsity=0.6", 'model.branch.arbitrator="always"')


def test_identical_branch_is_bit_identical_to_no_branching(same):
    qm, utts = same
    for layer, cheap in zip(qm.enc, qm.cheap_enc):
        assert np.array_equal(layer.w_x.q, cheap.w_x.q) and layer.out_scale == cheap.out_scale
    base = _full_only(qm)
    # every step cheap, mixed choices (the energy rule at the median input), never cheap
    inputs = np.concatenate([u.features for u in utts])
    for arb, thr in (("always", 0), ("energy", None), ("never", 0)):
        q = dataclasses.replace(qm, arbitrator=arb)
        if thr is None:
            thr_code = int(np.median(inputs - inputs.mean()) / qm.in_scale)
            q = dataclasses.replace(q, energy_q=thr_code,
                                    arbiter=qm.arbiter or _energy_arbiter(qm))
        for u in utts:
            r, r0 = run_utterance(q, u.features), run_utterance(base, u.features)
            assert r.tokens == r0.tokens and r.token_frames == r0.token_frames
            assert np.array_equal(r.enc_out, r0.enc_out)
            for info in r0.events.layers:       # full + cheap invocations = the full run's
                twin = "cheap." + info.name
                both = _layer_counts(r, info.name) + (
                    _layer_counts(r, twin) if twin in r.events.index else 0)
                assert np.array_equal(both, _layer_counts(r0, info.name)), info.name


def _energy_arbiter(qm):
    from azsim.execute.branch import _arbiter_matrix
    return _arbiter_matrix("energy", qm.enc[0].w_x.q.shape[1])


def test_blank_arbitrator_mixes_branches_over_shared_state(same):
    qm, utts = same
    base = _full_only(qm)
    blank = _prepare("model.branch.sparsity=0.0", 'model.branch.arbitrator="blank"',
                     "model.branch.blank_margin_nats=0.0")[0]
    shares = []
    for u in utts:
        r, r0 = run_utterance(blank, u.features), run_utterance(base, u.features)
        assert r.tokens == r0.tokens and np.array_equal(r.enc_out, r0.enc_out)
        assert not r.branch.cheap[0]            # no previous step: the full branch
        shares.append(r.branch.cheap.mean())
        # the arbitrator is charged once per step after the first
        assert int(_layer_counts(r, "branch.arbiter")[:, FIELD["invocations"]].sum()) == \
            r.branch.cheap.size - 1
    assert 0 < np.mean(shares) < 1


def _cheap_steps(qm, utts):
    return [run_utterance(qm, u.features).branch.cheap for u in utts]


def test_blank_run_and_energy_rules_restrict_the_blank_rule(pruned):
    """blank_run_steps = k: cheap only after k confident steps; blank-energy: the blank rule
    and a quiet input. At the extremes of the energy threshold blank-energy is the blank
    rule exactly (every input quiet) or never cheap (none quiet)."""
    qm, utts = pruned
    blank = dataclasses.replace(qm, arbitrator="blank", threshold_q=0,
                                arbiter=_arbiter("blank", qm))
    base = _cheap_steps(blank, utts)
    assert any(c.any() for c in base)
    # a run of 2: steps 0 and 1 are never cheap (no margin yet, one margin), and on these
    # utterances fewer steps are cheap than with a run of 1
    run2 = dataclasses.replace(blank, run_steps=2)
    for c in _cheap_steps(run2, utts):
        assert not c[:2].any()
    assert sum(c.sum() for c in _cheap_steps(run2, utts)) < sum(c.sum() for c in base)
    be = dataclasses.replace(blank, arbitrator="blank-energy",
                             arbiter=_arbiter("blank-energy", qm))
    loud = dataclasses.replace(be, energy_q=127)        # every input counts as quiet
    assert all(np.array_equal(a, b) for a, b in zip(_cheap_steps(loud, utts), base))
    silent = dataclasses.replace(be, energy_q=-129)     # no input is quiet
    assert not any(c.any() for c in _cheap_steps(silent, utts))
    mid = dataclasses.replace(be, energy_q=0)
    r = run_utterance(mid, utts[0].features)
    arb = _layer_counts(r, "branch.arbiter")
    n_in, n_v = qm.enc[0].w_x.q.shape[1], qm.joint_out.q.shape[0]
    steps = r.branch.cheap.size - 1
    assert int(arb[:, FIELD["act_read_bytes"]].sum()) == steps * (n_in + 4 * n_v)
    assert int(arb[:, FIELD["macs_dense"]].sum()) == steps * (n_in + 2)


def _arbiter(kind, qm):
    from azsim.execute.branch import _arbiter_matrix
    return _arbiter_matrix(kind, qm.enc[0].w_x.q.shape[1])


def test_never_equals_no_branching(pruned):
    qm, utts = pruned
    never = dataclasses.replace(qm, arbitrator="never")
    base = _full_only(qm)
    for u in utts[:2]:
        r, r0 = run_utterance(never, u.features), run_utterance(base, u.features)
        assert r.tokens == r0.tokens and np.array_equal(r.enc_out, r0.enc_out)
        assert not r.branch.cheap.any()
        assert all(_layer_counts(r, layer.name + ".lstm").sum() == 0 for layer in qm.cheap_enc)


def test_always_cheap_equals_the_cheap_model(pruned):
    qm, utts = pruned
    assert any(not np.array_equal(a.w_x.q, b.w_x.q) for a, b in zip(qm.enc, qm.cheap_enc))
    cheap_only = dataclasses.replace(_full_only(qm), enc=qm.cheap_enc)
    for u in utts[:2]:
        r, rc = run_utterance(qm, u.features), run_utterance(cheap_only, u.features)
        assert r.branch.cheap.all()
        assert r.tokens == rc.tokens and np.array_equal(r.enc_out, rc.enc_out)


def test_cheap_branch_is_pruned_encoder_only_with_shared_scales(pruned):
    qm, _ = pruned
    assert isinstance(qm, BranchedRNNT)
    for full, cheap in zip(qm.enc, qm.cheap_enc):
        assert cheap.name == "cheap." + full.name
        assert 0.55 < cheap.w_x.sparsity < 0.65
        assert (full.in_scale, full.h_scale, full.out_scale) == \
            (cheap.in_scale, cheap.h_scale, cheap.out_scale)
    assert qm.joint_out.sparsity < 0.05              # prediction and joint stay full
    names = {m.name for m in qm.matrices()}
    assert "cheap.enc.0.w_x" in names                 # both branches are stored


def test_mac_accounting_adds_up():
    qm, utts = _prepare("model.branch.sparsity=0.6", 'model.branch.arbitrator="energy"',
                        "model.branch.energy_threshold=0.0")
    results = [run_utterance(qm, u.features) for u in utts]
    base = [run_utterance(_full_only(qm), u.features) for u in utts]
    s = branch_shares(results)
    assert s["cheap_steps"] + s["full_steps"] == s["steps"] == sum(r.enc_out.shape[0]
                                                                    for r in results)
    assert 0 < s["cheap_steps"] < s["steps"]
    # the exact counterfactual equals the measured run without branching
    exact, measured = full_only_macs(results), encoder_macs(base)
    assert exact["macs_dense"] == measured["macs_dense"]
    assert exact["macs_nonzero_weight"] == measured["macs_nonzero_weight"]
    ran = encoder_macs(results)
    arb = sum(int(_layer_counts(r, "branch.arbiter")[:, FIELD["macs_dense"]].sum())
              for r in results)
    assert arb == s["steps"] * qm.arbiter.size     # one arbitration per step, charged
    assert ran["macs_dense"] == exact["macs_dense"] + arb
    assert ran["macs_nonzero_weight"] < exact["macs_nonzero_weight"]


def test_blank_margin_is_integer_logit_difference():
    logits = np.array([500, 100, 480, -7], np.int32)
    assert blank_margin_q(logits) == 20
    assert blank_margin_q(np.array([0, 3, -1], np.int32)) == -3


def test_run_reports_branch_and_default_run_has_none(cli, tmp_path):
    import json
    out = tmp_path / "b.json"
    code, text, err = cli("run", "--branch", "--set", "model.branch.arbitrator=\"always\"",
                          "--json", str(out))
    assert code == 0, err
    b = json.loads(out.read_text())["branch"]
    assert b["cheap_share"] == 1.0 and b["full_steps"] == 0
    assert b["encoder_macs_full_only"]["macs_dense"] == \
        b["encoder_macs_events_no_branching"]["macs_dense"]
    assert "branch:" in text and "steps cheap" in text
    out0 = tmp_path / "a.json"
    code, text, _ = cli("run", "--json", str(out0))
    assert code == 0 and "branch" not in json.loads(out0.read_text()) and "branch:" not in text


@pytest.mark.parametrize("args, needle", [
    (("--set", "model.branch.arbitrator=\"coin\""), "model.branch.arbitrator"),
    (("--set", "model.branch.sparsity=1.5"), "model.branch.sparsity"),
    (("--set", "model.branch.bits=9"), "model.branch.bits"),
    (("--set", "model.branch.prune=\"random\""), "prune"),
    (("--branch", "--beam", "3"), "arbitrator"),
    (("--branch-weights", "/nonexistent/cheap.npz"), "/nonexistent/cheap.npz"),
])
def test_bad_branch_config_is_one_line_error(cli, args, needle):
    code, out, err = cli("run", *args)
    assert code == 2 and out == ""
    assert err.startswith("azsim: error:") and needle in err and err.count("\n") == 1


def test_eval_reports_wer_change_and_macs(cli, shipped_test_head):
    """azsim eval --branch on three shipped test utterances (a corpus-split .npz)."""
    import json

    path = shipped_test_head(3)
    code, out, err = cli("eval", "--model", "small", "--test", str(path), "--branch",
                         "--set", "model.branch.arbitrator=\"never\"", "--json", "-")
    assert code == 0, err
    b = json.loads(out)["branch"]
    assert b["steps"] == b["full_steps"] > 0 and b["wer_change"] == 0.0
    assert b["wer_change_ci95"] == [0.0, 0.0]       # the same hypotheses: no difference at all
    assert b["encoder_macs"] == b["encoder_macs_no_branching"]
    code, out, err = cli("eval", "--model", "small", "--test", str(path), "--branch",
                         "--set", "model.branch.arbitrator=\"always\"")
    assert code == 0, err
    assert "100.0 % of" in out and "steps cheap" in out and "WER" in out
    # with a silence tail the baseline decodes the same tailed audio: with "never" the two
    # runs are one (the baseline had decoded the set without the tail; accuracy audit)
    from azsim.model.audio import shipped_audio_paths
    wav_dir = str(shipped_audio_paths()[0].parent)
    code, out, err = cli("eval", "--model", "small", "--test", wav_dir, "--utterances", "1",
                         "--branch", "--set", "model.branch.arbitrator=\"never\"",
                         "--set", "model.decode.endpoint_tail_ms=1000", "--json", "-")
    assert code == 0, err
    b = json.loads(out)["branch"]
    assert b["encoder_macs"] == b["encoder_macs_no_branching"] and b["wer_change"] == 0.0


def test_global_branch_pruning_keeps_the_shipped_sparse_model_as_it_is():
    """``--branch-weights small-sparse80 --set model.branch.sparsity=0.8 --set
    model.branch.prune="global"`` (README): one threshold over the encoder matrices, which are
    more than 80 % zero in that globally pruned model, cuts none of its nonzeros; the default
    per-matrix method would re-cut every matrix to 80 %."""
    from azsim.compress.pipeline import prune_weights
    from azsim.model.loading import model_weights
    cfg = cfgmod.load_model_config("small", [])
    enc = {k: v for k, v in model_weights(cfg, "small-sparse80").items() if k.startswith("enc.")}
    kept = prune_weights(enc, dataclasses.replace(cfg, sparsity=0.8, prune="global"))
    for k, v in enc.items():
        assert np.array_equal(kept[k], v), k
    with pytest.warns(AzsimWarning, match=r"already 8\d\.\d % zero.* cut [\d,]+ of"):
        recut = prune_weights(enc, dataclasses.replace(cfg, sparsity=0.8, prune="magnitude"))
    assert sum(int(np.count_nonzero(recut[k] != enc[k])) for k in enc) > 0


def test_pruning_warns_only_when_it_cuts_a_sparse_models_own_nonzeros():
    """The warning names what was lost; pruning a dense model, or a sparse one with one global
    threshold that its own zeros already meet, is what the user asked for and stays silent."""
    import warnings

    from azsim.compress.pipeline import prune_weights
    from azsim.model.loading import model_weights
    cfg = cfgmod.load_model_config("small", [])
    dense = model_weights(cfg, "small")
    sparse = model_weights(cfg, "small-sparse80")
    with warnings.catch_warnings():
        warnings.simplefilter("error", AzsimWarning)
        prune_weights(dense, dataclasses.replace(cfg, sparsity=0.8))            # dense model
        prune_weights(sparse, dataclasses.replace(cfg, sparsity=0.8, prune="global"))
        prune_weights(sparse, dataclasses.replace(cfg, sparsity=0.5, prune="global"))
        prune_weights(sparse, dataclasses.replace(cfg, sparsity=0.0))
    for sparsity in (0.8, 0.5):     # 0.5 per matrix still cuts its densest (joint.w_out: 35 %)
        with pytest.warns(AzsimWarning, match=f"sparsity {sparsity} with prune 'magnitude'"):
            prune_weights(sparse, dataclasses.replace(cfg, sparsity=sparsity))


def test_the_cli_prints_the_recut_warning_on_one_line_and_carries_on(cli, shipped_test_head):
    path = shipped_test_head(1)
    code, out, err = cli("eval", "--weights", "small-sparse80", "--sparsity", "0.8",
                         "--test", str(path))
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("azsim: warning:")]
    assert len(lines) == 1 and "prune 'global' keeps" in lines[0]
    assert "WER" in out


def test_shipped_cheap_branch_is_an_encoder_only_file_the_branch_loads():
    """``small-branch60`` holds the trained 60 % cheap encoder alone (the prediction and joint
    networks are the full model's): as the branch it loads with its own zeros and the full
    model's activation scales."""
    from azsim.model.loading import branch_weights, shipped_weights_dir
    cfg = cfgmod.load_model_config("small", [])
    w = branch_weights(cfg, "small-branch60")
    assert w and all(k.startswith("enc.") for k in w)
    assert all(abs(np.mean(w[k] == 0) - 0.6) < 1e-3 for k in w if not k.endswith(".b"))
    with np.load(shipped_weights_dir() / "small.npz") as z:
        assert not np.array_equal(w["enc.0.w_x"], z["enc.0.w_x"])    # trained, not a mask
    cfg = cfgmod.load_model_config("small", ["model.branch.enabled=true",
                                             'model.branch.weights="small-branch60"',
                                             "model.branch.sparsity=0.6"])
    utts = load_utterances([str(p) for p in shipped_audio_paths()[:1]], cfg)
    _, qm = prepare_model(cfg, None, utts)
    for full, cheap in zip(qm.enc, qm.cheap_enc):
        assert abs(cheap.w_x.sparsity - 0.6) < 0.01 and full.w_x.sparsity < 0.05
        assert (full.in_scale, full.h_scale) == (cheap.in_scale, cheap.h_scale)


def test_an_encoder_only_file_as_the_model_is_a_one_line_error(cli):
    code, out, err = cli("run", "--weights", "small-branch60")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "small-branch60.npz: holds only the encoder's arrays" in err and "--branch-weights" in err


def test_small_branches_onto_its_trained_cheap_branch_by_default():
    """``--branch`` for ``small`` takes ``small-branch60`` at the point chosen for it (README:
    blank-energy, 4 nats, 0.75 std, bitmask); presets without a [branch] table keep the
    one-shot 30 % point under the blank rule."""
    b = cfgmod.load_model_config("small", []).branch
    assert (b.enabled, b.weights, b.sparsity, b.arbitrator, b.blank_margin_nats,
            b.energy_threshold, b.weight_format) == (False, "small-branch60", 0.6,
                                                     "blank-energy", 4.0, 0.75, "bitmask")
    t = cfgmod.load_model_config("tiny", []).branch
    assert (t.weights, t.sparsity, t.arbitrator, t.blank_margin_nats) == ("", 0.3, "blank", 2.0)


def test_the_models_sparsity_leaves_the_cheap_branch_out():
    """A record's model.sparsity is the model's: the cheap branch's pruned copy of the
    encoder counted too, so --branch made small read 28 % zero against 1 % (a CLI audit,
    2026-12-06); the branch section states the cheap branch's own nonzeros."""
    import azsim
    plain = azsim.simulate(model="tiny").to_dict()
    branched = azsim.simulate(model="tiny", overrides=["model.branch.enabled=true"]).to_dict()
    assert branched["model"]["sparsity"] == plain["model"]["sparsity"] < 0.01
    cheap = branched["branch"]["cheap"]
    assert 1 - cheap["weight_nnz"] / cheap["weight_count"] > 0.25   # its default 0.3 pruning


def test_records_give_the_cheap_branch_the_widths_it_ran_at(cli, shipped_test_head):
    """model.layer_bits applies to the cheap branch over model.branch.bits (README, "A
    bit-width per layer"): the run report and the eval record said model.branch.bits, an
    8-bit cheap branch whose layers all ran at 4 bits."""
    import json
    code, out, err = cli("eval", "--model", "tiny", "--test", shipped_test_head(3), "--branch",
                         "--set", "model.branch.bits=8", "--set", 'model.layer_bits="enc:4"',
                         "--json", "-")
    assert code == 0, err
    assert json.loads(out)["branch"]["cheap_bits"] == 4
    code, out, err = cli("run", "--model", "tiny", "--branch", "--set", "model.branch.bits=8",
                         "--set", 'model.layer_bits="enc:4"')
    assert code == 0, err
    assert "cheap branch 4-bit" in out
    from azsim.execute.branch import bits_text, cheap_bits
    mixed, _ = _prepare("model.branch.bits=8", 'model.layer_bits="enc.0:4"')
    assert 4 < cheap_bits(mixed) < 8 and "bits a weight" in bits_text(cheap_bits(mixed))
    assert cheap_bits(_prepare("model.branch.bits=6")[0]) == 6
