"""API tokens (admin only): the secret is returned once, at creation."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import LineText
from api.security import Role

#: Longest life of a token, days (ten years).
MAX_EXPIRES_DAYS = 3650

__all__ = ["MAX_EXPIRES_DAYS", "TokenCreate", "TokenCreated", "TokenPublic", "TokensPublic"]


class TokenCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "operator", "name": "station 1"}]})

    role: Role = Field(description="viewer (read), operator (also run tests), admin (also manage tokens)")
    name: LineText = Field(default="", max_length=100, description="who or what uses the token", examples=["station 1"])
    expires_days: int | None = Field(
        default=None, ge=1, le=MAX_EXPIRES_DAYS, description="refused this many days from now; null: never expires", examples=[90]
    )


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="token id", examples=[1])
    name: str = Field(description="who or what uses the token", examples=["station 1"])
    role: Role = Field(description="viewer, operator or admin", examples=["operator"])
    created_at: dt.datetime = Field(description="creation time (UTC)")
    last_used_at: dt.datetime | None = Field(description="last accepted use (UTC, to the minute); null if never used")
    expires_at: dt.datetime | None = Field(description="when the token stops working (UTC); null: never")


class TokenCreated(TokenPublic):
    token: str = Field(
        description="the bearer token: send it as 'Authorization: Bearer <token>'; it is shown only this once",
        examples=["isk_1_7M5q0wq5y6oWQx0n3c1Q7a3Jm2xq2p4sT1vHk9JrZ0E"],
    )


class TokensPublic(BaseModel):
    data: list[TokenPublic] = Field(description="one page of tokens, by id")
    count: int = Field(description="number of tokens, all pages together", examples=[1])
