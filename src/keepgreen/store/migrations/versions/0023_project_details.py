"""project details kept by keepgreen

Revision ID: 0023_project_details
Revises: 0022_account_settings
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0023_project_details"
down_revision = "0022_account_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
