"""The aggregator watchdog: a proactive automation on the real test server that posts when heartbeats stop."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import ConsoleChannel, SlackChannel
from prefect_alerts.channels.discord import DiscordChannel
from prefect_alerts.channels.pagerduty import PagerDutyChannel
from prefect_alerts.channels.webhook import WebhookChannel
from prefect_alerts.monitoring.watchdog import (
    WATCHDOG_AUTOMATION,
    WatchdogError,
    ensure_heartbeat_watchdog,
    watchdog_request,
)
from prefect_alerts.routing import AlertRouting
from prefect_alerts.status import HEARTBEAT_EVENT

FIRED = datetime(2026, 12, 7, 3, 14, 15, tzinfo=timezone.utc)


def rendered(payload: str) -> dict:
    """The body the server sends: the payload template rendered as Prefect renders automation templates."""
    from prefect.server.utilities.user_templates import render_user_template, validate_user_template

    validate_user_template(payload)
    text = asyncio.run(render_user_template(payload, {"firing": SimpleNamespace(triggered=FIRED)}))
    return json.loads(text)


@pytest.mark.parametrize(
    "channel",
    [
        SlackChannel("https://hooks.slack.com/services/T0/B0/watch"),
        DiscordChannel("https://discord.com/api/webhooks/1/watch"),
        WebhookChannel("https://alerts.example/ingest", secret_header_value="Bearer watch-token"),
    ],
    ids=["slack", "discord", "webhook"],
)
def test_the_notice_is_in_the_destination_format_with_the_firing_time(channel: object) -> None:
    _, headers, payload = watchdog_request(channel, timedelta(minutes=5), 3)  # type: ignore[arg-type]
    body = rendered(payload)
    text = json.dumps(body)
    assert "prefect-alerts aggregator stopped reporting" in text
    assert "No heartbeat for 15m (3 runs of its 5m schedule)" in text
    assert "2001-02-03" not in text and "981173106" not in text  # the build-time placeholder never shows
    assert headers["Content-Type"].startswith("application/json")
    if isinstance(channel, SlackChannel):
        assert body["text"].startswith("🚨 [CRITICAL]")
        assert f"<!date^{int(FIRED.timestamp())}^" in text and "2026-12-07 03:14:15 UTC" in text
    elif isinstance(channel, DiscordChannel):
        assert body["embeds"][0]["timestamp"] == FIRED.isoformat()
    else:
        assert body["alert"]["timestamp"] == FIRED.isoformat()
        assert body["alert"]["dedup_key"] == "prefect-alerts-aggregator-heartbeat"
        assert headers["Authorization"] == "Bearer watch-token"


def test_a_title_with_template_syntax_stays_literal() -> None:
    # The message is ours, but the payload is a template: nothing but the time may be evaluated.
    channel = SlackChannel("https://hooks.slack.com/services/T0/B0/watch", name="{{ automation.name }}")
    _, _, payload = watchdog_request(channel, timedelta(minutes=5), 3)
    assert "{% raw %}" in payload
    rendered(payload)  # valid, renders


@pytest.mark.parametrize(
    ("channel", "why"),
    [
        (
            PagerDutyChannel("R0UTINGKEY0000000000000000000000"),
            "routing key would be written into the automation",
        ),
        (ConsoleChannel(), "this process's terminal"),
        (
            WebhookChannel("https://alerts.example/ingest", signing_secret="a-long-random-signing-secret"),
            "cannot sign",
        ),
    ],
    ids=["pagerduty", "console", "signed-webhook"],
)
def test_destinations_the_server_cannot_post_to_are_refused_with_the_fix(channel: object, why: str) -> None:
    with pytest.raises(WatchdogError) as caught:
        watchdog_request(channel, timedelta(minutes=5), 3)  # type: ignore[arg-type]
    message = str(caught.value)
    assert why in message
    assert "--watchdog slack:ops-alerts" in message
    assert "R0UTINGKEY" not in message and "a-long-random" not in message


def test_no_fallback_and_too_short_a_window_are_refused() -> None:
    with pytest.raises(WatchdogError, match=r"no fallback destination.*fallback: slack:ops-alerts"):
        ensure_heartbeat_watchdog(AlertRouting())
    with pytest.raises(WatchdogError, match="under the server's minimum of 10s"):
        ensure_heartbeat_watchdog(AlertRouting(), interval=timedelta(seconds=3), missed=3)


@pytest.mark.usefixtures("prefect_server", "watchdog_cleanup")
def test_the_automation_posts_to_the_fallback_when_heartbeats_stop_and_is_idempotent(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect_slack import SlackWebhook

    httpserver.expect_request("/services/T0/B0/S3cretW4tch", method="POST").respond_with_data("ok")
    SlackWebhook(url=httpserver.url_for("/services/T0/B0/S3cretW4tch")).save("watchdog-tests", overwrite=True)
    routing_file = tmp_path / "alerts.yaml"
    routing_file.write_text("fallback: slack:watchdog-tests\ndefault: [console]\n")

    first = ensure_heartbeat_watchdog(str(routing_file), interval=timedelta(minutes=5))
    again = ensure_heartbeat_watchdog(str(routing_file), interval=timedelta(seconds=4), missed=3)
    assert (first.action, again.action) == ("created", "updated")
    assert again.automation_id == first.automation_id
    assert "posts to slack:watchdog-tests when no prefect-alerts.aggregator.heartbeat arrived for 12s" in str(
        again
    )
    with get_client(sync_client=True) as client:
        (automation,) = client.read_automations_by_name(WATCHDOG_AUTOMATION)
    assert automation.trigger.within == timedelta(seconds=12)
    assert automation.trigger.expect == {HEARTBEAT_EVENT}
    assert "S3cretW4tch" not in json.dumps(automation.model_dump(mode="json"))  # the URL is in the block only

    # No heartbeat arrives: within about one window (12 s) the server posts the notice itself.
    deadline = time.monotonic() + 60
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.5)
    assert httpserver.log, "the watchdog automation did not post within 60 s"
    request, response = httpserver.log[0]
    assert response.status_code == 200
    body = json.loads(request.get_data())
    assert body["text"].startswith("🚨 [CRITICAL] prefect-alerts aggregator stopped reporting")
    assert "No heartbeat for 12s" in body["text"]
    assert "2001-02-03" not in request.get_data(as_text=True)
