"""project labels, submit requirements and dashboards kept by keepgreen

Revision ID: 0024_project_labels
Revises: 0023_project_details
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_project_labels"
down_revision = "0023_project_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_dashboards",
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
        sa.Column("path", sa.String(255), nullable=False),
        sa.Column("title", sa.String(255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("foreach", sa.Text(), nullable=True),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project", "ref", "path", name=op.f("pk_project_dashboards")),
    )


def downgrade() -> None:
    op.drop_table("project_dashboards")
