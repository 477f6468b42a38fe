"""End to end on a busy machine: a REAL ``isokin serve`` records both knees exactly, live over a real WebSocket.

Two processes spin on the CPU for the whole test (a 2-core machine: both cores busy). The
server records a 5-repetition knee set on each side at 1 kHz from its in-process simulator;
a real WebSocket client (the ``websockets`` library, as a browser would: subprotocol auth)
follows each trial live. Then: nothing lost, no gap warning, every repetition analysed,
``device_time_us`` in the samples CSV. Separately, the same set recorded by ``isokin record``
and by the service gives the same samples and the same analysis.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import websockets

from daq.recording import read_recording

TRIAL = {"joint": "knee", "mode": "con/con", "velocity_dps": 60, "repetitions": 5}
LIMB = {"gravity_torque_nm": 24.0, "horizontal_angle_deg": 0.0}


@pytest.fixture()
def busy_machine() -> Iterator[None]:
    """Two processes spinning on the CPU while the test runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
    finally:
        for proc in spinners:
            proc.kill()
            proc.wait()


async def _follow(ws_url: str, token: str, messages: list[dict]) -> int | None:
    """Receive the live view until the server closes it; the close code."""
    async with websockets.connect(ws_url, subprotocols=["isokin.live", f"bearer.{token}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "isokin.live"
        try:
            async for text in ws:
                messages.append(json.loads(text))
        except websockets.ConnectionClosed:
            pass
        return ws.close_code


def _record_side(http: httpx.Client, base: str, token: str, session_id: int, side: str) -> tuple[dict, list[dict]]:
    trial = http.post(f"/sessions/{session_id}/trials", json=TRIAL | {"side": side}).json()
    assert http.post(f"/trials/{trial['id']}/weigh", json=LIMB).status_code == 200
    messages: list[dict] = []
    ws_url = base.replace("http://", "ws://") + f"/api/v1/trials/{trial['id']}/live"

    async def run() -> int | None:
        follower = asyncio.create_task(_follow(ws_url, token, messages))
        await asyncio.sleep(0.3)  # the socket is open and waiting while the trial is created
        started = await asyncio.to_thread(http.post, f"/trials/{trial['id']}/start")
        assert started.status_code == 200, started.text
        return await asyncio.wait_for(follower, timeout=120)

    close_code = asyncio.run(run())
    assert close_code == 1000
    return http.get(f"/trials/{trial['id']}").json(), messages


def test_both_knees_recorded_exactly_and_live_on_a_busy_machine(isokin_server, busy_machine: None) -> None:  # type: ignore[no-untyped-def]
    token = isokin_server.create_token("operator", "e2e acquisition")
    base = isokin_server.start("--device", "sim://?speed=4&seed=9", wait_for_device=True)
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        subject = http.post("/subjects", json={"code": "E2E-1", "body_mass_kg": 75, "involved_side": "left"}).json()
        session = http.post("/sessions", json={"subject_id": subject["id"]}).json()
        for side in ("left", "right"):
            trial, messages = _record_side(http, base, token, session["id"], side)
            figures = trial["acquisition"]
            assert trial["state"] == "complete" and trial["end_reason"] == "set complete", trial
            assert (figures["gaps"], figures["lost_samples"], figures["malformed"]) == (0, 0, 0), figures
            assert figures["effective_rate_hz"] == pytest.approx(1000.0, abs=0.01)

            live = [m for m in messages if m["state"] == "recording"]
            bins = sum(len(m["bins"]["time_s"]) for m in messages)
            assert len(live) > 10 and bins == figures["samples"] // 20  # every 20 ms bin of the set, once
            assert messages[-1]["state"] == "complete"

            analysis = http.get(f"/trials/{trial['id']}/analysis").json()
            recording = analysis["recordings"][0]
            assert recording["gaps"] == [] and not [f for f in analysis["flags"] if f["rule"] == "recording_gap"]
            assert sorted(s["repetitions"] for s in recording["sets"]) == [5, 5], recording["sets"]

            csv = http.get(f"/trials/{trial['id']}/samples", params={"format": "csv"})
            stored = read_recording(io.StringIO(csv.text))
            device_us = stored.extra["device_time_us"]
            assert len(stored) == figures["samples"] and np.all(np.diff(device_us) == 1000)
            assert np.array_equal(np.diff(stored.extra["sequence"]), np.ones(len(stored) - 1))
        report = http.get(f"/sessions/{session['id']}/report").json()
        assert {b["direction"] for b in report["bilateral"]} == {"flexion", "extension"}


def test_isokin_record_and_the_service_store_the_same_set(isokin_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Same simulated subject, seed and set: the two files differ only in metadata, the analyses not at all."""
    device = "sim://?speed=20&seed=4"
    out = tmp_path / "cli.csv"
    done = subprocess.run(
        [isokin_server.command(), "record", f"{device}&joint=knee&side=left", "--seconds", "60", "--out", str(out),
         "--joint", "knee", "--side", "left", "--mode", "con/con", "--velocity-dps", "60", "--repetitions", "5",
         "--body-mass-kg", "75", "--gravity-torque-nm", "24", "--horizontal-angle-deg", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cli = read_recording(out)

    token = isokin_server.create_token("operator")
    base = isokin_server.start("--device", device, wait_for_device=True)
    with httpx.Client(base_url=f"{base}/api/v1", timeout=60, headers={"Authorization": f"Bearer {token}"}) as http:
        subject = http.post("/subjects", json={"code": "SAME-1", "body_mass_kg": 75}).json()
        session = http.post("/sessions", json={"subject_id": subject["id"]}).json()
        trial = http.post(f"/sessions/{session['id']}/trials", json=TRIAL | {"side": "left"}).json()
        assert http.post(f"/trials/{trial['id']}/weigh", json=LIMB).status_code == 200
        assert http.post(f"/trials/{trial['id']}/start").status_code == 200
        deadline = time.monotonic() + 60
        while http.get(f"/trials/{trial['id']}").json()["state"] == "recording":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        served = read_recording(io.StringIO(http.get(f"/trials/{trial['id']}/samples", params={"format": "csv"}).text))
        service_analysis = http.get(f"/trials/{trial['id']}/analysis").json()

    for column in ("time_s", "torque_nm", "position_deg", "velocity_dps"):
        np.testing.assert_array_equal(getattr(served, column), getattr(cli, column), err_msg=column)
    for column in ("status", "sequence"):
        np.testing.assert_array_equal(served.extra[column], cli.extra[column], err_msg=column)
    served_us, cli_us = served.extra["device_time_us"], cli.extra["device_time_us"]
    np.testing.assert_array_equal(served_us - served_us[0], cli_us - cli_us[0])
    assert [n for n in served.notes if not n.startswith("clock:")] == [n for n in cli.notes if not n.startswith("clock:")]
    assert set(cli.metadata) <= set(served.metadata), set(cli.metadata) - set(served.metadata)
    assert [k for k in served.metadata if k in cli.metadata] == list(cli.metadata)  # in the same order

    analyzed = subprocess.run([isokin_server.command(), "analyze", "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert analyzed.returncode == 0, analyzed.stderr
    cli_sets = json.loads(analyzed.stdout)["recordings"][0]["sets"]
    # The service analyses its stored float64 samples, the CLI the CSV's six decimals: equal to that precision.
    _assert_close(service_analysis["recordings"][0]["sets"], cli_sets)


def _assert_close(served: object, cli: object, path: str = "sets") -> None:
    """Equal structures; numbers within the CSV's precision (1e-6 on the samples: 1e-5 on derived figures)."""
    if isinstance(cli, float) and isinstance(served, float):
        assert served == pytest.approx(cli, rel=1e-7, abs=1e-5), path
    elif isinstance(cli, list) and isinstance(served, list):
        assert len(served) == len(cli), path
        for k, (a, b) in enumerate(zip(served, cli)):
            _assert_close(a, b, f"{path}[{k}]")
    elif isinstance(cli, dict) and isinstance(served, dict):
        assert served.keys() == cli.keys(), path
        for key in cli:
            _assert_close(served[key], cli[key], f"{path}.{key}")
    else:
        assert served == cli, path
