"""elections: candidates, voted markers, ballots by receipt hash, results

Revision ID: 0015_elections
Revises: 0014_ssh_keys
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_elections"
down_revision = "0014_ssh_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "election_secrets",
        sa.Column("election", sa.String(64), nullable=False),
        sa.Column("salt", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("election", name=op.f("pk_election_secrets")),
    )
    op.create_table(
        "election_candidates",
        sa.Column("election", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("change_number", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.String(64), nullable=True),
        sa.Column("recorded", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("election", "username", name=op.f("pk_election_candidates")),
    )
    op.create_table(
        "election_voters",
        sa.Column("election", sa.String(64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name=op.f("fk_election_voters_account_id_accounts")),
        sa.PrimaryKeyConstraint("election", "account_id", name=op.f("pk_election_voters")),
    )
    op.create_table(
        "election_ballots",
        sa.Column("election", sa.String(64), nullable=False),
        sa.Column("receipt_hash", sa.String(64), nullable=False),
        sa.Column("ranking", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("election", "receipt_hash", name=op.f("pk_election_ballots")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "election_results",
        sa.Column("election", sa.String(64), nullable=False),
        sa.Column("winner", sa.String(64), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("decided", sa.DateTime(), nullable=False),
        sa.Column("proposal_change", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("election", name=op.f("pk_election_results")),
    )


def downgrade() -> None:
    for table in ("election_results", "election_ballots", "election_voters",
                  "election_candidates", "election_secrets"):
        op.drop_table(table)
