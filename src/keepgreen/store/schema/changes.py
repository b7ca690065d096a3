"""Tables of changes under review: patch sets, people, votes, messages, comments, edits,
submissions and the event log."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from keepgreen.store.schema.base import metadata

changes = Table(
    "changes",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), ForeignKey("projects.name"), nullable=False),
    Column("branch", String(255), nullable=False),
    Column("change_id", String(41), nullable=False),
    Column("owner_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("subject", Text, nullable=False),
    Column("status", String(16), nullable=False, default="NEW"),
    Column("topic", String(255), nullable=True),
    Column("wip", Boolean, nullable=False, default=False),
    Column("private", Boolean, nullable=False, default=False),
    Column("current_patch_set", Integer, nullable=False, default=1),
    Column("created", DateTime, nullable=False),
    Column("updated", DateTime, nullable=False),
    Column("submitted", DateTime, nullable=True),
    Column("submitter_id", Integer, nullable=True),
    Column("revert_of", Integer, nullable=True),  # the change this one reverts
    # The last mergeability check: its answer and "<patch set>:<branch tip>" it was made for.
    Column("mergeable", Boolean, nullable=True),
    Column("mergeable_key", String(100), nullable=True),
    Index("ix_changes_project_status", "project", "status", "updated"),
    Index("ix_changes_status_updated", "status", "updated"),
    Index("ix_changes_change_id", "change_id"),
    Index("ix_changes_owner", "owner_id", "status"),
    sqlite_autoincrement=True,
)


patch_sets = Table(
    "patch_sets",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("sha", String(64), nullable=False),
    Column("parents", JSON, nullable=False),
    Column("uploader_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("created", DateTime, nullable=False),
    Column("message", Text, nullable=False),
    Column("author_name", String(255), nullable=False, default=""),
    Column("author_email", String(255), nullable=False, default=""),
    Column("author_date", DateTime, nullable=False),
    Column("committer_name", String(255), nullable=False, default=""),
    Column("committer_email", String(255), nullable=False, default=""),
    Column("committer_date", DateTime, nullable=False),
    Column("parent_change", Integer, nullable=True),
    Column("kind", String(32), nullable=False, default="REWORK"),
    Column("insertions", Integer, nullable=False, server_default="0"),
    Column("deletions", Integer, nullable=False, server_default="0"),
    Index("ix_patch_sets_sha", "sha"),
)


change_people = Table(
    "change_people",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("state", String(16), nullable=False),  # REVIEWER or CC
    Index("ix_change_people_account", "account_id"),
)


# The attention set: who is expected to act next (in_set), and who left it, with why.
attention = Table(
    "attention",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("in_set", Boolean, nullable=False),
    Column("reason", String(255), nullable=False),
    Column("reason_account_id", Integer, nullable=True),
    Column("updated", DateTime, nullable=False),
    Index("ix_attention_account", "account_id", "in_set"),
)


hashtags = Table(
    "hashtags",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("hashtag", String(255), primary_key=True),
    Index("ix_hashtags_hashtag", "hashtag"),
)


approvals = Table(
    "approvals",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("patch_set", Integer, primary_key=True),
    Column("label", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("granted", DateTime, nullable=False),
    Column("tag", String(255), nullable=True),
)


messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           nullable=False),
    Column("patch_set", Integer, nullable=False),
    Column("author_id", Integer, ForeignKey("accounts.id"), nullable=True),
    Column("date", DateTime, nullable=False),
    Column("message", Text, nullable=False),
    Column("tag", String(255), nullable=True),
    Index("ix_messages_change", "change_number"),
    sqlite_autoincrement=True,
)


events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("type", String(64), nullable=False),
    Column("created", DateTime, nullable=False),
    Column("project", String(255), nullable=True),
    Column("change_number", Integer, nullable=True),
    Column("payload", JSON, nullable=False),
    sqlite_autoincrement=True,
)


patch_set_files = Table(
    "patch_set_files",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("patch_set", Integer, primary_key=True),
    Column("path", String(1024), primary_key=True),
    Index("ix_patch_set_files_path", "path"),
)


comments = Table(
    "comments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           nullable=False),
    Column("patch_set", Integer, nullable=False),
    Column("path", Text, nullable=False),
    Column("side", String(16), nullable=False, default="REVISION"),
    Column("line", Integer, nullable=True),
    Column("range", JSON, nullable=True),
    Column("message", Text, nullable=False),
    Column("author_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("in_reply_to", String(64), nullable=True),
    Column("unresolved", Boolean, nullable=False, default=False),
    Column("draft", Boolean, nullable=False, default=False),
    Column("updated", DateTime, nullable=False),
    Column("tag", String(255), nullable=True),
    Index("ix_comments_change", "change_number", "patch_set"),
)


# Files an account marked reviewed in one patch set (Gerrit's per-file "reviewed" flag).
reviewed_files = Table(
    "reviewed_files",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("patch_set", Integer, primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("path", String(1024), primary_key=True),
)


# The description its uploader gave a patch set (Gerrit's RevisionInfo.description).
patch_set_descriptions = Table(
    "patch_set_descriptions",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("patch_set", Integer, primary_key=True),
    Column("description", Text, nullable=False),
)


stars = Table(
    "stars",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
)


change_edits = Table(
    "change_edits",
    metadata,
    Column("change_number", Integer, ForeignKey("changes.number", ondelete="CASCADE"),
           primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), primary_key=True),
    Column("base_patch_set", Integer, nullable=False),
    Column("message", Text, nullable=False),
    Column("updated", DateTime, nullable=False),
)


# A submit in flight: written before the branch moves and closed after the changes are
# marked merged, so a crash in between is finished (or undone) on the next start.
submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("branch", String(255), nullable=False),
    Column("old_sha", String(64), nullable=False),
    Column("new_sha", String(64), nullable=False),
    Column("plan", JSON, nullable=False),
    Column("submitter_id", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created", DateTime, nullable=False),
    sqlite_autoincrement=True,
)
