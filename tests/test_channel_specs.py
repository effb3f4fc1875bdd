"""Every built-in channel describes itself as data and is rebuilt from it sending the same request:
what lets another process redeliver an outbox entry."""

from __future__ import annotations

import io
import json

import pytest
from pytest_httpserver import HTTPServer

from prefect_alerts import Alert
from prefect_alerts.channels import (
    Channel,
    ConsoleChannel,
    DeliveryResult,
    DiscordChannel,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
)
from prefect_alerts.channels.registry import channel_from_description, channel_from_ref

ALERT = Alert(
    title="Nightly load failed",
    message="<!channel> boom",
    severity="error",
    event="flow_failed",
    dedup_key="k-1",
)


def _round_trip(channel: Channel) -> Channel:
    description = channel.describe()
    assert description is not None and description["kind"] == channel.kind
    rebuilt = channel_from_description(json.loads(json.dumps(description)))
    assert type(rebuilt) is type(channel) and rebuilt.name == channel.name
    return rebuilt


def _bodies(httpserver: HTTPServer) -> list[str]:
    return [request.get_data(as_text=True) for request, _ in httpserver.log]


@pytest.mark.parametrize(
    "build",
    [
        lambda url: SlackChannel(
            url=url, mentions=["<!here>"], mention_min_severity="warning", name="slack:ops"
        ),
        lambda url: PagerDutyChannel(routing_key="R" * 32, events_url=url, source="etl", component="db"),
        lambda url: WebhookChannel(
            url=url, secret_header_value="Bearer s3cr3t-token", signing_secret="sign-me-123"
        ),
        lambda url: DiscordChannel(url=url, username="alerts", mention_role_ids=["123456789012345678"]),
    ],
    ids=["slack", "pagerduty", "webhook", "discord"],
)
def test_http_channels_round_trip(httpserver: HTTPServer, build) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_request("/hook").respond_with_data("ok", status=200)
    original = build(httpserver.url_for("/hook"))
    rebuilt = _round_trip(original)
    assert original.send(ALERT).ok and rebuilt.send(ALERT).ok
    first, second = httpserver.log[0][0], httpserver.log[1][0]
    assert first.get_data() == second.get_data() or "timestamp" in first.get_data(as_text=True)
    for header in ("Authorization", "X-Prefect-Alerts-Signature"):
        assert (header in first.headers) == (header in second.headers)
    assert "s3cr3t" not in repr(rebuilt) and "R" * 32 not in repr(rebuilt)


def test_email_round_trip_keeps_the_login(starttls_smtp_server, smtp_tls_certs, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SSL_CERT_FILE", smtp_tls_certs.ca_file)
    original = EmailChannel(
        credentials=starttls_smtp_server.credentials(login=True),
        email_from="alerts@example.com",
        email_to=["oncall@example.com"],
        cc=["lead@example.com"],
        subject_prefix="[etl]",
    )
    rebuilt = _round_trip(original)
    assert rebuilt.send(ALERT).ok
    received = starttls_smtp_server.received[-1]
    assert received.login == "alerts-user" and received.tls
    assert received.message()["Subject"].startswith("[etl]")
    assert "Zq9-smtp-test-password" not in repr(rebuilt)


def test_console_round_trip_and_what_cannot_be_described() -> None:
    assert isinstance(_round_trip(ConsoleChannel(plain=True, width=80)), ConsoleChannel)
    assert ConsoleChannel(file=io.StringIO()).describe() is None  # an open file is not data

    class Custom(Channel):
        kind = "custom"

        def send(self, alert: Alert) -> DeliveryResult:
            return DeliveryResult(status="delivered", channel=self.name)

    assert Custom().describe() is None
    with pytest.raises(ValueError, match="cannot rebuild a channel of kind 'sms'"):
        channel_from_description({"kind": "sms", "args": [], "kwargs": {}})
    with pytest.raises(ValueError, match="not rebuilt from data"):
        channel_from_description(
            {"kind": "slack", "args": [{"__model__": "os:system", "fields": {}}], "kwargs": {}}
        )


@pytest.mark.usefixtures("prefect_server")
def test_route_mentions_reach_slack_and_are_ignored_elsewhere(httpserver: HTTPServer) -> None:
    from prefect_slack import SlackWebhook

    from prefect_alerts.blocks import PagerDutyEventsV2

    SlackWebhook(url=httpserver.url_for("/slack")).save("spec-mentions", overwrite=True)
    PagerDutyEventsV2(routing_key="R" * 32, events_url=httpserver.url_for("/pd")).save(
        "spec-mentions", overwrite=True
    )
    slack = channel_from_ref("slack:spec-mentions", mentions=["<!here>"])
    assert isinstance(slack, SlackChannel) and slack.mentions == ["<!here>"]
    pagerduty = channel_from_ref("pagerduty:spec-mentions", mentions=["<!here>"])
    assert isinstance(pagerduty, PagerDutyChannel)
    assert channel_from_ref("slack:spec-mentions").mentions == []
