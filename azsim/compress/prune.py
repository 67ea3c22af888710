"""Weight pruning: boolean keep-masks (True = keep) and pruned float matrices.

* ``magnitude_mask``: per layer, prune the round(sparsity * size) smallest |w|.
* ``global_magnitude_masks``: one magnitude threshold over all matrices (layers that matter
  less lose more).
* ``erk_sparsities`` / ``erk_masks``: per-layer sparsities from the Erdos-Renyi-Kernel rule
  (Evci et al., "Rigging the lottery", ICML 2020, sec. 3): a layer's density is proportional
  to (rows + cols) / (rows * cols), so small matrices (a joint output layer of 29 x 256, an
  embedding input of 32 columns) stay nearly dense and the large ones carry the sparsity;
  the overall sparsity is the one asked for. Magnitude pruning inside each layer.
* ``nm_mask``: N:M structured sparsity along the input dimension (e.g. 2:4): every group of m
  consecutive weights in a row keeps its n largest |w|.
* ``balanced_mask``: ESE's load-balance-aware pruning (Han et al., FPGA 2017): rows are
  interleaved over the PEs (row r -> PE r % pes) and every PE keeps the same number of
  weights (within 1), chosen by magnitude inside its own rows.

Ties in |w| are broken by position: among equal magnitudes the earlier weight (row-major flat
index; for ``global_magnitude_masks`` the earlier matrix in the dict's order) is pruned first.
Masks count pruned positions: a weight that is already 0 may be kept by the mask, so the pruned
matrix has at least as many zeros as the mask has False entries.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

SPEC_FORMS = "magnitude, global, erk, nm:N:M (1 <= N <= M), balanced:PES (PES >= 1)"


def _check_sparsity(sparsity) -> float:
    s = float(sparsity)
    if not 0.0 <= s < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    return s


def _abs_weights(w, name: str = "weights", ndim: int | None = None) -> np.ndarray:
    a = np.abs(np.asarray(w, np.float64))
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite to prune by magnitude")
    return a


def _n_pruned(sparsity: float, size: int) -> int:
    return int(round(sparsity * size))


def _keep_largest(a: np.ndarray, n_prune: int) -> np.ndarray:
    """Keep-mask of a 1-D array of magnitudes pruning its ``n_prune`` smallest (ties: first)."""
    keep = np.ones(a.size, bool)
    if n_prune <= 0:
        return keep
    if n_prune >= a.size:
        return np.zeros(a.size, bool)
    thr = np.partition(a, n_prune - 1)[n_prune - 1]   # the n_prune-th smallest magnitude
    below = a < thr
    keep[below] = False
    keep[np.flatnonzero(a == thr)[: n_prune - int(np.count_nonzero(below))]] = False
    return keep


def magnitude_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Keep-mask pruning exactly round(sparsity * w.size) weights of smallest |w|."""
    s = _check_sparsity(sparsity)
    a = _abs_weights(w)
    return _keep_largest(a.ravel(), _n_pruned(s, a.size)).reshape(a.shape)


def global_magnitude_masks(weights: Mapping[str, np.ndarray], sparsity: float
                           ) -> dict[str, np.ndarray]:
    """Keep-masks pruning round(sparsity * total size) weights of smallest |w| over all matrices.

    One threshold for all: every pruned |w| is <= every kept |w|, whatever matrix holds it.
    """
    s = _check_sparsity(sparsity)
    mags = {name: _abs_weights(w, name) for name, w in weights.items()}
    if not mags:
        return {}
    flat = np.concatenate([m.ravel() for m in mags.values()])
    keep = _keep_largest(flat, _n_pruned(s, flat.size))
    out, start = {}, 0
    for name, m in mags.items():
        out[name] = keep[start:start + m.size].reshape(m.shape)
        start += m.size
    return out


def erk_sparsities(shapes: Mapping[str, tuple], sparsity: float) -> dict[str, float]:
    """Per-matrix sparsities of the ERK rule at overall ``sparsity`` (by weight count).

    Density of a rows x cols matrix is ``eps * (rows + cols) / (rows * cols)``, with ``eps``
    chosen so that the kept weights total (1 - sparsity) of all; a matrix whose density would
    exceed 1 is kept dense and ``eps`` is solved again over the others (Evci et al. 2020).
    """
    s = _check_sparsity(sparsity)
    sizes = {}
    for name, shape in shapes.items():
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"ERK needs non-empty 2-D matrices, {name} has shape {tuple(shape)}")
        sizes[name] = int(shape[0]) * int(shape[1])
    raw = {name: (shapes[name][0] + shapes[name][1]) / sizes[name] for name in shapes}
    budget = (1.0 - s) * sum(sizes.values())
    dense: set[str] = set()
    while True:
        rest = [n for n in shapes if n not in dense]
        left = budget - sum(sizes[n] for n in dense)
        if not rest or left <= 0:
            eps = 0.0
            break
        eps = left / sum(raw[n] * sizes[n] for n in rest)
        over = {n for n in rest if eps * raw[n] > 1.0}
        if not over:
            break
        dense |= over
    return {n: 0.0 if n in dense else 1.0 - eps * raw[n] for n in shapes}


def erk_masks(weights: Mapping[str, np.ndarray], sparsity: float) -> dict[str, np.ndarray]:
    """Keep-masks with ERK per-layer sparsities, magnitude pruning inside each matrix."""
    shapes = {k: np.shape(w) for k, w in weights.items()}
    per_layer = erk_sparsities(shapes, sparsity)
    return {k: magnitude_mask(w, per_layer[k]) for k, w in weights.items()}


def _check_nm(n: int, m: int) -> tuple[int, int]:
    if isinstance(n, bool) or isinstance(m, bool) or int(n) != n or int(m) != m:
        raise ValueError(f"N:M needs integers, got {n}:{m}")
    n, m = int(n), int(m)
    if m < 1 or not 1 <= n <= m:
        raise ValueError(f"N:M needs 1 <= N <= M, got {n}:{m}")
    return n, m


def _keep_top_n(a: np.ndarray, n: int) -> np.ndarray:
    """Keep-mask of the n largest along the last axis (ties: the earlier one is pruned)."""
    order = np.argsort(a, axis=-1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(a.shape[-1]), axis=-1)
    return rank >= a.shape[-1] - n


def nm_mask(w: np.ndarray, n: int, m: int) -> np.ndarray:
    """N:M keep-mask along the input dimension (axis 1).

    Each group of m consecutive weights of a row keeps its n largest |w|; a trailing partial
    group of L < m weights keeps ceil(n * L / m). Sparsity is 1 - n/m up to that remainder.
    """
    n, m = _check_nm(n, m)
    a = _abs_weights(w, "N:M weights", ndim=2)
    rows, cols = a.shape
    full = cols // m * m
    keep = np.ones(a.shape, bool)
    if full:
        keep[:, :full] = _keep_top_n(a[:, :full].reshape(rows, full // m, m), n).reshape(rows, full)
    tail = cols - full
    if tail:
        keep[:, full:] = _keep_top_n(a[:, full:], -(-n * tail // m))
    return keep


def balanced_shares(capacity: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` kept weights over PEs holding ``capacity`` weights each, as evenly as
    possible: every PE keeps the same count within 1, except PEs too small for their share,
    which keep all their weights. Extra ones go to the smaller PEs first, then by PE index."""
    order = np.argsort(capacity, kind="stable")
    shares = np.zeros(capacity.size, np.int64)
    remaining = total
    for i, pe in enumerate(order):
        left = capacity.size - i
        shares[pe] = min(int(capacity[pe]), -(-remaining // left))
        remaining -= shares[pe]
    return shares


def balanced_mask(w: np.ndarray, sparsity: float, pes: int) -> np.ndarray:
    """Load-balance-aware keep-mask (ESE): row r runs on PE r % pes; every PE keeps the same
    number of weights (within 1), its largest |w|.

    In total exactly round(sparsity * w.size) weights are pruned, as for ``magnitude_mask``. A PE
    with fewer weights than its share (when rows % pes != 0 at low sparsity, or pes > rows)
    keeps all of them and the others share the rest.
    """
    s = _check_sparsity(sparsity)
    if isinstance(pes, bool) or int(pes) != pes or pes < 1:
        raise ValueError(f"pes must be an integer >= 1, got {pes}")
    pes = int(pes)
    a = _abs_weights(w, "balanced-pruning weights", ndim=2)
    rows, cols = a.shape
    capacity = np.array([len(range(p, rows, pes)) * cols for p in range(pes)], np.int64)
    shares = balanced_shares(capacity, a.size - _n_pruned(s, a.size))
    keep = np.ones(a.shape, bool)
    for p in range(min(pes, rows)):
        sub = a[p::pes].ravel()
        keep[p::pes] = _keep_largest(sub, sub.size - int(shares[p])).reshape(-1, cols)
    return keep


def pe_nonzeros(mask_or_matrix: np.ndarray, pes: int) -> np.ndarray:
    """Nonzeros (kept weights) per PE when row r runs on PE r % pes."""
    a = np.asarray(mask_or_matrix)
    return np.array([np.count_nonzero(a[p::pes]) for p in range(pes)], np.int64)


def apply_mask(w: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The pruned matrix: ``w`` with the positions where ``mask`` is False set to 0."""
    w = np.asarray(w)
    mask = np.asarray(mask, bool)
    if mask.shape != w.shape:
        raise ValueError(f"mask shape {mask.shape} does not match weights {w.shape}")
    return np.where(mask, w, np.zeros((), w.dtype))


def achieved_sparsity(mask_or_matrix: np.ndarray) -> float:
    """Fraction of zeros: of False entries for a keep-mask, of exact zeros for a matrix."""
    a = np.asarray(mask_or_matrix)
    return 0.0 if a.size == 0 else 1.0 - np.count_nonzero(a) / a.size


@dataclass(frozen=True)
class PruneSpec:
    """A parsed pruning method: ``magnitude``, ``global``, ``erk``, ``nm:N:M`` or
    ``balanced:PES``."""
    method: str
    n: int = 0
    m: int = 0
    pes: int = 0

    def __str__(self) -> str:
        if self.method == "nm":
            return f"nm:{self.n}:{self.m}"
        return f"balanced:{self.pes}" if self.method == "balanced" else self.method

    @property
    def implied_sparsity(self) -> float | None:
        """N:M fixes its own sparsity, 1 - N/M; the other methods take one."""
        return 1.0 - self.n / self.m if self.method == "nm" else None

    def masks(self, weights: Mapping[str, np.ndarray], sparsity: float | None = None
              ) -> dict[str, np.ndarray]:
        """Keep-masks for every matrix. ``sparsity`` is required except for N:M, where it must
        be None or equal to ``implied_sparsity``."""
        if self.method == "nm":
            if sparsity is not None and not math.isclose(float(sparsity), self.implied_sparsity,
                                                         abs_tol=1e-9):
                raise ValueError(f"prune spec {self} fixes sparsity {self.implied_sparsity:g}, "
                                 f"got {sparsity}")
            return {k: nm_mask(w, self.n, self.m) for k, w in weights.items()}
        if sparsity is None:
            raise ValueError(f"prune spec {self} needs a sparsity")
        if self.method == "global":
            return global_magnitude_masks(weights, sparsity)
        if self.method == "erk":
            return erk_masks(weights, sparsity)
        if self.method == "balanced":
            return {k: balanced_mask(w, sparsity, self.pes) for k, w in weights.items()}
        return {k: magnitude_mask(w, sparsity) for k, w in weights.items()}

    def prune(self, weights: Mapping[str, np.ndarray], sparsity: float | None = None
              ) -> dict[str, np.ndarray]:
        """The pruned float matrices."""
        masks = self.masks(weights, sparsity)
        return {k: apply_mask(w, masks[k]) for k, w in weights.items()}


def prunes(prune: str, sparsity: float) -> bool:
    """Whether one-shot pruning by method ``prune`` at ``sparsity`` removes anything: N:M
    fixes its own sparsity, every other method prunes nothing at 0."""
    return bool(sparsity) or parse_prune_spec(prune).method == "nm"


_SPEC_RE = re.compile(r"(magnitude|global|erk)|nm:([0-9]+):([0-9]+)|balanced:([0-9]+)")


def parse_prune_spec(text: str) -> PruneSpec:
    """Parse ``magnitude``, ``global``, ``erk``, ``nm:N:M`` or ``balanced:PES`` (case and
    surrounding whitespace ignored) into a ``PruneSpec``; anything else raises ValueError."""
    bad = f"invalid prune spec {text!r}: expected one of {SPEC_FORMS}"
    if not isinstance(text, str):
        raise ValueError(bad)
    match = _SPEC_RE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(bad)
    plain, n, m, pes = match.groups()
    if plain:
        return PruneSpec(plain)
    if pes is not None:
        if int(pes) < 1:
            raise ValueError(bad)
        return PruneSpec("balanced", pes=int(pes))
    if not 1 <= int(n) <= int(m):
        raise ValueError(bad)
    return PruneSpec("nm", n=int(n), m=int(m))
