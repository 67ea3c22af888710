"""Dense/bitmask/csr/csc/rle weight formats (issue #3): exact round trips, sizes equal to the
documented formulas, byte-exact agreement with slow pure-Python references of each layout,
and corrupt streams that raise instead of decoding to garbage."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azsim.compress.format_base import (FORMATS, BitReader, BitWriter, Encoded, check_codes,
                                        register, value_range)
from azsim.compress.formats_sparse import (BITMASK, CSC, CSR, DENSE, RLE, CompressedSparseFormat,
                                           RelativeIndexFormat, index_width, rle_padding_entries)
from azsim.compress.stream import HEADER_BYTES, unwrap, wrap
from azsim.errors import CompressedStreamError

ALL = [DENSE, BITMASK, CSR, CSC, RLE]
FAST = settings(max_examples=100, deadline=None)


def _codes(seed, shape, bits, sparsity):
    rng = np.random.default_rng(seed)
    lo, hi = value_range(bits)
    q = rng.choice([-1, 1], shape) if bits == 1 else rng.integers(lo, hi + 1, shape)
    q[rng.random(shape) < sparsity] = 0
    return q.astype(np.int8)


def _pack_bits(fields):
    """Pure-Python LSB-first packing of [(value, width), ...]."""
    bitlist = [(v >> k) & 1 for v, w in fields for k in range(w)]
    return bytes(sum(bitlist[i + k] << k for k in range(8) if i + k < len(bitlist))
                 for i in range(0, len(bitlist), 8))


def _field(v, bits):
    return (1 if v > 0 else 0) if bits == 1 else v & ((1 << bits) - 1)


def _rle_entries(q, r):
    """EIE's walk, one entry at a time: [(z, value)], column pointers."""
    entries, ptr = [], [0]
    for j in range(q.shape[1]):
        run = 0
        for i in range(q.shape[0]):
            v = int(q[i, j])
            if v == 0:
                run += 1
                continue
            while run > (1 << r) - 1:
                entries.append(((1 << r) - 1, 0))
                run -= 1 << r  # the padding entry stands for 2^r - 1 zeros and itself
            entries.append((run, v))
            run = 0
        ptr.append(len(entries))
    return entries, ptr


def _reference_payload(fmt, q, bits):
    """Slow, obviously-correct payload of each documented layout."""
    rows, cols = q.shape
    cells = [(i, j, int(q[i, j])) for i in range(rows) for j in range(cols)]
    nonzero = [c for c in cells if c[2]]
    if fmt.name == "dense":
        return _pack_bits([(_field(v, bits), bits) for _, _, v in cells])
    if fmt.name == "bitmask":
        return _pack_bits([(int(v != 0), 1) for _, _, v in cells]
                          + [(_field(v, bits), bits) for _, _, v in nonzero])
    if fmt.name in ("csr", "csc"):
        by_col = fmt.name == "csc"
        order = sorted(nonzero, key=lambda c: (c[1], c[0]) if by_col else (c[0], c[1]))
        major, minor = (cols, rows) if by_col else (rows, cols)
        ptr = [sum(1 for c in order if c[1 if by_col else 0] < m) for m in range(major + 1)]
        p, iw = fmt.pointer_bits, index_width(minor)
        return _pack_bits([(x, p) for x in ptr] + [(c[0 if by_col else 1], iw) for c in order]
                          + [(_field(c[2], bits), bits) for c in order])
    entries, ptr = _rle_entries(q, fmt.index_bits)
    vw = max(bits, 2)
    return _pack_bits([(x, fmt.pointer_bits) for x in ptr]
                      + [f for z, v in entries for f in ((z, fmt.index_bits), (_field(v, vw), vw))])


def _expected_bytes(fmt, q, bits):
    nnz = int(np.count_nonzero(q))
    if fmt.name == "rle":
        return fmt.expected_bytes(q.shape, nnz, bits, rle_padding_entries(q, fmt.index_bits))
    return fmt.expected_bytes(q.shape, nnz, bits)


def _check_round_trip(fmt, q, bits):
    enc = fmt.encode(q, bits)
    out = fmt.decode(enc.stream)
    assert out.dtype == np.int8 and out.shape == q.shape
    np.testing.assert_array_equal(out, q)
    assert enc.nbytes == _expected_bytes(fmt, q, bits)
    payload_bits = enc.index_bits + enc.value_bits
    assert 8 * (enc.nbytes - HEADER_BYTES) - 7 <= payload_bits <= 8 * (enc.nbytes - HEADER_BYTES)
    assert (enc.format, enc.shape, enc.bits) == (fmt.name, q.shape, bits)
    return enc


formats = st.sampled_from(ALL + [CompressedSparseFormat(False, 10), CompressedSparseFormat(True, 11),
                                 RelativeIndexFormat(1, 12), RelativeIndexFormat(2, 16),
                                 RelativeIndexFormat(3, 10)])
sparsities = st.one_of(st.floats(0.0, 0.99), st.sampled_from([0.0, 0.5, 0.9, 0.99, 1.0]))


@given(fmt=formats, bits=st.integers(1, 8), rows=st.integers(1, 24), cols=st.integers(1, 24),
       sparsity=sparsities, seed=st.integers(0, 2 ** 16))
@FAST
def test_round_trip_size_formula_and_reference_layout(fmt, bits, rows, cols, sparsity, seed):
    if fmt is DENSE and bits == 1:
        sparsity = 0.0
    q = _codes(seed, (rows, cols), bits, sparsity)
    enc = _check_round_trip(fmt, q, bits)
    assert unwrap(enc.stream)[1] == _reference_payload(fmt, q, bits)
    nnz = int(np.count_nonzero(q))
    if fmt.name == "rle":
        assert enc.symbols == len(_rle_entries(q, fmt.index_bits)[0])
    else:
        assert enc.symbols == (rows * cols if fmt is DENSE else nnz)


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.name)
@pytest.mark.parametrize("shape", [(1, 1), (1, 77), (77, 1), (13, 31), (0, 5), (5, 0)])
def test_extremes_all_zero_and_fully_dense(fmt, shape):
    for bits in (1, 2, 5, 8):
        lo, hi = value_range(bits)
        for q in (np.full(shape, lo, np.int8), np.full(shape, hi, np.int8),
                  _codes(bits, shape, bits, 0.0)):
            _check_round_trip(fmt, q, bits)
        if not (fmt is DENSE and bits == 1):
            _check_round_trip(fmt, np.zeros(shape, np.int8), bits)


@pytest.mark.parametrize("r", [1, 2, 3, 4])
@pytest.mark.parametrize("rows", range(1, 11))
def test_rle_matches_reference_on_every_column_pattern(r, rows):
    # Column j holds the bit pattern of j: every zero/nonzero pattern of length `rows`.
    q = ((np.arange(2 ** rows)[None, :] >> np.arange(rows)[:, None]) & 1).astype(np.int8)
    q[:, ::3] *= -1
    fmt = RelativeIndexFormat(r, 20)
    enc = _check_round_trip(fmt, q, 2)
    entries, _ = _rle_entries(q, r)
    assert enc.symbols == len(entries)
    assert unwrap(enc.stream)[1] == _reference_payload(fmt, q, 2)


def test_rle_eie_paper_example():
    # Han et al., ISCA 2016, fig. 3 style column: 1 and 2 after two zeros, 18 zeros, then 3.
    col = np.array([0, 0, 1, 2] + [0] * 18 + [3], np.int8)[:, None]
    assert _rle_entries(col, 4)[0] == [(2, 1), (0, 2), (15, 0), (2, 3)]
    enc = _check_round_trip(RLE, col, 4)
    assert enc.symbols == 4 and rle_padding_entries(col, 4) == 1
    assert enc.nbytes == 24 + (2 * 16 + 4 * 8 + 7) // 8


def test_rle_long_runs_need_padding():
    q = np.zeros((200, 3), np.int8)
    q[199, 0], q[16, 1], q[15, 2] = 5, -3, 7  # runs of 199, 16 and 15 zeros
    enc = _check_round_trip(RLE, q, 4)
    assert rle_padding_entries(q, 4) == 199 // 16 + 1 + 0
    assert enc.symbols == 3 + 13


@given(fmt=st.sampled_from(ALL), seed=st.integers(0, 2 ** 16))
@settings(max_examples=25, deadline=None)
def test_corrupt_streams_raise(fmt, seed):
    stream = fmt.encode(_codes(seed, (9, 14), 4, 0.6), 4).stream
    other = next(f for f in ALL if f.format_id != fmt.format_id)
    flipped = bytearray(stream)
    flipped[HEADER_BYTES + seed % (len(stream) - HEADER_BYTES)] ^= 1 << (seed % 8)
    for bad in (stream[:-1], stream[:HEADER_BYTES - 1], bytes(flipped), b"AZW0" + stream[4:],
                other.encode(_codes(seed, (9, 14), 4, 0.6), 4).stream):
        with pytest.raises(CompressedStreamError):
            fmt.decode(bad)


def _forge(fmt, fields, shape, bits=4, param=None):
    """A stream with a valid CRC around hand-written fields, to reach the decoders' checks."""
    writer = BitWriter()
    for values, width in fields:
        writer.write(values, width)
    param = getattr(fmt, "pointer_bits", 0) if param is None else param
    if fmt.name == "rle" and param == fmt.pointer_bits:
        param = fmt.index_bits | (fmt.pointer_bits << 8)
    return wrap(fmt.format_id, bits, shape, writer.to_bytes(), param)


@pytest.mark.parametrize("fmt, fields, shape, param, message", [
    (CSR, [([0, 3, 2], 16)], (2, 4), None, "decrease"),
    (CSR, [([1, 1], 16), ([0], 2), ([3], 4)], (1, 4), None, "first pointer"),
    (CSR, [([0, 1], 16), ([5], 3), ([3], 4)], (1, 5), None, "index 5"),
    (CSR, [([0, 2], 16), ([1, 1], 2), ([3, 3], 4)], (1, 4), None, "repeat or are unsorted"),
    (CSC, [([0, 1], 16), ([0], 1), ([0], 4)], (2, 1), None, "zero value"),
    (CSR, [([0, 9], 16), ([1], 2)], (1, 4), None, "truncated"),
    (CSR, [([0, 0], 16)], (1, 4), 0, "pointers"),
    (CSR, [([0, 0], 16), ([0], 8)], (1, 4), None, "trailing"),
    (CSR, [([0, 1], 16), ([1], 2), ([3], 4), ([1], 1)], (1, 4), None, "padding bits"),
    (DENSE, [([1] * 4, 4)], (2, 2), 3, "parameter"),
    (DENSE, [], (1 << 20, 1 << 20), 0, "at most"),
    (BITMASK, [([1, 0], 1), ([0], 4)], (1, 2), 0, "zero under a presence bit"),
    (RLE, [([0, 1], 16), ([15 | (0 << 4)], 8)], (10, 1), None, "runs to row 15"),
    (RLE, [([0, 1], 16), ([3 | (0 << 4)], 8)], (10, 1), None, "only padding"),
    (RLE, [([0, 2], 16), ([0, 1 << 4], 8)], (10, 1), 0, "declares"),
    (RLE, [([0, 2], 16), ([0 | (1 << 4), 15], 8)], (20, 1), None, "ends column 0 with a pad"),
    (RLE, [([0, 0, 1], 16), ([15], 8)], (20, 2), None, "ends column 1 with a padding"),
])
def test_forged_streams_fail_their_checks(fmt, fields, shape, param, message):
    with pytest.raises(CompressedStreamError, match=message):
        fmt.decode(_forge(fmt, fields, shape, param=param))


def test_rle_one_bit_rejects_the_unused_value():
    # At 1 bit the value field is 2-bit two's complement: 1 = +1, 3 = -1, 0 = padding, 2 = invalid.
    stream = _forge(RLE, [([0, 1], 16), ([0 | (2 << 4)], 6)], (4, 1), bits=1)
    with pytest.raises(CompressedStreamError, match="outside"):
        RLE.decode(stream)


@given(fmt=st.sampled_from(ALL), bits=st.integers(1, 8), rows=st.integers(0, 6),
       cols=st.integers(0, 6), payload=st.binary(max_size=40),
       param=st.sampled_from([0, 1, 4, 16, 4 | (16 << 8), 2 | (3 << 8), 0xFFFF]))
@FAST
def test_random_payloads_decode_or_raise(fmt, bits, rows, cols, payload, param):
    try:
        out = fmt.decode(wrap(fmt.format_id, bits, (rows, cols), payload, param))
    except CompressedStreamError:
        return
    assert out.dtype == np.int8 and out.shape == (rows, cols)
    lo, hi = value_range(bits)
    assert out.size == 0 or (out.min() >= lo and out.max() <= hi)


@pytest.mark.parametrize("q, bits, message", [
    (np.zeros((2, 2), np.float32), 4, "integer"),
    (np.zeros((2, 2), bool), 4, "integer"),
    (np.zeros(4, np.int8), 4, "2-D"),
    (np.array([[0, 2]]), 1, "code 2 at \\[0, 1\\]"),
    (np.array([[8, 0]]), 4, "code 8"),
    (np.array([[0], [-9]]), 4, "code -9"),
    (np.array([[300]], np.uint16), 8, "code 300"),
    (np.zeros((2, 2), np.int8), 0, "bits"),
    (np.zeros((2, 2), np.int8), 9, "bits"),
])
def test_invalid_codes_raise_value_error(q, bits, message):
    with pytest.raises(ValueError, match=message):
        check_codes(q, bits)
    for fmt in ALL:
        with pytest.raises(ValueError):
            fmt.encode(q, bits)


def test_one_bit_dense_with_zeros_suggests_a_sparse_format():
    with pytest.raises(ValueError, match="dense.*bitmask"):
        DENSE.encode(np.array([[1, 0], [-1, 1]], np.int8), 1)


@pytest.mark.parametrize("fmt", [CompressedSparseFormat(False, 4), CompressedSparseFormat(True, 4),
                                 RelativeIndexFormat(4, 4)], ids=lambda f: f.name)
def test_pointer_overflow_names_the_needed_width(fmt):
    with pytest.raises(ValueError, match="pointer_bits >= 5"):
        fmt.encode(np.ones((4, 4), np.int8), 2)  # 16 entries need 5 bits


@given(widths=st.lists(st.integers(1, 32), max_size=30), seed=st.integers(0, 2 ** 16))
@FAST
def test_bit_writer_reader_round_trip(widths, seed):
    rng = np.random.default_rng(seed)
    values = [int(rng.integers(0, 1 << w)) for w in widths]
    writer = BitWriter()
    writer.write(values, widths)
    writer.write(values[:3], 32)
    data = writer.to_bytes()
    assert data == _pack_bits(list(zip(values, widths)) + [(v, 32) for v in values[:3]])
    reader = BitReader(data)
    assert reader.read_varying(widths).tolist() == values
    assert reader.read(len(values[:3]), 32).tolist() == values[:3]
    reader.finish()
    with pytest.raises(CompressedStreamError, match="truncated"):
        reader.read(1, 8)


def test_bit_writer_rejects_values_that_do_not_fit():
    with pytest.raises(ValueError):
        BitWriter().write([4], 2)
    with pytest.raises(ValueError):
        BitWriter().write([-1], 8)


def test_registry_and_encoded_helpers():
    assert {f.name: f.format_id for f in ALL} == {"dense": 1, "bitmask": 2, "csr": 3, "csc": 4,
                                                  "rle": 5}
    assert all(FORMATS[f.name] is f for f in ALL)

    class Clash:
        name, format_id = "clash", 3

    with pytest.raises(ValueError, match="already taken"):
        register(Clash())
    assert Encoded("dense", b"x" * 25, (0, 3), 4, 0, 0, 0).bits_per_weight() == 0.0
    assert DENSE.encode(np.ones((4, 4), np.int8), 8).bits_per_weight() == 8 * 40 / 16


def test_layer_sized_matrix_round_trips():
    """A layer-sized matrix in every sparse format (their speed is benchmarks/
    bench_compress.py's to measure; a wall-clock bound here could fail on a busy machine)."""
    q = _codes(7, (2048, 1280), 4, 0.9)
    for fmt in [DENSE, BITMASK, CompressedSparseFormat(False, 20),
                CompressedSparseFormat(True, 20), RelativeIndexFormat(4, 20)]:
        np.testing.assert_array_equal(fmt.decode(fmt.encode(q, 4).stream), q)
