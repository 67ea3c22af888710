"""The training loop: float training, QAT fine-tuning, gradual pruning; checkpoints and a log.

One call reproduces a model from scratch with a fixed seed (torch, numpy and the batch order
are all seeded; torch runs on the CPU with a fixed thread count). Progress goes to a callback
and to ``OUT/train.log.jsonl``; the library prints nothing.
"""
from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numba
import numpy as np
import torch

from ..errors import AzsimError
from ..model import float_ref
from ..model.loading import check_feature_frontend
from ..model.metrics import error_rate
from ..model.vocab import make_vocab
from ..model.weights import weight_magnitude_bound
from ..paths import path_kind
from . import compress, data
from .loss import lattice_kd, rnnt_loss
from .model import TorchRNNT, save_npz


@dataclass(frozen=True)
class TrainConfig:
    epochs: float = 10.0            # passes over the training split (fractions allowed)
    lr: float = 1.5e-3              # Adam peak learning rate
    final_lr: float = 1e-4          # cosine decay to this
    warmup_steps: int = 300
    max_batch_frames: int = 8000    # padded 10 ms feature frames per batch (~32 utterances)
    grad_clip: float = 5.0
    weight_decay: float = 1e-6
    spec_augment: bool = True
    vtlp_warp: float = 0.0          # > 0: vocal tract length perturbation, warp factors drawn
                                    # from [1 - w, 1 + w] per utterance (data.vtlp)
    dropout: float = 0.0            # on each encoder layer's output, training only (Zaremba et
                                    # al. 2014 apply it between LSTM layers the same way)
    pred_dropout: float = 0.0       # on the prediction network's embedding and layer outputs,
                                    # training only (ESPnet's RNN-T decoder has the same two)
    ctc_weight: float = 0.3         # auxiliary CTC loss on the encoder (Watanabe et al. 2017
                                    # use the same hybrid idea); 0 disables it
    ctc_head_warmup_steps: int = 0  # > 0: before the first step, train the CTC head alone
                                    # (encoder frozen, its outputs without dropout) this many
                                    # batches: the head is training-only and not in a weights
                                    # .npz, so a fine-tune from one starts with a random head
                                    # whose CTC gradient pulls the encoder while the head
                                    # learns (README, "Known training defects")
    ctc_head_warmup_lr: float = 1e-3  # its Adam rate (constant): the head is a single linear
                                    # layer, and the fine-tunes' own rates (1e-4) leave it far
                                    # from trained in a few hundred steps
    ctc_feasible_only: bool = False  # average the CTC loss over the utterances it can align
                                    # (labels plus repeated neighbours <= encoder steps): the
                                    # others have infinite loss, which zero_infinity zeroes,
                                    # and the batch mean counted them as zero
    seed: int = 0
    threads: int = 2
    qat_bits: int = 0               # > 0: quantization-aware training at this many bits
    acos_weight: float = 0.0        # absolute-cosine regularizer strength at the end of the ramp
    acos_ramp: float = 0.5          # share of training over which the strength ramps up
    acos_start: float = 0.0         # share of training before the ramp starts (strength 0
                                    # until then: the codes may move before it pins them)
    step_lr: float = 0.0            # > 0 (with qat_bits): learn each row's grid step (LSQ,
                                    # azsim.train.compress) at this peak Adam rate on log(step),
                                    # on the weights' schedule; 0 keeps max|w_row| / qmax
    sparsity: float = 0.0           # > 0: gradual magnitude pruning to this target
    prune_start: float = 0.0        # share of training before pruning starts
    prune_end: float = 0.6          # share of training at which the target is reached
    prune_every_steps: int = 50
    prune_allocation: str = "uniform"  # how the sparsity is shared among the matrices:
                                    # uniform, erk or global (azsim.train.compress)
    prune_initial: float = 0.0      # sparsity before and at the start of the schedule (a run
                                    # that continues an already pruned model starts at its target)
    prune_saliency: str = "magnitude"  # which weights a pruning event removes from each
                                    # matrix's share: the smallest |w| (Zhu & Gupta), or "obs":
                                    # SparseGPT's choice on the inputs the current model sees on
                                    # obs_calibration training utterances, the kept weights
                                    # compensated (azsim.train.compress.obs_event); or
                                    # "obs-mask": that choice, the kept weights untouched
    obs_calibration: int = 64       # with prune_saliency obs[-mask]: training utterances, evenly
                                    # spaced over the split, whose inputs each event weighs
    encoder_only: bool = False      # train (and prune or quantize) only the encoder; the
                                    # prediction and joint networks keep the init's weights.
                                    # For the branching encoder's cheap branch (issue #7),
                                    # which runs under the full model's prediction and joint
                                    # networks and hands its state to the full encoder
    decoder_only: bool = False      # train only the prediction and joint networks; the
                                    # encoder (and its feature normalization) keeps the init's
                                    # weights bit for bit, so a cheap encoder branch trained
                                    # against that encoder (small-branch60) stays its branch
    branch_switch: float = 0.0      # > 0 (with encoder_only): train the encoder as the cheap
                                    # branch of a branching encoder whose full branch is the
                                    # init's encoder, frozen: each batch's encoder steps run in
                                    # chunks, each chunk on the cheap branch with this
                                    # probability, handing (h, c) on at every switch, as the
                                    # integer branching encoder does (issue #7)
    branch_chunk_steps: float = 8.0  # mean chunk length, encoder steps (geometric lengths)
    distill_weight: float = 0.0     # > 0 (with encoder_only): add this times the mean squared
                                    # difference between each encoder layer's outputs and the
                                    # init's (frozen) encoder's on the same input, so that the
                                    # cheap branch's LSTM states mean what the full branch's do
    kd_weight: float = 0.0          # > 0: add this times the KL divergence from the init's
                                    # (frozen, float) joint distribution to the model's over
                                    # the RNN-T lattice (train.loss.lattice_kd), so that a
                                    # quantization-aware fine-tune stays near the model it
                                    # starts from instead of drifting toward one corpus
    kd_teacher: str = ""            # with kd_weight: distil from this model instead of the
                                    # init (a weights .npz or a shipped set's name, e.g.
                                    # "small"): a pruned model's recovery can learn from the
                                    # dense model it was pruned from, not from itself
    gptq_init: bool = False         # with qat_bits: start the quantized model from GPTQ's
                                    # rounding of the init (azsim.compress.gptq, calibrated on
                                    # the shipped calibration utterances as azsim eval is), not
                                    # from the float weights; a kd_weight teacher stays the
                                    # float init
    gptq_init_range: str = "max"    # with gptq_init: the grid's per-row range for that
                                    # rounding (model.weight_range: "max" or "mse", the clipped
                                    # range with the least squared rounding error). Training's
                                    # own grid stays max|w| per row: after an "mse" start the
                                    # clipped weights are each row's max, so it is the same grid
    swa_every_steps: int = 0        # > 0: also average the exported weights every this many
                                    # steps from swa_start on (stochastic weight averaging,
                                    # Izmailov et al., UAI 2018) into OUT/swa.npz, evaluated on
                                    # dev at the end; averaging three successive recovery runs
                                    # of the 80 % model beat each of them (README)
    swa_start: float = 0.5          # fraction of the steps before the first snapshot
    train_limit: int = 0            # use only the first N training utterances (0: all)
    dev_limit: int = 300

    def __post_init__(self):
        if self.encoder_only and self.decoder_only:
            raise ValueError("encoder_only and decoder_only exclude each other: one of them "
                             "freezes what the other trains")
        if (self.branch_switch or self.distill_weight) and not self.encoder_only:
            raise ValueError("branch_switch and distill_weight need encoder_only: the cheap "
                             "branch runs under the full model's prediction and joint networks")
        if self.kd_teacher and not self.kd_weight:
            raise ValueError(f"kd_teacher {self.kd_teacher!r} needs kd_weight > 0: the teacher "
                             "is only read for distillation")
        if self.kd_teacher and (self.branch_switch or self.distill_weight):
            raise ValueError("kd_teacher excludes branch_switch and distill_weight: they learn "
                             "from the init's own encoder, and there is one frozen teacher")
        if self.qat_bits and not 2 <= self.qat_bits <= 8:
            # 1 bit trained a ternary grid, which azsim's sign-based 1-bit quantizer is not, and
            # 9 or -1 failed at the first forward pass, after OUT was made (a training audit)
            raise ValueError(f"qat_bits {self.qat_bits}: 2 to 8 (0 = no quantization-aware "
                             "training)")
        if not (0 <= self.acos_start < 1 and 0 <= self.acos_ramp
                and self.acos_start + self.acos_ramp <= 1):
            raise ValueError(f"acos_start {self.acos_start} and acos_ramp {self.acos_ramp}: "
                             "shares of training, the ramp starting in [0, 1) and ending "
                             "by its end (start + ramp <= 1)")
        if self.step_lr < 0 or (self.step_lr and not self.qat_bits):
            raise ValueError(f"step_lr {self.step_lr} needs qat_bits and must be >= 0: it "
                             "learns the step of the quantization grid")
        if self.gptq_init and not self.qat_bits:
            raise ValueError("gptq_init needs qat_bits: it rounds the init onto that grid")
        if self.gptq_init_range not in ("max", "mse"):
            raise ValueError(f"gptq_init_range {self.gptq_init_range!r}: max or mse")
        if self.gptq_init_range != "max" and not self.gptq_init:
            raise ValueError(f"gptq_init_range {self.gptq_init_range!r} needs gptq_init")
        if self.swa_every_steps < 0 or not 0 <= self.swa_start < 1:
            raise ValueError(f"swa_every_steps {self.swa_every_steps} >= 0 and swa_start "
                             f"{self.swa_start} in [0, 1)")
        if self.swa_every_steps and self.sparsity > 0 and self.swa_start < self.prune_end:
            # snapshots before the final mask made the average denser than the target (a
            # training audit, 2026-12-06: the defaults 0.5 and 0.6 did)
            raise ValueError(f"swa_start {self.swa_start} before prune_end {self.prune_end}: "
                             "average only snapshots at the final mask (swa_start >= "
                             "prune_end)")
        if self.swa_every_steps and self.qat_bits:
            # the mean of weights on a b-bit grid per row is on no grid: swa.npz was evaluated
            # in float as if it were the trained b-bit model (a training audit, 2026-12-06)
            raise ValueError(f"swa_every_steps {self.swa_every_steps} with qat_bits "
                             f"{self.qat_bits}: an average of {self.qat_bits}-bit weights is "
                             "off their grid; average float runs")
        if self.final_lr > self.lr:
            raise ValueError(f"final_lr {self.final_lr} above lr {self.lr}: the cosine "
                             "schedule would rise instead of decaying")
        if not 0 <= self.branch_switch <= 1:
            raise ValueError(f"branch_switch {self.branch_switch}: a probability in [0, 1]")
        if self.prune_saliency not in compress.PRUNE_SALIENCIES:
            raise ValueError(f"prune_saliency {self.prune_saliency!r}: one of "
                             f"{', '.join(compress.PRUNE_SALIENCIES)}")
        if self.ctc_head_warmup_steps < 0 or self.ctc_head_warmup_lr <= 0:
            raise ValueError(f"ctc_head_warmup_steps {self.ctc_head_warmup_steps} >= 0 and "
                             f"ctc_head_warmup_lr {self.ctc_head_warmup_lr} > 0")
        if (self.ctc_head_warmup_steps or self.ctc_feasible_only) and \
                (self.ctc_weight <= 0 or self.decoder_only):
            raise ValueError("ctc_head_warmup_steps and ctc_feasible_only need the CTC loss "
                             "(ctc_weight > 0, an encoder that trains): they change only it")
        if self.obs_calibration < 1:
            raise ValueError(f"obs_calibration {self.obs_calibration}: at least 1 utterance")


@contextmanager
def thread_budget(threads: int):
    """Run azsim's Numba kernels (dev decoding, GPTQ) inside torch's thread budget.

    Numba's OpenMP threading layer loads the libgomp that torch ships, and a Numba parallel
    region resets that runtime's thread count: measured here, ``torch.get_num_threads()`` goes
    from 1 to 2 when a torch op has run before Numba's first parallel region. So ``azsim train
    --threads 1`` trained on two OpenMP threads from its first dev evaluation on (seen with
    gdb: a second thread in torch's ``gomp_barrier_wait_end``); of two such runs side by side on
    2 cores, one went from 0.40 to 0.72 s a step when its second thread appeared. Numba keeps
    to ``threads`` here, and torch gets its count back afterwards."""
    before = numba.get_num_threads()
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(before)
        torch.set_num_threads(threads)


def _read_init(init, model_cfg):
    """``("npz", arrays)`` for a weights ``.npz`` (checked), ``("pt", state)`` for a checkpoint
    (a ``last.pt``), or None; a file that is neither is a one-line error naming it."""
    if not init:
        return None
    if str(init).endswith(".npz"):
        from ..model.weights import load_weights
        # train has no --model: its recipe names the model (a CLI audit found the hint
        # "(--model)" pointing at an option train lacks)
        choice = (f"azsim train trains its recipe's model, {model_cfg.name!r}, from weights "
                  "of that model")
        return "npz", load_weights(init, model_cfg, model_choice=choice)
    try:
        state = torch.load(init, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises pickle, zip and runtime errors alike
        # what the file is, not only the exception's class (a CLI audit, 2026-12-07: a text
        # file gave "KeyError", a truncated checkpoint "RuntimeError")
        with open(init, "rb") as f:
            magic = f.read(8)
        if not magic.startswith((b"PK\x03\x04", b"\x80")):   # a zip archive, or a pickle
            what = f"starts with {magic!r}" if magic else "is empty"
        else:
            # the reason's first sentence ("PytorchStreamReader failed reading zip archive:
            # failed finding central directory" for a file cut short)
            first = (str(exc).strip().splitlines() or [""])[0].split(". ")[0][:160]
            what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        raise AzsimError(f"--init {init}: not a readable checkpoint ({what}); give a .pt "
                         "written by azsim train, or a weights .npz") from None
    if not isinstance(state, dict) or "model" not in state:
        raise AzsimError(f"--init {init}: a torch file without the 'model' state of an azsim "
                         "train checkpoint")
    return "pt", state


def _steps_before(start) -> int:
    """The training steps a checkpoint's chain of runs has taken (0 for weights or no init):
    its ``steps_total``, or for a checkpoint written before that key, its own run's
    ``step``."""
    if start is None or start[0] != "pt":
        return 0
    state = start[1]
    value = state.get("steps_total", state.get("step", 0))
    return int(value) if isinstance(value, (int, np.integer)) and value > 0 else 0


HOLD_TOLERANCE = 0.005   # an init this far below the held sparsity is pruned to it instead


def hold_mask(prunable: dict, sparsity: float) -> dict | None:
    """Keep-masks of the init's own nonzeros when its zeros already make (nearly) the held
    ``sparsity`` (within :data:`HOLD_TOLERANCE`), else None: a denser init is pruned to the
    target at the first event by the recipe's allocation, as any schedule is."""
    keep = {n: p.detach() != 0 for n, p in prunable.items()}
    return keep if held_share(keep) >= sparsity - HOLD_TOLERANCE else None


def held_share(masks: dict) -> float:
    """The pruned share of the weights under keep-``masks``."""
    total = sum(m.numel() for m in masks.values())
    return 1.0 - sum(int(m.sum()) for m in masks.values()) / total if total else 0.0


def read_teacher(name: str, model_cfg) -> dict:
    """The float arrays of a ``kd_teacher``: a weights ``.npz`` or a shipped set's name
    (``small`` -> azsim/data/models/small.npz), checked as any weights file is."""
    from ..model.loading import resolve_weights_path
    from ..model.weights import load_weights
    path = resolve_weights_path(model_cfg, name)
    if path_kind(path, f"--kd-teacher {name}") != "file":
        from ..model.loading import shipped_weights_dir
        shipped = sorted(p.stem for p in shipped_weights_dir().glob("*.npz"))
        raise AzsimError(f"--kd-teacher {name}: no such weights file or shipped set (the "
                         f"shipped sets: {', '.join(shipped)})")
    return load_weights(path, model_cfg)


def gptq_init_weights(arrays: dict, model_cfg, bits: int, weight_range: str = "max") -> dict:
    """``arrays`` (the ``.npz`` schema) with every weight matrix on its GPTQ grid values, the
    Gram matrices from the float model's run over the shipped calibration utterances;
    ``weight_range``: each row's range ("max" or "mse", as ``model.weight_range``)."""
    from ..compress.gptq import gptq_weights
    from ..evaluate import calibration_utterances
    from ..model.loading import calibration_stats
    stats = calibration_stats(arrays, model_cfg, calibration_utterances(model_cfg),
                              input_grams=True)
    return gptq_weights(arrays, stats.grams, bits, weight_range)


def switch_plan(n_steps: int, p_cheap: float, mean_steps: float, rng) -> list[tuple[int, bool]]:
    """Chunks of encoder steps for branch-switch training: (first step, cheap) pairs, the first
    at step 0, lengths geometric with mean ``mean_steps``, each chunk cheap with probability
    ``p_cheap``; neighbours on the same branch are merged (one LSTM call each)."""
    plan: list[tuple[int, bool]] = []
    step = 0
    while step < max(n_steps, 1):
        cheap = bool(rng.random() < p_cheap)
        if not plan or plan[-1][1] != cheap:
            plan.append((step, cheap))
        step += int(rng.geometric(1.0 / max(1.0, mean_steps)))
    return plan


def ctc_feasible(targets: torch.Tensor, n_labels: torch.Tensor,
                 lengths: torch.Tensor) -> torch.Tensor:
    """[B] bool: whether CTC can align each utterance's labels to its encoder steps. A path
    needs one step per label plus a blank between each pair of equal neighbours (Graves et
    al., ICML 2006); an utterance needing more than ``lengths`` has no path (infinite loss)."""
    u = targets.shape[1]
    inside = torch.arange(1, u, device=targets.device)[None, :] < n_labels[:, None]
    repeats = ((targets[:, 1:] == targets[:, :-1]) & inside).sum(1)
    return n_labels + repeats <= lengths


def _training_batch(split: data.Split, idx, cfg: TrainConfig, mean_t, rng):
    """Batch ``idx`` of ``split`` as training sees it: padded tensors (``data.collate``) with
    VTLP and SpecAugment applied as ``cfg`` says (in that order, drawing from ``rng``)."""
    feats, n_frames, targets, n_labels = data.collate(split, idx)
    if cfg.vtlp_warp > 0:
        feats = data.vtlp(feats, rng, cfg.vtlp_warp)
    if cfg.spec_augment:
        feats = data.spec_augment(feats, n_frames, mean_t, rng)
    return feats, n_frames, targets, n_labels


def warm_ctc_head(model, train_split, cfg: TrainConfig, mean_t, rng) -> tuple[float, float]:
    """Train ``model.ctc_head`` alone for ``cfg.ctc_head_warmup_steps`` batches on the frozen
    encoder's outputs (evaluation mode: no dropout; SpecAugment and VTLP as in training).
    Returns the mean CTC loss per utterance over the first and the last tenth of the batches."""
    head = list(model.ctc_head.parameters())
    opt = torch.optim.Adam(head, lr=cfg.ctc_head_warmup_lr)
    losses = []
    model.eval()
    while len(losses) < cfg.ctc_head_warmup_steps:
        for idx in data.batches(train_split, cfg.max_batch_frames, rng):
            if len(losses) >= cfg.ctc_head_warmup_steps:
                break
            feats, n_frames, targets, n_labels = _training_batch(train_split, idx, cfg, mean_t,
                                                                 rng)
            with torch.no_grad():
                enc_out, lengths = model.encode(feats, n_frames)
            feasible = ctc_feasible(targets, n_labels, lengths) if cfg.ctc_feasible_only else None
            ctc = _ctc_loss(model, enc_out, targets, lengths, n_labels, feasible)
            opt.zero_grad(set_to_none=True)
            ctc.backward()
            opt.step()
            losses.append(float(ctc.detach()))
    model.train()
    tenth = max(1, len(losses) // 10)
    return float(np.mean(losses[:tenth])), float(np.mean(losses[-tenth:]))


def _ctc_loss(model, enc_out, targets, lengths, n_labels,
              feasible: torch.Tensor | None = None) -> torch.Tensor:
    """The auxiliary CTC loss per utterance of the batch: summed and divided by the batch
    size, or, given ``feasible`` (``ctc_feasible`` of the batch), by the number of utterances
    it can align (the others' infinite losses are zeroed either way)."""
    ctc_lp = torch.log_softmax(model.ctc_head(enc_out), -1).transpose(0, 1)
    if feasible is None:
        return torch.nn.functional.ctc_loss(ctc_lp, targets, lengths, n_labels, blank=0,
                                            reduction="sum", zero_infinity=True) / len(targets)
    per = torch.nn.functional.ctc_loss(ctc_lp, targets, lengths, n_labels, blank=0,
                                       reduction="none", zero_infinity=True)
    return (per * feasible).sum() / max(1, int(feasible.sum()))


def _lr(step: int, total: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    p = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.final_lr + 0.5 * (cfg.lr - cfg.final_lr) * (1 + math.cos(math.pi * p))


def acos_ramp_factor(step: int, total: int, cfg: TrainConfig) -> float:
    """The share of ``acos_weight`` in force at ``step`` of ``total``: 0 before
    ``acos_start`` of training, then linear up to 1 over ``acos_ramp`` of it."""
    start = int(cfg.acos_start * total)
    return min(1.0, max(0, step - start) / max(1, cfg.acos_ramp * total))


def objective(rnnt: torch.Tensor, ctc: torch.Tensor, reg: torch.Tensor, ramp: float,
              cfg: TrainConfig) -> torch.Tensor:
    """What the optimizer minimizes: the RNN-T loss, the auxiliary CTC loss and the ramped
    absolute-cosine regularizer. (Before 2026-12-02 QAT dropped the CTC term; the shipped
    ``small-qat4`` up to then was trained that way.)"""
    return rnnt + cfg.ctc_weight * ctc + cfg.acos_weight * ramp * reg


def _start_entry(corpus_dir, init, cfg: TrainConfig) -> dict:
    """The log's first line: what the run learns from. The corpus's grammar fingerprint
    (``corpus.json``; None for corpora drawn before it was recorded) beside today's says
    whether the model heard the grammar that ``azsim corpus`` draws now."""
    from ..corpus.build import corpus_meta
    from ..corpus.grammar import fingerprint, version_of
    meta = corpus_meta(corpus_dir)
    return {"event": "start", "corpus": str(corpus_dir), "corpus_seed": meta.get("seed"),
            "corpus_grammar": meta.get("grammar"),
            "corpus_grammar_version": version_of(meta.get("grammar")),
            "corpus_pauses": meta.get("pauses", 0.0),
            "grammar_now": fingerprint(), "init": None if init is None else str(init),
            "config": asdict(cfg)}


def dev_error_rates(weights: dict, model_cfg, split: data.Split, vocab) -> dict:
    """WER and CER of the exported float weights with azsim's NumPy golden model."""
    feats = [split.utterance(k) for k in range(split.size)]
    hyps = [vocab.decode(tokens)
            for _, tokens in float_ref.recognize_many(weights, model_cfg, feats)]
    refs = [str(split.texts[k]) for k in range(split.size)]
    return {"wer": error_rate(refs, hyps, "word"), "cer": error_rate(refs, hyps, "char")}


def train(model_cfg, corpus_dir, out_dir, cfg: TrainConfig, init: str | None = None,
          progress: Callable[[dict], None] | None = None) -> dict:
    """Train and write ``OUT/weights.npz`` (best dev WER), ``OUT/last.pt``, ``OUT/train.log.jsonl``."""
    torch.set_num_threads(cfg.threads)
    # the inputs that can be bad files first: a bad one fails before OUT or the corpus is touched
    start = _read_init(init, model_cfg)
    # A continuation from a checkpoint draws on from where its chain of runs stopped: seeded
    # by the seed alone it drew the first run's batch order, VTLP warps, SpecAugment masks
    # and dropout again, epoch for epoch (a training audit, 2026-12-07). A run from weights
    # (.npz) or from nothing is seeded as before. The currently shipped models' chains
    # (examples/e31_*.sh, e32_stage3_chain.sh) start every run from a .npz.
    prior = _steps_before(start)
    torch.manual_seed(cfg.seed if not prior else int(
        np.random.SeedSequence([cfg.seed, prior]).generate_state(1, np.uint64)[0]))
    rng = np.random.default_rng([cfg.seed, prior] if prior else cfg.seed)
    teacher_arrays = read_teacher(cfg.kd_teacher, model_cfg) if cfg.kd_teacher else None
    vocab = make_vocab(model_cfg.vocab, model_cfg.vocab_size)
    from ..corpus.build import read_corpus_meta
    meta = read_corpus_meta(corpus_dir, f"--corpus {corpus_dir}:") or {}
    check_feature_frontend(f"corpus {corpus_dir}", meta.get("frontend"), model_cfg)
    train_split = data.load(corpus_dir, "train", vocab, cfg.train_limit or None)
    dev_split = data.load(corpus_dir, "dev", vocab, cfg.dev_limit or None)
    if not train_split.size or not dev_split.size:   # azsim train checks this first
        raise AzsimError(f"corpus {corpus_dir}: training needs utterances in train and dev; "
                         f"it has {train_split.size} and {dev_split.size}")
    steps_per_epoch = len(data.batches(train_split, cfg.max_batch_frames, np.random.default_rng(0)))
    planned = cfg.epochs * steps_per_epoch
    if not math.isfinite(planned):   # int() of it was an OverflowError traceback
        raise AzsimError(f"--epochs {cfg.epochs:g}: {cfg.epochs:g} x {steps_per_epoch} "
                         "batch(es) per epoch is not a finite number of training steps; give "
                         "fewer epochs")
    total = int(planned)
    if total < 1:   # no step, no dev evaluation: nothing would be written as weights.npz
        raise AzsimError(f"--epochs {cfg.epochs:g}: makes no training step (an epoch of this "
                         f"corpus is {steps_per_epoch} batch(es), and training runs epochs x "
                         f"batches steps, rounded down); give --epochs >= "
                         f"{math.ceil(1000 / steps_per_epoch) / 1000:g}")
    prune_start = int(cfg.prune_start * total)
    if cfg.sparsity > 0 and total - 1 - prune_start < 1:
        raise AzsimError(f"--epochs {cfg.epochs:g}: {total} training step(s), too few to prune "
                         f"to {cfg.sparsity:g} (pruning starts at step {prune_start} and needs "
                         "a step after it at the target); give more epochs")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AzsimError(f"--out {out_dir}: cannot create the folder ({exc.strerror})") from None
    mean, std = data.feature_stats(train_split)
    model = TorchRNNT(model_cfg, mean, std)
    if start is not None and start[0] == "npz":
        model.load_npz_weights(start[1])
    elif start is not None:
        try:
            model.load_state_dict(start[1]["model"])
        except RuntimeError as exc:
            raise AzsimError(f"--init {init}: not a checkpoint of this model "
                             f"({' '.join(str(exc).split())[:200]})") from None
    model.dropout = cfg.dropout
    model.pred_dropout = cfg.pred_dropout
    mean_t = model.mean.detach().clone()  # SpecAugment's fill value (the model's own mean)

    prunable = model.prunable()
    if cfg.encoder_only or cfg.decoder_only:
        # One side trains: the encoder (with the training-only CTC head it alone feeds), or
        # the prediction and joint networks; the other keeps the init's weights.
        def trains(name):
            return name.startswith(("enc.", "ctc_head.")) == cfg.encoder_only
        prunable = {n: p for n, p in prunable.items() if trains(n)}
        for name, p in model.named_parameters():
            p.requires_grad_(trains(name))
    masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in prunable.items()}
    teacher = None
    if cfg.branch_switch or cfg.distill_weight or cfg.kd_weight:  # the init (or kd_teacher)
        if not init and not teacher_arrays:   # the teacher is the init, which is missing
            raise ValueError("branch_switch, distill_weight and kd_weight need an init: the "
                             "frozen model they learn from (kd_weight: or a kd_teacher)")
        teacher = copy.deepcopy(model).requires_grad_(False)
        if teacher_arrays is not None:
            teacher.load_npz_weights(teacher_arrays)
        teacher.dropout = teacher.pred_dropout = 0.0
    full_branch = teacher.enc if cfg.branch_switch else None
    # a last.pt of an LSQ run at the same bits: its learned steps carry on (below)
    carried = {}
    if cfg.step_lr and start is not None and start[0] == "pt" and \
            start[1].get("config", {}).get("qat_bits") == cfg.qat_bits:
        carried = start[1].get("log_steps") or {}
    if cfg.gptq_init and not carried:
        # (a continuation of an LSQ run is on its learned grid already: GPTQ would round its
        # shadow weights onto another one, under the carried steps)
        if not init:
            raise ValueError("gptq_init needs an init: the float model it rounds")
        with thread_budget(cfg.threads):
            rounded = gptq_init_weights(model.export(), model_cfg, cfg.qat_bits,
                                        cfg.gptq_init_range)
        # (its own name: it had replaced ``start``, the loaded init, and the LSQ block below
        # then failed on it with KeyError 0 -- every run of small-qat4-gptq-mse-lsq since
        # 2026-12-06's last.pt carry; a training audit)
        model.load_npz_weights(rounded)

    # LSQ: each row's log grid step, learned from the start's own step (step_lr). A last.pt
    # of an LSQ run at the same bits carries its learned steps on: the float shadow weights'
    # max|w_row| / qmax is not the step they were trained on (a continuation from last.pt
    # began on a different grid, and its first evaluation fell back).
    log_steps = {}
    if cfg.step_lr:
        log_steps = {name: torch.nn.Parameter(
                         carried[name].clone() if name in carried
                         and carried[name].shape == (p.shape[0], 1)
                         else torch.log(compress.row_step(p, cfg.qat_bits)))
                     for name, p in prunable.items()}

    def grid_step(name, w):
        """The grid step of matrix ``name`` with weights ``w``: None = max|w_row| / qmax."""
        if name not in log_steps:
            return None
        return compress.learned_step(log_steps[name], w, cfg.qat_bits)

    def export_codes(name, w):
        """The b-bit codes the export stores for matrix ``name``: its mask, then its grid."""
        with torch.no_grad():
            if cfg.sparsity > 0:
                w = w * masks[name]
            return compress.codes(w, cfg.qat_bits, grid_step(name, w))

    # Each matrix's codes at the start of this run (after GPTQ's rounding, if any): the dev
    # log's ``codes_moved`` is the share that differs since. A regularizer strong enough to
    # hold the weights on the grid also holds them on their first codes (the shipped
    # small-qat4's epoch moved 0.035 % of GPTQ's codes; README, 2026-12-07).
    start_codes = ({n: export_codes(n, p) for n, p in prunable.items()} if cfg.qat_bits
                   else {})

    def compressed(name, w, export=False):
        """The pruning mask, then the b-bit grid: fake-quantized (straight-through) while
        training, the grid values themselves on export (not the float shadow weights)."""
        if name not in masks:
            return w            # the frozen part (encoder_only, decoder_only) as loaded
        if cfg.sparsity > 0:
            w = w * masks[name]
        if cfg.qat_bits:
            w = (compress.snap if export else compress.fake_quantize)(w, cfg.qat_bits,
                                                                       grid_step(name, w))
        return w

    training_transform = compressed if (cfg.sparsity > 0 or cfg.qat_bits) else None
    model.weight_transform = training_transform
    groups = [{"params": [p for p in model.parameters() if p.requires_grad], "rate": 1.0}]
    if log_steps:   # the steps on the weights' schedule, scaled, without weight decay
        groups.append({"params": list(log_steps.values()), "rate": cfg.step_lr / cfg.lr,
                       "weight_decay": 0.0})
    opt = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    log_path = out / "train.log.jsonl"
    log = log_path.open("a", encoding="utf-8")
    log.write(json.dumps(_start_entry(corpus_dir, init, cfg)) + "\n")
    report = progress or (lambda *_: None)
    best = {"wer": math.inf}
    step, epoch, t0 = 0, 0, time.time()
    # The last event sets the target's mask; after it the pruned weights stay zero, so a
    # magnitude event would find the same mask again and an obs event has nothing to prune.
    # It must fall on a step that runs (at most total - 1): a window shorter than
    # prune_every_steps, or one ending on the last step, put it after the end, and the run
    # kept a model short of its target (0.000 for 0.5 in 4 steps; a training audit, 2026-12-06).
    window = max(min(int((cfg.prune_end - cfg.prune_start) * total), total - 1 - prune_start), 1)
    every = min(cfg.prune_every_steps, window)
    prune_events = max(1, window // every)
    last_event = prune_start + prune_events * every

    def at_final_mask(step_count: int) -> bool:
        """Whether the weights after ``step_count`` steps carry the target's mask: the last
        pruning event sets it at the start of step ``last_event``, so that step must have run
        (evaluations and weight-averaging snapshots count only then)."""
        return cfg.sparsity == 0 or step_count > last_event

    swa = {"sum": None, "n": 0}   # float64 running sums of the exported weights
    calibration = []   # obs saliency: the training utterances whose inputs each event weighs
    if cfg.sparsity > 0 and cfg.prune_saliency != "magnitude":
        picks = np.linspace(0, train_split.size - 1, min(cfg.obs_calibration, train_split.size))
        calibration = [train_split.utterance(k)
                       for k in np.unique(picks.round().astype(np.int64))]

    def exported():
        if training_transform is not None:
            model.weight_transform = lambda n, w: compressed(n, w, export=True)
        weights = model.export()
        model.weight_transform = training_transform
        return weights

    def diverged(what: str):
        """Stop a run whose loss or weights are no longer finite, in one line."""
        log.write(json.dumps({"event": "diverged", "step": step, "what": what}) + "\n")
        log.close()
        kept = (f"; {out / 'weights.npz'} is the best model evaluated before it"
                if (out / "weights.npz").exists() else "")
        raise AzsimError(f"training diverged after {step} of {total} steps: {what} (its last "
                         f"learning rate {opt.param_groups[0]['lr']:g}; try a lower --lr){kept}")

    def unloadable(weights) -> str:
        """What makes ``weights`` a file that azsim's loader refuses (NaN or Inf, or
        beyond its integer model's magnitude bound), or "" if nothing does."""
        bound = weight_magnitude_bound(model_cfg)
        nonfinite = [k for k, v in weights.items() if not np.all(np.isfinite(v))]
        if nonfinite:
            return f"NaN or Inf in {len(nonfinite)} arrays ({nonfinite[0]}, ...)"
        large = {k: float(np.max(np.abs(v))) for k, v in weights.items()
                 if not k.startswith("frontend.") and v.size and np.max(np.abs(v)) > bound}
        if large:
            return (f"up to {max(large.values()):.3g} in magnitude in {len(large)} arrays "
                    f"({next(iter(large))}, ...; the integer model allows {bound:.0f})")
        return ""

    def evaluate(tag, weights=None, counts=True):
        nonlocal best
        model.eval()
        weights = exported() if weights is None else weights
        # NaN weights (or weights beyond the integer model's range) decoded to 100 % WER and
        # were saved as the best weights.npz, which azsim then refuses to load; the run ended
        # "done" with exit status 0 (a training audit)
        unfit = unloadable(weights)
        if unfit:
            diverged(f"the weights at dev evaluation {tag} are {unfit}, which azsim does not "
                     "load")
        with thread_budget(cfg.threads):
            rates = dev_error_rates(weights, model_cfg, dev_split, vocab)
        entry = {"event": "dev", "tag": tag, "step": step, "epoch": epoch,
                 "elapsed_s": round(time.time() - t0, 1), **rates}
        if cfg.qat_bits:
            entry["grid_distance"] = float(np.mean([
                compress.grid_distance(p, cfg.qat_bits, grid_step(n, p))
                for n, p in prunable.items()]))
            moved = sum(int((export_codes(n, p) != start_codes[n]).sum())
                        for n, p in prunable.items())   # (pruned weights moved to 0 count)
            entry["codes_moved"] = moved / sum(p.numel() for p in prunable.values())
        if log_steps:   # how far the learned steps have come below max|w_row| / qmax
            entry["step_ratio"] = float(np.mean([
                float((grid_step(n, p) / compress.row_step(p, cfg.qat_bits)).detach().mean())
                for n, p in prunable.items()]))
        if cfg.sparsity:
            entry["sparsity"] = float(1 - sum(int(m.sum()) for m in masks.values())
                                      / sum(m.numel() for m in masks.values()))
        log.write(json.dumps(entry) + "\n")
        log.flush()
        report(entry)
        # Pruned models only count once the target sparsity is reached: the last pruning event
        # sets its mask at the start of step prune_start + prune_events * every, so that step
        # must have run (``>=`` counted an evaluation just before it, whose weights were not
        # yet at the target; a 2-step test run then kept the unpruned epoch as its best).
        # The last event falls on a step that runs, so the last evaluation is past it.
        if counts and at_final_mask(step) and rates["wer"] <= best["wer"]:
            best = {"wer": rates["wer"], "cer": rates["cer"], "step": step}
            save_npz(out / "weights.npz", weights)
        model.train()

    ctc_infeasible = 0
    if cfg.ctc_head_warmup_steps and start is not None and start[0] == "pt":
        # a checkpoint (last.pt) carries the head it trained: nothing to warm up
        entry = {"event": "ctc_head_warmup", "steps": 0,
                 "skipped": "the --init checkpoint carries its trained CTC head"}
        log.write(json.dumps(entry) + "\n")
        report(entry)
    elif cfg.ctc_head_warmup_steps:
        # its own stream of batches: the run's batch order is the one it has without warm-up
        began = time.time()
        first, last = warm_ctc_head(model, train_split, cfg, mean_t,
                                    np.random.default_rng([cfg.seed, 1]))
        entry = {"event": "ctc_head_warmup", "steps": cfg.ctc_head_warmup_steps,
                 "ctc_first_tenth": round(first, 4), "ctc_last_tenth": round(last, 4),
                 "seconds": round(time.time() - began, 1)}
        log.write(json.dumps(entry) + "\n")
        log.flush()
        report(entry)
    # A run that holds its init's sparsity (prune_initial >= sparsity: the recover recipes
    # and the sparse QAT ones) keeps the init's own zeros. It rebuilt the mask by magnitude under the
    # recipe's allocation instead, which reproduces them only if the init was pruned that way:
    # small-sparse80-recover (uniform) from the globally pruned small-sparse80 let 51,218 of
    # its zeros regrow and cut as many nonzeros (a training audit, 2026-12-07).
    held = None
    model.train()
    while step < total:
        for idx in data.batches(train_split, cfg.max_batch_frames, rng):
            if step >= total:
                break
            for group in opt.param_groups:
                group["lr"] = _lr(step, total, cfg) * group["rate"]
            if cfg.sparsity > 0 and prune_start <= step <= last_event \
                    and (step - prune_start) % every == 0:
                target = compress.zhu_gupta_sparsity(step, cfg.sparsity, prune_start,
                                                     prune_events, every,
                                                     initial=cfg.prune_initial)
                if held is None and cfg.prune_initial >= cfg.sparsity:
                    held = hold_mask(prunable, cfg.sparsity)
                    if held is not None:
                        log.write(json.dumps({"event": "hold", "step": step,
                                              "sparsity": held_share(held)}) + "\n")
                if held is not None:
                    masks = held
                elif not calibration:
                    masks = compress.allocation_masks(prunable, target, cfg.prune_allocation)
                else:   # the Gram matrices of the model as it is, before this event
                    shares = compress.allocation_masks(prunable, target, cfg.prune_allocation)
                    began = time.time()
                    with thread_budget(cfg.threads):
                        masks = compress.obs_event(prunable, shares, exported(), model_cfg,
                                                   calibration,
                                                   cfg.prune_saliency == "obs")
                    entry = {"event": "obs", "step": step, "sparsity": target,
                             "seconds": round(time.time() - began, 2)}
                    log.write(json.dumps(entry) + "\n")
            feats, n_frames, targets, n_labels = _training_batch(train_split, idx, cfg, mean_t,
                                                                 rng)
            plan = None
            if full_branch is not None:
                plan = switch_plan(model.encoder_steps(feats.shape[1]), cfg.branch_switch,
                                   cfg.branch_chunk_steps, rng)
            layers = [] if cfg.distill_weight else None
            enc_out, lengths = model.encode(feats, n_frames, plan, full_branch, layers)
            distill = torch.zeros(())
            if cfg.distill_weight:
                with torch.no_grad():
                    targets_out = []
                    teacher.encode(feats, n_frames, collect=targets_out)
                distill = sum(torch.mean((a - b) ** 2) for a, b in zip(layers, targets_out))
            logits = model.joint(enc_out, model.predict(targets))
            loss = rnnt_loss(logits, targets, lengths, n_labels)
            kd = torch.zeros(())
            if cfg.kd_weight:
                with torch.no_grad():
                    t_enc, _ = teacher.encode(feats, n_frames)
                    t_logits = teacher.joint(t_enc, teacher.predict(targets))
                kd = lattice_kd(logits, t_logits, lengths, n_labels)
            # the utterances CTC can align, counted with its loss off too (a property of the
            # data and the encoder's frame rate)
            feasible = ctc_feasible(targets, n_labels, lengths)
            ctc_infeasible += int((~feasible).sum())
            ctc = torch.zeros(())
            if cfg.ctc_weight > 0 and not cfg.decoder_only:  # (a frozen encoder gets none)
                ctc = _ctc_loss(model, enc_out, targets, lengths, n_labels,
                                feasible if cfg.ctc_feasible_only else None)
            reg = torch.zeros(())
            ramp = 0.0
            if cfg.qat_bits and cfg.acos_weight > 0:
                ramp = acos_ramp_factor(step, total, cfg)
                reg = sum(compress.acos_penalty(p, cfg.qat_bits, grid_step(n, p))
                          for n, p in prunable.items())
            total_loss = (objective(loss, ctc, reg, ramp, cfg) + cfg.distill_weight * distill
                          + cfg.kd_weight * kd)
            if not torch.isfinite(total_loss):
                diverged(f"the loss is {float(total_loss.detach())} (RNN-T "
                         f"{float(loss.detach())}, CTC {float(ctc.detach())})")
            opt.zero_grad(set_to_none=True)
            total_loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            if log_steps:   # a step above its cap gets no gradient and would stay there: keep
                # each learned step at most max|w_row| / qmax (a training audit, 2026-12-06)
                with torch.no_grad():
                    for n, v in log_steps.items():
                        v.copy_(torch.minimum(v, torch.log(compress.row_step(prunable[n],
                                                                             cfg.qat_bits))))
            if cfg.sparsity > 0:
                with torch.no_grad():
                    for n, p in prunable.items():
                        p.mul_(masks[n])
            step += 1
            # (at the final mask, as an evaluation counts: swa_start == prune_end let a
            # snapshot land on the last pruning event's eve, at the mask before it)
            if cfg.swa_every_steps and step >= cfg.swa_start * total \
                    and step % cfg.swa_every_steps == 0 and at_final_mask(step):
                snap = exported()   # export() reads the weights without autograd
                if swa["sum"] is None:
                    swa["sum"] = {k: v.astype(np.float64) for k, v in snap.items()}
                else:
                    for k, v in snap.items():
                        swa["sum"][k] += v
                swa["n"] += 1
            if step % 50 == 0 or step == 1:   # the first step: the losses at the start
                entry = {"event": "train", "step": step, "total_steps": total, "epoch": epoch,
                         "loss": round(float(loss.detach()), 4),
                         "reg": round(float(reg.detach()), 5),
                         "distill": round(float(distill.detach()), 5),
                         "kd": round(float(kd.detach()), 5),
                         "ctc": round(float(ctc.detach()), 4),
                         # utterances so far whose labels CTC cannot align (ctc_feasible)
                         "ctc_infeasible": ctc_infeasible,
                         # the rate this step ran at (the base group's; _lr(step) after the
                         # increment was the next step's)
                         "lr": opt.param_groups[0]["lr"],
                         "elapsed_s": round(time.time() - t0, 1)}
                log.write(json.dumps(entry) + "\n")
                log.flush()
                report(entry)
        epoch += 1
        torch.save({"model": model.state_dict(), "step": step, "epoch": epoch,
                    "steps_total": prior + step,   # of the chain of runs (_steps_before)
                    "config": asdict(cfg),
                    "log_steps": {n: v.detach().clone() for n, v in log_steps.items()}},
                   out / "last.pt")
        evaluate(f"epoch{epoch}")
    if swa["n"]:
        # The average of weights that share one mask keeps it: a zero in every snapshot is
        # zero in the mean. Written beside the best checkpoint, evaluated, never chosen by dev.
        averaged = {k: (v / swa["n"]).astype(np.float32) for k, v in swa["sum"].items()}
        save_npz(out / "swa.npz", averaged)
        evaluate(f"swa{swa['n']}", averaged, counts=False)
    log.close()
    return {"best": best, "steps": total, "elapsed_s": time.time() - t0}
