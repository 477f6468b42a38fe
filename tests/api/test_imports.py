"""POST /sessions/{id}/imports: vendor exports and recording CSVs become complete trials with their samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.routes.imports import FormatName
from api.settings import Settings
from api.storage.database import Database
from api.storage.models import Trial
from api.storage.samples import read_samples
from daq.importers import FORMATS, load_recording
from daq.recording import Recording, write_recording

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real recordings folder absent")
CTM380 = REAL / "contrex_ctm" / "CTM380.CTM"
TRUNCATED = REAL / "contrex_ctm" / "CTM448-truncated.CTM"
HUMAC60 = REAL / "humac_csv" / "S01 10_59_09 AM 60 5 Right 1.csv"


def _session(client: TestClient, headers: dict) -> int:
    subject = client.post("/api/v1/subjects", json={"code": "S-01", "body_mass_kg": 75}, headers=headers["operator"])
    return int(client.post("/api/v1/sessions", json={"subject_id": subject.json()["id"]}, headers=headers["operator"]).json()["id"])


def _upload(client: TestClient, headers: dict, session_id: int, name: str, raw: bytes, **form: object):
    return client.post(
        f"/api/v1/sessions/{session_id}/imports",
        files={"file": (name, raw)},
        data={k: str(v) for k, v in form.items()},
        headers=headers["operator"],
    )


def _trial_count(database: Database) -> int:
    with database.session() as session:
        return len(session.query(Trial).all())


@needs_real
def test_a_contrex_export_becomes_a_complete_trial_with_its_samples_markers_and_metadata(
    client: TestClient, headers: dict, database: Database
) -> None:
    session_id = _session(client, headers)
    r = _upload(client, headers, session_id, CTM380.name, CTM380.read_bytes())
    assert r.status_code == 201, r.text
    body = r.json()
    expected = load_recording(CTM380)
    assert body["state"] == "complete" and body["source_format"] == "contrex-ctm" and body["session_id"] == session_id
    assert (body["joint"], body["pattern"], body["side"], body["mode"]) == ("knee", "flexion/extension", "right", "con/con")
    assert (body["velocity_plus_dps"], body["velocity_minus_dps"], body["repetitions"]) == (60, 60, 3)
    assert body["sample_count"] == len(expected) and body["sample_rate_hz"] == 256
    assert body["markers"] == list(expected.markers)
    assert body["metadata"]["body_mass_kg"] == "67" and body["metadata"]["file_name"] == "CTM380.CTM"
    assert body["overrides"] == []
    with database.session() as session:
        stored = read_samples(session, body["id"])
        trial = session.get(Trial, body["id"])
        assert trial is not None and trial.markers == ",".join(map(str, expected.markers))
        assert json.loads(trial.metadata_json or "{}")["subject"] == expected.metadata["subject"]
    np.testing.assert_array_equal(stored.time_s, expected.time_s)
    np.testing.assert_array_equal(stored.torque_nm, expected.torque_nm)
    np.testing.assert_array_equal(stored.position_deg, expected.position_deg)
    np.testing.assert_array_equal(stored.velocity_dps, expected.velocity_dps)
    np.testing.assert_array_equal(stored.sequence, np.arange(len(expected)))


@needs_real
def test_a_truncated_export_is_a_422_with_the_importers_message_and_stores_nothing(
    client: TestClient, headers: dict, database: Database
) -> None:
    session_id = _session(client, headers)
    r = _upload(client, headers, session_id, TRUNCATED.name, TRUNCATED.read_bytes())
    assert r.status_code == 422, r.text
    message = r.json()["detail"][0]["msg"]
    assert message == "CTM448-truncated.CTM: header promises 4923 samples, file holds 160"
    assert _trial_count(database) == 0


@needs_real
def test_a_forced_format_that_does_not_fit_is_a_422(client: TestClient, headers: dict) -> None:
    session_id = _session(client, headers)
    r = _upload(client, headers, session_id, CTM380.name, CTM380.read_bytes(), format="humac-csv")
    assert r.status_code == 422 and r.json()["detail"][0]["msg"].startswith("CTM380.CTM: not a HUMAC CSV export")


@needs_real
def test_the_recording_csv_the_service_exports_imports_back_as_the_same_trial(client: TestClient, headers: dict) -> None:
    session_id = _session(client, headers)
    first = _upload(client, headers, session_id, CTM380.name, CTM380.read_bytes()).json()
    exported = client.get(f"/api/v1/trials/{first['id']}/samples", params={"format": "csv"}, headers=headers["viewer"])
    assert exported.status_code == 200, exported.text
    again = _upload(client, headers, session_id, "CTM380.csv", exported.content)
    assert again.status_code == 201, again.text
    second = again.json()
    same = ("joint", "pattern", "side", "mode", "velocity_plus_dps", "repetitions", "sample_count", "sample_rate_hz", "markers")
    assert {k: second[k] for k in same} == {k: first[k] for k in same}
    analyses = [client.get(f"/api/v1/trials/{t['id']}/analysis", headers=headers["viewer"]).json() for t in (first, second)]
    peaks = [[s["peak_torque_nm"] for s in a["recordings"][0]["sets"]] for a in analyses]
    assert peaks[0] == pytest.approx(peaks[1], rel=1e-4)


@needs_real
def test_what_the_file_lacks_is_asked_for_by_form_field_and_form_fields_override_the_file(
    client: TestClient, headers: dict
) -> None:
    session_id = _session(client, headers)
    raw = HUMAC60.read_bytes()
    missing = _upload(client, headers, session_id, HUMAC60.name, raw)
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"] == ["body", "joint"] and "'joint' form field" in missing.json()["detail"][0]["msg"]

    r = _upload(client, headers, session_id, HUMAC60.name, raw, joint="knee", side="left", body_mass_kg=80.5)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["source_format"] == "humac-csv" and body["side"] == "left" and body["repetitions"] == 5
    assert len(body["markers"]) == 11 and body["velocity_plus_dps"] == 60
    assert body["overrides"] == ["body_mass_kg", "joint", "side"]
    assert body["metadata"]["side"] == "left" and body["metadata"]["body_mass_kg"] == "80.5"
    assert body["metadata"]["subject"] == "S01"  # from the file name, which the upload keeps


def test_a_recording_csv_keeps_its_gravity_torque_and_status(
    client: TestClient, headers: dict, database: Database, tmp_path: Path
) -> None:
    t = np.arange(2000) / 1000.0
    recording = Recording(
        time_s=t, torque_nm=50 * np.sin(t), position_deg=45 + 40 * np.sin(2 * t), velocity_dps=80 * np.cos(2 * t),
        metadata={"joint": "knee", "side": "right", "mode": "con/con", "velocity_dps": "60", "repetitions": "2",
                  "gravity_torque_nm": "21.5", "horizontal_angle_deg": "5", "sample_rate_hz": "1000"},
        extra={"status": (np.arange(2000) % 2).astype(np.int64)},
    )  # fmt: skip
    write_recording(tmp_path / "rec.csv", recording)
    session_id = _session(client, headers)
    r = _upload(client, headers, session_id, "../../etc/rec.csv", (tmp_path / "rec.csv").read_bytes())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["source_format"] == "isokin" and body["file_name"] == "rec.csv"
    assert (body["gravity_torque_nm"], body["horizontal_angle_deg"], body["markers"]) == (21.5, 5.0, None)
    assert body["sample_count"] == 2000 and body["duration_s"] == pytest.approx(1.999)
    with database.session() as session:
        stored = read_samples(session, body["id"])
    np.testing.assert_array_equal(stored.status, np.arange(2000) % 2)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [(b"", "empty file"), (b"hello,world\n1,2\n", "unknown format"), (b"\x00\x01binary", "binary file")],
)
def test_an_unreadable_upload_is_a_422_naming_the_file(client: TestClient, headers: dict, raw: bytes, fragment: str) -> None:
    session_id = _session(client, headers)
    r = _upload(client, headers, session_id, "data.txt", raw)
    assert r.status_code == 422, r.text
    message = r.json()["detail"][0]["msg"]
    assert message.startswith("data.txt: ") and fragment in message and "isokin-import-" not in message


def test_an_unknown_session_is_a_404(client: TestClient, headers: dict) -> None:
    r = _upload(client, headers, 999, "x.csv", b"time_s,torque_nm,position_deg,velocity_dps\n0,0,0,0\n")
    assert r.status_code == 404 and r.json()["detail"] == "session 999 not found"


def test_an_upload_over_the_body_limit_is_a_413_and_stores_nothing(
    database: Database, database_url: str, tmp_path: Path, headers: dict
) -> None:
    small = create_app(
        Settings(database_url=database_url, data_dir=tmp_path, max_body_bytes=4096, station_id="small", acquisition_process=False), database=database
    )
    with TestClient(small) as client:
        session_id = _session(client, headers)
        r = _upload(client, headers, session_id, "big.csv", b"0,0,0,0\n" * 2000)
        assert r.status_code == 413 and "4096 bytes" in r.json()["detail"]
        assert _trial_count(database) == 0


def test_the_format_field_offers_exactly_the_importers_formats() -> None:
    assert get_args(FormatName) == tuple(FORMATS)
