"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("http_password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("project", sa.String(length=255), nullable=True),
        sa.Column("change_number", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "projects",
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("head", sa.String(length=255), nullable=False),
        sa.Column("anonymous_read", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_projects")),
    )
    op.create_table(
        "changes",
        sa.Column("number", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project", sa.String(length=255), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=False),
        sa.Column("change_id", sa.String(length=41), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=True),
        sa.Column("wip", sa.Boolean(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("current_patch_set", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.Column("submitted", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["accounts.id"], name=op.f("fk_changes_owner_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["project"], ["projects.name"], name=op.f("fk_changes_project_projects")
        ),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_changes")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.create_index("ix_changes_change_id", ["change_id"], unique=False)
        batch_op.create_index("ix_changes_owner", ["owner_id", "status"], unique=False)
        batch_op.create_index(
            "ix_changes_project_status", ["project", "status", "updated"], unique=False
        )
        batch_op.create_index("ix_changes_status_updated", ["status", "updated"], unique=False)

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_group_members_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "account_id", name=op.f("pk_group_members")),
    )
    op.create_table(
        "approvals",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("patch_set", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("granted", sa.DateTime(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_approvals_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_approvals_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "change_number", "patch_set", "label", "account_id", name=op.f("pk_approvals")
        ),
    )
    op.create_table(
        "change_people",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_change_people_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_change_people_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_number", "account_id", name=op.f("pk_change_people")),
    )
    op.create_table(
        "hashtags",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("hashtag", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_hashtags_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("change_number", "hashtag", name=op.f("pk_hashtags")),
    )
    with op.batch_alter_table("hashtags", schema=None) as batch_op:
        batch_op.create_index("ix_hashtags_hashtag", ["hashtag"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("patch_set", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("date", sa.DateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], name=op.f("fk_messages_author_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_messages_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_change", ["change_number"], unique=False)

    op.create_table(
        "patch_sets",
        sa.Column("change_number", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(length=64), nullable=False),
        sa.Column("parents", sa.JSON(), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("author_name", sa.String(length=255), nullable=False),
        sa.Column("author_email", sa.String(length=255), nullable=False),
        sa.Column("author_date", sa.DateTime(), nullable=False),
        sa.Column("committer_name", sa.String(length=255), nullable=False),
        sa.Column("committer_email", sa.String(length=255), nullable=False),
        sa.Column("committer_date", sa.DateTime(), nullable=False),
        sa.Column("parent_change", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["change_number"],
            ["changes.number"],
            name=op.f("fk_patch_sets_change_number_changes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploader_id"], ["accounts.id"], name=op.f("fk_patch_sets_uploader_id_accounts")
        ),
        sa.PrimaryKeyConstraint("change_number", "number", name=op.f("pk_patch_sets")),
    )
    with op.batch_alter_table("patch_sets", schema=None) as batch_op:
        batch_op.create_index("ix_patch_sets_sha", ["sha"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patch_sets", schema=None) as batch_op:
        batch_op.drop_index("ix_patch_sets_sha")

    op.drop_table("patch_sets")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_change")

    op.drop_table("messages")
    with op.batch_alter_table("hashtags", schema=None) as batch_op:
        batch_op.drop_index("ix_hashtags_hashtag")

    op.drop_table("hashtags")
    op.drop_table("change_people")
    op.drop_table("approvals")
    op.drop_table("group_members")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_index("ix_changes_status_updated")
        batch_op.drop_index("ix_changes_project_status")
        batch_op.drop_index("ix_changes_owner")
        batch_op.drop_index("ix_changes_change_id")

    op.drop_table("changes")
    op.drop_table("projects")
    op.drop_table("groups")
    op.drop_table("events")
    op.drop_table("accounts")
