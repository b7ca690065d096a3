"""Tables of CI: nodes and node requests, holds, builds, buildsets, pipeline items and the
scheduler's cursor."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from keepgreen.store.schema.base import metadata

# The node pool. A node row exists from the moment a launch is decided (REQUESTED) until its
# provider confirmed the delete, so quota counts and leak sweeps see every server that may
# exist. ``data`` holds how to reach an ssh node (host, port, key paths, netns, pid);
# ``connection_type`` and ``attributes`` say how to reach the other kinds (a Kubernetes pod
# or namespace: its namespace, pod, context, API server and token).
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
    Column("connection_type", String(16), nullable=False, server_default="ssh"),
    Column("attributes", JSON, nullable=True),
    # The launcher process that launches (and later deletes) the node; None until one of
    # the launchers serving its provider takes the launch.
    Column("launcher", String(255), nullable=True),
    Index("ix_nodes_state", "state"),
    Index("ix_nodes_request", "request_id"),
)


# The launcher processes of a site: the providers each serves and its last heartbeat. A
# launcher whose heartbeat is older than the lease is dead: its launches are failed and
# its nodes deleted by another launcher serving their provider.
launchers = Table(
    "launchers",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("providers", JSON, nullable=False),
    Column("heartbeat", Float, nullable=False),
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
    # Where the time went: [[stage, seconds], ...] in order (nodes, setup, each playbook).
    Column("stages", JSON, nullable=True),
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
