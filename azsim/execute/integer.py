"""The integer RNN-T frame loop: kernels compute outputs and, in the same pass, events.

Encoder layers run layer by layer over the whole utterance. Each layer is causal (a
unidirectional LSTM), so this gives bit-identical outputs to a frame-by-frame stream; every
event is attributed to the encoder input frame at which the hardware would perform it, which
is what the streaming timeline of the cost stage needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels as K
from ..compress.ptq import QLSTM, QMatrix, QuantizedRNNT
from ..compress.quantize import quantize_activations
from ..model.float_ref import encoder_input, reduce_time, stacked_count
from ..model.vocab import BLANK
from .events import EventLog, LayerInfo

_I32_MIN, _I32_MAX = -(2 ** 31), 2 ** 31 - 1


def _info(m: QMatrix, kind: str, name: str | None = None) -> LayerInfo:
    o, i = m.q.shape
    return LayerInfo(name or m.name, kind, o, i, m.size, m.nnz, m.bits, m.stream_bytes, m.symbols,
                     m.format)


def _lstm_info(layer: QLSTM) -> list[LayerInfo]:
    """An LSTM's input and recurrent gate matrices run as one fused layer; the projection apart."""
    wx, wr = layer.w_x, layer.w_r
    infos = [LayerInfo(f"{layer.name}.lstm", "lstm", wx.q.shape[0], wx.q.shape[1] + wr.q.shape[1],
                       wx.size + wr.size, wx.nnz + wr.nnz, wx.bits,
                       wx.stream_bytes + wr.stream_bytes, wx.symbols + wr.symbols, wx.format)]
    if layer.has_projection:
        infos.append(_info(layer.w_p, "projection", f"{layer.name}.proj"))
    return infos


def layer_infos(qm: QuantizedRNNT) -> list[LayerInfo]:
    infos = []
    for layer in qm.enc:
        infos += _lstm_info(layer)
    infos.append(_info(qm.embed, "embedding"))
    for layer in qm.pred:
        infos += _lstm_info(layer)
    infos += [_info(qm.joint_enc, "linear", "joint.enc"), _info(qm.joint_pred, "linear", "joint.pred"),
              _info(qm.joint_out, "joint_out", "joint.out")]
    return infos


@dataclass
class UtteranceResult:
    tokens: list[int]
    token_frames: list[int]   # encoder input frame at which each token was emitted
    enc_out: np.ndarray       # int8 encoder outputs [T_enc, D]
    enc_scale: float
    events: EventLog
    n_frames: int             # encoder input frames (after stacking)


def _lstm_events(log: EventLog, layer: QLSTM, frames, nz_x, eff_x, ev) -> None:
    """Record one LSTM layer's per-step events (ev columns: nz_r, eff_r, nz_p, eff_p)."""
    n_h, d_out, n_in = layer.hidden, layer.out_dim, layer.w_x.q.shape[1]
    info = log.layers[log.index[f"{layer.name}.lstm"]]
    log.add(info.name, frames, invocations=1, macs_dense=info.n_out * info.n_in,
            macs_nonzero_weight=info.weight_nnz, macs_effectual=eff_x + ev[:, 1],
            act_nonzero=nz_x + ev[:, 0], weight_bytes=info.weight_stream_bytes,
            decode_symbols=info.weight_symbols,
            act_read_bytes=n_in + d_out + 2 * n_h,       # x, r (int8) and c (int16)
            act_write_bytes=2 * n_h + n_h,               # c (int16) and h (int8)
            lut_lookups=5 * n_h)                          # 3 sigmoids, 2 tanh per unit
    if layer.has_projection:
        p = layer.w_p
        log.add(f"{layer.name}.proj", frames, invocations=1, macs_dense=p.size,
                macs_nonzero_weight=p.nnz, macs_effectual=ev[:, 3], act_nonzero=ev[:, 2],
                weight_bytes=p.stream_bytes, decode_symbols=p.symbols, act_read_bytes=p.q.shape[1],
                act_write_bytes=p.q.shape[0])


def run_lstm(qm: QuantizedRNNT, layer: QLSTM, xs: np.ndarray, state=None):
    """Integer LSTM over xs (int8 [T, I]); returns outputs, new state, per-step events."""
    n_t, n_h = xs.shape[0], layer.hidden
    acc_x = np.empty((n_t, 4 * n_h), np.int32)
    nz_x = np.empty(n_t, np.int64)
    eff_x = np.empty(n_t, np.int64)
    K.gemm_i8(layer.w_x.q, xs, layer.bias_q, layer.w_x.col_nnz, acc_x, nz_x, eff_x)
    c, r = (state[0].copy(), state[1].copy()) if state is not None else \
        (np.zeros(n_h, np.int16), np.zeros(layer.out_dim, np.int8))
    y = np.empty((n_t, layer.out_dim), np.int8)
    ev = np.zeros((n_t, 4), np.int64)
    K.lstm_sequence(acc_x, layer.w_r.q, layer.w_r.col_nnz, layer.mult_x, layer.shift_x,
                    layer.mult_r, layer.shift_r, qm.sigmoid_lut, qm.tanh_lut, layer.h_mult,
                    layer.h_shift, layer.w_p.q, layer.w_p.col_nnz, layer.p_mult, layer.p_shift,
                    c, r, y, ev[:, 0], ev[:, 1], ev[:, 2], ev[:, 3])
    return y, (c, r), nz_x, eff_x, ev


def quantize_input(qm: QuantizedRNNT, features: np.ndarray) -> np.ndarray:
    xs = encoder_input(features, qm.frontend_mean, qm.frontend_std, qm.cfg.encoder)
    return quantize_activations(xs, qm.in_scale)


def run_encoder(qm: QuantizedRNNT, features: np.ndarray, log: EventLog):
    """Integer encoder; returns int8 outputs and the input frame index of each output."""
    enc = qm.cfg.encoder
    xs = quantize_input(qm, features)
    frames = np.arange(xs.shape[0])
    for k, layer in enumerate(qm.enc):
        y, _, nz_x, eff_x, ev = run_lstm(qm, layer, xs)
        _lstm_events(log, layer, frames, nz_x, eff_x, ev)
        xs = y
        if enc.time_reduction_after == k + 1 and enc.time_reduction_factor > 1:
            f = enc.time_reduction_factor
            xs = reduce_time(xs, f)
            frames = frames[f - 1::f][: xs.shape[0]]  # a group is ready at its last frame
    return xs, frames


class _Predictor:
    """Prediction network + cached joint projection of its output, with events."""

    def __init__(self, qm: QuantizedRNNT, log: EventLog):
        self.qm, self.log = qm, log
        self.states = [None] * len(qm.pred)
        self.z_pred = np.empty(qm.joint_pred.q.shape[0], np.int32)

    def step(self, token: int, frame: int) -> None:
        qm, log = self.qm, self.log
        x = qm.embed.q[token][None, :]
        log.add("pred.embed", frame, invocations=1, weight_bytes=qm.embed.q.shape[1],
                decode_symbols=qm.embed.q.shape[1],
                act_write_bytes=qm.embed.q.shape[1])
        for k, layer in enumerate(qm.pred):
            x, self.states[k], nz_x, eff_x, ev = run_lstm(qm, layer, x, self.states[k])
            _lstm_events(log, layer, frame, nz_x, eff_x, ev)
        jp = qm.joint_pred
        acc = np.empty(jp.q.shape[0], np.int32)
        nz, eff = K.gemv_i8(jp.q, x[0], np.zeros(jp.q.shape[0], np.int32), jp.col_nnz, acc)
        K.requantize_i32(acc, qm.jp_mult, qm.jp_shift, _I32_MIN, _I32_MAX, self.z_pred)
        log.add("joint.pred", frame, invocations=1, macs_dense=jp.size, macs_nonzero_weight=jp.nnz,
                macs_effectual=eff, act_nonzero=nz, weight_bytes=jp.stream_bytes,
                decode_symbols=jp.symbols,
                act_read_bytes=jp.q.shape[1], act_write_bytes=4 * jp.q.shape[0])


def greedy_decode(qm: QuantizedRNNT, enc_out: np.ndarray, enc_frames: np.ndarray, log: EventLog):
    """Greedy integer decoding; returns tokens and the input frame of each emission."""
    je, jo = qm.joint_enc, qm.joint_out
    n_j, n_v = je.q.shape[0], jo.q.shape[0]
    pred = _Predictor(qm, log)
    pred.step(BLANK, int(enc_frames[0]) if len(enc_frames) else 0)
    z_enc = np.empty(n_j, np.int32)
    acc = np.empty(n_j, np.int32)
    logits = np.empty(n_v, np.int32)
    tokens, token_frames = [], []
    for t in range(enc_out.shape[0]):
        frame = int(enc_frames[t])
        nz, eff = K.gemv_i8(je.q, enc_out[t], qm.joint_b, je.col_nnz, acc)
        K.requantize_i32(acc, qm.je_mult, qm.je_shift, _I32_MIN, _I32_MAX, z_enc)
        log.add("joint.enc", frame, invocations=1, macs_dense=je.size, macs_nonzero_weight=je.nnz,
                macs_effectual=eff, act_nonzero=nz, weight_bytes=je.stream_bytes,
                decode_symbols=je.symbols,
                act_read_bytes=je.q.shape[1], act_write_bytes=4 * n_j)
        for _ in range(qm.cfg.decode.max_symbols_per_frame):
            best, nz, eff = K.joint_step(z_enc, pred.z_pred, qm.tanh_lut, jo.q, qm.out_b,
                                         jo.col_nnz, qm.out_mult, qm.out_shift, logits)
            log.add("joint.out", frame, invocations=1, macs_dense=jo.size,
                    macs_nonzero_weight=jo.nnz, macs_effectual=eff, act_nonzero=nz,
                    weight_bytes=jo.stream_bytes, decode_symbols=jo.symbols,
                    act_read_bytes=8 * n_j,        # both int32 joint projections
                    act_write_bytes=4 * n_v,       # int32 logits
                    lut_lookups=n_j)
            if best == BLANK:
                break
            tokens.append(best)
            token_frames.append(frame)
            pred.step(best, frame)
    return tokens, token_frames


def run_utterance(qm: QuantizedRNNT, features: np.ndarray) -> UtteranceResult:
    enc = qm.cfg.encoder
    n_frames = stacked_count(features.shape[0], enc.stack_frames,
                             enc.stack_stride or enc.stack_frames)
    log = EventLog(layer_infos(qm), n_frames)
    enc_out, enc_frames = run_encoder(qm, features, log)
    tokens, token_frames = greedy_decode(qm, enc_out, enc_frames, log)
    enc_scale = qm.enc[-1].out_scale
    return UtteranceResult(tokens, token_frames, enc_out, enc_scale, log, n_frames)
