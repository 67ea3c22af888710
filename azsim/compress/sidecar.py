"""The per-row parameters of a quantized layer, stored beside its weight stream.

An integer layer needs more than its weight codes: each output row's int32 bias and the
(multiplier, shift) pairs that requantize its accumulator (Jacob et al. 2018; ``ptq.py``
makes them), and an LSTM layer one more pair for its hidden output. A processor holds them in
SRAM with the weights, fetches them from DRAM with a streamed layer's weights, and reads them
on every invocation, as Arm's Ethos-U reads its per-channel bias-and-scale records beside the
weight stream (Vela's ``npu_encode_bias``: 10 bytes a channel). Until 2026-12-07 azsim counted
none of it (tiny 11,924 bytes, small 57,753: 20 % beside small's 4-bit 80 %-sparse streams;
an audit of session 33, docs/plans/side-parameters.md).

The section of a layer, little-endian, arrays one after another (structure of arrays, so a
row's fields are found by offset from the row count the layer's stream header gives; the
section has no header of its own):

    bias     int32  [rows]       (layers with a bias)
    mult_k   int32  [rows]       } for each per-row requantization k of the layer
    shift_k  uint8  [rows]       }
    mult_s   int32, shift_s uint8   for each of the layer's scalar requantizations

What each layer holds (names as ``azsim.execute.integer.layer_infos`` gives them):

    X.lstm       bias_q; (mult_x, shift_x), (mult_r, shift_r); scalar (h_mult, h_shift)  14 B/row + 5
    X.proj       (p_mult, p_shift)                                                         5 B/row
    joint.enc    joint_b; (je_mult, je_shift)                                              9 B/row
    joint.pred   (jp_mult, jp_shift)             (no bias: the joint adds one, joint.enc's) 5 B/row
    joint.out    out_b; (out_mult, out_shift)                                              9 B/row

The embedding (its rows are activations at one scale) and a branching encoder's arbiter (its
scalars are the arbitrator's configuration) have none. A multiplier lies in [0, 2^31) and a
shift in 1..62 (``quantize.quantize_multiplier``), so int32 and uint8 hold them exactly.

The sigmoid and tanh tables (:data:`ACTIVATION_TABLE_BYTES`) are the same for every model
(module constants of ``quantize.py``): azsim takes them to be a ROM in the nonlinear unit,
reported but in no SRAM or DRAM count.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .quantize import SIGMOID_LUT, TANH_LUT

__all__ = ["SideSection", "pack_side", "unpack_side", "layer_side_sections",
           "side_section_bytes", "side_bytes_from_weights", "section_bytes", "SIDE_LAYOUT",
           "ACTIVATION_TABLE_BYTES", "BIAS_BYTES", "MULT_BYTES", "SHIFT_BYTES"]

BIAS_BYTES = 4     # int32, the accumulator's width
MULT_BYTES = 4     # int32: a multiplier lies in [0, 2^31)
SHIFT_BYTES = 1    # uint8: a shift lies in 1..62
PAIR_BYTES = MULT_BYTES + SHIFT_BYTES

ACTIVATION_TABLE_BYTES = SIGMOID_LUT.nbytes + TANH_LUT.nbytes   # 2 x 513 int16 = 2,052

# layer kind -> (has a bias, per-row (mult, shift) pairs, scalar pairs); see the docstring
SIDE_LAYOUT = {"lstm": (True, 2, 1), "projection": (False, 1, 0),
               "joint.enc": (True, 1, 0), "joint.pred": (False, 1, 0),
               "joint.out": (True, 1, 0)}


@dataclass(frozen=True)
class SideSection:
    """One layer's per-row parameters: ``bias`` int32 [rows] or None, ``pairs`` the per-row
    (mult, shift) arrays, ``scalars`` the layer's (mult, shift) integers."""
    rows: int
    bias: np.ndarray | None
    pairs: tuple
    scalars: tuple = ()


def _checked(name: str, values, lo: int, hi: int, dtype) -> np.ndarray:
    """``values`` as ``dtype``, each in [lo, hi]: the field's range, or for a shift the
    kernels' contract (1..62, quantize_multiplier), which its uint8 holds."""
    v = np.asarray(values, np.int64).reshape(-1)
    if v.size and (v.min() < lo or v.max() > hi):
        k = int(np.argmax((v < lo) | (v > hi)))
        raise ValueError(f"side section: {name}[{k}] = {int(v[k])} lies outside "
                         f"[{lo}, {hi}] (its {np.dtype(dtype).name} field)")
    return v.astype(dtype)


def pack_side(s: SideSection) -> bytes:
    """The section's bytes (layout in the module docstring); a value its field cannot hold is
    a ValueError, never a wrapped integer."""
    parts = []
    if s.bias is not None:
        if len(s.bias) != s.rows:
            raise ValueError(f"side section: bias has {len(s.bias)} rows, the layer {s.rows}")
        parts.append(_checked("bias", s.bias, -2 ** 31, 2 ** 31 - 1, "<i4").tobytes())
    for k, (mult, shift) in enumerate(s.pairs):
        if len(mult) != s.rows or len(shift) != s.rows:
            raise ValueError(f"side section: pair {k} has {len(mult)}/{len(shift)} rows, "
                             f"the layer {s.rows}")
        parts.append(_checked(f"mult{k}", mult, 0, 2 ** 31 - 1, "<i4").tobytes())
        parts.append(_checked(f"shift{k}", shift, 1, 62, "u1").tobytes())
    for k, (mult, shift) in enumerate(s.scalars):
        parts.append(_checked(f"scalar mult{k}", [mult], 0, 2 ** 31 - 1, "<i4").tobytes())
        parts.append(_checked(f"scalar shift{k}", [shift], 1, 62, "u1").tobytes())
    return b"".join(parts)


def section_bytes(kind: str, rows: int) -> int:
    """The bytes of a ``kind`` layer's section with ``rows`` output rows (0 for a kind
    without one)."""
    if kind not in SIDE_LAYOUT:
        return 0
    bias, pairs, scalars = SIDE_LAYOUT[kind]
    return rows * (BIAS_BYTES * bias + PAIR_BYTES * pairs) + PAIR_BYTES * scalars


def unpack_side(data: bytes, kind: str, rows: int) -> SideSection:
    """The inverse of :func:`pack_side` for a ``kind`` layer of ``rows`` rows."""
    bias_on, n_pairs, n_scalars = SIDE_LAYOUT[kind]
    if len(data) != section_bytes(kind, rows):
        raise ValueError(f"side section of a {kind} layer of {rows} rows: {len(data)} bytes, "
                         f"{section_bytes(kind, rows)} expected")
    pos = 0

    def take(count: int, dtype: str) -> np.ndarray:
        nonlocal pos
        arr = np.frombuffer(data, dtype, count, pos).astype(np.int64)
        pos += count * np.dtype(dtype).itemsize
        return arr
    bias = take(rows, "<i4").astype(np.int32) if bias_on else None
    pairs = tuple((take(rows, "<i4"), take(rows, "u1")) for _ in range(n_pairs))
    scalars = tuple((int(take(1, "<i4")[0]), int(take(1, "u1")[0])) for _ in range(n_scalars))
    return SideSection(rows, bias, pairs, scalars)


def _lstm_sections(layer) -> dict:
    rows = layer.w_x.q.shape[0]
    out = {f"{layer.name}.lstm": ("lstm", SideSection(
        rows, layer.bias_q, ((layer.mult_x, layer.shift_x), (layer.mult_r, layer.shift_r)),
        ((layer.h_mult, layer.h_shift),)))}
    if layer.has_projection:
        out[f"{layer.name}.proj"] = ("projection", SideSection(
            layer.w_p.q.shape[0], None, ((layer.p_mult, layer.p_shift),)))
    return out


def layer_side_sections(qm) -> dict[str, tuple[str, SideSection]]:
    """Layer name -> (its section kind, its :class:`SideSection`), for every layer of
    ``azsim.execute.integer.layer_infos(qm)`` that has one (a branching encoder's cheap
    layers hold their own)."""
    out = {}
    for layer in qm.enc + getattr(qm, "cheap_enc", ()) + qm.pred:
        out.update(_lstm_sections(layer))
    out["joint.enc"] = ("joint.enc", SideSection(qm.joint_enc.q.shape[0], qm.joint_b,
                                                 ((qm.je_mult, qm.je_shift),)))
    out["joint.pred"] = ("joint.pred", SideSection(qm.joint_pred.q.shape[0], None,
                                                   ((qm.jp_mult, qm.jp_shift),)))
    out["joint.out"] = ("joint.out", SideSection(qm.joint_out.q.shape[0], qm.out_b,
                                                 ((qm.out_mult, qm.out_shift),)))
    return out


def side_section_bytes(qm) -> dict[str, int]:
    """Layer name -> the length of its packed section (layers without one absent)."""
    return {name: len(pack_side(s)) for name, (_, s) in layer_side_sections(qm).items()}


def side_bytes_from_weights(w: dict) -> int:
    """The sections' total for float weights ``w`` (``model.loading.model_weights``), from
    the matrices' shapes: what ``azsim run`` charges for the model quantized at any width
    (the section does not depend on the weights' bit-width or format)."""
    total = 0
    for name, arr in w.items():
        if name.endswith(".w_x"):
            total += section_bytes("lstm", arr.shape[0])
        elif name.endswith(".w_p"):
            total += section_bytes("projection", arr.shape[0])
    kinds = {"joint.w_enc": "joint.enc", "joint.w_pred": "joint.pred", "joint.w_out": "joint.out"}
    return total + sum(section_bytes(kind, w[name].shape[0]) for name, kind in kinds.items()
                       if name in w)
