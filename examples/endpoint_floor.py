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
  silence, which the absolute threshold calls quiet anyway, never sets the floor;
* ``db-median-nz``: ``db-median`` over the frames that are not digital silence (every mel band
  at the frontend's log floor), taken in order as if the others were not there;
* ``median-after-zeros``: ``db-median`` from the first frame that is not digital silence on
  (``model.decode.endpoint_noise_floor = "median-after-zeros"``): the zeros a file opens with
  never set the floor, while digital silence after the first live frame still does;
* ``db-median-2s``: ``db-median`` with the minimum over the last 2 s of windows only (Martin's
  finite span), so that the floor can rise again;
* ``steady-10``: ``db-median`` over full windows with no digital silence and at most 10 dB
  between their loudest and quietest frame (steady noise, not speech); none yet: no floor.

    python examples/endpoint_floor.py --utterances 100          # espeak-ng; about a minute

``median-after-zeros`` became an option of azsim (not the default) from this table
(2026-12-07); a default adopted from it would move the end-pointer figures of the README, which
would be rerun with it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np

from azsim.corpus import build, synth
from azsim.decode.endpoint import (NOISE_SMOOTH_FRAMES, digital_silence_db, frame_energy_db,
                                   loud_frames, windowed_floor)
from azsim.errors import AzsimError
from azsim.model.frontend import FrontendSpec, log_mel

ENERGY_DB, MARGIN_DB = -60.0, 10.0   # the end-pointers' defaults (model.decode.endpoint_*)
SILENCE_DB = digital_silence_db(FrontendSpec())   # a frame of digital zeros


def loud_db_median(e: np.ndarray) -> np.ndarray:
    return e >= np.maximum(ENERGY_DB, windowed_floor(e, np.median) + MARGIN_DB)


def loud_power_mean(e: np.ndarray) -> np.ndarray:
    floor = 10 * np.log10(windowed_floor(10 ** (e / 10), np.mean))
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


def _median_over(e: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``db-median`` over the frames ``keep`` only, the others skipped; a frame before the
    first kept one has no floor (only the absolute threshold applies)."""
    kept = np.flatnonzero(keep)
    floor = np.full(e.size, np.inf)
    if kept.size:
        per_kept = windowed_floor(e[kept], np.median)
        idx = np.searchsorted(kept, np.arange(e.size), side="right") - 1
        floor = np.where(idx >= 0, per_kept[np.maximum(idx, 0)], np.inf)
    return e >= np.maximum(ENERGY_DB, floor + MARGIN_DB)


def loud_db_median_nz(e: np.ndarray) -> np.ndarray:
    return _median_over(e, e > SILENCE_DB + 1e-3)


def _sliding_median_floor(e: np.ndarray, span: int) -> np.ndarray:
    """``db-median``'s per-frame window medians, but the minimum over the last ``span`` full
    windows only (Martin's minimum statistics over a finite span), so the floor can rise."""
    w = NOISE_SMOOTH_FRAMES
    floor = np.empty(e.size)
    for k in range(min(e.size, w - 1)):
        floor[k] = np.median(e[:k + 1])
    if e.size >= w:
        med = np.median(np.lib.stride_tricks.sliding_window_view(e, w), axis=1)
        for j in range(med.size):
            floor[w - 1 + j] = med[max(0, j - span + 1):j + 1].min()
    return floor


def loud_db_median_span(span: int):
    return lambda e: e >= np.maximum(ENERGY_DB, _sliding_median_floor(e, span) + MARGIN_DB)


def loud_db_median_steady(spread_db: float):
    """``db-median``, but only full windows with no digital silence and a max - min spread of
    at most ``spread_db`` (steady noise, not speech or a window straddling the zeros' end)
    enter the floor; with none yet, only the absolute threshold applies."""
    sil = SILENCE_DB + 1e-3

    def rule(e: np.ndarray) -> np.ndarray:
        w = NOISE_SMOOTH_FRAMES
        floor = np.full(e.size, np.inf)
        if e.size >= w:
            win = np.lib.stride_tricks.sliding_window_view(e, w)
            ok = (win.min(axis=1) > sil) & (np.ptp(win, axis=1) <= spread_db)
            med = np.where(ok, np.median(win, axis=1), np.inf)
            floor[w - 1:] = np.minimum.accumulate(med)
        return e >= np.maximum(ENERGY_DB, floor + MARGIN_DB)
    return rule


RULES = {
    "db-mean": lambda e: loud_frames(e, ENERGY_DB, MARGIN_DB),
    "db-median": loud_db_median,
    "power-mean": loud_power_mean,
    "db-mean-live": loud_db_mean_live,
    "db-median-nz": loud_db_median_nz,
    "median-after-zeros": lambda e: loud_frames(e, ENERGY_DB, MARGIN_DB, "median-after-zeros",
                                                SILENCE_DB),
    "db-median-2s": loud_db_median_span(200),
    "steady-10": loud_db_median_steady(10.0),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--utterances", type=int, default=100)
    ap.add_argument("--zeros-ms", type=float, nargs="+", default=[0, 30],
                    help="digital zeros before each request (0: as synthesized)")
    ap.add_argument("--gross-ms", type=float, default=200.0)
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--by-noise", action="store_true",
                    help="also one row per rule and kind of channel noise ('clean': none)")
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
    renders = []   # (audio, true end of speech s, kind of noise)
    with tempfile.TemporaryDirectory(prefix="azsim-floor-") as work:
        for text, speaker, channel, utt_seed in items:
            clean = synth.speak(text, speaker, work)
            audio = synth.render(clean, channel, np.random.default_rng(utt_seed))
            lead = int(channel.lead_s * sr)       # render's own lead, in samples
            renders.append((audio, (lead + synth._trim(clean).size) / sr, channel.noise))
    print(f"{len(renders)} held-out requests (test voices, test-bucket sentences, seed "
          f"{args.seed}), 1 s of digital silence after each; error = detected - true end of "
          f"speech")
    print(f"{'zeros ms':>8} {'rule':>24} {'|err| p50 ms':>12} {'p90 ms':>7} {'mean ms':>8} "
          f"{'> ' + format(args.gross_ms, 'g') + ' ms':>9}")
    for zeros_ms in args.zeros_ms:
        pad = np.zeros(int(round(zeros_ms * sr / 1000)))
        errors = {name: [] for name in RULES}
        for audio, true_end, _ in renders:
            x = np.concatenate([pad, audio, np.zeros(sr)]).astype(np.float32)
            e = frame_energy_db(log_mel(x, spec), spec)
            for name, rule in RULES.items():
                loud = np.flatnonzero(rule(e))
                found = loud[-1] * hop_s + window_s if loud.size else 0.0
                errors[name].append((found - pad.size / sr - true_end) * 1000)
        kinds = np.array([kind for _, _, kind in renders])
        groups = [("", np.ones(kinds.size, bool))]
        if args.by_noise:
            groups += [(f"/{k}({int(np.sum(kinds == k))})", kinds == k) for k in sorted(set(kinds))]
        for suffix, pick in groups:
            for name, errs in errors.items():
                errs = np.asarray(errs)[pick]
                a = np.abs(errs)
                print(f"{zeros_ms:>8g} {name + suffix:>24} {np.median(a):>12.1f} "
                      f"{np.quantile(a, 0.9):>7.1f} {np.mean(errs):>+8.1f} "
                      f"{int(np.sum(a > args.gross_ms)):>9}")
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
