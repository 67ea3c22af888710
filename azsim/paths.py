"""Asking the OS about a path the user gave, without a traceback.

pathlib's ``is_file()``, ``is_dir()`` and ``exists()`` raise OSError when the OS refuses the
name (longer than the file system's limit, a folder on the way that may not be searched), and
``Path.resolve()`` raises RuntimeError on a symlink loop (Python 3.11). A user's path goes
through here instead: what is there, or a one-line error naming the input and the OS's reason.
Shipped files (a preset, a shipped weights name) are looked up with ``os.path.isfile``, which
answers False to any refusal: a name the OS refuses is no shipped name.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import AzsimError

__all__ = ["os_reason", "path_kind", "resolved_path"]


def os_reason(exc: OSError | ValueError) -> str:
    """Why opening or asking about a path failed, for a message: the OS's words, or for the
    ValueError Python raises before asking the OS, the NUL character a path cannot hold (a
    TOML string can carry one: "\\u0000")."""
    if isinstance(exc, ValueError):
        return "a path cannot hold a NUL character"
    return getattr(exc, "strerror", None) or str(exc)


def _refused(what: str, error: type[AzsimError], exc: Exception, hint: str = ""
             ) -> AzsimError:
    return error(f"{what}: cannot read ({os_reason(exc)})" + (f"; {hint}" if hint else ""))


def path_kind(path, what: str, error: type[AzsimError] = AzsimError, hint: str = ""
              ) -> str | None:
    """What the user's ``path`` is: ``"file"``, ``"folder"``, ``"other"`` (a device, a FIFO)
    or None when nothing is there (following symlinks, as ``is_file()`` does). When the OS
    refuses to say (a name too long, a symlink loop, no permission on a folder on the way)
    raise ``error("WHAT: cannot read (REASON); HINT")``: ``what`` names the input and its
    value, ``hint`` what to give instead."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:
        raise _refused(what, error, exc, hint) from None
    return "folder" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def resolved_path(path, what: str, error: type[AzsimError] = AzsimError) -> Path:
    """``Path(path).resolve()``, or ``error`` as :func:`path_kind` raises it (Python 3.11
    raises RuntimeError on a symlink loop there)."""
    try:
        return Path(path).resolve()
    except RuntimeError:
        raise _refused(what, error, OSError(errno.ELOOP, os.strerror(errno.ELOOP))) from None
    except (OSError, ValueError) as exc:
        raise _refused(what, error, exc) from None
