"""Local stand-ins for Slack, PagerDuty, Discord, a webhook receiver and an SMTP server, for `make demo`.

Each sink answers the way the real service does (Slack "ok", PagerDuty 202, Discord 204, SMTP 250) and keeps
what it received, so the demo can show at the end exactly what a person would have seen.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import logging
import socket
import threading
from typing import Any

from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

logging.getLogger("werkzeug").setLevel(logging.ERROR)

SLACK_PATH = "/services/T0DEMO/B0DEMO/demo-not-a-real-token"
PAGERDUTY_PATH = "/v2/enqueue"
DISCORD_PATH = "/api/webhooks/1234567890/demo-token"
WEBHOOK_PATH = "/hooks/prefect-alerts"
HTTP_SINKS = ("slack", "pagerduty", "discord", "webhook")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sinks:
    """The local services, recording each request body (HTTP as JSON, SMTP as a parsed message).

    Example:
        ```python
        with Sinks() as sinks:
            print(sinks.http.url_for(SLACK_PATH))  # point a Slack block at this
        print(len(sinks.received["slack"]))
        ```
    """

    def __init__(self) -> None:
        self.http = HTTPServer(host="127.0.0.1", port=0)
        self.received: dict[str, list[dict[str, Any]]] = {kind: [] for kind in HTTP_SINKS}
        self.emails: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        replies = {
            "slack": (SLACK_PATH, Response("ok")),
            "pagerduty": (
                PAGERDUTY_PATH,
                Response('{"status":"success"}', status=202, content_type="application/json"),
            ),
            "discord": (DISCORD_PATH, Response(status=204)),
            "webhook": (WEBHOOK_PATH, Response("accepted")),
        }
        for kind, (path, reply) in replies.items():
            self.http.expect_request(path, method="POST").respond_with_handler(self._recorder(kind, reply))

        sinks = self

        class SmtpSink:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with sinks._lock:
                    sinks.emails.append(message)  # type: ignore[arg-type]
                return "250 OK"

        self.smtp_port = _free_port()
        self.smtp = Controller(SmtpSink(), hostname="127.0.0.1", port=self.smtp_port)

    def _recorder(self, kind: str, reply: Response) -> Any:
        def handle(request: Request) -> Response:
            with self._lock:
                self.received[kind].append(json.loads(request.get_data(as_text=True)))
            return reply

        return handle

    def counts(self) -> dict[str, int]:
        """How many messages each sink holds, e.g. ``{"slack": 9, ..., "email": 3}``."""
        with self._lock:
            return {
                **{kind: len(bodies) for kind, bodies in self.received.items()},
                "email": len(self.emails),
            }

    def __enter__(self) -> Sinks:
        self.http.start()
        self.smtp.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.smtp.stop()
        self.http.stop()


def save_blocks(sinks: Sinks) -> None:
    """What `python blocks/setup_blocks.py` does for a real workspace, with every block named "demo" and
    pointed at the local sinks."""
    from prefect.blocks.notifications import DiscordWebhook
    from prefect_email import EmailServerCredentials

    # prefect-slack's block: Prefect's own (apprise) rejects local URLs.
    from prefect_slack import SlackWebhook

    from prefect_alerts.blocks import AlertEmailDestination, AlertWebhook, PagerDutyEventsV2

    SlackWebhook(url=sinks.http.url_for(SLACK_PATH)).save("demo", overwrite=True)
    EmailServerCredentials(smtp_server="127.0.0.1", smtp_type="INSECURE", smtp_port=sinks.smtp_port).save(
        "demo-smtp", overwrite=True
    )
    AlertEmailDestination(
        credentials_block="demo-smtp", email_from="alerts@example.com", email_to=["oncall@example.com"]
    ).save("demo", overwrite=True)
    PagerDutyEventsV2(
        routing_key="demo0routing0key0not0real0000000", events_url=sinks.http.url_for(PAGERDUTY_PATH)
    ).save("demo", overwrite=True)
    DiscordWebhook(webhook_id="1234567890", webhook_token="demo-token").save("demo", overwrite=True)
    AlertWebhook(url=sinks.http.url_for(WEBHOOK_PATH), secret_header_value="Bearer demo-secret").save(
        "demo", overwrite=True
    )
