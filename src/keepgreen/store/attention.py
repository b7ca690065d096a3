"""The attention set of changes in the store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Row, delete, insert, select

from keepgreen.domain.attention import Turn
from keepgreen.store.schema import attention
from keepgreen.store.sql import among


def apply(conn: Connection, number: int, turns: Iterable[Turn], by: int | None,
          now: datetime) -> None:
    """Record ``turns`` on change ``number``; a removal of someone not in the set is
    dropped, so "removed" keeps saying when and why they last left it."""
    current = {r.account_id: r.in_set for r in of(conn, [number])[number]}
    for turn in turns:
        if not turn.add and not current.get(turn.account_id, False):
            continue
        if turn.add and current.get(turn.account_id, False):
            continue
        conn.execute(delete(attention).where(attention.c.change_number == number,
                                             attention.c.account_id == turn.account_id))
        conn.execute(insert(attention).values(
            change_number=number, account_id=turn.account_id, in_set=turn.add,
            reason=turn.reason[:255], reason_account_id=by, updated=now))
        current[turn.account_id] = turn.add


def of(conn: Connection, numbers: list[int]) -> dict[int, list[Row]]:  # type: ignore[type-arg]
    result: dict[int, list[Row]] = {n: [] for n in numbers}  # type: ignore[type-arg]
    if numbers:
        rows = conn.execute(select(attention).where(among(conn, attention.c.change_number,
                                                          numbers))
                            .order_by(attention.c.change_number, attention.c.updated))
        for row in rows:
            result[row.change_number].append(row)
    return result


def holders(conn: Connection, number: int) -> list[int]:
    """Who is in the attention set of change ``number`` now."""
    return [r.account_id for r in of(conn, [number])[number] if r.in_set]
