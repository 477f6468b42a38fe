"""ASGI middleware: request bodies (size, time, who may send a large one), the audit trail, unexpected errors.

From the outside in (:func:`install_middleware`):

- :class:`UnexpectedErrors`: an exception no handler of ``api.errors`` maps (a bug) is
  logged with its traceback under an error id; the client gets a 500 with that id only.
- :class:`AuditTrail`: every write request (POST, PUT, PATCH, DELETE) leaves one
  ``audit_events`` row, committed before the answer's last byte is sent (see :mod:`api.audit`).
- :class:`BodyGuard`: a declared ``Content-Length`` over the limit is a 413 before the
  route runs; a body larger than :data:`OPEN_BODY_BYTES` (or of unknown length) needs
  an operator token, checked before a byte of it is read (401 / 403); a body still
  arriving ``body_timeout_s`` after the request began is a 408; a streamed body is
  counted as it arrives and, once over the limit, the route's answer becomes a 413.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.audit import AUDITED_METHODS, AuditRecord, record_audit
from api.errors import (
    AuthenticationError,
    PermissionDeniedError,
    error_response,
    internal_error_response,
    status_of,
)
from api.security import Role, authenticate, require_role
from api.storage.database import Database

__all__ = ["OPEN_BODY_BYTES", "AuditTrail", "BodyGuard", "UnexpectedErrors", "bearer_token", "install_middleware"]

log = logging.getLogger(__name__)

#: Bodies up to this size are read before the route checks the token (JSON bodies are smaller).
OPEN_BODY_BYTES = 64 * 1024


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer`` header (latin-1, as HTTP headers are), if any."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text = value.decode("latin-1")
            return text[7:].strip() if text[:7].lower() == "bearer " else None
    return None


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value)
    return None


class UnexpectedErrors:
    """Answer an unmapped exception with a logged 500 carrying an error id (nothing else leaks)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as err:
            if started:
                raise
            await internal_error_response(scope.get("method", "?"), scope.get("path", "?"), err)(scope, receive, send)


class BodyGuard:
    """Refuse request bodies that are too large, too slow, or too large for an unknown sender."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, body_timeout_s: float, database: Database) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.database = database

    def _too_large(self) -> str:
        return f"request body too large: the limit is {self.max_body_bytes} bytes"

    def _check_sender(self, token: str | None) -> None:
        with self.database.session() as session:
            require_role(authenticate(session, token), Role.operator)
            session.commit()

    async def _refusal(self, scope: Scope) -> Any:
        """The response refusing this request before its body is read, or ``None``."""
        declared_text = _header(scope, b"content-length")
        declared = int(declared_text) if declared_text is not None and declared_text.isdigit() else None
        if declared is not None and declared > self.max_body_bytes:
            return error_response(413, self._too_large())
        if declared == 0 or (declared is None and _header(scope, b"transfer-encoding") is None):
            return None
        if declared is not None and declared <= OPEN_BODY_BYTES:
            return None
        try:
            await run_in_threadpool(self._check_sender, bearer_token(scope))
        except (AuthenticationError, PermissionDeniedError) as err:
            message = f"{err}: a request body over {OPEN_BODY_BYTES} bytes needs an operator token"
            return error_response(status_of(err), message)
        except SQLAlchemyError as err:
            return internal_error_response(scope.get("method", "?"), scope.get("path", "?"), err, status=status_of(err))
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = await self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        deadline = time.monotonic() + self.body_timeout_s
        received = 0
        body_done = False
        failure: tuple[int, str] | None = None
        too_slow = (408, f"request body too slow: it must arrive within {self.body_timeout_s:g} s")

        async def guarded_receive() -> Message:
            nonlocal received, failure, body_done
            if failure is not None:
                return {"type": "http.disconnect"}
            if body_done:  # after the body: only a disconnect can come, whenever it comes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(deadline - time.monotonic(), 0.001))
            except TimeoutError:  # a client that stopped sending
                failure = too_slow
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    failure = (413, self._too_large())
                elif not body_done and time.monotonic() > deadline:
                    failure = too_slow
                if failure is not None:
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if failure is None:
                await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if failure is None:
                raise  # the route's own failure (a body that stopped is answered below)
        if failure is not None:
            await error_response(*failure)(scope, receive, send)


class AuditTrail:
    """Record every write request in the audit trail before its answer completes (failures to record are logged)."""

    def __init__(self, app: ASGIApp, *, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in AUDITED_METHODS:
            await self.app(scope, receive, send)
            return
        status = 500
        created: list[bytes] = []
        recorded = False

        async def record() -> None:
            nonlocal recorded
            recorded = True
            row = AuditRecord.of(scope, status, b"".join(created))
            try:
                await run_in_threadpool(record_audit, self.database, row)
            except Exception:  # a database that cannot take the row must not hide the answer: logged
                log.exception("audit: cannot record %s %s (%d)", row.method, row.resource, row.status)

        async def watching_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                if status == 201 and sum(map(len, created)) < 1 << 20:
                    created.append(message.get("body", b""))
                if not message.get("more_body", False) and not recorded:
                    await record()  # before the answer ends: a client never sees a write the trail lacks
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            if not recorded:
                await record()


def install_middleware(app: Any, *, database: Database, max_body_bytes: int, body_timeout_s: float) -> None:
    """Add the three middlewares to ``app`` (Starlette runs the last added first)."""
    app.add_middleware(BodyGuard, max_body_bytes=max_body_bytes, body_timeout_s=body_timeout_s, database=database)
    app.add_middleware(AuditTrail, database=database)
    app.add_middleware(UnexpectedErrors)

