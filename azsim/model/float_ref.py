"""Float reference inference in plain NumPy: the golden model.

Same structure and equations as the integer model (``azsim.execute.integer``), in float32,
with no quantization. It also records the largest absolute value of every activation tensor,
which is what post-training calibration of the integer model needs.

Matrix products go through :func:`matmul` (``kernels/fmatmul.py``: each sum in float64, in a
fixed order), not NumPy's ``@``, whose BLAS sums depend on its thread count and CPU kernels:
the activation ranges, and so the integer model made from them, are the same on every machine.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..kernels import gram_accumulate, matmul_kn, matmul_nt
from .vocab import BLANK

_KN_ROWS = 4   # from this many rows of x, transposing w once pays (kernels/fmatmul.py)


def matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w.T`` for float32 ``x`` [M, K] and a weight matrix ``w`` [N, K], each output one
    float64 sum in ascending order (``kernels/fmatmul.py``): float32 [M, N], the same on every
    machine and thread count."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    w = np.ascontiguousarray(w, dtype=np.float32)
    if x.shape[0] >= _KN_ROWS:
        return matmul_kn(x, np.ascontiguousarray(w.T))
    return matmul_nt(x, w)


def sigmoid(x):
    # exp(-x) overflows to inf for x < -88 (float32): 1 / (1 + inf) = 0 is the right value,
    # so the overflow is not an error to warn about (it printed NumPy's two-line warning)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def stacked_count(n_frames: int, k: int, stride: int) -> int:
    """Encoder inputs from n feature frames: windows of k frames every ``stride`` frames."""
    return 0 if n_frames < k else (n_frames - k) // stride + 1


def min_feature_frames(enc) -> int:
    """Feature frames an utterance needs for one encoder output: ``stack_frames`` for the
    first stacked input, and with time reduction by ``r`` after some layer, ``r - 1`` more
    stacked inputs (``stack_stride`` frames apart) to make the first group."""
    stride = enc.stack_stride or enc.stack_frames
    factor = enc.time_reduction_factor if enc.time_reduction_after else 1
    return enc.stack_frames + (factor - 1) * stride


def stack_frames(features: np.ndarray, k: int, stride: int = 0) -> np.ndarray:
    """Stack k consecutive frames every ``stride`` frames (0: stride k, no overlap):
    [N, F] -> [stacked_count, k * F]; the frame rate drops by the stride."""
    stride = stride or k
    n = stacked_count(features.shape[0], k, stride)
    starts = np.arange(n)[:, None] * stride + np.arange(k)[None, :]
    return features[starts].reshape(n, k * features.shape[1])


def reduce_time(xs: np.ndarray, k: int) -> np.ndarray:
    """Time reduction by concatenating k consecutive outputs (He et al. 2019)."""
    n = (xs.shape[0] // k) * k
    return xs[:n].reshape(-1, k * xs.shape[1])


def encoder_input(features: np.ndarray, mean: np.ndarray, std: np.ndarray, enc) -> np.ndarray:
    """Normalized log-mel features stacked into encoder inputs (float and integer models)."""
    normalized = ((features - mean) / std).astype(np.float32)
    return stack_frames(normalized, enc.stack_frames, enc.stack_stride)


@dataclass
class ActivationStats:
    """Running max |x| per activation tensor (for calibration) and, when ``grams`` is a dict,
    the Gram matrix ``sum_x x x^T`` of the inputs each weight matrix multiplied, by matrix
    name (float64; what the ``gptq`` quantizer minimizes the output error over)."""
    max_abs: dict[str, float] = field(default_factory=dict)
    grams: dict[str, np.ndarray] | None = None

    def update(self, name: str, x: np.ndarray) -> None:
        if x.size:
            self.max_abs[name] = max(self.max_abs.get(name, 0.0), float(np.max(np.abs(x))))

    def inputs(self, matrix: str, x: np.ndarray) -> None:
        """Rows ``x`` [M, K] that weight matrix ``matrix`` multiplied."""
        if self.grams is None or not x.shape[0]:
            return
        g = self.grams.get(matrix)
        if g is None:
            g = self.grams[matrix] = np.zeros((x.shape[1], x.shape[1]))
        gram_accumulate(g, np.ascontiguousarray(x, dtype=np.float32))

    def quantize(self, point: str, x: np.ndarray) -> np.ndarray:
        """The value the model goes on with at ``point``: ``x`` itself here. A diagnostic
        subclass rounds it as the integer model would (``examples/quant_noise_budget.py``),
        to see which rounding moves the words. The points: ``enc.in`` (encoder input);
        per LSTM layer ``P`` = ``enc.0``, ..., ``pred.0``: ``P.z`` (gate pre-activations, one
        step), ``P.gates`` (each of i, f, g, o), ``P.c`` (cell state), ``P.h`` (cell output),
        ``P.r`` (layer output, the projection when there is one); ``joint.z`` (the joint's
        pre-activation) and ``joint.h`` (its hidden layer)."""
        return x


def lstm_layer(w, prefix: str, xs: np.ndarray, state=None, stats=None):
    """Float LSTM(P) over a sequence. Returns outputs [T, D] and the final (c, r) state."""
    outs, finals = _lstm_run(w, prefix, [xs], stats, [state])
    return outs[0], finals[0]


def lstm_lockstep(w, prefix: str, seqs: list[np.ndarray], stats=None) -> list[np.ndarray]:
    """:func:`lstm_layer` (from the zero state) over several sequences at once, in lockstep:
    the same outputs, bit for bit, and the same calibration records, in the same order per
    weight matrix (each output of a product is the same float64 sum in ascending order
    whichever kernel computes it, and the nonlinearities run on one sequence's vector at a
    time). What changes is the memory traffic: each step's recurrent and projection
    products stream the weights once for every four sequences still running (``matmul_kn``)
    instead of once per sequence, and a large model's float run is bound by that stream."""
    return _lstm_run(w, prefix, seqs, stats, [None] * len(seqs))[0]


def _product(x: np.ndarray, w: np.ndarray, wt: np.ndarray | None) -> np.ndarray:
    """``matmul(x, w)`` with ``w``'s transpose ``wt`` made once by the caller: the per-step
    products of :func:`_lstm_run` would otherwise transpose a recurrent matrix every step."""
    if wt is not None and x.shape[0] >= _KN_ROWS:
        return matmul_kn(np.ascontiguousarray(x, dtype=np.float32), wt)
    return matmul(x, w)


def _lstm_run(w, prefix: str, seqs: list[np.ndarray], stats, states):
    """The LSTM(P) layer ``prefix`` over ``seqs``, each from its (c, r) in ``states`` (None:
    zeros), all in lockstep: (outputs per sequence, final (c, r) per sequence). The input
    part is one product per sequence for all its steps, as the integer model does."""
    w_x, w_r, b = w[f"{prefix}.w_x"], w[f"{prefix}.w_r"], w[f"{prefix}.b"]
    w_p = w.get(f"{prefix}.w_p")
    n_h, n_r = w_x.shape[0] // 4, w_r.shape[1]
    order = sorted(range(len(seqs)), key=lambda i: -seqs[i].shape[0])   # running = a prefix
    lens = [seqs[i].shape[0] for i in order]
    batched = len(seqs) >= _KN_ROWS
    w_rt = np.ascontiguousarray(w_r.T) if batched else None
    w_pt = np.ascontiguousarray(w_p.T) if batched and w_p is not None else None
    zx = [matmul(seqs[i], w_x) + b for i in order]
    c = np.zeros((len(seqs), n_h), np.float32)
    r = np.zeros((len(seqs), n_r), np.float32)
    for j, i in enumerate(order):
        if states[i] is not None:
            c[j], r[j] = states[i]
    h = np.empty((len(seqs), n_h), np.float32)
    ys = [np.empty((n, n_r), np.float32) for n in lens]
    grams = stats is not None and stats.grams is not None
    if grams:
        r_in = [np.empty((n, n_r), np.float32) for n in lens]
        hs = [np.empty((n, n_h), np.float32) for n in lens]
    for t in range(lens[0] if lens else 0):
        m = sum(n > t for n in lens)
        zr = _product(r[:m], w_r, w_rt)
        for j in range(m):
            if grams:
                r_in[j][t] = r[j]
            z = zx[j][t] + zr[j]
            if stats is not None:
                z = stats.quantize(f"{prefix}.z", z)
            i, f, g, o = sigmoid(z[:n_h]), sigmoid(z[n_h:2 * n_h]), \
                np.tanh(z[2 * n_h:3 * n_h]), sigmoid(z[3 * n_h:])
            if stats is not None:
                i, f, g, o = (stats.quantize(f"{prefix}.gates", a) for a in (i, f, g, o))
            c[j] = f * c[j] + i * g
            if stats is not None:
                c[j] = stats.quantize(f"{prefix}.c", c[j])
            h[j] = o * np.tanh(c[j])
            if stats is not None:
                stats.update(f"{prefix}.h", h[j])
                h[j] = stats.quantize(f"{prefix}.h", h[j])
                if grams:
                    hs[j][t] = h[j]
        r[:m] = _product(h[:m], w_p, w_pt) if w_p is not None else h[:m]
        if stats is not None:
            for j in range(m):
                r[j] = stats.quantize(f"{prefix}.r", r[j])
        for j in range(m):
            ys[j][t] = r[j]
    outs: list[np.ndarray] = [np.empty(0)] * len(seqs)
    finals: list[tuple] = [()] * len(seqs)
    for j, i in enumerate(order):
        outs[i], finals[i] = ys[j], (c[j].copy(), r[j].copy())
    if stats is not None:
        for j in np.argsort(order, kind="stable"):     # the sequences' own order
            stats.update(f"{prefix}.r", ys[j])
            if grams:
                stats.inputs(f"{prefix}.w_x", seqs[order[j]])
                stats.inputs(f"{prefix}.w_r", r_in[j])
                if w_p is not None:
                    stats.inputs(f"{prefix}.w_p", hs[j])
    return outs, finals


def encoder_many(w, cfg, features: list[np.ndarray], stats=None) -> list[np.ndarray]:
    """:func:`encoder` of several utterances, each layer run over all of them in lockstep
    (:func:`lstm_lockstep`): the same outputs and calibration records, several times less
    weight traffic for a model whose matrices do not fit in the cache (he2019)."""
    enc = cfg.encoder
    xs = [encoder_input(f, w["frontend.mean"], w["frontend.std"], enc) for f in features]
    if stats is not None:
        for x in xs:
            stats.update("enc.in", x)
        xs = [stats.quantize("enc.in", x) for x in xs]
    for layer in range(enc.lstm_layers):
        xs = lstm_lockstep(w, f"enc.{layer}", xs, stats)
        if enc.time_reduction_after == layer + 1 and enc.time_reduction_factor > 1:
            xs = [reduce_time(x, enc.time_reduction_factor) for x in xs]
    return xs


def encoder(w, cfg, features: np.ndarray, stats=None) -> np.ndarray:
    """Log-mel features [N, n_mels] -> encoder outputs [T, D]."""
    enc = cfg.encoder
    xs = encoder_input(features, w["frontend.mean"], w["frontend.std"], enc)
    if stats is not None:
        stats.update("enc.in", xs)
        xs = stats.quantize("enc.in", xs)
    for layer in range(enc.lstm_layers):
        xs, _ = lstm_layer(w, f"enc.{layer}", xs, stats=stats)
        if enc.time_reduction_after == layer + 1 and enc.time_reduction_factor > 1:
            xs = reduce_time(xs, enc.time_reduction_factor)
    return xs


def prediction_step(w, cfg, token: int, states, stats=None):
    """One prediction-network step for the last emitted token (blank = start of sequence)."""
    x = w["pred.embed"][token][None, :]
    new_states = []
    for layer in range(cfg.prediction.lstm_layers):
        x, st = lstm_layer(w, f"pred.{layer}", x, states[layer] if states else None, stats)
        new_states.append(st)
    return x[0], new_states


def joint(w, enc_t: np.ndarray, pred_u: np.ndarray, stats=None) -> np.ndarray:
    z = (matmul(enc_t[None, :], w["joint.w_enc"])[0] + w["joint.b"]
         + matmul(pred_u[None, :], w["joint.w_pred"])[0])
    if stats is not None:
        z = stats.quantize("joint.z", z)
    hidden = np.tanh(z)
    if stats is not None:
        hidden = stats.quantize("joint.h", hidden)
        stats.inputs("joint.w_enc", enc_t[None, :])
        stats.inputs("joint.w_pred", pred_u[None, :])
        stats.inputs("joint.w_out", hidden[None, :])
    return matmul(hidden[None, :], w["joint.w_out"])[0] + w["joint.b_out"]


def greedy_decode(w, cfg, enc_out: np.ndarray, stats=None) -> list[int]:
    """Greedy RNN-T decoding, at most ``decode.max_symbols_per_frame`` symbols per frame."""
    tokens: list[int] = []
    pred_u, states = prediction_step(w, cfg, BLANK, None, stats)
    for t in range(enc_out.shape[0]):
        for _ in range(cfg.decode.max_symbols_per_frame):
            k = int(np.argmax(joint(w, enc_out[t], pred_u, stats)))
            if k == BLANK:
                break
            tokens.append(k)
            pred_u, states = prediction_step(w, cfg, k, states, stats)
    return tokens


def recognize(w, cfg, features: np.ndarray, stats=None):
    """Encoder outputs and greedy tokens of one utterance."""
    enc_out = encoder(w, cfg, features, stats)
    return enc_out, greedy_decode(w, cfg, enc_out, stats)


_LOCKSTEP = 16   # utterances whose encoders run together (their inputs stay small in memory)


def recognize_many(w, cfg, features: list[np.ndarray], stats=None, progress=None):
    """:func:`recognize` of each utterance, the encoders run in lockstep groups of
    ``_LOCKSTEP`` (:func:`encoder_many`); the same results and calibration records.
    ``progress(done, total)`` is called after each group."""
    out = []
    for start in range(0, len(features), _LOCKSTEP):
        enc_outs = encoder_many(w, cfg, features[start:start + _LOCKSTEP], stats)
        out += [(e, greedy_decode(w, cfg, e, stats)) for e in enc_outs]
        if progress is not None:
            progress(len(out), len(features))
    return out
