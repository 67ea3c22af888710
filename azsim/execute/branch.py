"""Branching encoder (issue #7, part 4): a full and a cheap encoder branch, chosen per step.

After AmNets (Macoskey et al., "Amortized neural networks for low-latency speech recognition",
Interspeech 2021): the encoder has two branches of the same architecture, and an arbitrator
sends each encoder step to one of them. Because the branches share the architecture *and the
activation scales*, they share the recurrent state: the cell state c (Q4.11) and the int8
recurrent output r of every encoder layer. A step runs either branch and the next step
continues from the state it left.

* **Cheap branch.** The full model's float weights (after its own pruning), or the float
  weights of ``model.branch.weights`` (e.g. a gradually pruned fine-tune of the same model),
  pruned to ``model.branch.sparsity`` with ``model.branch.prune`` and quantized to
  ``model.branch.bits`` (encoded as ``model.branch.weight_format``) by the project's own
  prune and quantize code. Only the encoder
  matrices are taken; the prediction and joint networks are shared.
* **Shared activation scales.** The cheap branch is quantized with the full model's
  calibration statistics (:func:`azsim.compress.ptq.quantize_model` with the same ``stats``):
  its weight scales and requantization multipliers are its own, its int8 activation and state
  formats are the full model's. Calibrating it separately would give the two branches
  different int8 state formats, and switching would then need a rescaling of every state.
* **Granularity.** One decision per encoder *output* step (a joint step; with time reduction,
  its ``time_reduction_factor`` input frames run through the layers before the reduction
  with the same branch). The decision is made before any layer of the step runs.
* **Arbitrators** (integer, evaluated by the processor before the step; ``arbitrator``):

  - ``blank``: the last joint evaluation of the previous step (the one that ended it) gave
    the blank a margin of at least ``blank_margin_nats`` over the best non-blank label:
    ``logit[blank] - max(logit[non-blank]) >= threshold`` on the int32 logits (Q.10 nats),
    and so did the ``blank_run_steps - 1`` steps before it (a counter, one more comparison).
    A frame after a run of confident blanks is taken to be easy: a pause, not the blanks
    between the characters of a word. Needs greedy decoding (the margin is
    that of the single hypothesis); the first step runs the full branch.
  - ``energy``: the mean of the step's first int8 encoder input (normalized log-mel, stacked)
    is at most ``energy_threshold`` standard deviations from the training mean: quiet frames
    are easy. The sum is compared with ``floor(threshold / in_scale) * n_in``, so no division
    runs: the integer threshold rounds down, so the rule acts at up to one input step below
    ``energy_threshold`` (0.734 standard deviations for 0.75 on `small` at eval's
    calibration; the shipped settings were chosen under this rounding, and an exact
    comparison would take 8,292 of the shipped test set's 9,954 steps cheap where this takes
    8,222: a decoding audit, 2026-12-07).
  - ``blank-energy``: both: the blank rule, and the step's input is quiet by the energy rule.
    A confident blank says the speaker paused; a loud input says they started again, and the
    step that starts a word runs on the full branch. With the trained 80 % cheap branch it
    cost fewer WER points per MAC saved than the blank rule alone; with the 60 % one both
    rules reach the issue's goal (README, "Branching encoder").
  - ``always`` / ``never``: every step cheap / full (the two ends of a sweep; no arbitrator
    work is charged).

* **Cost.** The cheap branch's layers are layers of their own (``cheap.enc.K.lstm``,
  ``cheap.enc.K.proj``): their weights are stored and scheduled (SRAM residency or DRAM
  streaming) like any other layer, and each step charges the events of the branch it ran.
  The arbitrator is the layer ``branch.arbiter``: a 1 x n product with weights +1 (energy:
  the sum of the step's n_in inputs) or [+1, -1] (blank: the blank logit minus the best
  non-blank one, after a pass over the int32 logits, charged as their reads), both for
  blank-energy (one row of n_in + 2 weights, both reads), and one comparison (the layer's
  one element-wise operation).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..compress.pipeline import prune_weights
from ..compress.ptq import QLSTM, QMatrix, QuantizedRNNT, make_qmatrix, quantize_model
from ..compress.quantize import quantize_activations
from ..errors import ConfigError
from ..model.float_ref import encoder_input, reduce_time
from ..model.vocab import BLANK
from .events import FIELD, EventLog
from .integer import (_lstm_events, _Predictor, joint_enc_step, joint_out_step, layer_infos,
                      run_lstm_traced)

ARBITRATORS = ("blank", "energy", "blank-energy", "always", "never")
BLANK_ARBITRATORS = ("blank", "blank-energy")    # driven by the greedy decoding's margins
ARBITER_LAYER = "branch.arbiter"
CHEAP_PREFIX = "cheap."
LOGIT_UNITS_PER_NAT = 2 ** 10   # azsim.compress.ptq.LOGIT_FRAC_BITS: logits are int32 Q.10


@dataclass(frozen=True)
class BranchedRNNT(QuantizedRNNT):
    """A quantized RNN-T with a second (cheap) encoder branch and its arbitrator."""
    cheap_enc: tuple[QLSTM, ...] = ()
    arbitrator: str = "never"
    threshold_q: int = 0          # blank rules: Q.10 logit margin
    arbiter: QMatrix | None = None
    run_steps: int = 1            # blank rules: consecutive confident steps before a cheap one
    energy_q: int = 0             # energy rules: int8 input code of the quiet threshold

    def matrices(self) -> list[QMatrix]:
        mats = super().matrices()
        for layer in self.cheap_enc:
            mats += [layer.w_x, layer.w_r] + ([layer.w_p] if layer.has_projection else [])
        return mats + ([self.arbiter] if self.arbiter is not None else [])


def _renamed(layer: QLSTM) -> QLSTM:
    def rename(m: QMatrix) -> QMatrix:
        return dataclasses.replace(m, name=CHEAP_PREFIX + m.name)
    return dataclasses.replace(layer, name=CHEAP_PREFIX + layer.name, w_x=rename(layer.w_x),
                               w_r=rename(layer.w_r), w_p=rename(layer.w_p))


def _arbiter_matrix(arbitrator: str, n_in: int) -> QMatrix | None:
    if arbitrator == "energy":
        w = np.ones((1, n_in), np.float32)
    elif arbitrator == "blank":
        w = np.array([[1.0, -1.0]], np.float32)
    elif arbitrator == "blank-energy":
        w = np.ones((1, n_in + 2), np.float32)
        w[0, -1] = -1.0
    else:
        return None
    return make_qmatrix(ARBITER_LAYER, w, 8)


def with_cheap_branch(qm: QuantizedRNNT, full_weights: dict, stats: dict, cfg,
                      branch_weights: dict | None = None,
                      grams: dict | None = None) -> BranchedRNNT:
    """``qm`` plus the cheap branch of ``cfg.branch``: ``branch_weights`` (float, same
    model) or ``full_weights`` (the full branch's float weights, already pruned), pruned and
    quantized as the config says, with the full model's activation ``stats``."""
    b = cfg.branch
    src = branch_weights if branch_weights is not None else full_weights
    cheap_cfg = dataclasses.replace(cfg, sparsity=b.sparsity, prune=b.prune,
                                    weight_format=b.weight_format or cfg.weight_format)
    enc_only = {k: v for k, v in src.items() if k.startswith("enc.")}
    w = dict(full_weights)
    w.update(prune_weights(enc_only, cheap_cfg))
    try:
        cheap = quantize_model(w, cheap_cfg, stats, b.bits or cfg.weight_bits, grams,
                               {**full_weights, **enc_only})
    except ConfigError as exc:   # its message names the full model's settings
        fmt = (f"model.branch.weight_format = {b.weight_format!r}" if b.weight_format else
               f"model.branch.weight_format = '' (model.weight_format = {cfg.weight_format!r})")
        bits = (f"model.branch.bits = {b.bits}" if b.bits else
                f"model.branch.bits = 0 (model.weight_bits = {cfg.weight_bits})")
        raise ConfigError(f"the cheap branch, {fmt} at {bits}: "
                          f"{str(exc).split(': ', 1)[-1]}") from None
    energy_q = int(np.floor(b.energy_threshold / qm.in_scale))
    threshold_q = int(round(b.blank_margin_nats * LOGIT_UNITS_PER_NAT)) \
        if b.arbitrator in BLANK_ARBITRATORS else 0
    fields = {f.name: getattr(qm, f.name) for f in dataclasses.fields(QuantizedRNNT)}
    return BranchedRNNT(**fields, cheap_enc=tuple(_renamed(layer) for layer in cheap.enc),
                        arbitrator=b.arbitrator, threshold_q=threshold_q,
                        arbiter=_arbiter_matrix(b.arbitrator, qm.enc[0].w_x.q.shape[1]),
                        run_steps=b.blank_run_steps, energy_q=energy_q)


@dataclass
class BranchTrace:
    """Which branch each encoder step took (True = cheap), per utterance."""
    cheap: np.ndarray        # bool [steps]
    step_frames: np.ndarray  # int64 [steps]: the input frame at which each step is ready


class _Encoder:
    """The integer encoder one step at a time, each step on the branch it is given."""

    def __init__(self, qm: BranchedRNNT, features: np.ndarray, log: EventLog):
        self.qm, self.log = qm, log
        enc = qm.cfg.encoder
        self.xs = quantize_activations(
            encoder_input(features, qm.frontend_mean, qm.frontend_std, enc), qm.in_scale)
        reduce_at = enc.time_reduction_after if enc.time_reduction_factor > 1 else 0
        self.reduce_at, self.factor = reduce_at, enc.time_reduction_factor if reduce_at else 1
        self.n_steps = self.xs.shape[0] // self.factor
        self.step_frames = np.arange(self.n_steps, dtype=np.int64) * self.factor + self.factor - 1
        self.states = [None] * len(qm.enc)

    def first_input(self, t: int) -> np.ndarray:
        return self.xs[t * self.factor]

    def _layers(self, lo: int, hi: int, xs: np.ndarray, frames: np.ndarray, cheap: bool):
        branch = self.qm.cheap_enc if cheap else self.qm.enc
        for k in range(lo, hi):
            y, self.states[k], nz_x, eff_x, ev, acts = run_lstm_traced(
                self.qm, branch[k], xs, self.states[k])
            _lstm_events(self.log, branch[k], frames, nz_x, eff_x, ev, acts)
            xs = y
        return xs

    def step(self, t: int, cheap: bool) -> np.ndarray:
        """Encoder output of step t (int8 [D]) on the cheap or the full branch."""
        f = self.factor
        frames = np.arange(t * f, (t + 1) * f)
        split = self.reduce_at or len(self.qm.enc)
        xs = self._layers(0, split, self.xs[t * f:(t + 1) * f], frames, cheap)
        if self.reduce_at:
            xs = reduce_time(xs, f)
            xs = self._layers(split, len(self.qm.enc), xs, frames[-1:], cheap)
        return xs[0]

    def tail(self, cheap: bool) -> None:
        """Input frames after the last whole time-reduction group run through the layers
        before the reduction (their outputs are dropped), as in the whole-utterance encoder."""
        lo = self.n_steps * self.factor
        if self.reduce_at and lo < self.xs.shape[0]:
            self._layers(0, self.reduce_at, self.xs[lo:], np.arange(lo, self.xs.shape[0]), cheap)


def _charge_arbiter(qm: BranchedRNNT, log: EventLog, frame: int) -> None:
    a = qm.arbiter
    n_in = a.q.shape[1]                       # the product's inputs
    n_logits = qm.joint_out.q.shape[0]
    n_inputs = qm.enc[0].w_x.q.shape[1]       # the step's int8 encoder inputs
    # energy: the step's int8 inputs; blank: a pass over the int32 logits; blank-energy: both
    reads = {"energy": n_inputs, "blank": 4 * n_logits,
             "blank-energy": n_inputs + 4 * n_logits}[qm.arbitrator]
    log.add(ARBITER_LAYER, frame, invocations=1, macs_dense=a.size, macs_nonzero_weight=a.nnz,
            macs_effectual=a.nnz, act_nonzero=n_in, weight_bytes=a.stream_bytes,
            decode_symbols=a.symbols,
            act_read_bytes=reads,
            act_write_bytes=1)


def blank_margin_q(logits: np.ndarray) -> int:
    """logit[blank] - max(logit[non-blank]) of int32 logits (Q.10 nats)."""
    return int(logits[BLANK]) - int(np.max(np.delete(logits, BLANK)))


def _greedy_steps(qm: BranchedRNNT, enc: _Encoder, log: EventLog):
    """The blank arbitrator: encoder and greedy decoding step by step, each step's branch
    from the previous step's blank margin. The decoding here only drives the arbitrator: its
    events go to a scratch log (the caller decodes the outputs again on the real log)."""
    scratch = EventLog(layer_infos(qm), log.n_frames)
    pred = _Predictor(qm, scratch)
    pred.step(BLANK, 0)
    logits = np.empty(qm.joint_out.q.shape[0], np.int32)
    outs, cheap = [], np.zeros(enc.n_steps, bool)
    margin, run = None, 0     # run: consecutive steps that ended on a confident blank
    for t in range(enc.n_steps):
        frame = int(enc.step_frames[t])
        if t > 0:
            _charge_arbiter(qm, log, t * enc.factor)
            run = run + 1 if margin >= qm.threshold_q else 0
            cheap[t] = run >= qm.run_steps and (qm.arbitrator == "blank"
                                                or _quiet(enc.first_input(t), qm.energy_q))
        outs.append(enc.step(t, bool(cheap[t])))
        z_enc = joint_enc_step(qm, scratch, outs[-1], frame)
        for _ in range(qm.cfg.decode.max_symbols_per_frame):
            best = joint_out_step(qm, scratch, z_enc, pred.z_pred, frame, logits)
            if best == BLANK:
                break
            pred.step(best, frame)
        margin = blank_margin_q(logits)
    return outs, cheap


def _quiet(first_input: np.ndarray, code: int) -> bool:
    """The energy rule: the step's int8 inputs sum to at most ``code`` per input."""
    return int(first_input.astype(np.int64).sum()) <= code * first_input.size


def run_branched_encoder(qm: BranchedRNNT, features: np.ndarray, log: EventLog):
    """The encoder with per-step branch choice: int8 outputs, the input frame of each output,
    and the :class:`BranchTrace`."""
    enc = _Encoder(qm, features, log)
    if qm.arbitrator in BLANK_ARBITRATORS:
        outs, cheap = _greedy_steps(qm, enc, log)
    else:
        outs, cheap = [], np.zeros(enc.n_steps, bool)
        for t in range(enc.n_steps):
            if qm.arbitrator == "energy":
                _charge_arbiter(qm, log, t * enc.factor)
                cheap[t] = _quiet(enc.first_input(t), qm.energy_q)
            else:
                cheap[t] = qm.arbitrator == "always"
            outs.append(enc.step(t, bool(cheap[t])))
    enc.tail(bool(cheap[-1]) if cheap.size else qm.arbitrator == "always")
    width = qm.enc[-1].out_dim * (enc.factor if enc.reduce_at == len(qm.enc) else 1)
    enc_out = np.stack(outs) if outs else np.zeros((0, width), np.int8)
    return enc_out, enc.step_frames, BranchTrace(cheap, enc.step_frames.copy())


# Encoder layers, for the MAC accounting of reports: the full and cheap branches and the
# arbitrator (everything but the prediction and joint networks).
ENCODER_PREFIXES = ("enc.", CHEAP_PREFIX + "enc.", ARBITER_LAYER)
_MAC_FIELDS = ("macs_dense", "macs_nonzero_weight", "macs_effectual")


def encoder_macs(results) -> dict:
    """Encoder MACs of these utterances as run: dense, with a nonzero weight (what a
    weight-skipping processor issues), effectual (nonzero weight and activation)."""
    out = dict.fromkeys(_MAC_FIELDS, 0)
    for r in results:
        for k, info in enumerate(r.events.layers):
            if info.name.startswith(ENCODER_PREFIXES):
                tot = r.events.counts[k].sum(axis=0)
                for name in _MAC_FIELDS:
                    out[name] += int(tot[FIELD[name]])
    return out


def full_only_macs(results) -> dict:
    """The dense and nonzero-weight encoder MACs had every step run the full branch: exact,
    since each invocation of a cheap layer would have been one of its full counterpart (the
    effectual MACs depend on the activations the full branch would have seen, so they are not
    given here: a run without branching measures them)."""
    out = {"macs_dense": 0, "macs_nonzero_weight": 0}
    for r in results:
        layers, counts = r.events.layers, r.events.counts
        for k, info in enumerate(layers):
            if not info.name.startswith("enc."):
                continue
            inv = int(counts[k, :, FIELD["invocations"]].sum())
            twin = r.events.index.get(CHEAP_PREFIX + info.name)
            if twin is not None:
                inv += int(counts[twin, :, FIELD["invocations"]].sum())
            out["macs_dense"] += inv * info.n_out * info.n_in
            out["macs_nonzero_weight"] += inv * info.weight_nnz
    return out


def cheap_bits(qm: BranchedRNNT) -> int | float:
    """The cheap branch's code bits per weight as quantized: ``model.branch.bits`` (0:
    ``model.weight_bits``), except in the layers ``model.layer_bits`` names, which the cheap
    branch takes as the full encoder does (README, "A bit-width per layer"). An int when every
    cheap matrix has one width, else their mean over the weights (two decimals). Records said
    ``model.branch.bits`` alone, so ``layer_bits = "enc:4"`` with ``branch.bits = 8`` reported
    an 8-bit cheap branch whose every layer ran at 4 bits (a branch audit)."""
    mats = [m for layer in qm.cheap_enc
            for m in (layer.w_x, layer.w_r) + ((layer.w_p,) if layer.has_projection else ())]
    widths = {m.bits for m in mats}
    if len(widths) <= 1:
        return int(widths.pop()) if widths else int(qm.weight_bits)
    return round(sum(m.bits * m.size for m in mats) / sum(m.size for m in mats), 2)


def bits_text(bits: int | float) -> str:
    """"8-bit" for a uniform cheap branch, "4.61 bits a weight" for one of mixed widths."""
    return f"{bits}-bit" if isinstance(bits, int) else f"{bits:.2f} bits a weight"


def branch_shares(results) -> dict:
    """Steps per branch over these utterances."""
    cheap = sum(int(r.branch.cheap.sum()) for r in results)
    steps = sum(int(r.branch.cheap.size) for r in results)
    return {"steps": steps, "cheap_steps": cheap, "full_steps": steps - cheap,
            "cheap_share": cheap / steps if steps else 0.0,
            "full_share": (steps - cheap) / steps if steps else 0.0}
