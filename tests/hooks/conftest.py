"""Fixtures for the hook tests: a fresh alert store per test, a Slack receiver, no routing config around."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel
from tests.store_fixtures import default_store


@pytest.fixture(autouse=True)
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new SQLite store per test (engines are cached per URL), so one test's cooldown never mutes the next;
    and no routing config from the environment."""
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    with default_store(f"sqlite:///{tmp_path}/alerts.db", monkeypatch) as url:
        yield url


@pytest.fixture
def slack(httpserver: HTTPServer) -> SlackChannel:
    """A Slack channel posting to a local receiver that answers "ok" at /hook."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return SlackChannel(url=httpserver.url_for("/hook"))
