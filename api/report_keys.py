"""Everything a report is built from, read cheaply: the key of :func:`api.report_cache.cached_report`.

A session report depends on the analysis parameters, the lab's normative sets (each file's
name, size and modification time), the subject's row, the session's row and, for each of
its trials, the trial's row and its stored data (chunks and samples). A trial the device is
busy with (``recording``, ``weighing``) is only listed by a report, with its state: its
identity, state and listed fields are its part of the key, not its samples, so its commits
do not invalidate the report while its state says it is running. The printed report also
depends on the names of its trials' protocols and, when the subject has goals, on the goal
rows and every earlier session (its goal progress); a history on all the subject's sessions.

Every key is plain values (rows as tuples), compared through :func:`api.report_cache.digest`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from api.analysis_service import AnalysisSettings, data_fingerprints
from api.reporting import RUNNING_STATES
from api.storage.models import LabSession, Protocol, RetestGoal, Subject, Trial

__all__ = ["history_inputs", "norms_files", "printed_report_inputs", "session_report_inputs"]

_TRIALS = Trial.__table__
_SESSIONS = LabSession.__table__
#: The columns of a running trial a report shows (``api.reporting``'s trial entry) or prints (its protocol).
_RUNNING_COLUMNS = ("id", "state", "joint", "pattern", "side", "mode", "velocity_plus_dps", "velocity_minus_dps",
                    "source_format", "protocol_id")  # fmt: skip


def norms_files(folders: Sequence[Path]) -> tuple[Any, ...]:
    """Each ``*.csv`` of the lab's folders of normative sets: (path, size, modification time in ns)."""
    found: list[Any] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.csv")):
            try:
                stat = path.stat()
            except OSError as err:
                found.append((str(path), type(err).__name__))
                continue
            found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def _subject_row(session: Session, subject_id: int) -> tuple[Any, ...] | None:
    row = session.execute(select(Subject.__table__).where(Subject.id == subject_id)).first()
    return None if row is None else tuple(row)


def _sessions(session: Session, where: ColumnElement[bool]) -> dict[int, tuple[Any, ...]]:
    """``session id -> (session row, trials)`` for the sessions matching ``where``, in date order."""
    sessions = session.execute(select(_SESSIONS).where(where).order_by(LabSession.date, LabSession.id)).all()
    ids = [int(row.id) for row in sessions]
    trials = session.execute(select(_TRIALS).where(Trial.session_id.in_(ids)).order_by(Trial.id)).all() if ids else []
    finished = [int(t.id) for t in trials if t.state not in RUNNING_STATES]
    fingerprints = data_fingerprints(session, finished)
    by_session: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
    for trial in trials:
        if trial.state in RUNNING_STATES:
            part: tuple[Any, ...] = tuple(getattr(trial, name) for name in _RUNNING_COLUMNS)
        else:
            part = (tuple(trial), fingerprints.get(int(trial.id), (0, 0)))
        by_session[int(trial.session_id)].append(part)
    return {int(row.id): (tuple(row), tuple(by_session[int(row.id)])) for row in sessions}


def _common(session: Session, subject_id: int, settings: AnalysisSettings) -> tuple[Any, ...]:
    return (settings, norms_files(settings.norm_folders), _subject_row(session, subject_id))


def session_report_inputs(session: Session, lab_session: LabSession, settings: AnalysisSettings) -> tuple[Any, ...]:
    """What ``api.reporting.session_report`` builds its document from."""
    found = _sessions(session, LabSession.id == lab_session.id)
    return (*_common(session, lab_session.subject_id, settings), found.get(lab_session.id))


def history_inputs(session: Session, subject: Subject, settings: AnalysisSettings) -> tuple[Any, ...]:
    """What ``api.reporting.subject_history`` builds its document from: every session of the subject."""
    found = _sessions(session, LabSession.subject_id == subject.id)
    return (*_common(session, subject.id, settings), tuple(found.items()))


def printed_report_inputs(session: Session, lab_session: LabSession, settings: AnalysisSettings) -> tuple[Any, ...]:
    """What the printed report (HTML, PDF) is built from: the session report's inputs, its trials' protocol
    names and, when the subject has goals, the goals and every session up to this one (their progress)."""
    goals = tuple(tuple(row) for row in session.execute(
        select(RetestGoal.__table__).where(RetestGoal.subject_id == lab_session.subject_id).order_by(RetestGoal.id)
    ))  # fmt: skip
    if goals:
        found = _sessions(session, LabSession.subject_id == lab_session.subject_id)
        ids = list(found)
        sessions: tuple[Any, ...] = tuple(found.items())[: ids.index(lab_session.id) + 1] if lab_session.id in ids else ()
    else:
        sessions = (lab_session.id, _sessions(session, LabSession.id == lab_session.id).get(lab_session.id))
    protocols = tuple(tuple(row) for row in session.execute(
        select(Protocol.id, Protocol.name).join(Trial, Trial.protocol_id == Protocol.id)
        .where(Trial.session_id == lab_session.id).distinct().order_by(Protocol.id)
    ))  # fmt: skip
    return (*_common(session, lab_session.subject_id, settings), goals, sessions, protocols)
