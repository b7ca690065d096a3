"""a key pair per project for the secrets in its job config

Revision ID: 0012_project_keys
Revises: 0011_session_epoch
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_project_keys"
down_revision = "0011_session_epoch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "project_keys",
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("project", name=op.f("pk_project_keys")),
    )


def downgrade() -> None:
    op.drop_table("project_keys")
