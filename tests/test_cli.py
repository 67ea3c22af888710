"""The CLI contract: a readable run, JSON output, one-line errors with exit status 2."""
import json

import numpy as np
import pytest



def test_run_prints_a_summary(cli):
    code, out, err = cli("run")
    assert code in (0, None)
    assert "transcripts:" in out and "latency:" in out and "energy:" in out


def test_the_waiting_line_gives_the_cycles_by_what_they_waited_on(cli, tmp_path):
    """It is the record's attribution summed over layers, largest first; a streaming run
    waits on DRAM."""
    path = tmp_path / "r.json"
    code, out, err = cli("run", "--model", "tiny", "--set", "hw.sram_bytes=65536",
                         "--set", "hw.stream_tile_bytes=4096", "--json", str(path))
    assert code in (0, None), err
    (line,) = [x for x in out.splitlines() if x.startswith("waiting:  ")]
    shown = [part.rsplit(" ", 2) for part in
             line[len("waiting:  "):-len(" of the cycles")].split(", ")]
    names = {"MAC array": "compute", "SRAM port": "sram", "decoder": "decoder",
             "nonlinear unit": "nonlinear", "DRAM": "dram"}
    record = json.loads(path.read_text())
    total = {}
    for layer in record["layers"]:
        for resource, cycles in layer["cycles_by_resource"].items():
            total[resource] = total.get(resource, 0.0) + cycles
    whole = sum(total.values())
    assert [float(pct) for _, pct, _ in shown] == sorted(
        (float(pct) for _, pct, _ in shown), reverse=True)
    for name, pct, unit in shown:
        assert unit == "%" and float(pct) == round(100 * total[names[name]] / whole, 1)
    assert "DRAM" in [name for name, _, _ in shown]


@pytest.mark.parametrize("idle_share", [0.0, 0.075])
def test_power_is_the_utterances_energy_over_their_span_and_busy_time(cli, tmp_path,
                                                                      idle_share):
    """average power: the utterances' energy (busy and idle) over their span; busy power:
    their frames' energy over the busy time; the one-time preload in neither, and the three
    parts add up to the run's energy."""
    path = tmp_path / "r.json"
    code, out, err = cli("run", "--model", "tiny", "--set", f"hw.idle_leakage_share={idle_share}",
                         "--json", str(path))
    assert code in (0, None), err
    r = json.loads(path.read_text())
    en, utts = r["energy"], r["utterances"]
    assert sum(u["energy_uj"] for u in utts) + en["preload_uj"] == pytest.approx(
        en["total_uj"], rel=1e-12)
    assert en["preload_uj"] > 0
    span = sum(max(u["seconds"], u["frame_finish_ms"][-1] / 1e3) for u in utts)
    assert en["span_seconds"] == pytest.approx(span)
    assert en["average_power_mw"] == pytest.approx(
        sum(u["energy_uj"] for u in utts) / span / 1e3, rel=1e-12)
    frames_uj = sum(sum(u["frame_energy_uj"]) for u in utts)
    assert en["busy_power_mw"] == pytest.approx(frames_uj / r["latency"]["seconds"] / 1e3,
                                                rel=1e-12)
    # power-gated between frames, the utterances' energy is their frames'
    assert (frames_uj == pytest.approx(sum(u["energy_uj"] for u in utts))) == (idle_share == 0)
    (line,) = [x for x in out.splitlines() if x.startswith("power:    ")]
    assert line.startswith(f"power:    {en['average_power_mw']:.3f} mW on average")


def test_the_header_shows_the_clock_as_given(cli):
    """``:.0f`` printed 1.4 MHz as "1 MHz" while the JSON said 1.4 (audit, 2026-12-06)."""
    code, out, _ = cli("run", "--model", "tiny", "--set", "hw.clock_mhz=1.4")
    assert "on az-edge (1.4 MHz," in out.splitlines()[0]


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
        (["run", "--gptq", "--codebook"], "--codebook and --gptq"),
        (["eval", "--gptq", "--codebook"], "--codebook and --gptq"),
        (["run", "--set", "model.quantizer=rtn"], "model.quantizer"),
    ]


def test_bad_input_gives_one_line_and_status_2(cli, tmp_path):
    for argv, fragment in _bad_inputs(tmp_path):
        code, out, err = cli(*argv)
        assert code == 2, argv
        lines = err.strip().splitlines()
        assert len(lines) == 1, (argv, err)
        assert fragment in lines[0], (argv, lines[0])
        assert "Traceback" not in err


def test_run_on_a_test_set_matches_azsim_eval(cli, tmp_path):
    """`azsim run --test` runs what `azsim eval --test` runs (same calibration, same integer
    model, same features): the same transcripts and WER, with the processor's cost."""
    from azsim.api import simulate
    from azsim.evaluate import evaluate
    import importlib.resources
    shipped = importlib.resources.files("azsim") / "data" / "testset" / "test.npz"
    with np.load(str(shipped)) as z:
        arrays = {k: z[k] for k in z.files}
    n = 3
    end = int(arrays["offsets"][n])
    small = tmp_path / "three.npz"
    np.savez(small, features_u8=arrays["features_u8"][:end], offsets=arrays["offsets"][:n + 1],
             feature_offset=arrays["feature_offset"][:n], feature_step=arrays["feature_step"][:n],
             texts=arrays["texts"][:n], voices=arrays["voices"][:n])
    ev = evaluate(testset=str(small))
    rep = simulate(testset=str(small)).to_dict()
    assert [u["transcript"] for u in rep["utterances"]] == \
        [h["hypothesis"] for h in ev["hypotheses"]]
    assert [u["reference"] for u in rep["utterances"]] == \
        [h["reference"] for h in ev["hypotheses"]]
    assert rep["wer"] == pytest.approx(ev["wer"])
    # a user's set is named as given (its stem, "three", was a corpus split's "test" too)
    assert rep["audio"]["testset"] == str(small) and rep["audio"]["utterances"] == n
    assert simulate(testset="test", utterances=2).to_dict()["audio"]["utterances"] == 2
    code, out, err = cli("run", "--test", str(small))
    assert code in (0, None) and "over 3 utterance(s)" in out, err
    # a test set's utterances are named three/0000, ...: their lattices are three_0000.azl
    lat = tmp_path / "lat"
    lat.mkdir()
    code, out, err = cli("run", "--test", str(small), "--utterances", "2", "--beam", "2",
                         "--save-lattice", str(lat))
    assert code in (0, None), err
    assert sorted(p.name for p in lat.iterdir()) == ["three_0000.azl", "three_0001.azl"]
    for argv, fragment in [(["--test", "test", "--utterances", "0"], "allowed: 1..250"),
                           (["--utterances", "2"], "only with --test"),
                           (["--test", "nope"], "--test nope"),
                           (["--test", "test", "--endpoint-tail-ms", "500"], "holds features"),
                           (["--test", str(small), "--endpoint-tail-ms", "500"], "holds features"),
                           (["--test", "test", "--audio", "x.wav"], "not both")]:
        code, out, err = cli("run", *argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and fragment in lines[0], (argv, err)


def test_python_dash_m_azsim_is_the_azsim_command(tmp_path):
    """Where no console script is on PATH (a user's environment), `python -m azsim` is the
    command: the same name in its messages and the same exit statuses. (Run outside the
    checkout: `-m` puts the current folder first, and the checkout's azsim/ lacks the
    kernels an install places in it.)"""
    import subprocess
    import sys
    ok = subprocess.run([sys.executable, "-m", "azsim", "--version"], capture_output=True,
                        text=True, cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("azsim, version ")
    bad = subprocess.run([sys.executable, "-m", "azsim", "run", "--model", "nosuch"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("azsim: error: unknown model preset")


def test_the_run_text_names_sparse_weights_small_figures_and_what_layer_energy_leaves_out(cli):
    """A report audit: --sparsity 0.95 and --format csr printed as plain "8-bit weights";
    a real-time factor below 5e-5 printed as 0.0000; the latency line said "after
    end of speech" for a time measured from the end of the audio; layer energies leave out the
    static power without saying so."""
    from azsim.report.render import _fixed
    assert _fixed(4e-5, 4) == "4e-05" and _fixed(0.0006, 4) == "0.0006"
    assert _fixed(0.0, 3) == "0.000"
    code, out, err = cli("run", "--model", "tiny", "--sparsity", "0.8", "--format", "csr")
    assert code in (0, None), err
    assert "8-bit weights, 80 % zero, pruned 80 % (magnitude), csr format," in out
    code, out, err = cli("run", "--model", "tiny", "--bits", "2")   # rounding, no pruning
    assert "% zero, " in out and "pruned" not in out and "(magnitude)" not in out
    assert "after end of audio" in out and "after end of speech" not in out
    assert "(layer energies leave out the static power:" in out
