"""Reports over stored trials: one trial, a session, a subject's history; and the report as CSV.

Every document follows the analyze JSON contract (``analysis/README.md``, schema
``isokin-analysis/1``): ``parameters``, ``recordings``, ``ratios``, ``bilateral``, ``flags``.
The service adds, without changing any contract field:

- ``trial_id`` in each ``recordings`` entry and in each ratio's ``numerator`` / ``denominator``;
- in a session report, ``session``, ``subject`` and ``trials`` (every trial of the session,
  whether it was analysed and why not);
- ``left_trial_id`` and ``right_trial_id`` in each ``bilateral`` entry;
- ``dynamometer`` in each ``recordings`` entry and the ``norms`` section (``api.norms``:
  the figures against the matching normative reference groups, or why none matches);
- in a history, one entry per session and ``trends``: each ratio and deficit as a series
  over the sessions, gravity-corrected and uncorrected figures in separate series, each
  point with its trials and whether it is corrected.

Trials still recording, without samples or without a repetition are listed in ``trials``
with the reason and left out of the figures; the other trials are analysed together, so
ratios pair a side's sets and deficits pair the two sides (the subject's involved side,
if set, is the one under test).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis import AnalysisError, RecordingAnalysis, build_report, compare
from api.analysis_service import AnalysisCache, AnalysisSettings, analyze_trial, data_fingerprints
from api.errors import ServiceError
from api.report_norms import attach_report_norms
from api.storage.models import LabSession, Subject, Trial

__all__ = ["RUNNING_STATES", "session_report", "subject_history", "trial_report"]

#: Trial states of a trial the device is busy with (samples may still arrive): left out of session reports.
RUNNING_STATES = frozenset({"recording", "weighing"})


def _involved(settings: AnalysisSettings, subject: Subject | None) -> str | None:
    if settings.involved_side is not None:
        return settings.involved_side
    return subject.involved_side if subject is not None else None


def _document(analyses: list[tuple[int, RecordingAnalysis]], settings: AnalysisSettings, involved: str | None) -> dict[str, Any]:
    recordings = [a for _, a in analyses]
    comparison = compare(  # the trials of one report are one subject's session
        recordings,
        involved_side=involved,
        thresholds=settings.thresholds,
        velocity_match_percent=settings.velocity_match_percent,
        same_session=True,
    )
    document = build_report(
        recordings,
        comparison,
        options=settings.options,
        thresholds=settings.thresholds,
        involved_side=involved,
        velocity_match_percent=settings.velocity_match_percent,
    )
    trial_of_source = {a.source: trial_id for trial_id, a in analyses}
    for (trial_id, _), entry in zip(analyses, document["recordings"], strict=True):
        entry["trial_id"] = trial_id
    for ratio in document["ratios"]:
        for term in ("numerator", "denominator"):
            ratio[term]["trial_id"] = trial_of_source.get(ratio[term]["source"])
    for b in document["bilateral"]:
        b["left_trial_id"], b["right_trial_id"] = trial_of_source.get(b["left_source"]), trial_of_source.get(b["right_source"])
    return document


def trial_report(
    session: Session, trial: Trial, settings: AnalysisSettings, *, cache: AnalysisCache | None = None
) -> dict[str, Any]:
    """The analyze JSON document of one trial (one ``recordings`` entry).

    Raises
    ------
    api.errors.ConflictError
        When the trial has no samples.
    analysis.AnalysisError
        When it holds no repetition.
    """
    lab_session = session.get(LabSession, trial.session_id)
    subject = session.get(Subject, lab_session.subject_id) if lab_session is not None else None
    analysis = analyze_trial(session, trial, subject, settings, cache=cache)
    document = _document([(trial.id, analysis)], settings, _involved(settings, subject))
    attach_report_norms(document, subject, lab_session.date if lab_session is not None else None, [trial], settings)
    return document


def _trial_entry(trial: Trial, index: int | None, reason: str | None) -> dict[str, Any]:
    return {
        "trial_id": trial.id,
        "state": trial.state,
        "joint": trial.joint,
        "pattern": trial.pattern,
        "side": trial.side,
        "mode": trial.mode,
        "velocity_plus_dps": trial.velocity_plus_dps,
        "velocity_minus_dps": trial.velocity_minus_dps,
        "source_format": trial.source_format,
        "recording_index": index,
        "reason": reason,
    }


def session_report(
    session: Session, lab_session: LabSession, settings: AnalysisSettings, *, cache: AnalysisCache | None = None
) -> dict[str, Any]:
    """Every finished trial of a session analysed together: set figures, ratios, deficits, flags."""
    subject = session.get(Subject, lab_session.subject_id)
    trials = list(session.scalars(select(Trial).where(Trial.session_id == lab_session.id).order_by(Trial.id)))
    fingerprints = data_fingerprints(session, [t.id for t in trials])
    analysed: list[tuple[int, RecordingAnalysis]] = []
    entries: list[dict[str, Any]] = []
    for trial in trials:
        fingerprint = fingerprints.get(trial.id, (0, 0))
        reason: str | None = None
        if trial.state in RUNNING_STATES:
            reason = f"still {trial.state}"
        elif fingerprint[1] == 0:
            reason = "no samples"
        else:
            try:
                analysis = analyze_trial(session, trial, subject, settings, cache=cache, fingerprint=fingerprint)
            except (AnalysisError, ServiceError, ValueError) as err:
                reason = str(err)
            else:
                entries.append(_trial_entry(trial, len(analysed), None))
                analysed.append((trial.id, analysis))
                continue
        entries.append(_trial_entry(trial, None, reason))
    document = _document(analysed, settings, _involved(settings, subject))
    attach_report_norms(document, subject, lab_session.date, trials, settings)
    document["session"] = {"id": lab_session.id, "date": lab_session.date.isoformat(), "notes": lab_session.notes}
    document["subject"] = _subject(subject)
    document["trials"] = entries
    return document


def _subject(subject: Subject | None) -> dict[str, Any] | None:
    if subject is None:
        return None
    return {
        "id": subject.id,
        "code": subject.code,
        "sex": subject.sex,
        "birth_year": subject.birth_year,
        "body_mass_kg": subject.body_mass_kg,
        "dominant_side": subject.dominant_side,
        "involved_side": subject.involved_side,
        "sport": subject.sport,
    }


def _velocity_key(velocity_dps: float) -> float:
    """A measured set velocity (deg/s) to the nearest 5 deg/s, so sessions' sets line up."""
    return float(5 * round(velocity_dps / 5))


def _trends(points: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    """Series of each ratio and deficit over the sessions (``points``: (session entry, report)).

    Gravity-corrected and uncorrected figures are separate series (an uncorrected H:Q reads
    higher: beside a corrected one it would look like a change), and every point names the
    trials it comes from and whether it is corrected.
    """
    series: dict[tuple[Any, ...], dict[str, Any]] = {}
    for entry, report in points:
        stamp = {"session_id": entry["session_id"], "date": entry["date"]}
        for r in report["ratios"]:
            v_num, v_den = _velocity_key(r["numerator"]["velocity_dps"]), _velocity_key(r["denominator"]["velocity_dps"])
            corrected = bool(r["numerator"].get("gravity_corrected")) and bool(r["denominator"].get("gravity_corrected"))
            angle = r["numerator"].get("angle_deg")
            key = ("ratio", r["kind"], r["label"], r["numerator"]["side"], v_num, v_den, corrected,
                   None if angle is None else round(angle))
            item = series.setdefault(key, {
                "measure": "ratio", "kind": r["kind"], "label": r["label"], "joint": r["joint"], "pattern": r["pattern"],
                "side": r["numerator"]["side"], "velocity_dps": v_num, "other_velocity_dps": v_den,
                "angle_deg": None if angle is None else round(angle), "gravity_corrected": corrected,
                "unit": "fraction", "points": [],
            })  # fmt: skip
            trial_ids = [r["numerator"].get("trial_id"), r["denominator"].get("trial_id")]
            item["points"].append({**stamp, "value": r["value"], "trial_ids": trial_ids, "gravity_corrected": corrected})
        for b in report["bilateral"]:
            v = _velocity_key(b["velocity_dps"])
            corrected = bool(b.get("gravity_corrected"))
            angle = b.get("angle_deg")
            key = ("deficit", b["joint"], b["pattern"], b["direction"], b["contraction"], v, corrected,
                   None if angle is None else round(angle))
            item = series.setdefault(key, {
                "measure": "deficit", "kind": b["contraction"], "label": f"{b['direction']} {b['contraction']}",
                "joint": b["joint"], "pattern": b["pattern"], "side": None, "velocity_dps": v, "other_velocity_dps": v,
                "angle_deg": None if angle is None else round(angle), "gravity_corrected": corrected,
                "unit": "percent", "points": [],
            })  # fmt: skip
            weaker = "left" if b["reference_side"] == "right" else "right"
            item["points"].append({**stamp, "value": b["deficit_percent"], "side": b["involved_side"] or weaker,
                                   "trial_ids": [b.get("left_trial_id"), b.get("right_trial_id")],
                                   "gravity_corrected": corrected})  # fmt: skip
    return list(series.values())


def subject_history(
    session: Session, subject: Subject, settings: AnalysisSettings, *, cache: AnalysisCache | None = None
) -> dict[str, Any]:
    """Ratios, deficits and flags of each of a subject's sessions in date order, and their trends."""
    sessions = session.scalars(
        select(LabSession).where(LabSession.subject_id == subject.id).order_by(LabSession.date, LabSession.id)
    )
    involved = _involved(settings, subject)
    per_session = replace(settings, involved_side=involved)
    entries: list[dict[str, Any]] = []
    points: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for lab_session in sessions:
        report = session_report(session, lab_session, per_session, cache=cache)
        entry = {
            "session_id": lab_session.id,
            "date": lab_session.date.isoformat(),
            "trials_analysed": len(report["recordings"]),
            "trials_skipped": len(report["trials"]) - len(report["recordings"]),
            "ratios": report["ratios"],
            "bilateral": report["bilateral"],
            "flags": report["flags"],
        }
        entries.append(entry)
        points.append((entry, report))
    empty = _document([], per_session, involved)
    return {
        "schema": empty["schema"],
        "parameters": empty["parameters"],
        "subject": _subject(subject),
        "sessions": entries,
        "trends": _trends(points),
    }
