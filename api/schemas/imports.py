"""Imports: a vendor export or recording CSV stored as a complete trial."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Direction, Joint, Mode, Pattern, Side

__all__ = ["FormatName", "ImportForm", "ImportPublic", "import_request_body"]

#: The importable formats (the keys of ``daq.importers.FORMATS``).
FormatName = Literal["isokin-csv", "humac-csv", "contrex-ctm", "biodex-txt", "isomed-txt"]


class ImportForm(BaseModel):
    """The form fields of an upload besides ``file``; each given one overrides the file's value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: FormatName | None = Field(default=None, description="the file's format, when detection should not decide")
    joint: Joint | None = Field(default=None, description="joint (overrides the file's)")
    pattern: Pattern | None = Field(default=None, description="movement pattern (overrides the file's; default: the joint's first)")
    side: Side | None = Field(default=None, description="side tested (overrides the file's)")
    mode: Mode | None = Field(default=None, description="contraction mode (overrides the file's)")
    group: Direction | None = Field(default=None, description="muscle group of a con/ecc or ecc/con set")
    velocity_dps: float | None = Field(
        default=None, gt=0, le=600, allow_inf_nan=False, description="set velocity in deg/s, both directions (overrides the file's)"
    )
    velocity_plus_dps: float | None = Field(
        default=None, gt=0, le=600, allow_inf_nan=False, description="velocity toward the pattern's first-named direction, deg/s"
    )
    velocity_minus_dps: float | None = Field(
        default=None, gt=0, le=600, allow_inf_nan=False, description="velocity toward the pattern's second-named direction, deg/s"
    )
    repetitions: int | None = Field(default=None, ge=1, le=100, description="repetitions per direction (overrides the file's)")
    body_mass_kg: float | None = Field(
        default=None, gt=0, le=400, allow_inf_nan=False, description="body mass in kg for this trial's per-kg figures (default: the subject's)"
    )
    gravity_torque_nm: float | None = Field(
        default=None, ge=-1000, le=1000, allow_inf_nan=False,
        description="limb + lever torque with the segment horizontal, N.m (enables gravity correction)",
    )  # fmt: skip
    horizontal_angle_deg: float | None = Field(
        default=None, ge=-360, le=360, allow_inf_nan=False, description="position where the segment is horizontal, deg (default 0)"
    )


def import_request_body() -> dict[str, Any]:
    """The OpenAPI request body of an import: ``file`` and the :class:`ImportForm` fields, as multipart/form-data."""
    schema = ImportForm.model_json_schema()
    schema.pop("additionalProperties", None)
    schema["properties"] = {
        "file": {"type": "string", "format": "binary", "description": "the export or recording file; its format is detected from the content"},
        **schema["properties"],
    }
    schema["required"] = ["file"]
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


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
