"""Alternative spellings of context phrases from the model's own decodes (issue #7)."""
import collections
import json
import shutil

import pytest

from azsim.decode.aliases import (AliasResult, choose_aliases, skip_heard_phrases,
                                  spelling_after, write_context)
from azsim.decode.context import ContextError, load_context, parse_context
from azsim.model.vocab import make_vocab

VOCAB = make_vocab("chars", 29)
C = collections.Counter


def test_spelling_after_the_carrier():
    assert spelling_after("call sheila", "call") == "sheila"
    assert spelling_after("send a message to shiv on", "send a message to") == "shiv on"
    assert spelling_after("cancel the timer", "call") is None
    assert spelling_after("call", "call") == ""
    assert spelling_after("siobhan", "") == "siobhan"


def test_choose_aliases_keeps_frequent_unambiguous_spellings_without_kept_words():
    heard = {"siobhan": C({"sheila": 4, "siobhan": 3, "sven": 1, "anna": 5, "shiv on": 2,
                           "": 2, "casimir": 2}),
             "kasimir": C({"casimir": 9, "kasimir": 1}),
             "anouk": C({"anna": 7, "siobhan": 2})}
    aliases, dropped = choose_aliases(heard, keep_words={"anna", "on"}, min_count=2)
    assert aliases == {"sheila": "siobhan"}
    assert dropped["siobhan"] == {"sven": "heard 1 < 2 times", "anna": "has kept words anna",
                                  "shiv on": "has kept words on", "": "empty",
                                  "casimir": "heard for kasimir, siobhan"}
    assert dropped["kasimir"] == {"casimir": "heard for kasimir, siobhan"}
    assert dropped["anouk"] == {"anna": "has kept words anna", "siobhan": "another phrase"}
    # without the keep list "anna" is heard for two phrases; at min count 3 "casimir" is
    # kasimir's alone
    aliases, dropped = choose_aliases(heard, keep_words=set(), min_count=3)
    assert aliases == {"casimir": "kasimir", "sheila": "siobhan"}
    assert dropped["anouk"]["anna"] == "heard for anouk, siobhan"


def test_an_alias_that_starts_a_longer_phrase_or_alias_is_dropped_or_refused(tmp_path):
    """The rewrite takes an alias at its word boundary: alias "mary" of "mary ann" turned a
    right "call mary ann" into "call mary ann ann", and alias "ann" of "anouk" broke a phrase
    "ann marie" (a decoding audit, 2026-12-07). The chooser drops such spellings; a file that
    holds one is refused."""
    heard = {"mary ann": C({"mary": 5, "marianne": 4}), "anouk": C({"a nook": 4, "a": 3})}
    aliases, dropped = choose_aliases(heard, keep_words=set(), min_count=2)
    assert aliases == {"marianne": "mary ann", "a nook": "anouk"}
    assert dropped["mary ann"] == {"mary": "starts phrase 'mary ann'"}
    assert dropped["anouk"] == {"a": "starts alias 'a nook'"}
    for text, words in (("mary ann | mary\n", "alias 'mary' of 'mary ann' starts the phrase "
                                                "'mary ann'"),
                        ("anouk | ann\nann marie\n", "starts the phrase 'ann marie'"),
                        ("x | a\ny | a b\n", "alias 'a' of 'x' starts the alias 'a b'")):
        path = tmp_path / "ctx.txt"
        path.write_text(text)
        with pytest.raises(ContextError, match=words):
            parse_context(str(path), VOCAB)
    path.write_text("mary ann | marianne\nann marie | mary a\n")   # no word-prefix: fine
    assert parse_context(str(path), VOCAB).aliases == {"marianne": "mary ann",
                                                        "mary a": "ann marie"}


def test_phrases_the_model_already_hears_can_be_left_out():
    heard = {"mark": C({"mark": 30, "marc": 6}), "siobhan": C({"sheila": 20, "sven": 2}),
             "kasimir": C({"casimir": 9, "kasimir": 3})}
    aliases, dropped = choose_aliases(heard, keep_words=set(), min_count=2)
    result = AliasResult(heard, aliases, dropped, {"mark": 4, "siobhan": 18})
    assert result.heard_right("mark") == 30 / 40 and result.heard_right("siobhan") == 0.0
    assert result.heard_right("kasimir") == 3 / 12
    skip_heard_phrases(result, 0.3)
    assert result.skipped == ["mark"]
    assert result.aliases == {"sheila": "siobhan", "sven": "siobhan", "casimir": "kasimir"}
    record = result.as_dict()
    assert record["skipped"] == ["mark"] and record["phrases"]["mark"]["biased"] is False
    assert skip_heard_phrases(AliasResult(heard, dict(aliases), dropped, {}), None).skipped == []


def test_written_context_reads_back(tmp_path):
    path = tmp_path / "ctx.txt"
    write_context(str(path), ["siobhan", "kasimir", "mom"], ["call", "tell"],
                  {"sheila": "siobhan", "shiv on": "siobhan", "casimir": "kasimir"},
                  ["made by a test"], skipped={"mom": "heard right"})
    assert path.read_text().splitlines() == [
        "# made by a test", "@prefix call", "@prefix tell", "siobhan | sheila | shiv on",
        "kasimir | casimir", "# mom  (heard right)"]
    spec = parse_context(str(path), VOCAB)
    assert spec.phrases == ["siobhan", "kasimir"]
    assert spec.aliases == {"sheila": "siobhan", "shiv on": "siobhan", "casimir": "kasimir"}
    assert load_context(str(path), VOCAB, 1.0).aliases == tuple(spec.aliases.items())


def test_bad_options_are_one_line_errors(cli, tmp_path):
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("mom\n")
    code, _, err = cli("context-aliases", str(ctx), str(tmp_path / "out.txt"), "--voices", "3",
                       "--min-count", "4")
    assert code == 2 and "--min-count 4: above --voices 3" in err and len(err.splitlines()) == 1
    code, _, err = cli("context-aliases", str(ctx), str(tmp_path / "out.txt"), "--keep",
                       str(tmp_path / "missing.txt"))
    assert code == 2 and "--keep" in err and "cannot read" in err
    code, _, err = cli("context-aliases", str(ctx), str(tmp_path / "no" / "out.txt"))
    assert code == 2 and err.startswith(f"azsim: error: OUT {tmp_path / 'no' / 'out.txt'}: folder")
    code, _, err = cli("context-aliases", str(tmp_path / "none.txt"), str(tmp_path / "o.txt"))
    assert code == 2 and "none.txt: cannot read" in err and len(err.splitlines()) == 1
    # CONTEXT is a positional argument: its errors named an option, --context, never typed.
    assert err.startswith(f"azsim: error: CONTEXT {tmp_path / 'none.txt'}: cannot read")
    (tmp_path / "blank.txt").write_text("# nothing\n")
    code, _, err = cli("context-aliases", str(tmp_path / "blank.txt"), str(tmp_path / "o.txt"))
    assert code == 2 and err.startswith(f"azsim: error: CONTEXT {tmp_path / 'blank.txt'}: no "
                                        "phrases"), err
    # settings of a search it does not run: beam 8 was accepted and the phrases decoded
    # greedily; OUT '-' wrote a file named '-' (a CLI audit, 2026-12-07)
    for setting in ("model.decode.beam=8", "model.decode.endpoint_tail_ms=500",
                    "model.branch.sparsity=0.5"):
        code, _, err = cli("context-aliases", str(ctx), str(tmp_path / "o.txt"), "--set", setting)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert err.startswith(f"azsim: error: --set {setting}: azsim context-aliases hears each "
                              "phrase with the full model's greedy search"), err
    code, _, err = cli("context-aliases", str(ctx), "-")
    assert code == 2 and err.startswith("azsim: error: OUT -: give a file path"), err
    assert not (tmp_path / "o.txt").exists()


def test_context_aliases_end_to_end(cli, tmp_path):
    """espeak-ng speaks the phrase, the model decodes it, and every rendering is counted: as
    a spelling after its carrier or as one that lost its carrier."""
    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("@prefix call\n@prefix tell\nkasimir | kazimir\nsiobhan\n")
    out, rec = tmp_path / "out.txt", tmp_path / "aliases.json"
    code, stdout, err = cli("context-aliases", str(ctx), str(out), "--voices", "4",
                            "--min-count", "1", "--jobs", "2", "--json", str(rec))
    assert code == 0, err
    assert stdout.startswith(f"context-aliases {out}:")
    data = json.loads(rec.read_text())
    for phrase in ("kasimir", "siobhan"):
        p = data["phrases"][phrase]
        assert sum(p["heard"].values()) + p["carrier_missed"] == 4
    spec = parse_context(str(out), VOCAB)
    assert spec.phrases == ["kasimir", "siobhan"] and spec.prefixes == ["call", "tell"]
    assert spec.aliases["kazimir"] == "kasimir"            # the file's own alias stays
    kept = {a for p in data["phrases"].values() for a in p["aliases"]}
    assert kept <= set(spec.aliases)
    # --skip-heard: the phrases left out are those written right often enough, as comments
    code, _, err = cli("context-aliases", str(ctx), str(tmp_path / "skip.txt"), "--voices",
                       "4", "--skip-heard", "0.5", "--json", str(tmp_path / "skip.json"))
    skip = json.loads((tmp_path / "skip.json").read_text())
    for phrase, p in skip["phrases"].items():
        assert p["biased"] == (p["heard_right_share"] < 0.5)
    if code == 0:
        text = (tmp_path / "skip.txt").read_text()
        assert all(f"# {p}  (written right" in text for p in skip["skipped"])
    else:      # every phrase heard right: nothing to bias, a one-line error after the record
        assert "none is left to bias" in err and len(skip["skipped"]) == 2
    # every draw is made before synthesis: one process hears what two heard
    code, _, err = cli("context-aliases", str(ctx), str(tmp_path / "one.txt"), "--voices", "4",
                       "--min-count", "1", "--jobs", "1", "--json", str(tmp_path / "one.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "one.json").read_text())["phrases"] == data["phrases"]
    # a full disk after the work: a one-line error, the aliases kept in the report
    code, stdout, err = cli("context-aliases", str(ctx), "/dev/full", "--voices", "2",
                            "--min-count", "1")
    assert code == 2 and stdout.startswith("context-aliases /dev/full:")
    assert "OUT /dev/full: cannot write" in err and "report above" in err
