"""The printed report's normative comparison and angle-resolved symmetry, from the analyze JSON document.

:func:`norm_view` turns the document's ``norms`` section (``analysis.norms_match``) into the
rows of the "Against reference values" table (every compared figure with the reference's
mean, SD, z-score and percentile, each cell keeping its JSON path), the figures not
compared with the reason, and the caveats and sources once each. :func:`angle_lsi_rows`
lists each bilateral pair's stretches of angles beyond the LSI thresholds
(``analysis.angle_lsi``). Nothing is computed that the document does not hold, but the
ratio ``value / mean`` the chart places each figure at.
"""

from __future__ import annotations

from typing import Any

from api.report_pdf.model import Cell, fmt

__all__ = ["angle_lsi_rows", "norm_view"]

_MEASURES = {"peak_torque": ("Peak torque", "N.m", 1), "peak_torque_per_kg": ("Peak torque / body mass", "N.m/kg", 2),
             "ratio": ("Ratio", "", 2)}  # fmt: skip


def _figure_name(c: dict[str, Any]) -> str:
    """``"left flexion concentric 60 deg/s"`` or ``"left Hcon/Qcon 60 deg/s"`` (the joint is in the header)."""
    words = c["label"].split(" ")
    return " ".join(w for i, w in enumerate(words) if not (i == 1 and w == c["joint"]))


def norm_view(document: dict[str, Any]) -> dict[str, Any] | None:
    """Rows, figures not compared, caveats and sources of the document's ``norms`` section (``None`` without one)."""
    norms = document.get("norms")
    if not norms:
        return None
    rows, missing, caveats, sources = [], [], [], {}
    for i, c in enumerate(norms["comparisons"]):
        name, unit, decimals = _MEASURES[c["measure"]]
        ref = c["reference"]
        figure = f"{name}{f' ({unit})' if unit else ''}: {_figure_name(c)}"
        if ref is None:
            missing.append({"figure": figure, "reason": c["reason"]})
            continue
        sources[ref["set_id"]] = {"short": ref["short"], "citation": ref["citation"], "doi": ref["doi"],
                                  "population": ref["population"], "device": ref["device"], "origin": ref["origin"]}  # fmt: skip
        path = f"norms/comparisons/{i}"
        caveats += [x for x in c["caveats"] if x not in caveats]
        rows.append({
            "figure": figure, "side": c["side"] or "",
            "value": Cell.of(c["value"], decimals, f"{path}/value"),
            "mean": Cell.of(ref["mean"], decimals, f"{path}/reference/mean"),
            "sd": Cell.of(ref["sd"], decimals, f"{path}/reference/sd"),
            "z": Cell.of(c["z"], 2, f"{path}/z"),
            "percentile": Cell.of(c["percentile"], 0, f"{path}/percentile"),
            "reference": f"{ref['short']}: {ref['sport']}, {ref['sex'] or 'sex not stated'}"
                         + (f", n {ref['n']}" if ref["n"] is not None else "")
                         + (f", {ref['groups']} groups pooled" if ref["groups"] > 1 else f"; {ref['cohort']}" if ref["cohort"] else ""),
            "note": c["reason"] or "",
            "ratio_to_mean": c["value"] / ref["mean"] if ref["mean"] else None,
            "sd_fraction": ref["sd"] / ref["mean"] if ref["sd"] is not None and ref["mean"] else None,
            "label": f"{_figure_name(c)} {name.lower()}",
        })  # fmt: skip
    subject = norms["subject"]
    facts = [subject.get("sex") or "sex unknown",
             f"{subject['age_years']:g} years" if subject.get("age_years") is not None else "age unknown",
             "general population" if subject["population"] == "general" else subject["population"]]  # fmt: skip
    return {
        "rows": rows, "missing": missing, "caveats": caveats, "sources": list(sources.values()),
        "subject": ", ".join(facts), "rule": norms["rule"],
        "sets": ", ".join(f"{s['short']} ({s['origin']})" for s in norms["sets"]),
        "load_errors": [e["error"] for e in norms.get("load_errors", [])],
        "compared": norms["compared"], "total": len(norms["comparisons"]),
    }  # fmt: skip


def angle_lsi_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per bilateral pair with an angle-resolved LSI: its range, and each stretch beyond the thresholds."""
    rows = []
    for i, b in enumerate(document.get("bilateral", [])):
        resolved = b.get("angle_resolved")
        if not resolved or not resolved.get("angle_deg"):
            continue
        judged = [v for v, j in zip(resolved["lsi_percent"], resolved["judged"]) if j]
        weak = "left" if resolved["reference_side"] == "right" else "right"
        stretches = [{
            "text": f"{weak} LSI {'under' if s['kind'] == 'low' else 'over'} {s['threshold_percent']:g} % "
                    f"from {s['start_deg']:.0f} to {s['end_deg']:.0f} deg",
            "extreme": f"{'lowest' if s['kind'] == 'low' else 'highest'} {s['extreme_lsi_percent']:.0f} % at {s['extreme_angle_deg']:.0f} deg",
            "kind": s["kind"],
        } for s in resolved["stretches"]]  # fmt: skip
        rows.append({
            "index": i, "label": f"{b['direction']} {b['contraction']} {b['velocity_dps']:.0f} deg/s",
            "range": f"{resolved['angle_deg'][0]:.0f}-{resolved['angle_deg'][-1]:.0f} deg",
            "judged": f"{min(judged):.0f}-{max(judged):.0f} %" if judged else "–",
            "peak_lsi": Cell.of(b.get("lsi_percent"), 1, f"bilateral/{i}/lsi_percent"),
            "reference": resolved["reference_side"], "stretches": stretches,
            "thresholds": f"{resolved['low_percent']:g}-{resolved['high_percent']:g} %, at least {resolved['min_span_deg']:g} deg",
            "band": fmt(resolved["low_percent"], 0),
        })  # fmt: skip
    return rows
