"""Opening the database: engine, SQLite pragmas, Alembic migrations, sessions, health.

SQLite files get WAL journaling (readers never block the writer), foreign keys,
a busy timeout and ``synchronous=NORMAL`` (durable at each checkpoint, safe against
a killed process). PostgreSQL URLs (``postgresql+psycopg://...``) are used as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from api.errors import StorageError

__all__ = ["MIGRATIONS_DIR", "Database", "DatabaseState"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Milliseconds a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class DatabaseState:
    """What ``/health`` reports about the database."""

    state: Literal["ok", "unavailable"]
    backend: str
    revision: str | None
    detail: str | None = None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


class Database:
    """A database the service can use, once :meth:`upgrade` has run.

    Parameters
    ----------
    url
        SQLAlchemy URL, e.g. ``sqlite:////var/lib/isokin/isokin.db`` or
        ``postgresql+psycopg://user@host:5432/isokin``.
    pool_size
        Connections kept for requests (as many again may open under load). The recorder
        writes on a connection of its own (:meth:`recorder_session`), never one of these, so
        requests that take every pooled connection cannot hold up a recording.

    Raises
    ------
    StorageError
        When the URL is malformed or names a driver that is not installed.
    """

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        if pool_size < 1:
            raise ValueError(f"pool_size must be at least 1, got {pool_size}")
        try:
            parsed = make_url(url)
            kwargs: dict[str, Any] = {"pool_pre_ping": True}
            memory = False
            if parsed.get_backend_name() == "sqlite":
                database = parsed.database or ""
                kwargs["connect_args"] = {"check_same_thread": False}
                if database in ("", ":memory:"):
                    kwargs["poolclass"] = StaticPool
                    memory = True
                else:
                    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            pooled = {} if memory else {"pool_size": pool_size, "max_overflow": pool_size}
            self.engine: Engine = create_engine(parsed, **kwargs, **pooled)
            # One connection for the recorder alone (an in-memory SQLite has only the one).
            self._recorder_engine = self.engine if memory else create_engine(parsed, **kwargs, pool_size=1, max_overflow=0)
        except (ArgumentError, NoSuchModuleError, ValueError) as err:
            raise StorageError(f"bad database URL {url!r}: {err}") from err
        except OSError as err:
            raise StorageError(f"cannot create the directory of {url!r}: {err.strerror}") from err
        if self.backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            if self._recorder_engine is not self.engine:
                event.listen(self._recorder_engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._recorder_sessions = sessionmaker(self._recorder_engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, pool_size: int = 10) -> Database:
        """Connect and bring the schema to the latest migration."""
        database = cls(url, pool_size=pool_size)
        database.upgrade()
        return database

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        """The URL with any password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    def upgrade(self, revision: str = "head") -> str | None:
        """Run the Alembic migrations up to ``revision``; returns the revision reached.

        Raises
        ------
        StorageError
            When the database cannot be reached or a migration fails.
        """
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except SQLAlchemyError as err:
            raise StorageError(f"cannot migrate {self.display_url}: {_first_line(err)}") from err
        return self.revision()

    def revision(self) -> str | None:
        """The schema's current Alembic revision (``None`` for an empty database).

        Raises
        ------
        StorageError
            When the database cannot be reached.
        """
        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except SQLAlchemyError as err:
            raise StorageError(f"cannot reach {self.display_url}: {_first_line(err)}") from err

    def state(self) -> DatabaseState:
        """Whether the database answers, and its revision."""
        try:
            return DatabaseState(state="ok", backend=self.backend, revision=self.revision())
        except StorageError as err:
            return DatabaseState(state="unavailable", backend=self.backend, revision=None, detail=str(err))

    def session(self) -> Session:
        """A new ORM session (use as a context manager; the caller commits)."""
        return self._sessions()

    def recorder_session(self) -> Session:
        """A session on the recorder's own connection (one recording writes at a time)."""
        return self._recorder_sessions()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self._recorder_engine is not self.engine:
            self._recorder_engine.dispose()


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err)
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__
