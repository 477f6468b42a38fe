"""A session report as CSV: one table per section, for spreadsheets.

Layout (UTF-8, ``\\r\\n`` line ends as the csv module writes them)::

    # session
    session_id,session_date,subject_id,subject_code,involved_side,schema
    ...
    (blank line)
    # sets
    trial_id,side,joint,pattern,direction,contraction,velocity_dps,repetitions,peak_torque_nm,...
    ...
    (blank line)
    # ratios
    ...
    # bilateral
    ...
    # flags
    ...
    # trials
    ...
    # verdict
    kind,severity,text
    ...

Each section starts with a ``# name`` line, then its header, then one row per item
(possibly none), and ends with a blank line. Numbers are in the units their column names
carry (``_nm``, ``_dps``, ``_percent``, ``_j``, ``_per_kg`` in N.m/kg or J/kg); ratios are
fractions; an empty cell is a figure that could not be computed. To read one section
with pandas: split the text on blank lines and ``read_csv`` the part after the ``#`` line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["SECTIONS", "report_to_csv"]

_SET_FIGURES = (
    "repetitions", "peak_torque_nm", "peak_torque_rep", "mean_peak_torque_nm", "peak_torque_unwindowed_nm",
    "peak_torque_per_kg", "cv_percent", "total_work_j", "work_per_kg", "work_fatigue_percent", "endurance_ratio",
    "fatigue_slope_nm_per_rep",
)  # fmt: skip
_TERM = ("trial_id", "direction", "contraction", "velocity_dps", "peak_torque_nm")

#: Section name -> its columns, in file order.
SECTIONS: Mapping[str, tuple[str, ...]] = {
    "session": ("session_id", "session_date", "subject_id", "subject_code", "involved_side", "schema"),
    "sets": ("trial_id", "side", "joint", "pattern", "direction", "contraction", "velocity_dps", *_SET_FIGURES),
    "ratios": (
        "side", "kind", "label", "joint", "pattern", "value", "crossing_angle_deg",
        *(f"numerator_{c}" for c in _TERM), *(f"denominator_{c}" for c in _TERM),
    ),  # fmt: skip
    "bilateral": (
        "joint", "pattern", "direction", "contraction", "velocity_dps", "left_nm", "right_nm",
        "involved_side", "reference_side", "deficit_percent", "lsi_percent", "left_trial_id", "right_trial_id",
        "angle_deg", "gravity_corrected",
    ),  # fmt: skip
    "flags": ("rule", "severity", "subject", "message", "threshold_name", "threshold", "source"),
    "trials": (
        "trial_id", "state", "joint", "pattern", "side", "mode", "velocity_plus_dps", "velocity_minus_dps",
        "source_format", "analysed", "reason",
    ),  # fmt: skip
    "verdict": ("kind", "severity", "text"),
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _rows(report: Mapping[str, Any]) -> dict[str, Iterable[Sequence[Any]]]:
    session, subject = report.get("session") or {}, report.get("subject") or {}
    sets = [
        (rec.get("trial_id"), rec["side"], rec["joint"], rec["pattern"], s["direction"], s["contraction"],
         s["velocity_dps"], *(s.get(name) for name in _SET_FIGURES))
        for rec in report["recordings"] for s in rec["sets"]
    ]  # fmt: skip
    ratios = [
        (r["numerator"]["side"], r["kind"], r["label"], r["joint"], r["pattern"], r["value"],
         (r["angle_specific"] or {}).get("crossing_angle_deg"),
         *(r["numerator"].get(c) for c in _TERM), *(r["denominator"].get(c) for c in _TERM))
        for r in report["ratios"]
    ]  # fmt: skip
    return {
        "session": [(session.get("id"), session.get("date"), subject.get("id"), subject.get("code"),
                     report["parameters"]["involved_side"], report["schema"])],
        "sets": sets,
        "ratios": ratios,
        "bilateral": [tuple(b.get(c) for c in SECTIONS["bilateral"]) for b in report["bilateral"]],
        "flags": [tuple(f.get(c) for c in SECTIONS["flags"]) for f in report["flags"]],
        "trials": [
            (*(t.get(c) for c in SECTIONS["trials"][:-2]), t.get("recording_index") is not None, t.get("reason"))
            for t in report.get("trials", [])
        ],
        "verdict": [(f["kind"], f["severity"], f["text"]) for f in report.get("verdict", [])]
        + [("not evaluated", "info", f"{n['criterion']}: {n['reason']}") for n in report.get("not_evaluated", [])],
    }  # fmt: skip


def report_to_csv(report: Mapping[str, Any]) -> str:
    """The session report (see :func:`api.reporting.session_report`) as CSV text, one table per section."""
    out = io.StringIO()
    writer = csv.writer(out)
    for name, rows in _rows(report).items():
        out.write(f"# {name}\r\n")
        writer.writerow(SECTIONS[name])
        for row in rows:
            writer.writerow([_cell(v) for v in row])
        out.write("\r\n")
    return out.getvalue()
