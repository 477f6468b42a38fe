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

from sqlalchemy import Row, bindparam, select, text
from sqlalchemy.orm import Session

from api.analysis_service import AnalysisSettings
from api.errors import NotFoundError
from api.reporting import RUNNING_STATES
from api.storage.models import LabSession, Protocol, RetestGoal, SampleChunk, Subject, Trial

__all__ = ["history_inputs", "norms_files", "printed_report_inputs", "session_report_inputs"]

#: The columns of a running trial a report shows (``api.reporting``'s trial entry) or prints (its protocol).
_RUNNING_COLUMNS = ("id", "state", "joint", "pattern", "side", "mode", "velocity_plus_dps", "velocity_minus_dps",
                    "source_format", "protocol_id")  # fmt: skip

# Plain SQL, built once: read on every request, where composing statements would cost more than running
# them; the values come back as the driver gives them (a key compares them, nothing converts them).
_SUBJECT = text(f"SELECT * FROM {Subject.__tablename__} WHERE id = :id")
_SESSION = text(f"SELECT * FROM {LabSession.__tablename__} WHERE id = :id")
_SESSIONS_OF = text(f"SELECT * FROM {LabSession.__tablename__} WHERE subject_id = :id ORDER BY date, id")
_TRIALS_OF = text(f"""
    SELECT t.*, c.chunks, c.samples FROM {Trial.__tablename__} AS t
    LEFT OUTER JOIN (
        SELECT trial_id, count(*) AS chunks, sum(sample_count) AS samples FROM {SampleChunk.__tablename__}
        WHERE trial_id IN (SELECT id FROM {Trial.__tablename__} WHERE session_id IN :ids) GROUP BY trial_id
    ) AS c ON c.trial_id = t.id
    WHERE t.session_id IN :ids ORDER BY t.id
""").bindparams(bindparam("ids", expanding=True))  # fmt: skip


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
    row = session.execute(_SUBJECT, {"id": subject_id}).first()
    return None if row is None else tuple(row)


def _sessions(session: Session, rows: Sequence[Row[Any]]) -> dict[int, tuple[Any, ...]]:
    """``session id -> (session row, trials)`` for these session rows, in their order: each trial's row
    with its stored chunks and samples (``api.analysis_service.data_fingerprints``' figures), or only
    :data:`_RUNNING_COLUMNS` while it is running."""
    ids = [int(row.id) for row in rows]
    by_session: dict[int, list[tuple[Any, ...]]] = {i: [] for i in ids}
    if ids:
        for trial in session.execute(_TRIALS_OF, {"ids": ids}):
            fields = trial._mapping
            if fields["state"] in RUNNING_STATES:
                part: tuple[Any, ...] = tuple(fields[name] for name in _RUNNING_COLUMNS)
            else:
                part = tuple(trial)
            by_session[int(fields["session_id"])].append(part)
    return {int(row.id): (tuple(row), tuple(by_session[int(row.id)])) for row in rows}


def _of_session(session: Session, session_id: int) -> tuple[Any, ...] | None:
    return _sessions(session, session.execute(_SESSION, {"id": session_id}).all()).get(session_id)


def _of_subject(session: Session, subject_id: int) -> dict[int, tuple[Any, ...]]:
    return _sessions(session, session.execute(_SESSIONS_OF, {"id": subject_id}).all())


def _common(session: Session, subject_id: int, settings: AnalysisSettings) -> tuple[Any, ...]:
    return (settings, norms_files(settings.norm_folders), _subject_row(session, subject_id))


def session_report_inputs(session: Session, session_id: int, settings: AnalysisSettings) -> tuple[Any, ...]:
    """What ``api.reporting.session_report`` builds the session's document from (read without the ORM: a
    cached report's request costs these queries and little else).

    Raises
    ------
    NotFoundError
        When no session has this id.
    """
    rows = session.execute(_SESSION, {"id": session_id}).all()
    if not rows:
        raise NotFoundError("session", session_id)
    return (*_common(session, int(rows[0].subject_id), settings), _sessions(session, rows)[session_id])


def history_inputs(session: Session, subject: Subject, settings: AnalysisSettings) -> tuple[Any, ...]:
    """What ``api.reporting.subject_history`` builds its document from: every session of the subject."""
    return (*_common(session, subject.id, settings), tuple(_of_subject(session, subject.id).items()))


def printed_report_inputs(session: Session, lab_session: LabSession, settings: AnalysisSettings) -> tuple[Any, ...]:
    """What the printed report (HTML, PDF) is built from: the session report's inputs, its trials' protocol
    names and, when the subject has goals, the goals and every session up to this one (their progress)."""
    goals = tuple(tuple(row) for row in session.execute(
        select(RetestGoal.__table__).where(RetestGoal.subject_id == lab_session.subject_id).order_by(RetestGoal.id)
    ))  # fmt: skip
    if goals:
        found = _of_subject(session, lab_session.subject_id)
        ids = list(found)
        sessions: tuple[Any, ...] = tuple(found.items())[: ids.index(lab_session.id) + 1] if lab_session.id in ids else ()
    else:
        sessions = (lab_session.id, _of_session(session, lab_session.id))
    protocols = tuple(tuple(row) for row in session.execute(
        select(Protocol.id, Protocol.name).join(Trial, Trial.protocol_id == Protocol.id)
        .where(Trial.session_id == lab_session.id).distinct().order_by(Protocol.id)
    ))  # fmt: skip
    return (*_common(session, lab_session.subject_id, settings), goals, sessions, protocols)
