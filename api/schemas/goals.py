"""Re-test goals: a clinician's targets for a subject's LSI, deficits and ratios, and how sessions meet them."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import TEXT_PATTERN, Direction, FreeText, LineText, Side

__all__ = [
    "GoalCreate",
    "GoalDefaultsPublic",
    "GoalItemPublic",
    "GoalProgressPublic",
    "GoalPublic",
    "GoalSessionPublic",
    "GoalUpdate",
    "GoalsProgressPublic",
    "GoalsPublic",
    "goal_problem",
]

Measure = Literal["lsi", "deficit", "ratio"]
Comparison = Literal[">=", ">", "<=", "<"]
RatioKind = Literal["conventional", "eccentric", "functional", "mixed"]
Contraction = Literal["concentric", "eccentric"]

D_MEASURE = "lsi: limb symmetry index (%); deficit: bilateral deficit (%); ratio: an agonist/antagonist ratio (fraction)"
D_KIND = "ratios only: conventional, eccentric, functional or mixed; null: any"
D_LABEL = "lsi and deficit: the muscle group's direction (e.g. flexion); ratio: its label (e.g. Hcon/Qcon); null: any"
D_CONTRACTION = "lsi and deficit: concentric or eccentric; null: any"
D_VELOCITY = "set velocity, deg/s (matches within 10 %); null: any"
D_SIDE = "ratios only: the side; null: both"
D_COMPARISON = "how the figure must compare with the target"
D_TARGET = "the target: % for lsi and deficit, a fraction for ratios"
D_SOURCE = "where the target comes from"
D_NOTES = "free text"
LABEL_PATTERN = r"^[A-Za-z /]+$"

_MEASURE = Field(description=D_MEASURE, examples=["lsi"])
_KIND = Field(default=None, description=D_KIND)
_LABEL = Field(default=None, max_length=64, pattern=LABEL_PATTERN, description=D_LABEL, examples=["flexion"])
_CONTRACTION = Field(default=None, description=D_CONTRACTION)
_VELOCITY = Field(default=None, gt=0, le=600, description=D_VELOCITY)
_SIDE = Field(default=None, description=D_SIDE)
_COMPARISON = Field(description=D_COMPARISON, examples=[">="])
_TARGET = Field(ge=-1000, le=1000, allow_inf_nan=False, description=D_TARGET, examples=[90])
_SOURCE = Field(default="", max_length=500, pattern=TEXT_PATTERN, description=D_SOURCE)
_NOTES = Field(default="", max_length=5000, pattern=TEXT_PATTERN, description=D_NOTES)


class GoalCreate(BaseModel):
    """A new goal for a subject (see ``GET /subjects/{id}/goals/defaults`` for the configured ones)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"measure": "lsi", "comparison": ">=", "target": 90, "source": "return-to-sport criterion"},
                {"measure": "ratio", "kind": "conventional", "label": "Hcon/Qcon", "comparison": ">=", "target": 0.47},
            ]
        }
    )

    measure: Measure = _MEASURE
    kind: RatioKind | None = _KIND
    label: str | None = _LABEL
    contraction: Contraction | None = _CONTRACTION
    velocity_dps: float | None = _VELOCITY
    side: Side | None = _SIDE
    comparison: Comparison = _COMPARISON
    target: float = _TARGET
    source: LineText = _SOURCE
    notes: FreeText = _NOTES

    @model_validator(mode="after")
    def _consistent(self) -> GoalCreate:
        problem = goal_problem(self.measure, self.kind, self.label, self.contraction, self.side)
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        return self


def goal_problem(
    measure: str, kind: str | None, label: str | None, contraction: str | None, side: str | None
) -> tuple[str, str] | None:
    """The field that does not apply to the measure and why, or ``None`` when the goal is consistent."""
    if measure == "ratio":
        if contraction is not None:
            return "contraction", "a ratio goal names its ratio by kind and label (e.g. Hecc/Qcon), not a contraction"
        return None
    if kind is not None or side is not None:
        return ("kind" if kind is not None else "side"), f"applies to ratio goals only; a {measure} goal is narrowed by label and contraction"
    if label is not None and label not in Direction.__args__:  # type: ignore[attr-defined]
        return "label", f"a {measure} goal's label is a muscle group's direction (e.g. flexion), not {label!r}"
    return None


class GoalUpdate(BaseModel):
    """Fields of a goal to change; absent fields stay, null clears an optional one."""

    measure: Measure | None = Field(default=None, description=D_MEASURE)
    kind: RatioKind | None = _KIND
    label: str | None = _LABEL
    contraction: Contraction | None = _CONTRACTION
    velocity_dps: float | None = _VELOCITY
    side: Side | None = _SIDE
    comparison: Comparison | None = Field(default=None, description=D_COMPARISON)
    target: float | None = Field(default=None, ge=-1000, le=1000, allow_inf_nan=False, description=D_TARGET)
    source: LineText | None = Field(default=None, max_length=500, pattern=TEXT_PATTERN, description=D_SOURCE)
    notes: FreeText | None = Field(default=None, max_length=5000, pattern=TEXT_PATTERN, description=D_NOTES)


class GoalPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="goal id", examples=[1])
    subject_id: int = Field(description="the subject", examples=[1])
    measure: Measure = _MEASURE
    kind: RatioKind | None = Field(description=D_KIND)
    label: str | None = Field(description=D_LABEL)
    contraction: Contraction | None = Field(description=D_CONTRACTION)
    velocity_dps: float | None = Field(description=D_VELOCITY)
    side: Side | None = Field(description=D_SIDE)
    comparison: Comparison = _COMPARISON
    target: float = Field(description=D_TARGET)
    source: str = Field(description=D_SOURCE)
    notes: str = Field(description=D_NOTES)
    title: str = Field(description="the goal in words", examples=["LSI, flexion concentric, 60 deg/s"])
    created_at: dt.datetime = Field(description="creation time (UTC)")
    updated_at: dt.datetime = Field(description="last change (UTC)")


class GoalsPublic(BaseModel):
    data: list[GoalPublic] = Field(description="the subject's goals, by id")
    count: int = Field(description="number of goals", examples=[2])


class GoalDefaultsPublic(BaseModel):
    data: list[GoalCreate] = Field(description="goals proposed from the configured flag thresholds, with their sources")
    count: int = Field(description="number of proposals", examples=[4])


class GoalItemPublic(BaseModel):
    label: str = Field(description="the figure, e.g. 'flexion concentric 60 deg/s (left)'")
    value: float | None = Field(description="its value in this session (% or fraction)")
    met: bool | None = Field(description="whether it meets the target (null when it could not be computed)")
    gravity_corrected: bool | None = Field(description="whether it is gravity-corrected (null: mixed or unknown)")
    first_session_id: int | None = Field(description="first session with this figure and the same gravity correction")
    first_date: dt.date | None = Field(description="that session's date")
    first_value: float | None = Field(description="the figure then")
    change: float | None = Field(description="value minus first_value (points of % or of the fraction)")


class GoalSessionPublic(BaseModel):
    session_id: int = Field(description="session id")
    date: dt.date = Field(description="test day")
    status: Literal["met", "not met", "not measured"] = Field(description="met when every matching figure meets the target")
    items: list[GoalItemPublic] = Field(description="the session's figures this goal concerns")


class GoalProgressPublic(BaseModel):
    goal: GoalPublic
    sessions: list[GoalSessionPublic] = Field(description="one per session of the subject, in date order")


class GoalsProgressPublic(BaseModel):
    """Each goal of a subject on each of its sessions, with the progress since the first test."""

    subject_id: int = Field(description="the subject")
    goals: list[GoalProgressPublic] = Field(description="one per goal, by id")
