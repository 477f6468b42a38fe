"""``GET /trials/{id}/analysis``: the analyze JSON contract for one trial, parameters overridable by query.

The query parameters (shared with the session report and the subject history) are
:class:`~api.schemas.analysis_query.AnalysisQuery`, read by ``deps.AnalysisSettingsDep``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AnalysisCacheDep, AnalysisSettingsDep, ComputeSlotDep, IdPath, SessionDep, ViewerDep
from api.reporting import trial_report
from api.routes.common import AUTH_ERRORS, NOT_FOUND, get_or_404
from api.schemas.analysis import AnalysisPublic
from api.schemas.common import ErrorPublic, ValidationErrorPublic
from api.storage.models import Trial

__all__ = ["ANALYSIS_ERRORS", "router"]

router = APIRouter(prefix="/trials", tags=["analysis"], responses=AUTH_ERRORS)

ANALYSIS_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorPublic, "description": "the trial has no samples yet"},
    422: {"model": ValidationErrorPublic, "description": "a bad query parameter, or no repetition found in the samples"},
}


@router.get(
    "/{trial_id}/analysis",
    response_model=AnalysisPublic,
    responses=NOT_FOUND | ANALYSIS_ERRORS,
    summary="Analyse a trial: set figures, ratios within the trial, flags (the analyze JSON contract)",
)
def read_trial_analysis(
    trial_id: IdPath, session: SessionDep, _: ViewerDep, settings: AnalysisSettingsDep, cache: AnalysisCacheDep,
    _slot: ComputeSlotDep,
) -> dict[str, Any]:
    trial = get_or_404(session, Trial, trial_id, "trial")
    return trial_report(session, trial, settings, cache=cache)
