"""The analysis report: one JSON-ready document (the stable contract) and its text rendering.

:func:`build_report` assembles the document described field by field in ``analysis/README.md``;
:func:`render_text` prints it for a reader: the verdict first (one line per finding, then the
criteria that could not be evaluated and why), the pairing applied, then the tables. Both are
pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from analysis.compare import Comparison
from analysis.flags import THRESHOLD_SOURCES, Thresholds
from analysis.pipeline import AnalysisOptions, RecordingAnalysis
from analysis.verdict import verdict

__all__ = ["COLUMNS", "SCHEMA", "build_report", "render_text"]

#: Identifier and version of the JSON contract; bump the number on an incompatible change.
SCHEMA = "isokin-analysis/1"

#: The text tables' columns, in words (``isokin analyze --help`` prints them).
COLUMNS: Mapping[str, str] = {
    "PT N.m": "peak torque in the isokinetic load range (where the speed is the set velocity), N.m",
    "PT whole": "peak torque over the whole movement, as vendor software prints it, N.m",
    "at deg": "angle of the load-range peak, deg",
    "TTP s": "time from movement onset to the load-range peak, s",
    "work J, power W, ROM deg": "work over the movement, its mean power, its range of motion",
    "partial": "the repetition covered less than the set's usual range: left out of mean, CV and fatigue",
    "RTD N.m/s": "isometric: rate of torque development over 0-50 / 0-100 / 0-200 ms from onset",
    "best 1 s": "isometric: the highest mean torque over 1 s, N.m",
    "impulse N.m.s": "isometric: torque integrated over the contraction",
    "curves cross at deg": "angle where the two groups' torque-angle curves cross (angle-specific ratio = 1)",
    "per kg": "divided by body mass (N.m/kg, J/kg); 'no body mass' when none was given",
}


def build_report(
    analyses: Sequence[RecordingAnalysis],
    comparison: Comparison,
    *,
    options: AnalysisOptions,
    thresholds: Thresholds,
    involved_side: str | None = None,
    velocity_match_percent: float = 10.0,
    srd: Mapping[str, tuple[float, str]] | None = None,
) -> dict[str, Any]:
    """The whole report as plain dicts, lists, strings and numbers (``json.dumps``-ready); the verdict first."""
    findings, missing = verdict(analyses, comparison, thresholds=thresholds, srd_given=bool(srd))
    return {
        "schema": SCHEMA,
        "verdict": [f.to_dict() for f in findings],
        "not_evaluated": [n.to_dict() for n in missing],
        "parameters": {
            "analysis": options.to_dict(),
            "thresholds": thresholds.to_dict(),
            "threshold_sources": dict(THRESHOLD_SOURCES),
            "involved_side": involved_side,
            "velocity_match_percent": velocity_match_percent,
            "srd": {k: {"value": v, "source": src} for k, (v, src) in (srd or {}).items()},
        },
        "recordings": [a.to_dict() for a in analyses],
        **comparison.to_dict(analyses),
    }


def _num(v: Any, fmt: str = ".1f", none: str = "-") -> str:
    return none if v is None else format(v, fmt)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))

    return [line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _per_kg(value: Any, unit: str) -> str:
    return "no body mass" if value is None else f"{value:.2f} {unit}"


def _isokinetic_set(s: Mapping[str, Any]) -> list[str]:
    partial = f" ({s['partial_repetitions']} partial)" if s.get("partial_repetitions") else ""
    out = [f"  {s['direction']} {s['contraction']} {s['velocity_dps']:.0f} deg/s: {s['repetitions']} repetitions{partial}"]
    rows = [
        [str(r["index"]), _num(r["peak_torque_nm"]), _num(r["peak_torque_unwindowed_nm"]), _num(r["angle_at_peak_deg"], ".0f"),
         _num(r["time_to_peak_s"], ".2f"), _num(r["work_j"]), _num(r["mean_power_w"]), _num(r["rom_deg"], ".0f"),
         "partial" if r.get("partial") else ("no isokinetic window" if r["peak_torque_nm"] is None else "")]
        for r in s["reps"]
    ]  # fmt: skip
    header = ["rep", "PT N.m", "PT whole", "at deg", "TTP s", "work J", "power W", "ROM deg", ""]
    out += ["    " + line.rstrip() for line in _table(header, rows)]
    out.append("    best PT {} N.m (rep {}), mean PT {} N.m, PT per kg {}, CV {} %".format(
        _num(s["peak_torque_nm"]), s["peak_torque_rep"] or "-", _num(s["mean_peak_torque_nm"]),
        _per_kg(s["peak_torque_per_kg"], "N.m/kg"), _num(s["cv_percent"])))  # fmt: skip
    out.append("    total work {} J, work per kg {}, work fatigue {} %, endurance ratio {}, slope {} N.m/rep".format(
        _num(s["total_work_j"]), _per_kg(s["work_per_kg"], "J/kg"), _num(s["work_fatigue_percent"]),
        _num(s["endurance_ratio"], ".2f"), _num(s["fatigue_slope_nm_per_rep"], ".2f")))  # fmt: skip
    return out


def _isometric_set(s: Mapping[str, Any]) -> list[str]:
    n = s["repetitions"]
    out = [f"  {s['direction']} isometric at {s['angle_deg']:.0f} deg: {n} contraction{'' if n == 1 else 's'}"]
    rows = [
        [str(c["index"]), _num(c["peak_torque_nm"]), _num(c["time_to_peak_s"], ".2f"),
         "/".join(_num(c[k], ".0f") for k in ("rtd_0_50_nm_per_s", "rtd_0_100_nm_per_s", "rtd_0_200_nm_per_s")),
         _num(c["mean_torque_best_1s_nm"]), _num(c["impulse_nm_s"]), _num(c["duration_s"], ".1f")]
        for c in s["contractions"]
    ]  # fmt: skip
    out += ["    " + line for line in _table(["#", "PT N.m", "TTP s", "RTD N.m/s", "best 1 s", "impulse N.m.s", "s"], rows)]
    out.append("    best PT {} N.m (contraction {}), mean PT {} N.m, PT per kg {}, CV {} %".format(
        _num(s["peak_torque_nm"]), s["peak_torque_rep"], _num(s["mean_peak_torque_nm"]),
        _per_kg(s["peak_torque_per_kg"], "N.m/kg"), _num(s["cv_percent"])))  # fmt: skip
    if s.get("impulse_fatigue_percent") is not None:
        out.append("    impulse fatigue {} %, endurance ratio {}, slope {} N.m/contraction".format(
            _num(s["impulse_fatigue_percent"]), _num(s["endurance_ratio"], ".2f"), _num(s["fatigue_slope_nm_per_rep"], ".2f")))
    return out


def _recording_lines(rec: Mapping[str, Any]) -> list[str]:
    side = rec["side"] or "side unknown"
    grav = f"gravity-corrected ({rec['gravity_torque_nm']:g} N.m)" if rec["gravity_corrected"] else "no gravity correction"
    who = ", ".join(x for x in (rec.get("subject") and f"subject {rec['subject']}",
                                rec.get("session") and f"session {rec['session']}") if x)  # fmt: skip
    how = "isometric test" if rec["segmentation"] == "isometric" else f"segmented by {rec['segmentation']}"
    lines = [f"== {rec['source']}: {side} {rec['joint']} {rec['pattern']}, {grav}, {how}" + (f"; {who}" if who else "")]
    for s in rec["sets"]:
        lines += _isometric_set(s) if s["contraction"] == "isometric" else _isokinetic_set(s)
    for p in rec.get("passive_movements", []):
        lines.append(f"  passive: {p['movement']} at {p['start_s']:.2f} s, {p['velocity_dps']:.0f} deg/s, torque up to "
                     f"{p['peak_torque_nm']:.1f} N.m: {p['reason']}")
    return lines + [""]


def _pairing_lines(report: Mapping[str, Any]) -> list[str]:
    pairing = report.get("pairing")
    if not pairing or (not pairing["not_paired"] and not pairing["not_paired_sets"]):
        return []
    lines = [f"== Pairing: {pairing['rule']}"]
    lines += [f"  not paired: {', '.join(p['recordings'])}: {p['reason']}" for p in pairing["not_paired"]]
    lines += [f"  not paired: {note}" for note in pairing["not_paired_sets"]]
    return lines + [""]


def _where(r: Mapping[str, Any]) -> str:
    return r["numerator"]["source"] if r["numerator"]["source"] == r["denominator"]["source"] else (
        f"{r['numerator']['source']} / {r['denominator']['source']}")


def _angle_lines(bilateral: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per bilateral pair with its angle-resolved LSI: its range and stretches beyond the thresholds."""
    lines = []
    for b in bilateral:
        resolved = b.get("angle_resolved")
        if not resolved or not resolved["angle_deg"]:
            continue
        weak = "left" if resolved["reference_side"] == "right" else "right"
        found = [f"{weak} LSI {'under' if s['kind'] == 'low' else 'over'} {s['threshold_percent']:g} % from "
                 f"{s['start_deg']:.0f} to {s['end_deg']:.0f} deg ({'lowest' if s['kind'] == 'low' else 'highest'} "
                 f"{s['extreme_lsi_percent']:.0f} % at {s['extreme_angle_deg']:.0f} deg)" for s in resolved["stretches"]]
        judged = [v for v, j in zip(resolved["lsi_percent"], resolved["judged"]) if j]
        span = f"{resolved['angle_deg'][0]:.0f}-{resolved['angle_deg'][-1]:.0f} deg"
        low, high = resolved["low_percent"], resolved["high_percent"]
        if found:
            summary = "; ".join(found)
        elif not judged:
            summary = "no angle judged"
        elif low <= min(judged) and max(judged) <= high:
            summary = f"LSI {min(judged):.0f}-{max(judged):.0f} %, within {low:g}-{high:g} %"
        else:
            summary = (f"LSI {min(judged):.0f}-{max(judged):.0f} %, beyond {low:g}-{high:g} % only over stretches "
                       f"shorter than {resolved['min_span_deg']:g} deg (within the mean curves' noise)")

        lines.append(f"  angle by angle, {b['direction']} {b['contraction']} {b['velocity_dps']:.0f} deg/s ({span}): {summary}")
    return lines


_MEASURES = {"peak_torque": ("peak torque", ".1f", "N.m"), "peak_torque_per_kg": ("peak torque / body mass", ".2f", "N.m/kg"),
             "ratio": ("ratio", ".2f", "")}  # fmt: skip


def _norm_lines(norms: Mapping[str, Any] | None) -> list[str]:
    """The figures against the normative reference groups, or why a figure was not compared."""
    if not norms:
        return []
    who = norms["subject"]
    facts = ", ".join(x for x in (who.get("sex") or "sex unknown",
                                  f"{who['age_years']:g} y" if who.get("age_years") is not None else "age unknown",
                                  who["population"]) if x)  # fmt: skip
    lines = [f"== Normative comparison ({norms['compared']} of {len(norms['comparisons'])} figures compared; subject: {facts})"]
    for c in norms["comparisons"]:
        name, fmt, unit = _MEASURES[c["measure"]]
        value = "-" if c["value"] is None else f"{c['value']:{fmt}}{' ' + unit if unit else ''}"
        head = f"  {c['label']}, {name} {value}: "
        ref = c["reference"]
        if ref is None:
            lines.append(head + f"not compared: {c['reason']}")
            continue
        sd = "" if ref["sd"] is None else f" +/- {ref['sd']:{fmt}}"
        where = f"{ref['short']} ({ref['sport']}, {ref['sex'] or 'sex not stated'}, n {ref['n'] if ref['n'] is not None else '?'})"
        judged = (f", z {c['z']:+.2f} (percentile {c['percentile']:.0f})" if c['z'] is not None else f"; {c['reason']}")
        lines.append(head + f"{where} {ref['mean']:{fmt}}{sd}{judged}")
    lines += [f"  reference set left out: {e['error']}" for e in norms.get("load_errors", [])]
    return lines + [""]


def render_text(report: Mapping[str, Any]) -> str:
    """The verdict, the criteria not evaluated, the pairing, then per recording and set, ratios, deficits, changes and flags."""
    lines = ["== Verdict"]
    lines += [f"  {f['text']}" for f in report["verdict"]] or ["  nothing to report"]
    lines += [f"  Not evaluated: {n['criterion']}: {n['reason']}" for n in report["not_evaluated"]]
    lines.append("")
    lines += _pairing_lines(report)
    for rec in report["recordings"]:
        lines += _recording_lines(rec)
    if report["ratios"]:
        lines.append("== Ratios (value as %)")
        rows = [[r["numerator"]["side"] or "-", r["kind"], r["label"],
                 (f"at {r['numerator']['angle_deg']:.0f} deg" if r["numerator"].get("angle_deg") is not None
                  else f"{r['numerator']['velocity_dps']:.0f}/{r['denominator']['velocity_dps']:.0f} deg/s"),
                 _num(r["numerator"]["peak_torque_nm"]), _num(r["denominator"]["peak_torque_nm"]), _num(100 * r["value"]),
                 _num((r["angle_specific"] or {}).get("crossing_angle_deg"), ".0f", "none"), _where(r)]
                for r in report["ratios"]]  # fmt: skip
        header = ["side", "kind", "ratio", "velocity", "num N.m", "den N.m", "ratio %", "curves cross at deg", "recordings"]
        lines += _table(header, rows) + [""]
    if report["bilateral"]:
        lines.append("== Bilateral")
        rows = [[b["direction"], b["contraction"],
                 f"at {b['angle_deg']:.0f} deg" if b.get("angle_deg") is not None else f"{b['velocity_dps']:.0f} deg/s",
                 _num(b["left_nm"]), _num(b["right_nm"]), b["involved_side"] or f"ref {b['reference_side']}",
                 _num(b["deficit_percent"]), _num(b["lsi_percent"]), f"{b['left_source']} / {b['right_source']}"]
                for b in report["bilateral"]]  # fmt: skip
        header = ["group", "contraction", "velocity", "left N.m", "right N.m", "involved", "deficit %", "LSI %", "recordings"]
        lines += _table(header, rows)
        lines += _angle_lines(report["bilateral"]) + [""]
    for retest in report.get("retests", []):
        lines.append(f"== Test-retest: {retest['subject']}, {retest['before_session']} -> {retest['after_session']}")
        rows = [[c["label"], _num(c["before"], ".2f"), _num(c["after"], ".2f"),
                 f"{c['change_points']:+.1f} points" if c["change_points"] is not None else f"{_num(c['change_percent'], '+.1f')} %",
                 "-" if c["beyond_srd"] is None else ("beyond SRD" if c["beyond_srd"] else "within SRD")]
                for c in retest["changes"]]  # fmt: skip
        lines += _table(["figure", "before", "after", "change", "SRD"], rows) + [""]
    lines += _norm_lines(report.get("norms"))
    lines.append("== Flags" if report["flags"] else "== Flags: none")
    for f in report["flags"]:
        lines.append(f"  [{f['severity']}] {f['rule']}: {f['subject']}: {f['message']} ({f['source']})")
    return "\n".join(lines) + "\n"
