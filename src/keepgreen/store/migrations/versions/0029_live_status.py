"""the live status of the pipelines, for processes that do not run the scheduler

Revision ID: 0029_live_status
Revises: 0028_launchers
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029_live_status"
down_revision = "0028_launchers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_status",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("written", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("live_status")
