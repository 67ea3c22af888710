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


def render_text(report: dict, top_layers: int = 5, endpoint: bool = False) -> str:
    """The terminal report; ``endpoint``: show the end-pointers' line (the run set them)."""
    m, hw, a, lat, tr, en, cp = (report[k] for k in ("model", "hardware", "audio", "latency",
                                                     "traffic", "energy", "compute"))
    lines = [
        f"azsim {report['azsim_version']}: model {m['name']}{_weights_suffix(m)} "
        f"({m['params'] / 1e6:.2f} M params, "
        f"{m['weight_bits']}-bit"
        f"{quantizer_suffix(m.get('quantizer', 'uniform'), m.get('weight_range', 'max'))} weights, "
        f"{_bytes(m['weight_stream_bytes'])} encoded) on "
        f"{hw['name']} ({hw['clock_mhz']:g} MHz, {hw['macs_per_cycle']} MACs/cycle, "
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
        f"latency:  {lat['cycles']:,} cycles = {lat['seconds'] * 1e3:.3f} ms busy, real-time factor "
        f"{lat['rtf']:.4f}; per frame compute p50 {lat['per_frame_ms_p50']:.3f} ms, p99 "
        f"{lat['per_frame_ms_p99']:.3f} ms; after end of speech "
        f"{lat['end_of_speech_ms']:.3f} ms (mean; max {lat['end_of_speech_ms_max']:.3f} ms); "
        f"last frame's result {lat.get('last_frame_ms', 0.0):.3f} ms after its audio (mean)",
        f"traffic:  DRAM read {_bytes(tr['dram_read_bytes'])} (weight preload "
        f"{_bytes(tr['weight_preload_bytes'])}), SRAM read {_bytes(tr['sram_read_bytes'])}, "
        f"SRAM write {_bytes(tr['sram_write_bytes'])}",
        f"compute:  {cp['macs_dense']:,} dense MACs, {cp['macs_issued']:,} issued, "
        f"{cp['macs_skipped']:,} skipped",
        f"energy:   {en['total_uj']:.2f} uJ (table {en['table']}): " + ", ".join(
            f"{k} {v:.2f}" for k, v in en["breakdown_uj"].items()),
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
    lines += decode_lines(report, endpoint=endpoint)  # issue #7
    lines += branch_lines(report)  # issue #7, branching encoder
    return "\n".join(lines)
