"""The local executor: worker processes, one pipe each, fed chunk by chunk by the parent.

Workers are forked from a fork server (or spawned where there is none) with
``NUMBA_NUM_THREADS=1`` and one BLAS thread in their environment, so N workers use N cores,
never N x threads (the matrix kernels are ``parallel=True``; ``kernels/jit.py``). A worker
announces it is ready, gets a chunk (points that share a model), and reports each point as it
starts and ends; the parent, the only writer of the results store, commits every result at
once. A worker that dies (killed, out of memory) costs the point it was running, which is
recorded as failed, and is replaced; the rest of its chunk is handed out again.

Each worker talks to the parent over its own pipe, written directly (``Connection.send``),
never through a ``multiprocessing.Queue`` shared by all workers: a queue's writers share one
lock, taken by a feeder thread, and a worker that exits or dies while its feeder holds it
leaves every other worker blocked for ever (seen here: a worker exited right after its last
message on a loaded machine, and the sweep hung with one point left). With one pipe per
worker, a worker's death can only close its own pipe.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import wait

from .worker import WORKER_ENV, PointResult, PointTask, SweepError, _error_text, _one_thread, \
    run_point

__all__ = ["LocalPool", "run_local"]

_POLL_S = 0.5              # how often the parent checks that its workers are alive


def _worker_main(wid: int, conn) -> None:
    """A local worker: announce readiness, run the chunk it is given, report each point."""
    parent_pid = os.getppid()   # the sweep, or the fork server, which exits with the sweep
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    os.environ.update(WORKER_ENV)                  # already inherited; for any subprocess
    try:
        try:
            _numba_init_lock_in_process()
            _one_thread()
            from .. import api  # noqa: F401  (import once, before the first point)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops
            conn.send(("crash", wid, _error_text(exc)))
            return
        while True:
            conn.send(("ready", wid, None))
            while not conn.poll(1.0):
                if os.getppid() != parent_pid:   # the sweep was killed: do not linger
                    return
            chunk = conn.recv()
            if chunk is None:
                return
            for task in chunk:
                conn.send(("start", wid, task.key))
                conn.send(("done", wid, run_point(task)))
    except (EOFError, OSError):   # the parent closed its end or exited: nothing to report to
        return


def _numba_init_lock_in_process() -> None:
    """Give numba a thread lock for starting its threading layer in this worker, before it
    makes a named POSIX semaphore for it.

    The first time a process starts numba's threads (``numba.set_num_threads`` in
    :func:`_one_thread`, or the first ``parallel=True`` kernel), numba 0.68
    (``numba/np/ufunc/parallel.py``, ``_set_init_process_lock``) creates a
    ``multiprocessing.RLock`` if the start method contains "fork", which "forkserver" does.
    Outside the ``fork`` start method such a lock is a named semaphore that the resource
    tracker the sweep started records, and that the worker removes only when it exits
    normally: a SIGKILLed worker (the OOM killer, a user) left it to the tracker, which
    printed "UserWarning: resource_tracker: There appear to be 1 leaked semaphore objects
    to clean up at shutdown" on the sweep's stderr when the sweep ended.

    Made here, in a worker that no other process shares memory with and that forks no
    Python children, that semaphore can only exclude this worker's own threads, which
    numba's thread lock (taken inside it) already does; under ``spawn`` numba uses no
    process lock at all. A ``threading.RLock`` excludes the same threads and has no name to
    leak. Nothing is changed if numba already made its lock, or if its internals differ."""
    try:
        from numba.np.ufunc import parallel
    except ImportError:
        return
    if getattr(parallel, "_backend_init_process_lock", False) is None:
        parallel._backend_init_process_lock = threading.RLock()


def _context():
    """``forkserver`` where there is one (Linux, macOS): the server imports numpy, numba and
    azsim once and every worker is a fork of it, so a second worker costs a fork, not another
    1.5 s of imports (measured: 64-point tiny sweep, 3.8 s CPU with one worker, 5.2-5.6 s with
    two spawned ones). Elsewhere ``spawn``. Never plain ``fork``: the parent may hold threads."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["azsim.api", "azsim.sweep.pool", "azsim.sweep.warm"])
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
    """Workers forked from the fork server, one pipe each, so the parent always knows who
    holds which points.

    Create it early: the fork server starts at once and spends its first second importing
    numpy, numba and azsim for every worker, which overlaps the parent's validation of the
    sweep. Workers are forked when :func:`run_local` needs them (``Process.start`` waits
    until the server has imported everything, so forking them at once would make the parent
    wait before validating); spawned workers (no fork server) start on ``__enter__``, as each
    imports for itself. Nothing is dispatched before :func:`run_sweep`. Use as a context
    manager, or ``close()``.
    """

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise SweepError(f"--jobs {jobs}: must be at least 1")
        self.ctx = _context()
        self.workers: dict[int, tuple] = {}   # wid -> (process, the parent's end of its pipe)
        self.jobs, self._next = jobs, 0

    def start(self) -> LocalPool:
        while len(self.workers) < self.jobs:
            self.spawn()
        return self

    def __enter__(self) -> LocalPool:
        return self if self.ctx.get_start_method() == "forkserver" else self.start()

    def __exit__(self, exc_type, *exc) -> None:
        self.close(terminate=exc_type is not None)

    def spawn(self) -> None:
        wid, self._next = self._next, self._next + 1
        conn, child_conn = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(target=_worker_main, args=(wid, child_conn),
                                name=f"azsim-sweep-{wid}", daemon=True)
        with _worker_env():
            proc.start()
        child_conn.close()   # the worker holds its own copy: its exit closes the pipe
        self.workers[wid] = (proc, conn)

    def close(self, *, terminate: bool = False) -> None:
        """Stop the workers: let them finish their imports and exit, or ``terminate``."""
        for proc, conn in self.workers.values():
            if terminate:
                proc.terminate()
            elif proc.is_alive():
                try:
                    conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + 5.0
        for proc, _ in self.workers.values():
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=1.0)
        for _, conn in self.workers.values():
            conn.close()
        self.workers.clear()


def run_local(chunks: list[list[PointTask]], pool: LocalPool,
               on_result: Callable[[PointResult], None]) -> None:
    try:
        _Dispatch(chunks, pool, on_result).run()
    except BaseException:
        pool.close(terminate=True)
        raise


class _Dispatch:
    """Hand out chunks to ready workers, collect results, replace dead workers."""

    def __init__(self, chunks, pool: LocalPool, on_result) -> None:
        self.todo = list(chunks)
        self.pending = {t.key for c in chunks for t in c}
        self.held: dict[int, list[PointTask]] = {}   # wid -> points handed out, not yet done
        self.running: dict[int, str] = {}            # wid -> key of the point being run
        self.stopped: set[int] = set()               # told to exit: no work left for them
        self.pool, self.on_result, self.failed_starts = pool, on_result, 0

    def run(self) -> None:
        pool = self.pool
        # no more workers than chunks to hand out: --jobs 24 for one point forked 24 (a CLI
        # audit, 2026-12-06), each importing numba for nothing
        pool.jobs = max(1, min(pool.jobs, len(self.todo)))
        pool.start()
        while self.pending:
            conns = {conn: wid for wid, (_, conn) in pool.workers.items()}
            ready = wait(list(conns), timeout=_POLL_S)
            for conn in ready:
                self._drain(conns[conn])
            for wid, (proc, _) in list(pool.workers.items()):
                if wid not in self.stopped and proc.exitcode is not None:
                    self._drain(wid)     # whatever it sent before it died counts
                    if wid in pool.workers:
                        self._died(wid)

    def _drain(self, wid: int) -> None:
        """Handle every message waiting in worker ``wid``'s pipe."""
        proc, conn = self.pool.workers[wid]
        while True:
            try:
                if not conn.poll():
                    return
                message = conn.recv()
            except (EOFError, OSError):   # the worker exited: its pipe is closed
                if wid in self.stopped:
                    conn.close()
                    del self.pool.workers[wid]
                    proc.join(timeout=1.0)
                else:
                    proc.join(timeout=1.0)   # so that its exit code is known
                    self._died(wid)
                return
            self._handle(message)
            if wid not in self.pool.workers:
                return

    def _handle(self, message) -> None:
        kind, wid, payload = message
        if kind == "crash":
            raise SweepError(f"sweep worker could not start: {payload}")
        if kind == "ready":
            self.held[wid] = self.todo.pop(0) if self.todo else []
            if not self.held[wid]:
                self.stopped.add(wid)
            try:
                self.pool.workers[wid][1].send(self.held[wid] or None)
            except OSError:
                pass        # it died meanwhile: found by its closed pipe or exit code
        elif kind == "start":
            self.running[wid] = payload
        elif kind == "done":
            self.running.pop(wid, None)
            self.held[wid] = [t for t in self.held.get(wid, []) if t.key != payload.key]
            if payload.key in self.pending:
                self.pending.discard(payload.key)
                self.on_result(payload)

    def _died(self, wid: int) -> None:
        """Worker ``wid`` died: fail the point it was running, hand out the rest again."""
        pool = self.pool
        proc, conn = pool.workers.pop(wid)
        conn.close()
        key = self.running.pop(wid, None)
        rest = [t for t in self.held.pop(wid, []) if t.key != key]
        code = proc.exitcode
        if key is not None and key in self.pending:
            self.pending.discard(key)
            how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            self.on_result(PointResult(key, False, None, f"worker process died ({how}) "
                                       "while running this point", None))
        else:
            self.failed_starts += 1
            if self.failed_starts > 2 * pool.jobs:
                raise SweepError(f"sweep workers keep dying before running a point (last "
                                 f"exit code {code})")
        if rest:
            self.todo.insert(0, rest)
        if self.pending:
            pool.spawn()
