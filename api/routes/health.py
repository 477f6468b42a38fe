"""``GET /health``: version, database and device state, without authentication."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Request

from api.deps import DatabaseDep, SettingsDep
from api.schemas.common import ValidationErrorPublic
from api.schemas.health import DatabaseHealth, DeviceHealth, HealthPublic

__all__ = ["router"]

router = APIRouter(
    prefix="/health",
    tags=["health"],
    responses={422: {"model": ValidationErrorPublic, "description": "unknown query parameter"}},
)


def _version() -> str:
    try:
        return version("isokin")
    except PackageNotFoundError:
        return "unknown"


@router.get("", response_model=HealthPublic, summary="Service, database and device state (no token needed)")
def read_health(request: Request, database: DatabaseDep, settings: SettingsDep) -> HealthPublic:
    state = database.state()
    device = request.app.state.acquisition.device.snapshot()
    return HealthPublic(
        status="ok" if state.state == "ok" else "degraded",
        version=_version(),
        database=DatabaseHealth(state=state.state, backend=state.backend, revision=state.revision, detail=state.detail),
        device=DeviceHealth(state=device.state, url=device.requested_url or settings.device_url),
    )
