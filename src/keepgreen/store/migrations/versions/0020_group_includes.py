"""groups included in other groups, and whether a group is visible to all

Revision ID: 0020_group_includes
Revises: 0019_attention_set
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_group_includes"
down_revision = "0019_attention_set"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visible_to_all", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    op.create_table(
        "group_includes",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("included_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE",
                                name=op.f("fk_group_includes_group_id_groups")),
        sa.ForeignKeyConstraint(["included_id"], ["groups.id"], ondelete="CASCADE",
                                name=op.f("fk_group_includes_included_id_groups")),
        sa.PrimaryKeyConstraint("group_id", "included_id", name=op.f("pk_group_includes")),
    )
    op.create_index("ix_group_includes_included", "group_includes", ["included_id"])


def downgrade() -> None:
    op.drop_index("ix_group_includes_included", table_name="group_includes")
    op.drop_table("group_includes")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("visible_to_all")
