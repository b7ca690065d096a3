"""autohold requests, held nodes and node limits

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "autohold_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("job", sa.String(length=255), nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("hold_seconds", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_autohold_requests")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "node_holds",
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("build_uuid", sa.String(length=64), nullable=False),
        sa.Column("autohold_id", sa.Integer(), nullable=True),
        sa.Column("ssh", sa.Text(), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_node_holds")),
    )
    with op.batch_alter_table("node_holds", schema=None) as batch_op:
        batch_op.create_index("ix_node_holds_build", ["build_uuid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("node_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_node_holds_build")
    op.drop_table("node_holds")
    op.drop_table("autohold_requests")
