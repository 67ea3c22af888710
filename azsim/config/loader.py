"""Generic TOML -> frozen-dataclass machinery, driven by dataclass introspection.

Nothing here knows a field by name: types come from the annotations, constraints from each
field's metadata (``range``, ``choices``) and cross-field rules from an optional ``validate()``
method (see :mod:`azsim.config.schema`). Every problem in an input is collected, then reported
in ONE single-line :class:`~azsim.errors.ConfigError`, so a user fixes a file in one pass.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
import os
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from azsim.errors import ConfigError, as_called, named_item, naming_cli_options
from azsim.paths import path_kind, read_small_file

__all__ = [
    "PRESET_KINDS",
    "build",
    "parse_override",
    "override_key",
    "same_value",
    "split_overrides",
    "apply_overrides",
    "load_toml",
    "resolve_preset",
    "paths_from_file",
    "list_presets",
    "to_dict",
]

# Preset directory under azsim/config/presets/ -> how a source is named in messages.
PRESET_KINDS = {"models": "model", "hardware": "hardware", "energy": "energy table",
                "validation": "validation suite"}

_OVERRIDE_FORM = "section.field=value"
_TYPE_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string",
               dict: "table", list: "array"}


# ------------------------------------------------------------------------------------ building


def build(cls: type, data: Mapping[str, Any], source: str, *, root: str = "") -> Any:
    """Validate ``data`` (a parsed TOML table) against dataclass ``cls`` and build it.

    ``source`` names the input in messages (a file or a preset); ``root`` prefixes the dotted
    field paths (``"model"`` gives ``model.encoder.hidden``). Raises one ConfigError listing
    every unknown key, missing field, wrong type, out-of-range value and failed cross-check.
    """
    problems: list[str] = []
    instance = _build(cls, data, root, problems)
    if problems:
        raise ConfigError(_one_line(f"{source}: " + "; ".join(problems)))
    return instance


def _build(cls: type, data: Any, path: str, problems: list[str]) -> Any:
    """Build one dataclass table; append problems and return None if any."""
    if not isinstance(data, Mapping):
        problems.append(_wrong_type(path, data, "table"))
        return None
    fields = dataclasses.fields(cls)
    hints = _type_hints(cls)
    allowed = ", ".join(f.name for f in fields)
    before = len(problems)
    for key in data:
        if key in getattr(cls, "DERIVED", {}):   # a report shows it; no file or --set sets it
            problems.append(f"{_join(path, key)} is derived, not set: {cls.DERIVED[key]}")
        elif key not in hints:
            problems.append(f"{_join(path, key)} is not a known key (allowed: {allowed})")
    values: dict[str, Any] = {}
    for f in fields:
        fpath = _join(path, f.name)
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{fpath} is missing (required {_describe(hints[f.name])})")
            continue
        values[f.name] = _convert(hints[f.name], f.metadata, data[f.name], fpath, problems)
    if len(problems) > before:
        return None
    instance = cls(**values)
    validate = getattr(instance, "validate", None)
    if validate is not None:
        problems.extend(_join(path, problem) for problem in validate())
    return instance


def _convert(tp: Any, metadata: Mapping[str, Any], value: Any, path: str,
             problems: list[str]) -> Any:
    """Check one value against its annotation and metadata; return the converted value."""
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, problems)
    origin = typing.get_origin(tp)
    if origin in (dict, Mapping):
        return _convert_mapping(typing.get_args(tp), value, path, problems)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(tp)
    if ok is None:
        raise TypeError(f"azsim.config.loader cannot load fields of type {tp!r} ({path})")
    if not ok:
        problems.append(_wrong_type(path, value, _describe(tp)))
        return None
    if tp is float:
        try:
            value = float(value)
        except OverflowError:   # an integer beyond any float: outside every range
            problems.append(f"{path} = {_show(value)} is too large for a number "
                            f"(at most about 1.8e308)")
            return None
    if "range" in metadata:
        lo, hi = metadata["range"]
        if not lo <= value <= hi:  # written this way so that NaN fails too
            problems.append(f"{path} = {_show(value)} is out of range [{lo}, {hi}]")
    if "choices" in metadata and value not in metadata["choices"]:
        allowed = ", ".join(_show(c) for c in metadata["choices"])
        problems.append(f"{path} = {_show(value)} is not one of {allowed}")
    return value


def _convert_mapping(args: tuple, value: Any, path: str, problems: list[str]) -> Any:
    """A ``dict[str, X]`` field: a table whose keys are free names and whose values are X."""
    if not isinstance(value, Mapping):
        problems.append(_wrong_type(path, value, "table"))
        return None
    _, value_type = args
    before = len(problems)
    out = {key: _convert(value_type, {}, item, _join(path, key), problems)
           for key, item in value.items()}
    # Read-only, so that the frozen dataclass holding it stays immutable.
    return None if len(problems) > before else types.MappingProxyType(out)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(tp: Any) -> str:
    if dataclasses.is_dataclass(tp) or typing.get_origin(tp) in (dict, Mapping):
        return "table"
    return _TYPE_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _wrong_type(path: str, value: Any, expected: str) -> str:
    shown = "a table" if isinstance(value, Mapping) else _show(value)
    got = _TYPE_NAMES.get(type(value), type(value).__name__)
    return f"{path} = {shown} has type {got}, expected {expected}{_number_hint(value, expected)}"


def _number_hint(value: Any, expected: str) -> str:
    """For a string that Python reads as a number but TOML does not (``.5``, ``5.``, which
    ``--set`` then kept as a string): how TOML writes it (a CLI audit, 2026-12-07)."""
    if expected not in ("number", "integer") or not isinstance(value, str):
        return ""
    try:
        number = float(value.strip())
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    shown = str(int(number)) if number.is_integer() and expected == "integer" else repr(number)
    return f" ({value.strip()!r} is not a TOML number; write {shown})"


def _show(value: Any) -> str:
    """A short, single-line, TOML-like rendering of a value for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


# ----------------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """Parse ``"model.encoder.hidden=64"`` into ``(["model", "encoder", "hidden"], 64)``.

    The value is read as a TOML value (``64``, ``2.5``, ``true``, ``"x"``, ``[1, 2]``); if it is
    not valid TOML it is taken as a bare string, so ``hw.zero_handling=skip`` works.
    """
    _, sep, raw = text.partition("=")
    path = _key_path(text)
    if not sep or not all(path):
        raise ConfigError(_one_line(
            f"{as_called(f'--set {text!r}', named_item('overrides', text))}"
            f" is malformed: expected the form {_OVERRIDE_FORM}"))
    try:
        parsed = tomllib.loads("v = " + raw)
    except (tomllib.TOMLDecodeError, RecursionError):
        return path, raw.strip()
    if set(parsed) != {"v"}:  # raw smuggled in more TOML, e.g. "1\nx = 2": keep it literal
        return path, raw.strip()
    return path, parsed["v"]


def _key_path(text: str) -> list[str]:
    return [part.strip() for part in text.partition("=")[0].split(".")]


def override_key(text: str) -> str:
    """The dotted key an override sets, spelled as :func:`parse_override` reads it:
    ``" hw . clock_mhz = 400"`` sets ``hw.clock_mhz``. Never raises (a malformed override
    gives whatever stands before its ``=``)."""
    return ".".join(_key_path(text))


def same_value(a: Any, b: Any) -> bool:
    """Whether two parsed override values are one value: equal and of one type (``8`` and
    ``8.0``, or ``1`` and ``true``, are not)."""
    return type(a) is type(b) and a == b


class OptionOverride(str):
    """A ``--set`` override that a command-line option wrote (``--bits 9`` writes
    ``model.weight_bits=9``): a plain string everywhere, and ``shown`` is what the user typed,
    so that an error about the setting names the option, not a ``--set`` never given."""
    shown: str

    def __new__(cls, override: str, shown: str) -> "OptionOverride":
        obj = super().__new__(cls, override)
        obj.shown = shown
        return obj

    def __reduce__(self):   # pickled to sweep workers as itself
        return (OptionOverride, (str(self), self.shown))


def shown_override(text: str) -> str:
    """How an override is named in messages: the option that wrote it, or ``--set TEXT``."""
    return getattr(text, "shown", None) or named_item("overrides", text)


def shown_overrides(texts: Sequence[str]) -> str:
    """Several overrides as messages name them: ``--set A --set B`` under the CLI; from the
    API ``overrides 'A', 'B'`` (and ``bits=4`` for the one ``bits`` wrote)."""
    if naming_cli_options():
        return " ".join(shown_override(t) for t in texts)
    plain = [repr(str(t)) for t in texts if getattr(t, "shown", None) is None]
    options = [t.shown for t in texts if getattr(t, "shown", None) is not None]
    return ", ".join(([f"overrides {', '.join(plain)}"] if plain else []) + options)


def split_overrides(overrides: Iterable[str], roots: Iterable[str] = ("model", "hw")
                    ) -> dict[str, list[str]]:
    """Group raw ``--set`` strings by their first path component; every root gets a list.

    Raises one ConfigError naming every override that is malformed or has an unknown root.
    """
    groups: dict[str, list[str]] = {root: [] for root in roots}
    problems = []
    for text in overrides:
        try:
            path, _ = parse_override(text)
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if path[0] not in groups:
            problems.append(f"{shown_override(text)}: unknown section {path[0]!r} "
                            f"(allowed: {', '.join(groups)})")
        elif len(path) < 2:
            problems.append(f"{shown_override(text)}: expected the form {_OVERRIDE_FORM}")
        else:
            groups[path[0]].append(text)
    if problems:
        raise ConfigError(_one_line("; ".join(problems)))
    return groups


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str], root: str
                    ) -> dict[str, Any]:
    """Return a deep copy of ``data`` with the overrides rooted at ``root`` applied.

    ``data`` is the raw table of that root (e.g. a model TOML file), so ``model.encoder.hidden=64``
    sets ``data["encoder"]["hidden"]``; missing intermediate tables are created. Whether the
    result is a valid config is left to :func:`build`, which then names unknown keys too.
    A key given twice with two values (however spaced) is a ConfigError, not "the last wins".
    """
    out = copy.deepcopy(dict(data))
    given: dict[str, tuple[str, Any]] = {}
    for text in overrides:
        path, value = parse_override(text)
        if path[0] != root:
            continue
        _check_given_once(given, text, ".".join(path), value)
        table = out
        for depth, key in enumerate(path[1:-1], start=2):
            table = table.setdefault(key, {})
            if not isinstance(table, dict):
                raise ConfigError(_one_line(
                    f"{shown_override(text)}: {'.'.join(path[:depth])} is a value, not a "
                    "table"))
        table[path[-1]] = value
    return out


def _check_given_once(given: dict[str, tuple[str, Any]], text: str, key: str, value: Any
                      ) -> None:
    """Refuse a setting given twice with two values, or given inside a table that is given
    whole too: only one of them could take effect, and the other would be dropped silently.
    ``given`` maps each key seen so far to its override and value; ``key`` is added."""
    for other, (first, earlier) in given.items():
        if other == key and same_value(earlier, value):
            return   # the same value twice: nothing is dropped
        if other == key:
            raise ConfigError(_one_line(
                f"{shown_override(text)}: {key} is given twice, as {_show(earlier)} by "
                f"{shown_override(first)} and as {_show(value)}; give the setting once"))
        if other.startswith(key + ".") or key.startswith(other + "."):
            raise ConfigError(_one_line(
                f"{shown_override(text)}: {key} overlaps {other}, given by "
                f"{shown_override(first)} (one is a table holding the other); give each "
                "setting once"))
    given[key] = (text, value)


# ------------------------------------------------------------------------------ files, presets


def load_toml(path: str | Path, source: str | None = None) -> dict[str, Any]:
    """Read a TOML file; a missing, unreadable or malformed file is a one-line ConfigError
    beginning with ``source`` (default: the path)."""
    source = str(path) if source is None else source
    return _parse_toml(read_small_file(path, source, ConfigError), source)


def _parse_toml(data: bytes, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_one_line(f"{source}: invalid TOML: {exc}")) from None
    except RecursionError:   # tomllib parses nested arrays and tables recursively
        raise ConfigError(f"{source}: invalid TOML: arrays or tables nested too deeply") from None


def _preset_dir(kind: str) -> Any:
    if kind not in PRESET_KINDS:  # a programming error, not a user one
        raise ValueError(f"unknown preset kind {kind!r} (allowed: {', '.join(PRESET_KINDS)})")
    return resources.files("azsim.config").joinpath("presets", kind)


def list_presets(kind: str) -> tuple[str, ...]:
    """Names of the presets shipped for ``kind`` (a key of PRESET_KINDS), sorted."""
    return tuple(sorted(entry.name[: -len(".toml")] for entry in _preset_dir(kind).iterdir()
                        if entry.name.endswith(".toml") and entry.is_file()))


def resolve_preset(kind: str, name_or_path: str | Path, *, where: str | None = None
                   ) -> tuple[dict[str, Any], str]:
    """Load a preset by name, or a user TOML file by path; return ``(raw table, source)``.

    A shipped preset's bare name (``eie``) is that preset, even beside a file of that name in
    the current folder (write ``./eie`` for the file); any other value that names an existing
    file or ends in ``.toml`` is a path; anything else is looked up among the shipped presets
    of ``kind``. ``where`` names the setting the value came from
    (``hw.energy_table``): messages, and the source of a file, then begin ``where = "VALUE"``;
    otherwise a file's source is its path.
    """
    text = str(name_or_path)
    label = f"{where} = {json.dumps(text, ensure_ascii=False)}" if where else \
        text or f"{PRESET_KINDS[kind]} \"\""
    available = list_presets(kind)
    wanted = (f"give {_a(PRESET_KINDS[kind])} preset ({', '.join(available)}) or a path to a "
              ".toml file")
    if not text:   # Path("") is the current folder
        raise ConfigError(f"{label}: the path is empty; {wanted}")
    found = None if _shipped_name(kind, text) else path_kind(text, label, ConfigError, wanted)
    if text.endswith(".toml") and found is None:
        # `--hw az-edge.toml`, after the README names the preset's file in the source tree
        # (a newcomer audit): "cannot read (No such file or directory)" did not say that
        # the preset is its bare name
        stem = Path(text).name[: -len(".toml")]
        hint = f"; the shipped {PRESET_KINDS[kind]} preset of that name is given as {stem}" \
            if stem in available else f"; {wanted}"
        raise ConfigError(f"{label}: no such file{hint}{_list_hint(text)}")
    if text.endswith(".toml") or found == "file":
        return load_toml(text, label), label if where else text
    if text not in available and found == "folder":
        raise ConfigError(f"{label}: is a folder; {wanted}")
    if text not in available:
        unknown = f"{label}: unknown {PRESET_KINDS[kind]} preset" if where else \
            f"unknown {PRESET_KINDS[kind]} preset {text!r}"
        raise ConfigError(f"{unknown} (available: {', '.join(available)}; or give a path to a "
                          f".toml file){_list_hint(text)}")
    source = f"{PRESET_KINDS[kind]} preset {text!r}"
    return _parse_toml(_preset_dir(kind).joinpath(f"{text}.toml").read_bytes(), source), source


def _list_hint(text: str) -> str:
    """``--hw az-edge,mine.toml`` given where one is taken: a list is azsim sweep's."""
    return ("; several, comma-separated, are for azsim sweep --hw/--model (one run takes "
            "one)") if "," in text else ""


def paths_from_file(cls: type, data: Mapping[str, Any], path: str, *, root: str = ""
                    ) -> dict[str, Any]:
    """``data`` read from the user's file ``path``, with each preset-or-path field (metadata
    ``preset``, in nested tables too) that holds a relative path made relative to the file's
    folder: a path in a file is read from that file's folder, as a path given by ``--set`` is
    from the current one. A path is a value ending in the kind's suffix (``.toml`` for a
    preset, ``.npz`` for weights), holding a ``/``, or naming a file there; any other value
    stays a preset (or shipped weights) name. A field of kind ``path`` has no names: every
    value is a path."""
    out = dict(data)
    hints = _type_hints(cls)
    for f in dataclasses.fields(cls):
        value = out.get(f.name)
        if dataclasses.is_dataclass(hints[f.name]) and isinstance(value, Mapping):
            out[f.name] = paths_from_file(hints[f.name], value, path, root=_join(root, f.name))
        elif "preset" in f.metadata and isinstance(value, str):
            label = f"{path}: {_join(root, f.name)} = {json.dumps(value, ensure_ascii=False)}"
            out[f.name] = from_folder(value, Path(path).parent, f.metadata["preset"], label)
    return out


def from_folder(value: str, folder: Path, kind: str, label: str) -> str:
    """A preset-or-path setting written in a file in ``folder`` (:func:`paths_from_file`):
    a relative path made relative to ``folder``; a name (of a preset of ``kind``, or shipped
    weights for ``weights``), an empty value or an absolute path as written. A shipped name
    stays a name beside a file of that name (``./NAME`` is the file), as on the command line
    (:func:`resolve_preset`)."""
    if not value or Path(value).is_absolute() or _shipped_name(kind, value):
        return value
    beside = folder / value
    suffix = ".npz" if kind == "weights" else ".toml"
    if kind == "path" or value.endswith(suffix) or "/" in value or os.sep in value \
            or path_kind(beside, label, ConfigError) == "file":
        return str(beside)
    return value


def is_user_file(kind: str, text: str) -> bool:
    """Whether :func:`resolve_preset` reads ``text`` as a user's file rather than a shipped
    preset (the same test it makes)."""
    return not _shipped_name(kind, text) and (text.endswith(".toml") or os.path.isfile(text))


def _shipped_name(kind: str, value: str) -> bool:
    """Whether ``value`` is the bare name of something shipped for ``kind``: a preset, or for
    ``weights`` a shipped weights file (``small``)."""
    if "/" in value or os.sep in value or kind == "path":
        return False
    if kind in PRESET_KINDS:
        return value in list_presets(kind)
    if kind == "weights":
        from azsim.model.loading import shipped_weights_dir
        return os.path.isfile(shipped_weights_dir() / f"{value}.npz")
    return False


def path_setting_kind(cls: type, path: Sequence[str]) -> str | None:
    """The ``preset`` kind of the setting at ``path`` (``["decode", "context_file"]`` below
    ``cls``), or None when it holds no path (or is no setting)."""
    for depth, key in enumerate(path):
        f = next((f for f in dataclasses.fields(cls) if f.name == key), None)
        if f is None:
            return None
        tp = _type_hints(cls)[key]
        if depth == len(path) - 1:
            return f.metadata.get("preset")
        if not dataclasses.is_dataclass(tp):
            return None
        cls = tp
    return None


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


# ------------------------------------------------------------------------------------- reports


def to_dict(instance: Any) -> Any:
    """Plain nested dicts (TOML-shaped) of a spec; ``build(cls, to_dict(x), ...) == x``."""
    if dataclasses.is_dataclass(instance) and not isinstance(instance, type):
        return {f.name: to_dict(getattr(instance, f.name)) for f in dataclasses.fields(instance)}
    if isinstance(instance, Mapping):
        return {key: to_dict(value) for key, value in instance.items()}
    return instance
