"""The ``azsim`` command line: a thin layer over :mod:`azsim.api` that owns all output.

User errors (bad files, values, configs) print one line ``azsim: error: ...`` and exit with
status 2, never a traceback (issue #2).
"""
from __future__ import annotations

import errno
import io
import json
import os
import signal
import sys
import threading
import warnings

from .threads import pin_threads

pin_threads()   # before NumPy loads its BLAS and numba its OpenMP runtime (azsim/threads.py)

import click  # noqa: E402
import numpy as np  # noqa: E402

from ._version import __version__  # noqa: E402
from .cli_types import (AUDIO, BRANCH_WEIGHTS, CONTEXT, FOLDER, HARDWARE, MODEL,  # noqa: E402
                        TESTSET, WEIGHTS, FiniteFloatRange, InputPath)
from .cli_types import check_not_an_output  # noqa: E402
from .cli_types import check_writable as _check_writable  # noqa: E402
from .paths import output_file  # noqa: E402
from .config import DEFAULT_MODEL  # noqa: E402
from .config.schema import WEIGHT_FORMATS  # noqa: E402
from .errors import AzsimError, AzsimWarning, ConfigError, cli_names  # noqa: E402
from .paths import read_small_file  # noqa: E402

_SET_HELP = ("override a config field by dotted path, e.g. model.encoder.hidden=128 or "
             "hw.clock_mhz=400 (repeatable)")


def _fail(message: str) -> None:
    click.echo(f"azsim: error: {' '.join(str(message).split())}", err=True)
    sys.exit(2)


def _write_json(data: dict, dest: str) -> None:
    text = json.dumps(data, indent=2)
    if dest == "-":
        click.echo(text)
        return
    try:
        with output_file(dest, "w", encoding="utf-8") as fh:   # whole, or not at all
            fh.write(text + "\n")
    except OSError as exc:
        raise AzsimError(f"--json {dest}: cannot write ({exc.strerror})") from None


def _reject_hw_sets(overrides, command: str, why: str) -> None:
    """A command that runs no processor model must refuse ``--set hw.*``: ignored, the
    setting would look applied."""
    hw_set = first_override_of(overrides, ("hw.",))
    if hw_set is not None:
        raise AzsimError(f"--set {hw_set}: azsim {command} {why} and runs no processor; "
                         "hw.* settings apply to 'azsim run' and 'azsim sweep'")


def first_override_of(overrides, keys) -> str | None:
    """The first override that sets one of ``keys`` (a key ending in "." is a section: any
    setting in it), or None."""
    from .config.loader import override_key
    for text in overrides:
        key = override_key(text)
        if any(key == k or (k.endswith(".") and key.startswith(k)) for k in keys):
            return text
    return None


GPTQ_HELP = ("the uniform grid's codes chosen by GPTQ, compensating each rounding error on the "
             "calibration inputs (--set model.quantizer=gptq)")


# The option behind each --set key a shorthand writes, for the conflict message below.
_SHORTHAND_FLAGS = {
    "model.weight_bits": "--bits", "model.sparsity": "--sparsity", "model.prune": "--prune",
    "model.weight_format": "--format", "model.quantizer": "--codebook/--gptq",
    "model.decode.beam": "--beam", "model.decode.context_weight": "--context-weight",
    "model.decode.context_file": "--context",
    "model.decode.endpoint_final_ms": "--endpoint-final-ms",
    "model.decode.endpoint_speculative_ms": "--endpoint-speculative-ms",
    "model.decode.endpoint_tail_ms": "--endpoint-tail-ms",
    "model.branch.enabled": "--branch/--branch-weights",
    "model.branch.weights": "--branch-weights",
}


def _with_shorthands(user_sets, shorthands) -> list[str]:
    """The user's --set values, then the options' own; a key both set to different values is
    an error (one of them would be silently dropped)."""
    from .config.loader import OptionOverride, override_key, parse_override, same_value

    mine = {override_key(o): o for o in user_sets}
    labeled = []
    for item in shorthands:
        key, value = override_key(item), item.partition("=")[2]
        if key in mine and not same_value(parse_override(mine[key])[1], parse_override(item)[1]):
            raise AzsimError(f"--set {mine[key]}: {_SHORTHAND_FLAGS.get(key, 'an option')} "
                             f"sets {key} to {value} too; give the setting once")
        flag, typed = _SHORTHAND_FLAGS.get(key, ""), value.strip('"')
        # an option with a value is named with it (--bits 9); a flag pair stays a --set
        labeled.append(OptionOverride(item, f"{flag} {typed}")
                       if flag and "/" not in flag else item)
    return list(user_sets) + labeled


def _compression_overrides(sparsity, prune, weight_format, codebook, gptq=False) -> list[str]:
    """The compression shorthands as the --set overrides they stand for."""
    if codebook and gptq:
        raise AzsimError("--codebook and --gptq are two quantizers: give one of them")
    out = []
    if sparsity is not None:
        out.append(f"model.sparsity={sparsity!r}")
    if prune is not None:
        out.append(f"model.prune={json.dumps(prune)}")
    if weight_format is not None:
        out.append(f"model.weight_format={json.dumps(weight_format)}")
    if codebook:
        out.append('model.quantizer="codebook"')
    if gptq:
        out.append('model.quantizer="gptq"')
    return out


def _decode_overrides(beam, context, context_weight, final_ms, speculative_ms, tail_ms
                      ) -> list[str]:
    """The decoding shorthands (issue #7) as the --set model.decode.* overrides they stand for."""
    out = []
    for key, value in (("beam", beam), ("context_weight", context_weight),
                       ("endpoint_final_ms", final_ms),
                       ("endpoint_speculative_ms", speculative_ms),
                       ("endpoint_tail_ms", tail_ms)):
        if value is not None:
            out.append(f"model.decode.{key}={value!r}")
    if context is not None:
        out.append(f"model.decode.context_file={json.dumps(context)}")
    return out


def _check_output_folder(folder: str, option: str) -> None:
    """A folder that output files go into: it exists, is a folder and is writable (checked
    before the work, so that no finished run is lost)."""
    if not os.path.exists(folder):
        raise AzsimError(f"{option} {folder}: no such folder; make it first")
    if not os.path.isdir(folder):
        raise AzsimError(f"{option} {folder}: is a file; give a folder")
    if not os.access(folder, os.W_OK):
        raise AzsimError(f"{option} {folder}: the folder is not writable")


def _check_model_options(model, overrides, weights, prune) -> None:
    """What run and eval would accept and silently not do: ``--prune M`` with nothing to
    prune (``azsim prune`` refuses it: "with neither nothing would be pruned"), and ``--branch``
    with other ``--weights`` while the model's cheap branch was trained for its own weights
    (``small-branch60`` is small's encoder pruned and distilled: on a pruned model's encoder
    it saved 7.5 % of the MACs at +2.7 WER, without a word)."""
    from .compress.prune import prunes
    from .config import load_model_config
    from .config.loader import override_key
    from .model.loading import resolve_weights_path
    cfg = load_model_config(model, overrides)
    if prune is not None and not prunes(cfg.prune, cfg.sparsity):
        raise AzsimError(f"--prune {prune}: model.sparsity = {cfg.sparsity:g}, so nothing "
                         "would be pruned; give --sparsity S (or an nm:N:M pattern, which "
                         "sets its own)")
    given = any(override_key(o) == "model.branch.weights" for o in overrides)
    if cfg.branch.enabled and weights is not None and cfg.branch.weights and not given:
        own = resolve_weights_path(cfg, cfg.weights) if cfg.weights else None
        if own is None or os.path.realpath(resolve_weights_path(cfg, weights)) != \
                os.path.realpath(own):
            raise AzsimError(f"--branch with --weights {weights}: the model's cheap branch "
                             f"(model.branch.weights = {cfg.branch.weights}) belongs to its "
                             f"own weights ({cfg.weights or 'generated'}); give "
                             "--branch-weights for these weights' cheap branch, or --set "
                             "model.branch.weights='\"\"' to prune their encoder to "
                             "model.branch.sparsity")


def _branch_overrides(branch: bool, branch_weights) -> list[str]:
    """``--branch`` and ``--branch-weights`` (issue #7) as --set model.branch.* overrides."""
    out = ["model.branch.enabled=true"] if branch or branch_weights is not None else []
    if branch_weights is not None:
        out.append(f"model.branch.weights={json.dumps(branch_weights)}")
    return out


def _lattice_stems(files: list[str], paths: list[str]) -> list[str]:
    """File stems for the lattices of utterances ``files`` (their names), one per utterance
    and all different: the audio file's stem (a test set's utterance ``test/0007`` as
    ``test_0007``); where two audio files share a name, their ``paths`` (the --audio values)
    add parent folders until they differ (``a/same.wav``, ``b/same.wav``: ``a_same``,
    ``b_same``), and one name given twice (run refuses a file twice since 2026-12-07) gets
    its position (``same_1``, ``same_2``)."""
    def flat(parts) -> str:
        # (an utterance named by an absolute path, two files of one name: no leading "_")
        return "_".join(part for part in os.path.splitext("/".join(parts))[0]
                        .replace(os.sep, "/").split("/") if part)

    stems = base = [flat([f]) for f in files]
    if len(paths) == len(files):
        split = [os.path.normpath(os.path.abspath(p)).split(os.sep) for p in paths]
        for depth in range(2, max(map(len, split), default=1) + 1):
            clash = {s for s in stems if stems.count(s) > 1}
            if not clash:
                break
            stems = [flat(parts[-depth:]) if stem in clash else stem
                     for stem, parts in zip(stems, split)]
    clash = {s for s in stems if stems.count(s) > 1}
    return [f"{b}_{k + 1}" if s in clash else s for k, (s, b) in enumerate(zip(stems, base))]


def _save_lattices(data: dict, save_dir: str, audio_paths: list[str],
                   json_dest: str | None = None) -> None:
    """Write each utterance's serialized lattice as DIR/<stem>.azl (:func:`_lattice_stems`)."""
    import base64
    rows = data["lattice"]["utterances"]
    # an audio file is named by its path where two share a name; its stem starts from the
    # file's name, and _lattice_stems adds folders until the stems differ
    given = set(audio_paths)
    stems = _lattice_stems([os.path.basename(row["file"]) if row["file"] in given
                            else row["file"] for row in rows], audio_paths)
    for row, stem in zip(rows, stems):
        path = os.path.join(save_dir, stem + ".azl")
        check_not_an_output(path, f"--save-lattice {save_dir}", json_dest)
        try:
            with output_file(path, "wb") as fh:   # whole, or not at all
                fh.write(base64.b64decode(row["azl_base64"]))
        except OSError as exc:
            raise AzsimError(f"--save-lattice {save_dir}: cannot write {path} "
                             f"({exc.strerror})") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="azsim")
def cli() -> None:
    """azsim: simulate on-device RNN-T speech recognition on a neural edge processor."""
    # messages name this command's options (--test NAME), not the API's parameters
    click.get_current_context().with_resource(cli_names())


@cli.command()
@click.option("--model", "model", type=MODEL, default=DEFAULT_MODEL, show_default=True,
              metavar="NAME|PATH",
              help="model preset name or TOML file")
@click.option("--weights", type=WEIGHTS, default=None, metavar="FILE.npz",
              help="float weights (.npz, azsim schema); default: the preset's (small: the "
                   "shipped trained weights; tiny, he2019: generated from the seed)")
@click.option("--hw", "hardware", type=HARDWARE, default="az-edge", show_default=True,
              metavar="NAME|PATH",
              help="hardware preset name or TOML file")
@click.option("--audio", type=AUDIO, multiple=True, metavar="WAV",
              help="16-bit mono WAV file (repeatable); default: the shipped utterances")
@click.option("--test", "testset", type=TESTSET, default=None, metavar="NAME|FILE|DIR",
              help="run a test set instead of audio files (as azsim eval: test, names, a "
                   "corpus .npz split, or a folder with transcripts.tsv); WER on all of it")
@click.option("--utterances", type=int, default=None, metavar="N",
              help="with --test: its first N utterances")
@click.option("--bits", type=int, default=None, help="weight bit-width (1..8)")
@click.option("--sparsity", type=float, default=None,
              help="fraction of weights pruned to zero (0..0.99); --set model.sparsity")
@click.option("--prune", default=None, metavar="METHOD",
              help="magnitude, global, erk, nm:N:M or balanced:PES; --set model.prune")
@click.option("--format", "weight_format", default=None, metavar="NAME",
              help=f"weight stream format: {', '.join(WEIGHT_FORMATS)}")
@click.option("--codebook", is_flag=True, default=False,
              help="weight sharing: 2^bits shared values per layer (--set model.quantizer=codebook)")
@click.option("--gptq", is_flag=True, default=False, help=GPTQ_HELP)
@click.option("--beam", type=int, default=None, metavar="N",
              help="beam search keeping N hypotheses (0 or 1 = greedy); --set model.decode.beam")
@click.option("--context", type=CONTEXT, default=None, metavar="FILE",
              help="biasing phrases, one per line (needs --beam >= 2)")
@click.option("--context-weight", "context_weight", type=float, default=None, metavar="NATS",
              help="bonus per matched character, nats (default: the model's "
                   "model.decode.context_weight; small: 1.75, tiny and he2019: 1.5)")
@click.option("--endpoint-final-ms", "endpoint_final_ms", type=float, default=None,
              metavar="MS", help="final end-pointer: trailing silence, ms (default 600)")
@click.option("--endpoint-speculative-ms", "endpoint_speculative_ms", type=float,
              default=None, metavar="MS",
              help="speculative end-pointer: trailing silence, ms (default 400)")
@click.option("--endpoint-tail-ms", "endpoint_tail_ms", type=float, default=None, metavar="MS",
              help="append MS of silence to each utterance so the end-pointers can fire "
                   "(needed for them to report on audio that ends in speech)")
@click.option("--save-lattice", "lattice_dir", type=FOLDER, default=None, metavar="DIR",
              help="write each utterance's lattice to DIR/<name>.azl")
@click.option("--branch", is_flag=True, default=False,
              help="branching encoder: a cheap branch and a per-step arbitrator "
                   "(--set model.branch.*)")
@click.option("--branch-weights", "branch_weights", type=BRANCH_WEIGHTS, default=None,
              metavar="NAME|FILE.npz",
              help="float weights of the cheap branch (implies --branch): a model of "
                   "the same shape or an encoder-only file such as the shipped "
                   "small-branch60; default: the model's model.branch.weights (small: "
                   "small-branch60), or with none the full model pruned to "
                   "model.branch.sparsity")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)
@click.option("--json", "json_dest", default=None, metavar="PATH|-",
              help="write the full report as JSON to PATH, or to stdout with -")
def run(model, weights, hardware, audio, testset, utterances, bits, sparsity, prune,
        weight_format, codebook, gptq, beam, context, context_weight, endpoint_final_ms,
        endpoint_speculative_ms, endpoint_tail_ms, lattice_dir, branch, branch_weights,
        overrides, json_dest) -> None:
    """Run the model on audio in integer arithmetic and report its cost on the processor."""
    from .api import simulate
    from .config.loader import override_key
    from .report.render import render_text

    quiet = json_dest == "-"
    if json_dest not in (None, "-"):
        _check_writable(json_dest)  # before the work, so no finished run is lost
    if lattice_dir is not None:
        _check_output_folder(lattice_dir, "--save-lattice")

    def progress(stage: str, done: int, total: int) -> None:
        if not quiet and sys.stderr.isatty():
            click.echo(f"\r{stage}: {done}/{total}", err=True, nl=done == total)

    overrides = _with_shorthands(
        overrides, _compression_overrides(sparsity, prune, weight_format, codebook, gptq)
        + _decode_overrides(beam, context, context_weight, endpoint_final_ms,
                            endpoint_speculative_ms, endpoint_tail_ms)
        + _branch_overrides(branch, branch_weights)
        + ([f"model.weight_bits={bits}"] if bits is not None else []))
    _check_model_options(model, overrides, weights, prune)
    report = simulate(model=model, hardware=hardware, audio=list(audio) or None, bits=None,
                      overrides=overrides, weights=weights, progress=progress,
                      testset=testset, utterances=utterances)
    data = report.to_dict()
    if not quiet:   # first: a JSON write that fails (a full disk) must not lose the report
        set_endpoint = any(override_key(o).startswith("model.decode.endpoint_")
                           for o in overrides)
        click.echo(render_text(data, endpoint=set_endpoint))
    if json_dest is not None:
        _write_json(data, json_dest)
    if lattice_dir is not None:   # last: a failed write must not lose the report
        _save_lattices(data, lattice_dir, list(audio), json_dest)


# What `azsim compress` calibrates gptq and obs pruning on, as it says in its output.
CALIBRATION_NOTE = ("the shipped dev calibration set, as azsim eval and azsim run --test are "
                    "(azsim run on WAV files calibrates on its shipped WAVs, so its gptq and "
                    "obs codes, and their bytes, differ)")
# What encoding given integer codes (azsim compress --weights) reads of the model config.
_RAW_CODES_SETTINGS = ("model.weight_bits", "model.pointer_bits", "model.rle_index_bits")


@cli.command()
@click.option("--model", "model", type=MODEL, default=DEFAULT_MODEL, show_default=True,
              metavar="NAME|PATH",
              help="model preset name or TOML file (its weights are pruned and quantized)")
@click.option("--weights", type=InputPath("an .npz or .npy file of integer matrices"),
              default=None, metavar="FILE.npz|FILE.npy",
              help="integer matrices to encode losslessly as given (instead of --model)")
@click.option("--bits", type=int, default=None, help="weight bit-width (1..8)")
@click.option("--sparsity", type=float, default=None, help="fraction of weights pruned (0..0.99)")
@click.option("--prune", default=None, metavar="METHOD",
              help="magnitude, global, erk, nm:N:M or balanced:PES")
@click.option("--format", "weight_format", default="all", show_default=True,
              type=click.Choice(("all",) + WEIGHT_FORMATS),
              help="weight stream format")
@click.option("--codebook", is_flag=True, default=False, help="weight sharing (2^bits values per layer)")
@click.option("--gptq", is_flag=True, default=False, help=GPTQ_HELP)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=_SET_HELP)
@click.option("--json", "json_dest", default=None, metavar="PATH|-",
              help="write the results as JSON to PATH, or to stdout with -")
@click.option("--save", "save_dir", type=FOLDER, default=None, metavar="DIR",
              help="also write every stream to DIR/<matrix>.<format>.azw (see azsim decode)")
def compress(model, weights, bits, sparsity, prune, weight_format, codebook, gptq, overrides,
             json_dest, save_dir) -> None:
    """Encode a model's weights in each format: bytes, bits per weight, exact round trip."""
    from . import config as cfgmod
    from .compress import survey as sv
    from .config.loader import override_key
    from .config.schema import layer_bit_overrides, matrix_bit_widths

    _reject_hw_sets(overrides, "compress", "encodes weights only")
    if json_dest not in (None, "-"):
        _check_writable(json_dest)
    if save_dir is not None:
        _check_output_folder(save_dir, "--save")
    if weights is not None:   # given codes are encoded as they are: these would do nothing
        model_given = click.get_current_context().get_parameter_source("model") \
            != click.core.ParameterSource.DEFAULT
        given = [flag for flag, on in (("--model", model_given),
                                       ("--sparsity", sparsity is not None),
                                       ("--prune", prune is not None), ("--codebook", codebook),
                                       ("--gptq", gptq)) if on]
        if given:
            raise AzsimError(f"{given[0]} with --weights {weights}: --weights encodes integer "
                             "codes as given; a model and its pruning and quantizing apply "
                             "only without --weights")
    overrides = _with_shorthands(
        overrides, _compression_overrides(sparsity, prune, None, codebook, gptq)
        + ([f"model.weight_bits={bits}"] if bits is not None else []))
    cfg = cfgmod.load_model_config(model, overrides)
    keys = [override_key(o) for o in overrides]
    if "model.weight_format" in keys:
        raise AzsimError(f"--set {overrides[keys.index('model.weight_format')]}: azsim compress "
                         "encodes in the formats --format names; give --format instead")
    if weights is not None:   # settings of the model's own weights would do nothing here
        ignored = [o for o, key in zip(overrides, keys) if key not in _RAW_CODES_SETTINGS]
        if ignored:
            raise AzsimError(f"--set {' --set '.join(ignored)} with --weights {weights}: "
                             "--weights encodes integer codes as given; of the model.* "
                             f"settings only {', '.join(_RAW_CODES_SETTINGS)} apply to them")
    formats = sv.ALL_FORMATS if weight_format == "all" else (weight_format,)
    needs_data = cfg.quantizer == "gptq" or cfg.prune_saliency == "obs"
    if weights is not None:
        codes = sv.load_integer_matrices(weights, cfg.weight_bits)
        bits = cfg.weight_bits
        source = weights
        side_bytes = None   # bare codes: no layers, so no biases or requantization
    else:
        from .evaluate import calibration_utterances
        from .compress.pipeline import is_prunable
        from .model.loading import calibration_stats, model_weights, pruned_weights
        # gptq's codes and obs pruning depend on the inputs: the shipped calibration
        # utterances, as `azsim eval` calibrates (read only when one of them needs them)
        calibration = calibration_utterances(cfg) if needs_data else []
        w, compensate = pruned_weights(model_weights(cfg), cfg, calibration)
        grams = None
        if cfg.quantizer == "gptq":
            grams = calibration_stats(w, cfg, calibration, input_grams=True).grams
        bits = matrix_bit_widths(cfg, cfg.weight_bits, [n for n in w if is_prunable(n)])
        codes = sv.model_codes(w, bits, cfg.quantizer, grams, compensate, cfg.weight_range)
        source = f"model {cfg.name}"
        from .compress.sidecar import side_bytes_from_weights
        side_bytes = side_bytes_from_weights(w)
    skipped = {}
    if weight_format == "all" and any(sv.bits_of(bits, n) == 1 and np.count_nonzero(q == 0)
                                      for n, (q, _) in codes.items()):
        # 1-bit dense cannot hold zeros: leave it out of "all", and say so in the table and
        # the JSON (it was dropped silently); asked for by name, the encoder's one-line error
        # says why.
        formats = tuple(f for f in formats if f != "dense")
        skipped["dense"] = ("1-bit dense holds only -1/+1 codes, and these matrices have zero "
                            "codes")
    streams = {} if save_dir is not None else None
    if save_dir is not None:   # each name becomes DIR/<name>.<format>.azw: no path in it
        bad = [n for n in codes if n in ("", ".", "..") or os.path.basename(n) != n
               or "\\" in n]
        if bad:   # an .npz key '../x' or '/tmp/x' wrote outside DIR (compression audit)
            raise AzsimError(f"--save {save_dir}: matrix name {bad[0]!r} is not a file name "
                             "(--save writes DIR/<name>.<format>.azw); rename that array")
    try:
        results = sv.survey(codes, bits, formats, streams=streams,
                            pointer_bits=cfg.pointer_bits, rle_index_bits=cfg.rle_index_bits)
    except ConfigError as exc:
        # the encoder names the config field; here the format was given as --format (an
        # audit: "model.weight_format = 'dense' at 1 bits" for `--format dense`)
        field = "model.weight_format = "
        if not str(exc).startswith(field):
            raise
        value, _, rest = str(exc)[len(field):].partition(" ")
        raise ConfigError(f"--format {value.strip(chr(39))} {rest}") from None
    if streams and weights is not None:
        # a stream named like the input (DIR/<array>.<format>.azw given as --weights) replaced
        # it, exit 0 (an audit, 2026-12-07): refused before anything is written
        source_file = os.path.realpath(weights)
        for name in streams:
            if os.path.realpath(os.path.join(save_dir, name)) == source_file:
                raise AzsimError(f"--save {save_dir}: its file {name} is the --weights input "
                                 f"{weights}; give --save another folder (nothing was written)")
    n = sum(q.size for q, _ in codes.values())
    nnz = sum(int(np.count_nonzero(q)) for q, _ in codes.values())
    data = {"azsim_version": __version__, "source": source, "matrices": len(codes), "weights": n,
            "weight_bits": cfg.weight_bits,
            # the layers model.layer_bits sets to another width: {layer: bits}
            "layer_bits": {} if weights is not None else layer_bit_overrides(cfg),
            # code bits per weight over these matrices (as azsim run's model record; the
            # README promised it here, and only run had it: a compression audit, 2026-12-07)
            "weight_bits_mean": (sum(sv.bits_of(bits, name) * q.size
                                     for name, (q, _) in codes.items()) / n if n else 0.0),
            # a --weights file's codes are given, not quantized here
            "quantizer": None if weights is not None else cfg.quantizer,
            "weight_range": None if weights is not None else cfg.weight_range,
            "sparsity": 1.0 - nnz / n if n else 0.0,
            # how one-shot pruning chose the zeros; a --weights file's zeros are its own
            "prune": None if weights is not None else cfg.prune,
            "prune_saliency": None if weights is not None else cfg.prune_saliency,
            "formats": [r.to_dict() for r in results],
            "formats_skipped": skipped,
            # the layers' per-row biases and requantization multipliers and shifts, the same
            # in every format (azsim.compress.sidecar), which azsim run stores and fetches
            # beside the weights; None for bare codes
            "weight_side_bytes": side_bytes,
            # the data gptq's rounding and obs pruning saw: eval's, not run's (an audit found
            # run on WAV files, calibrated on its shipped WAVs, encoding other codes)
            "calibration": CALIBRATION_NOTE if weights is None and needs_data else None}
    def table() -> None:
        if json_dest == "-":
            return
        from .report.render import layer_bits_suffix, mean_bits_suffix, pruning_suffix
        grid = ("codes as given" if weights is not None else cfg.quantizer
                + ("" if cfg.weight_range == "max" else f", {cfg.weight_range} range"))
        how = "" if weights is not None else \
            pruning_suffix(cfg.prune, cfg.sparsity, cfg.prune_saliency)
        click.echo(f"{source}: {len(codes)} matrices, {n:,} weights at {cfg.weight_bits} bits"
                   f"{layer_bits_suffix(data['layer_bits'])}{mean_bits_suffix(data)} "
                   f"({grid}), "
                   f"sparsity {data['sparsity']:.3f}{how}")
        click.echo(f"  {'format':<10}{'bytes':>14}{'bits/weight':>13}{'vs fp32':>9}"
                   f"{'vs int8':>9}{'round trip':>12}")
        for r in data["formats"]:
            click.echo(f"  {r['name']:<10}{r['bytes']:>14,}{r['bits_per_weight']:>13.3f}"
                       f"{r['ratio_to_fp32']:>8.1f}x{r['ratio_to_int8']:>8.2f}x"
                       f"{'exact' if r['roundtrip_exact'] else 'MISMATCH':>12}")
        for name, why in skipped.items():
            click.echo(f"  {name:<10}{'-':>14}  (not encoded: {why})")
        if side_bytes:
            click.echo(f"  + {side_bytes:,} bytes of per-row biases, requantization "
                       "multipliers and shifts in every format (azsim run stores and fetches "
                       "them beside the weights)")
        if data["calibration"]:
            click.echo(f"  calibrated on {data['calibration']}")

    def files() -> None:
        if json_dest not in (None, "-"):
            _write_json(data, json_dest)
        for name, stream in (streams or {}).items():
            check_not_an_output(os.path.join(save_dir, name), f"--save {save_dir}", json_dest)
            try:
                with output_file(os.path.join(save_dir, name), "wb") as fh:
                    fh.write(stream)
            except OSError as exc:
                raise AzsimError(f"--save {save_dir}: cannot write {name} "
                                 f"({exc.strerror or exc}); the results above are "
                                 "complete") from None

    # the files first, then the table: a standard output that fails (`| head -1`, a full
    # disk) lost the record and every stream (an audit, 2026-12-07); a file that cannot be
    # written still leaves the table
    _files_then_stdout(files, table)
    if json_dest == "-":
        _write_json(data, "-")


def _files_then_stdout(files, printed) -> None:
    """Write a command's files (``files()``), then its terminal output (``printed()``): the
    output is printed also when a file fails, before that error is raised."""
    try:
        files()
    except AzsimError:
        printed()
        raise
    printed()


@cli.command()
@click.argument("stream_file", type=InputPath("a weight stream written by azsim compress --save"),
                metavar="FILE.azw")
@click.option("--out", default=None, metavar="FILE.npy", help="write the decoded int8 codes")
@click.option("--json", "json_dest", default=None, metavar="PATH|-",
              help="write what the stream holds as JSON to PATH, or to stdout with -")
def decode(stream_file, out, json_dest) -> None:
    """Check and decode a weight stream written by `azsim compress --save`."""
    from .compress.pipeline import decode_stream

    if out is not None:   # before decoding: numpy would write OUT.npy for any other name
        _check_writable(out, "--out", "a file path ending in .npy")
        if not out.endswith(".npy"):
            raise AzsimError(f"--out {out}: the output name must end in .npy (numpy would "
                             f"write {out}.npy)")
    if json_dest not in (None, "-"):
        _check_writable(json_dest)
    # a regular file only (/dev/zero would fill the memory): 2 GiB is 8 bytes a weight at
    # the most weights a stream may declare (MAX_DECODED_WEIGHTS), above any format's size
    stream = read_small_file(stream_file, stream_file, limit_mb=2048)
    try:
        name, bits, codes = decode_stream(stream)
    except AzsimError as exc:
        raise AzsimError(f"{stream_file}: {exc}") from None
    nnz = int(np.count_nonzero(codes))
    data = {"file": stream_file, "format": name, "bits": bits, "shape": list(codes.shape),
            "bytes": len(stream), "nonzeros": nnz,
            "sparsity": 1.0 - nnz / codes.size if codes.size else 0.0,
            "bits_per_weight": 8.0 * len(stream) / codes.size if codes.size else 0.0}
    if out is not None:
        data["out"] = out
    written = []

    def files() -> None:
        if out is not None:
            try:   # whole or not at all: a failed write left a truncated .npy (a CLI audit)
                with output_file(out, "wb") as fh:
                    np.save(fh, codes)
            except OSError as exc:
                raise AzsimError(f"--out {out}: cannot write ({exc.strerror or exc})") \
                    from None
            written.append(out)
        if json_dest not in (None, "-"):
            _write_json(data, json_dest)

    def summary() -> None:
        if json_dest == "-":
            return
        click.echo(f"{stream_file}: {name}, {bits}-bit, {codes.shape[0]}x{codes.shape[1]}, "
                   f"{len(stream):,} bytes ({data['bits_per_weight']:.3f} bits/weight), "
                   f"sparsity {data['sparsity']:.3f}; CRC and structure check out")
        if written:
            click.echo(f"int8 codes ({codes.shape[0]}x{codes.shape[1]}) -> {out}")

    # the files first: a standard output that fails lost the .npy (an audit, 2026-12-07)
    _files_then_stdout(files, summary)
    if json_dest == "-":
        _write_json(data, "-")


@cli.command()
@click.argument("suite", type=InputPath("a validation suite preset (eie) or a .toml file"),
                metavar="eie|FILE.toml")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="override a field of the suite's hardware, e.g. hw.queue_depth=4 (repeatable)")
@click.option("--max-error", "max_error", type=FiniteFloatRange(min=0.0), default=None,
              metavar="PCT", help="exit with status 1 if any layer's |error| exceeds PCT %")
@click.option("--json", "json_dest", default=None, metavar="PATH|-",
              help="write the results as JSON to PATH, or to stdout with -")
@click.option("--seed", type=click.IntRange(0, 2 ** 32 - 1), default=0, show_default=True,
              help="seed of the random matrices and activations")
def validate(suite, overrides, max_error, json_dest, seed) -> None:
    """Simulate published accelerator layers and compare with their published times."""
    from .validate import load_suite, render_text, run_suite

    if json_dest not in (None, "-"):
        _check_writable(json_dest)
    report = run_suite(load_suite(suite, overrides), seed=seed)
    if json_dest != "-":   # first: a JSON write that fails must not lose the report
        click.echo(render_text(report))
    if json_dest is not None:
        _write_json(report.to_dict(), json_dest)
    if max_error is not None:
        over = report.exceeding(max_error)
        if over:
            listed = ", ".join(f"{r.name} ({r.error_pct:+.1f} %)" for r in over)
            click.echo(f"azsim: validate: |error| above --max-error {max_error:g} %: {listed}",
                       err=True)
            sys.exit(1)


# Sweeps, results, reports and plots (issue #5) live in their own module.
from .cli_sweep import COMMANDS as _SWEEP_COMMANDS  # noqa: E402

for _command in _SWEEP_COMMANDS:
    cli.add_command(_command)


# Corpus synthesis, training and evaluation (issue #6).
from .cli_train import COMMANDS as _TRAIN_COMMANDS  # noqa: E402

for _command in _TRAIN_COMMANDS:
    cli.add_command(_command)


# Alternative spellings of context phrases (issue #7).
from .cli_context import COMMANDS as _CONTEXT_COMMANDS  # noqa: E402

for _command in _CONTEXT_COMMANDS:
    cli.add_command(_command)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """azsim's own warnings on one line; everything else as Python shows it."""
    if issubclass(category, AzsimWarning):
        click.echo(f"azsim: warning: {' '.join(str(message).split())}", err=True)
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


_python_showwarning = warnings.showwarning

# What a write to standard output fails with when its file or device is full or broken
# (`azsim run > /dev/full`). A closed pipe (EPIPE, `azsim ... | head`) never gets here: click's
# main() already ends those quietly with status 1, as a pipeline expects.
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _is_stdout(stream) -> bool:
    if stream is sys.stdout or stream is sys.__stdout__:
        return True
    try:   # click writes through its own text wrapper of the same file descriptor
        return callable(getattr(stream, "write", None)) and stream.fileno() == 1
    except (AttributeError, OSError, ValueError):
        return False


def _stdout_failure(exc: OSError) -> bool:
    """Whether ``exc`` was raised writing to standard output (click.echo or a command's own
    write to sys.stdout): the innermost frame was handed the stdout stream."""
    if exc.errno not in _OUTPUT_ERRNOS or exc.filename is not None or exc.__traceback__ is None:
        return False
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return any(_is_stdout(v) for v in list(tb.tb_frame.f_locals.values()))


def _silence_stdout() -> None:
    """Point file descriptor 1 at /dev/null so that Python's flush at exit does not fail again
    (and print a second error); under a test's captured stdout there is nothing to do."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a job scheduler's time limit) in azsim's own process: unwound as
    Ctrl-C is, so pools stop their workers and temporary folders are removed."""


def _on_sigterm(signum, frame) -> None:
    raise _Terminated()


def _default_sigterm_in_child() -> None:
    """A process forked while the handler is installed (a corpus synthesis pool) dies of
    SIGTERM at once, as before: a Python handler runs only when the main thread gets back to
    the interpreter, and a pool worker waiting for a task on a semaphore, the signal taken by
    another of its threads, never did -- ``Pool.terminate`` then waited for it forever (a
    test run hung so on 2026-12-06)."""
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


os.register_at_fork(after_in_child=_default_sigterm_in_child)


class _DiagnosticStream(io.TextIOBase):
    """Standard error that drops what it cannot write. Progress, warnings and notes are not
    the command's result: a closed stderr (``2>&-``, ``sys.stderr`` None) or a full one
    (``2>/dev/full``) made ``run``, ``eval`` and ``sweep`` exit 1 with no report, a sweep
    having stored nothing (a CLI audit, 2026-12-06). Errors still set the exit status."""

    def __init__(self, stream) -> None:
        super().__init__()
        self._stream = stream

    @property
    def encoding(self):
        return getattr(self._stream, "encoding", None) or "utf-8"

    @property
    def errors(self):
        return getattr(self._stream, "errors", None) or "strict"

    def writable(self) -> bool:
        return True

    def write(self, text):
        try:
            return self._stream.write(text) if self._stream is not None else len(text)
        except (OSError, ValueError):
            return len(text)

    def flush(self) -> None:
        try:
            if self._stream is not None:
                self._stream.flush()
        except (OSError, ValueError):
            pass

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        if self._stream is None:
            raise io.UnsupportedOperation("standard error is closed")
        return self._stream.fileno()


def main(argv=None) -> None:
    previous = None
    if threading.current_thread() is threading.main_thread():   # signal handlers need it
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    stderr = sys.stderr
    if not isinstance(stderr, _DiagnosticStream):
        sys.stderr = _DiagnosticStream(stderr)
    try:
        _main(argv)
    finally:   # main() called in-process (tests, notebooks) leaves the caller's handler
        sys.stderr = stderr
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _refuse_repeated_options(argv) -> None:
    """A single-valued option given twice: click keeps the last and says nothing, so
    ``--bits 4 --bits 8`` ran at 8 bits and ``--json a --json b`` wrote b alone (a CLI
    audit, 2026-12-06), while ``--set`` settings given twice were already refused."""
    args = list(sys.argv[1:] if argv is None else argv)
    cmd, i = cli, 0
    ctx = click.Context(cli)
    while isinstance(cmd, click.Group):   # down to the command the arguments are for
        while i < len(args) and args[i].startswith("-"):
            i += 1
        sub = cmd.get_command(ctx, args[i]) if i < len(args) else None
        if sub is None:
            return
        cmd, i = sub, i + 1
    options = {}
    for param in cmd.params:
        if isinstance(param, click.Option):
            for opt in param.opts + param.secondary_opts:
                options[opt] = param
    seen: dict[str, str] = {}
    rest = args[i:]
    j = 0
    while j < len(rest):
        token = rest[j]
        if token == "--":
            break
        if token.startswith("--"):
            name, attached = token.split("=", 1)[0], "=" in token
        elif token.startswith("-") and len(token) > 2 and token[:2] in options:
            name, attached = token[:2], True   # -j2
        else:
            name, attached = token, False
        param = options.get(name)
        if param is not None:
            if not (param.multiple or param.count):
                shown = token if attached or param.is_flag or j + 1 >= len(rest) \
                    else f"{token} {rest[j + 1]}"
                if param.name in seen:
                    raise AzsimError(f"{name} is given twice ({seen[param.name]}, then "
                                     f"{shown}); give it once")
                seen[param.name] = shown
            if not (param.is_flag or attached):
                j += 1   # its value, whatever it looks like
        j += 1


def _main(argv) -> None:
    warnings.showwarning = _show_warning
    if sys.stdout is None:   # started with fd 1 closed (`azsim run >&-`): click would print
        # the report nowhere and exit 0, and `results export` die on None.write
        _fail("standard output is closed; redirect it to a file, or to /dev/null to discard "
              "the report")
    try:
        _refuse_repeated_options(argv)
        cli.main(args=argv, prog_name="azsim", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:  # pragma: no cover - click >= 8.2
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except click.UsageError as exc:
        _fail(exc.format_message())
    except click.ClickException as exc:
        _fail(exc.format_message())
    except click.Abort as exc:
        if isinstance(exc.__cause__, _Terminated):
            click.echo("azsim: terminated", err=True)
            sys.exit(128 + signal.SIGTERM)
        click.echo("azsim: interrupted", err=True)
        sys.exit(130)
    except _Terminated:   # outside click's own handling
        click.echo("azsim: terminated", err=True)
        sys.exit(128 + signal.SIGTERM)
    except AzsimError as exc:
        _fail(str(exc))
    except OSError as exc:
        if not _stdout_failure(exc):
            raise
        _silence_stdout()
        _fail(f"standard output: cannot write ({exc.strerror}); redirect it to a file or "
              "pipe that can take the report")


if __name__ == "__main__":  # pragma: no cover
    main()
