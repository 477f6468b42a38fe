"""``/trials/{id}/live``: the running trial decimated for display, by WebSocket (pushed) or GET (polled).

The WebSocket at ``/api/v1/trials/{id}/live`` takes the token in an ``Authorization: Bearer``
header or, from a browser (which cannot set headers on a WebSocket), as the subprotocol
pair ``["isokin.live", "bearer.<token>"]``; the server answers with ``isokin.live``. The
token never travels in the URL, so it cannot reach an access log. The socket sends a
:class:`~api.schemas.samples.LivePublic` message about ten times a second: the bins (50 per
second of device time: mean torque with its min and max, mean position and velocity) since
the previous message, the acquisition figures and the device state. It waits while the
trial is ``created``, and closes (code 1000) after the message that shows the trial's final
state. A missing or bad token closes it at once with code 4401, a role too low with 4403,
an unknown trial with 4404 (the reason says why), so a browser can tell them apart. The token
is checked again every second: revoking it, or its expiry, closes its open sockets with 4401.
At most ``ISOKIN_MAX_LIVE_SOCKETS`` sockets are open at once, ``ISOKIN_MAX_LIVE_SOCKETS_PER_TOKEN``
of one token; one more is closed at once with 1013 (try again later). The client sends nothing:
a message closes the socket with 1008. A client that takes no message for
:data:`SEND_TIMEOUT_S` (it stopped reading) is dropped. The
path and query parameters have the HTTP route's bounds (``IdPath``, ``since``); one out of
bounds, or an unknown query parameter (``?token=`` included), refuses the handshake: closed with 1008
before it is accepted, which a client sees as HTTP 403.
``GET`` on the same path returns the same message once, for clients that poll (pass the
returned ``cursor`` as ``since``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import anyio
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from api.acquisition.service import AcquisitionService
from api.deps import AcquisitionDep, DatabaseDep, IdPath, ViewerDep
from api.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from api.routes.common import AUTH_ERRORS, NOT_FOUND
from api.schemas.samples import LiveBinsPublic, LivePublic
from api.schemas.trials import AcquisitionFiguresPublic, TrialPublic, TrialState
from api.security import Role, authenticate, require_role
from api.storage.database import Database
from api.storage.models import Trial

__all__ = ["LiveSockets", "live_message", "router"]

router = APIRouter(tags=["live"], responses=AUTH_ERRORS)
log = logging.getLogger(__name__)

#: Seconds between two WebSocket messages.
SEND_INTERVAL_S = 0.1
#: A message is sent at least this often (seconds) even without new bins, so a display sees the state.
HEARTBEAT_S = 1.0
FINAL_STATES = ("complete", "interrupted", "failed")
#: An open socket's token is checked again this often (s): a revoked or expired token's socket closes with 4401.
TOKEN_CHECK_S = 1.0
#: A client that has not taken a message for this long (its buffers full: it stopped reading) is dropped, s.
SEND_TIMEOUT_S = 10.0


class LiveSockets:
    """The live sockets open, at most ``limit`` in all (``ISOKIN_MAX_LIVE_SOCKETS``) and ``per_token`` for one
    token (``ISOKIN_MAX_LIVE_SOCKETS_PER_TOKEN``), so one token cannot take every place; used on the event loop only.
    """

    def __init__(self, limit: int, per_token: int) -> None:
        self.limit = limit
        self.per_token = per_token
        self.open = 0
        self._by_token: dict[int, int] = {}

    def take(self, token_id: int) -> str | None:
        """Count one more socket of ``token_id``; else why not (the reason a 1013 close gives)."""
        if self.open >= self.limit:
            return f"{self.limit} live views are open (ISOKIN_MAX_LIVE_SOCKETS); try again later"
        if self._by_token.get(token_id, 0) >= self.per_token:
            return f"this token has {self.per_token} live views open (ISOKIN_MAX_LIVE_SOCKETS_PER_TOKEN)"
        self.open += 1
        self._by_token[token_id] = self._by_token.get(token_id, 0) + 1
        return None

    def give_back(self, token_id: int) -> None:
        self.open -= 1
        left = self._by_token.pop(token_id) - 1
        if left:
            self._by_token[token_id] = left


SinceQuery = Query(ge=0, le=2**62, description="cursor of a previous message: only newer bins are returned")


def live_message(service: AcquisitionService, database: Database, trial_id: int, since: int) -> LivePublic:
    """The live view of a trial: bins since ``since`` if it records (or just recorded) here, and its figures."""
    view, device_state = service.live_view(trial_id, since)
    if view is not None and view.running:
        progress = view.progress
        state: TrialState = "recording"
        acquisition = AcquisitionFiguresPublic(
            samples=progress.samples,
            gaps=progress.gaps,
            lost_samples=progress.lost_samples,
            crc_errors=progress.crc_errors,
            malformed=progress.malformed,
            reconnects=progress.reconnects,
            duration_s=progress.duration_s,
            effective_rate_hz=progress.effective_rate_hz,
            flushed_at=view.flushed_at,
        )
    else:
        with database.session() as session:
            trial = session.get(Trial, trial_id)
            if trial is None:
                raise NotFoundError("trial", trial_id)
            public = TrialPublic.of(trial)
        state, acquisition = public.state, public.acquisition
        if view is not None and (view.ended_at is None or view.ended_at != public.ended_at):
            view = None  # a later trial that reuses the id of the one recorded last
    if view is not None:
        cursor, columns = view.cursor, view.bins.to_lists()
    else:
        cursor, columns = since, {name: [] for name in LiveBinsPublic.model_fields}
    return LivePublic(
        trial_id=trial_id,
        state=state,
        cursor=cursor,
        bins=LiveBinsPublic(**columns),
        acquisition=acquisition,
        device_state=device_state,
        longest_flush_interval_s=view.longest_flush_interval_s if view is not None else None,
    )


@router.get(
    "/trials/{trial_id}/live",
    response_model=LivePublic,
    responses=NOT_FOUND,
    summary="The running trial decimated for display, once (the WebSocket at this path pushes it)",
)
def read_live(
    trial_id: IdPath,
    service: AcquisitionDep,
    database: DatabaseDep,
    _: ViewerDep,
    since: Annotated[int, SinceQuery] = 0,
) -> LivePublic:
    return live_message(service, database, trial_id, since)


#: The subprotocol the live socket speaks; a browser offers it with ``bearer.<token>`` beside it.
SUBPROTOCOL = "isokin.live"
_BEARER_PROTOCOL = "bearer."


def _socket_token(websocket: WebSocket) -> str | None:
    """The bearer token of a WebSocket handshake: the ``Authorization`` header, else the subprotocol pair."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    for protocol in websocket.scope.get("subprotocols", []):
        if protocol.startswith(_BEARER_PROTOCOL):
            return str(protocol[len(_BEARER_PROTOCOL) :])
    return None


def _check_token(database: Database, token: str | None) -> int:
    """The id of ``token`` if it is a valid viewer's (or better)."""
    with database.session() as session:
        row = authenticate(session, token)
        require_role(row, Role.viewer)
        session.commit()
        return row.id


async def _refuse(websocket: WebSocket, err: AuthenticationError | PermissionDeniedError) -> None:
    """Close an accepted socket whose token is bad (4401) or whose role is too low (4403), saying why."""
    await websocket.close(code=4401 if isinstance(err, AuthenticationError) else 4403, reason=str(err)[:120])


@router.websocket("/trials/{trial_id}/live")
async def live_socket(websocket: WebSocket, trial_id: IdPath, since: Annotated[int, SinceQuery] = 0) -> None:
    """Push the live view of a trial until it ends (see the module docstring for the protocol)."""
    app = websocket.app
    service: AcquisitionService = app.state.acquisition
    database: Database = app.state.database
    offered = websocket.scope.get("subprotocols", [])
    subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
    try:
        token_id = await run_in_threadpool(_check_token, database, _socket_token(websocket))
    except (AuthenticationError, PermissionDeniedError) as err:
        await websocket.accept(subprotocol=subprotocol)
        await _refuse(websocket, err)
        return
    await websocket.accept(subprotocol=subprotocol)
    sockets: LiveSockets = app.state.live_sockets
    refused = sockets.take(token_id)
    if refused is not None:
        await websocket.close(code=1013, reason=refused)
        return
    try:
        # one task sends, one reads; whichever ends first cancels the other (anyio's cancellation waits for a
        # worker thread's call to return, so no database session outlives the socket)
        async with anyio.create_task_group() as tasks:

            async def push() -> None:
                try:
                    await _push(websocket, service, database, trial_id, max(0, since))
                except WebSocketDisconnect:
                    pass
                tasks.cancel_scope.cancel()

            async def listen() -> None:
                await _listen(websocket)
                tasks.cancel_scope.cancel()

            tasks.start_soon(push)
            tasks.start_soon(listen)
    finally:
        sockets.give_back(token_id)  # at once when the client leaves, not at the next message


async def _listen(websocket: WebSocket) -> None:
    """Return once the client has closed its end. The client sends nothing on this socket: a message closes it
    with 1008 (unread messages would be a way to make the server inflate and decode megabytes for nothing)."""
    message = await websocket.receive()
    if message["type"] != "websocket.disconnect":
        await websocket.close(code=1008, reason="this socket takes no messages")


async def _push(websocket: WebSocket, service: AcquisitionService, database: Database, trial_id: int, cursor: int) -> None:
    """Send the trial's live view every :data:`SEND_INTERVAL_S` until it ends, checking the token every
    :data:`TOKEN_CHECK_S`; a client that takes no message for :data:`SEND_TIMEOUT_S` is dropped."""
    last_state, last_sent = "", 0.0
    loop = asyncio.get_running_loop()
    checked = loop.time()
    while True:
        if loop.time() - checked >= TOKEN_CHECK_S:
            try:
                await run_in_threadpool(_check_token, database, _socket_token(websocket))
            except (AuthenticationError, PermissionDeniedError) as err:
                await _refuse(websocket, err)
                return
            except Exception as err:  # the database down for a moment: the view goes on, checked at the next turn
                log.warning("live view of trial %s: its token could not be checked (%s)", trial_id, err)
            else:
                checked = loop.time()
        try:
            message = await run_in_threadpool(live_message, service, database, trial_id, cursor)
        except NotFoundError as err:
            await websocket.close(code=4404, reason=str(err))
            return
        now = loop.time()
        if message.bins.time_s or message.state != last_state or now - last_sent >= HEARTBEAT_S:
            try:
                with anyio.fail_after(SEND_TIMEOUT_S):
                    await websocket.send_json(message.model_dump(mode="json"))
            except TimeoutError:
                log.info("live view of trial %s: the client took no message for %g s; dropped", trial_id, SEND_TIMEOUT_S)
                return
            last_sent, last_state = now, message.state
        cursor = message.cursor
        if message.state in FINAL_STATES:
            await websocket.close(code=1000)
            return
        await asyncio.sleep(SEND_INTERVAL_S)
