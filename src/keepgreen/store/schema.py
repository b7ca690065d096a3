"""Tables. Rows are mapped to the domain's plain values by the store modules; no table class
doubles as a domain object."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

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

# The node pool. A node row exists from the moment a launch is decided (REQUESTED) until its
# provider confirmed the delete, so quota counts and leak sweeps see every server that may
# exist. ``data`` holds how to reach the node (host, port, key paths, netns, pid).
nodes = Table(
    "nodes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("label", String(255), nullable=False),
    Column("provider", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("request_id", Integer, nullable=True),
    Column("data", JSON, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created", DateTime, nullable=False),
    Column("state_changed", DateTime, nullable=False),
    Column("ready_at", DateTime, nullable=True),
    Column("hold_until", DateTime, nullable=True),
    Index("ix_nodes_state", "state"),
    Index("ix_nodes_request", "request_id"),
)

# Node requests, served lowest ``priority`` first (gate 100, check 200, min-ready 900), then
# oldest first. ``reason`` is the one line shown while it waits or after it failed.
node_requests = Table(
    "node_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("labels", JSON, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("requestor", String(255), nullable=False),
    Column("node_ids", JSON, nullable=False),
    Column("failures", Integer, nullable=False, default=0),
    Column("reason", Text, nullable=False, default=""),
    Column("created", DateTime, nullable=False),
    Column("updated", DateTime, nullable=False),
    Index("ix_node_requests_state", "state", "priority", "id"),
    sqlite_autoincrement=True,
)

# Autohold requests (``keepgreen autohold``): the next ``remaining`` failing builds of ``job`` in
# ``project`` (of one change when ``change_number`` is set) keep their nodes for
# ``hold_seconds``, so someone can log in and look.
autohold_requests = Table(
    "autohold_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(255), nullable=False),
    Column("job", String(255), nullable=False),
    Column("change_number", Integer, nullable=True),
    Column("count", Integer, nullable=False),
    Column("remaining", Integer, nullable=False),
    Column("hold_seconds", Integer, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created", DateTime, nullable=False),
    sqlite_autoincrement=True,
)

# A node kept after a failing build by an autohold request, until ``expires``; ``ssh`` is
# the command that reaches it from the server's machine. Removed with the node.
node_holds = Table(
    "node_holds",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("build_uuid", String(64), nullable=False),
    Column("autohold_id", Integer, nullable=True),
    Column("ssh", Text, nullable=False),
    Column("expires", DateTime, nullable=False),
    Column("created", DateTime, nullable=False),
    Index("ix_node_holds_build", "build_uuid"),
)

# One row per build the scheduler started: written when it starts, completed when it ends, so
# a build that was running when the process stopped is still listed (with no result).
builds = Table(
    "builds",
    metadata,
    Column("uuid", String(64), primary_key=True),
    Column("pipeline", String(255), nullable=False),
    Column("project", String(255), nullable=False),
    Column("change_number", Integer, nullable=False),
    Column("patch_set", Integer, nullable=False),
    Column("job", String(255), nullable=False),
    Column("result", String(32), nullable=True),
    Column("reason", Text, nullable=False, default=""),
    Column("voting", Boolean, nullable=False, default=True),
    Column("started", DateTime, nullable=False),
    Column("ended", DateTime, nullable=True),
    Column("log_dir", Text, nullable=True),
    Column("buildset", String(64), nullable=True),  # buildsets.uuid
    Index("ix_builds_change", "change_number", "patch_set"),
    Index("ix_builds_buildset", "buildset"),
    Index("ix_builds_job_result", "job", "result"),
)

# Where each consumer of the event log stopped (the id of the last event it handled), so
# every event is acted on once, also across a restart.
scheduler_cursor = Table(
    "scheduler_cursor",
    metadata,
    Column("consumer", String(64), primary_key=True),
    Column("last_event_id", Integer, nullable=False),
)

# One row per build set (a merged item's speculative state and the builds run on it): written
# when its merge succeeds, completed when its item is reported. ``changes`` is the state as
# "12,1 13,1" (head first); ``change_number`` is None for ref items (post, periodic).
buildsets = Table(
    "buildsets",
    metadata,
    Column("uuid", String(64), primary_key=True),
    Column("pipeline", String(255), nullable=False),
    Column("project", String(255), nullable=False),
    Column("change_number", Integer, nullable=True),
    Column("patch_set", Integer, nullable=True),
    Column("ref", String(255), nullable=False),
    Column("changes", Text, nullable=False, default=""),
    Column("result", String(32), nullable=True),
    Column("message", Text, nullable=False, default=""),
    Column("started", DateTime, nullable=False),
    Column("ended", DateTime, nullable=True),
    Index("ix_buildsets_change", "change_number", "patch_set"),
    Index("ix_buildsets_started", "started"),
)

# Operator commands (enqueue, dequeue, promote) waiting for the scheduler: taken in id order,
# once each; ``done`` is set when the scheduler took it, with ``error`` saying why it refused.
management_events = Table(
    "management_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("pipeline", String(255), nullable=False),
    Column("project", String(255), nullable=False),
    Column("changes", Text, nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("created", DateTime, nullable=False),
    Column("done", DateTime, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_management_events_done", "done", "id"),
    sqlite_autoincrement=True,
)

# The site's config project as the site runs it: the commit last applied and the last one
# looked at (applied or refused), with the outcome; ``queues`` maps project -> shared queue.
site_config_state = Table(
    "site_config_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("applied_sha", String(64), nullable=True),
    Column("seen_sha", String(64), nullable=True),
    Column("result", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("queues", JSON, nullable=False),
    Column("updated", DateTime, nullable=False),
)

# The live items of each pipeline, written as they enter and deleted as they leave, so a
# restarted scheduler enqueues them again in the same pipelines and order (``id`` order).
# A change item has its number and patch set; a ref item (post, periodic) has change and
# patch set 0 and ``ref``/``newrev``. ``queue`` is the change queue it was in.
pipeline_items = Table(
    "pipeline_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pipeline", String(255), nullable=False),
    Column("queue", String(255), nullable=False),
    Column("project", String(255), nullable=False),
    Column("branch", String(255), nullable=False),
    Column("change_number", Integer, nullable=False),
    Column("patch_set", Integer, nullable=False),
    Column("ref", String(255), nullable=True),
    Column("newrev", String(64), nullable=True),
    Column("enqueued", DateTime, nullable=False),
    Index("ix_pipeline_items_pipeline", "pipeline"),
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

# Elections (docs/governance.md). The voted marker and the ballots are kept apart so no row
# links a voter to a ranking: a ballot is found only through the hash of the receipt its
# voter holds, and neither table records when it was written. Without a rowid SQLite keeps
# the ballots in receipt-hash order, not the order they were cast.
election_secrets = Table(
    "election_secrets",
    metadata,
    Column("election", String(64), primary_key=True),
    Column("salt", String(128), nullable=False),
)

election_candidates = Table(
    "election_candidates",
    metadata,
    Column("election", String(64), primary_key=True),
    Column("username", String(64), primary_key=True),
    Column("position", Integer, nullable=False),  # acceptance order: the tie-break
    Column("status", String(16), nullable=False),  # ACCEPTED or NOT_APPROVED or LATE
    Column("change_number", Integer, nullable=True),
    Column("approved_by", String(64), nullable=True),
    Column("recorded", DateTime, nullable=False),
)

election_voters = Table(
    "election_voters",
    metadata,
    Column("election", String(64), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
)

election_ballots = Table(
    "election_ballots",
    metadata,
    Column("election", String(64), primary_key=True),
    Column("receipt_hash", String(64), primary_key=True),
    Column("ranking", JSON, nullable=False),
    sqlite_with_rowid=False,
)

election_results = Table(
    "election_results",
    metadata,
    Column("election", String(64), primary_key=True),
    Column("winner", String(64), nullable=True),
    Column("document", JSON, nullable=False),
    Column("decided", DateTime, nullable=False),
    Column("proposal_change", Integer, nullable=True),
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

# Shared pads: a pad may belong to a change or a project (or neither); its text is the sum
# of its CRDT updates, each kept with the account that sent it.
pads = Table(
    "pads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("title", String(200), nullable=False),
    Column("project", String(255), nullable=True),
    Column("change_number", Integer, nullable=True),
    Column("created_by", Integer, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created", DateTime, nullable=False),
    Index("ix_pads_project", "project"),
    Index("ix_pads_change_number", "change_number"),
    sqlite_autoincrement=True,
)

pad_updates = Table(
    "pad_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pad_id", Integer, ForeignKey("pads.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False),
    Column("created", DateTime, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index("ix_pad_updates_pad_id_id", "pad_id", "id"),
    sqlite_autoincrement=True,
)
