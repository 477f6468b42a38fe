"""SIGKILL a REAL ``isokin serve`` mid-trial: at most the last 250 ms are lost; after a restart the trial is interrupted and readable.

The server records from the in-process simulator at real-time speed, so a sample's time
(``started_at + time_s``) is wall time and can be compared with the moment of the kill.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import httpx
import numpy as np
import pytest

from api.storage.database import Database
from api.storage.models import Trial
from api.storage.samples import read_samples

#: How long the trial records before the kill, s (two movements of a knee set at 60 deg/s).
RECORD_S = 4.5


@pytest.fixture()
def server(isokin_server):
    """The real server's environment: the simulator at real time, a station of its own, an operator token."""
    isokin_server.env["ISOKIN_DEVICE"] = "sim://?speed=1&seed=21"
    isokin_server.env["ISOKIN_STATION_ID"] = f"sigkill-{uuid.uuid4().hex[:8]}"
    isokin_server.env["TOKEN"] = isokin_server.create_token("operator")
    return isokin_server


def _client(server) -> httpx.Client:  # type: ignore[no-untyped-def]
    base = server.start(wait_for_device=True)
    return httpx.Client(base_url=f"{base}/api/v1", timeout=10, headers={"Authorization": f"Bearer {server.env['TOKEN']}"})


def _database_url(server, database_url: str) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{server.env['ISOKIN_DATA_DIR']}/isokin.db"
    return database_url


def test_sigkill_loses_at_most_250_ms_and_the_trial_is_interrupted_on_restart(
    server, database_url: str
) -> None:
    with _client(server) as http:
        subject = http.post("/subjects", json={"code": "K-1", "sex": "female", "birth_year": 1985, "body_mass_kg": 62})
        session = http.post("/sessions", json={"subject_id": subject.json()["id"]}).json()
        body = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 20}
        trial_id = http.post(f"/sessions/{session['id']}/trials", json=body).json()["id"]
        started = http.post(f"/trials/{trial_id}/start")
        assert started.status_code == 200, started.text
        time.sleep(RECORD_S)
        killed_at = server.kill()

    database = Database(_database_url(server, database_url))
    try:
        with database.session() as s:
            trial = s.get(Trial, trial_id)
            assert trial is not None and trial.state == "recording" and trial.started_at and trial.flushed_at
            samples = read_samples(s, trial_id)
        newest = (trial.started_at + dt.timedelta(seconds=trial.duration_s or 0)).timestamp()
        lost_s = killed_at - newest
        print(f"\nSIGKILL after {RECORD_S} s: newest stored sample {lost_s * 1000:.0f} ms before the kill, "
              f"last commit {(killed_at - trial.flushed_at.timestamp()) * 1000:.0f} ms before it")
        assert -0.05 < lost_s < 0.25, f"the newest stored sample is {lost_s:.3f} s older than the kill"
        assert killed_at - trial.flushed_at.timestamp() < 0.25
        assert len(samples) == trial.sample_count > (RECORD_S - 0.3) * 1000
        assert np.array_equal(samples.sequence, np.arange(samples.sequence[0], samples.sequence[0] + len(samples)))
    finally:
        database.close()

    with _client(server) as http:
        trial = http.get(f"/trials/{trial_id}").json()
        assert trial["state"] == "interrupted", trial
        assert f"station {server.env['ISOKIN_STATION_ID']} stopped while the trial was recording" in trial["interrupted_reason"]
        page = http.get(f"/trials/{trial_id}/samples", params={"limit": 100_000}).json()
        assert page["count"] == len(samples) and page["torque_nm"] == samples.torque_nm.tolist()
        analysis = http.get(f"/trials/{trial_id}/analysis")
        assert analysis.status_code == 200, analysis.text
        again = http.post(f"/sessions/{session['id']}/trials", json=body).json()
        assert http.post(f"/trials/{again['id']}/start").status_code == 200  # the device works after the restart
        assert http.post(f"/trials/{again['id']}/stop").json()["state"] == "complete"
