"""The CLI contract: a readable run, JSON output, one-line errors with exit status 2."""
import json

import numpy as np
import pytest



def test_run_prints_a_summary(cli):
    code, out, err = cli("run")
    assert code in (0, None)
    assert "transcripts:" in out and "latency:" in out and "energy:" in out


def test_run_json_to_stdout_and_file(cli, tmp_path):
    code, out, _ = cli("run", "--json", "-", "--bits", "6")
    data = json.loads(out)
    assert data["model"]["weight_bits"] == 6
    path = tmp_path / "r.json"
    code, out, _ = cli("run", "--json", str(path), "--set", "hw.clock_mhz=400")
    assert json.loads(path.read_text())["hardware"]["clock_mhz"] == 400


def _bad_inputs(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("hello")
    toml = tmp_path / "bad.toml"
    toml.write_text("clock_mhz = [1,\n")
    npz = tmp_path / "bad.npz"
    npz.write_bytes(b"PK\x03\x04garbage")
    return [
        (["run", "--audio", str(tmp_path / "missing.wav")], "missing.wav"),
        (["run", "--bits", "9"], "weight_bits = 9"),
        (["run", "--set", "model.nope=1"], "model.nope"),
        (["run", "--set", "nosuchsection.x=1"], "nosuchsection"),
        (["run", "--hw", str(toml)], "bad.toml"),
        (["run", "--weights", str(npz)], "bad.npz"),
        (["run", "--audio", str(text)], "notes.wav"),
        (["run", "--model", "no-such-model"], "no-such-model"),
        (["run", "--json", str(tmp_path / "no" / "dir" / "r.json")], "r.json"),
    ]


def test_bad_input_gives_one_line_and_status_2(cli, tmp_path):
    for argv, fragment in _bad_inputs(tmp_path):
        code, out, err = cli(*argv)
        assert code == 2, argv
        lines = err.strip().splitlines()
        assert len(lines) == 1, (argv, err)
        assert fragment in lines[0], (argv, lines[0])
        assert "Traceback" not in err
