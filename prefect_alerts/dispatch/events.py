"""Prefect events for every alert the pipeline handles: ``prefect-alerts.alert.<outcome>``.

They show in the UI's event feed, can drive Prefect automations, and are the record every machine can read
(the server keeps them; a worker's SQLite does not travel). Emitting hands the event to Prefect's background
worker: it never blocks delivery, and any error is logged and swallowed. With no ``PREFECT_API_URL`` (a plain
script, no server) nothing is emitted.

A ``queued`` event also carries the alert itself (``payload["alert"]``, :meth:`Alert.to_record`) and, when the
caller knows it, each destination's next attempt (``payload["next_attempt_at"]``): a worker that dies with its
local store takes the outbox entry with it, and the aggregator rebuilds the alert from the event to re-raise
it (:mod:`prefect_alerts.monitoring.requeue`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import get_logger

__all__ = ["EVENT_PREFIX", "MAX_ALERT_RECORD_BYTES", "emit_outcome"]

EVENT_PREFIX = "prefect-alerts.alert."
MAX_ALERT_RECORD_BYTES = 256 * 1024
"""The largest alert record a queued event carries; the server refuses events over 1.5 MB, so a bigger one
goes without its images (charts), and one still too big without the record."""
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


def _alert_record(alert: Alert, payload: dict[str, Any]) -> None:
    """Put the alert's record in a queued event's payload, within :data:`MAX_ALERT_RECORD_BYTES`."""
    record = alert.to_record()
    size = len(json.dumps(record, default=str))
    if size > MAX_ALERT_RECORD_BYTES and record.get("images"):
        record["images"] = []
        payload["alert_note"] = "the alert's images were left out of this event (too large)"
        size = len(json.dumps(record, default=str))
    if size > MAX_ALERT_RECORD_BYTES:
        payload["alert_note"] = "the alert was too large to carry in this event"
        return
    payload["alert"] = record


def emit_outcome(
    alert: Alert,
    alert_id: str,
    status: str,
    destinations: Iterable[str],
    reasons: Mapping[str, str | None],
    *,
    next_attempt_at: Mapping[str, datetime | None] | None = None,
) -> None:
    """Emit ``prefect-alerts.alert.<status>`` for ``alert`` and the destinations that ended so (never raises).

    Args:
        alert: The alert as sent.
        alert_id: The send's id (the event's resource is ``prefect-alerts.alert.<alert_id>``).
        status: delivered, queued, suppressed, folded, dead (or reraised, from the aggregator).
        destinations: The destination keys that ended in ``status``.
        reasons: Reasons by destination key (only those in ``destinations`` are kept).
        next_attempt_at: For queued: when the outbox tries each destination again, where known.

    Example:
        ```python
        emit_outcome(alert, "3f2a...", "queued", ["slack:oncall"], {"slack:oncall": "503 from Slack"},
                     next_attempt_at={"slack:oncall": now + timedelta(seconds=30)})
        ```
    """
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
        if status == "queued":  # the record every machine can re-raise it from if this worker dies
            _alert_record(alert, payload)
            due = {
                key: when.isoformat()
                for key, when in (next_attempt_at or {}).items()
                if when is not None and key in destinations
            }
            if due:
                payload["next_attempt_at"] = due
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
