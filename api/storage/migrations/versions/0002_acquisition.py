"""Acquisition: trial provenance (device, station, metadata, markers), durability figures, trial events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

``trials`` gains: ``markers`` (comma-separated sample indices of device repetition
boundaries), ``metadata_json`` (vendor or recording metadata, JSON), ``station_id``
(the server instance that runs the trial: a restart marks only its own trials
interrupted), ``interrupted_reason``, ``end_reason``, ``crc_errors``, ``reconnects``,
``device_url``, ``device_serial``, ``calibration`` (profile name), ``duration_s``
(time of the last stored sample) and ``flushed_at`` (last sample write).
``trial_events`` holds each trial's gaps, disconnections, reconnections and device events.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.add_column(sa.Column("markers", sa.Text(), nullable=True))
        batch.add_column(sa.Column("metadata_json", sa.Text(), nullable=True))
        batch.add_column(sa.Column("station_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("interrupted_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("crc_errors", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("reconnects", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("device_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("device_serial", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("calibration", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("duration_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("flushed_at", UTCDateTime(), nullable=True))
        batch.create_index(batch.f("ix_trials_station_id"), ["station_id"], unique=False)
    op.create_table(
        "trial_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("time_s", sa.Float(), nullable=True),
        sa.Column("lost_samples", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name=op.f("fk_trial_events_trial_id_trials"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_events")),
    )
    op.create_index(op.f("ix_trial_events_trial_id"), "trial_events", ["trial_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_trial_events_trial_id"), table_name="trial_events")
    op.drop_table("trial_events")
    with op.batch_alter_table("trials") as batch:
        batch.drop_index(batch.f("ix_trials_station_id"))
        for column in (
            "flushed_at",
            "duration_s",
            "calibration",
            "device_serial",
            "device_url",
            "reconnects",
            "crc_errors",
            "end_reason",
            "interrupted_reason",
            "station_id",
            "metadata_json",
            "markers",
        ):
            batch.drop_column(column)
