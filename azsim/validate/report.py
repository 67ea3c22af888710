"""Results of a validation run: per layer, summary, JSON-ready dict and a text table."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from azsim.config.loader import to_dict

from .spec import ValidationLayer, ValidationSuite

__all__ = ["LayerResult", "ValidationReport", "summarize", "render_text"]



def _pct(simulated: float, published: float) -> float:
    return 100.0 * (simulated - published) / published


@dataclasses.dataclass(frozen=True, kw_only=True)
class LayerResult:
    """One simulated layer next to its published times."""

    name: str
    rows: int
    cols: int
    weight_density: float
    activation_density: float
    nonzero_weights: int
    nonzero_activations: int
    macs: int
    padding_entries: int
    max_pe_entries: int
    # the bytes of those entries, which must fit in a PE's weight SRAM (eie.run_suite checks)
    weight_sram_bytes_per_pe: int
    cycles: int
    simulated_us: float
    load_balance_efficiency: float
    bound: str
    energy_uj: float
    clock_energy_uj: float
    power_w: float
    # the energy by part: weight, pointer and activation SRAM, MAC, decoder, static, clock
    energy_by_part_uj: dict = dataclasses.field(default_factory=dict)
    input_batches: int
    output_batches: int
    published_us: float
    published_theoretical_us: float | None
    error_pct: float
    theoretical_error_pct: float | None
    # The same cycle model on a matrix holding the paper's own count of work (see eie.py).
    published_work_scale: float | None
    published_work_capped: bool = False   # the scale stopped at 1 / weight density
    # the search ran out of steps before its tolerance: the closest step's scale and time
    published_work_unconverged: bool = False
    simulated_us_published_work: float | None
    error_pct_published_work: float | None

    @classmethod
    def build(cls, layer: ValidationLayer, *, cycles: int, clock_mhz: float,
              cycles_published_work: int | None = None, **counts: Any) -> "LayerResult":
        simulated_us = cycles / clock_mhz
        theoretical = layer.published_theoretical_us or None
        work_us = None if cycles_published_work is None else cycles_published_work / clock_mhz
        return cls(name=layer.name, rows=layer.output_dim, cols=layer.input_dim,
                   weight_density=layer.weight_density,
                   activation_density=layer.activation_density, cycles=cycles,
                   simulated_us=simulated_us, published_us=layer.published_us,
                   published_theoretical_us=theoretical,
                   error_pct=_pct(simulated_us, layer.published_us),
                   theoretical_error_pct=(None if theoretical is None
                                          else _pct(theoretical, layer.published_us)),
                   simulated_us_published_work=work_us,
                   error_pct_published_work=(None if work_us is None
                                             else _pct(work_us, layer.published_us)),
                   **counts)


def _summary(values: list[float | None]) -> tuple[float | None, float | None]:
    if not values or any(v is None for v in values):
        return None, None
    a = [abs(v) for v in values]
    return sum(a) / len(a), max(a)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ValidationReport:
    """A suite's layers and their error summary."""

    suite: ValidationSuite
    seed: int
    layers: tuple[LayerResult, ...]
    mean_abs_error_pct: float
    max_abs_error_pct: float
    worst_layer: str
    theoretical_mean_abs_error_pct: float | None
    theoretical_max_abs_error_pct: float | None
    published_work_mean_abs_error_pct: float | None
    published_work_max_abs_error_pct: float | None
    simulated_power_w: float
    clock_power_w: float
    energy_table: str
    static_power_w: float = 0.0     # the hardware's static power, drawn on every cycle
    power_by_part_w: dict = dataclasses.field(default_factory=dict)

    def exceeding(self, max_error_pct: float) -> list[LayerResult]:
        """The layers whose |error| is above ``max_error_pct``, beyond floating-point noise
        (an error of exactly 24.625 % computed as 24.625000000000004 failed --max-error 24.625)."""
        return [r for r in self.layers
                if abs(r.error_pct) > max_error_pct * (1 + 1e-12) + 1e-12]

    def to_dict(self) -> dict[str, Any]:
        s = self.suite
        return {
            "suite": s.name, "source": s.source, "description": s.description,
            "seed": self.seed, "hardware": to_dict(s.hardware),
            "weight_bits": s.weight_bits, "relative_index_bits": s.relative_index_bits,
            "layers": [dataclasses.asdict(r) for r in self.layers],
            "mean_abs_error_pct": self.mean_abs_error_pct,
            "max_abs_error_pct": self.max_abs_error_pct, "worst_layer": self.worst_layer,
            "published_theoretical_mean_abs_error_pct": self.theoretical_mean_abs_error_pct,
            "published_theoretical_max_abs_error_pct": self.theoretical_max_abs_error_pct,
            "published_work_mean_abs_error_pct": self.published_work_mean_abs_error_pct,
            "published_work_max_abs_error_pct": self.published_work_max_abs_error_pct,
            "simulated_power_w": self.simulated_power_w,
            "simulated_clock_power_w": self.clock_power_w,
            "simulated_static_power_w": self.static_power_w,
            "simulated_power_by_part_w": self.power_by_part_w,
            "activation_registers_per_pe": s.activation_registers_per_pe,
            "clock_network_mw_per_pe": s.clock_network_mw_per_pe,
            # the figure charged: the one above at the simulated clock and supply
            "simulated_clock_network_mw_per_pe": s.clock_network_mw_per_pe_simulated,
            "published_power_w": s.published_power_w or None,
            "energy_table": self.energy_table,
        }


def summarize(suite: ValidationSuite, layers: list[LayerResult], seed: int, energy_table: str
              ) -> ValidationReport:
    errors = [abs(r.error_pct) for r in layers]
    worst = max(layers, key=lambda r: abs(r.error_pct))
    theory = _summary([r.theoretical_error_pct for r in layers])
    work = _summary([r.error_pct_published_work for r in layers])
    total_s = sum(r.simulated_us for r in layers) * 1e-6
    power = sum(r.energy_uj for r in layers) * 1e-6 / total_s if total_s else 0.0
    clock = sum(r.clock_energy_uj for r in layers) * 1e-6 / total_s if total_s else 0.0
    parts = {key: sum(r.energy_by_part_uj.get(key, 0.0) for r in layers) * 1e-6 / total_s
             if total_s else 0.0 for key in (layers[0].energy_by_part_uj if layers else {})}
    # every simulated cycle is busy: the static power is in the total at its full value
    from ..config import energy_table_of
    from ..cost.energy import supply_scales
    static = suite.hardware.static_mw * 1e-3 * \
        supply_scales(energy_table_of(suite.hardware), suite.hardware)[1]
    return ValidationReport(
        suite=suite, seed=seed, layers=tuple(layers),
        mean_abs_error_pct=sum(errors) / len(errors), max_abs_error_pct=max(errors),
        worst_layer=worst.name, theoretical_mean_abs_error_pct=theory[0],
        theoretical_max_abs_error_pct=theory[1], published_work_mean_abs_error_pct=work[0],
        published_work_max_abs_error_pct=work[1], simulated_power_w=power,
        clock_power_w=clock, energy_table=energy_table, static_power_w=static,
        power_by_part_w=parts)


def render_text(report: ValidationReport) -> str:
    """The terminal table: one line per layer, then the error summary and power."""
    s, hw = report.suite, report.suite.hardware
    out = [f"{s.name}: {s.source}",
           f"simulated on {hw.name}: {hw.pe_count} PEs x {hw.lanes_per_pe} lane(s), "
           f"{hw.clock_mhz:g} MHz, queue depth {hw.queue_depth}, {s.weight_bits}-bit weights "
           f"with {s.relative_index_bits}-bit relative index, >= {hw.min_cycles_per_column} "
           f"cycle(s) per column; "
           + (f"{s.activation_registers_per_pe} activation registers per PE (vectors longer "
              f"than {s.activation_registers_per_pe * hw.pe_count} run in batches 'in x out')"
              if s.activation_registers_per_pe else "no activation batches")
           + f"; random data, seed {report.seed}",
           f"{'layer':<10}{'rows x cols':>14}{'w dens':>8}{'a dens':>8}{'batch':>6}{'sim us':>9}"
           f"{'theo us':>9}{'actual us':>11}{'error %':>9}{'lb eff':>8}"
           f"{'work x':>8}{'sim@work':>10}{'error %':>9}"]
    for r in report.layers:
        theo = "-" if r.published_theoretical_us is None else f"{r.published_theoretical_us:.1f}"
        if r.simulated_us_published_work is None:
            work = f"{'-':>8}{'-':>10}{'-':>9}"
        else:
            work = (f"{r.published_work_scale:>8.3f}{r.simulated_us_published_work:>10.2f}"
                    f"{r.error_pct_published_work:>+9.1f}")
        out.append(f"{r.name:<10}{f'{r.rows} x {r.cols}':>14}{r.weight_density:>8.3f}"
                   f"{r.activation_density:>8.3f}"
                   f"{f'{r.input_batches}x{r.output_batches}':>6}{r.simulated_us:>9.2f}{theo:>9}"
                   f"{r.published_us:>11.1f}{r.error_pct:>+9.1f}"
                   f"{r.load_balance_efficiency:>8.3f}{work}")
    line = (f"|error| vs actual: mean {report.mean_abs_error_pct:.1f} %, max "
            f"{report.max_abs_error_pct:.1f} % ({report.worst_layer})")
    if report.theoretical_mean_abs_error_pct is not None:
        line += (f"; the published theoretical times: mean "
                 f"{report.theoretical_mean_abs_error_pct:.1f} %, max "
                 f"{report.theoretical_max_abs_error_pct:.1f} %")
    out.append(line)
    if report.published_work_mean_abs_error_pct is not None:
        out.append(f"with the paper's own work count (sim@work: the active columns' density "
                   f"scaled by 'work x' so that their entries equal theoretical time x "
                   f"{hw.pe_count} PEs x clock): mean "
                   f"{report.published_work_mean_abs_error_pct:.1f} %, max "
                   f"{report.published_work_max_abs_error_pct:.1f} %")
    given = sum(r.published_theoretical_us is not None for r in report.layers)
    if 0 < given < len(report.layers):   # the summaries need every layer's (they were dropped
        out.append(f"(no summary of the theoretical times: {given} of "   # without a word)
                   f"{len(report.layers)} layers give published_theoretical_us)")
    capped = [r.name for r in report.layers if r.published_work_capped]
    if capped:
        out.append(f"(sim@work of {', '.join(capped)}: the theoretical time needs more work "
                   "than a dense matrix holds; 'work x' stops at 1 / weight density)")
    unconverged = [r.name for r in report.layers if r.published_work_unconverged]
    if unconverged:
        from .eie import _WORK_STEPS, _WORK_TOL
        out.append(f"(sim@work of {', '.join(unconverged)}: the search for 'work x' took "
                   f"{_WORK_STEPS} steps without getting within {100 * _WORK_TOL:g} % of the "
                   "theoretical time's entries; the closest step is shown)")
    published = f", published {s.published_power_w:g} W" if s.published_power_w else ""
    note = f"counts x the {report.energy_table} table"
    if report.static_power_w:   # hardware files of one's own may have leakage (eie-64pe: 0)
        note += f", plus static power {report.static_power_w:.3f} W"
    if s.clock_network_mw_per_pe:
        # the figure charged, at the simulated clock and supply (until 2026-12-07 the suite's,
        # which --set hw.clock_mhz left printed beside the scaled watts)
        mw = s.clock_network_mw_per_pe_simulated
        given = ("" if math.isclose(mw, s.clock_network_mw_per_pe, rel_tol=1e-9) else
                 f", the suite's {s.clock_network_mw_per_pe:g} mW at its hardware's clock and "
                 "supply scaled to these")
        note += (f", plus the clock network at {mw:g} mW per PE on every cycle{given} "
                 f"({report.clock_power_w:.3f} W); registers and control logic not modeled")
    else:
        note += "; no clock tree, registers or control logic"
    out.append(f"power: simulated {report.simulated_power_w:.3f} W{published} ({note})")
    if report.power_by_part_w:
        names = {"weight_sram": "weight SRAM", "pointer_sram": "pointer SRAM",
                 "activation_sram": "activation SRAM", "mac": f"MACs ({s.mac_bits or 8}-bit)",
                 "decoder": "decoder", "static": "static", "clock": "clock"}
        out.append("  by part: " + ", ".join(
            f"{names.get(k, k)} {w:.3f} W" for k, w in report.power_by_part_w.items() if w))
    return "\n".join(out)
