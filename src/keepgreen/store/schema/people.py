"""Tables of accounts, groups and projects and what hangs off them: access rules, keys and
webhooks."""

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
    UniqueConstraint,
    true,
)

from keepgreen.store.schema.base import metadata

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False, default=""),
    Column("email", String(255), nullable=True),
    Column("http_password_hash", String(255), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created", DateTime, nullable=False),
    # Raised on sign-out and password changes; browser sessions of an older epoch are void.
    Column("session_epoch", Integer, nullable=False, default=0, server_default="0"),
    sqlite_autoincrement=True,
)


groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("owner", String(255), nullable=False, default="Administrators"),
    Column("created", DateTime, nullable=False),
    Column("visible_to_all", Boolean, nullable=False, default=True, server_default=true()),
    sqlite_autoincrement=True,
)


group_members = Table(
    "group_members",
    metadata,
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Index("ix_group_members_account", "account_id"),
)


# Groups included in groups (Gerrit's subgroups): every member of ``included_id`` counts as
# a member of ``group_id``, and so on transitively; cycles are allowed.
group_includes = Table(
    "group_includes",
    metadata,
    Column("group_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("included_id", Integer, ForeignKey("groups.id", ondelete="CASCADE"),
           primary_key=True),
    Index("ix_group_includes_included", "included_id"),
)


projects = Table(
    "projects",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("head", String(255), nullable=False, default="refs/heads/main"),
    Column("anonymous_read", Boolean, nullable=False, default=True),
    Column("state", String(16), nullable=False, default="ACTIVE"),
    Column("created", DateTime, nullable=False),
    Column("submit_type", String(32), nullable=False, server_default="MERGE_IF_NECESSARY"),
    Column("required_approvals", Integer, nullable=False, server_default="2"),
)


access_rules = Table(
    "access_rules",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("ref", String(255), nullable=False),
    Column("permission", String(64), nullable=False),
    Column("group_name", String(255), nullable=False),
    Column("min_value", Integer, nullable=False, default=0),
    Column("max_value", Integer, nullable=False, default=0),
    Column("action", String(16), nullable=False, default="allow"),
    Index("ix_access_rules_project", "project"),
    sqlite_autoincrement=True,
)


# Each project's RSA key pair for Zuul secrets. ``private_pem`` is encrypted PKCS#8 whose
# passphrase is the site key (secrets/site.key), so the database alone opens no secret.
project_keys = Table(
    "project_keys",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("public_pem", Text, nullable=False),
    Column("private_pem", Text, nullable=False),
    Column("created", DateTime, nullable=False),
)


# Each account's SSH public keys, numbered per account from 1 (Gerrit's ``seq``, never
# reused). ``encoded_key`` is the base64 blob compared on sign-in over SSH.
account_ssh_keys = Table(
    "account_ssh_keys",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("algorithm", String(64), nullable=False),
    Column("encoded_key", Text, nullable=False),
    Column("comment", String(255), nullable=False, default=""),
    Column("valid", Boolean, nullable=False, default=True),
    Column("created", DateTime, nullable=False),
)


# Webhooks (as Gerrit's webhooks plugin): a project's remote receives the events its
# ``owner_id`` may see, signed with ``secret`` when one is set.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("name", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),  # event types; empty means every type
    Column("secret", Text, nullable=False, default=""),
    Column("max_tries", Integer, nullable=False),
    Column("retry_interval", Integer, nullable=False),  # seconds before the second try
    Column("owner_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created", DateTime, nullable=False),
    UniqueConstraint("project", "name"),
    sqlite_autoincrement=True,
)


# One row per event sent (or to send) to a webhook; ``state`` is PENDING, DELIVERED or
# FAILED (no tries left); ``outcome`` is the last try's status line or error.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"),
           nullable=False),
    Column("event_id", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("tries", Integer, nullable=False, default=0),
    Column("outcome", Text, nullable=False, default=""),
    Column("next_try", DateTime, nullable=False),
    Column("created", DateTime, nullable=False),
    Column("finished", DateTime, nullable=True),
    Index("ix_webhook_deliveries_due", "state", "next_try"),
    Index("ix_webhook_deliveries_hook", "webhook_id", "id"),
    sqlite_autoincrement=True,
)


# Preferences an account set itself, one JSON object per kind (general, diff, edit) holding
# only the fields it set; what it never set comes from ``default_preferences``.
account_preferences = Table(
    "account_preferences",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("value", JSON, nullable=False),
)


# The site's defaults for accounts, per kind, as administrators set them.
default_preferences = Table(
    "default_preferences",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("value", JSON, nullable=False),
)


# The projects an account watches, each with an optional change query ``filter`` ("" for
# none) and what the account wants to hear of.
project_watches = Table(
    "project_watches",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("project", String(255), primary_key=True),
    Column("filter", String(1000), primary_key=True),
    Column("notify_new_changes", Boolean, nullable=False, default=False),
    Column("notify_new_patch_sets", Boolean, nullable=False, default=False),
    Column("notify_all_comments", Boolean, nullable=False, default=False),
    Column("notify_submitted_changes", Boolean, nullable=False, default=False),
    Column("notify_abandoned_changes", Boolean, nullable=False, default=False),
)


# An account's e-mail addresses besides its preferred one (``accounts.email``);
# ``email_key`` is the address in lower case, unique across the site.
account_emails = Table(
    "account_emails",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False),
    Column("email", String(255), nullable=False),
    Column("email_key", String(255), primary_key=True),
    Index("ix_account_emails_account", "account_id"),
)


# What an account says of itself beyond its name: a display name and a status message.
account_profiles = Table(
    "account_profiles",
    metadata,
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("display_name", String(255), nullable=False, default=""),
    Column("status", String(255), nullable=False, default=""),
)
