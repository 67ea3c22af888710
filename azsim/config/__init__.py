"""Configuration: frozen specs for the model, the hardware and the energy table.

Specs are loaded from TOML (a shipped preset name or a path), optionally changed by ``--set``
overrides written ``section.field=value`` (``model.encoder.hidden=64``, ``hw.clock_mhz=400``),
and validated once: every problem is reported together in one ConfigError.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path

from azsim.arguments import checked
from azsim.errors import ConfigError, as_called, named
from azsim.config.loader import (
    apply_overrides,
    build,
    from_folder,
    is_user_file,
    PRESET_KINDS,
    list_presets,
    override_key,
    parse_override,
    paths_from_file,
    resolve_preset,
    shown_override,
    shown_overrides,
    split_overrides,
    to_dict,
)
from azsim.config.schema import (
    COST_MODEL_ACTIONS,
    DecodeConfig,
    EncoderConfig,
    EnergyAction,
    EnergyTable,
    FrontendConfig,
    HardwareConfig,
    JointConfig,
    ModelConfig,
    PredictionConfig,
)

# The model `azsim run`, `azsim compress`, `azsim sweep` and `azsim.simulate` use when none is
# named: the trained `small` RNN-T (issue #6), so the default run decodes real words with the
# emission pattern of a trained model. `tiny` and `he2019` carry untrained, generated weights.
DEFAULT_MODEL = "small"
DEFAULT_HARDWARE = "az-edge"

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_HARDWARE",
    "load_model_config",
    "check_weights_named_once",
    "load_hardware_config",
    "load_energy_table",
    "energy_table_of",
    "list_presets",
    "to_dict",
    "ModelConfig",
    "FrontendConfig",
    "EncoderConfig",
    "PredictionConfig",
    "JointConfig",
    "DecodeConfig",
    "HardwareConfig",
    "EnergyTable",
    "EnergyAction",
]


def check_weights_named_once(weights, overrides: Iterable[str]) -> None:
    """``--weights FILE`` beside ``--set model.weights=OTHER``: the option won and the setting
    was dropped without a word (a CLI audit, 2026-12-06); the same value twice is fine."""
    if weights is None:
        return
    for item in overrides:
        if override_key(item) == "model.weights" and \
                str(parse_override(item)[1]) != str(weights):
            raise ConfigError(f"{shown_override(item)}: {named('weights', weights)} names "
                              "the weights too; give them once")


def load_model_config(name_or_path: str | Path = DEFAULT_MODEL,
                      overrides: Iterable[str] = ()) -> ModelConfig:
    """Load a model preset or TOML file and apply the ``model.*`` overrides.

    Overrides for other sections (``hw.*``, ``run.*``) are ignored here, so the CLI may pass
    the same list to every loader; an unknown section is an error.
    """
    return _load("models", ModelConfig, "model", name_or_path, overrides)


def load_hardware_config(name_or_path: str | Path = "az-edge",
                         overrides: Iterable[str] = ()) -> HardwareConfig:
    """Load a hardware preset or TOML file and apply the ``hw.*`` overrides."""
    return _load("hardware", HardwareConfig, "hw", name_or_path, overrides)


def load_energy_table(name_or_path: str | Path = "horowitz-45nm", where: str | None = None
                      ) -> EnergyTable:
    """Load an energy table preset or TOML file; ``where`` names the setting that gave it
    (``hw.energy_table``) in every message about it."""
    data, source = read_table("energy", EnergyTable, "", name_or_path, where=where)
    return build(EnergyTable, data, source)


def energy_table_of(hw: HardwareConfig) -> EnergyTable:
    """The energy table ``hw.energy_table`` names; every message about it names the setting.
    A ``hw.supply_v`` needs the table's own voltage to scale its energies."""
    table = load_energy_table(hw.energy_table, where="hw.energy_table")
    if hw.supply_v and not table.voltage_v:
        raise ConfigError(f"hw.supply_v = {hw.supply_v:g}: energy table {table.name} gives no "
                          "voltage_v above 0, the supply its energies were measured at, so "
                          "they cannot be scaled to another; give the table's voltage_v or "
                          "leave hw.supply_v = 0")
    return table


def _load(kind: str, cls: type, root: str, name_or_path: str | Path,
          overrides: Iterable[str]):
    mine = split_overrides(checked("overrides", overrides))[root]
    data, source = read_table(kind, cls, root, name_or_path)
    if mine:
        data = apply_overrides(data, mine, root)
        source = f"{source} with {shown_overrides(mine)}"
    instance = build(cls, data, source, root=root)
    if root == "model" and not instance.branch.enabled:
        _refuse_settings_of_an_idle_branch(mine)
    if root == "model" and not instance.decode.context_file:
        _refuse_a_bonus_without_phrases(mine)
    return instance


# How many files a chain of ``base`` keys may pass through: far more than a real chain needs,
# and a bound on a chain of generated files that never closes into a loop.
_MAX_BASE_DEPTH = 16


def read_table(kind: str, cls: type, root: str, name_or_path: str | Path,
               where: str | None = None) -> tuple[dict, str]:
    """The raw table of a preset, or of a user's file as :func:`_user_file` reads it (its
    paths from its folder, laid over its ``base``), and its source for messages: what every
    loader of ``kind`` builds ``cls`` from (under ``root`` in field paths)."""
    data, source = resolve_preset(kind, name_or_path, where=where)
    if is_user_file(kind, str(name_or_path)):
        data = _user_file(kind, cls, root, data, source, str(name_or_path))
    return data, source


def _user_file(kind: str, cls: type, root: str, data, source: str, path: str,
               chain: tuple[str, ...] = ()) -> dict:
    """A user's TOML file of ``kind`` (hardware, model or energy table): refused if its fields
    sit under a section header, its relative paths made relative to its folder, and, when it
    names a ``base`` (a shipped preset or another file of the same kind, relative to this
    file's folder), laid over that base: each field it gives replaces the base's, a nested
    table (``[decode]``, ``[encoder]``) field by field, an entry of an energy table's
    ``[actions]`` whole (so its ``source`` is the one written beside its figure). A file with a
    base and no ``name`` of its own is named after itself (its file name without ``.toml``),
    so that its reports do not carry the base's name. Bases may have bases; a loop is refused."""
    _refuse_a_section_header(data, source, kind, cls, root)
    data = dict(data)
    has_base, base = "base" in data, data.pop("base", None)
    data = paths_from_file(cls, data, source, root=root)
    if not has_base:
        return data
    allowed = f"a {PRESET_KINDS[kind]} preset ({', '.join(list_presets(kind))}) or a path to " \
              "a .toml file, relative to this file's folder"
    shown = json.dumps(base, ensure_ascii=False) if isinstance(base, str) else repr(base)
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{source}: base = {shown}: give {allowed}")
    label = f"{source}: base = {shown}"
    value = from_folder(base, Path(path).parent, kind, label)
    here = os.path.realpath(path)
    chain = chain + (here,)
    base_data, _ = resolve_preset(kind, value, where=f"{source}: base")
    if is_user_file(kind, value):
        if os.path.realpath(value) in chain:
            raise ConfigError(f"{label}: a loop of bases ({' -> '.join(chain)} -> "
                              f"{os.path.realpath(value)}); give {allowed}")
        if len(chain) >= _MAX_BASE_DEPTH:
            raise ConfigError(f"{label}: more than {_MAX_BASE_DEPTH} files in a chain of bases")
        base_data = _user_file(kind, cls, root, base_data, value, value, chain)
        # the base file's own problems (an unknown key, a wrong type) name it, not the file
        # that names it as a base: the merged table is checked only against the top file
        build(cls, base_data, value, root=root)
    if kind == "energy":
        _refuse_an_unread_new_action(data, base_data, source, shown)
    merged = _lay_over(cls, base_data, data)
    if "name" not in data:
        merged["name"] = Path(path).name[: -len(".toml")] if path.endswith(".toml") \
            else Path(path).name
    if "description" not in data and "description" in typing.get_type_hints(cls):
        changed = ", ".join(key for key in data if key != "name") or "nothing changed"
        merged["description"] = f"{base_data.get('name', base)} with {changed}"
    return merged


def _refuse_an_unread_new_action(data: Mapping, base_data: Mapping, source: str,
                                 shown_base: str) -> None:
    """An energy table laid over a base may replace the base's rows; a row it adds that the
    cost model does not read is ignored. A misspelt ``[actions.dram_reed]`` over
    ``horowitz-45nm`` ran on the base's DRAM energy with no word (a newcomer audit,
    2026-12-07): a silently wrong number. A table without a base keeps extra rows for reference,
    as the preset's floating-point ones, and a misspelt required row there is missing."""
    actions, base_actions = data.get("actions"), base_data.get("actions")
    if not isinstance(actions, Mapping) or not isinstance(base_actions, Mapping):
        return
    for name in actions:
        if name in base_actions or name in COST_MODEL_ACTIONS:
            continue
        close = difflib.get_close_matches(name, COST_MODEL_ACTIONS, n=1)
        hint = f"; did you mean [actions.{close[0]}]?" if close else ""
        raise ConfigError(
            f"{source}: [actions.{name}] is neither a row the cost model reads "
            f"({', '.join(COST_MODEL_ACTIONS)}) nor one of base = {shown_base}'s rows, so it "
            f"would change no figure{hint}")


def _lay_over(cls: type, base: Mapping, top: Mapping) -> dict:
    """``top``'s fields over ``base``'s: nested config tables merge field by field, a mapping
    of entries (an energy table's actions) entry by entry, anything else is replaced."""
    out = dict(base)
    hints = typing.get_type_hints(cls)
    for key, value in top.items():
        tp = hints.get(key)
        if tp is not None and isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _lay_over(tp, out[key], value) if dataclasses.is_dataclass(tp) \
                else {**out[key], **value}
        else:
            out[key] = value
    return out


def _refuse_a_section_header(data, source: str, kind: str, cls: type, root: str) -> None:
    """A file that wraps its fields in a ``[model]`` (or ``[hw]``) table, as ``--set
    model.x`` spells them, got "model.model is not a known key" and every field missing, a
    line of 23 problems (a CLI audit, 2026-12-07): one line says what to change."""
    names = {f.name for f in dataclasses.fields(cls)}
    header = {"models": ("model",), "hardware": ("hw", "hardware")}.get(kind, ())
    wrapped = [key for key in header if isinstance(data.get(key), dict) and key not in names]
    if wrapped:
        raise ConfigError(f"{source}: a [{wrapped[0]}] table; a {PRESET_KINDS[kind]} file "
                          f"gives its fields at the top level, without a table header (as "
                          f"the presets in azsim/config/presets/{kind}/ do): remove the "
                          f"[{wrapped[0]}] line")


_CONTEXT_SETTINGS = ("model.decode.context_weight", "model.decode.context_ilm_weight",
                     "model.decode.context_ilm_cap_nats", "model.decode.context_committed_slots")


def _refuse_a_bonus_without_phrases(overrides) -> None:
    """``model.decode.context_weight`` (``--context-weight``) is the bonus of the biasing
    phrases: with none (no ``model.decode.context_file``, ``--context``) it would change
    nothing. Checked here, so that ``azsim sweep`` refuses it as run and eval do (until
    2026-12-06 a sweep over it stored identical points)."""
    for text in overrides:
        # the bonus and every other setting of the biasing (the density-ratio weight and
        # cap, the committed slots) changed nothing without phrases (a CLI audit, 2026-12-06)
        if override_key(text) in _CONTEXT_SETTINGS:
            raise ConfigError(f"{shown_override(text)}: the bonus of the biasing phrases needs "
                              + as_called("--context FILE (model.decode.context_file: the "
                                          "phrases, with --beam >= 2)",
                                          "model.decode.context_file (the phrases, with "
                                          "model.decode.beam >= 2)")
                              + "; without it nothing is biased")


def _refuse_settings_of_an_idle_branch(overrides) -> None:
    """A ``model.branch.*`` override with the branch off would change nothing: the run would
    report the full encoder's cost as if the setting had been used. (A preset's own branch
    table is its defaults for ``--branch``, so only overrides are checked.)"""
    for text in overrides:
        path, _ = parse_override(text)
        if path[1:2] == ["branch"] and path[2:] != ["enabled"]:
            raise ConfigError(f"{shown_override(text)}: the cheap encoder branch is off "
                              "(model.branch.enabled = false), so this setting would change "
                              "nothing; enable the branch ("
                              + as_called("--set model.branch.enabled=true, or --branch on "
                                          "azsim run and eval)",
                                          "the override model.branch.enabled=true)"))
