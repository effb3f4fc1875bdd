"""Local stand-ins for Slack, PagerDuty, Discord, a webhook receiver and an SMTP server, for the demo.

Each answers the way the real service does (Slack ``ok``, PagerDuty 202, Discord 204, SMTP 250) and keeps what it
received, so the demo can show at the end exactly what a person would have seen. The HTTP services are one
standard-library server; SMTP is aiosmtpd. Both listen on 127.0.0.1 only.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

__all__ = ["HTTP_SERVICES", "Receivers", "save_blocks"]

SLACK_PATH = "/services/T0DEMO/B0DEMO/demo-not-a-real-token"
PAGERDUTY_PATH = "/v2/enqueue"
DISCORD_PATH = "/api/webhooks/1234567890/demo-token"
WEBHOOK_PATH = "/hooks/prefect-alerts"
HTTP_SERVICES = ("slack", "pagerduty", "discord", "webhook")

DEMO_ROUTING_KEY = "demo0routing0key0not0real0000000"
"""The demo's PagerDuty routing key: 32 characters, as PagerDuty's are; a secret, so never printed."""
DEMO_SECRETS = ("demo-not-a-real-token", DEMO_ROUTING_KEY, "demo-secret", "demo-token")
"""Every credential the demo's blocks hold: none may appear in anything the demo prints or writes."""

# path -> (service, status, body, content type)
_REPLIES: dict[str, tuple[str, int, bytes, str]] = {
    SLACK_PATH: ("slack", 200, b"ok", "text/plain"),
    PAGERDUTY_PATH: ("pagerduty", 202, b'{"status":"success"}', "application/json"),
    DISCORD_PATH: ("discord", 204, b"", "text/plain"),
    WEBHOOK_PATH: ("webhook", 200, b"accepted", "text/plain"),
}


def _free_port() -> int:
    # aiosmtpd cannot bind port 0 itself.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the channels' connection pools expect
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms Nagle/delayed-ACK stall
    server: _HTTPReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        reply = _REPLIES.get(self.path)
        if reply is None:
            self._respond(404, b"no such hook", "text/plain")
            return
        service, status, payload, content_type = reply
        self.server.receivers.record(service, body)
        self._respond(status, payload, content_type)

    def _respond(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # the demo prints what arrived, not access logs
        pass


class _HTTPReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receivers: Receivers) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receivers = receivers


class Receivers:
    """The local services, recording each request body (HTTP as JSON, SMTP as a parsed message).

    Example:
        ```python
        from prefect_alerts.demo.receivers import SLACK_PATH, Receivers

        with Receivers() as receivers:
            print(receivers.url_for(SLACK_PATH))  # point a Slack block at this
        print(len(receivers.received["slack"]))
        ```
    """

    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = {service: [] for service in HTTP_SERVICES}
        self.emails: list[email.message.EmailMessage] = []
        self._lock = threading.Lock()
        self._http: _HTTPReceiver | None = None
        self._thread: threading.Thread | None = None
        receivers = self

        class SmtpHandler:
            async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                with receivers._lock:
                    receivers.emails.append(message)  # type: ignore[arg-type]
                return "250 OK"

        self.smtp_port = _free_port()
        self._smtp = Controller(SmtpHandler(), hostname="127.0.0.1", port=self.smtp_port)

    def record(self, service: str, body: bytes) -> None:
        try:
            parsed = json.loads(body.decode("utf-8"))
        except ValueError:
            parsed = {"unparsed": body.decode("utf-8", "replace")}
        with self._lock:
            self.received[service].append(parsed)

    def url_for(self, path: str) -> str:
        assert self._http is not None, "start the receivers first (with Receivers() as receivers: ...)"
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}{path}"

    def counts(self) -> dict[str, int]:
        """How many messages each service holds, e.g. ``{"slack": 9, ..., "email": 3}``."""
        with self._lock:
            return {
                **{service: len(bodies) for service, bodies in self.received.items()},
                "email": len(self.emails),
            }

    def __enter__(self) -> Receivers:
        self._http = _HTTPReceiver(self)
        self._thread = threading.Thread(target=self._http.serve_forever, name="demo-receivers", daemon=True)
        self._thread.start()
        self._smtp.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._smtp.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()


def save_blocks(receivers: Receivers) -> list[str]:
    """What ``prefect-alerts setup-blocks`` does for a real workspace, with every block named ``demo`` and
    pointed at the local receivers. Returns the block documents saved (``slack-incoming-webhook/demo``, ...)."""
    from prefect.blocks.notifications import DiscordWebhook
    from prefect_email import EmailServerCredentials

    # prefect-slack's block: Prefect's own (apprise) rejects local URLs.
    from prefect_slack import SlackWebhook

    from prefect_alerts.blocks import AlertEmailDestination, AlertWebhook, PagerDutyEventsV2

    SlackWebhook(url=receivers.url_for(SLACK_PATH)).save("demo", overwrite=True)
    EmailServerCredentials(smtp_server="127.0.0.1", smtp_type="INSECURE", smtp_port=receivers.smtp_port).save(
        "demo-smtp", overwrite=True
    )
    AlertEmailDestination(
        credentials_block="demo-smtp", email_from="alerts@example.com", email_to=["oncall@example.com"]
    ).save("demo", overwrite=True)
    PagerDutyEventsV2(routing_key=DEMO_ROUTING_KEY, events_url=receivers.url_for(PAGERDUTY_PATH)).save(
        "demo", overwrite=True
    )
    DiscordWebhook(webhook_id="1234567890", webhook_token="demo-token").save("demo", overwrite=True)
    AlertWebhook(url=receivers.url_for(WEBHOOK_PATH), secret_header_value="Bearer demo-secret").save(
        "demo", overwrite=True
    )
    return [
        "slack-incoming-webhook/demo",
        "email-server-credentials/demo-smtp",
        "alert-email-destination/demo",
        "pagerduty-events-v2/demo",
        "discord-webhook/demo",
        "alert-webhook/demo",
    ]
