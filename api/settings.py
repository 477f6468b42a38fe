"""Service settings: command-line flags over ``ISOKIN_*`` environment variables over defaults.

==========================  ============================================================
variable                    meaning
==========================  ============================================================
``ISOKIN_DATA_DIR``         where the service keeps its files (default below)
``ISOKIN_DATABASE_URL``     SQLAlchemy URL; default ``sqlite:///<data dir>/isokin.db``
``ISOKIN_DEVICE``           device URL, ``simulator`` (the default when unset) or ``none``
``ISOKIN_HOST``             address ``isokin serve`` binds (default ``127.0.0.1``)
``ISOKIN_PORT``             port ``isokin serve`` binds (default ``8000``)
``ISOKIN_CORS_ORIGINS``     comma-separated origins allowed by CORS (default: CORS off)
``ISOKIN_MAX_BODY_BYTES``   largest request body accepted, bytes (default 64 MiB)
``ISOKIN_BODY_TIMEOUT_S``   longest time a request body may take to arrive, s (default 120)
``ISOKIN_DEVICE_SOCKET_HOSTS`` hosts a ``socket://`` device may be on (default: this machine)
``ISOKIN_STATION_ID``       name of this server instance (default: the host name)
``ISOKIN_FLUSH_INTERVAL_S`` longest wait of recorded samples before the database, s (0.1)
``ISOKIN_DB_POOL_SIZE``     database connections kept for requests (10; as many more
                            under load); the recorder has a connection of its own
``ISOKIN_ACQUISITION_PROCESS`` record in a process of the server's own (true; false: in
                            the server's process, as the in-process test client does)
``ISOKIN_ANALYSIS_WORKERS`` analyses, reports and imports computed at once (2): the
                            others wait, so they cannot starve a recording of the CPU
``ISOKIN_ANALYSIS_WAIT_S``  longest wait for one of those slots, s (120; then a 503)
``ISOKIN_NORMS_DIR``        a folder of the lab's own normative reference sets, read
                            beside the bundled ones and ``<data dir>/norms/``
``ISOKIN_LSL``              ``true``: publish every recording as a Lab Streaming Layer
                            stream (``isokin serve --lsl``; needs ``isokin[lsl]``)
==========================  ============================================================

The station id tells which trials this instance runs: at start it marks as interrupted
only the trials it left recording (set it when several servers share one database from
the same host). ``ISOKIN_DEVICE=none`` starts without connecting a device.

The default data directory is ``$XDG_DATA_HOME/isokin``, i.e. ``~/.local/share/isokin``
when ``XDG_DATA_HOME`` is unset. Every subcommand that touches the database builds its
:class:`Settings` the same way, so ``isokin token create`` and ``isokin serve`` see the
same database.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "default_data_dir"]


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/isokin``, or ``~/.local/share/isokin`` when the variable is unset."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "isokin"


class Settings(BaseSettings):
    """Everything the service and the database subcommands need to know.

    Build it with keyword overrides from the command line (``Settings(port=8080)``);
    fields not given come from ``ISOKIN_*`` variables, then from the defaults.
    """

    model_config = SettingsConfigDict(env_prefix="ISOKIN_", extra="ignore", frozen=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="directory for the SQLite file and uploads")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; None means SQLite in data_dir")
    device: str | None = Field(
        default=None, description="device URL, 'simulator' or 'none' (connect nothing); None means the simulator"
    )
    host: str = Field(default="127.0.0.1", description="address to bind")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port to bind")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="origins allowed by CORS; empty turns CORS off"
    )
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0, description="largest request body, bytes")
    body_timeout_s: float = Field(default=120.0, gt=0, le=3600, description="longest time a request body may take to arrive, s")
    acquisition_process: bool = Field(
        default=True,
        description="record in a process of the server's own, where no request can take the CPU or the interpreter from it",
    )
    analysis_workers: int = Field(
        default=2, ge=1, le=64, description="analyses, reports and imports computed at once (the rest wait their turn)"
    )
    analysis_wait_s: float = Field(
        default=120.0, gt=0, le=3600, description="longest wait of a request for an analysis slot, s (then a 503)"
    )
    device_socket_hosts: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("127.0.0.1", "::1", "localhost"),
        description="hosts a socket:// device may be on (names or addresses, compared as written)",
    )
    station_id: str = Field(
        default_factory=socket.gethostname, min_length=1, max_length=64, description="name of this server instance"
    )
    flush_interval_s: float = Field(
        default=0.1, gt=0, le=0.25, description="longest time recorded samples wait before reaching the database, s"
    )
    db_pool_size: int = Field(
        default=10, ge=1, le=1000, description="database connections kept for requests (the recorder has its own)"
    )
    norms_dir: Path | None = Field(
        default=None, description="a folder of the lab's own normative reference sets (beside <data dir>/norms)"
    )
    lsl: bool = Field(default=False, description="publish every recording as a Lab Streaming Layer stream")
    max_live_sockets: int = Field(
        default=32, ge=1, le=10_000, description="live views (WebSockets) open at once; one more is closed with 1013"
    )
    max_live_sockets_per_token: int = Field(
        default=4, ge=1, le=10_000, description="live views one token may have open at once; one more is closed with 1013"
    )

    @field_validator("cors_origins", "device_socket_hosts", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def from_overrides(cls, **overrides: object) -> Settings:
        """Settings with the given values (``None`` ones ignored) over the environment and defaults."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the configured one, or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.expanduser().resolve() / 'isokin.db'}"

    @property
    def device_url(self) -> str:
        """The device in use: the configured URL, or ``simulator``."""
        return self.device or "simulator"
