"""Health: is the service up, can it use its database and its device.

Without a token (or with an invalid one) only the states are shown; a viewer token also
sees the version, the database backend and revision, the device URL and why a state is bad.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["DatabaseHealth", "DeviceHealth", "HealthPublic"]


class DatabaseHealth(BaseModel):
    state: Literal["ok", "unavailable", "damaged"] = Field(
        description="ok; unavailable (cannot be reached); damaged (a table or the schema version cannot be read: "
        "run 'isokin db check')",
        examples=["ok"],
    )
    backend: str | None = Field(default=None, description="sqlite or postgresql (viewers only)", examples=["sqlite"])
    revision: str | None = Field(default=None, description="schema migration revision (viewers only)", examples=["0003"])
    detail: str | None = Field(default=None, description="why the database is not ok (viewers only)")


class DeviceHealth(BaseModel):
    state: Literal["not connected", "connecting", "connected", "reconnecting", "lost", "failed"] = Field(
        description="device connection state (details at GET /api/v1/device)", examples=["connected"]
    )
    url: str | None = Field(
        default=None, description="device URL in use or configured, or 'simulator' (viewers only)", examples=["simulator"]
    )


class HealthPublic(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="ok when the database is ok", examples=["ok"])
    version: str | None = Field(default=None, description="isokin version (viewers only)", examples=["0.1.0"])
    database: DatabaseHealth
    device: DeviceHealth
