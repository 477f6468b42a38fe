"""The FastAPI application: :func:`create_app` builds it from :class:`~api.settings.Settings`.

Building the app opens the database, runs the Alembic migrations and refreshes the
built-in protocol library, so a bad database URL fails before the server binds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.acquisition.service import AcquisitionService
from api.analysis_service import AnalysisCache
from api.deps import reject_unknown_query_parameters
from api.errors import install_error_handlers
from api.library import sync_builtin_protocols
from api.middleware import install_middleware
from api.report_cache import ComputeSlots, ReportCache
from api.routes import api_router
from api.routes.live import LiveSockets
from api.security import install_log_redaction
from api.settings import Settings
from api.storage.database import Database
from api.web import install_web

__all__ = ["create_app"]

DESCRIPTION = """\
Isokinetic dynamometer service: subjects, sessions, test protocols, the device (by default
the bundled simulator), trials recorded from it, their samples and live view, imports,
analysis and ratio reports.

A test: create a subject and a session, create a trial in the session, `start` it; it ends
by itself after its repetitions. Follow it live on the WebSocket
`ws://HOST/api/v1/trials/{id}/live` with an `Authorization: Bearer` header, or from a browser
with the subprotocols `isokin.live` and `bearer.<token>` (or poll `GET` on the same path).

Every route but `/api/v1/health` needs `Authorization: Bearer <token>`. Create the first
token with `isokin token create --role admin`, then click **Authorize** above.
Roles: *viewer* reads, *operator* also creates subjects, sessions and protocols and runs
trials, *admin* also manages tokens and reads the audit trail of every write.
"""


def _version() -> str:
    try:
        return version("isokin")
    except PackageNotFoundError:
        return "unknown"


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        Service settings; ``None`` reads them from the ``ISOKIN_*`` environment.
    database
        An already opened (and migrated) database to use instead of opening
        ``settings.resolved_database_url``; the caller then closes it.

    Raises
    ------
    api.errors.StorageError
        When the database cannot be opened or migrated.
    """
    settings = settings or Settings()
    owned = database is None
    db = Database.open(settings.resolved_database_url, pool_size=settings.db_pool_size) if database is None else database
    with db.session() as session:
        sync_builtin_protocols(session)

    acquisition = AcquisitionService(db, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        acquisition.startup()  # interrupted trials of this station; the device connects in the background
        yield
        acquisition.shutdown()
        if owned:
            db.close()

    app = FastAPI(
        title="isokin",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served by api.web from the package's own assets
        redoc_url=None,
        dependencies=[Depends(reject_unknown_query_parameters)],
        openapi_tags=[
            {"name": "health", "description": "service state, no token needed"},
            {"name": "subjects", "description": "pseudonymous people tested"},
            {"name": "sessions", "description": "a subject's test day"},
            {"name": "protocols", "description": "built-in library and custom protocols"},
            {"name": "tokens", "description": "bearer tokens (admin)"},
            {"name": "audit", "description": "who changed what, when (admin)"},
            {"name": "device", "description": "the dynamometer's interface (or the simulator): state, connection"},
            {"name": "stations", "description": "the servers recording into this database; closing a crashed one's trials"},
            {"name": "trials", "description": "sets recorded from the device: create, weigh, start, stop"},
            {"name": "samples", "description": "a trial's samples as JSON or the recording CSV"},
            {"name": "live", "description": "a running trial for display (GET, or WebSocket at the same path)"},
            {"name": "imports", "description": "vendor exports and recording CSVs uploaded as trials"},
            {"name": "analysis", "description": "one trial analysed (the analyze JSON contract)"},
            {"name": "reports", "description": "session reports (JSON, CSV, PDF) and subject histories"},
            {"name": "goals", "description": "re-test goals of a subject and each session's progress"},
        ],
    )
    app.state.settings = settings
    app.state.database = db
    app.state.acquisition = acquisition
    app.state.analysis_cache = AnalysisCache()
    app.state.report_cache = ReportCache()
    app.state.compute_slots = ComputeSlots(settings.analysis_workers, settings.analysis_wait_s)
    app.state.live_sockets = LiveSockets(settings.max_live_sockets, settings.max_live_sockets_per_token)
    install_error_handlers(app)
    install_log_redaction()
    app.include_router(api_router)
    install_web(app)  # the web app at /, /docs and /redoc, from the package's own assets

    install_middleware(app, database=db, max_body_bytes=settings.max_body_bytes, body_timeout_s=settings.body_timeout_s)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app
