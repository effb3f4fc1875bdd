"""Fixtures for the dispatch tests: a fresh store per test, an injectable clock, local receivers."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prefect_alerts.dispatch import DispatchState
from prefect_alerts.dispatch.destinations import clear_channel_cache
from prefect_alerts.store import get_engine


class FakeClock:
    """A clock tests move by hand: ``clock()`` is now, ``clock.advance(minutes=5)`` moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def dispatch_url(tmp_path: Path) -> str:
    """A fresh database for one test (the PostgreSQL run overrides it through store_url when present)."""
    try:
        from tests.store_fixtures import fresh_store_url  # the PostgreSQL-aware helper, when it exists
    except ImportError:
        return f"sqlite:///{tmp_path}/dispatch.db"
    return fresh_store_url(tmp_path)


@pytest.fixture
def state(dispatch_url: str) -> Iterator[DispatchState]:
    clear_channel_cache()
    yield DispatchState(get_engine(dispatch_url))
    clear_channel_cache()


@pytest.fixture
def black_hole_url() -> Iterator[str]:
    """An http URL whose server accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    finally:
        listener.close()
