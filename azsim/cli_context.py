"""``azsim context-aliases``: alternative spellings of context phrases (issue #7).

Needs espeak-ng on PATH, like ``azsim corpus``; see ``azsim.decode.aliases``.
"""
from __future__ import annotations

import os
import time

import click

from .cli_types import CONTEXT, MODEL, WEIGHTS, FiniteFloatRange, InputPath
from .config import DEFAULT_MODEL
from .decode.aliases import ALIAS_MIN_COUNT, ALIAS_VOICES
from .errors import AzsimError
from .paths import read_small_text


def _read_keep_words(path: str) -> set[str]:
    """Whitespace-separated words of a text file ('#' starts a comment), lower-cased."""
    text = read_small_text(path, f"--keep {path}").removeprefix("\ufeff")   # BOM
    return {w for line in text.splitlines() for w in line.partition("#")[0].lower().split()}


@click.command("context-aliases")
@click.argument("context_file", type=CONTEXT, metavar="CONTEXT")
@click.argument("out_file", metavar="OUT")
@click.option("--model", "model", type=MODEL, default=DEFAULT_MODEL, show_default=True,
              metavar="NAME|PATH")
@click.option("--weights", type=WEIGHTS, default=None, metavar="NAME|FILE.npz",
              help="trained weights (default: the model preset's)")
@click.option("--bits", type=int, default=None, help="weight bit-width (1..8)")
@click.option("--voices", type=click.IntRange(1, 1000), default=ALIAS_VOICES,
              show_default=True, help="renderings per phrase in training voices")
@click.option("--min-count", "min_count", type=click.IntRange(1), default=ALIAS_MIN_COUNT,
              show_default=True, help="renderings a spelling needs to become an alias")
@click.option("--keep", "keep_file", type=InputPath("a file of words to keep"), default=None,
              metavar="FILE",
              help="words no alias may contain (e.g. the rest of the address book), besides "
                   "the grammar's request words")
@click.option("--no-grammar-keep", "grammar_keep", is_flag=True, flag_value=False, default=True,
              help="do not protect the grammar's request words (a model trained on other text)")
@click.option("--skip-heard", "skip_heard", type=FiniteFloatRange(0, 1), default=None,
              metavar="SHARE",
              help="leave out of the biasing the phrases the model already writes right in at "
                   "least this share of their renderings (e.g. the contacts it was trained "
                   "on); they stay in OUT as comments")
@click.option("--seed", type=click.IntRange(0, 2 ** 31 - 1), default=0, show_default=True,
              help="seed of the voices, channels and noise")
@click.option("--jobs", type=click.IntRange(1), default=None,
              help="synthesis processes (default: all cores); the result does not depend on it")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--json", "json_dest", default=None, metavar="PATH|-",
              help="every spelling heard per phrase, the aliases kept and why others were not")
def context_aliases(context_file, out_file, model, weights, bits, voices, min_count, keep_file,
                    grammar_keep, skip_heard, seed, jobs, overrides, json_dest) -> None:
    """Add the model's own spellings of each phrase of CONTEXT as aliases, written to OUT.

    Each phrase is spoken by espeak-ng in training voices after the context's carriers
    (@prefix lines), decoded by the integer model, and the spellings it keeps hearing become
    'PHRASE | ALIAS ...' lines: the biased search then also finds those spellings and writes
    the phrase."""
    from . import config as cfgmod
    from .api import prepare_model
    from .cli import (_check_writable, _reject_hw_sets, _with_shorthands, _write_json,
                      first_override_of)
    from .cli_train import _stderr_progress
    from .corpus.grammar import request_words
    from .corpus.synth import espeak_binary, espeak_version
    from .decode import aliases as al
    from .decode.context import ContextError, parse_context, starts_another
    from .evaluate import calibration_utterances
    from .model.vocab import make_vocab

    if min_count > voices:
        raise AzsimError(f"--min-count {min_count}: above --voices {voices}, so no spelling "
                         "could qualify; give a count <= the renderings per phrase")
    keep = set(request_words()) if grammar_keep else set()
    if keep_file:
        keep |= _read_keep_words(keep_file)
    quiet = json_dest == "-"
    _reject_hw_sets(overrides, "context-aliases", "decodes speech only")
    # it hears each phrase with the full model's greedy search: search, end-pointer and
    # branch settings would change nothing and the file would look made with them (a CLI
    # audit, 2026-12-07: --set model.decode.beam=8 was accepted and decoded greedily)
    ignored = first_override_of(overrides, ("model.decode.", "model.branch."))
    if ignored is not None:
        raise AzsimError(f"--set {ignored}: azsim context-aliases hears each phrase with the "
                         "full model's greedy search, so model.decode.* and model.branch.* "
                         "settings change nothing; give model.* weight settings only")
    if out_file == "-":   # '-' is standard output for --json only: it wrote a file named '-'
        raise AzsimError("OUT -: give a file path for the context with aliases ('-' means "
                         "standard output only for --json)")
    if os.path.exists(context_file) and os.path.exists(out_file) and \
            os.path.samefile(context_file, out_file):
        raise AzsimError(f"OUT {out_file}: is CONTEXT itself; write the context with aliases "
                         "to a new file, the input must not be overwritten")
    _check_writable(out_file, "OUT", "a file path for the context with aliases")
    if json_dest not in (None, "-"):
        _check_writable(json_dest)
    cfg = cfgmod.load_model_config(model, _with_shorthands(
        overrides, [f"model.weight_bits={bits}"] if bits is not None else []))
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    if vocab.kind != "chars":
        raise ContextError(f"--model {model}: aliases need a character vocabulary; this model "
                           f"has {vocab.kind}")
    spec = parse_context(context_file, vocab, where=f"CONTEXT {context_file}")
    espeak_binary()   # fail before any work if espeak-ng is missing
    t0 = time.perf_counter()
    _, qm = prepare_model(cfg, weights, calibration_utterances(cfg))
    result = al.find_aliases(qm, cfg, spec.phrases, spec.prefixes, keep, voices, min_count, seed,
                             _stderr_progress(quiet), jobs, skip_heard)
    skipped = {p: f"written right in {result.heard_right(p) * 100:.0f} % of {voices} renderings"
                  f", not biased" for p in result.skipped}
    biased = [p for p in spec.phrases if p not in skipped]
    # The file's own aliases stay and new ones may not displace them; a new alias is never a
    # phrase (choose_aliases), nor the start of a phrase or of another alias, which
    # parse_context refuses, so the file stays valid.
    merged = {a: p for a, p in spec.aliases.items() if p not in skipped}
    for alias, phrase in result.aliases.items():
        if alias not in merged and starts_another(alias, spec.phrases + list(merged)) is None \
                and not any(starts_another(a, [alias]) for a in merged):
            merged[alias] = phrase
    header = [f"aliases by azsim context-aliases from {context_file}: model {cfg.name}"
              f"{' weights ' + str(weights) if weights else ''}, {cfg.weight_bits}-bit, "
              f"{voices} training voices per phrase, min count {min_count}, seed {seed}"
              + (f", phrases written right >= {skip_heard:g} of the time not biased"
                 if skip_heard is not None else ""),
              f"spoken by {espeak_version()}"]
    record = {"context": context_file, "out": out_file, "model": cfg.name,
              "weights": weights or cfg.weights or "generated", "weight_bits": cfg.weight_bits,
              "voices": voices, "min_count": min_count, "seed": seed,
              "keep_words": len(keep), "elapsed_s": time.perf_counter() - t0,
              **result.as_dict()}
    # OUT and the record first (a report cut short by a closed pipe must not lose them); a
    # failed OUT is reported after the report (a full disk must not lose the aliases found).
    write_error = None
    if biased:
        try:
            al.write_context(out_file, spec.phrases, spec.prefixes, merged, header, skipped)
        except OSError as exc:
            write_error = exc.strerror or str(exc)
    json_error = None
    if json_dest is not None:
        try:
            _write_json(record, json_dest)
        except AzsimError as exc:     # reported after the summary, which must not be lost
            json_error = exc
    if not quiet:
        with_alias = len({p for p in merged.values()})
        new = sum(1 for a in merged if a not in spec.aliases)
        click.echo(f"context-aliases {out_file}: {new} new aliases for "
                   f"{with_alias} of {len(biased)} biased phrases ({voices} renderings each, "
                   f"kept if heard >= {min_count} times; {record['elapsed_s']:.0f} s)")
        if skipped:
            click.echo(f"  not biased, the model writes them right in >= {skip_heard:g} of "
                       f"their renderings: {', '.join(skipped)}")
        for phrase in spec.phrases:
            mine = [a for a, p in merged.items() if p == phrase]
            if mine:
                click.echo(f"  {phrase}: {', '.join(mine)}")
    if json_error is not None and write_error is None:
        raise json_error
    if not biased:     # after the report and --json, so what was heard is not lost
        raise AzsimError(f"--skip-heard {skip_heard:g}: the model writes every phrase right in "
                         "at least that share of its renderings, so none is left to bias and "
                         f"{out_file} is not written; give a larger share")
    if write_error is not None:     # reported last: the aliases are in the report and record
        kept = [w for w, on in (("the report above", not quiet),
                                ("--json", json_dest and json_error is None)) if on]
        raise AzsimError(f"OUT {out_file}: cannot write ({write_error}); the aliases are in "
                         f"{' and '.join(kept) or 'no other output (give --json)'}")


COMMANDS = (context_aliases,)
