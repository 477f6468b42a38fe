"""Trials: one set on one side, its state and acquisition figures; limb weighing; acquisition events."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from analysis.errors import UnknownJointError
from analysis.joints import CONVENTIONAL_RATIO, PATTERN_DIRECTIONS, resolve_pattern
from api.schemas.common import Direction, Joint, Mode, Pattern, Side, check_isometric
from api.storage.models import Trial, TrialEvent

__all__ = [
    "AcquisitionFiguresPublic",
    "TrialCreate",
    "TrialEventPublic",
    "TrialEventsPublic",
    "TrialPublic",
    "TrialState",
    "TrialsPublic",
    "WeighRequest",
    "WeighingPublic",
]

TrialState = Literal["created", "weighing", "recording", "complete", "interrupted", "failed"]

_MINIMAL: dict[str, Any] = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 3}


class TrialCreate(BaseModel):
    """A new trial; everything but ``joint`` and ``side`` has a default.

    ``pattern`` defaults to the joint's first; both directions' velocities to ``velocity_dps``;
    the range of motion to the joint's usual range; ``group`` (con/ecc, ecc/con) to the
    denominator group of the pattern's conventional ratio (knee: extension).
    """

    model_config = ConfigDict(json_schema_extra={"examples": [_MINIMAL]})

    joint: Joint = Field(description="joint tested", examples=["knee"])
    side: Side = Field(description="side tested", examples=["left"])
    pattern: Pattern | None = Field(default=None, description="'+ direction/- direction'; null: the joint's default")
    mode: Mode = Field(
        default="con/con",
        description="con/con, ecc/ecc, con/ecc or ecc/con; isometric: the lever held at rom_min_deg = rom_max_deg, "
        "repetitions contractions of group (or of each group in turn when null), velocities 0",
        examples=["con/con"],
    )
    group: Direction | None = Field(
        default=None, description="acting group (its direction) of a con/ecc or ecc/con set; null for con/con and ecc/ecc"
    )
    velocity_dps: float = Field(default=60, gt=0, le=600, description="set velocity, deg/s", examples=[60])
    velocity_plus_dps: float | None = Field(
        default=None, gt=0, le=600, description="velocity toward the pattern's first-named direction, deg/s"
    )
    velocity_minus_dps: float | None = Field(
        default=None, gt=0, le=600, description="velocity toward the pattern's second-named direction, deg/s"
    )
    repetitions: int = Field(default=5, ge=1, le=100, description="repetitions per direction", examples=[3])
    rom_min_deg: float | None = Field(default=None, ge=-180, le=180, description="lower end of the range of motion, deg")
    rom_max_deg: float | None = Field(default=None, ge=-180, le=180, description="upper end of the range of motion, deg")
    sample_rate_hz: int = Field(default=1000, ge=1, le=50_000, description="sample rate, Hz", examples=[1000])
    protocol_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="protocol this set belongs to, if any")

    @model_validator(mode="after")
    def _resolve(self) -> TrialCreate:
        try:
            _, self.pattern = resolve_pattern(self.joint, self.pattern)  # type: ignore[assignment]
        except UnknownJointError as err:
            raise ValueError(f"pattern: {err}") from err
        directions = PATTERN_DIRECTIONS[self.pattern]  # type: ignore[index]
        if self.mode == "isometric":  # the lever held at one angle: no velocity
            check_isometric(self.group, directions, self.rom_min_deg, self.rom_max_deg)
            self.velocity_plus_dps = self.velocity_minus_dps = 0.0
            return self
        if self.mode in ("con/ecc", "ecc/con"):
            if self.group is None:
                self.group = CONVENTIONAL_RATIO[self.pattern][1]  # type: ignore[index,assignment]
            elif self.group not in directions:
                raise ValueError(f"group: {self.group!r} is not a direction of {self.pattern}: use {' or '.join(directions)}")
        elif self.group is not None:
            raise ValueError(f"group: must be null for a {self.mode} set (both groups work)")
        if self.rom_min_deg is not None and self.rom_max_deg is not None and self.rom_min_deg >= self.rom_max_deg:
            raise ValueError("rom_min_deg must be below rom_max_deg")
        self.velocity_plus_dps = self.velocity_plus_dps or self.velocity_dps
        self.velocity_minus_dps = self.velocity_minus_dps or self.velocity_dps
        return self


class AcquisitionFiguresPublic(BaseModel):
    """What the acquisition stored (updated at least every 0.25 s while recording)."""

    samples: int = Field(description="samples stored", examples=[9012])
    gaps: int = Field(description="gaps: samples the device sent that never arrived, or the service dropped", examples=[0])
    lost_samples: int = Field(description="samples lost in those gaps", examples=[0])
    crc_errors: int = Field(description="damaged frames received during the trial", examples=[0])
    malformed: int = Field(
        default=0, description="frames or lines that broke the protocol (dropped; their samples are a gap)", examples=[0]
    )
    reconnects: int = Field(description="times the device was reconnected during the trial", examples=[0])
    duration_s: float | None = Field(
        description="time of the newest stored sample on the device clock, s from the first", examples=[9.011]
    )
    effective_rate_hz: float | None = Field(
        description="samples per second of the device clock over the gap-free stretches, Hz: the device's rate as "
        "its own clock shows it, the nominal rate when its timestamps agree with it (lost samples are counted apart). "
        "For an import, stored samples per second of duration",
        examples=[1000.0],
    )
    flushed_at: dt.datetime | None = Field(description="when samples last reached the database (UTC)")


class TrialPublic(BaseModel):
    """A trial, its state and what its acquisition stored."""

    id: int = Field(description="trial id", examples=[1])
    session_id: int = Field(description="session the trial belongs to", examples=[1])
    protocol_id: int | None = Field(description="protocol the set belongs to, if any")
    joint: str = Field(description="joint tested", examples=["knee"])
    pattern: str = Field(description="movement pattern, '+ direction/- direction'", examples=["flexion/extension"])
    side: str = Field(description="side tested", examples=["left"])
    mode: str = Field(description="con/con, ecc/ecc, con/ecc, ecc/con or isometric", examples=["con/con"])
    group: str | None = Field(description="acting group of a con/ecc or ecc/con set")
    velocity_plus_dps: float = Field(description="velocity toward the pattern's first-named direction, deg/s", examples=[60])
    velocity_minus_dps: float = Field(description="velocity toward the pattern's second-named direction, deg/s", examples=[60])
    repetitions: int = Field(description="repetitions per direction", examples=[3])
    rom_min_deg: float | None = Field(description="lower end of the range of motion, deg", examples=[0])
    rom_max_deg: float | None = Field(description="upper end of the range of motion, deg", examples=[90])
    sample_rate_hz: float | None = Field(description="sample rate, Hz", examples=[1000])
    state: TrialState = Field(
        description="created, weighing, recording, complete, interrupted (the device or the server stopped it "
        "before its end; its samples stay readable) or failed",
        examples=["created"],
    )
    source_format: str = Field(description="isokin for a recorded trial, else the imported format", examples=["isokin"])
    gravity_torque_nm: float | None = Field(description="limb + lever torque with the segment horizontal, N.m")
    horizontal_angle_deg: float | None = Field(description="position at which the segment is horizontal, deg")
    started_at: dt.datetime | None = Field(description="time of the first sample (UTC)")
    ended_at: dt.datetime | None = Field(description="when the recording ended (UTC)")
    created_at: dt.datetime = Field(description="creation time (UTC)")
    end_reason: str | None = Field(description="why a complete trial ended", examples=["set complete"])
    interrupted_reason: str | None = Field(description="why an interrupted or failed trial stopped")
    station_id: str | None = Field(description="server instance that recorded it")
    device_url: str | None = Field(description="device it was recorded from")
    device_serial: str | None = Field(description="serial number of that device")
    calibration: str | None = Field(description="calibration profile used")
    markers: list[int] | None = Field(description="device repetition boundaries as sample indices (imports)")
    metadata: dict[str, Any] | None = Field(description="device details of a recording, or an import's vendor metadata")
    acquisition: AcquisitionFiguresPublic

    @classmethod
    def of(cls, trial: Trial) -> TrialPublic:
        samples, duration = trial.sample_count, trial.duration_s
        rate = trial.effective_rate_hz
        if rate is None and duration and samples > 1 and trial.source_format != "isokin":
            rate = (samples - 1) / duration
        metadata = None
        if trial.metadata_json:
            try:
                parsed = json.loads(trial.metadata_json)
                metadata = parsed if isinstance(parsed, dict) else {"value": parsed}
            except ValueError:
                metadata = {"text": trial.metadata_json}
        markers = None
        if trial.markers:
            markers = [int(m) for m in trial.markers.split(",") if m.strip().lstrip("-").isdigit()]
        fields = {name: getattr(trial, name) for name in cls.model_fields if name not in ("markers", "metadata", "acquisition")}
        return cls(
            **fields,
            markers=markers,
            metadata=metadata,
            acquisition=AcquisitionFiguresPublic(
                samples=samples,
                gaps=trial.gap_count,
                lost_samples=trial.lost_samples,
                crc_errors=trial.crc_errors,
                malformed=trial.malformed,
                reconnects=trial.reconnects,
                duration_s=duration,
                effective_rate_hz=rate,
                flushed_at=trial.flushed_at,
            ),
        )


class TrialsPublic(BaseModel):
    data: list[TrialPublic] = Field(description="one page of trials, by id")
    count: int = Field(description="number of trials matching the query, all pages together", examples=[2])


class WeighRequest(BaseModel):
    """Limb weighing: give the measured ``gravity_torque_nm``, or leave it null to sample the relaxed limb."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"gravity_torque_nm": 24.0, "horizontal_angle_deg": 0}, {"angle_deg": 50, "duration_s": 1}]}
    )

    gravity_torque_nm: float | None = Field(
        default=None, ge=-500, le=500, description="measured limb + lever torque with the segment horizontal, N.m"
    )
    horizontal_angle_deg: float = Field(default=0, ge=-360, le=360, description="position at which the segment is horizontal, deg")
    angle_deg: float | None = Field(
        default=None, ge=-180, le=180, description="angle the relaxed limb rests at while sampled, deg (checked against the lever)"
    )
    duration_s: float = Field(default=1.0, ge=0.2, le=10, description="how long to sample the relaxed limb, s")


class WeighingPublic(BaseModel):
    """The stored gravity correction and how it was obtained."""

    method: Literal["measured", "recorded"] = Field(description="given in the request, or fitted to sampled torque")
    gravity_torque_nm: float = Field(description="limb + lever torque with the segment horizontal, N.m", examples=[24.0])
    horizontal_angle_deg: float = Field(description="position at which the segment is horizontal, deg", examples=[0])
    samples: int = Field(description="samples fitted (0 when measured)", examples=[1000])
    mean_position_deg: float | None = Field(description="mean lever position while sampled, deg")
    residual_rms_nm: float | None = Field(description="RMS of torque minus the fitted weight, N.m")
    trial: TrialPublic


class TrialEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="event id")
    kind: str = Field(description="gap, overflow, disconnected, reconnected, stream ended, or a device event name", examples=["gap"])
    sequence: int | None = Field(description="device sample index it belongs to (for a gap: the last good sample)")
    time_s: float | None = Field(description="trial time when it was seen, s")
    lost_samples: int = Field(description="samples lost (gaps and overflows)", examples=[0])
    detail: str = Field(description="what happened")
    created_at: dt.datetime = Field(description="when it was stored (UTC)")

    @classmethod
    def of(cls, event: TrialEvent) -> TrialEventPublic:
        return cls.model_validate(event)


class TrialEventsPublic(BaseModel):
    data: list[TrialEventPublic] = Field(description="one page of events, in order")
    count: int = Field(description="number of events of the trial", examples=[0])
