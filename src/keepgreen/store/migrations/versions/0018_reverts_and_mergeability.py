"""which change a change reverts, and the last mergeability check of each open change

Revision ID: 0018_reverts_mergeability
Revises: 0017_pads
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_reverts_mergeability"
down_revision = "0017_pads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revert_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("mergeable", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("mergeable_key", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_column("mergeable_key")
        batch_op.drop_column("mergeable")
        batch_op.drop_column("revert_of")
