"""Compression during training: quantization-aware training and gradual magnitude pruning.

Quantization-aware training (QAT). azsim quantizes each matrix per output row onto the
symmetric b-bit grid ``{-qmax..qmax} * s`` with ``s = max|w_row| / qmax``
(:func:`azsim.compress.quantize.quantize_per_channel`). Training uses the same grid twice:

* forward: straight-through fake quantization (Bengio et al. 2013): the loss sees the
  grid-snapped matrix, gradients pass to the float weights unchanged;
* weight updates: an absolute-cosine regularizer in the spirit of Nguyen et al., "Quantization
  Aware Training with Absolute-Cosine Regularization for Automatic Speech Recognition"
  (Amazon, Interspeech 2020)::

      R(w) = mean over weights of (1 - |cos(pi * w / s)|)

  which is 0 on every grid point and 1 halfway between two. Its gradient
  ``pi/s * sign(cos) * sin(pi w / s)`` moves every weight toward its nearest grid point at
  every optimizer step, so the float weights themselves converge onto the grid and the final
  snap changes almost nothing. The strength ramps up linearly so that early training can
  still move weights between grid points. The per-row step ``s`` is treated as a constant
  (detached) in both.

The step is max|w_row| / qmax unless it is learned: with ``TrainConfig.step_lr`` each row's
log step is a parameter trained with the weights (learned step size quantization, LSQ: Esser
et al., ICLR 2020), starting at the row's own step, so training can move each row's clipping
point instead of inheriting it from the start (a clipped start already helped at 4 bits, E12
of session 16). The learned step is capped at max|w_row| / qmax (:func:`learned_step`), so the
exported grid is still the one azsim's per-row quantizer finds.

Gradual magnitude pruning (Zhu & Gupta, "To prune, or not to prune", 2017, arXiv:1710.01878):
the target sparsity follows ``s_t = s_f * (1 - (1 - (t - t0) / (n dt))^3)`` from step t0 over
n pruning events dt steps apart; at each event every matrix keeps its largest-magnitude
weights and the mask is applied to the weights after each optimizer step, so pruned weights
stay at zero. How s_t is shared among the matrices is the allocation:

* ``uniform`` (Zhu & Gupta's own): every matrix at s_t (azsim's ``magnitude`` method: exactly
  round(s_t * size) pruned per matrix);
* ``erk``: the Erdos-Renyi-Kernel rule (Evci et al., ICML 2020; azsim's ``erk`` method): the
  overall sparsity is s_t, but a matrix's density is proportional to (rows + cols) /
  (rows * cols), so the small joint output and prediction-input matrices stay nearly dense;
* ``global``: one magnitude threshold over all matrices (azsim's ``global`` method), so each
  layer's sparsity follows its weights (measured one-shot on the stage-4 ``small`` model at
  45 %, dev WER: uniform 54.3 %, ERK 35.8 %, global 25.2 %; README).

Which weights make up a matrix's share is the saliency: ``magnitude`` (Zhu & Gupta's, the
smallest |w|) or ``obs``, SparseGPT's adaptive mask selection (Frantar & Alistarh, ICML 2023;
azsim's one-shot ``model.prune_saliency = "obs"``) applied at every pruning event, as the
Optimal BERT Surgeon applies OBS saliency during gradual pruning (Kurtic et al., EMNLP 2022):
the current model runs over a fixed set of training utterances, each matrix's input Gram
matrix H is collected, and the matrix's share goes by least w^2 / [H^-1]_ii^2, block by
block, the kept weights absorbing the removed ones (``compress.gptq.obs_prune_matrix``). The
allocation's magnitude masks set only how many weights each matrix loses. A weight pruned at
an earlier event is zero and goes first; where a block already holds more zeros than its
share, the surplus comes back as a compensated weight. ``obs-mask`` takes SparseGPT's mask
alone and leaves the kept weights as training left them (a surplus zero stays zero).
Measured on the shipped ``small`` (64 o44 training utterances, no training between events;
E18, session 18), the compensation moves the kept weights by 4 % of their size on average
for 2 points of sparsity (0.70 -> 0.72) and by 8-11 % for each step of 2-3 points up to
0.80; the 80 % schedule's events are up to 1.5 points each, 25 steps apart.
"""
from __future__ import annotations

import math

import torch

from ..compress.gptq import obs_prune_matrix
from ..compress.prune import erk_sparsities
from ..compress.quantize import weight_qmax
from ..model import float_ref

PRUNE_ALLOCATIONS = ("uniform", "erk", "global")
PRUNE_SALIENCIES = ("magnitude", "obs", "obs-mask")


def row_step(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-row grid step s = max|w_row| / qmax (1 for all-zero rows), detached."""
    max_abs = w.detach().abs().amax(dim=1, keepdim=True)
    return torch.where(max_abs > 0, max_abs / weight_qmax(bits), torch.ones_like(max_abs))


def _grid_step(w: torch.Tensor, bits: int, step: torch.Tensor | None) -> torch.Tensor:
    """The step the grid functions use: a learned ``step`` held constant, or max|w_row| / qmax."""
    return row_step(w, bits) if step is None else step.detach()


def fake_quantize(w: torch.Tensor, bits: int, step: torch.Tensor | None = None
                  ) -> torch.Tensor:
    """Straight-through fake quantization onto azsim's per-row symmetric grid (bits >= 2).
    Without ``step`` the grid is max|w_row| / qmax and every gradient passes to ``w``
    unchanged. With a learned ``step`` (:func:`learned_step`) it is Esser et al.'s LSQ: only
    the rounding is straight-through, so a clipped weight gets no gradient and the step gets
    round(w/s) - w/s inside the range and +-qmax outside it."""
    qmax = weight_qmax(bits)
    if step is None:
        s = row_step(w, bits)
        snapped = torch.clamp(torch.round(w / s), -qmax, qmax) * s
        return w + (snapped - w).detach()
    x = w / step
    return torch.clamp(x + (torch.round(x) - x).detach(), -qmax, qmax) * step


def learned_step(log_step: torch.Tensor, w: torch.Tensor, bits: int) -> torch.Tensor:
    """A row's learned grid step exp(``log_step``), at most max|w_row| / qmax: the step may
    clip the row but never leave its top code unused, so the largest exported weight is
    +-qmax steps and azsim's own per-row scale (max|w| / qmax) recovers the step exactly."""
    return torch.minimum(log_step.exp(), row_step(w, bits))


def codes(w: torch.Tensor, bits: int, step: torch.Tensor | None = None) -> torch.Tensor:
    """The b-bit integer code of each weight on its row's grid (what the export stores)."""
    qmax = weight_qmax(bits)
    return torch.clamp(torch.round(w / _grid_step(w, bits, step)), -qmax, qmax)


def snap(w: torch.Tensor, bits: int, step: torch.Tensor | None = None) -> torch.Tensor:
    """The grid values themselves (for export)."""
    return codes(w, bits, step) * _grid_step(w, bits, step)


def acos_penalty(w: torch.Tensor, bits: int, step: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute-cosine distance of ``w`` from its b-bit grid (0 on the grid)."""
    s = _grid_step(w, bits, step)
    return (1.0 - torch.abs(torch.cos(math.pi * w / s))).mean()


def grid_distance(w: torch.Tensor, bits: int, step: torch.Tensor | None = None) -> float:
    """Mean |w - snap(w)| in grid steps (0 = on the grid, 0.25 = uniform between points)."""
    w = w.detach()      # a diagnostic: no gradient (and no warning for dropping it)
    s = _grid_step(w, bits, step)
    return float((torch.abs(w - snap(w, bits, s)) / s).mean())


def zhu_gupta_sparsity(step: int, final: float, start_step: int, n_events: int,
                       every_steps: int, initial: float = 0.0) -> float:
    """Target sparsity at ``step`` on the cubic schedule of Zhu & Gupta 2017 (eq. 1)."""
    if step < start_step:
        return initial
    progress = min(1.0, (step - start_step) / max(1, n_events * every_steps))
    return final + (initial - final) * (1.0 - progress) ** 3


def magnitude_mask(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask pruning exactly round(sparsity * size) weights of smallest |w|."""
    n_pruned = int(round(sparsity * w.numel()))
    mask = torch.ones_like(w, dtype=torch.bool)
    if n_pruned <= 0:
        return mask
    order = torch.argsort(w.detach().abs().flatten(), stable=True)
    mask.view(-1)[order[:n_pruned]] = False
    return mask


def allocation_masks(prunable: dict, sparsity: float, allocation: str = "uniform"
                     ) -> dict[str, torch.Tensor]:
    """Keep-masks of all prunable matrices at overall ``sparsity`` (module docstring)."""
    if allocation == "global":
        flat = torch.cat([p.detach().abs().flatten() for p in prunable.values()])
        keep = magnitude_mask(flat, sparsity)
        out, start = {}, 0
        for name, p in prunable.items():
            out[name] = keep[start:start + p.numel()].view(p.shape)
            start += p.numel()
        return out
    if allocation == "uniform":
        per_layer = {name: sparsity for name in prunable}
    elif allocation == "erk":
        per_layer = erk_sparsities({n: tuple(p.shape) for n, p in prunable.items()}, sparsity)
    else:
        raise ValueError(f"prune allocation {allocation!r} is not one of "
                         f"{', '.join(PRUNE_ALLOCATIONS)}")
    return {name: magnitude_mask(p, per_layer[name]) for name, p in prunable.items()}


def obs_event(prunable: dict, shares: dict[str, torch.Tensor], weights: dict, model_cfg,
              calibration: list, compensate: bool = True) -> dict[str, torch.Tensor]:
    """One pruning event with obs saliency (module docstring): each matrix of ``prunable``
    loses as many weights as its ``shares`` mask drops, chosen and compensated on the input
    Gram matrices of ``weights`` (the exported model, in the ``.npz`` schema) run over the
    ``calibration`` feature matrices. The parameters are set to the pruned weights in place
    (without ``compensate``: only the pruned ones, to zero); returns their keep-masks."""
    stats = float_ref.ActivationStats(grams={})
    float_ref.recognize_many(weights, model_cfg, calibration, stats)
    masks = {}
    with torch.no_grad():
        for name, p in prunable.items():
            n_prune = int(shares[name].numel() - shares[name].sum())
            pruned = torch.from_numpy(obs_prune_matrix(p.detach().cpu().numpy(),
                                                       stats.grams[name], n_prune))
            if compensate:
                p.copy_(pruned)
            else:
                p.mul_(pruned != 0)
            masks[name] = p != 0
    return masks
