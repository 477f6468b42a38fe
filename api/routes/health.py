"""``GET /health``: database and device state for anyone; version, URLs and reasons for viewers."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from fastapi import APIRouter

from api.deps import AcquisitionDep, DatabaseDep, OptionalViewerDep, SettingsDep
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


@router.get(
    "",
    response_model=HealthPublic,
    response_model_exclude_none=True,
    openapi_extra={"security": [{}, {"token": []}]},  # a token is optional: it shows the details
    summary="Database and device state (no token needed); with a viewer token also version, URLs and reasons",
)
def read_health(
    database: DatabaseDep, settings: SettingsDep, service: AcquisitionDep, token: OptionalViewerDep
) -> HealthPublic:
    state = database.state()
    device = service.device_snapshot()
    status: Literal["ok", "degraded"] = "ok" if state.state == "ok" else "degraded"
    if token is None:
        return HealthPublic(status=status, database=DatabaseHealth(state=state.state), device=DeviceHealth(state=device.state))
    return HealthPublic(
        status=status,
        version=_version(),
        database=DatabaseHealth(state=state.state, backend=state.backend, revision=state.revision, detail=state.detail),
        device=DeviceHealth(state=device.state, url=device.requested_url or settings.device_url),
    )
