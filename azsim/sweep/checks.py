"""What a stored point must hold: the one check every reader of a results database relies on.

:func:`azsim.sweep.store.open_for_reading` runs :func:`check_point` on every point it returns
and :meth:`azsim.sweep.store.ResultStore.done_keys` on every point ``azsim sweep --resume``
would skip, so ``azsim report``, ``azsim plot``, ``azsim results export`` and the resume see
only points that passed. azsim never writes a point that fails: one that does was edited or
damaged outside azsim, and is an error naming the database, the point, the field, the value
and what is allowed, never a traceback or a wrong number further on.

Checked: the config of every point (``model`` and ``hw`` objects of JSON scalars; an ok point's
``model.weight_bits`` and ``model.sparsity``), and of an ok point its record: the sections and
headline values every report uses (``model.name``, ``hardware.name``, ``latency.seconds``,
``energy.total_uj``, ``traffic.dram_read_bytes``, ``audio.seconds``), every measurement
exported (:data:`azsim.sweep.export.METRICS`, ``OPTIONAL_METRICS``) and the per-utterance
timelines ``azsim plot --kind timeline`` draws. Counts, times, sizes and energies are numbers
from 0 to :data:`LIMIT` (the differences a branch or a speculation saves may be negative);
a WER may exceed 1 (insertions) but not be negative.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import quoted
from .export import LAYER_FIGURES, METRICS, OPTIONAL_METRICS
from .store import ResultsError, StoredPoint

__all__ = ["check_point", "LIMIT"]

# Largest measurement accepted: a report scales values (ms, %) and must stay finite.
LIMIT = 1e300
_CONFIG_DEPTH = 8            # nesting of a config's sections (model.encoder.hidden: 2)

# What every report, plot and export reads from a successful point's record.
_RECORD_SECTIONS = ("model", "hardware", "latency", "energy", "traffic", "audio")
_NAMES = (("model", "name"), ("hardware", "name"))
_REQUIRED = {("latency", "seconds"), ("energy", "total_uj"), ("traffic", "dram_read_bytes"),
             ("audio", "seconds")}
_POSITIVE = (("audio", "frame_ms"), ("hardware", "clock_mhz"))    # the timeline divides by
# Differences (baseline - with): negative when the cheaper path cost more.
_SIGNED = {("branch", "energy_saved_uj"), ("branch", "energy_saved_share"),
           ("branch", "cycles_saved_share"), ("branch", "encoder_macs_issued_saved_share"),
           ("branch", "wer_change"), ("endpoint", "latency_saved_ms_mean")}
_MISSING = object()
_NUMBER = f"a number from 0 to {LIMIT:g}"


def _where(p: StoredPoint) -> str:
    return f"{p.source}: point {p.key!r}" if p.source else f"results point {p.key!r}"


# Optional columns that hold text, not numbers.
_TEXT_COLUMNS = ("testset", "weights_sha256")


def _fail(p: StoredPoint, field: str, value: Any, allowed: str) -> ResultsError:
    shown = "missing" if value is _MISSING else quoted(value, 40)
    return ResultsError(f"{_where(p)}: {field} is {shown}, not {allowed} (damaged outside "
                        "azsim?); sweep into a new results file")


def _finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (not a number, a bool, NaN, infinity, or an
    integer beyond float range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        v = float(value)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


def _number(p, field: str, value: Any, lo: float = 0.0, hi: float = LIMIT,
            allowed: str = _NUMBER) -> None:
    v = _finite(value)
    if v is None or not lo <= v <= hi:
        raise _fail(p, field, value, allowed)


def _get(obj: Any, path) -> Any:
    for part in path:
        if not isinstance(obj, Mapping) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def _check_config(p: StoredPoint) -> None:
    for section in ("model", "hw"):
        table = p.config.get(section, _MISSING)
        if not isinstance(table, Mapping):
            raise _fail(p, f"config {section}", table, "an object of config fields")
        todo = [(f"{section}.{k}", v, 1) for k, v in table.items()]
        while todo:
            name, value, depth = todo.pop()
            if isinstance(value, Mapping) and depth < _CONFIG_DEPTH:
                todo += [(f"{name}.{k}", v, depth + 1) for k, v in value.items()]
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                if _finite(value) is None:
                    raise _fail(p, f"config {name}", value, "a finite number")
            elif not (value is None or isinstance(value, (str, bool))):
                raise _fail(p, f"config {name}", value,
                            "a config value (text, a number, true/false or null)")
    if p.status != "ok":
        return
    bits = _get(p.config, ("model", "weight_bits"))
    if _finite(bits) is None or bits != int(bits) or not 1 <= bits <= 64:
        raise _fail(p, "config model.weight_bits", bits, "a whole number of bits from 1 to 64")
    _number(p, "config model.sparsity", _get(p.config, ("model", "sparsity")), 0.0, 1.0,
            "a fraction from 0 to 1")


def _check_numbers(p: StoredPoint, field: str, values: Any) -> int:
    if not isinstance(values, list):
        raise _fail(p, field, values, f"a list of numbers from 0 to {LIMIT:g}")
    for k, v in enumerate(values):
        if _finite(v) is None or not 0.0 <= v <= LIMIT:
            raise _fail(p, f"{field}[{k}]", v, _NUMBER)
    return len(values)


def _check_utterances(p: StoredPoint, utts: Any) -> None:
    if not isinstance(utts, list) or not utts:
        raise _fail(p, "record utterances", utts, "a list of utterance objects")
    for k, u in enumerate(utts):
        name = f"record utterances[{k}]"
        if not isinstance(u, Mapping):
            raise _fail(p, name, u, "an utterance object")
        if not isinstance(u.get("file"), str):
            raise _fail(p, f"{name}.file", u.get("file", _MISSING), "a file name")
        _number(p, f"{name}.seconds", u.get("seconds", _MISSING))
        # (finish and energy: records of older code may lack them; the frame table of
        # azsim results export --per frame reads the energies)
        lengths = {f: _check_numbers(p, f"{name}.{f}", u.get(f, _MISSING))
                   for f in ("frame_arrival_ms", "frame_compute_ms", "frame_finish_ms",
                             "frame_energy_uj")
                   if f in ("frame_arrival_ms", "frame_compute_ms") or f in u}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{f} {n}" for f, n in lengths.items())
            raise ResultsError(f"{_where(p)}: {name} has per-frame lists of different lengths "
                               f"({shown}), not one value per frame (damaged outside azsim?); "
                               "sweep into a new results file")
        # the frame whose work gives the final result (the timeline plot indexes the
        # frames with it: a string crashed it with a traceback; a sweep audit, 2026-12-07)
        rf = u.get("result_frame")
        frames = lengths["frame_arrival_ms"]
        if rf is not None and (isinstance(rf, bool) or not isinstance(rf, int)
                               or not -1 <= rf < max(frames, 1)):
            raise _fail(p, f"{name}.result_frame", rf, "absent, null, -1 (the last frame) "
                        f"or a frame index from 0 to {max(frames - 1, 0)}")
        # the frame of each emitted symbol (the frame table counts them per frame)
        tokens = u.get("token_frames")
        if tokens is not None:
            if not isinstance(tokens, list):
                raise _fail(p, f"{name}.token_frames", tokens, "a list of frame indices")
            for j, t in enumerate(tokens):
                if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < frames:
                    raise _fail(p, f"{name}.token_frames[{j}]", t,
                                f"a frame index from 0 to {max(frames - 1, 0)}")


def _check_record(p: StoredPoint) -> None:
    record = p.record or {}
    missing = [k for k in _RECORD_SECTIONS if not isinstance(record.get(k), Mapping)]
    if missing:
        raise ResultsError(f"{_where(p)} is stored as ok but its record lacks "
                           f"{', '.join(missing)} (damaged outside azsim?); sweep into a new "
                           "results file")
    for path in _NAMES:
        value = _get(record, path)
        if not isinstance(value, str) or not value:
            raise _fail(p, "record " + ".".join(path), value, "a name (text)")
    for path in _POSITIVE:
        value = _get(record, path)
        if _finite(value) is None or not 0.0 < value <= LIMIT:
            raise _fail(p, "record " + ".".join(path), value, f"a number above 0 to {LIMIT:g}")
    for name, path in METRICS + OPTIONAL_METRICS:
        value = _get(record, path)
        if name in _TEXT_COLUMNS or value is None \
                or (value is _MISSING and path not in _REQUIRED):
            continue
        if (name, path) in OPTIONAL_METRICS and isinstance(value, (Mapping, list)):
            continue      # another shape of an optional section: not a column (export)
        if path in _SIGNED:
            _number(p, "record " + ".".join(path), value, -LIMIT, LIMIT,
                    f"a number from {-LIMIT:g} to {LIMIT:g}")
        else:
            _number(p, "record " + ".".join(path), value)
    breakdown = _get(record, ("energy", "breakdown_uj"))
    if isinstance(breakdown, Mapping):
        for component, uj in breakdown.items():
            _number(p, f"record energy.breakdown_uj.{component}", uj)
    elif breakdown not in (None, _MISSING):
        raise _fail(p, "record energy.breakdown_uj", breakdown,
                    "an object of energies per component (uJ)")
    _check_utterances(p, record.get("utterances", _MISSING))
    _check_layers(p, record.get("layers"))


def _check_layers(p: StoredPoint, layers: Any) -> None:
    """Each layer's name and the figures azsim compare reads, and its cycles by resource,
    which the tables sum into ``cycles_<resource>``
    (:func:`azsim.sweep.export.cycles_by_resource`): a damaged one would be left out of the
    sum without a word."""
    if layers is None:
        return
    if not isinstance(layers, list):
        raise _fail(p, "record layers", layers, "a list of layer objects")
    for k, layer in enumerate(layers):
        if not isinstance(layer, Mapping):
            raise _fail(p, f"record layers[{k}]", layer, "a layer object")
        # azsim compare pairs the layers of two runs by name and reads these figures (a
        # layer without a name was a KeyError traceback)
        if not isinstance(layer.get("name"), str):
            raise _fail(p, f"record layers[{k}].name", layer.get("name", _MISSING),
                        "a layer name")
        for figure in LAYER_FIGURES:
            if figure in layer:
                _number(p, f"record layers[{k}].{figure}", layer[figure])
        table = layer.get("cycles_by_resource")
        if table is None:
            continue
        if not isinstance(table, Mapping):
            raise _fail(p, f"record layers[{k}].cycles_by_resource", table,
                        "an object of cycles per resource")
        for resource, cycles in table.items():
            _number(p, f"record layers[{k}].cycles_by_resource.{resource}", cycles)


def check_point(p: StoredPoint) -> None:
    """Raise :class:`ResultsError` naming the database, the point, the field, its value and
    what is allowed if ``p`` (parsed by the store) holds what azsim never writes."""
    if p.status == "ok":
        _check_record(p)
    _check_config(p)
