"""The backstop: a Prefect automation that posts every Crashed or TimedOut flow run, sent by the server itself.

Hooks run in the flow's process and the aggregator on a worker; a team that wants the server to watch as well
(a third, independent path, no worker involved) installs this automation with ``prefect-alerts deploy
--backstop``. It reacts to ``prefect.flow-run.Crashed`` and ``prefect.flow-run.TimedOut`` events and calls a
webhook with a message in the destination's own format (Slack, Discord or a generic ``alert-webhook``; the URL
lives in a Prefect ``Webhook`` block named ``prefect-alerts-backstop``, never in the automation). It is not
deduplicated against the hooks' alerts: a crash a hook also reported arrives twice, once from each path.

The server fills in the flow, run, state and message when it fires; each is escaped for the destination
(Slack's ``&``, ``<``, ``>``; JSON everywhere), so a run name or error message can never ping a channel or
break the body. The same destinations as the watchdog's are refused, for the same reasons
(:mod:`prefect_alerts.monitoring.watchdog`).

Example:
    ```python
    from prefect_alerts.monitoring.backstop import ensure_backstop

    print(ensure_backstop(destination="slack:ops-alerts"))
    ```
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel
from prefect_alerts.monitoring.watchdog import (
    TIME_PLACEHOLDER,
    TIME_TEMPLATES,
    WatchdogError,
    fill_templates,
    save_webhook_block,
    server_postable,
    upsert_automation,
)
from prefect_alerts.routing import AlertRouting

__all__ = ["BACKSTOP_AUTOMATION", "BACKSTOP_BLOCK", "BACKSTOP_EVENTS", "BackstopResult", "ensure_backstop"]

BACKSTOP_AUTOMATION = "prefect-alerts: crashed or timed-out flow run"
"""The automation's name: what makes installing it idempotent."""
BACKSTOP_BLOCK = "prefect-alerts-backstop"
"""The Prefect ``Webhook`` block holding the destination's URL (and secret header)."""
BACKSTOP_EVENTS = ("prefect.flow-run.Crashed", "prefect.flow-run.TimedOut")
MESSAGE_LIMIT = 500

# Stand-ins the alert is built with; each is swapped for the server's value when the automation fires.
_FLOW, _RUN, _RUN_ID, _STATE, _MESSAGE = (
    "PAXFLOWPAX",
    "PAXRUNPAX",
    "PAXRUNIDPAX",
    "PAXSTATEPAX",
    "PAXMESSAGEPAX",
)
_VALUES = {
    _FLOW: "flow.name | truncate(60)",
    _RUN: "flow_run.name | truncate(60)",
    _RUN_ID: "flow_run.id",
    _STATE: "flow_run.state.name",
    _MESSAGE: f"(flow_run.state.message or 'no message') | truncate({MESSAGE_LIMIT})",
}


class BackstopResult(BaseModel):
    """What :func:`ensure_backstop` did."""

    automation_id: str
    name: str = BACKSTOP_AUTOMATION
    action: Literal["created", "updated"]
    destination: str

    def __str__(self) -> str:
        return (
            f"{self.action} automation {self.name!r} ({self.automation_id}): posts every Crashed or TimedOut "
            f"flow run to {self.destination}"
        )


def backstop_alert() -> Alert:
    """The notice the automation posts, with stand-ins for what the server fills in."""
    return Alert(
        title=f"Flow run {_RUN} of {_FLOW}: {_STATE}",
        message=f"{_MESSAGE}\nSent by the Prefect server (automation '{BACKSTOP_AUTOMATION}'), independently of "
        "the flow's hooks and the aggregator.",
        severity="critical",
        event="flow_run_backstop",
        fields={"flow": _FLOW, "run": _RUN, "run id": _RUN_ID, "state": _STATE},
        dedup_key="prefect-alerts-backstop",
        timestamp=TIME_PLACEHOLDER,
    )


def _value(expression: str, kind: str) -> str:
    """A Jinja expression rendering a server value as the inside of a JSON string, escaped for ``kind``."""
    text = f"({expression}) | string"
    if kind == "slack":
        text += ' | replace("&", "&amp;") | replace("<", "&lt;") | replace(">", "&gt;")'
    return "{{ ((" + text + ") | tojson)[1:-1] }}"


def backstop_request(channel: Channel) -> tuple[str, dict[str, str], str]:
    """``(url, headers, payload template)`` for the automation to post to ``channel``.

    Raises:
        WatchdogError: the server cannot post to this kind of channel.
    """
    from prefect_alerts.channels.slack import SlackChannel

    target = server_postable(channel, "the backstop", "--backstop")
    payload = json.dumps(target.build_payload(backstop_alert()), ensure_ascii=False)  # type: ignore[attr-defined]
    url, headers = target.request_target()
    kind = "slack" if isinstance(channel, SlackChannel) else channel.kind
    values = {key: _value(value, kind) for key, value in _VALUES.items()}
    return url, headers, fill_templates(payload, {**values, **TIME_TEMPLATES})


def ensure_backstop(
    routing: AlertRouting | str | None = None, *, destination: str | Channel | None = None
) -> BackstopResult:
    """Create, or update in place, the automation that posts every Crashed or TimedOut flow run.

    Args:
        routing: Where the fallback destination comes from when ``destination`` is None.
        destination: Post here (``slack:ops-alerts``, or a channel object) instead of the routing's fallback.

    Raises:
        WatchdogError: no destination, or one the server cannot post to.
        prefect_alerts.blocks.BlockNotFoundError: the destination's block does not exist.
    """
    from prefect.events.actions import CallWebhook
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    from prefect_alerts.dispatch.destinations import destination_key, load_reference
    from prefect_alerts.routing import resolve_routing

    target = destination if destination is not None else resolve_routing(routing).fallback
    if target is None:
        raise WatchdogError(
            "the routing has no fallback destination for the backstop: pass one (`prefect-alerts deploy "
            "--backstop slack:ops-alerts`) or add `fallback: slack:ops-alerts` to the routing file"
        )
    channel = load_reference(target) if isinstance(target, str) else target
    url, headers, payload = backstop_request(channel)
    block_id = save_webhook_block(BACKSTOP_BLOCK, url, headers)
    automation = AutomationCore(
        name=BACKSTOP_AUTOMATION,
        description=(
            f"prefect-alerts: posts every Crashed or TimedOut flow run to {destination_key(target)}. Created by "
            "`prefect-alerts deploy --backstop`; running it again updates this automation in place."
        ),
        enabled=True,
        trigger=EventTrigger(
            expect=set(BACKSTOP_EVENTS),
            match={"prefect.resource.id": "prefect.flow-run.*"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[CallWebhook(block_document_id=block_id, payload=payload)],
    )
    automation_id, action = upsert_automation(automation)
    return BackstopResult(automation_id=automation_id, action=action, destination=destination_key(target))
