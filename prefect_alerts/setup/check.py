"""``setup-blocks --check``: one test alert through each destination, one outcome line each.

The alert goes through :func:`prefect_alerts.deliver` (the bottom of the path: no routing, cooldown or outbox),
so a check sent twice reaches the service twice and a failed one leaves nothing queued behind. A PagerDuty
test incident is resolved again at once (same dedup key).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel

from prefect_alerts.alert import Alert

__all__ = ["CheckOutcome", "check_alert", "existing_destinations", "run_checks"]

_ROUTE_SUFFIXES = ("", "-critical", "-warning", "-info")


class CheckOutcome(BaseModel):
    """How the test alert fared at one destination."""

    destination: str
    status: Literal["delivered", "failed"]
    detail: str = ""

    @property
    def ok(self) -> bool:
        """True when the service accepted the test alert."""
        return self.status == "delivered"

    def __str__(self) -> str:
        return f"{self.destination}: {self.status}" + (f": {self.detail}" if self.detail else "")


def check_alert() -> Alert:
    """The alert ``--check`` sends: info severity, event ``setup_check``, a dedup key of its own.

    >>> check_alert().event
    'setup_check'
    """
    return Alert(
        title="prefect-alerts test alert",
        message="Sent by `prefect-alerts setup-blocks --check` to test this destination. No action needed.",
        severity="info",
        event="setup_check",
        dedup_key=f"prefect-alerts-setup-check-{uuid.uuid4().hex}",
    )


def _safe(exc: Exception) -> str:
    from prefect_alerts.blocks import BlockNotFoundError
    from prefect_alerts.channels.base import redact
    from prefect_alerts.routing.errors import mask_urls

    if isinstance(exc, BlockNotFoundError):
        return str(exc)  # names the type and the block, says how to create it
    return f"could not load the block ({type(exc).__name__}: {mask_urls(redact(str(exc)))[:300]})"


def run_checks(destinations: list[str]) -> list[CheckOutcome]:
    """Send one test alert through each destination (``slack:ops``, ``email:ops``...); one outcome each.

    Example (needs a Prefect server and the blocks):
        ```python
        from prefect_alerts.setup import run_checks

        for outcome in run_checks(["slack:ops", "pagerduty:ops"]):
            print(outcome)  # "slack:ops: delivered", "pagerduty:ops: failed: ..."
        ```
    """
    from prefect_alerts import deliver
    from prefect_alerts.channels.registry import channel_from_ref

    alert = check_alert()
    outcomes: list[CheckOutcome] = []
    for ref in destinations:
        try:
            channel = channel_from_ref(ref)
        except Exception as exc:  # a missing block or one that cannot be built: that destination fails
            outcomes.append(CheckOutcome(destination=ref, status="failed", detail=_safe(exc)))
            continue
        (result,) = deliver(alert, [channel])
        if not result.ok:
            wait = " (temporary: run --check again later)" if result.status == "retry" else ""
            outcomes.append(CheckOutcome(destination=ref, status="failed", detail=f"{result.detail}{wait}"))
            continue
        detail = ""
        if ref.startswith("pagerduty:"):
            (resolved,) = deliver(alert.resolved(), [channel])
            detail = (
                "test incident opened and resolved"
                if resolved.ok
                else f"test incident opened, but resolving it failed ({resolved.detail}): resolve it in PagerDuty"
            )
        outcomes.append(CheckOutcome(destination=ref, status="delivered", detail=detail))
    return outcomes


def existing_destinations(name: str) -> list[str]:
    """The destinations saved under ``name`` (and ``NAME-critical``, ``-warning``, ``-info`` for Slack).

    One request to the Prefect server; used by ``--check`` when no values are given.
    """
    from prefect_alerts.routing.destinations import find_blocks

    names = [f"{name}{suffix}" for suffix in _ROUTE_SUFFIXES]
    found = find_blocks(names)
    order = ("slack", "email", "pagerduty", "discord", "webhook")
    refs: list[str] = []
    for kind in order:
        for block_name in names:
            kinds = {found_kind for found_kind, _ in found.get(block_name, [])}
            if kind in kinds and (kind == "slack" or block_name == name):
                refs.append(f"{kind}:{block_name}")
    return refs
