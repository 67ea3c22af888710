"""Integer LSTM (with optional projection, LSTMP of Sak et al., Interspeech 2014).

Gate order i, f, g, o (PyTorch's, so trained weights export without reordering).
Per step t, with x-part accumulators precomputed for the whole sequence by ``gemm_i8``:

    z      = sat16(rq(acc_x[t]) + rq(W_r @ r_{t-1}))        Q3.12, per-channel rq
    i,f,o  = sigmoid_lut(z_i, z_f, z_o); g = tanh_lut(z_g)   Q0.15
    c_t    = sat16((f*c + 2^14) >> 15) + ((i*g + 2^18) >> 19))   Q4.11
    h_t    = rq(o * tanh_lut(sat16(c_t << 1)))               int8, calibrated scale
    r_t    = rq(W_p @ h_t)  if projecting, else h_t           int8

The recurrent input r is the layer output (the projection when there is one), as in LSTMP.
"""
import numpy as np

from .gemv import gemv_i8
from .jit import jit
from .lut import lut_interp
from .requant import requantize_scalar, saturate_i16

CELL_FRAC_BITS = 11  # Q4.11 cell state
_I32_MIN = -2147483648
_I32_MAX = 2147483647


@jit
def lstm_cell(acc_x, acc_r, mult_x, shift_x, mult_r, shift_r, c, sig_table, tanh_table,
              h_mult, h_shift, h_out):
    """One LSTM cell update from int32 gate accumulators; updates ``c`` (int16) in place."""
    n_h = c.shape[0]
    for k in range(n_h):
        z0 = saturate_i16(requantize_scalar(acc_x[k], mult_x[k], shift_x[k], _I32_MIN, _I32_MAX)
                          + requantize_scalar(acc_r[k], mult_r[k], shift_r[k], _I32_MIN, _I32_MAX))
        k1 = n_h + k
        z1 = saturate_i16(requantize_scalar(acc_x[k1], mult_x[k1], shift_x[k1], _I32_MIN, _I32_MAX)
                          + requantize_scalar(acc_r[k1], mult_r[k1], shift_r[k1], _I32_MIN, _I32_MAX))
        k2 = 2 * n_h + k
        z2 = saturate_i16(requantize_scalar(acc_x[k2], mult_x[k2], shift_x[k2], _I32_MIN, _I32_MAX)
                          + requantize_scalar(acc_r[k2], mult_r[k2], shift_r[k2], _I32_MIN, _I32_MAX))
        k3 = 3 * n_h + k
        z3 = saturate_i16(requantize_scalar(acc_x[k3], mult_x[k3], shift_x[k3], _I32_MIN, _I32_MAX)
                          + requantize_scalar(acc_r[k3], mult_r[k3], shift_r[k3], _I32_MIN, _I32_MAX))
        gi = lut_interp(z0, sig_table)
        gf = lut_interp(z1, sig_table)
        gg = lut_interp(z2, tanh_table)
        go = lut_interp(z3, sig_table)
        c_new = saturate_i16(((gf * np.int64(c[k]) + (1 << 14)) >> 15)
                             + ((gi * gg + (1 << 18)) >> 19))
        c[k] = c_new
        t = lut_interp(saturate_i16(c_new << 1), tanh_table)
        h_out[k] = requantize_scalar(go * t, h_mult, h_shift, -127, 127)


@jit
def lstm_sequence(acc_x, w_r, col_nnz_r, mult_x, shift_x, mult_r, shift_r,
                  sig_table, tanh_table, h_mult, h_shift,
                  w_p, col_nnz_p, p_mult, p_shift,
                  c, r, y, nz_r, eff_r, nz_p, eff_p, h_seq):
    """Run the LSTM over T steps; state ``c`` (int16 [H]) and ``r`` (int8 [D]) in/out.

    ``acc_x`` is int32 [T, 4H] (input part + bias). ``w_p`` has shape (0, 0) when the layer has
    no projection. Writes the outputs ``y`` (int8 [T, D]), the cell outputs ``h_seq`` (int8
    [T, H]: the projection's input activations, which the cost stage needs per step; equal to
    ``y`` without projection) and per-step event counts: nonzero recurrent inputs and effectual
    recurrent MACs (``nz_r``, ``eff_r``), and the same for the projection (``nz_p``, ``eff_p``).
    """
    n_t = acc_x.shape[0]
    n_h = c.shape[0]
    has_proj = w_p.shape[0] > 0
    acc_r = np.empty(4 * n_h, np.int32)
    zero_bias_r = np.zeros(4 * n_h, np.int32)
    h = np.empty(n_h, np.int8)
    acc_p = np.empty(w_p.shape[0], np.int32)
    zero_bias_p = np.zeros(w_p.shape[0], np.int32)
    for t in range(n_t):
        nz, eff = gemv_i8(w_r, r, zero_bias_r, col_nnz_r, acc_r)
        nz_r[t] = nz
        eff_r[t] = eff
        lstm_cell(acc_x[t], acc_r, mult_x, shift_x, mult_r, shift_r, c, sig_table, tanh_table,
                  h_mult, h_shift, h)
        for k in range(n_h):
            h_seq[t, k] = h[k]
        if has_proj:
            nz, eff = gemv_i8(w_p, h, zero_bias_p, col_nnz_p, acc_p)
            nz_p[t] = nz
            eff_p[t] = eff
            for k in range(w_p.shape[0]):
                r[k] = requantize_scalar(acc_p[k], p_mult[k], p_shift[k], -127, 127)
        else:
            for k in range(n_h):
                r[k] = h[k]
        for k in range(r.shape[0]):
            y[t, k] = r[k]
