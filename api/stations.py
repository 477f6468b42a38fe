"""Stations: each ``isokin serve`` that records holds its station id exclusively on its database.

Several stations (dynamometers, each with its own ``isokin serve``) may share one
PostgreSQL database. A station's trials are its own: only it stops them, and at start it
marks as ``interrupted`` the trials it left recording. Two servers with the same station id
on one database would take each other's trials, so the id is a lock:

- PostgreSQL: a session-level advisory lock, keyed by the database, the schema and the id,
  held on a connection of its own for as long as the server runs (the server going away,
  even by SIGKILL, releases it with its connection);
- SQLite: an exclusive file lock on ``<database file>.stations/<hash of the id>.lock``
  (released by the kernel when the process dies); an in-memory database, a lock in the process.

The ``stations`` table records who took each id last (host, pid, address, start), so a
second server refused the id can name the first. Once a station's lock is free (it
crashed and was not restarted), an admin may close its trials from another station
(:func:`recover_station`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from api.errors import ConflictError
from api.storage.database import Database
from api.storage.models import Station, Trial, utcnow

__all__ = ["StationBusyError", "StationLock", "holding", "recover_station", "station_rows", "station_running"]

log = logging.getLogger(__name__)

_PROCESS_LOCKS: dict[tuple[int, str], threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


class StationBusyError(ConflictError):
    """Another server holds this station id on this database."""


def _holder(database: Database, station_id: str) -> str:
    """Who took ``station_id`` last, in words (from the ``stations`` table)."""
    try:
        with database.session() as session:
            row = session.get(Station, station_id)
    except Exception:  # the message is best effort: the refusal stands without it
        row = None
    if row is None:
        return "another isokin serve"
    where = f" at {row.address}" if row.address else ""
    return f"isokin serve on host {row.hostname} (pid {row.pid}{where}, since {row.started_at:%Y-%m-%d %H:%M:%S} UTC)"


def _pg_key(connection: Connection, station_id: str) -> int:
    """The advisory lock key of a station: one 64-bit number per database, schema and station id."""
    database, schema = connection.execute(text("SELECT current_database(), current_schema()")).one()
    digest = hashlib.sha256(json.dumps(["isokin-station", database, schema, station_id]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _pg_lock_held_sql(*, by_me: bool) -> str:
    """How many sessions hold the advisory lock ``:hi``/``:lo`` (this one only, with ``by_me``)."""
    who = "pid = pg_backend_pid()" if by_me else "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    return (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        f"AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND {who}"
    )


def _halves(key: int) -> dict[str, int]:
    """An advisory key as pg_locks shows it: the high and low 32 bits, unsigned."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return {"hi": unsigned >> 32, "lo": unsigned & 0xFFFF_FFFF}


class StationLock:
    """The exclusive hold of one station id on one database.

    Parameters
    ----------
    database
        The service's database.
    station_id
        The id to hold.
    """

    def __init__(self, database: Database, station_id: str) -> None:
        self.database = database
        self.station_id = station_id
        self._connection: Connection | None = None
        self._key = 0
        self._file: IO[bytes] | None = None
        self._process_lock: threading.Lock | None = None
        # the station watcher's verify() and the shutdown's release() must not share the connection at once
        self._guard = threading.RLock()

    @property
    def held(self) -> bool:
        return self._connection is not None or self._file is not None or self._process_lock is not None

    def acquire(self, *, address: str = "", wait_s: float = 2.0) -> None:
        """Take the station id (no-op when already held), and record who holds it.

        Tries for ``wait_s`` seconds: another server's ``GET /stations`` may hold the lock for an instant.

        Raises
        ------
        StationBusyError
            Another server holds it; the message names that server.
        """
        if self.held:
            return
        deadline = time.monotonic() + wait_s
        while not self.try_hold():
            if time.monotonic() >= deadline:
                raise StationBusyError(
                    f"station {self.station_id!r} is already running on this database: "
                    f"{_holder(self.database, self.station_id)}. "
                    "Give this server another station id (--station-id or ISOKIN_STATION_ID), or stop that one"
                )
            time.sleep(0.05)
        try:
            with self.database.session() as session:
                row = session.get(Station, self.station_id) or Station(station_id=self.station_id)
                row.hostname, row.pid, row.address, row.started_at = socket.gethostname()[:255], os.getpid(), address[:255], utcnow()
                session.add(row)
                session.commit()
        except BaseException:
            self.release()
            raise

    def verify(self) -> bool:
        """Whether this server still holds the station, taking it again if its database connection dropped.

        A PostgreSQL restart, a failover or an idle-session timeout ends the session that holds the
        advisory lock, and with it the lock: another server could then take the station. A file lock
        (SQLite) is this process's for as long as it runs.
        """
        with self._guard:
            return self._verify()

    def _verify(self) -> bool:
        connection = self._connection
        if connection is None:
            return self.held
        try:
            held = bool(connection.execute(text(_pg_lock_held_sql(by_me=True)), _halves(self._key)).scalar())
            connection.commit()
        except Exception as err:
            log.warning("station %s: the connection holding its lock failed (%s)", self.station_id, err)
            held = False
        if held:
            return True
        self._drop_connection()
        if self.try_hold():
            log.warning("station %s: its lock was lost with its database connection, and taken again", self.station_id)
            return True
        return False

    def release(self) -> None:
        """Give the station id back (idempotent)."""
        with self._guard:
            self._release()

    def _release(self) -> None:
        connection = self._connection
        if connection is not None:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                connection.commit()
            except Exception as err:  # closing the connection releases it anyway
                log.info("station %s: unlock failed (%s); closing the connection releases it", self.station_id, err)
            self._drop_connection()
        handle, self._file = self._file, None
        if handle is not None:
            handle.close()  # closing the descriptor releases the file lock
        process_lock, self._process_lock = self._process_lock, None
        if process_lock is not None:
            process_lock.release()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a connection already dead
                pass

    def try_hold(self) -> bool:
        """Take the lock if it is free, without recording who holds it; whether it was taken."""
        with self._guard:
            return self._try_hold()

    def _try_hold(self) -> bool:
        database = self.database
        if database.backend == "postgresql":
            connection = database.connect_unpooled()  # never one of the request pool's
            try:
                key = _pg_key(connection, self.station_id)
                held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
                connection.commit()
            except BaseException:
                connection.close()
                raise
            if held:
                self._connection, self._key = connection, key
            else:
                connection.close()
            return held
        path = _lock_path(database, self.station_id)
        if path is None:
            lock = _process_lock(database, self.station_id)
            if not lock.acquire(blocking=False):
                return False
            self._process_lock = lock
            return True
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+b")  # noqa: SIM115 - held open for the server's lifetime
        if not _lock_file(handle):
            handle.close()
            return False
        self._file = handle
        return True


def _lock_path(database: Database, station_id: str) -> Path | None:
    """The lock file of a station on a SQLite file (``None`` for an in-memory database)."""
    name = database.engine.url.database or ""
    if name in ("", ":memory:"):
        return None
    digest = hashlib.sha256(station_id.encode("utf-8")).hexdigest()[:32]
    db_file = Path(name).expanduser().resolve()
    return db_file.with_name(db_file.name + ".stations") / f"{digest}.lock"


def _process_lock(database: Database, station_id: str) -> threading.Lock:
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault((id(database), station_id), threading.Lock())


def _lock_file(handle: IO[bytes]) -> bool:
    """Take an exclusive, non-blocking lock on an open file; whether it was free."""
    fd = handle.fileno()
    if sys.platform == "win32":  # pragma: no cover - Windows stations
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    else:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextmanager
def holding(database: Database, station_id: str) -> Iterator[bool]:
    """Hold ``station_id``'s lock if it is free, for the block (``False``: another server holds it).

    An admin closes a stopped station's trials inside it, so that station cannot start meanwhile.
    """
    probe = StationLock(database, station_id)
    free = probe.try_hold()
    try:
        yield free
    finally:
        probe.release()


def station_running(database: Database, station_id: str) -> bool:
    """Whether a server holds ``station_id`` now (read from PostgreSQL's lock table; a SQLite file lock is
    taken and given back at once to find out)."""
    if database.backend == "postgresql":
        with database.engine.connect() as connection:
            halves = _halves(_pg_key(connection, station_id))
            return bool(connection.execute(text(_pg_lock_held_sql(by_me=False)), halves).scalar())
    with holding(database, station_id) as free:
        return not free


def recover_station(
    database: Database, station_id: str, *, reason: str, trial_ids: tuple[int, ...] | None = None
) -> list[int]:
    """Close the trials ``station_id`` left recording (``interrupted``, with ``reason``) or weighing (``created``).

    The caller holds the station's lock (its own station at start, or a probe of a crashed one).
    ``trial_ids`` limits it to those trials. Returns the ids of the trials marked interrupted.
    """
    now = dt.datetime.now(dt.UTC)
    recovered: list[int] = []
    with database.session() as session:
        query = select(Trial).where(Trial.station_id == station_id, Trial.state.in_(("recording", "weighing")))
        if trial_ids is not None:
            query = query.where(Trial.id.in_(trial_ids))
        for trial in session.scalars(query):
            if trial.state == "weighing":
                trial.state = "created"
                continue
            stored = f"{trial.sample_count} samples ({trial.duration_s or 0:.3f} s)"
            trial.state = "interrupted"
            trial.interrupted_reason = (
                f"{reason}; {stored} were stored, the last at {trial.flushed_at or trial.started_at}"
            )
            trial.ended_at = trial.flushed_at or trial.started_at or now
            recovered.append(trial.id)
        session.commit()
    return recovered


def station_rows(database: Database) -> list[dict[str, Any]]:
    """Every station recorded in the database, with whether it runs now and its trials recording."""
    with database.session() as session:
        rows = list(session.scalars(select(Station).order_by(Station.station_id)))
        recording = {
            sid: count
            for sid, count in session.execute(
                text("SELECT station_id, count(*) FROM trials WHERE state = 'recording' GROUP BY station_id")
            )
        }
    return [
        {
            "station_id": row.station_id,
            "hostname": row.hostname,
            "pid": row.pid,
            "address": row.address,
            "started_at": row.started_at,
            "running": station_running(database, row.station_id),
            "trials_recording": int(recording.get(row.station_id, 0)),
        }
        for row in rows
    ]
