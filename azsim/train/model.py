"""A torch twin of azsim's float RNN-T (``azsim.model.float_ref``), with export to ``.npz``.

Same equations, same shapes, same gate order (torch's LSTM orders gates i, f, g, o as the
weights schema does): log-mel features are normalized with the corpus mean and standard
deviation, stacked ``stack_frames`` at a time every ``stack_stride`` frames, run through LSTMP
layers (``torch.nn.LSTM(proj_size=...)`` is exactly Sak et al.'s LSTMP: the recurrence uses
the projected output), time-reduced by concatenating consecutive outputs, and joined with
the prediction network through ``tanh(W_enc e + b + W_pred p)``. Torch's two bias vectors
export as their sum.

Compression during training goes through ``weight_transform``: the training loop installs a
function (fake quantization and/or a pruning mask) that every forward pass applies to the
prunable matrices, the same set azsim compresses (``azsim.compress.pipeline.is_prunable``).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..model.weights import FORMAT_VERSION, encoder_input_dims


class TorchRNNT(nn.Module):
    def __init__(self, cfg, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.cfg = cfg
        enc, pred = cfg.encoder, cfg.prediction
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))
        dims = encoder_input_dims(cfg)
        self.enc = nn.ModuleList(nn.LSTM(dims[k], enc.hidden, batch_first=True,
                                         proj_size=enc.projection)
                                 for k in range(enc.lstm_layers))
        self.embed = nn.Embedding(cfg.vocab_size, pred.embedding_dim)
        pred_dims = [pred.embedding_dim] + [pred.projection or pred.hidden] * (pred.lstm_layers - 1)
        self.pred = nn.ModuleList(nn.LSTM(pred_dims[k], pred.hidden, batch_first=True,
                                          proj_size=pred.projection)
                                  for k in range(pred.lstm_layers))
        d_enc, d_pred = enc.projection or enc.hidden, pred.projection or pred.hidden
        self.joint_enc = nn.Linear(d_enc, cfg.joint.hidden)           # w_enc, b
        self.joint_pred = nn.Linear(d_pred, cfg.joint.hidden, bias=False)
        self.joint_out = nn.Linear(cfg.joint.hidden, cfg.vocab_size)  # w_out, b_out
        nn.init.normal_(self.embed.weight)
        # Training-only auxiliary CTC head on the encoder output (not exported): it keeps the
        # encoder informative while the prediction network would otherwise learn the
        # grammar alone (observed here: without it the encoder output collapsed to a
        # constant within one epoch and the model decoded every utterance to one sentence).
        self.ctc_head = nn.Linear(d_enc, cfg.vocab_size)
        self.weight_transform: Callable[[str, torch.Tensor], torch.Tensor] | None = None
        # Dropout on every encoder layer's output while training (0 = off; set by the training
        # loop from TrainConfig.dropout). Not part of the exported model: eval() disables it.
        self.dropout = 0.0
        # Dropout on the prediction network's embedding and each of its layers' outputs while
        # training (0 = off; TrainConfig.pred_dropout): it keeps the network from reciting the
        # training sentences it has memorized (issue #6). Not exported either.
        self.pred_dropout = 0.0

    # -- compression hooks ----------------------------------------------------------------
    def prunable(self) -> dict[str, nn.Parameter]:
        """The matrices azsim compresses, by their weights-schema names."""
        out = {}
        for prefix, stack in (("enc", self.enc), ("pred", self.pred)):
            for k, lstm in enumerate(stack):
                out[f"{prefix}.{k}.w_x"] = lstm.weight_ih_l0
                out[f"{prefix}.{k}.w_r"] = lstm.weight_hh_l0
                if lstm.proj_size:
                    out[f"{prefix}.{k}.w_p"] = lstm.weight_hr_l0
        out["joint.w_enc"] = self.joint_enc.weight
        out["joint.w_pred"] = self.joint_pred.weight
        out["joint.w_out"] = self.joint_out.weight
        return out

    def _lstm(self, prefix: str, k: int, lstm: nn.LSTM, x: torch.Tensor, state=None):
        """One LSTM layer over x from ``state`` ((h, c) or None: zeros), with the compression
        transform applied to its matrices: (outputs, final (h, c))."""
        if self.weight_transform is None:
            return lstm(x, state)
        f = self.weight_transform
        params = {"weight_ih_l0": f(f"{prefix}.{k}.w_x", lstm.weight_ih_l0),
                  "weight_hh_l0": f(f"{prefix}.{k}.w_r", lstm.weight_hh_l0)}
        if lstm.proj_size:
            params["weight_hr_l0"] = f(f"{prefix}.{k}.w_p", lstm.weight_hr_l0)
        return functional_call(lstm, params, (x, state))

    def _stacked_steps(self, n_input_frames: int) -> int:
        """Frame-stacked steps (the first encoder layer's inputs) of ``n_input_frames``."""
        enc = self.cfg.encoder
        k, stride = enc.stack_frames, enc.stack_stride or enc.stack_frames
        return 0 if n_input_frames < k else (n_input_frames - k) // stride + 1

    def encoder_steps(self, n_input_frames: int) -> int:
        """Encoder output steps of a (padded) input of ``n_input_frames`` feature frames."""
        enc = self.cfg.encoder
        steps = self._stacked_steps(n_input_frames)
        if enc.time_reduction_after and enc.time_reduction_factor > 1:
            steps //= enc.time_reduction_factor
        return steps

    def _switched_layer(self, layer: int, x: torch.Tensor, plan, full: nn.LSTM, scale: int):
        """One encoder layer run chunk by chunk, each chunk on the branch ``plan`` gives it
        (``plan``: (first step, cheap) pairs in encoder output steps; ``scale`` this layer's
        frames per step), every chunk starting from the (h, c) the previous one left, the
        way the integer branching encoder hands its state over (azsim.execute.branch). The
        frames after the last whole step go with the last chunk."""
        outs, state = [], None
        for j, (first, cheap) in enumerate(plan):
            lo = first * scale
            hi = plan[j + 1][0] * scale if j + 1 < len(plan) else x.shape[1]
            if hi <= lo:
                continue
            if cheap:
                y, state = self._lstm("enc", layer, self.enc[layer], x[:, lo:hi], state)
            else:
                y, state = full(x[:, lo:hi], state)
            outs.append(y)
        return torch.cat(outs, dim=1)

    def _w(self, name: str, p: torch.Tensor) -> torch.Tensor:
        return p if self.weight_transform is None else self.weight_transform(name, p)

    # -- forward ----------------------------------------------------------------------------
    def encode(self, feats: torch.Tensor, n_frames: torch.Tensor, plan=None, full=None,
               collect: list | None = None):
        """feats [B, N, n_mels] (padded) -> encoder outputs [B, T, D], valid lengths [B].

        With ``plan`` (a list of (first encoder step, cheap) pairs, the first at step 0) and
        ``full`` (the full branch's LSTM layers, frozen), this encoder is the cheap branch of
        a branching encoder and each chunk of steps runs on the branch the plan says.
        ``collect``, if given, receives every layer's output (before dropout)."""
        enc = self.cfg.encoder
        k, stride = enc.stack_frames, enc.stack_stride or enc.stack_frames
        x = (feats - self.mean) / self.std
        steps = self._stacked_steps(x.shape[1])
        x = torch.cat([x[:, j:j + (steps - 1) * stride + 1:stride] for j in range(k)], dim=2)
        lengths = torch.clamp((n_frames - k) // stride + 1, min=0)
        r = enc.time_reduction_factor if enc.time_reduction_after else 1
        for layer, lstm in enumerate(self.enc):
            if plan is None:
                x = self._lstm("enc", layer, lstm, x)[0]
            else:
                before_reduction = layer < (enc.time_reduction_after or len(self.enc))
                x = self._switched_layer(layer, x, plan, full[layer], r if before_reduction else 1)
            if collect is not None:
                collect.append(x)
            if self.dropout > 0:
                x = nn.functional.dropout(x, self.dropout, self.training)
            if enc.time_reduction_after == layer + 1 and enc.time_reduction_factor > 1:
                r = enc.time_reduction_factor
                t = (x.shape[1] // r) * r
                x = x[:, :t].reshape(x.shape[0], t // r, r * x.shape[2])
                lengths = lengths // r
        return x, lengths

    def predict(self, targets: torch.Tensor) -> torch.Tensor:
        """targets [B, U] -> prediction outputs [B, U+1, D] for inputs [blank, y1..yU]."""
        start = torch.zeros(targets.shape[0], 1, dtype=targets.dtype, device=targets.device)
        x = self.embed(torch.cat([start, targets], dim=1))
        if self.pred_dropout > 0:
            x = nn.functional.dropout(x, self.pred_dropout, self.training)
        for layer, lstm in enumerate(self.pred):
            x = self._lstm("pred", layer, lstm, x)[0]
            if self.pred_dropout > 0:
                x = nn.functional.dropout(x, self.pred_dropout, self.training)
        return x

    def joint(self, enc_out: torch.Tensor, pred_out: torch.Tensor) -> torch.Tensor:
        """[B, T, D_enc] x [B, U+1, D_pred] -> logits [B, T, U+1, V]."""
        e = nn.functional.linear(enc_out, self._w("joint.w_enc", self.joint_enc.weight),
                                 self.joint_enc.bias)
        p = nn.functional.linear(pred_out, self._w("joint.w_pred", self.joint_pred.weight))
        h = torch.tanh(e[:, :, None, :] + p[:, None, :, :])
        return nn.functional.linear(h, self._w("joint.w_out", self.joint_out.weight),
                                    self.joint_out.bias)

    def forward(self, feats, n_frames, targets):
        enc_out, lengths = self.encode(feats, n_frames)
        return self.joint(enc_out, self.predict(targets)), lengths

    def load_npz_weights(self, arrays: dict[str, np.ndarray]) -> None:
        """Set every parameter from weights in the ``.npz`` schema (the inverse of
        :meth:`export`; the summed LSTM bias goes to ``bias_ih``, ``bias_hh`` becomes 0), so
        training can continue from any shipped or exported model."""
        def put(param, name):
            with torch.no_grad():
                param.copy_(torch.from_numpy(np.asarray(arrays[name], np.float32)))

        with torch.no_grad():
            self.mean.copy_(torch.from_numpy(arrays["frontend.mean"]))
            self.std.copy_(torch.from_numpy(arrays["frontend.std"]))
        put(self.embed.weight, "pred.embed")
        for prefix, stack in (("enc", self.enc), ("pred", self.pred)):
            for k, lstm in enumerate(stack):
                put(lstm.bias_ih_l0, f"{prefix}.{k}.b")
                with torch.no_grad():
                    lstm.bias_hh_l0.zero_()
        for name, p in self.prunable().items():
            put(p, name)
        put(self.joint_enc.bias, "joint.b")
        put(self.joint_out.bias, "joint.b_out")

    # -- export -----------------------------------------------------------------------------
    def export(self) -> dict[str, np.ndarray]:
        """The weights in azsim's ``.npz`` schema (float32), after ``weight_transform``."""
        def arr(t):
            return t.detach().cpu().numpy().astype(np.float32)

        with torch.no_grad():
            out = {"frontend.mean": arr(self.mean), "frontend.std": arr(self.std),
                   "pred.embed": arr(self.embed.weight)}
            for prefix, stack in (("enc", self.enc), ("pred", self.pred)):
                for k, lstm in enumerate(stack):
                    out[f"{prefix}.{k}.b"] = arr(lstm.bias_ih_l0 + lstm.bias_hh_l0)
            for name, p in self.prunable().items():
                out[name] = arr(self._w(name, p))
            out["joint.b"] = arr(self.joint_enc.bias)
            out["joint.b_out"] = arr(self.joint_out.bias)
        return out


def save_npz(path, arrays: dict[str, np.ndarray], compressed: bool = True) -> None:
    """Write weights in schema v1; compressed (deflate) so pruned and grid-snapped matrices
    take the space their information needs inside the package."""
    data = dict(arrays)
    data["format_version"] = np.array(FORMAT_VERSION, np.int64)
    (np.savez_compressed if compressed else np.savez)(path, **data)
