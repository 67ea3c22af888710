"""The synthetic corpus plan (issue #6): splits disjoint by voice and by sentence, and the three
contact-name lists kept apart so the biasing test (issue #7) hears only unseen names."""
import json

import numpy as np
import pytest

from azsim.corpus import grammar
from azsim.corpus.build import plan
from azsim.corpus.synth import sentence_split, split_variants
from azsim.evaluate import _testset_dir

TESTSET_DIR = _testset_dir()

VARIANTS = split_variants([f"v{k}" for k in range(40)], seed=0)
SIZES = {"train": 400, "dev": 40, "test": 60, "names": 30, "names_train": 80}


def _voices(items):
    return {speaker.voice.split("+")[1] for _, speaker, *_ in items}


def test_voice_variants_are_disjoint_between_splits():
    assert not set(VARIANTS["train"]) & set(VARIANTS["test"])
    assert not set(VARIANTS["train"]) & set(VARIANTS["dev"])
    assert not set(VARIANTS["dev"]) & set(VARIANTS["test"])


def test_plan_splits_by_voice_and_by_sentence():
    work = plan(0, SIZES, VARIANTS)
    assert {k: len(v) for k, v in work.items()} == SIZES
    train_texts = {t for t, *_ in work["train"] + work["names_train"]}
    for split in ("dev", "test"):
        assert not train_texts & {t for t, *_ in work[split]}, split
        assert all(sentence_split(t) == split for t, *_ in work[split])
    assert _voices(work["train"]) <= set(VARIANTS["train"])
    assert _voices(work["names_train"]) <= set(VARIANTS["train"])
    assert _voices(work["test"]) <= set(VARIANTS["test"])
    assert _voices(work["names"]) <= set(VARIANTS["test"])


def test_every_word_of_the_grammar_and_of_the_shipped_test_sets_reaches_training():
    """A sentence-level split must leave unseen word sequences, not unseen words: with the fixed
    requests only one sentence each, every sentence with "thank" or "date" fell in test and
    every one with "read" or "messages" in dev, and the model missed 43 of its 178 test word
    errors on them. Distinct sentences of 60,000 draws cover the grammar."""
    distinct = set(grammar.sentences(60_000, seed=0))
    train_words = {w for s in distinct if sentence_split(s) == "train" for w in s.split()}
    all_words = {w for s in distinct for w in s.split()}
    assert all_words - train_words == set()
    assert grammar.request_words() == all_words   # the keep list of context aliases
    for name in ("test", "names"):
        with np.load(TESTSET_DIR / f"{name}.npz", allow_pickle=False) as z:
            words = {w for text in z["texts"] for w in text.split()}
        unseen = set(grammar.NEW_CONTACTS) if name == "names" else set()
        assert words - train_words - unseen == set(), name


def test_name_lists_are_disjoint_and_the_unseen_names_never_reach_training():
    contacts, new, extra = set(grammar.CONTACTS), set(grammar.NEW_CONTACTS), \
        set(grammar.TRAIN_NAMES)
    assert not contacts & new and not contacts & extra and not new & extra
    assert len(extra) == len(grammar.TRAIN_NAMES)
    work = plan(0, SIZES, VARIANTS)
    train_words = {w for t, *_ in work["train"] + work["names_train"] for w in t.split()}
    assert not train_words & new
    # every names_train request names a training-only contact, every names request an unseen one
    assert all(set(t.split()) & extra for t, *_ in work["names_train"])
    assert all(set(t.split()) & new for t, *_ in work["names"])
    # and the supplement is varied: most of the training-only names occur in 80 requests
    named = {w for t, *_ in work["names_train"] for w in t.split()} & extra
    assert len(named) > 50


def test_pseudo_names_are_distinct_unheard_and_reproducible():
    names = grammar.pseudo_names(2000, 7)
    assert len(set(names)) == 2000 and names == grammar.pseudo_names(2000, 7)
    assert names != grammar.pseudo_names(2000, 8)
    assert all(4 <= len(n) <= 10 and n.isalpha() and n.islower() for n in names)
    known = set(grammar.CONTACTS) | set(grammar.TRAIN_NAMES)
    assert not set(names) & known
    # no pseudo-name spells an unseen test name or comes within 2 edits of one
    assert all(grammar.edit_distance(n, new) > 2
               for n in names for new in grammar.NEW_CONTACTS)
    # they reach the names_train requests, and only those
    work = plan(0, SIZES, VARIANTS, pseudo_names=500)
    pseudo = set(grammar.pseudo_names(500, 2))                  # names_train uses seed + 2
    called = {w for t, *_ in work["names_train"] for w in t.split()}
    assert len(called & pseudo) > 20
    others = {w for split in ("train", "dev", "test", "names") for t, *_ in work[split]
              for w in t.split()}
    assert not others & pseudo


def test_plan_is_reproducible_from_its_seed():
    a, b = plan(3, SIZES, VARIANTS), plan(3, SIZES, VARIANTS)
    assert [t for t, *_ in a["test"]] == [t for t, *_ in b["test"]]
    assert [u for *_, u in a["names_train"]] == [u for *_, u in b["names_train"]]
    c = plan(4, SIZES, VARIANTS)
    assert [t for t, *_ in a["train"]] != [t for t, *_ in c["train"]]
    assert np.all([s.speed_wpm > 0 for _, s, *_ in a["train"]])


def test_every_contact_request_names_its_contact_right_after_a_carrier_phrase():
    """Biasing with carrier phrases (issue #7) relies on it."""
    for text in grammar.name_sentences(200, 5) + grammar.training_name_sentences(200, 5):
        words = text.split()
        k = next(i for i, w in enumerate(words)
                 if w in grammar.NEW_CONTACTS or w in grammar.TRAIN_NAMES)
        before = " ".join(words[:k])
        assert any(before.endswith(c) for c in grammar.CARRIER_PHRASES), text
    # names of one's own (examples/names_testset.py) take the same templates and draws
    own = grammar.name_sentences(50, 5, names=["zuleika", "wolfram"])
    assert own != grammar.name_sentences(50, 5)
    for text, plain in zip(own, grammar.name_sentences(50, 5, names=["amy", "bob"])):
        assert text.replace("zuleika", "amy").replace("wolfram", "bob") == plain


def test_a_corpus_whose_training_voices_include_the_shipped_test_voices_says_so(tmp_path):
    """Stage 3's names corpus (--seed 1, before --voice-split-seed) put 11 of the 14 shipped
    test voices into the training of every shipped model, without a word (corpus audit,
    2026-12-06). Such a corpus now warns; split 0's training voices are clean."""
    import shutil
    import warnings

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus, shipped_test_voices_in_training
    from azsim.corpus.synth import list_variants
    from azsim.errors import AzsimWarning
    one = split_variants(list_variants(), 1)
    assert len(shipped_test_voices_in_training(one, {"names_train": 8000})) == 11
    assert shipped_test_voices_in_training(one, {"test": 10}) == []      # nothing trains
    assert shipped_test_voices_in_training(split_variants(list_variants(), 0),
                                           {"train": 10}) == []
    with pytest.warns(AzsimWarning, match="11 of the shipped test set's"):
        build_corpus(tmp_path / "c", {"train": 1}, seed=1, jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AzsimWarning)
        build_corpus(tmp_path / "d", {"train": 1}, seed=1, jobs=1, voice_split_seed=0)


def test_a_fresh_seed_with_the_old_voice_split_seed_keeps_the_held_out_voices(tmp_path):
    """``azsim corpus --seed 5 --voice-split-seed 0`` draws new training data whose voices stay
    disjoint from the seed-0 corpus's dev and test voices (the shipped test set's)."""
    import shutil

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus, load_split, plan
    from azsim.corpus.synth import list_variants
    held_out = split_variants(list_variants(), 0)
    meta = build_corpus(tmp_path / "c", {"train": 3}, seed=5, jobs=1, voice_split_seed=0)
    assert meta["variants"] == held_out and meta["voice_split_seed"] == 0
    voices = {str(v).split("+")[1] for v in load_split(tmp_path / "c", "train")["voices"]}
    assert voices <= set(held_out["train"])
    # the data itself is seed 5's, not seed 0's
    texts = [str(t) for t in load_split(tmp_path / "c", "train")["texts"]]
    assert texts == [t for t, *_ in plan(5, {"train": 3}, held_out)["train"]]
    assert texts != [t for t, *_ in plan(0, {"train": 3}, held_out)["train"]]


def test_synthesis_leaves_no_scratch_folder(tmp_path, monkeypatch):
    """The workers' espeak-ng scratch folders are removed with the pool (a terminated pool
    process never ran its own TemporaryDirectory's cleanup: one folder left per worker)."""
    import shutil
    import tempfile

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    build_corpus(tmp_path / "c", {"train": 2}, seed=5, jobs=2, voice_split_seed=0)
    assert list(scratch.iterdir()) == []


def test_pseudo_names_without_name_requests_is_a_one_line_error(cli, tmp_path):
    code, out, err = cli("corpus", str(tmp_path / "c"), "--pseudo-names", "100")
    assert code == 2 and out == ""
    assert err.startswith("azsim: error:") and "--pseudo-names 100" in err
    assert "--names-train" in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists()


# A variant file in espeak-ng's format (abridged from its "m3"), for the perturbed voices.
_VARIANT_FILE = """language variant
name male3
gender male

pitch 80 122
roughness 2
formant 0 100 100 100
formant 1  96  97 100
formant 2  96  97 100 50
formant 3   0   0   0
consonants 100
"""


def _fake_espeak_data(tmp_path, names):
    folder = tmp_path / "voices" / "!v"
    folder.mkdir(parents=True)
    for name in names:
        (folder / name).write_text(_VARIANT_FILE)
    return str(tmp_path)


def test_a_random_variant_moves_formants_and_pitch_within_the_documented_ranges(tmp_path):
    from azsim.corpus import synth
    data = _fake_espeak_data(tmp_path, ["m3"])
    texts = [synth.random_variant("m3", np.random.default_rng(k), data) for k in range(50)]
    assert synth.random_variant("m3", np.random.default_rng(7), data) == texts[7]
    assert len(set(texts)) == 50
    lo = synth.VTL_FORMANT_SCALE[0] * synth.FORMANT_JITTER[0]
    hi = synth.VTL_FORMANT_SCALE[1] * synth.FORMANT_JITTER[1]
    for text in texts:
        lines = text.splitlines()
        assert lines[0] == "language variant" and "consonants 100" in lines
        assert "name m3~random" in lines and sum(w.startswith("roughness") for w in lines) == 1
        formants = {int(w.split()[1]): w.split()[2:] for w in lines if w.startswith("formant")}
        assert lo * 96 - 0.5 <= int(formants[1][0]) <= hi * 96 + 0.5
        assert formants[2][3] == "50"                      # extra fields kept
        assert formants[3][:3] == ["0", "0", "0"]          # an absent formant stays absent
        base, top = (int(v) for v in next(w for w in lines if w.startswith("pitch")).split()[1:])
        assert round(80 * synth.PITCH_SCALE[0]) <= base <= round(80 * synth.PITCH_SCALE[1])
        assert abs(top / base - 122 / 80) < 0.03           # base and range scale together


# random_variant("m3", default_rng(0)) of _VARIANT_FILE, and the generator's next value,
# computed with the code before random_variant took its ranges as parameters (2026-12-07)
_M3_SEED0 = ("language variant\ngender male\n\npitch 74 112\nformant 0 99 76 122\n"
             "formant 1 104 107 117\nformant 2 100 125 122 50\nformant 3 0 0 0\n"
             "consonants 100\nname m3~random\nroughness 3\n")
_M3_SEED0_NEXT = 0.17565562060255901


def test_a_random_variant_at_the_default_ranges_is_the_draw_made_before_they_were_parameters(
        tmp_path):
    from azsim.corpus import synth
    data = _fake_espeak_data(tmp_path, ["m3"])
    for kwargs in ({}, {"vtl_scale": synth.VTL_FORMANT_SCALE},
                   {"vtl_scale": [synth.VTL_FORMANT_SCALE], "pitch_scale": synth.PITCH_SCALE}):
        rng = np.random.default_rng(0)
        assert synth.random_variant("m3", rng, data, **kwargs) == _M3_SEED0, kwargs
        assert rng.random() == _M3_SEED0_NEXT, kwargs   # the same number of draws


def test_a_random_variant_of_an_extrapolated_range_draws_outside_the_training_range(tmp_path):
    from azsim.corpus import synth
    data = _fake_espeak_data(tmp_path, ["m3"])
    ranges = [(0.78, 0.84), (1.16, 1.22)]
    low = high = 0
    for k in range(200):
        text = synth.random_variant("m3", np.random.default_rng(k), data, vtl_scale=ranges)
        vtl = synth.draw_scale(ranges, np.random.default_rng(k))   # its first draw
        assert not synth.VTL_FORMANT_SCALE[0] <= vtl <= synth.VTL_FORMANT_SCALE[1]
        assert 0.78 <= vtl <= 0.84 or 1.16 <= vtl <= 1.22
        low, high = low + (vtl < 1), high + (vtl > 1)
        f1 = int(next(w for w in text.splitlines() if w.startswith("formant 1")).split()[2])
        jitter = synth.FORMANT_JITTER
        assert vtl * jitter[0] * 96 - 0.5 <= f1 <= vtl * jitter[1] * 96 + 0.5
    assert 70 < low < 130 and low + high == 200   # both ranges, by their lengths (equal)
    assert synth.draw_scale([(1.0, 1.0), (2.0, 5.0)], np.random.default_rng(3)) >= 2.0
    for bad in ((1.2, 0.8), (0.0, 1.0), [], [(0.8,)], "ab"):
        with pytest.raises(ValueError):
            synth.random_variant("m3", np.random.default_rng(0), data, vtl_scale=bad)


def test_random_voices_perturb_only_training_speakers_and_leave_share_zero_unchanged(tmp_path):
    data = _fake_espeak_data(tmp_path, VARIANTS["train"])
    plain = plan(0, SIZES, VARIANTS)
    assert plan(0, SIZES, VARIANTS, random_voices=0.0, espeak_data=data) == plain
    mixed = plan(0, SIZES, VARIANTS, random_voices=0.5, espeak_data=data)
    random = [s for split in ("train", "names_train") for _, s, *_ in mixed[split]
              if s.variant_text]
    assert 0.35 < len(random) / (SIZES["train"] + SIZES["names_train"]) < 0.65
    assert all(s.voice.endswith("~random") for s in random)
    for split in ("dev", "test", "names"):
        assert not any(s.variant_text for _, s, *_ in mixed[split]), split
    assert _voices(mixed["train"]) <= {v + "~random" for v in VARIANTS["train"]} | set(
        VARIANTS["train"])


def test_variant_names_with_a_space_are_read_whole():
    """espeak-ng's "Mr serious" variant was read as "Mr", which espeak-ng speaks as the plain
    accent voice."""
    import shutil

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.synth import espeak_data_dir, list_variants
    import os
    folder = os.path.join(espeak_data_dir(), "voices", "!v")
    assert all(os.path.isfile(os.path.join(folder, v)) for v in list_variants())


def test_a_perturbed_speaker_is_spoken_with_its_own_variant_file(tmp_path):
    import shutil

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus import synth
    plain = synth.Speaker("en+m3", 175, 50, 0)
    moved = synth.Speaker("en+m3~random", 175, 50, 0,
                          synth.random_variant("m3", np.random.default_rng(0)))
    a = synth.speak("turn on the lights", plain, str(tmp_path))
    b = synth.speak("turn on the lights", moved, str(tmp_path))
    c = synth.speak("turn on the lights", plain, str(tmp_path))
    np.testing.assert_array_equal(a, c)   # the private data folder leaves plain voices alone
    assert a.shape != b.shape or not np.allclose(a, b)


def _tiny_corpus(folder, seed, n_train, n_dev=3, names_train=0, voice_split_seed=0):
    """A corpus folder as 'azsim corpus' writes it, without espeak-ng: random features."""
    import json

    rng = np.random.default_rng(seed)
    folder.mkdir()
    sizes = {"train": n_train, "dev": n_dev, "test": 0, "names": 0}
    if names_train:
        sizes["names_train"] = names_train
    for split, n in sizes.items():
        frames = rng.integers(1, 6, size=n)
        np.savez(folder / f"{split}.npz",
                 features=rng.normal(size=(int(frames.sum()), 4)).astype(np.float16),
                 offsets=np.concatenate([[0], np.cumsum(frames)]).astype(np.int64),
                 texts=np.array([f"s{seed} {split} {k}" for k in range(n)], dtype=str),
                 voices=np.array([f"en+v{k % 3}" for k in range(n)], dtype=str),
                 snr_db=rng.uniform(0, 30, size=n).astype(np.float32))
    (folder / "corpus.json").write_text(json.dumps(
        {"seed": seed, "voice_split_seed": voice_split_seed, "sizes": sizes,
         "variants": {"train": [f"en+t{voice_split_seed}"], "dev": [f"en+d{voice_split_seed}"],
                      "test": [f"en+x{voice_split_seed}"]},
         "frontend": {"n_mels": 4, "hop_ms": 10.0, "window_ms": 25.0}, "seconds": {}}))
    return folder


def test_merge_concatenates_training_splits_and_keeps_the_last_held_out_splits(tmp_path):
    from azsim.corpus.build import load_split, merge_corpora

    a = _tiny_corpus(tmp_path / "a", 1, 5, names_train=2)
    b = _tiny_corpus(tmp_path / "b", 2, 4, n_dev=2)
    c = _tiny_corpus(tmp_path / "c", 3, 6, n_dev=4, names_train=3)
    meta = merge_corpora(tmp_path / "m", [a, b, c])
    assert meta["sizes"] == {"train": 15, "names_train": 5, "dev": 4, "test": 0, "names": 0}
    assert [m["seed"] for m in meta["merged_from"]] == [1, 2, 3] and meta["seed"] is None
    merged = load_split(tmp_path / "m", "train")
    parts = [load_split(s, "train") for s in (a, b, c)]
    k = 0
    for part in parts:   # every utterance keeps its own frames, text and metadata
        for j in range(part["texts"].size):
            sl = slice(merged["offsets"][k], merged["offsets"][k + 1])
            np.testing.assert_array_equal(merged["features"][sl], part["features"][
                part["offsets"][j]:part["offsets"][j + 1]])
            assert merged["texts"][k] == part["texts"][j]
            assert merged["snr_db"][k] == part["snr_db"][j]
            k += 1
    assert merged["offsets"][-1] == merged["features"].shape[0]
    assert list(load_split(tmp_path / "m", "names_train")["texts"]) == [
        "s1 names_train 0", "s1 names_train 1", "s3 names_train 0", "s3 names_train 1",
        "s3 names_train 2"]
    dev = load_split(tmp_path / "m", "dev")
    assert list(dev["texts"]) == [f"s3 dev {k}" for k in range(4)]
    # each utterance lasts until its last window ends: (F - 1) x hop + window
    for split, held in (("train", merged), ("dev", dev)):
        n = held["texts"].size
        assert meta["seconds"][split] == pytest.approx(
            (held["offsets"][-1] - n) * 0.010 + n * 0.025), split


def test_merge_refuses_sources_with_different_voice_splits(tmp_path):
    """A source drawn with another voice split may train on the other's held-out voices."""

    from azsim.corpus.build import merge_corpora
    from azsim.errors import AzsimError

    a = _tiny_corpus(tmp_path / "a", 1, 3)
    b = _tiny_corpus(tmp_path / "b", 2, 3, voice_split_seed=7)
    with pytest.raises(AzsimError, match="voice_split_seed differs"):
        merge_corpora(tmp_path / "m", [a, b])
    assert not (tmp_path / "m").exists()


def test_merge_compares_the_recorded_voice_split_not_only_its_seed(tmp_path):
    """Two corpora made before --voice-split-seed recorded no seed (None == None merged, one's
    training voices the other's test voices: how stage 3's names corpus put 11 of the shipped
    test voices into training); one seed over another espeak-ng voice list splits otherwise.
    The recorded variant lists decide (corpus audit, 2026-12-06)."""
    from azsim.corpus.build import merge_corpora
    from azsim.errors import AzsimError

    a = _tiny_corpus(tmp_path / "a", 1, 3)
    b = _tiny_corpus(tmp_path / "b", 2, 3)
    meta = json.loads((b / "corpus.json").read_text())
    other = dict(meta, variants={"train": ["en+x0"], "dev": ["en+d0"], "test": ["en+t0"]})
    (b / "corpus.json").write_text(json.dumps(other))
    with pytest.raises(AzsimError, match="variants.train differs"):
        merge_corpora(tmp_path / "m", [a, b])
    (b / "corpus.json").write_text(json.dumps(dict(meta, variants={
        "train": [1], "dev": ["en+d0"], "test": ["en+t0"]})))   # hand-edited: no traceback
    with pytest.raises(AzsimError, match="records no voice split"):
        merge_corpora(tmp_path / "m", [a, b])
    for m in (meta, {k: v for k, v in meta.items() if k not in ("variants",
                                                                  "voice_split_seed")}):
        old = {k: v for k, v in m.items() if k != "variants"}
        (b / "corpus.json").write_text(json.dumps(old))
        with pytest.raises(AzsimError, match="records no voice split"):
            merge_corpora(tmp_path / "m", [a, b])
    assert not (tmp_path / "m").exists()


def test_corpus_merge_cli_errors_are_one_line_exit_2(cli, tmp_path):
    a = _tiny_corpus(tmp_path / "a", 1, 3)
    for args, words in ((["m", str(a), str(tmp_path / "nothere")], "nothere"),
                        (["m", str(a)], "two or more"),
                        ([str(a), str(a), str(a)], "is also a source")):
        code, out, err = cli("corpus-merge", *args)
        assert code == 2, args
        assert words in err and err.count("\n") == 1 and "Traceback" not in err, err
    # one corpus twice doubled its utterances (until 2026-12-06 'train': 6 here)
    code, out, err = cli("corpus-merge", str(tmp_path / "ok"), str(a), str(a))
    assert code == 2 and "given twice" in err and not (tmp_path / "ok").exists(), (out, err)
    # a split its description lists but whose file is gone was dropped from the merge, and
    # training on it failed later (a CLI audit, 2026-12-06)
    b = _tiny_corpus(tmp_path / "b", 1, 3)
    (b / "dev.npz").unlink()
    code, out, err = cli("corpus-merge", str(tmp_path / "m2"), str(a), str(b))
    assert code == 2 and "dev.npz is missing" in err and err.count("\n") == 1, err
    assert not (tmp_path / "m2").exists()


def test_training_refuses_a_corpus_without_training_or_dev_utterances(tmp_path):
    """``azsim train`` checks the corpus before any torch work: no training utterances, or no
    dev utterances to pick the written checkpoint by, is a one-line error naming the corpus."""
    from azsim.corpus.build import check_training_corpus
    from azsim.errors import AzsimError

    with pytest.raises(AzsimError, match="no training utterances .train.npz holds none"):
        check_training_corpus(_tiny_corpus(tmp_path / "a", 1, 0))
    b = _with_empty_names_train(_tiny_corpus(tmp_path / "b", 1, 0))
    with pytest.raises(AzsimError, match="train.npz and names_train.npz hold none"):
        check_training_corpus(b)
    with pytest.raises(AzsimError, match="dev.npz holds no utterances"):
        check_training_corpus(_tiny_corpus(tmp_path / "c", 1, 3, n_dev=0))
    check_training_corpus(_tiny_corpus(tmp_path / "d", 1, 0, names_train=2))   # names count
    check_training_corpus(_tiny_corpus(tmp_path / "e", 1, 3))


def _with_empty_names_train(folder):
    np.savez(folder / "names_train.npz", features=np.zeros((0, 4), np.float16),
             offsets=np.zeros(1, np.int64), texts=np.array([], dtype=str))
    return folder


def test_a_corpus_of_empty_splits_is_a_one_line_error(cli, tmp_path):
    code, out, err = cli("corpus", str(tmp_path / "c"), "--train", "0", "--dev", "0",
                         "--test", "0", "--names", "0")
    assert code == 2 and "every split is empty" in err and err.count("\n") == 1, err
    assert not (tmp_path / "c").exists()


def test_merge_and_relabel_refuse_sources_without_training_utterances(cli, tmp_path):
    a = _tiny_corpus(tmp_path / "a", 1, 3)
    empty = _tiny_corpus(tmp_path / "e", 2, 0)
    code, out, err = cli("corpus-merge", str(tmp_path / "m"), str(empty), str(a))
    assert code == 2 and f"source {empty}: holds no training utterances" in err, err
    assert err.count("\n") == 1 and not (tmp_path / "m").exists()
    # the last source gives the held-out splits: it may hold no training utterances
    code, out, err = cli("corpus-merge", str(tmp_path / "m"), str(a), str(empty))
    assert code == 0 and "'train': 3" in out, err
    code, out, err = cli("corpus-relabel", str(tmp_path / "r"), str(empty))
    assert code == 2 and "holds no training utterances" in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


def test_a_request_with_a_pause_holds_that_much_silence_between_its_parts(tmp_path):
    """``synthesize_with_pause`` (examples/endpoint_pauses.py): on a clean, dry channel the
    longest silent stretch inside the speech is the pause plus the parts' own word gaps at
    most, and a longer pause makes it longer by the difference; a boundary outside the text
    is refused."""
    import shutil

    from azsim.corpus import synth
    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    speaker = synth.Speaker("en-us", 160, 50, 0)
    channel = synth.Channel(0.0, "clean", 30.0, 0.0, 0.1, 0.1)

    def longest_silence_s(x):
        quiet = np.abs(x) < 1e-3
        best = run = 0
        for q in quiet[int(0.15 * 16000):-int(0.15 * 16000)]:   # inside lead and trail
            run = run + 1 if q else 0
            best = max(best, run)
        return best / 16000

    text = "set a timer for ten minutes"
    short = longest_silence_s(synth.synthesize_with_pause(text, 4, 0.3, speaker, channel, 0,
                                                          str(tmp_path)))
    long = longest_silence_s(synth.synthesize_with_pause(text, 4, 0.8, speaker, channel, 0,
                                                         str(tmp_path)))
    assert 0.3 <= short < 0.45
    assert long - short == pytest.approx(0.5, abs=0.01)
    for bad in (0, 6):
        with pytest.raises(ValueError, match="word boundary"):
            synth.synthesize_with_pause(text, bad, 0.3, speaker, channel, 0, str(tmp_path))


def test_the_snr_of_speech_with_a_pause_is_set_on_the_speech():
    """The noise level was set against the speech's mean power with the pause in it, so a
    1 s pause put the speech ~3 dB above its recorded SNR (a corpus audit, 2026-12-06)."""
    from azsim.corpus import synth
    sr = synth.SAMPLE_RATE_HZ
    tone = np.sin(2 * np.pi * 440 * np.arange(sr // 2) / sr)
    clean = np.concatenate([tone, np.zeros(sr), tone])      # 0.5 s, a 1 s pause, 0.5 s
    channel = synth.Channel(0.0, "white", 10.0, 0.0, 0.5, 0.1)
    lead = int(0.5 * sr)

    def snr_db(x):
        p_noise = np.mean(x[:lead] ** 2)
        parts = np.concatenate([x[lead:lead + tone.size], x[lead + tone.size + sr:
                                                            lead + 2 * tone.size + sr]])
        return 10 * np.log10((np.mean(parts ** 2) - p_noise) / p_noise)

    rng = np.random.default_rng
    assert snr_db(synth.render(clean, channel, rng(0), pause=(tone.size, tone.size + sr))) \
        == pytest.approx(10.0, abs=0.3)
    assert snr_db(synth.render(clean, channel, rng(0))) > 11.5   # the pause counted as speech


def test_pause_plan_gives_its_share_a_pause_inside_the_request_and_leaves_the_rest_alone():
    from azsim.corpus.build import pause_plan

    texts = [t for t, *_ in plan(0, SIZES, VARIANTS)["train"]] + ["stop"]
    assert pause_plan(0, "train", texts, 0.0, (200, 1000)) == [(0, 0.0)] * len(texts)
    every = pause_plan(0, "train", texts, 1.0, (200, 1000))
    for text, (cut, pause_s) in zip(texts, every):
        n = len(text.split())
        if n < 2:      # one word: nowhere to pause
            assert (cut, pause_s) == (0, 0.0)
        else:
            assert 1 <= cut <= n - 1 and 0.2 <= pause_s <= 1.0, (text, cut, pause_s)
    some = pause_plan(0, "train", texts, 0.3, (200, 1000))
    share = np.mean([p > 0 for _, p in some])
    assert 0.2 < share < 0.4
    assert some == pause_plan(0, "train", texts, 0.3, (200, 1000))        # reproducible
    assert some != pause_plan(1, "train", texts, 0.3, (200, 1000))
    assert some != pause_plan(0, "dev", texts, 0.3, (200, 1000))          # own stream per split
    fixed = pause_plan(0, "train", texts, 1.0, (500, 500))
    assert {p for _, p in fixed if p} == {0.5}


def test_the_grammar_fingerprint_is_stable_and_changes_with_any_sentence(monkeypatch):
    first = grammar.fingerprint()
    assert first == grammar.fingerprint() and len(first) == 16
    monkeypatch.setattr(grammar, "CITIES", grammar.CITIES[:-1] + ["lisbon"])
    assert grammar.fingerprint() != first


# The fingerprint each grammar version's own commit gives (``grammar.GRAMMARS``): the same
# formula run on ``git show COMMIT:azsim/corpus/grammar.py`` (a5fb2e6^, 151573c, d2715c6,
# bbbe6e5; a5fb2e6 gives version 1's too). The
# latest is also the one recorded in the corpus.json of every draw since it was recorded
# (runs/t32 of 2026-12-04, for one).
_COMMIT_FINGERPRINTS = {0: "bed2145ac4446940", 1: "b4fa0c1887a84f94", 2: "eb50d281351551bf",
                        3: "7f4259385819aeb7", 4: "2a550818b9ba4ef1"}   # 4: its own commit


def test_each_grammar_version_draws_what_its_commit_drew():
    """An earlier version is rebuilt from today's template list; the draws index that list,
    so a template out of place would change every later sentence, and the fingerprint."""
    assert {v: grammar.fingerprint(v) for v in grammar.GRAMMARS} == _COMMIT_FINGERPRINTS
    assert grammar.fingerprint() == _COMMIT_FINGERPRINTS[grammar.GRAMMAR_VERSION]
    for v in grammar.GRAMMARS:
        assert grammar.version_of(_COMMIT_FINGERPRINTS[v]) == v
    assert grammar.version_of("0123456789abcdef") is None and grammar.version_of(None) is None


def test_the_open_slots_add_requests_and_keep_the_earlier_ones():
    """Version 1 adds other ways to say the fixed requests; version 2 replaces "{cancel, stop}
    the {timer, alarm}" by an open template that still says its four sentences; every other
    earlier request stays (the contact requests are the same in every version)."""
    drawn = {v: set(grammar.sentences(20_000, 3, version=v)) for v in grammar.GRAMMARS}
    assert "thanks a lot" in drawn[1] and "thanks a lot" not in drawn[0]
    assert "cancel the timer" in drawn[1] and "snooze my egg timer" not in drawn[1]
    assert "snooze my egg timer" in drawn[2] and "tell me a fun fact" not in drawn[2]
    assert "tell me a fun fact" in drawn[3]
    # 34 templates, 1 added by version 1, one replaced and 12 added by round 1, 10 by round 2
    assert [len(grammar._templates(grammar.CONTACTS, v))
            for v in grammar.GRAMMARS] == [34, 35, 47, 57, 57]
    with pytest.raises(ValueError, match="grammar version 5: expected one of 0, 1, 2, 3, 4"):
        grammar.sentences(1, 0, version=5)


def test_version_4_is_version_3_with_okay_and_spoken_times():
    """Version 4 draws version 3's sentences one for one, "ok" written "okay" (espeak-ng says
    them alike); its times are given to espeak-ng as "a.m." / "p.m." with the label kept; it
    is not the default until a registered run adopts it."""
    import re
    v3, v4 = grammar.sentences(20_000, 3, version=3), grammar.sentences(20_000, 3, version=4)
    changed = [(a, b) for a, b in zip(v3, v4) if a != b]
    assert changed and all(re.sub(r"\bok\b", "okay", a) == b for a, b in zip(v3, v4))
    assert not any(re.search(r"\bok\b", b) for b in v4)
    assert grammar.GRAMMAR_VERSION == 3 and grammar.fingerprint() == _COMMIT_FINGERPRINTS[3]
    assert grammar.spoken("wake me at six a m and at five p m", 4) == \
        "wake me at six a.m. and at five p.m."
    assert grammar.spoken("wake me at six a m", 3) == "wake me at six a m"
    assert grammar.spoken("play a movie", 4) == "play a movie"    # "a" alone stays
    assert any(" a m" in t for t in v4)                           # the labels keep "a m"


def test_synthesis_gives_espeak_the_spoken_form(monkeypatch):
    """What espeak-ng is asked to say, and how loud, with and without a pause, for a version-4
    request and a version-3 one (build.render_one passes the corpus's version to the
    worker)."""
    from azsim.corpus import build, synth
    said = []
    amplitudes = []
    monkeypatch.setattr(synth, "speak", lambda text, speaker, workdir, amplitude=None: (
        said.append(text), amplitudes.append(amplitude), np.full(1600, 0.1))[-1])
    monkeypatch.setattr(build, "_WORKDIR", "/nonexistent")
    spec = build.FrontendSpec()
    channel = synth.Channel(gain_db=0.0, noise="clean", snr_db=30.0, rt60_s=0.0, lead_s=0.1,
                            trail_s=0.1)
    text = "wake me at six a m"
    for version, pause, want in ((4, (0, 0.0), ["wake me at six a.m."]),
                                 (3, (0, 0.0), ["wake me at six a m"]),
                                 (4, (2, 0.3), ["wake me", "at six a.m."]),
                                 (4, (5, 0.3), ["wake me at six a", "m"])):
        said.clear()
        build.render_one((text, None, channel, 1, pause, spec, version))
        assert said == want
    assert set(amplitudes) == {50, None}       # version 4 at half amplitude, 3 at the default
    said.clear()
    amplitudes.clear()
    build.render_one((text, None, channel, 1, (0, 0.0), spec))     # no version: the text
    assert said == [text] and amplitudes == [None]


def test_version_0_draws_the_shipped_test_set():
    """``azsim corpus DIR --grammar 0`` with the default sizes and seed plans the shipped test
    set's 250 sentences and voices, utterance for utterance (its features are stored, the
    audio is not: synthesis is espeak-ng's, checked elsewhere for one corpus)."""
    import shutil

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.synth import list_variants
    from azsim.evaluate import SHIPPED_TESTSET_GRAMMAR_VERSION
    sizes = {"train": 24000, "dev": 300, "test": 250, "names": 120}   # 'azsim corpus' defaults
    drawn = plan(0, sizes, split_variants(list_variants(), 0),
                 grammar_version=SHIPPED_TESTSET_GRAMMAR_VERSION)
    for name in ("test", "names"):    # the names set too (eval records the version of both)
        shipped = np.load(_testset_dir() / f"{name}.npz")
        assert [t for t, *_ in drawn[name]] == list(shipped["texts"]), name
        assert [s.voice for _, s, *_ in drawn[name]] == list(shipped["voices"]), name
    # ... so eval's records name that grammar for them (they said "not recorded")
    from azsim.config import load_model_config
    from azsim.evaluate import load_testset
    assert load_testset("names", load_model_config("small", [])).grammar == \
        grammar.fingerprint(SHIPPED_TESTSET_GRAMMAR_VERSION)


def test_a_corpus_records_the_grammar_version_it_was_drawn_from(tmp_path):
    import json
    import shutil

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus, load_split
    meta = build_corpus(tmp_path / "c", {"train": 2}, seed=5, jobs=1, voice_split_seed=0,
                        grammar_version=1)
    assert meta["grammar_version"] == 1 and meta["grammar"] == _COMMIT_FINGERPRINTS[1]
    assert json.loads((tmp_path / "c" / "corpus.json").read_text())["grammar_version"] == 1
    texts = [t for t, *_ in plan(5, {"train": 2}, meta["variants"], grammar_version=1)["train"]]
    assert list(load_split(tmp_path / "c", "train")["texts"]) == texts


def test_merge_fills_no_pause_for_corpora_drawn_before_pauses(tmp_path):
    from azsim.corpus.build import load_split, merge_corpora

    a = _tiny_corpus(tmp_path / "a", 1, 3)
    b = _tiny_corpus(tmp_path / "b", 2, 2)
    arrays = dict(np.load(b / "train.npz"))
    np.savez(b / "train.npz", **arrays, pause_s=np.array([0.5, 0.0], np.float32))
    merge_corpora(tmp_path / "m", [a, b])
    np.testing.assert_array_equal(load_split(tmp_path / "m", "train")["pause_s"],
                                  [0, 0, 0, 0.5, 0])


def test_a_corpus_with_pauses_has_them_where_its_plan_says(tmp_path):
    """``azsim corpus --pauses 1``: every multi-word request gets its silence (the utterance
    grows by the pause and a little more: the two parts are spoken as phrases of their own),
    the plan is recorded per utterance, and the sentences, voices and channels are those of
    the corpus without pauses."""
    import json
    import shutil

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus.build import build_corpus, load_split, pause_plan
    plain = build_corpus(tmp_path / "a", {"train": 3}, seed=5, jobs=1, voice_split_seed=0)
    paused = build_corpus(tmp_path / "b", {"train": 3}, seed=5, jobs=1, voice_split_seed=0,
                          pauses=1.0, pause_ms=(600.0, 600.0))
    a, b = load_split(tmp_path / "a", "train"), load_split(tmp_path / "b", "train")
    assert list(a["texts"]) == list(b["texts"]) and list(a["voices"]) == list(b["voices"])
    assert not a["pause_s"].any()
    expected = pause_plan(5, "train", list(b["texts"]), 1.0, (600.0, 600.0))
    np.testing.assert_allclose(b["pause_s"], [p for _, p in expected])
    hop_s = plain["frontend"]["hop_ms"] / 1000
    for k, (_, pause_s) in enumerate(expected):
        grown_s = (np.diff(b["offsets"])[k] - np.diff(a["offsets"])[k]) * hop_s
        if pause_s:   # plus each part's own phrase-final lengthening: 0.03-0.27 s measured
            assert 0.6 <= grown_s <= 0.6 + 0.35, (k, grown_s)
    meta = json.loads((tmp_path / "b" / "corpus.json").read_text())
    assert meta["pauses"] == 1.0 and meta["pause_ms"] == [600.0, 600.0]
    assert meta["grammar"] == grammar.fingerprint() == paused["grammar"]


def test_bad_pause_range_is_a_one_line_error(cli, tmp_path):
    code, out, err = cli("corpus", str(tmp_path / "c"), "--pause-ms", "900", "300")
    assert code == 2 and "--pause-ms 900 300" in err and err.count("\n") == 1
    assert not (tmp_path / "c").exists()


def test_relabel_writes_the_teachers_greedy_transcripts(tmp_path, shipped_test_head):
    """``azsim corpus-relabel``: the training transcripts become the float golden model's
    greedy hypotheses (the corpus's kept as source_texts), an empty hypothesis keeps the
    corpus's transcript, and the held-out splits and features are the source's."""
    import json
    import shutil

    from azsim.config import load_model_config
    from azsim.corpus.build import load_split, relabel_corpus
    from azsim.model import float_ref
    from azsim.model.loading import model_weights
    from azsim.model.vocab import make_vocab

    src = tmp_path / "src"
    src.mkdir()
    head = dict(np.load(shipped_test_head(6)))
    silent = np.full((30, head["features"].shape[1]), -10, np.float16)   # decodes to nothing
    train = {"features": np.concatenate([head["features"], silent]),
             "offsets": np.append(head["offsets"], head["offsets"][-1] + 30),
             "texts": np.append(head["texts"], "stop"),
             "voices": np.array(["en"] * 7)}
    np.savez(src / "train.npz", **train)
    shutil.copyfile(shipped_test_head(3), src / "dev.npz")
    (src / "corpus.json").write_text(json.dumps({"seed": 1, "voice_split_seed": 0,
                                                  "frontend": {"hop_ms": 10.0}}))
    cfg = load_model_config("small", [])
    w = model_weights(cfg)
    meta = relabel_corpus(tmp_path / "out", src, w, cfg, teacher="small")
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    feats = [train["features"][train["offsets"][k]:train["offsets"][k + 1]].astype(np.float32)
             for k in range(7)]
    hyps = [vocab.decode(t) for _, t in float_ref.recognize_many(w, cfg, feats)]
    assert hyps[-1] == "" and all(hyps[:6])
    out = load_split(tmp_path / "out", "train")
    # these are shipped test utterances: a hypothesis whose text is in the held-out sentence
    # buckets keeps the transcript, as no training text may be a test or dev sentence
    from azsim.corpus.synth import sentence_split
    held = [sentence_split(h) != "train" for h in hyps[:6]]
    assert sum(held) >= 4        # the correct ones are test sentences
    want = [t if out_of_train else h for h, t, out_of_train in zip(hyps, train["texts"], held)]
    assert list(out["texts"]) == want + ["stop"]
    assert not any(sentence_split(str(t)) != "train" and t not in train["texts"]
                   for t in out["texts"])
    assert list(out["source_texts"]) == list(train["texts"])
    np.testing.assert_array_equal(out["features"], train["features"])
    assert (tmp_path / "out" / "dev.npz").read_bytes() == (src / "dev.npz").read_bytes()
    changed = sum(h != t for h, t in zip(want, train["texts"][:6]))
    assert meta["relabeled"]["train"] == {"utterances": 7, "changed": changed,
                                          "empty_kept_source": 1,
                                          "held_out_kept_source": sum(held)}
    assert meta["teacher"] == "small" and meta["relabeled_from"] == str(src)
    # relabeled again, the corpus's transcripts stay the source_texts (they became the
    # first teacher's), and "changed" counts against them
    again = relabel_corpus(tmp_path / "again", tmp_path / "out", w, cfg, teacher="small")
    twice = load_split(tmp_path / "again", "train")
    assert list(twice["source_texts"]) == list(train["texts"])
    assert list(twice["texts"]) == want + ["stop"]
    assert again["relabeled"]["train"]["changed"] == changed
    shutil.rmtree(tmp_path / "out")
    with pytest.raises(Exception, match="is the source"):
        relabel_corpus(src, src, w, cfg)


def test_relabel_keeps_the_transcript_when_the_teacher_spells_a_test_contact(
        tmp_path, shipped_test_head, monkeypatch):
    """Most names-test sentences hash to train, so the sentence filter let a teacher's
    "call <test contact>" into training (a corpus audit, 2026-12-06, with a stub teacher
    as here): a hypothesis naming a NEW_CONTACTS contact keeps the corpus's transcript."""
    import json
    import shutil

    from azsim.config import load_model_config
    from azsim.corpus.build import load_split, relabel_corpus
    from azsim.corpus.grammar import NEW_CONTACTS
    from azsim.corpus.synth import sentence_split
    from azsim.model import float_ref
    from azsim.model.vocab import make_vocab

    cfg = load_model_config("small", [])
    vocab = make_vocab(cfg.vocab, cfg.vocab_size)
    spoken = next(f"call {n}" for n in NEW_CONTACTS if sentence_split(f"call {n}") == "train")
    src = tmp_path / "src"
    src.mkdir()
    head = dict(np.load(shipped_test_head(2)))
    np.savez(src / "train.npz", features=head["features"], offsets=head["offsets"],
             texts=np.array(["call mom", "stop"]), voices=np.array(["en", "en"]))
    shutil.copyfile(shipped_test_head(1), src / "dev.npz")
    (src / "corpus.json").write_text(json.dumps({"seed": 1, "voice_split_seed": 0,
                                                  "frontend": {"hop_ms": 10.0}}))
    monkeypatch.setattr(float_ref, "recognize_many", lambda w, c, chunk: [
        (None, vocab.encode(spoken)) for _ in chunk])
    meta = relabel_corpus(tmp_path / "out", src, {}, cfg, teacher="stub")
    assert list(load_split(tmp_path / "out", "train")["texts"]) == ["call mom", "stop"]
    assert meta["relabeled"]["train"]["held_out_kept_source"] == 2


def test_a_draw_into_a_folder_holding_a_corpus_is_refused(tmp_path):
    """A second draw wrote only its own splits: the first draw's names_train.npz stayed, and
    training read it (40 utterances, 6 in the second draw's held-out voices)."""
    from azsim.corpus.build import build_corpus
    from azsim.errors import AzsimError
    old = _tiny_corpus(tmp_path / "c", 1, 3, names_train=2)
    before = sorted(p.name for p in old.iterdir())
    with pytest.raises(AzsimError, match="already holds a corpus .*corpus.json.*new folder"):
        build_corpus(old, {"train": 1, "dev": 0, "test": 0, "names": 0, "names_train": 0})
    assert sorted(p.name for p in old.iterdir()) == before


def test_a_split_file_its_description_does_not_list_is_not_read(tmp_path):
    """Training and merging took names_train.npz whenever the file was there."""
    import json

    from azsim.corpus.build import has_split, merge_corpora
    a = _tiny_corpus(tmp_path / "a", 1, 3, names_train=2)
    b = _tiny_corpus(tmp_path / "b", 2, 4, names_train=3)
    meta = json.loads((a / "corpus.json").read_text())
    meta["sizes"]["names_train"] = 0          # a.npz's 2 utterances: a stale file
    (a / "corpus.json").write_text(json.dumps(meta))
    assert not has_split(a, "names_train") and has_split(b, "names_train")
    merged = merge_corpora(tmp_path / "m", [a, b])
    assert merged["sizes"]["names_train"] == 3 and merged["sizes"]["train"] == 7


def test_a_merge_of_different_draw_settings_does_not_take_the_last_ones(tmp_path):
    """The merged description was the last source's: a merge of grammar 3 and grammar 0
    draws said grammar 0 (and eval called the grammar-3 utterances another grammar's)."""
    import json

    from azsim.corpus.build import merge_corpora
    a = _tiny_corpus(tmp_path / "a", 1, 3)
    b = _tiny_corpus(tmp_path / "b", 2, 4)
    for folder, version, share in ((a, 3, 0.0), (b, 0, 0.5)):
        meta = json.loads((folder / "corpus.json").read_text())
        meta.update(grammar=f"g{version}", grammar_version=version, random_voices=share)
        (folder / "corpus.json").write_text(json.dumps(meta))
    merged = merge_corpora(tmp_path / "m", [a, b])
    assert merged["grammar"] is None and merged["grammar_version"] is None
    assert merged["random_voices"] is None
    assert [m["grammar_version"] for m in merged["merged_from"]] == [3, 0]


@pytest.mark.parametrize("argv,words", [
    (["--train", "1", "--pause-ms", "100", "300"], ("--pause-ms 100 300", "--pauses")),
    (["--train", "0", "--dev", "1", "--random-voices", "0.5"],
     ("--random-voices 0.5", "--names-train are 0")),
])
def test_corpus_settings_that_would_change_nothing_are_refused(cli, tmp_path, argv, words):
    """--pause-ms without --pauses and --random-voices without training requests were
    accepted and did nothing."""
    code, out, err = cli("corpus", str(tmp_path / "c"), *argv)
    assert code == 2 and err.count("\n") == 1 and all(w in err for w in words), err
    assert not (tmp_path / "c").exists()


def test_merge_and_relabel_refuse_a_folder_holding_a_corpus(cli, tmp_path):
    """Until 2026-12-06 both wrote over a corpus in DIR (its splits replaced, exit 0), where
    `azsim corpus DIR` already refused one."""
    a = _tiny_corpus(tmp_path / "a", 1, 3)
    b = _tiny_corpus(tmp_path / "b", 2, 3)
    held = _tiny_corpus(tmp_path / "held", 3, 3)
    before = {p.name: p.read_bytes() for p in held.iterdir()}
    for argv in (["corpus-merge", str(held), str(a), str(b)],
                 ["corpus-relabel", str(held), str(a)]):
        code, out, err = cli(*argv)
        assert code == 2 and "already holds a corpus" in err and err.count("\n") == 1, err
    assert {p.name: p.read_bytes() for p in held.iterdir()} == before


def test_a_voice_list_that_splits_otherwise_than_the_shipped_data_is_refused(tmp_path,
                                                                          monkeypatch):
    """The split is a shuffle of the installed espeak-ng's variants: one variant fewer gives
    split 0 other test variants, and a corpus drawn there trains on shipped test voices (a
    corpus audit, 2026-12-07). Refused before DIR is made; this machine's list passes."""
    import shutil
    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus import build, synth
    from azsim.errors import AzsimError
    variants = synth.list_variants()
    build.check_shipped_split(variants)   # the shipped data's espeak-ng
    fewer = [v for v in variants if v != "zac"]
    assert len(fewer) == len(variants) - 1
    with pytest.raises(AzsimError, match="splits its voices otherwise than the shipped data"):
        build.check_shipped_split(fewer)
    monkeypatch.setattr(synth, "list_variants", lambda: fewer)
    with pytest.raises(AzsimError, match="espeak-ng here"):
        build.build_corpus(tmp_path / "c", {"train": 2, "dev": 0}, seed=1, jobs=1,
                           voice_split_seed=0)
    assert not (tmp_path / "c").exists()


def test_a_relabeling_or_merge_stopped_part_way_leaves_no_partial_corpus(tmp_path,
                                                                         monkeypatch):
    """A relabeling killed while its teacher decoded names_train (SIGTERM, Ctrl-C) left
    train, dev, test and names without corpus.json: `azsim train --corpus` trained on it
    without its names_train, and a second relabeling refused the folder as a corpus (an
    audit, 2026-12-07). Whatever stops either command now removes what it wrote."""
    from azsim.config import load_model_config
    from azsim.corpus import build
    from azsim.corpus.build import merge_corpora, relabel_corpus
    from azsim.model import float_ref

    a = _tiny_corpus(tmp_path / "a", 1, 3, names_train=2)
    b = _tiny_corpus(tmp_path / "b", 2, 3, names_train=2)
    cfg = load_model_config("tiny", ["model.frontend.n_mels=4"])

    def teacher(w, c, chunk):   # decodes train, then is stopped in names_train
        if len(chunk) == 2:
            raise KeyboardInterrupt
        return [(None, []) for _ in chunk]
    monkeypatch.setattr(float_ref, "recognize_many", teacher)
    monkeypatch.setattr(build, "check_feature_frontend", lambda *args: None)
    with pytest.raises(KeyboardInterrupt):
        relabel_corpus(tmp_path / "r", a, {}, cfg, teacher="stub")
    assert not (tmp_path / "r").exists()
    kept = tmp_path / "kept"          # a folder given that exists keeps its other files
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        relabel_corpus(kept, a, {}, cfg, teacher="stub")
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]

    real = build._read_split

    def stopped(src, split):          # merge stopped after writing train.npz
        if split == "names_train":
            raise KeyboardInterrupt
        return real(src, split)
    monkeypatch.setattr(build, "_read_split", stopped)
    with pytest.raises(KeyboardInterrupt):
        merge_corpora(tmp_path / "m", [a, b])
    assert not (tmp_path / "m").exists()


def test_relabel_refuses_a_teacher_of_generated_weights(cli, tmp_path):
    """tiny's and he2019's weights come from a seed: as teachers they wrote every hypothesis
    empty and copied the corpus as it was, stamped with their name (a CLI audit, 2026-12-07)."""
    a = _tiny_corpus(tmp_path / "a", 1, 3)
    for model in ("tiny", "he2019"):
        code, out, err = cli("corpus-relabel", str(tmp_path / "r"), str(a), "--model", model)
        assert code == 2 and err.count("\n") == 1, err
        assert f"--model {model}: its weights are generated from a seed" in err, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [["corpus-merge", "", "A", "B"],
                                  ["corpus-relabel", "", "A"]])
def test_an_empty_output_folder_is_refused_not_taken_as_the_current_one(cli, tmp_path, argv):
    """An empty DIR was the current folder: the outputs landed there (2026-12-06 audit)."""
    a, b = _tiny_corpus(tmp_path / "a", 1, 3), _tiny_corpus(tmp_path / "b", 2, 3)
    argv = [{"A": str(a), "B": str(b)}.get(x, x) for x in argv]
    code, out, err = cli(*argv)
    assert code == 2 and "the path is empty" in err and err.count("\n") == 1, err


def test_a_draw_forks_no_more_synthesis_workers_than_utterances(tmp_path, monkeypatch):
    """--jobs 16 forked 16 workers for one utterance (a CLI audit, 2026-12-06)."""
    import shutil

    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    from azsim.corpus import build
    asked = []
    real = build.synthesis_pool
    monkeypatch.setattr(build, "synthesis_pool", lambda jobs: (asked.append(jobs), real(jobs))[1])
    build.build_corpus(tmp_path / "c", {"train": 1}, seed=1, jobs=16, voice_split_seed=0)
    assert asked == [1]


def test_a_synthesis_pools_scratch_is_removed_while_an_orphaned_espeak_still_writes(tmp_path,
                                                                                      monkeypatch):
    """SIGTERM kills the pool's workers, not the espeak-ng each may be running, which then
    writes utt.wav into the folder being removed: rmtree failed with "Directory not empty"
    and a traceback replaced 'azsim: terminated' (CI, 2026-12-07). The removal tries again
    while the folder is busy, for a bounded time, and then fails as before."""
    import errno
    import shutil
    import threading
    import time
    from azsim.corpus import build

    real = shutil.rmtree
    calls = []

    def busy_twice(path, *args, **kwargs):
        calls.append(path)
        if len(calls) <= 2:
            raise OSError(errno.ENOTEMPTY, "Directory not empty", "worker-x")
        return real(path, *args, **kwargs)
    scratch = tmp_path / "azsim-corpus-a"
    (scratch / "worker-x").mkdir(parents=True)
    monkeypatch.setattr(build.shutil, "rmtree", busy_twice)
    build.remove_scratch(str(scratch), pause_s=0.0)
    assert len(calls) == 3 and not scratch.exists()

    def always_busy(path, *args, **kwargs):
        raise OSError(errno.ENOTEMPTY, "Directory not empty", "worker-x")
    monkeypatch.setattr(build.shutil, "rmtree", always_busy)
    with pytest.raises(OSError, match="not empty"):
        build.remove_scratch(str(tmp_path), attempts=3, pause_s=0.0)
    monkeypatch.setattr(build.shutil, "rmtree", real)
    build.remove_scratch(str(tmp_path / "gone"))            # already removed: nothing to do

    # the real race: a writer keeps putting files into a worker folder while it is removed
    scratch = tmp_path / "azsim-corpus-b"
    worker = scratch / "worker-y"
    worker.mkdir(parents=True)
    end = time.monotonic() + 0.3

    def espeak_like():
        k = 0
        while time.monotonic() < end:
            try:
                (worker / f"utt{k % 50}.wav").write_bytes(b"\0" * 4096)
            except FileNotFoundError:       # its folder is gone: nothing left to write into
                return
            k += 1
    writer = threading.Thread(target=espeak_like)
    writer.start()
    build.remove_scratch(str(scratch))
    writer.join()
    assert not scratch.exists()
