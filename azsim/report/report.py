"""The Report: everything one simulation measured, as plain data, with units in the names.

``Report.to_dict()`` is the JSON record of ``azsim run --json`` (issue #2 schema; later
issues add fields, none may be removed). Renderers live next to this module.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..config import to_dict
from ..cost.first_model import PJ_PER_MW_S, sram_weight_footprint_bytes
from ..execute.events import FIELD
from ..model.metrics import error_rate

PJ_PER_UJ = 1e6


@dataclass(frozen=True)
class Report:
    data: dict

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def __getitem__(self, key):
        return self.data[key]


def _sparsity(qm) -> float:
    """Achieved sparsity over the pruned matrices (all but the embedding table)."""
    mats = [m for m in qm.matrices() if m.name != "pred.embed"]
    total = sum(m.size for m in mats)
    return 1.0 - sum(m.nnz for m in mats) / total if total else 0.0


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else 0.0


def build_report(*, version, cfg, hw, energies, qm, params, utts, results, costs, timelines,
                 residency, transcripts, references) -> Report:
    layers = results[0].events.layers
    clock_hz = hw.clock_mhz * 1e6
    audio_s = sum(u.seconds for u in utts)
    n_frames = sum(r.n_frames for r in results)

    def over_utts(k, attr):
        return float(sum(getattr(c[k], attr).sum() for c in costs))

    # Weight preload: resident layers are read from DRAM once, decoded once if the decoder sits
    # on the DRAM->SRAM path, and written into SRAM once (as stream or as decoded matrix).
    preload = {info.name: (info.weight_stream_bytes if info.name in residency.resident else 0)
               for info in layers}
    preload_sram = {info.name: (sram_weight_footprint_bytes(info, hw)
                                if info.name in residency.resident else 0) for info in layers}
    preload_symbols = {info.name: (info.weight_symbols if info.name in residency.resident
                                   and hw.decoder_location == "dram_to_sram"
                                   and info.kind != "embedding" else 0) for info in layers}
    leak_pj = sum(energies.leakage_mw * tl.busy_s * PJ_PER_MW_S for tl in timelines)
    total_cycles = int(sum(c.cycles.sum() for cs in costs for c in cs))
    layer_rows = []
    for k, info in enumerate(layers):
        counts = sum(r.events.counts[k].sum(axis=0) for r in results)
        cyc = int(sum(int(c[k].cycles.sum()) for c in costs))
        bound_cycles = {"compute": over_utts(k, "compute_cycles"),
                        "sram": over_utts(k, "sram_cycles"), "dram": over_utts(k, "dram_cycles"),
                        "decoder": over_utts(k, "decoder_cycles")}
        dram = over_utts(k, "dram_read_bytes") + preload[info.name]
        breakdown = {"mac": over_utts(k, "mac_pj"),
                     "sram": over_utts(k, "sram_pj") + preload_sram[info.name] * energies.sram_pj_per_byte,
                     "dram": over_utts(k, "dram_pj") + preload[info.name] * energies.dram_pj_per_byte,
                     "lut": over_utts(k, "lut_pj"),
                     "decoder": over_utts(k, "decoder_pj")
                     + preload_symbols[info.name] * energies.decode_symbol_pj}
        layer_rows.append({
            "name": info.name, "kind": info.kind, "shape": [info.n_out, info.n_in],
            "weight_bits": info.weight_bits, "weight_count": info.weight_count,
            "weight_nnz": info.weight_nnz, "weight_stream_bytes": info.weight_stream_bytes,
            "weight_format": info.weight_format, "weight_symbols": info.weight_symbols,
            "sparsity": 1.0 - info.weight_nnz / info.weight_count if info.weight_count else 0.0,
            "decode_symbols": int(counts[FIELD["decode_symbols"]]),
            "resident": info.name in residency.resident,
            "invocations": int(counts[FIELD["invocations"]]),
            "macs_dense": int(counts[FIELD["macs_dense"]]),
            "macs_effectual": int(counts[FIELD["macs_effectual"]]),
            "macs_issued": int(over_utts(k, "macs_issued")),
            "cycles": cyc, "bound": max(bound_cycles, key=bound_cycles.get) if cyc else "idle",
            "dram_read_bytes": int(dram),
            "sram_read_bytes": int(over_utts(k, "sram_read_bytes")),
            "sram_write_bytes": int(over_utts(k, "sram_write_bytes") + preload_sram[info.name]),
            "decoded_symbols": int(over_utts(k, "decoded_symbols") + preload_symbols[info.name]),
            "lut_lookups": int(counts[FIELD["lut_lookups"]]),
            "energy_uj": sum(breakdown.values()) / PJ_PER_UJ,
            "energy_breakdown_uj": {k2: v / PJ_PER_UJ for k2, v in breakdown.items()},
        })
    breakdown_uj = {key: sum(row["energy_breakdown_uj"][key] for row in layer_rows)
                    for key in ("mac", "sram", "dram", "lut", "decoder")}
    breakdown_uj["leakage"] = leak_pj / PJ_PER_UJ
    frame_ms = np.concatenate([tl.compute_s for tl in timelines]) * 1e3
    eos_ms = [tl.end_of_speech_latency_s * 1e3 for tl in timelines]
    macs_dense = sum(r["macs_dense"] for r in layer_rows)
    macs_issued = sum(r["macs_issued"] for r in layer_rows)
    utt_rows = []
    for u, r, tl, text, ref in zip(utts, results, timelines, transcripts, references):
        row = {"file": u.name, "seconds": u.seconds, "frames": r.n_frames, "transcript": text,
               "reference": ref, "cycles": int(np.round(tl.compute_s.sum() * clock_hz)),
               "rtf": float(tl.compute_s.sum() / u.seconds),
               "end_of_speech_ms": tl.end_of_speech_latency_s * 1e3,
               "frame_arrival_ms": (tl.arrival_s * 1e3).tolist(),
               "frame_compute_ms": (tl.compute_s * 1e3).tolist(),
               "token_frames": list(r.token_frames)}
        if ref is not None:
            row["wer"] = error_rate([ref], [text])
        utt_rows.append(row)
    data = {
        "azsim_version": version,
        "model": {"name": cfg.name, "params": params, "weight_bits": cfg.weight_bits,
                  "activation_bits": cfg.activation_bits, "quantizer": cfg.quantizer,
                  "prune": cfg.prune, "sparsity": _sparsity(qm), "format": cfg.weight_format,
                  "compressed_bytes": qm.weight_stream_bytes,
                  "weight_stream_bytes": qm.weight_stream_bytes, "config": to_dict(cfg)},
        "hardware": to_dict(hw),
        "audio": {"utterances": len(utts), "seconds": audio_s, "frames": n_frames,
                  "frame_ms": (cfg.encoder.stack_stride or cfg.encoder.stack_frames)
                  * cfg.frontend.hop_ms},
        "latency": {"cycles": total_cycles, "seconds": total_cycles / clock_hz,
                    "rtf": total_cycles / clock_hz / audio_s if audio_s else 0.0,
                    "per_frame_ms_p50": _pct(frame_ms, 50), "per_frame_ms_p99": _pct(frame_ms, 99),
                    "end_of_speech_ms": float(np.mean(eos_ms)),
                    "end_of_speech_ms_max": float(np.max(eos_ms))},
        "traffic": {"dram_read_bytes": sum(r["dram_read_bytes"] for r in layer_rows),
                    "dram_write_bytes": 0,
                    "sram_read_bytes": sum(r["sram_read_bytes"] for r in layer_rows),
                    "sram_write_bytes": sum(r["sram_write_bytes"] for r in layer_rows),
                    "weight_preload_bytes": sum(preload.values()),   # DRAM, once per run
                    "sram_weight_bytes": residency.resident_bytes,   # SRAM held by weights
                    "resident_layers": sorted(residency.resident)},
        "energy": {"total_uj": sum(breakdown_uj.values()), "breakdown_uj": breakdown_uj,
                   "table": energies.table,
                   "per_action_pj": {"mac": energies.mac_pj,
                                     "sram_byte": energies.sram_pj_per_byte,
                                     "dram_byte": energies.dram_pj_per_byte,
                                     "lut_lookup": energies.lut_lookup_pj,
                                     "decode_symbol": energies.decode_symbol_pj},
                   "leakage_mw": energies.leakage_mw},
        "compute": {"macs_dense": macs_dense, "macs_issued": macs_issued,
                    "macs_skipped": macs_dense - macs_issued,
                    "macs_effectual": sum(r["macs_effectual"] for r in layer_rows)},
        "layers": layer_rows,
        "utterances": utt_rows,
        "transcripts": list(transcripts),
    }
    if all(ref is not None for ref in references):
        data["wer"] = error_rate(list(references), list(transcripts))
    return Report(data)
