"""The service's own errors, and the ONE table that maps every domain error to an HTTP status.

::

    ServiceError                  root of everything ``api`` raises on purpose
    +-- NotFoundError             an id that does not exist (404)
    +-- ConflictError             a duplicate, a read-only resource, a state clash (409)
    +-- AuthenticationError       no, malformed or unknown bearer token (401)
    +-- PermissionDeniedError     a valid token whose role is too low (403)
    +-- PayloadTooLargeError      a request body over the configured limit (413)
    +-- StorageError              the database cannot be opened or reached (503)
    +-- DeviceNotConnectedError   a trial or weighing needs a device and none is connected (503)

Errors from below (``daq.errors.DaqError``, ``analysis.errors.AnalysisError``,
SQLAlchemy's) and ``ValueError`` are mapped by :data:`STATUS_BY_ERROR`; the most
specific class in the error's MRO wins. Responses carry ``{"detail": "<message>"}``
(422s use FastAPI's validation-error shape, see :func:`error_response`).
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from analysis.errors import AnalysisError, NoRepetitionsError, UnknownJointError
from daq.errors import (
    CalibrationError,
    DaqError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnavailable,
    RecordingFormatError,
)

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DeviceNotConnectedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "STATUS_BY_ERROR",
    "ServiceError",
    "StorageError",
    "error_response",
    "install_error_handlers",
    "status_of",
]

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """Root of the service's own errors."""


class NotFoundError(ServiceError):
    """A resource id that does not exist."""

    def __init__(self, resource: str, resource_id: object) -> None:
        super().__init__(f"{resource} {resource_id} not found")
        self.resource = resource
        self.resource_id = resource_id


class ConflictError(ServiceError):
    """The request clashes with the stored state (duplicate, read-only, busy)."""


class AuthenticationError(ServiceError):
    """No bearer token, a malformed one, or one that is unknown or revoked."""


class PermissionDeniedError(ServiceError):
    """The token is valid but its role does not allow the operation."""


class PayloadTooLargeError(ServiceError):
    """The request body is larger than the configured limit."""


class StorageError(ServiceError):
    """The database cannot be opened, migrated or reached."""


class DeviceNotConnectedError(ServiceError):
    """The operation needs a connected device and there is none (or it is still connecting)."""


#: error class -> HTTP status. The most specific class in an error's MRO wins.
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    PayloadTooLargeError: 413,
    StorageError: 503,
    DeviceNotConnectedError: 503,
    ServiceError: 400,
    DeviceUnavailable: 409,
    DeviceRefused: 409,
    DeviceTimeout: 504,
    CalibrationError: 409,
    RecordingFormatError: 422,
    DaqError: 409,
    UnknownJointError: 422,
    NoRepetitionsError: 422,
    AnalysisError: 422,
    IntegrityError: 409,
    DataError: 422,
    OperationalError: 503,
    SQLAlchemyError: 500,
    ValueError: 422,
}


def status_of(error: BaseException) -> int:
    """The HTTP status of an error, from :data:`STATUS_BY_ERROR` (500 when unmapped)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _message(error: BaseException) -> str:
    if isinstance(error, IntegrityError):
        return "the request conflicts with stored data (duplicate or still referenced)"
    if isinstance(error, DataError):
        return "the database refused a value (out of range or not storable)"
    if isinstance(error, OperationalError):
        return "the database is unavailable"
    return str(error) or type(error).__name__


def error_response(status: int, detail: str) -> JSONResponse:
    """An error response: ``{"detail": "..."}``, or for 422 the request-validation shape.

    A 422 always reads ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``, whether
    FastAPI found the problem in the request or the domain did later. 401 adds
    ``WWW-Authenticate: Bearer``.
    """
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    content: dict[str, object] = {"detail": detail}
    if status == 422:
        content = {"detail": [{"loc": [], "msg": detail, "type": "value_error"}]}
    return JSONResponse(status_code=status, content=content, headers=headers)


async def _handle(request: Request, error: Exception) -> JSONResponse:
    status = status_of(error)
    if status >= 500:
        log.error("%s %s failed: %r", request.method, request.url.path, error)
    return error_response(status, _message(error))


def _documented_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI document lists for the path template matching ``path``."""
    methods: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


async def _handle_http(request: Request, error: Exception) -> Response:
    """Starlette's own errors; a 405 lists in ``Allow`` every documented method of the path.

    (Starlette only lists the methods of the first route matching the path, and FastAPI
    makes one route per method.)
    """
    assert isinstance(error, StarletteHTTPException)
    methods = _documented_methods(request.app, request.url.path) if error.status_code == 405 else []
    if not methods:
        return await http_exception_handler(request, error)
    return JSONResponse(status_code=405, content={"detail": "Method Not Allowed"}, headers={"Allow": ", ".join(methods)})


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping on an app (one handler per root class)."""
    for root in (ServiceError, DaqError, AnalysisError, SQLAlchemyError, ValueError):
        app.add_exception_handler(root, _handle)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
