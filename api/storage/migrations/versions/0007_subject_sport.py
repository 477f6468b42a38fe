"""Subjects' sport or population: whom their normative comparisons are made with.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

``subjects.sport`` (up to 64 characters, nullable): the sport (e.g. ``soccer``) or population a
subject belongs to; empty means the general population. Existing subjects keep ``NULL``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.add_column(sa.Column("sport", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subjects") as batch:
        batch.drop_column("sport")
