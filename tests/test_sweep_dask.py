"""`azsim sweep --executor dask` against a Dask LocalCluster (skipped without dask)."""
import sqlite3

import pytest

distributed = pytest.importorskip("distributed")


def _records(db):
    with sqlite3.connect(db) as con:
        return sorted(con.execute("SELECT key, status, record FROM points").fetchall())


def test_dask_sweep_stores_the_same_records_as_the_local_pool(cli, tmp_path):
    axes = ["--set", "model.weight_bits=8,4", "--set", "hw.clock_mhz=400,800"]
    with distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                  dashboard_address=None) as cluster:
        dask_db = str(tmp_path / "dask.sqlite")
        code, out, err = cli("sweep", *axes, "--executor", "dask", "--scheduler",
                             cluster.scheduler_address, "--results", dask_db)
        assert code in (0, None), err
        assert "4 points ok, 0 failed" in out
        # Resume through Dask as well: nothing left to run.
        code, out, err = cli("sweep", *axes, "--executor", "dask", "--scheduler",
                             cluster.scheduler_address, "--results", dask_db, "--resume")
        assert "4 already stored, nothing to run" in err
    local_db = str(tmp_path / "local.sqlite")
    code, _, err = cli("sweep", *axes, "--results", local_db, "--jobs", "1")
    assert code in (0, None), err
    assert _records(dask_db) == _records(local_db)
    assert all(status == "ok" for _, status, _ in _records(dask_db))


def test_dask_needs_a_reachable_scheduler(cli, tmp_path, monkeypatch):
    from azsim.sweep import runner
    monkeypatch.setattr(runner, "DASK_CONNECT_TIMEOUT_S", 1.0)
    db = tmp_path / "r.sqlite"
    code, _, err = cli("sweep", "--set", "model.weight_bits=8,4", "--executor", "dask",
                       "--results", str(db))
    assert code == 2 and "--scheduler" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("sweep", "--set", "model.weight_bits=8,4", "--executor", "dask",
                       "--scheduler", "tcp://127.0.0.1:9", "--results", str(db))
    assert code == 2 and "cannot connect" in err and len(err.strip().splitlines()) == 1, err
    assert not db.exists()   # nothing ran, nothing was stored
