"""The Python API's argument checks: one rule per parameter name, shared by
:func:`azsim.simulate`, :func:`azsim.evaluate.evaluate_sets`, the config loaders'
overrides and :func:`azsim.sweep.spec.build_spec` / :func:`~azsim.sweep.spec.expand`.

A caller's wrong type (``audio="my.wav"``, which ``list()`` would read as characters;
``overrides=None``; ``utterances=True``; a progress that cannot be called; an int path, which
the OS would take as a file descriptor) or an empty list is one :class:`AzsimError` line
naming the parameter, the bad value and what is allowed, before any work. Ranges that depend
on the config or the test set (``bits`` 1..8, ``utterances`` up to the set's size) are
checked where those are known."""
from __future__ import annotations

import os
from collections.abc import Iterable

from .errors import AzsimError, quoted

_BAD = object()   # what a rule's check returns for a value it refuses


class _Why(str):
    """What a rule's check returns for a value it refuses, saying why."""


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike)) and os.fspath(value) != ""


def _items(value, ok, empty_ok: bool):
    """``value`` as a list whose items pass ``ok``, or why not (a str: a str is one path,
    not a list of characters; a dict is no list)."""
    if isinstance(value, (str, bytes, dict, os.PathLike)) or not isinstance(value, Iterable):
        return _Why(f"type {type(value).__name__}")
    items = list(value)
    if not items and not empty_ok:
        return _Why("an empty list")
    bad = [k for k, item in enumerate(items) if not ok(item)]
    return _Why(f"item {bad[0]} is {quoted(items[bad[0]])}") if bad else items


def repeated_path(paths) -> tuple[int, int] | None:
    """``(first, again)``: the positions of the first file that ``paths`` names twice (by any
    spelling: the same real path), or None."""
    seen: dict[str, int] = {}
    for k, path in enumerate(paths):
        key = os.path.realpath(os.fspath(path))
        if key in seen:
            return seen[key], k
        seen[key] = k
    return None


def _distinct_paths(value):
    """``value`` as a list of paths naming different files: a file given twice (a shell glob
    that matched it twice) ran twice, and the run's totals counted it twice (a CLI audit,
    2026-12-07; eval's sets and soup's files were already refused twice)."""
    items = _items(value, _is_path, False)
    if isinstance(items, _Why):
        return items
    twice = repeated_path(items)
    if twice is not None:
        first, again = twice
        return _Why(f"item {again} ({quoted(items[again])}) is item {first} "
                    f"({quoted(items[first])}) again")
    return items


def _int(value, least=None):
    """``value`` if it is an int (a bool is no count) of at least ``least``."""
    ok = isinstance(value, int) and not isinstance(value, bool) and \
        (least is None or value >= least)
    return value if ok else _BAD


def _one_baseline(value) -> bool:
    """A record's rows each with a string reference and hypothesis (a row without its
    hypothesis passed, and the evaluation failed with a KeyError after decoding the whole
    set; a statistics audit, 2026-12-07)."""
    hyps = value.get("hypotheses") if isinstance(value, dict) else None
    return isinstance(hyps, list) and all(
        isinstance(h, dict) and isinstance(h.get("reference"), str)
        and isinstance(h.get("hypothesis"), str) for h in hyps)


def _baseline(value):
    many = isinstance(value, list) and value and all(_one_baseline(v) for v in value)
    return value if many or _one_baseline(value) else _BAD


# name -> (None allowed, what is allowed, check: the value to use, _BAD or a _Why)
_RULES = {
    "audio": (True, "a non-empty list of different WAV files, each run once, or None for the "
              "shipped utterances", _distinct_paths),
    "calibration_audio": (True, "a non-empty list of WAV paths, or None for the shipped "
                          "calibration audio", lambda v: _items(v, _is_path, False)),
    "testsets": (False, "a non-empty list of test set names or paths",
                 lambda v: _items(v, _is_path, False)),
    "overrides": (False, "a list of 'section.field=value' strings (empty for none)",
                  lambda v: _items(v, lambda o: isinstance(o, str), True)),
    "sets": (False, "a list of 'section.field=v1,v2,...' strings (empty for none)",
             lambda v: _items(v, lambda o: isinstance(o, str), True)),
    "zips": (False, "a list of 'section.field=v1,v2,...' strings that step together (empty "
             "for none)", lambda v: _items(v, lambda o: isinstance(o, str), True)),
    "weights": (True, "a weights .npz path or a shipped name, or None",
                lambda v: v if _is_path(v) else _BAD),
    "testset": (True, "a test set name or path, or None", lambda v: v if _is_path(v) else _BAD),
    # None is no preset: the loaders read it as one named 'None' (a statistics audit)
    "model": (False, "a model preset name or a .toml path",
              lambda v: v if _is_path(v) else _BAD),
    "hardware": (False, "a hardware preset name or a .toml path",
                 lambda v: v if _is_path(v) else _BAD),
    "include_float": (False, "True or False", lambda v: v if isinstance(v, bool) else _BAD),
    "baseline_label": (False, "a string naming the baseline in messages",
                       lambda v: v if isinstance(v, str) and v else _BAD),
    "spec_file": (True, "a sweep spec .toml path, or None",
                  lambda v: v if _is_path(v) else _BAD),
    "bits": (True, "an integer number of weight bits (1..8), or None", _int),
    "utterances": (True, "an integer number of test set utterances (with testset), or None",
                   _int),
    "jobs": (False, "an integer >= 1", lambda v: _int(v, 1)),
    "progress": (True, "a callable progress(stage, done, total), or None",
                 lambda v: v if callable(v) else _BAD),
    "cache": (True, "a mutable mapping (a dict), or None",
              lambda v: v if callable(getattr(v, "get", None)) and hasattr(v, "__setitem__")
              else _BAD),
    "baseline": (True, "an earlier evaluate() result (a dict whose 'hypotheses' list holds "
                 "{'reference': str, 'hypothesis': str, ...} records), a list of them (one "
                 "per test set), or None", _baseline),
}


def checked(name: str, value, none_ok: bool | None = None):
    """``value`` of the API parameter ``name`` if its rule allows it (an iterable of paths or
    overrides comes back as a list, read once), else an :class:`AzsimError` naming ``name``,
    the value and what is allowed. ``none_ok``: whether None is allowed here, against the
    rule's own (``build_spec``'s model and hardware are None when not given)."""
    rule_none_ok, allowed, check = _RULES[name]
    if none_ok is None:
        none_ok = rule_none_ok
    elif none_ok:
        allowed += ", or None"
    if value is None and none_ok:
        return None
    result = _BAD if value is None else check(value)
    if result is not _BAD and not isinstance(result, _Why):
        return result
    why = f"{result}; " if isinstance(result, _Why) else ""
    raise AzsimError(f"{name} = {quoted(value)}: {why}expected {allowed}")
