"""Bad arguments to the Python API, found by fuzzing ``azsim.simulate``, ``azsim.evaluate``,
the config loaders, the sweep spec and ``read_wav`` (2027-01): a caller's wrong type, empty
list or unknown name is an :class:`AzsimError` whose one line names the parameter, the bad
value and what is allowed; never a traceback from deep inside, never a silently wrong run,
and the library never prints. One test per defect class; the passing tests pin what held."""
import os

import pytest

import azsim
from azsim.config import load_hardware_config, load_model_config
from azsim.errors import AzsimError
from azsim.evaluate import evaluate, evaluate_sets
from azsim.model.audio import read_wav, shipped_audio_paths
from azsim.sweep.spec import build_spec, expand

WAV = str(shipped_audio_paths()[0])


def _refused(call, *words):
    """``call()`` raises an AzsimError on one line holding every one of ``words``."""
    with pytest.raises(AzsimError) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def _spec(**kw):
    args = dict(model="tiny", hw=None, audio=None, weights=None, sets=[], spec_file=None)
    return build_spec(**{**args, **kw})


# ------------------------------------ defects found, fixed by azsim/arguments.py's checked()

def test_a_single_path_where_a_list_is_expected_is_refused():
    """It was iterated per character (api.py list(audio)): 'x: no such file'."""
    _refused(lambda: azsim.simulate(model="tiny", audio=WAV), "audio", "list")
    _refused(lambda: evaluate_sets("tiny", "test"), "testsets", "'test'", "list")
    _refused(lambda: _spec(audio=WAV), "audio", "list")


def test_overrides_as_a_string_is_refused():
    """It was iterated per character: one "--set 'm' is malformed" per letter."""
    _refused(lambda: azsim.simulate(model="tiny", overrides="model.weight_bits=4"),
             "overrides", "list")
    _refused(lambda: load_model_config("tiny", "model.weight_bits=4"), "overrides", "list")


def test_an_integer_path_is_not_taken_as_a_file_descriptor():
    """os.stat and open took it as a descriptor: read_wav(fd) read and closed the caller's
    file, read_wav(True) closed stdout."""
    fd = os.open(WAV, os.O_RDONLY)
    try:
        _refused(lambda: read_wav(fd), "path")
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def test_none_or_a_scalar_where_a_list_is_expected_is_refused():
    """TypeError: 'NoneType' object is not iterable."""
    _refused(lambda: azsim.simulate(model="tiny", overrides=None), "overrides", "None")
    _refused(lambda: load_model_config("tiny", None), "overrides", "None")
    _refused(lambda: _spec(sets=None), "sets", "None")


def test_a_non_string_path_or_override_is_refused():
    """TypeError from os.stat or pathlib, AttributeError from the override parser."""
    _refused(lambda: azsim.simulate(model="tiny", audio=[None]), "audio", "None")
    _refused(lambda: azsim.simulate(model="tiny", overrides=[1]), "overrides", "item 0")
    _refused(lambda: azsim.simulate(model="tiny", weights=1), "weights", "1")
    _refused(lambda: evaluate("tiny", testset=None), "testset=None")   # evaluate names its own


def test_a_progress_that_is_not_callable_is_refused():
    """TypeError 'int' object is not callable, after calibration."""
    _refused(lambda: azsim.simulate(model="tiny", audio=[WAV], progress=1), "progress")


def test_a_cache_that_is_no_mapping_is_refused():
    """AttributeError: 'list' object has no attribute 'get'."""
    _refused(lambda: azsim.simulate(model="tiny", audio=[WAV], cache=[]), "cache")


def test_utterances_must_be_an_integer():
    """True ran one utterance; 1.5 was a TypeError on a slice; the sweep spec took both."""
    _refused(lambda: azsim.simulate(model="tiny", testset="test", utterances=True),
             "utterances", "True")
    _refused(lambda: azsim.simulate(model="tiny", testset="test", utterances=1.5),
             "utterances", "1.5")
    _refused(lambda: _spec(testset="test", utterances=True), "utterances", "True")


def test_an_empty_list_of_audio_is_refused():
    """audio=[] ran the shipped utterances without their references; calibration_audio=[]
    calibrated on the shipped audio; evaluate_sets(model, []) returned []."""
    _refused(lambda: azsim.simulate(model="tiny", audio=[]), "audio", "empty")
    _refused(lambda: azsim.simulate(model="tiny", calibration_audio=[]), "calibration_audio",
             "empty")
    _refused(lambda: evaluate_sets("tiny", []), "testsets", "empty")


def test_a_baseline_without_hypotheses_is_refused():
    """KeyError: 'hypotheses'."""
    _refused(lambda: evaluate("tiny", testset="names", baseline={}), "hypotheses")


def test_evaluate_takes_a_count_of_utterances_as_evaluate_sets_does():
    """evaluate_sets had `utterances`, evaluate (its one-set form) did not."""
    assert evaluate("tiny", testset="names", utterances=2)["utterances"] == 2
    _refused(lambda: evaluate("tiny", testset="names", utterances=0), "utterances=0",
             "allowed: 1..120")
    _refused(lambda: evaluate("tiny", testset="names", utterances=1.5), "utterances", "1.5")


@pytest.mark.parametrize("kwargs, starts", [
    ({"utterances": 3}, "utterances=3: only with testset"),
    ({"testset": "test", "audio": ["a.wav"]}, "testset='test': give a test set or audio files"),
    ({"testset": "test", "utterances": 999}, "utterances=999: test set test has 250"),
    ({"testset": "no-such-set"}, "testset='no-such-set': not a shipped test set"),
    ({"overrides": ["x=1"]}, "overrides item 'x=1': unknown section"),
    ({"overrides": ["x"]}, "overrides item 'x' is malformed"),
    ({"overrides": ["model.decode.context_weight=2"]},
     "overrides item 'model.decode.context_weight=2': the bonus of the biasing phrases needs "
     "model.decode.context_file"),
    ({"bits": 9}, "model preset 'tiny' with bits=9: model.weight_bits = 9 is out of range")])
def test_the_api_names_its_parameters_not_the_cli_options(kwargs, starts):
    """Until 2026-12-06 ``simulate(utterances=3)`` answered "--utterances 3: only with
    --test", options a Python caller never typed; the CLI's own words are in test_cli."""
    msg = _refused(lambda: azsim.simulate(model="tiny", **kwargs))
    assert msg.startswith(starts) and "--" not in msg, msg


def test_evaluate_sets_names_the_item_of_its_list_and_evaluate_its_testset():
    from azsim.evaluate import evaluate_sets
    msg = _refused(lambda: evaluate_sets("tiny", ["test", "test"]))
    assert msg.startswith("testsets item 'test': given twice"), msg
    # evaluate has no testsets parameter (a review found it named one)
    msg = _refused(lambda: evaluate("tiny", testset="no-such-set"))
    assert msg.startswith("testset='no-such-set': not a shipped test set"), msg


def test_a_baseline_without_hypotheses_and_pooling_misuse_are_refused():
    """A baseline row without its hypothesis passed the check and the run failed with a
    KeyError after decoding; pooled() gave WER 0 for no results and per-voice figures against
    another set's rows (a statistics audit, 2026-12-07)."""
    from azsim.evaluate import pooled
    bad = {"hypotheses": [{"reference": "call mom"}]}
    msg = _refused(lambda: evaluate("tiny", utterances=1, baseline=bad))
    assert msg.startswith("baseline = ") and "'hypothesis': str" in msg, msg
    one = {"testset": "a", "words": 2, "word_errors": 0, "word_substitutions": 0,
           "word_deletions": 0, "word_insertions": 0,
           "hypotheses": [{"reference": "call mom", "hypothesis": "call mom"}]}
    other = dict(one, hypotheses=[{"reference": "stop", "hypothesis": "stop"}])
    assert _refused(lambda: pooled([])).startswith("pooled: no results")
    assert "2 baselines for 1 results" in _refused(lambda: pooled([one], [one, one]))
    assert "baseline 0 holds other references" in _refused(lambda: pooled([one], [other]))
    assert pooled([one], [one])["wer"] == 0.0


def test_the_readmes_api_names_resolve_from_the_package(tmp_path):
    """`import azsim; azsim.evaluate.evaluate_sets` raised AttributeError (an API audit). A
    fresh interpreter, so that nothing imported them before; -P and another folder, so that
    it imports the installed package, not a checkout's source tree."""
    import subprocess
    import sys
    code = ("import azsim; azsim.evaluate.evaluate_sets; azsim.evaluate.pooled; "
            "azsim.validate.load_suite; azsim.validate.run_suite; azsim.errors.AzsimError")
    subprocess.run([sys.executable, "-P", "-c", code], check=True, cwd=tmp_path)
    with pytest.raises(AttributeError):
        azsim.no_such_thing   # noqa: B018


@pytest.mark.parametrize("kwargs,starts", [
    ({"model": None}, "model = None"), ({"model": ["small"]}, "model = ['small']"),
    ({"include_float": "no"}, "include_float = 'no'"),
    ({"baseline_label": None}, "baseline_label = None")])
def test_evaluate_checks_every_parameter(kwargs, starts):
    assert _refused(lambda: evaluate(**kwargs)).startswith(starts)
    if "model" in kwargs:
        assert _refused(lambda: azsim.simulate(**kwargs)).startswith(starts)
    assert _refused(lambda: azsim.simulate(hardware=None)).startswith("hardware = None")


def test_expand_refuses_a_job_count_below_one():
    """0 and -1 were accepted; 1.5 and None were a TypeError in model/budget.py."""
    _refused(lambda: expand(_spec(), jobs=0), "jobs", "0")
    _refused(lambda: expand(_spec(), jobs=None), "jobs", "None")


# ------------------------------------------------------------------------------- what held

@pytest.mark.parametrize("bits", [0, 9, -1])
def test_bits_out_of_range_is_refused(bits):
    _refused(lambda: azsim.simulate(model="tiny", bits=bits), "model.weight_bits", str(bits),
             "range")


@pytest.mark.parametrize("bits", [True, 4.5, float("nan"), [4], "4"])
def test_bits_of_a_wrong_type_is_refused(bits):
    """The config refused these (True as "True", not as 1) naming model.weight_bits; a str
    "4" ran; now all name bits."""
    _refused(lambda: azsim.simulate(model="tiny", bits=bits), "bits", "integer")


@pytest.mark.parametrize("kw, words", [
    (dict(model="nopreset"), ("nopreset", "tiny")),
    (dict(hardware="nohw"), ("nohw", "az-edge")),
    (dict(overrides=["model.nope=1"]), ("model.nope", "allowed")),
    (dict(testset="nosuch"), ("nosuch", "test")),
    (dict(utterances=0), ("utterances", "only with")),
    (dict(testset="test", utterances=0), ("utterances", "1..")),
    (dict(testset="test", calibration_audio=[WAV]), ("calibration_audio",)),
    (dict(progress=print, audio=["/nonexistent.wav"]), ("/nonexistent.wav", "no such file")),
])
def test_unknown_names_and_bad_counts_are_refused(kw, words):
    _refused(lambda: azsim.simulate(**{"model": "tiny", **kw}), *words)


def test_a_folder_where_a_file_is_expected_is_refused(tmp_path):
    _refused(lambda: azsim.simulate(model="tiny", audio=[str(tmp_path)]), str(tmp_path),
             "folder")
    _refused(lambda: azsim.simulate(model="tiny", weights=str(tmp_path)), "folder")
    _refused(lambda: load_model_config(str(tmp_path)), "folder")
    _refused(lambda: read_wav(tmp_path), "folder")


@pytest.mark.parametrize("field", ["clock_mhz=nan", "clock_mhz=inf", "clock_mhz=0"])
def test_non_finite_or_zero_hardware_fields_are_refused(field):
    _refused(lambda: load_hardware_config("az-edge", [f"hw.{field}"]), "hw.clock_mhz", "range")


def test_sweep_refuses_utterances_out_of_range_before_running():
    _refused(lambda: expand(_spec(testset="test", utterances=0)), "utterances", "1..")


def test_the_library_never_prints(capfd):
    seen = []
    rep = azsim.simulate(model="tiny", audio=[WAV], progress=lambda *a: seen.append(a))
    assert rep.to_dict()["audio"]["utterances"] == 1
    assert seen[-1] == ("simulate", 1, 1)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_model_hardware_spec_file_and_spec_of_the_wrong_type_are_named():
    """AttributeError from deep inside until 2026-12-06 (build_spec(model=1), expand({}))."""
    _refused(lambda: _spec(model=1), "model = 1", "preset name or a .toml path")
    _refused(lambda: _spec(hw=["az-edge"]), "hardware = ['az-edge']")
    _refused(lambda: _spec(spec_file=3), "spec_file = 3")
    _refused(lambda: expand({}), "spec = {}", "SweepSpec")
    _refused(lambda: azsim.simulate(model=1), "model = 1")
    _refused(lambda: azsim.simulate(model="tiny", hardware=2.0), "hardware = 2.0")


def test_a_report_is_a_read_only_mapping_of_its_sections():
    """Only [] worked: "latency" in report raised KeyError 0 (API audit, 2026-12-06)."""
    import json
    report = azsim.simulate(model="tiny")
    assert "latency" in report and "nope" not in report
    assert list(report) == list(report.to_dict()) and len(report) == len(report.keys())
    assert report.get("nope") is None and report["energy"]["total_uj"] > 0
    assert json.loads(json.dumps(report.to_dict()))["model"]["name"] == "tiny"


def test_validation_and_evaluate_refuse_wrong_arguments_naming_them():
    from azsim.validate import load_suite, run_suite
    _refused(lambda: run_suite("eie"), "suite = 'eie'", "load_suite")
    _refused(lambda: run_suite(load_suite("eie"), seed="x"), "seed = 'x'", "integer")
    _refused(lambda: load_suite("eie", "hw.queue_depth=4"), "overrides", "type str")
    _refused(lambda: evaluate("tiny", testset=None), "testset=None", "test set name or path")


def test_weights_of_another_model_name_the_model_parameter():
    msg = _refused(lambda: azsim.simulate(model="tiny", weights="small"), "fit the model preset")
    assert "(model)" in msg and "--model" not in msg
