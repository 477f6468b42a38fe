"""Session reports and subject histories: the analyze contract plus who and what was tested."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.analysis import AnalysisParameters, AnalysisPublic, BilateralPublic, FlagPublic, RatioPublic
from api.schemas.common import Joint, Mode, Pattern, Sex, Side

__all__ = [
    "HistoryPublic",
    "HistorySessionPublic",
    "ReportPublic",
    "ReportSessionPublic",
    "ReportSubjectPublic",
    "ReportTrialPublic",
    "TrendPointPublic",
    "TrendPublic",
]


class ReportSessionPublic(BaseModel):
    id: int = Field(description="session id", examples=[1])
    date: dt.date = Field(description="test day (ISO date)", examples=["2026-11-24"])
    notes: str = Field(description="free text")


class ReportSubjectPublic(BaseModel):
    id: int = Field(description="subject id", examples=[1])
    code: str = Field(description="pseudonymous code", examples=["S-01"])
    sex: Sex | None = Field(description="female, male or other")
    birth_year: int | None = Field(description="year of birth", examples=[1990])
    body_mass_kg: float | None = Field(description="body mass, kg", examples=[75])
    dominant_side: Side | None = Field(description="dominant side")
    involved_side: Side | None = Field(description="involved side: bilateral deficits use the other as reference")


class ReportTrialPublic(BaseModel):
    """A trial of the session, analysed or not (and why not)."""

    trial_id: int = Field(description="trial id", examples=[1])
    state: str = Field(description="trial state (created, recording, complete, interrupted...)", examples=["complete"])
    joint: Joint = Field(description="joint tested")
    pattern: Pattern = Field(description="movement pattern")
    side: Side = Field(description="side tested")
    mode: Mode = Field(description="contraction mode")
    velocity_plus_dps: float = Field(description="velocity toward the pattern's first-named direction, deg/s")
    velocity_minus_dps: float = Field(description="velocity toward the pattern's second-named direction, deg/s")
    source_format: str = Field(description="isokin for device trials, else the imported file's format", examples=["isokin"])
    recording_index: int | None = Field(description="index of its entry in recordings; null when not analysed")
    reason: str | None = Field(description="why the trial was not analysed (still recording, no samples, no repetition)")


class ReportPublic(AnalysisPublic):
    """Every finished trial of a session analysed together (the analyze contract plus identification)."""

    session: ReportSessionPublic
    subject: ReportSubjectPublic
    trials: list[ReportTrialPublic] = Field(description="every trial of the session, by id")


class HistorySessionPublic(BaseModel):
    session_id: int = Field(description="session id", examples=[1])
    date: dt.date = Field(description="test day (ISO date)")
    trials_analysed: int = Field(description="trials whose figures are included")
    trials_skipped: int = Field(description="trials left out (recording, no samples, no repetition)")
    ratios: list[RatioPublic] = Field(description="the session's agonist/antagonist ratios")
    bilateral: list[BilateralPublic] = Field(description="the session's left/right comparisons")
    flags: list[FlagPublic] = Field(description="the session's flags and warnings")


class TrendPointPublic(BaseModel):
    session_id: int = Field(description="session id")
    date: dt.date = Field(description="test day")
    value: float | None = Field(description="the ratio (fraction) or the deficit (%) that day")
    side: Side | None = Field(default=None, description="deficits: the side under test (involved, else the weaker)")
    trial_ids: list[int | None] = Field(
        default_factory=list,
        description="the trials of the figure: a ratio's numerator and denominator, a deficit's left and right side",
    )
    gravity_corrected: bool = Field(default=False, description="whether the figure's torques were gravity-corrected")


class TrendPublic(BaseModel):
    """One ratio or deficit over the sessions (velocities to the nearest 5 deg/s)."""

    measure: Literal["ratio", "deficit"] = Field(description="an agonist/antagonist ratio or a bilateral deficit")
    kind: str = Field(description="ratio kind (conventional, functional...) or the deficit's contraction")
    label: str = Field(description="e.g. Hcon/Qcon, or 'flexion concentric' for a deficit", examples=["Hcon/Qcon"])
    joint: str = Field(description="joint", examples=["knee"])
    pattern: str = Field(description="movement pattern", examples=["flexion/extension"])
    side: Side | None = Field(description="ratios: the side; deficits: null (see each point)")
    velocity_dps: float = Field(description="numerator's (or the deficit's) set velocity, deg/s", examples=[60])
    other_velocity_dps: float = Field(description="denominator's set velocity, deg/s", examples=[60])
    angle_deg: float | None = Field(default=None, description="isometric figures: the angle, deg; null for isokinetic ones")
    gravity_corrected: bool = Field(
        default=False, description="whether the series is gravity-corrected: corrected and uncorrected figures are separate series"
    )
    unit: Literal["fraction", "percent"] = Field(description="unit of the points' values")
    points: list[TrendPointPublic] = Field(description="one per session that has this figure, in date order")


class HistoryPublic(BaseModel):
    """A subject's ratios and deficits session by session, and each as a series."""

    model_config = ConfigDict(populate_by_name=True)

    schema_: str = Field(alias="schema", description="contract identifier of the analyses", examples=["isokin-analysis/1"])
    parameters: AnalysisParameters
    subject: ReportSubjectPublic
    sessions: list[HistorySessionPublic] = Field(description="the subject's sessions in date order")
    trends: list[TrendPublic] = Field(description="each ratio and deficit across the sessions")
