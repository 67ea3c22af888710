"""azsim compare: two runs side by side, the settings that differ, totals and layers."""
import json

import pytest

import azsim
from azsim.sweep.store import open_for_reading


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """tiny on az-edge, and on a file of its own with 4 PEs and a narrow SRAM port."""
    folder = tmp_path_factory.mktemp("compare")
    (folder / "npu4.toml").write_text('base = "az-edge"\npe_count = 4\n'
                                      "sram_bytes_per_cycle = 16\n")
    a, b = folder / "a.json", folder / "b.json"
    a.write_text(json.dumps(azsim.simulate(model="tiny").to_dict()))
    b.write_text(json.dumps(azsim.simulate(model="tiny", hardware=str(folder / "npu4.toml"))
                            .to_dict()))
    return str(a), str(b)


def _one_line_error(cli, *argv):
    code, out, err = cli(*argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("azsim: error: "), (out, err)
    return lines[0]


def test_compare_gives_each_runs_own_figures_and_their_change(cli, two_runs, tmp_path):
    a, b = two_runs
    ra, rb = (json.loads(open(p).read()) for p in two_runs)
    out_json = tmp_path / "c.json"
    code, out, err = cli("compare", a, b, "--json", str(out_json))
    assert code in (0, None), err
    lines = out.splitlines()
    assert lines[0].startswith("A: tiny 8-bit on az-edge") and lines[1].startswith(
        "B: tiny 8-bit on npu4")
    # the settings that differ, the names first, and not the description beside the name
    assert lines[2] == ("settings that differ: hw.name az-edge -> npu4; hw.pe_count 16 -> 4; "
                        "hw.sram_bytes_per_cycle 64 -> 16"), lines[2]
    data = json.loads(out_json.read_text())
    totals = {t["name"]: t for t in data["totals"]}
    assert totals["latency_cycles"]["a"] == ra["latency"]["cycles"]
    assert totals["latency_cycles"]["b"] == rb["latency"]["cycles"]
    assert totals["latency_cycles"]["change"] == pytest.approx(
        (rb["latency"]["cycles"] - ra["latency"]["cycles"]) / ra["latency"]["cycles"])
    assert totals["energy_total_uj"]["b"] == rb["energy"]["total_uj"]
    for component, uj in rb["energy"]["breakdown_uj"].items():
        assert totals[f"energy_{component}_uj"]["b"] == uj
    row = next(r for r in lines if r.strip().startswith("latency, cycles"))
    assert row.split()[2:4] == [f"{ra['latency']['cycles']:,}", f"{rb['latency']['cycles']:,}"]
    # every layer of both, with its record's figures and bound
    layers = {lay["name"]: lay for lay in data["layers"]}
    assert list(layers) == sorted(layers, key=lambda n: -max(layers[n]["cycles"]["a"],
                                                            layers[n]["cycles"]["b"]))
    for la, lb in zip(ra["layers"], rb["layers"]):
        mine = layers[la["name"]]
        assert (mine["cycles"]["a"], mine["cycles"]["b"]) == (la["cycles"], lb["cycles"])
        assert (mine["energy_uj"]["a"], mine["dram_read_bytes"]["b"]) == (
            la["energy_uj"], lb["dram_read_bytes"])
        assert mine["bound"]["b"].startswith(lb["bound"])
    # a quarter of the PEs on a quarter of the port: the big layers take longer
    assert layers["enc.0.lstm"]["cycles"]["change"] > 1.0


def test_compare_takes_two_points_of_a_store_by_key(cli, tmp_path):
    db = str(tmp_path / "s.sqlite")
    code, out, err = cli("sweep", "--model", "tiny", "-j", "1", "--set",
                         "model.weight_bits=8,4", "--set", "hw.clock_mhz=400,800",
                         "--results", db)
    assert code in (0, None), err
    points = {(p.config["model"]["weight_bits"], p.config["hw"]["clock_mhz"]): p.key
              for p in open_for_reading(db)}
    line = _one_line_error(cli, "compare", db)
    assert "4 successful points, and compare takes two" in line and \
        points[8, 400][:12] in line, line
    code, out, err = cli("compare", db, "--point", points[8, 800][:8], "--point",
                         points[4, 800][:8], "--json", "-")
    assert code in (0, None), err
    data = json.loads(out)
    assert [d["field"] for d in data["settings_differ"]] == ["model.weight_bits"]
    assert (data["a"]["key"], data["b"]["key"]) == (points[8, 800], points[4, 800])
    line = _one_line_error(cli, "compare", db, "--point", "zz", "--point", points[4, 800])
    assert "--point zz: matches 0 of the 4 successful points" in line
    line = _one_line_error(cli, "compare", db, "--point", points[4, 800])
    assert "--point given once: give it twice" in line


def test_runs_on_other_speech_are_compared_with_a_warning(cli, two_runs, tmp_path):
    from azsim.sweep.spec import shipped_audio_paths
    db = str(tmp_path / "s.sqlite")
    for clip in shipped_audio_paths()[:2]:
        code, out, err = cli("sweep", "--model", "tiny", "-j", "1", "--audio", clip,
                             "--results", db)
        assert code in (0, None), err
    code, out, err = cli("compare", db)
    assert code in (0, None), err
    assert "warning: A and B ran on different speech" in out
    assert "settings that differ: input WAV file" in out


def test_bad_compare_input_is_one_line(cli, two_runs):
    a, b = two_runs
    assert "the same run; give two runs" in _one_line_error(cli, "compare", a, a)
    assert "one or two files, not 3" in _one_line_error(cli, "compare", a, b, a)
    assert "1 successful point, and compare takes two" in _one_line_error(cli, "compare", a)


def test_compare_says_what_the_cycles_waited_on(cli, two_runs):
    a, b = two_runs
    code, out, err = cli("compare", a, b, "--json", "-")
    assert code in (0, None), err
    totals = {t["name"]: t for t in json.loads(out)["totals"]}
    for path, side in ((a, "a"), (b, "b")):
        record = json.loads(open(path).read())
        sram = sum(lay["cycles_by_resource"]["sram"] for lay in record["layers"])
        assert totals["cycles_sram"][side] == round(sram)


def test_compare_writes_markdown_for_a_design_review(cli, two_runs, tmp_path):
    a, b = two_runs
    md = tmp_path / "c.md"
    code, out, err = cli("compare", a, b, "--markdown", str(md))
    assert code in (0, None), err
    text = md.read_text()
    assert text.startswith("# azsim compare\n\nA: tiny 8-bit on az-edge")
    assert "  \nB: tiny 8-bit on npu4" in text          # a line of its own
    assert "## Totals" in text and "| latency, cycles |" in text and "## Layers (7" in text
    assert out.splitlines()[0].startswith("A: ")       # and the terminal table as well
    line = _one_line_error(cli, "compare", a, b, "--json", "-", "--markdown", "-")
    assert "give one of them a file" in line


def test_run_records_on_other_speech_are_compared_with_a_warning(cli, two_runs, tmp_path):
    """A run record has no `input` column: two records on other WAV files were compared
    with 'settings that differ: none' and no warning (the README promises one)."""
    from azsim.sweep.spec import shipped_audio_paths
    a, _ = two_runs
    one = tmp_path / "one.json"
    one.write_text(json.dumps(azsim.simulate(model="tiny", audio=shipped_audio_paths()[:1])
                              .to_dict()))
    code, out, err = cli("compare", a, str(one))
    assert code in (0, None), err
    assert "warning: A and B ran on different speech" in out, out
    # the same speech: no warning, and a store's point beside a record names no input
    db = str(tmp_path / "s.sqlite")
    code, out, err = cli("sweep", "--model", "tiny", "-j", "1", "--results", db)
    assert code in (0, None), err
    (key,) = [p.key for p in open_for_reading(db)]
    code, out, err = cli("compare", a, db, "--point", key[:8], "--point",
                         open_for_reading(a)[0].key[:8])
    assert code in (0, None), err
    assert "warning" not in out and "settings that differ: none" in out, out


def test_a_record_layer_without_a_name_is_named_not_a_traceback(cli, two_runs, tmp_path):
    a, b = two_runs
    record = json.loads(open(b).read())
    del record["layers"][0]["name"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record))
    line = _one_line_error(cli, "compare", a, str(bad))
    assert "layers[0].name is missing" in line, line
