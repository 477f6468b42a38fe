"""Protocols: ordered lists of trial templates, tested on both sides with the same repetitions."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from analysis.errors import UnknownJointError
from analysis.joints import PATTERN_DIRECTIONS, resolve_pattern
from api.schemas.common import (
    CODE_PATTERN,
    TEXT_PATTERN,
    Direction,
    FreeText,
    Joint,
    LineText,
    Mode,
    Pattern,
    Side,
    check_isometric,
)

__all__ = [
    "ProtocolCreate",
    "ProtocolPublic",
    "ProtocolUpdate",
    "ProtocolsPublic",
    "TrialTemplateCreate",
    "TrialTemplatePublic",
    "check_bilateral",
]

_EXAMPLE_TEMPLATE: dict[str, Any] = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 5}


class _TrialTemplateFields(BaseModel):
    joint: Joint = Field(description="joint tested", examples=["knee"])
    side: Side = Field(description="side tested", examples=["left"])
    mode: Mode = Field(
        default="con/con",
        description="con/con, ecc/ecc, or con/ecc and ecc/con for the one muscle group named by 'group'; isometric: the "
        "lever held at rom_min_deg = rom_max_deg, repetitions contractions of group (each group in turn when null)",
        examples=["con/con"],
    )
    group: Direction | None = Field(
        default=None,
        description="the muscle group (its direction) of a con/ecc or ecc/con set; null for con/con and ecc/ecc",
        examples=[None],
    )
    velocity_dps: float | None = Field(
        default=None, gt=0, le=600, description="nominal set velocity in deg/s (required but for isometric sets)", examples=[60]
    )
    repetitions: int = Field(
        ge=1, le=100, description="repetitions per direction (5 means 5 movements each way)", examples=[5]
    )
    rom_min_deg: float | None = Field(
        default=None, ge=-180, le=180, description="lower end of the range of motion in deg (device default when null)"
    )
    rom_max_deg: float | None = Field(
        default=None, ge=-180, le=180, description="upper end of the range of motion in deg (device default when null)"
    )
    rest_s: float = Field(default=60, ge=0, le=3600, description="rest before this set, in s", examples=[60])


class TrialTemplateCreate(_TrialTemplateFields):
    """One set on one side. ``pattern`` defaults to the joint's first; velocities per direction to ``velocity_dps``."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_TEMPLATE]})

    pattern: Pattern | None = Field(
        default=None,
        description="movement pattern, '+ direction/- direction'; null means the joint's default",
        examples=["flexion/extension"],
    )
    velocity_plus_dps: float | None = Field(
        default=None, gt=0, le=600, description="velocity toward the pattern's first-named direction, deg/s"
    )
    velocity_minus_dps: float | None = Field(
        default=None, gt=0, le=600, description="velocity toward the pattern's second-named direction, deg/s"
    )

    @model_validator(mode="after")
    def _resolve(self) -> TrialTemplateCreate:
        try:
            _, self.pattern = resolve_pattern(self.joint, self.pattern)  # type: ignore[assignment]
        except UnknownJointError as err:
            raise ValueError(f"pattern: {err}") from err
        directions = PATTERN_DIRECTIONS[self.pattern]  # type: ignore[index]
        if self.mode == "isometric":  # the lever held at one angle: no velocity
            check_isometric(self.group, directions, self.rom_min_deg, self.rom_max_deg)
            self.velocity_dps = self.velocity_plus_dps = self.velocity_minus_dps = 0.0
            return self
        if self.velocity_dps is None:
            raise ValueError("velocity_dps: required for an isokinetic set")
        if self.mode in ("con/ecc", "ecc/con"):
            if self.group not in directions:
                raise ValueError(f"group: a {self.mode} set needs group set to one of {', '.join(directions)}")
        elif self.group is not None:
            raise ValueError(f"group: must be null for a {self.mode} set (both groups work)")
        if self.rom_min_deg is not None and self.rom_max_deg is not None and self.rom_min_deg >= self.rom_max_deg:
            raise ValueError("rom_min_deg must be below rom_max_deg")
        if self.velocity_plus_dps is None:
            self.velocity_plus_dps = self.velocity_dps
        if self.velocity_minus_dps is None:
            self.velocity_minus_dps = self.velocity_dps
        return self


class TrialTemplatePublic(_TrialTemplateFields):
    """A stored trial template, with its pattern and both velocities resolved (0 for isometric sets)."""

    velocity_dps: float = Field(description="nominal set velocity in deg/s (0 for isometric sets)", examples=[60])

    pattern: Pattern = Field(description="movement pattern, '+ direction/- direction'", examples=["flexion/extension"])
    velocity_plus_dps: float = Field(description="velocity toward the pattern's first-named direction, deg/s", examples=[60])
    velocity_minus_dps: float = Field(description="velocity toward the pattern's second-named direction, deg/s", examples=[60])


def _set_key(template: TrialTemplateCreate) -> tuple[Any, ...]:
    data = template.model_dump(exclude={"side", "rest_s"})
    return tuple(sorted(data.items()))


def _describe(template: TrialTemplateCreate) -> str:
    group = f" {template.group}" if template.group else ""
    if template.mode == "isometric":
        return f"{template.joint} {template.pattern} isometric{group} at {template.rom_min_deg:g} deg x {template.repetitions}"
    return (
        f"{template.joint} {template.pattern} {template.mode}{group} "
        f"{template.velocity_plus_dps:g}/{template.velocity_minus_dps:g} deg/s x {template.repetitions}"
    )


def check_bilateral(trials: list[TrialTemplateCreate]) -> list[TrialTemplateCreate]:
    """Check that both sides are tested with the same sets (same repetitions): ``ValueError`` names the odd set."""
    by_side = {side: Counter(_set_key(t) for t in trials if t.side == side) for side in ("left", "right")}
    for side, other in (("left", "right"), ("right", "left")):
        missing = by_side[side] - by_side[other]
        if missing:
            odd = next(t for t in trials if t.side == side and _set_key(t) in missing)
            raise ValueError(
                f"both sides need the same sets with the same repetitions: {side} has {_describe(odd)} "
                f"which {other} lacks"
            )
    return trials


class ProtocolCreate(BaseModel):
    """A custom protocol: named, with each set listed for both sides."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "knee 90 deg/s",
                    "trials": [_EXAMPLE_TEMPLATE | {"velocity_dps": 90}, _EXAMPLE_TEMPLATE | {"velocity_dps": 90, "side": "right"}],
                }
            ]
        }
    )

    name: LineText = Field(min_length=1, max_length=200, pattern=CODE_PATTERN, description="unique name", examples=["knee 90 deg/s"])
    description: FreeText = Field(default="", max_length=5000, pattern=TEXT_PATTERN, description="what the protocol is for")
    trials: list[TrialTemplateCreate] = Field(
        min_length=2, max_length=200, description="the sets in order; each set on both sides, same repetitions"
    )

    @field_validator("trials")
    @classmethod
    def _bilateral(cls, trials: list[TrialTemplateCreate]) -> list[TrialTemplateCreate]:
        return check_bilateral(trials)


class ProtocolUpdate(BaseModel):
    """Fields of a custom protocol to change; absent fields stay."""

    name: LineText = Field(default=None, min_length=1, max_length=200, pattern=CODE_PATTERN, description="unique name")  # type: ignore[assignment]
    description: FreeText = Field(default=None, max_length=5000, pattern=TEXT_PATTERN, description="what the protocol is for")  # type: ignore[assignment]
    trials: list[TrialTemplateCreate] = Field(
        default=None,  # type: ignore[arg-type]
        min_length=2, max_length=200, description="the sets in order; each set on both sides"
    )

    @field_validator("trials")
    @classmethod
    def _bilateral(cls, trials: list[TrialTemplateCreate]) -> list[TrialTemplateCreate]:
        return check_bilateral(trials)


class ProtocolPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="protocol id", examples=[1])
    key: str | None = Field(description="stable key of a built-in protocol; null for custom ones", examples=["knee-con-60-180-300"])
    name: str = Field(description="unique name", examples=["Knee con/con 60-180-300 deg/s"])
    description: str = Field(description="what the protocol is for")
    builtin: bool = Field(description="true for the read-only built-in library")
    trials: list[TrialTemplatePublic] = Field(description="the sets in order")
    created_at: dt.datetime = Field(description="creation time (UTC)")
    updated_at: dt.datetime = Field(description="last change (UTC)")


class ProtocolsPublic(BaseModel):
    data: list[ProtocolPublic] = Field(description="one page of protocols, built-in first, then by id")
    count: int = Field(description="number of protocols matching the query, all pages together", examples=[12])
