"""``azsim corpus``, ``azsim train`` and ``azsim eval`` (issue #6).

``corpus`` and ``eval`` need only the core dependencies (plus espeak-ng on PATH for corpus);
``train`` needs the optional extra ``pip install "azsim[train]"`` (PyTorch) and imports it
only when it runs.
"""
from __future__ import annotations

import os
import sys
import time

import click
import numpy as np

from .cli_types import (BRANCH_WEIGHTS, CONTEXT, EVAL_JSON, MODEL, TESTSET, WEIGHTS,
                        FiniteFloatRange, check_not_empty)
from .config import DEFAULT_MODEL
from .config.schema import WEIGHT_FORMATS
from .errors import AzsimError, quoted
from .paths import load_json_file


def _make_out_dir(label: str, path: str, create: bool = True) -> None:
    """Create an output folder before any work, so a bad path fails first, in one line; with
    ``create=False`` only check that it can be made (for a command that still reads inputs
    that may fail, and makes the folder itself after them)."""
    check_not_empty(label, path, "a folder (it is created if missing)")
    if os.path.exists(path) and not os.path.isdir(path):
        raise AzsimError(f"{label} {path}: is a file; give a folder (it is created if missing)")
    if not create:
        base = os.path.abspath(path)
        while not os.path.exists(base):
            base = os.path.dirname(base)
        if not os.path.isdir(base) or not os.access(base, os.W_OK):
            raise AzsimError(f"{label} {path}: cannot create the folder ({base} is not a "
                             "writable folder)")
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise AzsimError(f"{label} {path}: cannot create the folder ({exc.strerror})") from None
    if not os.access(path, os.W_OK):
        raise AzsimError(f"{label} {path}: folder is not writable")


def _stderr_progress(quiet: bool):
    state = {"t0": time.time()}

    def progress(stage: str, done: int, total: int) -> None:
        if quiet or not sys.stderr.isatty():
            return
        rate = done / max(1e-9, time.time() - state["t0"])
        eta = (total - done) / rate if rate > 0 else 0
        click.echo(f"\r{stage}: {done}/{total}  eta {eta:4.0f} s", err=True, nl=done == total)
    return progress


@click.command()
@click.argument("out_dir", metavar="DIR")
@click.option("--train", "n_train", type=click.IntRange(0), default=24000, show_default=True,
              help="training utterances")
@click.option("--dev", "n_dev", type=click.IntRange(0), default=300, show_default=True)
@click.option("--test", "n_test", type=click.IntRange(0), default=250, show_default=True)
@click.option("--names", "n_names", type=click.IntRange(0), default=120, show_default=True,
              help="test utterances with contact names never used in training")
@click.option("--names-train", "n_names_train", type=click.IntRange(0), default=0,
              show_default=True,
              help="extra training utterances calling the training-only name list "
                   "(open-vocabulary names; read together with the train split)")
@click.option("--pseudo-names", type=click.IntRange(0), default=0, show_default=True,
              help="also call this many generated pseudo-names in the --names-train requests "
                   "(spelling from sound; none near the unseen test names)")
@click.option("--random-voices", type=FiniteFloatRange(0, 1), default=0.0, show_default=True,
              help="share of the training utterances spoken by a perturbed training voice "
                   "(formants, pitch and roughness moved; held-out voices stay as shipped)")
@click.option("--pauses", type=FiniteFloatRange(0, 1), default=0.0, show_default=True,
              help="share of the requests (every split) spoken with a silence after a random "
                   "inner word, as users hesitate; the end-pointers (issue #7) must not end "
                   "them there and the model must carry on after it")
@click.option("--pause-ms", type=(FiniteFloatRange(0, 10000), FiniteFloatRange(0, 10000)),
              default=(200.0, 1000.0), show_default=True, metavar="MIN MAX",
              help="range of those silences, milliseconds (uniform)")
@click.option("--seed", type=click.IntRange(0, 2 ** 31 - 1), default=0, show_default=True)
@click.option("--voice-split-seed", type=click.IntRange(0, 2 ** 31 - 1), default=None,
              help="seed of the train/dev/test voice split (default: --seed); keep an existing "
                   "corpus's value to draw fresh training data for the same held-out voices")
@click.option("--grammar", "grammar_version", type=click.IntRange(0), default=None,
              help="the grammar version to draw the requests from: 0 = the shipped test "
                   "set's, 1 = before the open slots (the other evaluation sets of issue #6), "
                   "2 = round 1 of them, 3 = round 2 (the default), 4 = 3 with 'ok' written "
                   "'okay' and times' 'a m' spoken 'a.m.'; the same seed draws the sentences "
                   "the code of that version drew")
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="synthesis processes (default: all cores)")
def corpus(out_dir, n_train, n_dev, n_test, n_names, n_names_train, pseudo_names,
           random_voices, pauses, pause_ms, seed, voice_split_seed, grammar_version,
           jobs) -> None:
    """Synthesize the smart-speaker corpus with espeak-ng into DIR (log-mel features)."""
    from .corpus.build import build_corpus
    from .corpus.grammar import GRAMMAR_VERSION, GRAMMARS
    from .corpus.synth import espeak_binary

    if pseudo_names and not n_names_train:
        raise AzsimError(f"--pseudo-names {pseudo_names}: the pseudo-names are called in the "
                         "--names-train requests; give --names-train N > 0")
    if not n_train + n_dev + n_test + n_names + n_names_train:
        raise AzsimError(f"--train {n_train} --dev {n_dev} --test {n_test} --names {n_names} "
                         f"--names-train {n_names_train}: every split is empty, nothing to "
                         "synthesize; give at least one of them > 0")
    if pause_ms[0] > pause_ms[1]:
        raise AzsimError(f"--pause-ms {pause_ms[0]:g} {pause_ms[1]:g}: MIN is above MAX; give "
                         "MIN <= MAX")
    if not pauses and click.get_current_context().get_parameter_source("pause_ms") \
            == click.core.ParameterSource.COMMANDLINE:
        raise AzsimError(f"--pause-ms {pause_ms[0]:g} {pause_ms[1]:g}: no request gets a pause "
                         "(--pauses 0); give --pauses SHARE > 0")
    if random_voices and not n_train + n_names_train:
        raise AzsimError(f"--random-voices {random_voices:g}: the perturbed speakers speak "
                         "training requests, and --train and --names-train are 0; give one "
                         "of them > 0")
    if grammar_version is None:
        grammar_version = GRAMMAR_VERSION
    elif grammar_version not in GRAMMARS:
        raise AzsimError(f"--grammar {grammar_version}: no such grammar version; give one of "
                         f"{', '.join(map(str, GRAMMARS))}")
    espeak_binary()  # fail before any work if espeak-ng is missing
    _make_out_dir("corpus DIR", out_dir)
    sizes = {"train": n_train, "dev": n_dev, "test": n_test, "names": n_names}
    if n_names_train:
        sizes["names_train"] = n_names_train
    meta = build_corpus(out_dir, sizes, seed=seed, jobs=jobs,
                        progress=_stderr_progress(False), voice_split_seed=voice_split_seed,
                        pseudo_names=pseudo_names, random_voices=random_voices,
                        pauses=pauses, pause_ms=pause_ms, grammar_version=grammar_version)
    hours = {k: round(v / 3600, 2) for k, v in meta["seconds"].items()}
    paused = (f"; {pauses * 100:g} % of the requests with a pause of {pause_ms[0]:g}-"
              f"{pause_ms[1]:g} ms" if pauses else "")
    click.echo(f"corpus {out_dir}: {sizes} utterances, hours of audio {hours}{paused}; "
               f"grammar version {grammar_version} ({meta['grammar']})")


@click.command("corpus-merge")
@click.argument("out_dir", metavar="DIR")
@click.argument("sources", metavar="SOURCE...", nargs=-1, required=True)
def corpus_merge(out_dir, sources) -> None:
    """Concatenate the training splits of corpora SOURCE... into DIR (dev, test and names
    from the last SOURCE); e.g. the shipped 4-bit and 80 % models' runs/cu is
    'azsim corpus-merge runs/cu runs/c14 runs/c15'."""
    from .corpus.build import merge_corpora

    check_not_empty("corpus-merge DIR", out_dir, "a folder (it is created if missing)")
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise AzsimError(f"corpus-merge DIR {out_dir}: is a file; give a folder")
    meta = merge_corpora(out_dir, list(sources))
    hours = {k: round(v / 3600, 2) for k, v in meta["seconds"].items()}
    click.echo(f"corpus {out_dir}: {meta['sizes']} utterances, hours of audio {hours}")


@click.command("corpus-relabel")
@click.argument("out_dir", metavar="DIR")
@click.argument("source", metavar="SOURCE")
@click.option("--model", type=MODEL, default=None, metavar="NAME|FILE",
              help="the teacher's model preset (default: azsim's default model)")
@click.option("--weights", type=WEIGHTS, default=None, metavar="NAME|FILE",
              help="the teacher's weights: a shipped set's name or a .npz (default: the "
                   "model's own)")
def corpus_relabel(out_dir, source, model, weights) -> None:
    """Copy corpus SOURCE into DIR with the teacher's greedy transcripts of its training
    utterances (sequence-level distillation; the held-out splits and the features are
    SOURCE's, the original transcripts kept as source_texts)."""
    from . import config as cfgmod
    from .corpus.build import relabel_corpus
    from .model.loading import model_weights

    cfg = cfgmod.load_model_config(model or cfgmod.DEFAULT_MODEL, [])
    if weights is None and not cfg.weights:
        # a teacher of random weights writes nothing: every hypothesis empty, the corpus
        # copied as it was and stamped with that teacher (a CLI audit, 2026-12-07)
        raise AzsimError(f"--model {model}: its weights are generated from a seed, not "
                         "trained, so it cannot teach; give --weights NAME|FILE.npz or a "
                         "model with trained weights (small)")
    w = model_weights(cfg, weights)
    _make_out_dir("corpus-relabel DIR", out_dir, create=False)
    meta = relabel_corpus(out_dir, source, w, cfg, teacher=weights or cfg.weights or cfg.name,
                          progress=_stderr_progress(False))
    for split, c in meta["relabeled"].items():
        click.echo(f"corpus {out_dir}: {split}: the teacher's transcript differs from the "
                   f"corpus's in {c['changed']} of {c['utterances']} utterances "
                   f"({c['empty_kept_source']} empty hypotheses kept the corpus's)")


@click.command()
@click.option("--recipe", default="small", show_default=True,
              help="small, small-continue, small-vtlp, small-qat4, small-qat4-gptq, "
                   "small-qat4-gptq-mse (the shipped 4-bit model), small-sparse80-global then "
                   "small-sparse80-global-recover (the shipped 80 % model), small-sparse60, "
                   "small-names, ... "
                   "(azsim.train.recipes lists all)")
@click.option("--corpus", "corpus_dir", required=True, metavar="DIR",
              help="a corpus made by 'azsim corpus'")
@click.option("--out", "out_dir", required=True, metavar="DIR",
              help="writes DIR/weights.npz, DIR/last.pt, DIR/train.log.jsonl")
@click.option("--init", default=None, metavar="CHECKPOINT.pt|WEIGHTS.npz",
              help="start from this checkpoint (default for fine-tuning recipes: "
                   "the base recipe's DIR/../<base>/last.pt)")
@click.option("--epochs", type=FiniteFloatRange(min=0.01), default=None,
              help="override the recipe's epochs")
@click.option("--threads", type=click.IntRange(1), default=None,
              help="torch threads (default: the recipe's)")
@click.option("--lr", type=FiniteFloatRange(min=0, min_open=True), default=None,
              help="override the recipe's peak learning rate (e.g. to continue training)")
@click.option("--seed", type=click.IntRange(0, 2 ** 31 - 1), default=None,
              help="seed of torch, the batch order and the augmentation (default: the "
                   "recipe's, 0); another seed measures how much a result owes to chance")
@click.option("--kd-teacher", default=None, metavar="NAME|WEIGHTS.npz",
              help="distil from this model (a shipped set's name or a weights file) instead "
                   "of the recipe's teacher; needs a recipe with distillation (kd_weight)")
def train(recipe, corpus_dir, out_dir, init, epochs, threads, lr, seed,
          kd_teacher) -> None:
    """Train a shipped model's recipe with PyTorch (needs the [train] extra)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise AzsimError('azsim train needs PyTorch: pip install "azsim[train]"') from None
    import warnings
    from dataclasses import replace

    # PyTorch's note that its oneDNN kernels lack projected LSTMs (it falls back to its own):
    # two lines of its source on every run, about its speed, not the run's result
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")

    from .config import load_model_config
    from .train.loop import train as run_training
    from .train.recipes import RECIPES

    if recipe not in RECIPES:
        raise AzsimError(f"--recipe {recipe}: unknown; choose from {', '.join(RECIPES)}")
    from .corpus.build import check_training_corpus
    check_training_corpus(corpus_dir)
    tcfg, base = RECIPES[recipe]
    if epochs is not None:
        tcfg = replace(tcfg, epochs=epochs)
    if threads is not None:
        tcfg = replace(tcfg, threads=threads)
    if lr is not None:
        if lr < tcfg.final_lr:   # the recipe's cosine decay ends there (a ValueError traceback
            # until 2026-12-07; a training audit)
            raise AzsimError(f"--lr {lr:g}: below recipe {recipe}'s final learning rate "
                             f"{tcfg.final_lr:g}, where its cosine decay ends; give at least "
                             "that")
        tcfg = replace(tcfg, lr=lr)
    if seed is not None:
        tcfg = replace(tcfg, seed=seed)
    if kd_teacher is not None:
        if not tcfg.kd_weight:
            raise AzsimError(f"--kd-teacher {kd_teacher}: recipe {recipe} does not distil "
                             "(kd_weight 0); choose one that does, e.g. "
                             "small-sparse80-global-recover-kd")
        tcfg = replace(tcfg, kd_teacher=kd_teacher)
    if base and init is None:
        init = os.path.join(os.path.dirname(os.path.abspath(out_dir)), base, "last.pt")
    if init and os.path.isdir(init):
        raise AzsimError(f"--init {init}: is a folder; give a checkpoint file (a run's "
                         "last.pt) or a weights .npz")
    if init and not os.path.isfile(init):
        hint = f" (train recipe {base} first, or give --init)" if base else ""
        raise AzsimError(f"--init {init}: checkpoint not found{hint}")
    _make_out_dir("--out", out_dir, create=False)   # training makes it after reading --init
    if os.path.isdir(out_dir) and os.path.isfile(os.path.join(out_dir, "corpus.json")):
        # it wrote last.pt, weights.npz and its log among the corpus's splits
        raise AzsimError(f"--out {out_dir}: holds a corpus (corpus.json); give a folder of "
                         "its own for the run")
    done = [name for name in ("weights.npz", "last.pt", "train.log.jsonl")
            if os.path.exists(os.path.join(out_dir, name))]
    if done:   # a second run replaced the first's weights and appended to its log
        raise AzsimError(f"--out {out_dir}: holds a training run ({', '.join(done)}); give a "
                         "new folder (an earlier run's last.pt can be its --init)")

    def progress(entry: dict) -> None:
        if entry["event"] == "dev":
            extra = "".join(f" {k} {entry[k]:.3f}"
                            for k in ("grid_distance", "step_ratio", "sparsity") if k in entry)
            if "codes_moved" in entry:   # a share of ~1e-4 would print as 0.000
                extra += f" codes moved {entry['codes_moved'] * 100:.3f} %"
            click.echo(f"[{entry['elapsed_s']:7.0f} s] epoch {entry['epoch']} dev WER "
                       f"{entry['wer'] * 100:.2f} % CER {entry['cer'] * 100:.2f} %{extra}")
        elif entry["event"] == "ctc_head_warmup" and "skipped" in entry:
            click.echo(f"CTC head not warmed up: {entry['skipped']}")
        elif entry["event"] == "ctc_head_warmup":
            click.echo(f"CTC head warmed up alone for {entry['steps']} batches in "
                       f"{entry['seconds']:.0f} s: CTC loss {entry['ctc_first_tenth']:.1f} -> "
                       f"{entry['ctc_last_tenth']:.1f} per utterance")
        elif entry["event"] == "train" and entry["step"] % 250 == 0:
            click.echo(f"[{entry['elapsed_s']:7.0f} s] step {entry['step']}/"
                       f"{entry['total_steps']} loss {entry['loss']:.3f}")

    result = run_training(load_model_config("small", []), corpus_dir, out_dir, tcfg, init,
                          progress)
    click.echo(f"done in {result['elapsed_s']:.0f} s: best dev WER "
               f"{result['best']['wer'] * 100:.2f} % -> {out_dir}/weights.npz")


@click.command(name="eval")
@click.option("--model", "model", type=MODEL, default=DEFAULT_MODEL, show_default=True,
              metavar="NAME|PATH")
@click.option("--weights", type=WEIGHTS, default=None, metavar="NAME|FILE.npz",
              help="shipped weights (small, small-qat4, small-sparse80, small-sparse60) or a "
                   "file")
@click.option("--test", "testsets", type=TESTSET, multiple=True, default=("test",),
              show_default=True,
              metavar="NAME|FILE|DIR",
              help="shipped test set (test, names), a corpus .npz split, or a WAV folder "
                   "with transcripts.tsv; repeat it for several sets and their pooled WER")
@click.option("--utterances", type=int, default=None, metavar="N",
              help="each test set's first N utterances (a quick look; default all)")
@click.option("--bits", type=int, default=None, help="weight bit-width (1..8)")
@click.option("--sparsity", type=float, default=None, help="one-shot pruning (0..0.99)")
@click.option("--prune", default=None, metavar="METHOD")
@click.option("--format", "weight_format", default=None, metavar="NAME",
              help=f"weight stream format: {', '.join(WEIGHT_FORMATS)}")
@click.option("--codebook", is_flag=True, default=False)
@click.option("--gptq", is_flag=True, default=False,
              help="GPTQ rounding onto the uniform grid (--set model.quantizer=gptq)")
@click.option("--branch", is_flag=True, default=False,
              help="branching encoder (--set model.branch.*); also decodes without it and "
                   "reports the WER change and encoder MACs saved")
@click.option("--branch-weights", "branch_weights", type=BRANCH_WEIGHTS, default=None,
              metavar="NAME|FILE.npz",
              help="float weights of the cheap branch (implies --branch): a model of "
                   "the same shape or an encoder-only file such as small-branch60")
@click.option("--beam", type=int, default=None, metavar="N",
              help="beam search width (--set model.decode.beam; 1 = greedy)")
@click.option("--context", type=CONTEXT, default=None, metavar="FILE",
              help="biasing phrases (one per line, '@prefix WORDS', 'PHRASE | ALIAS ...'); "
                   "needs --beam >= 2; the record counts the phrases the hypotheses miss")
@click.option("--context-weight", "context_weight", type=float, default=None, metavar="NATS",
              help="biasing bonus per matched character (--set model.decode.context_weight)")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--float", "include_float", is_flag=True, default=False,
              help="also decode with the float golden model (greedy)")
@click.option("--show-errors", type=click.IntRange(0), default=0,
              help="print up to N misrecognized utterances")
@click.option("--by-voice", is_flag=True, default=False,
              help="also the WER of each speaker the test set records (a corpus split or "
                   "a shipped set; the JSON has it as by_voice either way)")
@click.option("--compare", "compare_path", type=EVAL_JSON, default=None, metavar="EVAL.json",
              help="an earlier 'azsim eval --json' of the same test set: report this WER "
                   "minus its WER with a 95 % paired bootstrap interval")
@click.option("--compare-float", "compare_float_path", type=EVAL_JSON, default=None,
              metavar="EVAL.json",
              help="as --compare, against the float model's hypotheses in an earlier "
                   "'azsim eval --float --json' (a compressed model against the float model "
                   "it was made from)")
@click.option("--json", "json_dest", default=None, metavar="PATH|-")
def eval_cmd(model, weights, testsets, utterances, bits, sparsity, prune, weight_format,
             codebook, gptq, branch, branch_weights, beam, context, context_weight, overrides,
             include_float, show_errors, by_voice, compare_path, compare_float_path,
             json_dest) -> None:
    """WER and CER of a model on a test set, by azsim's integer inference."""
    from .cli import (_branch_overrides, _check_model_options, _check_writable,
                      _compression_overrides, _decode_overrides, _reject_hw_sets,
                      _with_shorthands, _write_json)
    from .evaluate import evaluate_sets, pooled

    quiet = json_dest == "-"
    if quiet and show_errors:   # it was dropped without a word (a CLI audit, 2026-12-06)
        raise AzsimError(f"--show-errors {show_errors} with --json -: the listing is terminal "
                         "text, which --json - replaces (the JSON's hypotheses hold every "
                         "utterance's reference and hypothesis); give one of them")
    if json_dest not in (None, "-"):
        _check_writable(json_dest)
    _reject_hw_sets(overrides, "eval", "measures accuracy only")
    if compare_path and compare_float_path:
        raise AzsimError(f"--compare {compare_path} and --compare-float {compare_float_path}: "
                         "give one")
    option = "--compare-float" if compare_float_path else "--compare"
    compare_path = compare_path or compare_float_path
    baseline = _load_eval_records(compare_path, option, float_side=bool(compare_float_path)) \
        if compare_path else None
    if baseline is not None and len(baseline) != len(testsets):   # before any set is read
        raise AzsimError(f"{option} {compare_path}: holds {_n(len(baseline), 'test set')}, "
                         f"given {len(testsets)} --test value"
                         f"{'' if len(testsets) == 1 else 's'}; compare evaluations of the "
                         "same sets, in one order")
    overrides = _with_shorthands(
        overrides, _compression_overrides(sparsity, prune, weight_format, codebook, gptq)
        + _branch_overrides(branch, branch_weights)
        + _decode_overrides(beam, context, context_weight, None, None, None)
        + ([f"model.weight_bits={bits}"] if bits is not None else []))
    _check_model_options(model, overrides, weights, prune)
    results = evaluate_sets(model, testsets, None, overrides, weights, include_float,
                            _stderr_progress(quiet), baseline, f"{option} {compare_path}",
                            utterances)
    pool = pooled(results, baseline) if len(results) > 1 else None
    if not quiet:   # first: a JSON write that fails (a full disk) must not lose the report
        for result in results:
            _echo_eval(result, compare_path, show_errors)
            if by_voice:
                _echo_by_voice(result)
        if pool is not None:
            _echo_rates(f"pooled over {len(results)} sets", pool)
            if "compare" in pool:
                _echo_compare(pool["compare"], compare_path)
            if by_voice:
                _echo_by_voice(pool)
    if json_dest is not None:
        _write_json(results[0] if pool is None else {"sets": results, "pooled": pool},
                    json_dest)


def _echo_rates(head: str, rec: dict) -> None:
    """``HEAD (N utterances, W words): WER ... CER ...``, the float WER and the paired
    integer - float line when ``rec`` (one set's result, or the pooled one) has them."""
    line = (f"{head} ({_n(rec['utterances'], 'utterance')}, {_n(rec['words'], 'word')}): WER "
            f"{rec['wer'] * 100:.2f} %  CER {rec['cer'] * 100:.2f} %")
    if "float_wer" in rec:
        greedy = ", greedy" if rec.get("decode", {}).get("method") == "beam" else ""
        line += f"  (float WER {rec['float_wer'] * 100:.2f} %{greedy})"
    click.echo(line)
    if "context_phrases_missed" in rec:
        n, missed = rec["context_phrases_in_references"], rec["context_phrases_missed"]
        share = f" ({missed / n * 100:.1f} %)" if n else ""
        click.echo(f"  context phrases: {n} in the references, {missed} missed{share}")
    if "float_vs_integer" in rec:
        click.echo(_difference_line("integer - float", rec["float_vs_integer"]))


def _echo_eval(result: dict, compare_path, show_errors: int) -> None:
    """The lines ``azsim eval`` prints for one test set."""
    from .report.branch import branch_eval_line
    from .report.render import (layer_bits_suffix, mean_bits_suffix, pruning_suffix,
                                quantizer_suffix)

    d = result["decode"]
    search = f", beam {d['beam']}" if d["method"] == "beam" else ""
    if d["context_file"]:
        aliases = f" + {d['context_aliases']} aliases" if d["context_aliases"] else ""
        plural = "s" if d["context_phrases"] != 1 else ""
        search += (f", context {d['context_file']} ({d['context_phrases']} phrase{plural}"
                   f"{aliases}, "
                   f"{d['context_weight_nats']:g} nats)")
    _echo_rates(f"{result['model']} ({result['weights']}) {result['weight_bits']}-bit"
                f"{quantizer_suffix(result['quantizer'], result.get('weight_range', 'max'))}"
                f"{layer_bits_suffix(result.get('layer_bits'))}{mean_bits_suffix(result)}, "
                f"{100 * result['weight_sparsity']:.0f} % of weights zero"
                f"{pruning_suffix(result['prune'], result['sparsity'], result['prune_saliency'])}"
                f"{search} on '{result['testset']}'", result)
    if "compare" in result:
        _echo_compare(result["compare"], compare_path)
    if "branch" in result:
        click.echo(branch_eval_line(result["branch"]))
    # after every figure of the set, whichever comparisons there are
    if result.get("testset_grammar") not in (None, result["grammar_now"]):
        version = result.get("testset_grammar_version")
        which = f"version {version}, " if version is not None else ""
        click.echo(f"  note: '{result['testset']}' was drawn from another grammar "
                   f"({which}{result['testset_grammar']}; 'azsim corpus' draws "
                   f"{result['grammar_now']} by default): its sentences are not the latest "
                   "grammar's")
    shown = 0
    for h in result["hypotheses"]:
        if shown >= show_errors:
            break
        if h["reference"].split() != h["hypothesis"].split():
            click.echo(f"  {h['utterance']}\n    ref: {h['reference']}\n"
                       f"    hyp: {h['hypothesis']}")
            shown += 1


def _echo_compare(c: dict, compare_path) -> None:
    """The line of this WER minus the compared record's (one set's, or pooled)."""
    bits = c["baseline_weight_bits"]   # None, like the weights: the record does not say
    kind = None if bits is None else "float" if bits == "float" else f"{bits}-bit"
    said = "".join(f"{part}, " for part in (c["baseline_weights"], kind) if part is not None)
    click.echo(_difference_line(f"this - {compare_path} ({said}WER "
                                f"{c['baseline_wer'] * 100:.2f} %)", c))


def _echo_by_voice(rec: dict) -> None:
    """One line per speaker of ``rec["by_voice"]``: utterances, words, WER, and the float
    model's and the compared record's WER when the record has them."""
    voices = rec.get("by_voice")
    if voices is None:
        click.echo("  by voice: the test set records no speakers (a folder of WAVs)")
        return
    extra = [(p, label) for p, label in (("float_", "float %"), ("baseline_", "compared %"))
             if any(p + "wer" in v for v in voices.values())]
    width = max(len(name) for name in voices)
    click.echo(f"  {'voice':<{width}} {'utts':>5} {'words':>6} {'WER %':>6}"
               + "".join(f" {label:>10}" for _, label in extra))
    for name, v in voices.items():
        click.echo(f"  {name:<{width}} {v['utterances']:>5} {v['words']:>6} "
                   f"{v['wer'] * 100:>6.2f}"
                   + "".join(f" {v[p + 'wer'] * 100:>10.2f}" for p, _ in extra))


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _difference_line(label: str, d: dict) -> str:
    from .report.render import interval_text
    return (f"  {label}: {d['difference'] * 100:+.2f} points ({d['word_errors_b']} against "
            f"{d['word_errors_a']} word errors), {interval_text(d['ci95'], d['utterances'])}; "
            f"the hypotheses differ in {_n(d['utterances_differing'], 'utterance')} ("
            f"{d['utterances_b_worse']} worse, {d['utterances_b_better']} better), "
            f"{_n(d['hypothesis_word_edits'], 'word edit')} apart")


def _load_eval_records(path: str, option: str = "--compare",
                       float_side: bool = False) -> list[dict]:
    """The one-set records of an ``azsim eval --json`` file, one per test set it evaluated (a
    file of several sets holds them under ``sets``), each checked before any decoding starts.
    ``float_side``: the record of an ``azsim eval --float`` run, returned as the float
    model's (its float hypotheses as ``hypothesis``, ``weight_bits`` "float")."""
    record = load_json_file(path, f"{option} {path}")
    sets = record.get("sets") if isinstance(record, dict) and "hypotheses" not in record \
        else None
    if sets is None:
        return [_eval_record(record, path, option, float_side)]
    if not isinstance(sets, list) or not sets:
        raise AzsimError(f"{option} {path}: its 'sets' is not a list of one-set records, as "
                         "'azsim eval --json' writes for several --test values")
    return [_eval_record(r, f"{path} (set {k + 1} of {len(sets)})", option, float_side)
            for k, r in enumerate(sets)]


def _eval_record(record, path: str, option: str, float_side: bool) -> dict:
    """One test set's ``azsim eval --json`` record, checked (``_load_eval_records``)."""
    key = "float_hypothesis" if float_side else "hypothesis"
    hyps = record.get("hypotheses") if isinstance(record, dict) else None
    if not isinstance(hyps, list) or not all(
            isinstance(h, dict) and isinstance(h.get("reference"), str)
            and isinstance(h.get(key), str) for h in hyps):
        made_by = "'azsim eval --float --json'" if float_side else "'azsim eval --json'"
        raise AzsimError(f"{option} {path}: not an {made_by} record of one test set (it "
                         f"needs 'hypotheses', a list of reference/{key} pairs)")
    # what the record says of its model is printed and copied into this run's record
    for field, ok, wanted in (
            ("model", lambda v: isinstance(v, str), "a model name"),
            ("weights", lambda v: isinstance(v, str), "a weights name"),
            ("weight_bits", lambda v: float_side or (isinstance(v, int)
                                                     and not isinstance(v, bool)
                                                     and 1 <= v <= 8),
             "a bit-width 1..8")):
        if field in record and not ok(record[field]):
            raise AzsimError(f"{option} {path}: {field} is {quoted(record[field])}; expected "
                             f"{wanted}, as 'azsim eval --json' writes")
    if float_side:
        record = {**record, "weight_bits": "float",
                  "hypotheses": [{**({"utterance": h["utterance"]} if "utterance" in h
                                     else {}),
                                  "reference": h["reference"], "hypothesis": h[key]}
                                 for h in hyps]}
    return record


def _check_weights_out(command: str, out: str, inputs) -> None:
    """OUT of a command that writes a weights file: an .npz name in a writable folder that is
    none of its inputs (checked before any work)."""
    # numpy appends ".npz" to any other name, so OUT would not be the file written
    if not out.endswith(".npz"):
        raise AzsimError(f"{command} OUT.npz {out}: the output name must end in .npz")
    parent = os.path.dirname(os.path.abspath(out))
    if os.path.isdir(out) or not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise AzsimError(f"{command} OUT.npz {out}: cannot write there (a folder, or its folder "
                         "is missing or not writable)")
    from .model.loading import shipped_weights_dir
    shipped = os.path.realpath(shipped_weights_dir())
    if os.path.commonpath([os.path.realpath(parent), shipped]) == shipped:
        raise AzsimError(f"{command} OUT.npz {out}: is in azsim's shipped models folder "
                         f"({shipped}), which azsim never writes; write it elsewhere")
    for k, path in enumerate(inputs):
        if os.path.exists(path) and os.path.exists(out) and os.path.samefile(path, out):
            raise AzsimError(f"{command} OUT.npz {out}: is also input {k + 1} ({path}); write "
                             f"the {command} result to a new file, an input must not be "
                             "overwritten")


def _write_weights_out(command: str, out: str, arrays: dict) -> None:
    """Write ``arrays`` next to OUT and rename them over it, so that a failed write leaves no
    half file."""
    from .model.weights import save_weights
    parent = os.path.dirname(os.path.abspath(out))
    tmp = os.path.join(parent, f".{os.path.basename(out)[:-4]}.{os.getpid()}.tmp.npz")
    try:
        save_weights(tmp, arrays, compressed=True)
        os.replace(tmp, out)
    except OSError as exc:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise AzsimError(f"{command} OUT.npz {out}: cannot write it "
                         f"({exc.strerror or exc})") from None


@click.command()
@click.argument("out", metavar="OUT.npz")
@click.option("--model", "model", type=MODEL, default="small", show_default=True,
              metavar="NAME|PATH")
@click.option("--weights", type=WEIGHTS, default=None, metavar="NAME|FILE.npz",
              help="the float weights to prune (default: the model's own)")
@click.option("--sparsity", type=float, default=None, help="fraction of weights pruned (0..0.99)")
@click.option("--prune", default=None, metavar="METHOD",
              help="magnitude, global, erk, nm:N:M or balanced:PES")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="a model.* field, e.g. model.prune_saliency=obs (the mask chosen on the "
                   "calibration set)")
def prune(out, model, weights, sparsity, prune, overrides) -> None:
    """Write a model's float weights pruned one-shot, as `azsim eval --sparsity` would run
    them before quantizing: e.g. as the start of a recovery run (azsim train --init)."""
    import numpy as np

    from .cli import _compression_overrides, _reject_hw_sets, _with_shorthands
    from .compress.pipeline import is_prunable
    from .compress.prune import prunes
    from .config import load_model_config
    from .evaluate import calibration_utterances
    from .model.loading import model_weights, pruned_weights, resolve_weights_path
    from .report.render import pruning_suffix

    _reject_hw_sets(overrides, "prune", "writes pruned weights only")
    _reject_settings_prune_ignores(overrides)
    overrides = _with_shorthands(overrides, _compression_overrides(sparsity, prune, None, False))
    cfg = load_model_config(model, overrides)
    if not prunes(cfg.prune, cfg.sparsity):
        # name what was given: "--prune magnitude" alone read as if no option was (a CLI
        # audit, 2026-12-07)
        # and "--sparsity 0" is given, not missing: it read "neither --sparsity nor ... given"
        # (an audit, 2026-12-07)
        asked = f"--sparsity {sparsity:g}" if sparsity is not None else None
        given = (f"--prune {prune} " + (f"with {asked}" if asked else "without --sparsity")
                 if prune is not None else f"{asked} without --prune nm:N:M" if asked
                 else "neither --sparsity nor --prune nm:N:M given")
        raise AzsimError(f"prune: {given}; give --sparsity (0 < S <= 0.99), with any "
                         "--prune method, or --prune nm:N:M: nothing would be pruned")
    source = resolve_weights_path(cfg, weights)
    _check_weights_out("prune", out, [] if source is None else [str(source)])
    unpruned = model_weights(cfg, weights)
    calibration = calibration_utterances(cfg) if cfg.prune_saliency == "obs" else []
    arrays, _ = pruned_weights(unpruned, cfg, calibration)
    _write_weights_out("prune", out, arrays)
    mats = [arrays[k] for k in arrays if is_prunable(k)]
    zeros = sum(int(np.count_nonzero(m == 0)) for m in mats)
    total = sum(m.size for m in mats)
    click.echo(f"{cfg.name} ({weights or cfg.weights or 'generated'}) pruned to sparsity "
               f"{zeros / total:.3f}{pruning_suffix(cfg.prune, cfg.sparsity, cfg.prune_saliency)}"
               f": {zeros:,} of {total:,} weights zero -> {out}")


# What ``azsim prune`` never uses: it writes float weights, before any quantization, weight
# stream or decoding (an override of these was accepted and ignored until 2026-12-06).
_NOT_PRUNING = ("model.weight_bits", "model.layer_bits", "model.activation_bits",
                "model.quantizer", "model.weight_range", "model.weight_format",
                "model.pointer_bits", "model.rle_index_bits", "model.decode.", "model.branch.")


def _reject_settings_prune_ignores(overrides) -> None:
    from .cli import first_override_of
    text = first_override_of(overrides, _NOT_PRUNING)
    if text is not None:
        raise AzsimError(f"--set {text}: azsim prune writes float weights, before any "
                         "quantization, weight stream or decoding, so this setting would "
                         "change nothing; give it to azsim eval or run with the pruned weights")


def _refuse_repeated_inputs(inputs, paths) -> None:
    """One file given twice (by two spellings, a shipped name and its path, or a shell glob
    that matched it twice) would count twice in the average: refused, naming both."""
    from .arguments import repeated_path
    # loading names a missing file ("same file" did)
    present = [i for i, path in enumerate(paths) if os.path.exists(path)]
    twice = repeated_path([paths[i] for i in present])
    if twice is not None:
        j, i = present[twice[0]], present[twice[1]]
        raise AzsimError(f"NAME|WEIGHTS.npz: inputs {j + 1} ({inputs[j]}) and {i + 1} "
                         f"({inputs[i]}) are the same file; a soup averages each fine-tune "
                         "once")


@click.command()
@click.argument("out", metavar="OUT.npz")
@click.argument("inputs", nargs=-1, required=True, metavar="NAME|WEIGHTS.npz...")
@click.option("--model", "model", type=MODEL, default="small", show_default=True,
              metavar="NAME|PATH",
              help="the model all of them are weights of")
def soup(out, inputs, model) -> None:
    """Average fine-tunes of one model into one weights file (a weight soup); each input is
    a weights file or a shipped set's name (small, small-qat4, ...)."""
    from .config import load_model_config
    from .model.loading import resolve_weights_path
    from .model.weights import average_weights

    cfg = load_model_config(model, [])
    paths = [str(resolve_weights_path(cfg, name)) for name in inputs]   # shipped names too
    _refuse_repeated_inputs(inputs, paths)
    _check_weights_out("soup", out, paths)
    arrays = average_weights(paths, cfg)
    _write_weights_out("soup", out, arrays)
    # A soup keeps a weight that any input kept: inputs with other zeros give a denser model,
    # which the command had not said (small-sparse60 with small-sparse80 came out 59 %
    # sparse, with the dense model 0 %; a training audit).
    from .compress.pipeline import is_prunable
    from .model.weights import load_weights
    names = [k for k in arrays if is_prunable(k)]

    def sparsity(w) -> float:
        size = sum(w[k].size for k in names)
        return sum(int(np.count_nonzero(w[k] == 0)) for k in names) / size if size else 0.0
    ins = [load_weights(p, cfg) for p in paths]
    shares = [sparsity(w) for w in ins]
    click.echo(f"soup of {len(inputs)} -> {out}: {sparsity(arrays) * 100:.1f} % of the "
               f"prunable weights zero (inputs {', '.join(f'{x * 100:.1f}' for x in shares)} %)")
    # weights zero in some inputs and not in all: how many says whether it matters (quantized
    # fine-tunes differ in a few grid zeros, the shipped 60 % and 80 % masks in 299,950)
    zero_in = {k: sum((w[k] == 0).astype(np.int64) for w in ins) for k in names}
    partly = sum(int(np.count_nonzero((n > 0) & (n < len(ins)))) for n in zero_in.values())
    if partly:
        size = sum(ins[0][k].size for k in names)
        click.echo(f"azsim: warning: the inputs have different zeros ({partly:,} weights, "
                   f"{100 * partly / size:.2f} % of the prunable ones, are zero in some inputs "
                   "only): the soup keeps a weight any of them kept, so it is denser than the "
                   "sparsest input; average fine-tunes of one pruned model (same mask) to keep "
                   "its sparsity", err=True)
    # Quantization-aware fine-tunes sit on a b-bit grid and their mean does not: evaluated
    # at b bits the soup is rounded again, post-training quantization of the average (the
    # training loop refuses weight averaging in QAT runs for this; soup said nothing, a
    # training audit, 2026-12-07).
    grids = [_grid_bits(w, names) for w in ins]
    if any(b is not None for b in grids):
        shown = ", ".join("none" if b is None else f"{b}-bit" for b in grids)
        click.echo(f"azsim: warning: inputs on a quantization grid ({shown}): their average is "
                   "on none, so evaluating it at that width rounds it again (post-training "
                   "quantization of the soup, --gptq to compensate), not the QAT models' own "
                   "codes", err=True)


def _grid_bits(w: dict, names: list[str]) -> int | None:
    """The smallest width b (1..8) whose per-row grid (max range) holds every weight of the
    matrices ``names`` of ``w`` to float32 precision, or None (a float model)."""
    from .compress.quantize import quantize_per_channel
    for bits in range(1, 9):
        ok = True
        for k in names:
            a = w[k].astype(np.float64)
            q, scale = quantize_per_channel(a, bits)
            if not np.allclose(q * scale[:, None], a, rtol=1e-5, atol=1e-7):
                ok = False
                break
        if ok:
            return bits
    return None


COMMANDS = (corpus, corpus_merge, corpus_relabel, train, eval_cmd, soup, prune)
