"""One joint-network step of the integer RNN-T.

hidden = q15_to_i8(tanh_lut(sat16(z_enc + z_pred)))     (scale 2^-7)
logits = rq(w_out @ hidden + b_out)                      (int32, common scale for argmax)

``z_enc`` and ``z_pred`` are the Q3.12 joint projections of the encoder frame and of the
prediction output, each computed once and reused across steps (as hardware would cache them).
"""
import numpy as np

from .gemv import gemv_i8
from .jit import jit
from .lut import lut_interp
from .requant import q15_to_i8, requantize_scalar, saturate_i16


@jit
def joint_hidden(z_enc, z_pred, tanh_table, hidden):
    """Writes the int8 joint hidden vector (the output layer's input activations)."""
    for k in range(z_enc.shape[0]):
        hidden[k] = q15_to_i8(lut_interp(saturate_i16(np.int64(z_enc[k]) + z_pred[k]), tanh_table))


@jit
def joint_step(z_enc, z_pred, tanh_table, w_out, b_out, col_nnz, mult, shift, logits):
    """Writes int32 logits; returns (argmax, nonzero hidden, effectual output MACs). Needs at
    least one output row (the model schema's vocab_size >= 2): with none it returns token 0,
    where the twin raises (kernel audit, 2026-12-07)."""
    n_j = z_enc.shape[0]
    hidden = np.empty(n_j, np.int8)
    joint_hidden(z_enc, z_pred, tanh_table, hidden)
    acc = np.empty(w_out.shape[0], np.int32)
    nz, eff = gemv_i8(w_out, hidden, b_out, col_nnz, acc)
    best = 0
    for v in range(acc.shape[0]):
        logits[v] = requantize_scalar(acc[v], mult[v], shift[v], -2147483648, 2147483647)
        if logits[v] > logits[best]:
            best = v
    return best, nz, eff
