"""review state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("ref", sa.String(length=255), nullable=False),
        sa.Column("permission", sa.String(length=64), nullable=False),
        sa.Column("group_name", sa.String(length=255), nullable=False),
        sa.Column("min_value", sa.Integer(), nullable=False),
        sa.Column("max_value", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_rules")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("access_rules", schema=None) as batch_op:
        batch_op.create_index("ix_access_rules_project", ["project"], unique=False)

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("old_sha", sa.String(length=64), nullable=False),
        sa.Column("new_sha", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "change_edits",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("base_patch_set", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_change_edits_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_change_edits_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_number", "account_id", name=op.f("pk_change_edits")),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("patch_set", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("range", sa.JSON(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("in_reply_to", sa.String(length=64), nullable=True),
        sa.Column("unresolved", sa.Boolean(), nullable=False),
        sa.Column("draft", sa.Boolean(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_comments_author_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_comments_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_change", ["change_number", "patch_set"], unique=False)

    op.create_table(
        "stars",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_stars_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_stars_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "change_number", name=op.f("pk_stars")),
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitter_id", sa.Integer(), nullable=True))

    with op.batch_alter_table("patch_sets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("insertions", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("deletions", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "submit_type",
                sa.String(length=32),
                server_default="MERGE_IF_NECESSARY",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("required_approvals", sa.Integer(), server_default="2", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("required_approvals")
        batch_op.drop_column("submit_type")

    with op.batch_alter_table("patch_sets", schema=None) as batch_op:
        batch_op.drop_column("deletions")
        batch_op.drop_column("insertions")

    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_column("submitter_id")

    op.drop_table("stars")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_change")

    op.drop_table("comments")
    op.drop_table("change_edits")
    op.drop_table("submissions")
    with op.batch_alter_table("access_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_access_rules_project")

    op.drop_table("access_rules")
