"""Energy per action, derived from one named energy table (STYLE.md: one source per value).

The simulator counts actions; this module only says what each action costs, always as a
combination of the table's rows, so every picojoule traces back to a cited figure.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

# SRAM capacity points of the Horowitz table (64-bit access energy by array size).
_SRAM_POINTS = (("sram_8kb_read", 8 * 1024), ("sram_32kb_read", 32 * 1024),
                ("sram_1mb_read", 1024 * 1024))
_BYTES_PER_ACCESS = 8  # the table's memory energies are per 64-bit access


@dataclass(frozen=True)
class ActionEnergies:
    """Energy of each counted action in pJ, and the table that produced it."""
    table: str
    mac_pj: float                # int8 multiply + int32 accumulate
    sram_pj_per_byte: float      # at the processor's SRAM capacity
    dram_pj_per_byte: float
    lut_lookup_pj: float         # one 64-bit read of a <= 8 KB table (both neighbours)
    decode_symbol_pj: float      # one stream entry through the weight decoder
    leakage_mw: float


def _get(table, name: str) -> float:
    if name not in table.actions:
        raise ConfigError(f"energy table {table.name!r} lacks action {name!r} "
                          f"(has: {', '.join(sorted(table.actions))})")
    return float(table.actions[name].energy_pj)


def sram_access_pj(table, capacity_bytes: int) -> float:
    """64-bit SRAM access energy at ``capacity_bytes``, log-log interpolated between the table's
    8 KB, 32 KB and 1 MB points (SRAM energy grows with array size through longer word- and
    bit-lines; Horowitz's three points are close to a power law). Beyond the last point the
    last segment's slope is extended; below the first the smallest point is used.
    """
    sizes = np.log([size for _, size in _SRAM_POINTS])
    energies = np.log([_get(table, name) for name, _ in _SRAM_POINTS])
    x = np.log(max(capacity_bytes, _SRAM_POINTS[0][1]))
    if x <= sizes[-1]:
        return float(np.exp(np.interp(x, sizes, energies)))
    slope = (energies[-1] - energies[-2]) / (sizes[-1] - sizes[-2])
    return float(np.exp(energies[-1] + slope * (x - sizes[-1])))


def action_energies(table, hw) -> ActionEnergies:
    return ActionEnergies(
        table=table.name,
        mac_pj=_get(table, "int8_mult") + _get(table, "int32_add"),
        sram_pj_per_byte=sram_access_pj(table, hw.sram_bytes) / _BYTES_PER_ACCESS,
        dram_pj_per_byte=_get(table, "dram_read") / _BYTES_PER_ACCESS,
        lut_lookup_pj=_get(table, "sram_8kb_read"),
        # Decoding one entry = advancing the position by its relative index or pointer (a
        # 16-bit add) and placing its value (an 8-bit add for the sign/offset). Shift-register
        # extraction of the bit fields is not in the table and is not charged.
        decode_symbol_pj=_get(table, "int16_add") + _get(table, "int8_add"),
        leakage_mw=hw.leakage_mw,
    )
