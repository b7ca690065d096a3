"""Tables of site state: the applied site config, elections and pads."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from keepgreen.store.schema.base import metadata

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
