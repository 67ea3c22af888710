"""An up-front memory estimate of a run, so that a valid but enormous config (``--set
model.encoder.hidden=16384`` on the tiny model: 4.3e9 weights) is one line naming its
settings, not a process the kernel kills a minute later.

What a run holds at its peak, per unit, measured with ``azsim run --model tiny`` (peak RSS
over the baseline, for ``model.encoder.hidden`` 512 to 4096 and ``hw.pe_count`` 16384 and
65536; they grow linearly):

* each weight: :data:`BYTES_PER_WEIGHT` (the float64 draw of generated weights, the float32
  weights, their int8 codes and the copies quantizing and pruning make);
* on the PE array, each (PE, layer input) pair: :data:`BYTES_PER_PE_INPUT` (the per-PE tables
  of :mod:`azsim.schedule.mapping`, ``[pe_count, inputs]`` int64 arrays for every layer);
* the compression's working copies, per weight, over the run above (peak RSS of ``azsim run
  --model tiny --set model.encoder.hidden=H`` with the setting against without it, one
  utterance, H = 1024 and 2048, 2026-12-06; the larger of the two per-weight figures,
  rounded up): pruning (:data:`PRUNE_BYTES_PER_WEIGHT`: 5 a matrix at a time, 13 with one
  global threshold, which ranks every weight at once, 16 choosing by SparseGPT's saliency),
  GPTQ's Gram matrices and float64 copies (8) and codebook fitting (4)
  (:data:`QUANTIZER_BYTES_PER_WEIGHT`), and the branching encoder's cheap branch, each
  encoder weight again at its own pruning's figure (5 at least: the branch weights' copies;
  ``model.branch.prune=global``: 12.3 per encoder weight measured).

The budget is half the machine's physical memory (room for the OS, other processes and what
this estimate leaves out), or ``AZSIM_MEMORY_GB`` gigabytes when that is set.
"""
from __future__ import annotations

import math
import os

from ..errors import ConfigError
from .weights import expected_shapes

__all__ = ["BUDGET_ENV", "memory_budget", "check_memory_budget", "check_concurrent_runs"]

BYTES_PER_WEIGHT = 18
BYTES_PER_PE_INPUT = 48
# Measured per weight (module docstring): magnitude 3.9-5.0, erk / nm:2:4 / balanced:16 5.0,
# global 11.4-12.8, obs 14.8-15.9.
PRUNE_BYTES_PER_WEIGHT = {"per_matrix": 5, "global": 13, "obs": 16}
# gptq 6.3-7.6, codebook 3.4 (uniform: nothing over the run above).
QUANTIZER_BYTES_PER_WEIGHT = {"uniform": 0, "gptq": 8, "codebook": 4}
BUDGET_ENV = "AZSIM_MEMORY_GB"
_GB = 1e9


def _gb(n_bytes: float) -> str:
    """Gigabytes for a message: one decimal, or two significant digits below 0.1 GB (a
    budget set to 0.001 GB must not read '0.0 GB')."""
    gb = n_bytes / _GB
    return f"{gb:.1f}" if gb >= 0.1 else f"{gb:.2g}"


def memory_budget() -> tuple[float, str]:
    """``(bytes, how it was set)``: ``AZSIM_MEMORY_GB``, else half the physical memory."""
    text = os.environ.get(BUDGET_ENV)
    if text is not None:
        try:
            gb = float(text)
        except ValueError:
            gb = math.nan
        if not (math.isfinite(gb) and gb > 0):
            raise ConfigError(f"{BUDGET_ENV}={text!r}: not a memory budget (allowed: a "
                              "positive number of gigabytes, e.g. 16)")
        return gb * _GB, f"{BUDGET_ENV}={text}"
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):   # no sysconf: no limit but the user's own
        return math.inf, f"{BUDGET_ENV} unset"
    return physical / 2, f"half of this machine's {_gb(physical)} GB; {BUDGET_ENV} sets it"


def check_memory_budget(cfg, hw=None) -> float:
    """Refuse a model (and, on the PE array, processor) whose run would need more memory than
    :func:`memory_budget`: a one-line ConfigError naming the settings behind the estimate.
    Returns the estimate, bytes."""
    need, terms = _estimate(cfg, hw)
    budget, how = memory_budget()
    if need > budget:
        raise ConfigError(f"model {cfg.name}: a run would need about {_gb(need)} GB of "
                          f"memory, above the budget of {_gb(budget)} GB ({how}): "
                          f"{' + '.join(terms)}; make the model or the PE array smaller")
    return need


def check_concurrent_runs(needs, jobs: int) -> None:
    """Refuse ``jobs`` workers that would together need more than :func:`memory_budget` when
    each runs one of the largest points at once (``needs``: each point's estimate, bytes, as
    :func:`check_memory_budget` returns it)."""
    largest = sorted(needs, reverse=True)
    budget, how = memory_budget()
    together = sum(largest[:jobs])
    if jobs > 1 and together > budget:
        fit, total = 0, 0.0
        for need in largest:
            if total + need > budget:
                break
            fit, total = fit + 1, total + need
        raise ConfigError(f"--jobs {jobs}: the {min(jobs, len(largest))} largest points at once "
                          f"would need about {_gb(together)} GB of memory, above the "
                          f"budget of {_gb(budget)} GB ({how}); at most --jobs {max(fit, 1)} "
                          "fit")


def _estimate(cfg, hw) -> tuple[float, list[str]]:
    """A run's peak memory, bytes, and the terms that make it up (for messages)."""
    shapes = expected_shapes(cfg)
    sizes = {part: sum(math.prod(s) for name, s in shapes.items()
                       if name.split(".")[0] == part) for part in ("enc", "pred", "joint")}
    weights = sum(sizes.values())
    need = weights * BYTES_PER_WEIGHT
    terms = [f"{weights:,} weights x {BYTES_PER_WEIGHT} bytes, most in "
             f"{_widths(cfg, max(sizes, key=sizes.get))}"]
    extra = _compression_bytes_per_weight(cfg.sparsity, cfg.prune, cfg.prune_saliency) \
        + QUANTIZER_BYTES_PER_WEIGHT[cfg.quantizer]
    if extra:
        need += weights * extra
        terms.append(f"compression copies {weights:,} x {extra} bytes ({_what(cfg)})")
    if cfg.branch.enabled:
        per = max(PRUNE_BYTES_PER_WEIGHT["per_matrix"], _compression_bytes_per_weight(
            cfg.branch.sparsity, cfg.branch.prune, "magnitude"))
        need += sizes["enc"] * per
        terms.append(f"the cheap branch's {sizes['enc']:,} encoder weights x {per} bytes")
    if hw is not None and hw.array == "pe":
        inputs = sum(s[1] for name, s in shapes.items() if len(s) == 2 and name != "pred.embed")
        need += hw.pe_count * inputs * BYTES_PER_PE_INPUT
        terms.append(f"PE tables of hw.pe_count = {hw.pe_count} x {inputs:,} layer inputs x "
                     f"{BYTES_PER_PE_INPUT} bytes")
    return need, terms


def _compression_bytes_per_weight(sparsity: float, prune: str, saliency: str) -> int:
    """Pruning's working copies per weight (0 without pruning)."""
    if not sparsity:
        return 0
    if saliency == "obs":
        return PRUNE_BYTES_PER_WEIGHT["obs"]
    return PRUNE_BYTES_PER_WEIGHT["global" if prune == "global" else "per_matrix"]


def _what(cfg) -> str:
    """The compression settings behind the copies, for the message."""
    parts = []
    if cfg.sparsity:
        parts.append(f"model.sparsity = {cfg.sparsity:g}, model.prune = {cfg.prune}"
                     + (", model.prune_saliency = obs" if cfg.prune_saliency == "obs" else ""))
    if cfg.quantizer != "uniform":
        parts.append(f"model.quantizer = {cfg.quantizer}")
    return "; ".join(parts)


def _widths(cfg, part: str) -> str:
    """The settings that size the biggest part of the model."""
    if part == "enc":
        enc = cfg.encoder
        return (f"the encoder (model.encoder.hidden = {enc.hidden}, "
                f"model.encoder.lstm_layers = {enc.lstm_layers})")
    if part == "pred":
        pred = cfg.prediction
        return (f"the prediction network (model.prediction.hidden = {pred.hidden}, "
                f"model.prediction.lstm_layers = {pred.lstm_layers}, "
                f"model.vocab_size = {cfg.vocab_size})")
    return (f"the joint (model.joint.hidden = {cfg.joint.hidden}, "
            f"model.vocab_size = {cfg.vocab_size})")
