"""launchers in processes of their own: who launches each node, and their heartbeats

Revision ID: 0028_launchers
Revises: 0027_node_connection
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_launchers"
down_revision = "0027_node_connection"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: existing nodes belong to no launcher, as after a restart.
    op.add_column("nodes", sa.Column("launcher", sa.String(length=255), nullable=True))
    op.create_table(
        "launchers",
        sa.Column("name", sa.String(length=255), primary_key=True),
        sa.Column("providers", sa.JSON(), nullable=False),
        sa.Column("heartbeat", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("launchers")
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("launcher")
