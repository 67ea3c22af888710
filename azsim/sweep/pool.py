"""The local executor: worker processes, one inbox each, fed chunk by chunk by the parent.

Workers are forked from a fork server (or spawned where there is none) with
``NUMBA_NUM_THREADS=1`` and one BLAS thread in their environment, so N workers use N cores,
never N x threads (the matrix kernels are ``parallel=True``; ``kernels/jit.py``). A worker
announces it is ready, gets a chunk (points that share a model), and reports each point as it
starts and ends; the parent, the only writer of the results store, commits every result at
once. A worker that dies (killed, out of memory) costs the point it was running, which is
recorded as failed, and is replaced; the rest of its chunk is handed out again.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .worker import WORKER_ENV, PointResult, PointTask, SweepError, _error_text, _one_thread, \
    run_point

__all__ = ["LocalPool", "run_local"]

_POLL_S = 0.5              # how often the parent checks that its workers are alive


def _worker_main(wid: int, inbox, outbox) -> None:
    """A local worker: announce readiness, run the chunk it is given, report each point."""
    parent_pid = os.getppid()   # the sweep, or the fork server, which exits with the sweep
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    # Terminated by the parent (Ctrl-C): exit through Python, so that multiprocessing's exit
    # handlers release this process's semaphores instead of leaving them to the tracker.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    # Never block at exit on a parent that stopped reading; everything that matters has been
    # received by then (the parent answers "ready" only after the results sent before it).
    outbox.cancel_join_thread()
    os.environ.update(WORKER_ENV)                  # already inherited; for any subprocess
    try:
        _one_thread()
        from .. import api  # noqa: F401  (import once, before the first point)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops
        outbox.put(("crash", wid, _error_text(exc)))
        return
    while True:
        outbox.put(("ready", wid, None))
        while True:
            try:
                chunk = inbox.get(timeout=1.0)
                break
            except queue.Empty:
                if os.getppid() != parent_pid:   # the sweep was killed: do not linger
                    return
        if chunk is None:
            return
        for task in chunk:
            outbox.put(("start", wid, task.key))
            outbox.put(("done", wid, run_point(task)))


def _context():
    """``forkserver`` where there is one (Linux, macOS): the server imports numpy, numba and
    azsim once and every worker is a fork of it, so a second worker costs a fork, not another
    1.5 s of imports (measured: 64-point tiny sweep, 3.8 s CPU with one worker, 5.2-5.6 s with
    two spawned ones). Elsewhere ``spawn``. Never plain ``fork``: the parent may hold threads."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["azsim.api", "azsim.sweep.pool"])
        # The server imports numba (which reads NUMBA_NUM_THREADS once, at import) for every
        # worker: it must start with the workers' environment. Started without it, each
        # worker's OpenMP pool had two threads, and the idle one spun on the other worker's
        # core (measured: 0.18 s of a 0.95 s worker's CPU time in a 16-point sweep).
        with _worker_env():
            _start_forkserver_outside_source_tree()
        return ctx
    return mp.get_context("spawn")


def _start_forkserver_outside_source_tree() -> None:
    """Start the fork server with the installed package's folder as working directory.

    Python 3.11's fork server runs ``python -c ...``, which puts the working directory first
    on ``sys.path`` and does not apply the parent's path. Started from a source checkout (CI
    runs pytest at the repo root) its workers would import the checkout's ``azsim/``, which
    has no ``azsim.kernels`` (that installs from ``kernels/``), instead of the installed
    package the parent runs. From the installed package's parent folder, ``import azsim``
    finds the same package as in the parent.
    """
    import os
    from multiprocessing import forkserver

    import azsim
    here = os.getcwd()
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(azsim.__file__))))
    try:
        forkserver.ensure_running()
    finally:
        os.chdir(here)


@contextmanager
def _worker_env() -> Iterator[None]:
    """Children (and the fork server, started with the first worker) copy the parent's
    environment when they start: set it around the start."""
    saved = {k: os.environ.get(k) for k in WORKER_ENV}
    os.environ.update(WORKER_ENV)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class LocalPool:
    """Spawned workers, one inbox each, so the parent always knows who holds which points.

    Start it early (``LocalPool(jobs).start()``): workers spend their first second importing
    numpy, numba and azsim, which overlaps the parent's validation of the sweep. Nothing is
    dispatched to them before :func:`run_sweep`. Use as a context manager, or ``close()``.
    """

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise SweepError(f"--jobs {jobs}: must be at least 1")
        self.ctx = _context()
        self.outbox = self.ctx.Queue()
        self.workers: dict[int, tuple] = {}   # wid -> (process, inbox)
        self.jobs, self._next = jobs, 0

    def start(self) -> LocalPool:
        while len(self.workers) < self.jobs:
            self.spawn()
        return self

    def __enter__(self) -> LocalPool:
        return self.start()

    def __exit__(self, exc_type, *exc) -> None:
        self.close(terminate=exc_type is not None)

    def spawn(self) -> None:
        wid, self._next = self._next, self._next + 1
        inbox = self.ctx.Queue()
        proc = self.ctx.Process(target=_worker_main, args=(wid, inbox, self.outbox),
                                name=f"azsim-sweep-{wid}", daemon=True)
        with _worker_env():
            proc.start()
        self.workers[wid] = (proc, inbox)

    def close(self, *, terminate: bool = False) -> None:
        """Stop the workers: let them finish their imports and exit, or ``terminate``."""
        for proc, inbox in self.workers.values():
            if terminate:
                proc.terminate()
            elif proc.is_alive():
                try:
                    inbox.put(None)
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + 5.0
        for proc, _ in self.workers.values():
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=1.0)
        for _, inbox in self.workers.values():
            inbox.cancel_join_thread()
            inbox.close()
        if self.outbox is not None:
            self.outbox.cancel_join_thread()
            self.outbox.close()
        # Drop the queues now, so that their semaphores are released before the interpreter
        # exits even when a traceback (Ctrl-C) still holds this pool.
        self.workers.clear()
        self.outbox = None


def run_local(chunks: list[list[PointTask]], pool: LocalPool,
               on_result: Callable[[PointResult], None]) -> None:
    todo = list(chunks)
    pending = {t.key for c in chunks for t in c}
    held: dict[int, list[PointTask]] = {}      # wid -> points handed out, not yet done
    running: dict[int, str] = {}               # wid -> key of the point being run
    stopped: set[int] = set()                  # told to exit: no work left for them
    try:
        _dispatch(todo, pending, held, running, stopped, pool, on_result)
    except BaseException:
        pool.close(terminate=True)
        raise


def _dispatch(todo, pending, held, running, stopped, pool, on_result) -> None:
    """Hand out chunks to ready workers, collect results, replace dead workers."""
    jobs = pool.jobs
    failed_starts = 0
    pool.start()
    while pending:
        try:
            messages = [pool.outbox.get(timeout=_POLL_S)]
        except queue.Empty:
            messages = []
        while True:   # everything already sent, before judging who died
            try:
                messages.append(pool.outbox.get_nowait())
            except queue.Empty:
                break
        for kind, wid, payload in messages:
            if kind == "crash":
                raise SweepError(f"sweep worker could not start: {payload}")
            if kind == "ready":
                held[wid] = todo.pop(0) if todo else []
                if not held[wid]:
                    stopped.add(wid)
                pool.workers[wid][1].put(held[wid] or None)
            elif kind == "start":
                running[wid] = payload
            elif kind == "done":
                running.pop(wid, None)
                held[wid] = [t for t in held.get(wid, []) if t.key != payload.key]
                if payload.key in pending:
                    pending.discard(payload.key)
                    on_result(payload)
        if not messages:
            for wid, (proc, _) in list(pool.workers.items()):
                if proc.exitcode is None or wid in stopped:
                    continue
                del pool.workers[wid]
                key = running.pop(wid, None)
                rest = [t for t in held.pop(wid, []) if t.key != key]
                if key is not None and key in pending:
                    pending.discard(key)
                    code = proc.exitcode
                    how = f"signal {-code}" if code < 0 else f"exit code {code}"
                    on_result(PointResult(key, False, None, f"worker process died ({how}) "
                                          "while running this point", None))
                else:
                    failed_starts += 1
                    if failed_starts > 2 * jobs:
                        raise SweepError(f"sweep workers keep dying before running a "
                                         f"point (last exit code {proc.exitcode})")
                if rest:
                    todo.insert(0, rest)
                if pending:
                    pool.spawn()
