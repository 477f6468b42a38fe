"""GET /sessions/{id}/report: both sides of the default simulated subject (weak LEFT hamstrings), JSON and CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.storage.database import Database
from api.storage.models import Trial
from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, SimulatedSet, default_profile, simulate_set

SIDES = ("left", "right")


@pytest.fixture(scope="module")
def knees() -> dict[str, SimulatedSet]:
    """Knee con/con 60 deg/s x 3 on each side, gravity included."""
    return {
        side: simulate_set(
            default_profile(),
            SetProtocol(joint="knee", side=side, mode="con/con", velocity_dps=60.0, repetitions=3),
            sample_rate_hz=1000.0,
            seed=11,
        )
        for side in SIDES
    }


def _best(sim: SimulatedSet, group: str) -> float:
    return max(rep.peak_torque_nm for rep in sim.truth.reps if rep.group == group)


def _session_with_both_sides(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path, **subject: object
) -> tuple[int, dict[str, int]]:
    body = {"code": "S-01", "sex": "male", "birth_year": 1990, "body_mass_kg": 75} | subject
    subject_id = client.post("/api/v1/subjects", json=body, headers=headers["operator"]).json()["id"]
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject_id}, headers=headers["operator"]).json()["id"]
    trials = {}
    for side, sim in knees.items():
        truth = sim.truth
        path = tmp_path / f"{side}.csv"
        metadata = {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": "60", "repetitions": "3",
                    "gravity_torque_nm": str(truth.gravity_torque_nm), "horizontal_angle_deg": "0"}  # fmt: skip
        write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
        r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())},
                        headers=headers["operator"])  # fmt: skip
        assert r.status_code == 201, r.text
        trials[side] = r.json()["id"]
    return session_id, trials


def test_the_report_gives_each_sides_hq_and_the_bilateral_deficits_of_the_simulated_subject(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path
) -> None:
    session_id, trials = _session_with_both_sides(client, headers, knees, tmp_path)
    r = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"])
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["schema"] == "isokin-analysis/1" and report["session"]["id"] == session_id
    assert report["subject"]["code"] == "S-01" and report["parameters"]["involved_side"] is None
    assert [(t["trial_id"], t["recording_index"], t["reason"]) for t in report["trials"]] == [
        (trials["left"], 0, None), (trials["right"], 1, None)
    ]
    assert [rec["trial_id"] for rec in report["recordings"]] == [trials["left"], trials["right"]]

    hq = {r["numerator"]["side"]: r for r in report["ratios"] if r["kind"] == "conventional"}
    for side, sim in knees.items():
        assert hq[side]["numerator"]["trial_id"] == trials[side]
        assert hq[side]["value"] == pytest.approx(_best(sim, "flexion") / _best(sim, "extension"), abs=0.02)
    assert hq["left"]["value"] < 0.5 < hq["right"]["value"]  # profile: 0.46 against 0.60

    bilateral = {b["direction"]: b for b in report["bilateral"]}
    flexion = bilateral["flexion"]
    truth_deficit = 100 * (1 - _best(knees["left"], "flexion") / _best(knees["right"], "flexion"))
    assert flexion["reference_side"] == "right" and flexion["involved_side"] is None
    assert flexion["deficit_percent"] == pytest.approx(truth_deficit, abs=2.0)
    assert bilateral["extension"]["deficit_percent"] < 5
    rules = {(f["rule"], f["subject"]) for f in report["flags"]}
    assert ("deficit_probable", "knee flexion concentric 60 deg/s") in rules
    assert any(rule == "hq_conventional_low" and subject.startswith("left") for rule, subject in rules)


def test_the_subjects_involved_side_is_the_one_under_test(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path
) -> None:
    session_id, _ = _session_with_both_sides(client, headers, knees, tmp_path, involved_side="right")
    report = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()
    flexion = next(b for b in report["bilateral"] if b["direction"] == "flexion")
    assert report["parameters"]["involved_side"] == "right"
    assert flexion["involved_side"] == "right" and flexion["reference_side"] == "left"
    assert flexion["deficit_percent"] < -20  # the involved right side is the stronger one
    by_query = client.get(
        f"/api/v1/sessions/{session_id}/report", params={"involved_side": "left"}, headers=headers["viewer"]
    ).json()
    assert next(b for b in by_query["bilateral"] if b["direction"] == "flexion")["reference_side"] == "right"


def _sections(text: str) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for block in text.replace("\r\n", "\n").strip("\n").split("\n\n"):
        title, rest = block.split("\n", 1)
        assert title.startswith("# ")
        out[title[2:]] = list(csv.DictReader(io.StringIO(rest)))
    return out


def test_the_csv_report_has_one_table_per_section_with_the_json_figures(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path
) -> None:
    session_id, trials = _session_with_both_sides(client, headers, knees, tmp_path)
    url = f"/api/v1/sessions/{session_id}/report"
    report = client.get(url, headers=headers["viewer"]).json()
    r = client.get(url, params={"format": "csv"}, headers=headers["viewer"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"session-{session_id}-report.csv" in r.headers["content-disposition"]
    tables = _sections(r.text)
    assert list(tables) == ["session", "sets", "ratios", "bilateral", "flags", "trials", "verdict"]
    assert tables["session"][0]["subject_code"] == "S-01"
    sets = [(int(row["trial_id"]), row["direction"], float(row["peak_torque_nm"])) for row in tables["sets"]]
    assert sets == [
        (rec["trial_id"], s["direction"], s["peak_torque_nm"]) for rec in report["recordings"] for s in rec["sets"]
    ]
    assert [float(row["value"]) for row in tables["ratios"]] == [ratio["value"] for ratio in report["ratios"]]
    assert [float(row["deficit_percent"]) for row in tables["bilateral"]] == [b["deficit_percent"] for b in report["bilateral"]]
    assert [row["rule"] for row in tables["flags"]] == [f["rule"] for f in report["flags"]]
    assert [(int(row["trial_id"]), row["analysed"]) for row in tables["trials"]] == [
        (trials["left"], "true"), (trials["right"], "true")
    ]


def test_trials_not_analysable_are_listed_with_the_reason_and_left_out(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path, database: Database
) -> None:
    session_id, trials = _session_with_both_sides(client, headers, knees, tmp_path)
    with database.session() as session:
        for state in ("created", "recording"):
            session.add(Trial(session_id=session_id, joint="knee", pattern="flexion/extension", side="left", mode="con/con",
                              velocity_plus_dps=180, velocity_minus_dps=180, repetitions=3, state=state))  # fmt: skip
        session.commit()
    report = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()
    assert [t["reason"] for t in report["trials"]] == [None, None, "no samples", "still recording"]
    assert len(report["recordings"]) == 2 and len(report["bilateral"]) == 2


def test_an_empty_or_unknown_session(client: TestClient, headers: dict) -> None:
    subject_id = client.post("/api/v1/subjects", json={"code": "S-03"}, headers=headers["operator"]).json()["id"]
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject_id}, headers=headers["operator"]).json()["id"]
    empty = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()
    assert (empty["recordings"], empty["ratios"], empty["bilateral"], empty["flags"], empty["trials"]) == ([], [], [], [], [])
    assert client.get("/api/v1/sessions/999999/report", headers=headers["viewer"]).status_code == 404
    assert client.get(f"/api/v1/sessions/{session_id}/report", params={"format": "xml"}, headers=headers["viewer"]).status_code == 422


@pytest.mark.parametrize("scale", [0.9, 1.1], ids=["weaker retake", "stronger retake"])
def test_a_retake_is_listed_but_only_each_sides_strongest_set_is_compared(
    client: TestClient, headers: dict, knees: dict[str, SimulatedSet], tmp_path: Path, scale: float
) -> None:
    """The technician records the right knee again in the same session: its sets are reported, the deficits,
    ratios and the printed table use each side's strongest set of a condition, and the report (JSON and
    printed) names the sets that were not paired."""
    session_id, trials = _session_with_both_sides(client, headers, knees, tmp_path)
    sim = knees["right"]
    path = tmp_path / "right-again.csv"
    metadata = {"joint": "knee", "side": "right", "mode": "con/con", "velocity_dps": "60", "repetitions": "3",
                "gravity_torque_nm": str(sim.truth.gravity_torque_nm), "horizontal_angle_deg": "0"}  # fmt: skip
    write_recording(path, Recording(sim.time_s, scale * sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
    r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())},
                    headers=headers["operator"])  # fmt: skip
    assert r.status_code == 201, r.text
    retake = r.json()["id"]
    compared, dropped, dropped_name = (trials["right"], retake, "right-again.csv") if scale < 1 else (retake, trials["right"], "right.csv")
    report = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()
    assert [rec["trial_id"] for rec in report["recordings"]] == [trials["left"], trials["right"], retake]
    assert len(report["bilateral"]) == 2 and {b["right_trial_id"] for b in report["bilateral"]} == {compared}
    right_ratios = [r for r in report["ratios"] if r["numerator"]["side"] == "right"]
    assert len(report["ratios"]) == 2 and {r["numerator"]["trial_id"] for r in right_ratios} == {compared}
    notes = [note for note in report["pairing"]["not_paired_sets"] if "a retake" in note]
    assert len(notes) == 2 and all(note.startswith(f"trial {dropped} ({dropped_name}) right knee") for note in notes)
    printed = client.get(f"/api/v1/sessions/{session_id}/report.html", headers=headers["viewer"])
    assert printed.status_code == 200 and "Not paired" in printed.text
    assert f"trial {dropped} ({dropped_name}) right knee flexion" in printed.text
    # the table's right column is the set the deficit compares
    shown = set(re.findall(r'data-path="recordings/(\d+)/sets/\d+/peak_torque_nm"', printed.text))
    assert shown == {"0", str(report["recordings"].index(next(x for x in report["recordings"] if x["trial_id"] == compared)))}
