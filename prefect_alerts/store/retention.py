"""Deleting old rows without holding the write lock for long: a hook's claim waits at most one small batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Engine, Table, delete, tuple_

__all__ = ["delete_in_batches"]


def delete_in_batches(
    engine: Engine,
    table: Table,
    doomed: Any,
    *,
    batch_size: int,
    max_rows: int,
    key: Sequence[Column[Any]] | None = None,
) -> int:
    """Delete the rows of ``table`` whose ``id`` ``doomed`` selects (a ``select(table.c.id)...`` without a
    limit), ``batch_size`` per transaction and at most ``max_rows`` in all; the number deleted.

    ``key``: the columns ``doomed`` selects when the table's key is not ``id`` (a composite primary key, e.g.
    the notification log's dedup key and destination).

    Example:
        ```python
        doomed = select(outbox.c.id).where(outbox.c.status == "delivered", outbox.c.updated_at < cutoff)
        delete_in_batches(engine, outbox, doomed, batch_size=500, max_rows=50_000)
        ```
    """
    deleted = 0
    while deleted < max_rows:
        chunk = doomed.limit(min(batch_size, max_rows - deleted))
        with engine.begin() as connection:
            selected = tuple_(*key).in_(chunk) if key else table.c.id.in_(chunk)
            count = connection.execute(delete(table).where(selected)).rowcount
        deleted += count
        if count < batch_size:
            break
    return deleted
