"""Subjects: CRUD, pagination, uniqueness, validation naming the field."""

from __future__ import annotations

from fastapi.testclient import TestClient

URL = "/api/v1/subjects"
MINIMAL = {"code": "S-01", "sex": "male", "birth_year": 1990, "body_mass_kg": 75}


def test_minimal_body_creates_a_subject_with_defaults(client: TestClient, headers: dict) -> None:
    r = client.post(URL, json=MINIMAL, headers=headers["operator"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] >= 1
    assert body | MINIMAL == body
    assert body["height_cm"] is None and body["involved_side"] is None and body["notes"] == ""
    assert client.get(f"{URL}/{body['id']}", headers=headers["viewer"]).json() == body


def test_duplicate_code_is_a_conflict(client: TestClient, headers: dict) -> None:
    first = client.post(URL, json=MINIMAL, headers=headers["operator"]).json()
    r = client.post(URL, json={"code": "S-01"}, headers=headers["operator"])
    assert r.status_code == 409
    assert "S-01" in r.json()["detail"] and str(first["id"]) in r.json()["detail"]


def test_bad_field_gets_422_naming_it(client: TestClient, headers: dict) -> None:
    for field, value in (("body_mass_kg", -3), ("birth_year", "x"), ("sex", "unknown"), ("involved_side", "both")):
        r = client.post(URL, json=MINIMAL | {field: value}, headers=headers["operator"])
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", field]
    r = client.post(URL, json={"sex": "male"}, headers=headers["operator"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "code"]


def test_control_characters_are_refused_in_codes_and_nul_in_notes(client: TestClient, headers: dict) -> None:
    assert client.post(URL, json={"code": "S\x0001"}, headers=headers["operator"]).status_code == 422
    assert client.post(URL, json={"code": " S-01"}, headers=headers["operator"]).status_code == 422
    assert client.post(URL, json={"code": "S-1", "notes": "a\x00b"}, headers=headers["operator"]).status_code == 422
    assert client.post(URL, json={"code": "S-1", "notes": "line 1\nline 2"}, headers=headers["operator"]).status_code == 201


def test_pagination_reports_the_total_and_slices_by_id(client: TestClient, headers: dict) -> None:
    ids = [client.post(URL, json={"code": f"P-{i:02d}"}, headers=headers["operator"]).json()["id"] for i in range(7)]
    page = client.get(URL, params={"offset": 2, "limit": 3}, headers=headers["viewer"]).json()
    assert page["count"] == 7
    assert [s["id"] for s in page["data"]] == ids[2:5]
    assert client.get(URL, params={"limit": 0}, headers=headers["viewer"]).status_code == 422
    found = client.get(URL, params={"code": "P-04"}, headers=headers["viewer"]).json()
    assert found["count"] == 1 and found["data"][0]["id"] == ids[4]


def test_patch_changes_given_fields_clears_nulls_and_keeps_the_rest(client: TestClient, headers: dict) -> None:
    sid = client.post(URL, json=MINIMAL | {"height_cm": 180}, headers=headers["operator"]).json()["id"]
    r = client.patch(f"{URL}/{sid}", json={"involved_side": "left", "height_cm": None}, headers=headers["operator"])
    assert r.status_code == 200, r.text
    assert r.json()["involved_side"] == "left" and r.json()["height_cm"] is None and r.json()["body_mass_kg"] == 75
    assert client.patch(f"{URL}/{sid}", json={"code": None}, headers=headers["operator"]).status_code == 422
    other = client.post(URL, json={"code": "S-02"}, headers=headers["operator"]).json()["id"]
    assert client.patch(f"{URL}/{other}", json={"code": "S-01"}, headers=headers["operator"]).status_code == 409
    assert client.patch(f"{URL}/{sid}", json={"code": "S-01"}, headers=headers["operator"]).status_code == 200


def test_unknown_ids_are_404_and_delete_removes_the_sessions_too(client: TestClient, headers: dict) -> None:
    assert client.get(f"{URL}/4242", headers=headers["viewer"]).status_code == 404
    assert client.patch(f"{URL}/4242", json={}, headers=headers["operator"]).status_code == 404
    assert client.delete(f"{URL}/4242", headers=headers["operator"]).status_code == 404
    assert client.get(f"{URL}/99999999999999999999", headers=headers["viewer"]).status_code == 422
    sid = client.post(URL, json=MINIMAL, headers=headers["operator"]).json()["id"]
    session_id = client.post("/api/v1/sessions", json={"subject_id": sid}, headers=headers["operator"]).json()["id"]
    assert client.delete(f"{URL}/{sid}", headers=headers["operator"]).status_code == 204
    assert client.get(f"{URL}/{sid}", headers=headers["viewer"]).status_code == 404
    assert client.get(f"/api/v1/sessions/{session_id}", headers=headers["viewer"]).status_code == 404
