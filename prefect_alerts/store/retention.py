"""Deleting old rows without holding the write lock for long: a hook's claim waits at most one small batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, delete, tuple_

__all__ = ["delete_in_batches"]


def delete_in_batches(engine: Engine, table: Table, doomed: Any, *, batch_size: int, max_rows: int) -> int:
    """Delete the rows of ``table`` whose primary key ``doomed`` selects (``select(table.c.id)...``, or every
    column of a composite key in its order, without a limit), ``batch_size`` per transaction and at most
    ``max_rows`` in all; the number deleted.

    Example:
        ```python
        doomed = select(outbox.c.id).where(outbox.c.status == "delivered", outbox.c.updated_at < cutoff)
        delete_in_batches(engine, outbox, doomed, batch_size=500, max_rows=50_000)
        ```
    """
    key = list(table.primary_key.columns)
    deleted = 0
    while deleted < max_rows:
        chunk = doomed.limit(min(batch_size, max_rows - deleted))
        with engine.begin() as connection:
            selected = key[0].in_(chunk) if len(key) == 1 else tuple_(*key).in_(chunk)
            count = connection.execute(delete(table).where(selected)).rowcount
        deleted += count
        if count < batch_size:
            break
    return deleted
