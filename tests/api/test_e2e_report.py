"""End to end: a REAL ``isokin serve`` with the in-process simulator, knee 60 deg/s con/con on both sides, the report.

The server runs as a subprocess on a free port (SQLite in its data directory, or the test
PostgreSQL schema), with the simulator at 20x real time. A token comes from ``isokin token
create``; everything else goes over HTTP: subject, session, a trial per side (limb weighing
with the profile's limb torque, start, wait for the set to complete), then the session
report. The expected figures are the simulator's ground truth for the very sets it played
(same profile, protocol and seed), within the analysis issue's tolerances: ratios within
0.02, deficits within 2 percentage points.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from simulators.model import SetProtocol, SetTruth, SimulatedSet, default_profile, simulate_set
from simulators.source import chunk_seed

SEED = 3
DEVICE = f"sim://?speed=20&seed={SEED}"
TRIAL = {"joint": "knee", "mode": "con/con", "velocity_dps": 60, "repetitions": 3}


@pytest.fixture()
def server(isokin_server) -> tuple[str, str]:
    """(base URL, operator token) of ``isokin serve --device sim://...`` on this test's database."""
    token = isokin_server.create_token("operator", "e2e report")
    base = isokin_server.start("--device", DEVICE, wait_for_device=True)
    return f"{base}/api/v1", token


def _played(side: str, rom_deg: tuple[float, float]) -> SimulatedSet:
    """The set the simulated device plays for this trial (its first run's seed), with its ground truth."""
    protocol = SetProtocol(joint="knee", pattern="flexion/extension", side=side, mode="con/con",
                           velocity_dps=(60.0, 60.0), repetitions=3, rom_deg=rom_deg)  # fmt: skip
    return simulate_set(default_profile(), protocol, sample_rate_hz=1000.0, seed=chunk_seed(SEED, 0))


def _best(truth: SetTruth, group: str) -> float:
    return max(rep.peak_torque_nm for rep in truth.reps if rep.group == group)


def _record(http: httpx.Client, session_id: int, side: str) -> dict:
    trial = http.post(f"/sessions/{session_id}/trials", json=TRIAL | {"side": side})
    assert trial.status_code == 201, trial.text
    trial_id = trial.json()["id"]
    knee = default_profile().pattern("knee", "flexion/extension")
    weighed = http.post(f"/trials/{trial_id}/weigh", json={"gravity_torque_nm": knee.gravity_torque_nm,
                                                           "horizontal_angle_deg": knee.horizontal_angle_deg})  # fmt: skip
    assert weighed.status_code == 200, weighed.text
    started = http.post(f"/trials/{trial_id}/start")
    assert started.status_code == 200, started.text
    deadline = time.monotonic() + 60
    while (state := http.get(f"/trials/{trial_id}").json())["state"] == "recording":
        assert time.monotonic() < deadline, f"trial {trial_id} still recording after 60 s"
        time.sleep(0.1)
    assert state["state"] == "complete", state
    return state


def test_both_knees_through_the_api_give_the_simulated_subjects_hq_and_deficit(server: tuple[str, str]) -> None:
    base, token = server
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        code = f"S-{uuid.uuid4().hex[:8]}"  # the schema is shared with this worker's other tests
        subject = http.post("/subjects", json={"code": code, "sex": "male", "birth_year": 1990, "body_mass_kg": 75})
        assert subject.status_code == 201, subject.text
        session = http.post("/sessions", json={"subject_id": subject.json()["id"]})
        assert session.status_code == 201, session.text
        session_id = session.json()["id"]
        trials = {side: _record(http, session_id, side) for side in ("left", "right")}
        report = http.get(f"/sessions/{session_id}/report")
        assert report.status_code == 200, report.text
        csv_report = http.get(f"/sessions/{session_id}/report", params={"format": "csv"})
    body = report.json()

    played = {side: _played(side, (t["rom_min_deg"], t["rom_max_deg"])) for side, t in trials.items()}
    truths = {side: sim.truth for side, sim in played.items()}
    for side, trial in trials.items():
        figures = trial["acquisition"]
        assert (figures["samples"], figures["gaps"], figures["lost_samples"]) == (len(played[side].time_s), 0, 0)
    assert [t["trial_id"] for t in body["trials"] if t["reason"] is None] == [trials["left"]["id"], trials["right"]["id"]]

    hq = {r["numerator"]["side"]: r["value"] for r in body["ratios"] if r["kind"] == "conventional"}
    for side, truth in truths.items():
        assert hq[side] == pytest.approx(_best(truth, "flexion") / _best(truth, "extension"), abs=0.02), side
    flexion = next(b for b in body["bilateral"] if (b["direction"], b["contraction"]) == ("flexion", "concentric"))
    truth_deficit = 100 * (1 - _best(truths["left"], "flexion") / _best(truths["right"], "flexion"))
    assert flexion["reference_side"] == "right"
    assert flexion["deficit_percent"] == pytest.approx(truth_deficit, abs=2.0)
    assert any(f["rule"] == "deficit_probable" for f in body["flags"])
    assert csv_report.status_code == 200 and "# bilateral" in csv_report.text
