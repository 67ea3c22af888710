"""Plain-text rendering of a Report for the terminal (the CLI prints what this returns)."""
from __future__ import annotations

from .branch import branch_lines
from .render_decode import decode_lines

SHOWN_TRANSCRIPTS = 20   # a test set's 250 would bury the cost summary (--json has all)


def _bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def _fixed(x: float, decimals: int) -> str:
    """``x`` at ``decimals`` decimals, or at 3 significant digits where those would show a
    nonzero value as 0 (a real-time factor below 5e-5 printed as 0.0000; a report
    audit, 2026-12-06)."""
    text = f"{x:.{decimals}f}"
    return f"{x:.3g}" if x and float(text) == 0 else text


def _capacity(n: int) -> str:
    """An SRAM capacity in binary units, as hardware files and datasheets give it (2 MiB,
    not "2.10 MB")."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}" if n % size == 0 else f"{n / size:.2f} {unit}"
    return f"{n} B"


def quantizer_suffix(quantizer: str, weight_range: str = "max") -> str:
    """The quantizer's name after the bit-width (" gptq", " codebook"), and " mse-range" for a
    clipped grid (``model.weight_range``); nothing for the default uniform grid over max|w|
    rounded to nearest."""
    return ("" if quantizer == "uniform" else f" {quantizer}") + \
        ("" if weight_range == "max" else f" {weight_range}-range")


def layer_bits_suffix(layer_bits: dict | None) -> str:
    """The layers at another bit-width than the model's (``model.layer_bits``), after its
    weights: ", 8-bit in enc.0.lstm+joint.out"; nothing for a uniform model."""
    by_bits: dict[int, list[str]] = {}
    for name, bits in (layer_bits or {}).items():
        by_bits.setdefault(bits, []).append(name)
    return "".join(f", {bits}-bit in {'+'.join(names)}"
                   for bits, names in sorted(by_bits.items(), reverse=True))


def interval_text(ci95, utterances: int | None, detail: bool = True) -> str:
    """A paired difference's "95 % interval +a to +b" (``detail``: and over how many
    utterances), or, from fewer than ``MIN_INTERVAL_UTTERANCES``, that there is none.
    ``utterances`` None: a record that does not say (before 2026-12-07)."""
    from ..model.metrics import MIN_INTERVAL_UTTERANCES
    n = utterances
    many = f"{n} utterance{'' if n == 1 else 's'}"
    if n is not None and n < MIN_INTERVAL_UTTERANCES:
        return f"no 95 % interval from {many}" + (
            f" (a paired bootstrap needs {MIN_INTERVAL_UTTERANCES} or more)" if detail else "")
    lo, hi = ci95
    return f"95 % interval {lo * 100:+.2f} to {hi * 100:+.2f}" + (
        f" (paired bootstrap over {many})" if detail and n is not None else "")


def mean_bits_suffix(m: dict) -> str:
    """``, 4.39 bits a weight`` after the layers at another width; nothing for a uniform
    model. ``m``: a record with ``layer_bits`` and ``weight_bits_mean`` (run's ``model``,
    eval's record, compress's JSON)."""
    return f", {m['weight_bits_mean']:.2f} bits a weight" if m.get("layer_bits") and \
        "weight_bits_mean" in m else ""


def _zeros(m: dict) -> str:
    """The header's word on sparse or compressed weights ("80 % zero, pruned 80 % (global),
    csr format, "): ``--sparsity 0.95`` and ``--format csr`` printed as plain "8-bit weights"
    (a report audit, 2026-12-06). The share of zeros is what the weights have (rounding to
    4 bits zeroes 17 % of small's, training pruned small-sparse80); the pruning method is
    named only for the one-shot pruning this run asked for (a review found rounding's zeros
    credited to "magnitude"). Under 5 % (8-bit rounding: 1 % of small's) is not named."""
    sparsity, fmt = m.get("sparsity", 0.0), m.get("format", "dense")
    asked = (m.get("config") or {}).get("sparsity", 0.0)
    out = ""
    if sparsity >= 0.05:
        out += f"{sparsity * 100:.0f} % zero, "
    suffix = pruning_suffix(m.get("prune", "magnitude"), asked,
                            m.get("prune_saliency", "magnitude"))
    if suffix:
        out += f"pruned {asked * 100:.0f} %{suffix}, "
    if fmt != "dense":
        out += f"{fmt} format, "
    return out


def pruning_suffix(prune: str, sparsity: float, saliency: str = "magnitude") -> str:
    """How one-shot pruning made the zeros (" (global)", " (global, obs)"), after the achieved
    sparsity; nothing when no one-shot pruning ran (sparsity 0 and no N:M pattern)."""
    from ..compress.prune import prunes
    if not prunes(prune, sparsity):
        return ""
    return f" ({prune}{'' if saliency == 'magnitude' else ', ' + saliency})"


def _weights_suffix(m: dict) -> str:
    """", weights W" when the run's weights are not the model's own shipped set of its name
    (nor a preset's seeded draw)."""
    w = m.get("weights", "generated")
    return "" if w in ("generated", m["name"]) else f", weights {w}"


def _stored(m: dict, hw: dict) -> str:
    """', X kB as N PE streams' where the processor stores the weights otherwise than as the
    matrices' streams (each PE its own rows, with its own pointers); '' elsewhere."""
    stored = m.get("weight_stored_bytes", m["weight_stream_bytes"])
    if stored == m["weight_stream_bytes"]:
        return ""
    return f", {_bytes(stored)} as {hw['pe_count']} PE streams"


def _side(m: dict) -> str:
    """' + X kB per-row parameters' (biases, requantization multipliers and shifts stored and
    fetched beside the weights); '' for records made before they were counted."""
    side = m.get("weight_side_bytes")
    return f" + {_bytes(side)} per-row parameters" if side else ""


def _array(hw: dict) -> str:
    """A systolic array's shape and dataflow, for the header (a PE array's header is as it
    was). Until an audit a run with --set hw.array=systolic printed the header of the PE
    array it replaced, and ws and os runs the same one."""
    if hw.get("array") != "systolic":
        return ""
    return (f"{hw['systolic_rows']} x {hw['systolic_cols']} {hw['dataflow']} systolic array"
            f"{', precision-scalable' if hw.get('precision_scalable') else ''}, ")


def _waiting(report: dict) -> list[str]:
    """The run's cycles by what they waited on (its layers' ``cycles_by_resource`` summed),
    largest first, those of at least 0.05 %: the line that says what bounds the run."""
    from ..sweep.export import RESOURCE_LABELS, cycles_by_resource
    totals = cycles_by_resource(report)
    whole = sum(totals.values())
    if whole <= 0:
        return []
    shown = [f"{RESOURCE_LABELS.get(r, r)} {100 * c / whole:.1f} %"
             for r, c in sorted(totals.items(), key=lambda rc: -rc[1]) if c / whole >= 5e-4]
    return [f"waiting:  {', '.join(shown)} of the cycles"]


def _power(en: dict) -> list[str]:
    """The power line (records since 2026-12-07 have its figures)."""
    if "average_power_mw" not in en:
        return []
    return [f"power:    {_fixed(en['average_power_mw'], 3)} mW on average over the "
            f"{en['span_seconds']:.2f} s the utterances span, "
            f"{_fixed(en['busy_power_mw'], 1)} mW while busy (the one-time weight preload, "
            f"{en['preload_uj']:.2f} uJ, in neither)"]


def render_text(report: dict, top_layers: int = 5, endpoint: bool = False) -> str:
    """The terminal report; ``endpoint``: show the end-pointers' line (the run set them)."""
    m, hw, a, lat, tr, en, cp = (report[k] for k in ("model", "hardware", "audio", "latency",
                                                     "traffic", "energy", "compute"))
    lines = [
        # the release; the record's azsim_version adds the code's fingerprint
        f"azsim {report['azsim_version'].split('+')[0]}: model {m['name']}{_weights_suffix(m)} "
        f"({m['params'] / 1e6:.2f} M params, "
        f"{m['weight_bits']}-bit"
        f"{quantizer_suffix(m.get('quantizer', 'uniform'), m.get('weight_range', 'max'))} weights"
        f"{layer_bits_suffix(m.get('layer_bits'))}"
        f"{mean_bits_suffix(m)}, "
        f"{_zeros(m)}{_bytes(m['weight_stream_bytes'])} encoded{_stored(m, hw)}{_side(m)}) on "
        f"{hw['name']} ({hw['clock_mhz']:g} MHz, {_array(hw)}{hw['macs_per_cycle']} MACs/cycle, "
        f"{_capacity(hw['sram_bytes'])} SRAM, zero handling: {hw['zero_handling']})",
        f"audio: {a['utterances']} utterance{'' if a['utterances'] == 1 else 's'}, {a['seconds']:.2f} s, {a['frames']} frames of "
        f"{a['frame_ms']:.0f} ms",
        "",
        "transcripts:",
    ]
    utts = report["utterances"]
    for u in utts[:SHOWN_TRANSCRIPTS]:
        ref = f"   (reference: {u['reference']})" if u.get("reference") else ""
        lines.append(f"  {u['file']}: \"{u['transcript']}\"{ref}")
    if len(utts) > SHOWN_TRANSCRIPTS:
        lines.append(f"  ... {len(utts) - SHOWN_TRANSCRIPTS} more (all in --json)")
    if "wer" in report:
        lines.append(f"  WER {report['wer'] * 100:.1f} % over {len(utts)} utterance(s)")
    lines += [
        "",
        f"latency:  {lat['cycles']:,} cycles = {_fixed(lat['seconds'] * 1e3, 3)} ms busy, "
        f"real-time factor {_fixed(lat['rtf'], 4)}; per frame compute p50 "
        f"{_fixed(lat['per_frame_ms_p50'], 3)} ms, p99 {_fixed(lat['per_frame_ms_p99'], 3)} ms; "
        # from the end of the audio, trailing silence included (the end-pointers' line
        # measures from the end of speech; this said "speech" too until a 2026-12-06 audit)
        f"after end of audio {_fixed(lat['end_of_speech_ms'], 3)} ms (mean; max "
        f"{_fixed(lat['end_of_speech_ms_max'], 3)} ms); last frame's result "
        f"{_fixed(lat.get('last_frame_ms', 0.0), 3)} ms after its audio (mean)",
        f"traffic:  DRAM read {_bytes(tr['dram_read_bytes'])} (weight preload "
        f"{_bytes(tr['weight_preload_bytes'])}), SRAM read {_bytes(tr['sram_read_bytes'])}, "
        f"SRAM write {_bytes(tr['sram_write_bytes'])}",
        f"compute:  {cp['macs_dense']:,} dense MACs, {cp['macs_issued']:,} issued, "
        f"{cp['macs_skipped']:,} skipped",
        *_waiting(report),
        f"energy:   {en['total_uj']:.2f} uJ (table {en['table']}): " + ", ".join(
            f"{k} {v:.2f}" for k, v in en["breakdown_uj"].items()),
        *_power(en),
        "",
        "top layers by cycles:",
        f"  {'layer':<16}{'cycles':>12}{'bound':>21}{'util':>7}{'DRAM read':>12}"
        f"{'energy uJ':>11}  resident",
    ]
    for row in sorted(report["layers"], key=lambda r: -r["cycles"])[:top_layers]:
        bound = row["bound"]
        if row.get("bound_resource", bound) != bound:   # issue #4: memory (sram), ...
            bound = f"{bound} ({row['bound_resource']})"
        lines.append(f"  {row['name']:<16}{row['cycles']:>12,}{bound:>21}"
                     f"{100 * row.get('utilization', 0.0):>6.1f}%"
                     f"{_bytes(row['dram_read_bytes']):>12}{row['energy_uj']:>11.2f}  "
                     f"{'yes' if row['resident'] else 'no'}")
    leak = en["breakdown_uj"].get("leakage", 0.0)
    if leak:   # static power is the processor's, not a layer's (a report audit asked)
        lines.append(f"  (layer energies leave out the static power: {leak:.2f} uJ over the run)")
    lines += decode_lines(report, endpoint=endpoint)  # issue #7
    lines += branch_lines(report)  # issue #7, branching encoder
    return "\n".join(lines)
