"""``/protocols``: the built-in library (read-only) and custom protocols (CRUD)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from api.deps import IdPath, OperatorDep, PageDep, SessionDep, ViewerDep
from api.errors import ConflictError
from api.routes.common import AUTH_ERRORS, BAD_BODY, CONFLICT, NOT_FOUND, get_or_404, paginate
from api.schemas.protocols import ProtocolCreate, ProtocolPublic, ProtocolsPublic, ProtocolUpdate
from api.storage.models import Protocol

__all__ = ["router"]

router = APIRouter(prefix="/protocols", tags=["protocols"], responses=AUTH_ERRORS)


def _check_name_free(session: SessionDep, name: str, *, except_id: int | None = None) -> None:
    other = session.scalar(select(Protocol.id).where(Protocol.name == name))
    if other is not None and other != except_id:
        raise ConflictError(f"protocol name {name!r} is already used by protocol {other}")


def _custom(session: SessionDep, protocol_id: int) -> Protocol:
    row = get_or_404(session, Protocol, protocol_id, "protocol")
    if row.builtin:
        raise ConflictError(f"protocol {protocol_id} is built in and read-only; create a custom copy instead")
    return row


@router.get("", response_model=ProtocolsPublic, summary="List protocols, built-in first")
def list_protocols(
    session: SessionDep,
    _: ViewerDep,
    page: PageDep,
    builtin: Annotated[bool | None, Query(description="true: only the library; false: only custom ones")] = None,
) -> ProtocolsPublic:
    query = select(Protocol).order_by(Protocol.builtin.desc(), Protocol.id)
    if builtin is not None:
        query = query.where(Protocol.builtin.is_(builtin))
    rows, count = paginate(session, query, page)
    return ProtocolsPublic(data=[ProtocolPublic.model_validate(r) for r in rows], count=count)


@router.post("", response_model=ProtocolPublic, status_code=201, responses=BAD_BODY | CONFLICT, summary="Create a custom protocol")
def create_protocol(body: ProtocolCreate, session: SessionDep, _: OperatorDep) -> ProtocolPublic:
    _check_name_free(session, body.name)
    row = Protocol(
        name=body.name, description=body.description, builtin=False, trials=[t.model_dump() for t in body.trials]
    )
    session.add(row)
    session.commit()
    return ProtocolPublic.model_validate(row)


@router.get("/{protocol_id}", response_model=ProtocolPublic, responses=NOT_FOUND, summary="Read a protocol")
def read_protocol(protocol_id: IdPath, session: SessionDep, _: ViewerDep) -> ProtocolPublic:
    return ProtocolPublic.model_validate(get_or_404(session, Protocol, protocol_id, "protocol"))


@router.patch(
    "/{protocol_id}",
    response_model=ProtocolPublic,
    responses=BAD_BODY | NOT_FOUND | CONFLICT,
    summary="Change a custom protocol (built-in ones are read-only)",
)
def update_protocol(protocol_id: IdPath, body: ProtocolUpdate, session: SessionDep, _: OperatorDep) -> ProtocolPublic:
    row = _custom(session, protocol_id)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes:
        _check_name_free(session, changes["name"], except_id=protocol_id)
    for name, value in changes.items():
        setattr(row, name, value)
    session.commit()
    return ProtocolPublic.model_validate(row)


@router.delete(
    "/{protocol_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND | CONFLICT,
    summary="Delete a custom protocol (built-in ones are read-only)",
)
def delete_protocol(protocol_id: IdPath, session: SessionDep, _: OperatorDep) -> None:
    session.delete(_custom(session, protocol_id))
    session.commit()
