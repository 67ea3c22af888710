"""model.weight_range = "mse": the clipped per-row grid step against its NumPy twin, its
invariants, and the option's way through eval, compress, GPTQ and QAT's start."""
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from azsim import kernels as K
from azsim.compress.gptq import gptq_quantize
from azsim.compress.quantize import (MSE_SHRINK_FACTORS, per_channel_scale,
                                     quantize_per_channel, weight_qmax)
from reference import kernels_np as R


def _row_errors(w, bits, weight_range):
    q, scale = quantize_per_channel(w, bits, weight_range)
    return ((np.asarray(w, np.float64) - q * scale[:, None]) ** 2).sum(axis=1)


def test_the_shrink_factors_are_gptqs_grid():
    """1.00, 0.99, ..., 0.21, widest first (ties keep the wider range)."""
    assert MSE_SHRINK_FACTORS[0] == 1.0 and MSE_SHRINK_FACTORS[-1] == pytest.approx(0.21)
    assert len(MSE_SHRINK_FACTORS) == 80 and np.all(np.diff(MSE_SHRINK_FACTORS) < 0)


_EDGE = {
    "gaussian": lambda rng: rng.standard_normal((33, 64)),
    "outliers": lambda rng: rng.standard_normal((16, 128)) * np.where(
        rng.random((16, 128)) < 0.02, 20.0, 1.0),
    "zero rows": lambda rng: np.where(np.arange(8)[:, None] % 2 == 0, 0.0,
                                      rng.standard_normal((8, 5))),
    "one column": lambda rng: rng.standard_normal((6, 1)),
    "no columns": lambda rng: np.zeros((4, 0)),
    "exact halves": lambda rng: (np.arange(-7, 8)[None, :] + 0.5) * np.ones((3, 1)),
    "on the grid": lambda rng: np.arange(-7, 8, dtype=np.float64)[None, :].repeat(2, 0),
    "pruned": lambda rng: np.where(rng.random((12, 40)) < 0.8, 0.0,
                                   rng.standard_normal((12, 40))),
    # steps that underflow to 0 (some candidates or all): the kernel said 1, its twin 0
    # (a compression audit, 2026-12-06)
    "subnormal": lambda rng: np.array([[5e-324, -5e-324, 0.0], [1e-310, 3e-310, -2e-310],
                                       [1.0, 0.5, -0.25]]),
    # every squared error overflows to inf: the kernel kept step 1, its twin the first grid
    # (a compression audit, 2026-12-06)
    "huge": lambda rng: np.array([[1e200, 3e199, -1e199], [1e160, -2e159, 5e158],
                                  [1.0, 0.5, -0.25]]),
}


@pytest.mark.parametrize("case", sorted(_EDGE))
@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_mse_row_scales_matches_its_twin(case, bits):
    w = _EDGE[case](np.random.default_rng(3))
    qmax = float(weight_qmax(bits))
    got = K.mse_row_scales(np.ascontiguousarray(w, np.float64), qmax, MSE_SHRINK_FACTORS)
    assert np.array_equal(got, R.mse_row_scales(w, qmax, MSE_SHRINK_FACTORS))
    assert np.all(got > 0)
    for weight_range in ("max", "mse"):   # never a zero step, whatever the range
        assert np.all(quantize_per_channel(w, bits, weight_range)[1] > 0)


@settings(max_examples=60, deadline=None)
@given(w=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 40)),
                    elements=st.floats(-100, 100, allow_nan=False, width=32)),
       bits=st.integers(2, 8))
def test_the_clipped_range_never_rounds_worse_than_max(w, bits):
    """The unclipped step is the search's first candidate, so no row's squared rounding error
    grows; codes stay on the b-bit grid and the twin agrees."""
    qmax = weight_qmax(bits)
    assert np.all(_row_errors(w, bits, "mse") <= _row_errors(w, bits, "max"))
    q, scale = quantize_per_channel(w, bits, "mse")
    assert np.all(np.abs(q) <= qmax) and np.all(scale > 0)
    twin = R.mse_row_scales(w, float(qmax), MSE_SHRINK_FACTORS)
    empty = ~np.any(w != 0, axis=1)   # rows without weights take the populated rows' median
    assert np.array_equal(scale[~empty], twin[~empty])
    if empty.any():
        assert np.all(scale[empty] == (np.median(twin[~empty]) if (~empty).any() else 1.0))


def test_an_outlier_no_longer_sets_its_rows_step():
    """A row of 255 unit-variance weights and one at 5 sigma: the max grid's step is 5/7 and a
    quarter of the weights round to 0 at 4 bits; the clipped range takes a step a third
    smaller, clips the outlier to the top code and cuts the row's squared error by more than
    a quarter. A row already on its max grid keeps it (no error to win)."""
    rng = np.random.default_rng(0)
    w = np.vstack([np.append(rng.standard_normal(255), 5.0),
                   np.tile(np.arange(-7, 8, dtype=np.float64), 18)[:256] * 0.25])
    q_max, s_max = quantize_per_channel(w, 4)
    q_mse, s_mse = quantize_per_channel(w, 4, "mse")
    assert s_mse[0] < 0.7 * s_max[0] and q_mse[0, -1] == 7
    assert np.mean(q_mse[0] == 0) < np.mean(q_max[0] == 0)
    err_max, err_mse = _row_errors(w, 4, "max"), _row_errors(w, 4, "mse")
    assert err_mse[0] < 0.75 * err_max[0]
    assert s_mse[1] == s_max[1] == 0.25 and err_mse[1] == err_max[1] == 0.0
    # an outlier 50 sigma out is worth keeping: clipping it costs more than the bulk wins
    far = np.append(rng.standard_normal(255) * 0.1, 5.0)[None]
    assert per_channel_scale(far, 4, "mse")[0] > 0.95 * per_channel_scale(far, 4)[0]


def test_binary_weights_and_bad_ranges():
    """b = 1's mean-|w| scale is the least-squares one already: the range leaves it alone."""
    w = np.random.default_rng(1).standard_normal((5, 9))
    assert np.array_equal(per_channel_scale(w, 1, "mse"), per_channel_scale(w, 1))
    with pytest.raises(ValueError, match="weight_range 'p99'"):
        per_channel_scale(w, 4, "p99")


def test_gptq_rounds_onto_the_clipped_grid_of_the_kept_weights():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((20, 30)) * np.where(rng.random((20, 30)) < 0.03, 10.0, 1.0)
    w[rng.random(w.shape) < 0.5] = 0.0
    x = rng.standard_normal((200, 30))
    gram = x.T @ x
    q, scale = gptq_quantize(w, gram, 4, weight_range="mse")
    assert np.array_equal(scale, per_channel_scale(w, 4, "mse"))
    assert np.all(q[w == 0] == 0) and np.all(np.abs(q) <= 7)
    q_max, scale_max = gptq_quantize(w, gram, 4)
    assert np.all(scale <= scale_max) and np.any(scale < scale_max)


def test_weight_range_reaches_eval_and_compress(cli, shipped_test_head):
    """``--set model.weight_range=mse`` is recorded and printed by eval and compress; the
    stream is the same size (same bits, same formats), with other codes."""
    head = shipped_test_head(2)
    code, out, _ = cli("eval", "--bits", "4", "--test", head, "--set",
                       "model.weight_range=mse", "--json", "-")
    assert code in (0, None) and json.loads(out)["weight_range"] == "mse"
    code, out, _ = cli("eval", "--bits", "4", "--gptq", "--test", head, "--set",
                       "model.weight_range=mse")
    assert re.search(r"4-bit gptq mse-range, \d+ % of weights zero", out), out
    sizes = {}
    for rng in ("max", "mse"):
        code, out, _ = cli("compress", "--bits", "4", "--format", "dense", "--json", "-",
                           "--set", f"model.weight_range={rng}")
        data = json.loads(out)
        assert data["weight_range"] == rng
        sizes[rng] = data["formats"][0]["bytes"]
    assert sizes["mse"] == sizes["max"]
    code, out, _ = cli("compress", "--bits", "4", "--format", "dense", "--set",
                       "model.weight_range=mse")
    assert "(uniform, mse range)" in out


@pytest.mark.parametrize("args, message", [
    (["--codebook", "--set", "model.weight_range=mse"], "weight_range = 'mse' applies to"),
    (["--set", "model.weight_range=p99"], "weight_range"),
])
def test_bad_weight_range_is_a_one_line_error(cli, shipped_test_head, args, message):
    code, out, err = cli("eval", "--bits", "4", "--test", shipped_test_head(1), *args)
    assert code == 2 and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_clipped_range_does_not_depend_on_the_thread_count():
    """Rows run in parallel above PARALLEL_MIN_MACS element-candidates, each row on one
    thread: one thread and all of them choose the same steps, and so does the twin."""
    import numba

    from azsim.kernels.jit import PARALLEL_MIN_MACS
    w = np.random.default_rng(4).standard_normal((160, 128))
    assert w.size * len(MSE_SHRINK_FACTORS) >= PARALLEL_MIN_MACS       # the parallel path
    all_threads = per_channel_scale(w, 4, "mse")
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one = per_channel_scale(w, 4, "mse")
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(all_threads, one)
    assert np.array_equal(one, R.mse_row_scales(w, 7.0, MSE_SHRINK_FACTORS))
