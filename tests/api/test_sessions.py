"""Sessions: a subject's test day; minimal body, listing by subject, changes, 404s."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

URL = "/api/v1/sessions"


def _subject(client: TestClient, headers: dict, code: str = "S-01") -> int:
    return client.post("/api/v1/subjects", json={"code": code}, headers=headers["operator"]).json()["id"]


def test_minimal_body_creates_a_session_dated_today(client: TestClient, headers: dict) -> None:
    sid = _subject(client, headers)
    r = client.post(URL, json={"subject_id": sid}, headers=headers["operator"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["subject_id"] == sid and body["notes"] == ""
    assert body["date"] == dt.datetime.now(dt.UTC).date().isoformat()
    dated = client.post(URL, json={"subject_id": sid, "date": "2025-03-01", "notes": "pre-op"}, headers=headers["operator"])
    assert dated.json()["date"] == "2025-03-01" and dated.json()["notes"] == "pre-op"


def test_unknown_subject_is_404_and_bad_date_422(client: TestClient, headers: dict) -> None:
    r = client.post(URL, json={"subject_id": 4242}, headers=headers["operator"])
    assert r.status_code == 404 and "subject 4242" in r.json()["detail"]
    sid = _subject(client, headers)
    r = client.post(URL, json={"subject_id": sid, "date": "2025-13-01"}, headers=headers["operator"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "date"]


def test_sessions_are_listed_by_subject_both_ways(client: TestClient, headers: dict) -> None:
    a, b = _subject(client, headers, "A"), _subject(client, headers, "B")
    for subject_id, date in ((a, "2025-02-01"), (b, "2025-01-01"), (a, "2025-01-15")):
        client.post(URL, json={"subject_id": subject_id, "date": date}, headers=headers["operator"])
    assert client.get(URL, headers=headers["viewer"]).json()["count"] == 3
    filtered = client.get(URL, params={"subject_id": a}, headers=headers["viewer"]).json()
    assert filtered["count"] == 2 and {s["subject_id"] for s in filtered["data"]} == {a}
    nested = client.get(f"/api/v1/subjects/{a}/sessions", headers=headers["viewer"]).json()
    assert [s["date"] for s in nested["data"]] == ["2025-01-15", "2025-02-01"]
    assert client.get(URL, params={"subject_id": 4242}, headers=headers["viewer"]).status_code == 404
    assert client.get("/api/v1/subjects/4242/sessions", headers=headers["viewer"]).status_code == 404


def test_patch_and_delete(client: TestClient, headers: dict) -> None:
    sid = _subject(client, headers)
    session_id = client.post(URL, json={"subject_id": sid}, headers=headers["operator"]).json()["id"]
    r = client.patch(f"{URL}/{session_id}", json={"notes": "retest", "date": "2025-05-05"}, headers=headers["operator"])
    assert r.status_code == 200 and r.json()["notes"] == "retest" and r.json()["date"] == "2025-05-05"
    assert client.patch(f"{URL}/{session_id}", json={"date": None}, headers=headers["operator"]).status_code == 422
    assert client.delete(f"{URL}/{session_id}", headers=headers["operator"]).status_code == 204
    assert client.get(f"{URL}/{session_id}", headers=headers["viewer"]).status_code == 404
    assert client.get(f"/api/v1/subjects/{sid}", headers=headers["viewer"]).status_code == 200
