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
    m, k, n, r, c = 1, 96, 64, 8, 16   # full folds (partial ones: the test after this one)
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


@pytest.mark.parametrize("df", ["ws", "os"])
def test_a_partial_fold_lends_no_feed_time_to_a_full_one(df):
    """Each fold waits for its own weights: a partial fold's slack does not speed up a full
    one (audit: the feed was spread evenly over the folds). K = 17, N = 16 on 16 x 16 ws at
    8 B/cycle: the 256-weight fold loads in 32 cycles, the 16-weight one within its 16."""
    feed = 17 * 16 / 8.0
    if df == "ws":
        assert fed_gemm_cycles(1, 17, 16, 16, 16, "ws", feed) == (32 + 31) + (16 + 31)
    else:   # N = 17 on 16 columns: a 16-column block (K x 16 weights) and a 1-column one
        feed = 16 * 17 / 8.0      # K = 16
        full = 16 * 16 / 8.0      # the full block's feed, 32 cycles > K = 16
        per_fold = 16 + 16 + 16 - 2
        assert fed_gemm_cycles(1, 16, 17, 16, 16, "os", feed) == 2 * per_fold + (full - 16)
    # fed again for every row fold in os (M > R): each row fold streams the whole matrix
    assert fed_gemm_cycles(32, 16, 16, 16, 16, "os", 64.0) == \
        gemm_cycles(32, 16, 16, 16, 16, "os") + 2 * (64 - 16)


def test_a_pruned_one_bit_matrix_packs_as_two_bits():
    """A pruned 1-bit grid matrix holds -1, 0, +1 (2 bits decoded, as SRAM holds it); the
    zeros flow through a systolic array, so a cell packs 4 of them, not 8 (audit: tiny at
    --bits 1 --sparsity 0.5 took half the cycles of the same values at 2 bits). An unpruned
    1-bit matrix packs 8; a codebook's int8 shared values do not pack."""
    from azsim.config import load_hardware_config
    from azsim.cost.systolic import cell_pack
    from azsim.execute.events import LayerInfo

    hw = load_hardware_config("az-edge", ["hw.array=systolic", "hw.zero_handling=gate",
                                          "hw.precision_scalable=true"])

    def info(bits, nnz, fmt="rle", mac_bits=None):
        return LayerInfo("l", "linear", 16, 16, 256, nnz, bits, 64, 0, fmt, mac_bits)
    assert cell_pack(info(1, 128), hw) == cell_pack(info(2, 128), hw) == 4
    assert cell_pack(info(1, 256, "dense"), hw) == 8
    assert cell_pack(info(4, 128), hw) == 2
    assert cell_pack(info(1, 128, "codebook+rle", mac_bits=8), hw) == 1


# (skip_activations walks the zero weights too, but its cycles follow each model's own
# activations, which differ between the two widths)
@pytest.mark.parametrize("zero_handling, same", [("none", True), ("gate", True),
                                                 ("skip_both", False)])
def test_a_pe_arrays_lanes_walking_zeros_pack_a_pruned_one_bit_matrix_as_two_bits(
        zero_handling, same):
    """Where the PE array's lanes walk the zeros (weights not skipped), a slot holds the
    decoded -1/0/+1 of a pruned 1-bit matrix, 2 bits, as the systolic array's cells do: tiny
    at zero_handling "none" took 230,038 cycles at 1 bit against 505,382 at 2 bits with two
    lanes a PE, the same walk. Skipping zero weights, the lanes see the +-1 alone."""
    import azsim
    runs = {bits: azsim.simulate(model="tiny", overrides=[
        f"model.weight_bits={bits}", "model.sparsity=0.5", 'model.weight_format="bitmask"',
        "hw.precision_scalable=true", f'hw.zero_handling="{zero_handling}"',
        "hw.sram_bytes_per_cycle=4096", "hw.lanes_per_pe=2"]).to_dict() for bits in (1, 2)}
    enc = {bits: next(lay for lay in r["layers"] if lay["name"] == "enc.0.lstm")
           for bits, r in runs.items()}
    assert enc[1]["bound"] == "compute"
    assert (enc[1]["cycles"] == enc[2]["cycles"]) == same, (enc[1]["cycles"], enc[2]["cycles"])
    assert enc[1]["utilization"] <= 1.0
    # and a MAC costs what its slot's width does: 2 bits where the zeros flow through it
    from azsim.config import energy_table_of, load_hardware_config
    from azsim.cost.energy import action_energies
    hw = load_hardware_config("az-edge", ["hw.precision_scalable=true",
                                          f'hw.zero_handling="{zero_handling}"'])
    en = action_energies(energy_table_of(hw), hw)
    mac_pj = runs[1]["energy"]["actions"]["mac"]["energy_pj"]
    assert mac_pj == pytest.approx(en.mac_pj_at(2 if same else 1)), mac_pj
