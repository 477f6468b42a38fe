"""``GET /audit``: the append-only trail of write requests (admins only), newest first, paginated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import MAX_ID, AdminDep, PageDep, SessionDep
from api.routes.common import AUTH_ERRORS, paginate
from api.schemas.audit import AuditEventPublic, AuditEventsPublic
from api.storage.models import AuditEvent

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"], responses=AUTH_ERRORS)


@router.get("", response_model=AuditEventsPublic, summary="Write requests: who, what, when, result (newest first)")
def list_audit_events(
    session: SessionDep,
    _: AdminDep,
    page: PageDep,
    token_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only this token's requests")] = None,
) -> AuditEventsPublic:
    query = select(AuditEvent).order_by(AuditEvent.id.desc())
    if token_id is not None:
        query = query.where(AuditEvent.token_id == token_id)
    rows, count = paginate(session, query, page)
    return AuditEventsPublic(data=[AuditEventPublic.model_validate(r) for r in rows], count=count)
