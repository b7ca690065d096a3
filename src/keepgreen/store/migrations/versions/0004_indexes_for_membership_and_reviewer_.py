"""indexes for membership and reviewer lookups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("change_people", schema=None) as batch_op:
        batch_op.create_index("ix_change_people_account", ["account_id"], unique=False)

    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index("ix_group_members_account", ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index("ix_group_members_account")

    with op.batch_alter_table("change_people", schema=None) as batch_op:
        batch_op.drop_index("ix_change_people_account")
