"""`azsim validate eie`: the EIE cycle kernels against their twins, the model's invariants,
the paper's queue-depth claim, the CLI contract and golden numbers (issue #4, item 6).
The layers run on the PE-array cycle model of `azsim run` (azsim.cost.pe_array) on the
eie-64pe hardware preset."""
import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

from azsim import kernels as K
from azsim.errors import ConfigError
from azsim.validate import load_suite, simulate_layer
from azsim.validate.eie import (batch_bounds, column_entries, random_layer, spmv_cycles,
                                spmv_time, sub_csc)
from azsim.validate.spec import ValidationLayer
from conftest import one_line_error
from reference import eie_np as R


def _csc(dense):
    cols, rows = np.nonzero(np.asarray(dense).T)
    ptr = np.concatenate([[0], np.cumsum(np.count_nonzero(dense, axis=0))]).astype(np.int64)
    return ptr, rows.astype(np.int64)


def _dense(rng, shape, density, empty_cols=()):
    m = rng.random(shape) < density
    m[:, list(empty_cols)] = False
    return m


CASES = [  # (rows, cols, density, pes, index_bits, empty columns)
    (1, 1, 1.0, 1, 4, ()),
    (7, 5, 0.0, 3, 4, ()),            # all-zero matrix
    (40, 9, 0.05, 1, 2, (0, 4)),      # one PE, long zero runs, empty columns
    (64, 30, 0.1, 4, 4, (3,)),
    (200, 17, 0.02, 8, 1, ()),        # 1-bit index: padding everywhere
    (33, 33, 0.9, 64, 4, (32,)),      # more PEs than some slices have rows
    (300, 12, 0.3, 5, 3, ()),
]


@pytest.mark.parametrize("rows,cols,density,pes,bits,empty", CASES)
def test_column_entries_match_twin(rows, cols, density, pes, bits, empty):
    rng = np.random.default_rng(rows * 1000 + cols)
    dense = _dense(rng, (rows, cols), density, empty)
    ptr, idx = _csc(dense)
    got = K.eie_column_entries(ptr, idx, pes, bits)
    assert np.array_equal(got, R.column_entries(dense, pes, bits))
    assert np.array_equal(column_entries(ptr, idx, rows, pes, bits), got)
    assert got.sum() >= dense.sum()  # padding only adds entries


def test_column_entries_padding_rule():
    # One PE, 4-bit index: a nonzero after 16 zeros needs one padding entry, after 15 none.
    col = np.zeros((40, 3), bool)
    col[15, 0] = True          # 15 zeros before: no padding
    col[16, 1] = True          # 16 zeros: one padding entry
    col[[0, 33], 2] = True     # 32 zeros between: two padding entries
    ptr, idx = _csc(col)
    assert K.eie_column_entries(ptr, idx, 1, 4).tolist() == [[1, 2, 4]]


@pytest.mark.parametrize("pes,k,depth,min_cycles", [
    (1, 0, 1, 1), (4, 0, 8, 1),                  # no nonzero activation
    (1, 20, 1, 1), (1, 20, 8, 0),                # a single PE
    (8, 50, 1, 1), (8, 50, 2, 0), (16, 200, 8, 1), (64, 300, 8, 1), (3, 40, 100, 2),
])
def test_schedule_matches_twin(pes, k, depth, min_cycles):
    rng = np.random.default_rng(pes * 7 + k)
    work = rng.integers(0, 9, (pes, k)).astype(np.int64)
    if k:
        work[:, ::7] = 0  # columns empty on every PE
    got = K.eie_schedule(work, depth, min_cycles)
    want = R.schedule(work, depth, min_cycles)
    assert int(got[0]) == want[0] and np.array_equal(got[1], want[1]) and int(got[2]) == want[2]
    assert spmv_cycles(work, depth, min_cycles)[0] == want[0]


def test_schedule_depth_one_is_lockstep():
    work = np.array([[3, 0, 1], [1, 4, 1]], np.int64)
    # Depth 1: every column waits for the slowest PE: max(3,1) + max(1,4) + 1.
    assert K.eie_schedule(work, 1, 1)[0] == 3 + 4 + 1
    # Deep queues: each PE runs on its own; the slower total wins (at 1 cycle minimum).
    assert K.eie_schedule(work, 8, 1)[0] == max(3 + 1 + 1, 1 + 4 + 1)


def test_bad_kernel_inputs_raise():
    with pytest.raises(ValueError):
        column_entries([0, 2], [3, 1], 5, 2, 4)  # rows not ascending
    with pytest.raises(ValueError):
        column_entries([0, 1], [7], 5, 2, 4)     # row out of range
    with pytest.raises(ValueError):
        spmv_cycles(np.ones((2, 3)), 0, 1)


# ------------------------------------------------------------------------------- invariants

SMALL = ValidationLayer(name="small", input_dim=300, output_dim=256, weight_density=0.08,
                        activation_density=0.4, published_us=1.0)
HW = load_suite("eie").hardware


def _cycles(layer=SMALL, seed=3, **hw):
    return simulate_layer(layer, dataclasses.replace(HW, **hw), seed).cycles


def test_the_suite_runs_on_the_eie_preset():
    hw = load_suite("eie").hardware
    assert (hw.name, hw.pe_count, hw.lanes_per_pe, hw.queue_depth, hw.clock_mhz) == (
        "eie-64pe", 64, 1, 8, 800.0)
    assert hw.decoder_location == "sram_to_pe" and hw.zero_handling == "skip_both"


def test_more_pes_never_slower():
    times = [_cycles(pe_count=p, decoder_symbols_per_cycle=float(p),
                     sram_bytes_per_cycle=8 * p) for p in (1, 2, 4, 8, 16, 32, 64)]
    assert all(b <= a for a, b in zip(times, times[1:])), times


def test_deeper_queue_never_slower():
    times = [_cycles(queue_depth=d) for d in (1, 2, 3, 4, 8, 16, 64)]
    assert all(b <= a for a, b in zip(times, times[1:])), times


def test_denser_activations_never_faster():
    layers = [dataclasses.replace(SMALL, activation_density=d) for d in (0.0, 0.1, 0.4, 0.7, 1.0)]
    # Same seed and name: the matrix is the same and each activation set contains the last.
    actives = [set(random_layer(lay, 3).active.tolist()) for lay in layers]
    assert all(a <= b for a, b in zip(actives, actives[1:]))
    assert [len(a) for a in actives] == [round(d * 300) for d in (0.0, 0.1, 0.4, 0.7, 1.0)]
    times = [_cycles(layer=lay) for lay in layers]
    assert times[0] == 0 and all(b >= a for a, b in zip(times, times[1:])), times


def test_random_layer_is_deterministic_and_has_the_published_densities():
    a, b = random_layer(SMALL, 5), random_layer(SMALL, 5)
    assert np.array_equal(a.row_idx, b.row_idx) and np.array_equal(a.active, b.active)
    assert not np.array_equal(a.row_idx, random_layer(SMALL, 6).row_idx)
    big = dataclasses.replace(SMALL, input_dim=2000, output_dim=1000)
    d = random_layer(big, 0)
    assert d.row_idx.size / 2e6 == pytest.approx(0.08, rel=0.02)
    assert d.active.size == 800   # exactly the published fraction of the inputs


# ----------------------------------------- activation batches (EIE section IV, Act R/W)


def test_batch_bounds():
    assert batch_bounds(10, 0) == [(0, 10)] and batch_bounds(10, 10) == [(0, 10)]
    assert batch_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert batch_bounds(25088, 4096)[-1] == (24576, 25088) and len(batch_bounds(25088, 4096)) == 7
    assert batch_bounds(0, 4) == [(0, 0)]
    with pytest.raises(ValueError):
        batch_bounds(5, -1)


@pytest.mark.parametrize("rows,cols,length", [(50, 40, 8), (64, 17, 16), (9, 9, 4), (33, 70, 32)])
def test_blocks_reassemble_the_matrix_and_their_entries_match_the_twin(rows, cols, length):
    """Each batch is its own CSC, rows renumbered from its first: the blocks cover the matrix
    and each block's entries are the twin's count on that dense block."""
    rng = np.random.default_rng(rows + cols)
    dense = _dense(rng, (rows, cols), 0.15)
    ptr, idx = _csc(dense)
    rebuilt = np.zeros_like(dense)
    for r0, r1 in batch_bounds(rows, length):
        for c0, c1 in batch_bounds(cols, length):
            bp, bi = sub_csc(ptr, idx, r0, r1, c0, c1)
            block = np.zeros((r1 - r0, c1 - c0), bool)
            block[bi, np.repeat(np.arange(c1 - c0), np.diff(bp))] = True
            rebuilt[r0:r1, c0:c1] = block
            assert np.array_equal(K.eie_column_entries(bp, bi, 4, 2),
                                  R.column_entries(dense[r0:r1, c0:c1], 4, 2))
    assert np.array_equal(rebuilt, dense)


def _spmv(rows, cols, density, act_density, length, seed, hw=HW):
    rng = np.random.default_rng(seed)
    dense = _dense(rng, (rows, cols), density)
    ptr, idx = _csc(dense)
    active = np.flatnonzero(rng.random(cols) < act_density)
    return spmv_time(ptr, idx, rows, active, hw, 4, 4, length), active


def test_a_layer_within_one_batch_is_unchanged():
    for length in (0, 4096, 64 * 1000):
        t, _ = _spmv(1000, 4000, 0.05, 0.4, length, 1)
        assert (t.input_batches, t.output_batches) == (1, 1)
        if length == 0:
            ref = t
        assert vars(t).keys() == vars(ref).keys()
        for key, value in vars(t).items():
            assert np.array_equal(value, getattr(ref, key)), key


HW8 = dataclasses.replace(HW, pe_count=8, decoder_symbols_per_cycle=8.0, sram_bytes_per_cycle=64)


@pytest.mark.parametrize("seed", range(4))
def test_more_input_batches_never_take_fewer_cycles(seed):
    """Input batches only add barriers (a batch's broadcast waits for the previous batch to
    finish on every PE), which can only delay: nested batch edges (each length halves the
    last) never give fewer cycles, and the work is the same."""
    cols = int(np.random.default_rng(seed).integers(300, 900))
    runs = [_spmv(40, cols, 0.1, 0.5, length, seed, HW8)[0] for length in (0, 320, 160, 80, 40)]
    assert [t.input_batches for t in runs] == [1] + [-(-cols // n) for n in (320, 160, 80, 40)]
    assert all(t.output_batches == 1 for t in runs)
    assert len({(t.issued, t.real, t.busy_pe_cycles) for t in runs}) == 1
    cycles = [t.cycles for t in runs]
    assert all(b >= a for a, b in zip(cycles, cycles[1:])), cycles
    assert cycles[-1] > cycles[0]    # 8+ barriers on a sparse layer do cost something


def test_output_batches_broadcast_again_keep_the_macs_and_never_add_padding():
    for seed in range(3):
        base, active = _spmv(1000, 300, 0.05, 0.6, 0, seed)
        t, _ = _spmv(1000, 300, 0.05, 0.6, 256, seed)
        assert (t.input_batches, t.output_batches) == (2, 4)
        assert t.real == base.real            # every weight is used once
        assert t.issued <= base.issued        # a zero run cut at a batch edge loses padding
        # Each output batch broadcasts the nonzero activations again, one per cycle at most.
        assert t.cycles >= t.output_batches * active.size
    with pytest.raises(ValueError, match="multiple"):
        spmv_time(*_csc(np.ones((4, 4), bool)), 4, [0], HW, 4, 4, 100)


def test_clock_tree_energy_is_pe_power_times_cycles():
    layer = dataclasses.replace(SMALL, input_dim=5000, output_dim=300)
    plain = simulate_layer(layer, HW, 2, activation_registers_per_pe=64)
    clocked = simulate_layer(layer, HW, 2, activation_registers_per_pe=64,
                             clock_network_mw_per_pe=1.874)
    assert clocked.cycles == plain.cycles and plain.clock_energy_uj == 0
    # 1.874 mW for one cycle at 800 MHz = 2.3425 pJ, on each of the 64 PEs.
    want_uj = clocked.cycles * 64 * 2.3425e-6
    assert clocked.clock_energy_uj == pytest.approx(want_uj, rel=1e-12)
    assert clocked.energy_uj - plain.energy_uj == pytest.approx(want_uj, rel=1e-9)
    assert (plain.input_batches, plain.output_batches) == (2, 1)


# ------------------------------------------------------------------------- the paper's claims


def test_queue_depth_one_idles_about_half_the_cycles():
    """Section VI: 'At FIFO size = 1, around half of the total cycles are idle'."""
    suite = load_suite("eie", ["hw.queue_depth=1"])
    layers = [lay for lay in suite.layers if lay.name in ("Alex-8", "VGG-7", "NT-LSTM")]
    eff = [simulate_layer(lay, suite.hardware, 0).load_balance_efficiency for lay in layers]
    assert 0.4 < np.mean(eff) < 0.6, eff


# ------------------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def eie_json(tmp_path_factory):
    from azsim.cli import main
    path = tmp_path_factory.mktemp("v") / "eie.json"
    with pytest.raises(SystemExit) as exc:
        main(["validate", "eie", "--json", str(path)])
        raise SystemExit(0)
    assert exc.value.code in (0, None)
    return json.loads(path.read_text())


def test_validate_eie_golden(eie_json):
    """The honest numbers at seed 0 (no per-layer constant): pinned against silent drift.

    The target was max |error| <= 10 % and mean <= 5 %; the model does not reach it (see
    azsim/validate/eie.py): Alex-8 and VGG-6 need ~20 % more entries than a random matrix of
    the published densities holds, which the published theoretical times show as well. Given
    the paper's own work count, the timing model is off by 4.3 % on average, 13.2 % at most.
    """
    d = eie_json
    assert [lay["name"] for lay in d["layers"]] == [
        "Alex-6", "Alex-7", "Alex-8", "VGG-6", "VGG-7", "VGG-8", "NT-We", "NT-Wd", "NT-LSTM"]
    for lay in d["layers"]:
        assert {"name", "simulated_us", "published_us", "error_pct"} <= set(lay)
        assert lay["error_pct"] == pytest.approx(
            100 * (lay["simulated_us"] - lay["published_us"]) / lay["published_us"])
    # seeded matrices, integer cycle counts: a change in the model moves these (2026-12-04)
    assert d["mean_abs_error_pct"] == pytest.approx(9.0509, abs=1e-4)
    assert d["max_abs_error_pct"] == pytest.approx(27.1766, abs=1e-4)
    assert d["published_work_mean_abs_error_pct"] == pytest.approx(4.2605, abs=1e-4)
    assert d["published_work_max_abs_error_pct"] == pytest.approx(13.1577, abs=1e-4)
    # The 4K activation batches of section IV: inputs (Alex-6, VGG-6) and outputs (NT-Wd).
    batches = {lay["name"]: (lay["input_batches"], lay["output_batches"]) for lay in d["layers"]}
    assert batches == {"Alex-6": (3, 1), "VGG-6": (7, 1), "NT-Wd": (1, 3), **{
        n: (1, 1) for n in ("Alex-7", "Alex-8", "VGG-7", "VGG-8", "NT-We", "NT-LSTM")}}
    assert d["activation_registers_per_pe"] == 64
    for lay in d["layers"]:
        # The work-scaled matrix holds the theoretical time's entries (to the tolerance).
        assert lay["published_work_scale"] > 0
        assert lay["bound"] == "compute" and 0.85 < lay["load_balance_efficiency"] <= 1.0
    assert d["worst_layer"] == "VGG-6"
    # Better than the paper's own theoretical column (mean 13 %, max 35 %).
    assert d["published_theoretical_mean_abs_error_pct"] == pytest.approx(13.0, abs=0.1)
    assert d["published_theoretical_max_abs_error_pct"] == pytest.approx(35.0, abs=0.1)
    assert d["mean_abs_error_pct"] < d["published_theoretical_mean_abs_error_pct"]
    # Counts x the 45 nm table plus the clock tree (Table II: 1.874 mW per PE, every cycle:
    # 64 x 1.874 mW); registers and control logic are not modeled. Pointers at a 16 KB bank,
    # activations at the 2 KB SRAM, 16-bit MACs (until 2026-12-06 pointers and activations
    # paid the 128 KB weight bank and MACs were 8-bit: 0.582 W, near 0.59 W by errors that
    # cancelled). Each part stays below its Table II module (x 64 PEs), which also holds the
    # module's logic; what is modeled plus Table II's registers and combinational logic
    # (64 x 1.867 mW, nothing fitted) is the published chip power to within 5 %.
    assert d["simulated_clock_power_w"] == pytest.approx(64 * 1.874e-3)
    assert d["simulated_power_w"] == pytest.approx(0.469, abs=0.005)
    parts = d["simulated_power_by_part_w"]
    assert sum(parts.values()) == pytest.approx(d["simulated_power_w"])
    assert parts["clock"] == pytest.approx(d["simulated_clock_power_w"])
    assert parts["weight_sram"] + parts["decoder"] < 64 * 4.955e-3     # SpmatRead
    assert parts["pointer_sram"] < 64 * 1.807e-3                       # PtrRead
    assert parts["mac"] < 64 * 1.162e-3                                # ArithmUnit
    unmodeled_w = 64 * (1.026 + 0.841) * 1e-3                          # register, combinational
    assert abs(d["simulated_power_w"] + unmodeled_w - 0.59) < 0.05 * 0.59
    assert sum(lay["energy_uj"] for lay in d["layers"]) * 1e-6 / sum(
        lay["simulated_us"] * 1e-6 for lay in d["layers"]) == pytest.approx(d["simulated_power_w"])


def test_max_error_sets_the_exit_status(cli):
    code, out, err = cli("validate", "eie", "--max-error", "50")
    assert code in (0, None) and "VGG-6" in out and err == ""
    code, out, err = cli("validate", "eie", "--max-error", "10")
    assert code == 1 and "VGG-6" in err and len(err.strip().splitlines()) == 1


def test_user_file_and_overrides(cli, tmp_path):
    f = tmp_path / "chip.toml"
    hw = tmp_path / "hw" / "chip-hw.toml"
    hw.parent.mkdir()
    hw.write_text('name = "chip"\nclock_mhz = 100.0\npe_count = 4\nqueue_depth = 2\n'
                  'sram_bytes = 65536\nsram_bytes_per_cycle = 32\n'
                  'decoder_location = "sram_to_pe"\ndram_bandwidth_gb_per_s = 1.0\n')
    f.write_text('name = "chip"\nsource = "my lab"\nhardware = "hw/chip-hw.toml"\n'
                 '[[layers]]\nname = "fc"\ninput_dim = 64\noutput_dim = 32\n'
                 'weight_density = 0.5\nactivation_density = 1.0\npublished_us = 2.5\n')
    code, out, _ = cli("validate", str(f), "--json", "-", "--set", "hw.pe_count=8", "--seed", "2")
    d = json.loads(out)
    assert code in (0, None) and d["hardware"]["pe_count"] == 8 and d["seed"] == 2
    assert d["layers"][0]["published_theoretical_us"] is None
    assert d["layers"][0]["simulated_us"] == pytest.approx(d["layers"][0]["cycles"] / 100.0)


def _suite(tmp_path, name, layer_fields):
    """A one-layer suite on eie-64pe, 256 outputs at 1 % weights, with ``layer_fields``."""
    path = tmp_path / name
    path.write_text('name = "x"\nsource = "y"\nhardware = "eie-64pe"\n[[layers]]\nname = "a"\n'
                    f'{layer_fields}\noutput_dim = 256\nweight_density = 0.01\n'
                    'published_us = 1.0\n')
    return path


def test_bad_input_is_one_line_and_status_2(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nsource = "y"\nhardware = "eie-64pe"\nweight_bits = 0\n'
                   '[[layers]]\nname = "a"\ninput_dim = 4\noutput_dim = 4\nweight_density = 2\n'
                   'activation_density = 0.5\npublished_us = 1.0\nsize = 3\n')
    empty = _suite(tmp_path, "empty.toml", "input_dim = 64\nactivation_density = 0.3")
    empty.write_text(empty.read_text().replace("weight_density = 0.01", "weight_density = 0"))
    for argv, fragments in [
        (["validate", "no-such-suite"], ["no-such-suite"]),
        (["validate", str(tmp_path / "missing.toml")], ["missing.toml"]),
        (["validate", str(bad)], ["weight_bits = 0", "layers[0].weight_density = 2",
                                  "layers[0].size"]),
        (["validate", "eie", "--set", "hw.nope=1"], ["hw.nope"]),
        (["validate", "eie", "--set", "hw.array=systolic", "--set", "hw.zero_handling=gate"],
         ["systolic"]),
        (["validate", "eie", "--set", "hw.pe_count=0"], ["hw.pe_count = 0"]),
        (["validate", "eie", "--set", "model.x=1"], ["model"]),
        (["validate", "eie", "--max-error", "-1"], ["--max-error"]),
        (["validate", "eie", "--json", str(tmp_path / "no" / "d.json")], ["d.json"]),
        # a density that draws no nonzero activation (the layer did no work: 0 us, -100 %)
        (["validate", str(_suite(tmp_path, "idle.toml", "input_dim = 256\n"
                                 "activation_density = 0.001"))],
         ["activation_density = 0.001", "0 nonzero activations"]),
        # a weight density that leaves no nonzero weight to expect (0 us, -97.6 %)
        (["validate", str(empty)],
         ["weight_density = 0 of 256 x 64", "0 expected nonzero weights"]),
        # tables of every PE and column: a 1,048,576-input layer on 64 PEs took 6 GB
        (["validate", str(_suite(tmp_path, "wide.toml", "input_dim = 1048576\n"
                                 "activation_density = 0.5"))],
         ["'a' has 1048576 input columns per batch on 64 PEs"]),
    ]:
        code, out, err = cli(*argv)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (argv, err)
        assert all(f in lines[0] for f in fragments), (argv, lines[0])


def test_suite_errors_are_reported_together():
    from azsim.validate.spec import suite_from_dict
    with pytest.raises(ConfigError) as exc:
        suite_from_dict({"name": "x", "layers": [{"name": "a"}, {"name": "a"}]}, "t")
    text = str(exc.value)
    assert "source is missing" in text and "hardware is missing" in text
    assert "layers[0].input_dim is missing" in text and "layers[1].published_us" in text
    with pytest.raises(ConfigError, match="array of tables"):
        suite_from_dict({"name": "x", "source": "s", "layers": 3}, "t")


def test_the_power_line_says_when_static_power_is_in_it(cli):
    """A hardware file with leakage added it to the simulated power under a label that said
    'counts x the table' only."""
    import json
    code, out, _ = cli("validate", "eie", "--set", "hw.leakage_mw=1000", "--json", "-")
    data = json.loads(out)
    assert code in (0, 1) and data["simulated_static_power_w"] == pytest.approx(1.0)
    code, out, _ = cli("validate", "eie", "--set", "hw.leakage_mw=1000")
    assert "plus static power 1.000 W" in out


# ------------------------------------------------- a user's own suite (2026-12-06 audit)

def _user_suite(tmp_path, layers: str, head: str = "") -> str:
    f = tmp_path / "mine.toml"
    f.write_text('name = "mine"\nsource = "my lab"\nhardware = "eie-64pe"\n' + head + layers)
    return str(f)


def _layer(name="fc", rows=256, cols=512, wd=0.2, ad=0.5, us=2.0, theo=None):
    return (f'[[layers]]\nname = "{name}"\ninput_dim = {cols}\noutput_dim = {rows}\n'
            f'weight_density = {wd}\nactivation_density = {ad}\npublished_us = {us}\n'
            + (f"published_theoretical_us = {theo}\n" if theo is not None else ""))


def test_a_layer_is_refused_when_its_nonzeros_would_not_fit_in_memory(cli, tmp_path):
    """16384 x 16384 at density 1 passed the weight bound and took 4.3 GB."""
    code, out, err = cli("validate", _user_suite(tmp_path, _layer(rows=16384, cols=16384,
                                                                   wd=1.0)))
    assert code == 2 and "nonzero weights exceeds 33554432" in err and err.count("\n") == 1
    # 508,438 bytes on its fullest PE: 1 MiB of weight SRAM a PE holds it (EIE's 128 KB
    # does not, which was not checked until 2026-12-07)
    code, out, err = cli("validate", _user_suite(tmp_path, _layer(rows=16384, cols=16384,
                                                                   wd=0.1)), "--json", "-",
                         "--set", f"hw.sram_bytes={64 << 20}")
    assert code in (0, None), err


def test_blank_and_repeated_names_are_refused(cli, tmp_path):
    code, out, err = cli("validate", _user_suite(tmp_path, _layer(name=" ")))
    assert code == 2 and "layers[0].name = ' ' is blank" in err, err
    path = _user_suite(tmp_path, _layer("a") + _layer("b") + _layer("a"))
    code, out, err = cli("validate", path)
    assert code == 2 and "name 'a' is given by layers[0], layers[2]" in err, err
    f = tmp_path / "blank.toml"
    f.write_text('name = ""\nsource = "s"\nhardware = "eie-64pe"\n' + _layer())
    code, out, err = cli("validate", str(f))
    assert code == 2 and "name = '' is blank" in err, err


def test_the_summary_lines_name_the_pe_count_and_what_is_missing(cli, tmp_path):
    """The work-count line said '64 PEs' on any array; a theoretical time on some layers only
    dropped both summaries without a word; a work scale at its cap was not flagged."""
    path = _user_suite(tmp_path, _layer("a", theo=1.5) + _layer("b"))
    code, out, err = cli("validate", path, "--set", "hw.pe_count=16")
    assert "(no summary of the theoretical times: 1 of 2 layers give" in out, out
    path = _user_suite(tmp_path, _layer("a", theo=1.5) + _layer("b", theo=1000.0))
    code, out, err = cli("validate", path, "--set", "hw.pe_count=16")
    assert "theoretical time x 16 PEs x clock" in out, out
    assert "(sim@work of b: the theoretical time needs more work than a dense matrix" in out


def test_max_error_allows_floating_point_noise():
    from azsim.validate.report import ValidationReport
    row = SimpleNamespace(error_pct=24.625000000000004)
    report = SimpleNamespace(layers=[row])
    assert ValidationReport.exceeding(report, 24.625) == []
    assert ValidationReport.exceeding(report, 24.62) == [row]


def test_the_clock_tree_power_grows_with_the_clock_and_the_supply_squared(cli):
    """Its energy per cycle was mW over the simulated clock: the same 0.120 W at any clock."""
    def clock_w(*sets):
        code, out, err = cli("validate", "eie", "--json", "-", *sets)
        return json.loads(out)["simulated_clock_power_w"]
    base = clock_w()
    assert base == pytest.approx(0.119936, rel=1e-9)     # 64 x 1.874 mW at 800 MHz
    assert clock_w("--set", "hw.clock_mhz=1600") == pytest.approx(2 * base, rel=1e-12)
    assert clock_w("--set", "hw.supply_v=0.45") == pytest.approx(base / 4, rel=1e-12)


def test_a_set_may_make_the_suites_hardware_a_validation_processor(cli, tmp_path):
    """az-edge decodes before SRAM; --set hw.decoder_location=sram_to_pe makes it one a suite
    can run on. The clock tree's reference load (2026-12-06) checked the hardware as given
    and refused this (a review found it)."""
    f = tmp_path / "edge.toml"
    f.write_text('name = "edge"\nsource = "s"\nhardware = "az-edge"\n'
                 "clock_network_mw_per_pe = 1.0\n" + _layer())
    code, out, err = cli("validate", str(f), "--set", 'hw.decoder_location="sram_to_pe"',
                         "--json", "-")
    assert code in (0, None), err
    d = json.loads(out)
    assert d["simulated_clock_power_w"] > 0


def test_a_preset_name_in_a_suite_is_the_preset_beside_a_file_of_that_name(cli, tmp_path,
                                                                         monkeypatch):
    """`hardware = "eie-64pe"` and `azsim validate eie` name the shipped presets even where a
    file of that name lies beside the suite or in the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "eie-64pe").write_text("not toml = = 1\n")
    (tmp_path / "eie").write_text("not toml = = 1\n")
    code, out, _ = cli("validate", _user_suite(tmp_path, _layer()), "--json", "-")
    assert code in (0, None) and json.loads(out)["hardware"]["pe_count"] == 64
    code, out, _ = cli("validate", "eie", "--json", "-")
    assert code in (0, None) and len(json.loads(out)["layers"]) == 9
    code, _, err = cli("validate", "./eie")
    assert code == 2 and "invalid TOML" in err


def test_hardware_fields_validation_never_reads_are_refused(cli, tmp_path):
    """A --set of a field no validation figure reads exited 0 with the same table (a CLI
    audit, 2026-12-06): refused, and each such field does change nothing (checked by
    running a small suite on hardware with it changed)."""
    import dataclasses
    import json

    from azsim.validate.eie import run_suite
    from azsim.validate.spec import UNUSED_HW_FIELDS, load_suite
    suite = load_suite(str(_suite(tmp_path, "s.toml", "input_dim = 512\n"
                                  "activation_density = 0.4")))
    base = json.dumps(run_suite(suite).to_dict(), sort_keys=True, default=str)
    changed = {"systolic_rows": 7, "systolic_cols": 5, "dataflow": "os",
               "stream_tile_bytes": 64, "dram_bandwidth_gb_per_s": 0.001,
               "dram_latency_ns": 1e6, "nonlinear_ops_per_cycle": 0.01,
               "idle_leakage_share": 1.0}
    assert set(changed) == set(UNUSED_HW_FIELDS)
    for field, value in changed.items():
        hw = dataclasses.replace(suite.hardware, **{field: value})
        other = run_suite(dataclasses.replace(suite, hardware=hw)).to_dict()
        other["hardware"] = json.loads(base)["hardware"]   # the config echoes the field
        assert json.dumps(other, sort_keys=True, default=str) == base, field
        _one_line = cli("validate", "eie", "--set", f"hw.{field}={json.dumps(value)}")
        assert _one_line[0] == 2 and f"hw.{field}" in _one_line[2], _one_line
        assert _one_line[2].count("\n") == 1, _one_line


# ------------------------------------------------------ an audit of 2026-12-07 (four defects)

def test_eies_layers_fit_in_its_128_kb_weight_sram_per_pe(eie_json):
    """Section VI: "The Spmat SRAM is 128KB storing the compressed weights and indices" per PE;
    VGG-6, the largest, holds 100,922 (4-bit weight, 4-bit index) entries on its fullest PE."""
    per_pe = {lay["name"]: lay["weight_sram_bytes_per_pe"] for lay in eie_json["layers"]}
    assert per_pe["VGG-6"] == 100922 == max(per_pe.values())
    for lay in eie_json["layers"]:
        assert lay["weight_sram_bytes_per_pe"] == lay["max_pe_entries"]   # 8-bit entries
    hw = eie_json["hardware"]
    assert hw["sram_bytes"] // hw["pe_count"] == 128 * 1024


def test_a_layer_whose_weights_do_not_fit_a_pes_sram_is_refused(cli, tmp_path):
    """The model reads every weight from the PE's SRAM and a suite has no DRAM: --set
    hw.sram_bytes changed only the energy, and a layer too large for it printed a time."""
    path = _user_suite(tmp_path, _layer(rows=256, cols=4096, wd=0.2))
    code, out, err = cli("validate", path, "--json", "-")
    need = json.loads(out)["layers"][0]["max_pe_entries"]   # one byte each
    assert code in (0, None) and 2000 < need < 4000, err   # 4 rows x 4096 x 0.2
    line = one_line_error(cli("validate", path, "--set", "hw.sram_bytes=65536"),
                          "hw.sram_bytes = 65536 gives each of the 64 PEs 1,024 bytes",
                          f"'fc' ({need:,} bytes", f"give hw.sram_bytes >= {64 * need} ")
    assert "Traceback" not in line
    one_line_error(cli("validate", path, "--set", f"hw.sram_bytes={64 * need - 1}"),
                   f"give hw.sram_bytes >= {64 * need} ")
    code, out, err = cli("validate", path, "--set", f"hw.sram_bytes={64 * need}", "--json", "-")
    assert code in (0, None), err
    assert json.loads(out)["layers"][0]["weight_sram_bytes_per_pe"] == need


def test_the_sram_check_counts_the_stored_entries_whatever_the_zero_handling(cli, tmp_path):
    """Without weight skipping the lanes step through every row, but SRAM still holds the
    compressed stream: the check counted the lanes' entries and refused a suite that fits
    (a review, 2026-12-07: 3,402 stored bytes a PE read as 32,768)."""
    path = _user_suite(tmp_path, _layer(rows=1024, cols=2048, wd=0.1))
    sizes = {}
    for zero in ("skip_both", "skip_activations", "none"):
        code, out, err = cli("validate", path, "--set", f"hw.zero_handling={zero}",
                             "--set", "hw.sram_bytes=524288", "--json", "-")
        assert code in (0, None), (zero, err)
        sizes[zero] = json.loads(out)["layers"][0]["weight_sram_bytes_per_pe"]
    assert len(set(sizes.values())) == 1 and sizes["none"] < 16 * 2048 // 4, sizes


def test_an_sram_too_small_for_the_stream_tile_can_be_set(cli, tmp_path):
    """eie-64pe's 16 KB stream tile wants 32 KB of SRAM (double buffering), and validate
    refuses hw.stream_tile_bytes, which it never reads: a smaller SRAM could not be given."""
    path = _user_suite(tmp_path, _layer(rows=256, cols=512, wd=0.01))
    code, out, err = cli("validate", path, "--set", "hw.sram_bytes=16384", "--json", "-")
    assert code in (0, None), err
    d = json.loads(out)
    assert (d["hardware"]["sram_bytes"], d["hardware"]["stream_tile_bytes"]) == (16384, 8192)
    assert d["layers"][0]["weight_sram_bytes_per_pe"] <= 256
    # and a hardware file of one's own with a 16 KB SRAM and the default tile
    hw = tmp_path / "small-hw.toml"
    hw.write_text('name = "small"\nclock_mhz = 100.0\npe_count = 4\nsram_bytes = 16384\n'
                  'sram_bytes_per_cycle = 4\ndecoder_location = "sram_to_pe"\n'
                  'dram_bandwidth_gb_per_s = 1.0\n')
    f = tmp_path / "small.toml"
    f.write_text('name = "s"\nsource = "s"\nhardware = "small-hw.toml"\n'
                 'clock_network_mw_per_pe = 1.0\n' + _layer(rows=64, cols=64, wd=0.1))
    code, out, err = cli("validate", str(f))
    assert code in (0, None), err
    # below two of the smallest tiles a hardware config takes: one line naming the setting
    one_line_error(cli("validate", path, "--set", "hw.sram_bytes=100"),
                   "hw.sram_bytes = 100", "give hw.sram_bytes >= 128")


def test_the_power_line_prints_the_clock_tree_power_charged(cli, tmp_path):
    """--set hw.clock_mhz=1600 doubled the clock tree's watts but printed the suite's 1.874 mW
    per PE (at 800 MHz) beside them."""
    path = _user_suite(tmp_path, _layer(), "clock_network_mw_per_pe = 1.874\n")
    code, out, err = cli("validate", path)
    assert "plus the clock network at 1.874 mW per PE on every cycle (0.120 W)" in out, out
    code, out, err = cli("validate", path, "--set", "hw.clock_mhz=1600")
    assert "clock network at 3.748 mW per PE on every cycle, the suite's 1.874 mW" in out, out
    assert "(0.240 W)" in out
    code, out, err = cli("validate", path, "--set", "hw.clock_mhz=1600", "--json", "-")
    d = json.loads(out)
    assert d["simulated_clock_network_mw_per_pe"] == pytest.approx(3.748, rel=1e-12)
    assert d["clock_network_mw_per_pe"] == 1.874     # the suite's figure, as given
    assert d["simulated_clock_power_w"] == pytest.approx(
        64 * d["simulated_clock_network_mw_per_pe"] * 1e-3, rel=1e-12)


# its work 1.52 x the i.i.d. matrix's in the active columns: the search converges at step 3
WORK = dataclasses.replace(SMALL, name="work", published_theoretical_us=0.072)


@pytest.mark.parametrize("steps", [1, 2])
def test_an_unconverged_work_search_reports_one_evaluation_and_says_so(monkeypatch, steps):
    """Out of steps, the search returned the last evaluation's cycles with the next step's
    scale, never evaluated: now the closest evaluation's pair, flagged."""
    from azsim.validate import eie
    evaluated, densities = [], []
    real_time, real_csc = eie.spmv_time, eie._bernoulli_csc

    def spy_time(*a, **k):
        t = real_time(*a, **k)
        evaluated.append(t)
        return t

    def spy_csc(rng, n_cols, n_rows, density):
        densities.append(density)
        return real_csc(rng, n_cols, n_rows, density)
    monkeypatch.setattr(eie, "spmv_time", spy_time)
    monkeypatch.setattr(eie, "_bernoulli_csc", spy_csc)
    monkeypatch.setattr(eie, "_WORK_STEPS", steps)
    result = eie._published_work(WORK, HW, 3, 4, 4)
    cycles, scale = result[:2]
    target = WORK.published_theoretical_us * HW.clock_mhz * HW.pe_count
    assert len(evaluated) == steps
    misses = [abs(t.active_entries - target) for t in evaluated]
    assert min(misses) > eie._WORK_TOL * target     # none converged
    best = int(np.argmin(misses))
    assert scale * WORK.weight_density == pytest.approx(densities[best], rel=1e-12)
    assert cycles == evaluated[best].cycles
    if steps == 1:
        assert scale == 1.0
    assert result[2:] == (False, True)   # not capped; unconverged


def test_a_converged_work_search_is_not_flagged_and_the_table_names_one_that_is(monkeypatch):
    from azsim.validate import eie, render_text, run_suite
    from azsim.validate.spec import ValidationSuite
    cycles, scale, capped, unconverged = eie._published_work(WORK, HW, 3, 4, 4)
    assert not (capped or unconverged) and scale != 1.0
    suite = load_suite("eie")
    suite = dataclasses.replace(suite, layers=(WORK,))
    assert isinstance(suite, ValidationSuite)
    assert "the search for 'work x'" not in render_text(run_suite(suite, 3))
    monkeypatch.setattr(eie, "_WORK_STEPS", 2)
    report = run_suite(suite, 3)
    assert report.layers[0].published_work_unconverged
    assert report.to_dict()["layers"][0]["published_work_unconverged"] is True
    assert ("(sim@work of work: the search for 'work x' took 2 steps without getting within "
            "0.2 % of the theoretical time's entries; the closest step is shown)"
            in render_text(report))


def test_a_hardware_file_with_a_base_has_its_base_tile_shrunk_too(cli, tmp_path):
    """The tile that fits was read from the hardware file's own fields: a file whose base
    gives a 32 KB tile read as the default 16 KB one, so --set hw.sram_bytes=32768 kept the
    base's tile and was refused, where the same processor written out in full ran."""
    (tmp_path / "mid.toml").write_text('base = "eie-64pe"\nstream_tile_bytes = 32768\n')
    (tmp_path / "hw.toml").write_text('base = "mid.toml"\nclock_mhz = 1000\n')
    f = tmp_path / "s.toml"
    f.write_text('name = "s"\nsource = "s"\nhardware = "hw.toml"\n'
                 + _layer(rows=256, cols=512, wd=0.01))
    code, out, err = cli("validate", str(f), "--set", "hw.sram_bytes=32768", "--json", "-")
    assert code in (0, None), err
    d = json.loads(out)
    assert (d["hardware"]["sram_bytes"], d["hardware"]["stream_tile_bytes"]) == (32768, 16384)
