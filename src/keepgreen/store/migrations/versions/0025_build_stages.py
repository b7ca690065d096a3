"""where each build's time went: its stages and their seconds

Revision ID: 0025_build_stages
Revises: 0024_project_labels
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_build_stages"
down_revision = "0024_project_labels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite has it too): the builds table is not copied.
    op.add_column("builds", sa.Column("stages", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("builds") as batch:
        batch.drop_column("stages")
