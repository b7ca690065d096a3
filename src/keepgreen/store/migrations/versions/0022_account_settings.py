"""stored account preferences and watched projects

Revision ID: 0022_account_settings
Revises: 0021_reviewed_files
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_account_settings"
down_revision = "0021_reviewed_files"
branch_labels = None
depends_on = None


def _account_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                   name=op.f(f"fk_{table}_account_id_accounts"))


def upgrade() -> None:
    op.create_table(
        "account_preferences",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        _account_fk("account_preferences"),
        sa.PrimaryKeyConstraint("account_id", "kind", name=op.f("pk_account_preferences")),
    )
    op.create_table(
        "default_preferences",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_default_preferences")),
    )
    op.create_table(
        "project_watches",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("project", sa.String(255), nullable=False),
        sa.Column("filter", sa.String(1000), nullable=False),
        *[sa.Column(name, sa.Boolean(), nullable=False) for name in (
            "notify_new_changes", "notify_new_patch_sets", "notify_all_comments",
            "notify_submitted_changes", "notify_abandoned_changes")],
        _account_fk("project_watches"),
        sa.PrimaryKeyConstraint("account_id", "project", "filter",
                                name=op.f("pk_project_watches")),
    )
    op.create_table(
        "account_emails",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("email_key", sa.String(255), nullable=False),
        _account_fk("account_emails"),
        sa.PrimaryKeyConstraint("email_key", name=op.f("pk_account_emails")),
    )
    op.create_index("ix_account_emails_account", "account_emails", ["account_id"])
    op.create_table(
        "account_profiles",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(255), nullable=False),
        _account_fk("account_profiles"),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_profiles")),
    )


def downgrade() -> None:
    for table in ("account_profiles", "account_emails", "project_watches",
                  "default_preferences", "account_preferences"):
        op.drop_table(table)
