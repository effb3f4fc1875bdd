"""A destination that is down while a hook fires: the run ends within the budget, the alert waits in the
outbox, and a flush in a fresh process delivers it exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.receivers import free_port

BUDGET = 1.0

_FLUSH_TWICE = textwrap.dedent(
    """
    from datetime import datetime, timedelta, timezone
    from prefect_alerts import flush_outbox

    later = datetime.now(timezone.utc) + timedelta(minutes=10)  # past any backoff, Retry-After and lease
    print("first:", flush_outbox(now=later))
    print("second:", flush_outbox(now=later))
    """
)


class Receiver:
    """A Slack-like receiver whose behaviour the test switches: down in one of four ways, then healthy."""

    def __init__(self, server: HTTPServer, mode: str) -> None:
        self.mode = mode
        self.accepted = 0
        self.release = threading.Event()
        server.expect_request("/services/T0/B0/budget").respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        if self.mode == "503":
            return Response("service unavailable", status=503)
        if self.mode == "429":
            return Response("rate_limited", status=429, headers={"Retry-After": "120"})
        if self.mode == "black hole":
            self.release.wait(30)  # never answers in time; the client gives up first
            return Response("late", status=503)
        self.accepted += 1
        return Response("ok", status=200)


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("mode", ["refused", "503", "429", "black hole"])
def test_down_destination_during_a_hook(
    mode: str, httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow
    from prefect_slack import SlackWebhook  # prefect-slack's block: the core one (apprise) logs the URL

    from prefect_alerts.hooks import alert_on_failure
    from prefect_alerts.store import reset_engines

    url = f"sqlite:///{tmp_path}/budget.db"
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", url)
    receiver = Receiver(httpserver, mode)
    block = f"budget-{mode.replace(' ', '-')}"
    live_url = httpserver.url_for("/services/T0/B0/budget")
    dead_url = f"http://127.0.0.1:{free_port()}/services/T0/B0/budget"
    SlackWebhook(url=dead_url if mode == "refused" else live_url).save(block, overwrite=True)

    @flow(
        name=f"budget-{mode.replace(' ', '-')}",
        on_failure=[alert_on_failure(destinations=[f"slack:{block}"], budget=BUDGET)],
    )
    def doomed() -> None:
        raise RuntimeError("warehouse unreachable")

    started = time.monotonic()
    state = doomed(return_state=True)
    elapsed = time.monotonic() - started
    assert state.is_failed()
    assert elapsed < BUDGET + 2.5, f"the hook held the run for {elapsed:.1f}s"
    assert receiver.accepted == 0

    from prefect_alerts.dispatch import DispatchState

    entries = DispatchState.default(url).outbox.entries()
    assert [entry.status for entry in entries] in (["pending"], ["delivering"])  # queued, not lost

    # The destination heals; a fresh process (another worker) flushes twice.
    receiver.mode = "healthy"
    receiver.release.set()
    if mode == "refused":
        SlackWebhook(url=live_url).save(block, overwrite=True)
    script = tmp_path / "flush.py"
    script.write_text(_FLUSH_TWICE)
    reset_engines()
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # the harness's server: the blocks live there
        "PREFECT_ALERTS_DATABASE_URL": url,
        "PREFECT_ALERTS_CHANNEL_TTL": "0",
    }
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "first: 1 delivered" in done.stdout, done.stdout + done.stderr
    assert "second: 0 delivered, 0 queued for later, 0 dead" in done.stdout
    assert receiver.accepted == 1
