"""Sessions: a subject's test day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.schemas.common import TEXT_PATTERN, FreeText

__all__ = ["SessionBase", "SessionCreate", "SessionPublic", "SessionUpdate", "SessionsPublic"]


def _iso_date_text(value: object) -> object:
    """A date comes as ISO text (``2026-11-24``): a number is no date (pydantic would read 0 as 1970-01-01)."""
    if value is not None and not isinstance(value, (str, dt.date)):
        raise ValueError("a date is ISO text, e.g. 2026-11-24")
    return value


#: A test day, from ISO text only.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


class SessionBase(BaseModel):
    notes: str = Field(default="", max_length=10_000, pattern=TEXT_PATTERN, description="free text", examples=["6 months post-op"])


class SessionCreate(SessionBase):
    """A new session; only ``subject_id`` is required (``date`` defaults to today, UTC)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"subject_id": 1}]})

    notes: FreeText = Field(default="", max_length=10_000, pattern=TEXT_PATTERN, description="free text", examples=["6 months post-op"])

    subject_id: int = Field(ge=1, le=2**31 - 1, description="the subject tested", examples=[1])
    date: IsoDate | None = Field(default=None, description="test day (ISO date); today when absent", examples=["2026-11-24"])


class SessionUpdate(BaseModel):
    """Fields to change; absent fields stay."""

    date: IsoDate = Field(default=None, description="test day (ISO date)")  # type: ignore[assignment]
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
