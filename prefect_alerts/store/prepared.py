"""A statement compiled once for an engine and run with the driver's own parameters: the hot path's speed.

SQLAlchemy spends most of a small statement's time building, caching and binding it; the dedupe claim runs
once per alert and destination, so it is compiled once here, its parameters bound with the types' own
processors, and sent to the driver's cursor inside the connection's transaction. Results come back as plain
tuples in RETURNING order. :meth:`PreparedStatement.run_many` writes many rows with one ``executemany``,
processing the values they share (a send's alert JSON, its times) once.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine

__all__ = [
    "PreparedStatement",
    "as_datetime",
    "batch",
    "close_thread_connections",
    "json_text",
    "sqlite_datetime_text",
]

_LOCAL = threading.local()


def sqlite_datetime_text(value: Any) -> Any:
    """What SQLAlchemy's SQLite ``DATETIME`` binds a datetime as (``2026-12-06 14:05:00.000000``), made by
    ``isoformat`` in C: the claim and the outbox bind several datetimes per alert. Other values go through
    SQLAlchemy's own processor.

        >>> from datetime import datetime, timezone
        >>> sqlite_datetime_text(datetime(2026, 12, 6, 14, 5, tzinfo=timezone.utc))
        '2026-12-06 14:05:00.000000'
    """
    if type(value) is datetime:
        # The offset of a tz-aware value is left out, as SQLAlchemy's format does; %-formatting is faster
        # than isoformat (which goes through C's printf).
        return _SQLITE_DATETIME_FORMAT % (
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
        )
    return _SQLITE_DATETIME_PROCESSOR(value)


_SQLITE_DATETIME_FORMAT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _sqlite_datetime_processor() -> Any:
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    return DateTime()._cached_bind_processor(sqlite.dialect())


_SQLITE_DATETIME_PROCESSOR = _sqlite_datetime_processor()


def json_text(value: Any) -> str:
    """``value`` as JSON text, by orjson (six times faster than ``json.dumps`` on an alert record) when it
    can, else by ``json.dumps`` (integers past 64 bits, types orjson does not know): the same data either
    way for JSON-safe values (string keys, no NaN).

        >>> json_text({"title": "Load failed", "tags": ["prod"]})
        '{"title":"Load failed","tags":["prod"]}'
    """
    if _orjson is not None:
        try:
            return _orjson.dumps(value, option=_orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:  # orjson.JSONEncodeError is a TypeError
            pass
    return json.dumps(value)


try:  # a dependency of prefect's; the store works without it
    import orjson as _orjson
except ImportError:  # pragma: no cover - prefect requires orjson
    _orjson = None


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
        sqlite_dialect = dialect.name == "sqlite"
        for key, bind in compiled.binds.items():
            name = compiled.bind_names.get(bind, key)
            processor = bind.type._cached_bind_processor(dialect)
            if sqlite_dialect and _is_default_sqlite_datetime(bind.type, dialect):
                processor = sqlite_datetime_text
            if processor is not None:
                self.processors[name] = processor
            if bind.value is not None and not bind.callable:
                # Literals in the statement (e.g. 'firing') are bound parameters too.
                self.constants[name] = bind.value
        self._processor_items = tuple(self.processors.items())

    def process(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` with each value passed through its type's bind processor (JSON to text, datetimes to
        SQLite's text form): done once for values many rows share, then handed to :meth:`run_many`."""
        processors = self.processors
        values = dict(params)
        for name, value in params.items():
            processor = processors.get(name)
            if processor is not None and value is not None:
                values[name] = processor(value)
        return values

    def _arguments(self, params: Mapping[str, Any], processed: Mapping[str, Any] | None = None) -> Any:
        values = {**self.constants, **processed, **params} if processed else {**self.constants, **params}
        # Only the few parameters with a processor (times, JSON) are visited, not every value.
        for name, processor in self._processor_items:
            if name in params:
                value = params[name]
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
            _close(cursor)

    def run_many(self, rows: Sequence[Mapping[str, Any]], shared: Mapping[str, Any] | None = None) -> None:
        """Execute once per row with one ``executemany`` (no RETURNING), like :meth:`run` for the transaction.

        ``shared`` holds the values every row has, already passed through :meth:`process` (so a send's alert
        JSON is serialised once however many destinations it goes to); a row's own values override them.

        Example:
            ```python
            statement = PreparedStatement(engine, insert(outbox).values(...))
            shared = statement.process({"alert": record, "now": now})
            statement.run_many([{"id": "e1", "destination": "slack:ops"}, {"id": "e2", "destination": "email:team"}], shared)
            ```
        """
        connection = _connection(self.engine)
        cursor = connection.cursor()
        try:
            cursor.executemany(self.sql, [self._arguments(row, shared) for row in rows])
            if not _in_batch(self.engine):
                connection.commit()
        except BaseException:
            _drop(self.engine)
            raise
        finally:
            _close(cursor)


def _close(cursor: Any) -> None:
    # A plain try: contextlib.suppress costs more than the close, twice per claimed alert.
    try:  # noqa: SIM105
        cursor.close()
    except Exception:  # after _drop the cursor is closed: keep the real error
        pass


def _is_default_sqlite_datetime(type_: Any, dialect: Any) -> bool:
    from sqlalchemy.dialects.sqlite import DATETIME

    adapted = type_.dialect_impl(dialect)
    return type(adapted) is DATETIME and adapted._storage_format == DATETIME._storage_format


def _in_batch(engine: Engine) -> bool:
    return id(engine) in getattr(_LOCAL, "batches", ())


def batch(engine: Engine) -> _Batch:
    """Run this thread's prepared statements on ``engine`` in one transaction, committed at the end (rolled
    back on an error): one commit for a whole dispatch's claims and outbox entries instead of one each.

    Inside it, write to ``engine`` only through prepared statements: a write through another connection
    would wait on this transaction's lock.

    Example:
        ```python
        with batch(engine):
            claim.run(params)
            insert.run_many(rows, shared)
        ```
    """
    return _Batch(engine)


class _Batch:
    # A class, not @contextmanager: the generator machinery cost more than the rest of it, once per alert.
    __slots__ = ("engine", "key", "outer")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.key = id(engine)
        self.outer = False

    def __enter__(self) -> None:
        batches = getattr(_LOCAL, "batches", None)
        if batches is None:
            batches = _LOCAL.batches = set()
        if self.key not in batches:  # nested: the outer batch commits
            batches.add(self.key)
            self.outer = True

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        if not self.outer:
            return
        _LOCAL.batches.discard(self.key)
        if kind is not None:
            _drop(self.engine)
            return
        connection = getattr(_LOCAL, "drivers", {}).get(self.key)
        if connection is not None:
            try:
                connection.commit()
            except BaseException:
                _drop(self.engine)
                raise


def _connection(engine: Engine) -> Any:
    """This thread's driver connection to ``engine`` (taken from the engine's pool once, so its pragmas
    apply); statements run on the driver's own connection, not through the pool's proxy."""
    connection = getattr(_LOCAL, "drivers", _NONE).get(id(engine))
    if connection is None:
        connection = _open(engine)
    return connection


_NONE: dict[int, Any] = {}


def _open(engine: Engine) -> Any:
    if getattr(_LOCAL, "pid", None) != os.getpid():  # a forked child must not reuse its parent's connection
        _LOCAL.connections, _LOCAL.drivers, _LOCAL.pid = {}, {}, os.getpid()
    pooled = _LOCAL.connections[id(engine)] = engine.raw_connection()
    driver = _LOCAL.drivers[id(engine)] = pooled.dbapi_connection
    return driver


def _forget_after_fork() -> None:
    # A child must not write through its parent's connections (nor close them: they are the parent's).
    for name in ("connections", "drivers", "pid"):
        _LOCAL.__dict__.pop(name, None)


os.register_at_fork(after_in_child=_forget_after_fork)


def close_thread_connections() -> None:
    """Give back this thread's connections (a short-lived thread calls it before it ends)."""
    connections = getattr(_LOCAL, "connections", {})
    getattr(_LOCAL, "drivers", {}).clear()
    for key in list(connections):
        connection = connections.pop(key)
        with contextlib.suppress(Exception):
            connection.close()


def _drop(engine: Engine) -> None:
    getattr(_LOCAL, "drivers", {}).pop(id(engine), None)
    connections = getattr(_LOCAL, "connections", {})
    connection = connections.pop(id(engine), None)
    if connection is not None:
        try:
            connection.rollback()
        finally:
            connection.invalidate() if hasattr(connection, "invalidate") else connection.close()
