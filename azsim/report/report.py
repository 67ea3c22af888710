"""The Report: everything one simulation measured, as plain data, with units in the names.

``Report.to_dict()`` is the JSON record of ``azsim run --json`` (issue #2 schema; later
issues add fields, none may be removed). Renderers live next to this module.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from ..config import to_dict
from ..compress.sidecar import ACTIVATION_TABLE_BYTES
from ..config.schema import layer_bit_overrides
from ..cost.model import ATTRIBUTION, BOUND_CLASS, COMPONENTS
from ..cost.systolic import slot_bits
from ..execute.events import FIELD
from ..model.metrics import error_rate

PJ_PER_UJ = 1e6


@dataclass(frozen=True, eq=False)
class Report(Mapping):
    """A read-only mapping of the record's sections (``report["latency"]["rtf"]``; ``in``,
    ``keys()``, ``get()`` and iteration as for a dict: until 2026-12-06 only ``[]`` worked,
    and ``"latency" in report`` raised KeyError 0). The sections are the record's own
    dicts: :meth:`to_dict` gives a copy to keep or change, and ``json.dumps`` takes that."""
    data: dict

    def to_dict(self) -> dict:
        return copy.deepcopy(self.data)

    def __getitem__(self, key):
        return self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def _weight_matrices(qm) -> list:
    """The model's own weight matrices: all but the embedding table (an int8 lookup table at
    every width); a branching encoder's cheap branch and arbiter are not the model's (they
    counted, so --branch made small read 28 % zero against 1 %; a CLI audit, 2026-12-06)."""
    from ..compress.ptq import QuantizedRNNT
    return [m for m in QuantizedRNNT.matrices(qm) if m.name != "pred.embed"]


def mean_weight_bits(qm) -> float:
    """Code bits per weight over the model's weight matrices (``model.weight_bits`` for a
    uniform model; between the widths for one with ``model.layer_bits``)."""
    mats = _weight_matrices(qm)
    count = sum(m.size for m in mats)
    return sum(m.bits * m.size for m in mats) / count if count else 0.0


def achieved_sparsity(qm) -> float:
    """Achieved sparsity over the model's weight matrices (``_weight_matrices``)."""
    mats = _weight_matrices(qm)
    total = sum(m.size for m in mats)
    return 1.0 - sum(m.nnz for m in mats) / total if total else 0.0


def _pct(values: np.ndarray, q: float) -> float:
    return float(np.percentile(values, q)) if values.size else 0.0


def _actions(layers, costs, preload, energies, leak_cycles: int, idle_cycles: float,
             hw) -> dict:
    """Every counted action: count, energy per action (pJ) and total (uJ); the totals sum to
    the report's energy (issue #4: energy = counts x table)."""
    def total(name):
        return float(sum(np.sum(lc.counts[name]) for cs in costs for lc in cs))

    def pre(key):
        return float(sum(p[key] for p in preload.values()))

    # Per layer at the width its MACs work at (issue #7: a cheap encoder branch may have
    # fewer bits; a codebook's b-bit indices select int8 values); the row gives the mean
    # energy per MAC.
    mac_count = total("macs_full")
    widths = {slot_bits(info, hw) for info in layers if info.kind != "embedding"}
    mac_pj = energies.mac_pj_at(min(widths)) if widths else 0.0
    if len(widths) > 1 and mac_count:
        mac_pj = sum(float(np.sum(cs[k].counts["macs_full"]))
                     * energies.mac_pj_at(slot_bits(info, hw))
                     for cs in costs for k, info in enumerate(layers)) / mac_count
    rows = {
        "mac": (mac_count, mac_pj),
        "gated_mac": (total("macs_gated"), energies.gated_mac_pj),
        "skipped_mac": (total("macs_skipped"), 0.0),
        "sram_read_byte": (total("sram_weight_read_bytes") + total("sram_act_read_bytes"),
                           energies.sram_pj_per_byte),
        "sram_write_byte": (total("sram_weight_write_bytes") + total("sram_act_write_bytes")
                            + pre("sram_write_bytes"), energies.sram_pj_per_byte),
        "dram_read_byte": (total("dram_read_bytes") + pre("dram_read_bytes"),
                           energies.dram_pj_per_byte),
        "decode_symbol": (total("decoded_symbols") + pre("decoded_symbols"),
                          energies.decode_symbol_pj),
        "lut_lookup": (total("lut_lookups"), energies.lut_lookup_pj),
        "elementwise_op": (total("elementwise_ops"), energies.elementwise_pj),
        "elementwise_add": (total("elementwise_adds"), energies.elementwise_add_pj),
        "leak_cycle": (float(leak_cycles), energies.leak_pj_per_cycle),
        "leak_idle_cycle": (float(idle_cycles), energies.idle_leak_pj_per_cycle),
    }
    return {name: {"count": cnt, "energy_pj": pj, "energy_uj": cnt * pj / PJ_PER_UJ}
            for name, (cnt, pj) in rows.items()}


def build_report(*, version, cfg, hw, energies, qm, params, utts, results, costs, timelines,
                 residency, transcripts, references, preload, sections=None,
                 stored_bytes=None) -> Report:
    """``costs`` holds, per utterance, the LayerCost of every layer; ``preload`` the one-time
    weight load of :func:`azsim.cost.model.preload_costs`; ``stored_bytes`` the bytes of each
    layer's weights as the processor stores them (default: the matrices' own streams).

    ``sections(data) -> dict``, if given, adds top-level sections computed from the finished
    record (issue #7: "decode", "lattice", "endpoint"); existing keys cannot be replaced."""

    layers = results[0].events.layers
    clock_hz = hw.clock_mhz * 1e6
    audio_s = sum(u.seconds for u in utts)
    n_frames = sum(r.n_frames for r in results)

    def over_utts(k, getter):
        return float(sum(np.sum(getter(c[k])) for c in costs))

    def count(k, name):
        return over_utts(k, lambda lc: lc.counts[name])

    pe = hw.array == "pe"
    total_cycles = int(sum(int(c.cycles.sum()) for cs in costs for c in cs))
    layer_rows = []
    for k, info in enumerate(layers):
        counts = sum(r.events.counts[k].sum(axis=0) for r in results)
        cyc = int(sum(int(c[k].cycles.sum()) for c in costs))
        pl = preload[info.name]
        attributed = {key: over_utts(k, lambda lc, key=key: lc.attributed[key])
                      for key in ATTRIBUTION}
        # The bound: the resource with the most cycles, DRAM and the decoder on the DRAM->SRAM
        # path counted by the time they spent on the layer's tiles while it ran (a streamed
        # layer whose tiles take longer to arrive than to compute is bound by what delivers
        # them even where double buffering hides part of the transfer). Tiles fetched while
        # earlier layers computed do not count: with the whole transfer time, a layer whose
        # tiles had all arrived ahead was labelled DRAM-bound though a 78x faster DRAM left
        # its cycles as they were (19 of 150 random processors had such a layer; a cost
        # audit, 2026-12-06).
        candidates = dict(
            attributed,
            dram=max(attributed["dram"], over_utts(k, lambda lc: lc.dram_transfer_cycles)),
            decoder=max(attributed["decoder"],
                        over_utts(k, lambda lc: lc.decoder_transfer_cycles)))
        resource = max(candidates, key=candidates.get) if cyc else "idle"
        components = {key: over_utts(k, lambda lc, key=key: lc.energy_pj[key])
                      + pl["energy_pj"].get(key, 0.0) for key in COMPONENTS}
        breakdown = {"mac": components["mac"] + components["gated_mac"],
                     "sram": components["sram_weights"] + components["sram_activations"],
                     "dram": components["dram"],
                     "lut": components["lut"] + components["elementwise"],  # nonlinear unit
                     "decoder": components["decoder"]}
        issued, real = count(k, "macs_issued"), count(k, "macs_real")
        sched = over_utts(k, lambda lc: lc.sched_cycles)
        busy = over_utts(k, lambda lc: lc.busy_pe_cycles)
        layer_rows.append({
            "name": info.name, "kind": info.kind, "shape": [info.n_out, info.n_in],
            "weight_bits": info.weight_bits, "mac_weight_bits": info.mac_weight_bits,
            "weight_count": info.weight_count,
            "weight_nnz": info.weight_nnz, "weight_stream_bytes": info.weight_stream_bytes,
            # as this processor stores them: a stream per PE where each PE decodes its rows
            "weight_stored_bytes": (stored_bytes or {}).get(info.name,
                                                            info.weight_stream_bytes),
            # its per-row biases and requantization multipliers and shifts, held and fetched
            # beside the weights (azsim.compress.sidecar; counted in the traffic and SRAM
            # figures since 2026-12-07)
            "weight_side_bytes": info.weight_side_bytes,
            "weight_format": info.weight_format, "weight_symbols": info.weight_symbols,
            "sparsity": 1.0 - info.weight_nnz / info.weight_count if info.weight_count else 0.0,
            "resident": info.name in residency.resident,
            "invocations": int(counts[FIELD["invocations"]]),
            "macs_dense": int(counts[FIELD["macs_dense"]]),
            "macs_effectual": int(counts[FIELD["macs_effectual"]]),
            "macs_issued": int(round(issued)),
            "macs_padding": int(round(issued - real)),
            "macs_gated": int(round(count(k, "macs_gated"))),
            "macs_skipped": int(round(count(k, "macs_skipped"))),
            # Issue #4: what bounds the layer (compute, memory or decoder; the resource in
            # bound_resource) and the cycles attributed to each resource (they sum to cycles).
            "cycles": cyc, "bound": BOUND_CLASS[resource] if cyc else "idle",
            "bound_resource": resource, "cycles_by_resource": attributed,
            # Real MACs per MAC slot of the array over the layer's cycles; a precision-scalable
            # lane has floor(8 / b) slots a cycle at b-bit weights (before 2026-12-06 the
            # native 8-bit peak was the denominator, and packed layers showed up to 3.7).
            # (slots of the decoded codes where zeros flow through them: slot_bits)
            "utilization": (real / (cyc * hw.macs_per_cycle
                                    * hw.macs_per_lane(slot_bits(info, hw)))
                            if cyc else 0.0),
            # the width a MAC slot holds (lane and cell packing, MAC energy): the roofline's
            # packed peak is read from it
            "slot_bits": slot_bits(info, hw),
            # PE array: busy PE-cycles over PE-cycles of the broadcast schedule (1 = balanced).
            "load_balance": busy / (sched * hw.pe_count) if pe and sched else None,
            "dram_read_bytes": int(round(count(k, "dram_read_bytes") + pl["dram_read_bytes"])),
            "sram_read_bytes": int(round(count(k, "sram_weight_read_bytes")
                                         + count(k, "sram_act_read_bytes"))),
            "sram_write_bytes": int(round(count(k, "sram_weight_write_bytes")
                                          + count(k, "sram_act_write_bytes")
                                          + pl["sram_write_bytes"])),
            # the symbols the decoder decodes and is charged for (energy.actions'
            # decode_symbol): a resident layer's once, at preload, on the DRAM->SRAM path.
            # Until 2026-12-07 the row also had the executor's raw decode_symbols (the whole
            # stream on every call: 401 times this on tiny), a near-twin name that an
            # auditor summed for the decoder's work (a cost-model audit)
            "decoded_symbols": int(round(count(k, "decoded_symbols") + pl["decoded_symbols"])),
            "lut_lookups": int(counts[FIELD["lut_lookups"]]),
            "elementwise_ops": int(round(count(k, "elementwise_ops"))),
            "elementwise_adds": int(round(count(k, "elementwise_adds"))),
            "energy_uj": sum(breakdown.values()) / PJ_PER_UJ,
            "energy_breakdown_uj": {k2: v / PJ_PER_UJ for k2, v in breakdown.items()},
            "energy_components_uj": {k2: v / PJ_PER_UJ for k2, v in components.items()},
        })
    # Static power over the busy cycles (Accelergy and Timeloop charge leakage over a
    # workload's run time), and between frames, while the processor waits for audio, the
    # share hw.idle_leakage_share of it (0: power-gated) over each utterance's idle time:
    # from its start until its audio has ended and its last frame is done, less its busy
    # time. (Until 2026-12-06 the span was the audio's duration alone, so a processor slower
    # than real time, whose last frame finishes after the audio, had no idle time, though it
    # waits for the first frame and between the early ones: 0.218 s of 1.7 s missed at RTF
    # 1.155, an audit found.)
    idle_cycles = sum(max(0.0, max(u.seconds, float(tl.finish_s[-1]) if tl.finish_s.size
                                   else 0.0) * clock_hz
                          - sum(int(c.cycles.sum()) for c in cs))
                      for u, cs, tl in zip(utts, costs, timelines))
    leak_pj = total_cycles * energies.leak_pj_per_cycle \
        + idle_cycles * energies.idle_leak_pj_per_cycle
    breakdown_uj = {key: sum(row["energy_breakdown_uj"][key] for row in layer_rows)
                    for key in ("mac", "sram", "dram", "lut", "decoder")}
    breakdown_uj["leakage"] = leak_pj / PJ_PER_UJ
    components_uj = {key: sum(row["energy_components_uj"][key] for row in layer_rows)
                     for key in COMPONENTS}
    components_uj["leakage"] = leak_pj / PJ_PER_UJ
    actions = _actions(layers, costs, preload, energies, total_cycles, idle_cycles, hw)
    frame_ms = np.concatenate([tl.compute_s for tl in timelines]) * 1e3
    eos_ms = [tl.end_of_speech_latency_s * 1e3 for tl in timelines]
    last_ms = [tl.last_frame_latency_s * 1e3 for tl in timelines]
    macs_dense = sum(r["macs_dense"] for r in layer_rows)
    macs_issued = sum(r["macs_issued"] for r in layer_rows)
    utt_rows = []
    for u, r, tl, text, ref, cs in zip(utts, results, timelines, transcripts, references, costs):
        # What this utterance cost: its counted actions, its busy and idle static energy, its
        # traffic and, per frame, its energy; the run's one-time weight preload is in none
        # (the README promised energy and traffic per utterance and per frame, and the
        # records held cycles alone; a report audit, 2026-12-06).
        utt_cycles = sum(int(c.cycles.sum()) for c in cs)
        utt_idle = max(0.0, max(u.seconds, float(tl.finish_s[-1]) if tl.finish_s.size
                                else 0.0) * clock_hz - utt_cycles)
        frame_pj = sum(sum(np.asarray(c.energy_pj[key], np.float64) for key in COMPONENTS)
                       for c in cs) + sum(c.cycles for c in cs) * energies.leak_pj_per_cycle
        frame_pj = np.asarray(frame_pj, np.float64).reshape(-1)
        traffic = {name: int(round(sum(float(np.sum(c.counts[key])) for c in cs
                                       for key in keys)))
                   for name, keys in (("dram_read_bytes", ("dram_read_bytes",)),
                                      ("sram_read_bytes", ("sram_weight_read_bytes",
                                                           "sram_act_read_bytes")),
                                      ("sram_write_bytes", ("sram_weight_write_bytes",
                                                            "sram_act_write_bytes")))}
        row = {"file": u.name, "seconds": u.seconds, "frames": r.n_frames, "transcript": text,
               "reference": ref, "cycles": int(np.round(tl.compute_s.sum() * clock_hz)),
               "rtf": float(tl.compute_s.sum() / u.seconds),
               "end_of_speech_ms": tl.end_of_speech_latency_s * 1e3,
               "last_frame_ms": tl.last_frame_latency_s * 1e3,
               # the last frame whose work reaches the decoder: both latencies end at its
               # finish (a frame after it ends at the encoder's time reduction)
               "result_frame": tl.result_frame,
               "frame_arrival_ms": (tl.arrival_s * 1e3).tolist(),
               "frame_compute_ms": (tl.compute_s * 1e3).tolist(),
               # When each frame's result is ready (start = max(arrival, previous finish));
               # finish - arrival is the per-frame response latency (issue #5 timeline plot).
               "frame_finish_ms": (tl.finish_s * 1e3).tolist(),
               "token_frames": list(r.token_frames),
               "energy_uj": (float(frame_pj.sum()) + utt_idle * energies.idle_leak_pj_per_cycle)
               / PJ_PER_UJ,
               "frame_energy_uj": (frame_pj / PJ_PER_UJ).tolist(), **traffic}
        if ref is not None:
            row["wer"] = error_rate([ref], [text])
        utt_rows.append(row)
    resident_side = sum(row["weight_side_bytes"] for row in layer_rows if row["resident"])
    # Power: the utterances' energy (their frames' work and busy static power, and the idle
    # static power between frames) over the time they span, from each one's start until its
    # audio has ended and its last frame is done: what an always-listening device draws on
    # average; and the frames' energy over the busy time: what it draws while it computes.
    # The one-time weight preload is in neither (a run's, not a listening hour's).
    busy_uj = sum(sum(row["frame_energy_uj"]) for row in utt_rows)
    idle_uj = idle_cycles * energies.idle_leak_pj_per_cycle / PJ_PER_UJ
    span_s = sum(max(u.seconds, float(tl.finish_s[-1]) if tl.finish_s.size else 0.0)
                 for u, tl in zip(utts, timelines))
    busy_s = total_cycles / clock_hz
    preload_uj = sum(sum(p["energy_pj"].values()) for p in preload.values()) / PJ_PER_UJ
    power = {"preload_uj": preload_uj, "span_seconds": span_s,
             "average_power_mw": (busy_uj + idle_uj) / span_s / 1e3 if span_s else 0.0,
             "busy_power_mw": busy_uj / busy_s / 1e3 if busy_s else 0.0}
    data = {
        "azsim_version": version,
        "model": {"name": cfg.name, "params": params, "weight_bits": cfg.weight_bits,
                  # the layers model.layer_bits sets to another width: {layer: bits}, and
                  # the bits of the weight matrices' codes per weight over all of them (the
                  # int8 embedding, a lookup table, left out)
                  "layer_bits": layer_bit_overrides(cfg),
                  "weight_bits_mean": mean_weight_bits(qm),
                  "activation_bits": cfg.activation_bits, "quantizer": cfg.quantizer,
                  "weight_range": cfg.weight_range, "prune": cfg.prune,
                  "prune_saliency": cfg.prune_saliency,
                  "sparsity": achieved_sparsity(qm),
                  "format": cfg.weight_format,
                  "compressed_bytes": qm.weight_stream_bytes,
                  "weight_stream_bytes": qm.weight_stream_bytes,
                  # the encoded weights as this processor keeps them (a stream per PE where
                  # each PE decodes its own rows, with its own pointers): what DRAM delivers
                  # per pass, and what SRAM holds where the decoder sits in front of the PEs
                  # (with it on the DRAM->SRAM path SRAM holds the decoded matrices:
                  # traffic.sram_weight_bytes; a cost audit)
                  "weight_stored_bytes": qm.weight_stream_bytes + sum(
                      row["weight_stored_bytes"] - row["weight_stream_bytes"]
                      for row in layer_rows),
                  # the layers' per-row parameters beside those streams (stored and fetched
                  # with them: azsim.compress.sidecar), and the sigmoid/tanh tables, the same
                  # for every model, taken to be a ROM in the nonlinear unit (in no count)
                  "weight_side_bytes": sum(row["weight_side_bytes"] for row in layer_rows),
                  "activation_table_bytes": ACTIVATION_TABLE_BYTES,
                  "config": to_dict(cfg)},
        # The config, plus the derived peak (issue #2 key; the config no longer sets it).
        "hardware": {**to_dict(hw), "macs_per_cycle": hw.macs_per_cycle},
        "audio": {"utterances": len(utts), "seconds": audio_s, "frames": n_frames,
                  "frame_ms": timelines[0].frame_s * 1e3},
        "latency": {"cycles": total_cycles, "seconds": total_cycles / clock_hz,
                    "rtf": total_cycles / clock_hz / audio_s if audio_s else 0.0,
                    "per_frame_ms_p50": _pct(frame_ms, 50), "per_frame_ms_p99": _pct(frame_ms, 99),
                    "end_of_speech_ms": float(np.mean(eos_ms)),
                    "end_of_speech_ms_max": float(np.max(eos_ms)),
                    # From the last frame's arrival to its result (the end-of-speech latency
                    # is 0 whenever that result is ready before the audio's unframed tail ends).
                    "last_frame_ms": float(np.mean(last_ms)),
                    "last_frame_ms_max": float(np.max(last_ms)),
                    # Issue #4: cycles the array waited for DRAM (double-buffered streaming).
                    "dram_stall_cycles": int(round(sum(r["cycles_by_resource"]["dram"]
                                                       for r in layer_rows)))},
        "traffic": {"dram_read_bytes": sum(r["dram_read_bytes"] for r in layer_rows),
                    "dram_write_bytes": 0,
                    "sram_read_bytes": sum(r["sram_read_bytes"] for r in layer_rows),
                    "sram_write_bytes": sum(r["sram_write_bytes"] for r in layer_rows),
                    "weight_preload_bytes": sum(p["dram_read_bytes"] for p in preload.values()),
                    # SRAM held by the resident layers' weights, and by their per-row
                    # parameters beside them
                    "sram_weight_bytes": residency.resident_bytes - resident_side,
                    "sram_weight_side_bytes": resident_side,
                    # reserved for the largest layer's activations in a frame and the
                    # recurrent state (c, r of every LSTM layer; the prediction network's
                    # per beam hypothesis), and for the streaming double buffer
                    "sram_activation_bytes": residency.activation_bytes,
                    "sram_staging_bytes": residency.staging_bytes,
                    "resident_layers": sorted(residency.resident)},
        # breakdown_uj: issue #2 keys ("lut" is the nonlinear unit: lookups and element-wise
        # operations); components_uj: issue #4's finer split, SRAM by buffer. Both sum to total.
        "energy": {"total_uj": sum(breakdown_uj.values()), "breakdown_uj": breakdown_uj,
                   "components_uj": components_uj, "actions": actions,
                   "table": energies.table,
                   "per_action_pj": {"mac": energies.mac_pj,
                                     "sram_byte": energies.sram_pj_per_byte,
                                     "dram_byte": energies.dram_pj_per_byte,
                                     "lut_lookup": energies.lut_lookup_pj,
                                     "decode_symbol": energies.decode_symbol_pj,
                                     **{name: row["energy_pj"] for name, row in actions.items()}},
                   # static power while busy (logic and SRAM), and the time between
                   # frames over which hw.idle_leakage_share of it is drawn
                   "leakage_mw": energies.leakage_mw,
                   "idle_seconds": idle_cycles / clock_hz, **power},
        "compute": {"macs_dense": macs_dense, "macs_issued": macs_issued,
                    "macs_skipped": sum(r["macs_skipped"] for r in layer_rows),
                    "macs_gated": sum(r["macs_gated"] for r in layer_rows),
                    "macs_padding": sum(r["macs_padding"] for r in layer_rows),
                    "macs_effectual": sum(r["macs_effectual"] for r in layer_rows),
                    "utilization": (sum(r["utilization"] * r["cycles"] for r in layer_rows)
                                    / total_cycles if total_cycles else 0.0)},
        "layers": layer_rows,
        "utterances": utt_rows,
        "transcripts": list(transcripts),
    }
    if all(ref is not None for ref in references):
        data["wer"] = error_rate(list(references), list(transcripts))
    if sections is not None:
        extra = sections(data)
        if set(extra) & set(data):
            raise ValueError(f"report sections {sorted(set(extra) & set(data))} already exist")
        data.update(extra)
    return Report(data)
