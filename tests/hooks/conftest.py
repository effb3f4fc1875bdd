"""Fixtures for the hook tests: a fresh alert store per test, a Slack receiver, no routing config around."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch.destinations import clear_channel_cache
from prefect_alerts.hooks.context import clear_deployment_cache
from prefect_alerts.routing import clear_routing_cache


@pytest.fixture(autouse=True)
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new SQLite store per test (engines are cached per URL), so one test's cooldown never mutes the next;
    and no routing config from the environment."""
    url = f"sqlite:///{tmp_path}/alerts.db"
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", url)
    monkeypatch.delenv("PREFECT_ALERTS_CONFIG", raising=False)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    clear_routing_cache()
    clear_channel_cache()
    clear_deployment_cache()
    yield url
    clear_routing_cache()
    clear_channel_cache()


@pytest.fixture
def slack(httpserver: HTTPServer) -> SlackChannel:
    """A Slack channel posting to a local receiver that answers "ok" at /hook."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return SlackChannel(url=httpserver.url_for("/hook"))
