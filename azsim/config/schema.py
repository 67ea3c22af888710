"""Frozen specs for the model, the hardware and the energy table.

Every field states its own constraint in ``dataclasses.field(metadata=...)``, which the generic
loader (:mod:`azsim.config.loader`) reads; no field has hand-written parsing code:

- ``range=(lo, hi)``: inclusive bounds of a number;
- ``choices=(...)``: the allowed strings;
- ``doc``: what the field means, with its unit.

Cross-field rules live in a ``validate()`` method that returns a list of problems, each starting
with the name of the field it concerns; the loader calls it once every field is valid and
prefixes the table's dotted path.

All dataclasses are keyword-only, so required and defaulted fields may follow the order in
which a reader meets them in the TOML files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FrontendConfig",
    "EncoderConfig",
    "PredictionConfig",
    "JointConfig",
    "DecodeConfig",
    "ModelConfig",
    "HardwareConfig",
    "EnergyAction",
    "EnergyTable",
]

_MISSING: Any = dataclasses.MISSING
_SPEC = dataclasses.dataclass(frozen=True, kw_only=True)

# The weight stream formats of azsim.compress (issue #3); the one list the CLI and survey use.
WEIGHT_FORMATS = ("dense", "bitmask", "csr", "csc", "rle", "golomb")

# Widest layer any preset could sensibly ask for; a bound only to catch typos such as 20480.
_MAX_WIDTH = 16384


def _field(doc: str, default: Any = _MISSING, *, range: tuple | None = None,
           choices: tuple[str, ...] | None = None, default_factory: Any = _MISSING) -> Any:
    """A dataclass field whose metadata carries its documentation and its constraint."""
    metadata: dict[str, Any] = {"doc": doc}
    if range is not None:
        metadata["range"] = range
    if choices is not None:
        metadata["choices"] = choices
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


# --------------------------------------------------------------------------------------- model


@_SPEC
class FrontendConfig:
    """Log-mel feature extraction."""

    sample_rate_hz: int = _field("audio sample rate, Hz", 16000, range=(1000, 192000))
    n_mels: int = _field("number of mel filterbank channels", 80, range=(1, 512))
    window_ms: float = _field("analysis window length, ms", 25.0, range=(1.0, 1000.0))
    hop_ms: float = _field("hop between frames, ms", 10.0, range=(1.0, 1000.0))
    n_fft: int = _field("FFT length, samples (the window is zero-padded to it)", 512,
                        range=(16, 65536))

    def validate(self) -> list[str]:
        window_samples = round(self.window_ms * self.sample_rate_hz / 1000)
        if window_samples > self.n_fft:
            return [f"window_ms = {self.window_ms} is {window_samples} samples at "
                    f"{self.sample_rate_hz} Hz, more than n_fft = {self.n_fft}"]
        return []


@_SPEC
class EncoderConfig:
    """Stack of (projected) LSTM layers over stacked frames, with optional time reduction."""

    stack_frames: int = _field("feature frames concatenated into one encoder input", 3,
                               range=(1, 16))
    stack_stride: int = _field("feature frames between consecutive encoder inputs; 0 = "
                               "stack_frames (no overlap)", 0, range=(0, 16))
    lstm_layers: int = _field("number of LSTM layers", range=(1, 32))
    hidden: int = _field("LSTM cell units per layer", range=(1, _MAX_WIDTH))
    projection: int = _field("output projection width per layer, units (0 = none)", 0,
                             range=(0, _MAX_WIDTH))
    time_reduction_after: int = _field(
        "1-based layer after which time is reduced (0 = no time reduction)", 0, range=(0, 32))
    time_reduction_factor: int = _field("frames merged by the time-reduction layer", 2,
                                        range=(1, 8))

    def validate(self) -> list[str]:
        if self.time_reduction_after > self.lstm_layers:
            return [f"time_reduction_after = {self.time_reduction_after} is after the last "
                    f"layer (lstm_layers = {self.lstm_layers}; 0 disables time reduction)"]
        return []


@_SPEC
class PredictionConfig:
    """Label embedding followed by (projected) LSTM layers."""

    embedding_dim: int = _field("label embedding width, units", range=(1, _MAX_WIDTH))
    lstm_layers: int = _field("number of LSTM layers", range=(1, 16))
    hidden: int = _field("LSTM cell units per layer", range=(1, _MAX_WIDTH))
    projection: int = _field("output projection width per layer, units (0 = none)", 0,
                             range=(0, _MAX_WIDTH))


@_SPEC
class JointConfig:
    """Joint network combining encoder and prediction outputs."""

    hidden: int = _field("joint hidden layer width, units", range=(1, _MAX_WIDTH))


@_SPEC
class DecodeConfig:
    """Decoding limits."""

    max_symbols_per_frame: int = _field("most non-blank symbols emitted per encoder frame", 5,
                                        range=(1, 100))


@_SPEC
class ModelConfig:
    """An RNN-T model: its shapes, precision and vocabulary."""

    name: str = _field("model name used in reports")
    weight_bits: int = _field("weight precision, bits (1 = binary, 2 = ternary)", 8,
                              range=(1, 8))
    # Activations are int8 throughout until the kernels support narrower ones.
    activation_bits: int = _field("activation precision, bits", 8, range=(8, 8))
    seed: int = _field("seed for synthetic weights", 0, range=(0, 2**32 - 1))
    vocab: str = _field("output unit type", "chars", choices=("chars", "wordpieces"))
    vocab_size: int = _field("output classes including blank", range=(2, 65536))
    frontend: FrontendConfig = _field("feature extraction", default_factory=FrontendConfig)
    encoder: EncoderConfig = _field("encoder network")
    prediction: PredictionConfig = _field("prediction network")
    joint: JointConfig = _field("joint network")
    decode: DecodeConfig = _field("decoding limits", default_factory=DecodeConfig)
    # Compression (issue #3): applied to every weight matrix except the embedding table.
    quantizer: str = _field("weight quantizer: per-channel symmetric grid, or a 2^b-entry "
                            "codebook per layer (weight sharing)", "uniform",
                            choices=("uniform", "codebook"))
    sparsity: float = _field("fraction of weights pruned to exact zero", 0.0, range=(0.0, 0.99))
    prune: str = _field("pruning method: magnitude (per layer), global, nm:N:M, balanced:PES",
                        "magnitude")
    weight_format: str = _field("encoding of the weight streams", "dense",
                                choices=WEIGHT_FORMATS)
    pointer_bits: int = _field("pointer width of csr/csc/rle streams, bits; widened per "
                               "matrix only if its pointers need more", 16, range=(1, 32))
    rle_index_bits: int = _field("relative-index (zero-run) field of rle streams, bits "
                                 "(EIE: 4)", 4, range=(1, 16))

    def validate(self) -> list[str]:
        import re
        if not re.fullmatch(r"magnitude|global|nm:[1-9][0-9]*:[1-9][0-9]*|balanced:[1-9][0-9]*",
                            self.prune):
            return [f"prune = {self.prune!r} is not one of magnitude, global, nm:N:M, "
                    "balanced:PES"]
        return []


# ------------------------------------------------------------------------------------ hardware


@_SPEC
class HardwareConfig:
    """A neural edge processor, first simple cost model."""

    name: str = _field("processor name used in reports")
    clock_mhz: float = _field("core clock, MHz", range=(1.0, 10000.0))
    macs_per_cycle: int = _field("int8 multiply-accumulates issued per cycle", range=(1, 1_000_000))
    sram_bytes: int = _field("on-chip SRAM capacity, bytes", range=(0, 2**34))
    sram_bytes_per_cycle: int = _field("SRAM port width feeding the MACs, bytes/cycle",
                                       range=(1, 4096))
    # Must be > 0; 1 MB/s is a floor that only catches a forgotten unit.
    dram_bandwidth_gb_per_s: float = _field("DRAM bandwidth, GB/s (10^9 bytes/s)",
                                            range=(0.001, 10000.0))
    zero_handling: str = _field(
        "zero operands: none = compute them, gate = save energy only, skip = save cycles too",
        "skip", choices=("none", "gate", "skip"))
    energy_table: str = _field("energy table: preset name or path to a TOML file",
                               "horowitz-45nm")
    leakage_mw: float = _field("static (leakage) power, mW", 0.0, range=(0.0, 1e6))
    description: str = _field("free text for reports", "")
    # Weight decoder (issue #3): where compressed streams are expanded, and how fast.
    decoder_location: str = _field(
        "where weight streams are decoded: dram_to_sram (SRAM holds the matrix with zeros "
        "filled back in) or sram_to_pe (SRAM holds the compressed stream, as EIE)",
        "dram_to_sram", choices=("dram_to_sram", "sram_to_pe"))
    decoder_symbols_per_cycle: float = _field("stream entries the decoder emits per cycle",
                                              64.0, range=(0.001, 1e6))


# -------------------------------------------------------------------------------------- energy


@_SPEC
class EnergyAction:
    """Energy of one named action."""

    energy_pj: float = _field("energy per action, pJ", range=(0.0, 1e9))
    per: str = _field("what one action is, e.g. 'op' or '64-bit access'")
    source: str = _field("where the number comes from")


@_SPEC
class EnergyTable:
    """Energy per action, from one named source (STYLE: one source per value)."""

    name: str = _field("table name used in reports")
    source: str = _field("publication or measurement the table comes from")
    # A read-only mapping: the loader stores a MappingProxyType so the table stays frozen.
    actions: Mapping[str, EnergyAction] = _field("energy per action, keyed by action name")

    def validate(self) -> list[str]:
        return [] if self.actions else ["actions is empty (at least one action is needed)"]
