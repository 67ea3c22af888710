"""What a results store says: swept fields, Pareto fronts, dense-against-sparse deltas.

Works on flat rows (:mod:`azsim.sweep.export`): config columns by ``--set`` path, measurement
columns with units. The swept fields are found from the data (the config columns whose values
differ between points), so a store filled by several sweeps is read the same way.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import AzsimError
from .export import FILES, INPUT, VERSION, flat_rows
from .store import StoredPoint

__all__ = ["ok_rows", "where", "failed_matching", "AnyOf", "either", "swept_fields", "sort_rows", "pareto_front",
           "DenseSparse", "dense_vs_sparse", "fix_other_fields", "by_input", "joined",
           "setup_names", "hardware_changes", "field_title", "versions_note", "BITS",
           "SPARSITY", "NAMES"]

BITS, SPARSITY = "model.weight_bits", "model.sparsity"
NAMES = ("model.name", "hw.name")   # the fields that name a model or a processor


def ok_rows(points: Iterable[StoredPoint]) -> list[dict[str, Any]]:
    """Flat rows of the successful points, each with its full record under ``"_record"``.
    The points are those :func:`azsim.sweep.store.open_for_reading` returns, each checked
    there (:func:`azsim.sweep.checks.check_point`): a damaged one never gets this far."""
    ok = [p for p in points if p.status == "ok" and p.record is not None]
    rows = flat_rows(ok)
    for row, p in zip(rows, ok):
        row["_record"] = p.record
    return rows


def failed_matching(points: Iterable[StoredPoint], conditions: Mapping[str, Any]) -> list:
    """The failed points whose config has every ``{--set path: value}`` of ``conditions``:
    those a figure or report of that selection leaves out."""
    failed = [p for p in points if p.status != "ok"]
    return [p for p, row in zip(failed, flat_rows(failed))
            if all(_matches(row.get(k), v) for k, v in conditions.items())]


@dataclass(frozen=True)
class AnyOf:
    """The values of a ``--where`` field given more than once: a point matches with any of
    them (until 2026-12-06 the last one given won, silently)."""
    values: tuple

    def __str__(self) -> str:
        return joined((str(v).lower() if isinstance(v, bool) else f"{v:g}"
                       if isinstance(v, float) else str(v) for v in self.values), "or")

    def __repr__(self) -> str:
        return " or ".join(map(repr, self.values))


def either(earlier: Any, value: Any) -> Any:
    """The condition ``earlier`` (a value or an :class:`AnyOf`) widened by ``value``: the
    same condition if it matches ``value`` already (``8`` and ``8.0`` are one value)."""
    values = earlier.values if isinstance(earlier, AnyOf) else (earlier,)
    return earlier if any(_matches(value, v) for v in values) else AnyOf((*values, value))


def _matches(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, AnyOf):
        return any(_matches(value, w) for w in wanted.values)
    if isinstance(value, (int, float)) and isinstance(wanted, (int, float)) \
            and not isinstance(value, bool) and not isinstance(wanted, bool):
        return float(value) == float(wanted)
    return value == wanted


def where(rows: Sequence[Mapping[str, Any]], conditions: Mapping[str, Any],
          known: Sequence[Mapping[str, Any]] | None = None) -> list:
    """Rows whose config has every ``{--set path: value}`` of ``conditions`` (for an
    :class:`AnyOf`, one of its values). A condition's field must be one of ``known``'s
    (default ``rows``; a store's every point, failed ones too, so that a misspelt field is
    an error even where no point succeeded)."""
    out = list(rows)
    known = rows if known is None else known
    fields = _config_fields(known)
    for key, wanted in conditions.items():
        if known and key not in fields and not any(key in r for r in known):
            raise AzsimError(f"--where {key}: not a config field of these results "
                             f"(fields: {', '.join(fields)})")
        out = [r for r in out if _matches(r.get(key), wanted)]
    if rows and not out:
        shown = " ".join(f"{k}={v!r}" for k, v in conditions.items())
        # what there is to select (the error named no value, and a relative path or a
        # value of another spelling left the user guessing; a sweep audit)
        have = "; ".join(f"{k} {_values_shown(rows, k)}" for k in conditions)
        raise AzsimError(f"--where {shown}: no successful point matches (the successful "
                         f"points have {have})")
    return out


_VALUES_SHOWN = 8


def _values_shown(rows: Sequence[Mapping[str, Any]], key: str) -> str:
    """The distinct values of ``key`` among ``rows``, sorted, as ``--where`` reads them."""
    values = sorted({_hashable(r.get(key)) for r in rows}, key=_order)
    text = [repr(v) if isinstance(v, str) else "none" if v is None else
            str(v).lower() if isinstance(v, bool) else f"{v:g}" if isinstance(v, float)
            else str(v) for v in values]
    more = len(text) - _VALUES_SHOWN
    return joined(text[:_VALUES_SHOWN], "or") + (f" (and {more} more)" if more > 0 else "")


def _config_fields(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The input column and the config columns of any of the rows, in first-seen order
    (rows of several sweeps need not share every column: a model-preset field of one)."""
    seen: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k in (INPUT, FILES) or k.startswith(("model.", "hw.")):
                seen.setdefault(k, None)
    return list(seen)


def swept_fields(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Config columns (and the input speech, :data:`azsim.sweep.export.INPUT`) whose values
    differ between rows; bits and sparsity first."""
    if not rows:
        return []
    varying = [k for k in _config_fields(rows) if len({_hashable(r.get(k)) for r in rows}) > 1]
    # a model's or processor's description is prose beside its name: where the name tells
    # the rows apart, the description is no column of its own (``azsim sweep --hw a,b``)
    varying = [k for k in varying if not (k.endswith(".description") and
                                          k.replace(".description", ".name") in varying)]
    first = [k for k in (BITS, SPARSITY) if k in varying]
    return first + [k for k in varying if k not in first]


def field_title(field: str) -> str:
    """A column's or legend's short name for a config field: its last part
    (``model.weight_bits`` -> ``weight_bits``; ``input`` has no prefix), but the model or
    processor for its name (``hw.name`` -> ``hw``), which "name" alone would not say."""
    return field.split(".", 1)[0] if field in NAMES else field.split(".", 1)[-1]


def joined(items: Iterable[Any], word: str = "and") -> str:
    """Distinct items in first-seen order as words: ``a``, ``a and b``, ``a, b and c``."""
    seen = list(dict.fromkeys(str(i) for i in items))
    return seen[0] if len(seen) == 1 else ", ".join(seen[:-1]) + f" {word} " + seen[-1]


def setup_names(rows: Sequence[Mapping[str, Any]], exclude: Iterable[str] = ()) -> str:
    """The models and processors of ``rows`` (with their records, :func:`ok_rows`) for a
    title: ``tiny on az-edge``, ``tiny and small on az-edge`` (titles named the first row's
    only, beside rows of another model)."""
    def processor(r) -> str:   # a preset run as the other array type says so (plot audit)
        hw = r["_record"]["hardware"]
        return hw["name"] + (" as a systolic array" if hw.get("array") == "systolic" else "")
    changed = hardware_changes(rows, exclude)
    shown = ", ".join(changed[:_CHANGES_SHOWN]) + (
        f" and {len(changed) - _CHANGES_SHOWN} more" if len(changed) > _CHANGES_SHOWN else "")
    return (f"{joined(r['_record']['model']['name'] for r in rows)} on "
            f"{joined(processor(r) for r in rows)}" + (f" with {shown}" if changed else ""))


# Hardware changes a title names before "and N more" (a title stays one line).
_CHANGES_SHOWN = 3


def hardware_changes(rows: Sequence[Mapping[str, Any]], exclude: Iterable[str] = ()
                     ) -> list[str]:
    """``hw.field=value`` of every hardware field that all ``rows`` (with their records) set
    alike and away from their one preset, in the preset's field order: the settings a
    title's preset name alone hides (an audit, 2026-12-07: a sweep at 1 and 800 MHz on
    az-edge with 4 PEs and a quarter of its port widths was titled "small on az-edge at 1
    and 800 MHz"). Swept fields, which titles and legends name themselves, are not listed,
    nor those in ``exclude`` (a slice's fixed fields, which its caller names: a review,
    2026-12-07), nor ``array`` (:func:`setup_names` says "as a systolic array"); nor is
    anything when the rows ran on several processors or on a hardware whose name is not a
    preset's. A record keeps its hardware's name, not where it came from, so a file of one's
    own named like a preset, or a point of older code run before a preset changed, is
    compared with the preset as it is now."""
    from ..config import load_hardware_config
    from ..config.loader import to_dict
    names = {r["_record"]["hardware"]["name"] for r in rows}
    if len(names) != 1:
        return []
    try:
        preset = to_dict(load_hardware_config(names.pop(), []))
    except AzsimError:
        return []
    skip = set(exclude) | {"hw.array"}
    out = []
    for field, value in preset.items():
        column = f"hw.{field}"
        mine = {_hashable(r.get(column)) for r in rows}
        have = rows[0].get(column)
        if column in skip or len(mine) != 1 or have is None or have == value:
            continue
        out.append(f"{column}={_short(have)}")
    return out


def _short(value: Any) -> str:
    """A value as a title gives it: floats by ``:g`` when that is exact, else in full (12.8000001
    read 12.8, the preset's own value)."""
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (list, dict)) else value


def _order(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


def sort_rows(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> list:
    """By the swept fields, bit-width from high to low (dense 8-bit first), others ascending."""
    def key(row):
        return tuple((-row[f] if f == BITS else 0, _order(row.get(f))) for f in fields)
    return sorted(rows, key=key)


def pareto_front(rows: Sequence[Mapping[str, Any]], x: str, y: str) -> list:
    """Rows not dominated in (x, y), both minimized, sorted by x: no other row is at least as
    good in both and better in one."""
    pts = sorted((r for r in rows if r.get(x) is not None and r.get(y) is not None),
                 key=lambda r: (r[x], r[y]))
    front, best_y, last = [], float("inf"), None
    for r in pts:
        # a row equal to the last one kept in both is not dominated either: it is kept too
        # (until 2026-12-06 only the first of two points with the same x and y was)
        if r[y] < best_y or (last is not None and (r[x], r[y]) == (last[x], last[y])):
            front.append(r)
            best_y, last = r[y], r
    return front


def versions_note(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """A warning when ``rows`` were made by more than one azsim code version (a store keeps
    the points of older code beside a resumed sweep's, which reruns only its own points):
    a cost-model or decoder change between them moves their figures, and a report or plot
    compared them as if measured alike (a sweep audit, 2026-12-06). None for one version."""
    counts: dict[str, int] = {}
    for r in rows:
        v = r.get(VERSION)
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    if len(counts) < 2:
        return None
    each = ", ".join(f"{v}: {n}" for v, n in counts.items())
    return (f"points of {len(counts)} azsim versions ({each}), compared as if measured "
            f"alike; select one with --where {VERSION}=VERSION, or run the older points again")


def by_input(rows: Sequence[Mapping[str, Any]]) -> dict[Any, list]:
    """The rows of each input speech (:data:`azsim.sweep.export.INPUT`), in first-seen order:
    latency and energy are totals over the audio, so a Pareto front only compares points
    that ran on the same speech."""
    out: dict[Any, list] = {}
    for r in rows:
        out.setdefault(r.get(INPUT), []).append(r)
    return out


@dataclass(frozen=True)
class DenseSparse:
    """A sparse point and the dense point that differs from it only in sparsity."""
    bits: Any
    others: dict          # the other swept fields' values, shared by both
    dense: Mapping
    sparse: Mapping


def dense_vs_sparse(rows: Sequence[Mapping[str, Any]]) -> list[DenseSparse]:
    """Every sparse point with its dense (``model.sparsity = 0``) counterpart."""
    fields = [f for f in swept_fields(rows) if f != SPARSITY]
    def group(r):
        return tuple(_hashable(r.get(f)) for f in fields)
    dense = {group(r): r for r in rows if r.get(SPARSITY) == 0}
    out = []
    for r in sort_rows(rows, swept_fields(rows)):
        d = dense.get(group(r))
        if r.get(SPARSITY, 0) != 0 and d is not None:
            out.append(DenseSparse(r.get(BITS), {f: r.get(f) for f in fields if f != BITS},
                                   d, r))
    return out


def fix_other_fields(rows: Sequence[Mapping[str, Any]], keep: Sequence[str]
                     ) -> tuple[list, dict]:
    """One slice of ``rows``: a figure over bits and sparsity shows one slice of a bigger
    sweep, and says which. Field by field (the model's and hardware's names first), every
    swept field not in ``keep`` takes its first value (sorted) among the rows the fields
    before it left, so the slice is never empty: each field's first value on its own (as
    until 2026-12-06) need not meet the others' (tiny on one speech and small on another
    have no small point on tiny's speech), and the figures drew an empty slice. Returns the
    slice and the choices that narrowed it, ``{field: value}``."""
    others = sorted((f for f in swept_fields(rows) if f not in keep),
                    key=lambda f: f not in NAMES)
    out, fixed = list(rows), {}
    for f in others:
        value = min((r.get(f) for r in out), key=_order)
        narrowed = [r for r in out if _hashable(r.get(f)) == _hashable(value)]
        if len(narrowed) < len(out):
            fixed[f] = value
        out = narrowed
    return out, fixed
