"""pads: shared documents and their updates

Revision ID: 0017_pads
Revises: 0016_webhooks
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_pads"
down_revision = "0016_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("project", sa.String(255), nullable=True),
        sa.Column("change_number", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_pads_created_by_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pads")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pads_project", "pads", ["project"])
    op.create_index("ix_pads_change_number", "pads", ["change_number"])
    op.create_table(
        "pad_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pad_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["pad_id"], ["pads.id"], ondelete="CASCADE",
                                name=op.f("fk_pad_updates_pad_id_pads")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_pad_updates_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pad_updates")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_pad_updates_pad_id_id", "pad_updates", ["pad_id", "id"])


def downgrade() -> None:
    op.drop_table("pad_updates")
    op.drop_table("pads")
