"""CLI commands of issue #5: ``azsim sweep``, ``azsim results export``, ``azsim report``,
``azsim plot``. Registered into the ``azsim`` group at the bottom of :mod:`azsim.cli`.

Like the rest of the CLI, bad input raises :class:`azsim.errors.AzsimError`, which
``azsim.cli.main`` prints as one line with exit status 2. This module must not import
``azsim.cli`` (that module imports this one).
"""
from __future__ import annotations

import contextlib
import os
import sys
import time

import click

from .config import DEFAULT_HARDWARE, DEFAULT_MODEL
from .cli_types import (AUDIO, HARDWARE, MODEL, RESULTS, TESTSET, WEIGHTS, InputPath,
                        check_writable)
from .errors import AzsimError
from .paths import output_file

MAX_POINTS = 100_000   # --max-points' default: a day of points at about 1 s each

_SWEEP_SET_HELP = ("a config field and its values, comma-separated: model.weight_bits=8,6,4,2 "
                   "or hw.clock_mhz=400,800; one value is a fixed override (repeatable)")


def _write_text(dest: str, option: str, write) -> None:
    """``write(fh)`` into ``dest`` (a file, or - for stdout). A write or close that fails (a
    full disk, /dev/full) is one line naming the option, as for ``azsim run --json``; the file
    is written whole or not at all (:func:`azsim.paths.output_file`)."""
    if dest == "-":
        write(sys.stdout)
        return
    check_writable(dest, option, "a file path")
    try:
        with output_file(dest, "w", encoding="utf-8", newline="") as fh:
            write(fh)
    except OSError as exc:
        raise AzsimError(f"{option} {dest}: cannot write ({exc.strerror or exc})") from None


_WHERE_HELP = ("only points with this config value, e.g. hw.clock_mhz=400 (repeatable: points "
               "match every field given, and any of the values of a field given more than "
               "once)")


def _parse_where(where) -> dict:
    """``{field: value}`` of the --where options; a field given more than once matches any of
    its values (:class:`azsim.sweep.analysis.AnyOf`; until 2026-12-06 the last one given won,
    silently)."""
    from pathlib import Path

    from .config.loader import parse_override
    from .errors import ConfigError
    from .sweep.analysis import either
    from .sweep.spec import _relative_setting
    out = {}
    for text in where:
        try:
            path, value = parse_override(text)
        except ConfigError as exc:
            raise AzsimError(str(exc).replace("--set", "--where")) from None
        key = ".".join(path)
        # a relative path of a path setting is stored absolute, as the sweep made it
        # (--where hw.energy_table=et.toml matched nothing after --set hw.energy_table=et.toml)
        with contextlib.suppress(AzsimError):
            value = _relative_setting(key, value, Path.cwd(), f"--where {text}")
        out[key] = either(out[key], value) if key in out else value
    return out


# ---------------------------------------------------------------------------------------- sweep


@click.command()
@click.option("--spec", "spec_file", type=InputPath("a sweep .toml file"), default=None,
              metavar="FILE.toml",
              help="sweep file: model, hw, audio, weights, [set] and [sweep] tables")
@click.option("--model", type=MODEL, default=None, metavar="NAME|PATH,...",
              help="model preset name or TOML file; several, comma-separated, run every "
                   f"point on each  [default: {DEFAULT_MODEL}]")
@click.option("--weights", type=WEIGHTS, default=None, metavar="FILE.npz",
              help="float weights (.npz)")
@click.option("--hw", "hardware", type=HARDWARE, default=None, metavar="NAME|PATH,...",
              help="hardware preset name or TOML file; several, comma-separated "
                   "(az-edge,my-npu.toml), run every point on each  "
                   f"[default: {DEFAULT_HARDWARE}]")
@click.option("--audio", type=AUDIO, multiple=True, metavar="WAV",
              help="16-bit mono WAV file (repeatable); default: the shipped utterances")
@click.option("--test", "testset", type=TESTSET, default=None, metavar="NAME|FILE|DIR",
              help="run a test set instead of audio files (as azsim eval --test): every point "
                   "has its WER on held-out speech")
@click.option("--utterances", type=int, default=None, metavar="N",
              help="with --test: its first N utterances")
@click.option("--set", "sets", multiple=True, metavar="KEY=V1,V2,...", help=_SWEEP_SET_HELP)
@click.option("--zip", "zips", multiple=True, metavar="KEY=V1,V2,...",
              help="a field that steps together with the other --zip fields (each lists the "
                   "same number of values): hw.clock_mhz=400,800 --zip hw.leakage_mw=6,10 "
                   "is 2 points, not 4")
@click.option("--results", type=InputPath("a file path for the results database"),
              default="results.sqlite", show_default=True, metavar="PATH",
              help="results database (SQLite); every finished point is committed at once")
@click.option("--resume", is_flag=True, default=False,
              help="skip points already stored successfully in --results by this azsim "
                   "code (points stored by other code run again)")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="worker processes  [default: all cores]")
@click.option("--executor", type=click.Choice(("local", "dask")), default="local",
              show_default=True, help="local process pool, or a Dask cluster (--scheduler)")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler address, e.g. tcp://host:8786 (pip install 'azsim[dask]')")
@click.option("--dry-run", is_flag=True, default=False,
              help="validate the spec and list the points without running them")
@click.option("--max-points", type=click.IntRange(min=1), default=MAX_POINTS, show_default=True,
              metavar="N", help="refuse a sweep of more points (each is validated before any "
                                "runs: 10,000 took 12 s and 134 MB)")
def sweep(spec_file, model, weights, hardware, audio, testset, utterances, sets, zips, results,
          resume, jobs, executor, scheduler, dry_run, max_points) -> None:
    """Run every combination of config values, in parallel, into a results database.

    Each point is a full `azsim run` (the same JSON record, stored per point); `--resume`
    skips points already stored. Example:

    \b
      azsim sweep --set model.weight_bits=8,6,4,2 \\
                  --set model.sparsity=0,0.5,0.75,0.9 --set hw.clock_mhz=400,800
    """
    from .sweep import runner

    jobs = jobs or os.cpu_count() or 1
    if not dry_run:   # before every point is validated (4 s for 4,000 points; a CLI audit)
        from .sweep.store import check_results_path
        check_results_path(results)
    args = (spec_file, model, weights, hardware, audio, testset, utterances, sets, zips,
            results, resume, jobs, executor, scheduler, dry_run, max_points)
    if dry_run or executor != "local":
        _sweep(*args, None)
        return
    # The workers' fork server starts now: its imports overlap the validation below; no point
    # is handed out before every point is valid. A bad spec stops it.
    with runner.LocalPool(jobs) as pool:
        _sweep(*args, pool)


class _NoBar:
    """A progress bar's ``update`` for output that is not a terminal."""

    def update(self, n: int) -> None:
        pass


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _sweep(spec_file, model, weights, hardware, audio, testset, utterances, sets, zips,
           results, resume, jobs, executor, scheduler, dry_run, max_points, pool) -> None:
    from .sweep import runner
    from .sweep.spec import build_spec, expand, point_count

    spec = build_spec(model=model, hw=hardware, audio=list(audio) or None, weights=weights,
                      sets=sets, spec_file=spec_file, testset=testset, utterances=utterances,
                      zips=zips)
    # counted before any point is built: 10^6 points would have taken some 20 minutes and
    # 13 GB to validate, without a word (a sweep audit, 2026-12-06)
    n_points = point_count(spec)
    if n_points > max_points:
        zipped = [ax for ax in spec.axes if ax.zipped]
        sizes = " x ".join([f"{len(spec.hws)} processors"] * (len(spec.hws) > 1)
                           + [f"{len(spec.models)} models"] * (len(spec.models) > 1)
                           + [str(len(ax.overrides)) for ax in spec.axes if not ax.zipped]
                           + ([f"{len(zipped[0].overrides)} zipped"] if zipped else []))
        raise AzsimError(f"the sweep has {n_points:,} points ({sizes}), more than "
                         f"--max-points {max_points:,}; give fewer values, or a larger "
                         "--max-points")
    # every point resolved and validated before anything runs; the local workers run
    # points side by side (a Dask cluster's machines have memory of their own)
    points = expand(spec, jobs if executor == "local" else 1)
    for text in spec.replaced:   # the command line wins, field by field; say where it did
        click.echo(f"azsim: note: {text}", err=True)
    if executor == "dask" and not scheduler:
        raise AzsimError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    if scheduler and executor != "dask":
        raise AzsimError(f"--scheduler {scheduler}: only with --executor dask")
    zipped = [ax for ax in spec.axes if ax.zipped]
    parts = [f"{name} ({len(sources)})" for name, sources in
             (("hw", spec.hws), ("model", spec.models)) if len(sources) > 1]
    parts += [f"{ax.key} ({len(ax.values)})" for ax in spec.axes if not ax.zipped]
    if zipped:
        parts.append(f"{' + '.join(ax.key for ax in zipped)} ({len(zipped[0].values)}, "
                     "zipped)")
    axes = ", ".join(parts) or "no axes"
    if executor == "dask" and not dry_run:
        client = runner.connect_dask(scheduler)   # unreachable: fail before anything runs
        try:
            _run(spec, points, axes, results, resume, jobs, executor, scheduler, None, client)
        finally:
            client.close()
        return
    if dry_run:
        fixed = " ".join(spec.fixed)
        click.echo(f"sweep: {_count(len(points), 'point')} over {axes}"
                   + (f", each with {fixed}" if fixed and spec.axes else ""))
        done = set()
        if resume and os.path.isfile(results):   # what --resume would skip, as it would
            from .sweep.store import ResultStore
            with ResultStore(results) as store:
                done = {p.key for p in points} - \
                    {p.key for p in runner.pending_points(points, store, True)}
        for p in points:
            # a sweep without axes is its base run: show what it is run with
            shown = " ".join(f"{k}={v!r}" for k, v in p.values.items()) or \
                " ".join(p.overrides) or "(the base run, no --set)"
            click.echo(f"  {p.key[:12]}  {shown}" + ("  (stored: skipped)" if p.key in done
                                                     else ""))
        if resume:
            click.echo(f"{_count(len(points) - len(done), 'point')} to run, "
                       f"{len(done)} stored in {results}")
        return
    _run(spec, points, axes, results, resume, jobs, executor, scheduler, pool, None)


def _run(spec, points, axes, results, resume, jobs, executor, scheduler, pool, client) -> None:
    from .sweep import runner
    from .sweep.store import ResultStore

    with ResultStore(results) as store:
        damaged: dict[str, str] = {}
        stale: dict[str, str] = {}
        todo = runner.pending_points(points, store, resume, damaged, stale)
        skipped = len(points) - len(todo)
        if stale:
            from ._version import code_version
            versions = ", ".join(sorted(set(stale.values())))
            click.echo(f"azsim: note: running again {len(stale)} point"
                       f"{'s' if len(stale) != 1 else ''} stored by other azsim code "
                       f"({versions}; this is {code_version()}): their numbers may differ",
                       err=True)
        for text in list(damaged.values())[:3]:
            click.echo(f"azsim: note: running again: {text}", err=True)
        if len(damaged) > 3:
            click.echo(f"azsim: note: running again {len(damaged) - 3} more points stored as "
                       "ok whose rows are damaged", err=True)
        if executor == "dask":
            workers = f"Dask scheduler {scheduler}"
        else:
            n = min(jobs, max(1, len(todo)))
            workers = f"{n} worker process{'es' if n != 1 else ''}"
        # without --resume every point runs, and one stored before is replaced: say so (it
        # said "0 already stored")
        replaced = 0 if resume else len(store.done_keys(p.key for p in points))
        stored = (f"{skipped} already stored" if resume else
                  f"{replaced} stored before, replaced (--resume keeps them)" if replaced
                  else "none stored before")
        plan = f"{len(todo)} to run on {workers}" if todo else "nothing to run"
        click.echo(f"sweep: {_count(len(points), 'point')} over {axes}; {stored}, {plan} -> "
                   f"{results}", err=True)
        failed = []
        start = time.perf_counter()
        # a progress bar on a terminal only: in a log click printed its bare label, "points"
        bar_cm = click.progressbar(length=len(todo), label="points", file=sys.stderr,
                                   show_eta=True, show_pos=True,
                                   item_show_func=lambda _: f"failed {len(failed)}") \
            if sys.stderr.isatty() else contextlib.nullcontext(_NoBar())
        with bar_cm as bar:
            warned: dict[str, int] = {}

            def on_result(point, res) -> None:
                if not res.ok:
                    failed.append((point, res))
                for text in getattr(res, "warnings", ()):
                    warned[text] = warned.get(text, 0) + 1
                bar.update(1)

            summary = runner.run_sweep(todo, spec, store, jobs=jobs, executor=executor,
                                       scheduler=scheduler, skipped=skipped,
                                       on_result=on_result, pool=pool, client=client)
        for text, n in warned.items():
            click.echo(f"azsim: warning ({n} point{'s' if n != 1 else ''}): {text}", err=True)
        for point, res in failed[:10]:
            shown = " ".join(f"{k}={v!r}" for k, v in point.values.items())
            click.echo(f"failed: {shown or point.key[:12]}: {res.error}", err=True)
        if len(failed) > 10:
            click.echo(f"... and {len(failed) - 10} more failed points (azsim results export)",
                       err=True)
        click.echo(f"sweep: {_count(summary.ok, 'point')} ok, {summary.failed} failed, "
                   f"{skipped} skipped, in {time.perf_counter() - start:.1f} s -> {results}")
    if summary.failed:
        sys.exit(1)


# -------------------------------------------------------------------------------------- results


@click.group()
def results() -> None:
    """Work with a results database written by `azsim sweep`."""


@results.command("export")
@click.argument("results_path", metavar="RESULTS", type=RESULTS)
@click.option("--csv", "as_csv", is_flag=True, default=False,
              help="CSV table (the default, unless -o ends in .json)")
@click.option("--json", "as_json", is_flag=True, default=False,
              help="JSON list of flat rows (the default for -o FILE.json)")
@click.option("--per", type=click.Choice(("point", "layer", "utterance", "frame")),
              default="point", show_default=True,
              help="one row per point, or per layer (shape, cycles, bound, traffic, energy "
                   "by component), utterance or frame (arrival, compute, finish, energy) of "
                   "each point")
@click.option("-o", "--output", "dest", default="-", show_default=True, metavar="FILE|-",
              help="output file, or - for stdout")
def export(results_path, as_csv, as_json, per, dest) -> None:
    """Write every stored point as a flat table (or, with --per, each point's layers,
    utterances or frames), units in the column names.

    RESULTS is a database written by `azsim sweep`, or a record written by
    `azsim run --json` (one point)."""
    from .sweep.export import detail_rows, flat_rows, write_csv, write_json
    from .sweep.store import open_for_reading

    if as_csv and as_json:
        raise AzsimError("--csv and --json are two output formats: give one of them")
    # The format follows the file's extension unless a flag names it (`-o out.json` wrote
    # CSV into a .json file); a flag that contradicts the extension is refused.
    ext = os.path.splitext(dest)[1].lower() if dest != "-" else ""
    by_ext = {".csv": "csv", ".json": "json"}.get(ext)
    flag = "json" if as_json else "csv" if as_csv else None
    if flag and by_ext and flag != by_ext:
        raise AzsimError(f"-o {dest}: a {ext} file, but --{flag} asks for {flag.upper()}; "
                         f"give a .{flag} file or --{by_ext}")
    if dest != "-":   # first: that the output is no input is the thing to say
        check_writable(dest, "-o", "a file path")
    if not flag and ext and not by_ext:   # out.xlsx got CSV and exit 0 (a CLI audit)
        raise AzsimError(f"-o {dest}: unknown table format {ext!r} (allowed: .csv, .json; "
                         "or name the format with --csv or --json)")
    fmt = flag or by_ext or "csv"

    # open_for_reading checks every point as for report and plot: nothing damaged is written
    points = open_for_reading(results_path)
    detail = per != "point"
    if detail and not any(p.status == "ok" for p in points):   # an empty file, exit 0
        raise AzsimError(f"{results_path}: no successful point ({len(points)} stored, all "
                         f"failed), so no {per}s to export; --per point lists the errors")
    rows = detail_rows(points, per) if detail else flat_rows(points)
    _write_text(dest, "-o", lambda fh: (write_csv if fmt == "csv" else write_json)(rows, fh))
    failed = sum(p.status != "ok" for p in points)
    if detail and failed:   # their rows would be empty: say they are left out
        click.echo(f"azsim: note: {failed} failed point{'' if failed == 1 else 's'} "
                   f"(no {per}s) left out", err=True)
    if dest != "-":
        n = len({r["key"] for r in rows}) if detail else len(rows)
        click.echo(f"{len(rows)} {per}{'' if len(rows) == 1 else 's'} of " * detail +
                   f"{n} point{'' if n == 1 else 's'} -> {dest}", err=True)


# --------------------------------------------------------------------------------------- report


@click.command()
@click.argument("results_path", metavar="RESULTS", type=RESULTS)
@click.option("--markdown", "md_dest", default=None, metavar="FILE|-",
              help="also write the report as Markdown (for CI logs and design reviews)")
@click.option("--where", multiple=True, metavar="KEY=VALUE", help=_WHERE_HELP)
def report(results_path, md_dest, where) -> None:
    """Benchmark report: points, Pareto fronts, dense-vs-sparse deltas per bit-width."""
    from .report.sweep_report import build_sweep_report, render_markdown, render_text
    from .sweep.store import open_for_reading

    if md_dest not in (None, "-"):
        check_writable(md_dest, "--markdown", "a file path")
    rep = build_sweep_report(open_for_reading(results_path), _parse_where(where),
                             source=results_path)
    if md_dest != "-":
        click.echo(render_text(rep))
    if md_dest is not None:
        _write_text(md_dest, "--markdown", lambda fh: fh.write(render_markdown(rep)))


# ----------------------------------------------------------------------------------------- plot

PLOT_KINDS = ("dense-vs-sparse", "bits", "energy-breakdown", "cycle-breakdown", "pareto",
              "timeline", "roofline")


@click.command()
@click.argument("results_path", metavar="RESULTS", type=RESULTS)
@click.option("--kind", type=click.Choice(PLOT_KINDS), required=True, help="which figure")
@click.option("-o", "--output", "dest", required=True, metavar="FILE.png|svg|pdf",
              help="image file; the format follows the extension")
@click.option("--where", multiple=True, metavar="KEY=VALUE", help=_WHERE_HELP)
@click.option("--point", "point_keys", multiple=True, metavar="KEY",
              help="timeline, roofline: a point by (a prefix of) its key (repeatable); "
                   "default: the fastest and the slowest point")
@click.option("--utterance", default=None, metavar="INDEX|FILE",
              help="timeline: the utterance, by position or file name  [default: 0]")
@click.option("--dpi", type=click.IntRange(50, 600), default=150, show_default=True,
              help="resolution of PNG output")
def plot(results_path, kind, dest, where, point_keys, utterance, dpi) -> None:
    """Plot a results database: dense vs sparse, bit-widths, energy, busy time by what it
    waited on, Pareto, timeline, roofline."""
    ext = os.path.splitext(dest)[1].lower()
    if ext not in (".png", ".svg", ".pdf"):
        raise AzsimError(f"-o {dest}: unknown image format {ext or '(none)'!r} "
                         "(allowed: .png, .svg, .pdf)")
    if ext != ".png" and click.get_current_context().get_parameter_source("dpi") \
            != click.core.ParameterSource.DEFAULT:   # it was ignored (a CLI audit)
        raise AzsimError(f"--dpi {dpi} with -o {dest}: the resolution of PNG output; a "
                         f"{ext} figure is vector graphics")
    if (kind != "timeline" and utterance is not None) or \
            (kind not in ("timeline", "roofline") and point_keys):
        flag = "--point" if point_keys else "--utterance"
        picks = "--kind timeline" if flag == "--utterance" else "--kind timeline and roofline"
        raise AzsimError(f"{flag} with --kind {kind}: it picks what {picks} draw; "
                         f"{kind} draws every point (select with --where)")
    check_writable(dest, "-o", "a file path")
    from .plot import plots
    from .sweep.store import open_for_reading

    fig = plots.make_figure(kind, open_for_reading(results_path), where=_parse_where(where),
                            point_keys=point_keys,
                            utterance="0" if utterance is None else utterance,
                            source=results_path)
    try:
        plots.save(fig, dest, dpi=dpi)
    except OSError as exc:
        raise AzsimError(f"-o {dest}: cannot write ({exc.strerror or exc})") from None
    click.echo(f"{kind} -> {dest}", err=True)


# -------------------------------------------------------------------------------------- compare


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="RESULTS...", type=RESULTS)
@click.option("--point", "point_keys", multiple=True, metavar="KEY",
              help="a point by (a prefix of) its key, given twice: the two to compare "
                   "(needed where the files hold more than two points)")
@click.option("--json", "json_dest", default=None, metavar="FILE|-",
              help="also write the comparison as JSON (settings, totals, layers)")
@click.option("--markdown", "md_dest", default=None, metavar="FILE|-",
              help="also write the comparison as Markdown (for design reviews)")
def compare(sources, point_keys, json_dest, md_dest) -> None:
    """Two runs side by side: the settings that differ, then totals and layers with the
    change from A to B.

    RESULTS: two records written by `azsim run --json`, or a results database (or two)
    with --point KEY twice. Example:

    \b
      azsim run --json a.json && azsim run --hw my-npu.toml --json b.json
      azsim compare a.json b.json
    """
    import json as json_module

    from .report.compare import compare as compare_points
    from .report.compare import pick_two
    from .report.sweep_report import render_markdown, render_text
    from .sweep.store import open_for_reading

    if len(sources) > 2:
        raise AzsimError(f"compare takes one or two files, not {len(sources)}: two run "
                         "records, or a results database with --point KEY twice")
    if json_dest == "-" and md_dest == "-":
        raise AzsimError("--json - and --markdown -: give one of them a file (both would "
                         "write to stdout)")
    for dest, option in ((json_dest, "--json"), (md_dest, "--markdown")):
        if dest not in (None, "-"):
            check_writable(dest, option, "a file path")
    points = [p for source in sources for p in open_for_reading(source)]
    a, b = pick_two(points, point_keys, sources)
    rep, data = compare_points(a, b)
    if "-" not in (json_dest, md_dest):
        click.echo(render_text(rep))
    if json_dest is not None:
        _write_text(json_dest, "--json",
                    lambda fh: fh.write(json_module.dumps(data, indent=1) + "\n"))
    if md_dest is not None:
        _write_text(md_dest, "--markdown",
                    lambda fh: fh.write(render_markdown(rep, "azsim compare")))


COMMANDS = (sweep, results, report, plot, compare)
