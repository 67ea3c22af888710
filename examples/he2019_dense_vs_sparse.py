"""Regenerate the README's table: he2019 on az-edge, 8-bit dense against 4-bit 80 % sparse.

    python examples/he2019_dense_vs_sparse.py [--format rle]

Uses only the public API (``azsim.simulate``); about 20 s on 2 cores.
"""
import argparse

import azsim

ROWS = [
    ("weights, MB", lambda d: d["model"]["compressed_bytes"] / 1e6),
    ("latency, cycles (M)", lambda d: d["latency"]["cycles"] / 1e6),
    ("real-time factor", lambda d: d["latency"]["rtf"]),
    ("per-frame p99, ms", lambda d: d["latency"]["per_frame_ms_p99"]),
    ("DRAM read, GB", lambda d: d["traffic"]["dram_read_bytes"] / 1e9),
    ("SRAM read, MB", lambda d: d["traffic"]["sram_read_bytes"] / 1e6),
    ("MACs issued (G)", lambda d: d["compute"]["macs_issued"] / 1e9),
    ("energy, mJ", lambda d: d["energy"]["total_uj"] / 1e3),
    ("  DRAM energy, mJ", lambda d: d["energy"]["breakdown_uj"]["dram"] / 1e3),
    ("  MAC energy, mJ", lambda d: d["energy"]["breakdown_uj"]["mac"] / 1e3),
    ("  decoder energy, mJ", lambda d: d["energy"]["breakdown_uj"]["decoder"] / 1e3),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="rle", help="weight format of the sparse model")
    args = parser.parse_args()
    dense = azsim.simulate(model="he2019").to_dict()
    sparse = azsim.simulate(model="he2019", bits=4, overrides=[
        "model.sparsity=0.8", f'model.weight_format="{args.format}"']).to_dict()
    print(f"{'':<34}{'8-bit dense':>16}{'4-bit 80 % sparse':>18}{'ratio':>8}")
    for name, get in ROWS:
        a, b = get(dense), get(sparse)
        print(f"{name:<34}{a:>16,.3f}{b:>18,.3f}{a / b if b else 0:>7.2f}x")


if __name__ == "__main__":
    main()
