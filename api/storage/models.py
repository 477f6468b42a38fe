"""The database tables, as SQLAlchemy 2 declarative models.

The schema itself is created and evolved by the Alembic migrations in
``api/storage/migrations/``; these classes must match them (a test compares the two).

Samples are stored in chunks (:class:`SampleChunk`): the recorder appends one row per
flush (at least every 250 ms), each holding that interval's samples packed by
:mod:`api.storage.samples`, so a 1 kHz trial is a few rows a second to write and a
single range scan plus one ``numpy.frombuffer`` to read back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "LabSession",
    "Protocol",
    "RetestGoal",
    "SampleChunk",
    "Station",
    "Subject",
    "Trial",
    "TrialEvent",
    "UTCDateTime",
    "utcnow",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


#: An auto-incrementing 64-bit key (SQLite only auto-increments INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ApiToken(Base):
    """A bearer token: only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(16))
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # 0004: tokens with a life
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Subject(Base):
    """A pseudonymous person tested in the lab."""

    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    sex: Mapped[str | None] = mapped_column(String(16), nullable=True)
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body_mass_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    height_cm: Mapped[float | None] = mapped_column(Float, nullable=True)
    dominant_side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    involved_side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    #: The sport or population normative comparisons use (``None``: the general population).
    sport: Mapped[str | None] = mapped_column(String(64), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LabSession(Base):
    """A subject's test day (called a *session* in the API)."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RetestGoal(Base):
    """A clinician's target for one of a subject's figures at re-test (LSI, deficit or ratio)."""

    __tablename__ = "retest_goals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contraction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    velocity_dps: Mapped[float | None] = mapped_column(Float, nullable=True)
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    comparison: Mapped[str] = mapped_column(String(2))
    target: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Protocol(Base):
    """A test protocol: an ordered list of trial templates (JSON), built-in or custom."""

    __tablename__ = "protocols"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    trials: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Trial(Base):
    """One set on one side within a session, and its acquisition figures."""

    __tablename__ = "trials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    protocol_id: Mapped[int | None] = mapped_column(
        ForeignKey("protocols.id", ondelete="SET NULL"), nullable=True
    )
    joint: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str] = mapped_column(String(40))
    side: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(16))  # 0005: 'isometric' is 9 characters
    group: Mapped[str | None] = mapped_column(String(24), nullable=True)
    velocity_plus_dps: Mapped[float] = mapped_column(Float)
    velocity_minus_dps: Mapped[float] = mapped_column(Float)
    repetitions: Mapped[int] = mapped_column(Integer)
    rom_min_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    rom_max_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="created")
    source_format: Mapped[str] = mapped_column(String(32), default="isokin")
    gravity_torque_nm: Mapped[float | None] = mapped_column(Float, nullable=True)
    horizontal_angle_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    sample_rate_hz: Mapped[float | None] = mapped_column(Float, nullable=True)
    sample_count: Mapped[int] = mapped_column(BigInteger, default=0)
    gap_count: Mapped[int] = mapped_column(Integer, default=0)
    lost_samples: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 0002: acquisition provenance and durability
    markers: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    station_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    interrupted_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    crc_errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reconnects: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    device_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    device_serial: Mapped[str | None] = mapped_column(String(64), nullable=True)
    calibration: Mapped[str | None] = mapped_column(String(100), nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    flushed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # 0003: the device's truth
    effective_rate_hz: Mapped[float | None] = mapped_column(Float, nullable=True)
    malformed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    clock_segments: Mapped[str | None] = mapped_column(Text, nullable=True)


class TrialEvent(Base):
    """Something that happened during a trial's acquisition: a gap, a disconnection, a device event."""

    __tablename__ = "trial_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    sequence: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    time_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    lost_samples: Mapped[int] = mapped_column(BigInteger, default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SampleChunk(Base):
    """A run of consecutive samples of one trial, packed by :mod:`api.storage.samples`."""

    __tablename__ = "sample_chunks"
    __table_args__ = (UniqueConstraint("trial_id", "chunk_index"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id", ondelete="CASCADE"))
    chunk_index: Mapped[int] = mapped_column(Integer)
    first_time_s: Mapped[float] = mapped_column(Float)
    last_time_s: Mapped[float] = mapped_column(Float)
    sample_count: Mapped[int] = mapped_column(Integer)
    # 0003: how ``data`` is packed (``api.storage.samples.LAYOUTS``)
    layout: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Station(Base):
    """A server instance that records into this database: who holds the station id now.

    The lock that makes a station id exclusive is held outside the table (a PostgreSQL
    advisory lock, a file lock next to a SQLite file: ``api.stations``); the row says who
    took it last, so a second server with the same id can name the first.
    """

    __tablename__ = "stations"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(String(255), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """One write request to the service: who, what, when, and how it ended (append-only).

    No request body and no patient field is kept: the resource is the route's path
    template (``/api/v1/subjects/{subject_id}``) and the id is the path's or the created
    resource's. The database refuses updates and deletes of these rows (triggers).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    token_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    method: Mapped[str] = mapped_column(String(8))
    resource: Mapped[str] = mapped_column(String(200))
    resource_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[int] = mapped_column(Integer)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
