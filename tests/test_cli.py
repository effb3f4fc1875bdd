"""The prefect-alerts command, in-process and as the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.cli import EXIT_DELIVERED, EXIT_FAILED, EXIT_RETRY, EXIT_USAGE, main

PATH = "/services/T0/B0/clitest"


def test_send_to_the_console_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["send", "Disk almost full", "-m", "93% used", "-s", "warning", "-f", "used_pct=93", "-t", "infra"]
    )
    out = capsys.readouterr()
    assert code == EXIT_DELIVERED
    assert "console: delivered" in out.out
    assert "Disk almost full" in out.err and "93" in out.err


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["send", "x", "-s", "fatal"], "severity"),
        (["send", "x", "-e", "Flow Failed"], "snake_case"),
        (["send", "x", "-f", "novalue"], "KEY=VALUE"),
        (["send", "x", "-c", "sms:ops"], "unknown channel kind 'sms'"),
        (["send", "x", "-c", "slack"], "names no block"),
        (["send", "x", "-l", "run=ftp://x"], "http"),
    ],
)
def test_bad_arguments_exit_2_with_a_reason(
    capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    assert main(argv) == EXIT_USAGE
    assert complaint in capsys.readouterr().err


@pytest.mark.parametrize("severity", ["fatal", "", "ERRORS"])
def test_a_bad_severity_lists_the_allowed_values(capsys: pytest.CaptureFixture[str], severity: str) -> None:
    from prefect_alerts.alert import Severity

    assert main(["send", "x", "-s", severity]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--severity" in err and "use one of: " + ", ".join(level.value for level in Severity) in err
    assert "validation error" not in err and "input_value" not in err  # not pydantic's raw text


@pytest.mark.usefixtures("prefect_server")
def test_send_through_a_saved_block_and_exit_codes(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.blocks.notifications import SlackWebhook

    SlackWebhook(url=httpserver.url_for(PATH)).save("cli-ops", overwrite=True)
    httpserver.expect_oneshot_request(PATH).respond_with_data("ok")
    assert (
        main(["send", "Nightly load failed", "-s", "error", "-c", "slack:cli-ops", "--json"])
        == EXIT_DELIVERED
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["status"] == "delivered" and printed[0]["channel"] == "slack:cli-ops"
    body = json.loads(httpserver.log[-1][0].get_data(as_text=True))
    assert body["text"] == "🔴 [ERROR] Nightly load failed"

    httpserver.expect_oneshot_request(PATH).respond_with_data("no_service", status=404)
    assert main(["send", "x", "-c", "slack:cli-ops"]) == EXIT_FAILED
    assert "Slack webhook is gone" in capsys.readouterr().out
    httpserver.expect_oneshot_request(PATH).respond_with_data("busy", status=503)
    assert main(["send", "x", "-c", "slack:cli-ops"]) == EXIT_RETRY

    assert main(["send", "x", "-c", "slack:missing-block"]) == EXIT_USAGE
    assert "No block named 'missing-block'" in capsys.readouterr().err


def test_channels_lists_kinds_and_block_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["channels"]) == 0
    out = capsys.readouterr().out
    for expected in (
        "slack-incoming-webhook",
        "alert-email-destination",
        "pagerduty-events-v2",
        "alert-webhook",
    ):
        assert expected in out


def test_installed_console_script_runs() -> None:
    script = shutil.which("prefect-alerts", path=os.path.dirname(sys.executable))
    assert script, "the prefect-alerts console script is not installed next to this Python"
    done = subprocess.run(
        [script, "send", "hello from the CLI", "-c", "console"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "hello from the CLI" in done.stderr and "console: delivered" in done.stdout


@pytest.mark.usefixtures("prefect_server")
def test_send_from_a_subprocess_reaches_the_server_quietly() -> None:
    # A shell step (cron, a Makefile) raising an alert: delivered, its event recorded on the server, and no
    # Prefect chatter about flushing that event at exit.
    import time
    import uuid

    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter
    from prefect.settings import PREFECT_API_URL

    script = shutil.which("prefect-alerts", path=os.path.dirname(sys.executable))
    assert script
    title = f"nightly export missing {uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    done = subprocess.run(
        [script, "send", title, "-c", "console", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Still processing items" not in done.stderr and "WARNING" not in done.stderr
    (outcome,) = json.loads(done.stdout)
    assert outcome["status"] == "delivered"
    deadline = time.monotonic() + 30
    while True:
        with get_client(sync_client=True) as client:
            events = client.read_events(
                filter=EventFilter(event=EventNameFilter(name=["prefect-alerts.alert.delivered"])), limit=50
            ).events
        if any((event.payload or {}).get("title") == title for event in events):
            break
        assert time.monotonic() < deadline, "the alert's delivered event never reached the server"
        time.sleep(0.5)
