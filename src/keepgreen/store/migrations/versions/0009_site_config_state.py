"""the applied state of the site's config project

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_config_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("applied_sha", sa.String(length=64), nullable=True),
        sa.Column("seen_sha", sa.String(length=64), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_site_config_state")),
    )


def downgrade() -> None:
    op.drop_table("site_config_state")
