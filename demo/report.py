"""What each local stand-in received, printed the way the person on call would read it, and the counts check.

Every message is one entry: what the service shows first (Slack's notification text, PagerDuty's summary,
the email subject), then the detail that matters at 3 a.m. (the error, where it was raised), wrapped rather
than cut so nothing is lost.
"""

from __future__ import annotations

import textwrap
from typing import Any

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
            problems.append(f"{step}: {kind} received {got} messages, expected {want}")
    return problems


def _entry(first: str, *details: str) -> None:
    print(textwrap.fill(first, WIDTH, initial_indent="  • ", subsequent_indent="    "))
    for detail in details:
        if detail:
            print(textwrap.fill(detail, WIDTH, initial_indent="      ", subsequent_indent="      "))


def _heading(name: str, count: int, what: str) -> None:
    print(f"\n{name}: {count} {'message' if count == 1 else 'messages'} ({what})")


def _slack(bodies: list[dict[str, Any]]) -> None:
    _heading("Slack", len(bodies), "the notification text; Slack shows &lt; &gt; as < >, so no mention fires")
    for body in bodies:
        _entry(body.get("text", ""))


def _pagerduty(bodies: list[dict[str, Any]]) -> None:
    _heading("PagerDuty", len(bodies), "Events API v2: one incident per dedup key")
    opened: dict[str, str] = {}
    for body in bodies:
        key = body.get("dedup_key", "")
        action = body.get("event_action", "")
        if action == "trigger":
            payload = body.get("payload", {})
            opened[key] = payload.get("source", "")
            _entry(
                f"trigger {payload.get('severity', '')}, incident {key[:12]} (source {payload.get('source', '')})",
                payload.get("summary", ""),
            )
        else:
            _entry(f"{action} incident {key[:12]} (source {opened.get(key) or 'unknown: opened earlier'})")


def _discord(bodies: list[dict[str, Any]]) -> None:
    _heading("Discord", len(bodies), "embed colour and title")
    for body in bodies:
        embed = (body.get("embeds") or [{}])[0]
        _entry(f"#{embed.get('color', 0):06X} {embed.get('title', '')}", embed.get("description", ""))


def _webhook(bodies: list[dict[str, Any]]) -> None:
    _heading("Webhook", len(bodies), "schema prefect-alerts/alert v1; the tickets come from our own hook")
    for body in bodies:
        alert = body.get("alert", {})
        frames = str((alert.get("fields") or {}).get("traceback", "")).splitlines()
        where = f"raised at {frames[-3]}" if len(frames) >= 3 else ""
        _entry(
            f"{alert.get('severity', '')} {alert.get('status', '')}: {alert.get('title', '')}",
            alert.get("message", ""),
            where,
        )


def _emails(messages: list[Any]) -> None:
    _heading("Email", len(messages), "subject, then the first line of the text part")
    for message in messages:
        plain = message.get_body(("plain",))
        lines = [line for line in (plain.get_content() if plain else "").splitlines() if line.strip()]
        _entry(f"To {message['To']}: {message['Subject']}", lines[1] if len(lines) > 1 else "")


def print_received(sinks: Any) -> None:
    """Print every message the stand-ins in ``sinks`` (a :class:`sinks.Sinks`) received, service by service."""
    print(f"\n{RECEIVED_HEADING}")
    _slack(sinks.received["slack"])
    _pagerduty(sinks.received["pagerduty"])
    _webhook(sinks.received["webhook"])
    _emails(sinks.emails)
    _discord(sinks.received["discord"])
