"""Error mapping in one place, request-size limit, CORS, and the unauthenticated health route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError, ProgrammingError

from analysis.errors import AnalysisError, NoRepetitionsError
from api.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ServiceError,
    StorageError,
    error_response,
    status_of,
)
from api.main import create_app
from api.settings import Settings
from api.storage.database import Database
from daq.errors import DeviceTimeout, DeviceUnavailable, RecordingFormatError
from firmware_protocols.errors import ProtocolError


def test_status_table_maps_domain_errors_by_their_most_specific_class() -> None:
    cases = {
        NotFoundError("subject", 3): 404,
        ConflictError("busy"): 409,
        StorageError("down"): 503,
        DeviceUnavailable("unplugged"): 409,
        DeviceTimeout("no answer"): 504,
        RecordingFormatError("bad file"): 422,
        NoRepetitionsError("flat"): 422,
        AnalysisError("odd"): 422,
        IntegrityError("insert", {}, Exception("unique")): 409,
        InvalidInputError("end_s", "below start_s"): 422,
        ProtocolError("field out of range"): 422,
        DatabaseError("select", {}, Exception("malformed")): 503,
        OperationalError("select", {}, Exception("gone")): 503,
        ProgrammingError("select", {}, Exception("syntax")): 500,
        ValueError("operands could not be broadcast"): 500,  # a library's ValueError is a bug, not the user's fault
        RuntimeError("bug"): 500,
    }
    assert {type(e).__name__: status_of(e) for e in cases} == {type(e).__name__: s for e, s in cases.items()}


def test_422_from_the_domain_has_the_validation_shape() -> None:
    assert error_response(422, "bad").body == b'{"detail":[{"loc":[],"msg":"bad","type":"value_error"}]}'
    assert error_response(404, "gone").body == b'{"detail":"gone"}'


@pytest.fixture()
def small_client(database: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path, max_body_bytes=1024, cors_origins="http://lab.example, http://b.example", station_id="small",
        acquisition_process=False,
    )
    with TestClient(create_app(settings, database=database)) as client:
        yield client


def test_oversized_bodies_get_413_declared_or_streamed(small_client: TestClient, headers: dict) -> None:
    big = b'{"code": "' + b"x" * 2000 + b'"}'
    r = small_client.post("/api/v1/subjects", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "1024" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for _ in range(4):
            yield b"x" * 400

    json_type = {"Content-Type": "application/json"}
    r = small_client.post("/api/v1/subjects", content=chunks(), headers=json_type | headers["operator"])
    assert r.status_code == 413
    # a body of unknown length needs an operator token before it is read
    assert small_client.post("/api/v1/subjects", content=chunks(), headers=json_type).status_code == 401
    assert small_client.post("/api/v1/subjects", content=chunks(), headers=json_type | headers["viewer"]).status_code == 403
    assert small_client.post("/api/v1/subjects", json={"code": "S"}).status_code == 401


def test_cors_is_off_by_default_and_on_for_configured_origins(client: TestClient, small_client: TestClient) -> None:
    preflight = {"Origin": "http://lab.example", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.options("/api/v1/subjects", headers=preflight).headers
    allowed = small_client.options("/api/v1/subjects", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "http://lab.example"
    other = small_client.get("/api/v1/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_health_needs_no_token_and_shows_details_only_to_viewers(client: TestClient, database: Database, headers: dict) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == {"state": "ok"} and set(body) == {"status", "database", "device"}
    assert set(body["device"]) == {"state"} and body["device"]["state"] in ("connecting", "connected")
    for bad in ({"Authorization": "Bearer isk_1_wrong"}, {"Authorization": "Basic x"}):
        seen = client.get("/api/v1/health", headers=bad).json()  # the device may have connected meanwhile
        assert seen | {"device": None} == body | {"device": None} and set(seen["device"]) == {"state"}
    detailed = client.get("/api/v1/health", headers=headers["viewer"]).json()
    assert detailed["version"] and detailed["database"] == {"state": "ok", "backend": database.backend, "revision": database.revision()}
    assert detailed["device"]["url"] == "simulator"  # the default device, connecting in the background


def test_health_reports_an_unreachable_database_without_failing(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'gone' / 'isokin.db'}")
    (tmp_path / "gone").rmdir()
    state = database.state()
    assert state.state == "unavailable" and state.revision is None and "missing" in (state.detail or "")


def test_health_probe_sees_a_damaged_sqlite_file_that_pooled_connections_still_cache(tmp_path: Path) -> None:
    database = Database.open(f"sqlite:///{tmp_path / 'isokin.db'}")
    assert database.state().state == "ok" and database.check() == []
    with database.engine.connect() as connection:  # a pooled connection holding pages
        connection.exec_driver_sql("SELECT * FROM subjects").fetchall()
    (tmp_path / "isokin.db").write_bytes(b"")  # what spy://?file= did
    state = database.state()
    assert state.state == "damaged" and state.revision is None and state.detail
    assert database.check() != []
    database.close()


def test_the_health_probe_is_reused_for_an_interval_and_repeated_at_once_after_a_failed_statement(tmp_path: Path) -> None:
    database = Database.open(f"sqlite:///{tmp_path / 'isokin.db'}")
    assert database.recent_state(60) is None and database.state(max_age_s=60).state == "ok"
    (tmp_path / "isokin.db").write_bytes(b"")  # damaged under the server: the last probe still stands...
    assert database.recent_state(60) is not None and database.state(max_age_s=60).state == "ok"
    assert database.state().state == "damaged"  # ...until asked without an age
    assert database.state(max_age_s=60).state == "damaged" and database.recent_state(60) is not None
    (tmp_path / "isokin.db").unlink()
    fresh = Database.open(f"sqlite:///{tmp_path / 'isokin.db'}")
    assert fresh.state(max_age_s=60).state == "ok"
    with pytest.raises(OperationalError):
        with fresh.engine.connect() as connection:
            connection.exec_driver_sql("SELECT * FROM no_such_table")
    assert fresh.recent_state(60) is None  # a statement failed: the next /health probes again
    assert fresh.state(max_age_s=60).state == "ok"
    database.close()
    fresh.close()


def test_health_without_a_token_runs_no_statement_within_its_interval(
    client: TestClient, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("api.routes.health.HEALTH_MAX_AGE_S", 3600.0)  # however slow the machine
    client.get("/api/v1/health").raise_for_status()
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        assert client.get("/api/v1/health").json()["database"] == {"state": "ok"}
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    assert statements == []


def test_bad_database_urls_are_storage_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="bad database URL"):
        Database("nosuchdb://x")
    with pytest.raises(StorageError, match="cannot migrate"):
        Database.open("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    assert issubclass(StorageError, ServiceError)


def test_unknown_query_parameters_are_422_naming_them(client: TestClient, headers: dict) -> None:
    r = client.get("/api/v1/sessions", params={"subjectid": 3, "limit": 5}, headers=headers["viewer"])
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["query", "subjectid"]]
    assert client.get("/api/v1/health", params={"verbose": 1}).status_code == 422
    assert client.get("/api/v1/sessions", params={"limit": 5, "offset": 0}, headers=headers["viewer"]).status_code == 200


def test_405_lists_every_method_of_the_path(client: TestClient, headers: dict) -> None:
    r = client.put("/api/v1/subjects/1", json={}, headers=headers["admin"])
    assert r.status_code == 405
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "PATCH", "DELETE"}


def test_an_unexpected_error_is_a_500_with_an_error_id_and_nothing_else(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(data_dir=tmp_path, device="none", acquisition_process=False), database=database)

    @app.get("/boom")
    def boom() -> None:
        raise ValueError("operands could not be broadcast together with shapes (3,) (4,) at /srv/secret/path")

    with TestClient(app) as client, caplog.at_level("ERROR"):
        r = client.get("/boom")
    assert r.status_code == 500
    body = r.json()
    assert set(body) == {"detail", "error_id"} and body["detail"] == f"internal error (error id {body['error_id']})"
    assert "broadcast" not in r.text and "/srv" not in r.text
    logged = [rec for rec in caplog.records if body["error_id"] in rec.getMessage()]
    assert logged and logged[0].exc_info is not None and "broadcast" in str(logged[0].exc_info[1])
