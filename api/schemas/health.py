"""Health: is the service up, can it reach its database and its device."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["DatabaseHealth", "DeviceHealth", "HealthPublic"]


class DatabaseHealth(BaseModel):
    state: Literal["ok", "unavailable"] = Field(description="whether the database answers", examples=["ok"])
    backend: str = Field(description="sqlite or postgresql", examples=["sqlite"])
    revision: str | None = Field(description="schema migration revision", examples=["0001"])
    detail: str | None = Field(default=None, description="why the database is unavailable")


class DeviceHealth(BaseModel):
    state: Literal["not connected", "connecting", "connected", "reconnecting", "lost", "failed"] = Field(
        description="device connection state (details at GET /api/v1/device)", examples=["connected"]
    )
    url: str = Field(description="device URL in use or configured, or 'simulator'", examples=["simulator"])


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="ok when the database answers", examples=["ok"])
    version: str = Field(description="isokin version", examples=["0.1.0"])
    database: DatabaseHealth
    device: DeviceHealth
