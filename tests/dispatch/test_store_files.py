"""The SQLite store holds webhook URLs of channel objects: it is owner-only, and the URL never leaks."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert, send_alert
from prefect_alerts.channels import SlackChannel
from prefect_alerts.dispatch import DispatchState
from prefect_alerts.store import get_engine


@pytest.mark.sqlite_only
def test_sqlite_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    get_engine(f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.sqlite_only
def test_existing_world_readable_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    get_engine(f"sqlite:///{path}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_outbox_keeps_the_url_but_no_repr_or_log_shows_it(
    httpserver: HTTPServer, state: DispatchState, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/services/T0/B0/SECRETTOKEN123").respond_with_data("busy", status=503)
    slack = SlackChannel(url=httpserver.url_for("/services/T0/B0/SECRETTOKEN123"))
    with caplog.at_level(logging.DEBUG):
        result = send_alert(Alert(title="x", severity="error"), destinations=[slack], state=state, budget=0.2)
    entry = state.outbox.entries()[0]
    assert "SECRETTOKEN123" in str(entry.channel_spec)  # rebuildable by another process
    ours = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")
    )  # not the receiver's
    for text in (repr(entry), str(entry), str(result), repr(result), ours):
        assert "SECRETTOKEN123" not in text
