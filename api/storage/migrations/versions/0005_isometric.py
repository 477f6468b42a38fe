"""Isometric trials: the trial's mode holds ``isometric`` (9 characters; the column held 8).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

An isometric trial keeps its angle in ``rom_min_deg`` = ``rom_max_deg`` and 0 deg/s as its
velocities; nothing else changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.alter_column("mode", existing_type=sa.String(length=8), type_=sa.String(length=16), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("trials") as batch:
        batch.alter_column("mode", existing_type=sa.String(length=16), type_=sa.String(length=8), existing_nullable=False)
