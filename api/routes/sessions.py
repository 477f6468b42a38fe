"""``/sessions``: a subject's test days (CRUD, paginated, filter by subject)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from api.deps import AcquisitionDep, IdPath, OperatorDep, PageDep, SessionDep, ViewerDep
from api.routes.common import AUTH_ERRORS, BAD_BODY, CONFLICT, NOT_FOUND, get_or_404, paginate, refuse_busy_trials
from api.schemas.sessions import SessionCreate, SessionPublic, SessionsPublic, SessionUpdate
from api.storage.models import LabSession, Subject

__all__ = ["router"]

router = APIRouter(prefix="/sessions", tags=["sessions"], responses=AUTH_ERRORS)


@router.get("", response_model=SessionsPublic, responses=NOT_FOUND, summary="List sessions")
def list_sessions(
    session: SessionDep,
    _: ViewerDep,
    page: PageDep,
    subject_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="only this subject's sessions")] = None,
) -> SessionsPublic:
    query = select(LabSession).order_by(LabSession.id)
    if subject_id is not None:
        get_or_404(session, Subject, subject_id, "subject")
        query = query.where(LabSession.subject_id == subject_id)
    rows, count = paginate(session, query, page)
    return SessionsPublic(data=[SessionPublic.model_validate(r) for r in rows], count=count)


@router.post("", response_model=SessionPublic, status_code=201, responses=BAD_BODY | NOT_FOUND, summary="Create a session")
def create_session(body: SessionCreate, session: SessionDep, _: OperatorDep) -> SessionPublic:
    get_or_404(session, Subject, body.subject_id, "subject")
    row = LabSession(
        subject_id=body.subject_id,
        date=body.date or dt.datetime.now(dt.UTC).date(),
        notes=body.notes,
    )
    session.add(row)
    session.commit()
    return SessionPublic.model_validate(row)


@router.get("/{session_id}", response_model=SessionPublic, responses=NOT_FOUND, summary="Read a session")
def read_session(session_id: IdPath, session: SessionDep, _: ViewerDep) -> SessionPublic:
    return SessionPublic.model_validate(get_or_404(session, LabSession, session_id, "session"))


@router.patch("/{session_id}", response_model=SessionPublic, responses=BAD_BODY | NOT_FOUND, summary="Change a session")
def update_session(session_id: IdPath, body: SessionUpdate, session: SessionDep, _: OperatorDep) -> SessionPublic:
    row = get_or_404(session, LabSession, session_id, "session")
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(row, name, value)
    session.commit()
    return SessionPublic.model_validate(row)


@router.delete(
    "/{session_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND | CONFLICT,
    summary="Delete a session with all its trials and recordings (not while one of them records or weighs)",
)
def delete_session(session_id: IdPath, session: SessionDep, service: AcquisitionDep, _: OperatorDep) -> None:
    row = get_or_404(session, LabSession, session_id, "session")
    refuse_busy_trials(session, service, LabSession.id == session_id, f"session {session_id}")
    session.delete(row)
    session.commit()
