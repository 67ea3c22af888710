"""The report's "branch" section and its terminal lines (issue #7, branching encoder).

``azsim run`` with ``model.branch.enabled`` also simulates the same run without branching
(the full branch on every step, same processor), so every saving here is a difference of
two measured runs; the dense and nonzero-weight MACs of the full-only run are also exactly
computable from the branched run's events (``azsim.execute.branch.full_only_macs``), and the
two agree.
"""
from __future__ import annotations

from ..execute.branch import (CHEAP_PREFIX, ENCODER_PREFIXES, bits_text, branch_shares,
                              cheap_bits, encoder_macs, full_only_macs)


def _encoder_rows(data: dict) -> list[dict]:
    return [row for row in data["layers"] if row["name"].startswith(ENCODER_PREFIXES)]


def _encoder_cost(data: dict) -> dict:
    rows = _encoder_rows(data)
    return {"macs_dense": sum(r["macs_dense"] for r in rows),
            "macs_issued": sum(r["macs_issued"] for r in rows),
            "macs_effectual": sum(r["macs_effectual"] for r in rows),
            "cycles": sum(r["cycles"] for r in rows),
            "energy_uj": sum(r["energy_uj"] for r in rows),
            "dram_read_bytes": sum(r["dram_read_bytes"] for r in rows)}


def _saved(base: float, new: float) -> float:
    return 1.0 - new / base if base else 0.0


def branch_section(data: dict, baseline: dict, *, cfg, qm, results, base_results) -> dict:
    """``data``: the branched run's finished report; ``baseline``: the same run without
    branching."""
    b = cfg.branch
    enc, base_enc = _encoder_cost(data), _encoder_cost(baseline)
    cheap_rows = [r for r in data["layers"] if r["name"].startswith(CHEAP_PREFIX)]
    shares = branch_shares(results)
    per_utt = [{"file": u["file"], **branch_shares([r])} for u, r in
               zip(data["utterances"], results)]
    out = {
        "arbitrator": b.arbitrator, "blank_margin_nats": b.blank_margin_nats,
        "blank_run_steps": b.blank_run_steps,
        "energy_threshold": b.energy_threshold, "threshold_q": qm.threshold_q,
        "energy_q": qm.energy_q,
        "granularity": "encoder output step (one joint step)",
        "cheap": {"weights": b.weights or "the full model's", "sparsity_target": b.sparsity,
                  "prune": b.prune, "bits": cheap_bits(qm),
                  "weight_format": b.weight_format or cfg.weight_format,
                  "weight_count": sum(r["weight_count"] for r in cheap_rows),
                  "weight_nnz": sum(r["weight_nnz"] for r in cheap_rows),
                  "weight_stream_bytes": sum(r["weight_stream_bytes"] for r in cheap_rows),
                  "weight_side_bytes": sum(r["weight_side_bytes"] for r in cheap_rows),
                  "resident": all(r["resident"] for r in cheap_rows)},
        **shares,
        "encoder": enc, "encoder_no_branching": base_enc,
        # Exact: the events of the branched run with every cheap invocation made full.
        "encoder_macs_full_only": full_only_macs(results),
        "encoder_macs_events": encoder_macs(results),
        "encoder_macs_events_no_branching": encoder_macs(base_results),
        "encoder_macs_issued_saved_share": _saved(base_enc["macs_issued"], enc["macs_issued"]),
        "encoder_macs_dense_saved_share": _saved(base_enc["macs_dense"], enc["macs_dense"]),
        "encoder_energy_saved_uj": base_enc["energy_uj"] - enc["energy_uj"],
        "energy_total_uj_no_branching": baseline["energy"]["total_uj"],
        "energy_saved_uj": baseline["energy"]["total_uj"] - data["energy"]["total_uj"],
        "energy_saved_share": _saved(baseline["energy"]["total_uj"], data["energy"]["total_uj"]),
        "cycles_no_branching": baseline["latency"]["cycles"],
        "cycles_saved_share": _saved(baseline["latency"]["cycles"], data["latency"]["cycles"]),
        "weight_stream_bytes_no_branching": baseline["model"]["weight_stream_bytes"],
        "dram_read_bytes_no_branching": baseline["traffic"]["dram_read_bytes"],
        "wer": data.get("wer"), "wer_no_branching": baseline.get("wer"),
        "wer_change": (data["wer"] - baseline["wer"]) if "wer" in data and "wer" in baseline
        else None,
        "transcripts_no_branching": list(baseline["transcripts"]),
        "utterances": per_utt,
    }
    return {"branch": out}


def branch_lines(report: dict) -> list[str]:
    """Terminal lines of the branch section (none when branching is off)."""
    b = report.get("branch")
    if b is None:
        return []
    c, e, e0 = b["cheap"], b["encoder"], b["encoder_no_branching"]
    rule = {"blank": f"blank margin >= {b['blank_margin_nats']:g} nats",
            "energy": f"input energy <= {b['energy_threshold']:g} std",
            "blank-energy": f"blank margin >= {b['blank_margin_nats']:g} nats and input "
                            f"energy <= {b['energy_threshold']:g} std"}.get(
        b["arbitrator"], b["arbitrator"])
    wer = ""
    if b["wer_change"] is not None:
        wer = (f"; WER {b['wer'] * 100:.1f} % vs {b['wer_no_branching'] * 100:.1f} % "
               f"without ({b['wer_change'] * 100:+.1f})")
    return [
        "",
        f"branch:   {b['arbitrator']} arbitrator ({rule}); cheap branch {bits_text(c['bits'])}, "
        f"{1 - c['weight_nnz'] / max(c['weight_count'], 1):.2f} sparse "
        f"({'resident' if c['resident'] else 'streamed'}): {b['cheap_share'] * 100:.1f} % of "
        f"{b['steps']} steps cheap, {b['full_share'] * 100:.1f} % full",
        f"          encoder MACs issued {e['macs_issued']:,} vs {e0['macs_issued']:,} without "
        f"branching ({_change(b['encoder_macs_issued_saved_share'], 'fewer', 'more')}), dense "
        f"{e['macs_dense']:,} vs {e0['macs_dense']:,}; energy "
        f"{_change(b['energy_saved_share'], 'less', 'more')} "
        f"({abs(b['energy_saved_uj']):,.2f} uJ), cycles "
        f"{_change(b['cycles_saved_share'], 'fewer', 'more')}{wer}",
    ]


def _change(saved_share: float, less: str, more: str) -> str:
    """A saving as "16.7 % less", a loss as "527.0 % more" (never "-527.0 % saved")."""
    return f"{abs(saved_share) * 100:.1f} % {less if saved_share >= 0 else more}"


def _share(x: float) -> str:
    """A share in per cent, one decimal; "0.0", not "-0.0", for a rounding-size negative."""
    pct = round(x * 100, 1)
    return f"{pct + 0.0:.1f}"    # -0.0 + 0.0 is 0.0


def branch_eval_line(b: dict) -> str:
    """The ``azsim eval`` line of a branching run (``evaluate``'s "branch" record)."""
    from .render import interval_text   # render imports this module
    m, m0 = b["encoder_macs"], b["encoder_macs_no_branching"]
    saved = b["encoder_macs_saved_share"]
    return (f"branch: {b['arbitrator']} arbitrator, {b['cheap_share'] * 100:.1f} % of "
            f"{b['steps']} steps cheap; encoder MACs with a nonzero weight "
            f"{m['macs_nonzero_weight']:,} vs {m0['macs_nonzero_weight']:,} "
            f"({_share(saved['macs_nonzero_weight'])} % saved),"
            f" effectual {_share(saved['macs_effectual'])} % saved, dense "
            f"{_share(saved['macs_dense'])} %; WER {b['wer_no_branching'] * 100:.2f} % -> "
            f"{(b['wer_no_branching'] + b['wer_change']) * 100:.2f} % "
            f"({b['wer_change'] * 100:+.2f}; "
            f"{interval_text(b['wer_change_ci95'], b.get('wer_change_utterances'), False)})")
