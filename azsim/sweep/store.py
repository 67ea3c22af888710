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

import contextlib
import dataclasses
import json
import math
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from ..errors import AzsimError

__all__ = ["ResultsError", "StoredPoint", "ResultStore", "open_for_reading"]

SCHEMA_VERSION = 1
# Seconds a reader waits for a database another process holds locked (a sweep holds one only
# for the instant of a commit); the sweep's own store waits longer, it must not lose a point.
READ_TIMEOUT_S = 3.0
WRITE_TIMEOUT_S = 30.0

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
_COLUMNS = ("key", "status", "config", "overrides", "record", "error", "run_s", "finished_utc",
            "azsim_version")
# The columns a reader reads and the SQLite types (typeof) each may hold.
_READ = (("key", ("text",)), ("status", ("text",)), ("config", ("text",)),
         ("overrides", ("text",)), ("record", ("text", "null")), ("error", ("text", "null")),
         ("run_s", ("real", "integer", "null")), ("finished_utc", ("text",)),
         ("azsim_version", ("text", "null")))
_SELECT = ("SELECT " + ", ".join(c for c, _ in _READ) + ", "
           + ", ".join(f"typeof({c})" for c, _ in _READ) + " FROM points")


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
    # the code that stored it (the store's column): a failed point has no record to say it
    version: str | None = None


def check_results_path(path: str, option: str = "--results") -> None:
    """That a results database can be created or written at ``path`` (``azsim sweep`` asks
    before it validates its points, and :class:`ResultStore` when it opens one)."""
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


class ResultStore:
    """A results database opened for writing by the sweep's parent process."""

    def __init__(self, path: str, *, option: str = "--results") -> None:
        self.path = path
        check_results_path(path, option)
        had_file = os.path.exists(path)
        existing = os.path.isfile(path) and os.path.getsize(path) > 0
        self._db = None
        try:
            self._db = sqlite3.connect(path, isolation_level=None,
                                       timeout=WRITE_TIMEOUT_S)
            # an SQLite database with no table yet is new: another sweep given the same new
            # path at the same moment has only just created it (it then refused to run: seen
            # here); any other file (SQLite reads a short one as empty) is not ours to take
            if existing and not self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone() and (self._db.execute("SELECT 1 FROM sqlite_master").fetchone()
                              or not _sqlite_header(path)):
                self._db.close()
                self._db = None
                raise ResultsError(f"{option} {path}: exists and is not an azsim results "
                                   "database; give a new path")
            _when_unlocked(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
            self._db.execute("PRAGMA synchronous=NORMAL")
            _when_unlocked(lambda: self._db.executescript(_SCHEMA))
            _check_version(self._db, path, option, create=True)
            # before any point runs: a table azsim did not make fails at the first store
            _check_points_table(self._db, path, option, writing=True)
        except (sqlite3.DatabaseError, UnicodeDecodeError, ResultsError) as exc:
            if self._db is not None:
                self._db.close()
            # the empty file a full disk left: only then, as another sweep started on the same
            # new path may be creating it this moment (removing it under that sweep gave it a
            # "disk I/O error": tests/test_interrupts.py, two sweeps into one database)
            if not had_file and _disk_full(exc) and os.path.isfile(path) \
                    and os.path.getsize(path) == 0:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            if isinstance(exc, ResultsError):
                raise
            raise _open_error(option + " " + path, exc) from None

    def done_keys(self, keys: Iterable[str] | None = None,
                  damaged: dict[str, str] | None = None, version: str | None = None,
                  stale: dict[str, str] | None = None) -> set[str]:
        """Keys stored successfully (of ``keys``, or all). A point stored as ok whose row fails
        the checks of :func:`azsim.sweep.checks.check_point` is not done (``--resume`` runs it
        again, replacing the row): ``damaged``, if given, receives its key and the reason.
        With ``version`` (:func:`azsim._version.code_version`), a point stored by other code
        is not done either: ``stale``, if given, receives its key and that code's version."""
        wanted = None if keys is None else set(keys)
        versions = {}
        if version is not None:
            self._db.text_factory = bytes
            try:
                for key, ver in self._db.execute(
                        "SELECT key, azsim_version FROM points WHERE status = 'ok'"):
                    versions[key] = ver
            finally:
                self._db.text_factory = str
        done = set()
        self._db.text_factory = bytes
        try:
            rows = self._db.execute(_SELECT + " WHERE status = 'ok'").fetchall()
        finally:
            self._db.text_factory = str
        for index, row in enumerate(rows):
            try:
                key = row[0].decode() if isinstance(row[0], bytes) else None
            except UnicodeDecodeError:
                continue
            if key is None or (wanted is not None and key not in wanted):
                continue
            try:
                _checked(_stored_point(self.path, index, row))
            except ResultsError as exc:
                if damaged is not None:
                    damaged[key] = str(exc)
                continue
            if version is not None:
                ver = versions.get(row[0])
                ver = ver.decode(errors="replace") if isinstance(ver, bytes) else str(ver)
                if ver != version:
                    if stale is not None:
                        stale[key] = ver
                    continue
            done.add(key)
        return done

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


def _sqlite_header(path: str) -> bool:
    """Whether the file at ``path`` begins as an SQLite 3 database does."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\0"
    except OSError:
        return False


def _check_version(db, path: str, option: str, *, create: bool) -> None:
    row = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
    if row is None and create:
        db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)",
                   (str(SCHEMA_VERSION),))
    elif row is None or row[0] != str(SCHEMA_VERSION):
        found = "none" if row is None else row[0]
        raise ResultsError(f"{option} {path}: results schema version {found}, this azsim "
                           f"reads version {SCHEMA_VERSION}")


def _check_points_table(db, path: str, option: str, *, writing: bool) -> None:
    """The points table has every column azsim reads and writes, and (to be written) its key
    as PRIMARY KEY: a table of the same name made otherwise is refused before anything runs."""
    info = db.execute("PRAGMA table_info(points)").fetchall()
    if not info:
        raise ResultsError(f"{option} {path}: not an azsim results database (no points table)")
    names = {row[1]: row[5] for row in info}
    lacking = [c for c in _COLUMNS if c not in names]
    if lacking:
        raise ResultsError(f"{option} {path}: not an azsim results database (its points table "
                           f"lacks column {', '.join(lacking)}); give a new path")
    keys = [n for n, pk in names.items() if pk]
    if writing and keys != ["key"]:
        raise ResultsError(f"{option} {path}: not an azsim results database (the points "
                           f"table's PRIMARY KEY is {', '.join(keys) or 'none'}, not key); "
                           "give a new path")


def _disk_full(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


def _when_unlocked(step, wait_s: float = WRITE_TIMEOUT_S):
    """``step()``, tried again while another process holds the database locked, up to
    ``wait_s``: SQLite answers the switch to WAL and the schema's creation with "database is
    locked" at once, without its busy timeout, while a second sweep started on the same new
    path sets them up (1 of the full test run's 1,606 tests failed on it under load)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _open_error(where: str, exc: BaseException) -> ResultsError:
    """The error of a database SQLite cannot open or read."""
    if isinstance(exc, UnicodeDecodeError):
        return ResultsError(f"{where}: not an azsim results database (its schema holds bytes "
                            "that are not UTF-8 text: damaged?)")
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
        return ResultsError(f"{where}: the database is locked by another process (a sweep "
                            "writing it?); try again when it has finished")
    if _disk_full(exc):
        return ResultsError(f"{where}: cannot write the database (the disk is full); free "
                            "some space or give a path on another disk")
    return ResultsError(f"{where}: not an azsim results database ({exc})")


# A run record of `azsim run --json` holds per-frame lists; the largest written here (he2019
# over the 250-utterance test set) is a few tens of MB.
RUN_RECORD_MB = 1024


def open_for_reading(path: str) -> list[StoredPoint]:
    """Every point stored in the results database at ``path`` (successful or failed), each
    checked (:func:`azsim.sweep.checks.check_point`): a point edited or damaged outside azsim
    is a :class:`ResultsError` naming it. A ``.json`` file is read as the record of one
    ``azsim run --json`` (:func:`run_record_points`), so that ``azsim plot``, ``report`` and
    ``results export`` take a single run as they take a sweep."""
    if path.endswith(".json") and not os.path.isdir(path) and not _is_sqlite(path):
        return run_record_points(path)
    if os.path.isdir(path):
        raise ResultsError(f"{path}: is a folder; give a results database file (written by "
                           "azsim sweep --results PATH)")
    if not os.path.isfile(path):
        raise ResultsError(f"{path}: no such results database (write one with azsim sweep "
                           "--results PATH)")
    if not os.access(path, os.R_OK):   # SQLite says "unable to open database file"
        raise ResultsError(f"{path}: cannot read the results database (permission denied)")
    if os.path.getsize(path) == 0:   # SQLite reads an empty file as a database of no tables
        raise ResultsError(f"{path}: is an empty file, not an azsim results database (write "
                           "one with azsim sweep --results PATH)")
    try:
        try:
            rows = _read_rows(path, sqlite3.connect(path, timeout=READ_TIMEOUT_S))
        except sqlite3.OperationalError as exc:
            if "unable to open" not in str(exc) or not os.path.isfile(path):
                raise
            rows = _read_rows(path, _connect_read_only(path))
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise _open_error(path, exc) from None
    # "results PATH: ..." is how _check_version and the table check name it; readers say PATH
    return [_checked(_stored_point(path, index, row)) for index, row in enumerate(rows)]


def _is_sqlite(path: str) -> bool:
    """Whether ``path`` starts as an SQLite database does (``azsim sweep --results r.json``
    writes one under any name; read as a run record it was "not JSON")."""
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:   # run_record_points names what is wrong with it
        return False


def run_record_points(path: str) -> list[StoredPoint]:
    """The record ``azsim run --json PATH`` wrote, as the one successful point of a store: its
    config is the record's model config and the hardware fields (the derived
    ``macs_per_cycle`` left out, as a sweep's config has it), its key the file's SHA-256."""
    import hashlib

    from ..config.schema import HardwareConfig
    from ..paths import read_small_file
    wanted = "a results database written by azsim sweep, or a run record written by azsim " \
             "run --json"
    if not os.path.exists(path):
        raise ResultsError(f"{path}: no such file; give {wanted}")
    data = read_small_file(path, path, ResultsError, limit_mb=RUN_RECORD_MB)
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ResultsError(f"{path}: not JSON ({str(exc).splitlines()[0][:120]}); give "
                           f"{wanted}") from None
    model = record.get("model") if isinstance(record, dict) else None
    missing = [k for k in ("azsim_version", "model", "hardware", "layers", "latency")
               if not isinstance(record, dict) or k not in record]
    if missing or not isinstance(model, dict) or not isinstance(model.get("config"), dict) \
            or not isinstance(record.get("hardware"), dict):
        what = f"no {', '.join(missing)}" if missing else "no model config or hardware section"
        raise ResultsError(f"{path}: not an azsim run record ({what}); give {wanted}")
    fields = {f.name for f in dataclasses.fields(HardwareConfig)}
    config = {"model": model["config"],
              "hw": {k: v for k, v in record["hardware"].items() if k in fields}}
    version = record.get("azsim_version")
    point = StoredPoint(hashlib.sha256(data).hexdigest(), "ok", config, [], record, None, None,
                        "", path, version if isinstance(version, str) else None)
    return [_checked(point)]


def _read_rows(path: str, db) -> list:
    """Every row of the points table, after the version and table checks; closes ``db``.
    (Readers use a plain connection, not mode=ro: as the last one to close it checkpoints the
    WAL and removes PATH-wal and PATH-shm, which a read-only connection would leave behind.)"""
    try:
        _check_version(db, path, "results", create=False)
        _check_points_table(db, path, "results", writing=False)
        db.text_factory = bytes       # decoded per column, so a bad byte names its point
        return db.execute(_SELECT + " ORDER BY rowid").fetchall()
    finally:
        db.close()


def _connect_read_only(path: str):
    """A database in a folder that cannot be written (a read-only share, ``chattr +i``): SQLite
    cannot make PATH-shm there, so it is read as immutable -- which is what it is, unless a
    write-ahead log beside it still holds points not merged into the file."""
    wal = path + "-wal"
    if os.path.isfile(wal) and os.path.getsize(wal) > 0:
        raise ResultsError(f"{path}: its folder cannot be written and {wal} holds points not "
                           "yet merged into the database; copy both files to a writable "
                           "folder and read the copy")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True, timeout=READ_TIMEOUT_S)


def _checked(point: StoredPoint) -> StoredPoint:
    from .checks import check_point     # checks imports this module
    check_point(point)
    return point


def _stored_point(path: str, index: int, row) -> StoredPoint:
    """One row (the columns of ``_READ``, then their SQLite types, text as bytes), its text
    decoded and JSON columns parsed and checked for shape: a row edited or damaged outside
    azsim is an error naming the point, not a traceback in whichever report reads it first."""
    n = len(_READ)
    values, types = list(row[:n]), [t.decode() if isinstance(t, bytes) else str(t)
                                     for t in row[n:]]
    try:
        name = f"point {values[0].decode()!r}" if types[0] == "text" else None
    except UnicodeDecodeError:
        name = None
    where = f"{path}: {name or f'point #{index + 1} (by rowid)'}"
    for k, ((column, allowed), found) in enumerate(zip(_READ, types)):
        if found not in allowed:
            raise ResultsError(f"{where}: column {column} is of SQLite type {found}, not "
                               f"{' or '.join(allowed)} (damaged outside azsim?); sweep into "
                               "a new results file")
        if found == "text":
            try:
                values[k] = values[k].decode()
            except UnicodeDecodeError as exc:
                raise ResultsError(f"{where}: column {column} holds bytes that are not UTF-8 "
                                   f"text (at byte {exc.start}; damaged outside azsim?); "
                                   "sweep into a new results file") from None
    key, status, config, overrides, record, error, run_s, finished, version = values
    if status not in ("ok", "failed"):
        shown = status if len(status) <= 20 else status[:17] + "..."
        raise ResultsError(f"{where}: status is {shown!r}, not 'ok' or 'failed' (damaged "
                           "outside azsim?); sweep into a new results file")
    if run_s is not None and not (math.isfinite(run_s) and run_s >= 0):
        raise ResultsError(f"{where}: run_s is {run_s!r}, not a number of seconds >= 0 "
                           "(damaged outside azsim?); sweep into a new results file")
    try:
        config = json.loads(config)
        overrides = json.loads(overrides)
        record = json.loads(record) if record is not None else None
    except RecursionError:
        raise ResultsError(f"{where} holds JSON nested too deeply to read (damaged outside "
                           "azsim?); sweep into a new results file") from None
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"{where} holds damaged JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(overrides, list) \
            or not all(isinstance(o, str) for o in overrides) \
            or not (record is None or isinstance(record, dict)):
        raise ResultsError(f"{where} is damaged (config must be a JSON object, overrides a "
                           "list of text, record an object)")
    return StoredPoint(key, status, config, overrides, record, error, run_s, finished, path,
                       version)
