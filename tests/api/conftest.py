"""Fixtures of the REST service's tests: every database-backed test runs on SQLite AND PostgreSQL.

PostgreSQL is the local server (``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
trust auth); each test session works in a fresh schema that it drops at the end. A
server that is down fails the PostgreSQL tests loudly with the command that starts it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete

from api.main import create_app
from api.security import Role, create_token
from api.settings import Settings
from api.storage.database import Database
from api.storage.models import AuditEvent, Base, Protocol

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def pg_schema_url(schema: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLAlchemy URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'isokin.db'}"
        return
    try:
        admin = psycopg.connect(PG_CONNINFO, autocommit=True)
    except psycopg.OperationalError as err:
        pytest.fail(
            f"PostgreSQL is not reachable at 127.0.0.1:5432 ({str(err).strip()}); start it with:\n    {PG_START}",
            pytrace=False,
        )
    schema = f"isokin_test_{secrets.token_hex(6)}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield pg_schema_url(schema)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    """The migrated database of this test session."""
    db = Database.open(database_url)
    yield db
    db.close()


@pytest.fixture(scope="session")
def app(database: Database, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    # In this process, so tests see the in-process simulator's sessions (find_session); the acquisition
    # process is what every real ``isokin serve`` of the tests runs.
    settings = Settings(database_url=database_url, data_dir=tmp_path_factory.mktemp("data"), acquisition_process=False)
    return create_app(settings, database=database)


def wipe(database: Database) -> None:
    """Delete every row but the built-in protocols and the audit trail (append-only: the database refuses)."""
    with database.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table is AuditEvent.__table__:
                continue
            statement = delete(table)
            if table is Protocol.__table__:
                statement = statement.where(Protocol.builtin.is_(False))
            session.execute(statement)
        session.commit()


@pytest.fixture()
def client(app: FastAPI, database: Database) -> Iterator[TestClient]:
    """A client of the in-process app, on a database holding only the built-in protocols."""
    wipe(database)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def headers(client: TestClient, database: Database) -> dict[str, dict[str, str]]:
    """``Authorization`` headers of a fresh viewer, operator and admin token, by role name."""
    out: dict[str, dict[str, str]] = {}
    with database.session() as session:
        for role in Role:
            _, token = create_token(session, role=role, name=f"test {role.value}")
            out[role.value] = {"Authorization": f"Bearer {token}"}
        session.commit()
    return out


class IsokinServer:
    """Real ``isokin serve`` subprocesses (one at a time) on this test's database and a fresh data dir.

    ``env`` is what every ``isokin`` command of the test sees; tests may add to it
    (``ISOKIN_DEVICE``, ``ISOKIN_STATION_ID``) before :meth:`start`.
    """

    def __init__(self, database_url: str, data_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ISOKIN_")}
        self.env["ISOKIN_DATA_DIR"] = str(data_dir)
        if not database_url.startswith("sqlite"):
            self.env["ISOKIN_DATABASE_URL"] = database_url
        self.log_path = data_dir / "serve.log"
        self.proc: subprocess.Popen[str] | None = None
        self.base = ""

    @staticmethod
    def command() -> str:
        script = shutil.which("isokin", path=str(Path(sys.executable).parent)) or shutil.which("isokin")
        if script is None:
            pytest.fail("the isokin console script is not installed: run pip install -e '.[test]'")
        return script

    def create_token(self, role: str, name: str = "test") -> str:
        """``isokin token create``: the token is the last word it prints."""
        done = subprocess.run(
            [self.command(), "token", "create", "--role", role, "--name", name],
            env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[-1]

    def start(self, *args: str, wait_for_device: bool = False) -> str:
        """Start ``isokin serve --port <free> ARGS``; its base URL once health answers (and the device is connected)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        self.base = f"http://127.0.0.1:{port}"
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [self.command(), "serve", "--port", str(port), "--log-level", "warning", *args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{self.base}/api/v1/health", timeout=2)
                if health.status_code == 200 and (not wait_for_device or health.json()["device"]["state"] == "connected"):
                    return self.base
            except (httpx.TransportError, ValueError, KeyError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"isokin serve did not come up (exit {self.proc.poll()}):\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def kill(self, *, everything: bool = False) -> float:
        """SIGKILL the server (``everything``: with its acquisition process, as a power cut would); the kill's wall time."""
        assert self.proc is not None
        killed_at = time.time()
        if everything:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the server leads its own process group
        else:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        return killed_at

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture()
def isokin_servers(database_url: str, tmp_path: Path) -> Iterator[Callable[[str], IsokinServer]]:
    """Factory of real servers sharing this test's database (SQLite file or PostgreSQL schema), each with
    its own data dir and station id; every one is stopped at the end."""
    made: list[IsokinServer] = []

    def make(station_id: str) -> IsokinServer:
        (tmp_path / station_id).mkdir()
        server = IsokinServer(database_url, tmp_path / station_id)
        server.env["ISOKIN_DATABASE_URL"] = database_url
        server.env["ISOKIN_STATION_ID"] = station_id
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.stop()


@pytest.fixture()
def isokin_server(database_url: str, tmp_path: Path) -> Iterator[IsokinServer]:
    """A real ``isokin serve`` for this test (not started yet), stopped at the end."""
    server = IsokinServer(database_url, tmp_path)
    try:
        yield server
    finally:
        server.stop()
