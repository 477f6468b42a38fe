"""Alembic environment: runs on the connection handed over by ``api.storage.database.Database.upgrade``.

On PostgreSQL the migration holds a transaction-level advisory lock, so two processes
starting at once (``isokin serve`` on two stations, or ``isokin token create`` during a
start) migrate one after the other.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from api.storage.models import Base

#: Advisory-lock key for migrations (any constant shared by every isokin process).
MIGRATION_LOCK_KEY = 0x150C1A

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'isokin db upgrade' (api.storage.database.Database.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    context.run_migrations()
