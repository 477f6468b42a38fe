"""The device's truth: the device clock of every stored sample, clock segments, stations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

``sample_chunks.layout`` says how a chunk is packed (``api.storage.samples.LAYOUTS``):
existing chunks are layout 1 (no device clock) and stay readable; new ones are layout 2,
with ``device_time_us``. ``trials`` gains ``clock_segments`` (JSON: the device/host clock
fit of each segment), ``effective_rate_hz`` (samples per second of the device clock over the
gap-free stretches) and ``malformed`` (frames or lines that broke the protocol).
``stations`` names the server holding each station id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sample_chunks") as batch:
        batch.add_column(sa.Column("layout", sa.Integer(), server_default="1", nullable=False))
    with op.batch_alter_table("trials") as batch:
        batch.add_column(sa.Column("effective_rate_hz", sa.Float(), nullable=True))
        batch.add_column(sa.Column("malformed", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("clock_segments", sa.Text(), nullable=True))
    op.create_table(
        "stations",
        sa.Column("station_id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("station_id", name=op.f("pk_stations")),
    )


def downgrade() -> None:
    op.drop_table("stations")
    with op.batch_alter_table("trials") as batch:
        for column in ("clock_segments", "malformed", "effective_rate_hz"):
            batch.drop_column(column)
    with op.batch_alter_table("sample_chunks") as batch:
        batch.drop_column("layout")
