"""``GET /subjects/{id}/history``: ratios and bilateral deficits session by session, to follow an imbalance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.deps import (
    AcceptsGzipDep,
    AnalysisCacheDep,
    AnalysisSettingsDep,
    ComputeSlotsDep,
    IdPath,
    ReportCacheDep,
    SessionDep,
    ViewerDep,
)
from api.report_cache import cached_report
from api.report_keys import history_inputs
from api.reporting import subject_history
from api.routes.common import AUTH_ERRORS, NOT_FOUND, encoding_headers, get_or_404
from api.schemas.common import ValidationErrorPublic
from api.schemas.reports import HistoryPublic
from api.storage.models import Subject

__all__ = ["router"]

router = APIRouter(prefix="/subjects", tags=["reports"], responses=AUTH_ERRORS)


@router.get(
    "/{subject_id}/history",
    response_model=HistoryPublic,
    responses=NOT_FOUND | {422: {"model": ValidationErrorPublic, "description": "a bad query parameter"}},
    summary="A subject's ratios and bilateral deficits across sessions, in date order",
)
def read_subject_history(
    subject_id: IdPath, session: SessionDep, _: ViewerDep, settings: AnalysisSettingsDep, cache: AnalysisCacheDep,
    reports: ReportCacheDep, slots: ComputeSlotsDep, gzip: AcceptsGzipDep,
) -> Any:
    subject = get_or_404(session, Subject, subject_id, "subject")

    def build() -> bytes:
        # Built to the schema above: not validated again (see reports.py: that would hold the GIL for long).
        return bytes(JSONResponse(subject_history(session, subject, settings, cache=cache)).body)

    body = cached_report(reports, slots, "history", lambda: history_inputs(session, subject, settings), build, compress=gzip)
    return Response(body, media_type="application/json", headers=encoding_headers(gzip))
