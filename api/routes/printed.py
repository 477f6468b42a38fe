"""The printed report: ``GET /sessions/{id}/report.pdf`` and ``.../report.html``.

Both take the same analysis query
parameters as ``GET /sessions/{id}/report`` and print that same document: the figures are
the JSON report's, rounded as printed. The HTML is the report's ``<article>`` for the
report page (all text escaped by the template; the figures are SVG drawn here).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.analysis_service import AnalysisCache, AnalysisSettings
from api.deps import (
    AcceptsGzipDep,
    AnalysisCacheDep,
    AnalysisSettingsDep,
    ComputeSlotsDep,
    DatabaseDep,
    IdPath,
    ReportCacheDep,
    SessionDep,
    ViewerDep,
)
from api.goals import GoalSpec, report_goal_rows, subject_progress
from api.report_cache import ComputeSlots, ReportCache, cached_report
from api.report_keys import printed_report_inputs
from api.report_pdf import report_html, report_pdf
from api.report_pdf.sources import session_curves, session_extra
from api.reporting import session_report
from api.routes.common import AUTH_ERRORS, NOT_FOUND, encoding_headers, get_or_404
from api.schemas.common import ValidationErrorPublic
from api.storage.models import LabSession, Subject

__all__ = ["router"]

router = APIRouter(responses=AUTH_ERRORS)

_REPORT_ERRORS: dict[int | str, dict[str, Any]] = NOT_FOUND | {
    422: {"model": ValidationErrorPublic, "description": "a bad query parameter"}
}


def _html(session: Session, lab_session: LabSession, settings: AnalysisSettings, cache: AnalysisCache, *, standalone: bool) -> str:
    document = session_report(session, lab_session, settings, cache=cache)
    subject = session.get(Subject, lab_session.subject_id)
    goals: list[dict[str, Any]] = []
    if subject is not None:
        _, progress = subject_progress(session, subject, settings, cache=cache, until=lab_session)
        goals = report_goal_rows([(GoalSpec.of(g), s) for g, s in progress], lab_session.id)
    return report_html(
        document, session_curves(session, document), standalone=standalone, extra=session_extra(session, document), goals=goals
    )


def _printed(
    session: Session,
    session_id: int,
    settings: AnalysisSettings,
    cache: AnalysisCache,
    reports: ReportCache,
    slots: ComputeSlots,
    *,
    pdf: bool,
    compress: bool = False,
) -> tuple[bytes, str]:
    """The printed report (PDF, or the HTML body, gzip-compressed if asked) from the cache or built, and the
    PDF's file name."""
    lab_session = get_or_404(session, LabSession, session_id, "session")

    def build() -> bytes:
        html = _html(session, lab_session, settings, cache, standalone=pdf)
        return report_pdf(html) if pdf else html.encode()

    body = cached_report(
        reports, slots, ("printed report", pdf), lambda: printed_report_inputs(session, lab_session, settings), build,
        compress=compress,
    )  # fmt: skip
    subject = session.get(Subject, lab_session.subject_id)
    code = subject.code if subject is not None else "subject"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in code)[:40]
    return body, f"isokin-{safe}-{lab_session.date.isoformat()}-session-{session_id}.pdf"


@router.get(
    "/sessions/{session_id}/report.pdf",
    tags=["reports"],
    response_class=Response,
    responses=_REPORT_ERRORS | {200: {"content": {"application/pdf": {}}, "description": "the report as an A4 PDF"}},
    summary="Session report as a PDF: tables, torque-angle overlays, deficits, ratios, flags, processing log",
)
async def read_report_pdf(
    session_id: IdPath,
    database: DatabaseDep,
    _: ViewerDep,
    settings: AnalysisSettingsDep,
    cache: AnalysisCacheDep,
    reports: ReportCacheDep,
    slots: ComputeSlotsDep,
) -> Response:
    def build() -> tuple[bytes, str]:
        with database.session() as session:
            return _printed(session, session_id, settings, cache, reports, slots, pdf=True)

    pdf, name = await run_in_threadpool(build)
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(
    "/sessions/{session_id}/report.html",
    tags=["reports"],
    response_class=Response,
    responses=_REPORT_ERRORS | {200: {"content": {"text/html": {}}, "description": "the report's HTML body"}},
    summary="Session report as HTML (the report page's body; the PDF's layout)",
)
def read_report_html(
    session_id: IdPath,
    session: SessionDep,
    _: ViewerDep,
    settings: AnalysisSettingsDep,
    cache: AnalysisCacheDep,
    reports: ReportCacheDep,
    slots: ComputeSlotsDep,
    gzip: AcceptsGzipDep,
) -> HTMLResponse:
    html, _name = _printed(session, session_id, settings, cache, reports, slots, pdf=False, compress=gzip)
    policy = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
    return HTMLResponse(html, headers=encoding_headers(gzip, policy))
