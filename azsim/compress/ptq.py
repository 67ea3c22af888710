"""Post-training quantization: float weights + calibration statistics -> integer RNN-T.

Every requantization step of ``kernels/`` gets its (multiplier, shift) pair here from the real
scales it must implement; see ``kernels/__init__.py`` for the fixed-point formats.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.schema import layer_bit_widths, matrix_layer
from ..errors import WeightsError
from ..kernels import CELL_FRAC_BITS, LUT_OUT_FRAC_BITS
from .format_base import Encoded
from .pipeline import encode_codes, quantize_and_encode
from .quantize import GATE_SCALE, SIGMOID_LUT, TANH_LUT, activation_scale, quantize_multiplier

# The LSTM kernel's cell arithmetic (shifts by 15 and 19) is written for a Q4.11 cell state.
assert CELL_FRAC_BITS == 11, "kernels/lstm.py's cell format changed; revisit its shifts"

LOGIT_FRAC_BITS = 10          # logits are compared as int32 at scale 2^-10
JOINT_HIDDEN_SCALE = 2.0 ** -7  # q15_to_i8 output


@dataclass(frozen=True)
class QMatrix:
    """A quantized weight matrix and what the simulator needs to know about it."""
    name: str
    q: np.ndarray        # int8 codes [O, I]
    scale: np.ndarray    # float64 per-row scales
    bits: int
    col_nnz: np.ndarray  # int64 nonzero codes per column (static weight sparsity)
    stream_bytes: int    # length of the encoded weight stream, header included
    symbols: int         # entries the on-chip decoder walks per pass over the matrix
    format: str          # the stream's format
    # Width of the weight values the MACs multiply: ``bits`` for a uniform grid, whose codes
    # are the values; 8 for a codebook, whose b-bit indices select int8 shared values
    # (azsim/compress/codebook.py), so a b-bit-packed lane cannot multiply them.
    mac_bits: int | None = None
    # The encoded stream itself (len == stream_bytes): a PE array that keeps each PE's rows in
    # its own bank stores it re-encoded per PE (azsim.compress.pipeline.row_slice_streams).
    stream: bytes = b""

    def __post_init__(self):
        if self.mac_bits is None:
            object.__setattr__(self, "mac_bits", self.bits)

    @property
    def nnz(self) -> int:
        return int(self.col_nnz.sum())

    @property
    def size(self) -> int:
        return int(self.q.size)

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nnz / self.size if self.size else 0.0


# The shared values of a codebook are int8 (azsim/compress/codebook.py)
CODEBOOK_VALUE_BITS = 8


def _qmatrix(name: str, q, scale, bits: int, enc: Encoded, mac_bits: int | None = None
             ) -> QMatrix:
    return QMatrix(name, q, scale, bits, np.count_nonzero(q, axis=0).astype(np.int64),
                   enc.nbytes, enc.symbols, enc.format, mac_bits, enc.stream)


def make_qmatrix(name: str, w: np.ndarray, bits: int, quantizer: str = "uniform",
                 fmt: str = "dense", pointer_bits: int = 16, rle_index_bits: int = 4,
                 grams: dict | None = None, unpruned: dict | None = None,
                 weight_range: str = "max") -> QMatrix:
    """``grams``: input Gram matrices by matrix name (calibration), for the gptq quantizer;
    ``unpruned``: the weights before pruning by name, whose pruned weights gptq compensates;
    ``weight_range``: the grid's per-row range ("max" or "mse", ``model.weight_range``)."""
    gram = grams.get(name) if grams is not None else None
    dense = unpruned.get(name) if unpruned is not None else None
    q, scale, enc = quantize_and_encode(w, bits, quantizer, fmt, pointer_bits, rle_index_bits,
                                        gram, dense, weight_range)
    return _qmatrix(name, q, scale, bits, enc,
                    CODEBOOK_VALUE_BITS if quantizer == "codebook" else bits)


def _empty_qmatrix(name: str) -> QMatrix:
    return QMatrix(name, np.zeros((0, 0), np.int8), np.zeros(0), 8, np.zeros(0, np.int64), 0, 0,
                   "none")


@dataclass(frozen=True)
class QLSTM:
    name: str
    w_x: QMatrix
    w_r: QMatrix
    w_p: QMatrix          # shape (0, 0) when the layer has no projection
    bias_q: np.ndarray    # int32, at scale in_scale * w_x.scale
    mult_x: np.ndarray
    shift_x: np.ndarray
    mult_r: np.ndarray
    shift_r: np.ndarray
    h_mult: int
    h_shift: int
    p_mult: np.ndarray
    p_shift: np.ndarray
    in_scale: float
    h_scale: float
    out_scale: float

    @property
    def hidden(self) -> int:
        return self.w_x.q.shape[0] // 4

    @property
    def has_projection(self) -> bool:
        return self.w_p.q.shape[0] > 0

    @property
    def out_dim(self) -> int:
        return self.w_r.q.shape[1]


def bias_to_int32(name: str, b: np.ndarray, scale: float, codes: np.ndarray | None = None
                  ) -> np.ndarray:
    """A bias as int32 at its accumulator's scale. A bias too large for int32 there cannot run
    on the integer datapath: an error naming the array, not a silent wrap-around.

    With ``codes`` (the int8 weight codes [O, I] the bias is added to), the bias must also
    leave room for the products: the accumulator starts at the bias and adds up to
    127 x sum_i |codes[o, i]| (int8 activations lie in [-127, 127]), and all of it must fit
    int32, as an integer NPU's compiler checks before it maps a layer onto int32 accumulators
    (which wrap, or saturate, at run time without telling anyone). Rows of tiny weights under
    an O(1) bias reach that: their accumulator step is tiny, so the bias is ~2^31 steps."""
    b = np.asarray(b, np.float64)
    scale = np.broadcast_to(np.asarray(scale, np.float64), b.shape)   # per row or one
    q = np.rint(b / scale)
    if q.size and not np.max(np.abs(q)) < 2 ** 31:
        k = int(np.argmax(np.abs(q)))
        raise WeightsError(f"{name}[{k}] = {b[k]:.3g} is {q[k]:.3g} at its accumulator's "
                           f"scale ({scale[k]:.3g}); int32 holds less than 2^31 in magnitude "
                           "(trained biases are O(1))")
    if codes is not None and q.size:
        reach = 127 * np.abs(np.asarray(codes, np.int64)).sum(axis=1)   # the products' most
        worst = np.abs(q.astype(np.int64)) + reach
        if np.max(worst) > 2 ** 31 - 1:
            k = int(np.argmax(worst))
            raise WeightsError(
                f"{name}[{k}] = {b[k]:.3g} is {q[k]:.0f} at its accumulator's scale "
                f"({scale[k]:.3g}, set by row {k}'s weights); with the row's products (up to "
                f"{int(reach[k])}) the int32 accumulator would reach {int(worst[k])}, beyond "
                "2^31 - 1, and wrap: the row's weights are too small beside its bias")
    return q.astype(np.int32)


def _quantize_lstm(w, prefix: str, qmat, in_scale: float, stats) -> QLSTM:
    """One LSTM layer; ``qmat(name)``: that weight matrix quantized and encoded at its
    layer's bit-width."""
    w_x = qmat(f"{prefix}.w_x")
    w_r = qmat(f"{prefix}.w_r")
    h_scale = activation_scale(stats[f"{prefix}.h"])
    has_proj = f"{prefix}.w_p" in w
    out_scale = activation_scale(stats[f"{prefix}.r"]) if has_proj else h_scale
    mult_x, shift_x = quantize_multiplier(in_scale * w_x.scale * GATE_SCALE)
    mult_r, shift_r = quantize_multiplier(out_scale * w_r.scale * GATE_SCALE)
    # o * tanh(c) is a Q0.30 product: real value = product * 2^-30.
    h_mult, h_shift = quantize_multiplier(2.0 ** -(2 * LUT_OUT_FRAC_BITS) / h_scale)
    bias_q = bias_to_int32(f"{prefix}.b", w[f"{prefix}.b"], in_scale * w_x.scale, w_x.q)
    if has_proj:
        w_p = qmat(f"{prefix}.w_p")
        p_mult, p_shift = quantize_multiplier(h_scale * w_p.scale / out_scale)
    else:
        w_p = _empty_qmatrix(f"{prefix}.w_p")
        p_mult, p_shift = np.zeros(0, np.int64), np.zeros(0, np.int64)
    return QLSTM(prefix, w_x, w_r, w_p, bias_q.astype(np.int32), mult_x, shift_x, mult_r,
                 shift_r, int(h_mult[0]), int(h_shift[0]), p_mult, p_shift, in_scale, h_scale,
                 out_scale)


@dataclass(frozen=True)
class QuantizedRNNT:
    cfg: object
    weight_bits: int
    frontend_mean: np.ndarray
    frontend_std: np.ndarray
    in_scale: float
    enc: tuple[QLSTM, ...]
    embed: QMatrix            # int8 per-row codes; rows are looked up, not multiplied
    embed_scale: float
    pred: tuple[QLSTM, ...]
    joint_enc: QMatrix
    joint_b: np.ndarray       # int32 at scale enc_out_scale * joint_enc.scale
    je_mult: np.ndarray
    je_shift: np.ndarray
    joint_pred: QMatrix
    jp_mult: np.ndarray
    jp_shift: np.ndarray
    joint_out: QMatrix
    out_b: np.ndarray         # int32 at scale JOINT_HIDDEN_SCALE * joint_out.scale
    out_mult: np.ndarray
    out_shift: np.ndarray
    sigmoid_lut: np.ndarray
    tanh_lut: np.ndarray

    def matrices(self) -> list[QMatrix]:
        mats = []
        for layer in self.enc + self.pred:
            mats += [layer.w_x, layer.w_r] + ([layer.w_p] if layer.has_projection else [])
        return mats + [self.embed, self.joint_enc, self.joint_pred, self.joint_out]

    @property
    def weight_stream_bytes(self) -> int:
        return sum(m.stream_bytes for m in self.matrices())


def _quantize_stack(w, prefix: str, n_layers: int, qmat, in_scale: float,
                    stats) -> list[QLSTM]:
    """Quantize stacked LSTM layers; each layer's input scale is the previous one's output scale."""
    layers = []
    for layer in range(n_layers):
        layers.append(_quantize_lstm(w, f"{prefix}.{layer}", qmat, in_scale, stats))
        in_scale = layers[-1].out_scale
    return layers


def quantize_model(w: dict, cfg, stats: dict[str, float], bits: int,
                   grams: dict[str, np.ndarray] | None = None,
                   unpruned: dict[str, np.ndarray] | None = None) -> QuantizedRNNT:
    """Quantize float weights to ``bits`` with activation scales from calibration ``stats``;
    the quantizer, the stream format and any layer's own bit-width (``model.layer_bits``)
    come from ``cfg`` (pruning happens before calibration).
    ``grams``: each matrix's calibration-input Gram matrix (``loading.calibration_stats(...,
    input_grams=True)``), which ``model.quantizer = "gptq"`` needs; with ``unpruned`` (the
    weights before pruning) it also compensates what pruning removed."""
    if cfg.quantizer == "gptq" and grams is None:
        raise ValueError("model.quantizer = gptq needs the calibration inputs' Gram matrices")
    comp = {"quantizer": cfg.quantizer, "fmt": cfg.weight_format,
            "pointer_bits": cfg.pointer_bits, "rle_index_bits": cfg.rle_index_bits,
            "grams": grams, "unpruned": unpruned, "weight_range": cfg.weight_range}
    widths = layer_bit_widths(cfg, bits)

    def qmat(name: str) -> QMatrix:
        return make_qmatrix(name, w[name], widths[matrix_layer(name)], **comp)

    in_scale = activation_scale(stats["enc.in"])
    enc = _quantize_stack(w, "enc", cfg.encoder.lstm_layers, qmat, in_scale, stats)
    enc_scale = enc[-1].out_scale
    # The embedding is a lookup table whose rows become the prediction network's input
    # activations, so it stays int8 with one per-tensor scale whatever the weight bit-width.
    emb = w["pred.embed"]
    embed_scale = activation_scale(float(np.max(np.abs(emb))))
    emb_q = np.clip(np.rint(emb / embed_scale), -127, 127).astype(np.int8)
    embed = _qmatrix("pred.embed", emb_q, np.full(emb.shape[0], embed_scale), 8,
                     encode_codes(emb_q, 8, "dense"))
    pred = _quantize_stack(w, "pred", cfg.prediction.lstm_layers, qmat, embed_scale, stats)
    pred_scale = pred[-1].out_scale
    je, jp, jo = qmat("joint.w_enc"), qmat("joint.w_pred"), qmat("joint.w_out")
    je_mult, je_shift = quantize_multiplier(enc_scale * je.scale * GATE_SCALE)
    jp_mult, jp_shift = quantize_multiplier(pred_scale * jp.scale * GATE_SCALE)
    out_mult, out_shift = quantize_multiplier(JOINT_HIDDEN_SCALE * jo.scale * 2.0 ** LOGIT_FRAC_BITS)
    joint_b = bias_to_int32("joint.b", w["joint.b"], enc_scale * je.scale, je.q)
    out_b = bias_to_int32("joint.b_out", w["joint.b_out"], JOINT_HIDDEN_SCALE * jo.scale,
                          jo.q)
    return QuantizedRNNT(cfg, bits, w["frontend.mean"], w["frontend.std"], in_scale, tuple(enc),
                         embed, embed_scale, tuple(pred), je, joint_b, je_mult, je_shift, jp,
                         jp_mult, jp_shift, jo, out_b, out_mult, out_shift, SIGMOID_LUT, TANH_LUT)
