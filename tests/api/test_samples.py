"""Samples of a recorded trial: JSON and CSV hold exactly what the simulator emitted; time ranges and pages."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from daq.calibration import load_profile
from daq.recording import read_recording
from simulators.urlhandler.protocol_sim import find_session

SIM = load_profile("simulator")


@pytest.fixture()
def op(headers: dict) -> dict[str, str]:
    return headers["operator"]


@pytest.fixture()
def recorded(client: TestClient, op: dict) -> dict:
    """A complete knee trial (3 repetitions) recorded from sim:// at 20x real time."""
    subject = client.post("/api/v1/subjects", json={"code": "S-7", "body_mass_kg": 80, "involved_side": "left"}, headers=op)
    session = client.post("/api/v1/sessions", json={"subject_id": subject.json()["id"]}, headers=op).json()
    assert client.post("/api/v1/device/connect", json={"url": "sim://?speed=20&seed=7"}, headers=op).status_code == 200
    body = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 3}
    trial = client.post(f"/api/v1/sessions/{session['id']}/trials", json=body, headers=op).json()
    assert client.post(f"/api/v1/trials/{trial['id']}/start", headers=op).status_code == 200
    deadline = time.monotonic() + 20
    while (trial := client.get(f"/api/v1/trials/{trial['id']}", headers=op).json())["state"] == "recording":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert trial["state"] == "complete"
    return trial


def _json(client: TestClient, op: dict, trial_id: int, **params: object) -> dict:
    r = client.get(f"/api/v1/trials/{trial_id}/samples", params=params, headers=op)
    assert r.status_code == 200, r.text
    return r.json()


def test_json_and_csv_hold_exactly_what_the_simulator_emitted(client: TestClient, op: dict, recorded: dict) -> None:
    emitted = find_session(recorded["device_url"]).emitted_log()  # type: ignore[union-attr]
    run = emitted.run(len(emitted.sample_rates_hz) - 1)  # the trial's START
    samples = _json(client, op, recorded["id"], limit=100_000)
    assert samples["count"] == len(run["sample_index"]) == recorded["acquisition"]["samples"]
    assert samples["next_start_s"] is None and emitted.lost_samples == 0
    sequence = np.array(samples["sequence"])
    np.testing.assert_array_equal(sequence - sequence[0], run["sample_index"])
    for column, counts in (("torque_nm", "torque"), ("position_deg", "position"), ("velocity_dps", "velocity")):
        cal = getattr(SIM, column.split("_")[0])
        np.testing.assert_array_equal(np.array(samples[column]), cal.apply(run[counts]))
    np.testing.assert_array_equal(samples["status"], run["status"])
    device_us = np.array(samples["device_time_us"])
    np.testing.assert_array_equal(device_us - device_us[0], run["sample_index"] * 1000)  # the device's own clock
    assert np.diff(samples["time_s"]) == pytest.approx(0.001, abs=1e-9)  # its steps, not the host's jitter

    r = client.get(f"/api/v1/trials/{recorded['id']}/samples", params={"format": "csv"}, headers=op)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="trial-{recorded["id"]}.csv"' in r.headers["content-disposition"]
    csv = read_recording(io.StringIO(r.text), source="download")
    meta = csv.metadata
    assert (meta["joint"], meta["pattern"], meta["side"], meta["mode"]) == ("knee", "flexion/extension", "left", "con/con")
    assert (meta["subject"], meta["body_mass_kg"], meta["involved_side"], meta["sample_rate_hz"]) == ("S-7", "80", "left", "1000")
    assert meta["device"] == recorded["device_url"] and meta["calibration"] == "simulator" and meta["state"] == "complete"
    for column in ("time_s", "torque_nm", "position_deg", "velocity_dps"):  # the CSV keeps 6 decimals
        np.testing.assert_array_equal(getattr(csv, column), [float(f"{v:.6f}") for v in samples[column]])
    np.testing.assert_array_equal(csv.extra["sequence"], sequence)
    np.testing.assert_array_equal(csv.extra["device_time_us"], device_us)
    limits = [n for n in csv.notes if n.startswith("event: LIMIT_REACHED")]
    events = [n for n in csv.notes if not n.startswith("clock: ")]
    assert len(limits) >= 5 and events[-1] == f"event: SET_COMPLETE 3 at sequence {sequence[-1]}"
    assert csv.notes[-1].startswith("clock: segment 0 sequence ")  # the device/host clock fit, kept


def test_time_ranges_pages_and_bad_queries(client: TestClient, op: dict, recorded: dict) -> None:
    trial_id = recorded["id"]
    everything = _json(client, op, trial_id, limit=100_000)
    window = _json(client, op, trial_id, start_s=2, end_s=3)
    assert window["count"] == 1001 and window["time_s"][0] >= 2 and window["time_s"][-1] <= 3
    first = everything["time_s"].index(window["time_s"][0])
    assert window["torque_nm"] == everything["torque_nm"][first : first + 1001]
    csv = client.get(f"/api/v1/trials/{trial_id}/samples", params={"format": "csv", "start_s": 2, "end_s": 3}, headers=op)
    assert len(read_recording(io.StringIO(csv.text))) == 1001

    pages, start = [], None
    while True:
        page = _json(client, op, trial_id, limit=3000, **({} if start is None else {"start_s": start}))
        pages.append(page)
        if (start := page["next_start_s"]) is None:
            break
    assert [p["count"] for p in pages[:-1]] == [3000] * (len(pages) - 1) and len(pages) == 4
    assert sum((p["sequence"] for p in pages), []) == everything["sequence"]

    base = f"/api/v1/trials/{trial_id}/samples"
    assert client.get(base, params={"start_s": 3, "end_s": 2}, headers=op).status_code == 422
    assert client.get(base, params={"format": "xml"}, headers=op).status_code == 422
    assert client.get(base, params={"limit": 0}, headers=op).status_code == 422
    assert client.get("/api/v1/trials/999999/samples", params={"format": "csv"}, headers=op).status_code == 404
    empty = client.post(
        f"/api/v1/sessions/{recorded['session_id']}/trials", json={"joint": "knee", "side": "right"}, headers=op
    ).json()
    assert _json(client, op, empty["id"])["count"] == 0
    header_only = client.get(f"/api/v1/trials/{empty['id']}/samples", params={"format": "csv"}, headers=op).text
    assert header_only.endswith("time_s,torque_nm,position_deg,velocity_dps,status,sequence\n")
