"""``GET /trials/{id}/analysis``: the analyze JSON contract for one trial, parameters overridable by query.

:data:`AnalysisSettingsDep` (the query parameters shared with the session report and the
subject history) and :data:`AnalysisCacheDep` are defined here.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from analysis import THRESHOLD_SOURCES, AnalysisOptions, Thresholds
from api.analysis_service import AnalysisCache, AnalysisSettings
from api.deps import IdPath, SessionDep, ViewerDep
from api.reporting import trial_report
from api.routes.common import AUTH_ERRORS, NOT_FOUND, get_or_404
from api.schemas.analysis import AnalysisPublic
from api.schemas.common import ErrorPublic, Side, ValidationErrorPublic
from api.storage.models import Trial

__all__ = ["ANALYSIS_ERRORS", "AnalysisCacheDep", "AnalysisSettingsDep", "router"]

router = APIRouter(prefix="/trials", tags=["analysis"], responses=AUTH_ERRORS)

ANALYSIS_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorPublic, "description": "the trial has no samples yet"},
    422: {"model": ValidationErrorPublic, "description": "a bad query parameter, or no repetition found in the samples"},
}


async def get_analysis_cache(request: Request) -> AnalysisCache:
    """The app's cache of trial analyses (made on first use; async: no I/O, no worker thread)."""
    cache: AnalysisCache | None = getattr(request.app.state, "analysis_cache", None)
    if cache is None:
        cache = request.app.state.analysis_cache = AnalysisCache()
    return cache


AnalysisCacheDep = Annotated[AnalysisCache, Depends(get_analysis_cache)]


def _float(
    description: str, *, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None
) -> Any:
    return Annotated[float | None, Query(description=description, allow_inf_nan=False, ge=ge, gt=gt, le=le, lt=lt)]


#: Query parameters that change :class:`AnalysisOptions` (name -> annotation).
_OPTION_QUERIES: dict[str, Any] = {
    "cutoff_hz": _float("low-pass cut-off in Hz (default 20); 0 analyses the raw signal", ge=0, le=10_000),
    "window_tolerance_percent": _float(
        "load range: speed within this % of the set velocity (default 10)", gt=0, lt=100
    ),
    "torque_angle_deg": _float("read torque at this position, deg (default 30)", ge=-360, le=360),
    "torque_time_s": _float("read torque at this time from movement onset, s (default 0.18)", ge=0, le=60),
    "use_markers": Annotated[
        bool | None, Query(description="use the device's repetition markers when the trial has them (default true)")
    ],
}

#: Query parameters of the trial's inputs and of the comparison.
_INPUT_QUERIES: dict[str, Any] = {
    "body_mass_kg": _float("body mass for the per-kg figures, kg (default: the subject's)", gt=0, le=400),
    "gravity_torque_nm": _float(
        "limb + lever torque with the segment horizontal, N.m (default: the trial's weighing; 0 turns the correction off)",
        ge=-1000, le=1000,
    ),
    "horizontal_angle_deg": _float(
        "position where the segment is horizontal, deg (default: the trial's, else 0)", ge=-360, le=360
    ),
    "involved_side": Annotated[
        Side | None, Query(description="side under test for deficits (default: the subject's involved side)")
    ],
    "velocity_match_percent": _float("sets within this % of each other are at the same velocity (default 10)", gt=0, lt=100),
}


def _threshold_query(f: dataclasses.Field[Any]) -> Any:
    description = f"flag threshold (default {f.default:g}): {THRESHOLD_SOURCES[f.name]}"
    if f.type in (int, "int"):
        return Annotated[int | None, Query(description=description, ge=0, le=1000)]
    return _float(description, ge=0, le=100_000)


_THRESHOLD_QUERIES: dict[str, Any] = {f.name: _threshold_query(f) for f in dataclasses.fields(Thresholds)}


async def get_analysis_settings(**query: Any) -> AnalysisSettings:
    """The analysis settings asked for by the query (absent parameters keep their defaults; no I/O)."""
    options = {k: query[k] for k in _OPTION_QUERIES if query[k] is not None}
    if options.get("cutoff_hz") == 0:
        options["cutoff_hz"] = None
    thresholds = {k: query[k] for k in _THRESHOLD_QUERIES if query[k] is not None}
    return AnalysisSettings(
        options=AnalysisOptions(**options),
        thresholds=Thresholds(**thresholds),
        body_mass_kg=query["body_mass_kg"],
        gravity_torque_nm=query["gravity_torque_nm"],
        horizontal_angle_deg=query["horizontal_angle_deg"],
        involved_side=query["involved_side"],
        velocity_match_percent=query["velocity_match_percent"] or 10.0,
    )


get_analysis_settings.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, annotation in {**_OPTION_QUERIES, **_INPUT_QUERIES, **_THRESHOLD_QUERIES}.items()
    ]
)

AnalysisSettingsDep = Annotated[AnalysisSettings, Depends(get_analysis_settings)]


@router.get(
    "/{trial_id}/analysis",
    response_model=AnalysisPublic,
    responses=NOT_FOUND | ANALYSIS_ERRORS,
    summary="Analyse a trial: set figures, ratios within the trial, flags (the analyze JSON contract)",
)
def read_trial_analysis(
    trial_id: IdPath, session: SessionDep, _: ViewerDep, settings: AnalysisSettingsDep, cache: AnalysisCacheDep
) -> dict[str, Any]:
    trial = get_or_404(session, Trial, trial_id, "trial")
    return trial_report(session, trial, settings, cache=cache)
