"""GET /subjects/{id}/history: an imbalance (weak left hamstrings) and its correction, session by session."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, SimulatedSet, SubjectProfile, default_profile, simulate_set


def _rehabilitated() -> SubjectProfile:
    """The default subject after rehabilitation: left knee flexors as strong as the right ones (141 N.m)."""
    data = default_profile().to_dict()
    data["joints"]["knee"]["flexion/extension"]["groups"]["flexion"]["peak_torque_nm"]["left"] = 141.0
    return SubjectProfile.from_dict(data)


@pytest.fixture(scope="module")
def sets() -> dict[str, dict[str, SimulatedSet]]:
    """Knee con/con 60 deg/s on both sides, before (default profile) and after rehabilitation."""
    out: dict[str, dict[str, SimulatedSet]] = {}
    for when, profile in (("before", default_profile()), ("after", _rehabilitated())):
        out[when] = {
            side: simulate_set(profile, SetProtocol(joint="knee", side=side, velocity_dps=60.0, repetitions=3),
                               sample_rate_hz=500.0, seed=5)  # fmt: skip
            for side in ("left", "right")
        }
    return out


def _session(client: TestClient, headers: dict, subject_id: int, date: str, knees: dict[str, SimulatedSet], tmp: Path,
             *, weighed: bool = True) -> int:
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject_id, "date": date}, headers=headers["operator"]).json()["id"]
    for side, sim in knees.items():
        metadata = {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": "60", "repetitions": "3"}
        if weighed:
            metadata["gravity_torque_nm"] = str(sim.truth.gravity_torque_nm)
        path = tmp / f"{date}-{side}.csv"
        write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
        r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())},
                        headers=headers["operator"])  # fmt: skip
        assert r.status_code == 201, r.text
    return int(session_id)


def test_the_history_shows_the_deficit_and_the_low_hq_corrected_in_date_order(
    client: TestClient, headers: dict, sets: dict[str, dict[str, SimulatedSet]], tmp_path: Path
) -> None:
    subject_id = client.post("/api/v1/subjects", json={"code": "S-01", "body_mass_kg": 75, "involved_side": "left"},
                             headers=headers["operator"]).json()["id"]  # fmt: skip
    after = _session(client, headers, subject_id, "2026-09-01", sets["after"], tmp_path)  # entered first, dated later
    before = _session(client, headers, subject_id, "2026-03-01", sets["before"], tmp_path)
    r = client.get(f"/api/v1/subjects/{subject_id}/history", headers=headers["viewer"])
    assert r.status_code == 200, r.text
    history = r.json()
    assert history["subject"]["code"] == "S-01" and history["parameters"]["involved_side"] == "left"
    assert [(s["session_id"], s["date"], s["trials_analysed"]) for s in history["sessions"]] == [
        (before, "2026-03-01", 2), (after, "2026-09-01", 2)
    ]
    first, last = history["sessions"]
    assert any(f["rule"] == "deficit_probable" for f in first["flags"])
    assert not any(f["rule"].startswith("deficit") for f in last["flags"])

    trends = {(t["measure"], t["label"], t["side"]): t for t in history["trends"]}
    deficit = trends[("deficit", "flexion concentric", None)]
    assert deficit["unit"] == "percent" and deficit["velocity_dps"] == 60
    assert [(p["session_id"], p["side"]) for p in deficit["points"]] == [(before, "left"), (after, "left")]
    assert deficit["points"][0]["value"] == pytest.approx(25, abs=3) and abs(deficit["points"][1]["value"]) < 5
    hq_left = trends[("ratio", "Hcon/Qcon", "left")]
    assert hq_left["unit"] == "fraction" and [p["date"] for p in hq_left["points"]] == ["2026-03-01", "2026-09-01"]
    assert hq_left["points"][0]["value"] < 0.5 < hq_left["points"][1]["value"]
    assert all(None not in p["trial_ids"] for p in hq_left["points"])
    assert all(len(p["trial_ids"]) == 2 and None not in p["trial_ids"] for p in deficit["points"])
    assert deficit["gravity_corrected"] and all(p["gravity_corrected"] for p in deficit["points"])


def test_corrected_and_uncorrected_sessions_are_separate_series_never_one(
    client: TestClient, headers: dict, sets: dict[str, dict[str, SimulatedSet]], tmp_path: Path
) -> None:
    """The same knees, weighed one day and not the next: the uncorrected H:Q reads higher (Aagaard 1995), so one
    series would show a change that never happened."""
    subject_id = client.post("/api/v1/subjects", json={"code": "S-03"}, headers=headers["operator"]).json()["id"]
    weighed = _session(client, headers, subject_id, "2026-03-01", sets["before"], tmp_path)
    unweighed = _session(client, headers, subject_id, "2026-03-08", sets["before"], tmp_path, weighed=False)
    history = client.get(f"/api/v1/subjects/{subject_id}/history", headers=headers["viewer"]).json()
    hq = [t for t in history["trends"] if t["label"] == "Hcon/Qcon" and t["side"] == "right"]
    assert sorted((t["gravity_corrected"], [p["session_id"] for p in t["points"]]) for t in hq) == [
        (False, [unweighed]), (True, [weighed])]
    corrected, raw = (next(t for t in hq if t["gravity_corrected"] is flag)["points"][0]["value"] for flag in (True, False))
    assert raw > corrected + 0.05
    deficits = [t for t in history["trends"] if t["measure"] == "deficit" and t["label"] == "flexion concentric"]
    assert {t["gravity_corrected"] for t in deficits} == {True, False}


def test_a_subject_without_sessions_has_an_empty_history_and_an_unknown_one_is_a_404(client: TestClient, headers: dict) -> None:
    subject_id = client.post("/api/v1/subjects", json={"code": "S-02"}, headers=headers["operator"]).json()["id"]
    history = client.get(f"/api/v1/subjects/{subject_id}/history", headers=headers["viewer"]).json()
    assert (history["sessions"], history["trends"]) == ([], [])
    assert client.get("/api/v1/subjects/999999/history", headers=headers["viewer"]).status_code == 404
