"""A stored trial as the recording CSV (``daq/recording.py``'s layout), streamed.

The metadata lines carry the trial's set, the subject's code, body mass and involved
side, the gravity correction, the device and calibration, and the acquisition figures;
events (gaps, disconnections, device events) become ``# ...`` note lines at their
place, as ``isokin record`` writes them. So a trial downloaded as CSV reads back with
:func:`daq.recording.read_recording` and analyses with ``isokin analyze``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import select

from api.errors import NotFoundError
from api.storage.database import Database
from api.storage.models import LabSession, Subject, Trial, TrialEvent
from api.storage.samples import SampleBlock, iter_samples
from daq.recording import BASE_COLUMNS, FORMAT_VERSION

__all__ = ["CSV_COLUMNS", "event_note", "iter_trial_csv", "trial_metadata"]

#: Columns of a trial's CSV: the recording layout's four, then the device status bits and sample index.
CSV_COLUMNS = BASE_COLUMNS + ("status", "sequence")
_ROW_FORMAT = "%.6f,%.6f,%.6f,%.6f,%d,%d"


def _clean(text: object) -> str:
    return " ".join(str(text).split())


def trial_metadata(trial: Trial, subject: Subject | None) -> dict[str, str]:
    """The ``key: value`` metadata of a trial's recording (keys of ``daq.recording.KNOWN_METADATA`` first).

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
    return {key: _clean(value) for key, value in values.items() if value is not None and _clean(value) != ""}


def event_note(event: TrialEvent) -> str:
    """An event as the text of a ``# ...`` note line (the wording of ``isokin record``)."""
    at = f" after sequence {event.sequence}" if event.sequence is not None else ""
    if event.kind == "gap":
        return _clean(f"gap: {event.lost_samples} samples lost{at} ({event.detail})")
    if event.kind == "overflow":
        return _clean(f"overflow: {event.lost_samples} samples dropped from sequence {event.sequence} ({event.detail})")
    if event.kind in ("disconnected", "reconnected", "stream ended", "stop failed"):
        return _clean(f"{event.kind}{at}: {event.detail}")
    return _clean(f"event: {event.kind.upper()} {event.detail} at sequence {event.sequence}")


def _load(database: Database, trial_id: int) -> tuple[Trial, Subject | None, list[TrialEvent]]:
    with database.session() as session:
        trial = session.get(Trial, trial_id)
        if trial is None:
            raise NotFoundError("trial", trial_id)
        subject = session.scalar(select(Subject).join(LabSession).where(LabSession.id == trial.session_id))
        events = list(session.scalars(select(TrialEvent).where(TrialEvent.trial_id == trial_id).order_by(TrialEvent.id)))
        session.expunge_all()
        return trial, subject, events


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
    trial, subject, events = _load(database, trial_id)

    def generate() -> Iterator[str]:
        head = [f"# isokin recording: {FORMAT_VERSION}"]
        head += [f"# {key}: {value}" for key, value in trial_metadata(trial, subject).items()]
        if start_s is not None or end_s is not None:
            head.append(f"# time_range_s: {'' if start_s is None else start_s}..{'' if end_s is None else end_s}")
        yield "\n".join(head + [",".join(CSV_COLUMNS)]) + "\n"
        pending = list(events)
        with database.session() as session:
            for block in iter_samples(session, trial_id, start_s=start_s, end_s=end_s):
                yield _block_text(block, pending)
        if pending and start_s is None and end_s is None:
            yield "".join(f"# {event_note(e)}\n" for e in pending)

    return generate()


def _block_text(block: SampleBlock, pending: list[TrialEvent]) -> str:
    """Rows of a block with the notes of the events that fall inside it (removed from ``pending``)."""
    table = np.column_stack(
        (block.time_s, block.torque_nm, block.position_deg, block.velocity_dps, block.status, block.sequence)
    )
    places = _place(pending, block)
    inside = places < len(block)
    buffer = io.StringIO()
    start = 0
    for k in np.argsort(places, kind="stable"):
        if not inside[k]:
            continue
        np.savetxt(buffer, table[start : places[k]], fmt=_ROW_FORMAT)
        buffer.write(f"# {event_note(pending[k])}\n")
        start = int(places[k])
    np.savetxt(buffer, table[start:], fmt=_ROW_FORMAT)
    pending[:] = [e for e, keep in zip(pending, inside) if not keep]
    return buffer.getvalue()

