"""buildsets, operator commands and other gating records

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "buildsets",
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("pipeline", sa.String(length=255), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=True),
        sa.Column("patch_set", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("started", sa.DateTime(), nullable=False),
        sa.Column("ended", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_buildsets")),
    )
    with op.batch_alter_table("buildsets", schema=None) as batch_op:
        batch_op.create_index("ix_buildsets_change", ["change_number", "patch_set"],
                              unique=False)
        batch_op.create_index("ix_buildsets_started", ["started"], unique=False)

    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buildset", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_builds_buildset", ["buildset"], unique=False)
        batch_op.create_index("ix_builds_job_result", ["job", "result"], unique=False)

    op.create_table(
        "management_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("pipeline", sa.String(length=255), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("done", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_management_events")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("management_events", schema=None) as batch_op:
        batch_op.create_index("ix_management_events_done", ["done", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("management_events", schema=None) as batch_op:
        batch_op.drop_index("ix_management_events_done")
    op.drop_table("management_events")
    with op.batch_alter_table("builds", schema=None) as batch_op:
        batch_op.drop_index("ix_builds_job_result")
        batch_op.drop_index("ix_builds_buildset")
        batch_op.drop_column("buildset")
    with op.batch_alter_table("buildsets", schema=None) as batch_op:
        batch_op.drop_index("ix_buildsets_started")
        batch_op.drop_index("ix_buildsets_change")
    op.drop_table("buildsets")
