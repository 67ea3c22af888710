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


def check_not_empty(option: str, value, wanted: str) -> None:
    """An empty path would become the current folder ('.') further down: say what it is."""
    if value is not None and str(value) == "":
        raise AzsimError(f"{option} {value!r}: the path is empty; give {wanted}")


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
