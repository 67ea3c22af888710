"""`azsim run` flags of issue #7, the JSON record's decode/lattice/endpoint sections."""
import base64
import json
import numpy as np

import pytest

from azsim.decode.lattice import load_lattice
from conftest import one_line_error


@pytest.fixture(scope="module")
def beam_run(tmp_path_factory):
    """One tiny run with a beam, a context, a silent tail and saved lattices."""
    from azsim.cli import main

    folder = tmp_path_factory.mktemp("decode")
    ctx = folder / "contacts.txt"
    ctx.write_text("call mom\nkitchen lights\n")
    out = folder / "run.json"
    try:
        main(["run", "--beam", "3", "--context", str(ctx), "--context-weight", "0.5",
              "--endpoint-tail-ms", "900", "--save-lattice", str(folder), "--json", str(out)])
    except SystemExit as exc:        # main() returns on success, exits on errors
        assert exc.code in (0, None)
    return json.loads(out.read_text()), folder


def test_sections_are_recorded(beam_run):
    data, _ = beam_run
    d, lat, ep = data["decode"], data["lattice"], data["endpoint"]
    assert d["method"] == "beam" and d["beam"] == 3
    assert d["context"]["phrases"] == 2 and d["context"]["weight_nats"] == 0.5
    assert data["model"]["config"]["decode"]["beam"] == 3       # recorded as config, sweepable
    joint_out = next(r for r in data["layers"] if r["name"] == "joint.out")
    assert joint_out["invocations"] == d["joint_evals"]
    assert 0 < d["decoder_cycles"] <= data["latency"]["cycles"]
    n = data["audio"]["utterances"]
    assert len(lat["uplink_bytes"]) == len(lat["audio_bytes"]) == len(ep["utterances"]) == n
    for row, utt, transcript in zip(lat["utterances"], d["utterances"], data["transcripts"]):
        raw = base64.b64decode(row["azl_base64"])
        assert len(raw) == row["uplink_bytes"] < row["audio_bytes"] / 100
        words, am, bias = load_lattice(raw).paths()[0]
        assert " ".join(words) == transcript == utt["nbest"][0]["text"]
        assert (am + bias) / 1024 == pytest.approx(utt["nbest"][0]["score"])
    # 900 ms of silence after every utterance: both end-pointers fire, speculation ~200 ms ahead
    assert ep["final_fired"] == n and ep["speculative_fires"] >= n
    assert ep["lead_ms"] == 200.0
    assert 150.0 <= ep["latency_saved_ms_mean"] <= 210.0


def test_an_alias_comes_out_as_its_phrase_in_transcript_nbest_and_lattice(cli, tmp_path):
    """The shipped second utterance says "tell mark i will be late"; with "marc" as the
    phrase and "mark" its alias (the model's spelling), the report says "marc" everywhere."""
    ctx = tmp_path / "contacts.txt"
    ctx.write_text("@prefix tell\nmarc | mark\n")
    code, out, err = cli("run", "--beam", "3", "--context", str(ctx), "--context-weight", "0",
                         "--json", "-")
    assert code == 0 and "warning" not in err, err
    data = json.loads(out)
    assert data["decode"]["context"]["aliases"] == 1
    assert data["transcripts"][1] == "tell marc i will be late"
    utt = data["decode"]["utterances"][1]
    assert utt["nbest"][0]["text"] == "tell marc i will be late"
    assert not any(" mark " in f" {h['text']} " for h in utt["nbest"])
    words, _, _ = load_lattice(base64.b64decode(
        data["lattice"]["utterances"][1]["azl_base64"])).paths()[0]
    assert " ".join(words) == "tell marc i will be late"
    # a per-character bonus on top of aliases is allowed, with a warning that names the risk
    code, out, err = cli("run", "--beam", "3", "--context", str(ctx), "--json", "-")
    assert code == 0 and "1 alternative spelling with a bonus of 1.75 nats" in err
    assert "--context-weight 0" in err and json.loads(out)["transcripts"]


def test_lattices_are_saved(beam_run):
    data, folder = beam_run
    for row in data["lattice"]["utterances"]:
        raw = (folder / (row["file"].rsplit(".", 1)[0] + ".azl")).read_bytes()
        assert base64.b64encode(raw).decode() == row["azl_base64"]


def test_flags_are_set_overrides(cli):
    """--beam N is --set model.decode.beam=N (what a sweep sets), with the same record."""
    code, out_a, _ = cli("run", "--beam", "2", "--json", "-")
    code_b, out_b, _ = cli("run", "--set", "model.decode.beam=2", "--json", "-")
    assert code == code_b == 0
    a, b = json.loads(out_a), json.loads(out_b)
    assert a["decode"] == b["decode"] and a["lattice"] == b["lattice"]


@pytest.mark.parametrize("args,fragment", [
    (["--beam", "99"], "model.decode.beam = 99 is out of range [0, 64]"),
    (["--context", "missing.txt", "--beam", "2"],
     "--context (model.decode.context_file) missing.txt: cannot read"),
    (["--context", "x.txt"], "needs a beam search"),
    (["--endpoint-speculative-ms", "700"], "endpoint_speculative_ms = 700.0 is later than"),
    (["--context-weight", "-1"], "context_weight = -1.0 is out of range"),
    (["--save-lattice", "/nonexistent/folder"],
     "--save-lattice /nonexistent/folder: no such folder; make it first"),
    (["--save-lattice", __file__], f"--save-lattice {__file__}: is a file"),
])
def test_bad_decode_flags_are_one_line_errors(cli, args, fragment):
    code, out, err = cli("run", *args)
    assert code == 2 and out == ""
    assert err.startswith("azsim: error: ") and fragment in err and err.count("\n") == 1


def test_the_end_pointer_line_shows_when_the_run_sets_the_end_pointers(cli):
    """Until 2026-12-06 it showed only with silence appended (--endpoint-tail-ms): the
    settings alone printed nothing of what the record measured."""
    code, out, _ = cli("run", "--model", "tiny")
    assert code == 0 and "endpoint:" not in out
    for args in (["--endpoint-final-ms", "500", "--endpoint-speculative-ms", "300"],
                 ["--set", "model.decode.endpoint_final_ms=500"]):
        code, out, _ = cli("run", "--model", "tiny", *args)
        assert code == 0 and "endpoint: final 500 ms fired" in out
        assert "noise floor" not in out                  # the default floor goes unsaid
    code, out, _ = cli("run", "--model", "tiny", "--set",
                       'model.decode.endpoint_noise_floor="median-after-zeros"')
    assert code == 0 and "; noise floor median-after-zeros)" in out


def test_a_run_on_references_counts_the_context_phrases_for_sweeps(cli, tmp_path):
    """With a context and a test set's references, the run record counts the phrases in the
    references and the ones the transcripts miss, and a sweep exports both as columns."""
    from azsim.corpus.grammar import CARRIER_PHRASES, NEW_CONTACTS
    from azsim.model.metrics import phrase_counts
    from azsim.sweep.export import flatten_record
    ctx = tmp_path / "contacts.txt"
    ctx.write_text("".join(f"@prefix {p}\n" for p in CARRIER_PHRASES) + "\n".join(NEW_CONTACTS))
    code, out, err = cli("run", "--test", "names", "--utterances", "4", "--beam", "2",
                         "--context", str(ctx), "--json", "-")
    assert code == 0, err
    data = json.loads(out)
    context = data["decode"]["context"]
    refs = [u["reference"] for u in data["utterances"]]
    assert context["phrases_in_references"] == 4       # one unseen name per request
    assert context["phrases_missed"] == phrase_counts(
        NEW_CONTACTS, refs, data["transcripts"])["context_phrases_missed"]
    row = flatten_record(data)
    assert row["context_phrases_missed"] == context["phrases_missed"]
    assert row["context_phrases_in_references"] == 4
    code, out, err = cli("run", "--test", "names", "--utterances", "4", "--beam", "2",
                         "--context", str(ctx))
    assert f"({context['phrases_missed']} of 4 phrases in the references missed)" in out
    # audio of one's own (--audio) has no references: nothing to count, no made-up zero
    from azsim.model.audio import shipped_audio_paths
    code, out, err = cli("run", "--audio", str(shipped_audio_paths()[0]), "--beam", "2",
                         "--context", str(ctx), "--json", "-")
    assert code == 0, err
    assert "phrases_missed" not in json.loads(out)["decode"]["context"]


def test_a_corpus_split_keeping_its_audio_takes_an_end_pointer_tail(cli, tmp_path):
    """The test and names splits of `azsim corpus` keep their int16 audio beside the
    features, yet a tail was refused on them ("this test set holds features")."""
    import json

    import numpy as np

    from azsim.config import load_model_config
    from azsim.model.audio import shipped_audio_paths, shipped_transcripts
    from azsim.model.frontend import log_mel
    from azsim.model.loading import frontend_spec, load_audio
    spec = frontend_spec(load_model_config("small", []))
    paths = shipped_audio_paths()[:2]
    clips = [load_audio(str(p), spec.sample_rate_hz).samples for p in paths]
    ints = [np.clip(np.rint(c * 32768), -32768, 32767).astype(np.int16) for c in clips]
    feats = [log_mel(i.astype(np.float32) / 32768.0, spec) for i in ints]
    refs = shipped_transcripts()
    arrays = dict(features=np.concatenate(feats).astype(np.float16),
                  offsets=np.cumsum([0] + [f.shape[0] for f in feats]).astype(np.int64),
                  texts=np.array([refs[p.name] for p in paths]),
                  audio=np.concatenate(ints),
                  audio_offsets=np.cumsum([0] + [i.size for i in ints]).astype(np.int64))
    np.savez(tmp_path / "test.npz", **arrays)
    out = tmp_path / "r.json"
    code, _, err = cli("run", "--test", str(tmp_path / "test.npz"), "--endpoint-tail-ms",
                       "900", "--json", str(out))
    assert code == 0, err
    ep = json.loads(out.read_text())["endpoint"]
    assert ep["tail_ms"] == 900 and ep["final_fired"] == 2
    del arrays["audio"], arrays["audio_offsets"]
    np.savez(tmp_path / "features.npz", **arrays)
    code, _, err = cli("run", "--test", str(tmp_path / "features.npz"), "--endpoint-tail-ms",
                       "900")
    assert code == 2 and "holds features only" in err


def test_the_decode_line_names_what_biases_at_weight_zero(cli, tmp_path):
    """At --context-weight 0 the internal-LM discount and the committed slots still act; the
    line said only 'at 0 nats/char' (decoder audit, 2026-12-06)."""
    phrases = tmp_path / "names.txt"
    phrases.write_text("steven\nsusan\nmark\n")
    code, out, err = cli("run", "--test", "test", "--utterances", "1", "--beam", "2",
                         "--context", str(phrases), "--context-weight", "0")
    line = next(x for x in out.splitlines() if x.startswith("decode:"))
    assert "at 0 nats/char, internal-LM discount 0.25, 8 committed slots" in line, line


def test_the_endpoint_line_says_which_utterances_its_latency_is_over(cli, tmp_path):
    """An utterance without speech has no latency after the end of speech: the mean is over
    the others, and the line says so (it said 'the 2 not cut off' of a mean over 1)."""
    import wave

    from azsim.model.audio import shipped_audio_paths
    silent = tmp_path / "silence.wav"
    with wave.open(str(silent), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.zeros(16000, np.int16).tobytes())
    code, out, err = cli("run", "--audio", str(shipped_audio_paths()[0]), "--audio", str(silent),
                         "--endpoint-tail-ms", "1000", "--json", "-")
    ep = json.loads(out)["endpoint"]
    assert ep["latency_utterances"] == 1
    code, out, err = cli("run", "--audio", str(shipped_audio_paths()[0]), "--audio", str(silent),
                         "--endpoint-tail-ms", "1000")
    line = next(x for x in out.splitlines() if x.startswith("endpoint:"))
    assert "(over the 1 of 2 with speech)" in line, line


def test_a_file_that_ends_before_the_final_end_pointer_is_not_in_its_latency(cli):
    """The shipped files end 0.3-0.6 s after their speech, before a 600 ms end-pointer fires:
    their 'latency' was where the file happened to end, averaged in as the end-pointer's
    (784.2 ms at 'fired 0/4'; an audit, 2026-12-07). With a tail they all fire."""
    code, out, err = cli("run", "--endpoint-final-ms", "600", "--json", "-")
    ep = json.loads(out)["endpoint"]
    assert code == 0 and ep["final_fired"] == 0 and ep["latency_forced"] == 4
    assert ep["latency_utterances"] == 0 and ep["latency_no_speculation_ms_mean"] is None
    code, out, err = cli("run", "--endpoint-final-ms", "600")
    line = next(x for x in out.splitlines() if x.startswith("endpoint:"))
    assert "no latency after end of speech: 4 of 4 files ended before the final end-pointer " \
        "fired" in line, line
    # a run that gave a tail too short for some is told to lengthen it (a review)
    code, out, err = cli("run", "--endpoint-final-ms", "600", "--endpoint-tail-ms", "100")
    line = next(x for x in out.splitlines() if x.startswith("endpoint:"))
    assert "ended before it fired: a tail longer than --endpoint-tail-ms 100" in line, line
    code, out, err = cli("run", "--endpoint-final-ms", "600", "--endpoint-tail-ms", "1000",
                         "--json", "-")
    ep = json.loads(out)["endpoint"]
    assert ep["final_fired"] == 4 and ep["latency_forced"] == 0
    assert ep["latency_utterances"] == 4 and ep["latency_no_speculation_ms_mean"] > 600


def test_eval_and_run_records_say_what_made_them(cli, tmp_path):
    """An eval record had no config, code version or weights hash: two runs differing in a
    --set (45.7 against 2.9 % WER) could not be told apart (a report audit). Run records
    carried the release number alone."""
    import json

    from azsim._version import code_version
    out = tmp_path / "e.json"
    code, _, err = cli("eval", "--utterances", "2", "--set",
                       "model.decode.max_symbols_per_frame=1", "--json", str(out))
    assert code in (0, None), err
    rec = json.loads(out.read_text())
    assert rec["azsim_version"] == code_version()
    assert rec["config"]["decode"]["max_symbols_per_frame"] == 1
    assert len(rec["weights_sha256"]) == 64
    code, text, err = cli("run", "--model", "tiny", "--json", "-")
    assert json.loads(text)["azsim_version"] == code_version()


def test_a_beam_whose_entries_overflow_sram_is_refused_before_the_search(cli, monkeypatch):
    """--beam 64 at 100 symbols a frame searched for 17 s and then named hw.sram_bytes alone
    (a decoding audit); it is refused before any utterance runs, naming the beam, the symbols
    per frame and the widest beam that could fit (an upper bound)."""
    from azsim import api
    ran = []
    real = api.run_utterance
    monkeypatch.setattr(api, "run_utterance", lambda *a, **k: ran.append(1) or real(*a, **k))
    line = one_line_error(cli("run", "--model", "tiny", "--beam", "64", "--set",
                              "model.decode.max_symbols_per_frame=100", "--set",
                              "hw.sram_bytes=400000"),
                          "model.decode.beam = 64", "max_symbols_per_frame = 100",
                          "hw.sram_bytes = 400,000")
    assert not ran
    fits = int(line.split("no beam above ")[1].split()[0])
    code, _, err = cli("run", "--model", "tiny", "--beam", str(fits), "--set",
                       "model.decode.max_symbols_per_frame=100", "--set",
                       "hw.sram_bytes=400000")
    # an upper bound: the beam it names may still be refused after the run, for the
    # activations and stream buffers, but never before it
    assert code in (0, None) or "cannot hold what the model keeps" in err, err
    assert "model.decode.beam" in one_line_error(
        cli("run", "--model", "tiny", "--beam", str(fits + 1), "--set",
            "model.decode.max_symbols_per_frame=100", "--set", "hw.sram_bytes=400000"))
