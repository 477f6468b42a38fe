"""Several stations on one database: each holds its id, none disturbs another, a crashed one is closed by an admin.

Real ``isokin serve`` subprocesses share the test's database (SQLite file or PostgreSQL schema).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy import text

from api.acquisition.service import STATION_CHECK_S
from api.stations import StationLock, _halves, _pg_key
from api.storage.database import Database

if TYPE_CHECKING:
    from tests.api.conftest import IsokinServer

    MakeServer = Callable[[str], IsokinServer]


def _station(make: MakeServer, station_id: str, device: str = "sim://?speed=10&seed=5") -> IsokinServer:
    server = make(station_id)
    server.env["ISOKIN_DEVICE"] = device
    return server


def _api(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/api/v1", timeout=20, headers={"Authorization": f"Bearer {token}"})


def _serve(server: IsokinServer, port: int) -> subprocess.CompletedProcess[str]:
    """``isokin serve`` expected to refuse: it must exit by itself."""
    return subprocess.run(
        [server.command(), "serve", "--port", str(port), "--log-level", "warning"],
        env=server.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _wait_final(http: httpx.Client, trial_id: int, timeout_s: float = 60) -> dict:
    deadline = time.monotonic() + timeout_s
    while (trial := http.get(f"/trials/{trial_id}").json())["state"] in ("created", "recording"):
        assert time.monotonic() < deadline, trial
        time.sleep(0.1)
    return trial


def test_two_stations_record_at_once_and_a_taken_id_or_port_is_refused(isokin_servers: MakeServer) -> None:
    a = _station(isokin_servers, "station-a")
    b = _station(isokin_servers, "station-b", "sim://?speed=10&seed=6")
    token = a.create_token("admin")
    base_a, base_b = a.start(wait_for_device=True), b.start(wait_for_device=True)
    port_a = int(base_a.rsplit(":", 1)[1])
    with _api(base_a, token) as http_a, _api(base_b, token) as http_b:
        subject = http_a.post("/subjects", json={"code": "ST-1", "body_mass_kg": 70}).json()
        session = http_a.post("/sessions", json={"subject_id": subject["id"]}).json()
        body = {"joint": "knee", "repetitions": 4}
        left = http_a.post(f"/sessions/{session['id']}/trials", json=body | {"side": "left"}).json()
        right = http_b.post(f"/sessions/{session['id']}/trials", json=body | {"side": "right"}).json()
        assert http_a.post(f"/trials/{left['id']}/start").status_code == 200
        assert http_b.post(f"/trials/{right['id']}/start").status_code == 200

        # From the other station, a running trial is neither stopped nor deleted.
        for response in (http_a.post(f"/trials/{right['id']}/stop"), http_a.delete(f"/trials/{right['id']}")):
            assert response.status_code == 409 and "station station-b" in response.json()["detail"], response.text

        # A server with a taken id stops before anything else, even on a taken port; so does one on a taken port.
        third = _station(isokin_servers, "station-a-again")
        third.env["ISOKIN_STATION_ID"] = "station-a"
        refused = _serve(third, port_a)
        assert refused.returncode == 1, refused.stderr
        assert "station 'station-a' is already running on this database: isokin serve on host" in refused.stderr
        assert a.proc is not None and f"pid {a.proc.pid}" in refused.stderr
        busy = _serve(_station(isokin_servers, "station-d"), port_a)
        assert busy.returncode == 1 and f"cannot listen on 127.0.0.1:{port_a}" in busy.stderr, busy.stderr

        stations = {s["station_id"]: s for s in http_b.get("/stations").json()["data"]}
        assert stations["station-a"]["running"] and stations["station-b"]["running"]
        assert not stations["station-d"]["running"]

        done_left, done_right = _wait_final(http_a, left["id"]), _wait_final(http_b, right["id"])
    for trial, station in ((done_left, "station-a"), (done_right, "station-b")):
        assert trial["state"] == "complete" and trial["end_reason"] == "set complete", trial
        assert trial["station_id"] == station
        assert trial["acquisition"]["gaps"] == 0 and trial["acquisition"]["lost_samples"] == 0


def test_an_admin_closes_the_trials_of_a_crashed_station_once_its_lock_is_gone(isokin_servers: MakeServer) -> None:
    crashed = _station(isokin_servers, "crashing", "sim://?speed=1&seed=7")
    other = _station(isokin_servers, "survivor")
    admin, operator = crashed.create_token("admin", "lab admin"), crashed.create_token("operator")
    base, base_other = crashed.start(wait_for_device=True), other.start()
    with _api(base, admin) as http:
        subject = http.post("/subjects", json={"code": "ST-2"}).json()
        session = http.post("/sessions", json={"subject_id": subject["id"]}).json()
        body = {"joint": "knee", "side": "left", "repetitions": 20}
        trial = http.post(f"/sessions/{session['id']}/trials", json=body).json()
        assert http.post(f"/trials/{trial['id']}/start").status_code == 200
        time.sleep(0.5)
    with _api(base_other, admin) as http:
        alive = http.post("/stations/crashing/recover")
        assert alive.status_code == 409 and "is running" in alive.json()["detail"]
        crashed.kill(everything=True)  # the station crashed: its server and its acquisition process
        listed = {s["station_id"]: s for s in http.get("/stations").json()["data"]}
        assert listed["crashing"]["running"] is False and listed["crashing"]["trials_recording"] == 1
        with _api(base_other, operator) as weak:
            assert weak.post("/stations/crashing/recover").status_code == 403
        closed = http.post("/stations/crashing/recover")
        assert closed.status_code == 200 and closed.json()["interrupted"] == [trial["id"]], closed.text
        stored = http.get(f"/trials/{trial['id']}").json()
        assert stored["state"] == "interrupted" and stored["acquisition"]["samples"] > 0
        assert "closed from station survivor by token" in stored["interrupted_reason"]
        assert "(lab admin)" in stored["interrupted_reason"]
        assert http.post("/stations/survivor/recover").status_code == 409  # itself: it closes its own at start


def _children(pid: int) -> list[int]:
    """The acquisition processes of a server (its spawned children, from any of its threads; not
    multiprocessing's resource tracker)."""
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def test_the_acquisition_process_dying_interrupts_its_trial_and_a_new_one_takes_over(isokin_servers: MakeServer) -> None:
    server = _station(isokin_servers, "acq-crash", "sim://?speed=5&seed=8")
    token = server.create_token("operator")
    base = server.start(wait_for_device=True)
    assert server.proc is not None
    with _api(base, token) as http:
        subject = http.post("/subjects", json={"code": "ST-3"}).json()
        session = http.post("/sessions", json={"subject_id": subject["id"]}).json()
        trial = http.post(f"/sessions/{session['id']}/trials", json={"joint": "knee", "side": "left", "repetitions": 10}).json()
        assert http.post(f"/trials/{trial['id']}/start").status_code == 200
        time.sleep(0.5)
        (child,) = _children(server.proc.pid)  # the acquisition process
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (state := http.get(f"/trials/{trial['id']}").json())["state"] == "recording":
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state["state"] == "interrupted" and "the acquisition process of station acq-crash stopped" in state["interrupted_reason"]
        assert state["acquisition"]["samples"] > 0  # what it stored stays
        # The next request starts a new acquisition process, which connects the device it had again.
        deadline = time.monotonic() + 30
        while (device := http.get("/device").json())["state"] != "connected":
            assert time.monotonic() < deadline, device
            time.sleep(0.1)
        assert device["requested_url"] == "sim://?speed=5&seed=8"
        assert _children(server.proc.pid) not in ([], [child])
        again = http.post(f"/sessions/{session['id']}/trials", json={"joint": "knee", "side": "left", "repetitions": 1}).json()
        assert http.post(f"/trials/{again['id']}/start").status_code == 200
        assert _wait_final(http, again["id"])["state"] == "complete"


def _lock_backend(database_url: str, station_id: str) -> int:
    """The PostgreSQL backend holding a station's advisory lock."""
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            halves = _halves(_pg_key(connection, station_id))
            pid = connection.execute(
                text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                     "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid)"), halves,
            ).scalar()  # fmt: skip
            assert pid is not None
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            return int(pid)
    finally:
        database.close()


def test_a_station_whose_lock_connection_drops_takes_it_again_or_stops_recording(
    isokin_servers: MakeServer, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        return  # a file lock (SQLite) lives as long as the server's process
    first = _station(isokin_servers, "lab-pg", "sim://?speed=2&seed=9")
    token = first.create_token("admin")
    base = first.start(wait_for_device=True)
    with _api(base, token) as http:
        subject = http.post("/subjects", json={"code": "ST-4"}).json()
        session = http.post("/sessions", json={"subject_id": subject["id"]}).json()
        trial = http.post(f"/sessions/{session['id']}/trials", json={"joint": "knee", "side": "left", "repetitions": 30}).json()
        assert http.post(f"/trials/{trial['id']}/start").status_code == 200

        # A PostgreSQL restart or an idle-session timeout ends the lock's session: the server takes it again.
        _lock_backend(database_url, "lab-pg")
        time.sleep(3 * STATION_CHECK_S)
        intruder = _station(isokin_servers, "lab-pg-2")
        intruder.env["ISOKIN_STATION_ID"] = "lab-pg"
        refused = _serve(intruder, 0)
        assert refused.returncode == 1 and "is already running on this database" in refused.stderr, refused.stderr
        assert http.get(f"/trials/{trial['id']}").json()["state"] == "recording"

        # Lost for good (something else took it before the server could): it stops recording and says why.
        _lock_backend(database_url, "lab-pg")
        database = Database(database_url)
        taker = StationLock(database, "lab-pg")
        try:
            deadline = time.monotonic() + 5
            while not taker.try_hold():  # at once, well before the server's next check
                assert time.monotonic() < deadline
            deadline = time.monotonic() + 30
            while (state := http.get(f"/trials/{trial['id']}").json())["state"] == "recording":
                assert time.monotonic() < deadline, state
                time.sleep(0.1)
            assert state["state"] == "interrupted" and "lost station lab-pg" in state["interrupted_reason"], state
            again = http.post(f"/sessions/{session['id']}/trials", json={"joint": "knee", "side": "left"}).json()
            refused_start = http.post(f"/trials/{again['id']}/start")
            assert refused_start.status_code == 409 and "does not hold station 'lab-pg'" in refused_start.json()["detail"]
        finally:
            taker.release()
            database.close()
