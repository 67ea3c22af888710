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


# ------------------------------------------------------------------------- defects (xfail)

@pytest.mark.xfail(strict=True, reason="azsim/api.py:75 list(audio) iterates a str per "
                   "character: audio='x.wav' fails as 'x: no such file' (an absolute path as "
                   "'/: cannot read (a folder)'); same for calibration_audio (api.py:80) and "
                   "evaluate_sets(testsets='test') ('--test t: given twice', evaluate.py:251)")
def test_a_single_path_where_a_list_is_expected_is_refused():
    _refused(lambda: azsim.simulate(model="tiny", audio=WAV), "audio", "list")


@pytest.mark.xfail(strict=True, reason="azsim/api.py:66 list(overrides) iterates a str per "
                   "character: overrides='model.weight_bits=4' gives one '--set 'm' is "
                   "malformed' per character, not naming overrides")
def test_overrides_as_a_string_is_refused():
    _refused(lambda: azsim.simulate(model="tiny", overrides="model.weight_bits=4"),
             "overrides", "list")


@pytest.mark.xfail(strict=True, reason="azsim/paths.py:48,85 os.stat/open take an int as a "
                   "file descriptor: read_wav(fd) reads and CLOSES the caller's descriptor "
                   "(simulate(audio=[1]), read_wav(True), build_spec(spec_file=1) close stdout)")
def test_an_integer_path_is_not_taken_as_a_file_descriptor():
    fd = os.open(WAV, os.O_RDONLY)
    try:
        _refused(lambda: read_wav(fd), "path")
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.mark.xfail(strict=True, reason="azsim/api.py:66 overrides=None: TypeError 'NoneType' "
                   "object is not iterable (audio=1 / audio=Path(...): api.py:75; "
                   "evaluate(overrides=None): evaluate.py:248)")
def test_none_or_a_scalar_where_a_list_is_expected_is_refused():
    _refused(lambda: azsim.simulate(model="tiny", overrides=None), "overrides")


@pytest.mark.xfail(strict=True, reason="azsim/paths.py:48 audio=[None]: TypeError from os.stat; "
                   "overrides=[None] or [1]: AttributeError at config/loader.py:191; weights=1, "
                   "testset=1, evaluate(testset=None): TypeError from pathlib")
def test_a_non_string_path_or_override_is_refused():
    _refused(lambda: azsim.simulate(model="tiny", audio=[None]), "audio", "None")


@pytest.mark.xfail(strict=True, reason="azsim/api.py:224 progress=1: TypeError 'int' object is "
                   "not callable, raised after calibration (evaluate: evaluate.py:296)")
def test_a_progress_that_is_not_callable_is_refused():
    _refused(lambda: azsim.simulate(model="tiny", audio=[WAV], progress=1), "progress")


@pytest.mark.xfail(strict=True, reason="azsim/api.py:82 cache=[] (or a str, an int): "
                   "AttributeError 'list' object has no attribute 'get'")
def test_a_cache_that_is_no_mapping_is_refused():
    _refused(lambda: azsim.simulate(model="tiny", audio=[WAV], cache=[]), "cache")


@pytest.mark.xfail(strict=True, reason="azsim/api.py:170 utterances=True runs 1 utterance "
                   "(a bool taken as an int); utterances=1.5 or 1.0: TypeError on a slice at "
                   "api.py:174; build_spec/expand accept 1.5 and True (sweep/spec.py:336)")
def test_utterances_must_be_an_integer():
    _refused(lambda: azsim.simulate(model="tiny", testset="test", utterances=True),
             "utterances", "True")


@pytest.mark.xfail(strict=True, reason="azsim/api.py:75 audio=[] silently runs the shipped "
                   "utterances, without their references (refs use 'audio is None'); "
                   "calibration_audio=[] silently calibrates on the shipped audio (api.py:217); "
                   "evaluate_sets(model, []) returns [] (evaluate.py:251)")
def test_an_empty_list_of_audio_is_refused():
    _refused(lambda: azsim.simulate(model="tiny", audio=[]), "audio", "empty")


@pytest.mark.xfail(strict=True, reason="azsim/evaluate.py:265 baseline={}: KeyError "
                   "'hypotheses' (baseline=1: TypeError not subscriptable)")
def test_a_baseline_without_hypotheses_is_refused():
    _refused(lambda: evaluate("tiny", testset="names", baseline={}), "hypotheses")


@pytest.mark.xfail(strict=True, reason="azsim/sweep/spec.py:521 expand(spec, jobs=0) and "
                   "jobs=-1 are accepted; jobs=1.5 or None: TypeError at model/budget.py:71")
def test_expand_refuses_a_job_count_below_one():
    _refused(lambda: expand(_spec(), jobs=0), "jobs", "0")


# ------------------------------------------------------------------------------- what held

@pytest.mark.parametrize("bits", [0, 9, -1, True, 4.5, float("nan"), [4]])
def test_bits_out_of_range_or_of_a_wrong_type_is_refused(bits):
    _refused(lambda: azsim.simulate(model="tiny", bits=bits), "model.weight_bits", "expected"
             if not isinstance(bits, int) or isinstance(bits, bool) else "out of range")


@pytest.mark.parametrize("kw, words", [
    (dict(model="nopreset"), ("nopreset", "tiny")),
    (dict(hardware="nohw"), ("nohw", "az-edge")),
    (dict(overrides=["model.nope=1"]), ("model.nope", "allowed")),
    (dict(testset="nosuch"), ("nosuch", "test")),
    (dict(utterances=0), ("utterances", "only with")),
    (dict(testset="test", utterances=0), ("utterances", "1..")),
    (dict(testset="test", calibration_audio=[WAV]), ("calibration_audio",)),
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
