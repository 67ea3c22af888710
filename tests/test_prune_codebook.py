"""Pruning masks, the codebook (weight-sharing) quantizer and the 1-bit weight grid (issue #3)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim.compress.codebook import (Codebook, assign, codebook_to_int_codes, fit_codebook,
                                     linear_init, lloyd_1d)
from azsim.compress.prune import (PruneSpec, achieved_sparsity, apply_mask, balanced_mask,
                                  erk_masks, erk_sparsities, global_magnitude_masks,
                                  magnitude_mask, nm_mask, parse_prune_spec, pe_nonzeros)
from azsim.compress.quantize import quantize_per_channel, weight_qmax

SETTINGS = settings(max_examples=60, deadline=None)


def _w(seed, shape, ties=False):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct magnitudes, to exercise the tie-break
        return rng.integers(-3, 4, shape).astype(np.float64)
    return rng.standard_normal(shape)


shapes = st.tuples(st.integers(1, 9), st.integers(1, 13))
sparsities = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999])


# ---------------------------------------------------------------- 1-bit / ternary grids

def test_weight_qmax_range():
    assert [weight_qmax(b) for b in range(1, 9)] == [1, 1, 3, 7, 15, 31, 63, 127]
    for bad in (0, 9):
        with pytest.raises(ValueError, match="1..8"):
            weight_qmax(bad)


@pytest.mark.parametrize("bits,weight_range", [(1, "max"), (4, "max"), (4, "mse"), (8, "max")])
def test_a_row_pruned_empty_keeps_its_bias_as_fine_as_the_others(bits, weight_range):
    """A gate row whose weights are all pruned has codes 0 at any step, but its bias enters
    the int32 accumulator at input scale x the row's step: at step 1 it was rounded ~200
    times coarser than its neighbours' (an integer-arithmetic audit, 2026-12-07)."""
    from azsim.compress.ptq import bias_to_int32
    rng = np.random.default_rng(bits)
    w = rng.standard_normal((6, 40)) * 0.05
    w[2] = 0.0
    b = rng.uniform(-1, 1, 6)
    in_scale = 0.02
    q, scale = quantize_per_channel(w, bits, weight_range)
    assert np.all(q[2] == 0)
    populated = np.delete(scale, 2)
    assert scale[2] == np.median(populated)
    acc_step = in_scale * scale
    err = np.abs(bias_to_int32("b", b, acc_step, q) * acc_step - b)
    assert err[2] <= 0.5 * in_scale * populated.max()
    assert np.all(err <= 0.5 * acc_step)
    # all rows empty: step 1, as before
    assert np.all(quantize_per_channel(np.zeros((3, 5)), bits, weight_range)[1] == 1.0)


@given(shape=shapes, seed=st.integers(0, 2 ** 16), zeros=st.sampled_from([0.0, 0.4]))
@SETTINGS
def test_one_bit_grid(shape, seed, zeros):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)
    w[rng.random(shape) < zeros] = 0.0
    q, scale = quantize_per_channel(w, 1)
    assert q.dtype == np.int8 and set(np.unique(q)) <= {-1, 0, 1}
    np.testing.assert_array_equal(q, np.sign(w))          # exact zeros keep code 0
    populated = [np.mean(np.abs(w[o][w[o] != 0])) for o in range(shape[0]) if np.any(w[o])]
    for o in range(shape[0]):
        nz = w[o][w[o] != 0]
        # a row without weights: the populated rows' median step (its bias's resolution)
        assert scale[o] == pytest.approx(np.mean(np.abs(nz)) if nz.size else
                                         np.median(populated) if populated else 1.0)
    if zeros == 0.0:
        np.testing.assert_allclose(scale, np.mean(np.abs(w), axis=1))


def test_one_bit_scale_is_least_squares():
    w = np.random.default_rng(1).standard_normal((4, 64))
    q, s = quantize_per_channel(w, 1)
    err = lambda k: np.sum((w - q * (s * k)[:, None]) ** 2)  # noqa: E731
    assert err(1.0) < err(1.01) and err(1.0) < err(0.99)


def test_ternary_grid():
    w = np.array([[0.9, -0.3, 0.6, -1.0], [0.0, 0.0, 0.0, 0.0]])
    q, s = quantize_per_channel(w, 2)
    np.testing.assert_array_equal(q, [[1, 0, 1, -1], [0, 0, 0, 0]])
    np.testing.assert_array_equal(s, [1.0, 1.0])


# ---------------------------------------------------------------- pruning

@given(shape=shapes, sparsity=sparsities, seed=st.integers(0, 2 ** 16), ties=st.booleans())
@SETTINGS
def test_magnitude_mask_exact_count_and_order(shape, sparsity, seed, ties):
    w = _w(seed, shape, ties)
    keep = magnitude_mask(w, sparsity)
    assert keep.dtype == bool and keep.shape == w.shape
    assert np.count_nonzero(~keep) == round(sparsity * w.size)
    if keep.any() and (~keep).any():
        assert np.abs(w[~keep]).max() <= np.abs(w[keep]).min()
    pruned = apply_mask(w, keep)
    assert np.count_nonzero(pruned == 0) >= round(sparsity * w.size)
    if not ties:
        assert achieved_sparsity(pruned) == achieved_sparsity(keep)


def test_magnitude_ties_break_by_index():
    keep = magnitude_mask(np.ones((2, 3)), 0.5)
    np.testing.assert_array_equal(keep, [[False, False, False], [True, True, True]])


@given(shapes=st.lists(shapes, min_size=1, max_size=4), sparsity=sparsities,
       seed=st.integers(0, 2 ** 16))
@SETTINGS
def test_global_threshold_across_matrices(shapes, sparsity, seed):
    rng = np.random.default_rng(seed)
    ws = {f"m{i}": rng.standard_normal(s) * 10.0 ** rng.integers(-2, 3)
          for i, s in enumerate(shapes)}
    masks = global_magnitude_masks(ws, sparsity)
    assert list(masks) == list(ws)
    total = sum(w.size for w in ws.values())
    assert sum(np.count_nonzero(~m) for m in masks.values()) == round(sparsity * total)
    pruned = np.concatenate([np.abs(ws[k][~masks[k]]) for k in ws])
    kept = np.concatenate([np.abs(ws[k][masks[k]]) for k in ws])
    if pruned.size and kept.size:
        assert pruned.max() <= kept.min()


@given(shapes=st.lists(shapes, min_size=1, max_size=5), sparsity=sparsities)
@SETTINGS
def test_erk_meets_the_overall_sparsity_and_orders_layers(shapes, sparsity):
    named = {f"m{i}": s for i, s in enumerate(shapes)}
    per = erk_sparsities(named, sparsity)
    sizes = {k: s[0] * s[1] for k, s in named.items()}
    kept = sum((1 - per[k]) * sizes[k] for k in named)
    assert kept == pytest.approx((1 - sparsity) * sum(sizes.values()), rel=1e-9, abs=1e-9)
    assert all(0.0 <= p <= 1.0 for p in per.values())
    # density ~ (rows + cols) / (rows * cols): a layer with a larger raw ratio is never sparser
    raw = {k: (s[0] + s[1]) / sizes[k] for k, s in named.items()}
    for a in named:
        for b in named:
            if raw[a] > raw[b]:
                assert per[a] <= per[b] + 1e-12


def test_erk_densities_by_hand():
    # 100x100 (raw 0.02) and 10x10 (raw 0.2) at 50 %: eps * 0.02 * 1e4 + eps * 0.2 * 100 =
    # 5050 -> eps = 5050 / 220; the small one would exceed density 1, so it stays dense and
    # the large one keeps 5050 - 100 = 4950 of 10000.
    per = erk_sparsities({"big": (100, 100), "small": (10, 10)}, 0.5)
    assert per["small"] == 0.0 and per["big"] == pytest.approx(1 - 0.495)
    # equal shapes: the same sparsity as uniform
    assert erk_sparsities({"a": (8, 4), "b": (4, 8)}, 0.25) == pytest.approx({"a": 0.25,
                                                                             "b": 0.25})
    masks = erk_masks({"big": np.arange(1e4).reshape(100, 100), "small": np.ones((10, 10))}, 0.5)
    assert masks["small"].all() and int(masks["big"].sum()) == 4950
    assert not masks["big"].ravel()[:5050].any()          # magnitude order inside the layer
    with pytest.raises(ValueError, match="2-D"):
        erk_sparsities({"v": (4,)}, 0.5)


def test_global_prunes_small_layers_more():
    rng = np.random.default_rng(0)
    masks = global_magnitude_masks({"small": rng.standard_normal((8, 8)) * 0.01,
                                    "big": rng.standard_normal((8, 8))}, 0.5)
    assert not masks["small"].any() and masks["big"].all()


@given(shape=shapes, nm=st.sampled_from([(1, 1), (1, 2), (2, 4), (1, 4), (3, 4), (2, 8), (4, 8)]),
       seed=st.integers(0, 2 ** 16), ties=st.booleans())
@SETTINGS
def test_nm_groups(shape, nm, seed, ties):
    n, m = nm
    w = _w(seed, shape, ties)
    keep = nm_mask(w, n, m)
    pruned = apply_mask(w, keep)
    for start in range(0, shape[1], m):
        grp_keep, grp_w = keep[:, start:start + m], w[:, start:start + m]
        length = grp_keep.shape[1]
        expect = n if length == m else -(-n * length // m)
        assert (grp_keep.sum(axis=1) == expect).all()
        assert (np.count_nonzero(pruned[:, start:start + m], axis=1) <= n).all()
        for r in range(shape[0]):  # the kept ones are the group's largest
            if (~grp_keep[r]).any():
                assert np.abs(grp_w[r][~grp_keep[r]]).max() <= np.abs(grp_w[r][grp_keep[r]]).min()


def test_nm_2_4_example():
    w = np.array([[1.0, -4.0, 3.0, 2.0, 0.5, 0.1, -0.2]])
    np.testing.assert_array_equal(nm_mask(w, 2, 4), [[False, True, True, False, True, False, True]])


@given(rows_per_pe=st.integers(1, 4), pes=st.integers(1, 6), cols=st.integers(1, 9),
       sparsity=sparsities, seed=st.integers(0, 2 ** 16))
@SETTINGS
def test_balanced_pes_equal_when_rows_divide(rows_per_pe, pes, cols, sparsity, seed):
    w = _w(seed, (rows_per_pe * pes, cols))
    keep = balanced_mask(w, sparsity, pes)
    per_pe = pe_nonzeros(keep, pes)
    assert per_pe.max() - per_pe.min() <= 1
    assert np.count_nonzero(~keep) == round(sparsity * w.size)
    nnz = pe_nonzeros(apply_mask(w, keep), pes)      # continuous weights: no extra zeros
    assert nnz.max() - nnz.min() <= 1


@given(shape=shapes, pes=st.integers(1, 12), sparsity=sparsities, seed=st.integers(0, 2 ** 16))
@SETTINGS
def test_balanced_general(shape, pes, sparsity, seed):
    w = _w(seed, shape)
    keep = balanced_mask(w, sparsity, pes)
    assert np.count_nonzero(~keep) == round(sparsity * w.size)
    per_pe = pe_nonzeros(keep, pes)
    cap = np.array([len(range(p, shape[0], pes)) * shape[1] for p in range(pes)])
    # Balanced within 1, except PEs too small for their share, which keep everything.
    assert np.all((per_pe >= per_pe.max() - 1) | (per_pe == cap))
    for p in range(pes):                       # by magnitude inside each PE
        sub_w, sub_k = np.abs(w[p::pes]), keep[p::pes]
        if sub_k.any() and (~sub_k).any():
            assert sub_w[~sub_k].max() <= sub_w[sub_k].min()


def test_parse_prune_spec():
    assert parse_prune_spec("magnitude") == PruneSpec("magnitude")
    assert parse_prune_spec(" Global ") == PruneSpec("global")
    assert parse_prune_spec("ERK") == PruneSpec("erk")
    assert parse_prune_spec("nm:2:4") == PruneSpec("nm", n=2, m=4)
    assert parse_prune_spec("balanced:64") == PruneSpec("balanced", pes=64)
    assert str(parse_prune_spec("nm:2:4")) == "nm:2:4"
    assert parse_prune_spec("nm:2:4").implied_sparsity == 0.5
    for bad in ("", "mag", "nm:2", "nm:5:4", "nm:0:4", "nm:2.0:4", "balanced:0", "balanced:",
                "balanced:-1", "global:2", "nm:2:4:8"):
        with pytest.raises(ValueError, match="invalid prune spec") as exc:
            parse_prune_spec(bad)
        assert repr(bad) in str(exc.value) and "balanced:PES" in str(exc.value)
        assert "\n" not in str(exc.value)


def test_prune_spec_apply():
    rng = np.random.default_rng(3)
    ws = {"a": rng.standard_normal((8, 8)), "b": rng.standard_normal((4, 8))}
    for text in ("magnitude", "global", "erk", "balanced:4"):
        out = parse_prune_spec(text).prune(ws, 0.5)
        assert achieved_sparsity(np.concatenate([v.ravel() for v in out.values()])) == 0.5
    assert achieved_sparsity(parse_prune_spec("nm:1:4").prune(ws)["a"]) == 0.75
    with pytest.raises(ValueError, match="needs a sparsity"):
        parse_prune_spec("global").masks(ws)
    with pytest.raises(ValueError, match="fixes sparsity"):
        parse_prune_spec("nm:2:4").masks(ws, 0.9)


def test_prune_errors():
    w = np.ones((4, 4))
    for s in (-0.1, 1.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
            magnitude_mask(w, s)
        with pytest.raises(ValueError, match="sparsity"):
            global_magnitude_masks({"w": w}, s)
        with pytest.raises(ValueError, match="sparsity"):
            balanced_mask(w, s, 2)
    for n, m in ((5, 4), (0, 4), (1, 0)):
        with pytest.raises(ValueError, match="N:M"):
            nm_mask(w, n, m)
    with pytest.raises(ValueError, match="pes"):
        balanced_mask(w, 0.5, 0)
    with pytest.raises(ValueError, match="2-D"):
        nm_mask(np.ones(4), 2, 4)
    with pytest.raises(ValueError, match="finite"):
        magnitude_mask(np.array([1.0, np.nan]), 0.5)
    with pytest.raises(ValueError, match="mask shape"):
        apply_mask(w, np.ones((2, 2), bool))


def test_achieved_sparsity():
    assert achieved_sparsity(np.array([[True, False], [False, False]])) == 0.75
    assert achieved_sparsity(np.array([[1.5, 0.0], [0.0, -2.0]])) == 0.5
    assert achieved_sparsity(np.zeros((0, 3))) == 0.0


# ---------------------------------------------------------------- codebook

def _sse(a, b):
    return float(np.sum((a - b) ** 2))


@given(shape=shapes, bits=st.integers(1, 8), sparsity=st.sampled_from([0.0, 0.5, 0.9]),
       seed=st.integers(0, 2 ** 16), ties=st.booleans())
@SETTINGS
def test_codebook_properties(shape, bits, sparsity, seed, ties):
    w = apply_mask(_w(seed, shape, ties), magnitude_mask(_w(seed + 1, shape), sparsity))
    cb = fit_codebook(w, bits)
    assert cb.values.shape == (2 ** bits,) and cb.values[0] == 0.0
    assert cb.indices.dtype == np.uint8 and cb.indices.shape == w.shape
    np.testing.assert_array_equal(cb.indices == 0, w == 0)      # index 0 <-> exact zero
    assert len(np.unique(cb.dequantize())) <= 2 ** bits
    assert np.all(np.diff(cb.values[1:]) >= 0)                  # sorted centroids
    init = fit_codebook(w, bits, max_iter=0)
    assert _sse(w, cb.dequantize()) <= _sse(w, init.dequantize()) * (1 + 1e-12) + 1e-300
    codes, scale = codebook_to_int_codes(cb)
    assert codes.dtype == np.int8 and codes.shape == w.shape and scale.shape == (shape[0],)
    assert len(np.unique(codes[codes != 0])) <= 2 ** bits - 1
    assert np.all(codes[w == 0] == 0)
    assert np.max(np.abs(codes * scale[:, None] - cb.dequantize())) <= scale[0] / 2 * (1 + 1e-9)


def test_codebook_nearest_and_deterministic():
    w = np.random.default_rng(5).standard_normal((16, 32))
    a, b = fit_codebook(w, 3), fit_codebook(w.copy(), 3)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.indices, b.indices)
    dist = np.abs(w[..., None] - a.values[1:])                  # every nonzero -> its nearest
    np.testing.assert_allclose(np.abs(w - a.dequantize()), dist.min(axis=-1))


def test_lloyd_linear_init_and_convergence():
    x = np.random.default_rng(2).standard_normal(2000)
    init = linear_init(x, 7)
    assert init[0] == x.min() and init[-1] == x.max()
    assert np.allclose(np.diff(init), np.diff(init)[0])
    c, iters = lloyd_1d(x, init)
    assert 1 <= iters <= 50
    c2, _ = lloyd_1d(x, c)                                      # a fixed point: one update, no move
    np.testing.assert_allclose(c2, c)
    idx = assign(x, c)
    for j in range(7):                                  # each centroid is its cluster's mean
        if np.any(idx == j + 1):
            assert c[j] == pytest.approx(x[idx == j + 1].mean())


@pytest.mark.parametrize("bits", [2, 3, 4, 5, 6, 7, 8])
def test_codebook_beats_uniform_on_gaussian(bits):
    """Against one per-tensor uniform grid at every width; against azsim's per-row grids
    (64 scales vs the codebook's one) only at 2..4 bits, where k-means' nonuniform levels win."""
    w = np.random.default_rng(bits).standard_normal((64, 128))
    err = _sse(w, fit_codebook(w, bits).dequantize())
    qmax = weight_qmax(bits)
    step = np.abs(w).max() / qmax
    assert err < _sse(w, np.clip(np.rint(w / step), -qmax, qmax) * step)
    if bits <= 4:
        q, s = quantize_per_channel(w, bits)
        assert err < _sse(w, q * s[:, None])


def test_codebook_edge_cases():
    cb = fit_codebook(np.zeros((3, 4)), 4)
    assert not cb.values.any() and not cb.indices.any()
    codes, scale = codebook_to_int_codes(cb)
    assert not codes.any() and np.all(scale == 1.0)
    cb1 = fit_codebook(np.array([[2.0, 0.0, 4.0]]), 1)                 # one nonzero value: the mean
    np.testing.assert_array_equal(cb1.values, [0.0, 3.0])
    for bad in (0, 9):
        with pytest.raises(ValueError, match="1..8"):
            fit_codebook(np.ones((2, 2)), bad)
    with pytest.raises(ValueError, match="2-D"):
        fit_codebook(np.ones(4), 2)
    with pytest.raises(ValueError, match="finite"):
        fit_codebook(np.array([[np.inf, 1.0]]), 2)
    with pytest.raises(ValueError, match="int_bits"):
        codebook_to_int_codes(cb, 9)
    with pytest.raises(ValueError, match="values"):
        Codebook(np.ones(4), np.zeros((2, 2), np.uint8), 2)


def test_an_nm_config_states_its_own_sparsity():
    """N:M fixes its sparsity at 1 - N/M: a config left at sparsity 0 states that, so a
    sweep's report no longer takes an N:M point for the dense one of a 50 % point, and run's
    header no longer says "pruned 0 %" (a CLI audit, 2026-12-06); N = M, which prunes
    nothing, is refused."""
    from azsim.config import load_model_config
    from azsim.errors import AzsimError
    assert load_model_config("tiny", ['model.prune="nm:2:4"']).sparsity == 0.5
    assert load_model_config("tiny", ['model.prune="nm:1:4"', "model.sparsity=0.75"]
                             ).sparsity == 0.75
    assert load_model_config("tiny", ["model.sparsity=0"]).sparsity == 0.0
    with pytest.raises(AzsimError, match="N = M prunes nothing"):
        load_model_config("tiny", ['model.prune="nm:4:4"'])
