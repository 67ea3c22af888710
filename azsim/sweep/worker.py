"""What runs inside a sweep worker: one point is one :func:`azsim.api.simulate` call.

Shared by the local process pool (:mod:`azsim.sweep.pool`) and Dask (:mod:`azsim.sweep.runner`).
Each worker process keeps a small cache of quantized models and their integer runs
(``simulate(cache=...)``), so points that differ only in processor fields quantize and run
their model once. Any exception of a point becomes a failed result: the sweep goes on.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import AzsimError, AzsimWarning, cli_names
from ..threads import BLAS_ONE_THREAD

__all__ = ["SweepError", "PointTask", "PointResult", "run_point", "run_chunk", "WORKER_ENV"]

# One thread per worker process: numba's parallel kernels and any BLAS call (issue #5).
# One BLAS thread is also what the CLI pins (azsim/threads.py): records equal `azsim run`'s.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", **BLAS_ONE_THREAD}
MODELS_CACHED = 2          # quantized models a worker keeps (LRU); chunks arrive group by group


class SweepError(AzsimError):
    """A sweep cannot run (its workers cannot start, the scheduler is unreachable...)."""


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to run one point: ``simulate``'s arguments."""
    key: str
    group: str
    model: str
    hw: str
    audio: tuple[str, ...] | None
    weights: str | None
    overrides: tuple[str, ...]
    testset: str | None = None
    utterances: int | None = None


@dataclass(frozen=True)
class PointResult:
    key: str
    ok: bool
    record_json: str | None   # the run's JSON record (ok points)
    error: str | None         # one line (failed points)
    run_s: float | None       # wall time in the worker
    warnings: tuple[str, ...] = ()   # azsim's own warnings of the run, one line each


class _LRU:
    """The ``simulate(cache=...)`` mapping: the last few models, thread-safe for Dask."""

    def __init__(self, size: int) -> None:
        self.size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key, default=None):
        with self._lock:
            if key not in self._items:
                return default
            self._items.move_to_end(key)
            return self._items[key]

    def __setitem__(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_CACHE = _LRU(MODELS_CACHED)   # per process: a worker's models live as long as the worker


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, AzsimError):
        return " ".join(str(exc).split())
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {os.path.basename(where.filename)}:{where.lineno})" if where else ""
    return " ".join(f"{type(exc).__name__}: {exc}{at}".split())


def run_point(task: PointTask, cache=None) -> PointResult:
    """Run one point; any exception becomes a failed result, so the sweep goes on."""
    from ..api import simulate

    start = time.perf_counter()
    # a point's messages name the sweep's options (--set, --test), as its spec and axes do;
    # azsim's warnings belong to the point: kept in its record and reported by the sweep
    # once per message, not printed by every worker as Python shows them.
    with _own_warnings() as own, cli_names():
        try:
            report = simulate(model=task.model, hardware=task.hw,
                              audio=list(task.audio) if task.audio else None,
                              overrides=list(task.overrides), weights=task.weights,
                              cache=_CACHE if cache is None else cache,
                              testset=task.testset, utterances=task.utterances)
            record = report.to_dict()
            if own:
                record["warnings"] = list(own)
            return PointResult(task.key, True, json.dumps(record), None,
                               time.perf_counter() - start, tuple(own))
        except Exception as exc:  # noqa: BLE001 - recorded in the store, the sweep continues
            return PointResult(task.key, False, None, _error_text(exc),
                               time.perf_counter() - start, tuple(own))


_SINK = threading.local()         # .texts: the running point's list, in the thread running it
_HOOK_LOCK = threading.Lock()


@contextmanager
def _own_warnings():
    """The azsim warnings this thread raises inside, as distinct one-line texts; any other
    warning is shown as before. ``warnings.catch_warnings`` would swap process-wide state
    that concurrent points (Dask's threaded workers) restore in the wrong order, losing or
    mixing their warnings; instead one hook, installed once (again if something replaced
    it), hands each thread's azsim warnings to that thread's list."""
    with _HOOK_LOCK:
        if warnings.showwarning is not _route:
            _route.previous = warnings.showwarning
            warnings.showwarning = _route
        # Every point reports its warnings, not only the first point of a worker process
        # (the default action shows a message once per code location).
        warnings.filterwarnings("always", category=AzsimWarning)
    _SINK.texts = texts = []
    try:
        yield texts
    finally:
        _SINK.texts = None


def _route(message, category, filename, lineno, file=None, line=None):
    texts = getattr(_SINK, "texts", None)
    if texts is not None and issubclass(category, AzsimWarning):
        text = " ".join(str(message).split())
        if text not in texts:
            texts.append(text)
    else:
        _route.previous(message, category, filename, lineno, file, line)


_route.previous = warnings.showwarning


def _one_thread() -> None:
    """Limit numba to one thread in this thread even if it was imported before."""
    if "numba" in sys.modules:
        import numba
        numba.set_num_threads(1)


def run_chunk(tasks: Sequence[PointTask]) -> list[PointResult]:
    """Run a chunk in this process (a Dask task); results in the chunk's order."""
    _one_thread()
    return [run_point(t) for t in tasks]
