"""The RNN-T loss (Graves, "Sequence Transduction with Recurrent Neural Networks", 2012).

For joint log-probabilities ``logp[t, u, k]`` over an utterance of T encoder frames and U
labels, the forward variable alpha(t, u) (log probability of having emitted the first u labels
by frame t) obeys::

    alpha(0, 0) = 0
    alpha(t, u) = logaddexp(alpha(t-1, u) + blank(t-1, u),  alpha(t, u-1) + label(t, u-1))
    loss        = -(alpha(T-1, U) + blank(T-1, U))

with ``blank(t, u) = logp[t, u, blank]`` and ``label(t, u) = logp[t, u, y_{u+1}]``.

Within a row t the u-recursion is a prefix scan. Writing a(k) = alpha(t-1, k) + blank(t-1, k)
(a = [0, -inf, ...] for t = 0) and c(u) = sum_{j<u} label(t, j), it unrolls to::

    alpha(t, u) = c(u) + logcumsumexp_k<=u (a(k) - c(k))

so each of the T rows is a handful of vectorized tensor ops over the batch and all u, and
autograd gives the gradient. The scan runs in float64: c(u) reaches hundreds of nats early
in training, and float32 would lose the small differences that carry the gradient.
"""
from __future__ import annotations

import torch


def rnnt_loss(logits: torch.Tensor, targets: torch.Tensor, frames: torch.Tensor,
              labels: torch.Tensor, blank: int = 0, reduction: str = "mean") -> torch.Tensor:
    """RNN-T negative log-likelihood.

    logits  [B, T, U+1, V] joint outputs (unnormalized); targets [B, U] int64 (padded with
    anything); frames [B] valid encoder frames per utterance (>= 1); labels [B] valid labels.
    reduction: "mean" (over utterances), "sum" or "none".
    """
    if frames.numel() and int(frames.min()) < 1:
        # frames - 1 = -1 would read the last padded frame: a finite loss and gradients on
        # padding for an utterance the encoder gives no frame (a training audit, 2026-12-06)
        raise ValueError(f"rnnt_loss: every utterance needs >= 1 encoder frame; got frames "
                         f"{frames.tolist()}")
    logp = torch.log_softmax(logits, dim=-1)
    n_b, n_t, n_u1, _ = logp.shape
    blank_lp = logp[..., blank].double()                                    # [B, T, U+1]
    if n_u1 > 1:
        idx = targets[:, None, :, None].expand(n_b, n_t, n_u1 - 1, 1)
        label_lp = torch.gather(logp[:, :, :-1, :], 3, idx).squeeze(3).double()  # [B, T, U]
    else:
        label_lp = blank_lp.new_zeros(n_b, n_t, 0)
    zero = blank_lp.new_zeros(n_b, n_t, 1)
    cum = torch.cat([zero, torch.cumsum(label_lp, dim=2)], dim=2)           # c(u), [B, T, U+1]
    neg_inf = torch.finfo(torch.float64).min / 4
    a = torch.full((n_b, n_u1), neg_inf, dtype=torch.float64, device=logits.device)
    a[:, 0] = 0.0
    rows = []
    for t in range(n_t):
        c = cum[:, t]
        alpha = c + torch.logcumsumexp(a - c, dim=1)
        rows.append(alpha)
        a = alpha + blank_lp[:, t]
    alphas = torch.stack(rows, dim=1)                                       # [B, T, U+1]
    b_idx = torch.arange(n_b, device=logits.device)
    final = alphas[b_idx, frames - 1, labels] + blank_lp[b_idx, frames - 1, labels]
    nll = -final
    if reduction == "mean":
        return nll.mean()
    if reduction == "sum":
        return nll.sum()
    return nll


def brute_force_nll(logp, target: list[int], blank: int = 0) -> float:
    """-log of the sum over every alignment's probability, by enumeration (tests only).

    ``logp`` [T, U+1, V] log-probabilities of one utterance. An alignment is a path from
    (0, 0) that at each node either emits the next label (u+1, same t) or a blank (t+1);
    it ends with the blank from (T-1, U).
    """
    import math
    n_t, n_u = logp.shape[0], len(target)
    total = []

    def walk(t, u, acc):
        if t == n_t - 1 and u == n_u:
            total.append(acc + float(logp[t, u, blank]))
            return
        if u < n_u:
            walk(t, u + 1, acc + float(logp[t, u, target[u]]))
        if t < n_t - 1:
            walk(t + 1, u, acc + float(logp[t, u, blank]))

    walk(0, 0, 0.0)
    m = max(total)
    return -(m + math.log(sum(math.exp(x - m) for x in total)))


def lattice_kd(student_logits: torch.Tensor, teacher_logits: torch.Tensor, frames: torch.Tensor,
               labels: torch.Tensor) -> torch.Tensor:
    """Knowledge distillation over the RNN-T output lattice: KL(teacher || student) of the
    joint's output distribution at every valid node (t < frames, u <= labels), summed per
    utterance and averaged over the batch, like the RNN-T loss.

    Panchapagesan et al. ("Efficient knowledge distillation for RNN-Transducer models",
    ICASSP 2021) distil over the same lattice; they collapse the distribution to (blank,
    correct label, rest) to save memory at large vocabularies, which a 29-token vocabulary
    does not need, so this is the full KL. Logits are [B, T, U+1, V]; padded nodes add 0.
    """
    t_logp = torch.log_softmax(teacher_logits.float(), dim=-1)
    s_logp = torch.log_softmax(student_logits.float(), dim=-1)
    kl = (t_logp.exp() * (t_logp - s_logp)).sum(dim=-1)                  # [B, T, U+1]
    n_b, n_t, n_u1 = kl.shape
    valid_t = torch.arange(n_t, device=kl.device)[None, :] < frames[:, None]
    valid_u = torch.arange(n_u1, device=kl.device)[None, :] <= labels[:, None]
    mask = valid_t[:, :, None] & valid_u[:, None, :]
    return (kl * mask).sum() / max(1, n_b)
