"""azsim sweep (issue #5): specs, keys, the results store, parallel runs, kill and resume."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim.config.loader import parse_override
from azsim.errors import AzsimError
from azsim.sweep import spec as sp
from azsim.sweep.store import ResultStore, open_for_reading

AXES = ["--set", "model.weight_bits=8,4", "--set", "model.sparsity=0,0.75",
        "--set", "hw.clock_mhz=400,800"]


def _rows(db):
    with sqlite3.connect(db) as con:
        return con.execute("SELECT key, status, record, error FROM points").fetchall()


def _one_line_error(cli, *argv):
    code, out, err = cli(*argv)
    lines = err.strip().splitlines()
    assert code == 2, (argv, out, err)
    assert len(lines) == 1 and lines[0].startswith("azsim: error: "), (argv, err)
    assert "Traceback" not in err
    return lines[0]


def _damaged_copy(results_db, tmp_path, edit):
    """A copy of ``results_db`` whose first point's record ``edit(record)`` changed, as a
    database edited outside azsim: (its path, that point's key)."""
    import shutil
    db = str(tmp_path / "damaged.sqlite")
    shutil.copy(results_db, db)
    with sqlite3.connect(db) as con:
        key, text = con.execute("SELECT key, record FROM points ORDER BY rowid "
                                "LIMIT 1").fetchone()
        record = json.loads(text)
        edit(record)
        con.execute("UPDATE points SET record = ? WHERE key = ?", (json.dumps(record), key))
    return db, key


# ------------------------------------------------------------------------------------ specs


def test_shipped_audio_paths_match_the_audio_module():
    from azsim.model.audio import shipped_audio_paths
    assert sp.shipped_audio_paths() == [str(p) for p in shipped_audio_paths()]
    assert len(sp.shipped_audio_paths()) >= 1


def test_shipped_test_sets_match_the_evaluate_module(tmp_path):
    """The sweep resolves test-set names without importing NumPy; it must agree with
    azsim.evaluate (which loads them) on which names are shipped, and on their sizes."""
    from azsim.config import load_model_config
    from azsim.evaluate import load_testset, shipped_testsets
    cfg = load_model_config("small")
    for name in shipped_testsets():
        assert sp._shipped_testset(name)
        n = len(load_testset(name, cfg).utterances)
        assert sp._testset_identity(name, None)["utterances"] == n
    assert not sp._shipped_testset("calibration/x") and not sp._shipped_testset("nope")


def test_the_core_does_not_import_dask():
    code = ("import sys, azsim.cli, azsim.sweep.runner, azsim.plot.plots; "
            "sys.exit(int(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules)))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_split_values_keeps_lists_and_quoted_commas():
    assert sp.split_values("8, 6,4") == ["8", "6", "4"]
    assert sp.split_values('"a,b", [1, 2],x') == ['"a,b"', "[1, 2]", "x"]
    axis = sp.parse_axis('hw.zero_handling=skip,"gate"')
    assert axis.key == "hw.zero_handling" and axis.values == ("skip", "gate")


def _toml_literal(value, data) -> str:
    """``value`` as a user types it in a --set list: TOML as a spec file's values are
    rendered (sp._toml_value), or a string in single quotes (a literal string)."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml_literal(v, data) for v in value) + "]"
    literal_ok = isinstance(value, str) and "'" not in value and \
        all(c == "\t" or " " <= c != "\x7f" for c in value)
    return f"'{value}'" if literal_ok and data.draw(st.booleans()) else sp._toml_value(value)


def _same(a, b) -> bool:
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


_SCALARS = (st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8)
            | st.text(alphabet="\\\"',[]{} ab", max_size=6)
            | st.integers() | st.floats(allow_nan=False) | st.booleans())


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(_SCALARS | st.lists(_SCALARS, max_size=3), min_size=1, max_size=6), st.data())
def test_a_rendered_list_of_values_splits_back_into_its_values(values, data):
    """split_values undoes the CLI syntax: whatever the strings hold (commas, quotes,
    brackets, backslashes before a quote), each value comes back as itself."""
    separators = st.sampled_from([",", ", ", " ,", " , "])
    raw = "".join((data.draw(separators) if i else "") + _toml_literal(v, data)
                  for i, v in enumerate(values))
    items = sp.split_values(raw)
    assert len(items) == len(values), (raw, items)
    got = [parse_override(f"hw.description={item}")[1] for item in items]
    assert all(map(_same, got, values)), (raw, got)


def test_split_values_reads_strings_as_toml_does():
    assert sp.split_values(r'"a\\","b"') == [r'"a\\"', '"b"']
    assert sp.split_values(r'"a\",b",c') == [r'"a\",b"', "c"]
    assert sp.split_values(r"'a\',b") == [r"'a\'", "b"]      # a literal string: no escapes
    assert sp.split_values('"""a"b,c""",d') == ['"""a"b,c"""', "d"]
    assert sp.split_values('"""a""""",e') == ['"""a"""""', "e"]   # up to 2 quotes before """
    assert sp.split_values("'''x'y,z''',w") == ["'''x'y,z'''", "w"]
    assert sp.split_values('"open,x') == ['"open,x']   # unterminated: left to TOML


def test_cartesian_product_order_and_keys():
    spec = sp.build_spec(model=None, hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8,4", "hw.clock_mhz=400,800,1600",
                               "model.sparsity=0.5"])
    points = sp.expand(spec)
    assert [tuple(p.values.values()) for p in points] == [
        (8, 400.0), (8, 800.0), (8, 1600.0), (4, 400.0), (4, 800.0), (4, 1600.0)]
    assert all("model.sparsity=0.5" in p.overrides for p in points)
    assert len({p.key for p in points}) == 6
    # Points that differ only in hardware share their model side (worker reuse).
    assert len({p.group for p in points}) == 2
    # The key hashes the resolved config, not the spelling of the override.
    other = sp.expand(sp.build_spec(model="small", hw="az-edge", audio=None, weights=None,
                                    spec_file=None, sets=["model.weight_bits=8",
                                                          "hw.clock_mhz=4e2",
                                                          "model.sparsity=5e-1"]))
    assert other[0].key == points[0].key
    assert other[0].config["model"]["weight_bits"] == 8


def test_values_resolving_to_one_config_are_rejected():
    with pytest.raises(AzsimError, match="same config"):
        sp.expand(sp.build_spec(model=None, hw=None, audio=None, weights=None, spec_file=None,
                                sets=["hw.clock_mhz=800,800.0"]))


def test_spec_file_with_set_sweep_and_relative_audio(tmp_path, cli):
    from azsim.model.audio import shipped_audio_paths
    wav = shipped_audio_paths()[0]
    (tmp_path / "a.wav").write_bytes(wav.read_bytes())
    spec = tmp_path / "sweep.toml"
    spec.write_text('model = "tiny"\naudio = ["a.wav"]\n[set]\nhw.clock_mhz = 400\n'
                    "[sweep]\nmodel.weight_bits = [8, 6, 4]\nmodel.sparsity = [0.0, 0.5]\n")
    code, out, err = cli("sweep", "--spec", str(spec), "--dry-run")
    assert code in (0, None), err
    assert "6 points" in out
    parsed = sp.build_spec(model=None, hw=None, audio=None, weights=None, sets=[],
                           spec_file=str(spec))
    assert parsed.audio == (str(tmp_path / "a.wav"),)
    assert "hw.clock_mhz=400" in parsed.fixed
    # The command line replaces the file's axis of the same field.
    parsed = sp.build_spec(model=None, hw=None, audio=None, weights=None,
                           sets=["model.weight_bits=2,3"], spec_file=str(spec))
    assert {ax.key: ax.values for ax in parsed.axes}["model.weight_bits"] == (2, 3)


@pytest.mark.parametrize("argv, fragment", [
    (["--set", "model.nope=1,2"], "model.nope"),
    (["--set", "hw.clock_mhzz=400,800"], "hw.clock_mhzz"),
    (["--set", "model.weight_bits="], "empty"),
    (["--set", "model.weight_bits=8,,4"], "empty value"),
    (["--set", "model.weight_bits=8,four"], "expected integer"),
    (["--set", "model.sparsity=0,yes"], "expected number"),
    (["--set", "model.weight_bits=8,9"], "out of range"),
    (["--set", "model.weight_bits=8,8"], "listed twice"),
    (["--set", "run.x=1,2"], "run.x"),
    (["--set", "model.weight_bits=8,4", "--set", "model.weight_bits=2"], "given twice"),
    (["--set", "model.encoder.time_reduction_after=1,5"], "time_reduction_after"),
    (["--audio", "missing.wav"], "missing.wav"),
    (["--model", "no-such-model"], "no-such-model"),
    (["--test", "no-such-set"], "no-such-set"),
    (["--test", "test", "--utterances", "0"], "allowed: 1..250"),
    (["--test", "test", "--utterances", "251"], "allowed: 1..250"),
    (["--utterances", "3"], "only with --test"),
])
def test_bad_sweep_specs_fail_before_any_point_runs(cli, tmp_path, argv, fragment):
    db = tmp_path / "r.sqlite"
    line = _one_line_error(cli, "sweep", "--results", str(db), *argv)
    assert fragment in line, line
    assert not db.exists()   # nothing ran, nothing was stored


def test_bad_weights_and_test_sets_fail_up_front_as_run_and_eval_say(cli, tmp_path):
    """--weights and --test were only opened before the points ran: a NaN in the weights or
    a test set of the wrong width passed --dry-run, then failed every point (exit 1)."""
    from azsim import config as cfgmod
    from azsim.model.loading import model_weights, shipped_weights_dir
    from azsim.model.weights import FORMAT_VERSION
    w = dict(model_weights(cfgmod.load_model_config(cfgmod.DEFAULT_MODEL, [])))
    w["frontend.mean"] = w["frontend.mean"].copy()
    w["frontend.mean"][3] = np.nan
    nan = str(tmp_path / "nan.npz")
    np.savez(nan, format_version=np.int64(FORMAT_VERSION), **w)
    narrow = str(tmp_path / "narrow.npz")
    np.savez(narrow, features=np.zeros((30, 7), np.float16), offsets=np.array([0, 10, 30]),
             texts=np.array(["hello", "world"]))
    audio = sp.shipped_audio_paths()[0]
    db = tmp_path / "r.sqlite"
    bits = ["--set", "model.weight_bits=8,6", "--jobs", "1", "--results", str(db)]
    said = _one_line_error(cli, "run", "--audio", audio, "--weights", nan)
    assert "frontend.mean contains NaN" in said
    for extra in (["--dry-run"], []):
        assert _one_line_error(cli, "sweep", "--audio", audio, "--weights", nan,
                               *bits, *extra) == said
    said = _one_line_error(cli, "eval", "--test", narrow)
    assert "7 mel channels" in said
    for extra in (["--dry-run"], []):
        assert _one_line_error(cli, "sweep", "--test", narrow, *bits, *extra) == said
    assert not db.exists()       # nothing ran, nothing was stored
    # Checked per model shape: weights that fit the first point but not another are named.
    small = str(shipped_weights_dir() / "small.npz")
    line = _one_line_error(cli, "sweep", "--model", "small", "--weights", small, "--set",
                           "model.joint.hidden=256,128", "--dry-run")
    assert line.startswith("azsim: error: sweep model at model.joint.hidden=128: " + small)


def test_inputs_from_a_spec_file_are_named_as_the_spec_gives_them(cli, tmp_path):
    """An unreadable audio, weights or test-set path written in a spec file was reported as
    if given with --audio, --weights or --test, options the user never typed."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hi")
    cases = {"audio = ['missing.wav']": "audio = " + str(tmp_path / "missing.wav") + ": cannot read",
             "weights = 'junk.bin'": f"weights = {junk}: not a weights .npz",
             "test = 'nothere'": "test = " + str(tmp_path / "nothere") + ": not a shipped test set",
             "test = 'test'\naudio = ['junk.bin']": "test = test: give a test set or audio "
                                                     "files, not both"}
    for n, (text, fragment) in enumerate(cases.items()):
        spec = tmp_path / f"s{n}.toml"
        spec.write_text(text + "\n[sweep]\nmodel.weight_bits = [8, 6]\n")
        line = _one_line_error(cli, "sweep", "--spec", str(spec), "--dry-run")
        assert line == f"azsim: error: {spec}: {fragment}" or \
            line.startswith(f"azsim: error: {spec}: {fragment}"), line
        assert "--audio" not in line and "--weights" not in line and "--test" not in line
    # Given on the command line, the option is named as before.
    line = _one_line_error(cli, "sweep", "--weights", str(junk), "--dry-run")
    assert line.startswith(f"azsim: error: --weights {junk}: not a weights .npz")
    # a folder given as the spec was "no such file" (a CLI audit, 2026-12-06)
    line = _one_line_error(cli, "sweep", "--spec", str(tmp_path), "--dry-run")
    assert line == f"azsim: error: --spec {tmp_path}: is a folder; give a sweep .toml file"
    # a missing file and a broken one name the option too (a CLI audit, 2026-12-07)
    missing = tmp_path / "none.toml"
    line = _one_line_error(cli, "sweep", "--spec", str(missing), "--dry-run")
    assert line == f"azsim: error: --spec {missing}: no such file; give a sweep .toml file"
    broken = tmp_path / "broken.toml"
    broken.write_text("x = [\n")
    line = _one_line_error(cli, "sweep", "--spec", str(broken), "--dry-run")
    assert line.startswith(f"azsim: error: --spec {broken}: invalid TOML"), line


def test_a_set_that_replaces_a_spec_setting_says_so(cli, tmp_path):
    """The command line wins field by field; a --set that replaced a whole [sweep] axis
    silently turned a 3-point sweep into 1 point."""
    spec = tmp_path / "s.toml"
    spec.write_text("[set]\nhw.clock_mhz = 400\n[sweep]\nmodel.weight_bits = [8, 6, 4]\n")
    code, out, err = cli("sweep", "--spec", str(spec), "--set", "model.weight_bits=2",
                         "--set", "hw.clock_mhz=800,1000", "--dry-run")
    assert code == 0, err
    assert out.startswith("sweep: 2 points over hw.clock_mhz (2)")
    assert f"azsim: note: --set model.weight_bits=2 replaces {spec}'s [sweep] " \
           "model.weight_bits = [8, 6, 4]" in err
    assert f"azsim: note: --set hw.clock_mhz=800,1000 replaces {spec}'s [set] " \
           "hw.clock_mhz=400" in err
    code, out, err = cli("sweep", "--spec", str(spec), "--dry-run")
    assert code == 0 and "note" not in err and out.startswith("sweep: 3 points")
    # Replaced by one value, the axis is gone: the one point shows what it runs with.
    code, out, err = cli("sweep", "--spec", str(spec), "--set", "model.weight_bits=2",
                         "--dry-run")
    assert code == 0 and out.startswith("sweep: 1 point over no axes\n")
    assert out.splitlines()[1].endswith("  hw.clock_mhz=400 model.weight_bits=2"), out


def test_bad_spec_files(cli, tmp_path):
    cases = {
        "unknown key": ("colour = 1\n", "colour"),
        "axis not a list": ("[sweep]\nmodel.weight_bits = 8\n", "must be a list"),
        "empty axis": ("[sweep]\nmodel.weight_bits = []\n", "empty list"),
        "wrong type": ('[sweep]\nmodel.sparsity = [0.5, "half"]\n', "expected number"),
        "list in set": ("[set]\nmodel.weight_bits = [8, 4]\n", "[sweep]"),
        "invalid toml": ("[sweep\n", "invalid TOML"),
    }
    for name, (text, fragment) in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.toml"
        path.write_text(text)
        line = _one_line_error(cli, "sweep", "--spec", str(path), "--results",
                               str(tmp_path / "r.sqlite"))
        assert fragment in line, (name, line)
    assert not (tmp_path / "r.sqlite").exists()


def test_unwritable_results_path_fails_before_any_point_runs(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path, fragment in [(tmp_path / "no" / "dir" / "r.sqlite", "not writable"),
                           (blocker / "r.sqlite", "not writable"),
                           (tmp_path, "folder")]:
        line = _one_line_error(cli, "sweep", *AXES, "--results", str(path))
        assert fragment in line and "--results" in line, line
    line = _one_line_error(cli, "sweep", *AXES, "--results", str(blocker))
    assert "not an azsim results database" in line, line
    assert blocker.read_text() == "x"
    # before the points are validated (it came after: 4 s for 4,000 points; a CLI audit)
    line = _one_line_error(cli, "sweep", "--set", "model.weight_bits=99", "--results",
                           str(tmp_path / "no" / "r.sqlite"))
    assert "--results" in line and "not writable" in line, line


# ------------------------------------------------------------------------------------ store


def test_store_keeps_one_row_per_key(tmp_path, results_db):
    real = open_for_reading(results_db)[0]       # a config and record as azsim writes them
    db = str(tmp_path / "r.sqlite")
    with ResultStore(db) as store:
        store.put(key="k1", status="failed", config=real.config, overrides=["x=1"],
                  record_json=None, error="boom", run_s=0.1, version="t")
        store.put(key="k1", status="ok", config=real.config, overrides=["x=1"],
                  record_json=json.dumps(real.record), error=None, run_s=0.2, version="t")
        store.put(key="k2", status="failed", config=real.config, overrides=["x=2"],
                  record_json=None, error="boom", run_s=0.1, version="t")
        assert store.done_keys() == {"k1"}
    points = open_for_reading(db)
    assert [(p.key, p.status, p.record, p.error) for p in points] == [
        ("k1", "ok", real.record, None), ("k2", "failed", None, "boom")]
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# ------------------------------------------------------------------------------------- runs


def test_chunks_share_a_model_cover_every_point_once_and_come_longest_first():
    from azsim.sweep import runner
    clocks = ",".join(str(100 * k) for k in range(1, 13))
    spec = sp.build_spec(model=None, hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8,4", f"hw.clock_mhz={clocks}"])
    points = sp.expand(spec)
    # One processor left of the first model (after --resume, say), all 12 of the second:
    # 13 points on one worker are cut into chunks of ceil(13 / 4) = 4 of one model each.
    tasks = runner.make_tasks(points[11:], spec)
    chunks = runner.plan_chunks(tasks, jobs=1)
    assert [len(c) for c in chunks] == [4, 4, 4, 1]          # the short chunk comes last
    assert [c[0].key for c in chunks[:3]] == [points[12 + 4 * i].key for i in range(3)]
    assert chunks[3][0].key == points[11].key
    assert all(len({t.group for t in c}) == 1 for c in chunks)
    assert sorted(t.key for c in chunks for t in c) == sorted(t.key for t in tasks)
    assert [len(c) for c in runner.plan_chunks(tasks, jobs=2)] == [2] * 6 + [1]


def test_the_fork_server_starts_with_one_thread_per_worker():
    """numba reads NUMBA_NUM_THREADS once, when the fork server imports it for every worker;
    without it each worker's OpenMP pool had a second thread competing for the cores."""
    import multiprocessing as mp
    from multiprocessing import forkserver

    from azsim.sweep import pool
    if "forkserver" not in mp.get_all_start_methods() or not os.path.exists("/proc/self"):
        pytest.skip("needs a fork server and /proc")
    forkserver._forkserver._stop()       # started by an earlier test: start it afresh
    before = {k: os.environ.get(k) for k in pool.WORKER_ENV}
    with pool.LocalPool(1):
        pid = forkserver._forkserver._forkserver_pid
        # The server is started (fork + exec) but may not have finished its exec: its environ
        # reads empty until then.
        deadline = time.monotonic() + 30
        env = [b""]
        while env == [b""] and time.monotonic() < deadline:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
            time.sleep(0.01)
    for name, value in pool.WORKER_ENV.items():
        assert f"{name}={value}".encode() in env, name
    assert {k: os.environ.get(k) for k in pool.WORKER_ENV} == before   # the parent's is kept


def test_fork_server_warm_up_loads_code_without_starting_threads():
    """The fork server loads numba's registries and the kernels' cached code once for every
    worker, but never a parallel kernel's (or a caller's): GNU OpenMP aborts a process forked
    after its threads started. Run in a fresh interpreter, as the server is."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(sp.__file__)))
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    # compile (and so cache on disk) one fork-safe kernel first, whatever ran before
    subprocess.run([sys.executable, "-c", "from azsim.kernels.requant import saturate_i16\n"
                    "saturate_i16(70000)"], env=env, check=True, cwd=root)
    code = ("from azsim.sweep import warm\n"
            "from numba.np.ufunc import parallel\n"
            "names = {d.__name__ for d in warm.fork_safe_dispatchers()}\n"
            "print(warm.warm_numba(), parallel._is_initialized, sorted(names))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=root)
    loaded, started, names = out.stdout.split(" ", 2)
    assert started == "False"            # no OpenMP thread: forking stays safe
    assert int(loaded) > 0               # 0 if numba's cache layout or API moved
    assert "eie_schedule" in names and "lstm_cell" in names
    # parallel kernels and the kernels that call them load in the workers
    for name in ("_gemv_rows", "_gemm_rows", "gemv_i8", "gemm_i8", "lstm_sequence"):
        assert f"'{name}'" not in names, name


def _simulate_record(point_overrides):
    from azsim.api import simulate
    return simulate(overrides=list(point_overrides)).to_dict()


def test_jobs_1_and_2_store_identical_records_equal_to_azsim_run(cli, tmp_path):
    dbs = {}
    for jobs in (1, 2):
        dbs[jobs] = str(tmp_path / f"j{jobs}.sqlite")
        code, out, err = cli("sweep", *AXES, "--results", dbs[jobs], "--jobs", str(jobs))
        assert code in (0, None), err
        assert "8 points ok, 0 failed" in out
    rows1, rows2 = sorted(_rows(dbs[1])), sorted(_rows(dbs[2]))
    assert len(rows1) == 8 and rows1 == rows2
    assert all(status == "ok" and error is None for _, status, _, error in rows1)
    # A point's record is what `azsim run --json` writes for the same overrides (the worker's
    # model cache changes nothing).
    points = {p.key: p for p in open_for_reading(dbs[2])}
    for key in list(points)[:3]:
        p = points[key]
        assert p.record == _simulate_record(p.overrides), p.overrides


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(cli, tmp_path):
    from azsim.model.audio import read_wav, write_wav
    from azsim.plot import plots
    from azsim.model.audio import shipped_audio_paths
    audio = read_wav(shipped_audio_paths()[0])
    short = tmp_path / "short.wav"
    # 100 ms (8 frames): one encoder step needs 2 stacked inputs (time reduction x2), so
    # 6 frames (75 ms) at 3 stacked frames; at 8, 16 frames (175 ms): too short.
    write_wav(short, np.asarray(audio.samples[:1600]), audio.sample_rate_hz)
    db = str(tmp_path / "r.sqlite")
    argv = ["sweep", "--audio", str(short), "--set", "model.encoder.stack_frames=3,8",
            "--set", "model.weight_bits=8,4", "--results", db, "--jobs", "2"]
    code, out, err = cli(*argv)
    assert code == 1, err
    assert "2 points ok, 2 failed" in out
    rows = _rows(db)
    failed = [r for r in rows if r[1] == "failed"]
    assert len(rows) == 4 and len(failed) == 2
    assert all("too short" in r[3] and r[2] is None for r in failed)
    # A figure says what it leaves out: its title counts the failed points of its selection.
    fig = plots.make_figure("bits", open_for_reading(db))
    assert "2 failed points not drawn" in fig.get_suptitle()
    fig = plots.make_figure("energy-breakdown", open_for_reading(db),
                            where={"model.weight_bits": 8})
    assert "1 failed point not drawn" in fig.get_suptitle()
    # The report's --where selects failed points too, and checks its field against them
    # (it listed every failure of the store, and an all-failed selection took any field).
    code, out, err = cli("report", db, "--where", "model.encoder.stack_frames=3")
    assert code in (0, None) and "Failed points" not in out, out
    assert "4 points stored, 2 ok, 2 failed (0 in the selection)" in out   # not "4 ok"
    code, out, err = cli("report", db, "--where", "model.encoder.stack_frames=8")
    assert code == 2 and "no successful point matches" in err
    code, out, err = cli("report", db, "--where", "model.bogus=1")
    assert code == 2 and "model.bogus" in err
    # --resume runs only the failed points again (they fail again); still 4 rows.
    code, out, err = cli(*argv, "--resume")
    assert code == 1 and "2 already stored, 2 to run" in err
    assert len(_rows(db)) == 4


def test_azsim_warnings_of_the_points_are_recorded_and_reported_once(cli, tmp_path):
    """A warning of a run (here: aliases with a per-character bonus) is kept in each point's
    record and printed once by the sweep with its count, not as Python shows it per worker."""
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("@prefix tell\nmarc | mark\n")
    db = str(tmp_path / "w.sqlite")
    code, out, err = cli("sweep", "--set", "model.decode.beam=2", "--set",
                         f"model.decode.context_file={ctx}", "--set", "hw.clock_mhz=400,800",
                         "--results", db, "--jobs", "2")
    assert code in (0, None), err
    assert err.count("azsim: warning (2 points): --context") == 1
    assert "AzsimWarning" not in err
    for p in open_for_reading(db):
        assert len(p.record["warnings"]) == 1 and "1 alternative spelling" in \
            p.record["warnings"][0]


def test_concurrent_points_keep_their_own_warnings():
    """Points running at once in one process (Dask's threaded workers) each get their own
    azsim warnings, every time, and warnings outside a point are shown as before."""
    import threading
    import warnings

    from azsim.errors import AzsimWarning
    from azsim.sweep import worker
    inside = threading.Barrier(2)
    got = {}

    def point(name):
        with worker._own_warnings() as own:
            inside.wait()
            warnings.warn(f"from {name}", AzsimWarning)
            inside.wait()          # both warned while both are inside
            warnings.warn(f"from {name}", AzsimWarning)
            warnings.warn(f"again  from\n{name}", AzsimWarning)
        got[name] = own

    threads = [threading.Thread(target=point, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {"a": ["from a", "again from a"], "b": ["from b", "again from b"]}
    shown = []
    previous = worker._route.previous
    worker._route.previous = lambda message, *a, **k: shown.append(str(message))
    try:
        warnings.warn("outside", AzsimWarning)
    finally:
        worker._route.previous = previous
    assert shown == ["outside"]


def test_a_killed_worker_costs_at_most_the_point_it_was_running(tmp_path):
    from azsim.sweep import runner
    from azsim.sweep.pool import LocalPool
    spec = sp.build_spec(model=None, hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8,7,6,5", "hw.clock_mhz=400,800"])
    points = sp.expand(spec)
    db = str(tmp_path / "r.sqlite")
    killed = []
    with ResultStore(db) as store, LocalPool(2) as pool:
        def kill_one(point, res):
            if not killed:   # after the first result, SIGKILL a worker wherever it is
                proc = next(iter(pool.workers.values()))[0]
                os.kill(proc.pid, signal.SIGKILL)
                killed.append(proc.pid)
        summary = runner.run_sweep(points, spec, store, jobs=2, pool=pool, on_result=kill_one)
    rows = _rows(db)
    assert killed and len(rows) == 8 and summary.ok + summary.failed == 8
    failed = [r for r in rows if r[1] == "failed"]
    assert len(failed) <= 1 and summary.failed == len(failed)
    assert all("worker process died (signal 9)" in r[3] for r in failed)


def test_a_pool_forks_no_more_workers_than_it_has_chunks(tmp_path):
    """--jobs 24 for one point forked 24 workers (a CLI audit, 2026-12-06)."""
    from azsim.sweep import runner
    from azsim.sweep.pool import LocalPool
    spec = sp.build_spec(model=None, hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8"])
    points = sp.expand(spec)
    forked = []
    with ResultStore(str(tmp_path / "r.sqlite")) as store, LocalPool(6) as pool:
        spawn = pool.spawn
        pool.spawn = lambda: (forked.append(1), spawn())
        summary = runner.run_sweep(points, spec, store, jobs=6, pool=pool)
    assert summary.ok == 1 and len(forked) == 1


def _sweep_cmd(db, extra=()):
    # A slower model (128-wide) and 12 distinct models, so that the sweep runs for seconds.
    return [sys.executable, "-m", "azsim.cli", "sweep", "--model", "tiny", "--results", db,
            "--jobs", "1",
            "--set", "model.encoder.hidden=192", "--set", "model.prediction.hidden=192",
            "--set", "model.weight_bits=8,7,6,5,4,3", "--set", "model.sparsity=0,0.5",
            *extra]


def test_sigkill_halfway_then_resume_ends_with_every_point_exactly_once(tmp_path):
    db = str(tmp_path / "r.sqlite")
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    # cwd=tmp_path: "python -m" puts the working directory first on sys.path, and from the
    # repo root that would import the source tree (which lacks azsim.kernels), not the package.
    proc = subprocess.Popen(_sweep_cmd(db), env=env, start_new_session=True, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    stored = []
    while time.monotonic() < deadline and proc.poll() is None:
        if os.path.exists(db):
            try:
                with sqlite3.connect(db, timeout=5) as con:
                    stored = con.execute("SELECT key FROM points").fetchall()
            except sqlite3.OperationalError:   # schema not created yet
                stored = []
            if stored:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)        # parent and workers, mid-sweep
    proc.wait()
    with sqlite3.connect(db) as con:
        before = {k for (k,) in con.execute("SELECT key FROM points WHERE status = 'ok'")}
    assert 1 <= len(before) < 12, len(before)
    done = subprocess.run(_sweep_cmd(db, ["--resume"]), env=env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} already stored, {12 - len(before)} to run" in done.stderr
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT key, status FROM points").fetchall()
    expected = {p.key for p in sp.expand(sp.build_spec(
        model="tiny", hw=None, audio=None, weights=None, spec_file=None,
        sets=["model.encoder.hidden=192", "model.prediction.hidden=192",
              "model.weight_bits=8,7,6,5,4,3", "model.sparsity=0,0.5"]))}
    assert len(rows) == 12 and {k for k, _ in rows} == expected   # none lost, none twice
    assert all(s == "ok" for _, s in rows)
    assert before <= {k for k, _ in rows}


# ------------------------------------------------------------------------ export, report, plot


@pytest.fixture(scope="module")
def results_db(tmp_path_factory):
    """A 3 x 3 x 2 sweep run through the library (not the CLI), two workers."""
    from azsim.sweep import runner
    db = str(tmp_path_factory.mktemp("sweep") / "results.sqlite")
    spec = sp.build_spec(model=None, hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8,4,2", "model.sparsity=0,0.5,0.9",
                               "hw.clock_mhz=400,800"])
    points = sp.expand(spec)
    with ResultStore(db) as store:
        summary = runner.run_sweep(points, spec, store, jobs=2)
    assert (summary.ok, summary.failed) == (18, 0)
    return db


def test_export_csv_and_json_have_units_in_column_names(cli, results_db, tmp_path):
    import csv
    out = tmp_path / "r.csv"
    code, _, err = cli("results", "export", results_db, "--csv", "-o", str(out))
    assert code in (0, None), err
    with open(out) as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 18
    for col in ("latency_rtf", "latency_s", "energy_total_uj", "energy_dram_uj",
                "dram_read_bytes", "sram_read_bytes", "frame_compute_p99_ms",
                "model.weight_bits", "model.sparsity", "hw.clock_mhz", "wer"):
        assert col in table[0], col
    assert {r["model.weight_bits"] for r in table} == {"8", "4", "2"}
    code, out_json, _ = cli("results", "export", results_db, "--json")
    rows = json.loads(out_json)
    assert len(rows) == 18 and all(r["status"] == "ok" for r in rows)
    point = next(p for p in open_for_reading(results_db) if p.key == rows[0]["key"])
    assert rows[0]["energy_total_uj"] == point.record["energy"]["total_uj"]
    assert rows[0]["latency_cycles"] == point.record["latency"]["cycles"]
    # an extension that is no table format wrote CSV under it (a CLI audit, 2026-12-06)
    code, _, err = cli("results", "export", results_db, "-o", str(tmp_path / "r.xlsx"))
    assert code == 2 and "unknown table format '.xlsx'" in err and err.count("\n") == 1
    assert not (tmp_path / "r.xlsx").exists()
    code, _, err = cli("results", "export", results_db, "--csv", "-o", str(tmp_path / "r.txt"))
    assert code in (0, None), err


def test_export_flattens_the_on_device_pipeline_when_a_record_has_it():
    """Branching, lattice and end-pointer numbers become columns only for runs that have them."""
    from azsim.sweep.export import columns, flatten_record
    plain = {"latency": {"cycles": 10}, "energy": {"total_uj": 1.0, "breakdown_uj": {"mac": 1.0}}}
    branched = {**plain,
                "lattice": {"uplink_bytes": [40, 60], "uplink_bytes_total": 100,
                            "audio_bytes_total": 64000},
                "endpoint": {"resets": 1, "latency_saved_ms_mean": 195.0,
                             "latency_with_speculation_ms_mean": None, "latency_forced": 2},
                "branch": {"cheap_share": 0.38, "encoder_macs_issued_saved_share": 0.306,
                           "wer_change": 0.0062, "utterances": [{"file": "a.wav"}]}}
    a, b = flatten_record(plain), flatten_record(branched)
    assert not any(k.startswith(("branch_", "lattice_", "endpoint_")) for k in a)
    assert b["branch_cheap_step_share"] == 0.38 and b["branch_wer_change"] == 0.0062
    assert b["branch_encoder_macs_issued_saved_share"] == 0.306
    assert b["lattice_uplink_bytes"] == 100 and b["lattice_audio_bytes"] == 64000
    assert b["endpoint_resets"] == 1 and b["endpoint_latency_saved_ms_mean"] == 195.0
    assert b["endpoint_latency_forced"] == 2
    assert "endpoint_latency_with_speculation_ms_mean" not in b     # None: no column
    cols = columns([{"key": "k", **a}, {"key": "j", **b}])
    assert cols.index("energy_total_uj") < cols.index("lattice_uplink_bytes") \
        < cols.index("branch_cheap_step_share")


def test_report_has_points_pareto_and_dense_vs_sparse(cli, results_db, tmp_path):
    md = tmp_path / "report.md"
    code, out, err = cli("report", results_db, "--markdown", str(md))
    assert code in (0, None), err
    assert "18 ok" in out and "Pareto front, energy vs latency" in out
    assert "Dense vs sparse at each bit-width" in out
    text = md.read_text()
    assert text.startswith("# azsim sweep report") and "| weight_bits |" in text
    # The front is exactly the non-dominated points.
    from azsim.sweep.analysis import ok_rows, pareto_front
    rows = ok_rows(open_for_reading(results_db))
    front = pareto_front(rows, "latency_s", "energy_total_uj")
    for r in rows:
        dominated = any(o["latency_s"] <= r["latency_s"] and
                        o["energy_total_uj"] <= r["energy_total_uj"] and
                        (o["latency_s"], o["energy_total_uj"]) !=
                        (r["latency_s"], r["energy_total_uj"]) for o in rows)
        assert (r in front) == (not dominated)
    code, out, err = cli("report", results_db, "--where", "hw.clock_mhz=800")
    assert "showing 9" in out
    assert "nope" in _one_line_error(cli, "report", results_db, "--where", "model.nope=1")
    assert "no such results" in _one_line_error(cli, "report", str(tmp_path / "none.sqlite"))


def test_points_of_two_code_versions_are_pointed_out(cli, results_db, tmp_path):
    """A store keeps older code's points beside a resumed sweep's (which reruns only its own):
    report and plot compared them as if measured alike and the export dropped the version
    (a sweep audit, 2026-12-06). The version is a column, selectable with --where, and report
    and plot warn when a selection holds two."""
    import csv
    import shutil

    from azsim.plot import plots
    code, out, _ = cli("report", results_db)
    assert code in (0, None) and "azsim versions" not in out
    db = str(tmp_path / "mixed.sqlite")
    shutil.copy(results_db, db)
    with sqlite3.connect(db) as con:
        old = [k for (k,) in con.execute("SELECT key FROM points ORDER BY rowid LIMIT 3")]
        for key in old:
            (text,) = con.execute("SELECT record FROM points WHERE key = ?", (key,)).fetchone()
            record = json.loads(text)
            record["azsim_version"] = "0.0.1+0ld"
            con.execute("UPDATE points SET record = ? WHERE key = ?", (json.dumps(record), key))
    code, out, _ = cli("report", db)
    assert code in (0, None)
    assert "warning: points of 2 azsim versions" in out and "0.0.1+0ld: 3" in out, out
    code, out, _ = cli("report", db, "--where", "azsim_version=0.0.1+0ld")
    assert "showing 3" in out and "azsim versions" not in out, out
    code, out, _ = cli("results", "export", db)
    rows = list(csv.DictReader(out.splitlines()))
    assert list(rows[0])[:4] == ["key", "status", "run_s", "azsim_version"]
    assert sorted(r["key"] for r in rows if r["azsim_version"] == "0.0.1+0ld") == sorted(old)
    fig = plots.make_figure("pareto", open_for_reading(db))
    assert "points of 2 azsim versions" in fig.get_suptitle().replace("\n", " ")


def test_a_full_output_device_is_one_line_and_the_report_still_prints(cli, results_db):
    """A write that fails only when written (a full disk: /dev/full) was a traceback."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    for argv in (["results", "export", results_db, "-o", "/dev/full"],
                 ["results", "export", results_db, "--json", "-o", "/dev/full"]):
        assert "-o /dev/full: cannot write" in _one_line_error(cli, *argv)
    code, out, err = cli("report", results_db, "--markdown", "/dev/full")
    assert code == 2 and err.strip().splitlines() == [
        "azsim: error: --markdown /dev/full: cannot write (No space left on device)"], err
    assert "Pareto front, energy vs latency" in out     # the terminal report is not lost


@pytest.mark.parametrize("column, path, value", [
    ("record", ("energy", "total_uj"), float("nan")),
    ("record", ("latency", "seconds"), "0.5"),
    ("record", ("energy", "breakdown_uj", "mac"), float("inf")),
    ("config", ("model", "weight_bits"), "8"),
])
def test_a_damaged_number_in_a_stored_point_is_named(cli, results_db, tmp_path, column, path,
                                                     value):
    """azsim never stores NaN, infinity or a string where a number belongs; a database edited
    or damaged outside azsim crashed report and plot (int(NaN), str < float)."""
    import shutil
    db = str(tmp_path / "damaged.sqlite")
    shutil.copy(results_db, db)
    with sqlite3.connect(db) as con:
        key, text = con.execute(f"SELECT key, {column} FROM points ORDER BY rowid "
                                "LIMIT 1 OFFSET 4").fetchone()
        obj = json.loads(text)
        node = obj
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        con.execute(f"UPDATE points SET {column} = ? WHERE key = ?", (json.dumps(obj), key))
    field = f"{column} {'.'.join(path)}"
    for argv in (["report", db], ["plot", db, "--kind", "pareto", "-o", str(tmp_path / "p.png")]):
        line = _one_line_error(cli, *argv)
        assert db in line and key in line and field in line and repr(value) in line, line
    # export goes through the same checks: no 'nan' or text where a number belongs
    for argv in (["results", "export", db, "-o", str(tmp_path / "r.csv")],
                 ["results", "export", "--json", db]):
        line = _one_line_error(cli, *argv)
        assert db in line and key in line and field in line and repr(value) in line, line
    assert not os.path.exists(tmp_path / "r.csv")


def test_the_failed_points_table_tells_the_points_apart(cli, tmp_path):
    """It showed each point's last four overrides: with five fields set, two points of other
    stream tiles read the same (a sweep audit, 2026-12-07). It shows what differs."""
    db = str(tmp_path / "f.sqlite")
    code, out, err = cli("sweep", "--model", "tiny", "-j", "1", "--set", "hw.sram_bytes=512",
                         "--set", "hw.stream_tile_bytes=64,128", "--set", "model.weight_bits=8,4",
                         "--set", "hw.clock_mhz=400,800", "--set", "hw.leakage_mw=10,20",
                         "--results", db)
    assert code == 1, (out, err)   # every point fails: 512 bytes hold no model
    code, out, err = cli("report", db)
    assert code in (0, None), err
    rows = out[out.index("Failed points (16)"):].splitlines()[2:18]
    shown = [" ".join(r.split("hw.sram_bytes = 512 cannot")[0].split()[1:]) for r in rows]
    assert len(set(shown)) == 16 and all("hw.stream_tile_bytes=" in r for r in shown), shown
    assert not any("hw.sram_bytes=512" in r for r in shown)   # the same at every point


@pytest.mark.parametrize("value", ["x", 3.0, 10 ** 6, -2])
def test_a_damaged_result_frame_is_named_not_a_traceback(cli, results_db, tmp_path, value):
    """The timeline plot indexes the frames with an utterance's result_frame: a string there
    was a TypeError traceback (a sweep audit, 2026-12-07)."""
    def edit(record):
        utt = record["utterances"][0]
        assert -1 <= utt["result_frame"] < len(utt["frame_arrival_ms"])
        utt["result_frame"] = value
    db, key = _damaged_copy(results_db, tmp_path, edit)
    for argv in (["plot", db, "--kind", "timeline", "-o", str(tmp_path / "t.png")],
                 ["report", db]):
        line = _one_line_error(cli, *argv)
        assert key in line and "utterances[0].result_frame" in line and "-1 (the last" in line


@pytest.mark.parametrize("kind", ["dense-vs-sparse", "bits", "energy-breakdown",
                                  "cycle-breakdown", "pareto", "timeline"])
def test_plots_write_images(cli, results_db, tmp_path, kind):
    out = tmp_path / f"{kind}.png"
    code, _, err = cli("plot", results_db, "--kind", kind, "-o", str(out))
    assert code in (0, None), err
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_plot_formats_and_errors(cli, results_db, tmp_path):
    for ext, magic in ((".svg", b"<?xml"), (".pdf", b"%PDF")):
        out = tmp_path / f"f{ext}"
        code, _, err = cli("plot", results_db, "--kind", "bits", "-o", str(out))
        assert code in (0, None) and out.read_bytes().startswith(magic), err
    assert "'.gif'" in _one_line_error(cli, "plot", results_db, "--kind", "bits", "-o",
                                       str(tmp_path / "f.gif"))
    assert "--point" in _one_line_error(cli, "plot", results_db, "--kind", "timeline",
                                        "--point", "zzzz", "-o", str(tmp_path / "t.png"))
    assert "model.sparsity" in _one_line_error(
        cli, "plot", results_db, "--kind", "dense-vs-sparse", "--where", "model.sparsity=0.5",
        "-o", str(tmp_path / "d.png"))


def test_a_test_set_sweep_records_wer_on_held_out_speech(cli, tmp_path):
    """--test runs the shipped test set instead of the four clips: the records are those of
    simulate(testset=...), the first N utterances each with its reference, and the set and its
    size are part of every point's key."""
    from azsim.api import simulate
    db = str(tmp_path / "t.sqlite")
    code, out, err = cli("sweep", "--test", "test", "--utterances", "3", "--set",
                         "model.weight_bits=8,4", "--results", db, "--jobs", "1")
    assert code in (0, None), err
    points = list(open_for_reading(db))
    assert len(points) == 2 and all(p.status == "ok" for p in points)
    for p in points:
        assert p.record["audio"]["utterances"] == 3 and p.record["audio"]["testset"] == "test"
        assert all(u["reference"] for u in p.record["utterances"])
        assert p.config["test"]["utterances"] == 3 and "audio" not in p.config
        assert p.record == simulate(overrides=list(p.overrides), testset="test",
                                    utterances=3).to_dict()
    from azsim.sweep.export import flat_rows
    assert [(r["testset"], r["utterances"]) for r in flat_rows(points)] == [("test", 3)] * 2
    spec3 = sp.build_spec(model=None, hw=None, audio=None, weights=None,
                          sets=["model.weight_bits=8"], spec_file=None, testset="test",
                          utterances=3)
    spec4 = sp.build_spec(model=None, hw=None, audio=None, weights=None,
                          sets=["model.weight_bits=8"], spec_file=None, testset="test",
                          utterances=4)
    audio = sp.build_spec(model=None, hw=None, audio=None, weights=None,
                          sets=["model.weight_bits=8"], spec_file=None)
    keys = {sp.expand(s)[0].key for s in (spec3, spec4, audio)}
    assert len(keys) == 3
    assert sp.expand(spec3)[0].key in {p.key for p in points}


def test_spec_file_test_set_keys(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('test = "test"\nutterances = 5\n[sweep]\nmodel.weight_bits = [8, 4]\n')
    parsed = sp.build_spec(model=None, hw=None, audio=None, weights=None, sets=[],
                           spec_file=str(spec))
    assert parsed.testset == "test" and parsed.utterances == 5
    spec.write_text('utterances = "five"\n')
    with pytest.raises(AzsimError, match="must be an integer"):
        sp.build_spec(model=None, hw=None, audio=None, weights=None, sets=[],
                      spec_file=str(spec))


def test_point_keys_follow_the_content_of_named_weight_files(tmp_path):
    """A weights name stands for a file: when the file changes (a retrained model, a new
    release), the keys change, so --resume cannot mix two models' results under one key."""
    from azsim.model.loading import shipped_weights_dir
    w = tmp_path / "m.npz"
    w.write_bytes((shipped_weights_dir() / "small.npz").read_bytes())

    def keys(*sets):
        spec = sp.build_spec(model="small", hw=None, audio=None, weights=None, spec_file=None,
                             sets=list(sets))
        return [p.key for p in sp.expand(spec)]

    before = keys(f"model.weights={json.dumps(str(w))}", "hw.clock_mhz=400,800")
    assert before == keys(f"model.weights={json.dumps(str(w))}", "hw.clock_mhz=400,800")
    branch = keys(f"model.weights={json.dumps(str(w))}", "model.branch.enabled=true",
                  f"model.branch.weights={json.dumps(str(w))}")
    w.write_bytes((shipped_weights_dir() / "small-qat4.npz").read_bytes())
    after = keys(f"model.weights={json.dumps(str(w))}", "hw.clock_mhz=400,800")
    assert len(set(before) | set(after)) == 4
    assert branch != keys(f"model.weights={json.dumps(str(w))}", "model.branch.enabled=true",
                          f"model.branch.weights={json.dumps(str(w))}")
    # shipped names are hashed too; untrained presets keep their keys (no weight files)
    tiny = sp.expand(sp.build_spec(model="tiny", hw=None, audio=None, weights=None,
                                   spec_file=None, sets=["model.weight_bits=8"]))[0]
    assert "weight_files" not in tiny.config
    small = sp.expand(sp.build_spec(model="small", hw=None, audio=None, weights=None,
                                    spec_file=None, sets=["model.weight_bits=8"]))[0]
    assert small.config["weight_files"]["weights"]["name"] == "small.npz"


def test_point_keys_follow_the_content_of_the_context_file(tmp_path):
    """Editing the context file between a sweep and its --resume kept the old points under
    the same key: the store reported 2 phrases where the file had 6 (a sweep audit)."""
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("set a timer\nremind me\n")

    def keys():
        spec = sp.build_spec(model="tiny", hw=None, audio=None, weights=None, spec_file=None,
                             sets=["model.decode.beam=4",
                                   f"model.decode.context_file={json.dumps(str(ctx))}",
                                   "model.weight_bits=8,4"])
        return [p.key for p in sp.expand(spec)]
    before = keys()
    assert keys() == before
    ctx.write_text("set a timer\nremind me\ncall mom\n")
    assert not set(keys()) & set(before)
    # without a context the keys are what they were before context files were hashed
    plain = sp.expand(sp.build_spec(model="tiny", hw=None, audio=None, weights=None,
                                    spec_file=None, sets=["model.weight_bits=8"]))[0]
    assert "context_file" not in plain.config


def test_dense_sparse_delta_is_a_finite_percentage_or_a_dash():
    """A dense figure so small that (sparse - dense) / dense overflows printed "inf %"."""
    from azsim.report.sweep_report import _delta
    assert _delta(200.0, 150.0) == "-25.0 %"
    assert _delta(5e-324, 1.0) == "-"          # the ratio overflows: no finite percentage
    assert _delta(0.0, 1.0) == "-" and _delta(None, 1.0) == "-" and _delta(1.0, None) == "-"
    assert _delta(1e-300, 1e-300) == "+0.0 %"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=12))
def test_pareto_front_is_exactly_the_non_dominated_rows_ties_included(points):
    """Two points equal in both measures dominate neither: until 2026-12-06 only the first of
    them was marked (two DRAM bandwidths that did not change a point's latency or energy)."""
    from azsim.sweep.analysis import pareto_front
    rows = [{"x": x, "y": y, "i": i} for i, (x, y) in enumerate(points)]
    front = {r["i"] for r in pareto_front(rows, "x", "y")}
    for r in rows:
        dominated = any(o["x"] <= r["x"] and o["y"] <= r["y"]
                        and (o["x"], o["y"]) != (r["x"], r["y"]) for o in rows)
        assert (r["i"] in front) == (not dominated)


def test_points_naming_one_file_with_other_contents_are_kept_apart(cli, tmp_path):
    """An energy table edited between two sweeps under one path: the report paired the new
    sparse point with the old dense one, "+11.2 % from sparsity", under a note that they
    differed only in model.sparsity (a sweep audit). The files' contents are a field now."""
    import azsim
    from pathlib import Path
    shipped = Path(azsim.__file__).parent / "config" / "presets" / "energy" / "horowitz-45nm.toml"
    table = tmp_path / "et.toml"
    table.write_text(shipped.read_text())
    db = str(tmp_path / "e.sqlite")

    def sweep(sparsities):
        code, _, err = cli("sweep", "--model", "tiny", "--set",
                           f"hw.energy_table={json.dumps(str(table))}", "--set",
                           f"model.sparsity={sparsities}", "--results", db, "-j", "1")
        assert code in (0, None), err
    sweep("0,0.5")
    text = table.read_text()
    assert "energy_pj = 0.2" in text
    table.write_text(text.replace("energy_pj = 0.2", "energy_pj = 2.0", 1))
    sweep("0.5")
    from azsim.sweep.analysis import dense_vs_sparse, ok_rows, swept_fields
    rows = ok_rows(open_for_reading(db))
    assert len(rows) == 3 and "files" in swept_fields(rows)
    pairs = dense_vs_sparse(rows)
    assert len(pairs) == 1 and pairs[0].dense["files"] == pairs[0].sparse["files"]


def test_points_on_different_speech_are_kept_apart_in_reports_and_plots(cli, tmp_path):
    """Two sweeps with --utterances 2 and 4 in one database: the report paired the
    2-utterance sparse point with the 4-utterance dense one (-51 % latency 'from sparsity'),
    and its Pareto front compared totals over different audio."""
    db = str(tmp_path / "d.sqlite")
    for n in ("2", "4"):
        code, _, err = cli("sweep", "--model", "tiny", "--test", "test", "--utterances", n,
                           "--set", "model.sparsity=0,0.5", "--results", db, "-j", "1")
        assert code in (0, None), err
    from azsim.sweep.analysis import by_input, dense_vs_sparse, ok_rows, swept_fields
    rows = ok_rows(open_for_reading(db))
    assert "input" in swept_fields(rows) and len(by_input(rows)) == 2
    for pair in dense_vs_sparse(rows):
        assert pair.dense["input"] == pair.sparse["input"]
        assert pair.dense["utterances"] == pair.sparse["utterances"]
    code, out, _ = cli("report", db)
    assert "2 inputs" in out and out.count("Pareto front, energy vs latency (1 of 2 points") == 2
    code, out, _ = cli("plot", db, "--kind", "pareto", "-o", str(tmp_path / "p.png"))
    assert code in (0, None)


def test_a_pareto_plot_takes_more_sparsities_than_marker_shapes(cli, tmp_path):
    """Eleven sparsities were a KeyError: ten marker shapes, one per sparsity."""
    db = str(tmp_path / "g.sqlite")
    values = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.85,0.9"
    code, _, err = cli("sweep", "--model", "tiny", "--set", f"model.sparsity={values}",
                       "--results", db, "-j", "1")
    assert code in (0, None), err
    code, out, err = cli("plot", db, "--kind", "pareto", "-o", str(tmp_path / "g.png"))
    assert code in (0, None) and (tmp_path / "g.png").stat().st_size > 0, err


def test_a_sweep_with_weights_names_them_in_its_config(cli, tmp_path):
    """The points' config kept the preset's model.weights ("small" for --weights
    small-qat4.npz): the CSV, the report and --where named the wrong model."""
    from azsim.model.loading import resolve_weights_path
    qat4 = str(resolve_weights_path(None, "small-qat4"))
    db = str(tmp_path / "w.sqlite")
    code, _, err = cli("sweep", "--model", "small", "--weights", qat4, "--set",
                       "model.weight_bits=4", "--results", db, "-j", "1")
    assert code in (0, None), err
    from azsim.sweep.analysis import ok_rows
    (row,) = ok_rows(open_for_reading(db))
    assert row["model.weights"] == qat4 == row["_record"]["model"]["weights"]


def test_resume_runs_again_the_points_stored_by_other_azsim_code(cli, tmp_path):
    """The release number never changed while the cost model did: --resume after an update
    kept the old code's numbers under the same keys, beside the new code's."""
    import sqlite3

    from azsim._version import code_version
    db = str(tmp_path / "v.sqlite")
    argv = ("sweep", "--model", "tiny", "--set", "model.weight_bits=8,4", "--results", db,
            "-j", "1", "--resume")
    code, _, err = cli(*argv)
    assert code in (0, None), err
    with sqlite3.connect(db) as con:
        assert {v for (v,) in con.execute("SELECT azsim_version FROM points")} == \
            {code_version()}
        con.execute("UPDATE points SET azsim_version = '0.1.0+000000000000' WHERE rowid = 1")
    code, _, err = cli(*argv)
    assert code in (0, None) and "1 already stored, 1 to run" in err
    assert "running again 1 point stored by other azsim code (0.1.0+000000000000" in err
    with sqlite3.connect(db) as con:
        assert {v for (v,) in con.execute("SELECT azsim_version FROM points")} == \
            {code_version()}


def test_a_relative_path_on_the_command_line_is_made_absolute(cli, tmp_path, monkeypatch):
    """A command-line --set model.weights=w.npz stayed relative, so a Dask worker in another
    folder loaded its own w.npz while the point's key hashed this one (a sweep audit,
    2026-12-07); a spec file's paths were already made absolute against its folder."""
    import shutil

    from azsim.model.loading import shipped_weights_dir
    from azsim.sweep.spec import build_spec, expand
    shutil.copy(shipped_weights_dir() / "small.npz", tmp_path / "w.npz")
    monkeypatch.chdir(tmp_path)
    spec = build_spec(model=None, hw=None, audio=None, weights=None, spec_file=None,
                      sets=["model.weights=w.npz,small"], zips=["hw.energy_table=horowitz-45nm"])
    points = expand(spec)
    assert [p.config["model"]["weights"] for p in points] == [str(tmp_path / "w.npz"), "small"]
    assert all(p.config["hw"]["energy_table"] == "horowitz-45nm" for p in points)   # a name
    code, out, err = cli("sweep", "--set", "model.weights=w.npz", "--dry-run")
    assert code in (0, None) and str(tmp_path / "w.npz") in out, err


def test_a_record_made_by_other_code_than_the_sweeps_is_not_stored_as_this_codes(
        cli, tmp_path, monkeypatch):
    """A Dask worker running other azsim code made records that were filed under the sweep's
    version, so --resume kept them while export read the record's (a sweep audit,
    2026-12-07): such a point fails, under the version that made it."""
    import sqlite3

    from azsim._version import code_version
    from azsim.sweep import runner
    monkeypatch.setattr(runner, "code_version", lambda: "0.1.0+feedfacefeed")
    db = str(tmp_path / "w.sqlite")
    code, _, err = cli("sweep", "--model", "tiny", "--set", "model.weight_bits=8,4",
                       "--results", db, "-j", "1")
    assert code == 1, err
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT status, azsim_version, error, record FROM points").fetchall()
    assert len(rows) == 2
    for status, version, error, record in rows:
        assert status == "failed" and version == code_version() and record is None
        assert error.startswith(f"made by other azsim code ({code_version()}) than this "
                                "sweep's (0.1.0+feedfacefeed)"), error


def test_the_code_fingerprint_covers_the_shipped_calibration_and_audio(tmp_path):
    """A swapped calibration.npz (it sets every --test point's activation ranges) left
    --resume with the old points under their keys (a sweep audit): the fingerprint that
    marks stored points covers the shipped audio and test data too."""
    import shutil
    from pathlib import Path

    import azsim
    from azsim import kernels
    from azsim._version import fingerprint
    root = tmp_path / "azsim"
    shutil.copytree(Path(azsim.__file__).parent, root,
                    ignore=shutil.ignore_patterns("models", "__pycache__"))
    roots = {"azsim": root, "azsim.kernels": Path(kernels.__file__).parent}
    before = fingerprint(roots)
    calibration = root / "data" / "testset" / "calibration.npz"
    calibration.write_bytes(calibration.read_bytes() + b"\0")
    middle = fingerprint(roots)
    assert middle != before
    (root / "data" / "audio" / "transcripts.tsv").write_text("x.wav\tx\n")
    assert fingerprint(roots) not in (before, middle)


def test_a_dry_run_with_resume_shows_what_would_run(cli, tmp_path):
    """--dry-run listed every point even where --resume would skip most of them, and hid the
    fixed settings each point runs with."""
    db = str(tmp_path / "r.sqlite")
    code, _, err = cli("sweep", "--model", "tiny", "--set", "model.weight_bits=8,4",
                       "--set", "hw.zero_handling=gate", "--results", db, "-j", "1")
    assert code in (0, None), err
    code, out, err = cli("sweep", "--model", "tiny", "--set", "model.weight_bits=8,4,2",
                         "--set", "hw.zero_handling=gate", "--results", db, "--resume",
                         "--dry-run")
    assert code in (0, None), err
    assert "each with hw.zero_handling=gate" in out and out.count("(stored: skipped)") == 2
    assert "1 point to run, 2 stored" in out


def test_zipped_fields_step_together_instead_of_every_combination(cli, tmp_path):
    """Only cartesian products could be swept: a clock with the leakage it comes with, or an
    end-pointer's final and speculative silences, which are valid only in pairs."""
    spec = sp.build_spec(model="tiny", hw=None, audio=None, weights=None, spec_file=None,
                         sets=["model.weight_bits=8,4"],
                         zips=["hw.clock_mhz=400,800,1600", "hw.leakage_mw=6,10,18"])
    points = sp.expand(spec)
    assert [(p.values["model.weight_bits"], p.values["hw.clock_mhz"], p.values["hw.leakage_mw"])
            for p in points] == [(8, 400, 6), (8, 800, 10), (8, 1600, 18),
                                 (4, 400, 6), (4, 800, 10), (4, 1600, 18)]
    assert all(p.config["hw"]["leakage_mw"] == p.values["hw.leakage_mw"] for p in points)
    # valid only together: the full product holds speculative 400 > final 300
    ends = sp.expand(sp.build_spec(
        model="tiny", hw=None, audio=None, weights=None, spec_file=None, sets=[],
        zips=["model.decode.endpoint_final_ms=300,600",
              "model.decode.endpoint_speculative_ms=100,400"]))
    assert len(ends) == 2
    with pytest.raises(AzsimError, match="hw.clock_mhz has 2, hw.leakage_mw has 3"):
        sp.build_spec(model="tiny", hw=None, audio=None, weights=None, spec_file=None,
                      sets=[], zips=["hw.clock_mhz=400,800", "hw.leakage_mw=6,10,18"])
    toml = tmp_path / "z.toml"
    toml.write_text('model = "tiny"\n[sweep]\nmodel.weight_bits = [8, 4]\n'
                    '[zip]\nhw.clock_mhz = [400, 800]\nhw.leakage_mw = [6.0, 10.0]\n')
    from_file = sp.expand(sp.build_spec(model=None, hw=None, audio=None, weights=None,
                                        spec_file=str(toml), sets=[]))
    assert [p.key for p in from_file] == [p.key for p in points if p.values["hw.clock_mhz"] < 1600]
    code, out, err = cli("sweep", "--model", "tiny", "--zip", "hw.clock_mhz=400,800", "--zip",
                         "hw.leakage_mw=6,10", "--results", str(tmp_path / "z.sqlite"),
                         "--dry-run")
    assert code in (0, None) and "hw.clock_mhz + hw.leakage_mw (2, zipped)" in out, err


# ---------------------------------------------------- a store that several sweeps filled


@pytest.fixture(scope="module")
def mixed_db(tmp_path_factory):
    """A store filled as a user fills one over time: tiny at 8 and 4 bits on one WAV file, the
    same on another, small at 8 bits on a third, and tiny at 2 bits on the shipped audio (the
    only point with references, so the only one with a WER)."""
    from azsim.sweep import runner
    clips = sp.shipped_audio_paths()
    db = str(tmp_path_factory.mktemp("mixed") / "mixed.sqlite")
    for model, audio, bits in (("tiny", [clips[0]], "8,4"), ("tiny", [clips[1]], "8,4"),
                               ("small", [clips[2]], "8"), ("tiny", None, "2")):
        spec = sp.build_spec(model=model, hw=None, audio=audio, weights=None, spec_file=None,
                             sets=[f"model.weight_bits={bits}"])
        with ResultStore(db) as store:
            summary = runner.run_sweep(sp.expand(spec), spec, store, jobs=1)
        assert summary.failed == 0
    return db


def _legend(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_a_timeline_of_points_on_different_speech_names_their_input(cli, mixed_db, tmp_path):
    """The legend named each swept field by what follows its first dot, and `input` has
    none: an IndexError for any store holding sweeps on different speech, --point or not.
    Utterance 0 of one point's input is not that of another's: the title named one file."""
    from azsim.plot import plots
    code, _, err = cli("plot", mixed_db, "--kind", "timeline", "--where", "model.name=tiny",
                       "-o", str(tmp_path / "t.png"))
    assert code in (0, None), err
    rows = [p for p in open_for_reading(mixed_db) if p.config["model"]["name"] == "tiny"
            and p.config["model"]["weight_bits"] == 8]
    fig = plots.make_figure("timeline", open_for_reading(mixed_db),
                            point_keys=[p.key[:16] for p in rows])
    labels = _legend(fig)
    files = [p.config["audio"][0]["name"] for p in rows]
    for f in files:
        assert any(lab.startswith(f"input WAV file {f}") and lab.endswith(f"({f})")
                   for lab in labels), labels
        assert f"end of {f}" in labels
    assert "utterance 0 of each point's input" in fig._suptitle.get_text()


def test_figures_of_two_models_on_different_speech_draw_a_slice_that_has_points(cli, mixed_db,
                                                                                 tmp_path):
    """energy-breakdown was an IndexError (bits and dense-vs-sparse said the store had no
    bit-widths): each other field took its first value on its own, the model small and the
    first input, which is tiny's, and no point is both."""
    from azsim.sweep.analysis import BITS, SPARSITY, fix_other_fields, ok_rows, where
    for kind in ("energy-breakdown", "pareto"):
        code, _, err = cli("plot", mixed_db, "--kind", kind, "-o", str(tmp_path / "e.png"))
        assert code in (0, None), err
    code, _, err = cli("plot", mixed_db, "--kind", "bits", "--where", "model.name=tiny",
                       "-o", str(tmp_path / "b.png"))
    assert code in (0, None), err
    rows = ok_rows(open_for_reading(mixed_db))
    part, fixed = fix_other_fields(rows, (BITS, SPARSITY))
    assert fixed == {"model.name": "small"} and [r[BITS] for r in part] == [8]
    tiny = where(rows, {"model.name": "tiny"})
    part, fixed = fix_other_fields(tiny, (BITS, SPARSITY))
    assert list(fixed) == ["input"] and sorted(r[BITS] for r in part) == [4, 8]
    assert {r["input"] for r in part} == {fixed["input"]}


def test_a_figure_that_its_slice_cannot_draw_names_the_slice_and_a_where_that_can(cli, mixed_db,
                                                                                 tmp_path):
    """The slice cut by the first value of each other field held no point, and the message
    said "these results have " (nothing) bit-widths of a store holding 8 and 4. It now names
    the slice drawn and, where one exists, a --where whose slice can be drawn."""
    out = str(tmp_path / "b.png")
    line = _one_line_error(cli, "plot", mixed_db, "--kind", "bits", "-o", out)
    assert line.endswith("at least 2 values of model.weight_bits; the slice drawn, model.name = "
                         "small (the first value of each other swept field), has only "
                         "model.weight_bits = 8; pick "
                         "another with --where, e.g. --where model.name=tiny"), line
    code, _, err = cli("plot", mixed_db, "--kind", "bits", "--where", "model.name=tiny", "-o", out)
    assert code in (0, None), err
    line = _one_line_error(cli, "plot", mixed_db, "--kind", "dense-vs-sparse", "-o", out)
    assert line.endswith("model.name = small (the first value of each other swept field), has "
                         "only model.sparsity = 0; no other slice of these points has 2 "
                         "values of model.sparsity either"), line
    line = _one_line_error(cli, "plot", mixed_db, "--kind", "bits", "--where", "model.name=tiny",
                           "--where", "model.weight_bits=4", "-o", out)
    assert "the slice drawn, input = WAV file " in line and line.endswith(
        "has only model.weight_bits = 4; no other slice of these points has 2 values of "
        "model.weight_bits either"), line
    # no slice: what the points have, as before
    line = _one_line_error(cli, "plot", mixed_db, "--kind", "bits", "--where", "model.name=small",
                           "-o", out)
    assert line.endswith("values of model.weight_bits (these results have only "
                         "model.weight_bits = 8)"), line


def test_the_report_says_how_many_points_have_a_wer(cli, mixed_db):
    """One point of six had a WER (the others ran on audio without references), and the
    summary said "WER 100.0 % at every point"."""
    import re
    code, out, err = cli("report", mixed_db)
    assert code in (0, None), err
    summary = out.splitlines()[0]
    assert re.search(r"; WER \d+\.\d % at 1 of 6 points \(the others have none\)$", summary), \
        summary
    assert "every point" not in summary


def test_titles_name_every_model_of_their_points(cli, mixed_db):
    """The report's table and the timeline took the model from the first row only: "Points
    (tiny on az-edge, ...)" above a small point."""
    from azsim.plot import plots
    code, out, err = cli("report", mixed_db)
    assert code in (0, None), err
    title = next(line for line in out.splitlines() if line.startswith("Points ("))
    assert title.startswith(("Points (tiny and small on az-edge, ",
                             "Points (small and tiny on az-edge, ")), title
    code, out, err = cli("report", mixed_db, "--where", "model.name=tiny")
    assert "\nPoints (tiny on az-edge, " in out, out
    fig = plots.make_figure("timeline", open_for_reading(mixed_db))   # slowest and fastest
    assert {"tiny", "small"} <= set(fig._suptitle.get_text().replace("(", " ").split())


def test_a_where_field_given_twice_matches_either_value(cli, mixed_db, tmp_path):
    """--where model.weight_bits=8 --where model.weight_bits=4 showed the 4-bit points only:
    the last value given won, silently. A field given more than once now matches any of its
    values (fields given once each must all match, as before)."""
    both = ("--where", "model.weight_bits=8", "--where", "model.weight_bits=4")
    code, out, err = cli("report", mixed_db, *both)
    assert code in (0, None), err
    assert "showing 5 with model.weight_bits = 8 or 4;" in out.splitlines()[0], out
    code, out, err = cli("report", mixed_db, *both, "--where", "model.name=tiny")
    assert "showing 4 with model.weight_bits = 8 or 4, model.name = tiny;" in out, out
    code, out, err = cli("report", mixed_db, "--where", "model.weight_bits=8", "--where",
                         "model.weight_bits=8.0")   # one value, given twice
    assert "showing 3 with model.weight_bits = 8;" in out, out
    code, _, err = cli("plot", mixed_db, "--kind", "bits", *both, "--where", "model.name=tiny",
                       "-o", str(tmp_path / "b.png"))
    assert code in (0, None), err
    line = _one_line_error(cli, "report", mixed_db, "--where", "model.weight_bits=3",
                           "--where", "model.weight_bits=5")
    assert line.endswith("--where model.weight_bits=3 or 5: no successful point matches "
                         "(the successful points have model.weight_bits 2, 4 or 8)"), line
    from azsim.sweep.analysis import AnyOf, ok_rows, where
    rows = ok_rows(open_for_reading(mixed_db))
    assert sorted(r["model.weight_bits"] for r in where(rows, {
        "model.weight_bits": AnyOf((2, 4))})) == [2, 4, 4]


def test_plots_name_what_an_architect_needs(tmp_path):
    """From a plot audit (2026-12-06): a Pareto front of points that differ in fields other
    than bits and sparsity names them; a design slower than real time is ringed; the
    timeline circles the frame that gives the final result; dense-vs-sparse shows the WER
    the energy saving costs."""
    from azsim.plot import plots
    from azsim.sweep import runner
    db = str(tmp_path / "r.sqlite")
    spec = sp.build_spec(model="small", hw=None, audio=None, weights=None, spec_file=None,
                         sets=["hw.clock_mhz=1,800", "hw.pe_count=4",
                               "hw.sram_bytes_per_cycle=16", "hw.decoder_symbols_per_cycle=16",
                               "model.sparsity=0,0.5"])
    with ResultStore(db) as store:
        assert runner.run_sweep(sp.expand(spec), spec, store, jobs=1).failed == 0
    labels = _legend(plots.make_figure("pareto", open_for_reading(db)))
    assert "slower than real time (RTF > 1): 2" in labels
    assert any(lab.startswith("latency front: clock_mhz 800") for lab in labels), labels
    timeline = plots.make_figure("timeline", open_for_reading(db))
    assert any("final result" in lab for lab in _legend(timeline))
    dvs = plots.make_figure("dense-vs-sparse", open_for_reading(db),
                            where={"hw.clock_mhz": 800})
    assert "WER" in [ax.get_title() for ax in dvs.axes]


def test_a_sweep_of_more_points_than_max_points_is_refused_before_any_is_built(cli, tmp_path):
    """10^4 points took 12 s and 134 MB to validate, 10^6 would have taken some 20 minutes
    and 13 GB, without a word (a sweep audit): the count comes first."""
    clocks = ",".join(str(c) for c in range(100, 501))
    leak = ",".join(str(x) for x in range(1, 301))
    code, out, err = cli("sweep", "--model", "tiny", "--set", f"hw.clock_mhz={clocks}",
                         "--set", f"hw.leakage_mw={leak}", "--results",
                         str(tmp_path / "r.sqlite"), "--dry-run")
    assert code == 2 and err.count("\n") == 1
    assert "120,300 points (401 x 300), more than --max-points 100,000" in err
    code, out, err = cli("sweep", "--model", "tiny", "--set", "hw.clock_mhz=400,800",
                         "--zip", "hw.leakage_mw=6,10", "--zip", "hw.dram_latency_ns=50,100",
                         "--max-points", "1", "--dry-run")
    assert code == 2 and "has 4 points (2 x 2 zipped)" in err
    code, out, err = cli("sweep", "--model", "tiny", "--set", "hw.clock_mhz=400,800",
                         "--max-points", "2", "--dry-run")
    assert code in (0, None), err


def test_a_log_axis_with_a_zero_value_draws_it():
    """A 0 % WER point on a front spanning more than 30x vanished from its log axis (a sweep
    audit): with a zero among the values the axis is symlog."""
    from matplotlib.figure import Figure

    from azsim.plot.plots import _log_if_wide
    ax = Figure().subplots()
    _log_if_wide(ax, [0.0, 3.0, 100.0], "x")
    assert ax.get_xscale() == "symlog"
    ax = Figure().subplots()
    _log_if_wide(ax, [1.0, 3.0, 100.0], "y")
    assert ax.get_yscale() == "log"
    ax = Figure().subplots()
    _log_if_wide(ax, [0.0, 3.0, 10.0], "x")
    assert ax.get_xscale() == "linear"


def test_titles_name_the_hardware_settings_a_sweep_changed_from_its_preset():
    """A sweep over the clock on az-edge with 4 PEs and narrower ports was titled "small on
    az-edge at 1 and 800 MHz": the settings that made the 1 MHz point slower than real time
    were on no figure (an audit, 2026-12-07)."""
    from azsim.config import load_hardware_config
    from azsim.sweep.analysis import hardware_changes, setup_names
    preset = load_hardware_config("az-edge", [])

    def row(clock, **hw):
        return {"_record": {"model": {"name": "small"}, "hardware": {"name": "az-edge"}},
                "hw.name": "az-edge", "hw.clock_mhz": clock,
                **{f"hw.{k}": v for k, v in hw.items()}}
    plain = [row(1.0), row(800.0)]
    assert hardware_changes(plain) == [] and setup_names(plain) == "small on az-edge"
    same = [row(1.0, pe_count=preset.pe_count), row(800.0, pe_count=preset.pe_count)]
    assert setup_names(same) == "small on az-edge"
    changed = [row(c, pe_count=4, sram_bytes_per_cycle=16, decoder_symbols_per_cycle=16.0,
                   queue_depth=2) for c in (1.0, 800.0)]
    assert hardware_changes(changed) == ["hw.pe_count=4", "hw.queue_depth=2",
                                         "hw.sram_bytes_per_cycle=16",
                                         "hw.decoder_symbols_per_cycle=16"]
    assert setup_names(changed) == ("small on az-edge with hw.pe_count=4, hw.queue_depth=2, "
                                    "hw.sram_bytes_per_cycle=16 and 1 more")
    # rows that differ in a field: swept, named by the title's own "at ..."
    assert hardware_changes([row(1.0, pe_count=4), row(800.0, pe_count=8)]) == []
    # a file that is not a preset: nothing to compare with
    other = [{**r, "_record": {"model": {"name": "small"}, "hardware": {"name": "my-chip"}}}
             for r in changed]
    assert setup_names(other) == "small on my-chip"
    # a slice's fixed field is named by its caller, not twice; the array type by its suffix;
    # a column no row has a value in is no change; a float keeps its digits (a review)
    assert setup_names([row(1.0, pe_count=4)], exclude={"hw.clock_mhz"}) == \
        "small on az-edge with hw.pe_count=4"
    systolic = [{**row(800.0, array="systolic"),
                 "_record": {"model": {"name": "small"},
                             "hardware": {"name": "az-edge", "array": "systolic"}}}]
    assert setup_names(systolic, exclude={"hw.clock_mhz"}) == \
        "small on az-edge as a systolic array"
    assert hardware_changes([row(800.0, pe_count=None)]) == []
    bw = preset.dram_bandwidth_gb_per_s + 1e-7
    assert hardware_changes([row(800.0, dram_bandwidth_gb_per_s=bw)]) == \
        [f"hw.dram_bandwidth_gb_per_s={bw!r}"]


def test_a_roofline_draws_each_layer_where_its_record_puts_it(results_db):
    """Each layer at (MACs issued / SRAM bytes read, MACs issued / cycles), the run's layers
    together as a star, the roofs from the point's own hardware; the slowest and the fastest
    point by default, one panel each."""
    from azsim.plot import plots
    points = open_for_reading(results_db)
    fig = plots.make_figure("roofline", points)
    assert len([ax for ax in fig.axes if ax.get_xscale() == "log"]) == 2
    point = next(p for p in points if p.status == "ok")
    fig = plots.make_figure("roofline", points, point_keys=[point.key[:12]])
    (ax,) = fig.axes
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    layers = [row for row in point.record["layers"]
              if row["cycles"] and row["macs_issued"] and row["sram_read_bytes"]]
    expected = [(row["macs_issued"] / row["sram_read_bytes"], row["macs_issued"] / row["cycles"])
                for row in layers]
    issued = sum(row["macs_issued"] for row in point.record["layers"])
    expected.append((issued / sum(row["sram_read_bytes"] for row in point.record["layers"]),
                     issued / point.record["latency"]["cycles"]))
    for x, y in expected:
        assert np.any(np.isclose(drawn[:, 0], x, rtol=1e-12) & np.isclose(drawn[:, 1], y,
                                                                           rtol=1e-12)), (x, y)
    hw = point.record["hardware"]
    assert plots.roofs(hw) == {"macs_per_cycle": hw["macs_per_cycle"],
                               "sram_bytes_per_cycle": hw["sram_bytes_per_cycle"],
                               "dram_bytes_per_cycle": hw["dram_bandwidth_gb_per_s"] * 1e3
                               / hw["clock_mhz"]}
    # the array's peak is the flat part of the top roof
    assert any(np.isclose(line.get_ydata()[-1], hw["macs_per_cycle"]) for line in ax.lines)


def test_roofline_on_the_command_line(cli, results_db, tmp_path):
    points = [p for p in open_for_reading(results_db) if p.status == "ok"]
    out = tmp_path / "roof.png"
    code, _, err = cli("plot", results_db, "--kind", "roofline", "--point", points[0].key[:12],
                       "-o", str(out))
    assert code in (0, None) and out.read_bytes()[:4] == b"\x89PNG", err
    assert "--utterance" in _one_line_error(cli, "plot", results_db, "--kind", "roofline",
                                            "--utterance", "0", "-o", str(out))
    assert "timeline and roofline" in _one_line_error(
        cli, "plot", results_db, "--kind", "bits", "--point", points[0].key[:12], "-o", str(out))
    many = [a for p in points[:5] for a in ("--point", p.key[:12])]
    assert "too many panels" in _one_line_error(cli, "plot", results_db, "--kind", "roofline",
                                                *many, "-o", str(out))


def test_a_file_edited_while_the_sweep_runs_fails_its_later_points_not_stores_them(tmp_path):
    """Points run from the files as a worker finds them, but are keyed and labelled by the
    config validated at the start: a hardware file edited during a sweep had its later points
    measured at 1600 MHz and stored (and exported, and skipped by --resume) as 400 MHz ones
    (a sweep audit). They fail instead, naming the field that changed."""
    import shutil

    import azsim
    from azsim.sweep import runner
    from azsim.sweep.spec import build_spec, expand
    hw = tmp_path / "my.toml"
    shutil.copy(os.path.join(os.path.dirname(azsim.__file__), "config", "presets", "hardware",
                             "az-edge.toml"), hw)
    text = hw.read_text()
    assert "\nclock_mhz = 800.0\n" in text
    spec = build_spec(model="tiny", hw=str(hw), audio=None, weights=None, spec_file=None,
                      sets=["model.weight_bits=8,4"])
    points = expand(spec)
    hw.write_text(text.replace("\nclock_mhz = 800.0\n", "\nclock_mhz = 1600.0\n"))
    db = str(tmp_path / "r.sqlite")
    with ResultStore(db) as store:
        summary = runner.run_sweep(points, spec, store, jobs=1)
    assert (summary.ok, summary.failed) == (0, 2)
    stored = open_for_reading(db)
    assert all(p.status == "failed" and "hw.clock_mhz 800.0 -> 1600.0" in p.error
               for p in stored), [p.error for p in stored]
    # a record that ran with what was validated is no change; another weights file is
    record = {"model": {"config": points[0].config["model"], "weights_sha256": "ab" * 32},
              "hardware": {**points[0].config["hw"], "macs_per_cycle": 256}}
    assert runner.changed_inputs(points[0].config, record) is None
    config = {**points[0].config, "weight_files": {"weights": {"name": "w.npz",
                                                               "sha256": "cd" * 32}}}
    assert runner.changed_inputs(config, record) == "model.weights w.npz content cdcdcdcd -> abababab"


def test_where_takes_a_path_as_the_sweep_did_and_says_what_there_is(cli, tmp_path,
                                                                     monkeypatch):
    """--where hw.energy_table=et.toml matched nothing after a sweep of --set
    hw.energy_table=et.toml (stored absolute), and the error named no value there was; a
    failed point's azsim_version (the store has it) was empty in exports, so --where
    azsim_version=V found none of the failed points (a sweep audit)."""
    import shutil
    import sqlite3

    import azsim
    from azsim._version import code_version
    shutil.copy(os.path.join(os.path.dirname(azsim.__file__), "config", "presets", "energy",
                             "horowitz-45nm.toml"), tmp_path / "et.toml")
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("sweep", "--model", "tiny", "--set", "hw.energy_table=et.toml,"
                       "horowitz-45nm", "--results", "r.sqlite", "-j", "1")
    assert code in (0, None), err
    code, out, err = cli("report", "r.sqlite", "--where", "hw.energy_table=et.toml")
    assert code in (0, None) and "showing 1 with" in out, err
    line = _one_line_error(cli, "report", "r.sqlite", "--where", "hw.clock_mhz=801")
    assert line.endswith("no successful point matches (the successful points have "
                         "hw.clock_mhz 800)"), line
    with sqlite3.connect("r.sqlite") as con:
        con.execute("UPDATE points SET status = 'failed', record = NULL, error = 'x' "
                    "WHERE rowid = 1")
    code, out, err = cli("results", "export", "r.sqlite", "--json", "-o", "-")
    assert code in (0, None), err
    rows = json.loads(out)
    assert [r["azsim_version"] for r in rows] == [code_version()] * 2, rows
    code, out, err = cli("report", "r.sqlite", "--where", f"azsim_version={code_version()}")
    assert code in (0, None) and "(1 in the selection)" in out, out


@pytest.fixture(scope="module")
def run_record(tmp_path_factory):
    """One `azsim run --json` record of the tiny model."""
    import azsim
    path = tmp_path_factory.mktemp("run") / "run.json"
    path.write_text(json.dumps(azsim.simulate(model="tiny").to_dict()))
    return str(path)


def test_a_run_record_reads_as_a_one_point_store(cli, run_record, tmp_path):
    """`azsim plot`, `report` and `results export` take what `azsim run --json` wrote, so a
    single run's roofline or timeline needs no sweep; its config is the record's own."""
    (point,) = open_for_reading(run_record)
    record = json.loads(open(run_record).read())
    assert point.status == "ok" and point.record == record
    assert point.config["model"] == record["model"]["config"]
    assert "macs_per_cycle" not in point.config["hw"]   # derived, not a setting
    assert point.config["hw"]["pe_count"] == record["hardware"]["pe_count"]
    for kind in ("roofline", "timeline", "energy-breakdown"):
        out = tmp_path / f"{kind}.png"
        code, _, err = cli("plot", run_record, "--kind", kind, "-o", str(out))
        assert code in (0, None) and out.read_bytes()[:4] == b"\x89PNG", (kind, err)
    code, out, err = cli("report", run_record)
    assert code in (0, None) and "1 point stored, 1 ok" in out, err
    csv_out = tmp_path / "r.csv"
    code, _, err = cli("results", "export", run_record, "--csv", "-o", str(csv_out))
    assert code in (0, None) and "1 point ->" in err
    row = csv_out.read_text().splitlines()
    assert len(row) == 2 and "latency_cycles" in row[0]


@pytest.mark.parametrize("text, fragment", [
    ("{}", "not an azsim run record (no azsim_version, model, hardware, layers, latency)"),
    ("[1, 2]", "not an azsim run record"),
    ("not json", "not JSON"),
])
def test_a_json_that_is_no_run_record_is_one_line(cli, tmp_path, text, fragment):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    line = _one_line_error(cli, "plot", str(bad), "--kind", "roofline", "-o",
                           str(tmp_path / "x.png"))
    assert fragment in line and "run record written by azsim run --json" in line
    assert "no such file" in _one_line_error(cli, "report", str(tmp_path / "none.json"))


@pytest.mark.parametrize("strides", [("0", "16"), ("16", "0")])
def test_a_test_set_too_short_for_a_later_points_stride_is_refused_before_running(
        tmp_path, strides):
    """Every point's test set is checked before anything runs, whatever the axis order: an
    utterance of 10 frames is enough at stride 3 (6 frames for one output of tiny) and too
    short at stride 16 (19). Checked once per stack_frames, the stride-16 point after a
    stride-0 one failed at run time while the other ran."""
    rng = np.random.default_rng(0)
    path = tmp_path / "ts.npz"
    np.savez(path, features=rng.standard_normal((40, 80)).astype(np.float16),
             offsets=np.array([0, 30, 40]), texts=np.array(["set a timer", "hi"]))
    spec = sp.build_spec(model="tiny", hw=None, audio=None, weights=None,
                         sets=[f"model.encoder.stack_stride={','.join(strides)}"],
                         spec_file=None, testset=str(path))
    with pytest.raises(AzsimError, match="at least 19 frames"):
        sp.expand(spec)


def test_a_results_database_named_json_is_read_as_a_database(cli, tmp_path):
    """`azsim sweep --results r.json` writes a database under that name; report, plot and
    export read a .json as a run record, and said of it "not JSON"."""
    db = str(tmp_path / "r.json")
    code, _, err = cli("sweep", "--model", "tiny", "--results", db, "-j", "1")
    assert code in (0, None), err
    (point,) = open_for_reading(db)
    assert point.status == "ok"
    code, out, err = cli("report", db)
    assert code in (0, None) and "1 point stored, 1 ok" in out, err


def test_a_roofline_draws_each_roof_and_the_dram_star_from_the_record(tmp_path):
    """The roofs' slopes and the hollow star were drawn unchecked (the SRAM roof at the
    DRAM's slope, the DRAM roof at the port's, a 4-bit packed peak of 8x, the hollow star
    over every DRAM byte with the preload: each passed the tests). A run that streams, on a
    precision-scalable array at 4 bits."""
    import azsim
    from azsim.plot import plots
    path = tmp_path / "run.json"
    path.write_text(json.dumps(azsim.simulate(model="tiny", bits=4, overrides=[
        "hw.sram_bytes=65536", "hw.stream_tile_bytes=1024",
        "hw.precision_scalable=true"]).to_dict()))
    (point,) = open_for_reading(str(path))
    rec = point.record
    streamed = rec["traffic"]["dram_read_bytes"] - rec["traffic"]["weight_preload_bytes"]
    assert streamed > 0
    (ax,) = plots.make_figure("roofline", [point]).axes
    roof = plots.roofs(rec["hardware"])
    mpc, port, dram = (roof[k] for k in ("macs_per_cycle", "sram_bytes_per_cycle",
                                         "dram_bytes_per_cycle"))
    lines = [(np.asarray(line.get_xdata()), np.asarray(line.get_ydata())) for line in ax.lines]
    for peak, slope in ((mpc, port), (2 * mpc, port), (2 * mpc, dram)):
        assert any(np.allclose(y, np.minimum(peak, slope * x)) for x, y in lines), (peak, slope)
    assert len(lines) == 3
    issued = sum(row["macs_issued"] for row in rec["layers"])
    drawn = np.concatenate([c.get_offsets() for c in ax.collections])
    star = (issued / streamed, issued / rec["latency"]["cycles"])
    assert np.any(np.isclose(drawn[:, 0], star[0]) & np.isclose(drawn[:, 1], star[1]))


def test_a_roofline_at_five_bits_draws_no_packed_roof_in_its_legend(tmp_path):
    """5- to 7-bit weights pack one MAC a lane: the legend named a dotted packed roof that
    was not drawn."""
    import azsim
    from azsim.plot import plots
    path = tmp_path / "run.json"
    path.write_text(json.dumps(azsim.simulate(
        model="tiny", bits=5, overrides=["hw.precision_scalable=true"]).to_dict()))
    fig = plots.make_figure("roofline", open_for_reading(str(path)))
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "packed low-bit MACs" not in labels, labels


# ------------------------------------------------------------ several processors and models


def test_a_sweep_runs_every_point_on_each_processor_and_model_listed(cli, tmp_path,
                                                                     monkeypatch):
    """`--hw az-edge,npu32.toml` (and `--model tiny,small`): an architect comparing
    processors ran one sweep per file into one store. Each point is the one a one-processor
    sweep runs (same key, so --resume and the store serve both), processors outermost."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "npu32.toml").write_text('base = "az-edge"\npe_count = 32\n')
    spec = sp.build_spec(model="tiny,small", hw="az-edge,npu32.toml", audio=None,
                         weights=None, spec_file=None, sets=["model.weight_bits=8,4"])
    points = sp.expand(spec)
    assert [(p.values["hw"], p.values["model"], p.values["model.weight_bits"])
            for p in points] == [(h, m, b) for h in ("az-edge", "npu32")
                                 for m in ("tiny", "small") for b in (8, 4)]
    assert [p.config["hw"]["pe_count"] for p in points] == [16] * 4 + [32] * 4
    assert [p.hw for p in points] == ["az-edge"] * 4 + [str(tmp_path / "npu32.toml")] * 4
    assert sp.point_count(spec) == len(points) == len({p.key for p in points}) == 8
    # the same points as one sweep per processor and model
    for hw in ("az-edge", "npu32.toml"):
        for model in ("tiny", "small"):
            alone = sp.expand(sp.build_spec(model=model, hw=hw, audio=None, weights=None,
                                            spec_file=None, sets=["model.weight_bits=8,4"]))
            assert {p.key for p in alone} <= {p.key for p in points}
    # a point's model side is shared by the processors (one quantized model per worker)
    assert len({p.group for p in points}) == 4
    from azsim.sweep.runner import make_tasks
    assert [(t.model, t.hw) for t in make_tasks(points, spec)] == [(p.model, p.hw)
                                                                   for p in points]
    # run: each stored record is what azsim run gives on its processor
    db = str(tmp_path / "r.sqlite")
    code, out, err = cli("sweep", "--model", "tiny", "--hw", "az-edge,npu32.toml", "-j", "1",
                         "--set", "model.sparsity=0,0.8", "--results", db)
    assert code in (0, None), err
    assert "over hw (2), model.sparsity (2)" in err and "4 points ok" in out
    from azsim.api import simulate
    stored = {(p.config["hw"]["name"], p.config["model"]["sparsity"]): p
              for p in open_for_reading(db)}
    assert stored["npu32", 0.8].record == simulate(
        model="tiny", hardware=str(tmp_path / "npu32.toml"),
        overrides=["model.sparsity=0.8"]).to_dict()
    assert stored["npu32", 0.8].record["hardware"]["pe_count"] == 32
    # the report names the processor in a column of its own, not its description
    code, out, err = cli("report", db)
    assert code in (0, None), err
    assert "swept: model.sparsity, hw.name, hw.pe_count" in out
    header = out[out.index("Points ("):].splitlines()[1].split()
    assert header[:3] == ["sparsity", "hw", "pe_count"] and "description" not in out
    # and a slice of one processor is a --where away
    code, out, err = cli("report", db, "--where", "hw.name=npu32")
    assert code in (0, None) and "showing 2 with hw.name = npu32" in out, err


def test_processors_and_models_listed_in_a_spec_file(cli, tmp_path):
    """A spec file lists them as `hw = ["az-edge", "npu.toml"]`, paths from its folder."""
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw" / "npu8.toml").write_text('base = "az-edge"\npe_count = 8\n')
    spec = tmp_path / "s.toml"
    spec.write_text('model = ["tiny"]\nhw = ["hw/npu8.toml", "az-edge"]\n'
                    "[sweep]\nmodel.sparsity = [0, 0.5]\n")
    points = sp.expand(sp.build_spec(model=None, hw=None, audio=None, weights=None, sets=[],
                                     spec_file=str(spec)))
    assert [(p.values["hw"], p.values["model.sparsity"]) for p in points] == [
        ("npu8", 0), ("npu8", 0.5), ("az-edge", 0), ("az-edge", 0.5)]
    assert "model" not in points[0].values      # one model: no column of its own
    # the command line replaces the file's list
    points = sp.expand(sp.build_spec(model=None, hw="az-edge", audio=None, weights=None,
                                     sets=[], spec_file=str(spec)))
    assert {p.config["hw"]["name"] for p in points} == {"az-edge"}


@pytest.mark.parametrize("argv, fragment", [
    (["--hw", "az-edge,,eie-64pe"], "--hw az-edge,,eie-64pe: empty name at position 2"),
    (["--hw", "az-edge,az-edge"], "az-edge is listed twice"),
    (["--model", "tiny,small,tiny"], "tiny is listed twice"),
    (["--hw", "az-edge,no-such-npu"], "sweep hardware no-such-npu at the fixed overrides: "
                                      "unknown hardware preset 'no-such-npu'"),
    (["--hw", "az-edge,eie-64pe", "--set", "hw.name=npu"], "both named 'npu'"),
])
def test_bad_lists_of_processors_and_models_are_one_line(cli, tmp_path, argv, fragment):
    db = tmp_path / "r.sqlite"
    model = [] if "--model" in argv else ["--model", "tiny"]
    line = _one_line_error(cli, "sweep", *model, "--results", str(db), *argv)
    assert fragment in line, line
    assert not db.exists()


def test_two_processor_files_of_one_name_are_refused(cli, tmp_path):
    """Two files both called npu.toml are both named npu: the store's tables and figures
    would draw them as one processor."""
    for folder, pes in (("a", 8), ("b", 64)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "npu.toml").write_text(f'base = "az-edge"\npe_count = {pes}\n')
    line = _one_line_error(cli, "sweep", "--model", "tiny", "--dry-run", "--hw",
                           f"{tmp_path / 'a' / 'npu.toml'},{tmp_path / 'b' / 'npu.toml'}")
    assert "are both named 'npu'" in line and "name = " in line, line
    spec = tmp_path / "s.toml"
    spec.write_text('model = "tiny"\nhw = ["a/npu.toml", "b/npu.toml"]\n')
    line = _one_line_error(cli, "sweep", "--spec", str(spec), "--dry-run")
    assert line.startswith(f"azsim: error: {spec}: hw: "), line
    for bad in ('hw = []', 'hw = ["az-edge", 3]', 'model = [""]'):
        spec.write_text(bad + "\n")
        line = _one_line_error(cli, "sweep", "--spec", str(spec), "--dry-run")
        assert "non-empty list" in line, line


def test_the_failed_points_table_names_the_processor_of_each(cli, tmp_path):
    """A point's processor is no override: two failed points on two processors read the
    same in the failed table."""
    db = str(tmp_path / "f.sqlite")
    code, out, err = cli("sweep", "--model", "tiny", "--hw", "az-edge,eie-64pe", "-j", "1",
                         "--set", "hw.sram_bytes=2100", "--set", "hw.stream_tile_bytes=1024",
                         "--results", db)
    assert code == 1, (out, err)
    assert "failed: hw='az-edge'" in err and "failed: hw='eie-64pe'" in err
    code, out, err = cli("report", db)
    rows = out[out.index("Failed points (2)"):].splitlines()[2:4]
    assert [r.split()[1] for r in rows] == ["hw.name=az-edge", "hw.name=eie-64pe"], rows


def test_a_pareto_figure_tells_the_processors_apart_by_the_markers_fill(tmp_path):
    """Colour and marker tell bit-width and sparsity; the points of two processors drew
    alike, only the front's named."""
    from azsim.plot import plots
    from azsim.sweep import runner
    (tmp_path / "npu32.toml").write_text('base = "az-edge"\npe_count = 32\n')
    db = str(tmp_path / "r.sqlite")
    spec = sp.build_spec(model="tiny", hw=f"az-edge,{tmp_path / 'npu32.toml'}", audio=None,
                         weights=None, spec_file=None, sets=["model.sparsity=0,0.8"])
    with ResultStore(db) as store:
        assert runner.run_sweep(sp.expand(spec), spec, store, jobs=1).failed == 0
    fig = plots.make_figure("pareto", open_for_reading(db))
    labels = _legend(fig)
    assert "hw az-edge" in labels and "hw npu32" in labels, labels
    handles = {t.get_text(): h for legend in fig.legends
               for t, h in zip(legend.get_texts(), legend.legend_handles)}
    assert (handles["hw az-edge"].get_fillstyle(), handles["hw npu32"].get_fillstyle()) == \
        ("full", "none")
    # each point is drawn at its record's energy in its processor's fill
    by_fill = {"full": [], "none": []}
    for line in fig.axes[0].get_lines():
        if line.get_linestyle() == "None" and line.get_fillstyle() in by_fill:
            by_fill[line.get_fillstyle()].extend(line.get_ydata())
    energy = {name: sorted(p.record["energy"]["total_uj"] for p in open_for_reading(db)
                           if p.config["hw"]["name"] == name) for name in ("az-edge", "npu32")}
    assert sorted(by_fill["full"]) == energy["az-edge"]
    assert sorted(by_fill["none"]) == energy["npu32"]


def test_a_layer_table_has_a_row_per_layer_of_each_point_as_its_record_says(cli, results_db,
                                                                          run_record, tmp_path):
    """`azsim results export --per layer`: the per-layer figures of every point (a record kept
    them, no table gave them), each row the record's layer entry, units in the names."""
    import csv
    out = tmp_path / "layers.csv"
    code, _, err = cli("results", "export", results_db, "--per", "layer", "-o", str(out))
    assert code in (0, None), err
    with open(out) as fh:
        table = list(csv.DictReader(fh))
    points = {p.key: p for p in open_for_reading(results_db)}
    assert len(table) == sum(len(p.record["layers"]) for p in points.values())
    assert f"{len(table)} layers of {len(points)} points" in err
    head = list(table[0])
    # what the point ran first, the swept fields, then the layer's own columns
    assert head[:3] == ["key", "azsim_version", "model.name"]
    assert {"model.weight_bits", "model.sparsity", "hw.clock_mhz"} < set(head)
    assert "model.encoder.hidden" not in head     # the same at every point
    assert head.index("hw.clock_mhz") < head.index("layer_name")
    seen = {}
    for row in table:
        layer = points[row["key"]].record["layers"][seen.setdefault(row["key"], 0)]
        seen[row["key"]] += 1
        assert (row["layer_name"], int(row["layer_cycles"]), int(row["layer_dram_read_bytes"]),
                float(row["layer_energy_uj"])) == (layer["name"], layer["cycles"],
                                                   layer["dram_read_bytes"], layer["energy_uj"])
        assert [int(row["layer_rows"]), int(row["layer_cols"])] == layer["shape"]
        assert row["layer_bound_resource"] == layer["bound_resource"]
        for resource, cycles in layer["cycles_by_resource"].items():
            assert float(row[f"layer_cycles_{resource}"]) == cycles
        for component, uj in layer["energy_breakdown_uj"].items():
            assert float(row[f"layer_energy_{component}_uj"]) == uj
        for action, uj in layer["energy_components_uj"].items():
            assert float(row[f"layer_energy_detail_{action}_uj"]) == uj
        assert int(row["model.weight_bits"]) == points[row["key"]].config["model"]["weight_bits"]
    # one run's record, as JSON
    code, out, err = cli("results", "export", run_record, "--per", "layer", "--json")
    assert code in (0, None), err
    rows = json.loads(out)
    record = json.loads(open(run_record).read())
    assert [r["layer_name"] for r in rows] == [lay["name"] for lay in record["layers"]]
    assert all(r["layer_utilization"] == lay["utilization"]
               for r, lay in zip(rows, record["layers"]))


def test_a_layer_table_leaves_out_failed_points_and_says_so(cli, tmp_path):
    db = str(tmp_path / "f.sqlite")
    code, out, err = cli("sweep", "--model", "tiny", "-j", "1", "--set",
                         "hw.sram_bytes=2100,2097152", "--set", "hw.stream_tile_bytes=1024",
                         "--results", db)
    assert code == 1, (out, err)   # the first point fails, the second runs
    (ok,) = [p.key for p in open_for_reading(db) if p.status == "ok"]
    code, out, err = cli("results", "export", db, "--per", "layer")
    assert code in (0, None), err
    assert "1 failed point (no layers) left out" in err
    rows = out.strip().splitlines()[1:]
    assert len(rows) == 7 and all(r.startswith(ok + ",") for r in rows)


def test_utterance_and_frame_tables_are_the_records_own_figures(cli, results_db, tmp_path):
    """`--per utterance` and `--per frame`: a point's latency tail (which frame, which
    utterance) was in its record only."""
    points = {p.key: p for p in open_for_reading(results_db)}
    code, out, err = cli("results", "export", results_db, "--per", "utterance", "--json")
    assert code in (0, None), err
    rows = json.loads(out)
    assert len(rows) == sum(len(p.record["utterances"]) for p in points.values())
    for row in rows[:8]:
        (utt,) = [u for u in points[row["key"]].record["utterances"]
                  if u["file"] == row["utterance_file"]]
        assert (row["utterance_cycles"], row["utterance_energy_uj"], row["utterance_rtf"],
                row["utterance_end_of_speech_ms"]) == (utt["cycles"], utt["energy_uj"],
                                                       utt["rtf"], utt["end_of_speech_ms"])
        assert not any(isinstance(v, list) for v in row.values())
    code, out, err = cli("results", "export", results_db, "--per", "frame", "--json")
    assert code in (0, None), err
    frames = json.loads(out)
    assert len(frames) == sum(u["frames"] for p in points.values()
                              for u in p.record["utterances"])
    key = frames[0]["key"]
    for utt in points[key].record["utterances"]:
        mine = [f for f in frames if f["key"] == key and f["utterance_file"] == utt["file"]]
        assert [f["frame"] for f in mine] == list(range(utt["frames"]))
        assert [f["frame_compute_ms"] for f in mine] == utt["frame_compute_ms"]
        assert [f["frame_energy_uj"] for f in mine] == utt["frame_energy_uj"]
        assert all(f["frame_latency_ms"] == f["frame_finish_ms"] - f["frame_arrival_ms"]
                   for f in mine)
        # every emitted symbol counted at its frame; one result frame, the record's
        assert sum(f["frame_tokens"] for f in mine) == len(utt["token_frames"])
        assert [f["frame"] for f in mine if f["frame_is_result"]] == \
            [utt["result_frame"] % utt["frames"]]
        (result,) = [f for f in mine if f["frame_is_result"]]
        assert max(result["frame_finish_ms"] - utt["seconds"] * 1e3, 0.0) == \
            pytest.approx(utt["end_of_speech_ms"], abs=1e-9)
        assert result["frame_latency_ms"] == pytest.approx(utt["last_frame_ms"], abs=1e-9)


@pytest.mark.parametrize("field, value, fragment", [
    ("frame_energy_uj", [1.0], "per-frame lists of different lengths"),
    ("frame_energy_uj", "x", "frame_energy_uj"),
    ("token_frames", [0, 10 ** 6], "token_frames[1]"),
    ("token_frames", ["3"], "token_frames[0]"),
])
def test_a_damaged_frame_list_is_named_before_the_frame_table_reads_it(cli, results_db, tmp_path,
                                                                       field, value, fragment):
    """The frame table reads each frame's energy and counts the symbols at each frame: a
    damaged list was a traceback, or symbols outside the utterance counted nowhere."""
    db, key = _damaged_copy(results_db, tmp_path,
                            lambda record: record["utterances"][0].__setitem__(field, value))
    line = _one_line_error(cli, "results", "export", db, "--per", "frame")
    assert key in line and fragment in line, line


def test_an_option_that_replaces_a_spec_files_input_says_so(cli, tmp_path):
    """`--spec s.toml --hw az-edge` ran on az-edge alone where the file listed two
    processors, without a word (a newcomer audit); a --set that replaces said so."""
    spec = tmp_path / "s.toml"
    spec.write_text('model = "tiny"\nhw = ["az-edge", "eie-64pe"]\n')
    code, out, err = cli("sweep", "--spec", str(spec), "--hw", "az-edge", "--dry-run")
    assert code == 0, err
    assert f'azsim: note: --hw az-edge replaces {spec}\'s hw = ["az-edge", "eie-64pe"]' in err
    assert out.startswith("sweep: 1 point")
    code, out, err = cli("sweep", "--spec", str(spec), "--model", "small", "--dry-run")
    assert code == 0 and f"--model small replaces {spec}'s model = \"tiny\"" in err, err
    code, out, err = cli("sweep", "--spec", str(spec), "--dry-run")
    assert code == 0 and "note" not in err
    # the option that gives what the file gives replaces nothing; the file's own text shown
    code, out, err = cli("sweep", "--spec", str(spec), "--model", "tiny", "--dry-run")
    assert code == 0 and "note" not in err, err
    (tmp_path / "npu8.toml").write_text('base = "az-edge"\npe_count = 8\n')
    spec.write_text('model = "tiny"\nhw = ["az-edge", "npu8.toml"]\n')
    code, out, err = cli("sweep", "--spec", str(spec), "--hw", "az-edge", "--dry-run")
    assert f'replaces {spec}\'s hw = ["az-edge", "npu8.toml"]' in err, err


def test_the_cycles_by_what_they_waited_on_sum_to_the_runs_cycles(cli, results_db):
    """cycles_<resource>: a record's layers attribute each cycle to the resource it waited
    on; the point tables sum them, and the report gives each point's shares."""
    points = {p.key: p for p in open_for_reading(results_db)}
    code, out, err = cli("results", "export", results_db, "--json")
    assert code in (0, None), err
    for row in json.loads(out):
        record = points[row["key"]].record
        want = {}
        for layer in record["layers"]:
            for resource, cycles in layer["cycles_by_resource"].items():
                want[resource] = want.get(resource, 0.0) + cycles
        assert {r: row[f"cycles_{r}"] for r in want} == {r: round(c) for r, c in want.items()}
        calls = sum(layer["invocations"] for layer in record["layers"])
        # each invocation's cycles are rounded once: the shares sum to the run's cycles
        assert abs(sum(row[f"cycles_{r}"] for r in want) - row["latency_cycles"]) <= calls
    code, out, err = cli("report", results_db)
    table = out[out.index("Where the cycles go"):].split("\n\n")[0].splitlines()
    head = table[1].split()
    assert " ".join(head).endswith("latency ms MAC array % SRAM port % nonlinear unit %"), head
    shares = [[float(x) for x in line.split()[-3:]] for line in table[2:-1]]
    assert len(shares) == len(points)
    assert all(abs(sum(s) - 100.0) <= 0.3 for s in shares), shares


def test_a_damaged_cycle_attribution_is_named(cli, results_db, tmp_path):
    db, key = _damaged_copy(
        results_db, tmp_path,
        lambda record: record["layers"][1]["cycles_by_resource"].__setitem__("sram", "lots"))
    for argv in (["report", db], ["results", "export", db]):
        line = _one_line_error(cli, *argv)
        assert key in line and "layers[1].cycles_by_resource.sram" in line, line


def test_a_cycle_breakdown_stacks_each_points_busy_time_by_what_it_waited_on(results_db):
    """Each bar is its point's cycles by resource over its clock: the stack's height is the
    point's busy time, as energy-breakdown's is its energy."""
    from azsim.plot import plots
    points = open_for_reading(results_db)
    fig = plots.make_figure("cycle-breakdown", points, where={"hw.clock_mhz": 400})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(labels) <= {"MAC array", "SRAM port", "decoder", "nonlinear unit", "DRAM"}
    assert "SRAM port" in labels
    heights: dict[float, float] = {}
    for patch in ax.patches:
        x = round(patch.get_x(), 6)
        heights[x] = heights.get(x, 0.0) + patch.get_height()
    chosen = [p for p in points if p.config["hw"]["clock_mhz"] == 400]
    assert len(heights) == len(chosen) == 9
    busy = sorted(p.record["latency"]["seconds"] * 1e3 for p in chosen)
    # whole cycles per resource: within a cycle an invocation of the busy time
    assert sorted(heights.values()) == pytest.approx(busy, rel=1e-3)


def test_a_frame_table_of_a_record_without_finish_or_energy_leaves_them_empty(cli, run_record,
                                                                             tmp_path):
    """The record checks accept a record of older code without frame_finish_ms and
    frame_energy_uj (report and plot read it); the frame table called it damaged."""
    record = json.loads(open(run_record).read())
    for utt in record["utterances"]:
        del utt["frame_finish_ms"], utt["frame_energy_uj"]
    old = tmp_path / "old.json"
    old.write_text(json.dumps(record))
    code, out, err = cli("results", "export", str(old), "--per", "frame", "--json")
    assert code in (0, None), err
    rows = json.loads(out)
    assert len(rows) == sum(u["frames"] for u in record["utterances"])
    assert all(r["frame_finish_ms"] is None and r["frame_latency_ms"] is None
               and r["frame_energy_uj"] is None for r in rows)
    assert [r["frame_compute_ms"] for r in rows[:3]] == \
        record["utterances"][0]["frame_compute_ms"][:3]


def test_a_roofline_packs_a_pruned_one_bit_layer_as_its_lanes_do(tmp_path):
    """Where the lanes walk the zeros a pruned 1-bit matrix packs as 2 bits (the cost model,
    since the audits); the roofline drew its roof at 8 a lane, twice the reachable peak."""
    import azsim
    from azsim.plot import plots
    path = tmp_path / "r.json"
    path.write_text(json.dumps(azsim.simulate(model="tiny", overrides=[
        "model.weight_bits=1", "model.sparsity=0.5", 'model.weight_format="bitmask"',
        "hw.precision_scalable=true", 'hw.zero_handling="none"']).to_dict()))
    fig = plots.make_figure("roofline", open_for_reading(str(path)))
    roofs = [t.get_text() for ax in fig.axes for t in ax.texts if "MACs/cycle" in t.get_text()]
    assert "MAC array, 2-bit packed: 1024 MACs/cycle" in roofs, roofs
    assert not any("1-bit packed" in r for r in roofs), roofs


def test_the_resource_labels_name_every_resource_the_cost_model_attributes():
    from azsim.cost.model import ATTRIBUTION
    from azsim.sweep.export import RESOURCE_LABELS
    assert tuple(RESOURCE_LABELS) == ATTRIBUTION


def test_a_layer_table_of_a_store_without_a_successful_point_is_refused(cli, tmp_path):
    db = str(tmp_path / "f.sqlite")
    code, out, err = cli("sweep", "--model", "tiny", "-j", "1", "--set", "hw.sram_bytes=2100",
                         "--set", "hw.stream_tile_bytes=1024", "--results", db)
    assert code == 1, err
    line = _one_line_error(cli, "results", "export", db, "--per", "layer")
    assert "no successful point (1 stored, all failed)" in line, line


def test_a_processor_file_whose_name_has_a_comma_is_one_processor(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "npu,v2.toml").write_text('base = "az-edge"\npe_count = 8\n')
    spec = sp.build_spec(model="tiny", hw="npu,v2.toml", audio=None, weights=None,
                         spec_file=None, sets=[])
    assert spec.hws == (str(tmp_path / "npu,v2.toml"),)
    (point,) = sp.expand(spec)
    assert point.config["hw"]["pe_count"] == 8 and "hw" not in point.values


def test_a_roofline_panels_title_is_wrapped_to_the_panel(results_db, monkeypatch):
    """Two panels' titles naming four swept fields ran into each other (seen on a sweep of
    two processors): the fields' line is wrapped."""
    from azsim.plot import plots
    monkeypatch.setattr(plots, "_TITLE_CHARS", 24)
    fig = plots.make_figure("roofline", open_for_reading(results_db))
    for ax in fig.axes[:2]:
        lines = ax.get_title().splitlines()
        assert len(lines) >= 3 and all(len(line) <= 24 for line in lines[:-1]), lines


def test_a_timelines_long_legend_labels_are_wrapped(results_db, monkeypatch):
    """A point named by four swept fields and its "final result ... (its frame circled)"
    ran past the figure's edge in one legend column."""
    from azsim.plot import plots
    monkeypatch.setattr(plots, "_LEGEND_CHARS", 30)
    fig = plots.make_figure("timeline", open_for_reading(results_db))
    texts = _legend(fig)
    assert any("\n" in t for t in texts)
    assert all(len(line) <= 30 for t in texts for line in t.splitlines()), texts
