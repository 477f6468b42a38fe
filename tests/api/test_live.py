"""Live view: the WebSocket pushes a running trial decimated to 50 bins per second; GET polls the same; token auth."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.acquisition.live import LiveBuffer, decimate, samples_per_bin


@pytest.fixture()
def op(headers: dict) -> dict[str, str]:
    return headers["operator"]


@pytest.fixture()
def trial_id(client: TestClient, op: dict) -> int:
    subject = client.post("/api/v1/subjects", json={"code": "L-1"}, headers=op).json()
    session = client.post("/api/v1/sessions", json={"subject_id": subject["id"]}, headers=op).json()
    assert client.post("/api/v1/device/connect", json={"url": "sim://?speed=20&seed=3"}, headers=op).status_code == 200
    body = {"joint": "knee", "side": "right", "repetitions": 3}
    return int(client.post(f"/api/v1/sessions/{session['id']}/trials", json=body, headers=op).json()["id"])


def _token(headers: dict, role: str) -> str:
    return str(headers[role]["Authorization"].removeprefix("Bearer "))


def test_websocket_streams_decimated_samples_until_the_trial_ends(
    client: TestClient, headers: dict, op: dict, trial_id: int
) -> None:
    messages = []
    protocols = ["isokin.live", f"bearer.{_token(headers, 'viewer')}"]  # as a browser authenticates
    with client.websocket_connect(f"/api/v1/trials/{trial_id}/live", subprotocols=protocols) as ws:
        assert ws.accepted_subprotocol == "isokin.live"
        messages.append(ws.receive_json())
        assert messages[0]["state"] == "created" and messages[0]["bins"]["time_s"] == []
        assert client.post(f"/api/v1/trials/{trial_id}/start", headers=op).status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                messages.append(ws.receive_json())
    assert closed.value.code == 1000
    assert messages[-1]["state"] == "complete" and "recording" in {m["state"] for m in messages}
    recording = [m for m in messages if m["state"] == "recording"]
    assert recording[-1]["longest_flush_interval_s"] > 0 and recording[-1]["device_state"] == "connected"
    bins = {name: sum((m["bins"][name] for m in messages), []) for name in messages[0]["bins"]}
    samples = client.get(f"/api/v1/trials/{trial_id}/samples", params={"limit": 100_000}, headers=op).json()
    assert len(bins["time_s"]) == samples["count"] // 20  # 1 kHz into 50 Hz bins, none twice, none missing
    assert np.diff(bins["time_s"]) == pytest.approx(0.02, abs=1e-4)
    assert all(lo <= mean <= hi for lo, mean, hi in zip(bins["torque_min_nm"], bins["torque_nm"], bins["torque_max_nm"]))
    assert bins["torque_nm"][5] == pytest.approx(np.mean(samples["torque_nm"][100:120]), abs=1e-3)
    assert bins["torque_max_nm"][5] == pytest.approx(max(samples["torque_nm"][100:120]), abs=1e-3)
    assert messages[-1]["acquisition"]["samples"] == samples["count"]

    polled = client.get(f"/api/v1/trials/{trial_id}/live", headers=headers["viewer"]).json()
    assert polled["state"] == "complete" and len(polled["bins"]["time_s"]) == len(bins["time_s"])
    later = client.get(f"/api/v1/trials/{trial_id}/live", params={"since": polled["cursor"]}, headers=headers["viewer"])
    assert later.json()["bins"]["time_s"] == []


def test_websocket_needs_a_token_and_a_trial(client: TestClient, headers: dict, trial_id: int) -> None:
    url = f"/api/v1/trials/{trial_id}/live"
    for protocols in ([], ["isokin.live", "bearer.isk_1_wrong"]):
        with client.websocket_connect(url, subprotocols=protocols) as ws:
            with pytest.raises(WebSocketDisconnect) as refused:
                ws.receive_json()
        assert refused.value.code == 4401
    with client.websocket_connect(url, headers=headers["viewer"]) as ws:
        assert ws.receive_json()["state"] == "created"  # the header works too
    with client.websocket_connect("/api/v1/trials/999999/live", headers=headers["viewer"]) as ws:
        with pytest.raises(WebSocketDisconnect) as missing:
            ws.receive_json()
    assert missing.value.code == 4404
    assert client.get("/api/v1/trials/999999/live", headers=headers["viewer"]).status_code == 404


def test_decimation_keeps_the_envelope_and_the_buffer_reads_by_cursor() -> None:
    assert samples_per_bin(1000) == 20 and samples_per_bin(100) == 2 and samples_per_bin(20) == 1
    t = np.arange(45) / 1000
    torque = np.sin(np.arange(45.0))
    bins = decimate(t, torque, t * 10, t * 100, per_bin=20)
    assert len(bins) == 2 and bins.time_s.tolist() == [0.0, 0.02]
    assert bins.torque_max_nm[1] == torque[20:40].max() and bins.torque_min_nm[0] == torque[:20].min()
    assert bins.position_deg[1] == pytest.approx(np.mean(t[20:40] * 10))

    buffer = LiveBuffer(per_bin=20, kept=3)
    for start in range(0, 100, 7):  # blocks that do not line up with bins
        chunk = slice(start, min(start + 7, 100))
        x = np.arange(100.0)[chunk]
        buffer.add(x / 1000, x, x, x)
    assert buffer.total == 5
    newest, cursor = buffer.since(0)  # only the 3 kept bins are left
    assert cursor == 5 and newest.torque_nm.tolist() == [49.5, 69.5, 89.5]
    assert len(buffer.since(4)[0]) == 1 and len(buffer.since(5)[0]) == 0


def test_a_client_that_stops_reading_is_dropped_after_the_send_timeout(
    client: TestClient, trial_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its buffers full, a send would wait for ever and keep its place (and its revoked token's view) open."""
    import anyio

    from api.routes import live

    class Stuck:
        """A socket whose client reads nothing: every send waits."""

        sends = 0

        async def send_json(self, data: object) -> None:
            self.sends += 1
            await anyio.sleep_forever()

        async def close(self, code: int = 1000, reason: str = "") -> None:
            raise AssertionError("a stuck client is dropped, not sent a close")

    monkeypatch.setattr(live, "SEND_TIMEOUT_S", 0.2)
    app = client.app
    socket = Stuck()

    async def push() -> None:
        with anyio.fail_after(30):  # the test's own guard: _push returns long before
            await live._push(socket, app.state.acquisition, app.state.database, trial_id, 0)  # type: ignore[arg-type]

    anyio.run(push)
    assert socket.sends == 1
