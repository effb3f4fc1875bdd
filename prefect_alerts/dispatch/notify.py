"""``notify``: an alert from a title, a message and named values, sent through ``send_alert``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.channels.base import Channel
from prefect_alerts.delivery import source_from_context
from prefect_alerts.dispatch.models import DestinationOutcome
from prefect_alerts.dispatch.pipeline import send_alert

if TYPE_CHECKING:
    from prefect_alerts.routing import AlertRouting

__all__ = ["notify"]


def notify(
    title: str,
    message: str = "",
    severity: Severity | str = "info",
    channels: Channel | str | Sequence[Channel | str] | None = None,
    *,
    routing: AlertRouting | str | os.PathLike[str] | None = None,
    **fields: Any,
) -> list[DestinationOutcome]:
    """Build an :class:`Alert` from a title, message and named values, and :func:`send_alert` it.

    Keyword arguments become the alert's fields. Inside a flow or task run the alert's source (flow, run,
    task) is filled in from the run context. ``channels`` (references such as ``"slack:ops"`` or channel
    objects) is a direct route; without it the routing config decides. Returns one outcome per destination.

    Example:
        ```python
        from prefect_alerts import notify

        notify("Scrape finished", "3 of 120 pages failed", severity="warning", pages=120, failed=3)
        ```
    """
    alert = Alert(
        title=title, message=message, severity=severity, source=source_from_context(), fields=fields
    )
    if isinstance(channels, (str, Channel)):
        channels = [channels]
    return send_alert(alert, routing=routing, destinations=channels).outcomes
