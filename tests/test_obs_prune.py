"""SparseGPT's mask selection (``model.prune_saliency = "obs"``): the kernel against its NumPy
twin, its invariants, and its path through the pipeline and the CLI."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim import kernels as K
from azsim.compress.gptq import obs_block_counts, obs_prune_matrix, obs_prune_nm
from azsim.compress.pipeline import is_prunable, obs_prune_weights, prune_weights
from azsim.compress.prune import magnitude_mask, nm_mask
from azsim.config import load_model_config
from azsim.errors import ConfigError
from azsim.evaluate import calibration_utterances
from azsim.model.loading import calibration_stats, model_weights, pruned_weights
from reference import kernels_np as R


def _correlated_gram(rng, n_in, mix=0.8):
    base = rng.standard_normal((4 * n_in + 8, 1))
    x = mix * base + (1 - mix) * rng.standard_normal((4 * n_in + 8, n_in))
    return x.T @ x


def _output_error(w, p, gram):
    d = np.asarray(w, np.float64) - np.asarray(p, np.float64)
    return float(np.trace(d @ gram @ d.T))


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 20), block=st.integers(1, 8),
       share=st.floats(0.0, 1.0), seed=st.integers(0, 2**16), zeros=st.floats(0.0, 0.5),
       ties=st.booleans(), per_row=st.booleans())
def test_obs_prune_matches_its_twin(rows, cols, block, share, seed, zeros, ties, per_row):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols))
    if ties:                      # equal saliencies: the earlier weight goes first in both
        w = np.round(w)
    w[rng.random(w.shape) < zeros] = 0.0
    u = K.inverse_upper_cholesky(_correlated_gram(rng, cols) + 0.01 * np.eye(cols))
    if per_row:                   # N:M-like: that many of each row's weights per block
        counts = np.full(-(-cols // block), int(round(share * block)), np.int64)
    else:
        counts = obs_block_counts(int(round(share * w.size)), cols, block)
    got = K.obs_prune(w, u, counts, block, per_row)
    want = R.obs_prune(w, u, counts, block, per_row)
    np.testing.assert_array_equal(got == 0, want == 0)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    widths = np.minimum(block, cols - block * np.arange(len(counts)))
    pruned = np.minimum(counts, widths) * rows if per_row else counts
    assert np.count_nonzero(got == 0) >= pruned.sum()


@pytest.mark.parametrize("n_prune, n_in, block", [(0, 5, 2), (7, 5, 2), (100, 300, 128),
                                                  (1000, 1000, 128), (3, 1, 128), (0, 0, 128)])
def test_block_counts_add_up_and_follow_the_widths(n_prune, n_in, block):
    counts = obs_block_counts(n_prune, n_in, block)
    assert counts.sum() == n_prune and np.all(counts >= 0)
    assert len(counts) == -(-n_in // block)
    widths = np.minimum(block, n_in - block * np.arange(len(counts)))
    assert np.all(np.abs(counts - n_prune * widths / max(n_in, 1)) < 1)


def test_diagonal_inputs_give_magnitude_pruning_per_block_without_compensation():
    """With a Gram matrix c * I no weight can stand in for another: each block prunes its
    smallest |w| and the kept weights keep their values."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((6, 10))
    out = obs_prune_matrix(w, 4.0 * np.eye(10), 30, block=5)
    for b in (slice(0, 5), slice(5, 10)):
        expect = np.where(magnitude_mask(w[:, b], 0.5), w[:, b], 0.0)
        np.testing.assert_array_equal(out[:, b], expect.astype(np.float32))


def test_obs_prunes_the_share_and_beats_the_magnitude_mask_on_correlated_inputs():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((40, 64))
    gram = _correlated_gram(rng, 64)
    out = obs_prune_matrix(w, gram, 1600)
    assert np.count_nonzero(out == 0) == 1600
    magnitude = np.where(magnitude_mask(w, 0.625), w, 0.0)
    assert _output_error(w, out, gram) < 0.5 * _output_error(w, magnitude, gram)


def test_existing_zeros_go_first_and_silent_inputs_take_no_compensation():
    rng = np.random.default_rng(8)
    w = rng.standard_normal((5, 12))
    w[:, ::3] = 0.0                             # 20 zeros already
    gram = _correlated_gram(rng, 12)
    gram[7, :] = gram[:, 7] = 0.0               # input 7 never excited
    out = obs_prune_matrix(w, gram, 20)
    np.testing.assert_array_equal(out == 0, w == 0)
    np.testing.assert_array_equal(out[:, 7], w[:, 7].astype(np.float32))
    out = obs_prune_matrix(w, gram, 30)
    assert np.all(out[w == 0] == 0) and np.count_nonzero(out == 0) == 30


@pytest.mark.parametrize("n, m, cols", [(2, 4, 16), (2, 4, 18), (1, 3, 7), (3, 3, 5)])
def test_nm_keeps_n_in_every_group_and_matches_nm_mask_on_diagonal_inputs(n, m, cols):
    rng = np.random.default_rng(n * 100 + cols)
    w = rng.standard_normal((7, cols))
    out = obs_prune_nm(w, _correlated_gram(rng, cols), n, m)
    np.testing.assert_array_equal(out != 0, nm_mask(out, n, m) & (out != 0))
    expect_kept = nm_mask(w, n, m).sum(axis=1)
    np.testing.assert_array_equal((out != 0).sum(axis=1), expect_kept)
    diag = obs_prune_nm(w, 2.0 * np.eye(cols), n, m)    # no compensation: N:M by magnitude
    np.testing.assert_array_equal(diag, np.where(nm_mask(w, n, m), w, 0).astype(np.float32))


def test_a_matrix_already_that_sparse_keeps_its_own_zeros():
    """A model trained sparse, pruned again to its own sparsity: no nonzero is cut (the
    equal share per block would cut some where a block holds fewer zeros)."""
    rng = np.random.default_rng(21)
    w = rng.standard_normal((8, 300))
    w[:, :200] *= rng.random((8, 200)) < 0.1      # the zeros crowd the first two blocks
    zeros = int(np.count_nonzero(w == 0))
    gram = _correlated_gram(rng, 300)
    for n_prune in (zeros, zeros - 7):
        np.testing.assert_array_equal(obs_prune_matrix(w, gram, n_prune), w.astype(np.float32))
    more = obs_prune_matrix(w, gram, zeros + 50)
    assert np.count_nonzero(more == 0) >= zeros + 50


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="Gram"):
        obs_prune_matrix(np.ones((2, 3)), np.eye(4), 1)
    with pytest.raises(ValueError, match="cannot prune 7 of 6"):
        obs_prune_matrix(np.ones((2, 3)), np.eye(3), 7)
    with pytest.raises(ValueError, match="2-D"):
        obs_prune_matrix(np.ones(3), np.eye(3), 1)


def test_obs_does_not_depend_on_the_thread_count():
    import numba
    rng = np.random.default_rng(13)
    w = rng.standard_normal((300, 200))
    gram = _correlated_gram(rng, 200)
    both = obs_prune_matrix(w, gram, 30000)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = obs_prune_matrix(w, gram, 30000)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(both, one)


def test_obs_on_the_shipped_model_keeps_each_matrix_share_and_lowers_its_output_error():
    """On the trained model's calibration inputs, global 50 %: every matrix loses exactly the
    share the global magnitude threshold gives it, and its output error on those inputs is
    below the magnitude mask's."""
    cfg = load_model_config("small", ["model.sparsity=0.5", "model.prune=global",
                                      "model.prune_saliency=obs"])
    dense = model_weights(cfg)
    grams = calibration_stats(dense, cfg, calibration_utterances(cfg)[:8],
                              input_grams=True).grams
    obs = obs_prune_weights(dense, cfg, grams)
    magnitude = prune_weights(dense, cfg)
    for name in (k for k in dense if is_prunable(k)):
        assert np.count_nonzero(obs[name] == 0) == np.count_nonzero(magnitude[name] == 0), name
        assert _output_error(dense[name], obs[name], grams[name]) < \
            _output_error(dense[name], magnitude[name], grams[name]), name
    for name in (k for k in dense if not is_prunable(k)):
        assert obs[name] is dense[name]


def test_pruned_weights_hand_gptq_nothing_more_to_compensate_after_obs():
    cfg = load_model_config("small", ["model.sparsity=0.3", "model.prune_saliency=obs"])
    dense = model_weights(cfg)
    w, compensate = pruned_weights(dense, cfg, calibration_utterances(cfg)[:4])
    assert compensate is w and w is not dense
    cfg0 = load_model_config("small", ["model.prune_saliency=obs"])     # sparsity 0
    w, compensate = pruned_weights(dense, cfg0, [])
    assert w is dense and compensate is dense


def test_obs_refuses_per_pe_balance():
    with pytest.raises(ConfigError, match="prune_saliency = 'obs' with prune"):
        load_model_config("small", ["model.prune=balanced:8", "model.prune_saliency=obs"])


def test_obs_through_eval_and_compress(cli, shipped_test_head):
    head = shipped_test_head(3)
    code, out, err = cli("eval", "--test", head, "--sparsity", "0.5", "--prune", "global",
                         "--set", "model.prune_saliency=obs", "--json", "-")
    assert code in (0, None), err
    assert json.loads(out)["weight_sparsity"] == pytest.approx(0.5, abs=0.01)
    assert json.loads(out)["prune_saliency"] == "obs"
    code, out, err = cli("eval", "--test", head, "--sparsity", "0.5", "--prune", "global",
                         "--set", "model.prune_saliency=obs")
    assert "50 % of weights zero (global, obs) on" in out      # the printout says how
    code, out, err = cli("compress", "--bits", "4", "--codebook", "--format", "csr",
                         "--sparsity", "0.5", "--prune", "global", "--set",
                         "model.prune_saliency=obs", "--json", "-")
    assert code in (0, None), err
    assert json.loads(out)["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert json.loads(out)["prune_saliency"] == "obs"
    code, out, err = cli("eval", "--test", head, "--prune", "nm:2:4", "--set",
                         "model.prune_saliency=obs", "--json", "-")
    assert code in (0, None), err
    assert json.loads(out)["weight_sparsity"] == pytest.approx(0.5, abs=0.01)
    code, _, err = cli("eval", "--test", head, "--sparsity", "0.5", "--prune", "balanced:8",
                       "--set", "model.prune_saliency=obs")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "prune_saliency" in err


def test_prune_writes_the_float_model_eval_would_quantize(cli, tmp_path):
    """`azsim prune` writes the pruned float weights: loaded back they are exactly what
    `pruned_weights` gives, so `eval --weights OUT` runs the model `eval --sparsity` runs."""
    from azsim.model.weights import load_weights
    out = tmp_path / "p.npz"
    code, text, err = cli("prune", str(out), "--sparsity", "0.5", "--prune", "global", "--set",
                          "model.prune_saliency=obs")
    assert code in (0, None), err
    assert "sparsity 0.500 (global, obs)" in text and str(out) in text
    cfg = load_model_config("small", ["model.sparsity=0.5", "model.prune=global",
                                      "model.prune_saliency=obs"])
    want, _ = pruned_weights(model_weights(cfg), cfg, calibration_utterances(cfg))
    got = load_weights(out, cfg)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.npz"]    # no temporary left


@pytest.mark.parametrize("argv, words", [
    (("x.npz",), ("give --sparsity",)),
    (("x.txt", "--sparsity", "0.5"), ("end in .npz",)),
    (("x.npz", "--sparsity", "0.5", "--set", "hw.pe_count=4"), ("hw.pe_count",)),
    (("x.npz", "--sparsity", "0.5", "--set", "model.prune_saliency=obs", "--prune",
      "balanced:4"), ("prune_saliency",)),
    (("x.npz", "--weights", "missing.npz", "--sparsity", "0.5"), ("missing.npz",)),
])
def test_prune_bad_options_are_one_line_errors(cli, tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("prune", *argv)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and all(w in err for w in words), err
    assert not any(tmp_path.iterdir())


def test_prune_never_overwrites_its_input(cli, tmp_path):
    from azsim.model.weights import save_weights
    src = tmp_path / "w.npz"
    save_weights(src, model_weights(load_model_config("small", [])))
    before = src.read_bytes()
    code, _, err = cli("prune", str(src), "--weights", str(src), "--sparsity", "0.5")
    assert code == 2 and "is also input 1" in err
    assert src.read_bytes() == before
