"""Integer overflow audit: every accumulator, product, shift and index of the integer datapath
at the extremes the configuration allows, against exact Python integers.

Each bound below holds only because of a range somewhere else (the schema's widths, the int8
activation clip, quantize_multiplier's shift range, the saturations in front of the LUTs);
these tests sit at the extreme of that range, so a change that widens it fails here instead of
wrapping silently in a Numba kernel (Numba, like C, wraps integers without a word).
"""
import dataclasses

import numpy as np
import pytest

from azsim import kernels as K
from azsim.compress.quantize import SIGMOID_LUT, TANH_LUT, quantize_multiplier
from azsim.config import schema
from reference import decode_np as D
from reference import kernels_np as R

I32_MIN, I32_MAX = -(2 ** 31), 2 ** 31 - 1
I8 = 127            # activations and weight codes are symmetric: |v| <= 127 (code -128 unused)


def _range(cls, name):
    return {f.name: f for f in dataclasses.fields(cls)}[name].metadata["range"]


def widest_fan_in() -> int:
    """The most inputs one matrix row can have under the schema's ranges: the first encoder
    layer sees stack_frames x n_mels; a layer after the time reduction sees factor x the
    previous layer's output width; every other matrix sees one layer width."""
    width = schema._MAX_WIDTH
    first = _range(schema.EncoderConfig, "stack_frames")[1] * _range(schema.FrontendConfig,
                                                                       "n_mels")[1]
    reduced = _range(schema.EncoderConfig, "time_reduction_factor")[1] * width
    return max(first, reduced, width)


# ---- gemv / gemm: the int32 accumulator ----------------------------------------------------

def test_the_widest_dot_product_fits_int32_without_its_bias():
    """131072 inputs (8 x 16384 after time reduction) x 127 x 127 = 2,114,060,288: 98.4 % of
    int32. A ninth frame in the time reduction, or a 32768 width, would wrap."""
    k = widest_fan_in()
    assert k == 8 * 16384
    assert k * I8 * I8 <= I32_MAX
    for sign in (1, -1):
        w = np.full((1, k), sign * I8, np.int8)
        x = np.full(k, I8, np.int8)
        out = np.empty(1, np.int32)
        K.gemv_i8(w, x, np.zeros(1, np.int32), np.ones(k, np.int64), out)
        assert int(out[0]) == sign * k * I8 * I8
        outs = np.empty((2, 1), np.int32)
        K.gemm_i8(w, np.stack([x, -x]), np.zeros(1, np.int32), np.ones(k, np.int64), outs,
                  np.empty(2, np.int64), np.empty(2, np.int64))
        assert outs[:, 0].tolist() == [sign * k * I8 * I8, -sign * k * I8 * I8]


def test_event_counts_are_int64():
    """Effectual MACs of one product reach rows x cols = 65536 x 131072 = 2^33 in the largest
    valid layer: the counters must not be int32."""
    k = 1 << 12
    col_nnz = np.full(k, 1 << 21, np.int64)          # 2^33 in all
    out = np.empty(1, np.int32)
    nz, eff = K.gemv_i8(np.zeros((1, k), np.int8), np.ones(k, np.int8), np.zeros(1, np.int32),
                        col_nnz, out)
    assert (nz, eff) == (k, 1 << 33)


def _stats():
    class Max(dict):
        def __missing__(self, key):
            return 1.0                                # every activation calibrated to max |x| = 1
    return Max()


def _tiny_with_big_bias(headroom: int):
    """The tiny model with enc.0's gate-i row 0 made of equal weights 3e-5 and a bias whose
    int32 code is I32_MAX - headroom: valid weights (|w| is far below the magnitude bound, the
    bias fits int32 on its own). Unit 0's other gates get zero weights and biases of 3 (g and
    o near 1), so the cell output shows whether gate i saw +4 or, wrapped, -4."""
    from azsim.compress.ptq import quantize_model
    from azsim.config import load_model_config
    from azsim.model.weights import generate_weights, validate_weights
    cfg = load_model_config("tiny")
    w = generate_weights(cfg)
    h = cfg.encoder.hidden
    wx, b = w["enc.0.w_x"].copy(), w["enc.0.b"].copy()
    k = wx.shape[1]
    wx[0] = 3e-5
    for gate in (1, 2, 3):
        wx[gate * h] = 0.0
        b[gate * h] = 3.0
    scale = (1.0 / I8) * (3e-5 / I8)                   # in_scale x row scale
    b[0] = (I32_MAX - headroom) * scale
    w["enc.0.w_x"], w["enc.0.b"] = wx.astype(np.float32), b.astype(np.float32)
    validate_weights(w, cfg, "synthetic")
    return cfg, w, k, quantize_model(w, cfg, _stats(), 8)


def test_a_bias_the_quantizer_accepts_cannot_wrap_the_accumulator():
    """bias_q + sum(q x) must stay in int32 for every int8 input, or the quantizer must refuse
    the weights (as bias_to_int32 refuses a bias that alone does not fit). Before the headroom
    check in bias_to_int32 this ran: the accumulator wrapped to -2^31 + 2.9e6, gate i read
    sigmoid(-4) for sigmoid(+4) and the cell output was 2 instead of 91."""
    from azsim.errors import WeightsError
    from azsim.execute.integer import run_lstm
    try:
        cfg, w, k, qm = _tiny_with_big_bias(headroom=1_000_000)
    except WeightsError as exc:
        assert "enc.0.b[0]" in str(exc) and "accumulator" in str(exc)
        return
    layer = qm.enc[0]
    assert abs(int(layer.bias_q[0]) - (I32_MAX - 1_000_000)) < 1000   # float32 bias
    assert int(layer.w_x.q[0].min()) == I8
    xs = np.full((1, k), I8, np.int8)                # full-scale input, e.g. a loud frame
    exact = int(layer.bias_q[0]) + k * I8 * I8       # 2^31 + 2.9e6: beyond int32
    y, *_ = run_lstm(qm, layer, xs)
    # what the datapath must produce: the twin on the exact (unwrapped) accumulators
    acc_x = (layer.w_x.q.astype(np.int64) @ xs[0].astype(np.int64)
             + layer.bias_q.astype(np.int64))[None, :]
    assert acc_x[0, 0] == exact
    y_ref, *_ = R.lstm_sequence(acc_x, layer.w_r.q, layer.w_r.col_nnz, layer.mult_x,
                                layer.shift_x, layer.mult_r, layer.shift_r, qm.sigmoid_lut,
                                qm.tanh_lut, layer.h_mult, layer.h_shift, layer.w_p.q,
                                layer.w_p.col_nnz, layer.p_mult, layer.p_shift,
                                np.zeros(layer.hidden, np.int16),
                                np.zeros(layer.out_dim, np.int8))
    assert int(y[0, 0]) == int(y_ref[0, 0])


def test_a_bias_with_room_for_every_input_is_accepted():
    """The headroom rule refuses only what can overflow: 127 x sum|q| below the limit runs."""
    _, _, k, qm = _tiny_with_big_bias(headroom=240 * I8 * I8 + 1000)
    layer = qm.enc[0]
    assert k == 240
    worst = int(layer.bias_q[0]) + I8 * int(np.abs(layer.w_x.q[0].astype(np.int64)).sum())
    assert I32_MAX - 2000 < worst <= I32_MAX


# ---- requantization: int64 product and rounding shift --------------------------------------

def test_quantize_multiplier_keeps_the_int64_product_in_range():
    """The kernels compute acc * M + 2^(s-1) in int64: safe for |acc| <= 2^31 only while
    M < 2^31 and 1 <= s <= 62 (|acc * M| + 2^61 < 2^63); pin both at the extreme scales."""
    reals = np.array([5e-324, 1e-300, 2.0 ** -40, 1e-12, 1.0, 2.0 ** 30 * (1 - 2 ** -20),
                      (2.0 ** 31 - 0.5) / 2.0 ** 31])
    mult, shift = quantize_multiplier(reals)
    assert np.all((0 <= mult) & (mult < 2 ** 31))
    assert np.all((1 <= shift) & (shift <= 62))
    with pytest.raises(ValueError):
        quantize_multiplier(2.0 ** 30)


@pytest.mark.parametrize("acc", [I32_MIN, I32_MIN + 1, -1, 0, 1, I32_MAX])
@pytest.mark.parametrize("shift", [1, 31, 62])
def test_requantize_at_the_extremes_is_exact(acc, shift):
    mult = 2 ** 31 - 1
    exact = (acc * mult + (1 << (shift - 1))) >> shift       # Python int: no wrap
    want = min(max(exact, I32_MIN), I32_MAX)
    assert int(K.requantize_scalar(acc, mult, shift, I32_MIN, I32_MAX)) == want
    out = np.empty(1, np.int32)
    K.requantize_i32(np.array([acc], np.int32), np.array([mult], np.int64),
                     np.array([shift], np.int64), I32_MIN, I32_MAX, out)
    assert int(out[0]) == want


# ---- LSTM cell: gate sums, LUT indices, cell products --------------------------------------

def test_lstm_cell_at_saturated_accumulators_matches_the_twin():
    """Both gate accumulators at the int32 extremes with the largest multiplier: the two
    requantized terms (each clamped to int32) are summed in int64 and saturated to int16
    before the LUT, whose index then stays in 0..511 (entry idx + 1 <= 512)."""
    n_h = 4
    for a in (I32_MAX, I32_MIN):
        acc_x = np.full(4 * n_h, a, np.int32)
        acc_r = np.full(4 * n_h, a, np.int32)
        acc_x[n_h:2 * n_h] = -a - (a < 0)              # gate f opposite: exercise both signs
        mult = np.full(4 * n_h, 2 ** 31 - 1, np.int64)
        shift = np.full(4 * n_h, 1, np.int64)
        for c0 in (-32768, 32767):
            c = np.full(n_h, c0, np.int16)
            h = np.empty(n_h, np.int8)
            want_h, want_c = R.lstm_cell(acc_x, acc_r, mult, shift, mult, shift, c.copy(),
                                         SIGMOID_LUT, TANH_LUT, 2 ** 31 - 1, 1)
            K.lstm_cell(acc_x, acc_r, mult, shift, mult, shift, c, SIGMOID_LUT, TANH_LUT,
                        2 ** 31 - 1, 1, h)
            assert np.array_equal(c, want_c) and np.array_equal(h, want_h)


@pytest.mark.parametrize("x", [-32768, -32767, -1, 0, 32766, 32767])
def test_lut_index_at_the_int16_ends(x):
    """Index (x + 2^15) >> 7 is 0..511 for int16 x; the kernel reads entries idx and idx + 1
    of 513 without a bounds check, so its callers must saturate to int16 first."""
    u = x + 32768
    assert 0 <= u >> K.LUT_INDEX_SHIFT and (u >> K.LUT_INDEX_SHIFT) + 1 < K.LUT_ENTRIES
    for table in (SIGMOID_LUT, TANH_LUT):
        assert int(K.lut_interp(x, table)) == int(R.lut_interp(x, table))


# ---- joint: hidden sum, output accumulator, logits -----------------------------------------

def test_joint_step_at_the_extremes_saturates_logits():
    """z_enc + z_pred of two int32 extremes, the widest joint (16384) with all codes 127 and
    the largest multiplier: logits saturate to int32 (not wrap)."""
    n_j, n_v = schema._MAX_WIDTH, 3
    tanh = TANH_LUT
    for z in (I32_MAX, I32_MIN):
        z_enc = np.full(n_j, z, np.int32)
        w_out = np.full((n_v, n_j), I8, np.int8)
        w_out[1] = -I8
        w_out[2] = 0
        b_out = np.zeros(n_v, np.int32)
        col_nnz = np.count_nonzero(w_out, axis=0).astype(np.int64)
        mult = np.full(n_v, 2 ** 31 - 1, np.int64)
        shift = np.ones(n_v, np.int64)
        logits = np.empty(n_v, np.int32)
        best, nz, eff = K.joint_step(z_enc, z_enc, tanh, w_out, b_out, col_nnz, mult, shift,
                                     logits)
        want_best, want_logits, want_nz, want_eff = R.joint_step(z_enc, z_enc, tanh, w_out,
                                                                 b_out, col_nnz, mult, shift)
        assert np.array_equal(logits, want_logits) and (best, nz, eff) == (want_best, want_nz,
                                                                           want_eff)
        assert sorted(logits.tolist()) == [I32_MIN, 0, I32_MAX]


# ---- log-softmax: the differences of int32 logits and the exp sum ---------------------------

def test_log_softmax_at_the_extremes():
    """max - l spans 2^32 - 1 for saturated int32 logits (int64 in the kernel, the result
    saturated to the int32 the unit writes); the exp sum of 65536 equal logits (the largest
    vocabulary) is 2^31, its top bit 31."""
    from azsim.decode.scores import EXP_TABLE, LN_TABLE, SCORE_FRAC_BITS
    vmax = _range(schema.ModelConfig, "vocab_size")[1]
    cases = [np.array([I32_MAX, I32_MIN, 0], np.int32),
             np.full(vmax, I32_MAX, np.int32),
             np.full(vmax, I32_MIN, np.int32)]
    for logits in cases:
        out = np.empty(logits.shape[0], np.int64)
        lookups = K.log_softmax_q(logits, SCORE_FRAC_BITS, EXP_TABLE, LN_TABLE, out)
        want, want_lookups = D.log_softmax_q(logits, SCORE_FRAC_BITS, EXP_TABLE, LN_TABLE)
        assert np.array_equal(out, want) and lookups == want_lookups
    assert abs(int(out[0]) + np.log(vmax) * 2 ** SCORE_FRAC_BITS) < 3    # -ln(65536) nats
    out = np.empty(3, np.int64)
    # only the max is inside the exp table: one exp lookup and the ln lookup
    assert int(K.log_softmax_q(cases[0], SCORE_FRAC_BITS, EXP_TABLE, LN_TABLE, out)) == 2
    assert out.tolist() == [0, I32_MIN, -I32_MAX]     # I32_MIN - I32_MAX saturates


# ---- bit positions of the weight streams ---------------------------------------------------

def test_bit_positions_beyond_2_to_the_31():
    """The largest valid matrix (4 x 16384 rows x 131072 inputs, 8.6e9 weights) has streams
    of more than 2^31 bits: the readers' bit positions must be int64. A 2^28-byte zero payload
    (calloc: its pages are never touched) with fields past bit 2^31."""
    n = (1 << 28) + 16
    payload = np.zeros(n, np.uint8)
    base = 1 << 31                               # byte 2^28
    payload[(1 << 28):(1 << 28) + 4] = [0xA5, 0x3C, 0xFF, 0x01]
    bits = int.from_bytes(bytes(payload[(1 << 28):(1 << 28) + 8]), "little")
    out = np.empty(3, np.int64)
    end = K.read_fields(payload, base + 3, np.array([5, 9, 17], np.int64), out)
    assert end == base + 3 + 31
    assert out.tolist() == [(bits >> 3) & 31, (bits >> 8) & 511, (bits >> 17) & (2 ** 17 - 1)]
    codes = np.empty(4, np.int8)
    end = K.read_codes(payload, base + 1, 7, True, codes)
    assert end == base + 29
    want = [(bits >> (1 + 7 * i)) & 127 for i in range(4)]
    assert codes.tolist() == [v - 128 if v >= 64 else v for v in want]
