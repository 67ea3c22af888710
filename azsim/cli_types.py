"""Click parameter types and output-path checks shared by the CLI modules."""
from __future__ import annotations

import math
import os

import click

from .errors import AzsimError


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses NaN and infinity: click's range check compares,
    and every comparison with NaN is false, so ``--epochs nan`` would pass it and
    ``--max-error nan`` would make every layer pass silently."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def _empty(option: str, wanted: str) -> str:
    return f"{option} '': the path is empty; give {wanted}"


def check_not_empty(option: str, value, wanted: str) -> None:
    """An empty path would become the current folder ('.') further down: say what it is."""
    if value is not None and str(value) == "":
        raise AzsimError(_empty(option, wanted))


class InputPath(click.types.StringParamType):
    """A file, folder or preset name given to an option or argument: the text as typed, but
    never empty, refused where it is parsed. An empty path is the current folder ('.') to
    pathlib, and an optional value given empty would read as not given and run with the
    default: either way the run would not be the one asked for."""
    name = "path"

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted   # what to give instead, for the message

    def convert(self, value, param, ctx):
        value = super().convert(value, param, ctx)   # a str, as click's default type gives
        if value == "":
            option = param.opts[0] if isinstance(param, click.Option) else \
                (param.human_readable_name if param is not None else "path")
            raise click.UsageError(_empty(option, self.wanted), ctx)
        return value


MODEL = InputPath("a model preset name or a .toml file")
HARDWARE = InputPath("a hardware preset name or a .toml file")
WEIGHTS = InputPath("a weights .npz file or a shipped name such as small")
TESTSET = InputPath("a test set: a shipped name such as test, a corpus .npz split, or WAVs "
                    "with transcripts.tsv")
AUDIO = InputPath("a 16-bit mono WAV file")
CONTEXT = InputPath("a file of biasing phrases")
BRANCH_WEIGHTS = InputPath("a weights .npz file or a shipped name such as small-branch60")
FOLDER = InputPath("a writable folder")
EVAL_JSON = InputPath("a file written by azsim eval --json")
RESULTS = InputPath("a results database written by azsim sweep, or a run record written by "
                    "azsim run --json")


def check_writable(dest: str, option: str = "--json",
                   wanted: str = "a file path (or - for stdout)") -> None:
    """Before any work (so no finished run is lost): ``dest`` can be written as a file, i.e.
    it is not empty, not a folder, not a read-only file, and its folder exists and is writable.
    What only shows when writing (a full disk, /dev/full) still fails later, when written."""
    check_not_empty(option, dest, wanted)
    if os.path.isdir(dest):
        raise AzsimError(f"{option} {dest}: is a folder; give {wanted}")
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise AzsimError(f"{option} {dest}: folder {parent} does not exist or is not writable")
    if os.path.exists(dest) and not os.access(dest, os.W_OK):
        raise AzsimError(f"{option} {dest}: the file exists and is not writable")
    _refuse_an_input(dest, option)
    _refuse_another_output(dest, option)


def _refuse_another_output(dest: str, option: str) -> None:
    """Two outputs of one command must be two files: ``decode --out X --json X`` and
    ``context-aliases CTX OUT --json OUT`` wrote one over the other and exited 0 (a CLI
    audit, 2026-12-06). Each checked output is remembered for the running command."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or dest == "-":
        return
    outputs = ctx.meta.setdefault("azsim.outputs", {})
    key = os.path.realpath(dest)
    if outputs.get(key, option) != option:
        raise AzsimError(f"{option} {dest}: is also the output {outputs[key]}; give each "
                         "output its own file")
    outputs[key] = option


def check_not_an_output(path: str, option: str, json_dest: str | None) -> None:
    """A file a folder output (``--save``, ``--save-lattice``) is about to write must not be the
    ``--json`` record, written already: say so rather than replace it."""
    if json_dest not in (None, "-") and os.path.realpath(path) == os.path.realpath(json_dest):
        raise AzsimError(f"{option}: its file {path} is the --json output, written already; "
                         "give --json a path outside the folder (the report and the record "
                         "are complete)")


def _toml_paths(path: str):
    """The strings of a TOML file that name existing files, each resolved beside the TOML and
    from the current folder: (key, path)."""
    import tomllib
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, ValueError):
        return   # the command's own loader says what is wrong with it

    def walk(node, key):
        if isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, f"{key}.{k}" if key else k)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v, key)
        elif isinstance(node, str) and node:
            for base in (os.path.dirname(os.path.abspath(path)), os.getcwd()):
                candidate = os.path.join(base, node)
                if os.path.isfile(candidate):
                    yield key, candidate
    yield from walk(doc, "")


def _named_inputs(ctx):
    """(how it was given, path) of every file the command reads: options and arguments of an
    :class:`InputPath` type, files named by ``--set`` values (a sweep's each value of a list),
    and files a model or hardware TOML names (its weights, context or energy table)."""
    for param in ctx.command.params:
        values = ctx.params.get(param.name)
        values = values if isinstance(values, (tuple, list)) else [values]
        given = param.opts[0] if isinstance(param, click.Option) else param.human_readable_name
        if isinstance(param.type, InputPath):
            for value in values:
                if isinstance(value, str) and os.path.isfile(value):
                    yield f"{given} {value}", value
                    if value.endswith(".toml"):
                        for key, named in _toml_paths(value):
                            yield f"{given} {value} (its {key})", named
        elif given == "--set":
            for value in values:
                if not isinstance(value, str) or "=" not in value:
                    continue
                for piece in value.split("=", 1)[1].split(","):
                    piece = piece.strip().strip("'\"")
                    if piece and os.path.isfile(piece):
                        yield f"--set {value}", piece


def _refuse_an_input(dest: str, option: str) -> None:
    """``dest`` must not be a file the running command reads (:func:`_named_inputs`): until
    2026-12-06 ``azsim report R.sqlite --markdown R.sqlite`` and ``azsim run --audio X.wav
    --json X.wav`` replaced their input and exited 0, and later that day (a CLI audit) so did
    ``--set model.weights=W.npz --json W.npz`` and a weights file a model TOML names."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or not os.path.exists(dest):
        return
    for given, path in _named_inputs(ctx):
        if os.path.samefile(path, dest):
            raise AzsimError(f"{option} {dest}: is also the input {given}; write to another "
                             "file, an input must not be overwritten")
