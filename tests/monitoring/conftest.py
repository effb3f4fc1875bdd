"""Fixtures for the monitoring flows' tests: the dispatch tests' store, clock and receivers, and a fresh
"worker" store per test (``PREFECT_ALERTS_DATABASE_URL``: what hooks in this process write to)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel
from tests.dispatch.conftest import FakeClock, black_hole_url, clock, dispatch_url, state
from tests.store_fixtures import default_store

__all__ = ["FakeClock", "black_hole_url", "clock", "dispatch_url", "state"]


@pytest.fixture(autouse=True)
def worker_store(dispatch_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new SQLite store per test for whatever uses the default store (hooks, a "worker"); the ``state``
    fixture is another database (the aggregator's machine: PostgreSQL under ``make test-postgres``, which is
    why ``dispatch_url`` is made before the environment points elsewhere). No routing config from the
    environment."""
    with default_store(f"sqlite:///{tmp_path}/worker.db", monkeypatch) as url:
        yield url


@pytest.fixture
def slack(httpserver: HTTPServer) -> SlackChannel:
    """A Slack channel posting to a local receiver that answers "ok" at /hook."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return SlackChannel(url=httpserver.url_for("/hook"))


@pytest.fixture
def watchdog_cleanup() -> Iterator[None]:
    """Delete the watchdog automation a test created: it would post every few seconds for the rest of the run."""
    yield
    from prefect.client.orchestration import get_client

    from prefect_alerts.monitoring.watchdog import WATCHDOG_AUTOMATION

    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(WATCHDOG_AUTOMATION):
            client.delete_automation(automation.id)
