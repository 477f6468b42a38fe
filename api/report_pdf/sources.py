"""Where the printed report's inputs come from: the database (a session) or recording files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.report_pdf.figures import Curves
from api.storage.models import Protocol, Trial
from api.storage.samples import read_samples

__all__ = ["session_curves", "session_extra"]


def session_curves(session: Session, document: dict[str, Any]) -> dict[int, Curves]:
    """The samples of each analysed trial of a session report, by its index in ``recordings``."""
    curves: dict[int, Curves] = {}
    for index, recording in enumerate(document.get("recordings", [])):
        trial_id = recording.get("trial_id")
        if trial_id is None:
            continue
        block = read_samples(session, int(trial_id))
        if len(block):
            curves[index] = Curves.of(recording, block.time_s, block.torque_nm, block.position_deg)
    return curves


def session_extra(session: Session, document: dict[str, Any]) -> dict[str, str]:
    """Header values a session report does not hold: the names of the protocols its trials followed."""
    trial_ids = [t["trial_id"] for t in document.get("trials", [])]
    if not trial_ids:
        return {}
    names = session.scalars(
        select(Protocol.name).join(Trial, Trial.protocol_id == Protocol.id).where(Trial.id.in_(trial_ids)).distinct()
    )
    text = "; ".join(sorted(names))
    return {"protocol": text or "single trials"}
