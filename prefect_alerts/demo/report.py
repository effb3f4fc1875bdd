"""What each local stand-in received, as the person on call would read it; the counts check; the files written.

Every message is one entry: what the service shows first (Slack's notification text, PagerDuty's summary, the
email subject), then the detail that matters at 3 a.m. (the error, where it was raised), wrapped rather than
cut so nothing is lost.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from prefect_alerts.demo.receivers import DEMO_SECRETS, Receivers

__all__ = ["RECEIVED_HEADING", "Expected", "check_counts", "received_json", "received_text", "write_output"]

Expected = dict[str, int]
"""Messages each stand-in should receive in one step of the demo: ``{"slack": 3, "pagerduty": 3}``."""

WIDTH = 110
RECEIVED_HEADING = "== What each local stand-in received =="


def check_counts(step: str, before: dict[str, int], after: dict[str, int], expected: Expected) -> list[str]:
    """The differences between what each stand-in received during ``step`` and what it should have.

    >>> check_counts("flows", {"slack": 0}, {"slack": 2}, {"slack": 3})
    ['flows: slack received 2 messages, expected 3']
    """
    problems = []
    for kind in sorted(set(after) | set(expected)):
        got = after.get(kind, 0) - before.get(kind, 0)
        want = expected.get(kind, 0)
        if got != want:
            problems.append(
                f"{step}: {kind} received {got} message{'s' if got != 1 else ''}, expected {want}"
            )
    return problems


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def entry(self, first: str, *details: str) -> None:
        self.lines.append(textwrap.fill(first, WIDTH, initial_indent="  • ", subsequent_indent="    "))
        for detail in details:
            if detail:
                self.lines.append(
                    textwrap.fill(detail, WIDTH, initial_indent="      ", subsequent_indent="      ")
                )

    def heading(self, name: str, count: int, what: str) -> None:
        self.lines.append(f"\n{name}: {count} {'message' if count == 1 else 'messages'} ({what})")


def _slack(out: _Lines, bodies: list[dict[str, Any]]) -> None:
    out.heading(
        "Slack", len(bodies), "the notification text; Slack shows &lt; &gt; as < >, so no mention fires"
    )
    for body in bodies:
        out.entry(body.get("text", ""))


def _pagerduty(out: _Lines, bodies: list[dict[str, Any]]) -> None:
    out.heading("PagerDuty", len(bodies), "Events API v2: one incident per dedup key")
    opened: dict[str, str] = {}
    for body in bodies:
        key = body.get("dedup_key", "")
        action = body.get("event_action", "")
        if action == "trigger":
            payload = body.get("payload", {})
            opened[key] = payload.get("source", "")
            out.entry(
                f"trigger {payload.get('severity', '')}, incident {key[:12]} (source {payload.get('source', '')})",
                payload.get("summary", ""),
            )
        else:
            out.entry(f"{action} incident {key[:12]} (source {opened.get(key) or 'unknown: opened earlier'})")


def _discord(out: _Lines, bodies: list[dict[str, Any]]) -> None:
    out.heading("Discord", len(bodies), "embed colour and title")
    for body in bodies:
        embed = (body.get("embeds") or [{}])[0]
        out.entry(f"#{embed.get('color', 0):06X} {embed.get('title', '')}", embed.get("description", ""))


def _webhook(out: _Lines, bodies: list[dict[str, Any]]) -> None:
    out.heading(
        "Webhook", len(bodies), "schema prefect-alerts/alert v1; the tickets come from the team's own hook"
    )
    for body in bodies:
        alert = body.get("alert", {})
        frames = str((alert.get("fields") or {}).get("traceback", "")).splitlines()
        where = f"raised at {frames[-3]}" if len(frames) >= 3 else ""
        out.entry(
            f"{alert.get('severity', '')} {alert.get('status', '')}: {alert.get('title', '')}",
            alert.get("message", ""),
            where,
        )


def _email_text(message: Any) -> str:
    plain = message.get_body(("plain",))
    return plain.get_content() if plain is not None else ""


def _emails(out: _Lines, messages: list[Any]) -> None:
    out.heading("Email", len(messages), "subject, then the first line of the text part")
    for message in messages:
        lines = [line for line in _email_text(message).splitlines() if line.strip()]
        out.entry(f"To {message['To']}: {message['Subject']}", lines[1] if len(lines) > 1 else "")


def received_text(receivers: Receivers) -> str:
    """Every message the stand-ins received, service by service, under :data:`RECEIVED_HEADING`."""
    out = _Lines()
    out.lines.append(RECEIVED_HEADING)
    _slack(out, receivers.received["slack"])
    _pagerduty(out, receivers.received["pagerduty"])
    _webhook(out, receivers.received["webhook"])
    _emails(out, receivers.emails)
    _discord(out, receivers.received["discord"])
    return "\n".join(out.lines)


def _without_secrets(value: Any) -> Any:
    # PagerDuty's body carries the routing key: the receiver saw it, the files a person shares must not.
    if isinstance(value, dict):
        return {k: "***" if k == "routing_key" else _without_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_secrets(item) for item in value]
    return value


def received_json(receivers: Receivers) -> dict[str, Any]:
    """What each stand-in received, as data: the HTTP bodies, and each email's headers and text part."""
    data: dict[str, Any] = {
        service: _without_secrets(bodies) for service, bodies in receivers.received.items()
    }
    data["email"] = [
        {
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": _email_text(message),
            "parts": [part.get_content_type() for part in message.walk()],
        }
        for message in receivers.emails
    ]
    return data


def write_output(folder: Path, receivers: Receivers, text: str) -> list[Path]:
    """Write ``received.txt`` (what was printed) and ``received.json`` into ``folder``; the paths written.

    Raises:
        RuntimeError: a demo credential would have been written (a bug: nothing is written then).
    """
    payload = json.dumps(received_json(receivers), indent=2, ensure_ascii=False)
    for secret in DEMO_SECRETS:
        if secret in payload or secret in text:
            raise RuntimeError("a demo credential reached the received messages; nothing was written")
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "received.txt", folder / "received.json"]
    written[0].write_text(text + "\n", encoding="utf-8")
    written[1].write_text(payload + "\n", encoding="utf-8")
    return written
