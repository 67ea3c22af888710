"""Frozen specs of a validation suite: a hardware preset plus published layers.

A suite is one TOML file (shipped: ``azsim/config/presets/validation/eie.toml``; or a user's
own silicon data)::

    name = "my-chip"
    source = "where the published numbers come from"
    description = "free text"      # optional
    hardware = "eie-64pe"          # a hardware preset name, or a path ending in .toml (relative
                                   # to this file); a hardware file gives every field or a base
    published_power_w = 0.59       # optional (default 0: not published)
    weight_bits = 4                # the layers' stored weights (codebook indices for EIE)
    relative_index_bits = 4        # relative row index of the stored entries (EIE: 4)
    activation_registers_per_pe = 64   # default 0 (no limit): longer vectors run in batches
                                       # of this x pe_count (EIE section IV)
    clock_network_mw_per_pe = 1.874    # default 0 (none): clock-tree power per PE at the
                                       # hardware's clock and supply, charged every cycle
    pointer_sram_bank_bytes = 16384    # default 0: the weight SRAM's bank; one bank of the
                                       # column pointers' SRAM, whose access energy they pay
    activation_sram_bytes = 2048       # default 0: the weight SRAM's bank; the activations'
    mac_bits = 16                      # default 0: the hardware's 8-bit MAC; the width the
                                       # arithmetic unit multiplies and accumulates at
    [[layers]]
    name = "fc6"                   # unique; it also seeds the layer's random data
    input_dim = 9216
    output_dim = 4096
    weight_density = 0.09
    activation_density = 0.351
    published_us = 30.3            # measured; error % = (simulated - this) / this x 100
    published_theoretical_us = 28.1    # optional: the paper's model time, work / (PEs x
                                       # clock) as EIE defines it; with it on every layer the
                                       # report adds the sim@work diagnostic

Fields follow the conventions of :mod:`azsim.config.schema` and are checked by the generic
loader (:func:`azsim.config.loader.build`); the array of layers, which that loader does not
handle, is built one table at a time here, and every problem of the file is reported in ONE
ConfigError. The hardware is an ordinary hardware config (:class:`HardwareConfig`): ``--set
hw.<field>=...`` changes it as for ``azsim run``; it must be a PE array (``array = "pe"``)
storing the compressed matrix in SRAM (``decoder_location = "sram_to_pe"``), as the layers are
described by their densities in EIE's relative-index format. The chip-wide rates
(``decoder_symbols_per_cycle``, ``sram_bytes_per_cycle``) bound a layer as for ``azsim run``:
each layer's ``bound`` in ``--json`` says which did. Each PE's share of ``hw.sram_bytes``
must hold its slice of every layer (checked once the data is drawn, :mod:`azsim.validate.eie`);
the stream tile, which no figure reads, is shrunk to fit a small SRAM.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from azsim.config import load_hardware_config, read_table
from azsim.config.loader import (OptionOverride, apply_overrides, build, from_folder,
                                 list_presets, override_key, resolve_preset, shown_override,
                                 split_overrides)
from azsim.config.schema import HardwareConfig
from azsim.errors import ConfigError

__all__ = ["ValidationLayer", "ValidationSuite", "load_suite", "list_suites", "suite_from_dict"]

_SPEC = dataclasses.dataclass(frozen=True, kw_only=True)
_MISSING: Any = dataclasses.MISSING
# Bounds that keep one layer's random matrix to a few seconds and a few hundred MB: its
# weights are drawn in chunks (a float32 each), its nonzeros kept as 64-bit row indices, and
# the published-work diagnostic draws it again up to a dozen times. EIE's largest layer
# (VGG-6) has 1.03e8 weights and 4.1e6 nonzeros; a dense 16384 x 16384 layer, within the
# weight bound, needed 4.3 GB before the nonzero bound (a 2026-12-06 audit).
_MAX_WEIGHTS = 2 ** 28
_MAX_NONZEROS = 2 ** 25
_MAX_DIM = 2 ** 20
_MAX_PE_COLUMNS = 2 ** 24    # PEs x input columns of a batch: the cycle model's tables


def _field(doc: str, default: Any = _MISSING, *, range: tuple | None = None) -> Any:
    """A field whose metadata carries its documentation and range (as azsim.config.schema)."""
    metadata: dict[str, Any] = {"doc": doc}
    if range is not None:
        metadata["range"] = range
    return dataclasses.field(default=default, metadata=metadata)


@_SPEC
class ValidationLayer:
    """One published layer: a sparse matrix-vector product and its measured time."""

    name: str = _field("layer name used in reports")
    input_dim: int = _field("matrix columns (input activations)", range=(1, _MAX_DIM))
    output_dim: int = _field("matrix rows (output activations)", range=(1, _MAX_DIM))
    weight_density: float = _field("fraction of nonzero weights", range=(0.0, 1.0))
    activation_density: float = _field("fraction of nonzero input activations",
                                       range=(0.0, 1.0))
    published_us: float = _field("published measured time of the layer, us",
                                 range=(1e-6, 1e9))
    published_theoretical_us: float = _field("published model time, us (0 = not published)",
                                             0.0, range=(0.0, 1e9))

    def validate(self) -> list[str]:
        """Problems the field ranges cannot express (the loader calls this)."""
        problems = [] if self.name.strip() else [
            f"name = {self.name!r} is blank; give each layer a name for the reports"]
        active = round(self.activation_density * self.input_dim)
        if active == 0:
            # the layer would do no work: 0.00 us, -100 % error and 0 W (an audit)
            problems.append(f"activation_density = {self.activation_density:g} of "
                            f"input_dim = {self.input_dim} is {active} nonzero activations "
                            "(the simulation draws round(density x input_dim)); give at least "
                            f"{1 / self.input_dim:.3g} so that the layer does work")
        weights = self.input_dim * self.output_dim
        if weights * self.weight_density < 1:
            # no nonzero weight to expect: the layer would do no work and read ~0 us against
            # the published time (an audit, 2026-12-07: weight_density = 0 gave -97.6 %)
            problems.append(f"weight_density = {self.weight_density:g} of {self.output_dim} x "
                            f"{self.input_dim} is {weights * self.weight_density:.3g} expected "
                            "nonzero weights (the simulation draws each weight nonzero with "
                            f"this probability); give at least {1 / weights:.3g} so that the "
                            "layer does work")
        if weights > _MAX_WEIGHTS:
            problems.append(f"input_dim x output_dim = {weights} exceeds {_MAX_WEIGHTS} weights "
                            "(the simulated matrix is generated in full)")
        elif weights * self.weight_density > _MAX_NONZEROS:
            problems.append(
                f"input_dim x output_dim x weight_density = {weights * self.weight_density:.4g} "
                f"nonzero weights exceeds {_MAX_NONZEROS} (each is kept as a 64-bit index, "
                "and the published-work diagnostic draws the matrix again); give a smaller "
                "layer or density")
        return problems


@_SPEC
class _SuiteHead:
    """A suite's scalars (its hardware and layers are built separately)."""

    name: str = _field("suite name used in reports")
    source: str = _field("publication the layers' numbers come from")
    description: str = _field("free text for reports", "")
    published_power_w: float = _field("published chip power, W (0 = not published)", 0.0,
                                      range=(0.0, 1e6))
    hardware: str = _field("hardware preset name, or path to a hardware TOML file (relative "
                           "paths from the suite file's folder)")
    weight_bits: int = _field("bits of a stored weight (EIE: 4-bit codebook index)", 4,
                              range=(1, 16))
    relative_index_bits: int = _field("relative row index of a stored entry, bits; a zero run "
                                      "longer than 2^bits - 1 costs padding entries", 4,
                                      range=(1, 16))
    activation_registers_per_pe: int = _field(
        "activations one PE's source (and destination) register file holds; an input or output "
        "vector longer than this x pe_count runs as several batches of at most that length, "
        "one after the other (0 = no limit)", 0, range=(0, _MAX_DIM))
    clock_network_mw_per_pe: float = _field(
        "clock-tree power of one PE at the suite's hardware as given (its clock_mhz and "
        "supply), mW, charged as that energy per PE per cycle, so that --set hw.clock_mhz "
        "scales the power with the clock and hw.supply_v as V^2 (0 = not modeled)", 0.0,
        range=(0.0, 1e6))
    pointer_sram_bank_bytes: int = _field(
        "bytes of one bank of the SRAM holding the column pointers: each pointer byte read "
        "costs an access to a bank of this size (0 = a bank of the weight SRAM, "
        "hw.sram_bytes / hw.sram_banks)", 0, range=(0, 2 ** 40))
    activation_sram_bytes: int = _field(
        "bytes of a PE's activation SRAM: each activation byte read or written costs an access "
        "to it (0 = a bank of the weight SRAM)", 0, range=(0, 2 ** 40))
    mac_bits: int = _field(
        "width of the values the arithmetic unit multiplies and accumulates, bits: a MAC costs "
        "the table's 8-bit multiply x (mac_bits / 8)^2 plus an add of that width (0 = the "
        "hardware's MAC, int8 x int8 into int32)", 0, range=(0, 32))


@_SPEC
class ValidationSuite:
    """A validated suite: its head fields, hardware and layers."""

    name: str
    source: str
    description: str
    published_power_w: float
    hardware: HardwareConfig
    weight_bits: int
    relative_index_bits: int
    layers: tuple[ValidationLayer, ...]
    activation_registers_per_pe: int = 0
    clock_network_mw_per_pe: float = 0.0
    # the clock tree's power on ``hardware`` (after --set): the figure above was measured on
    # the hardware as the suite gives it, and scales with the clock and as V^2 (its energy
    # per cycle is its capacitance x V^2; until 2026-12-06 it stayed the same at any clock)
    clock_network_mw_per_pe_simulated: float = 0.0
    pointer_sram_bank_bytes: int = 0
    activation_sram_bytes: int = 0
    mac_bits: int = 0


def suite_from_dict(data: Mapping[str, Any], source: str, overrides: Iterable[str] = (),
                    base_dir: Path | None = None) -> ValidationSuite:
    """Build a suite from a parsed TOML table, with ``hw.*`` overrides applied to its hardware;
    every problem goes into one ConfigError."""
    problems: list[str] = []
    head_data = {key: value for key, value in data.items() if key != "layers"}
    head = _collect(lambda: build(_SuiteHead, head_data, source), source, problems)
    hardware = None
    clock_mw = 0.0
    if head is not None:
        hardware = _collect(lambda: _hardware(head.hardware, overrides, base_dir), source,
                            problems)
        if hardware is not None and head.clock_network_mw_per_pe:
            clock_mw = _clock_tree_mw(head.clock_network_mw_per_pe, hardware,
                                      _hardware_target(head.hardware, base_dir))
    raw = data.get("layers")
    layers: list[ValidationLayer] = []
    if raw is None:
        problems.append("layers is missing (required array of tables [[layers]])")
    elif not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
        problems.append("layers must be an array of tables ([[layers]])")
    elif not raw:
        problems.append("layers is empty (at least one layer is needed)")
    else:
        where: list[int] = []   # each built layer's index in the file
        for i, table in enumerate(raw):
            layer = _collect(lambda: build(ValidationLayer, table, source,
                                           root=f"layers[{i}]"), source, problems)
            if layer is not None:
                layers.append(layer)
                where.append(i)
        names = [layer.name for layer in layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        for name in dupes:
            at = ", ".join(f"layers[{i}]" for i, n in zip(where, names) if n == name)
            problems.append(f"layers: name {name!r} is given by {at}; each layer needs a name "
                            "of its own (it names the layer in the reports and seeds its data)")
    if hardware is not None and head is not None:
        regs = head.activation_registers_per_pe
        for layer in layers:
            columns = min(layer.input_dim, regs * hardware.pe_count) if regs else layer.input_dim
            if hardware.pe_count * columns > _MAX_PE_COLUMNS:
                # the cycle model keeps int64 tables of every PE and input column of a batch: a
                # 1,048,576-input layer on 64 PEs took 6 GB, or ended in a traceback (an audit)
                problems.append(
                    f"layers: {layer.name!r} has {columns} input columns per batch on "
                    f"{hardware.pe_count} PEs, {hardware.pe_count * columns} PE x column table "
                    f"entries, above {_MAX_PE_COLUMNS} (about 50 bytes each); give fewer "
                    "inputs or PEs, or activation_registers_per_pe to run it in batches")
    if head is not None and not head.name.strip():
        problems.append(f"name = {head.name!r} is blank; give the suite a name for the reports")
    if problems or hardware is None:
        raise ConfigError(" ".join(f"{source}: {'; '.join(problems)}".split("\n")))
    return ValidationSuite(name=head.name, source=head.source, description=head.description,
                           published_power_w=head.published_power_w, hardware=hardware,
                           weight_bits=head.weight_bits,
                           relative_index_bits=head.relative_index_bits, layers=tuple(layers),
                           activation_registers_per_pe=head.activation_registers_per_pe,
                           clock_network_mw_per_pe=head.clock_network_mw_per_pe,
                           clock_network_mw_per_pe_simulated=clock_mw,
                           pointer_sram_bank_bytes=head.pointer_sram_bank_bytes,
                           activation_sram_bytes=head.activation_sram_bytes,
                           mac_bits=head.mac_bits)


def _hardware_target(name_or_path: str, base_dir: Path | None) -> str:
    """A preset name as given; a path relative to the suite file's folder (as every path
    written in a file, :func:`azsim.config.loader.from_folder`)."""
    if base_dir is None:
        return name_or_path
    return from_folder(name_or_path, base_dir, "hardware", f"hardware = {name_or_path!r}")


def _clock_tree_mw(mw: float, hw: HardwareConfig, given: str) -> float:
    """``mw``, measured on the hardware ``given`` (loaded unchecked: --set may be what makes
    it a validation processor, hw.decoder_location=sram_to_pe), on ``hw``: x the clock
    ratio and the switching-energy ratio (azsim.cost.energy.supply_scales)."""
    from azsim.config import energy_table_of
    from azsim.cost.energy import supply_scales
    measured = load_hardware_config(given, _tile_that_fits(given, []))

    def switching(h):
        return supply_scales(energy_table_of(h), h)[0]
    return mw * hw.clock_mhz / measured.clock_mhz * switching(hw) / switching(measured)


# Hardware fields no validation figure reads: its layers are matrix-vector products on the PE
# array from SRAM, with no DRAM, systolic array, nonlinear unit or time between frames. A
# --set of one exited 0 with the same table (a CLI audit, 2026-12-06); tested to change
# nothing (tests/test_validate_eie.py).
UNUSED_HW_FIELDS = ("systolic_rows", "systolic_cols", "dataflow", "stream_tile_bytes",
                    "dram_bandwidth_gb_per_s", "dram_latency_ns", "nonlinear_ops_per_cycle",
                    "idle_leakage_share")


def _tile_that_fits(target: str, overrides: list[str]) -> list[str]:
    """The override that shrinks ``stream_tile_bytes`` to half the SRAM when two tiles do not
    fit in it ([] when they do), so that a small SRAM can be given.

    A hardware config must hold two stream tiles in SRAM (double buffering,
    :meth:`HardwareConfig.validate`), and a validation suite streams nothing and refuses
    ``--set hw.stream_tile_bytes`` as changing none of its figures (UNUSED_HW_FIELDS): until
    an audit of 2026-12-07, ``--set hw.sram_bytes=16384`` on eie-64pe (tile 16384) was refused
    with the advice to give a smaller tile, which validate then refused. Whether the layers'
    weights fit in such an SRAM is checked after they are drawn (eie.run_suite). The tile
    shown in --json's hardware is this one."""
    data, _ = read_table("hardware", HardwareConfig, "hw", target)   # its base's fields too
    data = apply_overrides(data, overrides, "hw")
    field = {f.name: f for f in dataclasses.fields(HardwareConfig)}["stream_tile_bytes"]
    sram, tile = data.get("sram_bytes"), data.get("stream_tile_bytes", field.default)
    if not all(type(v) is int for v in (sram, tile)) or 2 * tile <= sram:
        return []   # fits, or not integers: the loader names what is wrong
    least = field.metadata["range"][0]   # the smallest tile a hardware config takes
    if sram < 2 * least:
        raise ConfigError(f"hw.sram_bytes = {sram}: a hardware config holds two stream tiles "
                          f"of at least {least} bytes in SRAM (a validation suite streams "
                          f"none, but keeps that rule); give hw.sram_bytes >= {2 * least}")
    return [OptionOverride(f"hw.stream_tile_bytes={sram // 2}",
                           f"(stream tile {sram // 2} bytes: validation streams nothing)")]


def _hardware(name_or_path: str, overrides: Iterable[str], base_dir: Path | None
              ) -> HardwareConfig:
    """The suite's hardware config, which must be a PE array decoding SRAM-held streams."""
    mine = [o for o in overrides if override_key(o).startswith("hw.")]
    for o in mine:
        field = override_key(o)[len("hw."):]
        if field in UNUSED_HW_FIELDS:
            raise ConfigError(f"{shown_override(o)}: a validation suite's layers run on the PE "
                              "array from SRAM, with no DRAM, systolic array, nonlinear unit "
                              f"or idle time, so hw.{field} changes none of its figures")
    target = _hardware_target(name_or_path, base_dir)
    hw = load_hardware_config(target, mine + _tile_that_fits(target, mine))
    wrong = []
    if hw.array != "pe":
        wrong.append(f"array = {hw.array!r}")
    if hw.decoder_location != "sram_to_pe":
        wrong.append(f"decoder_location = {hw.decoder_location!r}")
    if wrong:
        raise ConfigError(f"hardware {hw.name!r}: {' and '.join(wrong)}; a validation suite "
                          "needs array = \"pe\" and decoder_location = \"sram_to_pe\" (its layers "
                          "are given as densities of EIE's relative-index format)")
    return hw


def _collect(make, source: str, problems: list[str]):
    """Run a build; on ConfigError keep its problems (without the source prefix)."""
    try:
        return make()
    except ConfigError as exc:
        text = str(exc)
        problems.append(text[len(source) + 2:] if text.startswith(f"{source}: ") else text)
        return None


def list_suites() -> tuple[str, ...]:
    """Names of the shipped validation suites, sorted."""
    return list_presets("validation")


def load_suite(name_or_path: str | Path = "eie", overrides: Iterable[str] = ()
               ) -> ValidationSuite:
    """Load a shipped suite by name, or a TOML file by path (as every preset is resolved);
    ``hw.*`` overrides (as for ``azsim run``: ``--set hw.queue_depth=4``) change the suite's
    hardware. A file's layer paths are relative to its folder."""
    from azsim.arguments import checked
    overrides = checked("overrides", overrides)   # a str would be read letter by letter
    data, source = resolve_preset("validation", name_or_path)
    # a file is named by its path, a shipped suite by "validation suite preset 'NAME'"
    base_dir = Path(source).resolve().parent if source == str(name_or_path) else None
    mine = split_overrides(list(overrides), roots=("hw",))["hw"]
    return suite_from_dict(data, source, mine, base_dir)
