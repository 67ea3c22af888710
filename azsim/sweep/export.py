"""Flat tables of a results store: one row per point, units in every column name.

Columns, in order:

- ``key``, ``status`` (``ok``/``failed``), ``run_s`` (the point's wall time in its worker, s),
  ``azsim_version`` (the code that made the record: release and source fingerprint; a store
  can hold points of older code beside a resumed sweep's, which report and plot point out);
- ``input``: the speech the point ran on (:func:`input_label`: shipped audio, WAV files or a
  test set with its utterance count, and a content hash);
- the resolved config, one column per field, named by its ``--set`` path (``model.weight_bits``,
  ``model.sparsity``, ``model.encoder.hidden``, ``hw.clock_mhz``...): the fields carry their
  units in their names already (schema: ``azsim/config/schema.py``); ``model.sparsity`` is the
  requested fraction of pruned weights;
- the measurements of the run record (:data:`METRICS`), e.g. ``latency_rtf``,
  ``energy_total_uj``, ``dram_read_bytes``; ``energy_<component>_uj`` per component of the
  energy breakdown; ``cycles_<resource>`` the run's cycles by the resource each layer's
  cycles waited on (``compute``, ``sram``, ``decoder``, ``nonlinear``, ``dram``: they sum to
  ``latency_cycles`` to rounding); ``wer`` (word error rate as a fraction, 0..1) when the
  audio has reference transcripts; ``end_of_speech_latency_ms`` and
  ``last_frame_latency_ms`` are means over the utterances (their ``_max_ms`` columns the
  maxima); ``audio_frames`` counts the encoder's input frames (after frame stacking at the
  model's stride, e.g. one per 30 ms), not 10 ms feature frames;
- the on-device pipeline's measurements when the run has them (:data:`OPTIONAL_METRICS`:
  beam search, lattice, end-pointers, branching encoder), e.g. ``decode_joint_evals``,
  ``lattice_uplink_bytes``, ``endpoint_latency_saved_ms_mean``, ``branch_cheap_step_share``;
- ``error`` (failed points).

Measurements of a failed point are empty.

:func:`detail_rows` gives the finer tables (``azsim results export --per layer|utterance|
frame``): one row per layer, utterance or frame of each successful point, each led by the
point's ``key``, ``azsim_version``, the config fields that name the run and those that differ
between the points, ``input`` and ``files``:

- per layer (:func:`flatten_layer`): the layer's entries of the run record prefixed
  ``layer_`` (``layer_name``, ``layer_kind``, ``layer_rows`` and ``layer_cols`` of its weight
  matrix, ``layer_cycles``, ``layer_bound``, ``layer_dram_read_bytes``, ``layer_energy_uj``...),
  ``layer_cycles_<resource>`` for the layer's cycles by the resource each invocation waited
  on (they sum to ``layer_cycles`` to rounding; :func:`cycles_by_resource` sums them over
  the layers),
  ``layer_energy_<component>_uj`` per component of
  the energy breakdown and ``layer_energy_detail_<action>_uj`` per action of the finer split
  (gated MACs, weight and activation SRAM, element-wise work);
- per utterance (:func:`flatten_utterance`): ``utterance_file``, ``utterance_seconds``,
  ``utterance_frames``, ``utterance_cycles``, ``utterance_rtf``, ``utterance_energy_uj``,
  the latencies, traffic, transcript, reference and ``utterance_wer`` where it has one;
- per frame (:func:`frame_rows_of`): ``utterance_file``, ``frame`` (its index, one per
  encoder input frame), ``frame_arrival_ms`` (its audio is in), ``frame_compute_ms``,
  ``frame_finish_ms`` (its result is ready), ``frame_latency_ms`` (finish - arrival),
  ``frame_energy_uj``, ``frame_tokens`` (symbols the search emitted at it) and
  ``frame_is_result`` (the frame whose finish ends the utterance's latency).
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import AzsimError

if TYPE_CHECKING:
    from .store import StoredPoint

__all__ = ["METRICS", "OPTIONAL_METRICS", "VERSION", "flatten_config", "flatten_record",
           "flat_rows", "cycles_by_resource", "RESOURCE_LABELS", "resource_columns",
           "LAYER_FIGURES",
           "flatten_layer", "flatten_utterance", "frame_rows_of", "detail_rows", "DETAILS",
           "columns", "write_csv", "write_json"]

# column -> path into the run record (``azsim run --json``); units are in the column names.
METRICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("latency_cycles", ("latency", "cycles")),
    ("latency_s", ("latency", "seconds")),
    ("latency_rtf", ("latency", "rtf")),
    ("frame_compute_p50_ms", ("latency", "per_frame_ms_p50")),
    ("frame_compute_p99_ms", ("latency", "per_frame_ms_p99")),
    ("end_of_speech_latency_ms", ("latency", "end_of_speech_ms")),
    ("end_of_speech_latency_max_ms", ("latency", "end_of_speech_ms_max")),
    ("dram_read_bytes", ("traffic", "dram_read_bytes")),
    ("dram_write_bytes", ("traffic", "dram_write_bytes")),
    ("sram_read_bytes", ("traffic", "sram_read_bytes")),
    ("sram_write_bytes", ("traffic", "sram_write_bytes")),
    ("weight_preload_bytes", ("traffic", "weight_preload_bytes")),
    ("sram_weight_bytes", ("traffic", "sram_weight_bytes")),
    ("energy_total_uj", ("energy", "total_uj")),
    ("macs_dense", ("compute", "macs_dense")),
    ("macs_issued", ("compute", "macs_issued")),
    ("macs_skipped", ("compute", "macs_skipped")),
    ("macs_effectual", ("compute", "macs_effectual")),
    ("weight_stream_bytes", ("model", "weight_stream_bytes")),
    ("params", ("model", "params")),
    ("sparsity_achieved", ("model", "sparsity")),
    ("audio_s", ("audio", "seconds")),
    ("audio_frames", ("audio", "frames")),
    ("utterances", ("audio", "utterances")),
)

# Measurements only some runs have (issue #7): a column appears when a record has the value.
OPTIONAL_METRICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("wer", ("wer",)),       # audio with reference transcripts
    # the weights as the processor stores them (a stream per PE when each PE decodes its
    # rows; records since 2026-12-06's per-PE layout)
    ("weight_stored_bytes", ("model", "weight_stored_bytes")),
    # the per-row biases and requantization parameters beside the weights, and the SRAM the
    # resident ones hold (records since 2026-12-07, which count them in every traffic figure)
    ("weight_side_bytes", ("model", "weight_side_bytes")),
    ("sram_weight_side_bytes", ("traffic", "sram_weight_side_bytes")),
    ("last_frame_latency_ms", ("latency", "last_frame_ms")),   # records since 2026-12-04
    ("last_frame_latency_max_ms", ("latency", "last_frame_ms_max")),
    ("dram_stall_cycles", ("latency", "dram_stall_cycles")),
    ("idle_s", ("energy", "idle_seconds")),     # between frames; records since 2026-12-06
    # what the utterances draw over their span and while busy, and the one-time weight
    # preload left out of both (records since 2026-12-07)
    ("power_average_mw", ("energy", "average_power_mw")),
    ("power_busy_mw", ("energy", "busy_power_mw")),
    ("preload_energy_uj", ("energy", "preload_uj")),   # not energy_*_uj: no component
    ("weights_sha256", ("model", "weights_sha256")),
    ("testset", ("audio", "testset")),   # azsim sweep --test
    ("decode_joint_evals", ("decode", "joint_evals")),
    ("decode_pred_evals", ("decode", "pred_evals")),
    ("decode_cycles", ("decode", "decoder_cycles")),
    ("decode_energy_uj", ("decode", "decoder_energy_uj")),
    ("context_phrases_in_references", ("decode", "context", "phrases_in_references")),
    ("context_phrases_missed", ("decode", "context", "phrases_missed")),
    ("lattice_uplink_bytes", ("lattice", "uplink_bytes_total")),
    ("lattice_audio_bytes", ("lattice", "audio_bytes_total")),
    ("endpoint_speculative_fires", ("endpoint", "speculative_fires")),
    ("endpoint_resets", ("endpoint", "resets")),
    ("endpoint_cut_offs", ("endpoint", "cut_offs")),
    # the files that ended before the final end-pointer fired: not in the latency means
    ("endpoint_latency_forced", ("endpoint", "latency_forced")),
    ("endpoint_latency_no_speculation_ms_mean", ("endpoint", "latency_no_speculation_ms_mean")),
    ("endpoint_latency_with_speculation_ms_mean",
     ("endpoint", "latency_with_speculation_ms_mean")),
    ("endpoint_latency_saved_ms_mean", ("endpoint", "latency_saved_ms_mean")),
    ("branch_cheap_step_share", ("branch", "cheap_share")),
    ("branch_encoder_macs_issued_saved_share", ("branch", "encoder_macs_issued_saved_share")),
    ("branch_energy_saved_uj", ("branch", "energy_saved_uj")),
    ("branch_energy_saved_share", ("branch", "energy_saved_share")),
    ("branch_cycles_saved_share", ("branch", "cycles_saved_share")),
    ("branch_wer_change", ("branch", "wer_change")),
)

# Config columns most sweeps vary come first; the rest follow in alphabetical order.
LEADING = ("model.name", "model.weight_bits", "model.layer_bits", "model.sparsity",
           "model.weight_format", "model.quantizer", "model.prune", "hw.name")

# The energy breakdown's components as the report orders them (azsim/report/report.py).
ENERGY_ORDER = ("mac", "sram", "dram", "lut", "decoder", "leakage")


def _get(record: Mapping, path: Sequence[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _leaves(table: Mapping, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            out.update(_leaves(value, path))
        else:
            out[path] = value
    return out


INPUT = "input"   # the column naming the speech a point ran on
FILES = "files"   # the column naming the contents of the files a point's settings name
VERSION = "azsim_version"   # the code that made a point's record (``azsim run --json``'s own)


def _short_hash(obj: Any) -> str:
    """The first 8 hex digits of the content hash of a JSON-able value."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def input_label(config: Mapping) -> str | None:
    """The speech a stored point ran on, as one readable value: the shipped audio, N WAV
    files, or a test set's name and utterance count, each with its content hash's first 8
    hex digits (None for a config without inputs). Two points that ran on different speech
    differ here, so the report and the plots keep them apart (until 2026-12-06 they paired a
    2-utterance sparse point with a 4-utterance dense one)."""
    if "test" in config:
        t = config["test"]
        return f"test set {t.get('name')}, {t.get('utterances')} utterances ({_short_hash(t)})"
    if "audio" not in config:
        return None
    if config.get("audio_default"):
        return f"shipped audio ({_short_hash(config['audio'])})"
    audio = config["audio"]
    if len(audio) == 1 and isinstance(audio[0], Mapping) and audio[0].get("name"):
        return f"WAV file {audio[0]['name']} ({_short_hash(audio)})"   # not "1 WAV files"
    return f"{len(audio)} WAV files ({_short_hash(audio)})"


def files_label(config: Mapping) -> str | None:
    """The contents behind the file names of a stored point's settings, as one readable
    value: its weight files, context file and energy table, each with the first 8 hex digits
    of its content hash (None if it names none). Settings name files by path, and a file
    can change under its name: two points with one energy-table path but other tables were
    paired as "differing only in model.sparsity" (+11.2 % "from sparsity"; a sweep audit,
    2026-12-06). Points that differ here are told apart, as by their input."""
    parts = [f"{key} {v.get('name')} ({str(v.get('sha256', ''))[:8]})"
             for key, v in sorted((config.get("weight_files") or {}).items())
             if isinstance(v, Mapping)]
    context = config.get("context_file")
    if isinstance(context, Mapping):
        parts.append(f"context {context.get('name')} ({str(context.get('sha256', ''))[:8]})")
    table = config.get("energy_table")
    if isinstance(table, Mapping):
        parts.append(f"energy table {table.get('name')} ({_short_hash(table)})")
    return ", ".join(parts) or None


def flatten_config(config: Mapping) -> dict[str, Any]:
    """A stored point config (``model``, ``hw``, ...) as ``{--set path: value}``, its input
    (:func:`input_label`) and the contents of the files it names (:func:`files_label`)."""
    out = {**_leaves(config.get("model", {}), "model"), **_leaves(config.get("hw", {}), "hw")}
    label = input_label(config)
    if label is not None:
        out[INPUT] = label
    files = files_label(config)
    if files is not None:
        out[FILES] = files
    return out


# What a layer's cycles wait on, by the names of the cost model's attribution
# (azsim.cost.model.ATTRIBUTION; a test checks the two agree), as every table, figure and
# the run's output name them.
RESOURCE_LABELS = {"compute": "MAC array", "sram": "SRAM port", "decoder": "decoder",
                   "nonlinear": "nonlinear unit", "dram": "DRAM"}


def resource_columns(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The resources of the ``cycles_<resource>`` columns with a nonzero value in any of
    ``rows``, in :data:`RESOURCE_LABELS`' order, any other after, sorted."""
    found = {k[len("cycles_"):] for r in rows for k, v in r.items()
             if k.startswith("cycles_") and v}
    return [r for r in RESOURCE_LABELS if r in found] + sorted(found - set(RESOURCE_LABELS))


def cycles_by_resource(record: Mapping) -> dict[str, float]:
    """The run's layer cycles by the resource each cycle waited on (compute, SRAM port,
    decoder, nonlinear unit, DRAM; a record's ``layers[*].cycles_by_resource`` summed): they
    sum to ``latency.cycles`` to within the rounding of each invocation's cycles. Empty for a
    record without them."""
    out: dict[str, float] = {}
    for layer in record.get("layers") or []:
        table = layer.get("cycles_by_resource") if isinstance(layer, Mapping) else None
        for resource, cycles in (table or {}).items():
            if isinstance(cycles, (int, float)) and not isinstance(cycles, bool):
                out[resource] = out.get(resource, 0.0) + float(cycles)
    return out


def flatten_record(record: Mapping) -> dict[str, Any]:
    """The measurements of one run record as ``{column: value}`` (see :data:`METRICS`)."""
    out = {name: _get(record, path) for name, path in METRICS}
    for component, uj in (_get(record, ("energy", "breakdown_uj")) or {}).items():
        out[f"energy_{component}_uj"] = uj
    for resource, cycles in cycles_by_resource(record).items():
        out[f"cycles_{resource}"] = int(round(cycles))   # whole cycles, as latency_cycles
    for name, path in OPTIONAL_METRICS:
        value = _get(record, path)
        if value is not None and not isinstance(value, (Mapping, list)):
            out[name] = value
    return out


def flat_rows(points: Iterable[StoredPoint]) -> list[dict[str, Any]]:
    rows = []
    for p in points:
        row: dict[str, Any] = {"key": p.key, "status": p.status, "run_s": p.run_s}
        if p.record is not None and isinstance(p.record.get(VERSION), str):
            row[VERSION] = p.record[VERSION]
        elif p.version:   # a failed point: the store's column (it was left empty, and
            row[VERSION] = p.version   # --where azsim_version=V found no failed point)
        row.update(flatten_config(p.config))
        if p.record is not None:
            row.update(flatten_record(p.record))
        row["error"] = p.error
        rows.append(row)
    return rows


# The figures of a layer entry that azsim compare sets side by side (the record checks
# require them to be numbers).
LAYER_FIGURES = ("cycles", "dram_read_bytes", "sram_read_bytes", "energy_uj")

# A layer entry's nested tables, by the prefix and suffix their columns take.
_LAYER_TABLES = {"cycles_by_resource": ("layer_cycles_", ""),
                 "energy_breakdown_uj": ("layer_energy_", "_uj"),
                 "energy_components_uj": ("layer_energy_detail_", "_uj")}


def flatten_layer(layer: Mapping) -> dict[str, Any]:
    """One layer entry of a run record (``azsim run --json``'s ``layers``) as
    ``{column: value}``: see :func:`detail_rows`."""
    out: dict[str, Any] = {}
    for key, value in layer.items():
        if key == "shape" and isinstance(value, list) and len(value) == 2:
            out["layer_rows"], out["layer_cols"] = value
        elif key in _LAYER_TABLES and isinstance(value, Mapping):
            prefix, suffix = _LAYER_TABLES[key]
            out.update({f"{prefix}{name}{suffix}": v for name, v in value.items()})
        elif not isinstance(value, (Mapping, list)):
            out[f"layer_{key}"] = value
        else:   # a table a later record adds: one JSON text, not lost
            out[f"layer_{key}"] = json.dumps(value, sort_keys=True)
    return out


def flatten_utterance(utterance: Mapping) -> dict[str, Any]:
    """One utterance entry of a run record (``utterances``) as ``{column: value}``: its
    scalars prefixed ``utterance_``; its per-frame lists are :func:`frame_rows_of`'s."""
    return {f"utterance_{key}": value for key, value in utterance.items()
            if not isinstance(value, (Mapping, list))}


def frame_rows_of(utterance: Mapping) -> list[dict[str, Any]]:
    """One row per frame of a run record's utterance entry (see the module's docstring).
    A record of older code without ``frame_finish_ms`` or ``frame_energy_uj`` (which the
    record checks accept) leaves those columns, and ``frame_latency_ms``, empty: it was
    called damaged."""
    arrival = utterance.get("frame_arrival_ms") or []
    compute = utterance.get("frame_compute_ms") or []
    n = len(arrival)
    finish, energy = (utterance[f] if f in utterance else [None] * n
                      for f in ("frame_finish_ms", "frame_energy_uj"))
    if not len(compute) == len(finish) == len(energy) == n:
        raise AzsimError(f"utterance {utterance.get('file')!r}: its per-frame lists differ in "
                         f"length ({n}, {len(compute)}, {len(finish)}, {len(energy)}); the "
                         "record is damaged")
    tokens = [0] * n
    for frame in utterance.get("token_frames") or []:
        if isinstance(frame, int) and 0 <= frame < n:
            tokens[frame] += 1
    result = utterance.get("result_frame", -1)
    result = result + n if isinstance(result, int) and result < 0 else result
    return [{"utterance_file": utterance.get("file"), "frame": k,
             "frame_arrival_ms": arrival[k], "frame_compute_ms": compute[k],
             "frame_finish_ms": finish[k],
             "frame_latency_ms": None if finish[k] is None else finish[k] - arrival[k],
             "frame_energy_uj": energy[k], "frame_tokens": tokens[k],
             "frame_is_result": k == result} for k in range(n)]


def _layer_table(record: Mapping) -> list[dict[str, Any]]:
    return [flatten_layer(layer) for layer in record.get("layers") or []]


def _utterance_table(record: Mapping) -> list[dict[str, Any]]:
    return [flatten_utterance(u) for u in record.get("utterances") or []]


def _frame_table(record: Mapping) -> list[dict[str, Any]]:
    return [row for u in record.get("utterances") or [] for row in frame_rows_of(u)]


# --per of azsim results export: the rows each point's record gives
DETAILS = {"layer": _layer_table, "utterance": _utterance_table, "frame": _frame_table}


def detail_rows(points: Iterable[StoredPoint], per: str) -> list[dict[str, Any]]:
    """One row per layer, utterance or frame (``per``) of each successful point, in the
    record's order: the point's ``key``, ``azsim_version``, the config columns that name
    what it ran (:data:`LEADING`: model, bits, sparsity, format, processor...) and those
    whose values differ between the points, its ``input`` and ``files``, then the detail's
    columns (module docstring). The whole config of each point is in :func:`flat_rows`'
    table, joined by ``key``. Failed points have no details and no rows."""
    table = DETAILS[per]
    ok = [p for p in points if p.status == "ok" and p.record is not None]
    points_flat = flat_rows(ok)
    config = [k for k in dict.fromkeys(k for r in points_flat for k in r)
              if k.startswith(("model.", "hw."))]
    keep = [k for k in LEADING if k in config] + [
        k for k in config if k not in LEADING and
        len({json.dumps(r.get(k), sort_keys=True) for r in points_flat}) > 1]
    rows = []
    for p, point in zip(ok, points_flat):
        base = {"key": point["key"], VERSION: point.get(VERSION),
                **{k: point.get(k) for k in keep},
                **{k: point[k] for k in (INPUT, FILES) if k in point}}
        rows.extend({**base, **detail} for detail in table(p.record))
    return rows


def columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Union of the rows' columns: identity, config, measurements (METRICS order), error."""
    seen: dict[str, None] = {}
    for row in rows:
        for name in row:
            seen.setdefault(name, None)
    names = list(seen)
    components = sorted((n for n in names if n.startswith("energy_") and n.endswith("_uj")
                         and n not in dict(METRICS)),
                        key=lambda n: (ENERGY_ORDER.index(n[7:-3]) if n[7:-3] in ENERGY_ORDER
                                       else len(ENERGY_ORDER), n))
    resources = [n for n in names if n.startswith("cycles_")]
    metric_order = []
    for m, _ in METRICS:
        metric_order.append(m)
        if m == "energy_total_uj":
            metric_order.extend(components)
        if m == "latency_cycles":
            metric_order.extend(resources)
    head = ["key", "status", "run_s", VERSION]
    config = ([INPUT] if INPUT in seen else []) + ([FILES] if FILES in seen else []) + \
        [n for n in names if n.startswith(("model.", "hw."))]
    config = [n for n in LEADING if n in seen] + [n for n in config if n not in LEADING]
    metric_order += [m for m, _ in OPTIONAL_METRICS]
    metrics = [n for n in metric_order if n in seen]
    return [n for n in head if n in seen] + config + metrics + \
        [n for n in names if n not in head + config + metrics + ["error"]] + \
        (["error"] if "error" in seen else [])


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_csv(rows: Sequence[Mapping[str, Any]], fh) -> None:
    cols = columns(rows)
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(cols)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else
                         ("true" if row[c] is True else "false" if row[c] is False else row[c])
                         for c in cols])


def write_json(rows: Sequence[Mapping[str, Any]], fh) -> None:
    cols = columns(rows)
    json.dump([{c: _finite(row.get(c)) for c in cols} for row in rows], fh, indent=1)
    fh.write("\n")
