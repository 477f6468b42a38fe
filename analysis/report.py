"""The analysis report: one JSON-ready document (the stable contract) and its text rendering.

:func:`build_report` assembles the document described field by field in ``analysis/README.md``;
:func:`render_text` prints it as clinical-style tables. Both are pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.compare import Comparison
from analysis.flags import THRESHOLD_SOURCES, Thresholds
from analysis.pipeline import AnalysisOptions, RecordingAnalysis

__all__ = ["SCHEMA", "build_report", "render_text"]

#: Identifier and version of the JSON contract; bump the number on an incompatible change.
SCHEMA = "isokin-analysis/1"


def build_report(
    analyses: Sequence[RecordingAnalysis],
    comparison: Comparison,
    *,
    options: AnalysisOptions,
    thresholds: Thresholds,
    involved_side: str | None = None,
    velocity_match_percent: float = 10.0,
) -> dict[str, Any]:
    """The whole report as plain dicts, lists, strings and numbers (``json.dumps``-ready)."""
    return {
        "schema": SCHEMA,
        "parameters": {
            "analysis": options.to_dict(),
            "thresholds": thresholds.to_dict(),
            "threshold_sources": dict(THRESHOLD_SOURCES),
            "involved_side": involved_side,
            "velocity_match_percent": velocity_match_percent,
        },
        "recordings": [a.to_dict() for a in analyses],
        **comparison.to_dict(),
    }


def _num(v: Any, fmt: str = ".1f") -> str:
    return "-" if v is None else format(v, fmt)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _set_lines(s: Mapping[str, Any]) -> list[str]:
    out = [
        f"  {s['direction']} {s['contraction']} {s['velocity_dps']:.0f} deg/s: {s['repetitions']} repetitions",
    ]
    rows = [
        [str(r["index"]), _num(r["peak_torque_nm"]), _num(r["peak_torque_unwindowed_nm"]), _num(r["angle_at_peak_deg"], ".0f"),
         _num(r["time_to_peak_s"], ".2f"), _num(r["work_j"]), _num(r["mean_power_w"]), _num(r["rom_deg"], ".0f")]
        for r in s["reps"]
    ]
    out += ["    " + line for line in _table(["rep", "PT N.m", "PT unwin", "angle deg", "TTP s", "work J", "power W", "ROM deg"], rows)]
    out.append(
        "    best PT {} N.m (rep {}), mean PT {} N.m, PT/BM {} N.m/kg, CV {} %".format(
            _num(s["peak_torque_nm"]), s["peak_torque_rep"] or "-", _num(s["mean_peak_torque_nm"]),
            _num(s["peak_torque_per_kg"], ".2f"), _num(s["cv_percent"])))
    out.append(
        "    total work {} J, work/BM {} J/kg, work fatigue {} %, endurance ratio {}, slope {} N.m/rep".format(
            _num(s["total_work_j"]), _num(s["work_per_kg"], ".2f"), _num(s["work_fatigue_percent"]),
            _num(s["endurance_ratio"], ".2f"), _num(s["fatigue_slope_nm_per_rep"], ".2f")))
    return out


def render_text(report: Mapping[str, Any]) -> str:
    """Readable tables: per recording and set, then ratios, bilateral comparisons and flags."""
    lines: list[str] = []
    for rec in report["recordings"]:
        side = rec["side"] or "side unknown"
        grav = f"gravity-corrected ({rec['gravity_torque_nm']:g} N.m)" if rec["gravity_corrected"] else "no gravity correction"
        lines.append(f"== {rec['source']}: {side} {rec['joint']} {rec['pattern']}, {grav}, segmented by {rec['segmentation']}")
        for s in rec["sets"]:
            lines += _set_lines(s)
        lines.append("")
    if report["ratios"]:
        lines.append("== Ratios (value as %)")
        rows = [[r["numerator"]["side"] or "-", r["kind"], r["label"],
                 f"{r['numerator']['velocity_dps']:.0f}/{r['denominator']['velocity_dps']:.0f}",
                 _num(r["numerator"]["peak_torque_nm"]), _num(r["denominator"]["peak_torque_nm"]), _num(100 * r["value"]),
                 _num((r["angle_specific"] or {}).get("crossing_angle_deg"), ".0f")] for r in report["ratios"]]
        lines += _table(["side", "kind", "ratio", "deg/s", "num N.m", "den N.m", "ratio %", "cross deg"], rows) + [""]
    if report["bilateral"]:
        lines.append("== Bilateral")
        rows = [[b["direction"], b["contraction"], f"{b['velocity_dps']:.0f}", _num(b["left_nm"]), _num(b["right_nm"]),
                 b["involved_side"] or f"ref {b['reference_side']}", _num(b["deficit_percent"]), _num(b["lsi_percent"])]
                for b in report["bilateral"]]
        lines += _table(["group", "contraction", "deg/s", "left N.m", "right N.m", "involved", "deficit %", "LSI %"], rows) + [""]
    lines.append("== Flags" if report["flags"] else "== Flags: none")
    for f in report["flags"]:
        lines.append(f"  [{f['severity']}] {f['rule']}: {f['subject']}: {f['message']} ({f['source']})")
    return "\n".join(lines) + "\n"
