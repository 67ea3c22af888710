"""Float32 PyTorch RNN-T of the same shapes as an azsim model: the CPU baseline to beat.

:func:`torch_rnnt_seconds` builds, from an azsim :class:`~azsim.config.ModelConfig`, a
randomly initialised float32 RNN-T with the same layer sizes and times one utterance:

* encoder: one ``nn.LSTM`` per layer (``proj_size`` = ``encoder.projection``) over
  ``(n_frames_input - stack_frames) // stride + 1`` stacked frames of ``stack_frames * n_mels`` features,
  batch 1, with time reduction (concatenation of ``time_reduction_factor`` consecutive outputs)
  after layer ``time_reduction_after``;
* greedy decoding with the loop structure of ``azsim.execute.integer.greedy_decode``: one
  prediction step for the start token (blank), then per encoder frame the joint's encoder
  projection, and per joint evaluation ``tanh(enc + pred) -> Linear to vocab -> argmax``;
  the joint's prediction projection is computed once per prediction step and reused.
  Emissions are fixed rather than data-dependent (random weights emit nothing sensible):
  ``symbols_per_enc_frame`` = 0.2 emits one non-blank on every 5th frame; each emission runs
  one prediction step and one more joint evaluation on the same frame (which then "emits"
  blank), as greedy RNN-T decoding does.

PyTorch is imported inside the function, so this module imports without it. Run it directly
to time a preset: ``python benchmarks/torch_reference.py he2019 --frames 1000``.
"""
from __future__ import annotations

import math
import statistics
import time

BLANK = 0  # azsim.model.vocab.BLANK


def _emissions(t: int, rate: float, cap: int) -> int:
    """Non-blank symbols emitted on encoder frame t: rate per frame on average, at most cap."""
    return min(cap, math.floor((t + 1) * rate + 1e-9) - math.floor(t * rate + 1e-9))


def torch_rnnt_seconds(cfg, n_frames_input: int, repeats: int = 3,
                       symbols_per_enc_frame: float = 0.2, threads: int | None = None) -> dict:
    """Median wall times of a float32 PyTorch RNN-T shaped like ``cfg`` on one utterance.

    ``n_frames_input`` is the number of 10 ms feature frames (1000 = 10 s of audio). One
    untimed warm-up run precedes ``repeats`` timed ones. ``threads`` sets
    ``torch.set_num_threads`` (None keeps PyTorch's default). Returns the medians
    ``encoder_s``, ``decode_s`` and ``total_s`` (median of per-run totals), plus the counts
    that define the work and the PyTorch version and thread count used.
    """
    import torch
    from torch import nn

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    enc, pc = cfg.encoder, cfg.prediction

    layers, d_in = [], enc.stack_frames * cfg.frontend.n_mels
    for k in range(enc.lstm_layers):
        layers.append(nn.LSTM(d_in, enc.hidden, proj_size=enc.projection, batch_first=True))
        d_in = enc.projection or enc.hidden
        if enc.time_reduction_after == k + 1:
            d_in *= enc.time_reduction_factor
    d_enc = d_in
    d_pred = pc.projection or pc.hidden
    embed = nn.Embedding(cfg.vocab_size, pc.embedding_dim)
    pred_lstm = nn.LSTM(pc.embedding_dim, pc.hidden, num_layers=pc.lstm_layers,
                        proj_size=pc.projection, batch_first=True)
    joint_enc = nn.Linear(d_enc, cfg.joint.hidden)
    joint_pred = nn.Linear(d_pred, cfg.joint.hidden, bias=False)
    joint_out = nn.Linear(cfg.joint.hidden, cfg.vocab_size)
    for m in (*layers, embed, pred_lstm, joint_enc, joint_pred, joint_out):
        m.eval()

    stride = enc.stack_stride or enc.stack_frames
    n_in = 0 if n_frames_input < enc.stack_frames else \
        (n_frames_input - enc.stack_frames) // stride + 1
    features = torch.randn(1, n_in, enc.stack_frames * cfg.frontend.n_mels)
    cap = cfg.decode.max_symbols_per_frame

    def run_encoder():
        xs = features
        for k, lstm in enumerate(layers):
            xs, _ = lstm(xs)
            f = enc.time_reduction_factor
            if enc.time_reduction_after == k + 1 and f > 1:
                n = xs.shape[1] // f * f
                xs = xs[:, :n].reshape(1, n // f, f * xs.shape[2])
        return xs[0]

    def pred_step(token, state):
        y, state = pred_lstm(embed(torch.tensor([[token]])), state)
        return joint_pred(y[0, 0]), state

    def decode(enc_out):
        z_pred, state = pred_step(BLANK, None)
        n_joint = n_emit = 0
        for t in range(enc_out.shape[0]):
            z_enc = joint_enc(enc_out[t])
            for _ in range(_emissions(t, symbols_per_enc_frame, cap) + 1):
                int(torch.argmax(joint_out(torch.tanh(z_enc + z_pred))))  # result ignored
                n_joint += 1
            for _ in range(_emissions(t, symbols_per_enc_frame, cap)):
                n_emit += 1
                z_pred, state = pred_step(1 + n_emit % (cfg.vocab_size - 1), state)
        return n_joint, n_emit

    t_enc, t_dec, t_tot = [], [], []
    with torch.inference_mode():
        for r in range(repeats + 1):  # run 0 is the warm-up
            t0 = time.perf_counter()
            enc_out = run_encoder()
            t1 = time.perf_counter()
            n_joint, n_emit = decode(enc_out)
            t2 = time.perf_counter()
            if r:
                t_enc.append(t1 - t0)
                t_dec.append(t2 - t1)
                t_tot.append(t2 - t0)
    return {
        "encoder_s": statistics.median(t_enc),
        "decode_s": statistics.median(t_dec),
        "total_s": statistics.median(t_tot),
        "enc_input_frames": n_in,
        "enc_output_frames": int(enc_out.shape[0]),
        "joint_evals": n_joint,
        "pred_steps": n_emit + 1,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
    }


if __name__ == "__main__":
    import argparse

    from azsim.config import load_model_config

    p = argparse.ArgumentParser(description="Time a float32 PyTorch RNN-T shaped like a preset.")
    p.add_argument("model", nargs="?", default="he2019", help="azsim model preset or TOML path")
    p.add_argument("--frames", type=int, default=1000, help="10 ms input frames (1000 = 10 s)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    res = torch_rnnt_seconds(load_model_config(a.model), a.frames, a.repeats, threads=a.threads)
    for key, value in res.items():
        print(f"{key:>18}: {value:.4f}" if isinstance(value, float) else f"{key:>18}: {value}")
