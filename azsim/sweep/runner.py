"""Running a sweep: chunks of points on the local process pool or on Dask, each result stored
the moment it arrives.

Each point is a full :func:`azsim.api.simulate` call whose report becomes the point's JSON
record (:mod:`azsim.sweep.worker`). Points are handed out in *chunks* of points that share
their model side (same model config, weights and audio; :attr:`azsim.sweep.spec.Point.group`),
so that a worker's model cache serves the whole chunk; chunks are cut small enough (about four
per worker) to balance the load. The local executor is :mod:`azsim.sweep.pool`; Dask gets the
same chunks as tasks (``pip install "azsim[dask]"``; the core never imports dask).

The library never prints: progress goes to the ``on_result`` callback.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._version import code_version
from .export import _leaves
from .pool import LocalPool, run_local
from .spec import Point, SweepSpec
from .store import ResultStore
from .worker import WORKER_ENV, PointResult, PointTask, SweepError, _error_text, run_chunk

__all__ = ["SweepError", "PointTask", "PointResult", "Summary", "plan_chunks", "pending_points",
           "run_sweep", "connect_dask", "LocalPool", "WORKER_ENV"]

CHUNKS_PER_WORKER = 4      # load balance against model reuse: a chunk shares one model
DASK_CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Summary:
    total: int
    skipped: int      # already stored successfully (--resume)
    ok: int
    failed: int
    wall_s: float


def make_tasks(points: Sequence[Point], spec: SweepSpec) -> list[PointTask]:
    return [PointTask(p.key, p.group, p.model, p.hw, spec.audio, spec.weights,
                      p.overrides, spec.testset, spec.utterances) for p in points]


def plan_chunks(tasks: Sequence[PointTask], jobs: int) -> list[list[PointTask]]:
    """Consecutive points of one group, at most ceil(n / (CHUNKS_PER_WORKER * jobs)) each,
    longest first.

    Workers take chunks in this order as they become free, so handing out the long chunks
    first leaves the short ones to fill the end, when one worker would otherwise wait for
    the other's last chunk (longest-processing-time-first; a chunk's cost is its model's
    setup plus its points, so more points cost more). The sort is stable: chunks of equal
    length keep the sweep's order."""
    size = max(1, math.ceil(len(tasks) / (CHUNKS_PER_WORKER * max(1, jobs))))
    groups: OrderedDict[str, list[PointTask]] = OrderedDict()
    for t in tasks:
        groups.setdefault(t.group, []).append(t)
    chunks = [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]
    return sorted(chunks, key=len, reverse=True)


# ---------------------------------------------------------------------------------------- dask


def _run_dask(chunks: list[list[PointTask]], client,
              on_result: Callable[[PointResult], None]) -> None:
    from distributed import as_completed
    futures = {client.submit(run_chunk, chunk, pure=False): chunk for chunk in chunks}
    for fut in as_completed(futures):
        try:
            results = fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: record and go on
            results = [PointResult(t.key, False, None, f"dask task failed: "
                                   f"{_error_text(exc)}", None) for t in futures[fut]]
        for r in results:
            on_result(r)


def connect_dask(scheduler: str | None):
    """A Dask client for ``scheduler``; one-line errors if dask is missing or unreachable."""
    if not scheduler:
        raise SweepError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("--executor dask needs dask.distributed: pip install 'azsim[dask]'") \
            from None
    try:
        return Client(scheduler, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"--scheduler {scheduler}: cannot connect "
                         f"({' '.join(str(exc).split())})") from None


# -------------------------------------------------------------------------------------- sweeps


def pending_points(points: Sequence[Point], store: ResultStore, resume: bool,
                   damaged: dict[str, str] | None = None,
                   stale: dict[str, str] | None = None) -> list[Point]:
    """The points to run: all, or with ``resume`` those not yet stored successfully by this
    code (:func:`azsim._version.code_version`). A point stored as ok whose row is damaged
    (:meth:`ResultStore.done_keys`) is run again, ``damaged`` receiving its key and what is
    wrong with it; so is one stored by other azsim code, ``stale`` receiving its key and that
    code's version (its numbers may differ from this code's)."""
    if not resume:
        return list(points)
    done = store.done_keys((p.key for p in points), damaged, code_version(), stale)
    return [p for p in points if p.key not in done]


_CHANGES_SHOWN = 3


def changed_inputs(config: dict, record: dict) -> str | None:
    """What a point's record ran with that its stored ``config`` (from the sweep's
    validation, hashed into its key) does not say: the model and hardware settings and the
    weights file's content hash, as ``field validated -> run`` texts; None if they agree."""
    want = json.loads(json.dumps(config))        # as the store keeps it
    model = record.get("model") if isinstance(record.get("model"), dict) else {}
    diffs = []
    for prefix, ran in (("model", model.get("config")), ("hw", record.get("hardware"))):
        if not isinstance(ran, dict) or not isinstance(want.get(prefix), dict):
            continue
        got = _leaves(ran, prefix)
        for name, value in _leaves(want[prefix], prefix).items():
            if name in got and got[name] != value:
                diffs.append(f"{name} {value!r} -> {got[name]!r}")
    weights = (want.get("weight_files") or {}).get("weights")
    sha = model.get("weights_sha256")
    if isinstance(weights, dict) and isinstance(sha, str) and weights.get("sha256") != sha:
        diffs.append(f"model.weights {weights.get('name')} content "
                     f"{str(weights.get('sha256'))[:8]} -> {sha[:8]}")
    if not diffs:
        return None
    more = len(diffs) - _CHANGES_SHOWN
    return ", ".join(diffs[:_CHANGES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def run_sweep(points: Sequence[Point], spec: SweepSpec, store: ResultStore, *, jobs: int,
              executor: str = "local", scheduler: str | None = None, skipped: int = 0,
              on_result: Callable[[Point, PointResult], None] | None = None,
              pool: LocalPool | None = None, client=None) -> Summary:
    """Run ``points`` and store each result the moment it arrives.

    The local executor uses ``pool`` if given (started early by the caller, who closes it),
    else a pool of ``jobs`` workers for this call; the Dask executor uses ``client`` (from
    :func:`connect_dask`, which the caller closes) or connects to ``scheduler``."""
    if jobs < 1:
        raise SweepError(f"--jobs {jobs}: must be at least 1")
    if executor not in ("local", "dask"):
        raise SweepError(f"--executor {executor}: not one of local, dask")
    start = time.perf_counter()
    by_key = {p.key: p for p in points}
    counts = {"ok": 0, "failed": 0}

    def store_result(res: PointResult) -> None:
        point = by_key[res.key]
        version = code_version()
        if res.ok:
            # A Dask worker may run other azsim code than this sweep: its record was filed
            # under this code's version, so --resume kept it while export and report read the
            # record's (a sweep audit, 2026-12-07). Such a point fails, under its own version.
            made_by = json.loads(res.record_json).get("azsim_version")
            if made_by != version:
                res = dataclasses.replace(
                    res, ok=False, record_json=None,
                    error=f"made by other azsim code ({made_by}) than this sweep's "
                          f"({version}); every worker must run the sweep's code")
                version = str(made_by)
        if res.ok:
            # A point runs from the files its spec names (model and hardware files, weights)
            # as they are when a worker reaches it, not as they were when the sweep validated
            # and keyed it: a file edited while a sweep ran had its later points stored under
            # the old key and config (hw.clock_mhz 400 in the table, 1600 MHz measured), and
            # --resume kept them. Such a point fails, naming what changed.
            changed = changed_inputs(point.config, json.loads(res.record_json))
            if changed:
                res = dataclasses.replace(
                    res, ok=False, record_json=None,
                    error=f"ran with other inputs than the sweep validated ({changed}): a "
                          "file the sweep names changed while it ran; run the sweep again")
        store.put(key=res.key, status="ok" if res.ok else "failed", config=point.config,
                  overrides=point.overrides, record_json=res.record_json, error=res.error,
                  run_s=res.run_s, version=version)
        counts["ok" if res.ok else "failed"] += 1
        if on_result is not None:
            on_result(point, res)

    if executor == "dask" and client is not None:
        jobs = max(1, sum(client.nthreads().values()))   # the cluster's threads, not ours
    chunks = plan_chunks(make_tasks(points, spec), jobs)
    if chunks:
        if executor == "dask" and client is not None:
            _run_dask(chunks, client, store_result)
        elif executor == "dask":
            own = connect_dask(scheduler)
            try:
                _run_dask(chunks, own, store_result)
            finally:
                own.close()
        elif pool is not None:
            run_local(chunks, pool, store_result)
        else:
            with LocalPool(min(jobs, len(chunks))) as own:
                run_local(chunks, own, store_result)
    return Summary(len(points) + skipped, skipped, counts["ok"], counts["failed"],
                   time.perf_counter() - start)
