"""Imports: a vendor export or recording CSV stored as a complete trial."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from api.schemas.common import Direction, Joint, Mode, Pattern, Side

__all__ = ["ImportPublic"]


class ImportPublic(BaseModel):
    """The trial an upload became (state ``complete``), with what was read from the file."""

    id: int = Field(description="id of the trial created", examples=[7])
    session_id: int = Field(description="the session it belongs to", examples=[1])
    state: str = Field(description="always 'complete' for an import", examples=["complete"])
    source_format: str = Field(description="format detected (or given): isokin-csv's own 'isokin', humac-csv, contrex-ctm, biodex-txt, isomed-txt", examples=["contrex-ctm"])
    file_name: str = Field(description="the uploaded file's name", examples=["CTM380.CTM"])
    joint: Joint = Field(description="joint tested", examples=["knee"])
    pattern: Pattern = Field(description="movement pattern, '+ direction/- direction'", examples=["flexion/extension"])
    side: Side = Field(description="side tested", examples=["right"])
    mode: Mode = Field(description="contraction mode", examples=["con/con"])
    group: Direction | None = Field(description="muscle group of a con/ecc or ecc/con set, if known")
    velocity_plus_dps: float = Field(description="velocity toward the pattern's first-named direction, deg/s", examples=[60])
    velocity_minus_dps: float = Field(description="velocity toward the pattern's second-named direction, deg/s", examples=[60])
    repetitions: int = Field(description="repetitions per direction", examples=[3])
    sample_count: int = Field(description="samples stored", examples=[5130])
    sample_rate_hz: float | None = Field(description="sample rate, Hz", examples=[256])
    duration_s: float | None = Field(description="time from the first to the last sample, s", examples=[20.0])
    markers: list[int] | None = Field(description="the device's half-repetition boundaries as sample indices; null if the file has none")
    gravity_torque_nm: float | None = Field(description="limb + lever torque with the segment horizontal, N.m (null: no correction)")
    horizontal_angle_deg: float | None = Field(description="position where the segment is horizontal, deg")
    metadata: dict[str, str] = Field(description="the file's metadata as text by key, with the form fields' values applied")
    overrides: list[str] = Field(description="metadata keys set from the upload's form fields", examples=[["side"]])
    created_at: dt.datetime = Field(description="import time (UTC)")
