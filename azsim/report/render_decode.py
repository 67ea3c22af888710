"""Terminal lines for issue #7's sections (beam search, lattice, end-pointers).

Shown only when the run asked for them (a beam, a context, end-pointer settings, or silence
appended for the end-pointers), so that the default output of ``azsim run`` stays as it was;
the JSON record always has them.
"""
from __future__ import annotations


def _b(n: float) -> str:
    return f"{n / 1e3:.2f} kB" if n >= 1e3 else f"{n:.0f} B"


def decode_lines(report: dict, nbest: int = 3, endpoint: bool = False) -> list[str]:
    """``endpoint``: the run set the end-pointers (until 2026-12-06 their line appeared only
    with silence appended, so ``--endpoint-final-ms 500`` alone printed nothing of them)."""
    d, lat, ep = report.get("decode"), report.get("lattice"), report.get("endpoint")
    if d is None:
        return []
    used_ep = ep is not None and (ep["tail_ms"] > 0 or endpoint)
    if d["method"] == "greedy" and d["context"] is None and not used_ep:
        return []
    lines = [""]
    ctx = d["context"]
    aliases = f" (+{ctx['aliases']} alternative spellings)" if ctx and ctx.get("aliases") else ""
    # the internal-LM discount and the committed slots act at any weight, 0 included
    extra = "".join(part for part, on in (
        (f", internal-LM discount {ctx.get('ilm_weight', 0):g}", ctx and ctx.get("ilm_weight")),
        (f", {ctx.get('committed_slots', 0)} committed slot"
         f"{'' if ctx.get('committed_slots') == 1 else 's'}",
         ctx and ctx.get("committed_slots"))) if on) if ctx else ""
    biased = (f", biasing {ctx['phrases']} phrase{'s' if ctx['phrases'] != 1 else ''}"
              f"{aliases} at {ctx['weight_nats']:g} "
              f"nats/char{extra}" if ctx else "")
    if ctx and "phrases_missed" in ctx:
        biased += (f" ({ctx['phrases_missed']} of {ctx['phrases_in_references']} phrases in "
                   "the references missed)")
    lines.append(
        f"decode:   {d['method']} (beam {d['beam']}, at most {d['max_symbols_per_frame']} "
        f"symbols/frame){biased}: {d['joint_evals']:,} joint and {d['pred_evals']:,} "
        f"prediction evaluations ({d['pred_cache_hits']:,} more served from the cache), "
        f"{d['decoder_cycles_share'] * 100:.1f} % of cycles, {d['decoder_energy_uj']:.2f} uJ")
    if d["method"] == "beam":
        for u in d["utterances"]:
            alts = " | ".join(f"\"{h['text']}\" {h['score']:.2f}" for h in u["nbest"][:nbest])
            lines.append(f"  {u['file']}: {alts}")
    lines.append(
        f"lattice:  uplink {_b(lat['uplink_bytes_total'])} for {len(lat['uplink_bytes'])} "
        f"utterances vs {_b(lat['audio_bytes_total'])} of 16 kHz 16-bit audio "
        f"({lat['uplink_to_audio_ratio'] * 100:.2f} %)")
    if used_ep:
        n = len(ep["utterances"])
        no_spec, with_spec = (ep["latency_no_speculation_ms_mean"],
                              ep["latency_with_speculation_ms_mean"])
        cut = ep["cut_offs"]
        forced = ep.get("latency_forced", 0)   # records before 2026-12-07 lack it
        if no_spec is not None:
            latency = (f"; latency after end of speech {no_spec:.1f} ms without speculation, "
                       f"{with_spec:.1f} ms with" + _over(ep, n))
        elif forced:
            latency = (f"; no latency after end of speech: {forced} of {n} files ended before "
                       f"the final end-pointer fired ({_tail_advice(ep)})")
        else:
            latency = ""
        cuts = f" ({cut} before the end of speech: cut off)" if cut else ""
        lines.append(
            f"endpoint: final {ep['final_ms']:g} ms fired {ep['final_fired']}/{n}{cuts}, "
            f"speculative {ep['speculative_ms']:g} ms: {ep['speculative_fires']} fires, "
            f"{ep['resets']} resets{latency} (downstream {ep['downstream_ms']:g} ms"
            f"{_floor(ep)})")
    return lines


def _floor(ep) -> str:
    """The noise floor when it is not the default (records before 2026-12-07 have none)."""
    floor = ep.get("noise_floor", "mean")
    return "" if floor == "mean" else f"; noise floor {floor}"


def _over(ep, n: int) -> str:
    """Which utterances the end-pointer latencies are a mean over, when not all of them: it
    said "the 2 not cut off" of a mean over 1, an utterance without speech among the 2."""
    k = ep.get("latency_utterances", n - ep["cut_offs"])
    if k == n:
        return ""
    forced = ep.get("latency_forced", 0)
    fired = ", the final end-pointer fired" if forced else ""
    ended = f"; {forced} ended before it fired: {_tail_advice(ep)}" if forced else ""
    return (f" (over the {k} of {n} with speech{' not cut off' if ep['cut_offs'] else ''}"
            f"{fired}{ended})")


def _tail_advice(ep) -> str:
    """What lets the final end-pointer fire in a file that ends first: a tail of silence, or a
    longer one than the run gave (a review, 2026-12-07: it advised a tail to a run with one)."""
    tail = ep.get("tail_ms") or 0
    if tail:
        return f"a tail longer than --endpoint-tail-ms {tail:g} would let it fire"
    return "--endpoint-tail-ms MS appends silence"
