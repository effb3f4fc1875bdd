"""A fresh store per test, on SQLite or, under ``make test-postgres``, on the shared PostgreSQL.

``make test-postgres`` sets ``PREFECT_ALERTS_DATABASE_URL`` to a throwaway PostgreSQL cluster; every test then
gets that one database with every table of the store emptied (``TRUNCATE ... RESTART IDENTITY``, so ids
start at 1 as in a new SQLite file). Tables are emptied rather than dropped: processes a previous test spawned
may still hold connections with the same URL, and the cached engine (its schema created) stays valid. Without that variable each test gets its own SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text

from prefect_alerts.store import get_engine, metadata
from prefect_alerts.store.engine import DATABASE_URL_ENV

__all__ = ["default_store", "fresh_store_url", "postgres_url", "store_url"]

CLEANUP_LOCK_TIMEOUT = "10s"
"""How long emptying the tables waits on a lock a leaked transaction holds before failing the test."""


def postgres_url() -> str | None:
    """``$PREFECT_ALERTS_DATABASE_URL`` when it names a PostgreSQL database, else ``None``."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url and make_url(url).get_backend_name() == "postgresql":
        return url
    return None


def fresh_store_url(tmp_path: Path, name: str = "store.db") -> str:
    """A database URL whose store tables exist and are empty.

    Example:
        ```python
        url = fresh_store_url(tmp_path)  # sqlite:///<tmp_path>/store.db, or the emptied PostgreSQL
        CheckStore(url=url).record_value("data_volume", "orders", 1)
        ```
    """
    url = postgres_url()
    if url is None:
        return f"sqlite:///{tmp_path / name}"
    engine = get_engine(url)  # creates the schema the first time
    tables = ", ".join(
        engine.dialect.identifier_preparer.format_table(table) for table in metadata.sorted_tables
    )
    with engine.begin() as connection:
        # A test that leaked an open transaction must fail loudly here, not hang the run.
        connection.execute(text(f"SET LOCAL lock_timeout = '{CLEANUP_LOCK_TIMEOUT}'"))
        # RESTART IDENTITY: ids start at 1 again, as in a new SQLite file (silence ids are "s-1", "s-2"...).
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))
    _forget_cached_rows(engine)
    return url


def _forget_cached_rows(engine: Engine) -> None:
    # Per-process caches keyed by the URL outlive the rows we just deleted: on SQLite every test has its own
    # URL, here they all share one. The silence cache is the one such cache today.
    from prefect_alerts.store.alerts import SilenceStore

    SilenceStore(engine)._invalidate()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A fresh, empty store for one test: its own SQLite file, or the emptied shared PostgreSQL."""
    return fresh_store_url(tmp_path)


@contextmanager
def default_store(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Make ``url`` the store that code without an explicit one uses (hooks, ``send_alert``), with no routing
    config from the environment and no per-process caches from an earlier test."""
    from prefect_alerts.dispatch.destinations import clear_channel_cache
    from prefect_alerts.hooks.context import clear_deployment_cache
    from prefect_alerts.routing import clear_routing_cache

    monkeypatch.setenv(DATABASE_URL_ENV, url)
    monkeypatch.delenv("PREFECT_ALERTS_CONFIG", raising=False)
    clear_routing_cache()
    clear_channel_cache()
    clear_deployment_cache()
    try:
        yield url
    finally:
        clear_routing_cache()
        clear_channel_cache()
