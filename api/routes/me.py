"""``GET /me``: the caller's own token, so a client (the web app) shows only what its role may do."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import ViewerDep
from api.routes.common import AUTH_ERRORS
from api.security import Role

__all__ = ["TokenSelfPublic", "router"]

router = APIRouter(tags=["tokens"], responses=AUTH_ERRORS)


class TokenSelfPublic(BaseModel):
    """The caller's own token: who it is and what its role allows."""

    id: int = Field(description="token id", examples=[1])
    name: str = Field(description="who or what uses it", examples=["station 1"])
    role: str = Field(description="viewer, operator or admin", examples=["operator"])
    may_operate: bool = Field(description="may create subjects, sessions, goals and protocols, and run the device")
    may_admin: bool = Field(description="may manage tokens")


@router.get("/me", tags=["tokens"], response_model=TokenSelfPublic, summary="The caller's own token and role")
def read_own_token(token: ViewerDep) -> TokenSelfPublic:
    rank = Role(token.role).rank
    return TokenSelfPublic(
        id=token.id, name=token.name, role=token.role, may_operate=rank >= Role.operator.rank, may_admin=rank >= Role.admin.rank
    )
