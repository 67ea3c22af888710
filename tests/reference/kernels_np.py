"""Plain NumPy twins of the Numba kernels in ``kernels/``.

Written for obviousness, not speed: whole-array int64 arithmetic that follows the formulas in
the kernels' docstrings. Tests compare every kernel against its twin bit for bit.
"""
import numpy as np

I32_MIN, I32_MAX = -(2 ** 31), 2 ** 31 - 1


def requantize(acc, mult, shift, lo, hi):
    acc = np.asarray(acc, np.int64)
    mult = np.asarray(mult, np.int64)
    shift = np.asarray(shift, np.int64)
    v = (acc * mult + (np.int64(1) << (shift - 1))) >> shift
    return np.clip(v, lo, hi)


def sat16(v):
    return np.clip(np.asarray(v, np.int64), -32768, 32767)


def q15_to_i8(v):
    return np.clip((np.asarray(v, np.int64) + 128) >> 8, -127, 127)


def lut_interp(x, table):
    u = np.asarray(x, np.int64) + 32768
    idx = u >> 7
    frac = u & 127
    t = np.asarray(table, np.int64)
    a, b = t[idx], t[idx + 1]
    return a + (((b - a) * frac + 64) >> 7)


def gemv(w, x, bias, col_nnz):
    acc = w.astype(np.int64) @ x.astype(np.int64) + bias.astype(np.int64)
    assert np.all((acc >= I32_MIN) & (acc <= I32_MAX)), "int32 overflow in reference"
    nz = int(np.count_nonzero(x))
    eff = int(np.sum(col_nnz[x != 0]))
    return acc.astype(np.int32), nz, eff


def gemm(w, xs, bias, col_nnz):
    outs, nzs, effs = [], [], []
    for x in xs:
        a, nz, eff = gemv(w, x, bias, col_nnz)
        outs.append(a)
        nzs.append(nz)
        effs.append(eff)
    out = np.array(outs, np.int32).reshape(len(xs), w.shape[0])
    return out, np.array(nzs, np.int64), np.array(effs, np.int64)


def lstm_cell(acc_x, acc_r, mult_x, shift_x, mult_r, shift_r, c, sig, tanh, h_mult, h_shift):
    z = sat16(requantize(acc_x, mult_x, shift_x, I32_MIN, I32_MAX)
              + requantize(acc_r, mult_r, shift_r, I32_MIN, I32_MAX))
    zi, zf, zg, zo = np.split(z, 4)
    gi, gf, go = lut_interp(zi, sig), lut_interp(zf, sig), lut_interp(zo, sig)
    gg = lut_interp(zg, tanh)
    c_new = sat16(((gf * c.astype(np.int64) + (1 << 14)) >> 15) + ((gi * gg + (1 << 18)) >> 19))
    t = lut_interp(sat16(c_new << 1), tanh)
    h = requantize(go * t, h_mult, h_shift, -127, 127)
    return h.astype(np.int8), c_new.astype(np.int16)


def lstm_sequence(acc_x, w_r, col_nnz_r, mult_x, shift_x, mult_r, shift_r, sig, tanh,
                  h_mult, h_shift, w_p, col_nnz_p, p_mult, p_shift, c, r):
    c, r = c.copy(), r.copy()
    ys, ev, hs = [], [], []
    for t in range(acc_x.shape[0]):
        acc_r, nz_r, eff_r = gemv(w_r, r, np.zeros(w_r.shape[0], np.int32), col_nnz_r)
        h, c = lstm_cell(acc_x[t], acc_r, mult_x, shift_x, mult_r, shift_r, c, sig, tanh,
                         h_mult, h_shift)
        hs.append(h.copy())
        nz_p = eff_p = 0
        if w_p.shape[0] > 0:
            acc_p, nz_p, eff_p = gemv(w_p, h, np.zeros(w_p.shape[0], np.int32), col_nnz_p)
            r = requantize(acc_p, p_mult, p_shift, -127, 127).astype(np.int8)
        else:
            r = h
        ys.append(r.copy())
        ev.append((nz_r, eff_r, nz_p, eff_p))
    y = np.array(ys, np.int8).reshape(acc_x.shape[0], r.shape[0])   # r's width: 0 steps too
    h_seq = np.array(hs, np.int8).reshape(acc_x.shape[0], c.shape[0])
    return y, c, r, np.array(ev, np.int64).reshape(-1, 4), h_seq


def joint_hidden(z_enc, z_pred, tanh):
    return q15_to_i8(lut_interp(sat16(np.asarray(z_enc, np.int64) + z_pred), tanh)).astype(np.int8)


def joint_step(z_enc, z_pred, tanh, w_out, b_out, col_nnz, mult, shift):
    hidden = joint_hidden(z_enc, z_pred, tanh)
    acc, nz, eff = gemv(w_out, hidden, b_out, col_nnz)
    logits = requantize(acc, mult, shift, I32_MIN, I32_MAX)
    return int(np.argmax(logits)), logits, nz, eff


def golomb_decode(payload, n_bits, m_z, m_v, fixed_width, palette, n):
    """Slow reference: the same walk over a Python list of bits."""
    bits = [(byte >> j) & 1 for byte in bytes(payload) for j in range(8)][:n_bits]
    out = np.zeros(n, np.int8)
    pos = 0

    def field(width):
        nonlocal pos
        if pos + width > len(bits):
            return None
        v = sum(bits[pos + j] << j for j in range(width))
        pos += width
        return v

    def golomb(m):
        nonlocal pos
        q = 0
        while True:
            if pos >= len(bits):
                return None
            bit = bits[pos]
            pos += 1
            if bit == 0:
                break
            q += 1
        b = max(m - 1, 0).bit_length()   # ceil(log2 m)
        c = (1 << b) - m
        if b == 0:
            return q
        r = field(b - 1)
        if r is None:
            return None
        if r >= c:
            x = field(1)
            if x is None:
                return None
            r = ((r << 1) | x) - c
        return q * m + r

    idx = 0
    while True:
        run = golomb(m_z)
        if run is None:
            return -1, out
        idx += run
        if idx == n:   # only the last byte's zero padding may follow
            rest = bits[pos:]
            return (0 if len(rest) < 8 and not any(rest) else -4), out
        if idx > n:
            return -2, out
        u = field(m_v) if fixed_width else golomb(m_v)
        if u is None:
            return -1, out
        if u >= len(palette):
            return -3, out
        out[idx] = palette[u]
        idx += 1


def pack_codes(ones, terminated, field, width):
    """Vectorized twin: scatter the one-bits and the field bits into a bit array."""
    lengths = ones + terminated + width
    starts = np.cumsum(lengths) - lengths
    bits = np.zeros(int(lengths.sum()), np.uint8)
    n_ones = int(ones.sum())
    if n_ones:
        offset = np.arange(n_ones) - np.repeat(np.cumsum(ones) - ones, ones)
        bits[np.repeat(starts, ones) + offset] = 1
    field_start = starts + ones + terminated
    for j in range(int(width.max(initial=0))):
        sel = width > j
        bits[field_start[sel] + j] = ((field[sel] >> j) & 1).astype(np.uint8)
    return np.packbits(bits, bitorder="little").tobytes()


def read_fields(payload, start_bit, widths):
    """Twin: expand to one byte per bit, then sum the weighted bits of each field."""
    bits = np.unpackbits(np.asarray(payload, np.uint8), bitorder="little").astype(np.int64)
    out, pos = [], start_bit
    for w in widths:
        out.append(int((bits[pos:pos + w] << np.arange(w)).sum()))
        pos += w
    return np.array(out, np.int64), pos


def read_codes(payload, start_bit, width, signed, count):
    """Twin: the fields by :func:`read_fields`'s twin, then each mapped to its code."""
    fields, pos = read_fields(payload, start_bit, [width] * count)
    if signed:
        fields = 2 * fields - 1 if width == 1 else np.where(fields >= 1 << (width - 1),
                                                           fields - (1 << width), fields)
    return fields, pos


def matmul_nt(x, w):
    """``x @ w.T``: every output the float64 sum over k, in ascending order, of exact
    float32 x float32 products, rounded to float32 once (``kernels/fmatmul.py``)."""
    x64 = np.asarray(x, np.float64)
    w64 = np.asarray(w, np.float64)
    acc = np.zeros((x64.shape[0], w64.shape[0]), np.float64)
    for k in range(x64.shape[1]):
        acc += x64[:, k, None] * w64[None, :, k]
    return acc.astype(np.float32)


def gram_accumulate(g, x):
    x64 = np.asarray(x, np.float64)
    return g + x64.T @ x64


def inverse_upper_cholesky(h):
    """Upper U with h^-1 = U^T U (GPTQ's factor), by LAPACK."""
    return np.linalg.cholesky(np.linalg.inv(h)).T


def gptq_round(w, upper, scale, qmax, binary, keep):
    """GPTQ with block size 1, all rows at once (Frantar et al. 2023, Algorithm 1)."""
    work = np.array(w, np.float64)
    codes = np.zeros(work.shape, np.int8)
    for i in range(work.shape[1]):
        v = work[:, i]
        c = np.where(v >= 0, 1.0, -1.0) if binary else np.clip(np.rint(v / scale), -qmax, qmax)
        c = np.where(keep[:, i], c, 0.0)
        codes[:, i] = c
        err = (v - c * scale) / upper[i, i]
        work[:, i + 1:] -= np.outer(err, upper[i, i + 1:])
    return codes


def obs_prune(w, upper, block_counts, block, per_row):
    """SparseGPT's pruning sweep, all rows at once (its reference code's layout): a block's
    mask by one stable sort of w^2 / U[i, i]^2 (per row: one sort per row), then each
    column's pruned values spread."""
    work = np.array(w, np.float64)
    n_in = work.shape[1]
    for b0 in range(0, n_in, block):
        b1 = min(b0 + block, n_in)
        d = np.diag(upper)[b0:b1]
        saliency = work[:, b0:b1] ** 2 / (d * d)[None, :]
        k = block_counts[b0 // block]
        if per_row:
            pruned = np.zeros(saliency.shape, bool)
            np.put_along_axis(pruned, np.argsort(saliency, axis=1, kind="stable")[:, :k], True,
                              axis=1)
        else:
            pruned = np.zeros(saliency.size, bool)
            pruned[np.argsort(saliency.ravel(), kind="stable")[:k]] = True
            pruned = pruned.reshape(saliency.shape)
        for i in range(b0, b1):
            err = np.where(pruned[:, i - b0], work[:, i] / upper[i, i], 0.0)
            work[:, i] = np.where(pruned[:, i - b0], 0.0, work[:, i])
            work[:, i + 1:] -= np.outer(err, upper[i, i + 1:])
    return work


def mse_row_scales(w, qmax, factors):
    """Every candidate step of every row at once; the first minimum (the widest range) wins."""
    w = np.asarray(w, np.float64)
    top = np.max(np.abs(w), axis=1) if w.shape[1] else np.zeros(w.shape[0])
    steps = factors[:, None] * top[None, :] / qmax                       # [K, O]
    codes = np.clip(np.rint(w[None] / np.where(steps > 0, steps, 1.0)[:, :, None]), -qmax, qmax)
    with np.errstate(over="ignore"):   # |w| ~ 1e155 and more: every error is inf
        sq = (w[None] - codes * steps[:, :, None]) ** 2
    err = np.cumsum(sq, axis=2)[:, :, -1] if w.shape[1] else np.zeros(steps.shape)  # in order
    err = np.where(steps > 0, err, np.inf)    # a step that underflows to 0 is no grid
    best = np.argmin(err, axis=0)
    chosen = steps[best, np.arange(w.shape[0])]
    return np.where(chosen > 0, chosen, 1.0)
