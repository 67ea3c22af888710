"""GPTQ: error-compensating rounding of a weight matrix onto azsim's per-row grid.

``model.quantizer = "gptq"`` keeps the grid, the scales and the stream formats of the
``uniform`` quantizer (``quantize_per_channel``: the processor runs exactly the same kind of
weights) and changes only *which* code each weight gets. Round-to-nearest minimizes each
weight's own error; GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for
Generative Pre-trained Transformers", ICLR 2023, after Optimal Brain Quantization, Frantar &
Alistarh, NeurIPS 2022) minimizes the layer's output error on calibration inputs,
``tr((w - q) H (w - q)^T)`` with ``H`` the Gram matrix of the inputs the matrix saw while the
float model ran over the calibration utterances (``float_ref.ActivationStats`` with
``grams``). The arithmetic is ``kernels/gptq.py``.

Choices, with their sources:

* damping: ``DAMP`` x the mean diagonal of ``H`` is added to its diagonal (the GPTQ paper's
  1 %, "percdamp" in its code), so that inputs the calibration barely excites do not make
  the inverse ill-conditioned;
* column order: decreasing ``H[i, i]`` (the authors' "act-order", ``desc_act``): the inputs
  with most energy are rounded first, while the most later columns remain to absorb their
  error;
* an input the calibration never excites (``H[i, i] == 0``) carries no information about the
  output error: its column is rounded to nearest and neither gives nor receives compensation
  (the paper's code zeroes such columns instead, which would silence an input that unheard
  audio may use);
* pruning: given the unpruned weights and the pruning mask (``keep``), the pruned weights get
  code 0 and their whole value is compensated on the later columns like a rounding error
  (the fixed-mask case of SparseGPT, Frantar & Alistarh, ICML 2023): one-shot pruning is then
  compensated too. The grid is that of the kept weights, as ``uniform`` has it.
"""
from __future__ import annotations

import numpy as np

from ..kernels import gptq_round, inverse_upper_cholesky, obs_prune

from .quantize import per_channel_scale, weight_qmax

DAMP = 0.01
OBS_BLOCK = 128   # SparseGPT's mask-selection block (its paper and code: Bs = 128 columns)


def _checked_gram(w64: np.ndarray, gram, who: str) -> np.ndarray:
    """``gram`` as a float64 copy, checked against the [O, I] matrix ``w64``."""
    n_in = w64.shape[1]
    h = np.array(gram, np.float64)
    if h.shape != (n_in, n_in):
        raise ValueError(f"{who}: a {w64.shape} matrix needs a {n_in} x {n_in} input Gram "
                         f"matrix, got {h.shape}")
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(w64))):
        raise ValueError(f"{who} needs finite weights and inputs")
    return h


def _ordered_inverse(h: np.ndarray, damp: float, act_order: bool = True
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The column order (most excited input first; without ``act_order`` the columns' own)
    and the upper Cholesky factor of the damped inverse Gram matrix in that order, with an
    input the calibration never excites decoupled from the others (it neither gives nor
    receives compensation). ``h`` is modified."""
    n_in = h.shape[0]
    diag = np.diag(h).copy()
    dead = diag <= 0
    h[dead, :] = 0.0
    h[:, dead] = 0.0
    live_mean = float(diag[~dead].mean()) if np.any(~dead) else 1.0
    h[dead, dead] = live_mean
    h[np.diag_indices(n_in)] += damp * live_mean
    order = np.argsort(-np.diag(h), kind="stable") if act_order else np.arange(n_in)
    return order, inverse_upper_cholesky(np.ascontiguousarray(h[np.ix_(order, order)]))


def gptq_quantize(w: np.ndarray, gram: np.ndarray, bits: int, damp: float = DAMP,
                  keep: np.ndarray | None = None,
                  weight_range: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and float64 per-row scales (``w ~ q * scale``, the grid of
    ``quantize_per_channel`` for the kept weights) chosen to minimize the output error on
    inputs with Gram matrix ``gram`` [I, I] (``sum_x x x^T`` over the calibration inputs of
    ``w`` [O, I]). ``keep``: the weights pruning keeps (default: the nonzero ones); the others
    get code 0, their value compensated on the later columns. ``weight_range``: how each row's
    step is chosen from the kept weights (``quantize_per_channel``'s "max" or "mse"), before
    any compensation moves them, as GPTQ's reference code fixes its grid first."""
    w64 = np.asarray(w, np.float64)
    if w64.ndim != 2:
        raise ValueError(f"gptq needs a 2-D weight matrix, got shape {w64.shape}")
    h = _checked_gram(w64, gram, "gptq")
    keep = (w64 != 0) if keep is None else np.asarray(keep, bool)
    if keep.shape != w64.shape:
        raise ValueError(f"gptq: keep mask {keep.shape} for a {w64.shape} matrix")
    scale = per_channel_scale(np.where(keep, w64, 0.0), bits, weight_range)
    if w64.size == 0:
        return np.zeros(w64.shape, np.int8), scale
    order, upper = _ordered_inverse(h, damp)
    codes = gptq_round(np.ascontiguousarray(w64[:, order]), upper, scale,
                       float(weight_qmax(bits)), bits == 1,
                       np.ascontiguousarray(keep[:, order]))
    q = np.empty_like(codes)
    q[:, order] = codes
    return q, scale


def gptq_quantize_pruned(w: np.ndarray, gram: np.ndarray, bits: int,
                         unpruned: np.ndarray | None = None,
                         weight_range: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """``gptq_quantize`` of a (possibly pruned) matrix ``w``: its zeros stay zero; given the
    values before pruning (``unpruned``), those are what the kept weights compensate
    (SparseGPT's fixed-mask case), otherwise ``w``'s own."""
    return gptq_quantize(w if unpruned is None else unpruned, gram, bits,
                         keep=np.asarray(w) != 0, weight_range=weight_range)


def gptq_weights(weights: dict, grams: dict, bits: int, weight_range: str = "max") -> dict:
    """``weights`` with every matrix that has a Gram matrix in ``grams`` replaced by its GPTQ
    grid values ``q * scale`` (float32): the float form of what the integer model runs, e.g. to
    start quantization-aware training from GPTQ's rounding (``TrainConfig.gptq_init``)."""
    out = dict(weights)
    for name, gram in grams.items():
        q, scale = gptq_quantize(weights[name], gram, bits, weight_range=weight_range)
        out[name] = (q * scale[:, None]).astype(np.float32)
    return out


def obs_block_counts(n_prune: int, n_in: int, block: int = OBS_BLOCK) -> np.ndarray:
    """How many of ``n_prune`` weights each block of ``block`` columns prunes: shares in
    proportion to the blocks' widths (SparseGPT prunes the same fraction of every block),
    rounded down cumulatively so that they add up to ``n_prune`` exactly."""
    edges = np.minimum(np.arange(1, -(-n_in // block) + 1) * block, n_in).astype(np.int64)
    cumulative = np.concatenate([[0], (int(n_prune) * edges) // max(n_in, 1)])
    return np.diff(cumulative).astype(np.int64)


def obs_prune_matrix(w: np.ndarray, gram: np.ndarray, n_prune: int, damp: float = DAMP,
                     block: int = OBS_BLOCK) -> np.ndarray:
    """``w`` [O, I] with ``n_prune`` weights pruned by SparseGPT's adaptive mask selection and
    the kept weights compensated, on inputs with Gram matrix ``gram`` (float32; the weights
    stay float: any quantizer rounds them afterwards); a matrix with ``n_prune`` zeros or more
    is returned as it is. The damping, the column order and
    silent inputs are as for ``gptq_quantize``: the mask is chosen block by block in the
    order the most excited inputs come first (``kernels.obs_prune``)."""
    w64 = np.asarray(w, np.float64)
    if w64.ndim != 2:
        raise ValueError(f"obs pruning needs a 2-D weight matrix, got shape {w64.shape}")
    if not 0 <= n_prune <= w64.size:
        raise ValueError(f"obs pruning: cannot prune {n_prune} of {w64.size} weights")
    h = _checked_gram(w64, gram, "obs pruning")
    if n_prune <= np.count_nonzero(w64 == 0):
        # already that sparse (e.g. a model trained sparse): its own zeros are the mask.
        # SparseGPT's equal share per block would cut nonzeros where a block has fewer zeros.
        return w64.astype(np.float32)
    order, upper = _ordered_inverse(h, damp)
    counts = obs_block_counts(n_prune, w64.shape[1], block)
    pruned = obs_prune(np.ascontiguousarray(w64[:, order]), upper, counts, block, False)
    out = np.empty_like(pruned)
    out[:, order] = pruned
    return out.astype(np.float32)


def obs_prune_nm(w: np.ndarray, gram: np.ndarray, n: int, m: int, damp: float = DAMP
                 ) -> np.ndarray:
    """``w`` [O, I] pruned to N:M sparsity along the inputs by SparseGPT's semi-structured
    mode: every group of ``m`` consecutive weights of a row keeps ``n`` (a trailing group of
    L < m keeps ceil(n * L / m), as ``prune.nm_mask``), the group's weights of least
    saliency pruned when the sweep reaches it, the kept weights compensating. The columns go
    in their own order, so that a group is a block (SparseGPT's N:M mode has no act-order)."""
    w64 = np.asarray(w, np.float64)
    if w64.ndim != 2:
        raise ValueError(f"obs pruning needs a 2-D weight matrix, got shape {w64.shape}")
    if not 1 <= n <= m:
        raise ValueError(f"N:M needs 1 <= N <= M, got {n}:{m}")
    h = _checked_gram(w64, gram, "obs pruning")
    if w64.size == 0 or n == m:
        return w64.astype(np.float32)
    _, upper = _ordered_inverse(h, damp, act_order=False)
    n_in = w64.shape[1]
    widths = np.minimum(m, n_in - m * np.arange(-(-n_in // m)))
    counts = (widths - -(-n * widths // m)).astype(np.int64)
    return obs_prune(np.ascontiguousarray(w64), upper, counts, m, True).astype(np.float32)
