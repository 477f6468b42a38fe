"""Opening the database: engine, SQLite pragmas, Alembic migrations, sessions, health, check, backup.

SQLite files get WAL journaling (readers never block the writer), foreign keys,
a busy timeout and ``synchronous=NORMAL`` (durable at each checkpoint, safe against
a killed process). PostgreSQL URLs (``postgresql+psycopg://...``) are used as given.

:meth:`Database.state` is the probe behind ``/health``: the schema version and the
first row of every table, read on a fresh connection (a SQLite file truncated or
overwritten under the server is seen even while pooled connections still hold its pages
in cache). ``/health`` asks with ``max_age_s``: the last probe's answer while it is that
recent and no statement has failed on the database since, so however often it is asked the
database is probed at most once per interval, and at once after an error. :meth:`Database.check` is the full check of ``isokin db check``;
:meth:`Database.backup` copies a SQLite database with SQLite's online backup API.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

from api.errors import StorageError
from api.storage.models import Base, Trial
from api.storage.samples import damaged_chunks

__all__ = ["MIGRATIONS_DIR", "Database", "DatabaseState"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Milliseconds a SQLite writer waits for another writer's lock before failing.
SQLITE_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class DatabaseState:
    """What ``/health`` reports about the database."""

    state: Literal["ok", "unavailable", "damaged"]
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


#: Longest wait for a new PostgreSQL connection, s (unless the URL sets ``connect_timeout``).
PG_CONNECT_TIMEOUT_S = 10


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
            elif parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
                # an unreachable server fails a connection in seconds, not at the TCP timeout (minutes): a
                # request, the station's lock check and a shutdown waiting on it end in bounded time
                kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
            #: Whether the database lives in this process's memory (no other process can open it).
            self.in_memory = memory
            self._engine_kwargs = kwargs
            self._unpooled_engine: Engine | None = None
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
        #: Statements that failed on a pooled connection (an error makes the next probe look at once).
        self.errors_seen = 0
        event.listen(self.engine, "handle_error", self._count_error)
        self._probed: tuple[float, int, DatabaseState] | None = None  # (monotonic time, errors_seen, state)
        self._probe_lock = threading.Lock()
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

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or ``None`` (PostgreSQL, or an in-memory database)."""
        database = self.engine.url.database if self.backend == "sqlite" else None
        return Path(database).expanduser() if database and database != ":memory:" else None

    def _table_names(self) -> list[str]:
        return ["alembic_version", *(table.name for table in Base.metadata.sorted_tables)]

    def _probe_sqlite(self, path: Path) -> str | None:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            for name in self._table_names():
                connection.execute(f'SELECT * FROM "{name}" LIMIT 1').fetchall()
        finally:
            connection.close()
        return str(row[0]) if row else None

    def _count_error(self, _context: Any) -> None:
        self.errors_seen += 1

    def recent_state(self, max_age_s: float) -> DatabaseState | None:
        """The last probe's answer if it is at most ``max_age_s`` old and no statement failed since, else ``None``."""
        probed = self._probed
        if probed is None or time.monotonic() - probed[0] > max_age_s or probed[1] != self.errors_seen:
            return None
        return probed[2]

    def state(self, *, max_age_s: float = 0.0) -> DatabaseState:
        """Whether the database answers and looks whole: its revision and the first row of every table.

        ``unavailable`` when it cannot be reached (a server down, a file that cannot be
        opened); ``damaged`` when it answers but its schema version or a table cannot be read.
        With ``max_age_s``, :meth:`recent_state` when it has one; concurrent callers wait for one probe.
        """
        with self._probe_lock:
            found = self.recent_state(max_age_s) if max_age_s > 0 else None
            if found is not None:
                return found
            state = self._probe()
            # Counted after: the probe's own failure (a server down) does not make every request probe again.
            self._probed = (time.monotonic(), self.errors_seen, state)
            return state

    def _probe(self) -> DatabaseState:
        path = self.sqlite_path
        try:
            if path is not None:
                if not path.is_file():
                    return DatabaseState(state="unavailable", backend=self.backend, revision=None, detail=f"{path} is missing")
                revision = self._probe_sqlite(path)
            else:
                with self.engine.connect() as connection:
                    revision = MigrationContext.configure(connection).get_current_revision()
                    for name in self._table_names():
                        connection.execute(text(f'SELECT * FROM "{name}" LIMIT 1')).fetchall()
        except (sqlite3.OperationalError, OperationalError) as err:
            message = _first_line(err)
            damaged = "no such table" in message or "malformed" in message
            return DatabaseState(state="damaged" if damaged else "unavailable", backend=self.backend, revision=None, detail=message)
        except (sqlite3.DatabaseError, SQLAlchemyError) as err:
            return DatabaseState(state="damaged", backend=self.backend, revision=None, detail=_first_line(err))
        return DatabaseState(state="ok", backend=self.backend, revision=revision)

    def head_revision(self) -> str | None:
        """The newest migration this version of isokin knows."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        return ScriptDirectory.from_config(config).get_current_head()

    def check(self) -> list[str]:
        """A full check (every page of SQLite; every row of PostgreSQL; then every stored sample chunk decoded:
        a packed chunk against its CRC-32, every chunk against its row count): the problems found, none when whole.

        Reads the whole database: for ``isokin db check``, not for ``/health``.
        """
        path = self.sqlite_path
        if path is not None:
            problems = self._check_sqlite(path)
        else:
            problems = []
            try:
                with self.engine.connect() as connection:
                    revision = MigrationContext.configure(connection).get_current_revision()
                    problems += self._revision_problems(revision)
                    for table in Base.metadata.sorted_tables:
                        connection.execute(select(func.count()).select_from(table)).scalar()
            except SQLAlchemyError as err:
                problems.append(_first_line(err))
        if problems:  # a damaged file or another schema: its chunks cannot be read as this version reads them
            return problems
        return self._check_samples()

    def _check_samples(self) -> list[str]:
        problems: list[str] = []
        try:
            with self.session() as session:
                for trial_id in session.scalars(select(Trial.id).order_by(Trial.id)).all():
                    problems += damaged_chunks(session, trial_id)
        except SQLAlchemyError as err:
            problems.append(_first_line(err))
        except Exception as err:  # never a traceback instead of the report
            problems.append(f"sample chunks could not be read: {type(err).__name__}: {_first_line(err)}")
        return problems

    def _revision_problems(self, revision: str | None) -> list[str]:
        head = self.head_revision()
        return [] if revision == head else [f"schema revision {revision or 'none'}, expected {head} ('isokin db upgrade')"]

    def _check_sqlite(self, path: Path) -> list[str]:
        """SQLite's integrity and foreign-key checks on a fresh connection (no page cached by the pool)."""
        if not path.is_file():
            return [f"{path} is missing"]
        try:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                problems = self._revision_problems(str(row[0]) if row else None)
                rows = [str(r[0]) for r in connection.execute("PRAGMA integrity_check")]
                problems += [f"integrity: {r}" for r in rows if r != "ok"]
                problems += [
                    f"foreign key: {r[0]} row {r[1]} refers to a missing {r[2]} row"
                    for r in connection.execute("PRAGMA foreign_key_check")
                ]
            finally:
                connection.close()
        except sqlite3.Error as err:
            return [_first_line(err)]
        return problems

    def backup(self, target: Path) -> None:
        """Copy a SQLite database to ``target`` while it is in use (SQLite's online backup API).

        The copy is written next to ``target`` and renamed when whole, so ``target`` is
        never a half copy.

        Raises
        ------
        StorageError
            When the database is not a SQLite file, or the copy fails.
        """
        source_path = self.sqlite_path
        if source_path is None:
            raise StorageError("backup copies SQLite databases only; use pg_dump for PostgreSQL")
        partial = target.with_name(target.name + ".partial")
        try:
            source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
            try:
                copy = sqlite3.connect(partial)
                try:
                    source.backup(copy)
                    result = copy.execute("PRAGMA quick_check").fetchone()
                finally:
                    copy.close()
            finally:
                source.close()
            if not result or result[0] != "ok":
                partial.unlink(missing_ok=True)
                raise StorageError(f"the copy does not pass SQLite's quick_check ({result[0] if result else '?'})")
            partial.replace(target)
        except (sqlite3.Error, OSError) as err:
            partial.unlink(missing_ok=True)
            raise StorageError(f"cannot back up {source_path} to {target}: {err}") from err

    def session(self) -> Session:
        """A new ORM session (use as a context manager; the caller commits)."""
        return self._sessions()

    def connect_unpooled(self) -> Connection:
        """A connection of its own, outside every pool (a lock held for the server's lifetime), or the
        one connection of an in-memory database."""
        if self.in_memory:
            return self.engine.connect()
        if self._unpooled_engine is None:
            self._unpooled_engine = create_engine(self.engine.url, poolclass=NullPool, **self._engine_kwargs)
            if self.backend == "sqlite":
                event.listen(self._unpooled_engine, "connect", _sqlite_pragmas)
        return self._unpooled_engine.connect()

    def recorder_session(self) -> Session:
        """A session on the recorder's own connection (one recording writes at a time)."""
        return self._recorder_sessions()

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self._recorder_engine is not self.engine:
            self._recorder_engine.dispose()
        if self._unpooled_engine is not None:
            self._unpooled_engine.dispose()


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err)
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__
