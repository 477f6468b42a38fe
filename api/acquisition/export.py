"""A stored trial as the recording CSV, streamed: the same writer, columns and notes as ``isokin record``.

The metadata lines carry the trial's set, the subject's code, body mass and involved
side, the gravity correction, the device and calibration (in ``isokin record``'s order,
:data:`daq.csv_sink.METADATA_ORDER`), then the service's own keys (trial, session, state
and figures). Rows are written by :func:`daq.recording.rows_text`, events as the notes of
:func:`daq.events.event_note` at their place, and the clock segments as ``# clock:`` notes
at the end, so a trial recorded by the service and the same run recorded by ``isokin
record`` differ only in metadata. A trial stored before the device clock was kept, or
imported, has no ``device_time_us`` column. The file reads back with
:func:`daq.recording.read_recording` and analyses with ``isokin analyze``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import select

from api.errors import NotFoundError
from api.storage.database import Database
from api.storage.models import LabSession, SampleChunk, Subject, Trial, TrialEvent
from api.storage.samples import SampleBlock, iter_samples, layouts_without_device_clock
from daq.csv_sink import EXTRA_COLUMNS, clock_note, ordered_metadata
from daq.events import event_note
from daq.recording import BASE_COLUMNS, header_text, note_text, rows_text
from daq.timing import ClockSegment

__all__ = ["iter_trial_csv", "trial_event_note", "trial_metadata"]


def _clean(text: object) -> str:
    return " ".join(str(text).split())


def trial_metadata(trial: Trial, subject: Subject | None) -> dict[str, str]:
    """The ``key: value`` metadata of a trial's recording (in ``isokin record``'s order, then the service's keys).

    Keys from the trial's ``metadata_json`` (vendor metadata of an import, device details
    of a recording) follow when they do not clash.
    """
    plus, minus = trial.velocity_plus_dps, trial.velocity_minus_dps
    values: dict[str, object | None] = {
        "joint": trial.joint,
        "pattern": trial.pattern,
        "side": trial.side,
        "involved_side": subject.involved_side if subject else None,
        "mode": trial.mode,
        "velocity_dps": f"{plus:g}" if plus == minus else f"{plus:g}/{minus:g}",
        "repetitions": trial.repetitions,
        "sample_rate_hz": f"{trial.sample_rate_hz:g}" if trial.sample_rate_hz else None,
        "body_mass_kg": f"{subject.body_mass_kg:g}" if subject and subject.body_mass_kg else None,
        "gravity_torque_nm": trial.gravity_torque_nm,
        "horizontal_angle_deg": trial.horizontal_angle_deg,
        "subject": subject.code if subject else None,
        "device": trial.device_url,
        "calibration": trial.calibration,
        "started_at": trial.started_at.isoformat(timespec="milliseconds") if trial.started_at else None,
        "source_format": trial.source_format,
        "markers": trial.markers,
        "group": trial.group,
        "trial_id": trial.id,
        "session_id": trial.session_id,
        "state": trial.state,
        "device_serial": trial.device_serial,
        "samples": trial.sample_count,
        "gaps": trial.gap_count,
        "lost_samples": trial.lost_samples,
        "crc_errors": trial.crc_errors,
        "interrupted_reason": trial.interrupted_reason,
    }
    if trial.metadata_json:
        try:
            extra = json.loads(trial.metadata_json)
        except ValueError:
            extra = {}
        if isinstance(extra, dict):
            for key, value in extra.items():
                name = _clean(key).replace(":", "_")
                if name and name not in values and value is not None:
                    values[name] = value if not isinstance(value, (dict, list)) else json.dumps(value)
    ordered = ordered_metadata(values)
    return {key: _clean(value) for key, value in ordered.items() if _clean(value) != ""}


def trial_event_note(event: TrialEvent) -> str:
    """A stored event as the text of its ``# ...`` note line (:func:`daq.events.event_note`)."""
    return event_note(event.kind, event.sequence, event.lost_samples, event.detail)


def _clock_notes(trial: Trial) -> list[str]:
    """The ``clock:`` notes of the trial's stored clock segments."""
    try:
        segments = json.loads(trial.clock_segments or "[]")
        notes = []
        for seg in segments:
            seg["residual_rms_s"] = float("nan") if seg.get("residual_rms_s") is None else seg["residual_rms_s"]
            notes.append(clock_note(ClockSegment(**seg)))
        return notes
    except (ValueError, TypeError, KeyError):
        return []


def _load(database: Database, trial_id: int) -> tuple[Trial, Subject | None, list[TrialEvent], bool]:
    """The trial, its subject, its events in order, and whether all its samples carry the device clock."""
    with database.session() as session:
        trial = session.get(Trial, trial_id)
        if trial is None:
            raise NotFoundError("trial", trial_id)
        subject = session.scalar(select(Subject).join(LabSession).where(LabSession.id == trial.session_id))
        events = list(session.scalars(select(TrialEvent).where(TrialEvent.trial_id == trial_id).order_by(TrialEvent.id)))
        older = session.scalar(
            select(SampleChunk.id)
            .where(SampleChunk.trial_id == trial_id, SampleChunk.layout.in_(layouts_without_device_clock()))
            .limit(1)
        )
        session.expunge_all()
        device_clock = older is None and trial.source_format == "isokin" and trial.device_url is not None
        return trial, subject, events, device_clock


def _place(events: Sequence[TrialEvent], block: SampleBlock) -> np.ndarray:
    """Row of ``block`` after which each event goes (events with no sequence go by time)."""
    out = np.empty(len(events), dtype=np.int64)
    for k, event in enumerate(events):
        if event.sequence is not None:
            out[k] = np.searchsorted(block.sequence, event.sequence, side="right")
        else:
            out[k] = np.searchsorted(block.time_s, event.time_s if event.time_s is not None else -np.inf, side="right")
    return out


def iter_trial_csv(
    database: Database, trial_id: int, *, start_s: float | None = None, end_s: float | None = None
) -> Iterator[str]:
    """The trial's recording CSV, piece by piece (metadata, header, then rows and notes a block at a time).

    Raises
    ------
    NotFoundError
        The trial does not exist (raised at once, before any text).
    """
    trial, subject, events, device_clock = _load(database, trial_id)
    columns = BASE_COLUMNS + (EXTRA_COLUMNS if device_clock else EXTRA_COLUMNS[:2])
    metadata: dict[str, object] = dict(trial_metadata(trial, subject))
    if start_s is not None or end_s is not None:
        metadata["time_range_s"] = f"{'' if start_s is None else start_s}..{'' if end_s is None else end_s}"
    head = header_text(metadata, columns)

    def generate() -> Iterator[str]:
        yield head
        pending = list(events)
        with database.session() as session:
            for block in iter_samples(session, trial_id, start_s=start_s, end_s=end_s):
                yield _block_text(block, pending, device_clock)
        if start_s is None and end_s is None:
            yield "".join(note_text(trial_event_note(e)) for e in pending)
            yield "".join(note_text(note) for note in _clock_notes(trial))

    return generate()


def _block_text(block: SampleBlock, pending: list[TrialEvent], device_clock: bool) -> str:
    """Rows of a block with the notes of the events that fall inside it (removed from ``pending``)."""
    columns = [block.time_s, block.torque_nm, block.position_deg, block.velocity_dps, block.status, block.sequence]
    if device_clock:
        columns.append(block.device_time_us)
    places = _place(pending, block)
    inside = places < len(block)
    parts: list[str] = []
    start = 0
    for k in np.argsort(places, kind="stable"):
        if not inside[k]:
            continue
        parts.append(rows_text([c[start : places[k]] for c in columns]))
        parts.append(note_text(trial_event_note(pending[k])))
        start = int(places[k])
    parts.append(rows_text([c[start:] for c in columns]))
    pending[:] = [e for e, keep in zip(pending, inside) if not keep]
    return "".join(parts)

