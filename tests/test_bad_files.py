"""Bad files and paths found by fuzzing the CLI: each is one line ``azsim: error: ...`` naming
the input, exit status 2, no traceback, and no work done (or lost) before the error."""
import importlib.resources
import os
import struct
import subprocess
import sys

import numpy as np
import pytest
from conftest import one_line_error

from azsim.compress import pipeline, stream
from azsim.compress.format_base import FORMATS
from azsim.config import load_model_config
from azsim.errors import CompressedStreamError, WeightsError
from azsim.model.weights import load_weights

SHIPPED = importlib.resources.files("azsim") / "data"


def _small_arrays() -> dict:
    with np.load(str(SHIPPED / "models" / "small.npz")) as z:
        return {k: z[k] for k in z.files}


def _save(path, arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


# ---- weights files ---------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["run", "eval", "soup"])
def test_a_npy_array_as_weights_is_named(cli, tmp_path, command):
    p = tmp_path / "arr.npy"
    np.save(p, np.zeros(3, np.float32))
    argv = {"run": ("run", "--weights", str(p)), "eval": ("eval", "--weights", str(p)),
            "soup": ("soup", str(tmp_path / "out.npz"), "small", str(p))}[command]
    one_line_error(cli(*argv), p, ".npy array", ".npz archive")
    assert not (tmp_path / "out.npz").exists()


def test_a_text_file_as_weights_says_what_is_wrong(cli, tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("these are not weights\n")
    line = one_line_error(cli("run", "--weights", str(p)), p, "not a zip archive")
    assert "pickle" not in line


def test_compress_weights_that_are_no_arrays_say_so_in_one_line(cli, tmp_path):
    """azsim compress --weights used to print numpy's sentences about allow_pickle."""
    p = tmp_path / "garbage.npz"
    p.write_text("these are not weights\n")
    line = one_line_error(cli("compress", "--weights", str(p)), p, "not a zip archive",
                           "integer matrices")
    assert "pickle" not in line
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{}, {}], dtype=object), allow_pickle=True)
    line = one_line_error(cli("compress", "--weights", str(objects)), objects,
                           "holds Python objects")
    assert "allow_pickle" not in line
    good = tmp_path / "codes.npy"   # a .npy stays an input under any name
    np.save(good, np.array([[1, -2], [3, 0]], np.int8))
    good.rename(tmp_path / "codes.bin")
    code, out, err = cli("compress", "--weights", str(tmp_path / "codes.bin"), "--format", "csr")
    assert code in (0, None) and "1 matrices, 4 weights" in out, err


def test_an_archive_of_other_things_is_named(tmp_path):
    import zipfile
    p = tmp_path / "other.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(WeightsError, match="readme.txt"):
        load_weights(p, load_model_config("small", []))
    a = _small_arrays()
    a["joint.b"] = np.array([object()] * 3, dtype=object)
    with pytest.raises(WeightsError, match="joint.b holds Python objects"):
        load_weights(_save(tmp_path / "obj.npz", a), load_model_config("small", []))


def _std(value):
    def damage(a):
        a["frontend.std"] = a["frontend.std"].copy()
        a["frontend.std"][3] = value
    return damage


def _scale(name, factor):
    def damage(a):
        a[name] = (a[name].astype(np.float64) * factor).astype(np.float32)
    return damage


@pytest.mark.parametrize("damage,words", [
    (_std(0.0), ("frontend.std", "channel 3", "> 0")),          # -> requantization scales ...
    (lambda a: a.__setitem__("frontend.std", -a["frontend.std"]),
     ("frontend.std", "> 0")),                                  # ran: silently wrong features
    (_std(1e-10), ("frontend.std", "channel 3", "std >=")),     # -> requantization scale too large
    (_scale("joint.w_out", 1e30), ("joint.w_out", "at most 255")),
    (_scale("enc.1.w_r", 1e4), ("enc.1.w_r", "at most 255")),
    # weights so small that the bias, at their accumulator's scale, overflows int32: the
    # message named the array but not the file (a CLI audit, 2026-12-06)
    (_scale("enc.0.w_x", 1e-30), ("enc.0.b[", "accumulator's scale")),
    (lambda a: a.__setitem__("format_version", np.array("abc")),
     ("format_version", "'abc'", "integer 1")),                 # -> ValueError from int()
    (lambda a: a.__setitem__("format_version", np.array(1.0)),
     ("format_version", "float64", "integer 1")),
])
def test_weights_that_would_fail_downstream_are_refused_on_loading(cli, tmp_path, damage, words):
    a = _small_arrays()
    damage(a)
    p = _save(tmp_path / "bad.npz", a)
    one_line_error(cli("run", "--weights", p), p, *words)


def test_every_shipped_weights_file_passes_the_new_checks():
    cfg = load_model_config("small", [])
    for f in (SHIPPED / "models").iterdir():
        if f.name.endswith(".npz"):
            load_weights(str(f), cfg, allow_encoder_only=True)


def test_weights_just_inside_the_bound_quantize_at_any_bit_width(tmp_path):
    """The bound is sufficient: the shipped model scaled up to it still builds its integer
    model at 1 and 2 bits, where the requantization scales are largest."""
    from azsim.api import simulate
    from azsim.model.weights import weight_magnitude_bound
    cfg = load_model_config("small", [])
    bound = weight_magnitude_bound(cfg)
    assert 250 < bound < 260          # sqrt(127 * 2^17 / 256 cells) for small's projection
    a = _small_arrays()
    top = max(float(np.abs(v).max()) for k, v in a.items()
              if k != "format_version" and not k.startswith("frontend."))
    for k in a:
        if k != "format_version" and not k.startswith("frontend."):
            a[k] = (a[k].astype(np.float64) * (0.99 * bound / top)).astype(np.float32)
    p = _save(tmp_path / "edge.npz", a)
    wav = str(SHIPPED / "audio" / "test000_set.wav")
    with np.errstate(over="ignore"):   # the float model's sigmoids saturate
        for bits in (1, 2):
            simulate(weights=p, bits=bits, audio=[wav])


# ---- weight streams --------------------------------------------------------------------------

def _forged(fmt: str, rows: int, cols: int) -> bytes:
    """A stream from the project's encoder with its header's shape patched and CRC redone."""
    q = np.zeros((4, 8), np.int8)
    q[0, 1], q[2, 5] = 3, -2
    s = bytearray(pipeline.encode_codes(q, 4, fmt).stream)
    struct.pack_into("<II", s, 8, rows, cols)                            # rows, cols
    struct.pack_into("<I", s, 20, stream.stream_crc(bytes(s[:stream.HEADER_BYTES]),
                                                    bytes(s[stream.HEADER_BYTES:])))
    return bytes(s)


def test_a_forged_golomb_shape_is_refused_before_allocating(cli, tmp_path):
    p = tmp_path / "w.golomb.azw"
    p.write_bytes(_forged("golomb", 2 ** 31, 53))       # 106 GiB of int8 codes
    one_line_error(cli("decode", str(p)), p, "2147483648x53", str(1 << 28))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_decoder_bounds_the_declared_shape(fmt):
    forged = _forged(fmt, 2 ** 31, 2 ** 31 - 1)
    with pytest.raises(CompressedStreamError, match="declares a 2147483648x2147483647 matrix"):
        FORMATS[fmt].decode(forged)
    with pytest.raises(CompressedStreamError, match="declares"):
        pipeline.decode_stream(forged)


# ---- output paths ----------------------------------------------------------------------------

@pytest.fixture
def csr_stream(tmp_path):
    q = np.zeros((4, 8), np.int8)
    q[0, 1], q[2, 5] = 3, -2
    p = tmp_path / "a.csr.azw"
    p.write_bytes(pipeline.encode_codes(q, 4, "csr").stream)
    return p, q


def test_decode_out_is_checked_before_decoding(cli, tmp_path, csr_stream, monkeypatch):
    src, _ = csr_stream
    monkeypatch.setattr(pipeline, "decode_stream",
                        lambda s: pytest.fail("decoded before checking --out"))
    one_line_error(cli("decode", str(src), "--out", str(tmp_path / "nodir" / "x.npy")),
                    "--out", "nodir")
    (tmp_path / "adir").mkdir()
    one_line_error(cli("decode", str(src), "--out", str(tmp_path / "adir")), "--out",
                    "adir", "folder")
    one_line_error(cli("decode", str(src), "--out", str(tmp_path / "codes")), "--out",
                    "codes", ".npy")
    one_line_error(cli("decode", str(src), "--out", ""), "--out", "empty")
    assert sorted(os.listdir(tmp_path)) == ["a.csr.azw", "adir"]


def test_decode_out_says_what_it_writes(cli, tmp_path, csr_stream):
    src, q = csr_stream
    dest = tmp_path / "codes.npy"
    code, out, err = cli("decode", str(src), "--out", str(dest))
    assert code == 0 and err == ""
    assert f"-> {dest}" in out
    np.testing.assert_array_equal(np.load(dest), q)


@pytest.mark.parametrize("command,work", [
    (("run",), "azsim.api.simulate"),
    (("eval", "--test", "names"), "azsim.evaluate.evaluate_sets"),
    (("validate", "eie"), "azsim.validate.run_suite"),
    (("compress", "--format", "csr"), "azsim.compress.survey.survey"),
    (("decode", "STREAM"), "azsim.compress.pipeline.decode_stream"),
])
def test_json_to_a_folder_is_refused_before_the_work(cli, tmp_path, csr_stream, monkeypatch,
                                                     command, work):
    monkeypatch.setattr(work, lambda *a, **k: pytest.fail(f"{work} ran before --json was "
                                                          "checked"))
    argv = [str(csr_stream[0]) if a == "STREAM" else a for a in command]
    folder = tmp_path / "out"
    folder.mkdir()
    one_line_error(cli(*argv, "--json", str(folder)), "--json", folder, "folder")
    one_line_error(cli(*argv, "--json", ""), "--json", "empty")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_json_write_that_fails_late_keeps_the_report(cli):
    wav = str(SHIPPED / "audio" / "test000_set.wav")
    code, out, err = cli("run", "--audio", wav, "--json", "/dev/full")
    one_line_error((code, out, err), "--json /dev/full", "No space left")
    assert "test000_set" in out             # the text report was printed first


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["run", "decode"])
def test_stdout_that_cannot_be_written_is_one_line(tmp_path, csr_stream, command):
    argv = (["run", "--audio", str(SHIPPED / "audio" / "test000_set.wav")]
            if command == "run" else ["decode", str(csr_stream[0])])
    with open("/dev/full", "w") as full:
        # cwd=tmp_path: "python -m" puts the working directory first on sys.path, and a
        # checkout's azsim/ (whose kernels install from ./kernels) would shadow the install
        proc = subprocess.run([sys.executable, "-m", "azsim.cli", *argv], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300, cwd=tmp_path)
    one_line_error((proc.returncode, "", proc.stderr), "standard output", "No space left")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", ["compress", "decode"])
def test_a_stdout_that_fails_keeps_the_files_written(tmp_path, csr_stream, command):
    """The file outputs are written before the terminal's: `azsim compress --save D --json
    c.json >/dev/full` exited 2 with no stream and no record, `decode --out` with no .npy
    (an audit, 2026-12-07)."""
    (tmp_path / "d").mkdir()
    argv = (["compress", "--model", "tiny", "--format", "rle", "--save", "d", "--json",
             "c.json"] if command == "compress"
            else ["decode", str(csr_stream[0]), "--out", "o.npy", "--json", "c.json"])
    with open("/dev/full", "w") as full:
        # cwd=tmp_path: "python -m" puts the working directory first on sys.path (see above)
        proc = subprocess.run([sys.executable, "-m", "azsim.cli", *argv], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=300, cwd=tmp_path)
    one_line_error((proc.returncode, "", proc.stderr), "standard output", "No space left")
    assert (tmp_path / "c.json").read_text().lstrip().startswith("{")
    if command == "compress":
        assert len(list((tmp_path / "d").glob("*.rle.azw"))) == 9
    else:
        assert (tmp_path / "o.npy").stat().st_size > 0


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("stderr", ["closed", "full"])
def test_a_stderr_that_cannot_be_written_does_not_lose_the_report(tmp_path, stderr):
    """Progress, warnings and notes go to stderr; one that is closed (2>&-) or full made the
    run exit 1 with no report (a CLI audit, 2026-12-06). The report is the result."""
    wav = str(SHIPPED / "audio" / "test000_set.wav")
    redirect = "2>&-" if stderr == "closed" else "2>/dev/full"
    # cwd=tmp_path: "python -m" puts the working directory first on sys.path (see above)
    proc = subprocess.run(f'"{sys.executable}" -m azsim.cli run --audio "{wav}" --json r.json '
                          f'{redirect}', shell=True, stdout=subprocess.PIPE, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0 and "test000_set" in proc.stdout
    assert (tmp_path / "r.json").stat().st_size > 0
    bad = subprocess.run(f'"{sys.executable}" -m azsim.cli run --bits 99 {redirect}', shell=True,
                         stdout=subprocess.PIPE, text=True, timeout=300, cwd=tmp_path)
    assert bad.returncode == 2     # the message is lost, the status is not


# ---- empty paths -----------------------------------------------------------------------------

@pytest.mark.parametrize("argv,words", [
    (("run", "--audio", ""), ("--audio ''", "empty")),
    (("run", "--weights", ""), ("--weights ''", "empty")),
    (("run", "--save-lattice", ""), ("--save-lattice ''", "empty")),
    (("eval", "--weights", ""), ("weights", "empty")),
    (("decode", ""), ("FILE.azw ''", "empty")),
])
def test_an_empty_path_is_called_empty(cli, argv, words):
    line = one_line_error(cli(*argv), *words)
    assert "directory" not in line.lower()
