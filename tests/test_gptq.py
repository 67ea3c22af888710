"""GPTQ rounding (model.quantizer = "gptq"): the kernels against their NumPy twins, the
quantizer's invariants, and its effect on the shipped model's real calibration inputs."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim import kernels as K
from azsim.kernels.jit import PARALLEL_MIN_MACS
from azsim.compress.gptq import gptq_quantize
from azsim.compress.ptq import quantize_model
from azsim.compress.quantize import per_channel_scale, quantize_per_channel, weight_qmax
from azsim.config import load_model_config
from azsim.evaluate import calibration_utterances
from azsim.model.loading import calibration_stats, model_weights
from reference import kernels_np as R


def _correlated(rng, n_rows, n_in, mix=0.9):
    """Inputs whose features are strongly correlated (as neighbouring mel bands are)."""
    base = rng.standard_normal((n_rows, 1))
    return (mix * base + (1 - mix) * rng.standard_normal((n_rows, n_in))).astype(np.float32)


def _output_error(w, q, scale, gram):
    d = np.asarray(w, np.float64) - q * scale[:, None]
    return float(np.trace(d @ gram @ d.T))


def test_gram_accumulate_matches_its_twin():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 11)).astype(np.float32)
    g = np.full((11, 11), 0.5)
    expect = R.gram_accumulate(g.copy(), x)
    K.gram_accumulate(g, x)
    np.testing.assert_allclose(g, expect, rtol=1e-12, atol=1e-12)
    assert np.array_equal(g, g.T)


def test_gram_accumulate_in_parallel_matches_its_twin_and_one_thread():
    """Above PARALLEL_MIN_MACS the rows of the Gram matrix run on several threads: the same
    bits as on one, within float rounding of the twin's BLAS product, exactly symmetric."""
    import numba
    rng = np.random.default_rng(4)
    x = _correlated(rng, 120, 151, 0.5)
    assert 120 * 151 * 152 // 2 >= PARALLEL_MIN_MACS
    g_all = np.full((151, 151), 0.25)
    K.gram_accumulate(g_all, x)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        g_one = np.full((151, 151), 0.25)
        K.gram_accumulate(g_one, x)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(g_all, g_one) and np.array_equal(g_all, g_all.T)
    np.testing.assert_allclose(g_all, R.gram_accumulate(np.full((151, 151), 0.25), x),
                               rtol=1e-12, atol=1e-9)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 24), seed=st.integers(0, 2**16))
def test_inverse_upper_cholesky_matches_lapack(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n + 3, n))
    h = a.T @ a + 0.1 * np.eye(n)
    u = K.inverse_upper_cholesky(h)
    assert np.array_equal(u, np.triu(u))
    np.testing.assert_allclose(u, R.inverse_upper_cholesky(h), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(u.T @ u @ h, np.eye(n), atol=1e-8)


@pytest.mark.parametrize("n", [185, 301])
def test_inverse_upper_cholesky_in_parallel_matches_lapack_and_one_thread(n):
    """From PARALLEL_MIN_MACS on the factorizations run by columns and rows in parallel:
    LAPACK's factor within rounding, and the same bits on one thread."""
    import numba
    assert n ** 3 // 6 >= PARALLEL_MIN_MACS
    rng = np.random.default_rng(n)
    a = rng.standard_normal((n + 40, n))
    h = a.T @ a + 0.1 * np.eye(n)
    u = K.inverse_upper_cholesky(h)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        u_one = K.inverse_upper_cholesky(h)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(u, u_one) and np.array_equal(u, np.triu(u))
    np.testing.assert_allclose(u, R.inverse_upper_cholesky(h), rtol=1e-7, atol=1e-9)
    bad = h.copy()
    bad[n // 2, n // 2] = -1.0
    with pytest.raises(ValueError, match="positive definite"):
        K.inverse_upper_cholesky(bad)


def test_cholesky_rejects_a_matrix_that_is_not_positive_definite():
    with pytest.raises(ValueError, match="positive definite"):
        K.inverse_upper_cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 12), bits=st.integers(1, 8),
       seed=st.integers(0, 2**16), pruned=st.floats(0.0, 0.9))
def test_gptq_round_matches_its_twin(rows, cols, bits, seed, pruned):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols))
    w[rng.random(w.shape) < pruned] = 0.0
    x = _correlated(rng, 3 * cols + 2, cols, 0.6)
    h = x.astype(np.float64).T @ x + 0.01 * np.eye(cols)
    u = K.inverse_upper_cholesky(h)
    scale = per_channel_scale(w, bits)
    qmax, binary, keep = float(weight_qmax(bits)), bits == 1, w != 0
    got = K.gptq_round(w, u, scale, qmax, binary, keep)
    want = R.gptq_round(w, u, scale, qmax, binary, keep)
    # The kernel and the twin sum in different orders; a code may differ only where the
    # value sat on a rounding midpoint to within float noise (none in these draws).
    assert np.array_equal(got, want)
    assert np.all(np.abs(got.astype(int)) <= qmax)
    assert np.all(got[~keep] == 0)
    if binary:
        assert np.all(np.abs(got[keep]) == 1)


def test_gptq_round_breaks_exact_midpoints_to_even_as_its_twin_does():
    """Values exactly halfway between two codes (the random draws above never hit one): with
    a diagonal Gram matrix nothing is compensated, so each code is the midpoint rounded half
    to even, in the kernel and the twin; beyond the grid they clip to +-qmax."""
    scale = np.array([0.25, 1.0])
    halves = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 6.5, 7.5, -7.5, 9.5])
    w = np.outer(scale, halves)
    upper = K.inverse_upper_cholesky(np.eye(halves.size))
    keep = np.ones(w.shape, bool)
    got = K.gptq_round(w, upper, scale, 7.0, False, keep)
    want = R.gptq_round(w, upper, scale, 7.0, False, keep)
    expected = np.array([0, 2, 2, 0, -2, -2, 6, 7, -7, 7])
    assert np.array_equal(got, want) and np.array_equal(got, np.tile(expected, (2, 1)))


def test_uncorrelated_inputs_give_round_to_nearest():
    """With a diagonal Gram matrix no column's error can be compensated on another: GPTQ
    must then choose exactly the round-to-nearest codes."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((16, 10))
    gram = np.diag(rng.uniform(0.5, 3.0, 10))
    for bits in (2, 4, 8):
        q, scale = gptq_quantize(w, gram, bits)
        q_rtn, scale_rtn = quantize_per_channel(w, bits)
        assert np.array_equal(q, q_rtn) and np.array_equal(scale, scale_rtn)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_correlated_inputs_lower_the_output_error_on_the_same_grid(bits):
    rng = np.random.default_rng(bits)
    w = rng.standard_normal((64, 32))
    x = _correlated(rng, 500, 32)
    gram = x.astype(np.float64).T @ x
    q, scale = gptq_quantize(w, gram, bits)
    q_rtn, scale_rtn = quantize_per_channel(w, bits)
    assert np.array_equal(scale, scale_rtn)          # the grid is the uniform quantizer's
    assert np.all(np.abs(q.astype(int)) <= weight_qmax(bits))
    assert _output_error(w, q, scale, gram) < 0.7 * _output_error(w, q_rtn, scale, gram)


def test_pruned_weights_stay_zero_and_silent_inputs_round_to_nearest():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((20, 12))
    w[rng.random(w.shape) < 0.5] = 0.0
    x = _correlated(rng, 200, 12)
    x[:, 4] = 0.0                                   # an input calibration never excites
    gram = x.astype(np.float64).T @ x
    q, scale = gptq_quantize(w, gram, 4)
    assert np.all(q[w == 0] == 0)
    q_rtn, _ = quantize_per_channel(w, 4)
    assert np.array_equal(q[:, 4], q_rtn[:, 4])
    assert _output_error(w, q, scale, gram) < _output_error(w, q_rtn, scale, gram)


def test_pruning_mask_is_kept_and_the_pruned_weights_are_compensated():
    """Given the unpruned weights and the mask, the pruned weights get code 0 and their value
    is compensated: the output error against the *unpruned* matrix is lower than GPTQ of the
    already pruned matrix, whose zeros carry no value to compensate."""
    rng = np.random.default_rng(7)
    w = rng.standard_normal((48, 24))
    keep = np.abs(w) > np.median(np.abs(w))
    x = _correlated(rng, 400, 24)
    gram = x.astype(np.float64).T @ x
    q_c, scale_c = gptq_quantize(w, gram, 8, keep=keep)
    q_p, scale_p = gptq_quantize(np.where(keep, w, 0.0), gram, 8)
    assert np.array_equal(scale_c, scale_p)         # the kept weights' grid either way
    assert np.all(q_c[~keep] == 0)
    assert _output_error(w, q_c, scale_c, gram) < 0.7 * _output_error(w, q_p, scale_p, gram)
    with pytest.raises(ValueError, match="keep mask"):
        gptq_quantize(w, gram, 8, keep=keep[:, :3])


def test_one_shot_pruning_under_gptq_keeps_the_pruning_mask():
    """``--sparsity`` with ``--gptq``: the integer model's zeros are exactly the pruned
    weights (plus kept weights that round to 0), as with the uniform quantizer."""
    from azsim.api import prepare_model
    cfg = load_model_config("small", ["model.quantizer=gptq", "model.sparsity=0.5",
                                      'model.prune="global"'])
    w, qm = prepare_model(cfg, None, calibration_utterances(cfg)[:4])
    for m in qm.matrices():
        if m.name == "pred.embed":
            continue
        pruned = w[m.name] == 0
        assert np.all(m.q[pruned] == 0), m.name
        assert np.mean(m.q[~pruned] == 0) < 0.02, m.name


def test_bad_gram_shape_is_a_clear_error():
    with pytest.raises(ValueError, match="needs a 4 x 4 input Gram"):
        gptq_quantize(np.ones((3, 4)), np.eye(3), 4)


def test_quantize_model_with_gptq_needs_the_grams():
    cfg = load_model_config("small", ["model.quantizer=gptq"])
    w = model_weights(cfg)
    stats = calibration_stats(w, cfg, calibration_utterances(cfg)[:2])
    with pytest.raises(ValueError, match="Gram"):
        quantize_model(w, cfg, stats.max_abs, 4)


def test_gptq_lowers_every_matrix_output_error_on_the_shipped_model():
    """On the trained model's real calibration inputs, at 4 bits, every matrix's output error
    (what GPTQ minimizes) falls, and the integer model runs on the same grid."""
    cfg = load_model_config("small", ["model.quantizer=gptq", "model.weight_bits=4"])
    w = model_weights(cfg)
    stats = calibration_stats(w, cfg, calibration_utterances(cfg)[:8], input_grams=True)
    qm = quantize_model(w, cfg, stats.max_abs, 4, stats.grams)
    by_name = {m.name: m for m in qm.matrices()}
    assert set(stats.grams) == {m.name for m in qm.matrices()} - {"pred.embed"}
    for name, gram in stats.grams.items():
        m = by_name[name]
        q_rtn, scale = quantize_per_channel(w[name], 4)
        assert np.array_equal(m.scale, scale), name
        assert _output_error(w[name], m.q, scale, gram) < \
            0.8 * _output_error(w[name], q_rtn, scale, gram), name


def test_gptq_flag_reaches_eval_and_compress(cli, shipped_test_head, tmp_path):
    """``--gptq`` is ``model.quantizer = gptq`` in eval (recorded in its JSON) and in compress
    (calibrated on the shipped utterances), on the same grid: the streams' sizes match the
    uniform quantizer's to within the zero codes."""
    import json
    head = shipped_test_head(3)
    code, out, _ = cli("eval", "--gptq", "--bits", "4", "--test", head, "--json", "-")
    assert code in (0, None)
    assert json.loads(out)["quantizer"] == "gptq"
    code, out, _ = cli("eval", "--gptq", "--bits", "4", "--test", head)
    assert re.search(r"4-bit gptq, \d+ % of weights zero", out)   # names the quantizer
    sizes, streams = {}, {}
    for flag in ("--gptq", None):
        save = tmp_path / (flag or "rtn")
        save.mkdir()
        code, out, _ = cli("compress", "--bits", "4", "--format", "dense", "--json", "-",
                           "--save", str(save), *([flag] if flag else []))
        data = json.loads(out)
        sizes[data["quantizer"]] = data["formats"][0]["bytes"]
        streams[data["quantizer"]] = {p.name: p.read_bytes() for p in save.glob("*.azw")}
    assert sizes["gptq"] == sizes["uniform"]        # dense 4-bit: the same bytes...
    assert streams["gptq"].keys() == streams["uniform"].keys() and streams["gptq"]
    assert all(len(streams["gptq"][k]) == len(streams["uniform"][k]) for k in streams["gptq"])
    assert streams["gptq"] != streams["uniform"]    # ...holding other codes


def test_gptq_codes_do_not_depend_on_the_thread_count():
    """Rows run in parallel, each by one thread in column order: one thread and all of them
    choose the same codes."""
    import numba
    rng = np.random.default_rng(11)
    w = rng.standard_normal((257, 40))
    x = _correlated(rng, 300, 40)
    gram = x.astype(np.float64).T @ x
    q_all, _ = gptq_quantize(w, gram, 4)
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        q_one, _ = gptq_quantize(w, gram, 4)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(q_all, q_one)
