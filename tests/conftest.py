"""Test setup.

Tests import the INSTALLED azsim (the source tree's ``azsim/`` lacks ``azsim.kernels``, which
installs from ``kernels/``), so pytest runs in importlib mode and only ``tests/`` itself goes on
``sys.path``, for the NumPy twins in ``tests/reference``.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

# As the CLI does, before NumPy loads its BLAS: one BLAS thread for in-process runs (the cli
# fixture, Dask's in-process cluster). The float model no longer depends on it (its products
# run in a fixed order, kernels/fmatmul.py); this only keeps the frontend's BLAS product alike.
from azsim.threads import pin_threads  # noqa: E402

pin_threads()

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def one_line_error(result, *words) -> str:
    """``(code, out, err)`` of a CLI call: exit status 2 and one ``azsim: error:`` line on
    stderr holding every one of ``words``; that line."""
    code, out, err = result
    assert code == 2, (code, out[-300:], err[-600:])
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("azsim: error: "), err
    for w in words:
        assert str(w) in lines[0], (w, lines[0])
    return lines[0]


def random_codes(rng, shape, bits: int, sparsity: float) -> np.ndarray:
    """Random int8 weight codes in the ``bits``-bit domain (1 bit: +-1), a ``sparsity`` share
    of them zero: the matrices the weight-stream tests encode."""
    from azsim.compress.format_base import value_range
    lo, hi = value_range(bits)
    q = rng.integers(lo, hi + 1, shape)
    if bits == 1:
        q = np.where(rng.random(shape) < 0.5, -1, 1)
    q[rng.random(shape) < sparsity] = 0
    return q.astype(np.int8)


@pytest.fixture
def cli(capsys):
    """Run the azsim CLI in-process: cli("run", "--bits", "4") -> (exit code, stdout, stderr)."""
    from azsim.cli import main

    def call(*argv):
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
            raise SystemExit(0)
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err
    return call


@pytest.fixture
def shipped_test_head(tmp_path):
    """A corpus-split .npz of the first n shipped test utterances: head(n) -> its path."""
    import importlib.resources

    import numpy as np

    def head(n: int):
        src = importlib.resources.files("azsim") / "data" / "testset" / "test.npz"
        with np.load(str(src)) as z:
            a = {k: z[k] for k in z.files}
        off = a["offsets"]
        feats = [a["feature_offset"][k] + a["features_u8"][off[k]:off[k + 1]].astype(np.float32)
                 * a["feature_step"][k] for k in range(n)]
        path = tmp_path / f"head{n}.npz"
        np.savez(path, features=np.concatenate(feats).astype(np.float16), offsets=off[:n + 1],
                 texts=a["texts"][:n])
        return path
    return head
