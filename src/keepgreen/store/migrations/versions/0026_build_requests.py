"""builds handed to executors through the database, and the executors taking them

Revision ID: 0026_build_requests
Revises: 0025_build_stages
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_build_requests"
down_revision = "0025_build_stages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "build_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(64), nullable=False, unique=True),
        sa.Column("build", sa.Integer(), nullable=False),
        sa.Column("buildset", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(255), nullable=False),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("early_reason", sa.Text(), nullable=True),
        sa.Column("early_reported", sa.Boolean(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created", sa.Float(), nullable=False),
    )
    op.create_index("ix_build_requests_claim", "build_requests", ["state", "priority", "id"])
    op.create_table(
        "executors",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("running", sa.Integer(), nullable=False),
        sa.Column("load", sa.Float(), nullable=False),
        sa.Column("free_disk", sa.BigInteger(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("graceful", sa.Boolean(), nullable=False),
        sa.Column("started", sa.Float(), nullable=False),
        sa.Column("heartbeat", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("executors")
    op.drop_index("ix_build_requests_claim", "build_requests")
    op.drop_table("build_requests")
