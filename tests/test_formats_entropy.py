"""The golomb (Golomb-Rice) weight format: round trips, size formula, corruption, kernel twin."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from conftest import random_codes
from reference import kernels_np as R

from azsim.compress.formats_entropy import GOLOMB, expected_bytes, golomb_lengths
from azsim.errors import CompressedStreamError
from azsim.kernels import golomb_decode


def _codes(seed, shape, bits, sparsity):
    return random_codes(np.random.default_rng(seed), shape, bits, sparsity)


@given(bits=st.integers(1, 8), rows=st.integers(1, 12), cols=st.integers(1, 12),
       sparsity=st.sampled_from([0.0, 0.3, 0.9, 0.99, 1.0]), seed=st.integers(0, 2 ** 16))
@settings(max_examples=150, deadline=None)
def test_round_trip_and_size_formula(bits, rows, cols, sparsity, seed):
    q = _codes(seed, (rows, cols), bits, sparsity)
    enc = GOLOMB.encode(q, bits)
    np.testing.assert_array_equal(GOLOMB.decode(enc.stream), q)
    assert enc.nbytes == expected_bytes(q)
    assert enc.symbols == 2 * np.count_nonzero(q) + 1


@pytest.mark.parametrize("m", [1, 2, 3, 5, 8, 13, 64, 100])
def test_golomb_code_lengths_are_prefix_free_and_exact(m):
    # Kraft equality for a complete prefix code over u = 0..: sum 2^-len = 1 (up to the tail).
    u = np.arange(0, 4000 * m)
    assert np.sum(2.0 ** -golomb_lengths(u, m).astype(float)) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("shape", [(1, 300), (300, 1), (37, 41)])
def test_extremes_round_trip(shape):
    for q in (np.zeros(shape, np.int8), np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)):
        np.testing.assert_array_equal(GOLOMB.decode(GOLOMB.encode(q, 8).stream), q)


def test_sparse_matrices_compress_below_dense():
    q = _codes(1, (256, 256), 4, 0.9)
    assert GOLOMB.encode(q, 4).nbytes < 0.3 * (256 * 256 * 4 / 8)


def test_corrupted_and_truncated_streams_raise():
    stream = GOLOMB.encode(_codes(2, (20, 30), 8, 0.5), 8).stream
    with pytest.raises(CompressedStreamError):
        GOLOMB.decode(stream[:-3])
    flipped = bytearray(stream)
    flipped[30] ^= 0x10
    with pytest.raises(CompressedStreamError):
        GOLOMB.decode(bytes(flipped))
    with pytest.raises(CompressedStreamError):
        GOLOMB.decode(b"XXXX" + stream[4:])


def test_float_or_out_of_range_codes_are_rejected():
    with pytest.raises(ValueError):
        GOLOMB.encode(np.zeros((2, 2), np.float32), 8)
    with pytest.raises(ValueError):
        GOLOMB.encode(np.full((2, 2), 9, np.int8), 4)


# m_z is a u16 in the header: remainder fields up to 15 bits (kernel audit, 2026-12-07)
@given(data=st.binary(min_size=0, max_size=12),
       m_z=st.one_of(st.integers(1, 40), st.integers(41, 65535)), m_v=st.integers(0, 9),
       fixed=st.booleans(), n=st.integers(0, 20),
       palette=st.lists(st.integers(-128, 127), min_size=0, max_size=255))
@settings(max_examples=400, deadline=None)
def test_kernel_matches_twin_on_arbitrary_bytes(data, m_z, m_v, fixed, n, palette):
    """Also the header's edges: m_v = 0 in fixed mode (a one-value palette), long zero-run
    parameters and palettes from empty to 255 values."""
    payload = np.frombuffer(data, np.uint8)
    out = np.zeros(n, np.int8)
    palette = np.array(palette, np.int8)
    m_v = min(m_v, 8) if fixed else max(m_v, 1)
    status = golomb_decode(payload, 8 * len(data), m_z, m_v, fixed, palette, out)
    ref_status, ref_out = R.golomb_decode(payload, 8 * len(data), m_z, m_v, fixed, palette, n)
    assert status == ref_status
    if status == 0:
        np.testing.assert_array_equal(out, ref_out)


@given(n=st.integers(0, 40), seed=st.integers(0, 10 ** 6))
@settings(max_examples=200, deadline=None)
def test_pack_kernel_matches_twin(n, seed):
    from azsim.compress.formats_entropy import pack_codes
    rng = np.random.default_rng(seed)
    ones = rng.integers(0, 12, n)
    terminated = rng.integers(0, 2, n)
    width = rng.integers(0, 33, n)   # fields up to 32 bits, not 8 (kernel audit, 2026-12-07)
    field = rng.integers(0, 1 << 32, n, dtype=np.int64) & ((np.int64(1) << width) - 1)
    assert pack_codes(ones, terminated, field, width) == R.pack_codes(ones, terminated, field, width)


@given(data=st.binary(min_size=0, max_size=40), seed=st.integers(0, 10 ** 6))
@settings(max_examples=200, deadline=None)
def test_read_fields_kernel_matches_twin(data, seed):
    from azsim.kernels import read_fields
    rng = np.random.default_rng(seed)
    payload = np.frombuffer(data, np.uint8)
    start = int(rng.integers(0, 8))
    widths = []
    room = 8 * len(data) - start
    while room > 0:
        w = int(rng.integers(1, 33))
        if w > room:
            break
        widths.append(w)
        room -= w
    widths = np.array(widths, np.int64)
    out = np.empty(widths.size, np.int64)
    end = read_fields(payload, start, widths, out)
    ref, ref_end = R.read_fields(payload, start, widths)
    np.testing.assert_array_equal(out, ref)
    assert end == ref_end


@given(data=st.binary(min_size=0, max_size=40), start=st.integers(0, 7),
       width=st.integers(1, 8), signed=st.booleans())
@settings(max_examples=300, deadline=None)
def test_read_codes_kernel_matches_twin(data, start, width, signed):
    """Fixed-width fields (and the weight codes they hold) straight into one byte each, at
    every start bit and width, fields straddling bytes, down to an empty payload."""
    from azsim.kernels import read_codes
    payload = np.frombuffer(data, np.uint8)
    count = max(8 * len(data) - start, 0) // width
    out = np.empty(count, np.int8 if signed else np.uint8)
    end = read_codes(payload, start, width, signed, out)
    ref, ref_end = R.read_codes(payload, start, width, signed, count)
    np.testing.assert_array_equal(out.astype(np.int64), ref)
    assert end == ref_end
