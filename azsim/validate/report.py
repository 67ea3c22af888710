"""Results of a validation run: per layer, summary, JSON-ready dict and a text table."""
from __future__ import annotations

import dataclasses
from typing import Any

from azsim.config.loader import to_dict

from .spec import ValidationLayer, ValidationSuite

__all__ = ["LayerResult", "ValidationReport", "summarize", "render_text", "POWER_NOTE"]

POWER_NOTE = ("not modeled yet: the published per-PE breakdown (eie_pe_power_area.csv) is an "
              "average power at an activity the paper does not state, not an energy per "
              "action, so counts x that table would only restate 64 x 9.157 mW = 0.586 W")


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
    cycles: int
    simulated_us: float
    load_balance_efficiency: float
    broadcast_stall_cycles: int
    published_us: float
    published_theoretical_us: float | None
    error_pct: float
    theoretical_error_pct: float | None

    @classmethod
    def build(cls, layer: ValidationLayer, *, cycles: int, clock_mhz: float,
              **counts: Any) -> "LayerResult":
        simulated_us = cycles / clock_mhz
        theoretical = layer.published_theoretical_us or None
        return cls(name=layer.name, rows=layer.output_dim, cols=layer.input_dim,
                   weight_density=layer.weight_density,
                   activation_density=layer.activation_density, cycles=cycles,
                   simulated_us=simulated_us, published_us=layer.published_us,
                   published_theoretical_us=theoretical,
                   error_pct=_pct(simulated_us, layer.published_us),
                   theoretical_error_pct=(None if theoretical is None
                                          else _pct(theoretical, layer.published_us)),
                   **counts)


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

    def exceeding(self, max_error_pct: float) -> list[LayerResult]:
        """The layers whose |error| is above ``max_error_pct``."""
        return [r for r in self.layers if abs(r.error_pct) > max_error_pct]

    def to_dict(self) -> dict[str, Any]:
        s = self.suite
        return {
            "suite": s.name, "source": s.source, "description": s.description,
            "seed": self.seed, "architecture": to_dict(s.architecture),
            "layers": [dataclasses.asdict(r) for r in self.layers],
            "mean_abs_error_pct": self.mean_abs_error_pct,
            "max_abs_error_pct": self.max_abs_error_pct, "worst_layer": self.worst_layer,
            "published_theoretical_mean_abs_error_pct": self.theoretical_mean_abs_error_pct,
            "published_theoretical_max_abs_error_pct": self.theoretical_max_abs_error_pct,
            "simulated_power_w": None,
            "published_power_w": s.published_power_w or None,
            "power_note": POWER_NOTE,
        }


def summarize(suite: ValidationSuite, layers: list[LayerResult], seed: int
              ) -> ValidationReport:
    errors = [abs(r.error_pct) for r in layers]
    worst = max(layers, key=lambda r: abs(r.error_pct))
    theory = [abs(r.theoretical_error_pct) for r in layers if r.theoretical_error_pct is not None]
    complete = len(theory) == len(layers)
    return ValidationReport(
        suite=suite, seed=seed, layers=tuple(layers),
        mean_abs_error_pct=sum(errors) / len(errors), max_abs_error_pct=max(errors),
        worst_layer=worst.name,
        theoretical_mean_abs_error_pct=sum(theory) / len(theory) if complete else None,
        theoretical_max_abs_error_pct=max(theory) if complete else None)


def render_text(report: ValidationReport) -> str:
    """The terminal table: one line per layer, then the error summary and power."""
    s, a = report.suite, report.suite.architecture
    out = [f"{s.name}: {s.source}",
           f"simulated on {a.name}: {a.pes} PEs, {a.clock_mhz:g} MHz, queue depth "
           f"{a.queue_depth}, {a.relative_index_bits}-bit relative index, >= "
           f"{a.min_cycles_per_column} cycle(s) per column; seed {report.seed}",
           f"{'layer':<10}{'rows x cols':>14}{'w dens':>8}{'a dens':>8}{'sim us':>9}"
           f"{'theo us':>9}{'actual us':>11}{'error %':>9}{'lb eff':>8}"]
    for r in report.layers:
        theo = "-" if r.published_theoretical_us is None else f"{r.published_theoretical_us:.1f}"
        out.append(f"{r.name:<10}{f'{r.rows} x {r.cols}':>14}{r.weight_density:>8.3f}"
                   f"{r.activation_density:>8.3f}{r.simulated_us:>9.2f}{theo:>9}"
                   f"{r.published_us:>11.1f}{r.error_pct:>+9.1f}"
                   f"{r.load_balance_efficiency:>8.3f}")
    line = (f"|error| vs actual: mean {report.mean_abs_error_pct:.1f} %, max "
            f"{report.max_abs_error_pct:.1f} % ({report.worst_layer})")
    if report.theoretical_mean_abs_error_pct is not None:
        line += (f"; the published theoretical times: mean "
                 f"{report.theoretical_mean_abs_error_pct:.1f} %, max "
                 f"{report.theoretical_max_abs_error_pct:.1f} %")
    out.append(line)
    published = f" (published {s.published_power_w:g} W)" if s.published_power_w else ""
    out.append(f"power{published}: {POWER_NOTE}")
    return "\n".join(out)
