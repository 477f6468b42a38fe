"""Sessions: a subject's test day."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import TEXT_PATTERN, FreeText

__all__ = ["SessionBase", "SessionCreate", "SessionPublic", "SessionUpdate", "SessionsPublic"]


class SessionBase(BaseModel):
    notes: str = Field(default="", max_length=10_000, pattern=TEXT_PATTERN, description="free text", examples=["6 months post-op"])


class SessionCreate(SessionBase):
    """A new session; only ``subject_id`` is required (``date`` defaults to today, UTC)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"subject_id": 1}]})

    notes: FreeText = Field(default="", max_length=10_000, pattern=TEXT_PATTERN, description="free text", examples=["6 months post-op"])

    subject_id: int = Field(ge=1, le=2**31 - 1, description="the subject tested", examples=[1])
    date: dt.date | None = Field(default=None, description="test day (ISO date); today when absent", examples=["2026-11-24"])


class SessionUpdate(BaseModel):
    """Fields to change; absent fields stay."""

    date: dt.date = Field(default=None, description="test day (ISO date)")  # type: ignore[assignment]
    notes: FreeText = Field(default=None, max_length=10_000, pattern=TEXT_PATTERN, description="free text")  # type: ignore[assignment]


class SessionPublic(SessionBase):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="session id", examples=[1])
    subject_id: int = Field(description="the subject tested", examples=[1])
    date: dt.date = Field(description="test day (ISO date)", examples=["2026-11-24"])
    created_at: dt.datetime = Field(description="creation time (UTC)")
    updated_at: dt.datetime = Field(description="last change (UTC)")


class SessionsPublic(BaseModel):
    data: list[SessionPublic] = Field(description="one page of sessions, by id")
    count: int = Field(description="number of sessions matching the query, all pages together", examples=[1])
