"""``/stations``: the servers recording into this database, and closing the trials of one that crashed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AcquisitionDep, AdminDep, DatabaseDep, ViewerDep
from api.errors import ConflictError
from api.routes.common import AUTH_ERRORS, CONFLICT
from api.schemas.stations import StationPublic, StationRecoveryPublic, StationsPublic
from api.stations import holding, recover_station, station_rows

__all__ = ["router"]

router = APIRouter(prefix="/stations", tags=["stations"], responses=AUTH_ERRORS)

StationIdPath = Annotated[str, Path(min_length=1, max_length=64, description="station id")]


@router.get("", response_model=StationsPublic, summary="The stations recording into this database, and which run now")
def read_stations(database: DatabaseDep, _: ViewerDep) -> StationsPublic:
    rows = [StationPublic(**row) for row in station_rows(database)]
    return StationsPublic(data=rows, count=len(rows))


@router.post(
    "/{station_id}/recover",
    response_model=StationRecoveryPublic,
    responses=CONFLICT,
    summary="Close the trials a stopped station left recording (interrupted, with the reason); admin",
)
def recover(
    station_id: StationIdPath, database: DatabaseDep, service: AcquisitionDep, token: AdminDep
) -> StationRecoveryPublic:
    if station_id == service.station_id:
        raise ConflictError(f"station {station_id!r} is this server: it closes its own trials when it starts")
    reason = (
        f"station {station_id} stopped while the trial was recording; closed from station {service.station_id} "
        f"by token {token.id} ({token.name or 'unnamed'})"
    )
    with holding(database, station_id) as free:  # held until the trials are closed: that station cannot start meanwhile
        if not free:
            raise ConflictError(
                f"station {station_id!r} is running: its trials are its own; stop them there, or stop that server first"
            )
        closed = recover_station(database, station_id, reason=reason)
    return StationRecoveryPublic(station_id=station_id, interrupted=closed)
