"""Figures of a results store (``azsim plot``): each function takes flat rows and returns a
matplotlib Figure (never pyplot, so no GUI backend and no global state; STYLE: plots return
Figures). Kinds:

- ``dense-vs-sparse``: latency, DRAM traffic and energy, dense against sparse, grouped by
  bit-width;
- ``bits``: the same metrics (and WER where recorded) against bit-width, one line per sparsity;
- ``energy-breakdown``: energy per point stacked by component (MAC, SRAM, DRAM, LUT, decoder,
  leakage);
- ``pareto``: energy against latency for every point, the Pareto front drawn (and energy
  against WER where recorded);
- ``timeline``: per-frame compute time against frame arrival for one utterance, with the
  real-time budget (one frame period);
- ``roofline``: each layer's MACs issued per cycle against its MACs per SRAM byte read, under
  the processor's roofs (the MAC array's peak, the SRAM port, the DRAM), one panel per point.

Latency is the run's busy time (cycles / clock over all utterances). When a sweep varies more
fields than a figure shows, the figure takes one slice (``fix_other_fields``: the first value of
each other field among the points left) and says so in its title (``--where`` picks another).
"""
from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import AzsimError
from ..paths import output_file
from ..sweep import analysis
from ..sweep.analysis import (BITS, NAMES, SPARSITY, field_title, fix_other_fields, joined,
                              ok_rows, pareto_front, setup_names, sort_rows, swept_fields)
from ..sweep.export import ENERGY_ORDER, INPUT, RESOURCE_LABELS, flat_rows, resource_columns

__all__ = ["make_figure", "save", "dense_vs_sparse", "bits", "energy_breakdown", "pareto",
           "timeline", "roofline", "roofs"]

_BYTE_UNITS = ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B"))
_FONT = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 9}


def _bytes_axis(values) -> tuple[float, str]:
    top = max(values, default=0)
    return next(((s, u) for s, u in _BYTE_UNITS if top >= 10 * s), (1.0, "B"))


def _metrics(rows) -> list[tuple[str, Any]]:
    """(axis label, row -> value) of the three headline metrics, units chosen for ``rows``."""
    scale, unit = _bytes_axis([r["dram_read_bytes"] for r in rows])
    return [("latency (busy time), ms", lambda r: r["latency_s"] * 1e3, "Latency"),
            (f"DRAM read, {unit}", lambda r: r["dram_read_bytes"] / scale, "DRAM traffic"),
            ("energy, uJ", lambda r: r["energy_total_uj"], "Energy")]


def _wer_note(rows) -> tuple[bool, str]:
    """Whether to plot WER: only when every point has one and they differ."""
    if not all("wer" in r for r in rows):
        return False, ""
    values = {r["wer"] for r in rows}
    if len(values) == 1:
        return False, f"; WER {100 * values.pop():.1f} % at every point"
    return True, ""


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _context(rows, fixed: Mapping[str, Any]) -> str:
    """The models, processors and audio of ``rows`` (all of them: the first row's named a
    small point tiny) and the slice ``fixed``."""
    seconds = joined(f"{r['audio_s']:.2f}" for r in rows)
    speech = joined(str(r.get(INPUT, "")) for r in rows)   # titles never named the input
    names = setup_names(rows, exclude=fixed)   # the slice's own fields are named below
    text = f"{names}, {speech}: {seconds} s of audio" if speech else \
        f"{names}, {seconds} s of audio"
    if fixed:
        text += "; " + ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())
    return text


_KEEP = (BITS, SPARSITY)   # the fields the bar and line figures draw; they slice the others


def _slice(rows) -> tuple[list, dict, list]:
    """The slice a figure over bits and sparsity draws, the choices that cut it, and the rows
    it was cut from (for :func:`_not_in_slice`)."""
    part, fixed = fix_other_fields(rows, _KEEP)
    return part, fixed, list(rows)


def _not_in_slice(have: str, fixed: Mapping[str, Any], whole, enough, needed: str) -> str:
    """What a message says when the slice drawn lacks what a figure needs (``needed``): the
    slice, what it has, and a --where that picks a slice where ``enough(rows)`` holds, if
    there is one (the message said "these results have" the slice's values, none when the
    slice was empty)."""
    if not fixed:
        return f" (these results have {have})"
    shown = ", ".join(f"{k} = {_fmt(v)}" for k, v in fixed.items())
    text = (f"; the slice drawn, {shown} (the first value of each other swept field), has "
            f"{have}")
    for f, chosen in fixed.items():
        tried = [chosen]
        for r in whole:
            value = r.get(f)
            if value in tried:
                continue
            tried.append(value)
            part, _ = fix_other_fields([o for o in whole if o.get(f) == value], _KEEP)
            if enough(part):
                return text + f"; pick another with --where, e.g. {_where_option(f, value)}"
    return text + f"; no other slice of these points has {needed} either"


def _where_option(field: str, value: Any) -> str:
    """``--where FIELD=VALUE`` as a shell takes it; the value as --where reads it back (a
    float in full, true/false)."""
    import shlex
    text = (str(value).lower() if isinstance(value, bool) else
            repr(value) if isinstance(value, float) else str(value))
    return "--where " + shlex.quote(f"{field}={text}")


def _need(rows, field: str, kind: str, cut: tuple[dict, list] = ({}, []),
          at_least: int = 2) -> list:
    """The values of ``field`` in ``rows``, which must hold ``at_least`` of them; ``cut``:
    the choices and the rows of :func:`_slice`, for the message."""
    values = sorted({r[field] for r in rows})
    if len(values) < at_least:
        # "has 8" read as a count: name the values as values (a CLI audit, 2026-12-06)
        have = (f"only {field} = {', '.join(map(_fmt, values))}" if values
                else f"no {field} value")
        raise AzsimError(f"--kind {kind}: needs points with at least {at_least} values of "
                         f"{field}" + _not_in_slice(
                             have, *cut, lambda part: len({r[field] for r in part}) >= at_least,
                             f"{at_least} values of {field}"))
    return values


def _sparsity_label(s: float) -> str:
    return "dense" if s == 0 else f"{s:g} sparse"


def _sparsity_colors(values) -> dict:
    from matplotlib import colormaps
    cmap = colormaps["viridis"]
    sparse = [s for s in values if s != 0]
    out = {s: cmap(0.15 + 0.7 * k / max(1, len(sparse) - 1)) for k, s in enumerate(sparse)}
    out[0.0] = "0.35"
    return out


def _suptitle(fig: Figure, text: str) -> None:
    """The figure's title, each line wrapped to the figure's width: a fixed-width figure cut
    the end of a long title off, which was the part naming the slice drawn (plot audit,
    2026-12-06). About 10.5 characters an inch at the title's 12 pt."""
    import textwrap
    width = max(int(fig.get_figwidth() * 10.5), 40)
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.split("\n")))


def _new_figure(width: float, height: float) -> Figure:
    import matplotlib
    matplotlib.rcParams.update(_FONT)
    return Figure(figsize=(width, height), layout="constrained")


# ---------------------------------------------------------------------------------- the kinds


def dense_vs_sparse(rows: Sequence[Mapping], given: Mapping[str, Any] | None = None) -> Figure:
    rows, chosen, whole = _slice(rows)
    fixed = {**(given or {}), **chosen}
    sparsities = _need(rows, SPARSITY, "dense-vs-sparse", (chosen, whole))
    if 0 not in sparsities:
        raise AzsimError("--kind dense-vs-sparse: needs dense points (model.sparsity = 0)"
                         + ("" if not chosen else _not_in_slice(
                             "sparsities " + ", ".join(map(_fmt, sparsities)), chosen, whole,
                             lambda part: any(r[SPARSITY] == 0 for r in part), "dense points")))
    bit_values = sorted({r[BITS] for r in rows}, reverse=True)
    colors = _sparsity_colors(sparsities)
    metrics = _metrics(rows)
    show_wer, wer_note = _wer_note(rows)
    if show_wer:   # what the energy saved costs (3 % less energy hid 9 -> 65 % WER; audit)
        metrics.append(("word error rate, %", lambda r: r["wer"] * 100, "WER"))
    fig = _new_figure(11.0 * len(metrics) / 3, 3.8)
    axes = fig.subplots(1, len(metrics))
    width = 0.8 / len(sparsities)
    x = np.arange(len(bit_values))
    by = {(r[BITS], r[SPARSITY]): r for r in rows}
    for ax, (label, get, title) in zip(axes, metrics):
        for k, s in enumerate(sparsities):
            heights = [get(by[(b, s)]) if (b, s) in by else np.nan for b in bit_values]
            ax.bar(x + (k - (len(sparsities) - 1) / 2) * width, heights, width * 0.95,
                   color=colors[s], label=_sparsity_label(s))
        ax.set_xticks(x, [f"{b}-bit" for b in bit_values])
        ax.set_xlabel("weight bit-width")
        ax.set_ylabel(label)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    # beside the panels: inside the first one it covered a bar (with two sparsities)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="model.sparsity", loc="outside right center",
               frameon=False)
    _suptitle(fig, f"Dense vs sparse by bit-width ({_context(rows, fixed)}{wer_note})")
    return fig


def bits(rows: Sequence[Mapping], given: Mapping[str, Any] | None = None) -> Figure:
    rows, chosen, whole = _slice(rows)
    fixed = {**(given or {}), **chosen}
    bit_values = _need(rows, BITS, "bits", (chosen, whole))
    sparsities = sorted({r[SPARSITY] for r in rows})
    colors = _sparsity_colors(sparsities)
    metrics = _metrics(rows)
    show_wer, wer_note = _wer_note(rows)
    if show_wer:
        metrics.append(("word error rate, %", lambda r: 100.0 * r["wer"], "WER"))
    fig = _new_figure(3.7 * len(metrics), 3.8)
    axes = fig.subplots(1, len(metrics))
    markers = "osD^v<>p*h"
    for ax, (label, get, title) in zip(axes, metrics):
        ax.set_title(title)
        for k, s in enumerate(sparsities):
            pts = sorted((r[BITS], get(r)) for r in rows if r[SPARSITY] == s)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=markers[k % len(markers)],
                    color=colors[s], label=_sparsity_label(s))
        ax.set_xticks(bit_values)
        ax.set_xlabel("weight bit-width, bits")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(title="model.sparsity", frameon=False)
    _suptitle(fig, f"Metrics against weight bit-width ({_context(rows, fixed)}{wer_note})")
    return fig


_COMPONENT_COLORS = {"mac": "#4C72B0", "sram": "#55A868", "dram": "#C44E52", "lut": "#8172B2",
                     "decoder": "#CCB974", "leakage": "#64B5CD"}
_MAX_BARS = 48


def energy_breakdown(rows: Sequence[Mapping], given: Mapping[str, Any] | None = None) -> Figure:
    rows, fixed = _bar_slice(rows, given, "energy-breakdown")
    comps = [c for c in ENERGY_ORDER if any(f"energy_{c}_uj" in r for r in rows)]
    comps += sorted({k[7:-3] for r in rows for k in r
                     if k.startswith("energy_") and k.endswith("_uj") and k != "energy_total_uj"}
                    - set(comps))
    parts = [(c, _COMPONENT_COLORS.get(c), lambda r, c=c: r.get(f"energy_{c}_uj") or 0.0)
             for c in comps]
    fig = _stacked_bars(rows, parts, "energy, uJ", "component")
    _suptitle(fig, f"Energy by component ({_context(rows, fixed)})")
    return fig


# the colours of what a layer's cycles wait on (export.RESOURCE_LABELS names them)
_RESOURCE_COLORS = {"compute": "#4C72B0", "sram": "#55A868", "decoder": "#CCB974",
                    "nonlinear": "#8172B2", "dram": "#C44E52"}


def cycle_breakdown(rows: Sequence[Mapping], given: Mapping[str, Any] | None = None) -> Figure:
    """Each point's busy time, stacked by the resource its cycles waited on (the records'
    ``cycles_<resource>`` over the point's clock): where a design's time goes, as
    energy-breakdown shows where its energy goes."""
    rows, fixed = _bar_slice(rows, given, "cycle-breakdown")
    resources = resource_columns(rows)
    if not resources:
        raise AzsimError("--kind cycle-breakdown: these records have no cycles by resource "
                         "(layers[*].cycles_by_resource); run them again with this azsim")
    parts = [(RESOURCE_LABELS.get(x, x), _RESOURCE_COLORS.get(x),
              lambda r, x=x: (r.get(f"cycles_{x}") or 0.0) / (r["hw.clock_mhz"] * 1e3))
             for x in resources]
    fig = _stacked_bars(rows, parts, "busy time, ms", "waiting on")
    _suptitle(fig, f"Busy time by what it waited on ({_context(rows, fixed)})")
    return fig


def _bar_slice(rows, given, kind: str) -> tuple[list, dict]:
    """The slice a bar figure draws, sorted by bits and sparsity; at most _MAX_BARS bars."""
    rows, fixed = fix_other_fields(rows, _KEEP)
    fixed = {**(given or {}), **fixed}
    rows = sort_rows(rows, [f for f in (BITS, SPARSITY) if f in swept_fields(rows)] or [BITS])
    if len(rows) > _MAX_BARS:
        raise AzsimError(f"--kind {kind}: {len(rows)} points are too many bars "
                         f"(at most {_MAX_BARS}); pick a slice with --where")
    return rows, fixed


def _stacked_bars(rows, parts, ylabel: str, legend: str) -> Figure:
    """One bar per row, stacked by ``parts`` ((label, colour, row -> value) from the bottom);
    bit-widths are separated by a gap, so the groups read as in dense-vs-sparse."""
    x, pos, last = [], 0.0, None
    for r in rows:
        if last is not None and r[BITS] != last:
            pos += 0.6
        x.append(pos)
        pos, last = pos + 1.0, r[BITS]
    fig = _new_figure(max(6.5, 0.5 * len(rows) + 2.5), 4.4)
    ax = fig.subplots()
    bottom = np.zeros(len(rows))
    for label, color, get in parts:
        vals = np.array([get(r) for r in rows], dtype=np.float64)
        ax.bar(x, vals, 0.8, bottom=bottom, label=label, color=color)
        bottom += vals
    ax.set_xticks(x, [f"{r[BITS]}b\n{_fmt(r[SPARSITY])}" for r in rows])
    ax.set_xlabel("weight bit-width (b) and model.sparsity of each point")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()   # top of the stack first, as drawn
    ax.legend(handles[::-1], labels[::-1], title=legend, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))
    return fig


def _log_if_wide(ax, values, axis: str) -> None:
    """A log axis where the positive values span more than 30x; symlog, linear below the
    smallest of them, where a value is 0, which a log axis does not draw (a 0 % WER point on
    the front vanished; a sweep audit, 2026-12-06)."""
    v = [x for x in values if x > 0]
    if v and max(v) / min(v) > 30:
        scale = ax.set_xscale if axis == "x" else ax.set_yscale
        if any(x == 0 for x in values):
            scale("symlog", linthresh=min(v))
        else:
            scale("log")


# Marker fills that tell the processors of a Pareto figure apart, in their sweep's order.
_FILLS = ("full", "none", "left", "bottom", "right", "top")


def pareto(rows: Sequence[Mapping], given: Mapping[str, Any] | None = None) -> Figure:
    # one input speech: latency and energy are totals over it (the first, when several)
    rows, fixed = fix_other_fields(list(rows), [f for f in swept_fields(rows) if f != INPUT])
    given = {**(given or {}), **fixed}
    fields = swept_fields(rows)
    # (column, scale, axis label, the name of its front in the legend's notes)
    panels = [("latency_s", 1e3, "latency (busy time), ms", "latency")]
    show_wer, wer_note = _wer_note(rows)
    if show_wer:
        panels.append(("wer", 100.0, "word error rate, %", "word error rate"))
    # colour and marker tell bits and sparsity apart; the front's points are numbered and the
    # legend names their other swept fields (array, format, clock, model...), which drew the
    # same symbols and left the design on the front unnamed (plot audit, 2026-12-06)
    others = [f for f in fields if f not in (BITS, SPARSITY)]
    notes_in = 2.8 if others else 0.0   # room on the right for those notes
    fig = _new_figure(6.2 * len(panels) + 1.6 + notes_in, 4.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    bit_values = sorted({r[BITS] for r in rows}, reverse=True)
    sparsities = sorted({r[SPARSITY] for r in rows})
    from matplotlib import colormaps
    cmap = colormaps["plasma"]
    colors = {b: cmap(0.1 + 0.75 * k / max(1, len(bit_values) - 1))
              for k, b in enumerate(bit_values)}
    shapes = "osD^v<>p*h"   # reused past ten sparsities (an eleventh was a KeyError)
    markers = {sp: shapes[k % len(shapes)] for k, sp in enumerate(sparsities)}
    front_notes: list[str] = []
    # the processors of `azsim sweep --hw a,b` (up to six) by the marker's fill: their
    # points drew alike, and only the front's were named
    processors = list(dict.fromkeys(r.get("hw.name") for r in rows)) \
        if "hw.name" in others else []
    fill = dict(zip(processors, _FILLS)) if 1 < len(processors) <= len(_FILLS) else {}
    if len(processors) > len(_FILLS):   # said, not dropped silently (a review)
        front_notes.append(f"{len(processors)} processors: more than {len(_FILLS)} fills "
                           "tell apart; --where hw.name=... picks some")
    # a design slower than real time sat among the others, its busy time looking like any
    # (plot audit): ringed in red
    late = [r for r in rows if (r.get("latency_rtf") or 0) > 1]
    for ax, (col, scale, label, name) in zip(axes, panels):
        for r in rows:
            if fill:
                ax.plot(r[col] * scale, r["energy_total_uj"], ls="", ms=6.5, mew=1.2,
                        color=colors[r[BITS]], marker=markers[r[SPARSITY]], alpha=0.85,
                        fillstyle=fill[r.get("hw.name")])
            else:
                ax.scatter(r[col] * scale, r["energy_total_uj"], s=36, color=colors[r[BITS]],
                           marker=markers[r[SPARSITY]], alpha=0.85, edgecolors="none")
        if late:
            ax.scatter([r[col] * scale for r in late], [r["energy_total_uj"] for r in late],
                       s=160, facecolors="none", edgecolors="red", lw=1.0, zorder=5)
        front = pareto_front(rows, col, "energy_total_uj")
        fx = [r[col] * scale for r in front]
        fy = [r["energy_total_uj"] for r in front]
        ax.step(fx, fy, where="post", color="black", lw=1.2, zorder=3)
        ax.scatter(fx, fy, s=110, facecolors="none", edgecolors="black", lw=1.2, zorder=4,
                   label=f"Pareto front ({len(front)})")
        if others:
            varying = [f for f in others if len({_fmt(r.get(f)) for r in front}) > 1]
            shared = [f for f in others if f not in varying]
            if shared:
                front_notes.append(f"{name} front: " + _label(front[0], shared))
            for k, (r, x, y) in enumerate(zip(front, fx, fy), start=1):
                tag = f"{name[0].upper()}{k}"
                ax.annotate(tag, (x, y), xytext=(6, 5), textcoords="offset points",
                            fontsize=7, color="0.2")
                if varying:
                    front_notes.append(f"{tag}: {_label(r, varying)}")
        _log_if_wide(ax, [r[col] * scale for r in rows], "x")
        _log_if_wide(ax, [r["energy_total_uj"] for r in rows], "y")
        ax.set_xlabel(label)
        ax.set_ylabel("energy, uJ")
        ax.grid(alpha=0.3, which="both")
    # Legends: colour = bit-width, marker = sparsity, ring = front. Where model.layer_bits
    # sets layers apart the colour is only the other layers' width: "4-bit base".
    from matplotlib.lines import Line2D
    base = " base" if any(r.get("model.layer_bits") for r in rows) else ""
    handles = [Line2D([], [], ls="", marker="o", color=colors[b], label=f"{b}-bit{base}")
               for b in bit_values]
    handles += [Line2D([], [], ls="", marker=markers[s], color="0.4", label=_sparsity_label(s))
                for s in sparsities]
    handles += [Line2D([], [], ls="", marker="o", color="0.4", fillstyle=style, mew=1.2,
                       label=f"hw {name}") for name, style in fill.items()]
    handles.append(Line2D([], [], ls="-", marker="o", mfc="none", color="black",
                          label="Pareto front"))
    if late:
        handles.append(Line2D([], [], ls="", marker="o", mfc="none", mec="red", ms=11,
                              label=f"slower than real time (RTF > 1): {len(late)}"))
    handles += [Line2D([], [], ls="", label=note) for note in front_notes]
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    more = f"; all values of {', '.join(others)}" if others else ""
    _suptitle(fig, f"Energy against latency{' and WER' if len(panels) > 1 else ''}, "
                 f"{len(rows)} point{'' if len(rows) == 1 else 's'}\n"
                 f"({_context(rows, given or {})}{more}{wer_note})")
    return fig


def _pick_points(rows, point_keys) -> list:
    if point_keys:
        out = []
        for prefix in point_keys:
            hits = [r for r in rows if r["key"].startswith(prefix)]
            if len(hits) != 1:
                raise AzsimError(f"--point {prefix}: matches {len(hits)} points (give a "
                                 "longer key prefix; azsim results export lists the keys)")
            out.append(hits[0])
        return out
    by_latency = sorted(rows, key=lambda r: r["latency_s"])
    return [by_latency[-1], by_latency[0]] if len(by_latency) > 1 else by_latency


def _utterance(rec, utterance: str) -> dict:
    utts = rec["utterances"]
    if utterance.isdigit() and int(utterance) < len(utts):
        return utts[int(utterance)]
    for u in utts:
        if u["file"] == utterance:
            return u
    names = ", ".join(u["file"] for u in utts)
    raise AzsimError(f"--utterance {utterance}: not an index below {len(utts)} or one of {names}")


_MAX_LABEL_FIELDS = 3


def _label(row, fields) -> str:
    """The fields that tell the drawn points apart, by their last name (``input`` has no
    prefix: it was an IndexError); at most three, then how many more there are."""
    shown = [f"{field_title(f)} {_fmt(row.get(f))}" for f in fields[:_MAX_LABEL_FIELDS]]
    if len(fields) > _MAX_LABEL_FIELDS:
        shown.append(f"+{len(fields) - _MAX_LABEL_FIELDS} more swept fields")
    return ", ".join(shown) or row["key"][:12]


def timeline(rows: Sequence[Mapping], point_keys: Sequence[str] = (), utterance: str = "0"
             ) -> Figure:
    chosen = _pick_points(rows, point_keys)
    # the fields that differ between the drawn points first, the model's and hardware's
    # names first among them (a store of two models varies twenty fields)
    # label by the fields that tell the drawn points apart (the store's other swept fields
    # are the same for all of them), names first; one point alone by the store's
    differ = swept_fields(chosen) if len(chosen) > 1 else swept_fields(rows)
    fields = sorted(differ, key=lambda f: f not in NAMES)
    utts = [_utterance(r["_record"], utterance) for r in chosen]
    # points on different speech: utterance 0 of one is not utterance 0 of the other
    files = list(dict.fromkeys(u["file"] for u in utts))
    # The response panel only when some frame waits (finish - arrival > its compute time);
    # otherwise it would repeat the first.
    has_finish = all("frame_finish_ms" in u for u in utts)
    waits = has_finish and any(
        np.max(np.asarray(u["frame_finish_ms"]) - np.asarray(u["frame_arrival_ms"])
               - np.asarray(u["frame_compute_ms"]), initial=0.0) > 1e-9 for u in utts)
    has_finish = waits
    fig = _new_figure(9.5, 6.8 if has_finish else 4.6)
    axes = np.atleast_1d(fig.subplots(2 if has_finish else 1, 1, sharex=True))
    from matplotlib import colormaps
    palette = colormaps["tab10"]
    for k, (r, utt) in enumerate(zip(chosen, utts)):
        arrival = np.asarray(utt["frame_arrival_ms"])
        compute = np.asarray(utt["frame_compute_ms"])
        label = _label(r, fields) + (f" ({utt['file']})" if len(files) > 1 else "")
        axes[0].plot(arrival, compute, marker=".", ms=4, lw=1.0, color=palette(k), label=label)
        if has_finish:
            response = np.asarray(utt["frame_finish_ms"]) - arrival
            axes[1].plot(arrival, response, marker=".", ms=4, lw=1.0, color=palette(k),
                         label=label)
        # the frame whose work gives the final result (a frame after it ends at the
        # encoder's time reduction), and when that result is ready (records since
        # 2026-12-06 carry result_frame; the plot had ignored it, plot audit)
        rf = utt.get("result_frame")
        if rf is not None and "frame_finish_ms" in utt and 0 <= rf < arrival.size:
            done = float(utt["frame_finish_ms"][rf])
            # the result can come before the audio ends (audio after the last frame that
            # reaches the decoder does not count); the label said "0.0 ms after" then
            gap = done - utt["seconds"] * 1e3
            when = f"{gap:.1f} ms after" if gap >= 0 else f"{-gap:.1f} ms before"
            axes[0].plot([arrival[rf]], [compute[rf]], marker="o", ms=8, mfc="none",
                         color=palette(k))
            axes[-1].axvline(done, color=palette(k), ls="-.", lw=1.0,
                             label=f"{label}: final result {when} the end of audio (its "
                                   "frame circled)")
    ends = {u["file"]: u["seconds"] for u in utts}
    budgets = dict.fromkeys(r["_record"]["audio"]["frame_ms"] for r in chosen)
    for frame_ms in budgets:   # each point's own frame period, on the compute panel only
        # a frame may take longer as long as the mean keeps up: after the time reduction
        # every other frame runs the whole model (a single frame over the line is no miss)
        axes[0].axhline(frame_ms, color="C3", ls="--", lw=1.2,
                        label=f"frame period {frame_ms:g} ms: real time needs the mean "
                              "compute below it")
    for ax in axes:
        for file, seconds in ends.items():
            ax.axvline(seconds * 1e3, color="0.5", ls=":", lw=1.0,
                       label="end of audio" if len(ends) == 1 else f"end of {file}")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("compute time per frame, ms")
    seen: dict[str, Any] = {}
    for ax in axes:   # each label once (the end-of-audio lines are on both panels)
        for handle, text in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(text, handle)
    labels, handles = list(seen), list(seen.values())
    wide = max(map(len, labels)) > 60   # two columns of long labels ran off the figure
    # and one so long that one column cut it at the figure's edge (four swept fields and
    # "final result ... (its frame circled)") is wrapped
    labels = [textwrap.fill(text, _LEGEND_CHARS) for text in labels]
    fig.legend(handles, labels, loc="outside lower center", ncols=1 if wide else 2,
               frameon=False)
    if has_finish:
        axes[1].set_ylabel("result ready after arrival, ms")
    speech = files[0] if len(files) == 1 else f"utterance {utterance} of each point's input"
    axes[-1].set_xlabel("frame arrival (end of its audio), ms from the start of "
                        + (files[0] if len(files) == 1 else "the utterance"))
    note = "" if waits else ("\nno frame waits for the previous one: each result is ready its "
                             "compute time after the frame arrives")
    clocks = joined(_fmt(r["_record"]["hardware"]["clock_mhz"]) for r in chosen)
    _suptitle(fig, f"Per-frame timeline of {speech} "
                   f"({setup_names(chosen, exclude=('hw.clock_mhz',))} at {clocks} MHz)"
                 f"{note}")
    return fig


def roofs(hardware: Mapping[str, Any]) -> dict[str, float]:
    """The roofs of a report's ``hardware`` section: the array's 8-bit MACs per cycle, the
    SRAM port's and the DRAM's bytes per cycle (GB/s x 1e3 / MHz). tests/test_cost_properties
    .py checks that no layer of a run is above the first two and no run above the third."""
    return {"macs_per_cycle": float(hardware["macs_per_cycle"]),
            "sram_bytes_per_cycle": float(hardware["sram_bytes_per_cycle"]),
            "dram_bytes_per_cycle": hardware["dram_bandwidth_gb_per_s"] * 1e3
            / hardware["clock_mhz"]}


# a layer's marker by what bounds it (the record's bound_resource)
_BOUND_COLORS = {"compute": "#4C72B0", "sram": "#55A868", "dram": "#C44E52",
                 "decoder": "#CCB974", "nonlinear": "#8172B2"}
_NAMED_LAYERS = 4   # the layers named on a panel: those with the most cycles
_MAX_PANELS = 4
_TITLE_CHARS = 56   # a panel's title line at font size 9 over its ~5.5 inches
_LEGEND_CHARS = 120   # a legend line under a 9.5-inch figure
_SPOT_DECADES = 0.1   # layers this close on both log axes share one name label


def roofline(rows: Sequence[Mapping], point_keys: Sequence[str] = ()) -> Figure:
    """One panel per chosen point (default: the slowest and the fastest, as ``timeline``).

    A layer is a filled marker at (MACs issued / SRAM bytes read, MACs issued / cycles),
    coloured by what bounds it; the layers of the run together are a star at the same
    coordinates of their sums, and a hollow star at the run's MACs per DRAM byte streamed
    (less the one-time preload, which takes no time), read against the DRAM roof. Per layer
    the DRAM is not drawn: a streamed layer's first tiles may arrive while the layer before
    it runs, so a layer can sit above the DRAM roof while the run cannot. A point far under
    every roof is held back by what no roof draws: the broadcast of one column a cycle, load
    imbalance, the nonlinear unit, or the decoder (its colour says which bound it)."""
    chosen = _pick_points(rows, point_keys)
    if len(chosen) > _MAX_PANELS:
        raise AzsimError(f"--kind roofline: {len(chosen)} points are too many panels (at "
                         f"most {_MAX_PANELS}); give fewer --point keys")
    differ = swept_fields(chosen) if len(chosen) > 1 else swept_fields(rows)
    fields = sorted(differ, key=lambda f: f not in NAMES)
    fig = _new_figure(4.6 * len(chosen) + 2.4, 4.8)
    axes = np.atleast_1d(fig.subplots(1, len(chosen), sharey=True))
    from matplotlib.lines import Line2D
    bounds_seen: dict[str, None] = {}
    scalable = any_streamed = False
    for ax, r in zip(axes, chosen):
        rec = r["_record"]
        roof = roofs(rec["hardware"])
        layers = [l for l in rec["layers"] if l["cycles"] > 0 and l["macs_issued"] > 0
                  and l["sram_read_bytes"] > 0]
        if not layers:
            raise AzsimError(f"--kind roofline: point {r['key'][:12]} has no layer that "
                             "issued MACs and read SRAM, nothing to draw")
        xs = np.array([l["macs_issued"] / l["sram_read_bytes"] for l in layers])
        ys = np.array([l["macs_issued"] / l["cycles"] for l in layers])
        issued = sum(l["macs_issued"] for l in rec["layers"])
        cycles = sum(l["cycles"] for l in rec["layers"])
        sram = sum(l["sram_read_bytes"] for l in rec["layers"])
        streamed = rec["traffic"]["dram_read_bytes"] - rec["traffic"]["weight_preload_bytes"]
        run_y = issued / cycles
        marks = [issued / sram] + ([issued / streamed] if streamed > 0 else [])
        peaks = {roof["macs_per_cycle"]: "MAC array, 8-bit"}
        if rec["hardware"].get("precision_scalable"):
            # each layer's slot width as the cost model packed it (records since 2026-12-07;
            # before, the width its MACs multiply)
            widths = {l.get("slot_bits", l["mac_weight_bits"]) for l in layers}
            for b in sorted(w for w in widths if w < 8):
                if 8 // b > 1:   # 5 to 7 bits pack one MAC a lane: no roof of their own
                    peaks.setdefault(roof["macs_per_cycle"] * (8 // b),
                                     f"MAC array, {b}-bit packed")
                    scalable = True
        top = max(peaks)
        ridges = [top / roof["sram_bytes_per_cycle"], top / roof["dram_bytes_per_cycle"]]
        lo = min([*xs, *marks, *ridges]) / 4
        hi = max([*xs, *marks, *ridges]) * 4
        grid = np.geomspace(lo, hi, 256)
        for peak, name in sorted(peaks.items()):
            ax.plot(grid, np.minimum(peak, roof["sram_bytes_per_cycle"] * grid), color="0.15",
                    lw=1.4 if peak == roof["macs_per_cycle"] else 0.9,
                    ls="-" if peak == roof["macs_per_cycle"] else ":")
            ax.annotate(f"{name}: {peak:g} MACs/cycle", (hi, peak), xytext=(-4, 3),
                        textcoords="offset points", ha="right", fontsize=7, color="0.15")
        ax.plot(grid, np.minimum(top, roof["dram_bytes_per_cycle"] * grid), color="#C44E52",
                lw=1.0, ls="--")
        for l, x, y in zip(layers, xs, ys):
            bound = l.get("bound_resource") or l.get("bound") or "compute"
            bounds_seen[bound] = None
            ax.scatter(x, y, s=34, color=_BOUND_COLORS.get(bound, "0.5"), zorder=4,
                       edgecolors="white", lw=0.5)
        # the layers with the most cycles named, once per spot: he2019's eight encoder
        # layers of one shape sit on one point, and eight names there were a smudge
        spots: dict[tuple, list[str]] = {}
        for k in sorted(range(len(layers)), key=lambda k: -layers[k]["cycles"]):
            here = (float(np.log10(xs[k])), float(np.log10(ys[k])))
            near = next((p for p in spots if abs(p[0] - here[0]) < _SPOT_DECADES
                         and abs(p[1] - here[1]) < _SPOT_DECADES), None)
            if near is not None:
                spots[near].append(layers[k]["name"])
            elif len(spots) < _NAMED_LAYERS:
                spots[here] = [layers[k]["name"]]
        for (lx, ly), names in spots.items():
            more = f" and {len(names) - 1} more" if len(names) > 1 else ""
            ax.annotate(names[0] + more, (10 ** lx, 10 ** ly), xytext=(5, -3),
                        textcoords="offset points", fontsize=7, color="0.25")
        ax.scatter(marks[0], run_y, s=120, marker="*", color="black", zorder=5)
        if streamed > 0:
            any_streamed = True
            ax.scatter(marks[1], run_y, s=120, marker="*", facecolors="none",
                       edgecolors="#C44E52", lw=1.0, zorder=5)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_xlabel("MACs issued per byte read from SRAM"
                      + ("\n(hollow star: per byte streamed from DRAM)" if streamed > 0 else ""))
        ax.grid(alpha=0.3, which="both")
        hw = rec["hardware"]
        # wrapped to the panel: two panels' long titles ran into each other
        head = textwrap.fill(_label(r, fields) if fields else setup_names([r]), _TITLE_CHARS)
        # the roofs' values here: written along the slopes they covered the points
        ax.set_title(f"{head}\n{hw['name']}, a cycle: {hw['macs_per_cycle']} MACs, SRAM "
                     f"{roof['sram_bytes_per_cycle']:g} B, DRAM {roof['dram_bytes_per_cycle']:.3g}"
                     f" B; {hw['zero_handling']}", fontsize=9)
    axes[0].set_ylabel("MACs issued per cycle")
    handles = [Line2D([], [], ls="", marker="o", color=_BOUND_COLORS.get(b, "0.5"),
                      label=f"layer bound by {b}") for b in bounds_seen]
    handles.append(Line2D([], [], ls="", marker="*", ms=11, color="black",
                          label="all layers, per SRAM byte"))
    if any_streamed:
        handles.append(Line2D([], [], ls="", marker="*", ms=11, mfc="none", mec="#C44E52",
                              label="all layers, per DRAM byte streamed"))
    handles += [Line2D([], [], color="0.15", label="MAC array / SRAM port roof"),
                Line2D([], [], color="#C44E52", ls="--", label="DRAM roof")]
    if scalable:
        handles.append(Line2D([], [], color="0.15", ls=":", label="packed low-bit MACs"))
    fig.legend(handles=handles, loc="outside right center", frameon=False)
    _suptitle(fig, "Roofline: MACs issued per cycle against MACs per byte read, each layer "
                   f"({setup_names(chosen)})")
    return fig


_KINDS = {"dense-vs-sparse": dense_vs_sparse, "bits": bits, "energy-breakdown": energy_breakdown,
          "cycle-breakdown": cycle_breakdown, "pareto": pareto}


def make_figure(kind: str, points, *, where: Mapping[str, Any] | None = None,
                point_keys: Sequence[str] = (), utterance: str = "0",
                source: str = "") -> Figure:
    """The figure of ``kind`` for the stored ``points`` (``open_for_reading``) of the results
    database ``source``."""
    points = list(points)
    rows = analysis.where(ok_rows(points), where or {}, known=flat_rows(points))
    if not rows:
        failed = sum(p.status != "ok" for p in points)
        raise AzsimError(f"{source or 'the results'}: no successful point to plot ("
                         f"{len(points)} stored, {failed} failed); plot needs at least one")
    if kind == "timeline":
        return timeline(rows, point_keys, utterance)
    if kind == "roofline":
        return roofline(rows, point_keys)
    if kind not in _KINDS:
        raise AzsimError(f"--kind {kind}: not one of "
                         f"{', '.join([*_KINDS, 'timeline', 'roofline'])}")
    fig = _KINDS[kind](rows, dict(where or {}))
    # A sweep's failed points (an SRAM too small for the model, say) have no measurements:
    # the figure said nothing of them, and a curve simply stopped short (plot audit).
    failed = analysis.failed_matching(points, where or {})
    if failed:
        n = len(failed)
        _suptitle(fig, f"{fig.get_suptitle()}\n{n} failed point{'' if n == 1 else 's'} not "
                       "drawn ('azsim results export' lists the errors)")
    mixed = analysis.versions_note(rows)
    if mixed:   # in the title (azsim report prints it in full)
        _suptitle(fig, f"{fig.get_suptitle()}\n{mixed.split(';')[0]}")
    return fig


def save(fig: Figure, dest: str, *, dpi: int = 150) -> None:
    """Write ``fig``; the format follows the extension (png, svg, pdf)."""
    fmt = os.path.splitext(dest)[1].lower().lstrip(".")
    # whole or not at all: a failed write left a truncated image over the old one (CLI audit)
    with output_file(dest, "wb") as fh:
        fig.savefig(fh, dpi=dpi, format=fmt)
