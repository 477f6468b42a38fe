"""Re-test goals: a clinician's targets for a subject's LSI, deficits and ratios.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

``retest_goals`` holds one row per goal: the figure (``measure`` lsi, deficit or ratio,
narrowed by ``kind``, ``label``, ``contraction``, ``velocity_dps`` and ``side``), the
``comparison`` and ``target``, and the ``source`` of the target. Deleting a subject
deletes its goals.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retest_goals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("contraction", sa.String(length=16), nullable=True),
        sa.Column("velocity_dps", sa.Float(), nullable=True),
        sa.Column("side", sa.String(length=8), nullable=True),
        sa.Column("comparison", sa.String(length=2), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_retest_goals_subject_id_subjects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retest_goals")),
    )
    op.create_index(op.f("ix_retest_goals_subject_id"), "retest_goals", ["subject_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_retest_goals_subject_id"), table_name="retest_goals")
    op.drop_table("retest_goals")
