"""Regenerate the README's table: he2019 on az-edge, 8-bit dense against 4-bit 80 % sparse.

    python examples/he2019_dense_vs_sparse.py [--format rle]

Uses only the public API (``azsim.simulate``). Four processor variants of two models; the
integer run of each model is shared by its variants (``cache``), so the models run once each.
A few minutes on 2 cores (most of it generating, calibrating and running the 120 M-parameter
model).
"""
import argparse

import azsim

ROWS = [
    ("weights, MB", lambda d: d["model"]["compressed_bytes"] / 1e6),
    # biases and requantization multipliers and shifts, beside the weights in every count
    ("per-row parameters, MB", lambda d: d["model"]["weight_side_bytes"] / 1e6),
    ("latency, cycles (M)", lambda d: d["latency"]["cycles"] / 1e6),
    ("real-time factor", lambda d: d["latency"]["rtf"]),
    ("per-frame p50, ms", lambda d: d["latency"]["per_frame_ms_p50"]),
    ("per-frame p99, ms", lambda d: d["latency"]["per_frame_ms_p99"]),
    ("DRAM stall, cycles (M)", lambda d: d["latency"]["dram_stall_cycles"] / 1e6),
    ("DRAM read, GB", lambda d: d["traffic"]["dram_read_bytes"] / 1e9),
    ("SRAM read, MB", lambda d: d["traffic"]["sram_read_bytes"] / 1e6),
    ("MACs issued (G)", lambda d: d["compute"]["macs_issued"] / 1e9),
    ("energy, mJ", lambda d: d["energy"]["total_uj"] / 1e3),
    ("  DRAM, mJ", lambda d: d["energy"]["components_uj"]["dram"] / 1e3),
    ("  SRAM weights, mJ", lambda d: d["energy"]["components_uj"]["sram_weights"] / 1e3),
    ("  MAC, mJ", lambda d: d["energy"]["components_uj"]["mac"] / 1e3),
    ("  decoder, mJ", lambda d: d["energy"]["components_uj"]["decoder"] / 1e3),
    ("  leakage, mJ", lambda d: d["energy"]["components_uj"]["leakage"] / 1e3),
]


def _bounds(d) -> str:
    """The resource that bounds most of the cycles."""
    by = {}
    for row in d["layers"]:
        by[row["bound_resource"]] = by.get(row["bound_resource"], 0) + row["cycles"]
    top = max(by, key=by.get)
    return f"{top} {100 * by[top] / max(sum(by.values()), 1):.0f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="rle", help="weight format of the sparse model")
    args = parser.parse_args()
    cache: dict = {}
    sparse = ["model.sparsity=0.8", f'model.weight_format="{args.format}"']
    runs = {
        "8-bit dense": azsim.simulate(model="he2019", cache=cache),
        "4-bit 80 % sparse": azsim.simulate(model="he2019", bits=4, overrides=sparse,
                                            cache=cache),
        "sparse, SRAM->PE": azsim.simulate(model="he2019", bits=4, cache=cache, overrides=[
            *sparse, 'hw.decoder_location="sram_to_pe"']),
        "dense, systolic": azsim.simulate(model="he2019", cache=cache, overrides=[
            "hw.array=systolic", "hw.zero_handling=gate"]),
    }
    data = {name: r.to_dict() for name, r in runs.items()}
    dense, sp = data["8-bit dense"], data["4-bit 80 % sparse"]
    print(f"{'':<24}" + "".join(f"{name:>19}" for name in data) + f"{'dense/sparse':>14}")
    for label, get in ROWS:
        vals = [get(d) for d in data.values()]
        ratio = get(dense) / get(sp) if get(sp) else 0.0
        print(f"{label:<24}" + "".join(f"{v:>19,.3f}" for v in vals) + f"{ratio:>13.2f}x")
    print(f"{'bound (share of cycles)':<24}" + "".join(f"{_bounds(d):>19}" for d in data.values()))


if __name__ == "__main__":
    main()
