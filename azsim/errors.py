"""Errors a user can cause.

Every exception here carries a message that names the input, the bad value and what is
allowed; the CLI prints ``str(exc)`` on one line and exits with status 2 (issue #2).

A message names an input as its caller gave it: ``--utterances 3`` under the CLI (and in a
sweep's points, which ``azsim report`` shows), ``utterances=3`` from the Python API
(:func:`named`, :func:`named_item`).
"""
import contextvars
from contextlib import contextmanager


class AzsimError(Exception):
    """Base class of every error caused by user input."""


class ConfigError(AzsimError):
    """A TOML file, a preset name or a ``--set`` override is invalid."""


class WeightsError(AzsimError):
    """A weights ``.npz`` file is missing arrays, has wrong shapes/dtypes or non-finite values."""


class AudioError(AzsimError):
    """An audio file cannot be read as speech input (not WAV, stereo, empty, truncated...)."""


class CompressedStreamError(AzsimError):
    """An encoded weight stream is truncated, corrupted or of the wrong format."""


class AzsimWarning(UserWarning):
    """A setting that runs but probably does not do what the user meant; the CLI prints it on
    one line as ``azsim: warning: ...`` and carries on."""


def quoted(value, limit: int = 60) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters ("..." ending a cut one): a
    message quoting text from a file stays one short line however long the text is."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit - 3] + "..."


# The CLI option that gives each API parameter a message may name (``overrides`` items are
# ``--set`` options).
_CLI_OPTIONS = {"audio": "--audio", "testset": "--test", "testsets": "--test",
                "utterances": "--utterances", "overrides": "--set", "weights": "--weights",
                "model": "--model"}
_NO_VALUE = object()
_cli_names = contextvars.ContextVar("azsim_cli_names", default=False)


@contextmanager
def cli_names():
    """Inside it, messages name the CLI's options (``--test NAME``) instead of the Python
    API's parameters (``testset='NAME'``): the CLI's commands and a sweep's points run in it."""
    token = _cli_names.set(True)
    try:
        yield
    finally:
        _cli_names.reset(token)


def naming_cli_options() -> bool:
    """Whether messages name CLI options (inside :func:`cli_names`)."""
    return _cli_names.get()


def as_called(cli: str, api: str) -> str:
    """``cli`` under the CLI, ``api`` from the Python API: a phrase of a message that names
    options in one and settings in the other."""
    return cli if _cli_names.get() else api


def named(param: str, value=_NO_VALUE) -> str:
    """How a message names the input ``param`` (given as ``value``, if given): ``--test
    NAME`` under the CLI, ``testset='NAME'`` from the API."""
    if _cli_names.get():
        option = _CLI_OPTIONS[param]
        return option if value is _NO_VALUE else f"{option} {value}"
    return param if value is _NO_VALUE else f"{param}={value!r}"


def named_item(param: str, value) -> str:
    """How a message names one item of the list ``param``: ``--set TEXT`` (``overrides``),
    ``--test NAME`` (``testsets``) under the CLI, ``overrides item 'TEXT'`` from the API."""
    if _cli_names.get():
        return f"{_CLI_OPTIONS[param]} {value}"
    return f"{param} item {value!r}"
