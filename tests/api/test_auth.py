"""Tokens and roles: 401 without a valid token, 403 below the route's role, tokens stored hashed."""

from __future__ import annotations

import hashlib

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.storage.database import Database
from api.storage.models import ApiToken

#: (method, path template) -> least role. Every route of the OpenAPI document must be here.
ROUTE_ROLES: dict[tuple[str, str], str | None] = {
    ("get", "/api/v1/health"): None,
    ("get", "/api/v1/subjects"): "viewer",
    ("post", "/api/v1/subjects"): "operator",
    ("get", "/api/v1/subjects/{subject_id}"): "viewer",
    ("patch", "/api/v1/subjects/{subject_id}"): "operator",
    ("delete", "/api/v1/subjects/{subject_id}"): "operator",
    ("get", "/api/v1/subjects/{subject_id}/sessions"): "viewer",
    ("get", "/api/v1/sessions"): "viewer",
    ("post", "/api/v1/sessions"): "operator",
    ("get", "/api/v1/sessions/{session_id}"): "viewer",
    ("patch", "/api/v1/sessions/{session_id}"): "operator",
    ("delete", "/api/v1/sessions/{session_id}"): "operator",
    ("get", "/api/v1/protocols"): "viewer",
    ("post", "/api/v1/protocols"): "operator",
    ("get", "/api/v1/protocols/{protocol_id}"): "viewer",
    ("patch", "/api/v1/protocols/{protocol_id}"): "operator",
    ("delete", "/api/v1/protocols/{protocol_id}"): "operator",
    ("get", "/api/v1/tokens"): "admin",
    ("post", "/api/v1/tokens"): "admin",
    ("delete", "/api/v1/tokens/{token_id}"): "admin",
    ("get", "/api/v1/audit"): "admin",
    ("post", "/api/v1/sessions/{session_id}/imports"): "operator",
    ("get", "/api/v1/trials/{trial_id}/analysis"): "viewer",
    ("get", "/api/v1/sessions/{session_id}/report"): "viewer",
    ("get", "/api/v1/subjects/{subject_id}/history"): "viewer",
    ("get", "/api/v1/device"): "viewer",
    ("post", "/api/v1/device/connect"): "operator",
    ("post", "/api/v1/device/disconnect"): "operator",
    ("get", "/api/v1/device/simulator/profiles"): "viewer",
    ("put", "/api/v1/device/simulator/profile"): "operator",
    ("get", "/api/v1/stations"): "viewer",
    ("post", "/api/v1/stations/{station_id}/recover"): "admin",
    ("post", "/api/v1/sessions/{session_id}/trials"): "operator",
    ("get", "/api/v1/sessions/{session_id}/trials"): "viewer",
    ("get", "/api/v1/trials/{trial_id}"): "viewer",
    ("delete", "/api/v1/trials/{trial_id}"): "operator",
    ("post", "/api/v1/trials/{trial_id}/weigh"): "operator",
    ("post", "/api/v1/trials/{trial_id}/start"): "operator",
    ("post", "/api/v1/trials/{trial_id}/stop"): "operator",
    ("get", "/api/v1/trials/{trial_id}/events"): "viewer",
    ("get", "/api/v1/trials/{trial_id}/samples"): "viewer",
    ("get", "/api/v1/trials/{trial_id}/live"): "viewer",
    ("get", "/api/v1/sessions/{session_id}/report.pdf"): "viewer",
    ("get", "/api/v1/sessions/{session_id}/report.html"): "viewer",
    ("get", "/api/v1/me"): "viewer",
    ("get", "/api/v1/subjects/{subject_id}/goals"): "viewer",
    ("post", "/api/v1/subjects/{subject_id}/goals"): "operator",
    ("get", "/api/v1/subjects/{subject_id}/goals/defaults"): "viewer",
    ("get", "/api/v1/subjects/{subject_id}/goals/progress"): "viewer",
    ("patch", "/api/v1/goals/{goal_id}"): "operator",
    ("delete", "/api/v1/goals/{goal_id}"): "operator",
}
RANK = {"viewer": 0, "operator": 1, "admin": 2}


def _concrete(path: str) -> str:
    return path.replace("{subject_id}", "1").replace("{session_id}", "1").replace("{protocol_id}", "1").replace(
        "{token_id}", "1"
    ).replace("{trial_id}", "1").replace("{goal_id}", "1")


def test_the_table_covers_every_route(app: FastAPI) -> None:
    documented = {(m, p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented == set(ROUTE_ROLES)


def test_no_or_bad_token_is_401_with_a_bearer_challenge(client: TestClient, headers: dict) -> None:
    valid = headers["admin"]["Authorization"].removeprefix("Bearer ")
    token_id = valid.split("_")[1]
    bad_headers = [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer isk_{token_id}_wrong-secret"},
        {"Authorization": "Bearer isk_999999_" + valid.split("_", 2)[2]},
        {"Authorization": f"Bearer isk_99999999999999999999999_{valid.split('_', 2)[2]}"},
    ]
    for (method, path), role in ROUTE_ROLES.items():
        if role is None:
            continue
        for bad in bad_headers:
            r = client.request(method.upper(), _concrete(path), headers=bad, json={})
            assert r.status_code == 401, (method, path, bad, r.text)
            assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_role_below_the_routes_is_403(client: TestClient, headers: dict, role: str) -> None:
    checked = 0
    for (method, path), needed in ROUTE_ROLES.items():
        if needed is None or RANK[needed] <= RANK[role]:
            continue
        r = client.request(method.upper(), _concrete(path), headers=headers[role], json={})
        assert r.status_code == 403, (method, path, role, r.text)
        assert needed in r.json()["detail"]
        checked += 1
    assert checked > 0


def test_each_role_reaches_its_routes(client: TestClient, headers: dict) -> None:
    assert client.get("/api/v1/subjects", headers=headers["viewer"]).status_code == 200
    assert client.post("/api/v1/subjects", json={"code": "S-9"}, headers=headers["operator"]).status_code == 201
    assert client.get("/api/v1/tokens", headers=headers["admin"]).status_code == 200
    assert client.get("/api/v1/health").status_code == 200


def test_tokens_are_stored_hashed_listed_without_secret_and_revocable(
    client: TestClient, headers: dict, database: Database
) -> None:
    r = client.post("/api/v1/tokens", json={"role": "viewer", "name": "reader"}, headers=headers["admin"])
    assert r.status_code == 201, r.text
    created = r.json()
    token = created["token"]
    assert len(token) > 40 and created["role"] == "viewer" and created["last_used_at"] is None
    with database.session() as session:
        stored = session.scalars(select(ApiToken)).all()
    secret = token.split("_", 2)[2]
    assert not any(secret in (row.secret_sha256 + row.name) for row in stored)
    assert hashlib.sha256(secret.encode()).hexdigest() in {row.secret_sha256 for row in stored}

    mine = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/subjects", headers=mine).status_code == 200
    listed = client.get("/api/v1/tokens", headers=headers["admin"]).json()
    assert listed["count"] == 4 and all("token" not in row for row in listed["data"])
    used = next(row for row in listed["data"] if row["id"] == created["id"])
    assert used["last_used_at"] is not None

    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=headers["admin"]).status_code == 204
    assert client.get("/api/v1/subjects", headers=mine).status_code == 401
    assert client.delete(f"/api/v1/tokens/{created['id']}", headers=headers["admin"]).status_code == 404
    assert client.post("/api/v1/tokens", json={"role": "root"}, headers=headers["admin"]).status_code == 422
