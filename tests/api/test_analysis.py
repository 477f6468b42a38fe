"""GET /trials/{id}/analysis: the analyze JSON contract for one stored trial, checked against the simulator's truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.storage.database import Database
from api.storage.models import Trial
from api.storage.samples import append_samples, pack_samples
from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, SimulatedSet, default_profile, simulate_set


@pytest.fixture(scope="module")
def knee() -> SimulatedSet:
    """Left knee con/con 60 deg/s x 3 of the default subject, gravity included (W = 24 N.m)."""
    protocol = SetProtocol(joint="knee", side="left", mode="con/con", velocity_dps=60.0, repetitions=3)
    return simulate_set(default_profile(), protocol, sample_rate_hz=1000.0, seed=7)


def _csv(sim: SimulatedSet, path: Path, *, gravity: bool = True) -> bytes:
    truth = sim.truth
    metadata = {"joint": truth.joint, "pattern": truth.pattern, "side": truth.side, "mode": truth.mode,
                "velocity_dps": "60", "repetitions": "3", "sample_rate_hz": "1000"}  # fmt: skip
    if gravity:
        metadata |= {"gravity_torque_nm": str(truth.gravity_torque_nm), "horizontal_angle_deg": str(truth.horizontal_angle_deg)}
    write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
    return path.read_bytes()


def _trial(client: TestClient, headers: dict, raw: bytes, *, body_mass_kg: float | None = 75) -> int:
    subject = client.post("/api/v1/subjects", json={"code": "S-01", "body_mass_kg": body_mass_kg}, headers=headers["operator"])
    session = client.post("/api/v1/sessions", json={"subject_id": subject.json()["id"]}, headers=headers["operator"])
    r = client.post(
        f"/api/v1/sessions/{session.json()['id']}/imports", files={"file": ("left.csv", raw)}, headers=headers["operator"]
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _best(sim: SimulatedSet, group: str) -> float:
    return max(rep.peak_torque_nm for rep in sim.truth.reps if rep.group == group)


def test_the_analysis_is_the_contract_for_one_trial_and_agrees_with_the_truth(
    client: TestClient, headers: dict, knee: SimulatedSet, tmp_path: Path
) -> None:
    trial_id = _trial(client, headers, _csv(knee, tmp_path / "left.csv"))
    r = client.get(f"/api/v1/trials/{trial_id}/analysis", headers=headers["viewer"])
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["schema"] == "isokin-analysis/1" and len(report["recordings"]) == 1
    recording = report["recordings"][0]
    assert recording["trial_id"] == trial_id and recording["side"] == "left" and recording["source"] == f"trial {trial_id} (left.csv)"
    assert recording["gravity_corrected"] and recording["gravity_torque_nm"] == 24.0  # the trial's weighing by default
    assert recording["body_mass_kg"] == 75  # the subject's
    sets = {s["direction"]: s for s in recording["sets"]}
    for group in ("flexion", "extension"):
        assert sets[group]["repetitions"] == 3 and sets[group]["contraction"] == "concentric"
        assert sets[group]["peak_torque_nm"] == pytest.approx(_best(knee, group), rel=0.02)
        assert sets[group]["peak_torque_per_kg"] == pytest.approx(sets[group]["peak_torque_nm"] / 75, abs=1e-5)
    (ratio,) = report["ratios"]
    assert ratio["label"] == "Hcon/Qcon" and ratio["numerator"]["trial_id"] == trial_id
    assert ratio["value"] == pytest.approx(_best(knee, "flexion") / _best(knee, "extension"), abs=0.02)
    assert report["bilateral"] == []


def test_query_parameters_override_body_mass_gravity_filter_and_thresholds(
    client: TestClient, headers: dict, knee: SimulatedSet, tmp_path: Path
) -> None:
    trial_id = _trial(client, headers, _csv(knee, tmp_path / "left.csv"))
    url = f"/api/v1/trials/{trial_id}/analysis"
    default = client.get(url, headers=headers["viewer"]).json()
    assert not any(f["rule"] == "cv_high" for f in default["flags"])
    r = client.get(
        url,
        params={"body_mass_kg": 50, "gravity_torque_nm": 0, "cutoff_hz": 0, "cv_max_percent": 0, "window_tolerance_percent": 5,
                "inertia_kgm2": 0.4},
        headers=headers["viewer"],
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    recording = changed["recordings"][0]
    assert recording["body_mass_kg"] == 50 and recording["gravity_torque_nm"] == 0
    assert changed["parameters"]["analysis"]["cutoff_hz"] is None
    assert changed["parameters"]["analysis"]["window_tolerance_percent"] == 5
    assert changed["parameters"]["analysis"]["inertia_kgm2"] == 0.4
    assert changed["parameters"]["thresholds"]["cv_max_percent"] == 0
    assert {f["rule"] for f in changed["flags"]} >= {"cv_high"}
    flexion = {s["direction"]: s for s in recording["sets"]}["flexion"]
    flexion_default = {s["direction"]: s for s in default["recordings"][0]["sets"]}["flexion"]
    # gravity (24 N.m toward flexion) left in: flexor torque reads higher than the corrected one
    assert flexion["peak_torque_nm"] > flexion_default["peak_torque_nm"] + 5
    assert flexion["peak_torque_per_kg"] == pytest.approx(flexion["peak_torque_nm"] / 50, abs=1e-5)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"cutoff_hz": -1}, "cutoff_hz"), ({"window_tolerance_percent": 100}, "window_tolerance_percent"),
     ({"body_mass_kg": "nan"}, "body_mass_kg"), ({"min_repetitions": 1.5}, "min_repetitions"), ({"involved_side": "up"}, "involved_side"),
     ({"inertia_kgm2": -1}, "inertia_kgm2")],
)  # fmt: skip
def test_a_bad_query_parameter_is_a_422_naming_it(client: TestClient, headers: dict, params: dict, field: str) -> None:
    r = client.get("/api/v1/trials/1/analysis", params=params, headers=headers["viewer"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", field]


def test_a_trial_without_samples_is_a_409_and_an_unknown_one_a_404(client: TestClient, headers: dict, database: Database) -> None:
    subject = client.post("/api/v1/subjects", json={"code": "S-02"}, headers=headers["operator"]).json()
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject["id"]}, headers=headers["operator"]).json()["id"]
    with database.session() as session:
        trial = Trial(session_id=session_id, joint="knee", pattern="flexion/extension", side="left", mode="con/con",
                      velocity_plus_dps=60, velocity_minus_dps=60, repetitions=3)  # fmt: skip
        session.add(trial)
        session.commit()
        trial_id = trial.id
    r = client.get(f"/api/v1/trials/{trial_id}/analysis", headers=headers["viewer"])
    assert r.status_code == 409 and "has no samples yet" in r.json()["detail"]
    assert client.get("/api/v1/trials/999999/analysis", headers=headers["viewer"]).status_code == 404


def test_samples_without_a_repetition_are_a_422(client: TestClient, headers: dict, tmp_path: Path) -> None:
    t = np.arange(3000) / 1000.0
    still = Recording(t, 5 + np.zeros_like(t), 40 + np.zeros_like(t), np.zeros_like(t),
                      metadata={"joint": "knee", "side": "left", "mode": "con/con", "velocity_dps": "60", "repetitions": "3"})  # fmt: skip
    write_recording(tmp_path / "still.csv", still)
    trial_id = _trial(client, headers, (tmp_path / "still.csv").read_bytes())
    r = client.get(f"/api/v1/trials/{trial_id}/analysis", headers=headers["viewer"])
    assert r.status_code == 422 and "no repetitions found" in r.json()["detail"][0]["msg"]


def test_new_samples_are_analysed_and_unchanged_ones_come_from_the_cache(
    client: TestClient, headers: dict, knee: SimulatedSet, tmp_path: Path, database: Database
) -> None:
    trial_id = _trial(client, headers, _csv(knee, tmp_path / "left.csv"))
    url = f"/api/v1/trials/{trial_id}/analysis"
    cache = client.app.state.analysis_cache  # type: ignore[attr-defined]
    first = client.get(url, headers=headers["viewer"]).json()
    hits = cache.hits
    assert client.get(url, headers=headers["viewer"]).json() == first and cache.hits == hits + 1
    # the same set again, appended after the first: a trial that went on recording
    n = len(knee.time_s)
    rows = pack_samples(knee.time_s + knee.time_s[-1] + 0.001, knee.torque_nm, knee.position_deg, knee.velocity_dps,
                        np.zeros(n, dtype=np.uint32), np.arange(n, 2 * n))  # fmt: skip
    with database.session() as session:
        append_samples(session, trial_id, rows)
        session.commit()
    more = client.get(url, headers=headers["viewer"]).json()
    assert [s["repetitions"] for s in more["recordings"][0]["sets"]] == [6, 6]


def _stored_trial(client: TestClient, headers: dict, database: Database, sim: SimulatedSet, sequence: np.ndarray,
                  time_s: np.ndarray, keep: np.ndarray) -> int:
    """A trial whose samples are stored as the recorder stores them: host times, the device's sample index."""
    subject = client.post("/api/v1/subjects", json={"code": f"S-J{len(time_s)}-{int(keep.sum())}"}, headers=headers["operator"]).json()
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject["id"]}, headers=headers["operator"]).json()["id"]
    with database.session() as session:
        trial = Trial(session_id=session_id, joint="knee", pattern="flexion/extension", side="left", mode="con/con",
                      velocity_plus_dps=60, velocity_minus_dps=60, repetitions=3, state="complete",
                      gravity_torque_nm=24.0, horizontal_angle_deg=0.0)  # fmt: skip
        session.add(trial)
        session.commit()
        rows = pack_samples(time_s[keep], sim.torque_nm[keep], sim.position_deg[keep], sim.velocity_dps[keep],
                            np.zeros(int(keep.sum()), dtype=np.uint32), sequence)  # fmt: skip
        append_samples(session, trial.id, rows)
        session.commit()
        return int(trial.id)


def test_a_stored_trial_has_gaps_only_where_its_sample_index_jumps_never_from_host_time_jitter(
    client: TestClient, headers: dict, knee: SimulatedSet, database: Database
) -> None:
    n = len(knee.time_s)
    host = knee.time_s + 0.7e-3 * np.sin(2 * np.pi * np.arange(n) / 7.3)  # steps of 0.4 to 1.6 ms at 1 kHz
    everything = np.ones(n, dtype=bool)
    trial_id = _stored_trial(client, headers, database, knee, np.arange(n), host, everything)
    report = client.get(f"/api/v1/trials/{trial_id}/analysis", headers=headers["viewer"]).json()
    assert report["recordings"][0]["gaps"] == [] and "recording_gap" not in {f["rule"] for f in report["flags"]}
    assert [s["repetitions"] for s in report["recordings"][0]["sets"]] == [3, 3]

    rep = knee.truth.reps[2]  # 50 ms lost in the middle of the third movement
    keep = ~((knee.time_s > 0.5 * (rep.start_s + rep.end_s)) & (knee.time_s <= 0.5 * (rep.start_s + rep.end_s) + 0.05))
    trial_id = _stored_trial(client, headers, database, knee, np.flatnonzero(keep), host, keep)
    report = client.get(f"/api/v1/trials/{trial_id}/analysis", headers=headers["viewer"]).json()
    (gap,) = report["recordings"][0]["gaps"]
    assert gap["samples_lost"] == 50 and gap["reason"].startswith("sample index jumps")
    reps = sorted((r for s in report["recordings"][0]["sets"] for r in s["reps"]), key=lambda r: r["start_s"])
    assert len(reps) == 5  # only the cut movement is left out
    assert all(abs(r["start_s"] - rep.start_s) > 0.1 for r in reps)
