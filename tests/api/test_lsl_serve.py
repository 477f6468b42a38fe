"""``isokin serve --lsl``: every trial of a real server is published to Lab Streaming Layer, on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import numpy as np

from tests.api.conftest import IsokinServer

TRIAL = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 2,
         "rom_min_deg": 30, "rom_max_deg": 60}  # fmt: skip


def _run_trial(http: httpx.Client, session_id: int) -> dict:
    trial = http.post(f"/sessions/{session_id}/trials", json=TRIAL).json()
    assert http.post(f"/trials/{trial['id']}/start").status_code == 200
    deadline = time.monotonic() + 60
    while (state := http.get(f"/trials/{trial['id']}").json())["state"] == "recording":
        assert time.monotonic() < deadline, "the trial did not end"
        time.sleep(0.1)
    assert state["state"] == "complete", state
    return state


def test_the_streams_outlive_a_trial_and_carry_every_sample_of_the_next(lsl_loopback: Path, tmp_path: Path) -> None:
    import pylsl

    server = IsokinServer(f"sqlite:///{tmp_path / 'isokin.db'}", tmp_path)
    try:
        token = server.create_token("operator")
        base = server.start("--device", "sim://?speed=4&seed=31", "--lsl", wait_for_device=True)
        with httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            subject = http.post("/subjects", json={"code": "LSL-1"}).json()
            session = http.post("/sessions", json={"subject_id": subject["id"]}).json()
            first = _run_trial(http, session["id"])  # the streams appear with the first trial, and stay
            data_info = pylsl.resolve_byprop("source_id", "isokin:isokin-sim:SIM-31", minimum=1, timeout=10)
            marker_info = pylsl.resolve_byprop("source_id", "isokin:isokin-sim:SIM-31:markers", minimum=1, timeout=10)
            inlet, markers = pylsl.StreamInlet(data_info[0]), pylsl.StreamInlet(marker_info[0])
            inlet.open_stream(10)
            markers.open_stream(10)
            second = _run_trial(http, session["id"])
            values, stamps = [], []
            while True:
                chunk, ts = inlet.pull_chunk(timeout=2.0, max_samples=100_000)
                if not ts:
                    break
                values += chunk
                stamps += ts
            texts = []
            while (sample := markers.pull_sample(timeout=1.0))[0] is not None:
                texts.append(sample[0][0])
            samples = http.get(f"/trials/{second['id']}/samples", params={"limit": 100_000}).json()
    finally:
        server.stop()
    count = second["acquisition"]["samples"]
    assert first["acquisition"]["samples"] > 0 and second["acquisition"]["lost_samples"] == 0
    assert len(values) == count == samples["count"]  # every sample of the trial, in order, as stored
    np.testing.assert_allclose(np.asarray(values)[:, 0], samples["torque_nm"], atol=1e-4)
    assert np.all(np.diff(stamps) > 0)
    assert texts[0] == f"trial start trial {second['id']}"
    assert texts[1].startswith("set start: knee flexion/extension con/con 60/60 deg/s, 2 repetitions, 30..60 deg")
    assert texts[-1].startswith(f"trial stop trial {second['id']}: complete (set complete), {count} samples")
    assert sum(t.startswith("repetition end") for t in texts) == 4
