"""A REAL server: ``isokin token create`` then ``isokin serve --port N`` as subprocesses, spoken to over HTTP."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture()
def server(isokin_server, database_url: str) -> tuple[str, str, str]:
    """(base URL, admin token, backend): on SQLite the default file in ISOKIN_DATA_DIR, else ``--database``."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    token = isokin_server.create_token("admin", "e2e")
    serve_args: list[str] = []
    if backend == "postgresql":  # the flag, not the environment, names the database here
        isokin_server.env.pop("ISOKIN_DATABASE_URL")
        serve_args = ["--database", database_url]
    return isokin_server.start(*serve_args), token, backend


def test_real_server_with_a_cli_token(server: tuple[str, str, str]) -> None:
    base, token, backend = server
    admin = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{base}/api/v1", timeout=10) as http:
        health = http.get("/health", headers=admin).json()
        assert health["database"]["backend"] == backend and health["database"]["state"] == "ok"
        assert health["device"] in ({"state": "connecting", "url": "simulator"}, {"state": "connected", "url": "simulator"})
        assert http.get("/health").json()["device"] in ({"state": "connecting"}, {"state": "connected"})
        assert http.get("/subjects").status_code == 401
        code = f"E2E-{base.rsplit(':', 1)[1]}"
        subject = http.post(
            "/subjects", json={"code": code, "sex": "male", "birth_year": 1990, "body_mass_kg": 75}, headers=admin
        )
        assert subject.status_code == 201, subject.text
        subject_id = http.get("/subjects", params={"code": code}, headers=admin).json()["data"][0]["id"]
        assert subject_id == subject.json()["id"]
        session = http.post("/sessions", json={"subject_id": subject_id}, headers=admin)
        assert session.status_code == 201 and session.json()["subject_id"] == subject_id
        assert http.get("/protocols", params={"builtin": True}, headers=admin).json()["count"] >= 10
        viewer = http.post("/tokens", json={"role": "viewer"}, headers=admin).json()["token"]
        read_only = {"Authorization": f"Bearer {viewer}"}
        assert http.get(f"/sessions/{session.json()['id']}", headers=read_only).status_code == 200
        assert http.post("/subjects", json={"code": "S-02"}, headers=read_only).status_code == 403
        docs = httpx.get(f"{base}/docs", timeout=10)
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
