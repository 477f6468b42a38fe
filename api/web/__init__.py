"""The web app served by ``isokin serve``: pages, static files, API docs, the printed report, goals.

:func:`install_web` adds all of it to an app built by :func:`api.main.create_app`.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.routes import goals as goal_routes
from api.web import api_routes, pages

__all__ = ["install_web"]


def install_web(app: FastAPI) -> None:
    """Add the web app, its static files, ``/docs`` and ``/redoc``, the report PDF and re-test goals."""
    app.include_router(goal_routes.router, prefix="/api/v1")
    app.include_router(api_routes.router, prefix="/api/v1")
    app.include_router(pages.router)
    app.mount("/static", pages.StaticWithHeaders(directory=pages.STATIC_DIR), name="static")
