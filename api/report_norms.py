"""The ``norms`` section of a service report: the stored subject's facts and each stored trial's dynamometer.

:func:`attach_report_norms` is :func:`api.norms.attach_norms` for a session (or trial) report
built from database rows; the reference sets are read from the request's folders at every
report, and a set left out is logged once per process.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from analysis.norms_match import SubjectFacts
from api.analysis_service import AnalysisSettings, trial_metadata
from api.norms import attach_norms, load_norms, recording_dynamometer
from api.storage.models import Subject, Trial

__all__ = ["attach_report_norms", "subject_facts", "trial_dynamometer"]

log = logging.getLogger(__name__)

_WARNED: set[str] = set()


def subject_facts(subject: Subject | None, date: dt.date | None) -> SubjectFacts:
    """A stored subject's facts on a session's date (age = the date's year - birth year)."""
    if subject is None:
        return SubjectFacts()
    age = date.year - subject.birth_year if date is not None and subject.birth_year is not None else None
    return SubjectFacts(sex=subject.sex, age_years=None if age is None else float(age), sport=subject.sport,
                        dominant_side=subject.dominant_side)  # fmt: skip


def trial_dynamometer(trial: Trial) -> str | None:
    """The dynamometer a stored trial comes from (its import's format, or its calibration's device)."""
    metadata = trial_metadata(trial)
    if trial.source_format:
        metadata["source_format"] = trial.source_format
    if trial.calibration:
        metadata["calibration"] = trial.calibration
    return recording_dynamometer(metadata)


def attach_report_norms(
    document: dict[str, Any], subject: Subject | None, date: dt.date | None, trials: Sequence[Trial], settings: AnalysisSettings
) -> None:
    """:func:`attach_norms` for a service report: the subject's facts on the session's date, each trial's dynamometer."""
    by_id = {t.id: t for t in trials}
    dynamometers = [trial_dynamometer(by_id[r["trial_id"]]) if r.get("trial_id") in by_id else None
                    for r in document.get("recordings", [])]  # fmt: skip
    loaded = load_norms(settings.norm_folders)
    for _, message in loaded.errors:
        if message not in _WARNED:  # sets are read at every report: say it once per process
            _WARNED.add(message)
            log.warning("reference set left out: %s", message)
    attach_norms(document, loaded, subject_facts(subject, date), dynamometers,
                 velocity_match_percent=settings.velocity_match_percent)  # fmt: skip
