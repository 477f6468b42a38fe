"""The norm comparison and the angle-resolved LSI in the service: subjects' sport, the JSON report, its page and PDF.

The subject is the simulator's end-of-range profile (left quadriceps weak near full extension,
peak intact) recorded as a soccer player on the simulated Biodex-style board.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, SimulatedSet, simulate_set
from simulators.profile import SubjectProfile
from tests.api.test_web_report import check_cells_against, check_pdf_text

SIDES = ("left", "right")


@pytest.fixture(scope="module")
def end_range() -> dict[str, SimulatedSet]:
    profile = SubjectProfile.from_json(str(resources.files("simulators").joinpath("profiles", "end_range_deficit.json")))
    return {side: simulate_set(profile, SetProtocol(joint="knee", side=side, velocity_dps=60.0, repetitions=5), seed=7)
            for side in SIDES}  # fmt: skip


def _session(client: TestClient, headers: dict, sims: dict[str, SimulatedSet], tmp_path: Path, **subject: object) -> int:
    body = {"code": f"N-{len(list(tmp_path.iterdir()))}-{subject.get('sport')}", "sex": "male", "birth_year": 1999,
            "body_mass_kg": 75, "involved_side": "left", "dominant_side": "right"} | subject  # fmt: skip
    r = client.post("/api/v1/subjects", json=body, headers=headers["operator"])
    assert r.status_code == 201, r.text
    subject_id = r.json()["id"]
    session_id = client.post("/api/v1/sessions", json={"subject_id": subject_id, "date": "2026-11-02"},
                             headers=headers["operator"]).json()["id"]  # fmt: skip
    for side, sim in sims.items():
        metadata = {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": "60", "repetitions": "5",
                    "gravity_torque_nm": str(sim.truth.gravity_torque_nm), "horizontal_angle_deg": "0",
                    "calibration": "simulator"}  # fmt: skip
        path = tmp_path / f"{session_id}-{side}.csv"
        write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
        r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())},
                        headers=headers["operator"])  # fmt: skip
        assert r.status_code == 201, r.text
    return int(session_id)


def test_a_subjects_sport_is_kept_and_checked(client: TestClient, headers: dict) -> None:
    r = client.post("/api/v1/subjects", json={"code": "SP-1", "sport": "soccer"}, headers=headers["operator"])
    assert r.status_code == 201 and r.json()["sport"] == "soccer"
    subject_id = r.json()["id"]
    assert client.patch(f"/api/v1/subjects/{subject_id}", json={"sport": None}, headers=headers["operator"]).json()["sport"] is None
    bad = client.patch(f"/api/v1/subjects/{subject_id}", json={"sport": "soccer\u202e"}, headers=headers["operator"])
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "sport"
    assert client.patch(f"/api/v1/subjects/{subject_id}", json={"sport": "x" * 65}, headers=headers["operator"]).status_code == 422


def test_the_report_compares_a_soccer_player_and_shows_the_end_of_range_deficit(
    client: TestClient, headers: dict, end_range: dict, tmp_path: Path
) -> None:
    session_id = _session(client, headers, end_range, tmp_path, sport="soccer")
    document = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()
    norms = document["norms"]
    assert norms["subject"] == {"sex": "male", "age_years": 27.0, "sport": "soccer", "population": "soccer",
                                "dominant_side": "right"}  # fmt: skip
    assert [r["dynamometer"] for r in document["recordings"]] == ["isokin-sim", "isokin-sim"]
    assert norms["compared"] == 6 and norms["load_errors"] == []
    compared = [c for c in norms["comparisons"] if c["reference"]]
    assert {c["reference"]["set_id"] for c in compared} == {"fousekis2010"}
    assert all(c["z"] is not None for c in compared if c["measure"] == "peak_torque")
    extension = next(b for b in document["bilateral"] if b["direction"] == "extension")
    assert extension["lsi_percent"] > 95  # peak torque hides it
    (stretch,) = extension["angle_resolved"]["stretches"]
    assert stretch["kind"] == "low" and stretch["end_deg"] == pytest.approx(48.1, abs=2.5)
    assert any(f["rule"] == "angle_lsi_low" for f in document["flags"])

    page = client.get(f"/api/v1/sessions/{session_id}/report.html", headers=headers["viewer"]).text
    parsed = check_cells_against(document, page)  # every printed figure, the norm table's included, is the JSON's
    norm_cells = [c for c in parsed.cells if c["path"].startswith("norms/")]
    assert len(norm_cells) == 6 * 5  # value, mean, SD, z, percentile of each compared figure
    assert "Against reference values" in page and "Left/right symmetry angle by angle" in page
    assert "left LSI under 90 % from 1 to 48 deg" in page or "left LSI under 90 % from 2 to 48 deg" in page
    assert "Fousekis et al. 2010: soccer, male, n 100, 3 groups pooled" in page
    assert page.count("no reference set loaded gives the peak torque / body mass") == 4  # not compared, and why
    assert "Daneshjoo et al. 2012, soccer, male" in page  # published values beside the ratio, for orientation

    pdf = client.get(f"/api/v1/sessions/{session_id}/report.pdf", headers=headers["viewer"])
    assert pdf.status_code == 200
    text = check_pdf_text(pdf.content, parsed, tmp_path)
    for phrase in ("Against reference values", "Left/right symmetry angle by angle", "left LSI under 90 % from",
                   "Fousekis et al. 2010", "% of the reference group's mean"):  # fmt: skip
        assert phrase in text, phrase


def test_a_patient_is_compared_with_the_general_population_only(
    client: TestClient, headers: dict, end_range: dict, tmp_path: Path
) -> None:
    session_id = _session(client, headers, end_range, tmp_path, sport=None)
    document = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()
    assert document["norms"]["compared"] == 0
    reasons = {c["reason"] for c in document["norms"]["comparisons"] if c["measure"] == "peak_torque"}
    assert reasons == {"no matching reference group: Fousekis et al. 2010: population soccer (the subject: the general population)"}
    page = client.get(f"/api/v1/sessions/{session_id}/report.html", headers=headers["viewer"]).text
    assert "0 of 10 figures compared" in page and "Not compared (10)" in page


def test_a_labs_own_set_dropped_in_the_data_directory_is_used_and_a_bad_one_named(
    client: TestClient, headers: dict, end_range: dict, tmp_path: Path, app
) -> None:
    folder = Path(app.state.settings.data_dir) / "norms"
    folder.mkdir(exist_ok=True)
    good = folder / "ourlab.csv"
    good.write_text(resources.files("analysis").joinpath("norms_data", "fousekis2010.csv").read_text()
                    .replace("# id: fousekis2010", "# id: ourlab").replace("# sport: soccer", "# sport: rugby")
                    .replace("Fousekis K, Tsepis E, Vagenas G", "Ourlab A, Ourlab B"))  # fmt: skip
    bad = folder / "broken.csv"
    bad.write_text("# format: isokin-norms/1\n# id: broken\n")
    try:
        session_id = _session(client, headers, end_range, tmp_path, sport="Rugby")
        document = client.get(f"/api/v1/sessions/{session_id}/report", headers=headers["viewer"]).json()
    finally:
        good.unlink()
        bad.unlink()
    norms = document["norms"]
    assert norms["compared"] == 6
    assert {c["reference"]["set_id"] for c in norms["comparisons"] if c["reference"]} == {"ourlab"}
    assert {c["reference"]["origin"] for c in norms["comparisons"] if c["reference"]} == {str(good)}
    assert norms["load_errors"] == [{"origin": str(bad), "error": f"{bad}:1: missing header key 'citation' "
                                                                  "(write 'unknown' where the source does not say)"}]  # fmt: skip
