"""SSH public keys of accounts, for signing in to the SSH port

Revision ID: 0014_ssh_keys
Revises: 0012_project_keys
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_ssh_keys"
down_revision = "0012_project_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_ssh_keys",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(64), nullable=False),
        sa.Column("encoded_key", sa.Text(), nullable=False),
        sa.Column("comment", sa.String(255), nullable=False),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_account_ssh_keys_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", "seq", name=op.f("pk_account_ssh_keys")),
    )


def downgrade() -> None:
    op.drop_table("account_ssh_keys")
