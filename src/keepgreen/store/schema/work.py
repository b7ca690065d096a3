"""Tables of handed-out work: the builds waiting for or running on an executor, the
executors themselves, and the live status the scheduler shares with the other processes."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from keepgreen.store.schema.base import metadata

# One row per build handed to the executors, from the moment the scheduler starts it until
# the scheduler has taken its result. ``state`` is requested (waiting for an executor),
# running (claimed by ``owner``, who renews ``lease_until``) or completed (``result`` holds
# the executor's result). ``request`` is the build request as JSON (``executor.wire``).
# ``priority`` orders the claims: gate builds before check builds, then oldest first.
# ``nodes`` lists the ids of the nodes the running attempt holds, so the nodes of a dead
# executor go back to the pool when its build is handed out again. Times are Unix seconds.
build_requests = Table(
    "build_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(64), nullable=False, unique=True),
    Column("build", Integer, nullable=False),
    Column("buildset", Integer, nullable=False),
    Column("job", String(255), nullable=False),
    Column("pipeline", String(255), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("request", JSON, nullable=False),
    Column("owner", String(255), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("nodes", JSON, nullable=False),
    Column("early_reason", Text, nullable=True),
    Column("early_reported", Boolean, nullable=False, default=False),
    Column("cancel_reason", Text, nullable=True),
    Column("result", JSON, nullable=True),
    Column("created", Float, nullable=False),
    Index("ix_build_requests_claim", "state", "priority", "id"),
)

# The executors that take builds: each writes its row when it starts and renews
# ``heartbeat`` while it runs. ``paused`` stops it taking builds; ``graceful`` makes it
# finish the builds it has and then stop.
executors = Table(
    "executors",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("running", Integer, nullable=False),
    Column("load", Float, nullable=False),
    Column("free_disk", BigInteger, nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("graceful", Boolean, nullable=False, default=False),
    Column("started", Float, nullable=False),
    Column("heartbeat", Float, nullable=False),
)


# The live status of every pipeline as the leading scheduler last wrote it (one row), for
# the processes that serve web requests without running the scheduler.
live_status = Table(
    "live_status",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("written", Float, nullable=False),
)
