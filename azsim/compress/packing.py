"""Dense packed b-bit weight streams (the baseline format; issue #3 adds the sparse ones).

Codes are two's complement b-bit fields, packed little-endian (first weight in the lowest
bits of the first byte), row-major, with the final byte zero-padded. The stream length is
what azsim reports as the layer's weight bytes, so size is measured, never a formula.
"""
from __future__ import annotations

import numpy as np


_CHUNK = 1 << 23  # weights per packing chunk (a multiple of 8 keeps chunks byte-aligned)


def pack_dense(q: np.ndarray, bits: int) -> bytes:
    flat = np.asarray(q).ravel()
    if bits == 8:
        return flat.astype(np.int8).tobytes()
    parts = []
    for start in range(0, flat.size, _CHUNK):
        codes = (flat[start:start + _CHUNK].astype(np.int16) & ((1 << bits) - 1)).astype(np.uint8)
        planes = (codes[:, None] >> np.arange(bits, dtype=np.uint8)) & 1  # [n, bits], LSB first
        parts.append(planes.ravel())
    bitv = np.concatenate(parts) if parts else np.zeros(0, np.uint8)
    return np.packbits(bitv, bitorder="little").tobytes()


def unpack_dense(stream: bytes, bits: int, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape))
    bitv = np.unpackbits(np.frombuffer(stream, np.uint8), bitorder="little")[: n * bits]
    codes = (bitv.reshape(n, bits).astype(np.int64) << np.arange(bits)).sum(axis=1)
    signed = np.where(codes >= (1 << (bits - 1)), codes - (1 << bits), codes)
    return signed.astype(np.int8).reshape(shape)
