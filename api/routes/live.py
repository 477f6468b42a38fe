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
At most ``ISOKIN_MAX_LIVE_SOCKETS`` sockets are open at once; one more is closed at once with
1013 (try again later). The
path and query parameters have the HTTP route's bounds (``IdPath``, ``since``); one out of
bounds, or an unknown query parameter (``?token=`` included), refuses the handshake: closed with 1008
before it is accepted, which a client sees as HTTP 403.
``GET`` on the same path returns the same message once, for clients that poll (pass the
returned ``cursor`` as ``since``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

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

#: Seconds between two WebSocket messages.
SEND_INTERVAL_S = 0.1
#: A message is sent at least this often (seconds) even without new bins, so a display sees the state.
HEARTBEAT_S = 1.0
FINAL_STATES = ("complete", "interrupted", "failed")
#: An open socket's token is checked again this often (s): a revoked or expired token's socket closes with 4401.
TOKEN_CHECK_S = 1.0


class LiveSockets:
    """How many live sockets are open, at most ``limit`` (``ISOKIN_MAX_LIVE_SOCKETS``); used on the event loop only."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> bool:
        """Count one more socket, unless ``limit`` are open (then ``False``)."""
        if self.open >= self.limit:
            return False
        self.open += 1
        return True

    def give_back(self) -> None:
        self.open -= 1

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


def _check_token(database: Database, token: str | None) -> None:
    with database.session() as session:
        require_role(authenticate(session, token), Role.viewer)
        session.commit()


@router.websocket("/trials/{trial_id}/live")
async def live_socket(websocket: WebSocket, trial_id: IdPath, since: Annotated[int, SinceQuery] = 0) -> None:
    """Push the live view of a trial until it ends (see the module docstring for the protocol)."""
    app = websocket.app
    service: AcquisitionService = app.state.acquisition
    database: Database = app.state.database
    offered = websocket.scope.get("subprotocols", [])
    subprotocol = SUBPROTOCOL if SUBPROTOCOL in offered else None
    try:
        await run_in_threadpool(_check_token, database, _socket_token(websocket))
    except (AuthenticationError, PermissionDeniedError) as err:
        await websocket.accept(subprotocol=subprotocol)
        await websocket.close(code=4401 if isinstance(err, AuthenticationError) else 4403, reason=str(err)[:120])
        return
    await websocket.accept(subprotocol=subprotocol)
    sockets: LiveSockets = app.state.live_sockets
    if not sockets.take():
        await websocket.close(code=1013, reason=f"{sockets.limit} live views are open (ISOKIN_MAX_LIVE_SOCKETS); try again later")
        return
    push = asyncio.ensure_future(_push(websocket, service, database, trial_id, max(0, since)))
    gone = asyncio.ensure_future(_client_gone(websocket))
    try:
        await asyncio.wait({push, gone}, return_when=asyncio.FIRST_COMPLETED)
        if push.done():
            push.result()  # its error, if it failed
    except WebSocketDisconnect:
        return
    finally:
        push.cancel()
        gone.cancel()
        sockets.give_back()  # at once when the client leaves, not at the next message


async def _client_gone(websocket: WebSocket) -> None:
    """Return once the client has closed its end (what else it sends is not read)."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass


async def _push(websocket: WebSocket, service: AcquisitionService, database: Database, trial_id: int, cursor: int) -> None:
    """Send the trial's live view every :data:`SEND_INTERVAL_S` until it ends, checking the token every
    :data:`TOKEN_CHECK_S`."""
    last_state, last_sent = "", 0.0
    loop = asyncio.get_running_loop()
    checked = loop.time()
    while True:
        if loop.time() - checked >= TOKEN_CHECK_S:
            try:
                await run_in_threadpool(_check_token, database, _socket_token(websocket))
            except (AuthenticationError, PermissionDeniedError) as err:
                await websocket.close(code=4401 if isinstance(err, AuthenticationError) else 4403, reason=str(err)[:120])
                return
            checked = loop.time()
        try:
            message = await run_in_threadpool(live_message, service, database, trial_id, cursor)
        except NotFoundError as err:
            await websocket.close(code=4404, reason=str(err))
            return
        now = loop.time()
        if message.bins.time_s or message.state != last_state or now - last_sent >= HEARTBEAT_S:
            await websocket.send_json(message.model_dump(mode="json"))
            last_sent, last_state = now, message.state
        cursor = message.cursor
        if message.state in FINAL_STATES:
            await websocket.close(code=1000)
            return
        await asyncio.sleep(SEND_INTERVAL_S)
