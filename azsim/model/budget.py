"""An up-front memory estimate of a run, so that a valid but enormous config (``--set
model.encoder.hidden=16384`` on the tiny model: 4.3e9 weights) is one line naming its
settings, not a process the kernel kills a minute later.

What a run holds at its peak, per unit, measured with ``azsim run --model tiny`` (peak RSS
over the baseline, for ``model.encoder.hidden`` 512 to 4096 and ``hw.pe_count`` 16384 and
65536; they grow linearly):

* each weight: :data:`BYTES_PER_WEIGHT` (the float64 draw of generated weights, the float32
  weights, their int8 codes and the copies quantizing and pruning make);
* on the PE array, each (PE, layer input) pair: :data:`BYTES_PER_PE_INPUT` (the per-PE tables
  of :mod:`azsim.schedule.mapping`, ``[pe_count, inputs]`` int64 arrays for every layer).

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
    if hw is not None and hw.array == "pe":
        inputs = sum(s[1] for name, s in shapes.items() if len(s) == 2 and name != "pred.embed")
        need += hw.pe_count * inputs * BYTES_PER_PE_INPUT
        terms.append(f"PE tables of hw.pe_count = {hw.pe_count} x {inputs:,} layer inputs x "
                     f"{BYTES_PER_PE_INPUT} bytes")
    return need, terms


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
