"""Project dashboards: Gerrit's ``refs/meta/dashboards/<ref>:<path>``, one row each."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, String, Table, Text

from keepgreen.store.schema.base import metadata

project_dashboards = Table(
    "project_dashboards",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("ref", String(255), primary_key=True),
    Column("path", String(255), primary_key=True),
    Column("title", String(255), nullable=True),
    Column("description", Text, nullable=True),
    Column("foreach", Text, nullable=True),
    # [{"name": ..., "query": ...}] in the order the page shows them.
    Column("sections", JSON, nullable=False),
    # At most one per project: the dashboard ``default`` names.
    Column("is_default", Boolean, nullable=False, default=False),
    Column("updated", DateTime, nullable=False),
)
