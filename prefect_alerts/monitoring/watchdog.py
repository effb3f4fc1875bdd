"""The watcher watched: a Prefect automation that posts to the fallback when the aggregator stops reporting.

The aggregator emits ``prefect-alerts.aggregator.heartbeat`` every run. If it stops (its worker died, its
deployment was paused, the serve process was never restarted), nothing sweeps for crashed runs, re-raises
queued alerts or resolves recoveries, and nothing of ours can say so: the process that would is the one that
stopped. So the server says it: :func:`ensure_heartbeat_watchdog` creates (or updates, by name) a proactive
automation that fires when no heartbeat arrived for ``missed`` intervals and calls a webhook with a message in
the fallback destination's own format (Slack, Discord or a generic ``alert-webhook``).

The server sends that request, not our pipeline, so the destination must be one the server can post to with a
plain HTTP request and no secret in the request body:

- ``slack`` and ``discord``: the webhook URL goes into a Prefect ``Webhook`` block (a secret field) named
  ``prefect-alerts-watchdog``; the automation references it;
- ``webhook`` (our ``alert-webhook``): the same, with its secret header; a signing secret cannot be used (the
  server cannot sign), so a signed webhook is refused;
- ``pagerduty``: refused, its routing key would sit in the automation's body, readable by anyone who can read
  automations; ``email``: refused, the server has no SMTP sender; ``console``: refused, it is this process's
  terminal. Pass a Slack, Discord or webhook destination instead (``prefect-alerts deploy --watchdog ...``).

While the aggregator stays silent the automation fires again every window (``missed`` intervals), like a
still-firing alert's repeat.

Example:
    ```python
    from prefect_alerts.monitoring.watchdog import ensure_heartbeat_watchdog

    result = ensure_heartbeat_watchdog("alerts.yaml")  # fallback: slack:ops-alerts
    print(result)  # "created automation 'prefect-alerts: aggregator heartbeat missing' ... after 15m"
    ```
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel, HTTPChannel
from prefect_alerts.routing import AlertRouting
from prefect_alerts.routing.durations import format_duration
from prefect_alerts.status import HEARTBEAT_EVENT

__all__ = [
    "WATCHDOG_AUTOMATION",
    "WATCHDOG_BLOCK",
    "WatchdogError",
    "WatchdogResult",
    "ensure_heartbeat_watchdog",
    "fill_templates",
    "save_webhook_block",
    "server_postable",
    "unsupported_destination",
    "upsert_automation",
    "watchdog_request",
]

WATCHDOG_AUTOMATION = "prefect-alerts: aggregator heartbeat missing"
"""The automation's name: what makes creating it idempotent."""
WATCHDOG_BLOCK = "prefect-alerts-watchdog"
"""The Prefect ``Webhook`` block holding the destination's URL (and secret header) for the automation."""
AGGREGATOR_RESOURCE = "prefect-alerts.aggregator"
DEFAULT_INTERVAL = timedelta(minutes=5)
DEFAULT_MISSED = 3
MINIMUM_WITHIN = timedelta(seconds=10)  # the server refuses proactive triggers over shorter windows

# The message's time is when the automation fired, not when it was deployed: the payload is built once with
# this moment and each rendering of it is swapped for the firing's own time.
TIME_PLACEHOLDER = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
TIME_TEMPLATES = {  # the placeholder's renderings -> the firing's time, rendered by the server
    TIME_PLACEHOLDER.isoformat(): "{{ firing.triggered.isoformat() }}",
    str(int(TIME_PLACEHOLDER.timestamp())): "{{ firing.triggered.timestamp() | int }}",
    TIME_PLACEHOLDER.strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    ): "{{ firing.triggered.strftime('%Y-%m-%d %H:%M:%S UTC') }}",
}


class WatchdogError(ValueError):
    """The watchdog cannot be set up as asked (no fallback, or one the server cannot post to)."""


class WatchdogResult(BaseModel):
    """What :func:`ensure_heartbeat_watchdog` did."""

    automation_id: str
    name: str = WATCHDOG_AUTOMATION
    action: Literal["created", "updated"]
    destination: str
    within: timedelta

    def __str__(self) -> str:
        return (
            f"{self.action} automation {self.name!r} ({self.automation_id}): posts to {self.destination} "
            f"when no {HEARTBEAT_EVENT} arrived for {format_duration(self.within)}"
        )


def watchdog_alert(interval: timedelta, missed: int) -> Alert:
    """The notice the automation posts (built once; its time is the firing's)."""
    within = format_duration(interval * missed)
    return Alert(
        title="prefect-alerts aggregator stopped reporting",
        message=(
            f"No heartbeat for {within} ({missed} runs of its {format_duration(interval)} schedule).\n"
            "Until it runs again: runs that crash with no hook are not alerted, alerts a dead worker left "
            "queued are not retried, recoveries are not resolved, storms are not closed.\n"
            "Check the prefect-alerts-aggregator deployment: its last runs, its work pool and worker (or the "
            "process serving it). `prefect-alerts status` shows the last heartbeat."
        ),
        severity="critical",
        event="aggregator_heartbeat_missing",
        fields={"missing for": within, "sent by": f"Prefect automation '{WATCHDOG_AUTOMATION}'"},
        dedup_key="prefect-alerts-aggregator-heartbeat",
        timestamp=TIME_PLACEHOLDER,
    )


def watchdog_request(channel: Channel, interval: timedelta, missed: int) -> tuple[str, dict[str, str], str]:
    """``(url, headers, payload template)`` for the automation to post the notice to ``channel``.

    Raises:
        WatchdogError: the server cannot post to this kind of channel (see the module docs for why).
    """
    target = server_postable(channel, "the aggregator watchdog", "--watchdog")
    url, headers = target.request_target()
    payload = target.build_payload(watchdog_alert(interval, missed))  # type: ignore[attr-defined]
    return url, headers, _templated(json.dumps(payload, ensure_ascii=False))


def server_postable(channel: Channel, what: str, flag: str) -> HTTPChannel:
    """``channel`` when a Prefect automation (``what``) can post to it: Slack, Discord or an unsigned webhook.

    Raises:
        WatchdogError: any other destination, with why and the fix (``flag`` of ``prefect-alerts deploy``).
    """
    from prefect_alerts.channels.discord import DiscordChannel
    from prefect_alerts.channels.slack import SlackChannel
    from prefect_alerts.channels.webhook import WebhookChannel

    if not isinstance(channel, SlackChannel | DiscordChannel | WebhookChannel):
        raise WatchdogError(unsupported_destination(channel, what, flag))
    if isinstance(channel, WebhookChannel) and channel.signed:
        raise WatchdogError(
            f"{channel.name}: a signed webhook cannot be posted by a Prefect automation (the server cannot "
            f"sign the request); use a Slack or Discord destination: {flag} slack:ops-alerts"
        )
    return channel


def save_webhook_block(name: str, url: str, headers: dict[str, str]) -> Any:
    """Save (overwrite) the Prefect ``Webhook`` block an automation posts through; its document id."""
    from prefect.blocks.webhook import Webhook
    from prefect.types import SecretDict
    from pydantic import SecretStr

    return Webhook(method="POST", url=SecretStr(url), headers=SecretDict(headers)).save(name, overwrite=True)


def upsert_automation(automation: Any) -> tuple[str, Literal["created", "updated"]]:
    """Create ``automation``, or update the one of its name in place; ``(id, what was done)``.

    Names are not unique on the server: any further automation of the name is deleted (one watchdog or
    backstop, not two messages per firing).
    """
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        existing = client.read_automations_by_name(automation.name)
        if not existing:
            return str(client.create_automation(automation)), "created"
        keep, *duplicates = sorted(existing, key=lambda found: str(found.id))
        client.update_automation(keep.id, automation)
        for duplicate in duplicates:
            client.delete_automation(duplicate.id)
        return str(keep.id), "updated"


def unsupported_destination(channel: Channel, what: str, flag: str) -> str:
    """Why ``what`` (an automation) cannot post to ``channel``, and the fix (``flag`` of ``prefect-alerts deploy``)."""
    why = {
        "pagerduty": "its routing key would be written into the automation, readable by anyone who can read "
        "automations",
        "email": "the Prefect server has no SMTP sender",
        "console": "the console is this process's terminal, which the server cannot write to",
    }.get(channel.kind, "the server can only post to Slack, Discord and webhook destinations")
    return (
        f"{what} cannot post to {channel.name} ({channel.kind}): {why}. Give it a Slack, Discord or webhook "
        f"destination: `prefect-alerts deploy {flag} slack:ops-alerts`, or set `fallback:` in the routing file "
        "to one"
    )


def fill_templates(payload: str, templates: dict[str, str]) -> str:
    """``payload`` as a Prefect automation template: each key of ``templates`` swapped for its Jinja, the rest
    literal (inside raw blocks: a title could contain ``{{``)."""
    for literal, template in templates.items():
        payload = payload.replace(literal, "{% endraw %}" + template + "{% raw %}")
    return "{% raw %}" + payload + "{% endraw %}"


def _templated(payload: str) -> str:
    return fill_templates(payload, TIME_TEMPLATES)


def ensure_heartbeat_watchdog(
    routing: AlertRouting | str | None = None,
    *,
    destination: str | Channel | None = None,
    interval: timedelta = DEFAULT_INTERVAL,
    missed: int = DEFAULT_MISSED,
) -> WatchdogResult:
    """Create, or update in place, the automation that posts when the aggregator's heartbeat stops.

    Args:
        routing: Where the fallback destination comes from (an ``AlertRouting``, a file path or a routing block
            name; None: the resolution order).
        destination: Post here instead of the routing's fallback (a reference such as ``slack:ops-alerts``,
            or a channel object).
        interval: How often the aggregator runs (its schedule).
        missed: How many runs without a heartbeat before it fires (default 3: one late or failed run is not
            an outage).

    Raises:
        WatchdogError: no destination, one the server cannot post to, or a window under 10 seconds.
        prefect_alerts.blocks.BlockNotFoundError: the destination's block does not exist.
    """
    from prefect.events.actions import CallWebhook
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    from prefect_alerts.dispatch.destinations import destination_key, load_reference
    from prefect_alerts.routing import resolve_routing

    if missed < 1:
        raise WatchdogError(f"missed must be 1 or more (runs without a heartbeat); got {missed}")
    within = interval * missed
    if within < MINIMUM_WITHIN:
        raise WatchdogError(
            f"the watchdog window ({format_duration(within)} = {missed} x {format_duration(interval)}) is under "
            "the server's minimum of 10s for a proactive automation; give a longer interval"
        )
    target = destination if destination is not None else resolve_routing(routing).fallback
    if target is None:
        raise WatchdogError(
            "the routing has no fallback destination for the aggregator watchdog: add `fallback: "
            "slack:ops-alerts` to the routing file, or pass one: `prefect-alerts deploy --watchdog "
            "slack:ops-alerts`"
        )
    channel = load_reference(target) if isinstance(target, str) else target
    url, headers, payload = watchdog_request(channel, interval, missed)

    block_id = save_webhook_block(WATCHDOG_BLOCK, url, headers)
    automation = AutomationCore(
        name=WATCHDOG_AUTOMATION,
        description=(
            f"prefect-alerts: posts to {destination_key(target)} when the aggregator sent no heartbeat "
            f"({HEARTBEAT_EVENT}) for {format_duration(within)}. Created by `prefect-alerts deploy`; running it "
            "again updates this automation in place."
        ),
        enabled=True,
        trigger=EventTrigger(
            expect={HEARTBEAT_EVENT},
            match={"prefect.resource.id": AGGREGATOR_RESOURCE},
            posture=Posture.Proactive,
            threshold=1,
            within=within,
        ),
        actions=[CallWebhook(block_document_id=block_id, payload=payload)],
    )
    automation_id, action = upsert_automation(automation)
    return WatchdogResult(
        automation_id=automation_id,
        action=action,
        destination=destination_key(target),
        within=within,
    )
