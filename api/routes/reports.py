"""``GET /sessions/{id}/report``: every finished trial of a session analysed together, as JSON or CSV."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import (
    AcceptsGzipDep,
    AnalysisCacheDep,
    AnalysisSettingsDep,
    ComputeSlotsDep,
    DatabaseDep,
    IdPath,
    ReportCacheDep,
    ViewerDep,
)
from api.report_cache import cached_report
from api.report_csv import report_to_csv
from api.report_keys import session_report_inputs
from api.reporting import session_report
from api.routes.common import AUTH_ERRORS, NOT_FOUND, encoding_headers, get_or_404
from api.schemas.common import ValidationErrorPublic
from api.schemas.reports import ReportPublic
from api.storage.models import LabSession

__all__ = ["router"]

router = APIRouter(prefix="/sessions", tags=["reports"], responses=AUTH_ERRORS)

_CSV_DOC = (
    "format=csv: one table per section (session, sets, ratios, bilateral, flags, trials), each "
    "introduced by a '# name' line and its header row and ended by a blank line; units in the column names"
)


@router.get(
    "/{session_id}/report",
    response_model=ReportPublic,
    responses=NOT_FOUND
    | {
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": f"the report; {_CSV_DOC}"},
        422: {"model": ValidationErrorPublic, "description": "a bad query parameter"},
    },
    summary="Session report: set figures, agonist/antagonist ratios, bilateral deficits and flags",
)
async def read_session_report(
    session_id: IdPath,
    database: DatabaseDep,
    _: ViewerDep,
    settings: AnalysisSettingsDep,
    cache: AnalysisCacheDep,
    reports: ReportCacheDep,
    slots: ComputeSlotsDep,
    gzip: AcceptsGzipDep,
    report_format: Annotated[
        Literal["json", "csv"], Query(alias="format", description="json (the analyze contract) or csv (tables)")
    ] = "json",
) -> Any:
    def read() -> bytes:  # one worker thread, one database session: a cached report costs a few queries
        with database.session() as session:

            def build() -> bytes:
                report = session_report(session, get_or_404(session, LabSession, session_id, "session"), settings, cache=cache)
                if report_format == "csv":
                    return report_to_csv(report).encode()
                # The document is built to the schema above; validating megabytes of it again would hold the
                # interpreter for seconds (pydantic-core keeps the GIL), starving a recording in this process.
                return bytes(JSONResponse(report).body)

            inputs = partial(session_report_inputs, session, session_id, settings)
            return cached_report(reports, slots, ("session report", report_format), inputs, build, compress=gzip)

    body = await run_in_threadpool(read)
    if report_format == "csv":
        attachment = {"Content-Disposition": f'attachment; filename="session-{session_id}-report.csv"'}
        return Response(body, media_type="text/csv; charset=utf-8", headers=encoding_headers(gzip, attachment))
    return Response(body, media_type="application/json", headers=encoding_headers(gzip))
