"""Sweep specifications: axes of config fields, their cartesian product, and each point's key.

A sweep is a base run (model, hardware, audio, weights, fixed ``--set`` overrides, exactly as
``azsim run`` takes them) and axes: config fields by dotted path with a list of values. From
the command line an axis is ``--set model.weight_bits=8,6,4,2`` (a single value is a fixed
override); from a TOML file::

    model = "small"                 # preset name or TOML path, as --model
    hw = "az-edge"                  # as --hw
    audio = ["a.wav", "b.wav"]      # optional; default the shipped utterances
    test = "test"                   # or a test set instead (as azsim eval --test), and
    utterances = 50                 # its first N utterances (optional)
    weights = "trained.npz"         # optional
    [set]                           # fixed overrides, as --set key=value
    hw.zero_handling = "skip"
    [sweep]                         # axes: every combination is one point
    model.weight_bits = [8, 6, 4, 2]
    model.sparsity = [0.0, 0.5, 0.75, 0.9]
    [zip]                           # fields that step together: one axis of pairs
    hw.clock_mhz = [400, 800, 1600]
    hw.leakage_mw = [6.0, 10.0, 18.0]

From the command line a zipped field is ``--zip hw.clock_mhz=400,800,1600`` (every ``--zip``
belongs to the one zipped axis; each lists the same number of values): the points take the
first values together, then the second ones, and so on (a supply voltage and the clock it
allows, a PE count and its SRAM port width), instead of every combination.

Values are parsed and checked by the config loader itself (:func:`azsim.config.loader
.parse_override` and the dataclass validation), so an unknown field, a value of the wrong type,
an out-of-range value or a cross-field conflict is found here, for every point, before any
point runs, and reported in one line (:class:`SweepSpecError`).

Each point is keyed by the SHA-256 of its fully resolved config: the model and hardware
configs (:func:`azsim.config.loader.to_dict`), the energy table the hardware names, and the
names and contents (SHA-256) of the audio and weight files. Two spellings of the same config
(``0.5`` and ``5e-1``) are the same point; a change of any input file is a new one.
"""
from __future__ import annotations

import ast
import dataclasses
import datetime
import hashlib
import importlib.util
import itertools
import json
import math
import os
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config as cfgmod
from ..arguments import checked, repeated_path
from ..config.loader import (OptionOverride, from_folder, load_toml, override_key,
                             parse_override, path_setting_kind, shown_override, to_dict)
from ..errors import AzsimError, ConfigError, quoted
from ..paths import file_sha256, os_reason, path_kind
from ..transcripts import read_transcripts

__all__ = ["SweepSpecError", "Axis", "Point", "SweepSpec", "parse_axis", "load_spec_file",
           "build_spec", "expand"]

ROOTS = ("model", "hw")
_SPEC_KEYS = ("model", "hw", "audio", "test", "utterances", "weights", "set", "sweep", "zip")


class SweepSpecError(AzsimError):
    """A sweep specification is invalid (unknown field, empty list, wrong type, bad file...)."""


@dataclass(frozen=True)
class Axis:
    """One swept field: its dotted path and its values, each as the override that sets it."""
    key: str                     # "model.weight_bits"
    values: tuple[Any, ...]      # parsed values: (8, 6, 4, 2)
    overrides: tuple[str, ...]   # ("model.weight_bits=8", ...)
    zipped: bool = False         # steps together with the other zipped axes (--zip, [zip])


@dataclass(frozen=True)
class SweepSpec:
    """A base run and its axes; paths are absolute so that any worker resolves them alike.
    ``models`` and ``hws``: the model and processor (preset names or files) each point runs
    on, every field axis swept on each of them (``--hw az-edge,my-npu.toml``)."""
    models: tuple[str, ...] = (cfgmod.DEFAULT_MODEL,)
    hws: tuple[str, ...] = ("az-edge",)
    audio: tuple[str, ...] | None = None
    weights: str | None = None
    fixed: tuple[str, ...] = ()
    axes: tuple[Axis, ...] = ()
    testset: str | None = None       # a shipped test set's name, or an absolute path
    utterances: int | None = None    # the test set's first N utterances
    utterances_from: str = "--utterances"   # where the count was given, for its errors
    audio_from: str = "--audio"      # where each input was given (the option, or the spec
    weights_from: str = "--weights"  # file's key), so that an error names what the user wrote
    testset_from: str = "--test"
    models_from: str = "--model"     # where the model list was given: the option, or the
    hws_from: str = "--hw"           # spec file's key
    replaced: tuple[str, ...] = ()   # spec-file settings a --set replaced, said by the CLI


@dataclass(frozen=True)
class Point:
    """One run of the sweep."""
    index: int                        # position in the cartesian product
    key: str                          # SHA-256 (hex) of the resolved config
    group: str                        # SHA-256 of its model-side inputs (shared work)
    overrides: tuple[str, ...]        # every --set of this run: fixed, then one per axis
    values: dict = field(hash=False)  # axis path -> value ("hw", "model": the name run)
    config: dict = field(hash=False)  # the resolved config that ``key`` hashes
    model: str = cfgmod.DEFAULT_MODEL  # the model preset or file it runs
    hw: str = "az-edge"                # the processor preset or file it runs on


# ------------------------------------------------------------------------------------- parsing


def split_values(raw: str) -> list[str]:
    r"""Split ``"8,6,4"`` at top-level commas; commas inside [], {} or TOML strings stay put.

    Strings are scanned as TOML reads them: a basic string (``"..."``, or in three quotes)
    ends at its first unescaped delimiter, a backslash escaping the character after it (so
    ``"a\\"`` ends at its last quote); a literal string (``'...'``) has no escapes."""
    items, depth, start, i = [], 0, 0, 0
    while i < len(raw):
        ch = raw[i]
        if ch in "\"'":
            delim = ch * 3 if raw.startswith(ch * 3, i) else ch
            i += len(delim)
            while i < len(raw) and not raw.startswith(delim, i):
                i += 2 if ch == '"' and raw[i] == "\\" else 1
            if len(delim) == 3:   # up to two quotes before the closing three are content
                i += min(len(raw[i:]) - len(raw[i:].lstrip(ch)), 5) - 3
            i += len(delim)   # past the closing delimiter (or the end: TOML then says why)
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(raw[start:i])
            start = i + 1
        i += 1
    items.append(raw[start:])
    return [item.strip() for item in items]


def parse_axis(text: str, option: str = "--set") -> Axis:
    """``"model.sparsity=0,0.5"`` -> Axis; a single value gives a one-value axis.
    ``option="--zip"``: an axis of the zipped group."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SweepSpecError(f"{option} {text!r} is malformed: expected "
                             "section.field=v1,v2,...")
    items = split_values(raw)
    if items == [""]:
        raise SweepSpecError(f"{option} {text}: the list of values for {key} is empty "
                             "(give one or more, comma-separated)")
    if "" in items:
        raise SweepSpecError(f"{option} {text}: empty value at position "
                             f"{items.index('') + 1} of {key}'s list")
    ax = _axis(key, [_cwd_relative(f"{key}={item}", option) for item in items],
               f"{option} {text}")
    return dataclasses.replace(ax, zipped=option == "--zip")


def _cwd_relative(text: str, option: str) -> str:
    """A command-line override of a path setting (``model.weights=w.npz``) with a relative
    path made absolute against the current folder, as a spec file's are against its folder:
    a Dask worker in another folder loaded its own ``w.npz`` while the point's key hashed
    this one (a sweep audit, 2026-12-07)."""
    try:
        path, value = parse_override(text)
    except ConfigError:
        return text   # _axis says what is wrong with it
    where = f"{option} {text}"
    absolute = _relative_setting(".".join(path), value, Path.cwd(), where)
    if absolute == value:
        return text
    return OptionOverride(f"{'.'.join(path)}={_toml_value(absolute, where)}", where)


def _axis(key: str, overrides: list[str], source: str) -> Axis:
    path, values = None, []
    for text in overrides:
        try:
            path, value = parse_override(text)
        except ConfigError as exc:
            raise SweepSpecError(f"{source}: {exc}") from None
        values.append(value)
    if path[0] not in ROOTS or len(path) < 2:
        raise SweepSpecError(f"{source}: {key} is not a config field path (expected "
                             f"model.<field> or hw.<field>, e.g. model.weight_bits)")
    seen = []
    for value in values:
        if any(_same(value, other) for other in seen):
            raise SweepSpecError(f"{source}: value {_show(value)} of {key} is listed twice")
        seen.append(value)
    return Axis(".".join(path), tuple(values), tuple(overrides))


def _same(a, b) -> bool:
    return type(a) is type(b) and a == b


def _show(value: Any) -> str:
    return _toml_value(value) if isinstance(value, (bool, int, float, str, list)) else repr(value)


def _toml_value(value: Any, where: str = "") -> str:
    """A TOML literal for a value read from a TOML file (the inverse of parse_override);
    ``where`` names the value in the error for a TOML value that is no config value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        # not JSON's \ud800\udc00 pairs for characters past U+FFFF: TOML refuses them (and the
        # text would be taken literally); JSON leaves DEL as it is, which TOML refuses too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    kind = "table" if isinstance(value, Mapping) else "date-time" \
        if isinstance(value, datetime.datetime) else type(value).__name__   # date, time
    raise SweepSpecError(f"{where}: {value} is a TOML {kind}, not a config value (allowed: "
                         "boolean, integer, number, string, or an array of them)")


def _flatten_table(table: Mapping, prefix: str) -> list[tuple[str, Any]]:
    out = []
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.extend(_flatten_table(value, path))
        else:
            out.append((path, value))
    return out


def load_spec_file(path: str) -> dict[str, Any]:
    """Read a sweep TOML into ``{model, hw, audio, weights, fixed, axes}`` (paths absolute)."""
    if os.path.isdir(path):
        raise SweepSpecError(f"--spec {path}: is a folder; give a sweep .toml file")
    if not os.path.isfile(path):   # the message names the option (a CLI audit, 2026-12-07)
        raise SweepSpecError(f"--spec {path}: no such file; give a sweep .toml file")
    try:
        data = load_toml(path)
    except ConfigError as exc:
        raise SweepSpecError(f"--spec {exc}") from None
    unknown = sorted(set(data) - set(_SPEC_KEYS))
    if unknown:
        raise SweepSpecError(f"{path}: {', '.join(unknown)} is not a known key (allowed: "
                             f"{', '.join(_SPEC_KEYS)})")
    base = Path(path).resolve().parent
    # the inputs as the file writes them, for the note an option replacing one gives
    out: dict[str, Any] = {"raw": {k: data[k] for k in ("model", "hw", "weights", "audio",
                                                          "test", "utterances") if k in data}}
    if "weights" in data:
        if not isinstance(data["weights"], str):
            raise SweepSpecError(f"{path}: weights = {data['weights']!r} must be a string")
        out["weights"] = _spec_path(data["weights"], base, is_preset=False)
    for name in ("model", "hw"):   # one, or a list: every point runs on each
        if name in data:
            given = data[name]
            items = given if isinstance(given, list) else [given]
            if not items or not all(isinstance(g, str) and g.strip() for g in items):
                raise SweepSpecError(f"{path}: {name} = {_show(given)} must be a preset name "
                                     "or .toml path, or a non-empty list of them")
            out[name] = _source_list([_spec_path(g, base, is_preset=True) for g in items],
                                     items, f"{path}: {name} =")
    if "audio" in data:
        audio = data["audio"]
        if not isinstance(audio, list) or not audio or not all(isinstance(a, str) for a in audio):
            raise SweepSpecError(f"{path}: audio must be a non-empty list of WAV paths")
        out["audio"] = [_spec_path(a, base, is_preset=False) for a in audio]
        twice = repeated_path(out["audio"])
        if twice is not None:   # it ran twice at every point, counted twice in the totals
            raise SweepSpecError(f"{path}: audio names {audio[twice[1]]!r} twice (items "
                                 f"{twice[0]} and {twice[1]}); each utterance is run once")
    if "test" in data:
        if not isinstance(data["test"], str):
            raise SweepSpecError(f"{path}: test = {data['test']!r} must be a string (a test "
                                 "set's name or path)")
        out["testset"] = data["test"] if _shipped_testset(data["test"]) else \
            _spec_path(data["test"], base, is_preset=False)
    if "utterances" in data:
        n = data["utterances"]
        if not isinstance(n, int) or isinstance(n, bool):
            raise SweepSpecError(f"{path}: utterances = {n!r} must be an integer")
        out["utterances"] = n
    for name in ("set", "sweep", "zip"):
        if name in data and not isinstance(data[name], Mapping):
            raise SweepSpecError(f"{path}: {name} must be a table of config fields")
    fixed = []
    for key, value in _flatten_table(data.get("set", {}), ""):
        where = f"{path}: [set] {key}"
        if isinstance(value, list):
            raise SweepSpecError(f"{where} is a list; lists of values belong in [sweep]")
        value = _relative_setting(key, value, base, where)
        text = _spec_override(key, _toml_value(value, where), where)
        _axis(key, [text], where)  # checks the path's root
        fixed.append(text)
    axes = []
    for table in ("sweep", "zip"):
        for key, value in _flatten_table(data.get(table, {}), ""):
            where = f"{path}: [{table}] {key}"
            if not isinstance(value, list):
                raise SweepSpecError(f"{where} = {_show(value)} must be a list of values (a "
                                     "fixed value belongs in [set])")
            if not value:
                raise SweepSpecError(f"{where} is an empty list (give one or more values)")
            if any(ax.key == key for ax in axes):
                raise SweepSpecError(f"{where}: {key} is both in [sweep] and in [zip]")
            axes.append(dataclasses.replace(_axis(key, [_spec_override(
                key, _toml_value(_relative_setting(key, v, base, where), where), where)
                for v in value], where), zipped=table == "zip"))
    out["fixed"], out["axes"] = fixed, axes
    return out


def _relative_setting(key: str, value: Any, base: Path, where: str) -> Any:
    """A spec file's value of a path setting (``hw.energy_table``, ``model.weights``, ...)
    with a relative path made relative to the spec file's folder, as a model or hardware
    file's own are (:func:`azsim.config.loader.paths_from_file`); other values as given."""
    root, *rest = key.split(".")
    cls = {"model": cfgmod.ModelConfig, "hw": cfgmod.HardwareConfig}.get(root)
    kind = path_setting_kind(cls, rest) if cls is not None and rest else None
    if kind is None or not isinstance(value, str):
        return value
    return from_folder(value, base, kind, f"{where} = {json.dumps(value, ensure_ascii=False)}")


def _spec_override(key: str, literal: str, where: str) -> OptionOverride:
    """The override a spec file's setting stands for, named in errors as the file gives it
    (``spec.toml: [set] hw.zero_handling = "x"``), not as a --set the user never typed."""
    return OptionOverride(f"{key}={literal}", f"{where} = {literal}")


def _spec_path(text: str, base: Path, *, is_preset: bool) -> str:
    """Paths in a spec file are relative to the file; preset names stay names."""
    if is_preset and not (text.endswith(".toml") or os.sep in text or "/" in text):
        return text
    p = Path(text)
    return str(p if p.is_absolute() else (base / p))


# ----------------------------------------------------------------------------------- resolving


def build_spec(*, model: str | None, hw: str | None, audio: Sequence[str] | None,
               weights: str | None, sets: Iterable[str], spec_file: str | None,
               testset: str | None = None, utterances: int | None = None,
               zips: Iterable[str] = ()) -> SweepSpec:
    """Combine a spec file and command-line options; the command line wins field by field.
    ``zips``: ``--zip`` axes, which step together."""
    model, hw, audio, weights, sets, spec_file, testset, utterances, zips = (
        # model and hardware: None when the command line does not give them
        checked(name, value, True if name in ("model", "hardware") else None)
        for name, value in (
            ("model", model), ("hardware", hw), ("audio", audio), ("weights", weights),
            ("sets", sets), ("spec_file", spec_file), ("testset", testset),
            ("utterances", utterances), ("zips", zips)))
    base = load_spec_file(spec_file) if spec_file else {"fixed": [], "axes": []}
    by_key: dict[str, Axis] = {}
    for ax in base["axes"]:
        by_key[ax.key] = ax
    fixed = {".".join(parse_override(t)[0]): t for t in base["fixed"]}
    cli_keys: set[str] = set()
    replaced: list[str] = []
    for option, text in [("--set", t) for t in sets] + [("--zip", t) for t in zips]:
        ax = parse_axis(text, option)
        if ax.key in cli_keys:
            raise SweepSpecError(f"{option} {text}: {ax.key} is given twice on the command "
                                 "line (list all its values in one --set or --zip, "
                                 "comma-separated)")
        cli_keys.add(ax.key)
        was_axis, was_fixed = by_key.pop(ax.key, None), fixed.pop(ax.key, None)
        if was_axis is not None:
            shown = ", ".join(o.partition("=")[2] for o in was_axis.overrides)
            table = "zip" if was_axis.zipped else "sweep"
            replaced.append(f"{option} {text} replaces {spec_file}'s [{table}] {ax.key} = "
                            f"[{shown}]")
        elif was_fixed is not None:
            replaced.append(f"{option} {text} replaces {spec_file}'s [set] {was_fixed}")
        if len(ax.values) == 1 and not ax.zipped:
            fixed[ax.key] = ax.overrides[0]
        else:
            by_key[ax.key] = ax
    zipped = [ax for ax in by_key.values() if ax.zipped]
    if len({len(ax.values) for ax in zipped}) > 1:
        raise SweepSpecError("zipped fields step together, so each lists the same number of "
                             "values: " + ", ".join(f"{ax.key} has {len(ax.values)}"
                                                    for ax in zipped))
    for key in set(fixed) & set(by_key):
        raise SweepSpecError(f"{spec_file}: {key} is both in [set] and in [sweep]")
    named_weights = weights or base.get("weights")
    if named_weights and "model.weights" in set(fixed) | set(by_key):
        # the file ran at every point while the point list showed the setting (a CLI audit)
        given = f"--weights {weights}" if weights else f"{spec_file}'s weights = {named_weights}"
        raise SweepSpecError(f"model.weights is swept or set while {given} names the weights "
                             "of every point; give one of them (sweep weights as --set "
                             "model.weights=A,B)")
    audio_list = list(audio) if audio else base.get("audio")
    models = cli_sources(model, "--model") if model else \
        base.get("model") or [cfgmod.DEFAULT_MODEL]
    hws = cli_sources(hw, "--hw") if hw else base.get("hw") or ["az-edge"]
    test = testset or base.get("testset")
    if test is not None and not _shipped_testset(test):
        test = os.path.abspath(test)
    count = utterances if utterances is not None else base.get("utterances")
    # an option that replaces the spec file's own setting says so, as a --set does (not one
    # that gives what the file gives, resolved alike); the file's value as it writes it
    for option, given, key, mine in (
            ("--model", model, "model", models), ("--hw", hw, "hw", hws),
            ("--weights", weights, "weights", weights and os.path.abspath(weights)),
            ("--audio", audio, "audio", audio_list and [os.path.abspath(a) for a in audio_list]),
            ("--test", testset, "testset", test), ("--utterances", utterances, "utterances",
                                                   count)):
        if given is None or given == [] or key not in base or mine == base[key]:
            continue
        name = "test" if key == "testset" else key
        shown = given if isinstance(given, (str, int)) else " ".join(given)
        replaced.append(f"{option} {shown} replaces {spec_file}'s {name} = "
                        f"{_show(base['raw'].get(name, base[key]))}")
    label = "--utterances" if utterances is not None else f"{spec_file}: utterances ="

    def source(option: str, given, key: str) -> str:
        return option if given else f"{spec_file}: {key} ="
    test_from = source("--test", testset, "test")
    if test is not None and audio_list:
        audio_from = "--audio" if audio else f"{spec_file}'s audio"
        raise SweepSpecError(f"{test_from} {test}: give a test set or audio files, not both "
                             f"(the audio files are {audio_from})")
    if count is not None and test is None:
        raise SweepSpecError(f"{label} {count}: only with --test (audio files run as "
                             "given)")
    return SweepSpec(models=tuple(models), hws=tuple(hws),
                     audio=tuple(os.path.abspath(a) for a in audio_list) if audio_list else None,
                     weights=_weights_ref(weights or base["weights"])
                     if (weights or base.get("weights")) else None,
                     fixed=tuple(fixed.values()), axes=tuple(by_key.values()),
                     testset=test, utterances=count, utterances_from=label,
                     audio_from=source("--audio", audio, "audio"),
                     weights_from=source("--weights", weights, "weights"), testset_from=test_from,
                     models_from=source("--model", model, "model"),
                     hws_from=source("--hw", hw, "hw"),
                     replaced=tuple(replaced))


def cli_sources(text: str, option: str) -> list[str]:
    """``--hw az-edge,my-npu.toml`` (or ``--model``): the presets and files it lists,
    comma-separated, files made absolute. A file whose own name has a comma is one source."""
    if os.path.isfile(text) or "," not in text:
        items = [text]
    else:
        items = [item.strip() for item in text.split(",")]
        if "" in items:
            raise SweepSpecError(f"{option} {text}: empty name at position "
                                 f"{items.index('') + 1} (give preset names or .toml paths, "
                                 "comma-separated)")
    return _source_list([_absolute_if_file(item) for item in items], items, f"{option} {text}:")


def _source_list(sources: list[str], given: list[str], where: str) -> list[str]:
    """``sources`` (resolved) with a repeated one refused, named as ``given``."""
    for i, source in enumerate(sources):
        if source in sources[:i]:
            raise SweepSpecError(f"{where} {given[i]} is listed twice (each model and "
                                 "processor runs once at every point)")
    return sources


def _weights_ref(name: str) -> str:
    """A shipped weights set's name as given (as run and eval take it; the sweep made it a
    path in the current folder, "cannot read"; a CLI audit, 2026-12-06), a file absolute."""
    from ..model.loading import resolve_weights_path
    # a shipped name resolves to its file in the package; anything else comes back as given
    return name if resolve_weights_path(None, name) != name else os.path.abspath(name)


def _absolute_if_file(name: str) -> str:
    return os.path.abspath(name) if name.endswith(".toml") or os.path.isfile(name) else name


def _data_dir() -> Path:
    """The installed package's ``data/`` folder, found without importing azsim's modules
    (and NumPy with them) into the sweep's parent, which only validates and stores."""
    return Path(importlib.util.find_spec("azsim").origin).parent / "data"


def shipped_audio_paths() -> list[str]:
    """:func:`azsim.model.audio.shipped_audio_paths` without importing that module;
    ``tests/test_sweep.py`` checks that the two agree."""
    return [str(p) for p in sorted((_data_dir() / "audio").glob("*.wav"))]


def _testset_dir() -> Path:
    return _data_dir() / "testset"


def _shipped_testset(name: str) -> bool:
    """A shipped test set's name (``test``, ``names``), as ``azsim.evaluate.load_testset``
    resolves it (without importing NumPy into the sweep's parent)."""
    return "/" not in name and not name.endswith(".npz") and \
        os.path.isfile(_testset_dir() / f"{name}.npz")   # False for a name the OS refuses


def _npy_length(zf: zipfile.ZipFile, member: str) -> int:
    """First dimension of an array in an .npz, from its .npy header (NumPy format 1-3)."""
    with zf.open(member) as fh:
        magic = fh.read(8)
        if magic[:6] != b"\x93NUMPY":
            raise ValueError(f"{member} is not a .npy array")
        size = int.from_bytes(fh.read(2 if magic[6] == 1 else 4), "little")
        header = ast.literal_eval(fh.read(size).decode("latin1"))
    return int(header["shape"][0])


def _testset_identity(test: str, utterances: int | None, label: str = "--utterances",
                      where: str = "--test") -> dict[str, Any]:
    """Name, content hash and utterance count of a test set (``azsim eval --test``)."""
    path = _testset_dir() / f"{test}.npz" if _shipped_testset(test) else Path(test)
    found = path_kind(path, f"{where} {test}", SweepSpecError)
    if found == "folder":
        tsv = path / "transcripts.tsv"
        if path_kind(tsv, f"{where} {test}", SweepSpecError) != "file":
            raise SweepSpecError(f"{where} {test}: a folder needs transcripts.tsv (columns "
                                 "file, text)")
        files = [f for f, _ in read_transcripts(tsv)]   # checked as azsim eval does
        ident = {"name": path.name, "files": [_file_identity(str(tsv), where)] +
                 [_file_identity(str(path / f), where) for f in files]}
        n = len(files)
    elif found == "file" and path.suffix == ".npz":
        ident = _file_identity(str(path), where)
        try:
            with zipfile.ZipFile(path) as zf:
                n = _npy_length(zf, "texts.npy")
        except (OSError, KeyError, ValueError, SyntaxError, zipfile.BadZipFile) as exc:
            raise SweepSpecError(f"{where} {test}: not a test-set .npz with texts ({exc})") \
                from None
    else:
        raise SweepSpecError(f"{where} {test}: not a shipped test set, a corpus .npz split, or "
                             "a folder with transcripts.tsv")
    if utterances is not None and not 1 <= utterances <= n:
        raise SweepSpecError(f"{label} {utterances}: test set {ident['name']} has {n} "
                             f"utterances (allowed: 1..{n})")
    return {**ident, "utterances": n if utterances is None else utterances}


def _file_identity(path: str, what: str) -> dict[str, str]:
    """Name and content hash of an input file; an unreadable file is a spec error."""
    if path_kind(path, f"{what} {path}", SweepSpecError) in ("folder", "other"):
        raise SweepSpecError(f"{what} {path}: cannot read (no regular file: a folder, device "
                             "or FIFO, which could be hashed forever; give a file)")
    try:
        digest = file_sha256(path)
    except (OSError, ValueError) as exc:   # ValueError: a NUL character
        raise SweepSpecError(f"{what} {path}: cannot read ({os_reason(exc)})") from None
    return {"name": os.path.basename(path), "sha256": digest}


def _check_npz_archive(path, what: str) -> None:
    """A weights file must be a whole .npz (a zip of .npy members, every CRC right), or every
    point would fail on it; the workers check the arrays themselves. No NumPy here."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise SweepSpecError(f"{what}: not a weights .npz (a damaged or truncated zip "
                             f"archive: {exc})") from None
    if bad is not None:
        raise SweepSpecError(f"{what}: not a weights .npz (member {bad} is damaged)")
    if not names or not all(n.endswith(".npy") for n in names):
        raise SweepSpecError(f"{what}: not a weights .npz (it holds "
                             f"{', '.join(names[:3]) or 'nothing'}, not .npy arrays)")


def _weight_files(cfg, cache: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """Content identity of the weight files a model config names (``model.weights``,
    ``model.branch.weights``; shipped names resolved to their files), so that a point's key
    changes when the weights behind a name do (a new azsim release, a retrained file) and
    ``--resume`` never mixes results of two models under one key."""
    from ..model.loading import resolve_weights_path
    out = {}
    for key, name in (("weights", cfg.weights), ("branch.weights", cfg.branch.weights)):
        path = resolve_weights_path(cfg, name) if name else None
        if path is None:
            continue   # generated weights
        if not os.path.isfile(path):   # before any point runs, as azsim run would refuse it
            raise SweepSpecError(f"model.{key} = {name!r}: no such weights file or shipped "
                                 "weights name")
        path = str(path)
        if path not in cache:    # each file checked and hashed once per sweep
            _check_npz_archive(path, f"model.{key} = {name!r}")
            cache[path] = _file_identity(path, f"model.{key}")
        out[key] = cache[path]
    return out


def _context_file(cfg, cache: dict[str, dict[str, str]]) -> dict:
    """The config entry of the context file a model config names: its content decides the
    search's phrases, so editing it between a sweep and its --resume kept the old points
    under the same key (2 phrases reported where the file had 6; a sweep audit,
    2026-12-06). Points without one keep their keys. A missing file is azsim run's error."""
    context = cfg.decode.context_file
    if not context or not os.path.isfile(context):
        return {}
    if context not in cache:
        cache[context] = _file_identity(context, "model.decode.context_file")
    return {"context_file": cache[context]}


def _files_entry(files: dict) -> dict:
    """Keys of points without weight files stay as they were before files were hashed."""
    return {"weight_files": files} if files else {}


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _check_weights_and_testset(spec: SweepSpec, models: Mapping[tuple, Any]) -> None:
    """Load the ``--weights`` file and the ``--test`` set as every point would (the checks of
    ``azsim run --weights`` and ``azsim eval --test``, with their messages): a bad one would
    fail every point at run time. Once per model shape they depend on, not once per point;
    a shape that is not the first one's is named."""
    if spec.weights is None and spec.testset is None:
        return
    from ..evaluate import load_testset
    from ..model.float_ref import min_feature_frames
    from ..model.loading import resolve_weights_path
    from ..model.weights import load_weights, validate_weights
    arrays, seen_weights, seen_tests = None, set(), set()
    for n, ((source, combo), cfg) in enumerate(models.items()):
        model = f" {_source_label(source)}" if len(spec.models) > 1 else ""
        shown = " ".join(combo) or "the fixed overrides"
        at = "" if n == 0 else f"sweep model{model} at {shown}: "
        try:
            shape = (cfg.vocab_size, cfg.frontend, cfg.encoder, cfg.prediction, cfg.joint)
            if spec.weights is not None and shape not in seen_weights:
                seen_weights.add(shape)
                if arrays is None:
                    arrays = load_weights(str(resolve_weights_path(None, spec.weights)), cfg)
                else:
                    validate_weights(arrays, cfg, spec.weights)
            # what load_testset checks depends on: the features (frontend), the frames one
            # encoder output needs (stack_frames, stack_stride and time reduction:
            # float_ref.min_feature_frames), the vocabulary, and whether a silence tail
            # reads the audio.
            # Keyed on stack_frames alone, a stride or time reduction on a later point went
            # unchecked: its too-short utterance failed that point at run time (audit).
            features = (cfg.frontend, min_feature_frames(cfg.encoder), cfg.vocab,
                        cfg.decode.endpoint_tail_ms > 0)
            if spec.testset is not None and features not in seen_tests:
                seen_tests.add(features)
                load_testset(spec.testset, cfg, where=f"{spec.testset_from} {spec.testset}")
        except AzsimError as exc:
            raise SweepSpecError(f"{at}{exc}") from None


def expand(spec: SweepSpec, jobs: int = 1) -> list[Point]:
    """Every point of the sweep, resolved and validated, in cartesian order (first axis
    outermost). Raises SweepSpecError on the first invalid combination, before anything runs,
    and when ``jobs`` workers running the largest points at once would exceed the memory
    budget (:mod:`azsim.model.budget`)."""
    jobs = checked("jobs", jobs)
    if not isinstance(spec, SweepSpec):
        raise AzsimError(f"spec = {quoted(spec)}: expected a SweepSpec (from build_spec)")
    audio_paths = list(spec.audio) if spec.audio else \
        [] if spec.testset is not None else shipped_audio_paths()
    audio_ids = [_file_identity(path, spec.audio_from) for path in audio_paths]
    if spec.audio:
        from ..model.audio import read_wav
        for path in audio_paths:
            read_wav(path)  # a bad WAV would fail every point: say so once, now
    weights_id = None
    if spec.weights:   # a shipped set's name is its file in the package
        from ..model.loading import resolve_weights_path
        weights_file = str(resolve_weights_path(None, spec.weights))
        weights_id = _file_identity(weights_file, spec.weights_from)
        _check_npz_archive(weights_file, f"{spec.weights_from} {spec.weights}")
    model_axes = [ax for ax in spec.axes if ax.key.startswith("model.")]
    hw_axes = [ax for ax in spec.axes if ax.key.startswith("hw.")]
    combos = _combinations(spec)

    # Each model (hw) combination of the points is resolved once: its validity does not
    # depend on the other side. (Only those the points take: zipped fields may be valid only
    # together, e.g. an end-pointer's final and speculative silences.)
    # Keyed by (source, combo): the preset or file, and the axes' overrides on it.
    def resolve(axes, loader, what, sources):
        out = {}
        for source in sources:
            label = f" {_source_label(source)}" if len(sources) > 1 else ""
            for by_key in combos:
                combo = tuple(by_key[ax.key] for ax in axes)
                if (source, combo) in out:
                    continue
                overrides = list(spec.fixed) + list(combo)
                try:
                    out[source, combo] = loader(source, overrides)
                except AzsimError as exc:
                    shown = " ".join(combo) or "the fixed overrides"
                    raise SweepSpecError(f"sweep {what}{label} at {shown}: {exc}") from None
        _check_names(out, "model" if what == "model" else "processor",
                     spec.models_from if what == "model" else spec.hws_from)
        return out

    models = resolve(model_axes, cfgmod.load_model_config, "model", spec.models)
    if spec.weights:
        # The points' config names the weights they run, as their records do (azsim.api):
        # until 2026-12-06 it kept the preset's model.weights ("small" for a sweep of
        # --weights small-qat4.npz), so the CSV, the report and --where named the wrong model
        # and the key hashed a file the points never read.
        models = {combo: dataclasses.replace(cfg, weights=spec.weights)
                  for combo, cfg in models.items()}
    hws = resolve(hw_axes, cfgmod.load_hardware_config, "hardware", spec.hws)
    tables = {}
    for hw_cfg in hws.values():
        if hw_cfg.energy_table not in tables:
            try:
                tables[hw_cfg.energy_table] = to_dict(cfgmod.energy_table_of(hw_cfg))
            except AzsimError as exc:   # name where the table was given (a spec's [set])
                given = [shown_override(o) for o in list(spec.fixed) +
                         [o for ax in hw_axes for o in ax.overrides]
                         if override_key(o) == "hw.energy_table"
                         and parse_override(o)[1] == hw_cfg.energy_table]
                where = f" ({given[0]})" if given else ""
                raise SweepSpecError(f"sweep hardware {hw_cfg.name}{where}: {exc}") from None
    inputs = {"audio": audio_ids, "audio_default": spec.audio is None, "weights": weights_id}
    if spec.testset is not None:   # only then: the keys of audio sweeps stay as they were
        inputs = {"test": _testset_identity(spec.testset, spec.utterances,
                                            spec.utterances_from, spec.testset_from),
                  "weights": weights_id}
    _check_weights_and_testset(spec, models)
    model_dicts = {combo: to_dict(cfg) for combo, cfg in models.items()}
    file_ids: dict[str, dict[str, str]] = {}
    weight_files = {combo: _weight_files(cfg, file_ids) for combo, cfg in models.items()}
    contexts = {combo: _context_file(cfg, file_ids) for combo, cfg in models.items()}
    groups = {combo: _digest({"model": d, **_files_entry(weight_files[combo]),
                              **contexts[combo], **inputs})
              for combo, d in model_dicts.items()}

    from ..model.budget import check_concurrent_runs, check_memory_budget
    points, seen, needs = [], {}, []
    # the processors outermost, then the models, then the axes in their order
    runs = [(h, m, by_key) for h in spec.hws for m in spec.models for by_key in combos]
    for index, (hw_source, model_source, by_key) in enumerate(runs):
        combo = tuple(by_key[ax.key] for ax in spec.axes)
        m_combo = (model_source, tuple(by_key[ax.key] for ax in model_axes))
        hw_cfg = hws[hw_source, tuple(by_key[ax.key] for ax in hw_axes)]
        values = {ax.key: ax.values[ax.overrides.index(by_key[ax.key])] for ax in spec.axes}
        if len(spec.models) > 1:   # the point's own model and processor, by the name run
            values = {"model": models[m_combo].name, **values}
        if len(spec.hws) > 1:
            values = {"hw": hw_cfg.name, **values}
        try:   # a point too big for this machine would be killed at run time: say so now
            needs.append(check_memory_budget(models[m_combo], hw_cfg))
        except AzsimError as exc:
            raise SweepSpecError(f"sweep point {_describe(values)}: {exc}") from None
        config = {"model": model_dicts[m_combo], "hw": to_dict(hw_cfg),
                  "energy_table": tables[hw_cfg.energy_table],
                  **_files_entry(weight_files[m_combo]), **contexts[m_combo], **inputs}
        key = _digest(config)
        if key in seen:
            raise SweepSpecError(f"sweep points {_describe(seen[key])} and {_describe(values)} "
                                 "resolve to the same config; list each value once")
        seen[key] = values
        points.append(Point(index, key, groups[m_combo], tuple(spec.fixed) + combo, values,
                            config, model_source, hw_source))
    try:
        check_concurrent_runs(needs, jobs)
    except AzsimError as exc:
        raise SweepSpecError(f"sweep: {exc}") from None
    return points


def point_count(spec: SweepSpec) -> int:
    """How many points the sweep has, without building them (the zipped axes count once)."""
    count, zipped = len(spec.hws) * len(spec.models), False
    for ax in spec.axes:
        if not ax.zipped:
            count *= len(ax.overrides)
        elif not zipped:
            zipped = True
            count *= len(ax.overrides)
    return count


def _combinations(spec: SweepSpec) -> list[dict[str, str]]:
    """Every point's overrides by axis key: the cartesian product of the axes, the zipped
    ones (:attr:`Axis.zipped`) counting as one axis of their i-th values taken together,
    placed where the first of them is."""
    zipped = [ax for ax in spec.axes if ax.zipped]
    units = []
    for ax in spec.axes:
        if not ax.zipped:
            units.append([{ax.key: o} for o in ax.overrides])
        elif ax is zipped[0]:
            units.append([dict(zip((z.key for z in zipped), row))
                          for row in zip(*(z.overrides for z in zipped))])
    return [{k: v for part in choice for k, v in part.items()}
            for choice in itertools.product(*units)]


def _source_label(source: str) -> str:
    """A preset's name, or a file's path as short as it reads from here."""
    if not os.path.isabs(source):
        return source
    relative = os.path.relpath(source)
    return relative if not relative.startswith("..") else source


def _check_names(configs: Mapping[tuple, Any], what: str, option: str) -> None:
    """Two models (processors) of one sweep must differ in name: its tables, figures and
    ``--where`` tell them apart by ``model.name`` (``hw.name``) alone, so two files both
    called ``npu.toml`` would merge into one series."""
    named: dict[tuple, str] = {}
    for (source, combo), cfg in configs.items():
        other = named.setdefault((cfg.name, combo), source)
        if other != source:
            raise SweepSpecError(
                f"{option.rstrip(' =')}: {_source_label(other)} and "
                f"{_source_label(source)} are both named {cfg.name!r}; results, reports "
                f"and plots tell each {what} by its name, so give one of them its own "
                f"(name = \"...\" in the file)")


def _describe(values: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={_show(v)}" for k, v in values.items()) + ")" if values else "()"
