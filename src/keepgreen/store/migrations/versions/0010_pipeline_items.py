"""the items queued in each pipeline, so they survive a restart

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pipeline", sa.String(length=255), nullable=False),
        sa.Column("queue", sa.String(length=255), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("patch_set", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("newrev", sa.String(length=64), nullable=True),
        sa.Column("enqueued", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_items")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("pipeline_items", schema=None) as batch_op:
        batch_op.create_index("ix_pipeline_items_pipeline", ["pipeline"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pipeline_items", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_items_pipeline")
    op.drop_table("pipeline_items")
