"""Fixtures of the REST service's tests: every database-backed test runs on SQLite AND PostgreSQL.

PostgreSQL is the local server (``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
trust auth); each test session works in a fresh schema that it drops at the end. A
server that is down fails the PostgreSQL tests loudly with the command that starts it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import delete

from api.main import create_app
from api.security import Role, create_token
from api.settings import Settings
from api.storage.database import Database
from api.storage.models import Base, Protocol

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_CONNINFO = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=5"
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def _pg_schema_url(schema: str) -> str:
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
            yield _pg_schema_url(schema)
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
    settings = Settings(database_url=database_url, data_dir=tmp_path_factory.mktemp("data"))
    return create_app(settings, database=database)


def wipe(database: Database) -> None:
    """Delete every row but the built-in protocols."""
    with database.session() as session:
        for table in reversed(Base.metadata.sorted_tables):
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
