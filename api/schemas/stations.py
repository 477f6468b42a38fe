"""Stations: the ``isokin serve`` instances that record into this database."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

__all__ = ["StationPublic", "StationRecoveryPublic", "StationsPublic"]


class StationPublic(BaseModel):
    """A station id and the server that took it last."""

    station_id: str = Field(description="the station's id (ISOKIN_STATION_ID)", examples=["knee-lab-1"])
    hostname: str = Field(description="host of the server that took it last", examples=["lab-pc-1"])
    pid: int = Field(description="process id of that server", examples=[4242])
    address: str = Field(description="address the server listens on", examples=["127.0.0.1:8000"])
    started_at: dt.datetime = Field(description="when it took the id (UTC)")
    running: bool = Field(description="whether a server holds the id now")
    trials_recording: int = Field(description="trials the database shows recording on this station", examples=[0])


class StationsPublic(BaseModel):
    data: list[StationPublic] = Field(description="every station known to this database, by id")
    count: int = Field(description="number of stations", examples=[1])


class StationRecoveryPublic(BaseModel):
    """What closing a stopped station's trials did."""

    station_id: str = Field(description="the station closed", examples=["knee-lab-2"])
    interrupted: list[int] = Field(description="trials it left recording, now interrupted", examples=[[12]])
