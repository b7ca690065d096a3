"""files each account marked reviewed in a patch set, and patch set descriptions

Revision ID: 0021_reviewed_files
Revises: 0020_group_includes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_reviewed_files"
down_revision = "0020_group_includes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reviewed_files",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("patch_set", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(["change_number"], ["changes.number"], ondelete="CASCADE",
                                name=op.f("fk_reviewed_files_change_number_changes")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_reviewed_files_account_id_accounts")),
        sa.PrimaryKeyConstraint("change_number", "patch_set", "account_id", "path",
                                name=op.f("pk_reviewed_files")),
    )
    op.create_table(
        "patch_set_descriptions",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("patch_set", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["change_number"], ["changes.number"], ondelete="CASCADE",
                                name=op.f("fk_patch_set_descriptions_change_number_changes")),
        sa.PrimaryKeyConstraint("change_number", "patch_set",
                                name=op.f("pk_patch_set_descriptions")),
    )


def downgrade() -> None:
    op.drop_table("patch_set_descriptions")
    op.drop_table("reviewed_files")
