"""The results store: one SQLite row per sweep point, committed the moment the point finishes.

Schema (``points``): ``key`` (SHA-256 of the point's resolved config, PRIMARY KEY, so no point
is ever stored twice), ``status`` (``ok`` or ``failed``), the resolved ``config`` and the
point's ``overrides`` as JSON, the run's JSON ``record`` (the same object as
``azsim run --json``; NULL for a failed point), the ``error`` text of a failed point, the
point's wall time ``run_s`` (seconds, in its worker) and when it finished (UTC, ISO 8601).

Durability: the database is in WAL mode and every point is its own transaction, written by
one process only (the sweep's parent; workers send results back). SQLite commits are atomic,
so a sweep killed at any instant leaves every committed point intact and loses only the points
in flight. ``synchronous=NORMAL`` is durable against a killed process; a power cut may lose
the last commits, never corrupt the file (SQLite documentation, "Write-Ahead Logging").
A point stored again (a rerun, or a failed point retried by ``--resume``) replaces its row.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from ..errors import AzsimError

__all__ = ["ResultsError", "StoredPoint", "ResultStore", "open_for_reading"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    config TEXT NOT NULL,
    overrides TEXT NOT NULL,
    record TEXT,
    error TEXT,
    run_s REAL,
    finished_utc TEXT NOT NULL,
    azsim_version TEXT NOT NULL
);
"""


class ResultsError(AzsimError):
    """A results database cannot be created, written or read."""


@dataclass(frozen=True)
class StoredPoint:
    key: str
    status: str
    config: dict
    overrides: list
    record: dict | None
    error: str | None
    run_s: float | None
    finished_utc: str
    source: str = ""      # the database it was read from, for errors that name it


class ResultStore:
    """A results database opened for writing by the sweep's parent process."""

    def __init__(self, path: str, *, option: str = "--results") -> None:
        self.path = path
        parent = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise ResultsError(f"{option} {path}: is a folder, expected a database file")
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
            # WAL mode keeps PATH-wal and PATH-shm beside the database: the folder must be
            # writable, not only the file.
            raise ResultsError(f"{option} {path}: folder {parent} does not exist or is not "
                               "writable")
        if os.path.exists(path) and not os.access(path, os.W_OK):
            raise ResultsError(f"{option} {path}: file is not writable")
        existing = os.path.isfile(path) and os.path.getsize(path) > 0
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            if existing and not self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone():
                self._db.close()
                raise ResultsError(f"{option} {path}: exists and is not an azsim results "
                                   "database; give a new path")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            _check_version(self._db, path, option, create=True)
        except sqlite3.DatabaseError as exc:
            raise ResultsError(f"{option} {path}: not an azsim results database ({exc})") from None

    def done_keys(self, keys: Iterable[str] | None = None) -> set[str]:
        """Keys stored successfully (of ``keys``, or all)."""
        done = {k for (k,) in self._db.execute("SELECT key FROM points WHERE status = 'ok'")}
        return done if keys is None else done & set(keys)

    def put(self, *, key: str, status: str, config: dict, overrides: Iterable[str],
            record_json: str | None, error: str | None, run_s: float | None,
            version: str) -> None:
        """Store one point in its own transaction (insert, or replace the row of its key)."""
        finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            self._db.execute(
                "INSERT INTO points (key, status, config, overrides, record, error, run_s, "
                "finished_utc, azsim_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET status = excluded.status, "
                "config = excluded.config, overrides = excluded.overrides, "
                "record = excluded.record, error = excluded.error, run_s = excluded.run_s, "
                "finished_utc = excluded.finished_utc, azsim_version = excluded.azsim_version",
                (key, status, json.dumps(config, sort_keys=True), json.dumps(list(overrides)),
                 record_json, error, run_s, finished, version))
        except sqlite3.Error as exc:
            raise ResultsError(f"--results {self.path}: cannot store a point ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _check_version(db, path: str, option: str, *, create: bool) -> None:
    row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    if row is None and create:
        db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)",
                   (str(SCHEMA_VERSION),))
    elif row is None or row[0] != str(SCHEMA_VERSION):
        found = "none" if row is None else row[0]
        raise ResultsError(f"{option} {path}: results schema version {found}, this azsim "
                           f"reads version {SCHEMA_VERSION}")


def open_for_reading(path: str) -> list[StoredPoint]:
    """Every point stored in the results database at ``path`` (successful or failed)."""
    if os.path.isdir(path):
        raise ResultsError(f"{path}: is a folder; give a results database file (written by "
                           "azsim sweep --results PATH)")
    if not os.path.isfile(path):
        raise ResultsError(f"{path}: no such results database (write one with azsim sweep "
                           "--results PATH)")
    try:
        # A plain connection, not mode=ro: as the last one to close it checkpoints the WAL and
        # removes PATH-wal and PATH-shm, which a read-only connection would leave behind.
        db = sqlite3.connect(path, timeout=30.0)
        try:
            _check_version(db, path, "results", create=False)
            rows = db.execute("SELECT key, status, config, overrides, record, error, run_s, "
                              "finished_utc FROM points ORDER BY rowid").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise ResultsError(f"{path}: not an azsim results database ({exc})") from None
    return [_stored_point(path, *row) for row in rows]


def _stored_point(path, key, status, config, overrides, record, error, run_s, finished
                  ) -> StoredPoint:
    """One row, its JSON columns parsed and checked: a row edited or damaged outside azsim is
    an error naming the point, not a traceback in whichever report reads it first."""
    try:
        config = json.loads(config)
        overrides = json.loads(overrides)
        record = json.loads(record) if record is not None else None
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"{path}: point {key!r} holds damaged JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(overrides, list) \
            or not (record is None or isinstance(record, dict)):
        raise ResultsError(f"{path}: point {key!r} is damaged (config must be a JSON object, "
                           "overrides a list, record an object)")
    return StoredPoint(key, status, config, overrides, record, error, run_s, finished, path)
