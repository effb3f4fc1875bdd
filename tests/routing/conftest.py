"""Fixtures for the routing tests: a clean cache and environment, the issue's example file, saved blocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from prefect_alerts.routing import clear_routing_cache

ISSUE_YAML = """\
defaults: {cooldown: 1h, repeat_interval: 4h, send_resolved: true}   # durations: 90s, 30m, 1h, 1d or seconds
fallback: slack:ops-alerts                # where dead-letter and system notices go
routes:                                   # first match wins unless the route says continue: true
  - name: pages
    match:                                # every key given must match; a list matches any of its items
      severity: ">=error"                 # ">=warning" at least, "error" exactly
      event: ["flow_*", "task_failed"]    # globs, as for tags, flow and deployment
      tags: ["prod"]                      # the alert has at least one of these tags
      flow: "etl-*"
      deployment: "*/nightly"
    destinations: [pagerduty:oncall, slack:oncall]
    cooldown: 30m
    mentions: ["<!here>"]
    continue: true
  - name: data
    match: {event: ["data_*", "drift_detected", "model_degraded"]}
    destinations: ["${DATA_TEAM_DESTINATION}"]
default: [slack:ops-alerts]               # when no route matched
"""
"""The routing file exactly as issue #11 shows it (the contract outside tests use)."""


@pytest.fixture(autouse=True)
def _clean_routing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PREFECT_ALERTS_CONFIG", raising=False)
    monkeypatch.delenv("PREFECT_ALERTS_ROUTING_TTL", raising=False)
    clear_routing_cache()
    yield
    clear_routing_cache()


@pytest.fixture
def issue_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The issue's YAML in a file, with DATA_TEAM_DESTINATION set to email:data-team."""
    monkeypatch.setenv("DATA_TEAM_DESTINATION", "email:data-team")
    path = tmp_path / "alerts.yaml"
    path.write_text(ISSUE_YAML)
    return path


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
