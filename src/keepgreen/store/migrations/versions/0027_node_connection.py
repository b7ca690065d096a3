"""how a node is reached: its connection type and attributes (Kubernetes pods, namespaces)

Revision ID: 0027_node_connection
Revises: 0026_build_requests
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_node_connection"
down_revision = "0026_build_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs with a default: existing rows are ssh nodes, nothing is copied.
    op.add_column("nodes", sa.Column("connection_type", sa.String(length=16), nullable=False,
                                     server_default="ssh"))
    op.add_column("nodes", sa.Column("attributes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("attributes")
        batch.drop_column("connection_type")
