"""Training data: the synthetic corpus in memory, length-bucketed batches, SpecAugment."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..corpus.build import load_split
from ..model.frontend import FrontendSpec, hz_to_mel, mel_to_hz
from ..model.vocab import Vocab


@dataclass
class Split:
    features: np.ndarray   # float16 [sum frames, n_mels]
    offsets: np.ndarray    # int64 [n + 1]
    texts: np.ndarray      # str [n]
    targets: list          # list of int64 arrays (character ids)

    @property
    def size(self) -> int:
        return len(self.texts)

    def frames(self, k: int) -> int:
        return int(self.offsets[k + 1] - self.offsets[k])

    def utterance(self, k: int) -> np.ndarray:
        """Utterance k's log-mel features as float32 [frames, n_mels], as the golden model
        takes them."""
        return self.features[self.offsets[k]:self.offsets[k + 1]].astype(np.float32)


def load(corpus_dir, split: str, vocab: Vocab, limit: int | None = None) -> Split:
    """One split; ``train`` also takes the corpus's ``names_train`` split when it has one
    (:func:`azsim.corpus.build.has_split`: listed in its corpus.json, not merely a file left
    in the folder by an earlier draw)."""
    from ..corpus.build import has_split
    z = load_split(corpus_dir, split)
    if split == "train" and has_split(corpus_dir, "names_train"):
        z = _concat(z, load_split(corpus_dir, "names_train"))
    n = len(z["texts"]) if limit is None else min(limit, len(z["texts"]))
    offsets = z["offsets"][:n + 1]
    return Split(z["features"][:offsets[-1]], offsets, z["texts"][:n],
                 [np.asarray(vocab.encode(str(t)), np.int64) for t in z["texts"][:n]])


def _concat(a: dict, b: dict) -> dict:
    return {"features": np.concatenate([a["features"], b["features"]]),
            "offsets": np.concatenate([a["offsets"], a["offsets"][-1] + b["offsets"][1:]]),
            "texts": np.concatenate([a["texts"], b["texts"]])}


# Rows of float16 features widened to float64 at a time by feature_stats: 64 MB per chunk at
# 80 mel channels, where widening a 58,000-utterance corpus at once took 9 GB and its std a
# second 9 GB (two trainings starting together were killed for memory, 2026-12-05).
STATS_CHUNK_ROWS = 1 << 17


def _sequential_sum(chunks) -> np.ndarray:
    """Column sums in float64, adding rows in order from the first: each chunk is reduced
    with the running sum as its first row, which is the order NumPy's axis-0 reduction of the
    whole array uses, so the result is bit-for-bit the one-array sum (tested)."""
    total = None
    for c in chunks:
        total = c.sum(axis=0) if total is None else \
            np.add.reduce(np.concatenate([total[None], c]), axis=0)
    return total


def feature_stats(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Global mean and standard deviation of the log-mel channels, accumulated in float64
    over chunks of STATS_CHUNK_ROWS rows (the same figures as ``f.mean(axis=0)`` and
    ``f.std(axis=0)`` of the whole float64 array, without holding it)."""
    feats, n = split.features, len(split.features)
    starts = range(0, n, STATS_CHUNK_ROWS)
    mean = _sequential_sum(feats[s:s + STATS_CHUNK_ROWS].astype(np.float64)
                           for s in starts) / n

    def squared_deviations():
        for s in starts:
            d = feats[s:s + STATS_CHUNK_ROWS].astype(np.float64) - mean
            yield np.multiply(d, d, out=d)
    std = np.sqrt(_sequential_sum(squared_deviations()) / n)
    return mean.astype(np.float32), (std + 1e-3).astype(np.float32)


def batches(split: Split, max_frames: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Indices grouped by length so padding stays small, about ``max_frames`` padded feature
    frames per batch, in random order (a fresh shuffle within length buckets every epoch)."""
    lengths = np.diff(split.offsets)
    order = np.argsort(lengths + rng.uniform(0, 30, size=lengths.size), kind="stable")
    out, cur, longest = [], [], 0
    for k in order:
        longest_new = max(longest, lengths[k])
        if cur and longest_new * (len(cur) + 1) > max_frames:
            out.append(np.array(cur))
            cur, longest_new = [], lengths[k]
        cur.append(k)
        longest = longest_new
    if cur:
        out.append(np.array(cur))
    rng.shuffle(out)
    return out


def collate(split: Split, idx: np.ndarray):
    """Padded tensors: features [B, N, F] float32, frames [B], targets [B, U], labels [B]."""
    n_frames = np.array([split.frames(k) for k in idx])
    n_labels = np.array([split.targets[k].size for k in idx])
    feats = np.zeros((len(idx), n_frames.max(), split.features.shape[1]), np.float32)
    targets = np.zeros((len(idx), max(1, n_labels.max())), np.int64)
    for j, k in enumerate(idx):
        feats[j, :n_frames[j]] = split.features[split.offsets[k]:split.offsets[k + 1]]
        targets[j, :n_labels[j]] = split.targets[k]
    return (torch.from_numpy(feats), torch.from_numpy(n_frames), torch.from_numpy(targets),
            torch.from_numpy(n_labels))


def spec_augment(feats: torch.Tensor, n_frames: torch.Tensor, mean: torch.Tensor,
                 rng: np.random.Generator, freq_masks: int = 2, freq_width: int = 15,
                 time_masks: int = 2, time_share: float = 0.05) -> torch.Tensor:
    """SpecAugment (Park et al., Interspeech 2019) without time warping: ``freq_masks`` bands
    of up to ``freq_width`` mel channels and ``time_masks`` spans of up to ``time_share`` of
    the utterance, set to the corpus mean (zero after normalization)."""
    out = feats.clone()
    n_mels = feats.shape[2]
    for b in range(feats.shape[0]):
        for _ in range(freq_masks):
            w = int(rng.integers(0, freq_width + 1))
            f0 = int(rng.integers(0, n_mels - w + 1))
            out[b, :, f0:f0 + w] = mean[f0:f0 + w]
        n = int(n_frames[b])
        for _ in range(time_masks):
            w = int(rng.integers(0, int(time_share * n) + 1))
            t0 = int(rng.integers(0, max(1, n - w + 1)))
            out[b, t0:t0 + w] = mean
    return out


def vtlp_source_channels(alpha: float, spec: FrontendSpec = FrontendSpec()) -> np.ndarray:
    """Fractional mel channel read by each output channel under vocal tract length
    perturbation with warp factor ``alpha``.

    VTLP (Jaitly & Hinton, ICML 2013 workshop) rescales the frequency axis of each training
    utterance by a random factor near 1, imitating a speaker with a longer or shorter vocal
    tract. We warp the log-mel features directly: output channel m, centred at ``f_m`` Hz,
    takes the value the input has at ``f_m / alpha`` (so ``alpha > 1`` moves formants up),
    interpolated between the neighbouring channel centres on the mel axis. As in Jaitly &
    Hinton's piecewise-linear warp, the band edge stays fixed: above
    ``f_hi = 0.8 f_max min(alpha, 1)`` the map is linear again, so that ``f_max`` maps to
    itself and no channel reads past the band.
    """
    edges_mel = np.linspace(hz_to_mel(spec.f_min_hz), hz_to_mel(spec.f_max_hz), spec.n_mels + 2)
    centres_mel = edges_mel[1:-1]
    centres_hz = mel_to_hz(centres_mel)
    f_hi = 0.8 * spec.f_max_hz * min(alpha, 1.0)
    src_hz = np.where(
        centres_hz <= f_hi, centres_hz / alpha,
        # the line from (f_hi, f_hi / alpha) to (f_max, f_max)
        f_hi / alpha + (centres_hz - f_hi) * (spec.f_max_hz - f_hi / alpha)
        / (spec.f_max_hz - f_hi))
    pos = np.interp(hz_to_mel(src_hz), centres_mel, np.arange(spec.n_mels, dtype=np.float64))
    return pos


def vtlp(feats: torch.Tensor, rng: np.random.Generator, max_warp: float,
         spec: FrontendSpec = FrontendSpec()) -> torch.Tensor:
    """Each utterance of a padded batch ``[B, N, n_mels]`` warped by its own factor drawn
    uniformly from ``[1 - max_warp, 1 + max_warp]`` (:func:`vtlp_source_channels`), by linear
    interpolation between mel channels."""
    if max_warp <= 0:
        return feats
    out = torch.empty_like(feats)
    for b in range(feats.shape[0]):
        pos = vtlp_source_channels(float(rng.uniform(1 - max_warp, 1 + max_warp)), spec)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, spec.n_mels - 1)
        frac = torch.from_numpy((pos - lo).astype(np.float32))
        out[b] = feats[b][:, lo] * (1 - frac) + feats[b][:, hi] * frac
    return out
