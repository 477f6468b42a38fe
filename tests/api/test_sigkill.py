"""SIGKILL a REAL ``isokin serve`` mid-trial: what is lost is measured against the device's emitted stream.

The device is ``isokin sim`` in a process of its own, on TCP at real-time speed, logging every
sample it emitted and whether it reached the host's socket. The server records in an
acquisition process of its own, so two crashes differ:

- the server process alone is killed: the acquisition process sees it go, stops the device and
  ends the trial ``interrupted`` with every sample it received stored (nothing lost);
- the server and its acquisition process are killed together (a power cut): the samples that
  reached the server but not its database are what the kill lost: at 1 kHz, one per millisecond of
  the device's clock, whatever the machine's load. After a restart the trial is interrupted, its
  samples readable and analysable, and the device works again.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest

from api.storage.database import Database
from api.storage.models import Trial
from api.storage.samples import read_samples
from daq.calibration import load_profile
from simulators.emitted import load_emitted

#: How long the trial records before the kill, s (two movements of a knee set at 60 deg/s).
RECORD_S = 4.5


class Device:
    """``isokin sim --tcp`` in its own process, writing its emitted log on SIGTERM."""

    def __init__(self, log: Path) -> None:
        self.log = log
        cmd = [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main(sys.argv[1:]))",
               "sim", "--tcp", "0", "--speed", "1", "--seed", "21", "--emitted-log", str(log)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        assert ready, "isokin sim printed nothing in 30 s"
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            _, err = self.proc.communicate(timeout=30)
            assert self.proc.returncode == 0, err


@pytest.fixture()
def server(isokin_server):  # type: ignore[no-untyped-def]
    isokin_server.env["ISOKIN_STATION_ID"] = f"sigkill-{uuid.uuid4().hex[:8]}"
    isokin_server.env["TOKEN"] = isokin_server.create_token("operator")
    return isokin_server


def _client(server, device: Device) -> httpx.Client:  # type: ignore[no-untyped-def]
    server.env["ISOKIN_DEVICE"] = device.url
    base = server.start(wait_for_device=True)
    return httpx.Client(base_url=f"{base}/api/v1", timeout=10, headers={"Authorization": f"Bearer {server.env['TOKEN']}"})


def _database_url(server, database_url: str) -> str:  # type: ignore[no-untyped-def]
    if database_url.startswith("sqlite"):
        return f"sqlite:///{server.env['ISOKIN_DATA_DIR']}/isokin.db"
    return database_url


BODY = {"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": 60, "repetitions": 20}


def _record_then_kill(server, device: Device, *, everything: bool) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(session id, trial id) of a trial killed after RECORD_S s of recording."""
    try:
        with _client(server, device) as http:
            code = f"K-{uuid.uuid4().hex[:6]}"  # the PostgreSQL schema is shared by the session's tests
            subject = http.post("/subjects", json={"code": code, "sex": "female", "birth_year": 1985, "body_mass_kg": 62})
            session = http.post("/sessions", json={"subject_id": subject.json()["id"]}).json()
            trial_id = http.post(f"/sessions/{session['id']}/trials", json=BODY).json()["id"]
            started = http.post(f"/trials/{trial_id}/start")
            assert started.status_code == 200, started.text
            time.sleep(RECORD_S)
            server.kill(everything=everything)
            if not everything:  # the acquisition process ends the trial by itself
                database = Database(_database_url(server, server.database_url))
                deadline = time.monotonic() + 30
                try:
                    while _state(database, trial_id) == "recording":
                        assert time.monotonic() < deadline, "the acquisition process did not end the trial"
                        time.sleep(0.1)
                finally:
                    database.close()
    finally:
        device.stop()
    return session["id"], trial_id


def _state(database: Database, trial_id: int) -> str:
    with database.session() as s:
        trial = s.get(Trial, trial_id)
        assert trial is not None
        return trial.state


def test_a_killed_server_leaves_its_acquisition_to_end_the_trial_with_nothing_lost(
    server, database_url: str, tmp_path: Path
) -> None:
    server.database_url = database_url
    _, trial_id = _record_then_kill(server, Device(tmp_path / "emitted.npz"), everything=False)
    emitted = load_emitted(tmp_path / "emitted.npz")
    run = emitted.run(len(emitted.sample_rates_hz) - 1)
    database = Database(_database_url(server, database_url))
    try:
        with database.session() as s:
            trial = s.get(Trial, trial_id)
            assert trial is not None
            samples = read_samples(s, trial_id)
    finally:
        database.close()
    assert trial.state == "interrupted" and trial.interrupted_reason == "the server process stopped during the trial"
    delivered = int(np.count_nonzero(run["delivered"]))
    assert len(samples) == delivered == trial.sample_count > (RECORD_S - 1.0) * 1000  # every sample that arrived
    assert np.array_equal(samples.sequence - samples.sequence[0], run["sample_index"][: len(samples)])


def test_sigkill_of_everything_loses_at_most_250_ms_and_the_trial_is_interrupted_on_restart(
    server, database_url: str, tmp_path: Path
) -> None:
    server.database_url = database_url
    device = Device(tmp_path / "emitted.npz")
    session_id, trial_id = _record_then_kill(server, device, everything=True)

    emitted = load_emitted(device.log)
    run = emitted.run(len(emitted.sample_rates_hz) - 1)  # the trial's START
    database = Database(_database_url(server, database_url))
    try:
        with database.session() as s:
            trial = s.get(Trial, trial_id)
            assert trial is not None and trial.state == "recording"
            samples = read_samples(s, trial_id)
    finally:
        database.close()
    n = len(samples)
    assert n == trial.sample_count > (RECORD_S - 1.0) * 1000
    # What is stored is exactly the start of what the device emitted, with its own clock.
    assert np.array_equal(samples.sequence - samples.sequence[0], run["sample_index"][:n])
    np.testing.assert_array_equal(samples.torque_nm, load_profile("simulator").torque.apply(run["torque"][:n]))
    np.testing.assert_array_equal(samples.device_time_us - samples.device_time_us[0], run["timestamp_us"][:n] - run["timestamp_us"][0])
    assert run["delivered"][:n].all()
    lost = int(np.count_nonzero(run["delivered"][n:]))  # reached the server, never its database
    lost_ms = lost * 1000 / emitted.sample_rates_hz[-1]
    print(f"\nSIGKILL of the server and its acquisition after {RECORD_S} s: {lost} samples ({lost_ms:.0f} ms of the device's clock) had reached the "
          f"server but not its database; {n} were stored")
    assert lost_ms <= 250, f"the kill lost {lost_ms:.0f} ms of samples the server had received"

    device = Device(tmp_path / "emitted-2.npz")
    try:
        with _client(server, device) as http:
            trial = http.get(f"/trials/{trial_id}").json()
            assert trial["state"] == "interrupted", trial
            assert f"station {server.env['ISOKIN_STATION_ID']} stopped while the trial was recording" in trial["interrupted_reason"]
            page = http.get(f"/trials/{trial_id}/samples", params={"limit": 100_000}).json()
            assert page["count"] == n and page["torque_nm"] == samples.torque_nm.tolist()
            analysis = http.get(f"/trials/{trial_id}/analysis")
            assert analysis.status_code == 200, analysis.text
            again = http.post(f"/sessions/{session_id}/trials", json=BODY).json()
            assert http.post(f"/trials/{again['id']}/start").status_code == 200  # the device works after the restart
            assert http.post(f"/trials/{again['id']}/stop").json()["state"] == "complete"
    finally:
        device.stop()
