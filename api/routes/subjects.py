"""``/subjects``: the pseudonymous people tested (CRUD, paginated, filter by code)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from api.deps import AcquisitionDep, IdPath, OperatorDep, PageDep, SessionDep, ViewerDep
from api.errors import ConflictError
from api.routes.common import AUTH_ERRORS, BAD_BODY, CONFLICT, NOT_FOUND, get_or_404, paginate, refuse_busy_trials
from api.schemas.common import LineText
from api.schemas.sessions import SessionPublic, SessionsPublic
from api.schemas.subjects import SubjectCreate, SubjectPublic, SubjectsPublic, SubjectUpdate
from api.storage.models import LabSession, Subject

__all__ = ["router"]

router = APIRouter(prefix="/subjects", tags=["subjects"], responses=AUTH_ERRORS)


def _check_code_free(session: SessionDep, code: str, *, except_id: int | None = None) -> None:
    other = session.scalar(select(Subject.id).where(Subject.code == code))
    if other is not None and other != except_id:
        raise ConflictError(f"subject code {code!r} is already used by subject {other}")


@router.get("", response_model=SubjectsPublic, summary="List subjects")
def list_subjects(
    session: SessionDep,
    _: ViewerDep,
    page: PageDep,
    code: Annotated[LineText | None, Query(max_length=64, description="only the subject with this exact code")] = None,
) -> SubjectsPublic:
    query = select(Subject).order_by(Subject.id)
    if code is not None:
        query = query.where(Subject.code == code)
    rows, count = paginate(session, query, page)
    return SubjectsPublic(data=[SubjectPublic.model_validate(r) for r in rows], count=count)


@router.post("", response_model=SubjectPublic, status_code=201, responses=BAD_BODY | CONFLICT, summary="Create a subject")
def create_subject(body: SubjectCreate, session: SessionDep, _: OperatorDep) -> SubjectPublic:
    _check_code_free(session, body.code)
    subject = Subject(**body.model_dump())
    session.add(subject)
    session.commit()
    return SubjectPublic.model_validate(subject)


@router.get("/{subject_id}", response_model=SubjectPublic, responses=NOT_FOUND, summary="Read a subject")
def read_subject(subject_id: IdPath, session: SessionDep, _: ViewerDep) -> SubjectPublic:
    return SubjectPublic.model_validate(get_or_404(session, Subject, subject_id, "subject"))


@router.patch(
    "/{subject_id}", response_model=SubjectPublic, responses=BAD_BODY | NOT_FOUND | CONFLICT, summary="Change a subject"
)
def update_subject(subject_id: IdPath, body: SubjectUpdate, session: SessionDep, _: OperatorDep) -> SubjectPublic:
    subject = get_or_404(session, Subject, subject_id, "subject")
    changes = body.model_dump(exclude_unset=True)
    if "code" in changes:
        _check_code_free(session, changes["code"], except_id=subject_id)
    for name, value in changes.items():
        setattr(subject, name, value)
    session.commit()
    return SubjectPublic.model_validate(subject)


@router.delete(
    "/{subject_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND | CONFLICT,
    summary="Delete a subject with all its sessions and recordings (not while one of its trials records or weighs)",
)
def delete_subject(subject_id: IdPath, session: SessionDep, service: AcquisitionDep, _: OperatorDep) -> None:
    row = get_or_404(session, Subject, subject_id, "subject")
    refuse_busy_trials(session, service, LabSession.subject_id == subject_id, f"subject {subject_id}")
    session.delete(row)
    session.commit()


@router.get(
    "/{subject_id}/sessions", response_model=SessionsPublic, responses=NOT_FOUND, summary="List a subject's sessions"
)
def list_subject_sessions(subject_id: IdPath, session: SessionDep, _: ViewerDep, page: PageDep) -> SessionsPublic:
    get_or_404(session, Subject, subject_id, "subject")
    query = select(LabSession).where(LabSession.subject_id == subject_id).order_by(LabSession.date, LabSession.id)
    rows, count = paginate(session, query, page)
    return SessionsPublic(data=[SessionPublic.model_validate(r) for r in rows], count=count)
