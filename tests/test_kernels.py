"""Every Numba kernel against its NumPy twin, bit for bit, on edge cases (issue #2)."""
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim import kernels as K
from azsim.compress.quantize import SIGMOID_LUT, TANH_LUT, quantize_multiplier
from reference import kernels_np as R

I32_MIN, I32_MAX = -(2 ** 31), 2 ** 31 - 1
# with empty ones: a layer of no rows or no inputs (kernel audit, 2026-12-07)
SHAPES = [(0, 0), (0, 5), (5, 0), (1, 1), (1, 7), (7, 1), (3, 5), (13, 17), (64, 33)]


def _matrix(rng, shape, kind):
    if kind == "zeros":
        return np.zeros(shape, np.int8)
    if kind == "max":
        return np.full(shape, 127, np.int8)
    if kind == "min":
        return np.full(shape, -127, np.int8)
    if kind == "sparse":
        m = rng.integers(-127, 128, shape).astype(np.int8)
        m[rng.random(shape) < 0.8] = 0
        return m
    return rng.integers(-128, 128, shape).astype(np.int8)  # includes -128


KINDS = ["zeros", "max", "min", "sparse", "random"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("wkind", KINDS)
@pytest.mark.parametrize("xkind", KINDS)
def test_gemv_matches_twin(shape, wkind, xkind):
    # crc32, not hash(): str hashes change with PYTHONHASHSEED, so a failure would not repeat
    rng = np.random.default_rng(zlib.crc32(repr((shape, wkind, xkind)).encode()))
    w = _matrix(rng, shape, wkind)
    x = _matrix(rng, (shape[1],), xkind)
    bias = rng.integers(-10 ** 6, 10 ** 6, shape[0]).astype(np.int32)
    col_nnz = np.count_nonzero(w, axis=0).astype(np.int64)
    out = np.empty(shape[0], np.int32)
    nz, eff = K.gemv_i8(w, x, bias, col_nnz, out)
    ref, rnz, reff = R.gemv(w, x, bias, col_nnz)
    np.testing.assert_array_equal(out, ref)
    assert (nz, eff) == (rnz, reff)


@pytest.mark.parametrize("rows", [2048, 2047])
def test_integer_products_agree_with_the_twin_on_both_sides_of_the_parallel_threshold(rows):
    """2048 x 512 is PARALLEL_MIN_MACS (row blocks in parallel), 2047 x 512 just below it
    (one thread): the same bits from both, and from gemm over 4 vectors."""
    from azsim.kernels.jit import PARALLEL_MIN_MACS
    assert 2048 * 512 == PARALLEL_MIN_MACS
    rng = np.random.default_rng(rows)
    w = _matrix(rng, (rows, 512), "random")
    xs = _matrix(rng, (4, 512), "sparse")
    bias = rng.integers(-1000, 1000, rows).astype(np.int32)
    col_nnz = np.count_nonzero(w, axis=0).astype(np.int64)
    out = np.empty(rows, np.int32)
    K.gemv_i8(w, xs[0], bias, col_nnz, out)
    np.testing.assert_array_equal(out, R.gemv(w, xs[0], bias, col_nnz)[0])
    out4 = np.empty((4, rows), np.int32)
    K.gemm_i8(w[:rows // 4], xs, bias[:rows // 4], col_nnz, out4[:, :rows // 4],
              np.empty(4, np.int64), np.empty(4, np.int64))
    np.testing.assert_array_equal(out4[:, :rows // 4],
                                  R.gemm(w[:rows // 4], xs, bias[:rows // 4], col_nnz)[0])


def test_effectual_macs_count_exactly_the_nonzero_pairs():
    rng = np.random.default_rng(1)
    w = _matrix(rng, (9, 11), "sparse")
    x = _matrix(rng, (11,), "sparse")
    want = int(np.sum((w != 0) & (x[None, :] != 0)))
    assert want > 0
    col_nnz = np.array([sum(1 for r in range(9) if w[r, c]) for c in range(11)], np.int64)
    _, _, eff = R.gemv(w, x, np.zeros(9, np.int32), col_nnz)
    assert eff == want
    out = np.empty(9, np.int32)
    nz, eff_k = K.gemv_i8(w, x, np.zeros(9, np.int32), col_nnz, out)
    assert eff_k == want and nz == int(np.count_nonzero(x))


@pytest.mark.parametrize("n_t", [0, 1, 5])
@pytest.mark.parametrize("shape", [(1, 1), (13, 17), (40, 9)])
def test_gemm_matches_twin(n_t, shape):
    rng = np.random.default_rng(n_t * 100 + shape[0])
    w = _matrix(rng, shape, "sparse")
    xs = _matrix(rng, (n_t, shape[1]), "random")
    bias = rng.integers(-1000, 1000, shape[0]).astype(np.int32)
    col_nnz = np.count_nonzero(w, axis=0).astype(np.int64)
    out = np.empty((n_t, shape[0]), np.int32)
    nz, eff = np.empty(n_t, np.int64), np.empty(n_t, np.int64)
    K.gemm_i8(w, xs, bias, col_nnz, out, nz, eff)
    ref, rnz, reff = R.gemm(w, xs, bias, col_nnz)
    np.testing.assert_array_equal(out, ref)
    np.testing.assert_array_equal(nz, rnz)
    np.testing.assert_array_equal(eff, reff)


@given(acc=st.integers(I32_MIN, I32_MAX), real=st.floats(1e-9, 1e3),
       lo=st.sampled_from([-127, -32768, I32_MIN]))
@settings(max_examples=300, deadline=None)
def test_requantize_matches_twin_and_real_scale(acc, real, lo):
    hi = -lo if lo != I32_MIN else I32_MAX
    mult, shift = quantize_multiplier(real)
    got = K.requantize_scalar(acc, mult[0], shift[0], lo, hi)
    assert got == R.requantize(acc, mult, shift, lo, hi)[0]
    exact = min(max(acc * real, lo), hi)
    assert abs(got - exact) <= 1 + abs(acc * real) * 2 ** -30


def test_requantization_rounds_ties_half_up_by_exact_arithmetic():
    """The twin copies the kernel's rounding formula, so kernel against twin cannot catch a
    wrong tie rule (kernel audit, 2026-12-07): ties, negative ones above all, are pinned here
    against exact rational arithmetic, floor(acc * mult / 2^shift + 1/2). (Half up, toward
    +inf, as documented; gemmlowp rounds half away from zero, 1 LSB apart on negative ties.)"""
    from fractions import Fraction
    from math import floor
    for acc in (-5, -3, -1, 1, 3, 5, -(2 ** 20) - 1, I32_MIN + 1, I32_MAX):
        for mult, shift in ((2 ** 30, 31), (2 ** 30, 32), (3 * 2 ** 28, 30), (2 ** 30, 1)):
            exact = floor(Fraction(acc * mult, 2 ** shift) + Fraction(1, 2))
            assert K.requantize_scalar(acc, mult, shift, I32_MIN, I32_MAX) == \
                min(max(exact, I32_MIN), I32_MAX), (acc, mult, shift)
    assert K.requantize_scalar(-1, 2 ** 30, 31, -127, 127) == 0      # -0.5 -> 0
    assert K.requantize_scalar(-3, 2 ** 30, 31, -127, 127) == -1     # -1.5 -> -1
    assert K.q15_to_i8(-128) == 0 and K.q15_to_i8(-384) == -1        # -0.5, -1.5 LSB


@pytest.mark.parametrize("dtype,lo,hi", [(np.int8, -127, 127), (np.int16, -32768, 32767),
                                         (np.int32, I32_MIN, I32_MAX)])
def test_requantize_vector_matches_twin(dtype, lo, hi):
    """Into every output width the model uses (int8 activations, Q-format int16, int32
    logits), with the scales' extremes: the int32 output's clamp is the accumulator's own."""
    rng = np.random.default_rng(3)
    acc = np.concatenate([[I32_MIN, I32_MAX, 0, -1, 1], rng.integers(I32_MIN, I32_MAX, 50)]).astype(np.int32)
    mult, shift = quantize_multiplier(np.concatenate(
        [[2.0, 2.0, 0.5, 0.5, 1.0], rng.uniform(1e-6, 2.0, acc.size - 5)]))
    out = np.empty(acc.size, dtype)
    K.requantize_i32(acc, mult, shift, lo, hi, out)
    np.testing.assert_array_equal(out, R.requantize(acc, mult, shift, lo, hi))


def test_saturation_and_q15_narrowing_match_twins_on_every_int16_and_past_it():
    # every int16 value plus the edges beyond it that the LSTM's int64 sums can reach
    v = np.concatenate([np.arange(-32768, 32768), [-32769, 32768, -(1 << 40), 1 << 40]])
    got_sat = np.array([K.saturate_i16(int(x)) for x in v])
    np.testing.assert_array_equal(got_sat, R.sat16(v))
    q15 = v[(v >= -32768) & (v <= 32767)]
    got_q = np.array([K.q15_to_i8(int(x)) for x in q15])
    np.testing.assert_array_equal(got_q, R.q15_to_i8(q15))
    # Q0.15 at scale 2^-15 -> int8 at 2^-7: 1.0 (32767) saturates to 127, -1.0 to -127
    assert K.q15_to_i8(32767) == 127 and K.q15_to_i8(-32768) == -127 and K.q15_to_i8(127) == 0
    assert K.q15_to_i8(128) == 1  # rounding half up


@pytest.mark.parametrize("table", [SIGMOID_LUT, TANH_LUT], ids=["sigmoid", "tanh"])
def test_lut_matches_twin_on_every_input(table):
    xs = np.arange(-32768, 32768, dtype=np.int64)
    got = np.array([K.lut_interp(x, table) for x in xs])
    ref = R.lut_interp(xs, table)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("table,fn", [(SIGMOID_LUT, lambda x: 1 / (1 + np.exp(-x))),
                                      (TANH_LUT, np.tanh)], ids=["sigmoid", "tanh"])
def test_lut_is_accurate(table, fn):
    xs = np.arange(-32768, 32768, 7, dtype=np.int64)
    err = np.abs(R.lut_interp(xs, table) / 32768 - fn(xs / 4096))
    assert err.max() < 2e-4  # linear interpolation at step 1/32: h^2/8 * max|f''| ~ 1e-4


def _lstm_case(rng, n_in, n_h, n_p, kind, steps=6):
    d = n_p or n_h
    acc_x = (np.zeros((steps, 4 * n_h), np.int32) if kind == "zeros"
             else rng.integers(-2 ** 20, 2 ** 20, (steps, 4 * n_h)).astype(np.int32))
    if kind == "extreme":
        acc_x[:, ::2] = I32_MAX
        acc_x[:, 1::2] = I32_MIN
    w_r = _matrix(rng, (4 * n_h, d), "zeros" if kind == "zeros" else "random")
    mult_x, shift_x = quantize_multiplier(rng.uniform(1e-5, 1e-2, 4 * n_h))
    mult_r, shift_r = quantize_multiplier(rng.uniform(1e-3, 0.5, 4 * n_h))
    h_mult, h_shift = quantize_multiplier(2.0 ** -30 / 0.008)
    w_p = _matrix(rng, (n_p, n_h), "random") if n_p else np.zeros((0, 0), np.int8)
    p_mult, p_shift = quantize_multiplier(rng.uniform(1e-3, 0.1, n_p)) if n_p else \
        (np.zeros(0, np.int64), np.zeros(0, np.int64))
    c = rng.integers(-32768, 32768, n_h).astype(np.int16)
    r = _matrix(rng, (d,), "random")
    return (acc_x, w_r, np.count_nonzero(w_r, axis=0).astype(np.int64), mult_x, shift_x, mult_r,
            shift_r, SIGMOID_LUT, TANH_LUT, int(h_mult[0]), int(h_shift[0]), w_p,
            np.count_nonzero(w_p, axis=0).astype(np.int64), p_mult, p_shift), c, r


@pytest.mark.parametrize("n_in,n_h,n_p", [(1, 1, 0), (5, 3, 0), (7, 9, 4), (16, 32, 8)])
@pytest.mark.parametrize("kind", ["zeros", "random", "extreme"])
@pytest.mark.parametrize("steps", [0, 1, 6])
def test_lstm_sequence_matches_twin(n_in, n_h, n_p, kind, steps):
    """Also no step at all (the twin failed on it, 2026-12-06) and one: state passes through."""
    rng = np.random.default_rng(n_h * 7 + n_p)
    args, c, r = _lstm_case(rng, n_in, n_h, n_p, kind, steps)
    ref_y, ref_c, ref_r, ref_ev, ref_h = R.lstm_sequence(*args, c, r)
    n_t = args[0].shape[0]
    y = np.empty((n_t, r.shape[0]), np.int8)
    ev = np.zeros((n_t, 4), np.int64)
    h_seq = np.empty((n_t, c.shape[0]), np.int8)
    c2, r2 = c.copy(), r.copy()
    K.lstm_sequence(*args, c2, r2, y, ev[:, 0], ev[:, 1], ev[:, 2], ev[:, 3], h_seq)
    np.testing.assert_array_equal(y, ref_y)
    np.testing.assert_array_equal(h_seq, ref_h)
    np.testing.assert_array_equal(c2, ref_c)
    np.testing.assert_array_equal(r2, ref_r)
    np.testing.assert_array_equal(ev, ref_ev)


def test_lstm_cell_saturates_instead_of_wrapping():
    rng = np.random.default_rng(5)
    args, c, r = _lstm_case(rng, 4, 8, 0, "extreme")
    c[:] = 32767
    acc_r = np.full(32, I32_MAX, np.int32)
    h = np.empty(8, np.int8)
    c2 = c.copy()
    K.lstm_cell(args[0][0], acc_r, args[3], args[4], args[5], args[6], c2, SIGMOID_LUT, TANH_LUT,
                args[9], args[10], h)
    ref_h, ref_c = R.lstm_cell(args[0][0], acc_r, args[3], args[4], args[5], args[6], c,
                               SIGMOID_LUT, TANH_LUT, args[9], args[10])
    np.testing.assert_array_equal(h, ref_h)
    np.testing.assert_array_equal(c2, ref_c)
    assert np.all(np.abs(c2.astype(np.int64)) <= 32767)


@pytest.mark.parametrize("n_j,n_v", [(1, 1), (5, 3), (33, 29)])
@pytest.mark.parametrize("kind", ["zeros", "random", "extreme"])
def test_joint_step_matches_twin(n_j, n_v, kind):
    rng = np.random.default_rng(n_j + n_v)
    z_enc = rng.integers(-40000, 40000, n_j).astype(np.int32)
    z_pred = rng.integers(-40000, 40000, n_j).astype(np.int32)
    if kind == "zeros":
        z_enc[:] = 0
        z_pred[:] = 0
    if kind == "extreme":
        z_enc[:] = I32_MAX // 2
        z_pred[:] = I32_MAX // 2
    w = _matrix(rng, (n_v, n_j), "sparse")
    b = rng.integers(-5000, 5000, n_v).astype(np.int32)
    col_nnz = np.count_nonzero(w, axis=0).astype(np.int64)
    mult, shift = quantize_multiplier(rng.uniform(0.01, 10, n_v))
    logits = np.empty(n_v, np.int32)
    best, nz, eff = K.joint_step(z_enc, z_pred, TANH_LUT, w, b, col_nnz, mult, shift, logits)
    rbest, rlogits, rnz, reff = R.joint_step(z_enc, z_pred, TANH_LUT, w, b, col_nnz, mult, shift)
    np.testing.assert_array_equal(logits, rlogits)
    assert (best, nz, eff) == (rbest, rnz, reff)
    hidden = np.empty(n_j, np.int8)
    K.joint_hidden(z_enc, z_pred, TANH_LUT, hidden)
    np.testing.assert_array_equal(hidden, R.joint_hidden(z_enc, z_pred, TANH_LUT))


@pytest.mark.parametrize("n_v", [1, 4, 29])
def test_joint_step_takes_the_first_of_tied_logits_as_the_twin_does(n_v):
    """All weights zero and equal biases: every logit ties; the kernel and np.argmax both
    answer the first token (the blank, index 0)."""
    n_j = 5
    z = np.zeros(n_j, np.int32)
    w = np.zeros((n_v, n_j), np.int8)
    b = np.full(n_v, 1234, np.int32)
    mult, shift = quantize_multiplier(np.full(n_v, 0.5))
    logits = np.empty(n_v, np.int32)
    best, *_ = K.joint_step(z, z, TANH_LUT, w, b, np.zeros(n_j, np.int64), mult, shift, logits)
    rbest, rlogits, *_ = R.joint_step(z, z, TANH_LUT, w, b, np.zeros(n_j, np.int64), mult, shift)
    assert np.all(logits == logits[0]) and best == rbest == 0
    np.testing.assert_array_equal(logits, rlogits)


def test_quantize_multiplier_represents_the_scale():
    reals = np.array([1e-12, 1e-6, 0.3, 0.5, 0.999999999, 1.0, 7.5, 1e6])
    mult, shift = quantize_multiplier(reals)
    assert np.all((mult >= 0) & (mult < 2 ** 31))
    assert np.all((shift >= 1) & (shift <= 62))
    np.testing.assert_allclose(mult * 2.0 ** -shift.astype(float), reals, rtol=2e-9, atol=2 ** -62)
    # rounded to nearest at every scale, below 2^-32 too (M at shift 62 was the 31-bit M
    # shifted right, truncated: an integer-arithmetic audit, 2026-12-07)
    tiny = np.array([3.3e-12, 1e-15, 2.0 ** -40 * 1.75, 1e-12])
    reals = np.concatenate([reals, tiny])
    mult, shift = quantize_multiplier(reals)
    for r, m, sh in zip(reals, mult, shift):
        exact = r * 2.0 ** int(sh)              # exact in float64: a power-of-two scaling
        assert abs(int(m) - exact) <= 0.5, (r, m, sh)
    assert np.all(shift[-len(tiny):] == 62) and np.all(mult[-len(tiny):] < 2 ** 30)


def _float_matrix(rng, shape, kind):
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    if kind == "wide":      # magnitudes from 1e-6 to 1e6: where summation order shows most
        return (rng.standard_normal(shape) * 10.0 ** rng.integers(-6, 7, shape)).astype(np.float32)
    if kind == "cancel":    # large terms that cancel: the sum is all rounding
        m = rng.standard_normal(shape).astype(np.float32)
        return np.concatenate([m, -m], axis=-1)[..., :shape[-1]] * np.float32(1e4)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 7, 3), (1, 320, 1280), (3, 5, 4), (5, 0, 6),
                                   (0, 4, 5), (17, 13, 9), (100, 64, 33),
                                   # at and just below PARALLEL_MIN_MACS: the parallel and
                                   # the serial driver (kernels/jit.py)
                                   (1, 1024, 1024), (1, 1023, 1024), (4, 256, 1027)])
@pytest.mark.parametrize("kind", ["zeros", "normal", "wide", "cancel"])
def test_float_matmuls_match_twin_and_each_other_bit_for_bit(m, k, n, kind):
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    x, w = _float_matrix(rng, (m, k), kind), _float_matrix(rng, (n, k), kind)
    want = R.matmul_nt(x, w)
    got_nt = K.matmul_nt(x, w)
    got_kn = K.matmul_kn(x, np.ascontiguousarray(w.T))
    assert got_nt.dtype == got_kn.dtype == np.float32 and got_nt.shape == (m, n)
    np.testing.assert_array_equal(got_nt, want)
    np.testing.assert_array_equal(got_kn, want)
    if m and n and k:   # and it is a matrix product: within float32 rounding of float64's
        exact = x.astype(np.float64) @ w.astype(np.float64).T
        scale = np.abs(x).astype(np.float64) @ np.abs(w).astype(np.float64).T
        assert np.all(np.abs(got_nt - exact) <= 1e-6 * scale + 1e-30)


def test_float_matmul_sums_in_ascending_k():
    """1e8 + 1 - 1e8 in float32 order would lose the 1; in float64 ascending order it stays,
    and reversing k changes the result only if the order were not fixed."""
    x = np.array([[1e8, 1.0, -1e8]], np.float32)
    w = np.ones((1, 3), np.float32)
    assert K.matmul_nt(x, w)[0, 0] == np.float32(1.0)
    # beyond float64's 53 bits the order decides: ascending (1 + 1e17) - 1e17 = 0, while
    # descending (-1e17 + 1e17) + 1 would be 1
    x = np.array([[1.0, 1e17, -1e17]], np.float32)
    assert K.matmul_nt(x, w)[0, 0] == np.float32(0.0) == R.matmul_nt(x, w)[0, 0]
    assert K.matmul_nt(x[:, ::-1].copy(), w)[0, 0] == np.float32(1.0)


def test_float_matmuls_do_not_depend_on_the_thread_count():
    """Both kernels run blocks of outputs in parallel; each output is summed by one thread."""
    import numba
    rng = np.random.default_rng(7)
    x, w = _float_matrix(rng, (9, 300), "wide"), _float_matrix(rng, (1030, 300), "wide")
    wt = np.ascontiguousarray(w.T)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = K.matmul_nt(x, w), K.matmul_kn(x, wt)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = K.matmul_nt(x, w), K.matmul_kn(x, wt)
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, many):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(one[0], R.matmul_nt(x, w))
