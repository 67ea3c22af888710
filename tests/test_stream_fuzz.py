"""Forged weight streams against the decoders (issue #3: a stream never decodes to garbage).

Each stream here passes the container's own checks -- its payload is mutated and then re-wrapped
with the right length and CRC-32, or its header fields are changed and the CRC redone -- so it
reaches the format's own parser. Every decode must either raise CompressedStreamError with a
one-line message, or return an int8 matrix of the header's shape whose values are in the b-bit
domain (codebook streams: values of the stream's table), within 5 s and without allocating far
more than the declared matrix and the payload account for. ``azsim decode FILE`` on a forged
stream must print one line and exit 2.

The explicit tests below pin the seven defects this fuzzing found on 2026-12-06 (about 170,000
forged streams), fixed the same day: codebook streams indexed their table with whatever the
inner stream held (an IndexError, or a silent wrong weight), decoded a forged inner shape
before comparing it with the outer one (2 GB for a stream declaring one weight), accepted a
table whose index 0 was not the zero value and a nonzero header parameter; golomb streams
accepted trailing bytes and a nonzero parameter; and fixed-width fields took 16-26 bytes a
weight to decode (4.7 GB for a 2^28-weight bitmask stream within the cap).
"""
import struct
import subprocess
import sys
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from conftest import random_codes

from azsim.compress import pipeline
from azsim.compress.codebook import fit_codebook
from azsim.compress.format_base import value_range
from azsim.compress import stream as container
from azsim.compress.stream import HEADER_BYTES, MAX_DECODED_WEIGHTS, wrap
from azsim.errors import CompressedStreamError

PROPS = settings(derandomize=True, database=None, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HEADER = struct.Struct("<4sBBHIIII")
FORMAT_NAMES = ("dense", "bitmask", "csr", "csc", "rle", "golomb")   # format ids 1..6
CODEBOOK_BASE = pipeline.CODEBOOK_FORMAT_BASE
TIME_LIMIT_S = 5.0


# ---- streams -------------------------------------------------------------------------------

def _forge(fmt_id: int, bits: int, param: int, rows: int, cols: int, payload: bytes) -> bytes:
    """A stream whose length field and CRC-32 match ``payload`` (any header values)."""
    head = HEADER.pack(container.MAGIC, fmt_id, bits, param, rows, cols, len(payload), 0)
    return HEADER.pack(container.MAGIC, fmt_id, bits, param, rows, cols, len(payload),
                       container.stream_crc(head, payload)) + payload


def _fields(stream: bytes) -> dict:
    _, fmt, bits, param, rows, cols, _, _ = HEADER.unpack_from(stream)
    return dict(fmt_id=fmt, bits=bits, param=param, rows=rows, cols=cols,
                payload=bytes(stream[HEADER_BYTES:]))




@st.composite
def valid_streams(draw):
    """A stream from the project's own encoders: any of the six formats, or a codebook one."""
    codebook = draw(st.booleans())
    name = draw(st.sampled_from(FORMAT_NAMES))
    bits = draw(st.integers(1, 8))
    shape = (draw(st.integers(0, 9)), draw(st.integers(0, 9)))
    sparsity = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    if name == "dense" and bits == 1:
        sparsity = 0.0          # a 1-bit dense stream holds only -1/+1
    if codebook:
        w = rng.standard_normal(shape)
        w[rng.random(shape) < sparsity] = 0.0
        return pipeline.encode_codebook(fit_codebook(w, bits), name).stream
    widths = dict(pointer_bits=draw(st.sampled_from([1, 3, 16, 32])),
                  rle_index_bits=draw(st.integers(1, 6)))
    return pipeline.encode_codes(random_codes(rng, shape, bits, sparsity), bits, name, **widths).stream


def _mutate_payload(draw, payload: bytes) -> bytes:
    p = bytearray(payload)
    for op in draw(st.lists(st.sampled_from(["flip", "byte", "truncate", "extend", "splice"]),
                            min_size=1, max_size=3)):
        if op == "flip" and p:
            for i in draw(st.lists(st.integers(0, 8 * len(p) - 1), min_size=1, max_size=4)):
                p[i >> 3] ^= 1 << (i & 7)
        elif op == "byte" and p:
            p[draw(st.integers(0, len(p) - 1))] = draw(st.integers(0, 255))
        elif op == "truncate":
            del p[draw(st.integers(0, len(p))):]
        elif op == "extend":
            p += draw(st.binary(min_size=1, max_size=8))
        elif op == "splice":
            at = draw(st.integers(0, len(p)))
            p[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(p)


def _dims(draw):
    """Small dims, or extreme ones within the 2^28-weight cap (or just past it)."""
    kind = draw(st.sampled_from(["small", "small", "line", "cap", "zero", "over"]))
    if kind == "small":
        return draw(st.integers(0, 12)), draw(st.integers(0, 12))
    if kind == "zero":     # rows * cols == 0 passes the cap with the other extent at 2^32 - 1
        big = draw(st.sampled_from([1, 2 ** 16, 2 ** 32 - 1]))
        return (0, big) if draw(st.booleans()) else (big, 0)
    n = draw(st.integers(1, 2 ** 14))
    total = MAX_DECODED_WEIGHTS + (1 if kind == "over" else 0)
    a, b = (1, total) if kind == "line" else (n, total // n if kind == "cap" else -(-total // n))
    return (a, b) if draw(st.booleans()) else (b, a)


# ---- the checks ----------------------------------------------------------------------------

def _show(stream: bytes) -> str:
    return stream.hex() if len(stream) <= 160 else f"{len(stream)} bytes, {stream[:64].hex()}..."


def _decode(stream: bytes):
    """decode_stream under a watchdog: (codes or None if it raised CompressedStreamError,
    peak bytes Python and NumPy allocated). Any other exception, or a decode
    still running after TIME_LIMIT_S, fails the test (the kernels release the GIL, so a
    spinning one cannot stop the watchdog)."""
    box = {}

    def work():
        tracemalloc.start()
        try:
            box["codes"] = pipeline.decode_stream(stream)[2]
        except BaseException as exc:   # noqa: BLE001 - reported below
            box["exc"] = exc
        finally:
            box["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(TIME_LIMIT_S)
    assert not worker.is_alive(), f"still decoding after {TIME_LIMIT_S} s: {_show(stream)}"
    exc = box.get("exc")
    if isinstance(exc, CompressedStreamError):
        msg = str(exc)
        assert msg and "\n" not in msg, f"message {msg!r} is not one line: {_show(stream)}"
        return None, box["peak"]
    if exc is not None:
        raise AssertionError(f"{type(exc).__name__}: {exc} -- {_show(stream)}") from exc
    return box["codes"], box["peak"]


def _check(stream: bytes):
    """Decode a forged stream and check whatever comes back against its header."""
    note(_show(stream))
    f = _fields(stream)
    codes, peak = _decode(stream)
    # The declared int8 matrix (and a transposed copy: csc), plus the bit reader's working
    # arrays, which scale with the payload (at most 8 fields a byte, ~40 bytes a field).
    bound = (1 << 20) + 3 * f["rows"] * f["cols"] + 320 * len(f["payload"])
    assert peak <= bound, f"peak {peak} bytes > {bound}: {_show(stream)}"
    event("refused" if codes is None else "decoded")
    if codes is None:
        return None
    assert codes.dtype == np.int8
    assert codes.shape == (f["rows"], f["cols"]), (codes.shape, _show(stream))
    if codes.size:
        if f["fmt_id"] < CODEBOOK_BASE:
            lo, hi = value_range(f["bits"])
            assert lo <= codes.min() and codes.max() <= hi, (lo, hi, _show(stream))
        else:
            table = np.frombuffer(f["payload"][:1 << f["bits"]], np.int8)
            assert np.isin(codes, table).all(), _show(stream)
    return codes


@pytest.fixture(scope="module", autouse=True)
def _warm_kernels():
    """Load the numba kernels once, so the first example's peak is not numba's."""
    rng = np.random.default_rng(0)
    for name in FORMAT_NAMES:
        pipeline.decode_stream(pipeline.encode_codes(random_codes(rng, (3, 4), 4, 0.5), 4, name).stream)
    pipeline.decode_stream(pipeline.encode_codebook(fit_codebook(rng.standard_normal((3, 4)), 2),
                                                    "rle").stream)


# ---- properties ----------------------------------------------------------------------------

@given(data=st.data())
@settings(PROPS, max_examples=1500)
def test_mutated_payloads_decode_or_raise(data):
    """Bit flips, byte overwrites, truncations, extensions and splices of a real payload, with
    the length field and CRC fixed up."""
    f = _fields(data.draw(valid_streams()))
    _check(_forge(f["fmt_id"], f["bits"], f["param"], f["rows"], f["cols"],
                  _mutate_payload(data.draw, f["payload"])))


@given(data=st.data())
@settings(PROPS, max_examples=1000)
def test_forged_header_fields_decode_or_raise(data):
    """rows, cols, bits, param or the format id changed (CRC redone); for codebook streams
    also the inner stream's header, with both CRCs redone."""
    f = _fields(data.draw(valid_streams()))
    inner = f["fmt_id"] >= CODEBOOK_BASE and data.draw(st.booleans())
    target = _fields(f["payload"][1 << f["bits"]:]) if inner else f
    for field in data.draw(st.lists(st.sampled_from(["dims", "bits", "param", "fmt_id"]),
                                    min_size=1, max_size=3, unique=True)):
        if field == "dims":
            target["rows"], target["cols"] = _dims(data.draw)
        elif field == "bits":
            target["bits"] = data.draw(st.one_of(st.integers(0, 9), st.integers(0, 255)))
        elif field == "param":
            p = target["param"]
            near = [0, (p + 1) & 0xFFFF, (p - 1) & 0xFFFF, p ^ 0x100, p | 0xFF00]
            target["param"] = data.draw(st.one_of(st.integers(0, 2 ** 16 - 1),
                                                  st.sampled_from(near)))
        else:
            target["fmt_id"] = data.draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 15, 16, 17,
                                                          18, 19, 20, 21, 22, 23, 255]))
    if inner:
        f["payload"] = f["payload"][:1 << f["bits"]] + _forge(**target)
    _check(_forge(**f))


@given(fmt_id=st.sampled_from([1, 2, 3, 4, 5, 6, 17, 18, 19, 20, 21, 22]),
       bits=st.integers(1, 8), data=st.data(), payload=st.binary(max_size=64))
@settings(PROPS, max_examples=1500)
def test_random_payloads_decode_or_raise(fmt_id, bits, data, payload):
    """Random payloads under every format id, with header parameters the decoders use
    (pointer and relative-index widths) and dims up to the cap."""
    rows, cols = _dims(data.draw)
    param = data.draw(st.one_of(st.sampled_from([0, 1, 2, 4, 16, 32, 33, 4 | 16 << 8,
                                                 1 | 1 << 8, 16 | 32 << 8, 17 | 16 << 8]),
                                st.integers(0, 2 ** 16 - 1)))
    if fmt_id >= CODEBOOK_BASE and data.draw(st.booleans()):   # a table, then a random inner
        inner = _forge(fmt_id - CODEBOOK_BASE, bits, param, rows, cols, payload)
        payload, param = data.draw(st.binary(min_size=1 << bits, max_size=1 << bits)) + inner, 0
    _check(_forge(fmt_id, bits, param, rows, cols, payload))


def _zero_matrix_stream(name: str, rows: int, cols: int) -> bytes:
    """A stream of a few bytes for an all-zero rows x cols matrix at 4 bits: csr of one row,
    csc and rle of one column (two pointers, no entries), golomb of one zero run."""
    if name == "csr":
        return wrap(3, 4, (rows, cols), struct.pack("<HH", 0, 0), 16)
    if name == "csc":
        return wrap(4, 4, (rows, cols), struct.pack("<HH", 0, 0), 16)
    if name == "rle":
        return wrap(5, 4, (rows, cols), struct.pack("<HH", 0, 0), 4 | 16 << 8)
    # golomb: m_z = 65535, fixed value fields, an empty palette, one run of rows * cols zeros
    from azsim.compress.formats_entropy import _golomb_fields, pack_codes
    ones, field, width = _golomb_fields(np.array([rows * cols]), 65535)
    return wrap(6, 4, (rows, cols), struct.pack("<HBH", 65535, 1, 0) + b"\0"
                + pack_codes(ones, np.ones(1, np.int64), field, width))


@pytest.mark.parametrize("name, shape", [("csr", (1, MAX_DECODED_WEIGHTS)),
                                         ("csc", (MAX_DECODED_WEIGHTS, 1)),
                                         ("rle", (MAX_DECODED_WEIGHTS, 1)),
                                         ("golomb", (1 << 14, 1 << 14))])
def test_a_few_bytes_may_declare_the_largest_matrix(name, shape):
    """A tiny stream of an all-zero matrix at the cap decodes to exactly that matrix, within
    the time limit and with about one byte a weight (the matrix itself)."""
    stream = _zero_matrix_stream(name, *shape)
    assert len(stream) < 600
    codes, peak = _decode(stream)
    assert codes.shape == shape and not codes.any()
    assert peak <= 1.1 * MAX_DECODED_WEIGHTS + (1 << 20)


@pytest.mark.parametrize("fmt_id", [1, 2, 3, 4, 5, 6, 17, 18, 19, 20, 21, 22])
def test_shape_just_over_the_cap_is_refused_for_every_format(fmt_id):
    for rows, cols in [(MAX_DECODED_WEIGHTS + 1, 1), (1 << 14, (1 << 14) + 1),
                       (2 ** 32 - 1, 2 ** 32 - 1)]:
        with pytest.raises(CompressedStreamError, match="at most"):
            pipeline.decode_stream(_forge(fmt_id, 4, 0, rows, cols, b"\0" * 8))


# ---- the CLI -------------------------------------------------------------------------------

def _one_line_exit_2(code, err, path):
    assert code == 2, (code, err)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"azsim: error: {path}: "), err


def _forged_files(tmp_path):
    """One forged stream per format id: the first single bit flip of a real payload that the
    decoder refuses (a dense payload has no redundancy: its last byte dropped), length and CRC
    redone."""
    rng = np.random.default_rng(7)
    q = random_codes(rng, (6, 7), 4, 0.6)
    streams = [pipeline.encode_codes(q, 4, name).stream for name in FORMAT_NAMES]
    streams += [pipeline.encode_codebook(fit_codebook(rng.standard_normal((6, 7)), 3),
                                         name).stream for name in FORMAT_NAMES[1:]]
    paths = []
    for k, stream in enumerate(streams):
        f = _fields(stream)
        for bit in range(8 * len(f["payload"])):
            p = bytearray(f["payload"])
            p[bit >> 3] ^= 1 << (bit & 7)
            forged = _forge(**{**f, "payload": bytes(p)})
            if _decode(forged)[0] is None:
                break
        else:
            forged = _forge(**{**f, "payload": f["payload"][:-1]})
        path = tmp_path / f"forged{k}.azw"
        path.write_bytes(forged)
        paths.append(path)
    return paths


def test_cli_refuses_forged_streams_on_one_line(cli, tmp_path):
    for path in _forged_files(tmp_path):
        code, out, err = cli("decode", str(path))
        _one_line_exit_2(code, err, path)
        assert out == ""


def test_cli_subprocess_refuses_a_forged_stream(tmp_path):
    path = _forged_files(tmp_path)[4]    # rle
    # cwd=tmp_path: a checkout's azsim/ must not shadow the installed package (test_bad_files)
    proc = subprocess.run([sys.executable, "-m", "azsim.cli", "decode", str(path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    _one_line_exit_2(proc.returncode, proc.stderr, path)


# ---- the defects this fuzzing found ------------------------------------------------------------
# A 2-bit codebook stream (format 17 = codebook+dense) whose table is [0, 5, 6, -7] and whose
# inner dense stream declares other bits than the outer header.
TABLE2 = bytes([0, 5, 6, 249])


def _codebook(inner: bytes, bits: int = 2, shape=(1, 1), fmt_id: int = 17, table=TABLE2,
              param: int = 0) -> bytes:
    return wrap(fmt_id, bits, shape, table + inner, param)


def test_codebook_inner_bits_above_the_outer_raise_stream_error():
    # 415a57311102000001000000010000001d0000000a76b558000506f9415a5731010800000100000001000000
    # 01000000cc4add9864
    stream = _codebook(wrap(1, 8, (1, 1), bytes([100])))
    with pytest.raises(CompressedStreamError):
        pipeline.decode_stream(stream)


def test_codebook_inner_bits_other_than_the_outer_raise_stream_error():
    stream = _codebook(wrap(1, 3, (1, 1), bytes([4])))     # 3-bit -4 -> index 0
    with pytest.raises(CompressedStreamError):
        pipeline.decode_stream(stream)


def test_codebook_inner_header_must_match_the_outer_one():
    # At 2^28 (the cap) this is 9 s and 2 GB of RSS; 2^22 keeps the test cheap.
    inner = wrap(4, 1, (1 << 22, 1), struct.pack("<HH", 0, 0), param=16)   # csc, no entries
    stream = _codebook(inner, bits=1, fmt_id=20, table=bytes([0, 1]))
    tracemalloc.start()
    try:
        with pytest.raises(CompressedStreamError):
            pipeline.decode_stream(stream)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated for a stream declaring one weight"


def test_codebook_table_entry_zero_must_be_zero():
    # 415a57311202000001000000020000001d00000072787a0409050607415a5731020200000100000002000000
    # 010000008def02d200 -- `azsim decode` reports "sparsity 0.000; CRC and structure check out"
    stream = _codebook(wrap(2, 2, (1, 2), b"\0"), shape=(1, 2), fmt_id=18,
                       table=bytes([9, 5, 6, 7]))
    with pytest.raises(CompressedStreamError):
        pipeline.decode_stream(stream)


def test_codebook_outer_parameter_must_be_zero():
    stream = _codebook(wrap(1, 2, (1, 1), bytes([1])), param=0x1234)
    with pytest.raises(CompressedStreamError, match="parameter"):
        pipeline.decode_stream(stream)


def _golomb_2x2() -> bytes:
    q = np.array([[0, 3], [-2, 0]], np.int8)
    return pipeline.encode_codes(q, 4, "golomb").stream


@pytest.mark.parametrize("tail", [b"\0", b"\xff" * 5, b"nonsense"])
def test_golomb_trailing_bytes_raise_stream_error(tail):
    f = _fields(_golomb_2x2())
    forged = _forge(**{**f, "payload": f["payload"] + tail})
    with pytest.raises(CompressedStreamError):
        pipeline.decode_stream(forged)


def test_golomb_header_parameter_must_be_zero():
    f = _fields(_golomb_2x2())
    with pytest.raises(CompressedStreamError, match="parameter"):
        pipeline.decode_stream(_forge(**{**f, "param": 0xBEEF}))


@pytest.mark.parametrize("fmt_id, bits, payload_bytes", [(2, 4, 1 << 17),    # bitmask, zeros
                                                         (1, 4, 1 << 19),    # dense 4-bit
                                                         (1, 1, 1 << 17)])   # dense 1-bit
def test_decoding_takes_a_few_bytes_a_declared_weight(fmt_id, bits, payload_bytes):
    n = 1 << 20
    stream = wrap(fmt_id, bits, (1, n), bytes(payload_bytes))
    tracemalloc.start()
    try:
        codes = pipeline.decode_stream(stream)[2]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert codes.shape == (1, n)
    # the int8 matrix, the payload copy unwrap slices off, and a few bytes of work a weight
    assert peak <= 4 * n + payload_bytes, f"{peak / n:.1f} bytes a weight"


def test_cli_codebook_with_other_inner_bits_is_one_line(tmp_path):
    path = tmp_path / "forged.azw"
    path.write_bytes(_codebook(wrap(1, 8, (1, 1), bytes([100]))))
    proc = subprocess.run([sys.executable, "-m", "azsim.cli", "decode", str(path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    _one_line_exit_2(proc.returncode, proc.stderr, path)


@pytest.mark.parametrize("fmt_id", [0, 7, 15, 16, 23, 99, 255])
def test_an_unknown_format_id_is_named_as_the_header_holds_it(cli, tmp_path, fmt_id):
    """A header's format id of 99 (CRC valid) was reported as 83: the id less the codebook
    offset (16), an id the file does not hold."""
    stream = pipeline.encode_codes(np.zeros((2, 3), np.int8), 4, "dense").stream
    f = _fields(stream)
    path = tmp_path / "unknown.azw"
    path.write_bytes(_forge(**{**f, "fmt_id": fmt_id}))
    code, out, err = cli("decode", str(path))
    _one_line_exit_2(code, err, path)
    assert f"unknown format id {fmt_id} (allowed: 1, 2, 3, 4, 5, 6;" in err, err


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_every_flipped_header_bit_is_refused(name):
    """Version 1's CRC covered the payload alone: a flipped bit of the width, the parameter
    or the shape decoded to another matrix ([[-1]] at 2 bits became [[3]] at 3; a 6 x 7 csc
    stream declared 33,554,438 x 7) without an error (a 2026-12-06 audit)."""
    q = np.array([[-1, 0, 3], [0, 2, 0]], np.int8)
    good = pipeline.encode_codes(q, 4, name).stream
    for byte in range(HEADER_BYTES):
        for bit in range(8):
            bad = bytearray(good)
            bad[byte] ^= 1 << bit
            with pytest.raises(CompressedStreamError):
                pipeline.decode_stream(bytes(bad))


def test_a_version_1_stream_is_refused_with_what_to_do():
    s = bytearray(pipeline.encode_codes(np.ones((2, 2), np.int8), 4, "dense").stream)
    s[:4] = b"AZW1"
    with pytest.raises(CompressedStreamError, match="b'AZW1'.*encode it again with azsim compress"):
        pipeline.decode_stream(bytes(s))
