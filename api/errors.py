"""The service's own errors, and the ONE table that maps every domain error to an HTTP status.

::

    ServiceError                  root of everything ``api`` raises on purpose
    +-- NotFoundError             an id that does not exist (404)
    +-- ConflictError             a duplicate, a read-only resource, a state clash (409)
    +-- AuthenticationError       no, malformed, unknown, expired or revoked bearer token (401)
    +-- PermissionDeniedError     a valid token whose role is too low (403)
    +-- InvalidInputError         a value the domain refuses, naming its field (422)
    +-- PayloadTooLargeError      a request body over the configured limit (413)
    +-- RequestTimeoutError       a request body that did not arrive in time (408)
    +-- StorageError              the database cannot be opened or reached (503)
    +-- DeviceNotConnectedError   a trial or weighing needs a device and none is connected (503)
    +-- ServiceBusyError          every analysis slot stayed taken for the longest wait (503)
    +-- StoredDataError           stored data that cannot be decoded: damaged, or not written by isokin (500)

Errors from below (``firmware_protocols.errors.ProtocolError``, ``daq.errors.DaqError``,
``analysis.errors.AnalysisError``, SQLAlchemy's) are mapped by :data:`STATUS_BY_ERROR`;
the most specific class in the error's MRO wins. Anything else, a bare ``ValueError``
included, is a bug: a 500. Every 5xx is logged with its traceback under an *error id*
that the response carries with a generic message; SQL, parameters, paths and
tracebacks stay in the log. Responses carry ``{"detail": "<message>"}`` (422s use
FastAPI's validation-error shape, with inputs cut short, see :func:`error_response`).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any, cast

from fastapi import FastAPI, Request, WebSocket
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import (
    DatabaseError,
    DataError,
    IntegrityError,
    InternalError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from analysis.errors import AnalysisError, NoRepetitionsError, UnknownJointError
from daq.errors import (
    CalibrationError,
    DaqError,
    DeviceRefused,
    DeviceTimeout,
    DeviceUnavailable,
    RecordingFormatError,
)
from firmware_protocols.errors import ProtocolError

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DeviceNotConnectedError",
    "InvalidInputError",
    "MAX_ECHOED_CHARS",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "STATUS_BY_ERROR",
    "ServiceBusyError",
    "ServiceError",
    "StorageError",
    "StoredDataError",
    "error_response",
    "install_error_handlers",
    "internal_error_response",
    "new_error_id",
    "status_of",
    "validation_items",
]

log = logging.getLogger(__name__)

#: Longest piece of a client's input echoed back in a 422 (characters); the rest is cut.
MAX_ECHOED_CHARS = 80
#: Longest message of a 4xx (characters): a message quoting a file's line cannot quote the file.
MAX_MESSAGE_CHARS = 500


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
    """No bearer token, a malformed one, or one that is unknown, expired or revoked."""


class PermissionDeniedError(ServiceError):
    """The token is valid but its role does not allow the operation."""


class InvalidInputError(ServiceError):
    """A value of the request that the domain refuses: a 422 naming the field.

    Parameters
    ----------
    field
        The request field (body key, form field or query parameter) at fault.
    message
        What is wrong with it, for the user.
    location
        ``body``, ``query`` or ``path``: where the field is.
    kind
        The 422 item's ``type`` (``value_error``, ``missing``, a rule name).
    """

    def __init__(self, field: str, message: str, *, location: str = "body", kind: str = "value_error") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.location = location
        self.kind = kind


class PayloadTooLargeError(ServiceError):
    """The request body is larger than the configured limit."""


class RequestTimeoutError(ServiceError):
    """The request body did not arrive within the configured time."""


class StorageError(ServiceError):
    """The database cannot be opened, migrated or reached."""


class DeviceNotConnectedError(ServiceError):
    """The operation needs a connected device and there is none (or it is still connecting)."""


class ServiceBusyError(ServiceError):
    """Every analysis slot stayed taken for the longest wait: try again later."""


class StoredDataError(ServiceError):
    """Stored data (e.g. a trial's sample chunk) cannot be decoded: damaged, or not written by isokin."""


#: error class -> HTTP status. The most specific class in an error's MRO wins; unlisted ones are 500.
STATUS_BY_ERROR: dict[type[BaseException], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    InvalidInputError: 422,
    PayloadTooLargeError: 413,
    RequestTimeoutError: 408,
    StorageError: 503,
    DeviceNotConnectedError: 503,
    ServiceBusyError: 503,
    StoredDataError: 500,
    ServiceError: 400,
    ProtocolError: 422,
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
    ProgrammingError: 500,
    InternalError: 500,
    DatabaseError: 503,
    SQLAlchemyError: 500,
}

#: What a client is told of errors whose own text may hold SQL, parameters or paths.
_GENERIC: dict[type[BaseException], str] = {
    IntegrityError: "the request conflicts with stored data (duplicate or still referenced)",
    DataError: "the database refused a value (out of range or not storable)",
    OperationalError: "the database is unavailable; try again later",
    ProgrammingError: "internal error",
    InternalError: "internal error",
    DatabaseError: "the database is damaged or unreadable: an administrator should run 'isokin db check'",
    StorageError: "the database is unavailable; try again later",
    StoredDataError: "stored data of this resource is damaged and cannot be read; the server's log names it",
}


def status_of(error: BaseException) -> int:
    """The HTTP status of an error, from :data:`STATUS_BY_ERROR` (500 when unmapped)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def new_error_id() -> str:
    """A short random id that ties a 5xx response to its lines in the server's log."""
    return secrets.token_hex(6)


def _message(error: BaseException, status: int) -> str:
    for cls in type(error).__mro__:
        if cls in _GENERIC:
            return _GENERIC[cls]
    if status == 500:
        return "internal error"
    return _cut(str(error) or type(error).__name__, MAX_MESSAGE_CHARS)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, lone surrogates written as escapes (JSON output cannot hold them)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def error_response(
    status: int, detail: str, *, loc: Sequence[str | int] = (), kind: str = "value_error", error_id: str | None = None
) -> JSONResponse:
    """An error response: ``{"detail": "..."}``, or for 422 the request-validation shape.

    A 422 always reads ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``, whether
    FastAPI found the problem in the request or the domain did later. 401 adds
    ``WWW-Authenticate: Bearer``; a 5xx carries ``error_id`` (also in the log).
    """
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    content: dict[str, object] = {"detail": detail}
    if status == 422:
        content = {"detail": [{"loc": list(loc), "msg": detail, "type": kind}]}
    if error_id is not None:
        content["error_id"] = error_id
    return JSONResponse(status_code=status, content=content, headers=headers)


def internal_error_response(method: str, path: str, error: BaseException, *, status: int = 500) -> JSONResponse:
    """Log ``error`` with its traceback under a new error id; the response says only the id."""
    error_id = new_error_id()
    log.error("error id %s: %s %s failed (%d)", error_id, method, path, status, exc_info=error)
    message = _message(error, status)
    return error_response(status, f"{message} (error id {error_id})", error_id=error_id)


async def _handle(request: HTTPConnection, error: Exception) -> JSONResponse | None:
    status = status_of(error)
    if isinstance(request, WebSocket):  # a dependency of a WebSocket route failed: close before accepting
        if status >= 500:
            internal_error_response("WEBSOCKET", request.url.path, error, status=status)
        await request.close(code=1008, reason=_message(error, status)[:120])
        return None
    assert isinstance(request, Request)
    if status >= 500:
        return internal_error_response(request.method, request.url.path, error, status=status)
    if isinstance(error, InvalidInputError):
        return error_response(422, _cut(error.message, MAX_MESSAGE_CHARS), loc=(error.location, error.field), kind=error.kind)
    return error_response(status, _message(error, status))


def _short(value: Any) -> Any:
    """A client's input as a 422 may echo it: short strings and numbers as they are, the rest cut or named."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _cut(value, MAX_ECHOED_CHARS)
    if isinstance(value, (bytes, bytearray)):
        return f"({len(value)} bytes)"
    if isinstance(value, dict):
        return f"(an object of {len(value)} keys)" if len(value) > 10 else {str(k)[:MAX_ECHOED_CHARS]: _short(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return f"(a list of {len(value)} items)" if len(value) > 10 else [_short(v) for v in value]
    return f"({type(value).__name__})"


def validation_items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors with every echoed input cut to :data:`MAX_ECHOED_CHARS`."""
    items: list[dict[str, Any]] = []
    for error in errors:
        item: dict[str, Any] = {
            "type": str(error.get("type", "value_error")),
            "loc": [p if isinstance(p, int) else _cut(str(p), MAX_ECHOED_CHARS) for p in error.get("loc", ())],
            "msg": _cut(str(error.get("msg", "")), MAX_MESSAGE_CHARS),
        }
        if "input" in error:
            item["input"] = _short(error["input"])
        if error.get("ctx"):
            item["ctx"] = jsonable_encoder({k: _short(v) if not isinstance(v, Exception) else str(v)[:MAX_MESSAGE_CHARS] for k, v in error["ctx"].items()})
        items.append(item)
    return items


async def _handle_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(status_code=422, content={"detail": validation_items(error.errors())})


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
    """Register the mapping on an app (one handler per root class; unexpected errors: see ``api.middleware``)."""
    for root in (ServiceError, ProtocolError, DaqError, AnalysisError, SQLAlchemyError):
        app.add_exception_handler(root, cast(Any, _handle))  # handles Request and WebSocket alike
    app.add_exception_handler(RequestValidationError, _handle_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)

