"""Dependencies of the routes, as ``Annotated`` aliases.

``SessionDep``: a database session per request. ``ViewerDep`` / ``OperatorDep`` /
``AdminDep``: the caller's token, checked to have at least that role. ``PageDep``:
``offset`` and ``limit`` query parameters. :func:`reject_unknown_query_parameters`
is an app-wide dependency: a misspelt filter (``?subjectid=3``) is a 422, not a silently
unfiltered list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from api.security import Role, authenticate, require_role
from api.settings import Settings
from api.storage.database import Database
from api.storage.models import ApiToken

__all__ = [
    "AdminDep",
    "DatabaseDep",
    "IdPath",
    "OperatorDep",
    "Page",
    "PageDep",
    "SessionDep",
    "SettingsDep",
    "ViewerDep",
    "reject_unknown_query_parameters",
]


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session() as session:
        yield session


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="a token from 'isokin token create --role viewer|operator|admin' or POST /api/v1/tokens",
)


def get_token(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiToken:
    return authenticate(session, credentials.credentials if credentials else None)


def _needs(role: Role) -> Callable[[ApiToken], ApiToken]:
    def check(token: Annotated[ApiToken, Depends(get_token)]) -> ApiToken:
        require_role(token, role)
        return token

    check.__name__ = f"require_{role.value}"
    return check


ViewerDep = Annotated[ApiToken, Depends(_needs(Role.viewer))]
OperatorDep = Annotated[ApiToken, Depends(_needs(Role.operator))]
AdminDep = Annotated[ApiToken, Depends(_needs(Role.admin))]


@dataclass(frozen=True)
class Page:
    """Which slice of a list to return."""

    offset: int
    limit: int


def get_page(
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="number of items to skip")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="largest number of items to return")] = 100,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(get_page)]

#: A resource id in a path: a positive 32-bit integer (larger ones cannot exist).
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="resource id")]


def _query_names(dependant: Dependant) -> frozenset[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def reject_unknown_query_parameters(request: HTTPConnection) -> None:
    """Refuse query parameters the route does not declare (422 naming the parameter).

    Typed ``HTTPConnection`` so that it also runs, as a no-op, for WebSocket routes.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    names = _query_names(route.dependant)
    unknown = [name for name in request.query_params if name not in names]
    if unknown:
        raise RequestValidationError(
            [
                {"type": "extra_forbidden", "loc": ("query", name), "msg": "unknown query parameter", "input": None}
                for name in unknown
            ]
        )
