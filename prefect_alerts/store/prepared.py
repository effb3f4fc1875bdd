"""A statement compiled once for an engine and run with the driver's own parameters: the hot path's speed.

SQLAlchemy spends most of a small statement's time building, caching and binding it; the dedupe claim runs
once per alert and destination, so it is compiled once here, its parameters bound with the types' own
processors, and sent to the driver's cursor inside the connection's transaction. Results come back as plain tuples in RETURNING order.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine

__all__ = ["PreparedStatement", "as_datetime", "batch", "close_thread_connections"]

_LOCAL = threading.local()


def as_datetime(value: Any) -> datetime | None:
    """A UTC datetime from what the driver returned (SQLite: text; PostgreSQL: a datetime)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class PreparedStatement:
    """``statement`` compiled for ``engine``'s dialect, with per-parameter bind processors."""

    def __init__(self, engine: Engine, statement: Any) -> None:
        self.engine = engine
        dialect = engine.dialect
        if dialect.name == "sqlite":
            # sqlite3 takes :name parameters too; named, a value used many times is bound once.
            from sqlalchemy.dialects import sqlite

            dialect = sqlite.dialect(paramstyle="named")
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = bool(getattr(compiled, "positional", False))
        self.order: list[str] = list(getattr(compiled, "positiontup", None) or [])
        self.constants: dict[str, Any] = {}
        self.processors: dict[str, Any] = {}
        for key, bind in compiled.binds.items():
            name = compiled.bind_names.get(bind, key)
            processor = bind.type._cached_bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor
            if bind.value is not None and not bind.callable:
                # Literals in the statement (e.g. 'firing') are bound parameters too.
                self.constants[name] = bind.value

    def _arguments(self, params: dict[str, Any]) -> Any:
        values = {**self.constants, **params}
        for name, processor in self.processors.items():
            value = values.get(name)
            if value is not None:
                values[name] = processor(value)
        return tuple(values[name] for name in self.order) if self.positional else values

    def run(self, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Execute in a transaction of its own on this thread's connection, commit, return the rows.

        The hot path keeps one driver connection per thread and process (taken from the engine, so its
        pragmas apply) instead of a pool checkout and a SQLAlchemy transaction per call, which cost more
        than the statement. A failed statement rolls back and drops the connection.
        """
        connection = _connection(self.engine)
        cursor = connection.cursor()
        try:
            cursor.execute(self.sql, self._arguments(params))
            rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
            if not _in_batch(self.engine):
                connection.commit()
            return rows
        except BaseException:
            _drop(self.engine)
            raise
        finally:
            cursor.close()


def _in_batch(engine: Engine) -> bool:
    return id(engine) in getattr(_LOCAL, "batches", ())


@contextlib.contextmanager
def batch(engine: Engine) -> Iterator[None]:
    """Run this thread's prepared statements on ``engine`` in one transaction, committed at the end (rolled
    back on an error): one commit for a whole dispatch's claims and outbox entries instead of one each.

    Inside it, write to ``engine`` only through prepared statements: a write through another connection
    would wait on this transaction's lock.
    """
    batches = getattr(_LOCAL, "batches", None)
    if batches is None:
        batches = _LOCAL.batches = set()
    key = id(engine)
    if key in batches:  # nested: the outer batch commits
        yield
        return
    batches.add(key)
    try:
        yield
    except BaseException:
        batches.discard(key)
        _drop(engine)
        raise
    batches.discard(key)
    connection = getattr(_LOCAL, "connections", {}).get(key)
    if connection is not None:
        try:
            connection.commit()
        except BaseException:
            _drop(engine)
            raise


def _connection(engine: Engine) -> Any:
    connections = getattr(_LOCAL, "connections", None)
    if connections is None or getattr(_LOCAL, "pid", None) != os.getpid():
        connections = _LOCAL.connections = {}  # a forked child must not reuse its parent's connection
        _LOCAL.pid = os.getpid()
    key = id(engine)
    connection = connections.get(key)
    if connection is None:
        connection = connections[key] = engine.raw_connection()
    return connection


def close_thread_connections() -> None:
    """Give back this thread's connections (a short-lived thread calls it before it ends)."""
    connections = getattr(_LOCAL, "connections", {})
    for key in list(connections):
        connection = connections.pop(key)
        with contextlib.suppress(Exception):
            connection.close()


def _drop(engine: Engine) -> None:
    connections = getattr(_LOCAL, "connections", {})
    connection = connections.pop(id(engine), None)
    if connection is not None:
        try:
            connection.rollback()
        finally:
            connection.invalidate() if hasattr(connection, "invalidate") else connection.close()
