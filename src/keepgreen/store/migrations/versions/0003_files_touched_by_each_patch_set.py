"""files touched by each patch set

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patch_set_files",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("patch_set", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_patch_set_files_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "change_number", "patch_set", "path", name=op.f("pk_patch_set_files")
        ),
    )
    with op.batch_alter_table("patch_set_files", schema=None) as batch_op:
        batch_op.create_index("ix_patch_set_files_path", ["path"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patch_set_files", schema=None) as batch_op:
        batch_op.drop_index("ix_patch_set_files_path")

    op.drop_table("patch_set_files")
