"""The analysis query parameters shared by the trial analysis, the session report and the subject history.

:class:`AnalysisQuery` is a pydantic model read from the query string (FastAPI's query
parameter models); its flag thresholds are made from :class:`analysis.Thresholds`' own
fields, so a threshold added there is a parameter here. :meth:`AnalysisQuery.settings`
turns it into :class:`~api.analysis_service.AnalysisSettings` (absent parameters keep
their defaults).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from analysis import THRESHOLD_SOURCES, AnalysisOptions, Thresholds
from api.analysis_service import AnalysisSettings
from api.errors import InvalidInputError
from api.schemas.common import Side

__all__ = ["AnalysisQuery"]


def _num(
    description: str, *, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None
) -> Any:
    return Field(default=None, description=description, allow_inf_nan=False, ge=ge, gt=gt, le=le, lt=lt)


class _AnalysisQueryBase(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    cutoff_hz: float | None = _num("low-pass cut-off in Hz (default 20); 0 analyses the raw signal", ge=0, le=10_000)
    window_tolerance_percent: float | None = _num("load range: speed within this % of the set velocity (default 10)", gt=0, lt=100)
    torque_angle_deg: float | None = _num("read torque at this position, deg (default 30)", ge=-360, le=360)
    torque_time_s: float | None = _num("read torque at this time from movement onset, s (default 0.18)", ge=0, le=60)
    use_markers: bool | None = Field(
        default=None, description="use the device's repetition markers when the trial has them (default true)"
    )
    inertia_kgm2: float | None = _num(
        "limb + lever moment of inertia or an upper bound of it, kg.m^2 (default: the joint's bound for the body mass); "
        "0 turns the inertial torque check of a ringing servo's load ranges off", ge=0, le=100,
    )  # fmt: skip
    body_mass_kg: float | None = _num("body mass for the per-kg figures, kg (default: the subject's)", gt=0, le=400)
    gravity_torque_nm: float | None = _num(
        "limb + lever torque with the segment horizontal, N.m (default: the trial's weighing; 0 turns the correction off)",
        ge=-1000, le=1000,
    )  # fmt: skip
    horizontal_angle_deg: float | None = _num(
        "position where the segment is horizontal, deg (default: the trial's, else 0)", ge=-360, le=360
    )
    involved_side: Side | None = Field(
        default=None, description="side under test for deficits (default: the subject's involved side)"
    )
    velocity_match_percent: float | None = _num(
        "sets within this % of each other are at the same velocity (default 10)", gt=0, lt=100
    )

    def settings(self) -> AnalysisSettings:
        """The analysis settings asked for (absent parameters keep their defaults)."""
        options = {name: getattr(self, name) for name in _OPTION_NAMES if getattr(self, name) is not None}
        if options.get("cutoff_hz") == 0:
            options["cutoff_hz"] = None
        thresholds = {f.name: getattr(self, f.name) for f in dataclasses.fields(Thresholds) if getattr(self, f.name) is not None}
        try:  # their constructors check the values together (a cut-off below the adaptive minimum, say)
            checked_options, checked_thresholds = AnalysisOptions(**options), Thresholds(**thresholds)
        except ValueError as err:
            given = [name for name in (*options, *thresholds) if name in str(err)] or [*options, *thresholds, "query"]
            raise InvalidInputError(given[0], str(err), location="query") from err
        return AnalysisSettings(
            options=checked_options,
            thresholds=checked_thresholds,
            body_mass_kg=self.body_mass_kg,
            gravity_torque_nm=self.gravity_torque_nm,
            horizontal_angle_deg=self.horizontal_angle_deg,
            involved_side=self.involved_side,
            velocity_match_percent=self.velocity_match_percent or 10.0,
        )


#: Fields that are :class:`AnalysisOptions` parameters.
_OPTION_NAMES = ("cutoff_hz", "window_tolerance_percent", "torque_angle_deg", "torque_time_s", "use_markers", "inertia_kgm2")


#: Upper bound of a threshold by the unit its name ends with; a bare name is a ratio (a fraction).
_THRESHOLD_MAX = {"_percent": 1000.0, "_deg": 360.0, "_dps": 1000.0}
_RATIO_MAX = 10.0


def _threshold_field(f: dataclasses.Field[Any]) -> tuple[Any, Any]:
    description = f"flag threshold (default {f.default:g}): {THRESHOLD_SOURCES[f.name]}"
    if f.type in (int, "int"):
        return int | None, Field(default=None, description=description, ge=0, le=1000)
    upper = next((bound for suffix, bound in _THRESHOLD_MAX.items() if f.name.endswith(suffix)), _RATIO_MAX)
    return float | None, _num(description, ge=0, le=upper)


AnalysisQuery = create_model(  # type: ignore[call-overload]
    "AnalysisQuery",
    __base__=_AnalysisQueryBase,
    __doc__="Optional analysis parameters; every flag threshold is one too, by its name.",
    **{f.name: _threshold_field(f) for f in dataclasses.fields(Thresholds)},
)
