"""``GET /health``: database and device state for anyone; version, URLs and reasons for viewers.

Cheap however often it is asked (load balancers, monitors, the web app): the route runs on the
event loop with no worker thread, the version is read once, and the database probe and the
device state are each read at most once per :data:`HEALTH_MAX_AGE_S` (the database at once
after a statement failed on it; the device at once after a change asked through the service).
Only a caller sending a token costs a query (the token's).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api.acquisition.device import DeviceSnapshot
from api.deps import AcquisitionDep, DatabaseDep, OptionalViewerDep, SettingsDep
from api.schemas.common import ValidationErrorPublic
from api.schemas.health import DatabaseHealth, DeviceHealth, HealthPublic
from api.storage.database import DatabaseState

__all__ = ["HEALTH_MAX_AGE_S", "router"]

#: Oldest database probe and device state /health answers with, s.
HEALTH_MAX_AGE_S = 1.0

router = APIRouter(
    prefix="/health",
    tags=["health"],
    responses={422: {"model": ValidationErrorPublic, "description": "unknown query parameter"}},
)


@cache
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
async def read_health(
    database: DatabaseDep, settings: SettingsDep, service: AcquisitionDep, token: OptionalViewerDep
) -> HealthPublic:
    state: DatabaseState | None = database.recent_state(HEALTH_MAX_AGE_S)
    device: DeviceSnapshot | None = service.recent_device_snapshot(HEALTH_MAX_AGE_S)
    if state is None:
        state = await run_in_threadpool(database.state, max_age_s=HEALTH_MAX_AGE_S)
    if device is None:
        device = await run_in_threadpool(service.device_snapshot)
    status: Literal["ok", "degraded"] = "ok" if state.state == "ok" else "degraded"
    if token is None:
        return HealthPublic(status=status, database=DatabaseHealth(state=state.state), device=DeviceHealth(state=device.state))
    return HealthPublic(
        status=status,
        version=_version(),
        database=DatabaseHealth(state=state.state, backend=state.backend, revision=state.revision, detail=state.detail),
        device=DeviceHealth(state=device.state, url=device.requested_url or settings.device_url),
    )
