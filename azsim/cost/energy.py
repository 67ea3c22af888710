"""Energy per action, derived from one named energy table (STYLE.md: one source per value).

The simulator counts actions; this module only says what each action costs, always as a
combination of the table's rows, so every picojoule traces back to a cited figure. The actions
(the keys of :meth:`ActionEnergies.per_action_pj`):

==================  ==============================================================================
action              energy (table rows)
==================  ==============================================================================
mac                 an issued MAC: ``int8_mult + int32_add``; with a precision-scalable array and
                    b-bit weights the multiply is a b x 8-bit one, ``int8_mult * b / 8`` (an
                    array multiplier's energy grows with the product of its operand widths: the
                    table's 32-bit multiply costs 15.5x its 8-bit one, (32/8)^2 = 16)
gated_mac           a MAC whose zero operand was detected and whose multiplier was operand-
                    isolated: the zero test only, taken as one ``int8_add`` (the table has no
                    comparator; an 8-bit zero test is no more than an 8-bit add)
skipped_mac         a MAC never issued: 0 pJ (its cost lives in the decoder and index actions;
                    the zero tests that find it are not charged: where SRAM holds decoded
                    weights and the lanes skip zero weights, the test of each weight read
                    would be an int8_add, ~0.4 % of tiny's energy; nor is the zero test of an
                    effectual MAC under gating; an energy audit, 2026-12-07)
sram_read_byte      one byte of an access to a bank of ``sram_bytes / sram_banks`` bytes:
sram_write_byte     :func:`sram_access_pj` / 8 (the table gives reads; writes are taken equal)
dram_read_byte      ``dram_read`` / 8 (a 64-bit access)
decode_symbol       one stream entry through the weight decoder: advancing the position (a
                    16-bit add) and placing the value (an 8-bit add), ``int16_add + int8_add``
lut_lookup          a sigmoid/tanh lookup: one 64-bit read of an 8 KB table (both neighbours)
elementwise_op      a requantization or cell-state product: ``int32_mult + int32_add`` (the
                    16-bit cell products are charged as 32-bit ones: the table has no 16-bit
                    multiply, so this is an upper bound)
elementwise_add     an add with no multiply: the joint network's sum of its two int32
                    projections on one scale (``kernels/joint.py``), ``int32_add`` (until
                    2026-12-07 charged as an ``elementwise_op``, 32 times too much; an audit)
leak_cycle          static power for one busy clock cycle: ``P * 1e-3 W / clock_hz``, with ``P =
                    leakage_mw + leakage_mw_per_mac * macs_per_cycle + sram_leakage_mw_per_mib
                    * sram_bytes / 2^20`` (mW)
leak_idle_cycle     one clock period between frames, the processor waiting for audio:
                    ``leak_cycle * idle_leakage_share``
==================  ==============================================================================

With ``hw.supply_v`` set, every on-chip energy above is scaled by ``(supply_v / voltage_v)^2``
(the table's ``voltage_v``) and the static power by ``supply_v / voltage_v``
(:func:`supply_scales`); ``dram_read_byte`` is off chip and stays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config.schema import COST_MODEL_ACTIONS, SRAM_ENERGY_POINTS

# SRAM capacity points of the Horowitz table (64-bit access energy by array size).
_SRAM_POINTS = SRAM_ENERGY_POINTS
_BYTES_PER_ACCESS = 8  # the table's memory energies are per 64-bit access
PJ_PER_MW_S = 1e9      # 1 mW for 1 s = 1e-3 J = 1e9 pJ


@dataclass(frozen=True)
class ActionEnergies:
    """Energy of each counted action in pJ, and the table that produced it."""
    table: str
    mac_pj: float                # native int8 multiply + int32 accumulate
    sram_pj_per_byte: float      # at the processor's SRAM bank size
    dram_pj_per_byte: float
    lut_lookup_pj: float         # one 64-bit read of a <= 8 KB table (both neighbours)
    decode_symbol_pj: float      # one stream entry through the weight decoder
    leakage_mw: float
    mult8_pj: float = 0.0        # the multiply part of mac_pj
    gated_mac_pj: float = 0.0
    elementwise_pj: float = 0.0
    elementwise_add_pj: float = 0.0
    leak_pj_per_cycle: float = 0.0
    idle_leak_pj_per_cycle: float = 0.0   # between frames: leak_pj_per_cycle x idle share
    sram_bank_bytes: int = 0
    precision_scalable: bool = False

    def mac_pj_at(self, weight_bits: int) -> float:
        """Energy of one issued MAC with ``weight_bits``-bit weights (see module docstring)."""
        if not self.precision_scalable or weight_bits >= 8:
            return self.mac_pj
        return self.mac_pj - self.mult8_pj + self.mult8_pj * weight_bits / 8.0

    def per_action_pj(self) -> dict[str, float]:
        """The energy per action of every counted action (native 8-bit MAC for ``mac``)."""
        return {"mac": self.mac_pj, "gated_mac": self.gated_mac_pj, "skipped_mac": 0.0,
                "sram_read_byte": self.sram_pj_per_byte,
                "sram_write_byte": self.sram_pj_per_byte,
                "dram_read_byte": self.dram_pj_per_byte,
                "decode_symbol": self.decode_symbol_pj, "lut_lookup": self.lut_lookup_pj,
                "elementwise_op": self.elementwise_pj,
                "elementwise_add": self.elementwise_add_pj, "leak_cycle": self.leak_pj_per_cycle,
                "leak_idle_cycle": self.idle_leak_pj_per_cycle}


def _get(table, name: str) -> float:
    # the loader refuses a table without one of them (EnergyTable.validate)
    assert name in COST_MODEL_ACTIONS, f"{name} is missing from COST_MODEL_ACTIONS"
    return float(table.actions[name].energy_pj)


def wide_mac_pj(table, hw, bits: int) -> float:
    """One multiply-accumulate of two ``bits``-bit operands into a ``bits``-bit accumulator
    (EIE: 16-bit fixed point): the table's 8-bit multiply scaled by (bits / 8)^2 (an array
    multiplier's energy grows with the product of its operand widths; the table's 32-bit one
    is 15.5x its 8-bit one) and the table's add of that width, at ``hw``'s supply."""
    add = "int8_add" if bits <= 8 else "int16_add" if bits <= 16 else "int32_add"
    dyn = supply_scales(table, hw)[0]
    return (_get(table, "int8_mult") * (bits / 8.0) ** 2 + _get(table, add)) * dyn


def sram_access_pj(table, capacity_bytes: int) -> float:
    """64-bit SRAM access energy at ``capacity_bytes``, log-log interpolated between the table's
    8 KB, 32 KB and 1 MB points (SRAM energy grows with array size through longer word- and
    bit-lines; Horowitz's three points are close to a power law). Beyond the last point the
    last segment's slope is extended; below the first the smallest point is used. A table
    whose points are all 0 pJ (a what-if with free SRAM) gives 0; one with some at 0 has no
    power law through them (the loader refuses it: EnergyTable.validate).
    """
    points = [_get(table, name) for name, _ in _SRAM_POINTS]
    if not any(points):
        return 0.0
    sizes = np.log([size for _, size in _SRAM_POINTS])
    energies = np.log(points)
    x = np.log(max(capacity_bytes, _SRAM_POINTS[0][1]))
    if x <= sizes[-1]:
        return float(np.exp(np.interp(x, sizes, energies)))
    slope = (energies[-1] - energies[-2]) / (sizes[-1] - sizes[-2])
    return float(np.exp(energies[-1] + slope * (x - sizes[-1])))


def supply_scales(table, hw) -> tuple[float, float]:
    """(dynamic, static) factors of ``hw.supply_v`` against the table's ``voltage_v``:
    (V / V0)^2 for switching energy (C V^2) and V / V0 for static power (V x a leakage
    current held fixed: first order; subthreshold leakage also falls with V through DIBL,
    so this understates what a lower supply saves). (1, 1) when ``supply_v`` is 0, the
    table's own (``azsim.config.energy_table_of`` refuses a supply with a table that gives
    no voltage)."""
    if not hw.supply_v:
        return 1.0, 1.0
    ratio = hw.supply_v / table.voltage_v
    return ratio * ratio, ratio


def action_energies(table, hw) -> ActionEnergies:
    bank_bytes = max(hw.sram_bytes // hw.sram_banks, 1)
    dyn, static = supply_scales(table, hw)

    def on_chip(name: str) -> float:
        return _get(table, name) * dyn

    mult8 = on_chip("int8_mult")
    static_mw = hw.static_mw * static
    return ActionEnergies(
        table=table.name,
        mac_pj=mult8 + on_chip("int32_add"),
        sram_pj_per_byte=sram_access_pj(table, bank_bytes) * dyn / _BYTES_PER_ACCESS,
        dram_pj_per_byte=_get(table, "dram_read") / _BYTES_PER_ACCESS,   # off chip
        lut_lookup_pj=on_chip("sram_8kb_read"),
        decode_symbol_pj=on_chip("int16_add") + on_chip("int8_add"),
        leakage_mw=static_mw,
        mult8_pj=mult8,
        gated_mac_pj=on_chip("int8_add"),
        elementwise_pj=on_chip("int32_mult") + on_chip("int32_add"),
        elementwise_add_pj=on_chip("int32_add"),
        leak_pj_per_cycle=static_mw * PJ_PER_MW_S / (hw.clock_mhz * 1e6),
        idle_leak_pj_per_cycle=static_mw * hw.idle_leakage_share * PJ_PER_MW_S
        / (hw.clock_mhz * 1e6),
        sram_bank_bytes=bank_bytes,
        precision_scalable=hw.precision_scalable,
    )
