"""The web app served by ``isokin serve``: its page, static files and the API documentation pages.

:func:`install_web` adds them to an app built by :func:`api.main.create_app`; the API routes
the app uses (the printed report, re-test goals, ``/me``) are registered with the others in
:mod:`api.routes`.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.web import pages

__all__ = ["install_web"]


def install_web(app: FastAPI) -> None:
    """Add the web app at ``/``, its static files, ``/docs`` and ``/redoc``."""
    app.include_router(pages.router)
    app.mount("/static", pages.StaticWithHeaders(directory=pages.STATIC_DIR), name="static")
