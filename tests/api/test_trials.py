"""Trials on the in-process simulator (sim:// at 20x real time), on SQLite and PostgreSQL: create, start, end, stop, 409/503."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from simulators.urlhandler.protocol_sim import find_session

FAST_SIM = "sim://?speed=20&seed=1"
MINIMAL = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 3}


@pytest.fixture()
def op(headers: dict) -> dict[str, str]:
    return headers["operator"]


@pytest.fixture()
def session_id(client: TestClient, op: dict) -> int:
    subject = client.post("/api/v1/subjects", json={"code": "S-01", "sex": "male", "birth_year": 1990, "body_mass_kg": 75}, headers=op)
    return int(client.post("/api/v1/sessions", json={"subject_id": subject.json()["id"]}, headers=op).json()["id"])


@pytest.fixture()
def fast_device(client: TestClient, op: dict) -> Iterator[None]:
    r = client.post("/api/v1/device/connect", json={"url": FAST_SIM}, headers=op)
    assert r.status_code == 200 and r.json()["state"] == "connected", r.text
    yield


def create(client: TestClient, op: dict, session_id: int, **body: object) -> dict:
    r = client.post(f"/api/v1/sessions/{session_id}/trials", json=MINIMAL | body, headers=op)
    assert r.status_code == 201, r.text
    return r.json()


def wait_until_done(client: TestClient, op: dict, trial_id: int, timeout_s: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        trial = client.get(f"/api/v1/trials/{trial_id}", headers=op).json()
        if trial["state"] not in ("created", "recording"):
            return trial
        time.sleep(0.05)
    pytest.fail(f"trial {trial_id} still {trial['state']} after {timeout_s} s")


def test_minimal_body_gets_the_joints_defaults(client: TestClient, op: dict, session_id: int) -> None:
    trial = create(client, op, session_id)
    assert trial["state"] == "created" and trial["pattern"] == "flexion/extension"
    assert (trial["velocity_plus_dps"], trial["velocity_minus_dps"], trial["repetitions"]) == (60, 60, 3)
    assert (trial["rom_min_deg"], trial["rom_max_deg"], trial["sample_rate_hz"]) == (0, 90, 1000)
    assert trial["group"] is None and trial["acquisition"]["samples"] == 0
    ankle = create(client, op, session_id, joint="ankle", mode="con/ecc", velocity_plus_dps=30, velocity_dps=120)
    assert ankle["pattern"] == "plantarflexion/dorsiflexion" and ankle["group"] == "plantarflexion"
    assert (ankle["velocity_plus_dps"], ankle["velocity_minus_dps"], ankle["rom_min_deg"]) == (30, 120, -20)
    listed = client.get(f"/api/v1/sessions/{session_id}/trials", headers=op).json()
    assert listed["count"] == 2 and [t["id"] for t in listed["data"]] == [trial["id"], ankle["id"]]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"mode": "con/ecc", "group": "abduction"}, "group"),
        ({"group": "flexion"}, "group"),
        ({"joint": "knee", "pattern": "inversion/eversion"}, "pattern"),
        ({"rom_min_deg": 50, "rom_max_deg": 10}, "rom_min_deg"),
        ({"rom_min_deg": 95}, "rom_min_deg"),
        ({"repetitions": 0}, "repetitions"),
    ],
)
def test_bad_trials_are_422_naming_the_field(
    client: TestClient, op: dict, session_id: int, body: dict, needle: str
) -> None:
    r = client.post(f"/api/v1/sessions/{session_id}/trials", json=MINIMAL | body, headers=op)
    assert r.status_code == 422 and needle in r.text, r.text
    assert client.post("/api/v1/sessions/999999/trials", json=MINIMAL, headers=op).status_code == 404


def test_lifecycle_ends_by_itself_on_the_simulated_side(
    client: TestClient, op: dict, session_id: int, fast_device: None
) -> None:
    left = create(client, op, session_id)
    started = client.post(f"/api/v1/trials/{left['id']}/start", headers=op)
    assert started.status_code == 200 and started.json()["state"] == "recording", started.text
    device = client.get("/api/v1/device", headers=op).json()
    assert device["recording_trial_id"] == left["id"] and "side=left" in device["url"]
    other = create(client, op, session_id, side="right")
    busy = client.post(f"/api/v1/trials/{other['id']}/start", headers=op)
    assert busy.status_code == 409 and f"trial {left['id']} is using the device" in busy.json()["detail"]
    assert client.post(f"/api/v1/trials/{left['id']}/start", headers=op).status_code == 409
    assert client.delete(f"/api/v1/trials/{left['id']}", headers=op).status_code == 409
    assert client.post("/api/v1/device/connect", json={"url": FAST_SIM}, headers=op).status_code == 409

    done = wait_until_done(client, op, left["id"])
    assert done["state"] == "complete" and done["end_reason"] == "set complete"
    figures = done["acquisition"]
    assert figures["samples"] > 9000 and figures["gaps"] == 0 and figures["lost_samples"] == 0
    assert figures["effective_rate_hz"] == pytest.approx(1000, rel=0.01)
    assert done["device_serial"] == "SIM-1" and done["calibration"] == "simulator" and done["station_id"]
    assert done["started_at"] < done["ended_at"] and done["metadata"]["drives_machine"] is True
    limits = client.get(f"/api/v1/trials/{left['id']}/events", headers=op).json()["data"]
    assert [e["kind"] for e in limits].count("limit_reached") >= 5 and limits[-1]["kind"] == "set_complete"
    emitted = find_session(done["device_url"])
    assert emitted is not None and emitted.device.side == "left"

    client.post(f"/api/v1/trials/{other['id']}/start", headers=op)
    right = wait_until_done(client, op, other["id"])
    assert right["state"] == "complete" and "side=right" in right["device_url"]
    assert find_session(right["device_url"]).device.side == "right"  # type: ignore[union-attr]
    assert client.get("/api/v1/device", headers=op).json()["recording_trial_id"] is None


def test_stop_ends_a_long_trial_and_keeps_what_was_recorded(
    client: TestClient, op: dict, session_id: int, fast_device: None
) -> None:
    trial = create(client, op, session_id, repetitions=50)
    assert client.post(f"/api/v1/trials/{trial['id']}/stop", headers=op).status_code == 409
    client.post(f"/api/v1/trials/{trial['id']}/start", headers=op)
    time.sleep(0.3)
    stopped = client.post(f"/api/v1/trials/{trial['id']}/stop", headers=op)
    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert body["state"] == "complete" and body["end_reason"] == "stopped by the operator"
    assert 0 < body["acquisition"]["samples"] < 100_000
    samples = client.get(f"/api/v1/trials/{trial['id']}/samples", params={"limit": 100_000}, headers=op).json()
    assert samples["count"] == body["acquisition"]["samples"]
    assert client.post(f"/api/v1/trials/{trial['id']}/stop", headers=op).status_code == 409
    assert client.post(f"/api/v1/trials/{trial['id']}/start", headers=op).status_code == 409
    assert client.delete(f"/api/v1/trials/{trial['id']}", headers=op).status_code == 204
    assert client.get(f"/api/v1/trials/{trial['id']}/samples", headers=op).status_code == 404


def test_no_device_is_503_and_the_trial_stays_created(client: TestClient, op: dict, session_id: int) -> None:
    assert client.post("/api/v1/device/disconnect", headers=op).json()["state"] == "not connected"
    trial = create(client, op, session_id)
    r = client.post(f"/api/v1/trials/{trial['id']}/start", headers=op)
    assert r.status_code == 503 and "no device is connected" in r.json()["detail"]
    r = client.post(f"/api/v1/trials/{trial['id']}/weigh", json={"duration_s": 1}, headers=op)
    assert r.status_code == 503
    assert client.get(f"/api/v1/trials/{trial['id']}", headers=op).json()["state"] == "created"
    assert client.post("/api/v1/trials/999999/start", headers=op).status_code == 404


def test_a_set_the_device_refuses_is_409_and_the_trial_stays_created(
    client: TestClient, op: dict, session_id: int, fast_device: None
) -> None:
    trial = create(client, op, session_id, sample_rate_hz=7)
    r = client.post(f"/api/v1/trials/{trial['id']}/start", headers=op)
    assert r.status_code == 409 and "refused CONFIGURE: UNSUPPORTED_RATE" in r.json()["detail"], r.text
    assert client.get(f"/api/v1/trials/{trial['id']}", headers=op).json()["state"] == "created"
    assert client.get("/api/v1/device", headers=op).json()["recording_trial_id"] is None


def test_weighing_stores_a_measured_weight_or_fits_the_held_relaxed_limb(
    client: TestClient, op: dict, session_id: int, fast_device: None
) -> None:
    trial = create(client, op, session_id)
    r = client.post(f"/api/v1/trials/{trial['id']}/weigh", json={"gravity_torque_nm": 24.5, "horizontal_angle_deg": 2}, headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["method"] == "measured" and r.json()["trial"]["gravity_torque_nm"] == 24.5
    assert r.json()["trial"]["horizontal_angle_deg"] == 2
    # The simulator drives the machine: PASSIVE mode holds the relaxed limb at the angle asked for,
    # and the fit recovers the profile's limb weight (24 N.m with the knee horizontal at 0 deg).
    r = client.post(f"/api/v1/trials/{trial['id']}/weigh", json={"angle_deg": 50, "duration_s": 1}, headers=op)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"] == "recorded" and abs(body["gravity_torque_nm"] - 24.0) < 0.3
    assert abs(body["mean_position_deg"] - 50.0) < 0.5 and body["samples"] == 1000
    # Without an angle it holds the limb mid-range (knee 0..90 -> 45 deg).
    r = client.post(f"/api/v1/trials/{trial['id']}/weigh", json={"duration_s": 1}, headers=op)
    assert r.status_code == 200 and abs(r.json()["mean_position_deg"] - 45.0) < 0.5, r.text
    after = client.get(f"/api/v1/trials/{trial['id']}", headers=op).json()
    assert after["state"] == "created" and abs(after["gravity_torque_nm"] - 24.0) < 0.3


def test_weighing_refuses_a_limb_that_is_not_relaxed(client: TestClient, op: dict, session_id: int) -> None:
    """A sampling-only board cannot hold the lever: the simulated subject behind it keeps moving."""
    ascii_sim = {"url": "sim://?speed=20&protocol=ascii&seed=2", "protocol": "ascii", "calibration": "simulator"}
    assert client.post("/api/v1/device/connect", json=ascii_sim, headers=op).status_code == 200
    trial = create(client, op, session_id)
    # the simulated lever first rests at 90 deg (segment vertical), then the subject moves actively
    r = client.post(f"/api/v1/trials/{trial['id']}/weigh", json={"duration_s": 1}, headers=op)
    assert r.status_code == 422 and "within 10 deg of vertical at 90.0 deg" in r.text, r.text
    r = client.post(f"/api/v1/trials/{trial['id']}/weigh", json={"duration_s": 5}, headers=op)
    assert r.status_code == 422 and "does not follow the limb's weight" in r.text, r.text
    assert client.get(f"/api/v1/trials/{trial['id']}", headers=op).json()["state"] == "created"


def test_a_sampling_board_trial_ends_after_its_counted_movements(client: TestClient, op: dict, session_id: int) -> None:
    ascii_sim = {"url": "sim://?speed=20&protocol=ascii&seed=2", "protocol": "ascii"}
    r = client.post("/api/v1/device/connect", json=ascii_sim, headers=op)
    assert r.status_code == 422 and "calibration" in r.text  # an ASCII board does not name its model
    r = client.post("/api/v1/device/connect", json=ascii_sim | {"calibration": "simulator"}, headers=op)
    assert r.status_code == 200 and r.json()["info"]["drives_machine"] is False
    trial = create(client, op, session_id, repetitions=2)
    client.post(f"/api/v1/trials/{trial['id']}/start", headers=op)
    done = wait_until_done(client, op, trial["id"])
    assert done["state"] == "complete" and done["end_reason"] == "4 movements counted"
    assert done["metadata"]["drives_machine"] is False and done["acquisition"]["samples"] > 4000
