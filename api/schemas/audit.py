"""The audit trail as the API shows it (admins only)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuditEventPublic", "AuditEventsPublic"]


class AuditEventPublic(BaseModel):
    """One write request: who, what, when and how it ended. No body, no patient field."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="event id (increasing)")
    at: dt.datetime = Field(description="when the request was answered (UTC)")
    token_id: int | None = Field(description="token that made the request; null when it had no valid token")
    token_name: str | None = Field(description="that token's name at the time")
    role: str | None = Field(description="that token's role", examples=["operator"])
    method: str = Field(description="POST, PUT, PATCH, DELETE, or CLI for 'isokin token'", examples=["DELETE"])
    resource: str = Field(description="route template, e.g. /api/v1/subjects/{subject_id}")
    resource_id: str | None = Field(description="the path's id, or the created resource's id", examples=["3"])
    status: int = Field(description="HTTP status of the answer", examples=[204])
    client: str | None = Field(description="client address")


class AuditEventsPublic(BaseModel):
    data: list[AuditEventPublic] = Field(description="one page of events, newest first")
    count: int = Field(description="number of events matching the query, all pages together")
