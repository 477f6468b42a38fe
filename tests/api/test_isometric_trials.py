"""Isometric protocols of the library, run by the service on the simulator and judged against its truth (issue 10)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from simulators.model import SetProtocol, default_profile, simulate_set
from simulators.source import chunk_seed

SEED = 4
FAST_SIM = f"sim://?speed=40&seed={SEED}"


@pytest.fixture()
def op(headers: dict) -> dict[str, str]:
    return headers["operator"]


@pytest.fixture()
def fast_device(client: TestClient, op: dict) -> Iterator[None]:
    r = client.post("/api/v1/device/connect", json={"url": FAST_SIM}, headers=op)
    assert r.status_code == 200 and r.json()["state"] == "connected", r.text
    yield


def _protocol(client: TestClient, op: dict, key: str) -> dict:
    protocols = client.get("/api/v1/protocols", params={"limit": 100}, headers=op).json()["data"]
    return next(p for p in protocols if p["key"] == key)


def _run(client: TestClient, op: dict, session_id: int, template: dict, protocol_id: int) -> dict:
    fields = ("joint", "pattern", "side", "mode", "group", "repetitions", "rom_min_deg", "rom_max_deg")
    r = client.post(f"/api/v1/sessions/{session_id}/trials", json={k: template[k] for k in fields} | {"protocol_id": protocol_id},
                    headers=op)  # fmt: skip
    assert r.status_code == 201, r.text
    trial = r.json()
    assert (trial["mode"], trial["velocity_plus_dps"], trial["rom_min_deg"]) == ("isometric", 0.0, template["rom_min_deg"])
    assert client.post(f"/api/v1/trials/{trial['id']}/start", headers=op).status_code == 200
    deadline = time.monotonic() + 60
    while (state := client.get(f"/api/v1/trials/{trial['id']}", headers=op).json())["state"] == "recording":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert state["state"] == "complete", state
    return state


def test_the_knee_isometric_protocol_runs_on_the_simulator_and_its_report_matches_the_truth(
    client: TestClient, op: dict, fast_device: None
) -> None:
    protocol = _protocol(client, op, "knee-isometric-60")
    subject = client.post("/api/v1/subjects", json={"code": "S-ISO", "body_mass_kg": 75}, headers=op).json()
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject["id"]}, headers=op).json()["id"]
    for template in protocol["trials"]:
        _run(client, op, session_id, template, protocol["id"])
    report = client.get(f"/api/v1/sessions/{session_id}/report", headers=op)
    assert report.status_code == 200, report.text
    body = report.json()
    truth = {side: simulate_set(default_profile(), SetProtocol(joint="knee", side=side, mode="isometric", repetitions=3,
                                                               angle_deg=60.0), sample_rate_hz=1000.0,
                                seed=chunk_seed(SEED, 0)).truth for side in ("left", "right")}  # fmt: skip
    best = {side: {g: max(r.peak_torque_nm for r in t.reps if r.group == g) for g in ("flexion", "extension")}
            for side, t in truth.items()}
    for rec in body["recordings"]:
        assert rec["segmentation"] == "isometric"
        sets = {s["direction"]: s for s in rec["sets"]}
        for group in ("flexion", "extension"):
            assert sets[group]["contraction"] == "isometric" and sets[group]["repetitions"] == 3
            assert sets[group]["angle_deg"] == pytest.approx(60.0, abs=0.2)
            assert sets[group]["peak_torque_nm"] == pytest.approx(best[rec["side"]][group], rel=0.02)
    ratios = {r["numerator"]["side"]: r for r in body["ratios"]}
    for side in ("left", "right"):
        assert ratios[side]["kind"] == "isometric" and ratios[side]["label"] == "Hiso/Qiso"
        assert ratios[side]["value"] == pytest.approx(best[side]["flexion"] / best[side]["extension"], abs=0.02)
    flexion = next(b for b in body["bilateral"] if b["direction"] == "flexion")
    lt, rt = best["left"]["flexion"], best["right"]["flexion"]
    assert flexion["deficit_percent"] == pytest.approx(100 * (max(lt, rt) - min(lt, rt)) / max(lt, rt), abs=2.0)
    assert flexion["left_trial_id"] and flexion["right_trial_id"]
    assert body["verdict"][0]["text"].startswith("Imbalance: left hamstrings")


def test_an_isometric_trial_needs_its_angle(client: TestClient, op: dict) -> None:
    subject = client.post("/api/v1/subjects", json={"code": "S-ISO2"}, headers=op).json()
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject["id"]}, headers=op).json()["id"]
    r = client.post(f"/api/v1/sessions/{session_id}/trials", json={"joint": "knee", "side": "left", "mode": "isometric",
                                                                     "repetitions": 3}, headers=op)  # fmt: skip
    assert r.status_code == 422 and "an isometric set holds one angle" in r.text


REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"


@pytest.mark.skipif(not REAL.is_dir(), reason="shared/data/real is not available")
def test_the_humac_isometric_export_imports_and_is_analysed(client: TestClient, op: dict) -> None:
    path = REAL / "humac_csv" / "S02 10_38_18 AM 70 1 Right 6.csv"
    subject = client.post("/api/v1/subjects", json={"code": "S-ISO3"}, headers=op).json()
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject["id"]}, headers=op).json()["id"]
    r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())},
                    data={"joint": "knee"}, headers=op)  # fmt: skip
    assert r.status_code == 201, r.text
    trial = r.json()
    assert (trial["mode"], trial["velocity_plus_dps"]) == ("isometric", 0.0)
    analysis = client.get(f"/api/v1/trials/{trial['id']}/analysis", headers=op).json()
    (s,) = analysis["recordings"][0]["sets"]
    assert (s["direction"], s["contraction"], s["repetitions"]) == ("unknown", "isometric", 1)
    assert s["peak_torque_nm"] == pytest.approx(135.624 - 3.311, abs=0.5)
