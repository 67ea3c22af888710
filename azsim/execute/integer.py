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
from ..compress.sidecar import side_section_bytes
from ..model.float_ref import encoder_input, reduce_time, stacked_count
from ..model.vocab import BLANK
from .events import EventLog, LayerInfo

_I32_MIN, _I32_MAX = -(2 ** 31), 2 ** 31 - 1


def _info(m: QMatrix, kind: str, name: str | None = None, side: dict | None = None
          ) -> LayerInfo:
    o, i = m.q.shape
    name = name or m.name
    return LayerInfo(name, kind, o, i, m.size, m.nnz, m.bits, m.stream_bytes, m.symbols,
                     m.format, m.mac_bits, (side or {}).get(name, 0))


def _lstm_info(layer: QLSTM, side: dict) -> list[LayerInfo]:
    """An LSTM's input and recurrent gate matrices run as one fused layer; the projection apart."""
    wx, wr = layer.w_x, layer.w_r
    name = f"{layer.name}.lstm"
    infos = [LayerInfo(name, "lstm", wx.q.shape[0], wx.q.shape[1] + wr.q.shape[1],
                       wx.size + wr.size, wx.nnz + wr.nnz, wx.bits,
                       wx.stream_bytes + wr.stream_bytes, wx.symbols + wr.symbols, wx.format,
                       wx.mac_bits, side.get(name, 0))]
    if layer.has_projection:
        infos.append(_info(layer.w_p, "projection", f"{layer.name}.proj", side))
    return infos


def recurrent_state_bytes(qm: QuantizedRNNT, prediction_entries: int = 1) -> int:
    """SRAM the recurrent state holds across frames: each LSTM layer's cell state c (int16 per
    unit) and output r (int8 per output), the encoder's once (a cheap encoder branch shares
    it, azsim.execute.branch); the prediction network's, with its joint projection z_pred
    (int32 per joint unit), once per entry the decoder holds (``prediction_entries``:
    azsim.decode.beam.prediction_entries_held, 1 for greedy decoding)."""
    def state(layer: QLSTM) -> int:
        units = layer.w_x.q.shape[0] // 4            # the gate rows are 4 x the units
        outputs = layer.w_p.q.shape[0] if layer.has_projection else units
        return 2 * units + outputs
    z_pred = 4 * qm.joint_pred.q.shape[0]
    return sum(state(layer) for layer in qm.enc) + \
        max(prediction_entries, 1) * (sum(state(layer) for layer in qm.pred) + z_pred)


def layer_infos(qm: QuantizedRNNT) -> list[LayerInfo]:
    """The layers as the cost model sees them; ``weight_side_bytes`` the length of each
    layer's packed per-row parameters (azsim.compress.sidecar)."""
    side = side_section_bytes(qm)
    infos = []
    for layer in qm.enc + getattr(qm, "cheap_enc", ()):   # issue #7: branching encoder
        infos += _lstm_info(layer, side)
    if getattr(qm, "arbiter", None) is not None:
        infos.append(_info(qm.arbiter, "linear"))
    infos.append(_info(qm.embed, "embedding"))
    for layer in qm.pred:
        infos += _lstm_info(layer, side)
    infos += [_info(qm.joint_enc, "linear", "joint.enc", side),
              _info(qm.joint_pred, "linear", "joint.pred", side),
              _info(qm.joint_out, "joint_out", "joint.out", side)]
    return infos


def layer_matrices(qm: QuantizedRNNT) -> dict[str, tuple[QMatrix, ...]]:
    """The weight matrices of each layer of :func:`layer_infos`, as column blocks of the layer's
    input vector (an LSTM layer multiplies [x_t, r_(t-1)] by [W_x | W_r]); the embedding is a
    lookup table, not a matrix-vector product, and is left out."""
    out: dict[str, tuple[QMatrix, ...]] = {}
    for layer in qm.enc + getattr(qm, "cheap_enc", ()) + qm.pred:
        out[f"{layer.name}.lstm"] = (layer.w_x, layer.w_r)
        if layer.has_projection:
            out[f"{layer.name}.proj"] = (layer.w_p,)
    if getattr(qm, "arbiter", None) is not None:
        out[qm.arbiter.name] = (qm.arbiter,)
    out.update({"joint.enc": (qm.joint_enc,), "joint.pred": (qm.joint_pred,),
                "joint.out": (qm.joint_out,)})
    return out


@dataclass
class UtteranceResult:
    tokens: list[int]
    token_frames: list[int]   # encoder input frame at which each token was emitted
    enc_out: np.ndarray       # int8 encoder outputs [T_enc, D]
    enc_scale: float
    events: EventLog
    n_frames: int             # encoder input frames (after stacking)
    search: object = None     # the decoder's full output when one is given (azsim.decode)
    branch: object = None     # issue #7: the branch of each encoder step (execute.branch)
    # the encoder input frame of the last encoder output step, whose work is the last to
    # reach the decoder (frames after it end at a time reduction; -1: the last frame)
    result_frame: int = -1


def _lstm_events(log: EventLog, layer: QLSTM, frames, nz_x, eff_x, ev, acts=None) -> None:
    """Record one LSTM layer's per-step events (ev columns: nz_r, eff_r, nz_p, eff_p), and with
    ``acts = (x, r_prev, h)`` (from :func:`run_lstm_traced`) the activity trace of each step."""
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
    if acts is not None:
        x, r_prev, h = acts
        log.trace(info.name, frames, np.concatenate([x, r_prev], axis=1))
        if layer.has_projection:
            log.trace(f"{layer.name}.proj", frames, h)


def run_lstm(qm: QuantizedRNNT, layer: QLSTM, xs: np.ndarray, state=None):
    """Integer LSTM over xs (int8 [T, I]); returns outputs, new state, per-step events."""
    y, state, nz_x, eff_x, ev, _ = run_lstm_traced(qm, layer, xs, state)
    return y, state, nz_x, eff_x, ev


def run_lstm_traced(qm: QuantizedRNNT, layer: QLSTM, xs: np.ndarray, state=None):
    """:func:`run_lstm` plus the input activations of every step, ``(x, r_prev, h)``: the
    layer input, the recurrent input and the cell output (the projection's input)."""
    n_t, n_h = xs.shape[0], layer.hidden
    acc_x = np.empty((n_t, 4 * n_h), np.int32)
    nz_x = np.empty(n_t, np.int64)
    eff_x = np.empty(n_t, np.int64)
    K.gemm_i8(layer.w_x.q, xs, layer.bias_q, layer.w_x.col_nnz, acc_x, nz_x, eff_x)
    c, r = (state[0].copy(), state[1].copy()) if state is not None else \
        (np.zeros(n_h, np.int16), np.zeros(layer.out_dim, np.int8))
    y = np.empty((n_t, layer.out_dim), np.int8)
    ev = np.zeros((n_t, 4), np.int64)
    h_seq = np.empty((n_t, n_h), np.int8)
    r_prev = np.concatenate([r[None, :], np.empty((max(n_t - 1, 0), r.shape[0]), np.int8)])
    K.lstm_sequence(acc_x, layer.w_r.q, layer.w_r.col_nnz, layer.mult_x, layer.shift_x,
                    layer.mult_r, layer.shift_r, qm.sigmoid_lut, qm.tanh_lut, layer.h_mult,
                    layer.h_shift, layer.w_p.q, layer.w_p.col_nnz, layer.p_mult, layer.p_shift,
                    c, r, y, ev[:, 0], ev[:, 1], ev[:, 2], ev[:, 3], h_seq)
    r_prev[1:] = y[:-1]
    return y, (c, r), nz_x, eff_x, ev, (xs, r_prev[:n_t], h_seq)


def quantize_input(qm: QuantizedRNNT, features: np.ndarray) -> np.ndarray:
    xs = encoder_input(features, qm.frontend_mean, qm.frontend_std, qm.cfg.encoder)
    return quantize_activations(xs, qm.in_scale)


def run_encoder(qm: QuantizedRNNT, features: np.ndarray, log: EventLog):
    """Integer encoder; returns int8 outputs and the input frame index of each output."""
    enc = qm.cfg.encoder
    xs = quantize_input(qm, features)
    frames = np.arange(xs.shape[0])
    for k, layer in enumerate(qm.enc):
        y, _, nz_x, eff_x, ev, acts = run_lstm_traced(qm, layer, xs)
        _lstm_events(log, layer, frames, nz_x, eff_x, ev, acts)
        xs = y
        if enc.time_reduction_after == k + 1 and enc.time_reduction_factor > 1:
            f = enc.time_reduction_factor
            xs = reduce_time(xs, f)
            frames = frames[f - 1::f][: xs.shape[0]]  # a group is ready at its last frame
    return xs, frames


def prediction_step(qm: QuantizedRNNT, log: EventLog, token: int, states: list, frame: int):
    """One prediction-network step for ``token`` from ``states`` (one (c, r) per layer, None =
    start of sequence), with the joint projection of its output; records the events at
    ``frame``. Returns the new states and z_pred (int32 Q3.12). ``states`` is not modified, so
    a beam search can keep one state per hypothesis (azsim.decode.beam)."""
    x = qm.embed.q[token][None, :]
    log.add("pred.embed", frame, invocations=1, weight_bytes=qm.embed.q.shape[1],
            decode_symbols=qm.embed.q.shape[1],
            act_write_bytes=qm.embed.q.shape[1])
    new_states = []
    for k, layer in enumerate(qm.pred):
        x, state, nz_x, eff_x, ev, acts = run_lstm_traced(qm, layer, x, states[k])
        new_states.append(state)
        _lstm_events(log, layer, frame, nz_x, eff_x, ev, acts)
    jp = qm.joint_pred
    acc = np.empty(jp.q.shape[0], np.int32)
    z_pred = np.empty(jp.q.shape[0], np.int32)
    nz, eff = K.gemv_i8(jp.q, x[0], np.zeros(jp.q.shape[0], np.int32), jp.col_nnz, acc)
    K.requantize_i32(acc, qm.jp_mult, qm.jp_shift, _I32_MIN, _I32_MAX, z_pred)
    log.add("joint.pred", frame, invocations=1, macs_dense=jp.size, macs_nonzero_weight=jp.nnz,
            macs_effectual=eff, act_nonzero=nz, weight_bytes=jp.stream_bytes,
            decode_symbols=jp.symbols,
            act_read_bytes=jp.q.shape[1], act_write_bytes=4 * jp.q.shape[0])
    log.trace("joint.pred", frame, x[0])
    return new_states, z_pred


def joint_enc_step(qm: QuantizedRNNT, log: EventLog, enc_t: np.ndarray, frame: int) -> np.ndarray:
    """The joint projection of one encoder output (int32 Q3.12), computed once per frame."""
    je = qm.joint_enc
    n_j = je.q.shape[0]
    z_enc = np.empty(n_j, np.int32)
    acc = np.empty(n_j, np.int32)
    nz, eff = K.gemv_i8(je.q, enc_t, qm.joint_b, je.col_nnz, acc)
    K.requantize_i32(acc, qm.je_mult, qm.je_shift, _I32_MIN, _I32_MAX, z_enc)
    log.add("joint.enc", frame, invocations=1, macs_dense=je.size, macs_nonzero_weight=je.nnz,
            macs_effectual=eff, act_nonzero=nz, weight_bytes=je.stream_bytes,
            decode_symbols=je.symbols,
            act_read_bytes=je.q.shape[1], act_write_bytes=4 * n_j)
    log.trace("joint.enc", frame, enc_t)
    return z_enc


def joint_out_step(qm: QuantizedRNNT, log: EventLog, z_enc: np.ndarray, z_pred: np.ndarray,
                   frame: int, logits: np.ndarray) -> int:
    """One joint-network output step: writes int32 logits, returns their argmax."""
    jo = qm.joint_out
    n_j, n_v = z_enc.shape[0], jo.q.shape[0]
    best, nz, eff = K.joint_step(z_enc, z_pred, qm.tanh_lut, jo.q, qm.out_b, jo.col_nnz,
                                 qm.out_mult, qm.out_shift, logits)
    log.add("joint.out", frame, invocations=1, macs_dense=jo.size,
            macs_nonzero_weight=jo.nnz, macs_effectual=eff, act_nonzero=nz,
            weight_bytes=jo.stream_bytes, decode_symbols=jo.symbols,
            act_read_bytes=8 * n_j,        # both int32 joint projections
            act_write_bytes=4 * n_v,       # int32 logits
            lut_lookups=n_j)
    hidden = np.empty(n_j, np.int8)  # the output layer's input, for the activity trace
    K.joint_hidden(z_enc, z_pred, qm.tanh_lut, hidden)
    log.trace("joint.out", frame, hidden)
    return int(best)


class _Predictor:
    """Prediction network + cached joint projection of its output, with events."""

    def __init__(self, qm: QuantizedRNNT, log: EventLog):
        self.qm, self.log = qm, log
        self.states = [None] * len(qm.pred)
        self.z_pred = np.empty(qm.joint_pred.q.shape[0], np.int32)

    def step(self, token: int, frame: int) -> None:
        self.states, self.z_pred = prediction_step(self.qm, self.log, token, self.states, frame)


def greedy_decode(qm: QuantizedRNNT, enc_out: np.ndarray, enc_frames: np.ndarray, log: EventLog):
    """Greedy integer decoding; returns tokens and the input frame of each emission."""
    n_v = qm.joint_out.q.shape[0]
    pred = _Predictor(qm, log)
    pred.step(BLANK, int(enc_frames[0]) if len(enc_frames) else 0)
    logits = np.empty(n_v, np.int32)
    tokens, token_frames = [], []
    for t in range(enc_out.shape[0]):
        frame = int(enc_frames[t])
        z_enc = joint_enc_step(qm, log, enc_out[t], frame)
        for _ in range(qm.cfg.decode.max_symbols_per_frame):
            best = joint_out_step(qm, log, z_enc, pred.z_pred, frame, logits)
            if best == BLANK:
                break
            tokens.append(best)
            token_frames.append(frame)
            pred.step(best, frame)
    return tokens, token_frames


def run_utterance(qm: QuantizedRNNT, features: np.ndarray, decoder=None) -> UtteranceResult:
    """Encoder, then greedy decoding, or ``decoder(qm, enc_out, enc_frames, log)`` if given
    (issue #7: beam search; it returns an object with the best ``tokens`` and
    ``token_frames``, kept whole in ``UtteranceResult.search``)."""
    enc = qm.cfg.encoder
    n_frames = stacked_count(features.shape[0], enc.stack_frames,
                             enc.stack_stride or enc.stack_frames)
    log = EventLog(layer_infos(qm), n_frames)
    branch = None
    if getattr(qm, "cheap_enc", ()):
        from .branch import run_branched_encoder
        enc_out, enc_frames, branch = run_branched_encoder(qm, features, log)
    else:
        enc_out, enc_frames = run_encoder(qm, features, log)
    search = None
    if decoder is None:
        tokens, token_frames = greedy_decode(qm, enc_out, enc_frames, log)
    else:
        search = decoder(qm, enc_out, enc_frames, log)
        tokens, token_frames = list(search.tokens), list(search.token_frames)
    enc_scale = qm.enc[-1].out_scale
    result_frame = int(enc_frames[-1]) if len(enc_frames) else -1
    return UtteranceResult(tokens, token_frames, enc_out, enc_scale, log, n_frames, search,
                           branch, result_frame)
