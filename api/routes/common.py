"""OpenAPI descriptions of the error responses the routes share, and list helpers."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from api.acquisition.service import AcquisitionService
from api.deps import Page
from api.errors import ConflictError, NotFoundError
from api.schemas.common import ErrorPublic
from api.storage.models import LabSession, Trial

__all__ = [
    "AUTH_ERRORS",
    "BAD_BODY",
    "CONFLICT",
    "NOT_FOUND",
    "encoding_headers",
    "get_or_404",
    "paginate",
    "refuse_busy_trials",
    "trial_in_use",
]

T = TypeVar("T")

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorPublic, "description": "missing, malformed or revoked bearer token"},
    403: {"model": ErrorPublic, "description": "the token's role does not allow this"},
}
BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "the body is not JSON (or not UTF-8)"},
    413: {"model": ErrorPublic, "description": "the body is larger than the service's limit"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorPublic, "description": "unknown id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorPublic, "description": "duplicate, read-only or still referenced"}
}


def get_or_404(session: Session, model: type[T], resource_id: int, resource: str) -> T:
    """The row with this primary key, or :class:`NotFoundError` naming the resource."""
    row = session.get(model, resource_id)
    if row is None:
        raise NotFoundError(resource, resource_id)
    return row


def encoding_headers(compressed: bool, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Headers of a body that may be sent gzip-compressed (``Vary``; ``Content-Encoding`` when it is)."""
    out = {"Vary": "Accept-Encoding", **(headers or {})}
    if compressed:
        out["Content-Encoding"] = "gzip"
    return out


def paginate(session: Session, query: Select[Any], page: Page) -> tuple[list[Any], int]:
    """One page of a query's rows and the total count of rows it matches."""
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.offset(page.offset).limit(page.limit)))
    return rows, count


def trial_in_use(service: AcquisitionService, trial: Trial) -> bool:
    """Whether the trial is recording or weighing here, or recording or weighing on another station."""
    if service.busy_with() == trial.id:
        return True
    return trial.state in ("recording", "weighing") and trial.station_id != service.station_id


def refuse_busy_trials(session: Session, service: AcquisitionService, where: ColumnElement[bool], what: str) -> None:
    """Raise :class:`ConflictError` when a trial matching ``where`` records or weighs (deleting it would lose it)."""
    busy = session.scalars(
        select(Trial).join(LabSession, Trial.session_id == LabSession.id).where(where).order_by(Trial.id)
    ).all()
    for trial in busy:
        if trial_in_use(service, trial):
            raise ConflictError(f"{what} has trial {trial.id} {trial.state}: stop it before deleting {what}")
