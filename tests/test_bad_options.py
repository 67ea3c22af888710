"""Bad options and damaged inputs found by fuzzing the CLI (2026-12-04): each is one line on
stderr naming the input, exit status 2, and no work done on a silently wrong setting."""
import json
import sqlite3

import numpy as np
import pytest

from azsim.sweep.store import ResultStore


def _one_line_error(cli, *argv, words=()):
    code, out, err = cli(*argv)
    assert code == 2, (argv, out, err)
    assert err.count("\n") == 1 and err.startswith("azsim: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)
    return err


@pytest.mark.parametrize("argv", [
    ["corpus", "x", "--random-voices", "nan"],
    ["train", "--corpus", "c", "--out", "o", "--epochs", "nan"],
    ["train", "--corpus", "c", "--out", "o", "--epochs", "inf"],
    ["train", "--corpus", "c", "--out", "o", "--lr", "nan"],
])
def test_nan_and_infinity_are_refused_where_a_range_is_checked(cli, argv):
    """Click's range check compares, and NaN passes every comparison."""
    _one_line_error(cli, *argv, words=("not a finite number",))


def test_corpus_names_the_grammar_versions_it_has(cli, tmp_path):
    _one_line_error(cli, "corpus", str(tmp_path / "c"), "--grammar", "7",
                    words=("--grammar 7", "0, 1, 2, 3"))
    assert not (tmp_path / "c").exists()


def test_eval_refuses_processor_settings_it_would_ignore(cli):
    _one_line_error(cli, "eval", "--set", "hw.clock_mhz=0", words=("hw.clock_mhz=0", "azsim run"))


def test_n_above_m_is_a_config_error(cli):
    _one_line_error(cli, "run", "--prune", "nm:3:2", words=("nm:3:2", "at most M"))
    _one_line_error(cli, "run", "--branch", "--set", "model.branch.prune=nm:5:4",
                    words=("branch.prune", "at most M"))


def _results(tmp_path, record='{"model": {}}', config='{"a": 1}'):
    db = str(tmp_path / "r.sqlite")
    with ResultStore(db) as store:
        store.put(key="k1", status="ok", config={"a": 1}, overrides=["x=1"],
                  record_json='{"v": 1}', error=None, run_s=0.2, version="t")
    with sqlite3.connect(db) as con:
        con.execute("UPDATE points SET record = ?, config = ?", (record, config))
    return db


@pytest.mark.parametrize("record, config, words", [
    ("{not json", '{"a": 1}', ("damaged JSON",)),
    ('{"v": 1}', "[1, 2]", ("config must be a JSON object",)),
    ("{}", '{"a": 1}', ("lacks model, hardware",)),
])
def test_damaged_results_rows_are_named_not_tracebacks(cli, tmp_path, record, config, words):
    db = _results(tmp_path, record, config)
    for command in (["report", db], ["plot", db, "--kind", "pareto", "--output", str(tmp_path / "p.png")]):
        _one_line_error(cli, *command, words=("k1",) + words)


def _corpus(folder, meta='{"voice_split_seed": 0, "frontend": {"hop_ms": 10}}'):
    folder.mkdir()
    np.savez(folder / "train.npz", features=np.zeros((3, 4), np.float16),
             offsets=np.array([0, 1, 3]), texts=np.array(["a", "b"]))
    (folder / "corpus.json").write_text(meta)
    return folder


@pytest.mark.parametrize("meta, words", [
    ("{not json", ("not JSON",)),
    ("[1, 2]", ("not a corpus description",)),
    ("{}", ("not a corpus description",)),
])
def test_corpus_merge_names_a_bad_description(cli, tmp_path, meta, words):
    good = _corpus(tmp_path / "good")
    bad = _corpus(tmp_path / "bad", meta)
    _one_line_error(cli, "corpus-merge", str(tmp_path / "m"), str(good), str(bad),
                    words=(str(bad / "corpus.json"),) + words)
    assert not (tmp_path / "m").exists()       # nothing written before the check


def test_corpus_merge_checks_the_splits_before_writing(cli, tmp_path):
    good = _corpus(tmp_path / "good")
    bad = _corpus(tmp_path / "bad")
    (bad / "train.npz").write_text("not an archive")
    _one_line_error(cli, "corpus-merge", str(tmp_path / "m"), str(good), str(bad),
                    words=("train.npz", "not a readable .npz"))
    np.savez(bad / "train.npz", features=np.zeros((3, 4), np.float16),
             offsets=np.array([0, 2, 1]), texts=np.array(["a", "b"]))
    _one_line_error(cli, "corpus-merge", str(tmp_path / "m"), str(good), str(bad),
                    words=("offsets", "ascending"))
    np.savez(bad / "train.npz", offsets=np.array([0, 2]), texts=np.array(["a"]))
    _one_line_error(cli, "corpus-merge", str(tmp_path / "m"), str(good), str(bad),
                    words=("no features",))
    assert not (tmp_path / "m").exists()
    out_file = tmp_path / "file"
    out_file.write_text("x")
    _one_line_error(cli, "corpus-merge", str(out_file), str(good), str(good),
                    words=("is a file",))


def test_soup_checks_its_output_before_averaging(cli, tmp_path):
    _one_line_error(cli, "soup", str(tmp_path / "out.txt"), "small", "small-qat4",
                    words=("out.txt", "end in .npz"))
    _one_line_error(cli, "soup", str(tmp_path / "no" / "out.npz"), "small", "small-qat4",
                    words=("out.npz", "cannot write"))
    (tmp_path / "d.npz").mkdir()
    _one_line_error(cli, "soup", str(tmp_path / "d.npz"), "small", "small-qat4",
                    words=("d.npz", "cannot write"))


def test_train_checks_its_corpus_and_init(cli, tmp_path):
    pytest.importorskip("torch")
    corpus = _corpus(tmp_path / "c")
    (corpus / "train.npz").write_text("not an archive")
    _one_line_error(cli, "train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                    words=("train.npz", "not a readable .npz"))
    corpus = _corpus(tmp_path / "c2")
    np.savez(corpus / "dev.npz", features=np.zeros((1, 4), np.float16),
             offsets=np.array([0, 1]), texts=np.array(["a"]))
    err = _one_line_error(cli, "train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                          "--init", str(tmp_path / "nosuch.pt"), words=("nosuch.pt", "not found"))
    assert "None" not in err
    (tmp_path / "ofile").write_text("x")
    _one_line_error(cli, "train", "--corpus", str(corpus), "--out", str(tmp_path / "ofile"),
                    words=("ofile", "is a file"))


def test_validate_max_error_nan_is_refused(cli):
    """NaN compares false with every error, so it would have passed every layer."""
    _one_line_error(cli, "validate", "eie", "--max-error", "nan", words=("not a finite number",))


def test_compress_weights_refuses_options_that_would_do_nothing(cli, tmp_path):
    codes = tmp_path / "codes.npy"
    np.save(codes, np.arange(16, dtype=np.int8).reshape(4, 4))
    for extra in (["--sparsity", "0.5"], ["--prune", "global"], ["--codebook"], ["--gptq"]):
        _one_line_error(cli, "compress", "--weights", str(codes), *extra,
                        words=(extra[0], "--weights"))
    renamed = tmp_path / "codes.npz"           # a .npy under an .npz name is still read
    renamed.write_bytes(codes.read_bytes())
    code, out, err = cli("compress", "--weights", str(renamed), "--format", "dense")
    assert code in (0, None) and "1 matrices, 16 weights" in out, err


def test_eval_prints_its_report_before_a_failing_json_write(cli, shipped_test_head, tmp_path):
    import os
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    code, out, err = cli("eval", "--test", shipped_test_head(2), "--json", "/dev/full")
    assert code == 2 and "/dev/full" in err
    assert "WER" in out                         # the finished evaluation is not lost


def test_a_bias_int32_cannot_hold_is_named_not_wrapped(cli, tmp_path, shipped_test_head):
    """joint.b_out at the joint output's accumulator scale: with that layer's weights near
    zero the scale is tiny and a bias of 100 is far beyond int32 (it used to wrap silently)."""
    from azsim.config import load_model_config
    from azsim.model.loading import model_weights
    from azsim.model.weights import save_weights
    w = dict(model_weights(load_model_config("small", [])))
    w["joint.w_out"] = np.full_like(w["joint.w_out"], 1e-7)
    w["joint.b_out"] = np.full_like(w["joint.b_out"], 100.0)
    path = tmp_path / "w.npz"
    save_weights(path, w)
    _one_line_error(cli, "eval", "--weights", str(path), "--test", shipped_test_head(1),
                    words=("joint.b_out", "int32"))


def test_a_sweep_naming_a_missing_weights_file_stops_before_any_point(cli, tmp_path):
    missing = str(tmp_path / "nonexist.npz")
    _one_line_error(cli, "sweep", "--set", f"model.weights={missing},small", "--dry-run",
                    words=("model.weights", "nonexist.npz"))
    junk = tmp_path / "junk.npz"
    junk.write_text("not weights")
    _one_line_error(cli, "sweep", "--set", f"model.weights=small,{junk}", "--dry-run",
                    words=("junk.npz", "not a weights .npz"))


def test_plot_refuses_timeline_options_for_other_kinds(cli, tmp_path):
    db = _results(tmp_path, '{"v": 1}')
    for extra in (["--point", "k1"], ["--utterance", "2"]):
        _one_line_error(cli, "plot", db, "--kind", "pareto", "--output",
                        str(tmp_path / "p.png"), *extra, words=(extra[0], "timeline"))


def test_train_refuses_a_rate_below_its_recipes_final_rate(cli, tmp_path):
    """--lr below the recipe's final_lr was a ValueError traceback (a training audit)."""
    pytest.importorskip("torch")
    corpus = _corpus(tmp_path / "c")
    np.savez(corpus / "dev.npz", features=np.zeros((1, 4), np.float16),
             offsets=np.array([0, 1]), texts=np.array(["a"]))
    _one_line_error(cli, "train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                    "--lr", "1e-7", words=("--lr 1e-07: below recipe small's final learning "
                                           "rate",))
    assert not (tmp_path / "o").exists()


def test_train_names_an_init_that_is_not_a_checkpoint(cli, tmp_path):
    pytest.importorskip("torch")
    corpus = _corpus(tmp_path / "c")
    np.savez(corpus / "dev.npz", features=np.zeros((1, 4), np.float16),
             offsets=np.array([0, 1]), texts=np.array(["a"]))
    bad = tmp_path / "init.pt"
    bad.write_text("not a checkpoint")
    _one_line_error(cli, "train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                    "--init", str(bad), words=("init.pt", "not a readable checkpoint",
                                               "starts with b'not a ch'"))
    # a checkpoint cut short: torch's own reason, not only its exception class (a CLI
    # audit, 2026-12-07: the line ended in "RuntimeError")
    import torch
    torch.save({"model": {"w": torch.zeros(1000)}}, bad)
    bad.write_bytes(bad.read_bytes()[:600])
    line = _one_line_error(cli, "train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                           "--init", str(bad), words=("init.pt", "not a readable checkpoint ("))
    reason = line.split("not a readable checkpoint (")[1].split(")")[0]
    assert ": " in reason and len(reason.split(": ", 1)[1]) > 5, line
    # the option as typed, and the names it takes (it said "kd_teacher", a field's name)
    from azsim.model.loading import shipped_weights_dir
    _one_line_error(cli, "train", "--corpus", str(corpus), "--out", str(tmp_path / "o"),
                    "--recipe", "small-sparse80-global-recover-kd",
                    "--init", str(shipped_weights_dir() / "small.npz"),
                    "--kd-teacher", "nope.npz",
                    words=("--kd-teacher nope.npz", "shipped sets: small, "))
    assert not (tmp_path / "o").exists()


# ---- the second audit (2026-12-04, seventh session): tracebacks, silently wrong numbers,
# ignored options and inputs overwritten, each found by a helper fuzzing every command.

def _small_weights(tmp_path, name):
    """A float weights .npz of the `tiny` preset's shape (its generated weights)."""
    from azsim.config import load_model_config
    from azsim.model.loading import model_weights
    from azsim.model.weights import save_weights
    path = tmp_path / name
    save_weights(path, dict(model_weights(load_model_config("tiny", []))))
    return path


def test_a_truncated_or_empty_codes_file_is_named(cli, tmp_path):
    good = tmp_path / "w.npz"
    np.savez(good, a=np.ones((3, 4), np.int8))
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _one_line_error(cli, "compress", "--weights", str(cut), words=("cut.npz", "not a readable .npz"))
    empty = tmp_path / "zero.npz"
    np.savez(empty, a=np.zeros((0, 5), np.int8))
    _one_line_error(cli, "compress", "--weights", str(empty), words=("(0, 5)", "no weights"))
    _one_line_error(cli, "compress", "--weights", str(tmp_path), words=("is a folder",))
    _one_line_error(cli, "compress", "--model", "tiny", "--weights", str(good),
                    words=("--model with --weights",))


def test_compress_save_failure_keeps_the_table(cli, tmp_path):
    """The streams are written after the table: a folder that refuses them loses nothing."""
    _one_line_error(cli, "compress", "--model", "tiny", "--save", str(tmp_path / "nodir"),
                    words=("no such folder",))
    locked = tmp_path / "full"
    locked.mkdir()
    (locked / "enc.0.w_x.dense.azw").mkdir()     # a folder where a stream must go
    code, out, err = cli("compress", "--model", "tiny", "--format", "dense", "--save",
                         str(locked))
    assert code == 2 and "cannot write enc.0.w_x.dense.azw" in err and "Traceback" not in err
    assert "dense" in out and "exact" in out      # the table was printed first


def _with_file_size_limit(kib: int, *argv: str, cwd):
    """``azsim ARGV`` in a shell whose files may grow to ``kib`` KiB (ulimit -f): a write
    that fails part-way, as a full disk does. ``cwd`` a scratch folder: "python -m" puts
    the working directory first on sys.path, and the source tree's azsim is not the
    installed package (test_bad_files.py)."""
    import shlex
    import subprocess
    import sys
    cmd = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "azsim", *argv))
    return subprocess.run(["bash", "-c", f"ulimit -f {kib}; {cmd}"], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_a_failed_decode_out_or_plot_leaves_the_old_file_whole(cli, tmp_path, results_db_small):
    """decode --out and plot -o wrote in place: a write cut short (a full disk) left a
    truncated .npy or image over the previous good one, and decode said "(None)" (a CLI
    audit, 2026-12-06). Both now write whole or not at all."""
    save = tmp_path / "save"
    save.mkdir()
    code, _, err = cli("compress", "--model", "tiny", "--format", "csr", "--save", str(save))
    assert code in (0, None), err
    stream = str(save / "enc.0.w_x.csr.azw")
    good = tmp_path / "codes.npy"
    code, _, err = cli("decode", stream, "--out", str(good))
    before = good.read_bytes()
    assert code in (0, None) and len(before) > 30 * 1024, (err, len(before))
    r = _with_file_size_limit(20, "decode", stream, "--out", str(good), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "--out" in r.stderr and "cannot write (" in r.stderr and "None" not in r.stderr
    assert good.read_bytes() == before
    image = tmp_path / "p.png"
    code, _, err = cli("plot", results_db_small, "--kind", "pareto", "-o", str(image))
    before = image.read_bytes()
    assert code in (0, None), err
    r = _with_file_size_limit(max(len(before) // 1024 - 8, 4), "plot", results_db_small,
                              "--kind", "pareto", "--dpi", "600", "-o", str(image),
                              cwd=tmp_path)
    assert r.returncode == 2 and "cannot write" in r.stderr, r.stderr
    assert image.read_bytes() == before


@pytest.fixture
def results_db_small(tmp_path):
    """A 2-point tiny sweep's results."""
    from azsim.sweep import runner
    from azsim.sweep import spec as sp
    from azsim.sweep.store import ResultStore
    db = str(tmp_path / "r.sqlite")
    spec = sp.build_spec(model="tiny", hw=None, audio=None, weights=None, spec_file=None,
                         sets=["hw.clock_mhz=400,800"])
    with ResultStore(db) as store:
        summary = runner.run_sweep(sp.expand(spec), spec, store, jobs=1)
    assert summary.ok == 2
    return db


@pytest.mark.parametrize("argv, words", [
    (["run", "--model", "tiny", "--set", "model.vocab_size=5"], ("vocab_size = 5", "29")),
    (["compress", "--model", "tiny", "--set", "model.vocab_size=5"], ("vocab_size = 5",)),
    (["run", "--model", "tiny", "--prune", "nm:2:4", "--sparsity", "0.9"],
     ("sparsity = 0.9", "fixes the sparsity at 0.5")),
    (["compress", "--model", "tiny", "--set", "hw.clock_mhz=-1"], ("hw.clock_mhz=-1",)),
    (["context-aliases", "c.txt", "o.txt", "--set", "hw.nope=1"], ("hw.nope=1",)),
    (["run", "--model", "tiny", "--bits", "4", "--set", "model.weight_bits=6"],
     ("model.weight_bits=6", "--bits")),
    (["run", "--model", "tiny", "--codebook", "--set", "model.quantizer=gptq"],
     ("model.quantizer=gptq", "--codebook")),
    (["eval", "--beam", "4", "--set", "model.decode.beam=1"], ("decode.beam=1", "--beam")),
    (["results", "export", "r.sqlite", "--csv", "--json"], ("two output formats",)),
    (["run", "--model", "tiny", "--set", "hw.sram_bytes=65536", "--set",
      "hw.stream_tile_bytes=1073741824"], ("stream_tile_bytes = 1073741824", "at most 32768")),
])
def test_settings_that_would_be_ignored_or_crash_are_refused(cli, argv, words):
    _one_line_error(cli, *argv, words=words)


def test_the_same_setting_given_twice_alike_is_fine(cli):
    code, out, err = cli("run", "--model", "tiny", "--bits", "6", "--set", "model.weight_bits=6",
                         "--json", "-")
    assert code in (0, None), err


def test_soup_and_context_aliases_never_overwrite_an_input(cli, tmp_path):
    a, b = _small_weights(tmp_path, "a.npz"), _small_weights(tmp_path, "b.npz")
    before = a.read_bytes()
    _one_line_error(cli, "soup", str(a), str(a), str(b), "--model", "tiny",
                    words=("is also input 1",))
    assert a.read_bytes() == before
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("call mom\n")
    _one_line_error(cli, "context-aliases", str(ctx), str(ctx), words=("is CONTEXT itself",))
    assert ctx.read_text() == "call mom\n"


def test_context_aliases_refuses_nested_carriers_before_any_synthesis(cli, tmp_path):
    """`--context` refuses carriers of which one starts the other; context-aliases ran its
    synthesis on such a file and wrote a context that `--context` then refused (decoding
    audit). The check is the parser's now, so it fails first, and writes nothing."""
    ctx = tmp_path / "ctx.txt"
    ctx.write_text("@prefix call\n@prefix call to\nmom\n")
    out = tmp_path / "out.txt"
    _one_line_error(cli, "context-aliases", str(ctx), str(out), "--voices", "1",
                    "--min-count", "1", words=("carrier prefixes", "'call'", "'call to'"))
    assert not out.exists()


def test_soup_that_cannot_be_written_is_one_line_and_leaves_no_file(cli, tmp_path):
    a, b = _small_weights(tmp_path, "a.npz"), _small_weights(tmp_path, "b.npz")
    out = tmp_path / "o.npz"
    out.mkdir()                       # a folder named like the output
    _one_line_error(cli, "soup", str(out), str(a), str(b), "--model", "tiny",
                    words=("o.npz",))
    code, _, err = cli("soup", str(tmp_path / "s.npz"), str(a), str(b), "--model", "tiny")
    assert code in (0, None), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "b.npz", "o.npz", "s.npz"]


def test_transcripts_are_lower_cased_and_unwritable_characters_named(cli, tmp_path):
    """An upper-case transcript is the same words (it scored 100 % WER before); a digit is a
    character the model can never write, so it is an error, not a word error on every run."""
    import shutil

    from azsim.model.audio import shipped_audio_paths, shipped_transcripts
    wav = shipped_audio_paths()[0]
    ref = shipped_transcripts()[wav.name]
    folder = tmp_path / "ts"
    folder.mkdir()
    shutil.copy(wav, folder / wav.name)
    (folder / "transcripts.tsv").write_text(f"file\ttext\n{wav.name}\t  {ref.upper()} \n")
    import json
    code, out, err = cli("eval", "--test", str(folder), "--json", "-")
    assert code in (0, None), err
    rec = json.loads(out)
    assert rec["hypotheses"][0]["reference"] == ref
    assert rec["wer"] < 0.5
    (folder / "transcripts.tsv").write_text(f"file\ttext\n{wav.name}\tset a timer for 68 "
                                            "minutes\n")
    _one_line_error(cli, "eval", "--test", str(folder),
                    words=("transcripts.tsv:2", "'6'", "spell numbers"))


def test_sweep_checks_weights_and_counts_before_any_point(cli, tmp_path):
    good = _small_weights(tmp_path, "w.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:-200])
    for bad in (cut, tmp_path / "nozip.npz"):
        if not bad.exists():
            bad.write_bytes(b"PK\x03\x04 not really")
        _one_line_error(cli, "sweep", "--model", "tiny", "--dry-run", "--weights", str(bad),
                        words=(bad.name, "not a weights .npz"))
    spec = tmp_path / "s.toml"
    spec.write_text('test = "test"\nutterances = -3\n')
    _one_line_error(cli, "sweep", "--spec", str(spec), "--dry-run",
                    words=("s.toml: utterances = -3",))


def test_soup_takes_shipped_weight_names_as_other_commands_do(cli, tmp_path):
    from azsim.config import load_model_config
    from azsim.model.loading import model_weights

    out = tmp_path / "s.npz"
    code, text, err = cli("soup", str(out), "small", "small-qat4")
    assert code in (0, None), err
    cfg = load_model_config("small", [])
    a, b = model_weights(cfg, "small"), model_weights(cfg, "small-qat4")
    with np.load(out) as soup:
        np.testing.assert_allclose(soup["joint.w_out"], (a["joint.w_out"] + b["joint.w_out"]) / 2,
                                   atol=1e-6)


def test_prune_and_soup_never_write_into_the_shipped_models_folder(cli, tmp_path, monkeypatch):
    """An earlier audit overwrote the shipped small.npz by accident (a stand-in folder here:
    a test that fails must not do that again)."""
    import shutil

    import azsim.model.loading as loading

    shipped = tmp_path / "models"
    shipped.mkdir()
    for name in ("small", "small-qat4"):
        shutil.copyfile(loading.shipped_weights_dir() / f"{name}.npz", shipped / f"{name}.npz")
    monkeypatch.setattr(loading, "shipped_weights_dir", lambda: shipped)
    before = (shipped / "small.npz").read_bytes()
    _one_line_error(cli, "soup", str(shipped / "small.npz"), "small", "small-qat4",
                    words=("small.npz", "shipped models folder"))
    _one_line_error(cli, "prune", str(shipped / "new.npz"), "--sparsity", "0.5",
                    words=("new.npz", "shipped models folder"))
    monkeypatch.chdir(shipped)
    _one_line_error(cli, "prune", "small.npz", "--sparsity", "0.5",
                    words=("small.npz", "shipped models folder"))
    assert (shipped / "small.npz").read_bytes() == before
    assert sorted(p.name for p in shipped.iterdir()) == ["small-qat4.npz", "small.npz"]


@pytest.mark.parametrize("command", ["run", "eval"])
@pytest.mark.parametrize("argv,named", [
    (["--context-weight", "2"], "--context-weight 2"),
    (["--context-weight", "2", "--beam", "4"], "--context-weight 2"),
    (["--set", "model.decode.context_weight=2"], "--set model.decode.context_weight=2"),
])
def test_a_context_weight_without_context_phrases_is_refused(cli, command, argv, named):
    """It changed nothing and exited 0, as if the biasing bonus had been applied."""
    _one_line_error(cli, command, *argv, words=(named, "needs --context FILE"))


def test_a_sweep_over_the_context_weight_without_phrases_is_refused(cli, tmp_path):
    """Until 2026-12-06 the check lived in run's and eval's CLI only: a sweep stored two
    identical points, one per bonus, none of them biased."""
    db = tmp_path / "cw.sqlite"
    _one_line_error(cli, "sweep", "--model", "tiny", "--set", "model.decode.context_weight=1,2",
                    "--results", str(db), words=("model.decode.context_weight=1",
                                                 "needs --context FILE"))
    assert not db.exists()


def test_compress_weights_refuses_model_settings_it_cannot_apply(cli, tmp_path):
    codes = tmp_path / "i8.npy"
    np.save(codes, np.array([[1, -2], [3, 0]], np.int8))
    _one_line_error(cli, "compress", "--weights", str(codes), "--set", "model.encoder.hidden=3",
                    "--set", "model.pointer_bits=8", "--set", 'model.quantizer="gptq"',
                    words=("model.encoder.hidden=3", 'model.quantizer="gptq"',
                           "model.rle_index_bits"))
    # the stream format --format picks, in both modes; model.weight_format did nothing
    for argv in (["--weights", str(codes)], []):
        _one_line_error(cli, "compress", *argv, "--set", 'model.weight_format="csr"',
                        words=("model.weight_format", "--format"))
    # the settings that do shape the streams of given codes still apply
    code, out, err = cli("compress", "--weights", str(codes), "--format", "rle", "--bits", "4",
                         "--set", "model.rle_index_bits=3", "--set", "model.pointer_bits=8",
                         "--json", "-")
    assert code in (0, None), err
    code, out_wide, err = cli("compress", "--weights", str(codes), "--format", "rle", "--bits",
                              "4", "--json", "-")
    assert json.loads(out)["formats"][0]["bytes"] != json.loads(out_wide)["formats"][0]["bytes"]


@pytest.mark.parametrize("argv", [["report", "{d}"], ["results", "export", "{d}"],
                                  ["plot", "{d}", "--kind", "bits", "-o", "{d}/p.png"],
                                  ["validate", "{d}"]])
def test_a_folder_where_a_results_database_or_suite_belongs_is_named_a_folder(cli, tmp_path,
                                                                              argv):
    """A folder was 'no such results database' or 'unknown validation suite'."""
    err = _one_line_error(cli, *[a.format(d=tmp_path) for a in argv],
                          words=(f"{tmp_path}: is a folder",))
    assert "unknown" not in err and "no such" not in err


@pytest.mark.parametrize("argv,named", [
    (["run", "--bits", "9"], "with --bits 9: model.weight_bits = 9"),
    (["eval", "--sparsity", "1.0"], "with --sparsity 1.0: model.sparsity = 1.0"),
    (["run", "--beam", "99"], "with --beam 99: model.decode.beam = 99"),
    (["run", "--set", "model.encoder.hidden=-1", "--bits", "3"],
     "with --set model.encoder.hidden=-1 --bits 3: model.encoder.hidden = -1"),
])
def test_a_bad_value_from_an_option_names_the_option(cli, argv, named):
    """The options write --set overrides; their errors said '--set model.weight_bits=9' to a
    user who typed --bits 9."""
    _one_line_error(cli, *argv, words=(named,))


def test_option_overrides_pickle_as_themselves():
    import pickle

    from azsim.config.loader import OptionOverride, shown_override
    o = OptionOverride("model.weight_bits=4", "--bits 4")
    back = pickle.loads(pickle.dumps(o))
    assert back == "model.weight_bits=4" and shown_override(back) == "--bits 4"
    from azsim.errors import cli_names
    assert shown_override("model.weight_bits=4") == "overrides item 'model.weight_bits=4'"
    with cli_names():
        assert shown_override("model.weight_bits=4") == "--set model.weight_bits=4"


def test_an_integer_beyond_any_float_is_a_config_error(cli):
    """Found by fuzzing (2026-12-06): float(10**400) raised OverflowError, a traceback."""
    _one_line_error(cli, "run", "--model", "tiny", "--set", "hw.leakage_mw=" + "1" * 400,
                    words=("hw.leakage_mw", "too large"))


@pytest.mark.parametrize("nest", ["[" * 2000 + "]" * 2000, "{a = " * 2000 + "1" + "}" * 2000])
def test_toml_nested_too_deeply_is_a_config_error(cli, tmp_path, nest):
    """Found by fuzzing (2026-12-06): tomllib parses nesting recursively, and a deep one
    raised RecursionError, a traceback; in --set it is a value of the wrong type."""
    path = tmp_path / "hw.toml"
    path.write_text(f'name = "x"\nclock_mhz = {nest}\n')
    _one_line_error(cli, "run", "--model", "tiny", "--hw", str(path),
                    words=(str(path), "nested too deeply"))
    _one_line_error(cli, "run", "--model", "tiny", "--set", f"hw.clock_mhz={nest}",
                    words=("hw.clock_mhz",))


@pytest.mark.parametrize("command", ["run", "eval"])
def test_a_prune_method_with_nothing_to_prune_is_refused(cli, command):
    """`--prune global` without --sparsity ran unpruned and said prune: global, as `azsim
    prune` refuses ("with neither nothing would be pruned")."""
    _one_line_error(cli, command, "--prune", "global",
                    words=("--prune global: model.sparsity = 0", "give --sparsity"))


def test_prune_says_which_option_it_lacks(cli, tmp_path):
    """`azsim prune OUT --prune magnitude` said "give --sparsity or --prune nm:N:M" without
    naming the --prune it was given (a CLI audit, 2026-12-07)."""
    out = tmp_path / "p.npz"
    _one_line_error(cli, "prune", str(out), "--prune", "magnitude",
                    words=("--prune magnitude without --sparsity", "give --sparsity"))
    _one_line_error(cli, "prune", str(out), words=("neither --sparsity nor --prune nm:N:M",))
    assert not out.exists()


def test_prune_names_a_zero_sparsity_it_was_given(cli, tmp_path):
    """`azsim prune OUT --sparsity 0` said "neither --sparsity nor --prune nm:N:M given",
    and `--sparsity 0 --prune global` "--prune global without --sparsity" (an audit,
    2026-12-07): the option was given, its value prunes nothing."""
    out = tmp_path / "p.npz"
    err = _one_line_error(cli, "prune", str(out), "--sparsity", "0",
                          words=("--sparsity 0 without --prune nm:N:M", "give --sparsity"))
    assert "neither" not in err
    _one_line_error(cli, "prune", str(out), "--sparsity", "0", "--prune", "global",
                    words=("--prune global with --sparsity 0", "give --sparsity"))
    assert not out.exists()


@pytest.mark.parametrize("command", ["run", "eval"])
def test_a_branch_for_other_weights_needs_its_own_cheap_branch(cli, command, tmp_path):
    """--branch with --weights of a pruned model took small-branch60, small's own cheap
    branch, without a word."""
    from azsim.model.loading import resolve_weights_path
    other = str(resolve_weights_path(None, "small-qat4"))
    _one_line_error(cli, command, "--weights", other, "--branch",
                    words=("--branch with --weights", "small-branch60", "--branch-weights"))


@pytest.mark.parametrize("n_mels,empty", [(128, "1 of the mel filters holds"),
                                          (400, "90 of the mel filters hold")])
def test_mel_filters_without_an_fft_bin_are_refused(cli, n_mels, empty):
    """400 mels at n_fft 512 (257 bins) ran with 90 constant channels."""
    _one_line_error(cli, "run", "--model", "tiny", "--set", f"model.frontend.n_mels={n_mels}",
                    words=(f"model.frontend.n_mels = {n_mels}", empty, "larger n_fft"))


def _tiny_store(path):
    store = ResultStore(str(path))
    store.close()
    return path


@pytest.mark.parametrize("case", ["run-audio", "run-context", "report-markdown",
                                  "export", "plot", "compress-weights"])
def test_an_output_that_is_one_of_the_commands_inputs_is_refused(cli, tmp_path, case):
    """Until 2026-12-06 each of these replaced its own input (a WAV, the phrase file, the
    whole results database) and exited 0."""
    import shutil

    from azsim.model.audio import shipped_audio_paths
    wav = tmp_path / "x.wav"
    shutil.copy(shipped_audio_paths()[0], wav)
    phrases = tmp_path / "c.txt"
    phrases.write_text("call mark\n")
    # a plot's output must be an image: its store is named like one
    store = _tiny_store(tmp_path / ("r.svg" if case == "plot" else "r.sqlite"))
    ints = tmp_path / "i.npz"
    np.savez(ints, a=np.ones((4, 4), np.int8))
    argv, target, given = {
        "run-audio": (["run", "--model", "tiny", "--audio", str(wav), "--json"], wav, "--audio"),
        "run-context": (["run", "--beam", "2", "--context", str(phrases), "--json"], phrases,
                        "--context"),
        "report-markdown": (["report", str(store), "--markdown"], store, "RESULTS"),
        "export": (["results", "export", str(store), "-o"], store, "RESULTS"),
        "plot": (["plot", str(store), "--kind", "bits", "-o"], store, "RESULTS"),
        "compress-weights": (["compress", "--weights", str(ints), "--json"], ints, "--weights"),
    }[case]
    before = target.read_bytes()
    _one_line_error(cli, *argv, str(target), words=("is also the input", given,
                                                    "must not be overwritten"))
    assert target.read_bytes() == before


@pytest.mark.parametrize("case", ["set-weights", "toml-weights", "set-energy-table"])
def test_an_output_that_is_a_file_a_setting_names_is_refused(cli, tmp_path, case):
    """Files named by --set values or inside a model TOML are inputs too: a CLI audit
    (2026-12-06) found --json replacing the weights and the energy table they named, exit 0."""
    import shutil
    from importlib import resources

    from azsim.model.loading import shipped_weights_dir
    presets = resources.files("azsim.config").joinpath("presets")
    weights = tmp_path / "w.npz"
    shutil.copy(shipped_weights_dir() / "small.npz", weights)
    table = tmp_path / "e.toml"
    table.write_bytes(presets.joinpath("energy", "horowitz-45nm.toml").read_bytes())
    model = tmp_path / "m.toml"
    model.write_text(presets.joinpath("models", "small.toml").read_text()
                     .replace('weights = "small"', 'weights = "w.npz"', 1))
    argv, target, given = {
        "set-weights": (["compress", "--set", f"model.weights={weights}", "--json"], weights,
                        "--set model.weights="),
        "toml-weights": (["compress", "--model", str(model), "--json"], weights,
                         "(its weights)"),
        "set-energy-table": (["run", "--model", "tiny", "--set", f"hw.energy_table={table}",
                              "--json"], table, "--set hw.energy_table="),
    }[case]
    before = target.read_bytes()
    _one_line_error(cli, *argv, str(target), words=("is also the input", given,
                                                    "must not be overwritten"))
    assert target.read_bytes() == before


@pytest.mark.parametrize("case", ["decode", "context-aliases", "compress-save", "run-lattice"])
def test_two_outputs_of_one_command_are_two_files(cli, tmp_path, case):
    """One output written over another, exit 0 (a CLI audit, 2026-12-06): the same path twice
    is refused before the work; a folder output's file that is the --json record is refused
    when the folder is written, the record and the report kept."""
    import shutil

    from azsim.model.audio import shipped_audio_paths
    save = tmp_path / "sv"
    save.mkdir()
    assert cli("compress", "--model", "tiny", "--format", "dense", "--save", str(save))[0] == 0
    stream = save / "joint.w_out.dense.azw"
    ctx = tmp_path / "c.txt"
    ctx.write_text("call mark\n")
    wav = tmp_path / "s.wav"
    shutil.copy(shipped_audio_paths()[0], wav)
    same = tmp_path / "same.npy"
    argv, words = {
        "decode": (["decode", str(stream), "--out", str(same), "--json", str(same)],
                   ("--json", "is also the output --out")),
        "context-aliases": (["context-aliases", str(ctx), str(same), "--json", str(same)],
                            ("--json", "is also the output OUT")),
        "compress-save": (["compress", "--model", "tiny", "--format", "dense", "--save",
                           str(save), "--json", str(stream)], ("--save", "is the --json output")),
        "run-lattice": (["run", "--model", "tiny", "--audio", str(wav), "--save-lattice",
                         str(tmp_path), "--json", str(tmp_path / "s.azl")],
                        ("--save-lattice", "is the --json output")),
    }[case]
    _one_line_error(cli, *argv, words=words)
    if case in ("compress-save", "run-lattice"):   # the record was written, and kept
        record = stream if case == "compress-save" else tmp_path / "s.azl"
        assert record.read_text().lstrip().startswith("{")


@pytest.mark.parametrize("argv,words", [
    (["run", "--model", "tiny", "--bits", "4", "--bits", "8"], ("--bits 4", "--bits 8")),
    (["run", "--model", "tiny", "--model", "small"], ("--model tiny", "--model small")),
    (["run", "--json", "a.json", "--json=b.json"], ("--json a.json", "--json=b.json")),
    (["sweep", "-j", "2", "-j3", "--dry-run"], ("-j 2", "-j3")),
    (["results", "export", "r.sqlite", "-o", "a.csv", "-o", "b.csv"], ("-o a.csv", "-o b.csv")),
])
def test_a_single_valued_option_given_twice_is_refused(cli, argv, words):
    """click kept the last value silently: --bits 4 --bits 8 ran at 8 bits (a CLI audit,
    2026-12-06); a repeated --set setting was already refused."""
    _one_line_error(cli, *argv, words=("is given twice", *words))


def test_options_that_take_many_values_may_repeat(cli, tmp_path):
    import shutil

    from azsim.model.audio import shipped_audio_paths
    wavs = [shutil.copy(p, tmp_path) for p in shipped_audio_paths()[:2]]
    code, out, err = cli("run", "--model", "tiny", "--audio", wavs[0], "--audio", wavs[1],
                         "--set", "hw.clock_mhz=400", "--set", "hw.pe_count=8")
    assert code == 0, err


@pytest.mark.parametrize("setting", ["model.weight_bits=4", "model.weight_format=rle",
                                     "model.quantizer=gptq", "model.decode.beam=4",
                                     "model.branch.enabled=true"])
def test_prune_refuses_settings_it_would_ignore(cli, tmp_path, setting):
    """azsim prune writes float weights: a bit-width or a decoding setting was accepted and
    changed nothing (2026-12-06 audit)."""
    out = tmp_path / "p.npz"
    _one_line_error(cli, "prune", str(out), "--model", "tiny", "--sparsity", "0.5",
                    "--set", setting, words=(setting, "would change nothing"))
    assert not out.exists()


def test_an_unreadable_results_database_says_so(tmp_path, monkeypatch):
    """As root every file is readable, so the check is driven through os.access; SQLite's own
    answer was 'unable to open database file', read as 'not an azsim results database'."""
    from azsim.sweep import store as store_mod
    from azsim.sweep.store import ResultsError, open_for_reading
    path = _tiny_store(tmp_path / "r.sqlite")
    monkeypatch.setattr(store_mod.os, "access", lambda p, mode: False)
    with pytest.raises(ResultsError, match="cannot read the results database .permission denied"):
        open_for_reading(str(path))


def test_an_empty_file_is_no_results_database(cli, tmp_path):
    """SQLite reads a 0-byte file as a database without tables: the readers said 'no such
    table: meta'; a file made by touch is named as empty, and left as it was."""
    path = tmp_path / "r.sqlite"
    path.touch()
    for argv in (("report", str(path)), ("results", "export", str(path), "-o",
                                         str(tmp_path / "x.csv"))):
        _one_line_error(cli, *argv, words=("r.sqlite", "is an empty file"))
    assert path.stat().st_size == 0


@pytest.mark.parametrize("key", ["../evil", "sub/x", "..", "a\\b"])
def test_compress_save_refuses_a_matrix_name_that_is_a_path(cli, tmp_path, key):
    """An .npz key '../evil' made --save DIR write ./evil.dense.azw, outside DIR (audit)."""
    src = tmp_path / "t.npz"
    np.savez(src, **{key: np.ones((1, 2), np.int8)})
    out = tmp_path / "out"
    out.mkdir()
    _one_line_error(cli, "compress", "--weights", str(src), "--format", "dense", "--save",
                    str(out), words=("is not a file name",))
    assert not list(tmp_path.rglob("*.azw"))


def test_compress_of_given_codes_does_not_claim_a_quantizer(cli, tmp_path):
    """--weights codes are encoded as given: the record said quantizer 'uniform' (audit)."""
    src = tmp_path / "g.npz"
    np.savez(src, a=np.ones((4, 4), np.int8))
    code, out, err = cli("compress", "--weights", str(src), "--json", "-")
    d = json.loads(out)
    assert d["quantizer"] is None and d["weight_range"] is None and d["prune"] is None
    code, out, err = cli("compress", "--weights", str(src))
    assert "(codes as given)" in out.splitlines()[0]


@pytest.mark.parametrize("argv", [
    ["run", "--weights", "small-qat4", "--set", "model.weights=small-sparse80"],
    ["eval", "--utterances", "1", "--weights", "small-qat4", "--set",
     "model.weights=small-sparse80"],
    ["sweep", "--weights", "{qat4}", "--set", "model.weights=small,small-sparse80", "--dry-run"],
    ["sweep", "--weights", "{qat4}", "--set", "model.weights=small", "--dry-run"],
])
def test_weights_named_twice_is_refused(cli, argv):
    """--weights beside --set model.weights: the option won and the setting was dropped (a
    sweep's point list even showed the setting it did not run; a CLI audit, 2026-12-06)."""
    import importlib.resources
    qat4 = str(importlib.resources.files("azsim") / "data" / "models" / "small-qat4.npz")
    argv = [a.replace("{qat4}", qat4) for a in argv]
    _one_line_error(cli, *argv, words=("model.weights", "--weights", "give"))


def test_weights_named_twice_alike_is_fine():
    """The same weights by both names is one setting, not two."""
    from azsim.config import check_weights_named_once
    check_weights_named_once("small-qat4", ["model.weights=small-qat4"])
    check_weights_named_once(None, ["model.weights=small-qat4"])


def test_sweep_takes_a_shipped_weights_name_as_run_does(cli, tmp_path, monkeypatch):
    """run and eval take --weights small-qat4; the sweep made the name a path in the
    current folder and said it could not read it (a CLI audit, 2026-12-06)."""
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("sweep", "--weights", "small-qat4", "--set", "model.weight_bits=8,4",
                         "--dry-run")
    assert code in (0, None), err
    assert "2 points" in out
    _one_line_error(cli, "sweep", "--weights", "nope-qat4", "--set", "model.weight_bits=8,4",
                    "--dry-run", words=("--weights", "nope-qat4", "cannot read"))


@pytest.mark.parametrize("argv, words", [
    (["eval", "--utterances", "1", "--json", "-", "--show-errors", "2"],
     ("--show-errors 2", "--json -")),
    (["plot", "r.sqlite", "--kind", "pareto", "--dpi", "600", "-o", "x.svg"],
     ("--dpi 600", "x.svg", "PNG")),
])
def test_an_option_its_output_ignores_is_refused(cli, tmp_path, monkeypatch, argv, words):
    """Both were dropped without a word, exit 0 (a CLI audit, 2026-12-06)."""
    monkeypatch.chdir(tmp_path)
    _one_line_error(cli, *argv, words=words)


def test_compress_save_never_writes_over_its_weights_input(cli, tmp_path):
    """An .npz of one array `k` saved as DIR/k.dense.azw and given back as --weights with
    --save DIR --format dense was replaced by its own stream, exit 0 (an audit,
    2026-12-07)."""
    import numpy as np
    folder = tmp_path / "s6"
    folder.mkdir()
    source = folder / "k.dense.azw"
    with open(source, "wb") as fh:
        np.savez(fh, k=np.array([[1, -1], [0, 2]], np.int8))
    before = source.read_bytes()
    _one_line_error(cli, "compress", "--weights", str(source), "--save", str(folder),
                    "--format", "dense", words=("--save", "is the --weights input",
                                                "nothing was written"))
    assert source.read_bytes() == before


def test_compress_names_the_format_it_was_given(cli):
    """The encoder's refusal named the config field (model.weight_format = 'dense'), not
    the option the user gave (an audit, 2026-12-07)."""
    err = _one_line_error(cli, "compress", "--model", "tiny", "--bits", "1", "--sparsity",
                          "0.5", "--format", "dense",
                          words=("--format dense at 1 bits", "cannot store zero codes"))
    assert "model.weight_format" not in err
