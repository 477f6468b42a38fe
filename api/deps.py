"""Dependencies of the routes, as ``Annotated`` aliases (every ``*Dep`` of the service is here).

``SessionDep``: a database session per request. ``ViewerDep`` / ``OperatorDep`` /
``AdminDep``: the caller's token, checked to have at least that role (and remembered for
the audit trail). ``OptionalViewerDep``: a viewer token if one is sent, else ``None``
(``/health`` shows details only to viewers). ``PageDep``: ``offset`` and ``limit``.
``AcquisitionDep``: the device and trial service. ``AnalysisSettingsDep``: the analysis
query parameters (:class:`~api.schemas.analysis_query.AnalysisQuery`); ``AnalysisCacheDep``:
the app's analysis cache (made once by ``create_app``); ``ReportCacheDep``: its cache of finished
reports; ``ComputeSlotDep`` holds one of its compute slots for the request, ``ComputeSlotsDep`` gives
them to a route that takes one only to compute; ``AcceptsGzipDep``: whether the client takes a
gzip-encoded body (cached reports are kept compressed for it). ``IdPath`` bounds every resource
id in a path, HTTP or WebSocket alike. :func:`reject_unknown_query_parameters` is an
app-wide dependency: a misspelt filter (``?subjectid=3``) is a 422, not a silently
unfiltered list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from api.acquisition.service import AcquisitionService
from api.analysis_service import AnalysisCache, AnalysisSettings
from api.audit import remember_caller
from api.errors import AuthenticationError, InvalidInputError
from api.norms import norm_folders
from api.report_cache import ComputeSlots, ReportCache
from api.schemas.analysis_query import AnalysisQuery
from api.security import Role, authenticate, require_role
from api.settings import Settings
from api.storage.database import Database
from api.storage.models import ApiToken

__all__ = [
    "MAX_ID",
    "AcceptsGzipDep",
    "AcquisitionDep",
    "AdminDep",
    "AnalysisCacheDep",
    "AnalysisSettingsDep",
    "ComputeSlotDep",
    "ComputeSlotsDep",
    "DatabaseDep",
    "IdPath",
    "OperatorDep",
    "OptionalViewerDep",
    "Page",
    "PageDep",
    "ReportCacheDep",
    "SessionDep",
    "SettingsDep",
    "ViewerDep",
    "reject_unknown_query_parameters",
]

#: Largest resource id (ids are 32-bit integers in the database).
MAX_ID = 2**31 - 1


async def get_database(connection: HTTPConnection) -> Database:
    database: Database = connection.app.state.database
    return database


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session() as session:
        yield session


async def get_acquisition(connection: HTTPConnection) -> AcquisitionService:
    service: AcquisitionService = connection.app.state.acquisition
    return service


async def get_analysis_cache(request: Request) -> AnalysisCache:
    """The app's cache of trial analyses (async: no I/O, no worker thread)."""
    cache: AnalysisCache = request.app.state.analysis_cache
    return cache


async def get_compute_slots(request: Request) -> ComputeSlots:
    """The app's ``ISOKIN_ANALYSIS_WORKERS`` slots for CPU-heavy work, for a route that takes one only when
    it has to compute (a report the cache does not hold)."""
    slots: ComputeSlots = request.app.state.compute_slots
    return slots


async def get_report_cache(request: Request) -> ReportCache:
    """The app's cache of finished reports (async: no I/O, no worker thread)."""
    cache: ReportCache = request.app.state.report_cache
    return cache


def compute_slot(slots: Annotated[ComputeSlots, Depends(get_compute_slots)]) -> Iterator[None]:
    """Hold one of the ``ISOKIN_ANALYSIS_WORKERS`` slots for the request's CPU-heavy work (analyses,
    imports). Requests beyond them wait (asleep, off the CPU), so however many clients ask,
    the recording thread keeps its share of the CPU and the interpreter."""
    with slots.hold():
        yield


async def accepts_gzip(request: Request) -> bool:
    """Whether the client takes a gzip-encoded body (``Accept-Encoding: gzip``, or ``*``, without ``q=0``)."""
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, parameters = part.partition(";")
        if name.strip().lower() in ("gzip", "*"):
            weight = parameters.strip().lower().removeprefix("q=")
            try:
                return weight == "" or float(weight) > 0
            except ValueError:
                return False
    return False


async def get_analysis_settings(query: Annotated[AnalysisQuery, Query()], request: Request) -> AnalysisSettings:
    """The analysis settings asked for by the query (no I/O), with the service's folders of normative sets."""
    settings: AnalysisSettings = query.settings()
    service: Settings = request.app.state.settings
    return replace(settings, norm_folders=tuple(norm_folders(service.data_dir, service.norms_dir)))


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
AcquisitionDep = Annotated[AcquisitionService, Depends(get_acquisition)]
AnalysisCacheDep = Annotated[AnalysisCache, Depends(get_analysis_cache)]
AnalysisSettingsDep = Annotated[AnalysisSettings, Depends(get_analysis_settings)]
ComputeSlotDep = Annotated[None, Depends(compute_slot)]
ComputeSlotsDep = Annotated[ComputeSlots, Depends(get_compute_slots)]
AcceptsGzipDep = Annotated[bool, Depends(accepts_gzip)]
ReportCacheDep = Annotated[ReportCache, Depends(get_report_cache)]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="a token from 'isokin token create --role viewer|operator|admin' or POST /api/v1/tokens",
)


def _authenticated(database: Database, text: str | None) -> ApiToken:
    """The token this bearer text belongs to, checked on a session of its own (in a worker thread)."""
    with database.session() as session:
        return authenticate(session, text)


async def get_token(
    request: Request,
    database: Annotated[Database, Depends(get_database)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiToken:
    token = await run_in_threadpool(_authenticated, database, credentials.credentials if credentials else None)
    remember_caller(request.scope, token)
    return token


def _needs(role: Role) -> Callable[[ApiToken], Awaitable[ApiToken]]:
    async def check(token: Annotated[ApiToken, Depends(get_token)]) -> ApiToken:  # no I/O: no worker thread
        require_role(token, role)
        return token

    check.__name__ = f"require_{role.value}"
    return check


ViewerDep = Annotated[ApiToken, Depends(_needs(Role.viewer))]
OperatorDep = Annotated[ApiToken, Depends(_needs(Role.operator))]
AdminDep = Annotated[ApiToken, Depends(_needs(Role.admin))]


async def get_optional_viewer(request: Request, database: Annotated[Database, Depends(get_database)]) -> ApiToken | None:
    """The caller's token when it is a valid one (any role), else ``None``: never a 401.

    Read from the header directly, so the route's OpenAPI operation does not require a token;
    without one, nothing touches the database (``/health`` for a load balancer costs no query).
    """
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        return None

    try:
        return await run_in_threadpool(_authenticated, database, header[7:].strip())
    except AuthenticationError:
        return None


OptionalViewerDep = Annotated[ApiToken | None, Depends(get_optional_viewer)]


@dataclass(frozen=True)
class Page:
    """Which slice of a list to return."""

    offset: int
    limit: int


def get_page(
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="number of items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="largest number of items to return")] = 100,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(get_page)]

#: A resource id in a path: a positive 32-bit integer (larger ones cannot exist). WebSocket routes use it too.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="resource id")]


def _query_names(dependant: Dependant) -> frozenset[str]:
    names: set[str] = set()
    for field in dependant.query_params:
        annotation = field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= {f.alias or name for name, f in annotation.model_fields.items()}
        else:
            names.add(field.alias)
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


async def reject_unknown_query_parameters(connection: HTTPConnection) -> None:
    """Refuse query parameters the route does not declare (422 naming the parameter).

    Typed ``HTTPConnection`` so that it also runs for WebSocket routes: an unknown
    parameter there closes the socket before it opens, as FastAPI does with a bad one.
    Async, as the other dependencies without I/O: no worker thread for them.
    """
    route = connection.scope.get("route")
    if not isinstance(route, (APIRoute, APIWebSocketRoute)) or not connection.query_params:
        return
    names = _query_names(route.dependant)
    unknown = [name for name in connection.query_params if name not in names]
    if unknown:
        raise InvalidInputError(unknown[0][:64], "unknown query parameter", location="query", kind="extra_forbidden")
