"""``INSERT ... ON CONFLICT`` for the dialects the store supports (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table

__all__ = ["dialect_insert"]


def dialect_insert(engine: Engine, table: Table) -> Any:
    """The dialect's ``insert(table)``, which has ``on_conflict_do_update`` / ``on_conflict_do_nothing``.

    Raises:
        ValueError: for a database other than SQLite or PostgreSQL (the claims need ON CONFLICT).
    """
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        raise ValueError(
            f"prefect-alerts needs SQLite or PostgreSQL for its dispatch state, got {name!r}; "
            "set PREFECT_ALERTS_DATABASE_URL to a postgresql+psycopg:// URL or unset it for SQLite"
        )
    return insert(table)
