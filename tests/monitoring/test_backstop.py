"""The backstop automation: every Crashed or TimedOut flow run posted by the Prefect server itself, with the
run's name and message escaped for the destination; installed idempotently, and seen firing on the test server."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts.channels import ConsoleChannel, SlackChannel
from prefect_alerts.channels.discord import DiscordChannel
from prefect_alerts.channels.webhook import WebhookChannel
from prefect_alerts.monitoring.backstop import BACKSTOP_AUTOMATION, backstop_request, ensure_backstop
from prefect_alerts.monitoring.watchdog import WatchdogError

FIRED = datetime(2026, 12, 7, 3, 14, 15, tzinfo=timezone.utc)
HOSTILE_RUN = 'wild-<!channel>-"otter"'
HOSTILE_MESSAGE = 'Flow run infrastructure exited with 137 & <@U123> {{ 7*7 }} "quoted" \\ back'


def rendered(payload: str, run_name: str = HOSTILE_RUN, message: str | None = HOSTILE_MESSAGE) -> Any:
    """The body the server sends, rendered as Prefect renders automation templates."""
    from prefect.server.utilities.user_templates import render_user_template, validate_user_template

    validate_user_template(payload)
    context = {
        "firing": SimpleNamespace(triggered=FIRED),
        "flow": SimpleNamespace(name="etl-orders"),
        "flow_run": SimpleNamespace(
            name=run_name, id="0b3c-run-id", state=SimpleNamespace(name="Crashed", message=message)
        ),
    }
    return json.loads(asyncio.run(render_user_template(payload, context)))


def strings(value: Any) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


def test_slack_gets_the_run_escaped_so_nothing_pings() -> None:
    _, _, payload = backstop_request(SlackChannel("https://hooks.slack.com/services/T0/B0/backstop"))
    body = rendered(payload)
    text = json.dumps(body, ensure_ascii=False)
    assert body["text"].startswith(
        '🚨 [CRITICAL] Flow run wild-&lt;!channel&gt;-"otter" of etl-orders: Crashed'
    )
    assert "<!channel>" not in text and "<@U123>" not in text and "&lt;@U123&gt;" in text
    assert "{{ 7*7 }}" in text and "49" not in text  # a message is text, never a template
    assert "PAX" not in text and "2001-02-03" not in text  # no stand-in left
    assert f"<!date^{int(FIRED.timestamp())}^" in text


@pytest.mark.parametrize(
    "channel",
    [
        DiscordChannel("https://discord.com/api/webhooks/1/backstop"),
        WebhookChannel("https://alerts.example/ingest", secret_header_value="Bearer backstop-token"),
    ],
    ids=["discord", "webhook"],
)
def test_other_destinations_get_valid_json_with_the_values(channel: Any) -> None:
    _, _, payload = backstop_request(channel)
    body = rendered(payload, message=None)
    text = " ".join(strings(body))
    assert HOSTILE_RUN in text and "etl-orders" in text and "no message" in text and "PAX" not in text
    assert "backstop-token" not in payload  # the secret header lives in the Webhook block
    if isinstance(channel, DiscordChannel):
        assert body["allowed_mentions"]["parse"] == []  # Discord itself keeps a name's @everyone inert
    else:
        assert body["alert"]["title"] == f"Flow run {HOSTILE_RUN} of etl-orders: Crashed"


def test_a_long_name_and_message_are_cut() -> None:
    _, _, payload = backstop_request(SlackChannel("https://hooks.slack.com/services/T0/B0/backstop"))
    body = rendered(payload, run_name="r" * 500, message="m" * 5000)
    assert len(body["blocks"][0]["text"]["text"]) <= 150  # Slack's header limit
    assert "m" * 501 not in json.dumps(body)


def test_destinations_the_server_cannot_post_to_are_refused_with_the_fix() -> None:
    with pytest.raises(
        WatchdogError, match=r"the backstop cannot post to console .*--backstop slack:ops-alerts"
    ):
        backstop_request(ConsoleChannel())
    signed = WebhookChannel("https://alerts.example/ingest", signing_secret="s3cret-signing")
    with pytest.raises(WatchdogError, match="cannot sign"):
        backstop_request(signed)


@pytest.fixture
def backstop_cleanup() -> Any:
    yield
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        for automation in client.read_automations_by_name(BACKSTOP_AUTOMATION):
            client.delete_automation(automation.id)


@pytest.mark.usefixtures("prefect_server", "backstop_cleanup")
def test_the_server_posts_a_crashed_run_and_installing_twice_keeps_one(httpserver: HTTPServer) -> None:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed, Pending, Running

    httpserver.expect_request("/backstop", method="POST").respond_with_data("ok")
    slack = SlackChannel(httpserver.url_for("/backstop"))
    first = ensure_backstop(destination=slack)
    again = ensure_backstop(destination=slack)
    assert (first.action, again.action, again.automation_id) == ("created", "updated", first.automation_id)

    name = f"backstop-{uuid.uuid4().hex[:6]}"

    @flow(name=name)
    def job() -> None:
        pass

    with get_client(sync_client=True) as client:
        assert len(client.read_automations_by_name(BACKSTOP_AUTOMATION)) == 1
        run = client.create_flow_run(job, state=Pending())
        client.set_flow_run_state(run.id, Running(), force=True)
        client.set_flow_run_state(run.id, Crashed(message="exited with 137 <!here>"), force=True)

    deadline = time.monotonic() + 60
    posts: list[Any] = []
    while time.monotonic() < deadline:
        posts = [json.loads(request.get_data()) for request, _ in httpserver.log]
        if any(name in post["text"] for post in posts):
            break
        time.sleep(0.5)
    (post,) = [post for post in posts if name in post["text"]]
    assert f"Flow run {run.name} of {name}: Crashed" in post["text"]
    assert "exited with 137 &lt;!here&gt;" in json.dumps(post)


@pytest.mark.usefixtures("prefect_server", "backstop_cleanup")
def test_deploy_backstop_installs_it_from_the_command_line(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect_slack import SlackWebhook

    from prefect_alerts.cli import main

    SlackWebhook(url=httpserver.url_for("/services/T0/B0/backstop")).save("backstop-tests", overwrite=True)
    assert main(["deploy", "--no-watchdog", "--backstop", "slack:backstop-tests"]) == 0
    out = capsys.readouterr().out
    assert f"created automation '{BACKSTOP_AUTOMATION}'" in out
    assert "posts every Crashed or TimedOut flow run to slack:backstop-tests" in out
    assert "/services/T0/B0/backstop" not in out  # the URL is in the Webhook block, never printed
    assert main(["deploy", "--no-watchdog", "--backstop", "console"]) == 2
    assert "the backstop cannot post to console" in capsys.readouterr().err
