"""Fixtures for the setup tests: no PREFECT_ALERTS_* of the developer's, no ./.env of theirs, and a routing
block name of each test's own (alert-routing/default on the session's server would route other tests' alerts)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from prefect_alerts.routing import clear_routing_cache


@pytest.fixture(autouse=True)
def _setup_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    for key in list(os.environ):
        if key.startswith("PREFECT_ALERTS_"):
            monkeypatch.delenv(key)
    routing_block = f"routing-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("PREFECT_ALERTS_ROUTING_BLOCK", routing_block)
    monkeypatch.chdir(tmp_path)  # the command reads ./.env when it exists
    clear_routing_cache()
    return routing_block


@pytest.fixture
def routing_block(_setup_environment: str) -> str:
    """The alert-routing block name this test's runs save to."""
    return _setup_environment
