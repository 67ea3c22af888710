"""Reading ``.npz`` inputs (weights, test sets, corpus splits) with one-line errors, and the
utterance offsets that the test-set and corpus layouts share."""
from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterable

import numpy as np

from .errors import AzsimError

# How a zip archive starts (a local file header, or the end record of an empty archive).
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def read_npz(path, where: str, error: type[AzsimError] = AzsimError, what: str = "",
             keys: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive (with ``keys``, only those of them it holds). Anything
    else -- a ``.npy`` array under any name, text, an empty file, a zip of other files,
    pickled objects, a damaged member -- raises ``error`` starting with ``where``; ``what``
    (what the file should be) ends the message."""
    hint = f"; {what}" if what else ""
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise error(f"{where}: cannot read ({exc.strerror})") from None
    if magic == b"\x93NUMPY":
        raise error(f"{where}: a single .npy array, not an .npz archive of arrays{hint}")
    if magic[:4] not in _ZIP_MAGICS:
        start = f"starts with {magic!r}" if magic else "is empty"
        raise error(f"{where}: not a readable .npz (not a zip archive: it {start}){hint}")
    wanted = None if keys is None else set(keys)
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for k in z.files:
                if wanted is not None and k not in wanted:
                    continue
                try:
                    a = z[k]
                except ValueError as exc:
                    if "pickle" not in str(exc):
                        raise
                    raise error(f"{where}: array {k} holds Python objects, which azsim does "
                                f"not load{hint}") from None
                if not isinstance(a, np.ndarray):
                    raise error(f"{where}: member {k} of the archive is not a .npy array{hint}")
                arrays[k] = a
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise error(f"{where}: not a readable .npz ({exc}){hint}") from None
    return arrays


def check_offsets(where: str, offsets: np.ndarray, n_utts: int, n_frames: int,
                  frames_name: str, min_frames: int = 0) -> None:
    """Utterance k is ``frames[offsets[k]:offsets[k + 1]]``: ``offsets`` are ``n_utts + 1``
    integers from 0 to ``n_frames``, rising by at least ``min_frames`` (and never falling)."""
    if offsets.dtype.kind not in "iu":
        raise AzsimError(f"{where}: offsets is {offsets.dtype}; expected integers (utterance "
                         f"k is {frames_name}[offsets[k]:offsets[k + 1]])")
    if offsets.shape != (n_utts + 1,):
        raise AzsimError(f"{where}: offsets has shape {offsets.shape}; expected "
                         f"({n_utts + 1},), one more than the {n_utts} texts")
    if offsets[0] != 0:
        raise AzsimError(f"{where}: offsets[0] is {offsets[0]}; offsets must start at 0")
    frames = np.diff(offsets.astype(np.int64))
    if np.any(frames < 0):
        k = int(np.argmax(frames < 0))
        raise AzsimError(f"{where}: offsets are not ascending; offsets[{k + 1}] = "
                         f"{offsets[k + 1]} < offsets[{k}] = {offsets[k]}")
    if np.any(frames < min_frames):
        k = int(np.argmax(frames < min_frames))
        what = "is empty" if frames[k] == 0 else f"has {frames[k]} feature frame(s)"
        raise AzsimError(f"{where}: utterance {k} {what} (offsets[{k}] = {offsets[k]}, "
                         f"offsets[{k + 1}] = {offsets[k + 1]}); the model needs at least "
                         f"{min_frames} frames per utterance")
    if offsets[-1] != n_frames:
        raise AzsimError(f"{where}: offsets[{n_utts}] is {offsets[-1]}; it must equal the "
                         f"{n_frames} rows of {frames_name}")
