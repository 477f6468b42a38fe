"""The web app's page, the API documentation pages and the static files, all served from the package.

Nothing loads from another host: the app, uPlot, Swagger UI and Redoc are files of this
package (``static/vendor/README.md`` lists versions and licences). Every page is sent
with a Content-Security-Policy that allows only this origin, so a page cannot reach
another host even by mistake, and inline scripts do not run.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from api.report_pdf import CSS_PATH

__all__ = ["STATIC_DIR", "SECURITY_HEADERS", "StaticWithHeaders", "router"]

STATIC_DIR = Path(__file__).parent / "static"

#: Only this origin; no inline script; styles may be inline (uPlot, Swagger UI and Redoc set them);
#: images from data: and blob: URLs (charts, PDFs); Redoc's search runs in a blob: worker.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(include_in_schema=False)


class StaticWithHeaders(StaticFiles):
    """Static files with the security headers, revalidated on each use (an upgrade shows at once)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def _page(name: str) -> HTMLResponse:
    html = (STATIC_DIR / name).read_text(encoding="utf-8")
    return HTMLResponse(html, headers=SECURITY_HEADERS | {"Cache-Control": "no-cache"})


@router.get("/")
def app_page() -> HTMLResponse:
    """The web app (one page; its screens are addressed by the URL fragment)."""
    return _page("app/index.html")


@router.get("/docs")
def swagger_page() -> HTMLResponse:
    """Swagger UI over /openapi.json, from the package's own copy."""
    return _page("docs/swagger.html")


@router.get("/redoc")
def redoc_page() -> HTMLResponse:
    """Redoc over /openapi.json, from the package's own copy."""
    return _page("docs/redoc.html")


@router.get("/static/report.css")
def report_css() -> FileResponse:
    """The printed report's style sheet (the report page uses the PDF's)."""
    return FileResponse(CSS_PATH, media_type="text/css", headers=SECURITY_HEADERS | {"Cache-Control": "no-cache"})


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "app" / "favicon.svg", media_type="image/svg+xml")
