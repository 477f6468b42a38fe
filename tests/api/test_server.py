"""A REAL server: ``isokin token create`` then ``isokin serve --port N`` as subprocesses, spoken to over HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _isokin() -> list[str]:
    script = shutil.which("isokin", path=str(Path(sys.executable).parent)) or shutil.which("isokin")
    if script is None:
        pytest.fail("the isokin console script is not installed: run pip install -e '.[test]'")
    return [script]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(base URL, admin token, backend): on SQLite the default file in ISOKIN_DATA_DIR, else --database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOKIN_")}
    env["ISOKIN_DATA_DIR"] = str(tmp_path)
    serve_args: list[str] = []
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    if backend == "postgresql":
        env["ISOKIN_DATABASE_URL"] = database_url
        serve_args = ["--database", database_url]
    created = subprocess.run(
        _isokin() + ["token", "create", "--role", "admin", "--name", "e2e"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.split()[-1]
    if backend == "postgresql":
        env.pop("ISOKIN_DATABASE_URL")
    port = _free_port()
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen(
        _isokin() + ["serve", "--port", str(port), "--log-level", "warning"] + serve_args,
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"isokin serve did not come up (exit {proc.poll()}):\n{log.read()}")
            time.sleep(0.1)
        yield base, token, backend
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_real_server_with_a_cli_token(server: tuple[str, str, str]) -> None:
    base, token, backend = server
    admin = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{base}/api/v1", timeout=10) as http:
        health = http.get("/health").json()
        assert health["database"]["backend"] == backend and health["database"]["state"] == "ok"
        assert health["device"] in ({"state": "connecting", "url": "simulator"}, {"state": "connected", "url": "simulator"})
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
