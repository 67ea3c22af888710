"""How well the end-pointers' quiet/loud rule finds the end of speech, against the truth that
synthesis knows (for a measured retuning of the noise floor; azsim.decode.endpoint).

The end-pointers call a 10 ms log-mel frame quiet when its energy is below -60 dB or less than
10 dB above a noise floor tracked as the lowest 100 ms average of dB energies so far. A file
that opens with a few frames of digital zeros sets that floor near the zeros, and its noise then
stays loud (a decoding audit, 2026-12-06). Candidate floors are judged here by the error of the
end of speech they give (the end of the last loud analysis window) against the true one: the
channel's lead plus the dry speech's length, which the corpus synthesis knows.

For held-out requests (test voices, test-bucket sentences, the corpus' channels, as
examples/endpoint_pauses.py draws them), each as synthesized and with ``--zeros-ms`` of digital
zeros before it, and 1 s of digital silence after it (as --endpoint-tail-ms appends), it prints
per rule the median and 90th percentile of |error|, the mean signed error, and how many
requests are off by more than ``--gross-ms``:

* ``db-mean``: today's rule (``azsim.decode.endpoint.loud_frames``);
* ``db-median``: the median of each full 100 ms window of dB energies (the first frames use
  the median of the frames so far, without entering the floor's minimum);
* ``power-mean``: the mean of each full window's powers, in dB (the same for the first frames);
* ``db-mean-live``: today's rule over the frames at or above -60 dB only, so that digital
  silence, which the absolute threshold calls quiet anyway, never sets the floor.

    python examples/endpoint_floor.py --utterances 100          # espeak-ng; about a minute

Nothing here changes azsim; a rule adopted from it would move the end-pointer figures of the
README, which would be rerun with it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np

from azsim.corpus import build, synth
from azsim.decode.endpoint import NOISE_SMOOTH_FRAMES, frame_energy_db, loud_frames
from azsim.errors import AzsimError
from azsim.model.frontend import FrontendSpec, log_mel

ENERGY_DB, MARGIN_DB = -60.0, 10.0   # the end-pointers' defaults (model.decode.endpoint_*)


def _windowed_floor(values: np.ndarray, reduce) -> np.ndarray:
    """Floor per frame: ``reduce`` over each full window, minimum so far; before the first full
    window, ``reduce`` over the frames so far (not entering the minimum)."""
    w = NOISE_SMOOTH_FRAMES
    n = values.size
    floor = np.empty(n)
    for k in range(min(n, w - 1)):
        floor[k] = reduce(values[:k + 1])
    if n >= w:
        windows = np.lib.stride_tricks.sliding_window_view(values, w)
        floor[w - 1:] = np.minimum.accumulate(reduce(windows, axis=1))
    return floor


def loud_db_median(e: np.ndarray) -> np.ndarray:
    return e >= np.maximum(ENERGY_DB, _windowed_floor(e, np.median) + MARGIN_DB)


def loud_power_mean(e: np.ndarray) -> np.ndarray:
    floor = 10 * np.log10(_windowed_floor(10 ** (e / 10), np.mean))
    return e >= np.maximum(ENERGY_DB, floor + MARGIN_DB)


def loud_db_mean_live(e: np.ndarray) -> np.ndarray:
    """Today's rule with the floor computed over live frames only (at or above the absolute
    threshold, which calls the others quiet anyway): digital silence never enters it."""
    live = np.flatnonzero(e >= ENERGY_DB)
    floor = np.full(e.size, np.inf)
    if live.size:
        v = e[live]
        csum = np.concatenate([[0.0], np.cumsum(v)])
        k = np.arange(1, v.size + 1)
        lo = np.maximum(k - NOISE_SMOOTH_FRAMES, 0)
        per_live = np.minimum.accumulate((csum[k] - csum[lo]) / (k - lo))
        # each frame takes the floor of the last live frame at or before it
        idx = np.searchsorted(live, np.arange(e.size), side="right") - 1
        floor = np.where(idx >= 0, per_live[np.maximum(idx, 0)], np.inf)
    return e >= np.maximum(ENERGY_DB, floor + MARGIN_DB)


RULES = {
    "db-mean": lambda e: loud_frames(e, ENERGY_DB, MARGIN_DB),
    "db-median": loud_db_median,
    "power-mean": loud_power_mean,
    "db-mean-live": loud_db_mean_live,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--utterances", type=int, default=100)
    ap.add_argument("--zeros-ms", type=float, nargs="+", default=[0, 30],
                    help="digital zeros before each request (0: as synthesized)")
    ap.add_argument("--gross-ms", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=31)
    args = ap.parse_args(argv)
    try:
        synth.espeak_binary()
    except AzsimError as exc:
        print(exc, file=sys.stderr)
        return 2
    spec = FrontendSpec()
    sr = synth.SAMPLE_RATE_HZ
    hop_s, window_s = spec.hop_ms / 1000, spec.window_ms / 1000
    variants = synth.split_variants(synth.list_variants(), 0)   # the corpus' voice split
    items = build.plan(args.seed, {"test": args.utterances}, variants)["test"]
    t0 = time.time()
    renders = []   # (audio, true end of speech, s)
    with tempfile.TemporaryDirectory(prefix="azsim-floor-") as work:
        for text, speaker, channel, utt_seed in items:
            clean = synth.speak(text, speaker, work)
            audio = synth.render(clean, channel, np.random.default_rng(utt_seed))
            lead = int(channel.lead_s * sr)       # render's own lead, in samples
            renders.append((audio, (lead + synth._trim(clean).size) / sr))
    print(f"{len(renders)} held-out requests (test voices, test-bucket sentences, seed "
          f"{args.seed}), 1 s of digital silence after each; error = detected - true end of "
          f"speech")
    print(f"{'zeros ms':>8} {'rule':>11} {'|err| p50 ms':>12} {'p90 ms':>7} {'mean ms':>8} "
          f"{'> ' + format(args.gross_ms, 'g') + ' ms':>9}")
    for zeros_ms in args.zeros_ms:
        pad = np.zeros(int(round(zeros_ms * sr / 1000)))
        errors = {name: [] for name in RULES}
        for audio, true_end in renders:
            x = np.concatenate([pad, audio, np.zeros(sr)]).astype(np.float32)
            e = frame_energy_db(log_mel(x, spec), spec)
            for name, rule in RULES.items():
                loud = np.flatnonzero(rule(e))
                found = loud[-1] * hop_s + window_s if loud.size else 0.0
                errors[name].append((found - pad.size / sr - true_end) * 1000)
        for name, errs in errors.items():
            a = np.abs(errs)
            print(f"{zeros_ms:>8g} {name:>11} {np.median(a):>12.1f} {np.quantile(a, 0.9):>7.1f} "
                  f"{np.mean(errs):>+8.1f} {int(np.sum(a > args.gross_ms)):>9}")
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
