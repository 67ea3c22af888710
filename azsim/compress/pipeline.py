"""From float weights to encoded integer matrices: prune, quantize, encode (issue #3).

Every matrix the model multiplies (LSTM input, recurrent and projection weights, the joint
network) is pruned, quantized and encoded; the embedding table is read one row per step and
stays a dense int8 table. The encoded stream is real: its length is the size azsim reports,
and ``decode_matrix`` gives back the integer codes bit for bit.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..errors import AzsimWarning, CompressedStreamError, ConfigError
from . import formats_entropy, formats_sparse  # noqa: F401  (fill the format registry)
from .codebook import Codebook, fit_codebook, table_codes
from .format_base import FORMATS, Encoded, check_param
from .formats_sparse import CompressedSparseFormat, RelativeIndexFormat, rle_padding_entries
from .gptq import gptq_quantize_pruned, obs_prune_matrix, obs_prune_nm
from .prune import parse_prune_spec, prunes
from .quantize import quantize_per_channel
from .stream import HEADER_BYTES, unwrap, wrap

CODEBOOK_FORMAT_BASE = 16  # codebook streams: format id 16 + the inner format's id
MIN_POINTER_BITS = 16      # EIE's pointer width; wider only when a layer needs it
EIE_RELATIVE_INDEX_BITS = 4  # EIE, ISCA 2016, section III


def is_prunable(name: str) -> bool:
    return name.endswith((".w_x", ".w_r", ".w_p")) or name in ("joint.w_enc", "joint.w_pred",
                                                               "joint.w_out")


def prune_weights(weights: dict, cfg) -> dict:
    """Zero the pruned weights of every prunable matrix (``cfg.prune``, ``cfg.sparsity``).

    N:M pruning fixes its own sparsity (1 - N/M); ``cfg.sparsity`` is then ignored.
    """
    if not prunes(cfg.prune, cfg.sparsity):
        return weights
    spec = parse_prune_spec(cfg.prune)
    targets = {k: v for k, v in weights.items() if is_prunable(k)}
    pruned = spec.prune(targets, None if spec.method == "nm" else cfg.sparsity)
    if spec.method != "nm":
        _warn_if_recut(targets, pruned, cfg)
    out = dict(weights)
    out.update({k: v.astype(np.float32) for k, v in pruned.items()})
    return out


def obs_prune_weights(weights: dict, cfg, grams: dict) -> dict:
    """``prune_weights`` with SparseGPT's choice of weights (``cfg.prune_saliency = "obs"``):
    the prune method sets how many weights each matrix loses (magnitude: the same share of
    each, global or erk: their own shares), and ``gptq.obs_prune_matrix`` chooses which, on
    each matrix's calibration-input Gram matrix ``grams[name]``, compensating with the kept
    weights. A weight that is already zero costs nothing to remove, so it goes first."""
    spec = parse_prune_spec(cfg.prune)
    if spec.method == "balanced":
        raise ConfigError(f"model.prune_saliency = 'obs' with model.prune = {cfg.prune!r}: "
                          "use prune = magnitude, global, erk or nm:N:M")
    if not prunes(cfg.prune, cfg.sparsity):
        return weights
    targets = {k: v for k, v in weights.items() if is_prunable(k)}
    missing = sorted(set(targets) - set(grams))
    if missing:
        raise ValueError(f"obs pruning needs the calibration Gram matrix of {missing[0]}")
    if spec.method == "nm":
        pruned = {k: obs_prune_nm(w, grams[k], spec.n, spec.m) for k, w in targets.items()}
    else:
        masks = spec.masks(targets, cfg.sparsity)
        pruned = {k: obs_prune_matrix(w, grams[k], int(np.count_nonzero(~masks[k])))
                  for k, w in targets.items()}
        _warn_if_recut(targets, pruned, cfg)
    out = dict(weights)
    out.update(pruned)
    return out


def _warn_if_recut(before: dict, after: dict, cfg) -> None:
    """Warn when pruning a model that already has the asked-for share of zeros cuts some of
    its nonzero weights: a trained sparse model pruned again per matrix (the default
    ``magnitude`` method) loses its own mask, e.g. +5.8 WER points for ``small-sparse80`` as
    the cheap branch (README, "Branching encoder")."""
    total = sum(v.size for v in before.values())
    zeros = sum(int(np.count_nonzero(v == 0)) for v in before.values())
    if not total or zeros / total < cfg.sparsity - 5e-3:
        return
    cut = sum(int(np.count_nonzero((before[k] != 0) & (after[k] == 0))) for k in after)
    if cut:
        warnings.warn(
            f"the weights are already {100 * zeros / total:.1f} % zero; sparsity "
            f"{cfg.sparsity:g} with prune '{cfg.prune}' cut {cut:,} of their "
            f"{total - zeros:,} nonzero weights too; prune 'global' keeps a globally "
            f"pruned model's own zeros, sparsity 0 keeps any model's", AzsimWarning,
            stacklevel=3)


def _format(name: str, q: np.ndarray, pointer_bits: int, rle_index_bits: int):
    """The format, with pointers of ``pointer_bits`` widened to what this matrix needs."""
    if name in ("csr", "csc"):
        width = max(pointer_bits, int(np.count_nonzero(q)).bit_length())
        return CompressedSparseFormat(by_columns=name == "csc", pointer_bits=width)
    if name == "rle":
        entries = int(np.count_nonzero(q)) + rle_padding_entries(q, rle_index_bits)
        return RelativeIndexFormat(rle_index_bits, max(pointer_bits, entries.bit_length()))
    return FORMATS[name]


def encode_codes(q: np.ndarray, bits: int, fmt: str, pointer_bits: int = MIN_POINTER_BITS,
                 rle_index_bits: int = EIE_RELATIVE_INDEX_BITS) -> Encoded:
    try:
        return _format(fmt, q, pointer_bits, rle_index_bits).encode(q, bits)
    except ValueError as exc:  # e.g. 1-bit dense cannot hold pruned zeros
        raise ConfigError(f"model.weight_format = {fmt!r} at {bits} bits: {exc}") from None


def _signed_indices(indices: np.ndarray, bits: int) -> np.ndarray:
    """Codebook indices 1..2^b-1 as the b-bit signed codes the formats store (0 stays 0)."""
    idx = indices.astype(np.int16)
    half = 1 << (bits - 1)
    return np.where(idx < half, idx, idx - (1 << bits)).astype(np.int8)


def encode_codebook(cb: Codebook, fmt: str, **widths) -> Encoded:
    """Codebook stream: 2^b int8 shared-value codes, then the indices in format ``fmt``.

    An index whose shared value's int8 code is 0 (a nonzero value below half a code step,
    :func:`azsim.compress.codebook.table_codes`) is stored as index 0: the datapath multiplies
    a zero there, so it is a zero the formats elide and the MACs skip. It was stored as a
    nonzero entry until 2026-12-06, so the stream held entries that the cost model, which
    counts the codes' nonzeros, never walked (18 of 2,025 entries of an 8-bit codebook on a
    random 45 x 45 matrix; a mapping audit)."""
    table, _ = table_codes(cb)
    indices = np.where(table[cb.indices] == 0, 0, cb.indices).astype(cb.indices.dtype)
    inner = encode_codes(_signed_indices(indices, cb.bits), cb.bits, fmt, **widths)
    payload = table.tobytes() + inner.stream
    fmt_id = CODEBOOK_FORMAT_BASE + FORMATS[fmt].format_id
    stream = wrap(fmt_id, cb.bits, cb.indices.shape, payload)
    return Encoded(f"codebook+{fmt}", stream, tuple(cb.indices.shape), cb.bits, inner.symbols,
                   inner.index_bits, inner.value_bits + 8 * table.size + 8 * HEADER_BYTES)


def decode_matrix(enc: Encoded) -> np.ndarray:
    """The int8 codes back from a stream (codebook streams map indices through the table)."""
    head, payload = unwrap(enc.stream)
    if head.format_id < CODEBOOK_FORMAT_BASE:
        return FORMATS[enc.format].decode(enc.stream)
    inner_name = enc.format.split("+", 1)[1]
    table, inner = _codebook_parts(head, payload, FORMATS[inner_name])
    signed = FORMATS[inner_name].decode(inner).astype(np.int16)
    return table[np.where(signed < 0, signed + (1 << head.bits), signed)]


def _head(values: np.ndarray, n: int = 8) -> str:
    """The first ``n`` values for a message, '...' if there are more."""
    shown = ", ".join(str(int(v)) for v in values[:n])
    return f"[{shown}{', ...' if values.size > n else ''}]"


def _codebook_parts(head, payload: bytes, inner_format) -> tuple[np.ndarray, bytes]:
    """A codebook stream's table and inner index stream, checked before anything is decoded:
    the table is what ``table_codes`` writes (2^b int8 codes, index 0 the exact zero, none
    -128), and the inner stream's header is the outer one's (its format, bits and shape), so
    an index can only name a table entry and a forged inner shape allocates nothing."""
    name = f"codebook+{inner_format.name}"
    check_param(name, head.param)
    n_table = 1 << head.bits
    if len(payload) < n_table + HEADER_BYTES:
        raise CompressedStreamError(f"{name} stream is truncated: {len(payload)} payload bytes "
                                    f"cannot hold a {n_table}-entry table and an index stream")
    table = np.frombuffer(payload[:n_table], np.int8)
    if table[0] != 0 or np.any(table == -128):
        raise CompressedStreamError(f"{name} stream's table must start with the zero value and "
                                    f"hold codes in [-127, 127], got {_head(table)}")
    inner = payload[n_table:]
    inner_head, _ = unwrap(inner, inner_format.format_id, inner_format.name)
    declared = (inner_head.bits, inner_head.rows, inner_head.cols)
    if declared != (head.bits, head.rows, head.cols):
        raise CompressedStreamError(
            f"{name} stream's index stream declares {inner_head.bits}-bit codes of a "
            f"{inner_head.rows}x{inner_head.cols} matrix; the codebook header says "
            f"{head.bits}-bit, {head.rows}x{head.cols}")
    return table, inner


def quantize_and_encode(w: np.ndarray, bits: int, quantizer: str, fmt: str,
                        pointer_bits: int = MIN_POINTER_BITS,
                        rle_index_bits: int = EIE_RELATIVE_INDEX_BITS,
                        gram: np.ndarray | None = None, unpruned: np.ndarray | None = None,
                        weight_range: str = "max") -> tuple[np.ndarray, np.ndarray, Encoded]:
    """int8 codes for the datapath, per-row scales, and the encoded stream. ``gram``: the
    Gram matrix of the matrix's calibration inputs, which the ``gptq`` quantizer needs;
    ``unpruned``: ``w`` before pruning, whose pruned weights gptq then compensates;
    ``weight_range``: how the uniform and gptq grids choose each row's step ("max", "mse")."""
    widths = {"pointer_bits": pointer_bits, "rle_index_bits": rle_index_bits}
    if quantizer == "codebook":
        cb = fit_codebook(w, bits)
        table, scale = table_codes(cb)
        return table[cb.indices], np.full(w.shape[0], scale), encode_codebook(cb, fmt, **widths)
    if quantizer == "gptq":
        if gram is None:
            raise ValueError("the gptq quantizer needs the Gram matrix of the weights' "
                             "calibration inputs")
        q, scale = gptq_quantize_pruned(w, gram, bits, unpruned, weight_range)
        return q, scale, encode_codes(q, bits, fmt, **widths)
    q, scale = quantize_per_channel(w, bits, weight_range)
    return q, scale, encode_codes(q, bits, fmt, **widths)


def row_slice_streams(stream: bytes, n_parts: int, pointer_bits: int = MIN_POINTER_BITS,
                      rle_index_bits: int = EIE_RELATIVE_INDEX_BITS) -> list[Encoded | None]:
    """The matrix of ``stream`` stored as ``n_parts`` streams of its own format, part ``p``
    holding rows ``p, p + n_parts, ...``: a PE array's layout when each PE keeps its
    interleaved rows in its own SRAM bank and decodes them there (EIE, ISCA 2016, section
    III: each PE stores its slice with its own column pointers and zero counts). Real
    streams, each decoding to its rows (None for a part that owns no row). A codebook
    stream's parts each hold the table and their rows' indices."""
    head, payload = unwrap(stream)
    widths = {"pointer_bits": pointer_bits, "rle_index_bits": rle_index_bits}
    fmt = _format_by_id(head.format_id)
    if head.format_id < CODEBOOK_FORMAT_BASE:
        codes = fmt.decode(stream)
        return [encode_codes(codes[p::n_parts], head.bits, fmt.name, **widths)
                if p < head.rows else None for p in range(n_parts)]
    table, inner = _codebook_parts(head, payload, fmt)
    signed = fmt.decode(inner)   # the stored indices as signed b-bit codes
    parts: list[Encoded | None] = []
    for p in range(n_parts):
        if p >= head.rows:
            parts.append(None)
            continue
        part = encode_codes(signed[p::n_parts], head.bits, fmt.name, **widths)
        parts.append(Encoded(f"codebook+{fmt.name}",
                             wrap(head.format_id, head.bits, part.shape,
                                  table.tobytes() + part.stream),
                             part.shape, head.bits, part.symbols, part.index_bits,
                             part.value_bits + 8 * table.size + 8 * HEADER_BYTES))
    return parts


def _format_by_id(stored: int):
    """The format of a stream whose header holds ``stored`` (a codebook stream's is
    CODEBOOK_FORMAT_BASE + its inner format's id: the inner format is returned). An unknown
    id is named as stored (it was named less the codebook offset: 83 for 99)."""
    format_id = stored - CODEBOOK_FORMAT_BASE if stored >= CODEBOOK_FORMAT_BASE else stored
    for fmt in FORMATS.values():
        if fmt.format_id == format_id:
            return fmt
    ids = sorted(f.format_id for f in FORMATS.values())
    raise CompressedStreamError(
        f"weight stream has unknown format id {stored} (allowed: {', '.join(map(str, ids))}; "
        f"a codebook stream's is {CODEBOOK_FORMAT_BASE} + one of them)")


def decode_stream(stream: bytes) -> tuple[str, int, np.ndarray]:
    """Any azsim weight stream -> (format name, bits, int8 codes), format read from its header."""
    head, payload = unwrap(stream)
    if head.format_id < CODEBOOK_FORMAT_BASE:
        fmt = _format_by_id(head.format_id)
        return fmt.name, head.bits, fmt.decode(stream)
    inner = _format_by_id(head.format_id)
    name = f"codebook+{inner.name}"
    enc = Encoded(name, stream, (head.rows, head.cols), head.bits, 0, 0, 0)
    codes = decode_matrix(enc)
    if codes.shape != (head.rows, head.cols):
        raise CompressedStreamError(f"codebook stream holds a {codes.shape} matrix, its header "
                                    f"says {(head.rows, head.cols)}")
    return name, head.bits, codes
