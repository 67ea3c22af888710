"""End-pointers on synthetic speech/silence with known firing times (issue #7).

Geometry of every case: 10 ms hop, 25 ms window, 3 log-mel frames stacked per encoder input
frame (30 ms), so encoder frame f arrives at (30 f + 45) ms; the processor finishes each
frame 2 ms after it arrives; a decoder step on every second frame (time reduction x2).
"""
import numpy as np
import pytest

from azsim.config import load_model_config
from azsim.decode.endpoint import (NOISE_SMOOTH_FRAMES, digital_silence_db, frame_energy_db,
                                   loud_frames, run_endpointers, speech_seconds, with_tail)
from azsim.model.audio import shipped_audio_paths
from azsim.model.frontend import log_mel
from azsim.model.loading import frontend_spec, load_utterances

HOP_S, WINDOW_S, STACK = 0.010, 0.025, 3
D_S = 0.300   # downstream work


def _run(loud, n_frames, emits=None, ids=None, final=0.6, spec=0.4, audio_end=None):
    loud = np.asarray(loud, bool)
    arrival = ((np.arange(n_frames) * STACK + STACK - 1) * HOP_S + WINDOW_S)  # window closes
    finish = arrival + 0.002
    steps = np.arange(1, n_frames, 2)
    last = np.full(steps.size, -1) if emits is None else np.asarray(emits)
    ids = np.zeros(steps.size, np.int64) if ids is None else np.asarray(ids)
    return run_endpointers(loud, HOP_S, WINDOW_S, STACK, STACK, steps, last, ids, arrival,
                           finish, final, spec, D_S, audio_end_s=audio_end)


def _loud(*spans, n=300):
    x = np.zeros(n, bool)
    for a, b in spans:
        x[a:b] = True
    return x


def test_speech_then_silence_fires_at_known_times():
    ep = _run(_loud((10, 100)), 100)
    # last loud window: frame 99 ends at 0.99 + 0.025 = 1.015 s
    assert ep.end_of_speech_s == pytest.approx(1.015)
    # speculative: first f with 0.030 f + 0.045 - 1.015 >= 0.4 -> f = 46 (1.425 s);
    # final: >= 0.6 -> f = 53 (1.635 s)
    assert ep.speculative_fired_s == pytest.approx((1.425,))
    assert ep.final_fired_s == pytest.approx(1.635)
    assert ep.final_decided_s == pytest.approx(1.637)
    assert ep.resets == 0 and not ep.final_forced and ep.speculation_confirmed
    assert ep.latency_s(False) == pytest.approx(1.637 + D_S - 1.015)
    assert ep.latency_s(True) == pytest.approx(1.427 + D_S - 1.015)   # 210 ms sooner


def test_pause_longer_than_the_speculative_threshold_is_a_reset():
    # 500 ms pause (frames 100..149) between two words: the speculative end-pointer fires in
    # it (0.4 s after 1.015 s), speech resumes (a reset), and both fire after the second word.
    ep = _run(_loud((10, 100), (150, 200)), 100)
    assert ep.resets == 1
    assert ep.speculative_fired_s == pytest.approx((1.425, 2.415))
    assert ep.end_of_speech_s == pytest.approx(2.015)
    assert ep.final_fired_s == pytest.approx(2.625)
    assert ep.speculation_confirmed


def test_pause_longer_than_the_final_threshold_is_a_cut_off():
    # 700 ms pause (frames 100..169) > 600 ms: the final end-pointer fires inside it, before the
    # end of speech (second word to frame 229: 2.315 s). A device would stop listening there:
    # a cut-off, counted, and without a latency (its result came before the user finished).
    ep = _run(_loud((10, 100), (170, 230)), 100)
    assert ep.final_fired_s == pytest.approx(1.635) and not ep.final_forced
    assert ep.end_of_speech_s == pytest.approx(2.315)
    assert ep.cut_off
    assert ep.latency_s(False) is None and ep.latency_s(True) is None
    # The same pause at the end of the request is not a cut-off, nor is a forced end.
    assert not _run(_loud((10, 100)), 100).cut_off
    forced = _run(_loud((10, 100)), 40)        # audio ends 0.4 s into the silence
    assert forced.final_forced and not forced.cut_off


def test_short_pause_fires_nothing_early():
    ep = _run(_loud((10, 100), (130, 200)), 100)      # 300 ms pause < 400 ms
    assert ep.resets == 0 and len(ep.speculative_fired_s) == 1


def test_blank_emissions_alone_count_as_activity():
    # quiet audio throughout, but the best hypothesis emits at frame 39: activity ends when
    # frame 39 arrives (1.215 s), so the final end-pointer fires at f = 59 (1.815 s).
    emits = np.where(np.arange(1, 100, 2) >= 39, 39, -1)
    ep = _run(np.zeros(300, bool), 100, emits=emits)
    assert ep.end_of_speech_s is None and ep.latency_s(False) is None
    assert ep.final_fired_s == pytest.approx(1.815)


def test_late_emission_after_the_speculative_fire_resets_it():
    # energy stops at 1.015 s; the model still emits at frame 47 (after the speculative fire
    # at f = 46, 1.425 s): a reset, and the final end-pointer waits 600 ms from frame 47.
    steps = np.arange(1, 100, 2)
    emits = np.where(steps >= 47, 47, 20)
    ep = _run(_loud((10, 100)), 100, emits=emits)
    assert ep.resets == 1
    assert ep.final_fired_s == pytest.approx(0.03 * 47 + 0.045 + 0.6)


def test_changed_text_voids_the_speculation_and_rearms_it():
    """The best hypothesis changes after the speculative fire, with no new activity: the
    speculation's downstream work is void, which is a reset, and the speculative end-pointer
    fires again on the new text, at once (its silence is long enough). Until a 2026-12-06
    audit it stayed unconfirmed, uncounted and disarmed, and saved nothing."""
    steps = np.arange(1, 100, 2)
    ids = np.where(steps >= 50, 2, 1)
    ep = _run(_loud((10, 100)), 100, ids=ids)
    same = _run(_loud((10, 100)), 100)
    assert same.speculative_fired_s == (1.425,) and same.resets == 0
    assert ep.speculative_fired_s == pytest.approx((1.425, 1.575))   # frame 50, the change
    assert ep.resets == 1 and ep.speculation_confirmed
    # it saves less than a speculation that stood (downstream started later), but saves
    assert same.latency_s(True) < ep.latency_s(True) < ep.latency_s(False)


def test_no_speech_and_short_audio():
    ep = _run(np.zeros(300, bool), 100)
    assert ep.speculative_fired_s == () and ep.final_forced and ep.end_of_speech_s is None
    # the audio ends 300 ms after the speech: only the speculative end-pointer fires
    ep = _run(_loud((10, 100)), 45)
    assert ep.final_forced and ep.final_fired_s is None
    # forced: decided when the last decoder step's frame (43 of 45; frame 44 has no pair at
    # the time reduction) is done, but not before the last frame's audio has arrived
    assert ep.final_decided_s == pytest.approx(max(0.03 * 43 + 0.045 + 0.002,
                                                   0.03 * 44 + 0.045))
    # the audio's end, up to a frame after the last frame's arrival (a partial frame's
    # samples): not decided before it (it was the last arrival; a latency audit, 2026-12-06)
    late_end = 0.03 * 44 + 0.045 + 0.025
    ep = _run(_loud((10, 100)), 45, audio_end=late_end)
    assert ep.final_decided_s == pytest.approx(late_end)
    assert ep.latency_s(False) == pytest.approx(late_end + D_S - ep.end_of_speech_s)
    ep = _run(_loud((10, 100)), 46)   # an even count: its last frame is the last step's
    assert ep.final_decided_s == pytest.approx(0.03 * 45 + 0.045 + 0.002)
    assert ep.speculative_fired_s == ()
    ep = _run(_loud((10, 100)), 50)
    assert ep.final_forced and len(ep.speculative_fired_s) == 1
    assert ep.latency_s(True) == pytest.approx(1.427 + D_S - 1.015)


def test_frame_energy_reference_and_tail():
    cfg = load_model_config("tiny")
    spec = frontend_spec(cfg)
    t = np.arange(8000) / 16000
    for amp, db in ((1.0, 0.0), (0.1, -20.0), (0.01, -40.0)):
        e = frame_energy_db(log_mel(amp * np.sin(2 * np.pi * 440 * t), spec), spec)
        assert np.allclose(e, db, atol=0.1)
    silence = frame_energy_db(log_mel(np.zeros(8000), spec), spec)
    assert np.all(silence < cfg.decode.endpoint_energy_db)
    utt = load_utterances(shipped_audio_paths()[:1], cfg)[0]
    tailed = with_tail(utt, 500.0, cfg)
    assert tailed.seconds == pytest.approx(utt.seconds + 0.5)
    assert tailed.features.shape[0] == utt.features.shape[0] + 50
    np.testing.assert_array_equal(tailed.features[:utt.features.shape[0]], utt.features)
    cfg_tail = load_model_config("tiny", ["model.decode.endpoint_tail_ms=500"])
    assert speech_seconds(tailed, cfg_tail) == pytest.approx(utt.seconds)
    assert with_tail(utt, 0.0, cfg) is utt


def test_loud_frames_track_the_noise_floor():
    rng = np.random.default_rng(0)
    silence = np.full(50, -84.0)                       # digital silence
    noise = -42.0 + rng.uniform(-3, 3, 100)            # steady noise, 6 dB spread
    speech = -20.0 + rng.uniform(-8, 8, 60)
    # a query in its own background noise: the noise is quiet (within 10 dB of the floor)
    e = np.concatenate([noise, speech, noise])
    loud = loud_frames(e, -60.0, 10.0)
    assert not loud[NOISE_SMOOTH_FRAMES:100].any() and loud[100:160].all()
    assert not loud[160:].any()
    # causal: appending frames never changes the decision for earlier ones
    np.testing.assert_array_equal(loud_frames(e[:130], -60.0, 10.0), loud[:130])
    # the end of speech of a noisy synthetic utterance is the end of its speech
    ep = _run(np.concatenate([loud, np.zeros(100, bool)]), 100)
    assert ep.end_of_speech_s == pytest.approx(1.59 + WINDOW_S)
    # digital silence is quiet by the absolute threshold; the floor is a running minimum, so
    # noise that starts after a quieter stretch stays loud (documented limitation)
    loud = loud_frames(np.concatenate([silence, noise]), -60.0, 10.0)
    assert not loud[:50].any() and loud[50:].all()


def _median_after_zeros_reference(e, silence_db):
    """The "median-after-zeros" floor by brute force: from the first frame above digital
    silence on, the median of the frames so far for the first 9, then the lowest median of any
    full 10-frame window ending at or before the frame."""
    w = NOISE_SMOOTH_FRAMES
    floor = np.full(len(e), np.inf)
    live = [i for i, x in enumerate(e) if x > silence_db + 1e-3]
    if not live:
        return floor
    s = live[0]
    for t in range(s, len(e)):
        if t - s + 1 < w:
            floor[t] = np.median(e[s:t + 1])
        else:
            floor[t] = min(np.median(e[j - w + 1:j + 1]) for j in range(s + w - 1, t + 1))
    return floor


@pytest.mark.parametrize("seed", range(6))
def test_median_after_zeros_floor_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    sil = -83.8
    parts = [np.full(rng.integers(0, 15), sil),                  # leading zeros (maybe none)
             -40 + rng.normal(0, 2, rng.integers(0, 25)),         # noise
             np.full(rng.integers(0, 4), sil),                    # a gap of zeros, after live
             -15 + rng.normal(0, 6, rng.integers(1, 30))]         # speech
    e = np.concatenate(parts)
    for energy_db, margin_db in ((-60.0, 10.0), (-100.0, 3.0)):
        want = e >= np.maximum(energy_db, _median_after_zeros_reference(e, sil) + margin_db)
        got = loud_frames(e, energy_db, margin_db, "median-after-zeros", sil)
        np.testing.assert_array_equal(got, want)
        # causal: a prefix decides its frames as the whole does
        cut = e.size // 2
        np.testing.assert_array_equal(
            loud_frames(e[:cut], energy_db, margin_db, "median-after-zeros", sil), got[:cut])


def test_median_after_zeros_keeps_noise_quiet_after_leading_zeros():
    """Real audio through the frontend: 100 ms of digital zeros, then noise around a tone burst
    (the "speech"). Today's floor sets on the zeros and keeps the noise loud to the end of the
    file (the documented limitation); median-after-zeros tracks the noise, so the last loud
    frame is the burst's."""
    cfg = load_model_config("tiny")
    spec = frontend_spec(cfg)
    sr = spec.sample_rate_hz
    rng = np.random.default_rng(0)
    t = np.arange(int(0.5 * sr)) / sr
    burst = 0.3 * np.sin(2 * np.pi * 440 * t)
    noise = lambda n: 0.003 * rng.standard_normal(n)           # about -50 dB
    x = np.concatenate([np.zeros(int(0.1 * sr)), noise(int(0.5 * sr)), burst + noise(t.size),
                        noise(int(0.8 * sr))]).astype(np.float32)
    e = frame_energy_db(log_mel(x, spec), spec)
    sil = digital_silence_db(spec)
    assert e[:5].max() == pytest.approx(sil, abs=1e-6)          # zeros are digital silence
    hop = spec.hop_ms / 1000
    burst_end_frame = int(round(1.1 / hop))
    today = np.flatnonzero(loud_frames(e, -60.0, 10.0))
    assert today[-1] >= e.size - 5                              # the noise stays loud
    new = np.flatnonzero(loud_frames(e, -60.0, 10.0, "median-after-zeros", sil))
    assert abs(new[-1] - burst_end_frame) <= 3                  # the burst's end, +-30 ms
    assert not np.isin(np.arange(15, 55), new).any()            # the noise before it is quiet
    # without the zeros both rules agree on where the burst ends
    e0 = frame_energy_db(log_mel(x[int(0.1 * sr):], spec), spec)
    a = np.flatnonzero(loud_frames(e0, -60.0, 10.0))[-1]
    b = np.flatnonzero(loud_frames(e0, -60.0, 10.0, "median-after-zeros", sil))[-1]
    assert abs(a - b) <= 1


def test_median_after_zeros_edge_cases():
    sil = -83.8
    # all digital silence: no floor, every frame quiet (even under a -100 dB threshold)
    assert not loud_frames(np.full(30, sil), -100.0, 10.0, "median-after-zeros", sil).any()
    assert loud_frames(np.zeros(0), -60.0, 10.0, "median-after-zeros", sil).size == 0
    with pytest.raises(ValueError, match="silence_db"):
        loud_frames(np.zeros(3), -60.0, 10.0, "median-after-zeros")
    with pytest.raises(ValueError, match="mean, median-after-zeros"):
        loud_frames(np.zeros(3), -60.0, 10.0, "minimum")
    # the default rule is unchanged by the new argument
    e = np.random.default_rng(1).normal(-40, 5, 40)
    np.testing.assert_array_equal(loud_frames(e, -60.0, 10.0, "mean", sil),
                                  loud_frames(e, -60.0, 10.0))


def test_endpoint_noise_floor_setting_is_checked_and_reported():
    import dataclasses
    from azsim.config.schema import DecodeConfig
    from azsim.decode.endpoint import NOISE_FLOORS
    from azsim.errors import AzsimError
    field = {f.name: f for f in dataclasses.fields(DecodeConfig)}["endpoint_noise_floor"]
    assert field.metadata["choices"] == NOISE_FLOORS      # the setting offers what exists
    with pytest.raises(AzsimError, match="endpoint_noise_floor"):
        load_model_config("tiny", ['model.decode.endpoint_noise_floor="minimum"'])
    cfg = load_model_config("tiny", ['model.decode.endpoint_noise_floor="median-after-zeros"'])
    assert cfg.decode.endpoint_noise_floor == "median-after-zeros"


def test_endpoint_floor_example_finds_todays_floor_broken_by_leading_zeros(capsys):
    """examples/endpoint_floor.py end to end (espeak-ng): its db-mean row is today's rule,
    which 30 ms of digital zeros before a noisy request throws off (the documented
    limitation), while the windowed median floor is not thrown off by them."""
    import importlib.util
    import shutil
    from pathlib import Path
    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    path = Path(__file__).parents[1] / "examples" / "endpoint_floor.py"
    spec = importlib.util.spec_from_file_location("endpoint_floor", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    e = np.array([-150.0] * 3 + [-40.0] * 40 + [-10.0] * 20 + [-40.0] * 40)
    assert module.RULES["db-mean"](e)[3:43].all()          # the noise after zeros stays loud
    assert not module.RULES["db-median"](e)[13:43].any()   # a floor of the noise
    # azsim's option: zeros at digital silence's level never set the floor
    e[:3] = module.SILENCE_DB
    assert not module.RULES["median-after-zeros"](e)[13:43].any()
    assert module.main(["--utterances", "12", "--zeros-ms", "0", "30"]) == 0
    rows = {(r[0], r[1]): r for r in (line.split() for line in
                                      capsys.readouterr().out.splitlines()) if len(r) == 6}
    assert int(rows[("30", "db-mean")][5]) > int(rows[("30", "db-median")][5])


def test_endpoint_pauses_example_counts_cut_offs_on_real_speech(capsys):
    """examples/endpoint_pauses.py end to end (espeak-ng): with no pause inside the requests the
    600 ms final end-pointer never fires before the end of speech; with a 1.5 s pause inside
    every request it fires in the pause of each one (a cut-off), and no latency is averaged."""
    import importlib.util
    import shutil
    from pathlib import Path
    shutil.which("espeak-ng") or pytest.skip("espeak-ng not installed")
    path = Path(__file__).parents[1] / "examples" / "endpoint_pauses.py"
    spec = importlib.util.spec_from_file_location("endpoint_pauses", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--utterances", "3", "--pauses-ms", "0", "1500"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.split() and line.split()[0] in ("0", "1500")]
    by_pause = {row[0]: row for row in rows}
    assert set(by_pause) == {"0", "1500"}
    assert by_pause["0"][5] == "0"              # cut-offs
    assert by_pause["1500"][5] == "3"
    assert by_pause["1500"][6] == "-"           # no request left to average a latency over


def test_a_feature_test_sets_utterance_lasts_until_its_last_frame_has_arrived():
    """The shipped test set keeps features only: an utterance lasts (F - 1) x hop + window,
    the shortest audio of F frames, at most a hop short of its WAV. Until 2026-12-06 it was
    F x hop, 15 ms before its last frame arrived, so end-pointers fired after the end of the
    audio and every test-set run's latency after the end of speech was 15 ms too long."""
    import azsim
    from azsim.evaluate import features_seconds
    cfg = load_model_config("small", [])
    spec = cfg.frontend
    assert features_seconds(0, spec) == 0.0
    assert features_seconds(1, spec) == pytest.approx(spec.window_ms / 1000)
    feats = azsim.simulate(testset="test", utterances=1).to_dict()
    wav = azsim.simulate(audio=[str(shipped_audio_paths()[0])]).to_dict()
    f, w = feats["utterances"][0], wav["utterances"][0]
    assert f["frames"] == w["frames"]
    assert f["seconds"] * 1000 == pytest.approx(f["frame_arrival_ms"][-1], abs=1e-9)
    assert 0 <= w["seconds"] - f["seconds"] < spec.hop_ms / 1000
    assert f["end_of_speech_ms"] <= w["end_of_speech_ms"] + f["frame_compute_ms"][-1] + 1e-9


def test_a_forced_end_is_decided_no_earlier_than_the_audio_ends():
    """A run record's end-pointers and its latency line share one end of the audio: a
    forced decision waited only for the last whole frame, up to a frame before the file
    ended (tiny on the shipped audio: 2,775 ms for a 2,799 ms file; a latency audit)."""
    import azsim
    d = azsim.simulate(model="tiny").to_dict()
    forced = [(u, e) for u, e in zip(d["utterances"], d["endpoint"]["utterances"])
              if e["final_forced"]]
    assert forced
    for u, e in forced:
        assert e["final_decided_ms"] >= u["seconds"] * 1000 - 1e-6, (u["file"], e)
