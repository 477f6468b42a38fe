"""``/tokens``: bearer tokens (admin only). The secret is in the creation response, never again."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select

from api.deps import AdminDep, IdPath, PageDep, SessionDep
from api.routes.common import AUTH_ERRORS, BAD_BODY, CONFLICT, NOT_FOUND, paginate
from api.schemas.tokens import TokenCreate, TokenCreated, TokenPublic, TokensPublic
from api.security import create_token, revoke_token
from api.storage.models import ApiToken

__all__ = ["router"]

router = APIRouter(prefix="/tokens", tags=["tokens"], responses=AUTH_ERRORS)


@router.get("", response_model=TokensPublic, summary="List tokens (without their secrets)")
def list_tokens(session: SessionDep, _: AdminDep, page: PageDep) -> TokensPublic:
    rows, count = paginate(session, select(ApiToken).order_by(ApiToken.id), page)
    return TokensPublic(data=[TokenPublic.model_validate(r) for r in rows], count=count)


@router.post("", responses=BAD_BODY, response_model=TokenCreated, status_code=201, summary="Create a token; its secret is shown once")
def create_api_token(body: TokenCreate, session: SessionDep, _: AdminDep) -> TokenCreated:
    row, token = create_token(session, role=body.role, name=body.name, expires_days=body.expires_days)
    session.commit()
    return TokenCreated.model_validate(TokenPublic.model_validate(row).model_dump() | {"token": token})


@router.delete(
    "/{token_id}",
    status_code=204,
    response_class=Response,
    responses=NOT_FOUND | CONFLICT,
    summary="Revoke a token at once (the last admin token cannot revoke itself)",
)
def delete_token(token_id: IdPath, session: SessionDep, caller: AdminDep) -> None:
    revoke_token(session, token_id, by=caller)
    session.commit()
