"""Two runs side by side (``azsim compare``): what differs in their settings, then their totals
and their layers with the change from the first to the second.

An architect iterating on a processor or model file runs it twice (``azsim run --json``) or
sweeps it, and asks what changed and where: the totals of ``azsim report`` say how much, the
layer table says which layers and which resource. Each figure is its record's own (the same
numbers ``azsim results export`` writes); a change is ``(B - A) / A``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import AzsimError
from ..sweep.export import (ENERGY_ORDER, FILES, INPUT, LAYER_FIGURES, RESOURCE_LABELS,
                            flat_rows)
from .sweep_report import SweepReport, Table, _delta, _num, _value

__all__ = ["TOTALS", "pick_two", "compare"]

# (column of the flat point table, label, scale to the unit the label gives)
TOTALS: tuple[tuple[str, str, float], ...] = (
    ("latency_cycles", "latency, cycles", 1.0),
) + tuple((f"cycles_{r}", f"  waiting on {name}, cycles", 1.0)
          for r, name in RESOURCE_LABELS.items()) + (
    ("latency_s", "latency (busy time), ms", 1e3),
    ("latency_rtf", "real-time factor", 1.0),
    ("frame_compute_p99_ms", "frame compute p99, ms", 1.0),
    ("end_of_speech_latency_ms", "after end of audio, ms (mean)", 1.0),
    ("dram_read_bytes", "DRAM read, bytes", 1.0),
    ("sram_read_bytes", "SRAM read, bytes", 1.0),
    ("sram_write_bytes", "SRAM write, bytes", 1.0),
    ("weight_stream_bytes", "weight streams, bytes", 1.0),
    ("macs_issued", "MACs issued", 1.0),
    ("macs_skipped", "MACs skipped", 1.0),
    ("energy_total_uj", "energy, uJ", 1.0),
) + tuple((f"energy_{c}_uj", f"  {c}, uJ", 1.0) for c in ENERGY_ORDER) + (
    ("preload_energy_uj", "  of it the one-time weight preload, uJ", 1.0),
    ("power_average_mw", "average power over the audio, mW", 1.0),
    ("power_busy_mw", "power while busy, mW", 1.0),
    ("wer", "word error rate, %", 100.0),
)

_DIFFERS_SHOWN = 12   # settings the summary lists before "and N more"


def pick_two(points: Sequence, keys: Sequence[str], sources: Sequence[str]) -> tuple:
    """The two points to compare: the only two of ``points`` (read from ``sources``), or
    those whose keys start with the ``--point`` prefixes ``keys``; a one-line error that
    lists the keys otherwise."""
    ok = [p for p in points if p.status == "ok" and p.record is not None]
    if keys:
        chosen = []
        for prefix in keys:
            hits = [p for p in ok if p.key.startswith(prefix)]
            if len(hits) != 1:
                raise AzsimError(f"--point {prefix}: matches {len(hits)} of the "
                                 f"{len(ok)} successful points of {', '.join(sources)} (give "
                                 "a longer key prefix; azsim results export lists the keys)")
            chosen.append(hits[0])
        if len(chosen) != 2:
            said = "once" if len(chosen) == 1 else f"{len(chosen)} times"
            raise AzsimError(f"--point given {said}: give it twice, for the two points to "
                             "compare")
    else:
        chosen = ok
        if len(chosen) != 2:
            shown = ", ".join(p.key[:12] for p in ok[:6]) + (" ..." if len(ok) > 6 else "")
            raise AzsimError(
                f"{' and '.join(sources)}: {len(ok)} successful point"
                f"{'' if len(ok) == 1 else 's'}, and compare takes two (two run records, or "
                "a results database with --point KEY twice" +
                (f"; its keys start {shown})" if ok else ")"))
    if chosen[0].key == chosen[1].key:
        said = "--point: both name" if keys else f"{' and '.join(sources)}: both hold"
        raise AzsimError(f"{said} point {chosen[0].key[:12]}, the same run; give two runs")
    return chosen[0], chosen[1]


def _setting_differences(a: Mapping, b: Mapping) -> list[tuple[str, Any, Any]]:
    """(field, A's value, B's value) of each setting that differs, the names first."""
    # input and files: columns of a store's points, not of a run record's (which said
    # "input (none) -> shipped audio" beside a store's point on the same speech)
    fields = [k for k in dict.fromkeys([*a, *b])
              if k.startswith(("model.", "hw.")) or (k in (INPUT, FILES) and k in a and k in b)]
    out = [(k, a.get(k), b.get(k)) for k in fields if a.get(k) != b.get(k)]
    # a description is prose beside its name: where the name differs, it says no more
    changed = {k for k, _, _ in out}
    out = [d for d in out if not (d[0].endswith(".description") and
                                  d[0].replace(".description", ".name") in changed)]
    return sorted(out, key=lambda d: d[0] not in ("model.name", "hw.name"))


def _name(p, row: Mapping) -> str:
    where = p.source or "?"
    return (f"{row.get('model.name')} {row.get('model.weight_bits')}-bit on "
            f"{row.get('hw.name')} ({where}, point {p.key[:12]})")


def compare(a, b) -> tuple[SweepReport, dict]:
    """Points ``a`` and ``b`` (:class:`azsim.sweep.store.StoredPoint` with records) as a
    report (a summary and two tables: totals and layers) and as a JSON-able dict."""
    ra, rb = flat_rows([a, b])
    differs = _setting_differences(ra, rb)
    shown = [f"{k} {_show(x)} -> {_show(y)}" for k, x, y in differs[:_DIFFERS_SHOWN]]
    more = len(differs) - _DIFFERS_SHOWN
    summary = [f"A: {_name(a, ra)}", f"B: {_name(b, rb)}",
               "settings that differ: " + ("; ".join(shown) + (f"; and {more} more"
                                                                 if more > 0 else "")
                                            if differs else "none")]
    labelled = INPUT in ra and INPUT in rb   # a run record has no input column
    if (ra[INPUT] != rb[INPUT]) if labelled else _speech(a) != _speech(b):
        summary.append("warning: A and B ran on different speech, so their totals differ "
                       "by more than the settings" +
                       ("" if labelled else f" (A: {_speech_text(a)}; B: {_speech_text(b)})"))
    totals, totals_json = [], []
    for col, label, scale in TOTALS:
        x, y = ra.get(col), rb.get(col)
        if x is None and y is None:
            continue
        xs = None if x is None else x * scale
        ys = None if y is None else y * scale
        totals.append([label, _cell(xs), _cell(ys), _delta(xs, ys)])
        totals_json.append({"name": col, "a": x, "b": y, "change": _change(x, y)})
    layers_a = {lay["name"]: lay for lay in a.record.get("layers") or []}
    layers_b = {lay["name"]: lay for lay in b.record.get("layers") or []}
    names = sorted(dict.fromkeys([*layers_a, *layers_b]),
                   key=lambda n: -max(layers_a.get(n, {}).get("cycles") or 0,
                                      layers_b.get(n, {}).get("cycles") or 0))
    layer_rows, layers_json = [], []
    for n in names:
        la, lb = layers_a.get(n, {}), layers_b.get(n, {})
        row = [n]
        for key in LAYER_FIGURES:
            row += [_cell(la.get(key)), _cell(lb.get(key)), _delta(la.get(key), lb.get(key))]
        row.insert(4, f"{_bound(la)} -> {_bound(lb)}" if _bound(la) != _bound(lb)
                   else _bound(la))
        layer_rows.append(row)
        layers_json.append({"name": n, **{key: {"a": la.get(key), "b": lb.get(key),
                                                "change": _change(la.get(key), lb.get(key))}
                                          for key in LAYER_FIGURES},
                            "bound": {"a": _bound(la, None), "b": _bound(lb, None)}})
    headers = ["layer", "cycles A", "B", "change", "bound"]
    for label in ("DRAM read bytes", "SRAM read bytes", "energy uJ"):
        headers += [f"{label} A", "B", "change"]
    tables = [Table("Totals", ["", "A", "B", "change"], totals,
                    "change = (B - A) / A; energy components as in azsim run's breakdown"),
              Table(f"Layers ({len(names)}, by the larger of their cycles)", headers,
                    layer_rows, "bound: the resource that sets the layer's cycles (A -> B "
                    "where it moved); a layer one run lacks shows -")]
    data = {"a": {"key": a.key, "source": a.source, "name": _name(a, ra)},
            "b": {"key": b.key, "source": b.source, "name": _name(b, rb)},
            "settings_differ": [{"field": k, "a": x, "b": y} for k, x, y in differs],
            "totals": totals_json, "layers": layers_json}
    return SweepReport(" vs ".join(dict.fromkeys([a.source, b.source])), "\n".join(summary),
                       tables), data


def _speech(p) -> list:
    """The utterances ``p`` ran on, by file and length: a run record has no ``input``
    column, and two records on other WAV files were compared without a warning."""
    return [(u.get("file"), u.get("seconds")) for u in p.record.get("utterances") or []
            if isinstance(u, Mapping)]


def _speech_text(p) -> str:
    utts = [u for u in p.record.get("utterances") or [] if isinstance(u, Mapping)]
    files = ", ".join(str(u.get("file")) for u in utts[:3]) + (" ..." if len(utts) > 3 else "")
    seconds = sum(u.get("seconds") or 0.0 for u in utts)
    return f"{len(utts)} utterance{'' if len(utts) == 1 else 's'}, {seconds:.2f} s ({files})"


def _cell(v: Any) -> str:
    """A count in full (``1,393,569``), a measurement to four figures."""
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return _num(v, 4)


def _bound(layer: Mapping, missing: Any = "-") -> Any:
    if not layer:
        return missing
    resource = layer.get("bound_resource")
    return f"{layer.get('bound')} ({resource})" if resource and resource != layer.get(
        "bound") else layer.get("bound", missing)


def _change(x: Any, y: Any) -> float | None:
    """(y - x) / x, or None where it has no finite value."""
    if not isinstance(x, (int, float)) or not isinstance(y, (int, float)) or x == 0 \
            or isinstance(x, bool) or isinstance(y, bool):
        return None
    change = (y - x) / x
    return change if math.isfinite(change) else None


def _show(v: Any) -> str:
    return "(none)" if v is None else _value(v)
