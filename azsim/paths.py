"""Asking the OS about a path the user gave, without a traceback.

pathlib's ``is_file()``, ``is_dir()`` and ``exists()`` raise OSError when the OS refuses the
name (longer than the file system's limit, a folder on the way that may not be searched), and
``Path.resolve()`` raises RuntimeError on a symlink loop (Python 3.11). A user's path goes
through here instead: what is there, or a one-line error naming the input and the OS's reason.
Shipped files (a preset, a shipped weights name) are looked up with ``os.path.isfile``, which
answers False to any refusal: a name the OS refuses is no shipped name. A small text or JSON
file the user gives is read by :func:`read_small_file` (and :func:`read_small_text`,
:func:`load_json_file`): regular files only, at most :data:`SMALL_FILE_MB` MB.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

from .errors import AzsimError

__all__ = ["SMALL_FILE_MB", "load_json_file", "os_reason", "output_file", "path_kind",
           "read_small_file", "read_small_text", "resolved_path"]


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
    or None when nothing is there (following symlinks, as ``is_file()`` does); a ``path``
    that is no str, bytes or os.PathLike (an int would be taken as a file descriptor) is
    ``error("WHAT: a TYPE, not a path; ...")``. When the OS
    refuses to say (a name too long, a symlink loop, no permission on a folder on the way)
    raise ``error("WHAT: cannot read (REASON); HINT")``: ``what`` names the input and its
    value, ``hint`` what to give instead."""
    if not isinstance(path, (str, bytes, os.PathLike)):   # os.stat(1) is stdout's descriptor
        raise error(f"{what}: type {type(path).__name__} is no path; give a str or os.PathLike"
                    + (f" ({hint})" if hint else ""))
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


# The most azsim reads of a small text or JSON file the user gives (a context file, an eval
# record, a corpus.json, a word list, transcripts.tsv, a TOML file): far above any real one,
# and a bound on what /dev/zero or a runaway file can make azsim hold in memory.
SMALL_FILE_MB = 64


def file_sha256(path) -> str:
    """The SHA-256 (hex) of a file's content, read a MiB at a time; OSError as the OS gives
    it (callers say which input it was)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_small_file(path, what: str, error: type[AzsimError] = AzsimError,
                    limit_mb: int = SMALL_FILE_MB) -> bytes:
    """The bytes of the user's regular file ``path``, at most ``limit_mb`` MB: a folder, a
    device or FIFO (which could never end, or block forever), a larger file or one the OS
    refuses is ``error("WHAT: ...")``, one line naming the input (``what``) and why."""
    kind = path_kind(path, what, error)
    if kind == "folder":
        raise error(f"{what}: cannot read (a folder; give a file)")
    if kind == "other":
        raise error(f"{what}: cannot read (a device or FIFO, no regular file; give a file)")
    limit = limit_mb << 20
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except (OSError, ValueError) as exc:   # ValueError: a NUL character
        raise _refused(what, error, exc) from None
    if len(data) > limit:
        raise error(f"{what}: larger than {limit_mb} MB, the most azsim reads of such a file")
    return data


def read_small_text(path, what: str, error: type[AzsimError] = AzsimError,
                    limit_mb: int = SMALL_FILE_MB) -> str:
    """:func:`read_small_file` decoded as UTF-8 (a leading byte-order mark is kept)."""
    data = read_small_file(path, what, error, limit_mb)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{what}: not UTF-8 text (byte {exc.start})") from None


def load_json_file(path, what: str, error: type[AzsimError] = AzsimError,
                   limit_mb: int = SMALL_FILE_MB):
    """The JSON value in the user's file ``path`` (read by :func:`read_small_file`): text that
    is not UTF-8 JSON, nesting deeper than Python's recursion limit or an integer too long
    to convert is ``error("WHAT: not JSON (WHY)")``. The value's shape is the caller's to
    check."""
    data = read_small_file(path, what, error, limit_mb)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:   # first: it is a ValueError
        raise error(f"{what}: not JSON (not UTF-8 text: byte {exc.start})") from None
    except RecursionError:
        raise error(f"{what}: not JSON (arrays or objects nested too deeply)") from None
    except ValueError as exc:
        reason = " ".join(str(exc).split())
        raise error(f"{what}: not JSON ({reason})") from None


@contextlib.contextmanager
def output_file(dest: str, mode: str = "w", **kwargs):
    """Open ``dest`` to write it whole: a regular (or new) file is written beside it under a
    temporary name and renamed over ``dest`` only once complete, so a write that fails (a full
    disk) or is interrupted (Ctrl-C) leaves ``dest`` as it was, never truncated. A device or
    FIFO (/dev/stdout, /dev/full) is written in place."""
    target = os.path.realpath(dest)
    if os.path.exists(target) and not os.path.isfile(target):
        with open(dest, mode, **kwargs) as fh:
            yield fh
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                               dir=os.path.dirname(target))
    try:
        if os.path.exists(target):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        else:   # as open() would create it
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
