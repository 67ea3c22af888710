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
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FrontendConfig",
    "EncoderConfig",
    "PredictionConfig",
    "JointConfig",
    "DecodeConfig",
    "BranchConfig",
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
           choices: tuple[str, ...] | None = None, default_factory: Any = _MISSING,
           preset: str | None = None) -> Any:
    """A dataclass field whose metadata carries its documentation and its constraint;
    ``preset``: the value is a preset of that kind (``weights``: a shipped weights name) or a
    path, relative to the file it is in (``path``: always a path; see
    :func:`azsim.config.loader.paths_from_file`)."""
    metadata: dict[str, Any] = {"doc": doc}
    if range is not None:
        metadata["range"] = range
    if choices is not None:
        metadata["choices"] = choices
    if preset is not None:
        metadata["preset"] = preset
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


# --------------------------------------------------------------------------------------- model


# Sample rates azsim accepts, for the frontend and for a WAV file's header: below 1 kHz no
# speech band is left (telephone speech is 8 kHz), and 192 kHz is the highest rate of common
# audio interfaces. A header outside it is damage, not audio (a 3 Hz header once made one
# second of samples into 89 minutes of "speech").
SAMPLE_RATE_RANGE_HZ = (1000, 192000)


@_SPEC
class FrontendConfig:
    """Log-mel feature extraction."""

    sample_rate_hz: int = _field("audio sample rate, Hz", 16000, range=SAMPLE_RATE_RANGE_HZ)
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
        # Time reduction concatenates `factor` frames into the NEXT layer's input, so it needs
        # a next layer: after the last one, the joint network would meet factor x the width
        # it was built for.
        if self.time_reduction_factor > 1 and self.time_reduction_after >= self.lstm_layers:
            return [f"time_reduction_after = {self.time_reduction_after} is not before the last "
                    f"layer (lstm_layers = {self.lstm_layers}): time reduction feeds the next "
                    f"layer; allowed 0 (none) to {self.lstm_layers - 1}"]
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
    """Decoding limits; beam search, biasing and end-pointers (issue #7, azsim.decode)."""

    max_symbols_per_frame: int = _field("most non-blank symbols emitted per encoder frame", 5,
                                        range=(1, 100))
    beam: int = _field("hypotheses kept per frame by the beam search; 0 or 1 = greedy", 1,
                       range=(0, 64))
    context_file: str = _field("biasing phrases, one per line (contacts, device names); "
                               "empty = no biasing; needs beam >= 2; in a model file, a "
                               "relative path is from that file's folder", "", preset="path")
    context_weight: float = _field(
        "shallow-fusion bonus per matched token, nats added to its log-probability (taken "
        "back when the match fails)", 1.5, range=(0.0, 20.0))
    context_committed_slots: int = _field(
        "with biasing, hypotheses kept besides the beam: the best by committed score (without "
        "the bonus of unfinished matches), so partial matches cannot crowd out the paths that "
        "win once that bonus is taken back; 0 = none", 1, range=(0, 64))
    context_ilm_weight: float = _field(
        "with biasing, internal-LM discount inside context matches: a matched token also earns "
        "this times -log P(token | prefix) under the prediction network's own language model "
        "(Meng et al., SLT 2021); 0 = off", 0.0, range=(0.0, 4.0))
    context_ilm_cap_nats: float = _field(
        "most -log P counted per matched token by the internal-LM discount, nats", 6.0,
        range=(0.0, 30.0))
    endpoint_final_ms: float = _field(
        "final end-pointer: trailing silence (quiet frames and blank emissions), ms", 600.0,
        range=(10.0, 10000.0))
    endpoint_speculative_ms: float = _field(
        "speculative end-pointer: trailing silence that starts downstream work early, ms",
        400.0, range=(0.0, 10000.0))
    endpoint_energy_db: float = _field(
        "frames below this energy count as quiet, dB relative to a full-scale sine", -60.0,
        range=(-200.0, 0.0))
    endpoint_noise_margin_db: float = _field(
        "frames less than this far above the tracked noise floor also count as quiet, dB",
        10.0, range=(0.0, 100.0))
    endpoint_noise_floor: str = _field(
        "how the noise floor is tracked: 'mean', the lowest 100 ms mean of dB energies so far "
        "(a file opening with 30 ms or more of digital zeros keeps its noise loud); "
        "'median-after-zeros', the lowest median of full 100 ms windows from the first frame "
        "that is not digital silence (holds with leading zeros; worse on noiseless "
        "recordings; azsim.decode.endpoint)", "mean",
        choices=("mean", "median-after-zeros"))
    endpoint_tail_ms: float = _field(
        "digital silence appended to every utterance so the end-pointers can fire, ms", 0.0,
        range=(0.0, 60000.0))
    endpoint_downstream_ms: float = _field(
        "duration of the work an end-pointer starts (lattice uplink and response, or a "
        "second pass), ms; speculation hides up to its lead of it", 300.0,
        range=(0.0, 60000.0))

    def validate(self) -> list[str]:
        if self.endpoint_speculative_ms > self.endpoint_final_ms:
            return [f"endpoint_speculative_ms = {self.endpoint_speculative_ms} is later than "
                    f"endpoint_final_ms = {self.endpoint_final_ms} (the speculative "
                    "end-pointer must fire no later than the final one)"]
        if self.context_file and self.beam <= 1:
            return [f"context_file = {self.context_file!r} needs a beam search: beam = "
                    f"{self.beam} is greedy decoding (set beam >= 2)"]
        return []


_PRUNE_RE = r"magnitude|global|erk|nm:([1-9][0-9]*):([1-9][0-9]*)|balanced:[1-9][0-9]*"


def nm_implied_sparsity(prune: str) -> float | None:
    """1 - N/M for a well-formed ``nm:N:M`` with N <= M, else None."""
    match = re.fullmatch(_PRUNE_RE, prune) if isinstance(prune, str) else None
    if match is None or not match.group(1) or int(match.group(1)) > int(match.group(2)):
        return None
    return 1 - int(match.group(1)) / int(match.group(2))


def _prune_problems(prune: str, sparsity: float | None = None) -> list[str]:
    """A pruning method's spelling, and N <= M for N:M (N kept weights in every M); given the
    ``sparsity`` asked for, N:M's own 1 - N/M or 0 (a record would state the wrong one)."""
    match = re.fullmatch(_PRUNE_RE, prune)
    if match is None:
        return [f"prune = {prune!r} is not one of magnitude, global, erk, nm:N:M, "
                "balanced:PES"]
    if match.group(1) and int(match.group(1)) > int(match.group(2)):
        return [f"prune = {prune!r}: N:M keeps N weights in every M, so N must be at most M"]
    if match.group(1) and int(match.group(1)) == int(match.group(2)):
        # it pruned nothing while saying it pruned (a CLI audit, 2026-12-06)
        return [f"prune = {prune!r}: N:M keeps N weights in every M, so N = M prunes "
                "nothing; N must be less than M"]
    if match.group(1) and sparsity:
        fixed = 1 - int(match.group(1)) / int(match.group(2))
        if abs(sparsity - fixed) > 1e-9:
            return [f"sparsity = {sparsity:g} with prune = {prune!r}: N:M pruning fixes the "
                    f"sparsity at {fixed:g}; give sparsity = {fixed:g} or leave it at 0"]
    return []


def weight_layer_names(model) -> tuple[str, ...]:
    """The weight layers of a model's reports (``azsim.execute.integer.layer_infos``) that a
    bit-width applies to, in order: each LSTM's gate matrices (``enc.0.lstm``), its
    projection if it has one (``enc.0.proj``), and the joint network's three matrices. The
    embedding (``pred.embed``) is a lookup table kept int8 and is not among them."""
    names = []
    for stack, net in (("enc", model.encoder), ("pred", model.prediction)):
        for n in range(net.lstm_layers):
            names.append(f"{stack}.{n}.lstm")
            if net.projection:
                names.append(f"{stack}.{n}.proj")
    return tuple(names) + ("joint.enc", "joint.pred", "joint.out")


_LAYER_BITS_PAIR_RE = r"([A-Za-z0-9_.]+):([0-9]+)"
# A weight matrix's report layer (weight_layer_names): by its last name part.
_MATRIX_LAYER = {"w_x": "lstm", "w_r": "lstm", "w_p": "proj", "w_enc": "enc", "w_pred": "pred",
                 "w_out": "out"}


def matrix_layer(name: str) -> str:
    """The report layer a weight matrix belongs to: ``enc.0.w_x`` and ``enc.0.w_r`` ->
    ``enc.0.lstm``, ``enc.0.w_p`` -> ``enc.0.proj``, ``joint.w_enc`` -> ``joint.enc``."""
    head, _, last = name.rpartition(".")
    return f"{head}.{_MATRIX_LAYER[last]}"


def matrix_bit_widths(model, default_bits: int, matrices) -> dict[str, int]:
    """Each of the weight ``matrices`` (``enc.0.w_x``, ...) at its layer's bit-width
    (:func:`layer_bit_widths`)."""
    widths = layer_bit_widths(model, default_bits)
    return {name: widths[matrix_layer(name)] for name in matrices}


def layer_bit_overrides(model) -> dict[str, int]:
    """The layers ``model.layer_bits`` sets to another width than ``model.weight_bits``, in
    layer order (what reports and records show beside weight_bits; empty: uniform)."""
    return {name: bits for name, bits in layer_bit_widths(model, model.weight_bits).items()
            if bits != model.weight_bits}


def layer_bit_widths(model, default_bits: int) -> dict[str, int]:
    """Each weight layer's bit-width: ``default_bits`` (``model.weight_bits``, or the cheap
    branch's ``model.branch.bits``) except where ``model.layer_bits`` names the layer or a
    group holding it (``enc``, ``enc.0``, ``pred``, ``joint``); later pairs win. Raises
    ValueError with the field's problem (:meth:`ModelConfig.validate` reports it)."""
    names = weight_layer_names(model)
    widths = {name: default_bits for name in names}
    spec = model.layer_bits.strip()
    if not spec:
        return widths
    allowed = (f"a layer ({', '.join(names)}) or a group of them "
               f"({', '.join(_layer_groups(names))})")
    for pair in spec.split("+"):
        match = re.fullmatch(_LAYER_BITS_PAIR_RE, pair.strip())
        if match is None:
            raise ValueError(f"layer_bits = {model.layer_bits!r}: {pair.strip()!r} is not "
                             "LAYER:BITS (pairs joined by '+', e.g. 'enc.0.lstm:8+joint.out:8')")
        key, bits = match.group(1), int(match.group(2))
        if key == "pred.embed":
            raise ValueError(f"layer_bits = {model.layer_bits!r}: pred.embed is a lookup table "
                             "kept int8 at every bit-width; name " + allowed)
        hit = [n for n in names if n == key or n.startswith(key + ".")]
        if not hit:
            raise ValueError(f"layer_bits = {model.layer_bits!r}: no layer {key!r}; name "
                             + allowed)
        if not 1 <= bits <= 8:
            raise ValueError(f"layer_bits = {model.layer_bits!r}: {key} at {bits} bits; "
                             "a layer's weights take 1 to 8 bits")
        widths.update({n: bits for n in hit})
    return widths


def _layer_groups(names) -> list[str]:
    """The dotted prefixes of ``names`` (``enc``, ``enc.0``, ..., ``joint``), in order."""
    groups = []
    for name in names:
        parts = name.split(".")
        groups += [g for g in (".".join(parts[:k]) for k in range(1, len(parts)))
                   if g not in groups]
    return groups


@_SPEC
class BranchConfig:
    """Branching encoder (issue #7, azsim.execute.branch): a cheap encoder branch of the same
    architecture and an arbitrator that sends each encoder step to one branch."""

    enabled: bool = _field("run the branching encoder (false: the full encoder only)", False)
    weights: str = _field("float weights of the cheap branch (a shipped set's name or a .npz "
                          "of the same model; in a model file, a relative path is from that "
                          "file's folder); empty: the full model's own weights", "",
                          preset="weights")
    # Defaults: the one-shot point that kept the small model's WER on 100 test utterances
    # (sparsity 0.3, margin 2 nats: 77 % of steps cheap, 23 % fewer encoder MACs; issue #7).
    sparsity: float = _field("cheap branch: fraction of encoder weights pruned to zero", 0.3,
                             range=(0.0, 0.99))
    prune: str = _field("cheap branch pruning method: magnitude, global, erk, nm:N:M, "
                        "balanced:PES",
                        "magnitude")
    bits: int = _field("cheap branch weight precision, bits; 0 = model.weight_bits", 0,
                       range=(0, 8))
    weight_format: str = _field("cheap branch weight stream format; empty = "
                                "model.weight_format", "", choices=("",) + WEIGHT_FORMATS)
    arbitrator: str = _field(
        "per-step branch choice: blank (previous step's blank margin), energy (quiet input), "
        "blank-energy (both), always (cheap), never (full)", "blank",
        choices=("blank", "energy", "blank-energy", "always", "never"))
    blank_margin_nats: float = _field(
        "blank arbitrator: cheap when the previous step's blank logit beat every other by at "
        "least this, nats", 2.0, range=(-100.0, 100.0))
    blank_run_steps: int = _field(
        "blank arbitrators: cheap only after this many consecutive steps with that margin "
        "(1 = the previous step alone); longer runs keep the blanks between the characters "
        "of a word on the full branch and send pauses to the cheap one", 1, range=(1, 1000))
    energy_threshold: float = _field(
        "energy arbitrator: cheap when the step's mean normalized log-mel input is at most "
        "this, standard deviations from the training mean", -1.0, range=(-50.0, 50.0))

    def validate(self) -> list[str]:
        return _prune_problems(self.prune)


@_SPEC
class ModelConfig:
    """An RNN-T model: its shapes, precision and vocabulary."""

    name: str = _field("model name used in reports")
    weight_bits: int = _field("weight precision, bits (1 = binary, 2 = ternary)", 8,
                              range=(1, 8))
    layer_bits: str = _field("per-layer weight precision over weight_bits: LAYER:BITS pairs "
                             "joined by '+', LAYER a layer of the report (enc.0.lstm, "
                             "enc.0.proj, pred.0.lstm, joint.enc, joint.pred, joint.out) or "
                             "a group of them (enc, enc.0, pred, joint), later pairs winning: "
                             "'enc.0:8+joint.out:8'; the embedding stays int8; empty: every "
                             "layer at weight_bits", "")
    # Activations are int8 throughout until the kernels support narrower ones.
    activation_bits: int = _field("activation precision, bits", 8, range=(8, 8))
    seed: int = _field("seed for synthetic weights", 0, range=(0, 2**32 - 1))
    weights: str = _field("trained weights: a shipped set's name (azsim/data/models/NAME.npz) "
                          "or a .npz path (in a model file, relative to that file's folder); "
                          "empty: untrained weights generated from seed", "", preset="weights")
    vocab: str = _field("output unit type", "chars", choices=("chars", "wordpieces"))
    vocab_size: int = _field("output classes including blank", range=(2, 65536))
    frontend: FrontendConfig = _field("feature extraction", default_factory=FrontendConfig)
    encoder: EncoderConfig = _field("encoder network")
    prediction: PredictionConfig = _field("prediction network")
    joint: JointConfig = _field("joint network")
    decode: DecodeConfig = _field("decoding limits", default_factory=DecodeConfig)
    branch: BranchConfig = _field("branching encoder (issue #7)", default_factory=BranchConfig)
    # Compression (issue #3): applied to every weight matrix except the embedding table.
    quantizer: str = _field("weight quantizer: per-channel symmetric grid rounded to "
                            "nearest (uniform) or with GPTQ's error compensation on the "
                            "calibration inputs (gptq: same grid, other codes), or a 2^b-entry "
                            "codebook per layer (weight sharing)", "uniform",
                            choices=("uniform", "gptq", "codebook"))
    weight_range: str = _field("per-row range of the uniform and gptq grids: max (max|w| / "
                               "qmax, nothing clipped) or mse (the clipped range with the "
                               "least squared rounding error, searched over 0.21-1.00 x "
                               "max|w|)", "max", choices=("max", "mse"))
    sparsity: float = _field("fraction of weights pruned to exact zero", 0.0, range=(0.0, 0.99))
    prune: str = _field("pruning method: magnitude (per layer), global, erk, nm:N:M, balanced:PES",
                        "magnitude")
    prune_saliency: str = _field("which weights pruning removes inside each matrix: "
                                 "magnitude (the smallest |w|) or obs (SparseGPT: the least "
                                 "w^2 / [H^-1]_ii^2 on the calibration inputs, a block of 128 "
                                 "columns at a time, or in each N:M group, the kept weights "
                                 "compensating); the prune method still sets each matrix's "
                                 "share",
                                 "magnitude", choices=("magnitude", "obs"))
    weight_format: str = _field("encoding of the weight streams", "dense",
                                choices=WEIGHT_FORMATS)
    pointer_bits: int = _field("pointer width of csr/csc/rle streams, bits; widened per "
                               "matrix only if its pointers need more", 16, range=(1, 32))
    rle_index_bits: int = _field("relative-index (zero-run) field of rle streams, bits "
                                 "(EIE: 4)", 4, range=(1, 16))

    def __post_init__(self) -> None:
        # N:M fixes its own sparsity, 1 - N/M: a config left at sparsity 0 states that one,
        # so records, reports and sweeps see the model that runs (a CLI audit, 2026-12-06:
        # a sweep's report compared an N:M point, "sparsity 0", as dense with a 50 % one,
        # and run's header said "pruned 0 %")
        implied = nm_implied_sparsity(self.prune)
        if implied is not None and self.sparsity == 0:
            object.__setattr__(self, "sparsity", implied)

    def validate(self) -> list[str]:
        if not self.name.strip():   # the report's header read "model  (" (a CLI audit)
            return [f"name = {self.name!r}: a model needs a name, its reports show it"]
        problems = _prune_problems(self.prune, self.sparsity)
        if problems:
            return problems
        try:
            layer_bit_widths(self, self.weight_bits)
        except ValueError as exc:
            return [str(exc)]
        if self.vocab == "chars":
            from ..model.vocab import CHARS
            if self.vocab_size != len(CHARS) + 1:
                return [f"vocab_size = {self.vocab_size}: a character model has "
                        f"{len(CHARS) + 1} outputs (blank, space, a-z and the apostrophe); "
                        f"give vocab_size = {len(CHARS) + 1} or vocab = 'wordpieces'"]
        if self.prune_saliency == "obs" and self.prune.startswith("balanced:"):
            return [f"prune_saliency = 'obs' with prune = {self.prune!r}: obs chooses the "
                    "weights inside each matrix's share (magnitude, global, erk) or N:M "
                    "group; per-PE balance is chosen by magnitude (leave prune_saliency = "
                    "'magnitude')"]
        if self.quantizer == "codebook" and self.weight_range != "max":
            return [f"weight_range = {self.weight_range!r} applies to the uniform and gptq "
                    "grids; a codebook fits its own shared values: leave weight_range = 'max' "
                    "with quantizer = 'codebook'"]
        if self.branch.enabled and self.branch.arbitrator in ("blank", "blank-energy") \
                and self.decode.beam > 1:
            return [f"branch.arbitrator = {self.branch.arbitrator!r} needs greedy decoding "
                    f"(decode.beam = "
                    f"{self.decode.beam}): use arbitrator = 'energy', 'always' or 'never' "
                    "with a beam search"]
        return []


# ------------------------------------------------------------------------------------ hardware


# Zero handling (issue #4). "skip" is the issue #2 spelling of "skip_both", kept as an alias.
ZERO_HANDLING = ("none", "gate", "skip_weights", "skip_activations", "skip_both", "skip")
_ZERO_ALIASES = {"skip": "skip_both"}
_MIB = 1 << 20


@_SPEC
class HardwareConfig:
    """A neural edge processor: MAC array, SRAM, weight decoder, DRAM, nonlinear unit, leakage.

    Two MAC array organizations (issue #4):

    * ``array = "pe"``: an EIE-style array of ``pe_count`` processing elements; PE ``p`` owns
      the output rows ``r`` with ``r % pe_count == p`` (Han et al., ISCA 2016, section III).
      Nonzero input activations are broadcast one per cycle into per-PE queues of
      ``queue_depth`` entries; each PE has ``lanes_per_pe`` MAC lanes that work on its slice of
      the broadcast column. Zero skipping saves cycles here.
    * ``array = "systolic"``: a dense ``systolic_rows`` x ``systolic_cols`` systolic array,
      weight- or output-stationary (SCALE-Sim's dataflows): the baseline architects compare
      against. Operands move in lockstep, so zeros can be gated but not skipped.

    ``macs_per_cycle`` (the peak of 8-bit MACs per cycle) is derived from the organization.
    """

    # Figures a run's record shows under ``hardware`` that no file or --set gives (no
    # annotation: not a field), and what sets them, for the message that refuses them.
    DERIVED = {"macs_per_cycle": "pe_count x lanes_per_pe on the pe array, systolic_rows x "
                                 "systolic_cols on the systolic array; set those"}

    name: str = _field("processor name used in reports")
    clock_mhz: float = _field("core clock, MHz", range=(1.0, 10000.0))
    # MAC array organization.
    array: str = _field("MAC array organization: pe (EIE-style PEs owning interleaved output "
                        "rows) or systolic (dense baseline)", "pe", choices=("pe", "systolic"))
    pe_count: int = _field("processing elements of the pe array", 16, range=(1, 65536))
    lanes_per_pe: int = _field("MAC lanes per PE (entries of one column a PE multiplies per "
                               "cycle)", 1, range=(1, 4096))
    queue_depth: int = _field("activation queue entries per PE (the one in process included)", 8,
                              range=(1, 4096))
    min_cycles_per_column: int = _field(
        "cycles a PE spends on a broadcast column even when its slice is empty (the pointer "
        "read of the column)", 1, range=(0, 64))
    systolic_rows: int = _field("rows of the systolic array", 16, range=(1, 4096))
    systolic_cols: int = _field("columns of the systolic array", 16, range=(1, 4096))
    dataflow: str = _field("systolic dataflow: ws (weight stationary) or os (output "
                           "stationary)", "ws", choices=("ws", "os"))
    precision_scalable: bool = _field("b-bit weights pack floor(8/b) MACs per lane per cycle "
                                      "(else every MAC is a native 8-bit MAC)", False)
    zero_handling: str = _field(
        "zero operands: none = compute them; gate = operand-isolate them (energy only); "
        "skip_weights / skip_activations / skip_both = do not issue them (cycles too); "
        "skip = skip_both", "skip_both", choices=ZERO_HANDLING)
    # SRAM.
    sram_bytes: int = _field("on-chip SRAM capacity (weights, activations, state), bytes",
                             range=(0, 2**34))
    sram_banks: int = _field("SRAM banks; one access reads one bank, so the access energy is "
                             "that of a bank of sram_bytes / sram_banks", 1, range=(1, 65536))
    sram_bytes_per_cycle: int = _field("SRAM read port width feeding the MACs, summed over "
                                       "banks, bytes/cycle", range=(1, 1 << 20))
    stream_tile_bytes: int = _field("tile of a weight stream staged in SRAM from DRAM; two "
                                    "buffers are reserved (double buffering) when a layer "
                                    "streams, each a tile or the largest streaming layer's "
                                    "smaller stage (an embedding's row)",
                                    16384, range=(64, 2**30))
    # Weight decoder (issue #3): where compressed streams are expanded, and how fast.
    decoder_location: str = _field(
        "where weight streams are decoded: dram_to_sram (SRAM holds the matrix with zeros "
        "filled back in) or sram_to_pe (SRAM holds the compressed stream, as EIE)",
        "dram_to_sram", choices=("dram_to_sram", "sram_to_pe"))
    decoder_symbols_per_cycle: float = _field("stream entries the decoder emits per cycle "
                                              "(sram_to_pe: shared evenly by the PEs)",
                                              64.0, range=(0.001, 1e6))
    # DRAM.
    # Must be > 0; 1 MB/s is a floor that only catches a forgotten unit.
    dram_bandwidth_gb_per_s: float = _field("DRAM bandwidth, GB/s (10^9 bytes/s)",
                                            range=(0.001, 10000.0))
    dram_latency_ns: float = _field("DRAM access latency (request to first data), ns", 0.0,
                                    range=(0.0, 1e6))
    # Nonlinear / element-wise unit.
    nonlinear_ops_per_cycle: float = _field(
        "nonlinear-unit throughput: table lookups or element-wise operations per cycle", 16.0,
        range=(0.001, 1e6))
    energy_table: str = _field("energy table: preset name or path to a TOML file (energy per "
                               "action, DRAM and SRAM included); in a hardware file, a "
                               "relative path is from that file's folder", "horowitz-45nm",
                               preset="energy")
    leakage_mw: float = _field("static (leakage) power while busy, mW: the logic's (the MAC "
                               "array's unless leakage_mw_per_mac gives it), and the SRAM's "
                               "unless sram_leakage_mw_per_mib gives it", 0.0,
                               range=(0.0, 1e6))
    leakage_mw_per_mac: float = _field(
        "static power of the MAC array per MAC unit (pe_count x lanes_per_pe, or "
        "systolic_rows x systolic_cols), mW, added to leakage_mw (so that a larger array leaks "
        "more)", 0.0, range=(0.0, 1e3))
    sram_leakage_mw_per_mib: float = _field(
        "static power of the SRAM per MiB of sram_bytes, mW, added to leakage_mw (so that a "
        "larger SRAM leaks more)", 0.0, range=(0.0, 1e6))
    supply_v: float = _field(
        "supply voltage, V; 0 = the energy table's own (voltage_v). Dynamic energies scale as "
        "(supply_v / voltage_v)^2 (switching energy C V^2), static power as supply_v / "
        "voltage_v (V x leakage current, the current held: first order); DRAM's energy is "
        "off chip and does not scale. No frequency limit is modelled: pair the clock with "
        "its voltage yourself (azsim sweep --zip)", 0.0, range=(0.0, 5.0))
    idle_leakage_share: float = _field(
        "share of the static power drawn between frames, while the processor waits for audio "
        "(0: power-gated, its SRAM contents kept at no cost; 1: never gated; SRAM retention "
        "modes lie between)", 0.0, range=(0.0, 1.0))
    description: str = _field("free text for reports", "")

    def __post_init__(self) -> None:
        # Normalize the alias so that two spellings of one processor are one config.
        if self.zero_handling in _ZERO_ALIASES:
            object.__setattr__(self, "zero_handling", _ZERO_ALIASES[self.zero_handling])

    def validate(self) -> list[str]:
        problems = []
        if not self.name.strip():
            problems.append(f"name = {self.name!r}: a processor needs a name, its reports "
                            "show it")
        if self.array == "systolic" and self.zero_handling.startswith("skip"):
            given = "'skip_both' (or its alias 'skip')" if self.zero_handling == "skip_both" \
                else repr(self.zero_handling)   # "skip" is normalized in __post_init__
            problems.append(f"zero_handling = {given} needs array = \"pe\": a "
                            "systolic array moves operands in lockstep, so it can gate zeros "
                            "(\"gate\") but not skip them")
        if self.sram_banks > max(self.sram_bytes, 1):
            problems.append(f"sram_banks = {self.sram_banks} exceeds sram_bytes = "
                            f"{self.sram_bytes}")
        if 2 * self.stream_tile_bytes > self.sram_bytes:
            problems.append(f"stream_tile_bytes = {self.stream_tile_bytes}: streaming stages two "
                            f"tiles in SRAM (double buffering), and sram_bytes = "
                            f"{self.sram_bytes} holds less than two; give a tile of at most "
                            f"{self.sram_bytes // 2} bytes")
        return problems

    @property
    def static_mw(self) -> float:
        """Static power while busy, mW: ``leakage_mw`` plus the MAC array's per MAC unit and
        the SRAM's per MiB."""
        return (self.leakage_mw + self.leakage_mw_per_mac * self.macs_per_cycle
                + self.sram_leakage_mw_per_mib * self.sram_bytes / _MIB)

    @property
    def macs_per_cycle(self) -> int:
        """Peak native (8-bit) MACs per cycle of the array."""
        if self.array == "systolic":
            return self.systolic_rows * self.systolic_cols
        return self.pe_count * self.lanes_per_pe

    @property
    def skips_weights(self) -> bool:
        return self.zero_handling in ("skip_weights", "skip_both")

    @property
    def walks_zero_weights(self) -> bool:
        """The MAC slots hold the zero weights too: a systolic array, or a PE array that
        does not skip them (the slot width is then the decoded codes', zeros included)."""
        return self.array == "systolic" or not self.skips_weights

    @property
    def skips_activations(self) -> bool:
        return self.zero_handling in ("skip_activations", "skip_both")

    def macs_per_lane(self, weight_bits: int) -> int:
        """MACs one lane (or systolic cell) does per cycle at ``weight_bits``-bit weights."""
        return max(8 // weight_bits, 1) if self.precision_scalable else 1


# -------------------------------------------------------------------------------------- energy


@_SPEC
class EnergyAction:
    """Energy of one named action."""

    energy_pj: float = _field("energy per action, pJ", range=(0.0, 1e9))
    per: str = _field("what one action is, e.g. 'op' or '64-bit access'")
    source: str = _field("where the number comes from")


# SRAM capacity points an energy table gives (64-bit access energy by array size, as in
# Horowitz's table), between which azsim.cost.energy.sram_access_pj interpolates, and every
# action azsim.cost.energy.action_energies reads: a table must hold them all.
SRAM_ENERGY_POINTS = (("sram_8kb_read", 8 * 1024), ("sram_32kb_read", 32 * 1024),
                      ("sram_1mb_read", 1024 * 1024))
COST_MODEL_ACTIONS = ("int8_mult", "int8_add", "int16_add", "int32_add", "int32_mult",
                      "dram_read") + tuple(name for name, _ in SRAM_ENERGY_POINTS)
# The unit each of them is read in (`per`); the others are per "op".
_ACTION_UNITS = {"dram_read": "64-bit access",
                 **{name: "64-bit access" for name, _ in SRAM_ENERGY_POINTS}}


@_SPEC
class EnergyTable:
    """Energy per action, from one named source (STYLE: one source per value)."""

    name: str = _field("table name used in reports")
    source: str = _field("publication or measurement the table comes from")
    voltage_v: float = _field("supply voltage the energies were measured at, V (0 = not "
                              "given: hw.supply_v cannot scale them)", 0.0, range=(0.0, 5.0))
    # A read-only mapping: the loader stores a MappingProxyType so the table stays frozen.
    actions: Mapping[str, EnergyAction] = _field("energy per action, keyed by action name")

    def validate(self) -> list[str]:
        if not self.actions:
            return ["actions is empty (at least one action is needed)"]
        missing = [a for a in COST_MODEL_ACTIONS if a not in self.actions]
        if missing:
            return [f"lacks action{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(map(repr, missing))} that the cost model reads (has: "
                    f"{', '.join(sorted(self.actions))})"]
        sram = [self.actions[name].energy_pj for name, _ in SRAM_ENERGY_POINTS]
        if any(sram) and not all(sram):
            zero = ", ".join(n for (n, _), pj in zip(SRAM_ENERGY_POINTS, sram) if pj == 0)
            return [f"{zero} energy_pj = 0 while other SRAM points are not; SRAM energy is "
                    f"interpolated in log-log between "
                    f"{', '.join(n for n, _ in SRAM_ENERGY_POINTS)}, so give all of them > 0 "
                    "pJ, or all 0 for free SRAM"]
        problems = []
        for (small, _), (large, _), a, b in zip(SRAM_ENERGY_POINTS, SRAM_ENERGY_POINTS[1:],
                                                sram, sram[1:]):
            if b < a:   # a larger array was cheaper per access: bigger banks grew cheaper
                problems.append(f"{large} energy_pj = {b:g} is below {small}'s {a:g}; an "
                                "access to a larger SRAM array costs at least as much (longer "
                                "word- and bit-lines)")
        # The cost model reads these rows in one unit each (azsim/cost/energy.py): a row in
        # another was costed as if it were in that one (a 32-bit access as a 64-bit one).
        for name in COST_MODEL_ACTIONS:
            unit = _ACTION_UNITS.get(name, "op")
            if self.actions[name].per != unit:
                problems.append(f"actions.{name}.per = {self.actions[name].per!r}: the cost "
                                f"model reads it per {unit!r}; give its energy per {unit}")
        return problems
