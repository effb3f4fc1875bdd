"""Deleting old rows without holding the write lock for long: a hook's claim waits at most one small batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, delete

__all__ = ["delete_in_batches"]


def delete_in_batches(engine: Engine, table: Table, doomed: Any, *, batch_size: int, max_rows: int) -> int:
    """Delete the rows of ``table`` whose ``id`` ``doomed`` selects (a ``select(table.c.id)...`` without a
    limit), ``batch_size`` per transaction and at most ``max_rows`` in all; the number deleted.

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
            count = connection.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
        deleted += count
        if count < batch_size:
            break
    return deleted
