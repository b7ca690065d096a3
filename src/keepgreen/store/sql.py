"""SQL helpers shared by the store modules."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Connection, any_, bindparam


def among(conn: Connection, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL one array parameter instead of one per value.

    Pages of changes load their patch sets, votes and people by long lists of numbers; a
    single array keeps the statement text fixed, so the driver's statement cache and the
    server's plan cache both apply.
    """
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
