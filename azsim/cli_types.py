"""Click parameter types shared by the CLI modules."""
from __future__ import annotations

import math

import click


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses NaN and infinity: click's range check compares,
    and every comparison with NaN is false, so ``--epochs nan`` would pass it and
    ``--max-error nan`` would make every layer pass silently."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number
