"""Compression wired into the model and the `azsim compress` command (issue #3)."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import azsim
from azsim.compress.codebook import fit_codebook, table_codes
from azsim.compress.pipeline import _signed_indices, decode_matrix, encode_codebook, encode_codes
from azsim.compress.stream import HEADER_BYTES
from azsim.compress.survey import ALL_FORMATS
from azsim.errors import CompressedStreamError


@given(bits=st.integers(1, 8), rows=st.integers(1, 9), cols=st.integers(1, 9),
       sparsity=st.sampled_from([0.0, 0.5, 0.95]), seed=st.integers(0, 999),
       fmt=st.sampled_from([f for f in ALL_FORMATS if f != "dense"]))
@settings(max_examples=120, deadline=None)
def test_codebook_streams_round_trip(bits, rows, cols, sparsity, seed, fmt):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((rows, cols))
    w[rng.random((rows, cols)) < sparsity] = 0.0
    cb = fit_codebook(w, bits)
    enc = encode_codebook(cb, fmt)
    table, _ = table_codes(cb)
    np.testing.assert_array_equal(decode_matrix(enc), table[cb.indices])
    # the reported size is the layout: header, 2^b table bytes, the index stream, in which an
    # index whose shared value codes to 0 is a zero
    stored = np.where(table[cb.indices] == 0, 0, cb.indices)
    inner = encode_codes(_signed_indices(stored, bits), bits, fmt)
    assert enc.nbytes == HEADER_BYTES + 2 ** bits + inner.nbytes


def test_a_codebook_value_that_codes_to_zero_is_a_zero_of_the_stream():
    """An 8-bit codebook on a random 45 x 45 matrix has shared values below half an int8
    step: their code is 0, so the datapath multiplies zeros there. The stream stored them as
    nonzero entries (2,025 of them where the codes have 1,996 nonzeros), entries the cost
    model never walked; now the stream's entries are the codes' nonzeros (mapping audit)."""
    w = np.random.default_rng(0).standard_normal((45, 45))
    cb = fit_codebook(w, 8)
    table, _ = table_codes(cb)
    codes = table[cb.indices]
    assert np.count_nonzero(codes) < np.count_nonzero(cb.indices)   # the case exists
    enc = encode_codebook(cb, "csr")
    assert enc.symbols == np.count_nonzero(codes)
    np.testing.assert_array_equal(decode_matrix(enc), codes)


def test_corrupted_codebook_stream_raises():
    cb = fit_codebook(np.random.default_rng(0).standard_normal((16, 16)), 4)
    enc = encode_codebook(cb, "rle")
    bad = bytearray(enc.stream)
    bad[-5] ^= 0xFF
    with pytest.raises(CompressedStreamError):
        decode_matrix(type(enc)(enc.format, bytes(bad), enc.shape, enc.bits, enc.symbols,
                                enc.index_bits, enc.value_bits))


def _run(*overrides, **kw):
    kw.setdefault("model", "tiny")   # mechanics on the small untrained preset (fast)
    return azsim.simulate(overrides=list(overrides), **kw).to_dict()


def test_pruned_sparse_model_reports_its_compression():
    dense = _run()
    sparse = _run("model.sparsity=0.8", 'model.weight_format="rle"', bits=4)
    assert sparse["model"]["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert sparse["model"]["format"] == "rle"
    assert sparse["model"]["compressed_bytes"] < 0.3 * dense["model"]["compressed_bytes"]
    assert sparse["compute"]["macs_issued"] < 0.4 * dense["compute"]["macs_issued"]
    for row in sparse["layers"]:
        if row["name"] != "pred.embed":
            assert row["weight_format"] == "rle"
            # rle's symbols: the nonzeros and the padding entries of long zero runs
            assert row["weight_symbols"] >= row["weight_nnz"] > 0
            assert "decode_symbols" not in row   # only the charged decoded_symbols


def test_streaming_a_sparse_model_cuts_dram_traffic():
    dense = _run("hw.sram_bytes=4096", "hw.stream_tile_bytes=1024")
    sparse = _run("hw.sram_bytes=4096", "hw.stream_tile_bytes=1024", "model.sparsity=0.9",
                  'model.weight_format="bitmask"')
    assert sparse["traffic"]["dram_read_bytes"] < 0.3 * dense["traffic"]["dram_read_bytes"]
    assert sparse["energy"]["breakdown_uj"]["dram"] < dense["energy"]["breakdown_uj"]["dram"]


@pytest.mark.parametrize("extra", [["model.weight_bits=3"], ['model.quantizer="codebook"',
                                                            "model.weight_bits=4"],
                                   ['model.prune="nm:2:4"', 'model.weight_format="csr"'],
                                   ['model.prune="balanced:8"', "model.sparsity=0.5"],
                                   ["model.weight_bits=1", 'model.weight_format="bitmask"',
                                    "model.sparsity=0.5"]])
def test_every_compression_runs_in_the_integer_model(extra):
    d = _run(*extra)
    assert d["latency"]["cycles"] > 0
    assert d["model"]["compressed_bytes"] > 0


def test_compress_command_json(cli):
    code, out, _ = cli("compress", "--bits", "4", "--sparsity", "0.8", "--json", "-")
    data = json.loads(out)
    assert [f["name"] for f in data["formats"]] == list(ALL_FORMATS)
    for f in data["formats"]:
        assert {"name", "bytes", "bits_per_weight", "roundtrip_exact"} <= set(f)
        assert f["roundtrip_exact"] is True
    assert data["sparsity"] == pytest.approx(0.8, abs=1e-3)


def test_compress_gptq_is_the_stream_run_on_a_test_set_executes(cli, shipped_test_head):
    """gptq's codes depend on the calibration data: compress calibrates as eval and run
    --test do, says so, and its bytes are that run's matrices' (an audit found the README's
    "run's encoded size is these bytes" false for run on WAV files, which calibrates on its
    shipped WAVs; the output now names the calibration)."""
    import azsim
    flags = ("--model", "tiny", "--bits", "4", "--sparsity", "0.5", "--gptq", "--format", "rle")
    code, out, _ = cli("compress", *flags, "--json", "-")
    data = json.loads(out)
    assert code in (0, None) and "shipped dev calibration set" in data["calibration"]
    run = azsim.simulate(model="tiny", bits=4, testset=str(shipped_test_head(1)), overrides=[
        "model.sparsity=0.5", 'model.quantizer="gptq"', 'model.weight_format="rle"']).to_dict()
    matrices = sum(r["weight_stream_bytes"] for r in run["layers"] if r["kind"] != "embedding")
    assert data["formats"][0]["bytes"] == matrices
    code, out, _ = cli("compress", "--model", "tiny", "--bits", "4", "--json", "-")
    assert json.loads(out)["calibration"] is None   # nothing calibrated: no data needed


def test_compress_bad_inputs(cli, tmp_path):
    floats = tmp_path / "f.npy"
    np.save(floats, np.zeros((2, 2), np.float32))
    for argv, fragment in [(["compress", "--bits", "0"], "weight_bits = 0"),
                           (["compress", "--bits", "9"], "weight_bits = 9"),
                           (["compress", "--sparsity", "1.5"], "sparsity = 1.5"),
                           (["compress", "--format", "zip"], "zip"),
                           (["compress", "--weights", str(floats)], "float32")]:
        code, _, err = cli(*argv)
        assert code == 2 and len(err.strip().splitlines()) == 1 and fragment in err, (argv, err)


def test_saved_streams_decode_and_corruption_is_one_line(cli, tmp_path):
    code, _, _ = cli("compress", "--model", "tiny", "--bits", "4", "--sparsity", "0.8", "--save",
                     str(tmp_path))
    files = sorted(tmp_path.glob("*.azw"))
    assert len(files) == 9 * len(ALL_FORMATS)
    good = tmp_path / "enc.0.w_x.rle.azw"
    code, out, _ = cli("decode", str(good), "--json", "-", "--out", str(tmp_path / "c.npy"))
    info = json.loads(out)
    assert info["format"] == "rle" and info["bits"] == 4 and info["bytes"] == good.stat().st_size
    assert np.load(tmp_path / "c.npy").shape == tuple(info["shape"])
    data = good.read_bytes()
    bad = tmp_path / "bad.azw"
    for damaged in (data[:-5], data[:30] + bytes([data[30] ^ 4]) + data[31:], b"junk"):
        bad.write_bytes(damaged)
        code, _, err = cli("decode", str(bad))
        assert code == 2 and len(err.strip().splitlines()) == 1 and "bad.azw" in err


def test_one_bit_dense_with_zeros_is_refused_by_name_and_skipped_in_all(cli):
    code, _, err = cli("compress", "--bits", "1", "--sparsity", "0.5", "--format", "dense")
    assert code == 2 and "1 bit" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli("compress", "--bits", "1", "--sparsity", "0.5", "--json", "-")
    data = json.loads(out)
    assert [f["name"] for f in data["formats"]] == [f for f in ALL_FORMATS if f != "dense"]
    assert "-1/+1" in data["formats_skipped"]["dense"]   # said, not dropped silently
    code, out, _ = cli("compress", "--bits", "1", "--sparsity", "0.5")
    assert "dense" in out and "not encoded: 1-bit dense holds only -1/+1" in out
