"""One SQLAlchemy engine per database URL, with the schema created on first use."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import DBAPIError

from prefect_alerts.store.schema import metadata

__all__ = ["DATABASE_URL_ENV", "database_url", "get_engine", "reset_engines"]

DATABASE_URL_ENV = "PREFECT_ALERTS_DATABASE_URL"
"""The environment variable that points the store at a shared database (e.g. PostgreSQL)."""
SQLITE_FILENAME = "prefect_alerts.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long SQLite waits on a lock held by another process before failing."""
SCHEMA_CREATE_ATTEMPTS = 5
SQLITE_PAGE_SIZE = 1024
"""The page size of a new SQLite store (SQLite's default is 4,096; an existing store keeps its own).

In WAL mode every commit appends each page it changed, whole, and the checkpoint fsyncs those bytes to disk:
that write-back, not the SQL, is what a claimed alert costs on a real disk. A claim and its outbox entry
change about nine small B-tree pages, so 1 KiB pages write 17 KiB per claimed alert instead of 39 KiB:
bench/dispatch_throughput.py's distinct workload went from ~340 to ~285 us per alert on this project's
machine. Rows larger than a page (an alert's JSON) continue on overflow pages, read only by a flush."""
SQLITE_WAL_CHECKPOINT_BYTES = 16 * 1024 * 1024
"""How large the WAL grows before a commit copies it into the database file (SQLite's default is 1,000
pages, 1-4 MiB). A checkpoint fsyncs twice and stalls the commit that triggers it: at 16 MiB checkpoints
come rarely and copy a hot page once instead of many times. Durability is unchanged: in WAL mode a commit is
safe from a crashed process once written to the WAL."""

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def database_url() -> str:
    """``$PREFECT_ALERTS_DATABASE_URL``, else SQLite under Prefect's home folder (``PREFECT_HOME``)."""
    configured = os.environ.get(DATABASE_URL_ENV, "").strip()
    if configured:
        return configured
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / SQLITE_FILENAME}"


def wal_checkpoint_pages(page_size: int) -> int:
    """``PRAGMA wal_autocheckpoint`` for a store of ``page_size``: ``SQLITE_WAL_CHECKPOINT_BYTES`` of pages.

    >>> wal_checkpoint_pages(1024), wal_checkpoint_pages(4096)
    (16384, 4096)
    """
    return max(1000, SQLITE_WAL_CHECKPOINT_BYTES // max(512, page_size))


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    # WAL lets readers and one writer work at once; busy_timeout waits for a lock instead of failing.
    # The timeout goes first so that switching to WAL also waits for another process's lock.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Takes effect only on a new, empty file (before its first table); an existing store keeps its size.
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives a crashed process (only power loss can drop the last commits) and saves an
    # fsync per commit, which is most of the cost of a dedupe claim.
    cursor.execute("PRAGMA synchronous=NORMAL")
    (page_size,) = cursor.execute("PRAGMA page_size").fetchone()
    cursor.execute(f"PRAGMA wal_autocheckpoint={wal_checkpoint_pages(page_size)}")
    cursor.close()


def _owner_only_sqlite_file(url: str) -> None:
    # The outbox keeps the settings of channel objects (webhook URLs, routing keys): the file is owner-only.
    # SQLite gives its -wal and -shm files the database file's permissions.
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # a mistyped folder stays an error ("unable to open database file"), not a new tree
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(descriptor)
    if path.stat().st_mode & 0o077:
        with contextlib.suppress(PermissionError):  # not ours to change; the docs say how to secure it
            path.chmod(0o600)


def _create_schema(engine: Engine) -> None:
    # Workers starting at once on a fresh database race between "does the table exist?" and CREATE TABLE;
    # the loser gets "already exists". Running create_all again then sees the tables and does nothing.
    for attempt in range(SCHEMA_CREATE_ATTEMPTS):
        try:
            metadata.create_all(engine)
            # create_all skips tables that exist: an index a later version added is created here (~3 ms).
            with engine.begin() as connection:
                for table in metadata.sorted_tables:
                    for index in table.indexes:
                        index.create(connection, checkfirst=True)
            return
        except DBAPIError:
            if attempt == SCHEMA_CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: :func:`database_url`), created once, with our tables in place."""
    url = url or database_url()
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            if make_url(url).get_backend_name() == "sqlite":
                _owner_only_sqlite_file(url)
            sqlite = make_url(url).get_backend_name() == "sqlite"
            # A pre-ping costs a round trip per checkout; a local SQLite file has no connection to lose.
            engine = create_engine(url, future=True, pool_pre_ping=not sqlite)
            if sqlite:
                event.listen(engine, "connect", _sqlite_pragmas)
            _create_schema(engine)
            _ENGINES[url] = engine
        return engine


def reset_engines() -> None:
    """Dispose of every cached engine (tests, or after changing ``PREFECT_ALERTS_DATABASE_URL``)."""
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
