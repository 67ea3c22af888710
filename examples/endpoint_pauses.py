"""End-pointers on requests with a pause inside them (issue #7): resets, cut-offs, latency.

The shipped utterances have no pause longer than a word gap, so on them the speculative
end-pointer is never wrong and the final one never cuts a request short. Users pause mid-request
("set a timer for ... ten minutes"). This script synthesizes held-out requests (test-bucket
sentences, test voices, the corpus' channels; espeak-ng needed) with a silence of each
``--pauses-ms`` length after a random word inside the request, runs the trained ``small`` model
on them with the end-pointers on the processor timeline (``azsim.simulate``, 1 s of silence
appended as ``--endpoint-tail-ms`` does), for each speculative threshold, and prints per pause
and threshold:

* speculative fires and resets (speech resumed after a speculative fire: downstream work
  thrown away), and the reset rate = resets / fires;
* cut-offs: the final end-pointer fired before the end of speech (the device would stop
  listening and lose the words after the pause);
* mean user-perceived latency after the end of speech without and with speculation, over the
  requests that were not cut off, and the mean saving;
* WER of the whole transcripts (the decoder hears the whole audio; a cut-off's lost words are
  not counted as deletions here).

    python examples/endpoint_pauses.py                     # 40 requests, pauses 0-800 ms
    python examples/endpoint_pauses.py --utterances 100 --speculative-ms 300 400 500
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from azsim import simulate
from azsim.corpus import build, synth
from azsim.decode.endpoint import NOISE_FLOORS
from azsim.errors import AzsimError
from azsim.model.audio import write_wav


def make_requests(folder: Path, n: int, pause_ms: float, seed: int) -> None:
    """``n`` test-voice requests with a ``pause_ms`` silence after a random inner word, as WAVs
    with a transcripts.tsv; the same sentences, speakers, channels and pause positions for
    every pause length (only the silence differs)."""
    variants = synth.split_variants(synth.list_variants(), 0)   # the corpus' voice split
    items = build.plan(seed, {"test": 4 * n}, variants)["test"]
    items = [it for it in items if len(it[0].split()) >= 3][:n]
    rng = np.random.default_rng(seed)
    cuts = [int(rng.integers(1, len(text.split()))) for text, *_ in items]
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="azsim-tts-") as work:
        for k, ((text, speaker, channel, utt_seed), cut) in enumerate(zip(items, cuts)):
            audio = synth.synthesize_with_pause(text, cut, pause_ms / 1000.0, speaker, channel,
                                                utt_seed, work)
            name = f"p{k:03d}.wav"
            write_wav(folder / name, audio, synth.SAMPLE_RATE_HZ)
            rows.append(f"{name}\t{text}")
    (folder / "transcripts.tsv").write_text("file\ttext\n" + "\n".join(rows) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--utterances", type=int, default=40)
    ap.add_argument("--pauses-ms", type=float, nargs="+", default=[0, 300, 500, 700])
    ap.add_argument("--speculative-ms", type=float, nargs="+", default=[400])
    ap.add_argument("--final-ms", type=float, default=600)
    ap.add_argument("--downstream-ms", type=float, default=300)
    ap.add_argument("--model", default="small")
    ap.add_argument("--weights", default=None,
                    help="a weights .npz of the model's architecture (e.g. a training run's)")
    ap.add_argument("--seed", type=int, default=31)
    ap.add_argument("--noise-floor", choices=NOISE_FLOORS, default="mean",
                    help="model.decode.endpoint_noise_floor (azsim.decode.endpoint)")
    args = ap.parse_args(argv)
    try:
        synth.espeak_binary()
    except AzsimError as exc:
        print(exc, file=sys.stderr)
        return 2
    weights = f" ({args.weights})" if args.weights else ""
    print(f"model {args.model}{weights}, greedy; final end-pointer {args.final_ms:g} ms, "
          f"downstream {args.downstream_ms:g} ms, noise floor {args.noise_floor}, "
          f"1000 ms of silence appended; {args.utterances} held-out "
          "requests (test voices, test-bucket sentences) per pause")
    head = (f"{'pause':>6} {'spec':>5} {'fires':>5} {'resets':>6} {'reset %':>7} {'cut':>4} "
            f"{'lat ms':>7} {'w/ spec':>7} {'saved':>6} {'WER %':>6}")
    print(head)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="azsim-pauses-") as tmp:
        for pause in args.pauses_ms:
            folder = Path(tmp) / f"p{pause:g}"
            make_requests(folder, args.utterances, pause, args.seed)
            for spec in args.speculative_ms:
                report = simulate(model=args.model, weights=args.weights,
                                  testset=str(folder), overrides=[
                    f"model.decode.endpoint_final_ms={args.final_ms}",
                    f"model.decode.endpoint_speculative_ms={spec}",
                    f"model.decode.endpoint_downstream_ms={args.downstream_ms}",
                    "model.decode.endpoint_tail_ms=1000",
                    f"model.decode.endpoint_noise_floor=\"{args.noise_floor}\""])
                ep = report.data["endpoint"]
                fmt = (lambda v: "-" if v is None else f"{v:.1f}")
                print(f"{pause:>6g} {spec:>5g} {ep['speculative_fires']:>5} {ep['resets']:>6} "
                      f"{ep['reset_rate'] * 100:>7.1f} {ep['cut_offs']:>4} "
                      f"{fmt(ep['latency_no_speculation_ms_mean']):>7} "
                      f"{fmt(ep['latency_with_speculation_ms_mean']):>7} "
                      f"{fmt(ep['latency_saved_ms_mean']):>6} "
                      f"{report.data['wer'] * 100:>6.2f}")
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
