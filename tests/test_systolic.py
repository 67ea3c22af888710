"""The dense systolic baseline against SCALE-Sim v3 (issue #4).

The golden numbers are SCALE-Sim v3's "Total Cycles" (scalesim 3.0.0 from PyPI, in a scratch
venv, ideal memory so no stall cycles; benchmarks/scalesim_compare.py reruns them), which is
the 0-based index of the cycle of the last output: azsim counts cycles, one more.
"""
import pytest

from azsim.cost.systolic import folds, gemm_cycles

# (rows, cols, dataflow, M, N, K, SCALE-Sim v3 Total Cycles)
SCALESIM_V3 = [
    (8, 8, "ws", 1, 64, 64, 1471), (8, 8, "ws", 16, 64, 64, 2431), (8, 8, "ws", 1, 50, 70, 1448),
    (4, 16, "ws", 3, 33, 17, 374), (8, 8, "os", 1, 64, 64, 623), (8, 8, "os", 16, 64, 64, 1247),
    (8, 8, "os", 1, 50, 70, 587), (4, 16, "os", 3, 33, 17, 104), (4, 16, "os", 20, 33, 17, 524),
]


@pytest.mark.parametrize("rows,cols,df,m,n,k,total", SCALESIM_V3)
def test_matches_scalesim_v3(rows, cols, df, m, n, k, total):
    assert gemm_cycles(m, k, n, rows, cols, df) == total + 1


def test_fold_counts():
    assert folds(1, 64, 64, 8, 8, "ws") == 64 and folds(1, 64, 64, 8, 8, "os") == 8
    assert folds(20, 17, 33, 4, 16, "os") == 15


def test_monotone_in_work_and_array_size():
    for df in ("ws", "os"):
        assert gemm_cycles(1, 640, 8192, 16, 16, df) <= gemm_cycles(1, 1280, 8192, 16, 16, df)
        assert gemm_cycles(4, 640, 2048, 32, 32, df) <= gemm_cycles(4, 640, 2048, 16, 16, df)
    # Batch-1 is where weight stationary wastes the array: each fold streams one vector.
    per_vector_b1 = gemm_cycles(1, 1024, 1024, 32, 32, "ws")
    per_vector_b64 = gemm_cycles(64, 1024, 1024, 32, 32, "ws") / 64
    assert per_vector_b64 < per_vector_b1 / 10


def test_bad_dimensions_raise():
    with pytest.raises(ValueError):
        gemm_cycles(0, 4, 4, 2, 2, "ws")
    with pytest.raises(ValueError):
        gemm_cycles(1, 4, 4, 2, 2, "is")


# ------------------------------------------- packing, feeding, traffic (2026-12-06 audit)

from azsim.cost.systolic import fed_gemm_cycles, row_col_folds  # noqa: E402


def _ceil(a, b):
    return -(-a // b)


@pytest.mark.parametrize("df", ["ws", "os"])
@pytest.mark.parametrize("pack", [1, 2, 4, 8])
def test_a_packed_array_has_more_columns_of_outputs_but_its_physical_skew(df, pack):
    """floor(8/b) weights a cell: a fold covers pack x C outputs, and the inputs still cross
    C physical columns (the skew), the weights still load over R cycles. Until 2026-12-06 it
    was costed as a pack x C array: +34 % at 4 bits (16 x 16 ws), +102 % at 2 bits."""
    m, k, n, r, c = 1, 304, 256, 16, 16
    per_fold = 2 * r + c + m - 2 if df == "ws" else r + c + k - 2
    row_folds = _ceil(k, r) if df == "ws" else _ceil(m, r)
    assert row_col_folds(m, k, n, r, c, df, pack) == (row_folds, _ceil(n, pack * c))
    assert gemm_cycles(m, k, n, r, c, df, pack) == row_folds * _ceil(n, pack * c) * per_fold
    assert folds(m, k, n, r, c, df, pack) == row_folds * _ceil(n, pack * c)


@pytest.mark.parametrize("df", ["ws", "os"])
def test_a_slow_feed_stretches_each_folds_weight_phase(df):
    m, k, n, r, c = 1, 100, 70, 8, 16
    base = gemm_cycles(m, k, n, r, c, df)
    n_folds = folds(m, k, n, r, c, df)
    phase = r if df == "ws" else k
    assert fed_gemm_cycles(m, k, n, r, c, df, 0.0) == base
    assert fed_gemm_cycles(m, k, n, r, c, df, n_folds * phase) == base   # just keeps up
    slow = n_folds * (phase + 5)
    assert fed_gemm_cycles(m, k, n, r, c, df, slow) == base + 5 * n_folds
    # more feed time never gives fewer cycles
    feeds = [0, 10, 100, 1e3, 1e4, 1e5]
    got = [fed_gemm_cycles(m, k, n, r, c, df, f) for f in feeds]
    assert got == sorted(got)
