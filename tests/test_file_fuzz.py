"""Defects found by fuzzing input files (2026-12-06): results databases read by ``azsim report``,
``azsim plot`` and ``azsim results export`` (and reopened by ``azsim sweep --results``), eval
records read back by ``azsim eval --compare``, serialized lattices (``load_lattice``), context
files (``--context``), and the inputs of ``azsim soup``, ``prune``, ``corpus-merge`` and
``corpus-relabel``.

The project rule: bad input is ONE line ``azsim: error: ...`` naming the input, the bad value
and what is allowed, exit status 2; never a traceback, never a hang, never a silently wrong
number, never a huge allocation from a small input, and no finished work lost. Each defect
still open is pinned below as ``xfail(strict=True)``: when it is fixed the test passes, strict
makes that an XPASS failure, and the marker comes off. The tests at the end pin the classes of
inputs that held.

About 125,000 generated cases were run by a throwaway driver: ~7,000 CLI runs over mutated
results databases (every section and measurement of a record, and the config, set to missing /
null / text / NaN / infinity / negative / huge / list / object / 10^400 / deeply nested, on one
point or all), ~250 structural database cases, 2,000 databases with random bytes changed,
~110,000 mutated lattices, ~4,000 context files and ~150 eval records, weights files and corpus
folders.
"""
import functools
import importlib.util
import json
import os
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from conftest import one_line_error

from azsim.decode.context import ContextError, parse_context
from azsim.decode.lattice import Edge, Lattice, LatticeFormatError, load_lattice, serialize
from azsim.sweep.store import ResultsError, ResultStore

DEEP = "[" * 100_000 + "]" * 100_000      # deeper than Python's recursion limit
# a corpus's recorded voice split (corpus-merge compares it)
VARIANTS = {"train": ["en+a"], "dev": ["en+b"], "test": ["en+c"]}
FRONTEND = {"sample_rate_hz": 16000, "n_mels": 80, "window_ms": 25.0, "hop_ms": 10.0,
            "n_fft": 512, "f_max_hz": 7600.0}


# ------------------------------------------------------------------------------------ helpers

@pytest.fixture(scope="module")
def sweep_db(tmp_path_factory):
    """A real results database: tiny, weight_bits 8 and 4 x sparsity 0 and 0.5 (4 points)."""
    from azsim.sweep import runner
    from azsim.sweep import spec as sp
    db = str(tmp_path_factory.mktemp("sweep") / "results.sqlite")
    spec = sp.build_spec(model="tiny", hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8,4", "model.sparsity=0,0.5"])
    with ResultStore(db) as store:
        summary = runner.run_sweep(sp.expand(spec), spec, store, jobs=1)
    assert (summary.ok, summary.failed) == (4, 0)
    return db


@pytest.fixture
def damaged(sweep_db, tmp_path):
    """damaged(record=fn, config=fn, sql=[...], rows=(0,)) -> path of a copy of ``sweep_db``
    whose points ``rows`` had their record / config JSON edited by ``fn`` (which may return a
    replacement, a str being stored as is) and ``sql`` run on it."""
    count = iter(range(1000))

    def make(record=None, config=None, sql=(), rows=(0,)):
        path = str(tmp_path / f"damaged{next(count)}.sqlite")
        shutil.copy(sweep_db, path)
        db = sqlite3.connect(path)
        keys = [k for (k,) in db.execute("SELECT key FROM points ORDER BY rowid")]
        for column, fn in (("record", record), ("config", config)):
            if fn is None:
                continue
            for i in rows:
                (text,) = db.execute(f"SELECT {column} FROM points WHERE key = ?",
                                     (keys[i],)).fetchone()
                obj = json.loads(text)
                new = fn(obj)
                obj = obj if new is None else new
                db.execute(f"UPDATE points SET {column} = ? WHERE key = ?",
                           (obj if isinstance(obj, str) else json.dumps(obj), keys[i]))
        for statement in sql:
            db.execute(statement)
        db.commit()
        db.close()
        return path
    return make


def _without(*path):
    def edit(obj):
        for part in path[:-1]:
            obj = obj[part]
        del obj[path[-1]]
    return edit


def _setting(value, *path):
    def edit(obj):
        for part in path[:-1]:
            obj = obj[part]
        obj[path[-1]] = value
    return edit


READERS = {"report": lambda db, tmp: ("report", db),
           "export": lambda db, tmp: ("results", "export", db),
           "export-json": lambda db, tmp: ("results", "export", "--json", db),
           "pareto": lambda db, tmp: ("plot", db, "--kind", "pareto", "-o", str(tmp / "p.png")),
           "bits": lambda db, tmp: ("plot", db, "--kind", "bits", "-o", str(tmp / "b.png")),
           "timeline": lambda db, tmp: ("plot", db, "--kind", "timeline",
                                        "-o", str(tmp / "t.png"))}


def _corpus(root, name, meta=None, splits=None, raw_meta=None):
    """A corpus folder like 'azsim corpus' writes, from the shipped test utterances."""
    import importlib.resources
    src = importlib.resources.files("azsim") / "data" / "testset" / "test.npz"
    with np.load(str(src)) as z:
        a = {k: z[k] for k in z.files}
    off = a["offsets"]

    def split(n, start=0, mels=80):
        feats = [(a["feature_offset"][k] + a["features_u8"][off[k]:off[k + 1]]
                  .astype(np.float32) * a["feature_step"][k])[:, :mels]
                 for k in range(start, start + n)]
        return {"features": np.concatenate(feats).astype(np.float16),
                "offsets": np.concatenate([[0], np.cumsum([f.shape[0] for f in feats])])
                .astype(np.int64),
                "texts": a["texts"][start:start + n].astype(str)}

    folder = root / name
    folder.mkdir()
    if raw_meta is not None:
        (folder / "corpus.json").write_bytes(raw_meta)
    else:
        meta = {"seed": 0, "voice_split_seed": 0, "variants": VARIANTS,
                "sizes": {"train": 2, "dev": 1}, "seconds": {},
                "frontend": dict(FRONTEND)} if meta is None else meta
        (folder / "corpus.json").write_text(json.dumps(meta))
    for name_, arrays in (splits or {"train": (2, 0, 80), "dev": (1, 2, 80)}).items():
        np.savez(folder / f"{name_}.npz",
                 **(split(*arrays) if isinstance(arrays, tuple) else arrays))
    return str(folder)


# =================================================================================== defects

@pytest.mark.parametrize("reader", [
    "results", "compare", "corpus.json", "testset"])
def test_deeply_nested_json_is_aone_line_error(cli, damaged, tmp_path, shipped_test_head,
                                               reader):
    if reader == "results":
        path = damaged(record=lambda r: json.dumps(r)[:-1] + ', "x": ' + DEEP + "}")
        one_line_error(cli("report", path), path)
    elif reader == "compare":
        path = tmp_path / "deep.json"
        path.write_text('{"x": ' + DEEP + ', "hypotheses": []}')
        one_line_error(cli("eval", "--model", "tiny", "--test", str(shipped_test_head(1)),
                           "--compare", str(path)), str(path))
    elif reader == "corpus.json":
        good = _corpus(tmp_path, "good")
        deep = _corpus(tmp_path, "deep", raw_meta=b'{"x": ' + DEEP.encode() + b"}")
        one_line_error(cli("corpus-merge", str(tmp_path / "out"), good, deep), deep)
    else:   # the corpus.json beside a --test split (corpus_meta)
        split = shipped_test_head(1)
        (split.parent / "corpus.json").write_text('{"x": ' + DEEP + "}")
        one_line_error(cli("eval", "--model", "tiny", "--test", str(split)), "corpus.json")


def test_an_integer_beyond_float_range_is_named(cli, damaged):
    path = damaged(record=lambda r: json.dumps(_setting("BIG", "latency", "seconds")(r) or r)
                   .replace('"BIG"', "1" + "0" * 400))
    one_line_error(cli("report", path), path, "latency.seconds")


@pytest.mark.parametrize("reader,edit", [
    ("report", _setting([1, 2], "model")), ("export", _setting([1, 2], "model")),
    ("report", _setting("x", "hw")), ("export", _setting("x", "hw")),
    ("bits", _setting([], "hw", "clock_mhz")),
], ids=["model-list-report", "model-list-export", "hw-text-report", "hw-text-export",
        "clock-list-plot"])
def test_a_config_of_the_wrong_shape_is_named(cli, damaged, tmp_path, reader, edit):
    path = damaged(config=edit)
    one_line_error(cli(*READERS[reader](path, tmp_path)), path)


@pytest.mark.parametrize("reader", ["report", "export"])
def test_an_energy_breakdown_that_is_no_object_is_named(cli, damaged, tmp_path, reader):
    path = damaged(record=_setting(5.0, "energy", "breakdown_uj"))
    one_line_error(cli(*READERS[reader](path, tmp_path)), path, "breakdown_uj")


@pytest.mark.parametrize("reader,where,path", [
    ("report", "record", ("latency", "seconds")),
    ("report", "record", ("traffic", "dram_read_bytes")),
    ("report", "record", ("audio", "seconds")),
    ("report", "record", ("model", "name")),
    ("pareto", "record", ("hardware", "name")),
    ("report", "config", ("model", "weight_bits")),
    ("pareto", "config", ("model", "weight_bits")),
], ids=lambda v: ".".join(v) if isinstance(v, tuple) else v)
def test_an_ok_point_lacking_a_value_the_reports_use_is_named(cli, damaged, tmp_path, reader,
                                                              where, path):
    db = damaged(**{where: _without(*path)})
    one_line_error(cli(*READERS[reader](db, tmp_path)), db, ".".join(path))


@pytest.mark.parametrize("edit", [
    _without("utterances"), _setting(5, "utterances"), _without("utterances", 0, "file"),
    _without("utterances", 0, "frame_arrival_ms"), _setting("x", "utterances", 0,
                                                            "frame_compute_ms"),
    _without("hardware", "clock_mhz")],
    ids=["no-utterances", "utterances-5", "no-file", "no-arrival", "compute-text", "no-clock"])
def test_timeline_data_of_a_point_is_checked(cli, damaged, tmp_path, edit):
    path = damaged(record=edit, rows=(0, 1, 2, 3))
    one_line_error(cli(*READERS["timeline"](path, tmp_path)), path)


@pytest.mark.parametrize("edit,word", [(_setting(-5.0, "latency", "seconds"), "latency"),
                                       (_setting(-0.5, "wer"), "wer"),
                                       (_setting(1e308, "wer"), "wer")],
                         ids=["negative-latency", "negative-wer", "huge-wer"])
def test_an_impossible_measurement_is_refused(cli, damaged, edit, word):
    path = damaged(record=edit, rows=(0, 1, 2, 3))
    one_line_error(cli("report", path), path, word)


@pytest.mark.parametrize("reader,sql", [
    ("report", "UPDATE points SET status = 'failed', record = NULL, error = x'00ff'"),
    ("export-json", "UPDATE points SET status = 'failed', record = NULL, error = x'00ff'"),
    ("report", "UPDATE points SET status = 'failed', record = NULL, error = 'e', "
               "overrides = '[1, 2]'"),
], ids=["blob-error-report", "blob-error-export", "int-overrides"])
def test_a_failed_point_of_other_column_types_is_named(cli, damaged, tmp_path, reader, sql):
    path = damaged(sql=[sql])
    one_line_error(cli(*READERS[reader](path, tmp_path)), path)


@pytest.mark.parametrize("fmt", ["--csv", "--json"])
def test_results_export_checks_the_records_as_report_does(cli, damaged, fmt):
    path = damaged(record=lambda r: _setting("x", "latency", "seconds")(
        _setting(float("nan"), "energy", "total_uj")(r) or r))
    one_line_error(cli("report", path), path, "point")
    one_line_error(cli("results", "export", fmt, path), path, "point")


@pytest.mark.parametrize("key,value", [("hop_ms", "x"), ("n_mels", "80"), ("n_mels", True),
                                       ("hop_ms", None), ("window_ms", 10 ** 400)])
def test_a_corpus_json_frontend_value_of_another_type_is_named(cli, shipped_test_head, key,
                                                               value):
    split = shipped_test_head(1)
    (split.parent / "corpus.json").write_text(json.dumps({"frontend": {**FRONTEND,
                                                                       key: value}}))
    one_line_error(cli("eval", "--model", "tiny", "--test", str(split)), "corpus.json", key)


def test_plot_without_successful_points_names_the_database(cli, damaged, tmp_path):
    path = damaged(sql=["UPDATE points SET status = 'failed', record = NULL, error = 'boom'"])
    one_line_error(cli(*READERS["pareto"](path, tmp_path)), path)


def test_a_locked_database_is_called_locked(cli, sweep_db, tmp_path, monkeypatch):
    path = str(tmp_path / "locked.sqlite")
    shutil.copy(sweep_db, path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE meta SET value = value")
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, **{**k, "timeout": 0.1}))
    try:
        line = one_line_error(cli("report", path), path, "locked")
    finally:
        holder.close()
    assert "not an azsim results database" not in line


@pytest.mark.parametrize("reader", ["report", "sweep"])
def test_a_schema_with_a_non_utf8_byte_is_one_line(cli, sweep_db, tmp_path, reader):
    raw = bytearray(open(sweep_db, "rb").read())
    raw[raw.index(b"CHECK (status") + 2] = 0xFF
    path = tmp_path / "schema.sqlite"
    path.write_bytes(bytes(raw))
    if reader == "report":
        one_line_error(cli("report", str(path)), str(path))
    else:
        with pytest.raises(ResultsError, match="schema.sqlite"):
            ResultStore(str(path)).close()


@pytest.mark.parametrize("sql", [
    ["ALTER TABLE points DROP COLUMN record"],
    ["ALTER TABLE points RENAME TO old", "CREATE TABLE points (key TEXT, status TEXT, config TEXT,"
     " overrides TEXT, record TEXT, error TEXT, run_s REAL, finished_utc TEXT, azsim_version "
     "TEXT)", "INSERT INTO points SELECT * FROM old", "DROP TABLE old"],
], ids=["no-record-column", "no-primary-key"])
def test_a_foreign_points_table_is_refused_on_opening(damaged, sql):
    path = damaged(sql=sql)
    with pytest.raises(ResultsError, match="points"):
        ResultStore(path).close()


def test_a_foreign_points_table_fails_before_any_point_runs(cli, damaged):
    """The table is checked on opening: azsim sweep stops before its first point (none lost)."""
    path = damaged(sql=["ALTER TABLE points DROP COLUMN record"])
    line = one_line_error(cli("sweep", "--model", "tiny", "--set", "model.weight_bits=6",
                              "--results", path, "--jobs", "1"), path, "lacks column record")
    assert "cannot store" not in line


# The results-database checks widened past the fuzzed cases: every column of a row, every
# number a reader computes with, on any point (azsim.sweep.checks.check_point).
@pytest.mark.parametrize("kw,words", [
    ({"sql": ["UPDATE points SET run_s = 'slow'"]}, "column run_s is of SQLite type text"),
    ({"sql": ["UPDATE points SET run_s = -1"]}, "run_s is -1"),
    ({"sql": ["UPDATE points SET error = x'41ff42'"]}, "column error is of SQLite type blob"),
    ({"sql": ["UPDATE points SET error = CAST(x'41ff42' AS TEXT)"]}, "not UTF-8"),
    ({"sql": ["UPDATE points SET key = CAST(x'41ff42' AS TEXT) WHERE rowid = 1"]}, "point #1"),
    ({"sql": ["UPDATE points SET key = x'41' WHERE rowid = 1"]},
     "column key is of SQLite type blob"),
    ({"sql": ["UPDATE points SET overrides = '{}'"]}, "overrides a list of text"),
    ({"record": _setting(-1.0, "energy", "breakdown_uj", "mac")}, "breakdown_uj.mac is -1.0"),
    ({"record": _setting(-3, "traffic", "dram_write_bytes")}, "dram_write_bytes is -3"),
    ({"record": _setting(0, "hardware", "clock_mhz")}, "hardware.clock_mhz is 0"),
    ({"record": _setting([1.0, 2.0], "utterances", 0, "frame_finish_ms")}, "different lengths"),
    ({"record": _setting(-1.0, "utterances", 1, "frame_compute_ms", 3)},
     "utterances[1].frame_compute_ms[3] is -1.0"),
    ({"config": _setting(float("nan"), "hw", "clock_mhz")}, "config hw.clock_mhz is nan"),
    ({"config": _setting(10 ** 400, "hw", "sram_bytes")}, "config hw.sram_bytes is 1000"),
    ({"config": _setting(1.5, "model", "sparsity")}, "config model.sparsity is 1.5"),
    ({"config": _setting(4.5, "model", "weight_bits")}, "config model.weight_bits is 4.5"),
    ({"config": _setting(functools.reduce(lambda a, _: [a], range(50), 1), "hw", "x")},
     "config hw.x is [[["),
], ids=["run_s-text", "run_s-negative", "error-blob", "error-not-utf8", "key-not-utf8",
        "key-blob", "overrides-object", "negative-component", "negative-bytes", "zero-clock",
        "finish-length", "negative-compute", "config-nan", "config-huge-int", "sparsity-1.5",
        "bits-4.5", "config-nested"])
def test_every_column_and_number_of_a_stored_point_is_checked(cli, damaged, tmp_path, kw,
                                                              words):
    path = damaged(**kw)
    for reader in ("report", "export-json", "pareto", "timeline"):
        one_line_error(cli(*READERS[reader](path, tmp_path)), path, "point", words)


def test_a_failed_point_needs_no_record_but_a_config_of_the_right_shape(cli, damaged,
                                                                         tmp_path):
    fine = damaged(sql=["UPDATE points SET status = 'failed', record = NULL, error = 'boom'"
                        " WHERE rowid = 1"])
    code, out, err = cli("results", "export", "--json", fine)
    assert code in (0, None) and json.loads(out)[0]["error"] == "boom", err
    bad = damaged(config=_setting(3, "model"), sql=[
        "UPDATE points SET status = 'failed', record = NULL, error = 'boom' WHERE rowid = 1"])
    one_line_error(cli("results", "export", bad), bad, "config model is 3")


def test_resume_runs_a_damaged_ok_point_again_and_says_so(cli, damaged):
    """An ok point whose stored row fails the readers' checks is not 'already stored': sweep
    --resume runs it again (replacing the row) and names it; the intact points are skipped."""
    path = damaged(record=_without("latency", "seconds"))
    code, out, err = cli("sweep", "--model", "tiny", "--set", "model.weight_bits=8,4",
                         "--set", "model.sparsity=0,0.5", "--results", path, "--resume",
                         "--jobs", "1")
    assert code in (0, None), err
    assert "3 already stored, 1 to run" in err
    notes = [line for line in err.splitlines() if line.startswith("azsim: note: running again")]
    assert len(notes) == 1 and "latency.seconds is missing" in notes[0] and path in notes[0]
    code, out, err = cli("report", path)
    assert code in (0, None) and "4 points stored, 4 ok" in out, err


def test_readers_wait_only_briefly_for_a_lock(sweep_db, monkeypatch):
    """A reader waits a few seconds for a locked database; the sweep's own store longer."""
    seen = []
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: seen.append(k.get("timeout"))
                        or connect(*a, **k))
    from azsim.sweep.store import open_for_reading
    open_for_reading(sweep_db)
    assert seen and all(t is not None and t <= 5 for t in seen)


@pytest.mark.parametrize("field,value", [("weight_bits", None), ("weights", {"a": 1}),
                                         ("weight_bits", True), ("weight_bits", 9),
                                         ("model", [1, 2])])
def test_eval_compare_checks_the_baseline_description(cli, tmp_path, shipped_test_head, field,
                                                      value):
    test = str(shipped_test_head(1))
    base = tmp_path / "base.json"
    code, out, err = cli("eval", "--model", "tiny", "--test", test, "--json", str(base))
    assert code in (0, None), err
    record = json.loads(base.read_text())
    record[field] = value
    base.write_text(json.dumps(record))
    one_line_error(cli("eval", "--model", "tiny", "--test", test, "--compare", str(base)),
                   str(base), field)


def test_an_endless_input_is_refused_without_reading_it_whole(tmp_path):
    import resource

    def limit():   # 800 MB of address space: azsim runs this in ~2 s with room to spare
        resource.setrlimit(resource.RLIMIT_AS, (800 * 2 ** 20, 800 * 2 ** 20))
    # cwd=tmp_path: a checkout's azsim/ must not shadow the installed package (test_bad_files)
    proc = subprocess.run([sys.executable, "-m", "azsim.cli", "run", "--model", "tiny", "--beam",
                           "2", "--context", "/dev/zero"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, preexec_fn=limit)
    one_line_error((proc.returncode, proc.stdout, proc.stderr), "/dev/zero")


@pytest.mark.parametrize("content", [None, {"frontend": [1]}, {"frontend": None}, b"{",
                                     b"\xff"], ids=["deep", "list", "null", "truncated", "bytes"])
def test_a_corpus_json_beside_a_split_that_cannot_be_read_is_named(cli, tmp_path,
                                                                   shipped_test_head, content):
    """Taken for no description, it made the split read as the default frontend's."""
    split = shipped_test_head(1)
    meta = split.parent / "corpus.json"
    if content is None:
        meta.write_text('{"x": ' + DEEP + "}")
    elif isinstance(content, bytes):
        meta.write_bytes(content)
    else:
        meta.write_text(json.dumps(content))
    one_line_error(cli("eval", "--model", "tiny", "--test", str(split)), str(meta))
    if importlib.util.find_spec("torch") is None:
        return   # azsim train needs PyTorch (the [train] extra); CI installs without it
    corpus = _corpus(tmp_path, "c", raw_meta=meta.read_bytes())
    one_line_error(cli("train", "--corpus", corpus, "--out", str(tmp_path / "o")),
                   os.path.join(corpus, "corpus.json"))
    assert not (tmp_path / "o").exists()


def test_eval_compare_of_a_record_that_does_not_name_its_model_shows_no_none(
        cli, tmp_path, shipped_test_head):
    test = str(shipped_test_head(1))
    base = tmp_path / "base.json"
    code, out, err = cli("eval", "--model", "tiny", "--test", test, "--json", str(base))
    record = json.loads(base.read_text())
    base.write_text(json.dumps({"hypotheses": record["hypotheses"]}))
    code, out, err = cli("eval", "--model", "tiny", "--test", test, "--compare", str(base))
    assert code in (0, None), err
    line = [x for x in out.splitlines() if str(base) in x]
    assert line and "None" not in line[0] and f"this - {base} (WER " in line[0]


def test_small_user_files_are_regular_files_read_to_a_bound(cli, tmp_path):
    from azsim.errors import AzsimError
    from azsim.paths import SMALL_FILE_MB, load_json_file, read_small_file
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    for path, words in ((fifo, "device or FIFO"), ("/dev/zero", "device or FIFO"),
                        (tmp_path, "a folder"), (tmp_path / "nosuch", "No such file")):
        with pytest.raises(AzsimError, match=f"^what {path}: cannot read .*{words}"):
            read_small_file(path, f"what {path}")
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b" " * (1 << 20) + b"]")
    with pytest.raises(AzsimError, match="^big: larger than 1 MB"):
        load_json_file(big, "big", limit_mb=1)
    assert load_json_file(big, "big", limit_mb=2) == [] and SMALL_FILE_MB == 64
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("mom\n")
    for path in (str(fifo), "/dev/zero"):
        one_line_error(cli("eval", "--model", "tiny", "--compare", path), path, "FIFO")
        one_line_error(cli("run", "--model", "tiny", "--beam", "2", "--context", path), path,
                       "FIFO")
        one_line_error(cli("context-aliases", str(ctx), str(tmp_path / "o.txt"), "--keep",
                           path), "--keep", path, "FIFO")
    one_line_error(cli("run", "--model", str(fifo)), str(fifo), "FIFO")
    assert not (tmp_path / "o.txt").exists()


def test_audio_streams_and_sweep_inputs_are_regular_files(cli, tmp_path):
    """WAV files, weight streams and the files a sweep hashes read (or hashed) /dev/zero until
    the memory or the patience ran out, and blocked forever on a FIFO."""
    fifo = tmp_path / "fifo.wav"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        one_line_error(cli("run", "--model", "tiny", "--audio", path), path, "FIFO")
        one_line_error(cli("decode", path), path, "FIFO")
        one_line_error(cli("sweep", "--dry-run", "--model", "tiny", "--audio", path,
                           "--results", str(tmp_path / "r.sqlite")), path, "FIFO")


def _vocab():
    from azsim.config import load_model_config
    from azsim.model.vocab import make_vocab
    cfg = load_model_config("tiny", [])
    return make_vocab(cfg.vocab, cfg.vocab_size)


def test_a_context_file_with_a_bom_or_crlf_reads_as_one_without(tmp_path):
    path = tmp_path / "ctx.txt"
    path.write_bytes(b"\xef\xbb\xbfmom | mum\r\n@prefix call\r\ndad\r\n")
    spec = parse_context(str(path), _vocab())
    assert (spec.phrases, spec.prefixes, spec.aliases) == (["mom", "dad"], ["call"],
                                                           {"mum": "mom"})
    path.write_text("mom\r\n" + "".join(map(chr, range(0x4E00, 0x4E00 + 5000))) + "\n")
    with pytest.raises(ContextError, match="line 2") as info:
        parse_context(str(path), _vocab())
    assert len(str(info.value)) < 2000


@pytest.mark.parametrize("brk", ["\x0c", "\x85", "\u2028"], ids=["ff", "nel", "ls"])
def test_context_line_numbers_count_newlines_only(tmp_path, brk):
    path = tmp_path / "ctx.txt"
    path.write_text(f"mom{brk}dad\nb!d\n", encoding="utf-8")
    with pytest.raises(ContextError, match="line 2"):
        parse_context(str(path), _vocab())


def test_a_context_error_does_not_echo_a_huge_line(tmp_path):
    path = tmp_path / "ctx.txt"
    path.write_text("a" * 1_000_000 + "!\n")
    with pytest.raises(ContextError) as info:
        parse_context(str(path), _vocab())
    assert str(path) in str(info.value) and len(str(info.value)) < 2000


def test_corpus_merge_of_other_feature_widths_is_one_line(cli, tmp_path):
    good = _corpus(tmp_path, "good")
    narrow = _corpus(tmp_path, "narrow", splits={"train": (2, 0, 40), "dev": (1, 2, 40)})
    one_line_error(cli("corpus-merge", str(tmp_path / "out"), good, narrow), narrow)


@pytest.mark.parametrize("meta", [{"voice_split_seed": 0, "frontend": FRONTEND},
                                  {"voice_split_seed": 0, "frontend": FRONTEND, "sizes": [1]},
                                  {"voice_split_seed": 0, "frontend": FRONTEND, "sizes": {},
                                   "seconds": [1]}], ids=["no-sizes", "sizes-list",
                                                          "seconds-list"])
def test_corpus_merge_checks_the_last_description(cli, tmp_path, meta):
    good = _corpus(tmp_path, "good")
    last = _corpus(tmp_path, "last", meta=meta)
    one_line_error(cli("corpus-merge", str(tmp_path / "out"), good, last), last)
    assert not (tmp_path / "out" / "train.npz").exists()


def test_corpus_merge_of_other_dtypes_names_source_and_array(cli, tmp_path):
    good = _corpus(tmp_path, "good")
    arrays = dict(np.load(os.path.join(good, "train.npz")))
    wide = _corpus(tmp_path, "wide", splits={
        "train": {**arrays, "features": arrays["features"].astype(np.float32)},
        "dev": (1, 2, 80)})
    one_line_error(cli("corpus-merge", str(tmp_path / "out"), good, wide), wide, "features",
                   "float32")
    assert not (tmp_path / "out").exists()


def test_corpus_merge_counts_the_held_out_splits_it_copies(cli, tmp_path):
    """The last source's description said 'seconds': {} (and could say any size)."""
    a, b = _corpus(tmp_path, "a"), _corpus(tmp_path, "b", meta={
        "voice_split_seed": 0, "variants": VARIANTS, "frontend": FRONTEND,
        "sizes": {"train": 2, "dev": 7}, "seconds": {}})
    code, out, err = cli("corpus-merge", str(tmp_path / "out"), a, b)
    assert code in (0, None), err
    meta = json.loads((tmp_path / "out" / "corpus.json").read_text())
    frames = np.load(os.path.join(b, "dev.npz"))["features"].shape[0]
    assert meta["sizes"] == {"train": 4, "dev": 1}
    # its one utterance lasts until its last window ends: (F - 1) x hop + window
    assert meta["seconds"]["dev"] == pytest.approx((frames - 1) * 0.010 + 0.025)


def test_corpus_merge_names_the_source_with_other_arrays(cli, tmp_path):
    good = _corpus(tmp_path, "good")
    arrays = np.load(os.path.join(good, "train.npz"))
    other = _corpus(tmp_path, "other", splits={
        "train": {**arrays, "voices": np.array(["a", "b"])}, "dev": (1, 2, 80)})
    one_line_error(cli("corpus-merge", str(tmp_path / "out"), good, other), other, "voices")


@pytest.mark.parametrize("case", ["mels-40", "hop-20", "hop-text"])
def test_corpus_relabel_refuses_a_corpus_the_teacher_cannot_read(cli, tmp_path, case):
    if case == "mels-40":
        src = _corpus(tmp_path, "src", splits={"train": (2, 0, 40), "dev": (1, 2, 40)})
    else:
        src = _corpus(tmp_path, "src", meta={"voice_split_seed": 0, "sizes": {}, "frontend": {
            **FRONTEND, "hop_ms": 20.0 if case == "hop-20" else "x"}})
    one_line_error(cli("corpus-relabel", str(tmp_path / "out"), src), src)
    assert not (tmp_path / "out").exists()


def test_corpus_relabel_says_corpus_json_is_damaged(cli, tmp_path):
    src = _corpus(tmp_path, "src", raw_meta=b'{"frontend": ')
    line = one_line_error(cli("corpus-relabel", str(tmp_path / "out"), src),
                          "corpus.json")
    assert "no corpus.json" not in line


# ====================================================================== classes that held

def test_a_damaged_database_file_is_one_line_for_every_reader(cli, sweep_db, tmp_path):
    raw = open(sweep_db, "rb").read()
    files = {"empty": b"", "text": b"hello\n", "random": bytes(range(256)) * 20,
             "header-only": raw[:100], "truncated": raw[:4096]}
    cases = {}
    for name, data in files.items():
        cases[name] = tmp_path / f"{name}.sqlite"
        cases[name].write_bytes(data)
    for name, sql in {"no-tables": ["DROP TABLE points", "DROP TABLE meta"],
                      "no-meta": ["DROP TABLE meta"], "no-points": ["DROP TABLE points"],
                      "no-version": ["DELETE FROM meta"],
                      "future": ["UPDATE meta SET value = '2'"],
                      "no-column": ["ALTER TABLE points DROP COLUMN run_s"]}.items():
        cases[name] = tmp_path / f"{name}.sqlite"
        shutil.copy(sweep_db, cases[name])
        db = sqlite3.connect(cases[name])
        for s in sql:
            db.execute(s)
        db.commit()
        db.close()
    cases["folder"] = tmp_path
    cases["missing"] = tmp_path / "nosuch.sqlite"
    for name, path in cases.items():
        for reader in ("report", "export", "pareto"):
            one_line_error(cli(*READERS[reader](str(path), tmp_path)), str(path))
    assert "version 2" in one_line_error(cli("report", str(cases["future"])))


@pytest.mark.parametrize("edit,words", [
    (lambda r: json.dumps(r)[:100], "damaged JSON"),
    (lambda r: "hello", "damaged JSON"),
    (lambda r: [], "record an object"),
    (lambda r: {}, "lacks model, hardware"),
    (_without("latency"), "lacks latency"),
    (_setting(float("nan"), "energy", "total_uj"), "energy.total_uj is nan"),
    (_setting(float("inf"), "latency", "seconds"), "latency.seconds is inf"),
    (_setting("x", "traffic", "dram_read_bytes"), "dram_read_bytes is 'x'"),
    (_setting(True, "wer"), "wer is True"),
    (_setting([1], "energy", "breakdown_uj", "mac"), "breakdown_uj.mac is [1]"),
], ids=["truncated", "not-json", "array", "empty", "no-latency", "nan", "inf", "text", "bool",
        "list"])
def test_a_damaged_record_names_the_database_and_point(cli, damaged, tmp_path, edit, words):
    path = damaged(record=edit)
    for reader in ("report", "pareto"):
        one_line_error(cli(*READERS[reader](path, tmp_path)), path, "point", words)


def test_zero_points_and_only_failed_points_report_so(cli, damaged):
    empty = damaged(sql=["DELETE FROM points"])
    code, out, err = cli("report", empty)
    assert code in (0, None) and "0 points stored" in out and "no successful points" in out
    failed = damaged(sql=["UPDATE points SET status = 'failed', record = NULL, error = 'boom'"])
    code, out, err = cli("report", failed)
    assert code in (0, None) and "0 ok, 4 failed" in out and "boom" in out
    code, out, err = cli("results", "export", failed)
    assert code in (0, None) and out.count("failed") == 4


def _random_lattice(rng):
    n = rng.randint(1, 10)
    words = tuple(sorted({"".join(rng.choice("abé☃") for _ in range(rng.randint(0, 5)))
                          for _ in range(rng.randint(1, 5))}))
    edges = []
    for dst in range(1, n):
        for src in sorted(rng.sample(range(dst), rng.randint(1, min(dst, 2)))):
            start = rng.randint(0, 500)
            edges.append(Edge(src, dst, rng.randrange(len(words)), start,
                              start + rng.randint(0, 50), rng.randint(-10 ** 6, 10 ** 6),
                              rng.randint(-10 ** 4, 10 ** 4)))
    finals = tuple((k, rng.randint(-999, 999), rng.randint(-99, 99))
                   for k in sorted(rng.sample(range(n), rng.randint(0, n))))
    return Lattice(rng.randint(0, 10 ** 5), words, n, tuple(edges), finals, rng.randint(0, 20))


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def _loads_or_refuses(data: bytes) -> None:
    try:
        lat = load_lattice(data)
    except LatticeFormatError as exc:
        assert "\n" not in str(exc)
        return
    assert all(0 <= e.src < e.dst < lat.n_nodes and 0 <= e.word < len(lat.words)
               and 0 <= e.start_frame <= e.end_frame for e in lat.edges)
    nodes = [f[0] for f in lat.finals]
    assert nodes == sorted(set(nodes)) and all(0 <= f < lat.n_nodes for f in nodes)
    lat.paths()
    assert load_lattice(serialize(lat)) == lat


def test_mutated_lattices_load_or_raise_lattice_format_error():
    rng = random.Random(7)
    n = 0
    for _ in range(30):
        data = serialize(_random_lattice(rng))
        for cut in range(len(data)):                      # truncation at every byte
            _loads_or_refuses(data[:cut])
            _loads_or_refuses(_with_crc(data[:cut]))      # ... with a CRC that matches
            n += 2
        for _ in range(30):                               # a byte changed, CRC fixed up
            b = bytearray(data[:-4])
            b[rng.randrange(len(b))] = rng.randrange(256)
            _loads_or_refuses(bytes(b) + data[-4:])
            _loads_or_refuses(_with_crc(bytes(b)))
            b = bytearray(data[:-4])
            b[rng.randrange(4, len(b) + 1):0] = b"\xff" * rng.randint(1, 12)
            _loads_or_refuses(_with_crc(bytes(b)))
            n += 3
    assert n > 3000


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
        n >>= 7
        if not n:
            return bytes(out)


@pytest.mark.parametrize("huge", [2 ** 60, 2 ** 64 - 1])
def test_forged_lattice_counts_and_endless_varints_are_refused_at_once(huge):
    v = _varint
    for fields in ([v(10), v(10), v(huge)],                             # n_words
                   [v(10), v(10), v(1), v(huge)],                       # a word's length
                   [v(10), v(10), v(0), v(huge), v(huge)],              # n_nodes, n_edges
                   [v(10), v(10), v(0), v(huge), v(0), v(huge)]):       # n_finals
        with pytest.raises(LatticeFormatError, match="truncated"):
            load_lattice(_with_crc(b"AZL\x01" + b"".join(fields)))
    with pytest.raises(LatticeFormatError, match="longer than 64 bits"):
        load_lattice(_with_crc(b"AZL\x01" + b"\x80" * 100_000))


@pytest.mark.parametrize("content,words", [
    (b"", "not JSON"), (b'{"hypotheses": [', "not JSON"),
    (b"\xef\xbb\xbf{}", "not JSON"), (b"\xff\xfe{\x00}\x00", "not JSON"), (b"[]", "hypotheses"),
    (b'{"hypotheses": {"a": 1}}', "hypotheses"),
    (b'{"hypotheses": [{"reference": 5, "hypothesis": ""}]}', "hypotheses"),
    (b'{"hypotheses": []}', "its 0 references"),
    (b'{"hypotheses": [{"reference": "x", "hypothesis": ""}, '
     b'{"reference": "y", "hypothesis": ""}]}', "its 2 references"),
    (b'{"hypotheses": [], "weight_bits": 1' + b"0" * 5000 + b"}", "not JSON"),
], ids=["empty", "truncated", "bom", "utf16", "list", "dict", "int-reference", "no-hyps",
        "wrong-refs", "huge-int"])
def test_a_bad_eval_record_to_compare_is_one_line(cli, tmp_path, shipped_test_head, content,
                                                  words):
    path = tmp_path / "base.json"
    path.write_bytes(content)
    one_line_error(cli("eval", "--model", "tiny", "--test", str(shipped_test_head(1)),
                       "--compare", str(path)), str(path), words)


def test_context_files_give_phrases_the_model_can_emit_or_one_line(tmp_path):
    vocab = _vocab()
    allowed = {t for t in vocab.tokens if t}
    rng = random.Random(3)
    alphabet = "abcxyz '|#@\t\r\n\u00a0\ufeffKİßＡé\u200b\u0301-"
    path = tmp_path / "ctx.txt"
    fixed = [b"", b"\xef\xbb\xbfmom\n", b"mom\r\ndad\r\n", b"\tmom\t\n", b"# only\n#c\n",
             b"\x00\x01\x02", b"@prefix\n", b"|\n", b"mom|\n", b"mom | mom\n",
             b"@prefix call\n@prefix call me\nmom\n", b"mom \xff\n", "ｍｏｍ\n".encode()]
    randoms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))).encode()
               for _ in range(800)]
    for data in fixed + randoms:
        path.write_bytes(data)
        try:
            spec = parse_context(str(path), vocab)
        except ContextError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc), (data, str(exc))
            continue
        for p in spec.phrases + spec.prefixes + list(spec.aliases):
            assert p and not set(p) - allowed and p == " ".join(p.split()), (data, p)


def test_soup_and_prune_name_the_bad_weights_file(cli, tmp_path):
    good = str(tmp_path / "good.npz")
    code, out, err = cli("prune", good, "--model", "tiny", "--sparsity", "0.5")
    assert code in (0, None), err
    arrays = dict(np.load(good))
    bad = {"shape": {**arrays, "joint.b": np.zeros(65, np.float32)},
           "nan": {**arrays, "joint.b": np.full(64, np.nan, np.float32)},
           "missing": {k: v for k, v in arrays.items() if k != "joint.b"},
           "version": {**arrays, "format_version": np.array(99)}}
    for name, a in bad.items():
        path = str(tmp_path / f"{name}.npz")
        np.savez(path, **a)
        one_line_error(cli("soup", str(tmp_path / "out.npz"), good, path, "--model", "tiny"),
                       path)
        one_line_error(cli("prune", str(tmp_path / "out.npz"), "--model", "tiny", "--weights",
                           path, "--sparsity", "0.5"), path)
    (tmp_path / "text.npz").write_text("hi")
    one_line_error(cli("soup", str(tmp_path / "out.npz"), good, str(tmp_path / "text.npz"),
                       "--model", "tiny"), "text.npz", "not a readable .npz")
    assert not (tmp_path / "out.npz").exists()


def test_corpus_merge_and_relabel_name_a_bad_source(cli, tmp_path):
    good = _corpus(tmp_path, "good")
    empty = {"features": np.zeros((0, 80), np.float16), "offsets": np.zeros(1, np.int64),
             "texts": np.array([], dtype=str)}
    cases = {"missing": (str(tmp_path / "nosuch"), "no corpus.json"),
             "file": (os.path.join(good, "corpus.json"), "no corpus.json"),
             "bad-json": (_corpus(tmp_path, "badjson", raw_meta=b"{"), "not JSON"),
             "no-frontend": (_corpus(tmp_path, "nofront", raw_meta=b"[]"), "frontend"),
             "texts-bytes": (_corpus(tmp_path, "tb", splits={"train": {
                 "features": np.zeros((4, 80), np.float16), "offsets": np.array([0, 2, 4]),
                 "texts": np.array([b"a", b"b"])}}), "texts is |S1"),
             "seed": (_corpus(tmp_path, "seed", meta={"voice_split_seed": 5,
                                                      "variants": VARIANTS,
                                                      "frontend": FRONTEND}), "voice_split_seed"),
             "no-train": (_corpus(tmp_path, "notrain", splits={"train": empty, "dev": (1, 0, 80)}),
                          "no training utterances")}
    for name, (src, words) in cases.items():
        one_line_error(cli("corpus-merge", str(tmp_path / f"out-{name}"), src, good), src, words)
    for name in ("missing", "file", "texts-bytes", "no-train"):
        src, words = cases[name]
        one_line_error(cli("corpus-relabel", str(tmp_path / f"rel-{name}"), src), src)
