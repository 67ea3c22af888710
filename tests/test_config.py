"""Configuration layer: presets, overrides, validation messages (azsim.config)."""

import dataclasses
import os

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from azsim.config import (
    EncoderConfig,
    EnergyTable,
    HardwareConfig,
    ModelConfig,
    list_presets,
    load_energy_table,
    load_hardware_config,
    load_model_config,
    to_dict,
)
from azsim.config.loader import (
    apply_overrides,
    build,
    load_toml,
    parse_override,
    resolve_preset,
    split_overrides,
)
from azsim.errors import ConfigError

KINDS = {"models": ModelConfig, "hardware": HardwareConfig, "energy": EnergyTable}
ROOTS = {"models": "model", "hardware": "hw", "energy": ""}
ALL_PRESETS = [(kind, name) for kind in KINDS for name in list_presets(kind)]


def config_error(fn, *args, **kwargs) -> str:
    """Run ``fn``, expect a ConfigError, return its message (always checked to be one line)."""
    with pytest.raises(ConfigError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    return message


def tiny_encoder(**changes) -> dict:
    data, _ = resolve_preset("models", "tiny")
    return {**data["encoder"], **changes}


# ------------------------------------------------------------------------------------- presets


def test_shipped_presets_are_listed():
    assert {"tiny", "he2019"} <= set(list_presets("models"))
    assert "az-edge" in list_presets("hardware")
    assert "horowitz-45nm" in list_presets("energy")


def test_default_presets_load():
    model = load_model_config()
    assert model.name == "small" and model.vocab_size == 29   # the trained model (issue #6)
    assert model.weights == "small"
    assert model.encoder.time_reduction_after == 1 and model.encoder.time_reduction_factor == 2
    hw = load_hardware_config()
    assert hw.name == "az-edge" and hw.zero_handling == "skip_both"
    assert hw.macs_per_cycle == 256 and hw.sram_bytes == 2 * 1024 * 1024
    assert (hw.array, hw.pe_count, hw.lanes_per_pe, hw.queue_depth) == ("pe", 16, 16, 8)
    assert hw.dram_bandwidth_gb_per_s == pytest.approx(12.8)
    table = load_energy_table(hw.energy_table)
    assert table.actions["dram_read"].energy_pj == 1950.0
    assert table.actions["int8_mult"].per == "op"


def test_he2019_shapes():
    model = load_model_config("he2019")
    assert (model.encoder.lstm_layers, model.encoder.hidden, model.encoder.projection) == (
        8, 2048, 640)
    assert model.encoder.stack_frames == 4 and model.encoder.time_reduction_after == 2
    assert model.prediction.lstm_layers == 2 and model.joint.hidden == 640
    assert model.vocab == "wordpieces" and model.vocab_size == 4097


def test_energy_table_covers_every_reference_row():
    expected = {"int8_add", "int16_add", "int32_add", "int8_mult", "int32_mult", "fp16_add",
                "fp32_add", "fp16_mult", "fp32_mult", "sram_8kb_read", "sram_32kb_read",
                "sram_1mb_read", "dram_read"}
    table = load_energy_table()
    assert set(table.actions) == expected
    assert all("ISSCC 2014" in action.source for action in table.actions.values())
    assert "not checked" in table.actions["sram_1mb_read"].source
    assert "not checked" not in table.actions["sram_8kb_read"].source


@pytest.mark.parametrize("kind,name", ALL_PRESETS)
def test_every_preset_round_trips(kind, name):
    data, source = resolve_preset(kind, name)
    spec = build(KINDS[kind], data, source, root=ROOTS[kind])
    assert build(KINDS[kind], to_dict(spec), "round trip") == spec


def test_specs_are_frozen():
    model = load_model_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.encoder.hidden = 3
    with pytest.raises(TypeError):
        load_energy_table().actions["dram_read"] = None


def test_user_file_by_path(tmp_path):
    path = tmp_path / "mine.toml"
    data, _ = resolve_preset("models", "tiny")
    data["name"] = "mine"
    path.write_text(_dump_toml(data))
    assert load_model_config(str(path)).name == "mine"


def test_a_file_with_a_section_header_is_told_to_drop_it(tmp_path):
    """``[model]`` over a model file's fields (as ``--set model.x`` spells them) gave
    'model.model is not a known key' and every required field missing (a CLI audit)."""
    data, _ = resolve_preset("models", "tiny")
    for loader, kind, header, fields in (
            (load_model_config, "models", "model", data),
            (load_hardware_config, "hardware", "hw", resolve_preset("hardware", "az-edge")[0]),
            (load_hardware_config, "hardware", "hardware", {"clock_mhz": 400})):
        path = tmp_path / f"{header}.toml"
        path.write_text(_dump_toml({header: fields}))
        message = config_error(loader, str(path))
        assert f"a [{header}] table" in message and f"remove the [{header}] line" in message
        assert f"presets/{kind}/" in message and "is missing" not in message, message
    path.write_text(_dump_toml(data))   # the same fields at the top level load
    assert load_model_config(str(path)).name == data["name"]


@pytest.mark.parametrize("override,hint", [
    ("model.sparsity=.5", "('.5' is not a TOML number; write 0.5)"),
    ("hw.pe_count=5.", "('5.' is not a TOML number; write 5)"),
    ("model.sparsity=5%", None), ("hw.clock_mhz=fast", None)])
def test_a_number_toml_does_not_read_says_how_to_write_it(override, hint):
    """``.5`` is no TOML number, so --set kept it as a string, and the message said only that
    a string is no number (a CLI audit, 2026-12-07)."""
    loader = load_model_config if override.startswith("model.") else load_hardware_config
    message = config_error(loader, "tiny" if loader is load_model_config else "az-edge",
                           [override])
    assert "has type string" in message
    if hint is None:
        assert "is not a TOML number" not in message, message
    else:
        assert message.endswith(hint), message


def test_unknown_preset_lists_available(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)   # a folder named nope where pytest runs is a folder, not this
    message = config_error(load_model_config, "nope")
    assert "'nope'" in message and "tiny" in message and "he2019" in message
    assert "az-edge" in config_error(load_hardware_config, "nope")


def test_a_folder_is_not_an_unknown_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    message = config_error(load_hardware_config, "mine")
    assert message.startswith("mine: is a folder") and "az-edge" in message, message
    (tmp_path / "tiny").mkdir()   # a folder named like a preset does not hide the preset
    assert load_model_config("tiny").name == "tiny"


def test_a_file_named_like_a_preset_does_not_hide_it(tmp_path, monkeypatch):
    """A bare shipped name is the shipped thing, on the command line and in a file, even
    beside a file of that name; ``./NAME`` (or any path) is the file."""
    monkeypatch.chdir(tmp_path)
    for name in ("tiny", "az-edge", "small"):
        (tmp_path / name).write_text("not toml = = 1\n")
    assert load_model_config("tiny").name == "tiny"
    assert load_hardware_config("az-edge").name == "az-edge"
    assert "invalid TOML" in config_error(load_hardware_config, "./az-edge")
    data, _ = resolve_preset("models", "tiny")
    data["name"] = "mine"
    data["weights"] = "small"   # shipped weights by name, beside a file named small
    (tmp_path / "mine.toml").write_text(_dump_toml(data))
    assert load_model_config(str(tmp_path / "mine.toml")).weights == "small"
    data["weights"] = "other"   # no shipped weights of that name: the file beside it
    (tmp_path / "other").write_text("x")
    (tmp_path / "mine.toml").write_text(_dump_toml(data))
    assert load_model_config(str(tmp_path / "mine.toml")).weights == str(tmp_path / "other")


def test_missing_file_names_it(tmp_path):
    message = config_error(load_model_config, str(tmp_path / "absent.toml"))
    assert "absent.toml" in message


def test_malformed_toml_names_file_and_position(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\nvocab_size = = 3\nseed = 1\n')
    message = config_error(load_toml, path)
    assert "broken.toml" in message and "line" in message
    assert "broken.toml" in config_error(load_hardware_config, str(path))


# ----------------------------------------------------------------------------------- overrides


def test_override_changes_nested_field():
    model = load_model_config("tiny", ["model.encoder.hidden=128", "hw.clock_mhz=400"])
    assert model.encoder.hidden == 128
    assert model.prediction.hidden == 64  # untouched
    hw = load_hardware_config("az-edge", ["model.encoder.hidden=128", "hw.clock_mhz=400",
                                          "hw.zero_handling=gate"])
    assert hw.clock_mhz == 400.0 and isinstance(hw.clock_mhz, float)
    assert hw.zero_handling == "gate"


def test_parse_override_values():
    assert parse_override("model.encoder.hidden=64") == (["model", "encoder", "hidden"], 64)
    assert parse_override("hw.zero_handling=skip") == (["hw", "zero_handling"], "skip")
    assert parse_override('model.name="a b"') == (["model", "name"], "a b")
    assert parse_override("hw.clock_mhz=2.5") == (["hw", "clock_mhz"], 2.5)
    assert parse_override("run.flag=true") == (["run", "flag"], True)
    assert parse_override("model.name=1\nx = 2") == (["model", "name"], "1\nx = 2")


@pytest.mark.parametrize("text", ["model.encoder.hidden", "=3", "model..hidden=3", ".x=1"])
def test_malformed_override(text):
    message = config_error(parse_override, text)
    assert "section.field=value" in message


def test_override_unknown_root():
    message = config_error(load_model_config, "tiny", ["gpu.cores=3"])
    assert "'gpu'" in message and "(allowed: model, hw)" in message
    assert split_overrides(["hw.x=1", "model.y=2"]) == {"model": ["model.y=2"],
                                                        "hw": ["hw.x=1"]}
    # "run" was an accepted section that nothing read: such a setting did nothing, silently
    assert "'run'" in config_error(load_model_config, "tiny", ["run.utterances=3"])


def test_apply_overrides_creates_tables_and_copies():
    data = {"encoder": {"hidden": 3}}
    out = apply_overrides(data, ["model.encoder.hidden=5", "model.decode.max_symbols_per_frame=2",
                                 "hw.clock_mhz=1"], "model")
    assert out == {"encoder": {"hidden": 5}, "decode": {"max_symbols_per_frame": 2}}
    assert data == {"encoder": {"hidden": 3}}
    assert "model.encoder.hidden" in config_error(
        apply_overrides, data, ["model.encoder.hidden.x=1"], "model")


def test_override_int_field_with_text_fails():
    message = config_error(load_model_config, "tiny", ["model.encoder.hidden=abc"])
    assert 'model.encoder.hidden = "abc"' in message and "integer" in message


# ---------------------------------------------------------------------------------- validation


def test_unknown_key_in_set_names_key_and_allowed():
    message = config_error(load_model_config, "tiny", ["model.encoder.hiden=3"])
    assert "model.encoder.hiden is not a known key" in message
    assert "allowed: stack_frames, stack_stride, lstm_layers, hidden" in message


def test_a_blank_name_is_refused():
    """--set model.name= ran, and the report's header read "model  (" (a CLI audit)."""
    assert "model.name = '': a model needs a name" in config_error(
        load_model_config, "tiny", ["model.name="])
    assert "hw.name = ' ': a processor needs a name" in config_error(
        load_hardware_config, "az-edge", ['hw.name=" "'])


def test_unknown_key_in_toml_names_key_and_allowed(tmp_path):
    data, _ = resolve_preset("hardware", "az-edge")
    data["clock_ghz"] = 1.0
    path = tmp_path / "hw.toml"
    path.write_text(_dump_toml(data))
    message = config_error(load_hardware_config, str(path))
    assert message.startswith(str(path))
    assert "hw.clock_ghz is not a known key" in message and "clock_mhz" in message


def test_several_problems_in_one_message():
    message = config_error(load_model_config, "tiny", [
        "model.encoder.hidden=-3", "model.vocab=words", "model.weight_bits=true",
        "model.frontend.hop_ms=nan", "model.joint=5"])
    assert message.startswith("model preset 'tiny'")
    assert "model.encoder.hidden = -3 is out of range [1, 16384]" in message
    assert 'model.vocab = "words" is not one of "chars", "wordpieces"' in message
    assert "model.weight_bits = true has type boolean, expected integer" in message
    assert "model.frontend.hop_ms = nan is out of range" in message
    assert "model.joint = 5 has type integer, expected table" in message
    assert message.count(";") >= 4


def test_missing_required_fields_reported_together():
    message = config_error(build, EncoderConfig, {"stack_frames": 2}, "x.toml",
                           root="model.encoder")
    assert "model.encoder.lstm_layers is missing" in message
    assert "model.encoder.hidden is missing" in message


def test_time_reduction_after_last_layer_fails():
    message = config_error(load_model_config, "tiny", ["model.encoder.time_reduction_after=3"])
    assert "model.encoder.time_reduction_after = 3" in message and "lstm_layers = 2" in message
    # After the last layer it would feed the joint network factor x the width it has (the run
    # crashed on it until 2026-12-06); with factor 1 it does nothing; 0 disables it.
    message = config_error(load_model_config, "tiny", ["model.encoder.time_reduction_after=2"])
    assert "is not before the last layer" in message and "allowed 0 (none) to 1" in message
    assert load_model_config("tiny", ["model.encoder.time_reduction_after=2",
                                      "model.encoder.time_reduction_factor=1"])
    assert load_model_config("tiny", ["model.encoder.time_reduction_after=0"])


def test_window_longer_than_fft_fails():
    message = config_error(load_model_config, "tiny", ["model.frontend.window_ms=40"])
    assert "model.frontend.window_ms" in message and "n_fft = 512" in message


def test_float_field_accepts_int_int_field_rejects_float():
    assert build(EncoderConfig, tiny_encoder(), "x").hidden == 64
    message = config_error(build, EncoderConfig, tiny_encoder(hidden=64.0), "x")
    assert "hidden = 64.0 has type number, expected integer" in message


def test_energy_table_needs_actions():
    message = config_error(build, EnergyTable, {"name": "e", "source": "s", "actions": {}}, "e")
    assert "actions is empty" in message
    bad = {"name": "e", "source": "s", "actions": {"mac": {"energy_pj": -1.0, "per": "op"}}}
    message = config_error(build, EnergyTable, bad, "e")
    assert "actions.mac.energy_pj = -1.0 is out of range" in message
    assert "actions.mac.source is missing" in message


def _horowitz_dict(changes=None):
    from azsim.config import load_energy_table
    from azsim.config.loader import to_dict
    data = to_dict(load_energy_table("horowitz-45nm"))
    for (action, field), value in (changes or {}).items():
        data["actions"][action][field] = value
    return data


def test_an_energy_table_the_cost_model_would_misread_is_refused():
    """A row in another unit than the cost model reads ('32-bit access' costed as 64-bit)
    and SRAM energy falling with the array's size (bigger banks grew cheaper per access)
    were accepted."""
    message = config_error(build, EnergyTable, _horowitz_dict(
        {("sram_8kb_read", "per"): "32-bit access"}), "e")
    assert "actions.sram_8kb_read.per = '32-bit access'" in message
    assert "'64-bit access'" in message
    message = config_error(build, EnergyTable, _horowitz_dict(
        {("int8_mult", "per"): "64-bit access"}), "e")
    assert "actions.int8_mult.per" in message and "per 'op'" in message
    message = config_error(build, EnergyTable, _horowitz_dict(
        {("sram_1mb_read", "energy_pj"): 1.0}), "e")
    assert "sram_1mb_read energy_pj = 1 is below sram_32kb_read's 20" in message
    build(EnergyTable, _horowitz_dict(), "e")   # the shipped table passes


# ---------------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-(2**40), max_value=2**40))
@example(0)
@example(1)
@example(16384)
@example(16385)
def test_int_field_accepts_exactly_its_range(value):
    lo, hi = next(f for f in dataclasses.fields(EncoderConfig)
                  if f.name == "hidden").metadata["range"]
    data = tiny_encoder(hidden=value)
    if lo <= value <= hi:
        assert build(EncoderConfig, data, "x").hidden == value
    else:
        assert f"hidden = {value} is out of range [{lo}, {hi}]" in config_error(
            build, EncoderConfig, data, "x")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20))
def test_any_string_value_gives_one_line_message(text):
    """Whatever a user types, a bad choice is reported on one line and the override parses."""
    path, value = parse_override("hw.zero_handling=" + text)
    assert path == ["hw", "zero_handling"]
    data, _ = resolve_preset("hardware", "az-edge")
    data["zero_handling"] = text
    if text in ("none", "gate", "skip_weights", "skip_activations", "skip_both"):
        assert build(HardwareConfig, data, "x").zero_handling == text
    elif text == "skip":  # issue #2's spelling, an alias
        assert build(HardwareConfig, data, "x").zero_handling == "skip_both"
    else:
        assert "zero_handling" in config_error(build, HardwareConfig, data, "x")


# -------------------------------------------------------------------------------------- helper


def _dump_toml(data: dict, prefix: str = "") -> str:
    """Minimal TOML writer for tests (scalars and nested tables only)."""
    scalars, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(f"\n[{prefix}{key}]\n" + _dump_toml(value, f"{prefix}{key}."))
        elif isinstance(value, bool):
            scalars.append(f"{key} = {'true' if value else 'false'}\n")
        elif isinstance(value, str):
            scalars.append(f'{key} = "{value}"\n')
        else:
            scalars.append(f"{key} = {value!r}\n")
    return "".join(scalars) + "".join(tables)


def test_hardware_presets_and_array_rules():
    assert {"az-edge", "eie-64pe"} <= set(list_presets("hardware"))
    eie = load_hardware_config("eie-64pe")
    assert (eie.pe_count, eie.lanes_per_pe, eie.macs_per_cycle, eie.clock_mhz) == (64, 1, 64, 800.0)
    assert eie.decoder_location == "sram_to_pe" and eie.zero_handling == "skip_both"
    sys_ = load_hardware_config("az-edge", ["hw.array=systolic", "hw.zero_handling=gate",
                                            "hw.systolic_rows=8", "hw.systolic_cols=32"])
    assert sys_.macs_per_cycle == 256
    message = config_error(load_hardware_config, "az-edge", ["hw.array=systolic"])
    assert "zero_handling" in message and "systolic" in message
    # Every field error at once, unknown keys included.
    message = config_error(load_hardware_config, "az-edge",
                           ["hw.pe_count=0", "hw.dataflow=is", "hw.lanes=4"])
    assert "hw.pe_count = 0" in message and "hw.dataflow" in message and "hw.lanes " in message


# ---------------------------------------------------------------- a file based on another: base


def test_a_hardware_file_based_on_a_preset_is_the_preset_with_its_fields(tmp_path):
    f = tmp_path / "my-npu.toml"
    f.write_text('base = "az-edge"\npe_count = 32\nlanes_per_pe = 8\n')
    mine = load_hardware_config(str(f))
    same = load_hardware_config("az-edge", ["hw.pe_count=32", "hw.lanes_per_pe=8"])
    assert mine.name == "my-npu"   # not the base's name, which its reports would carry
    assert mine.description == "az-edge with pe_count, lanes_per_pe"
    assert dataclasses.replace(mine, name=same.name, description=same.description) == same
    # --set applies over the file as over any other
    assert load_hardware_config(str(f), ["hw.pe_count=4"]).pe_count == 4


def test_a_nested_table_of_a_based_file_merges_field_by_field(tmp_path):
    f = tmp_path / "wide.toml"
    f.write_text('base = "tiny"\nname = "tiny-wide"\n[encoder]\nhidden = 96\n')
    mine = load_model_config(str(f))
    tiny = load_model_config("tiny")
    assert mine.name == "tiny-wide"
    assert mine.encoder == dataclasses.replace(tiny.encoder, hidden=96)
    assert dataclasses.replace(mine, name="tiny", encoder=tiny.encoder) == tiny


def test_bases_chain_and_each_file_reads_its_paths_from_its_own_folder(tmp_path, monkeypatch):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "e.toml").write_text(
        'base = "horowitz-45nm"\nname = "lpddr5"\n[actions.dram_read]\nenergy_pj = 800.0\n'
        'per = "64-bit access"\nsource = "illustrative"\n')
    (tmp_path / "a" / "mid.toml").write_text(
        'base = "az-edge"\nenergy_table = "e.toml"\nsram_bytes = 1048576\n')
    (tmp_path / "a" / "b" / "top.toml").write_text('base = "../mid.toml"\npe_count = 8\n')
    monkeypatch.chdir(tmp_path)   # neither file's folder
    hw = load_hardware_config("a/b/top.toml")
    assert (hw.name, hw.pe_count, hw.sram_bytes) == ("top", 8, 1048576)
    assert os.path.samefile(hw.energy_table, tmp_path / "a" / "e.toml")
    table = load_energy_table(hw.energy_table)
    base = load_energy_table("horowitz-45nm")
    assert table.actions["dram_read"].energy_pj == 800.0
    assert table.actions["dram_read"].source == "illustrative"
    assert {k: v for k, v in table.actions.items() if k != "dram_read"} == \
        {k: v for k, v in base.actions.items() if k != "dram_read"}


def test_an_energy_action_of_a_based_table_is_replaced_whole(tmp_path):
    """A changed figure must carry its own unit and source, not inherit the base's citation."""
    f = tmp_path / "e.toml"
    f.write_text('base = "horowitz-45nm"\n[actions.dram_read]\nenergy_pj = 800.0\n')
    message = config_error(load_energy_table, str(f))
    assert "actions.dram_read.per is missing" in message
    assert "actions.dram_read.source is missing" in message


@pytest.mark.parametrize("row, expected", [
    ("dram_reed", "did you mean [actions.dram_read]?"),   # a misspelt row the model reads
    ("sram_2mb_read", "so it would change no figure"),     # a point the model never reads
])
def test_a_based_energy_table_refuses_a_new_row_the_cost_model_does_not_read(
        tmp_path, row, expected):
    """Over a base, a misspelt [actions.dram_reed] was kept as a reference row and the run
    used the base's DRAM energy, silently (a newcomer audit, 2026-12-07)."""
    f = tmp_path / "e.toml"
    f.write_text(f'base = "horowitz-45nm"\n[actions.{row}]\nenergy_pj = 800.0\n'
                 'per = "64-bit access"\nsource = "illustrative"\n')
    message = config_error(load_energy_table, str(f))
    assert message.startswith(str(f)) and f"[actions.{row}]" in message
    assert "dram_read" in message and expected in message
    # the base's own rows, read or not, may be replaced as before
    f.write_text('base = "horowitz-45nm"\n[actions.fp16_add]\nenergy_pj = 0.5\nper = "op"\n'
                 'source = "illustrative"\n')
    assert load_energy_table(str(f)).actions["fp16_add"].energy_pj == 0.5


@pytest.mark.parametrize("text, expected", [
    ('base = 3\n', "base = 3: give a hardware preset (az-edge, eie-64pe) or a path"),
    ('base = ""\n', 'base = "": give a hardware preset'),
    ('base = "az-edg"\n', 'base = "az-edg": unknown hardware preset (available: az-edge'),
    ('base = "nowhere.toml"\n', 'base = "'),
    ('base = "az-edge"\npe_cont = 3\n', "hw.pe_cont is not a known key"),
])
def test_a_bad_base_is_one_line_naming_the_file(tmp_path, text, expected):
    f = tmp_path / "hw.toml"
    f.write_text(text)
    message = config_error(load_hardware_config, str(f))
    assert message.startswith(str(f))
    assert expected in message


def test_a_loop_of_bases_is_refused(tmp_path):
    (tmp_path / "x.toml").write_text('base = "y.toml"\n')
    (tmp_path / "y.toml").write_text('base = "x.toml"\n')
    message = config_error(load_hardware_config, str(tmp_path / "x.toml"))
    assert "a loop of bases" in message
    (tmp_path / "z.toml").write_text('base = "z.toml"\n')
    assert "a loop of bases" in config_error(load_hardware_config, str(tmp_path / "z.toml"))


def test_a_preset_cannot_name_a_base():
    """Only users' files are laid over a base; a shipped preset is read as it is."""
    for kind in KINDS:
        for name in list_presets(kind):
            assert "base" not in resolve_preset(kind, name)[0]


@pytest.mark.parametrize("text, expected", [
    ('base = "az-edge"\npe_cont = 3\n', "hw.pe_cont is not a known key"),
    ('base = "az-edge"\npe_count = "x"\n', 'hw.pe_count = "x" has type string'),
])
def test_a_base_files_own_problem_names_the_base_file(tmp_path, text, expected):
    """A problem in a file named as a base was reported against the file naming it (top.toml:
    hw.pe_cont is not a known key, a key top.toml does not have)."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mid.toml").write_text(text)
    (tmp_path / "top.toml").write_text('base = "sub/mid.toml"\npe_count = 8\n')
    message = config_error(load_hardware_config, str(tmp_path / "top.toml"))
    assert message.startswith(str(tmp_path / "sub" / "mid.toml") + ": "), message
    assert expected in message


def test_a_newcomers_near_misses_say_what_to_give(tmp_path, monkeypatch):
    """From a newcomer audit: the preset's file name (the README names
    az-edge.toml in the source tree) said only "No such file or directory", and
    macs_per_cycle, which every run record shows, was "not a known key"."""
    monkeypatch.chdir(tmp_path)
    msg = config_error(load_hardware_config, "az-edge.toml")
    assert msg == ("az-edge.toml: no such file; the shipped hardware preset of that name is "
                   "given as az-edge"), msg
    msg = config_error(load_hardware_config, "mine.toml")
    assert msg.startswith("mine.toml: no such file; give a hardware preset (az-edge"), msg
    msg = config_error(load_hardware_config, "az-edge", ["hw.macs_per_cycle=512"])
    assert "hw.macs_per_cycle is derived, not set: pe_count x lanes_per_pe" in msg, msg
    (tmp_path / "m.toml").write_text('base = "az-edge"\nmacs_per_cycle = 512\n')
    msg = config_error(load_hardware_config, str(tmp_path / "m.toml"))
    assert "macs_per_cycle is derived, not set" in msg and "not a known key" not in msg, msg


def test_a_list_where_one_preset_is_taken_points_to_the_sweep(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for listed in ("az-edge,eie-64pe", "az-edge,mine.toml"):
        msg = config_error(load_hardware_config, listed)
        assert msg.endswith("several, comma-separated, are for azsim sweep --hw/--model (one "
                            "run takes one)"), msg


def test_a_model_files_missing_weights_name_the_model(tmp_path):
    import azsim
    from azsim.errors import AzsimError
    (tmp_path / "mine.toml").write_text('base = "small"\nweights = "nope.npz"\n')
    with pytest.raises(AzsimError) as exc:
        azsim.simulate(model=str(tmp_path / "mine.toml"))
    assert str(exc.value).startswith(f"model mine's model.weights: {tmp_path / 'nope.npz'}: "
                                     "no such weights file"), str(exc.value)
