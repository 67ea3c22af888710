"""Compressed size of a whole model (or of given integer matrices) in every weight format.

The library side of ``azsim compress``: each matrix is quantized once, encoded in each format,
decoded again and compared, so every reported size comes with proof that the stream is real.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import WeightsError
from ..npzfile import read_npz
from ..paths import path_kind
from ..config.schema import WEIGHT_FORMATS
from .format_base import check_codes
from .pipeline import decode_matrix, encode_codebook, encode_codes, is_prunable
from .codebook import fit_codebook, table_codes
from .gptq import gptq_quantize_pruned
from .quantize import quantize_per_channel

ALL_FORMATS = WEIGHT_FORMATS


@dataclass(frozen=True)
class FormatResult:
    name: str
    bytes: int
    weights: int
    symbols: int
    roundtrip_exact: bool
    encode_s: float
    decode_s: float

    @property
    def bits_per_weight(self) -> float:
        return 8.0 * self.bytes / self.weights if self.weights else 0.0

    def to_dict(self) -> dict:
        return {"name": self.name, "bytes": self.bytes, "bits_per_weight": self.bits_per_weight,
                "ratio_to_fp32": 4.0 * self.weights / self.bytes if self.bytes else 0.0,
                "ratio_to_int8": 1.0 * self.weights / self.bytes if self.bytes else 0.0,
                "roundtrip_exact": self.roundtrip_exact, "symbols": self.symbols,
                "encode_s": self.encode_s, "decode_s": self.decode_s}


def bits_of(bits: int | Mapping[str, int], name: str) -> int:
    """Matrix ``name``'s bit-width: ``bits`` itself, or its entry."""
    return bits if isinstance(bits, int) else bits[name]


def model_codes(weights: dict, bits: int | Mapping[str, int], quantizer: str,
                grams: dict | None = None, unpruned: dict | None = None,
                weight_range: str = "max") -> dict[str, tuple]:
    """Quantize every prunable matrix once: name -> (codes, codebook or None). ``bits``: one
    width for all, or each matrix's (``model.layer_bits``, by
    ``config.schema.matrix_bit_widths``). ``grams``: the matrices' calibration-input Gram
    matrices, which ``gptq`` needs; ``unpruned``: the
    weights before pruning, whose pruned weights gptq compensates; ``weight_range``: the
    uniform and gptq grids' per-row range ("max", "mse")."""
    out = {}
    for name, w in weights.items():
        if not is_prunable(name):
            continue
        bits_here = bits_of(bits, name)
        if quantizer == "codebook":
            cb = fit_codebook(w, bits_here)
            out[name] = (table_codes(cb)[0][cb.indices], cb)
        elif quantizer == "gptq":
            if grams is None or name not in grams:
                raise ValueError(f"gptq needs the calibration inputs' Gram matrix of {name}")
            before = None if unpruned is None else unpruned[name]
            out[name] = (gptq_quantize_pruned(w, grams[name], bits_here, before,
                                              weight_range)[0], None)
        else:
            out[name] = (quantize_per_channel(w, bits_here, weight_range)[0], None)
    return out


def survey(codes: dict[str, tuple], bits: int | Mapping[str, int], formats=ALL_FORMATS,
           progress=None, streams: dict | None = None, pointer_bits: int = 16,
           rle_index_bits: int = 4) -> list[FormatResult]:
    """Encode, decode and compare every matrix in every format; with ``streams`` (a dict),
    also collect each stream there as ``"<matrix>.<format>.azw": bytes``, for the caller to
    write (``azsim compress --save``) after it has reported the results."""
    results = []
    for k, fmt in enumerate(formats):
        total = symbols = n = 0
        exact = True
        t_enc = t_dec = 0.0
        for name, (q, cb) in codes.items():
            t0 = time.perf_counter()
            widths = {"pointer_bits": pointer_bits, "rle_index_bits": rle_index_bits}
            enc = encode_codebook(cb, fmt, **widths) if cb is not None else \
                encode_codes(q, bits_of(bits, name), fmt, **widths)
            t1 = time.perf_counter()
            back = decode_matrix(enc)
            t2 = time.perf_counter()
            t_enc, t_dec = t_enc + t1 - t0, t_dec + t2 - t1
            exact &= bool(np.array_equal(back, q))
            if streams is not None:
                streams[f"{name}.{fmt}.azw"] = enc.stream
            total, symbols, n = total + enc.nbytes, symbols + enc.symbols, n + q.size
        results.append(FormatResult(fmt, total, n, symbols, exact, t_enc, t_dec))
        if progress:
            progress(k + 1, len(formats))
    return results


def load_integer_matrices(path: str, bits: int) -> dict[str, tuple]:
    """Integer matrices from ``.npy`` / ``.npz``, encoded losslessly as given."""
    p = Path(path)
    what = "--weights takes an .npz or .npy file of integer matrices"
    found = path_kind(p, str(path), WeightsError, what)
    if found == "folder":
        raise WeightsError(f"{path}: is a folder; {what}")
    if found != "file":
        raise WeightsError(f"{path}: file not found")
    try:
        with open(p, "rb") as fh:
            is_npy = fh.read(6) == b"\x93NUMPY"
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read ({exc.strerror})") from None
    if not is_npy:   # an .npz, or anything else (text, pickles...): read_npz names what it is
        arrays = read_npz(p, path, WeightsError, what)
    else:            # a .npy, whatever its name
        try:
            arrays = {p.stem: np.load(p, allow_pickle=False)}
        except (OSError, ValueError, EOFError) as exc:
            why = ("holds Python objects, which azsim does not load" if "pickle" in str(exc)
                   else f"not a readable .npy ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'no detail'})")
            raise WeightsError(f"{path}: {why}; {what}") from None
    out = {}
    for name, a in arrays.items():
        if a.ndim == 0 and name == "format_version":
            continue
        if not np.issubdtype(a.dtype, np.integer):
            raise WeightsError(f"{path}: {name} has dtype {a.dtype}; --weights takes integer "
                               "codes (give float weights with --model to quantize them)")
        if a.ndim != 2:
            raise WeightsError(f"{path}: {name} has shape {a.shape}; weight matrices are 2-D")
        if a.size == 0:
            raise WeightsError(f"{path}: {name} has shape {a.shape}, no weights; every matrix "
                               "needs at least one row and one column")
        try:
            out[name] = (check_codes(a, bits), None)
        except ValueError as exc:
            raise WeightsError(f"{path}: {name}: {exc} (--bits {bits})") from None
    if not out:
        raise WeightsError(f"{path}: holds no matrices")
    return out
