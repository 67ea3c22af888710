"""Errors a user can cause.

Every exception here carries a message that names the input, the bad value and what is
allowed; the CLI prints ``str(exc)`` on one line and exits with status 2 (issue #2).
"""


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
