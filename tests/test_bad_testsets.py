"""Bad test sets (`--test FILE|DIR`) give one line on stderr and exit status 2, never a
traceback or a WER computed on something that is not the test set (empty sets, bad .npz
arrays in either layout, unreadable transcripts.tsv)."""
import importlib.resources
import shutil

import numpy as np
import pytest

N = 2   # utterances in the small test sets made here


def _shipped_arrays(n=N):
    """The first n shipped test utterances in the shipped layout (features_u8 codes)."""
    src = importlib.resources.files("azsim") / "data" / "testset" / "test.npz"
    with np.load(str(src)) as z:
        a = {k: z[k] for k in z.files}
    end = int(a["offsets"][n])
    return {"features_u8": a["features_u8"][:end], "offsets": a["offsets"][:n + 1],
            "feature_offset": a["feature_offset"][:n], "feature_step": a["feature_step"][:n],
            "texts": a["texts"][:n]}


def _corpus_arrays(n=N):
    """The same utterances in the corpus-split layout (float16 features)."""
    s = _shipped_arrays(n)
    off = s["offsets"]
    feats = [s["feature_offset"][k] + s["features_u8"][off[k]:off[k + 1]].astype(np.float32)
             * s["feature_step"][k] for k in range(n)]
    return {"features": np.concatenate(feats).astype(np.float16), "offsets": off,
            "texts": s["texts"]}


def _save(tmp_path, name, arrays, **changes):
    """``arrays`` with ``changes`` (None drops an array) as tmp_path/name.npz."""
    a = {**arrays, **changes}
    path = tmp_path / f"{name}.npz"
    np.savez(path, **{k: v for k, v in a.items() if v is not None})
    return path


def _assert_one_line_error(result, path, *fragments):
    code, out, err = result
    assert "Traceback" not in err
    assert code == 2, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("azsim: error: "), lines[0]
    assert str(path) in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def _frames():
    return int(_shipped_arrays()["offsets"][N])


# (name, layout, changes, words the error must hold)
NPZ_CASES = [
    ("offsets_past_end", "shipped", lambda f: {"offsets": np.array([0, 200, f + 100])},
     ["offsets[2]", "rows of features_u8"]),
    ("offsets_past_end_corpus", "corpus", lambda f: {"offsets": np.array([0, 200, f + 100])},
     ["offsets[2]", "rows of features"]),
    ("offsets_short_of_end", "corpus", lambda f: {"offsets": np.array([0, 200, f - 10])},
     ["offsets[2]", "rows of features"]),
    ("nan_step", "shipped",
     lambda f: {"feature_step": np.array([np.nan, 0.07], np.float32)}, ["feature_step[0]", "nan"]),
    ("inf_offset", "shipped",
     lambda f: {"feature_offset": np.array([-12.0, np.inf], np.float32)},
     ["feature_offset[1]", "finite"]),
    ("zero_step", "shipped",
     lambda f: {"feature_step": np.array([0.07, 0.0], np.float32)}, ["feature_step[1]", "positive"]),
    ("int_texts", "corpus", lambda f: {"texts": np.array([1, 2])}, ["texts", "int64", "strings"]),
    ("blank_text", "corpus", lambda f: {"texts": np.array(["hello", " "])}, ["texts[1]", "blank"]),
    # a text the character model can never write would be a word error on every run
    ("digit_text", "corpus", lambda f: {"texts": np.array(["hello", "set 5 timers"])},
     ["texts[1]", "'5'", "cannot write", "spell numbers"]),
    ("symbol_text", "shipped", lambda f: {"texts": np.array(["hi, there", "hello"])},
     ["texts[0]", "','", "cannot write"]),
    ("float_offsets", "corpus", lambda f: {"offsets": np.array([0.0, 200.0, f])},
     ["offsets", "float64", "integers"]),
    ("descending_offsets", "corpus", lambda f: {"offsets": np.array([0, f, 200])},
     ["offsets", "not ascending"]),
    ("negative_offsets", "shipped", lambda f: {"offsets": np.array([-5, 200, f])},
     ["offsets[0]", "-5", "start at 0"]),
    ("empty_utterance", "corpus", lambda f: {"offsets": np.array([0, 0, f])},
     ["utterance 0", "empty"]),
    ("short_utterance", "shipped", lambda f: {"offsets": np.array([0, 1, f])},
     ["utterance 0", "1 feature frame", "at least"]),
    ("short_step", "shipped", lambda f: {"feature_step": np.array([0.07], np.float32)},
     ["feature_step", "(1,)", "one value per utterance"]),
    ("short_feature_offset", "shipped",
     lambda f: {"feature_offset": np.zeros(3, np.float32)}, ["feature_offset", "(3,)"]),
    ("too_many_texts", "corpus", lambda f: {"texts": np.array(["a", "b", "c"])},
     ["offsets", "one more than the 3 texts"]),
    ("too_few_offsets", "shipped", lambda f: {"offsets": np.array([0, f])},
     ["offsets", "(3,)"]),
    ("no_feature_step", "shipped", lambda f: {"feature_step": None}, ["no feature_step array"]),
    ("no_feature_offset", "shipped", lambda f: {"feature_offset": None},
     ["no feature_offset array"]),
    ("no_offsets", "corpus", lambda f: {"offsets": None}, ["no offsets array"]),
    ("no_texts", "shipped", lambda f: {"texts": None}, ["no texts array"]),
    ("no_features", "corpus", lambda f: {"features": None}, ["no features array"]),
    ("mel40_corpus", "corpus", None, ["40 mel channels", "expects 80"]),
    ("mel40_shipped", "shipped", None, ["40 mel channels", "expects 80"]),
    ("nan_features", "corpus", None, ["features row", "NaN"]),
    ("int_features", "corpus", None, ["features", "int16", "floats"]),
    ("u16_codes", "shipped", None, ["features_u8", "uint16", "uint8"]),
    ("features_1d", "corpus", None, ["features", "shape"]),
    # the speakers are optional; given, one string per utterance (they group the WER)
    ("short_voices", "corpus", lambda f: {"voices": np.array(["en+f2"])},
     ["voices", "(1,)", "expected (2,) strings"]),
    ("int_voices", "shipped", lambda f: {"voices": np.array([1, 2])}, ["voices", "int64"]),
]


def _bad_arrays(name, layout, changes):
    arrays = _shipped_arrays() if layout == "shipped" else _corpus_arrays()
    key = "features_u8" if layout == "shipped" else "features"
    if changes is not None:
        return {**arrays, **changes(_frames())}
    f = arrays[key]
    if name.startswith("mel40"):
        return {**arrays, key: f[:, :40]}
    if name == "nan_features":
        f = f.copy()
        f[250, 7] = np.nan
        return {**arrays, key: f}
    if name == "int_features":
        return {**arrays, key: f.astype(np.int16)}
    if name == "u16_codes":
        return {**arrays, key: f.astype(np.uint16)}
    if name == "features_1d":
        return {**arrays, key: f[:, 0]}
    raise AssertionError(name)


@pytest.mark.parametrize("name,layout,changes,fragments", NPZ_CASES,
                         ids=[c[0] for c in NPZ_CASES])
def test_bad_npz_arrays_give_one_line(cli, tmp_path, name, layout, changes, fragments):
    path = _save(tmp_path, name, _bad_arrays(name, layout, changes))
    _assert_one_line_error(cli("eval", "--test", str(path)), path, *fragments)


def test_bad_npz_arrays_fail_azsim_run_too(cli, tmp_path):
    path = _save(tmp_path, "past_end", _shipped_arrays(),
                 offsets=np.array([0, 200, _frames() + 100]))
    _assert_one_line_error(cli("run", "--test", str(path)), path, "offsets[2]")
    path = _save(tmp_path, "mel40", _corpus_arrays(),
                 features=_corpus_arrays()["features"][:, :40])
    _assert_one_line_error(cli("run", "--test", str(path)), path, "40 mel channels")


def test_the_nan_feature_row_is_named(cli, tmp_path):
    arrays = _corpus_arrays()
    arrays["features"] = arrays["features"].copy()
    arrays["features"][250, 7] = np.inf
    path = _save(tmp_path, "inf", arrays)
    _assert_one_line_error(cli("eval", "--test", str(path)), path, "features row 250")


def test_not_an_npz_gives_one_line(cli, tmp_path):
    for name, data in [("garbage", b"PK\x03\x04garbage"), ("text", b"hello"), ("empty", b"")]:
        path = tmp_path / f"{name}.npz"
        path.write_bytes(data)
        _assert_one_line_error(cli("eval", "--test", str(path)), path, "not a readable .npz")
    path = tmp_path / "single.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.arange(3))
    _assert_one_line_error(cli("eval", "--test", str(path)), path, "single .npy array")
    path = _save(tmp_path, "objects", _corpus_arrays(),
                 texts=np.array(["a", None], dtype=object))
    _assert_one_line_error(cli("eval", "--test", str(path)), path, "texts")


# --- empty test sets: an error, never "0 utterances ... WER 0.00 %" ----------------------

def _empty_sets(tmp_path):
    npz = _save(tmp_path, "empty", _corpus_arrays(), features=np.zeros((0, 80), np.float16),
                offsets=np.array([0], np.int64), texts=np.array([], dtype=str))
    npz_shipped = _save(tmp_path, "empty_shipped", _shipped_arrays(),
                        features_u8=np.zeros((0, 80), np.uint8),
                        offsets=np.array([0], np.int64), texts=np.array([], dtype=str),
                        feature_offset=np.zeros(0, np.float32),
                        feature_step=np.zeros(0, np.float32))
    no_lines = tmp_path / "no_lines"
    no_lines.mkdir()
    (no_lines / "transcripts.tsv").write_text("")
    header_only = tmp_path / "header_only"
    header_only.mkdir()
    (header_only / "transcripts.tsv").write_text("file\ttext\n\n")
    return [(npz, npz), (npz_shipped, npz_shipped),
            (no_lines, no_lines / "transcripts.tsv"),
            (header_only, header_only / "transcripts.tsv")]


def test_a_set_given_twice_is_an_error(cli, tmp_path):
    """Pooled figures would count its words twice; the same file by another path too."""
    npz = _save(tmp_path, "two", _shipped_arrays())
    _assert_one_line_error(cli("eval", "--test", "test", "--test", "test"), "--test test",
                           "given twice")
    other = tmp_path / "sub" / ".." / "two.npz"
    (tmp_path / "sub").mkdir()
    _assert_one_line_error(cli("eval", "--test", str(npz), "--test", "test", "--test",
                               str(other)), other, "given twice", f"as --test {npz} too")


def test_a_copy_of_a_set_under_another_name_is_given_twice(cli, tmp_path):
    """A copy of the shipped set (another file, the same utterances) was pooled beside it, its
    words counted twice."""
    src = importlib.resources.files("azsim") / "data" / "testset" / "test.npz"
    copy = tmp_path / "copy.npz"
    shutil.copyfile(str(src), copy)
    _assert_one_line_error(cli("eval", "--test", "test", "--test", str(copy), "--utterances",
                               "2"), copy, "the same utterances as --test test")


def test_an_empty_test_set_is_an_error(cli, tmp_path):
    for spec, named in _empty_sets(tmp_path):
        for argv in (["eval", "--test", str(spec)], ["run", "--test", str(spec)],
                     ["run", "--test", str(spec), "--utterances", "1"]):
            code, out, err = cli(*argv)
            _assert_one_line_error((code, out, err), named, "no utterances")
            assert "1..0" not in err and "WER" not in out, argv


def test_an_empty_test_set_is_an_error_in_the_api(tmp_path):
    from azsim.api import simulate
    from azsim.errors import AzsimError
    from azsim.evaluate import evaluate
    npz = _empty_sets(tmp_path)[0][0]
    with pytest.raises(AzsimError, match="no utterances"):
        evaluate(testset=str(npz))
    with pytest.raises(AzsimError, match="no utterances"):
        simulate(testset=str(npz), utterances=1)


# --- transcripts.tsv --------------------------------------------------------------------

def _wav_folder(tmp_path, name, tsv: bytes):
    audio = importlib.resources.files("azsim") / "data" / "audio"
    wav = sorted(p for p in audio.iterdir() if p.name.endswith(".wav"))[0]
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(str(wav), folder / "a.wav")
    (folder / "transcripts.tsv").write_bytes(tsv)
    return folder, folder / "transcripts.tsv"


@pytest.mark.parametrize("name,tsv,fragments", [
    ("no_tab", b"file\ttext\na.wav hello there\n", [":2:", "1 tab-separated field", "file<TAB>text"]),
    ("no_tab_line3", b"file\ttext\na.wav\thello\n\nb.wav hi\n", [":4:", "field"]),
    ("three_fields", b"file\ttext\na.wav\thello\tthere\n", [":2:", "3 tab-separated field"]),
    ("latin1", b"file\ttext\na.wav\tcaf\xe9 au lait\n", [":2:", "not UTF-8", "0xe9"]),
    ("latin1_line3", b"file\ttext\na.wav\thello\nb.wav\t\xff\n", [":3:", "not UTF-8"]),
    ("no_header", b"a.wav\thello\n", [":1:", "header"]),
    ("no_file", b"file\ttext\n\thello\n", [":2:", "no file name"]),
    ("no_text", b"file\ttext\na.wav\t  \n", [":2:", "no reference text", "a.wav"]),
    # decoded and counted in the WER twice until 2026-12-06
    ("twice", b"file\ttext\na.wav\thello\n./a.wav\thi\n", [":3:", "listed again",
                                                          "line 2"]),
], ids=["no_tab", "no_tab_line3", "three_fields", "latin1", "latin1_line3", "no_header",
        "no_file", "no_text", "twice"])
def test_bad_transcripts_tsv_gives_one_line(cli, tmp_path, name, tsv, fragments):
    folder, named = _wav_folder(tmp_path, name, tsv)
    _assert_one_line_error(cli("eval", "--test", str(folder)), named, *fragments)


def test_bad_transcripts_tsv_fails_azsim_run_too(cli, tmp_path):
    folder, named = _wav_folder(tmp_path, "no_tab", b"file\ttext\na.wav hello\n")
    _assert_one_line_error(cli("run", "--test", str(folder)), named, ":2:")


# --- valid small sets still work ----------------------------------------------------------

def test_valid_small_sets_still_evaluate(cli, tmp_path, shipped_test_head):
    from azsim.evaluate import load_testset
    import azsim.config as cfgmod
    cfg = cfgmod.load_model_config(cfgmod.DEFAULT_MODEL, [])
    corpus = shipped_test_head(N)
    shipped = _save(tmp_path, "shipped_layout", _shipped_arrays())
    for path in (corpus, shipped):
        tset = load_testset(str(path), cfg)
        assert len(tset.utterances) == N == len(tset.references)
        assert sum(u.features.shape[0] for u in tset.utterances) == _frames()
        assert all(np.isfinite(u.features).all() and u.features.shape[1] == 80
                   for u in tset.utterances)
    code, out, err = cli("eval", "--test", str(corpus))
    assert code in (0, None), err
    assert f"({N} utterances" in out and "WER" in out
    # upper case and extra spaces in an .npz's texts are read as the model writes, as
    # transcripts.tsv's are (they once scored every correct word as an error)
    arrays = _shipped_arrays()
    shouting = _save(tmp_path, "upper", arrays,
                     texts=np.array([" " + t.upper().replace(" ", "  ") for t in arrays["texts"]]))
    assert load_testset(str(shouting), cfg).references == [str(t) for t in arrays["texts"]]
    # CRLF line ends, a UTF-8 byte-order mark and blank lines are fine in transcripts.tsv
    folder, _ = _wav_folder(tmp_path, "ok", b"\xef\xbb\xbffile\ttext\r\na.wav\thello there\r\n\r\n")
    tset = load_testset(str(folder), cfg)
    assert tset.references == ["hello there"] and len(tset.utterances) == 1
    code, out, err = cli("eval", "--test", str(folder))
    assert code in (0, None), err
    assert "(1 utterance," in out


def test_eval_says_when_a_corpus_split_was_drawn_from_another_grammar(cli, tmp_path,
                                                                     shipped_test_head):
    """The JSON carries the split's grammar fingerprint (its corpus.json's) beside today's;
    the text report adds a note only when both are known and differ: the evaluation sets of
    2026-12-03 predate the grammar's open slots, which nothing recorded."""
    import json

    from azsim.corpus.grammar import fingerprint
    split = shipped_test_head(2)
    notes = {}
    for grammar in (None, fingerprint(), "0123456789abcdef"):
        meta = tmp_path / "corpus.json"
        if grammar is None:
            meta.unlink(missing_ok=True)
        else:
            meta.write_text(json.dumps({"seed": 3, "grammar": grammar}))
        code, out, err = cli("eval", "--test", str(split), "--json", str(tmp_path / "e.json"))
        assert code in (0, None), err
        record = json.loads((tmp_path / "e.json").read_text())
        assert record["testset_grammar"] == grammar and record["grammar_now"] == fingerprint()
        notes[grammar] = [line for line in out.splitlines() if "another grammar" in line]
    assert notes[None] == [] and notes[fingerprint()] == []
    other = notes["0123456789abcdef"]
    assert len(other) == 1 and "0123456789abcdef" in other[0]
    # a set drawn at an earlier version of azsim's grammar is named by it
    meta.write_text(json.dumps({"seed": 3, "grammar": fingerprint(1)}))
    code, out, err = cli("eval", "--test", str(split), "--json", str(tmp_path / "e.json"))
    assert code in (0, None), err
    assert json.loads((tmp_path / "e.json").read_text())["testset_grammar_version"] == 1
    assert [line for line in out.splitlines() if "another grammar (version 1, " in line]


def test_wavs_a_folder_set_does_not_list_are_named_not_skipped_silently(tmp_path):
    """A folder of 4 WAVs with 2 in transcripts.tsv evaluated 2 without a word."""
    import shutil

    from azsim.config import load_model_config
    from azsim.errors import AzsimWarning
    from azsim.evaluate import load_testset
    from azsim.model.audio import shipped_audio_paths
    for path in shipped_audio_paths():
        shutil.copy(path, tmp_path / path.name)
    first = shipped_audio_paths()[0].name
    (tmp_path / "transcripts.tsv").write_text(f"file\ttext\n{first}\tset a timer\n")
    with pytest.warns(AzsimWarning, match="3 WAV files of the folder not in transcripts.tsv"):
        tset = load_testset(str(tmp_path), load_model_config("small", []))
    assert len(tset.utterances) == 1


# ------------------------------------------ a folder of the user's WAVs (2026-12-06 audit)

def test_one_wav_by_two_spellings_is_refused_and_listed_files_are_not_called_unlisted(
        tmp_path):
    from azsim.config import load_model_config
    from azsim.errors import AzsimError, AzsimWarning
    from azsim.evaluate import load_testset
    cfg = load_model_config("small", [])
    folder, tsv = _wav_folder(tmp_path, "two", b"")
    tsv.write_text(f"file\ttext\n{folder / 'a.wav'}\thello\na.wav\thello\n")
    with pytest.raises(AzsimError, match="are the same file"):
        load_testset(str(folder), cfg)
    # an absolute path listed once is evaluated and not warned about; an upper-case .WAV
    # that is not listed is
    shutil.copy(folder / "a.wav", folder / "EXTRA.WAV")
    tsv.write_text(f"file\ttext\n{folder / 'a.wav'}\thello\n")
    with pytest.warns(AzsimWarning) as caught:
        tset = load_testset(str(folder), cfg)
    assert len(tset.utterances) == 1
    texts = [str(w.message) for w in caught]
    assert any("EXTRA.WAV" in t for t in texts) and not any("a.wav" in t for t in texts)


def test_a_reference_names_every_character_the_model_cannot_write_at_once(tmp_path):
    from azsim.config import load_model_config
    from azsim.errors import AzsimError
    from azsim.evaluate import load_testset
    folder, _ = _wav_folder(tmp_path, "punct", b"file\ttext\na.wav\tSet a timer for 5 minutes.\n")
    with pytest.raises(AzsimError) as info:
        load_testset(str(folder), load_model_config("small", []))
    message = str(info.value)
    assert "'5', '.'" in message and "spell numbers out" in message \
        and "remove punctuation" in message


def test_eval_by_voice_counts_each_speakers_errors(cli, tmp_path):
    """The WER of each speaker a set records: the per-voice counts add up to the set's, a
    compared record's and the float model's hypotheses are counted per voice too, and pooled
    sets merge a voice that is in both; a folder of WAVs records none and says so."""
    import json
    from azsim.evaluate import by_voice
    from azsim.model.metrics import edit_operations
    arrays = {**_corpus_arrays(3), "voices": np.array(["en+f2", "en-us+Michael", "en+f2"])}
    path = _save(tmp_path, "voices", arrays)
    out_json = tmp_path / "a.json"
    code, out, err = cli("eval", "--test", str(path), "--float", "--by-voice", "--json",
                         str(out_json))
    assert code in (0, None), err
    rec = json.loads(out_json.read_text())
    bv = rec["by_voice"]
    assert list(bv) == ["en+f2", "en-us+Michael"]
    assert [bv[v]["utterances"] for v in bv] == [2, 1]
    assert sum(v["words"] for v in bv.values()) == rec["words"]
    assert sum(v["word_errors"] for v in bv.values()) == rec["word_errors"]
    for voice, v in bv.items():
        hs = [h for h in rec["hypotheses"] if h["voice"] == voice]
        assert v["float_word_errors"] == sum(
            sum(edit_operations(h["reference"].split(), h["float_hypothesis"].split()))
            for h in hs)
        assert v["wer"] == v["word_errors"] / v["words"]
    assert "voice" in out and "float %" in out and "en-us+Michael" in out
    # against a record whose hypotheses are all wrong: every reference word is an error
    wrong = {**rec, "hypotheses": [{**h, "hypothesis": "zzz"} for h in rec["hypotheses"]]}
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    code, out, err = cli("eval", "--test", str(path), "--compare", str(tmp_path / "wrong.json"),
                         "--by-voice", "--json", str(out_json))
    assert code in (0, None), err
    bv = json.loads(out_json.read_text())["by_voice"]
    assert all(v["baseline_word_errors"] == v["words"] for v in bv.values())
    assert "compared %" in out
    # pooled: a voice in both sets counts in both (the second set's first text differs: the
    # same utterances twice are refused, they would count twice)
    other = _save(tmp_path, "voices2", arrays,
                  texts=np.array(["set a timer"] + [str(t) for t in arrays["texts"][1:]]))
    code, out, err = cli("eval", "--test", str(path), "--test", str(other), "--by-voice",
                         "--json", str(out_json))
    assert code in (0, None), err
    data = json.loads(out_json.read_text())
    assert data["pooled"]["by_voice"]["en+f2"]["utterances"] == 4
    assert by_voice([]) == {}
    code, out, err = cli("eval", "--test", str(path), "--utterances", "2", "--by-voice",
                         "--json", str(out_json))
    assert code in (0, None), err
    assert {v: x["utterances"] for v, x in json.loads(out_json.read_text())["by_voice"].items()} \
        == {"en+f2": 1, "en-us+Michael": 1}
    folder, _ = _wav_folder(tmp_path, "wavs", b"file\ttext\na.wav\thello there\n")
    code, out, err = cli("eval", "--test", str(folder), "--by-voice")
    assert code in (0, None), err
    assert "records no speakers" in out


def test_the_calibration_set_is_no_test_set(cli):
    """`--test calibration` evaluated the set the activation scales come from, calibrated on
    itself (a corpus audit, 2026-12-07)."""
    code, out, err = cli("eval", "--test", "calibration")
    assert code == 2 and err.count("\n") == 1, err
    assert "--test calibration: the shipped calibration set sets the model's activation" in err
