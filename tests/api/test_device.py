"""The device: the default simulator connects in the background, connect/disconnect, bad devices, simulated subjects."""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from api.storage.database import Database
from simulators.urlhandler.protocol_sim import find_session


@pytest.fixture()
def op(headers: dict) -> dict[str, str]:
    return headers["operator"]


def _device(client: TestClient, headers: dict, until: str | None = None) -> dict:
    deadline = time.monotonic() + 10
    while True:
        device = client.get("/api/v1/device", headers=headers["viewer"]).json()
        if until is None or device["state"] == until or time.monotonic() > deadline:
            return device
        time.sleep(0.02)


def test_the_default_simulator_connects_in_the_background(client: TestClient, headers: dict) -> None:
    device = _device(client, headers, until="connected")
    assert device["state"] == "connected" and device["requested_url"] == "simulator" and device["simulator"]
    assert device["url"] == "sim://?speed=1" and device["simulator_profile"] == "default"
    assert device["info"]["model"] == "isokin-sim" and device["info"]["drives_machine"] is True
    assert device["calibration"]["name"] == "simulator" and device["calibration"]["torque"]["unit"] == "N.m"
    assert device["stats"]["crc_errors"] == 0 and device["stats"]["loss_detection"] == "sample index"
    assert device["connected_at"] and device["error"] is None and device["recording_trial_id"] is None
    assert client.get("/api/v1/health").json()["device"] == {"state": "connected"}  # no URL without a token
    assert client.get("/api/v1/health", headers=headers["viewer"]).json()["device"] == {"state": "connected", "url": "simulator"}


def test_connect_disconnect_and_devices_that_are_not_there(client: TestClient, headers: dict, op: dict) -> None:
    connected = client.post("/api/v1/device/connect", json={"url": "sim://?speed=20&seed=9"}, headers=op)
    assert connected.status_code == 200 and connected.json()["info"]["serial_number"] == "SIM-9"
    gone = client.post("/api/v1/device/disconnect", headers=op).json()
    assert gone["state"] == "not connected" and gone["info"] is None and gone["stats"] is None
    assert client.get("/api/v1/health").json()["device"]["state"] == "not connected"

    missing = client.post("/api/v1/device/connect", json={"url": "/dev/ttyisokin-no-such-port"}, headers=op)
    assert missing.status_code == 422 and "'serial device'" in missing.text and "does not exist" in missing.text
    assert _device(client, headers)["state"] == "not connected"  # a refused URL changes nothing
    for body, field in (
        ({"url": "http://example.com"}, "url"),
        ({"url": "sim://?profile=/etc/passwd"}, "not a path"),
        ({"url": "sim://?colour=red"}, "colour"),
        ({"calibration": "nope"}, "calibration"),
        ({"protocol": "morse"}, "protocol"),
    ):
        r = client.post("/api/v1/device/connect", json=body, headers=op)
        assert r.status_code == 422 and field in r.text, (body, r.text)
    assert client.post("/api/v1/device/connect", json={}, headers=headers["viewer"]).status_code == 403
    back = client.post("/api/v1/device/connect", json={}, headers=op)
    assert back.status_code == 200 and back.json()["requested_url"] == "simulator"


def test_simulated_subjects_bundled_and_uploaded(client: TestClient, headers: dict, op: dict) -> None:
    assert client.post("/api/v1/device/connect", json={"url": "sim://?speed=20&seed=4"}, headers=op).status_code == 200
    listed = client.get("/api/v1/device/simulator/profiles", headers=headers["viewer"]).json()
    default = next(p for p in listed["data"] if p["name"] == "default")
    assert default["source"] == "bundled" and default["active"] and "hamstrings" in default["description"]

    profile = json.loads(resources.files("simulators").joinpath("profiles", "default.json").read_text())
    profile["description"] = "strong left hamstrings"
    profile["joints"]["knee"]["flexion/extension"]["groups"]["flexion"]["peak_torque_nm"] = 150.0
    r = client.put("/api/v1/device/simulator/profile", json={"name": "strong-hams", "profile": profile}, headers=op)
    assert r.status_code == 200, r.text
    device = r.json()
    assert device["simulator_profile"] == "strong-hams" and "profile=" in device["url"] and device["state"] == "connected"
    simulated = find_session(device["url"]).device.profile  # type: ignore[union-attr]
    assert simulated.description == "strong left hamstrings"
    assert simulated.group("knee", "flexion/extension", "left", "flexion").peak_torque_nm == 150.0
    listed = client.get("/api/v1/device/simulator/profiles", headers=headers["viewer"]).json()
    assert {(p["name"], p["source"], p["active"]) for p in listed["data"]} >= {("strong-hams", "uploaded", True)}

    bad = dict(profile, body_mass_kg=-1)
    r = client.put("/api/v1/device/simulator/profile", json={"name": "bad", "profile": bad}, headers=op)
    assert r.status_code == 422 and "body_mass_kg" in r.text
    r = client.put("/api/v1/device/simulator/profile", json={"name": "default", "profile": profile}, headers=op)
    assert r.status_code == 409 and "bundled" in r.text
    assert client.put("/api/v1/device/simulator/profile", json={"name": "nobody"}, headers=op).status_code == 404
    back = client.put("/api/v1/device/simulator/profile", json={"name": "default"}, headers=op).json()
    assert back["simulator_profile"] == "default" and "profile=" not in back["url"]


@pytest.mark.parametrize(("device", "state"), [("/dev/ttyisokin-absent", "failed"), ("none", "not connected")])
def test_the_server_starts_without_its_device(
    database: Database, database_url: str, tmp_path: Path, device: str, state: str
) -> None:
    app = create_app(
        Settings(database_url=database_url, data_dir=tmp_path, device=device, station_id="second", acquisition_process=False), database=database
    )
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while (health := client.get("/api/v1/health").json())["device"]["state"] == "connecting":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert health["status"] == "ok" and health["device"] == {"state": state}
        if state == "failed":
            error = app.state.acquisition.device_snapshot().error
            assert "'serial device': /dev/ttyisokin-absent does not exist" in error
