"""the attention set of each change

Revision ID: 0019_attention_set
Revises: 0018_reverts_mergeability
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_attention_set"
down_revision = "0018_reverts_mergeability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attention",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("in_set", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("reason_account_id", sa.Integer(), nullable=True),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["change_number"], ["changes.number"], ondelete="CASCADE",
                                name=op.f("fk_attention_change_number_changes")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_attention_account_id_accounts")),
        sa.PrimaryKeyConstraint("change_number", "account_id", name=op.f("pk_attention")),
    )
    op.create_index("ix_attention_account", "attention", ["account_id", "in_set"])


def downgrade() -> None:
    op.drop_table("attention")
