"""Prefect events for every alert the pipeline handles: ``prefect-alerts.alert.<outcome>``.

They show in the UI's event feed, can drive Prefect automations, and are the record every machine can read
(the server keeps them; a worker's SQLite does not travel). Emitting hands the event to Prefect's background
worker: it never blocks delivery, and any error is logged and swallowed. With no ``PREFECT_API_URL`` (a plain
script, no server) nothing is emitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import get_logger

__all__ = ["EVENT_PREFIX", "emit_outcome"]

EVENT_PREFIX = "prefect-alerts.alert."
logger = get_logger("prefect_alerts.dispatch")


def _related(alert: Alert) -> list[dict[str, str]]:
    related = []
    source = alert.source
    if source.flow_run_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{source.flow_run_id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": source.flow_run_name or source.flow_run_id,
            }
        )
    if source.task_run_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.task-run.{source.task_run_id}",
                "prefect.resource.role": "task-run",
                "prefect.resource.name": source.task_run_name or source.task_run_id,
            }
        )
    if source.deployment_id:
        related.append(
            {
                "prefect.resource.id": f"prefect.deployment.{source.deployment_id}",
                "prefect.resource.role": "deployment",
            }
        )
    return related


def emit_outcome(
    alert: Alert,
    alert_id: str,
    status: str,
    destinations: Iterable[str],
    reasons: Mapping[str, str | None],
) -> None:
    """Emit ``prefect-alerts.alert.<status>`` for ``alert`` and the destinations that ended so (never raises)."""
    try:
        from prefect.events import emit_event
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            return  # no server to record on (emitting would start a temporary one, taking seconds)
        destinations = list(destinations)
        payload: dict[str, Any] = {
            "alert_id": alert_id,
            "dedup_key": alert.dedup_key,
            "event": alert.event,
            "severity": alert.severity.value,
            "status": alert.status.value,
            "title": alert.title[:300],
            "destinations": destinations,
            "reasons": {key: value for key, value in reasons.items() if value and key in destinations},
            "flow_name": alert.source.flow_name,
            "deployment_name": alert.source.deployment_name,
            "flow_run_id": alert.source.flow_run_id,
            "task_run_id": alert.source.task_run_id,
        }
        emit_event(
            event=f"{EVENT_PREFIX}{status}",
            resource={
                "prefect.resource.id": f"prefect-alerts.alert.{alert_id}",
                "prefect.resource.name": alert.title[:100],
                "prefect-alerts.dedup-key": alert.dedup_key,
                "prefect-alerts.event": alert.event,
            },
            related=_related(alert),
            payload=payload,
        )
    except Exception as exc:  # events are a record, never a reason to fail a delivery
        logger.warning("could not emit the %s event for alert %r: %s", status, alert.title[:80], exc)
