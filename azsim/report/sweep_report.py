"""The benchmark report of a results store, for the terminal and as Markdown (``azsim report``).

Sections: the points (swept fields and measurements; ``*`` marks the energy-latency Pareto
front), the Pareto fronts (energy against latency, and against WER where the records have a
WER), and dense-against-sparse deltas: every sparse point beside the dense point that differs
from it only in ``model.sparsity``, at each bit-width. Latency is the busy time of the run
(cycles / clock, summed over the utterances); deltas are (sparse - dense) / dense.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..sweep.analysis import (BITS, NAMES, SPARSITY, by_input, dense_vs_sparse, failed_matching,
                              field_title, ok_rows, pareto_front, setup_names, sort_rows,
                              swept_fields, versions_note, where)
from ..sweep.export import RESOURCE_LABELS, flat_rows, resource_columns

__all__ = ["Table", "SweepReport", "build_sweep_report", "render_text", "render_markdown"]

_BYTE_UNITS = ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B"))


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""


@dataclass(frozen=True)
class SweepReport:
    source: str
    summary: str
    tables: list[Table] = field(default_factory=list)


def _short(name: str, fields: Sequence[str]) -> str:
    """``model.weight_bits`` -> ``weight_bits`` (``hw.name`` -> ``hw``) unless another swept
    field is shown the same."""
    tail = field_title(name)
    return tail if sum(field_title(f) == tail for f in fields) == 1 else name


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _bytes_unit(rows: Sequence[Mapping], col: str) -> tuple[float, str]:
    top = max((r[col] for r in rows if r.get(col) is not None), default=0)
    return next(((s, u) for s, u in _BYTE_UNITS if top >= 10 * s), (1.0, "B"))


def _num(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.{max(0, digits - len(str(int(abs(v)))))}f}"


def _delta(d: float | None, s: float | None) -> str:
    """(s - d) / d in per cent; "-" where it has no finite value (no dense figure, a zero one,
    or one so small that the ratio overflows a float, which printed "inf %")."""
    if d is None or s is None or d == 0:
        return "-"
    pct = 100.0 * (s - d) / d
    return f"{pct:+.1f} %" if math.isfinite(pct) else "-"


def _metrics(rows: Sequence[Mapping]) -> list[tuple[str, Any]]:
    """(header, row -> cell) of the measurement columns, units chosen for these rows."""
    scale, unit = _bytes_unit(rows, "dram_read_bytes")
    cols = [("latency ms", lambda r: _num(r["latency_s"] * 1e3)),
            ("RTF", lambda r: _num(r["latency_rtf"])),
            ("frame compute p99 ms", lambda r: _num(r["frame_compute_p99_ms"])),
            (f"DRAM read {unit}", lambda r: _num(r["dram_read_bytes"] / scale)),
            ("energy uJ", lambda r: _num(r["energy_total_uj"]))]
    if any("wer" in r for r in rows):
        cols.append(("WER %", lambda r: _num(100.0 * r["wer"], 4) if "wer" in r else "-"))
    return cols


def build_sweep_report(points, conditions: Mapping[str, Any] | None = None, *,
                       source: str = "") -> SweepReport:
    """Tables of a results store's points (``azsim.sweep.store.open_for_reading``)."""
    points = list(points)
    rows = where(ok_rows(points), conditions or {}, known=flat_rows(points))
    # the failed points of the selection: --where listed every failure of the store (a sweep
    # audit, 2026-12-06)
    failed = failed_matching(points, conditions or {})
    fields = swept_fields(rows)
    rows = sort_rows(rows, fields)
    n_failed = sum(p.status != "ok" for p in points)
    summary = (f"{source}: {len(points)} point{'' if len(points) == 1 else 's'} stored, "
               f"{len(points) - n_failed} ok, "
               f"{n_failed} failed"
               + (f" ({len(failed)} in the selection)" if conditions and n_failed else "")
               + (f"; showing {len(rows)} with " + ", ".join(f"{k} = {_value(v)}" for k, v in
                                                          conditions.items()) if conditions
                  else "")
               + (f"; swept: {', '.join(fields)}" if fields else ""))
    tables = []
    if rows:
        groups = by_input(rows)
        audio = (f"{rows[0]['audio_s']:.2f} s of audio" if len(groups) == 1 else
                 f"{len(groups)} inputs, see the input column; fronts are per input")
        metrics = _metrics(rows)
        on_front = {id(r) for g in groups.values()
                    for r in pareto_front(g, "latency_s", "energy_total_uj")}
        tables.append(Table(
            f"Points ({setup_names(rows)}, {audio})",
            [_short(f, fields) for f in fields] + [h for h, _ in metrics] + ["front"],
            [[_value(r.get(f)) for f in fields] + [get(r) for _, get in metrics]
             + ["*" if id(r) in on_front else ""] for r in rows],
            "latency: busy time (cycles / clock) over all utterances; front: on the "
            "energy-latency Pareto front"))
        shares = _cycle_shares(rows)
        if shares:
            resources, body = shares
            tables.append(Table(
                "Where the cycles go (share of each point's cycles by what they waited on)",
                [_short(f, fields) for f in fields] + ["latency ms"] +
                [f"{RESOURCE_LABELS.get(r, r)} %" for r in resources],
                [[_value(r.get(f)) for f in fields] + [_num(r["latency_s"] * 1e3)] + cells
                 for r, cells in zip(rows, body)],
                "a layer's cycles are those of the resource it waits on: the MAC array "
                "(compute), the SRAM port, the weight decoder, the nonlinear unit or DRAM; "
                "azsim results export has them as cycles_<resource>"))
        fronts = [("energy vs latency", "latency_s", "energy_total_uj")]
        with_wer = [r for r in rows if "wer" in r]
        wers = {r["wer"] for r in with_wer}
        # a WER at some points only (audio without references): the summary said "at every
        # point" of the one WER of 1 point in 5
        at = ("every point" if len(with_wer) == len(rows) else
              f"{len(with_wer)} of {len(rows)} points (the others have none)")
        if len(wers) == 1:   # no trade-off to show (e.g. untrained weights)
            summary += f"; WER {100 * wers.pop():.1f} % at {at}"
        elif with_wer and len(with_wer) < len(rows):
            summary += f"; WER at {at}"
        elif with_wer:
            fronts.append(("energy vs WER", "wer", "energy_total_uj"))
            fronts.append(("latency vs WER", "wer", "latency_s"))
        for (title, x, y), (speech, group) in itertools.product(fronts, groups.items()):
            front = pareto_front(group, x, y)
            on = "" if len(groups) == 1 else f", {speech}"
            tables.append(Table(
                f"Pareto front, {title} ({len(front)} of {len(group)} points{on})",
                [_short(f, fields) for f in fields] + [h for h, _ in metrics],
                [[_value(r.get(f)) for f in fields] + [get(r) for _, get in metrics]
                 for r in front],
                "no other point is at least as good in both and better in one"))
        pairs = dense_vs_sparse(rows)
        if pairs:
            others = [f for f in fields if f not in (BITS, SPARSITY)]
            scale, unit = _bytes_unit(rows, "dram_read_bytes")
            wer = all("wer" in p.dense and "wer" in p.sparse for p in pairs)
            headers = (["weight_bits"] + [_short(f, fields) for f in others] + ["sparsity",
                       "latency ms dense", "sparse", "delta", f"DRAM {unit} dense", "sparse",
                       "delta", "energy uJ dense", "sparse", "delta"]
                       + (["WER % dense", "sparse", "delta pts"] if wer else []))
            body = []
            for p in pairs:
                d, s = p.dense, p.sparse
                line = ([_value(p.bits)] + [_value(p.others[f]) for f in others]
                        + [_value(s[SPARSITY]),
                           _num(d["latency_s"] * 1e3), _num(s["latency_s"] * 1e3),
                           _delta(d["latency_s"], s["latency_s"]),
                           _num(d["dram_read_bytes"] / scale), _num(s["dram_read_bytes"] / scale),
                           _delta(d["dram_read_bytes"], s["dram_read_bytes"]),
                           _num(d["energy_total_uj"]), _num(s["energy_total_uj"]),
                           _delta(d["energy_total_uj"], s["energy_total_uj"])])
                if wer:
                    line += [_num(100 * d["wer"], 4), _num(100 * s["wer"], 4),
                             f"{100 * (s['wer'] - d['wer']):+.1f}"]
                body.append(line)
            tables.append(Table("Dense vs sparse at each bit-width", headers, body,
                                "delta = (sparse - dense) / dense; the dense point differs "
                                "only in model.sparsity = 0"))
    if failed:
        # the settings that tell the failed points apart (all of one alone): the last four
        # overrides hid a fifth axis, and two points read the same (a sweep audit, 2026-12-07)
        # a point's model and processor are no override (``azsim sweep --hw a,b``): named
        # where they tell the failed points apart
        said = [[f"{n}={_failed_name(p, n)}" for n in NAMES] + list(p.overrides)
                for p in failed]
        shared = set.intersection(*map(set, said)) if len(failed) > 1 else set()
        tables.append(Table(f"Failed points ({len(failed)})", ["key", "overrides", "error"],
                            [[p.key[:12], " ".join(o for o in texts if o not in shared),
                              p.error or ""] for p, texts in zip(failed, said)]))
    mixed = versions_note(rows)
    if mixed:
        summary += f"\nwarning: {mixed}"
    return SweepReport(source, summary, tables)


def _cycle_shares(rows: Sequence[Mapping]) -> tuple[list[str], list[list[str]]] | None:
    """The resources any row's cycles waited on (:func:`resource_columns`) and each row's
    shares of its cycles, in per cent; None without such columns."""
    used = resource_columns(rows)
    if not used:
        return None
    body = []
    for r in rows:
        total = sum(r.get(f"cycles_{x}") or 0.0 for x in used)
        # to 0.1 %: the attribution's float sums leave residues such as 8e-15 %
        body.append([f"{100.0 * (r.get(f'cycles_{x}') or 0.0) / total:.1f}" if total else "-"
                     for x in used])
    return used, body


def _failed_name(point, field: str) -> str:
    """A failed point's model or processor name (``hw.name``) from its stored config."""
    root, _, name = field.partition(".")
    section = point.config.get(root)
    return str(section.get(name, "?")) if isinstance(section, dict) else "?"


def render_text(rep: SweepReport) -> str:
    out = [rep.summary]
    for t in rep.tables:
        widths = [max(len(h), *(len(r[i]) for r in t.rows)) if t.rows else len(h)
                  for i, h in enumerate(t.headers)]
        out += ["", t.title]
        out.append("  " + "  ".join(h.rjust(w) for h, w in zip(t.headers, widths)))
        for r in t.rows:
            out.append("  " + "  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if t.note:
            out.append(f"  ({t.note})")
    if not rep.tables:
        out.append("no successful points")
    return "\n".join(out)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|") or " "


def render_markdown(rep: SweepReport, title: str = "azsim sweep report") -> str:
    # the summary's lines stay lines (a Markdown hard break), as in the terminal
    out = [f"# {title}", "", "  \n".join(rep.summary.splitlines())]
    for t in rep.tables:
        out += ["", f"## {t.title}", ""]
        out.append("| " + " | ".join(_md_cell(h) for h in t.headers) + " |")
        out.append("|" + "|".join("---:" for _ in t.headers) + "|")
        for r in t.rows:
            out.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
        if t.note:
            out += ["", f"*{t.note}*"]
    if not rep.tables:
        out += ["", "No successful points."]
    return "\n".join(out) + "\n"
