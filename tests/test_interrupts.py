"""Interruption and failing output, as a user meets them: real signals sent to the CLI as a
subprocess (Ctrl-C is SIGINT to the whole process group), full disks (a tiny tmpfs), closed
and broken standard output, two sweeps sharing one results database.

Every signal waits for a marker (a stored row, a progress line on a pseudo-terminal, a worker
at work), never a fixed sleep. Tests needing root mounts, chattr or espeak-ng skip without.
Known defects are pinned as strict xfails whose reason names the file and line.
"""
import json
import os
import pty
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

AZSIM = [sys.executable, "-m", "azsim.cli"]
# 8 points: 4 models (weight_bits) x 2 processors; about 2 s on two workers
SWEEP = ["sweep", "--model", "tiny", "--set", "model.weight_bits=8,6,4,2",
         "--set", "hw.clock_mhz=200,400", "--jobs", "2"]
N_POINTS = 8
TIMEOUT = 120


# ------------------------------------------------------------------------------------ helpers

def _env(tmp_path, **extra):
    """The test's environment with a private temp folder, so leftovers can be counted."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    return dict(os.environ, TMPDIR=str(tmp), **extra)


def _default_sigint():
    """A shell runs a background job (`pytest ... &`) with SIGINT ignored, and children
    inherit that: Python then installs no KeyboardInterrupt handler, the 'Ctrl-C' below is
    ignored and the command ends 0 (three tests failed so on 2026-12-06). Ctrl-C at a
    terminal comes to a process with the default disposition: restore it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args, tmp_path, env=None, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    then = kw.pop("preexec_fn", None)

    def prepare():
        _default_sigint()
        if then is not None:
            then()
    # its own session: Ctrl-C goes to its process group, and its processes can be found
    return subprocess.Popen(AZSIM + list(args), cwd=tmp_path, env=env or _env(tmp_path),
                            start_new_session=True, preexec_fn=prepare, **kw)


def _wait_for(cond, proc=None, timeout=TIMEOUT, what="a marker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the command ended (status {proc.returncode}) before {what}")
        time.sleep(0.02)
    pytest.fail(f"no {what} within {timeout} s")


def _session(sid):
    """Live (not zombie) processes of session ``sid``: pid -> command name."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 1:].split()
        if int(rest[3]) == sid and rest[0] != "Z":
            found[int(d)] = name
    return found


def _no_leftovers(sid, timeout=20):
    """Every process the command started is gone (workers notice a dead parent within 1 s)."""
    deadline = time.monotonic() + timeout
    while _session(sid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _session(sid)
    for pid in left:   # do not leave them to the next test
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def _rows(db):
    if not os.path.exists(db):
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT count(*) FROM points").fetchone()[0]
    except sqlite3.OperationalError:   # not created yet
        return 0


def _integrity(db):
    with sqlite3.connect(db) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0]


def _export(db, cwd):
    out = subprocess.run(AZSIM + ["results", "export", "--json", db], capture_output=True,
                         text=True, timeout=TIMEOUT, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return {r["key"]: {k: v for k, v in r.items() if k != "run_s"}   # timing differs
            for r in json.loads(out.stdout)}


def _interrupt_sweep(db, tmp_path, sig, *, group, rows_before=1):
    """A sweep into ``db`` signalled once ``rows_before`` points are stored."""
    proc = _start(SWEEP + ["--results", db], tmp_path)
    _wait_for(lambda: _rows(db) >= rows_before, proc, what="a stored point")
    (os.killpg if group else os.kill)(proc.pid, sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc, out.decode(), err.decode()


def _resume(db, tmp_path):
    done = subprocess.run(AZSIM + SWEEP + ["--results", db, "--resume"], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 0, done.stderr
    return done


def _tracebacks(err):
    return [line for line in err.splitlines()
            if "Traceback" in line or line.startswith(("Process ", "  File "))]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The uninterrupted sweep: its database and its export (no timing fields)."""
    where = tmp_path_factory.mktemp("baseline")
    db = str(where / "base.sqlite")
    done = subprocess.run(AZSIM + SWEEP + ["--results", db], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=where)
    assert done.returncode == 0, done.stderr
    return db, _export(db, where)


def _mount_tmpfs(path, size):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")


@pytest.fixture
def small_disk(tmp_path):
    """A mounted 256 kB tmpfs; ``fill(free)`` leaves about ``free`` bytes of it free."""
    path = tmp_path / "small"
    _mount_tmpfs(path, "256k")

    def fill(free):
        stat = os.statvfs(path)
        room = stat.f_bavail * stat.f_frsize - free
        with open(path / "filler", "wb") as fh:
            fh.write(b"\0" * max(0, room))
        return path
    yield fill
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


# ------------------------------------------------------------------------------- run, Ctrl-C


def test_run_ctrl_c_mid_simulation_is_one_line_status_130_and_no_json(tmp_path):
    """On a terminal `azsim run` shows its stages; Ctrl-C in the middle of one: status 130,
    'azsim: interrupted', no traceback, no --json file begun."""
    master, slave = pty.openpty()
    proc = _start(["run", "--model", "tiny", "--json", "r.json"], tmp_path, stderr=slave)
    os.close(slave)
    seen = b""

    def progress():
        nonlocal seen
        if select.select([master], [], [], 0.05)[0]:
            try:
                seen += os.read(master, 4096)
            except OSError:
                pass
        return b"simulate: 1/" in seen
    try:
        _wait_for(progress, proc, what="the 'simulate' progress line")
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=TIMEOUT)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    err = seen.decode().replace("\r", "\n")
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "azsim: interrupted"
    assert "Traceback" not in err
    assert not (tmp_path / "r.json").exists()
    assert not _no_leftovers(proc.pid)


# ---------------------------------------------------------------------------- sweep, signals


@pytest.mark.parametrize("sig,group,status,said", [
    (signal.SIGINT, True, 130, "azsim: interrupted"),        # Ctrl-C: the whole group
    (signal.SIGTERM, False, 143, "azsim: terminated"),       # kill PID, a job's time limit
], ids=["ctrl-c", "sigterm"])
def test_sweep_interrupted_mid_sweep_then_resume_equals_the_uninterrupted_sweep(
        tmp_path, baseline, sig, group, status, said):
    db = str(tmp_path / "r.sqlite")
    proc, out, err = _interrupt_sweep(db, tmp_path, sig, group=group)
    assert proc.returncode == status, err
    assert err.strip().splitlines()[-1] == said
    assert not _tracebacks(err), err
    assert not _no_leftovers(proc.pid)
    assert not os.listdir(tmp_path / "tmp")       # the fork server's folder is removed
    assert _integrity(db) == "ok"
    stored = _rows(db)
    assert 1 <= stored < N_POINTS
    done = _resume(db, tmp_path)
    assert f"{stored} already stored, {N_POINTS - stored} to run" in done.stderr
    assert _export(db, tmp_path) == baseline[1]


def test_sweep_parent_sigkilled_leaves_no_worker_and_resume_completes(tmp_path, baseline):
    db = str(tmp_path / "r.sqlite")
    proc, _, _ = _interrupt_sweep(db, tmp_path, signal.SIGKILL, group=False)
    assert proc.returncode == -signal.SIGKILL
    assert not _no_leftovers(proc.pid)      # workers and fork server follow their parent
    assert _integrity(db) == "ok"
    _resume(db, tmp_path)
    assert _export(db, tmp_path) == baseline[1]


@pytest.fixture(scope="module")
def worker_killed(tmp_path_factory):
    """A sweep one of whose workers is SIGKILLed once a point is stored."""
    where = tmp_path_factory.mktemp("worker")
    db = str(where / "r.sqlite")
    proc = _start(SWEEP + ["--results", db], where)

    def a_worker_killed():
        if _rows(db) < 1:
            return False
        procs = _session(proc.pid)
        # the workers: forked by the fork server, the parent's child
        server = [p for p in procs if _ppid(p) == proc.pid and "forkserver" in _cmdline(p)]
        workers = [p for p in procs if server and _ppid(p) == server[0]]
        if workers:
            os.kill(workers[0], signal.SIGKILL)
        return bool(workers)
    _wait_for(a_worker_killed, proc, what="a running worker")
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc, db, out.decode(), err.decode(), where


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return int(fh.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().decode(errors="replace")
    except OSError:
        return ""


def test_a_sigkilled_worker_costs_one_point_and_resume_reruns_it(worker_killed, baseline):
    proc, db, out, err, where = worker_killed
    assert proc.returncode in (0, 1), err     # 1: the point it was running failed
    assert not _tracebacks(err), err
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT status, error FROM points").fetchall()
    assert len(rows) == N_POINTS and _integrity(db) == "ok"
    failed = [e for s, e in rows if s == "failed"]
    assert len(failed) <= 1 and all("worker process died (signal 9)" in e for e in failed)
    assert not _no_leftovers(proc.pid)
    _resume(db, where)
    assert _export(db, where) == baseline[1]


def test_a_sigkilled_worker_prints_no_python_warning(worker_killed):
    """No 'leaked semaphore objects' UserWarning from the resource tracker: numba's lock for
    starting its threads was a named semaphore the killed worker never removed (until
    2026-12-06; azsim/sweep/pool.py, _numba_init_lock_in_process)."""
    _, _, _, err, _ = worker_killed
    assert "UserWarning" not in err and "resource_tracker" not in err, err


def test_two_sweeps_into_one_database_both_finish_each_point_stored_once(tmp_path, baseline):
    """Started together on a new path (until 2026-12-06 the second could find the file the
    first had just made, with no table yet, and refuse it as 'not an azsim results
    database')."""
    db = str(tmp_path / "r.sqlite")
    procs = [_start(SWEEP[:-1] + ["1", "--results", db], tmp_path) for _ in range(2)]
    results = [p.communicate(timeout=TIMEOUT) for p in procs]
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err.decode()
    with sqlite3.connect(db) as con:
        n, distinct = con.execute("SELECT count(*), count(DISTINCT key) FROM points").fetchone()
    assert n == distinct == N_POINTS
    assert _export(db, tmp_path) == baseline[1]


# ------------------------------------------------------------------------ corpus, signals

def _corpus_busy(tmp_path, sig, group, env=None, ready=None,
                 what="a synthesis worker running espeak-ng"):
    """`azsim corpus` signalled while its synthesis workers run espeak-ng (or once ``ready()``
    says so)."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    proc = _start(["corpus", "c", "--train", "200", "--dev", "0", "--test", "0", "--names", "0",
                   "--jobs", "2"], tmp_path, env=env)
    _wait_for(ready or (lambda: "espeak-ng" in _session(proc.pid).values()), proc, what=what)
    (os.killpg if group else os.kill)(proc.pid, sig)
    out, err = proc.communicate(timeout=TIMEOUT)
    left = _no_leftovers(proc.pid)
    return proc, err.decode(), left


def test_corpus_ctrl_c_is_one_line_without_worker_tracebacks(tmp_path):
    proc, err, left = _corpus_busy(tmp_path, signal.SIGINT, group=True)
    assert proc.returncode == 130, err
    assert [line for line in err.splitlines() if line.strip()] == ["azsim: interrupted"]
    assert not left
    assert not os.listdir(tmp_path / "tmp")


def test_corpus_sigterm_cleans_up_and_prints_no_worker_traceback(tmp_path):
    proc, err, left = _corpus_busy(tmp_path, signal.SIGTERM, group=False)
    assert not left
    assert not _tracebacks(err), err
    assert not os.listdir(tmp_path / "tmp")
    assert proc.returncode == 128 + signal.SIGTERM


_LINGERING_ESPEAK = """#!/bin/sh
# espeak-ng, then one second more of writes into its output's folder: a synthesis still
# running when SIGTERM kills the worker that started it ({mark} says it has begun)
for a in "$@"; do [ "$prev" = "-w" ] && out="$a"; prev="$a"; done
[ -z "$out" ] && exec {real} "$@"
{real} "$@"
touch {mark}
exec {python} -c '
import os, sys, time
folder, end, k = os.path.dirname(sys.argv[1]), time.monotonic() + 1.0, 0
while time.monotonic() < end:
    try:
        with open(os.path.join(folder, "late%d.wav" % (k % 200)), "wb") as f:
            f.write(b"x")
    except OSError:
        break
    k += 1
' "$out"
"""


def test_corpus_sigterm_while_an_orphaned_espeak_still_writes(tmp_path):
    """SIGTERM kills the pool's workers, not the espeak-ng each runs: one that goes on writing
    into its worker's folder made the removal fail with "Directory not empty" and a traceback
    (CI, 2026-12-07: the race noted since 2026-12-06). Here an espeak-ng writes for a second
    more and the signal comes while it does: before the removal tried again 2 of 6 runs
    failed so, after it none of 16."""
    real = shutil.which("espeak-ng") or pytest.skip("espeak-ng is not installed")
    fake, mark = tmp_path / "bin" / "espeak-ng", tmp_path / "writing"
    fake.parent.mkdir()
    fake.write_text(_LINGERING_ESPEAK.format(real=real, python=sys.executable, mark=mark))
    fake.chmod(0o755)
    env = _env(tmp_path, PATH=f"{fake.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc, err, left = _corpus_busy(tmp_path, signal.SIGTERM, group=False, env=env,
                                   ready=mark.exists,
                                   what="an espeak-ng writing after its utterance")
    assert not _tracebacks(err), err
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert not left                       # the orphan ended (its session is waited for)
    assert not os.listdir(tmp_path / "tmp")


# ------------------------------------------------------------------- stdout closed or broken


def test_output_into_a_closed_pipe_ends_quietly_with_status_1(tmp_path, baseline):
    """`azsim results export --json DB | head -c 0`: the reader is gone before the write."""
    read, write = os.pipe()
    os.close(read)
    proc = _start(["results", "export", "--json", baseline[0]], tmp_path, stdout=write)
    os.close(write)
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1 and err.decode() == ""


def test_closed_stdout_is_one_line_error(tmp_path, baseline):
    """`azsim ... >&-` (until 2026-12-06: `results export` died on None.write, `azsim run`
    exited 0 having printed its report nowhere)."""
    proc = _start(["results", "export", "--json", baseline[0]], tmp_path,
                  stdout=None, preexec_fn=lambda: os.close(1))
    _, err = proc.communicate(timeout=TIMEOUT)
    err = err.decode()
    assert proc.returncode == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("azsim: error: standard output"), err


# --------------------------------------------------------------------------------- full disks


def test_json_to_dev_full_is_one_line_and_keeps_the_report(tmp_path):
    done = subprocess.run(AZSIM + ["run", "--model", "tiny", "--json", "/dev/full"],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == ("azsim: error: --json /dev/full: cannot write (No space "
                                   "left on device)")
    assert "transcripts:" in done.stdout     # the report was printed first


def test_output_files_on_a_full_disk_are_left_whole_never_truncated(tmp_path, small_disk,
                                                                   baseline):
    """--json, results export -o (and --markdown, --save-lattice, compress --save) write a temp
    file and rename it: a full disk leaves the previous file as it was. (Until 2026-12-06 they
    were written in place: a truncated 4096-byte JSON that did not parse.)"""
    old = '{"old": "report"}\n'
    dest = tmp_path / "small" / "out.json"
    dest.write_text(old)
    disk = small_disk(2048)              # the run's report is about 50 kB
    for option, argv in (("--json", ["run", "--model", "tiny", "--json"]),
                         ("-o", ["results", "export", "--json", baseline[0], "-o"])):
        done = subprocess.run(AZSIM + argv + [str(dest)], capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == (f"azsim: error: {option} {dest}: cannot write (No space "
                                       "left on device)")
        assert dest.read_text() == old      # untouched, not half overwritten
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "out.json"]   # no temp


def test_corpus_into_a_full_disk_is_one_line_and_leaves_no_partial_split(tmp_path, small_disk):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    disk = small_disk(8192)              # room for the empty splits, not for 3 utterances
    done = subprocess.run(AZSIM + ["corpus", str(disk / "c"), "--train", "0", "--dev", "3",
                                   "--test", "0", "--names", "0", "--jobs", "1"],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path,
                          env=_env(tmp_path))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("azsim: error: "), done.stderr
    partial = [p.name for p in (disk / "c").glob("*.npz") if p.stat().st_size == 0]
    assert not partial


def test_sweep_filling_the_disk_stops_in_one_line_with_every_stored_point_intact(
        tmp_path, small_disk, baseline):
    disk = small_disk(200_000)           # about four 50 kB records
    db = str(disk / "r.sqlite")
    done = subprocess.run(AZSIM + SWEEP + ["--results", db], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=tmp_path, env=_env(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        f"azsim: error: --results {db}: cannot store a point")
    assert not _tracebacks(done.stderr)
    assert _integrity(db) == "ok"
    stored = _export(db, tmp_path)
    assert 1 <= len(stored) < N_POINTS
    assert all(stored[k] == baseline[1][k] for k in stored)
    assert not os.listdir(tmp_path / "tmp")


def test_results_on_a_full_disk_says_the_disk_is_full(tmp_path, small_disk):
    disk = small_disk(0)
    db = str(disk / "r.sqlite")
    done = subprocess.run(AZSIM + ["sweep", "--model", "tiny", "--results", db],
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "not an azsim results database" not in done.stderr, done.stderr
    assert "full" in done.stderr


def test_results_in_a_read_only_folder_can_be_exported(tmp_path, baseline):
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(baseline[0], folder / "r.sqlite")
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        done = subprocess.run(AZSIM + ["results", "export", "--json", str(folder / "r.sqlite")],
                              capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    finally:
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == N_POINTS


def test_a_process_forked_under_the_sigterm_handler_dies_of_sigterm_at_once():
    """azsim's SIGTERM handler is Python-level: a forked pool worker blocked on a semaphore,
    the signal taken by another of its threads, never ran it, and Pool.terminate waited for
    it forever (the full test run hung in test_context_aliases_end_to_end, 2026-12-06).
    Children forked while it is installed get the default action back."""
    from azsim import cli as azsim_cli
    previous = signal.signal(signal.SIGTERM, azsim_cli._on_sigterm)
    try:
        pid = os.fork()
        if pid == 0:   # the child: report its handler by exit status, then leave at once
            os._exit(0 if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert os.waitstatus_to_exitcode(status) == 0
