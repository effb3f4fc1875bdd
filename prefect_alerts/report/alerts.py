"""The alerts of a window, from the ``prefect-alerts.alert.*`` events every pipeline emits to the server.

The events are the record every machine shares (a worker's SQLite store does not travel), so the report counts
what all workers sent. The daily report's own alerts are left out of its numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect_alerts.dispatch.events import EVENT_PREFIX
from prefect_alerts.report.model import AlertTotals, CheckRow

__all__ = ["CHECK_EVENTS", "MAX_EVENT_PAGES", "read_alert_totals"]

CHECK_EVENTS = frozenset(
    {
        "check_failed",
        "data_quality_failed",
        "data_volume_anomaly",
        "drift_detected",
        "model_degraded",
        "prediction_anomaly",
        "threshold_breached",
    }
)
"""The alert events the check tasks send when a check fails."""
REPORT_EVENT = "daily_report"
EVENTS_PER_PAGE = 50  # the most the events API returns in one page
MAX_EVENT_PAGES = 1000
"""50,000 events at most; a window with more says its alert numbers are incomplete."""


def read_alert_totals(
    client: Any, since: datetime, until: datetime, *, check_limit: int = 10
) -> tuple[AlertTotals, list[CheckRow]]:
    """Count the window's alert events: delivered alerts by severity and destination, outcomes, failed checks.

    Never raises: an events API that cannot be read gives totals with ``error`` set (the runs still report).
    """
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    totals = AlertTotals()
    delivered_alerts: dict[str, str] = {}  # alert id -> severity
    checks: dict[tuple[str, str | None], CheckRow] = {}
    seen_checks: set[str] = set()
    event_filter = EventFilter(
        event=EventNameFilter(prefix=[EVENT_PREFIX]),
        occurred=EventOccurredFilter(since=since, until=until),
    )
    try:
        page = client.read_events(filter=event_filter, limit=EVENTS_PER_PAGE)
        for number in range(MAX_EVENT_PAGES):
            for event in page.events:
                _count(event, totals, delivered_alerts, checks, seen_checks)
            if not page.next_page:
                break
            if number == MAX_EVENT_PAGES - 1:
                totals.complete = False
                break
            page = client.read_events_page(str(page.next_page))
    except Exception as exc:  # the run numbers are still worth sending
        totals.error = f"the alert events could not be read: {type(exc).__name__}: {exc}"[:300]
    totals.delivered = len(delivered_alerts)
    for severity in delivered_alerts.values():
        totals.by_severity[severity] = totals.by_severity.get(severity, 0) + 1
    ranked = sorted(checks.values(), key=lambda row: (-row.count, row.event, row.flow_name or ""))
    return totals, ranked[:check_limit]


def _count(
    event: Any,
    totals: AlertTotals,
    delivered_alerts: dict[str, str],
    checks: dict[tuple[str, str | None], CheckRow],
    seen_checks: set[str],
) -> None:
    payload = event.payload or {}
    if payload.get("event") == REPORT_EVENT:
        return
    outcome = event.event.removeprefix(EVENT_PREFIX)
    destinations = [str(item) for item in payload.get("destinations") or []]
    totals.by_outcome[outcome] = totals.by_outcome.get(outcome, 0) + max(1, len(destinations))
    alert_id = str(payload.get("alert_id") or event.id)
    alert_event = payload.get("event")
    if alert_event in CHECK_EVENTS and payload.get("status") != "resolved" and alert_id not in seen_checks:
        # Once per alert, whatever became of it: a repeat held back by the cooldown is still a failed check.
        seen_checks.add(alert_id)
        flow_name = payload.get("flow_name")
        title = str(payload.get("title") or "")[:300]
        row = checks.get((alert_event, flow_name))
        if row is None:
            checks[(alert_event, flow_name)] = CheckRow(
                event=alert_event, flow_name=flow_name, count=1, last_title=title, last_seen=event.occurred
            )
        else:
            row.count += 1
            if event.occurred >= row.last_seen:
                row.last_title, row.last_seen = title, event.occurred
    if outcome != "delivered":
        return
    delivered_alerts.setdefault(alert_id, str(payload.get("severity") or "info"))
    for destination in destinations:
        totals.by_destination[destination] = totals.by_destination.get(destination, 0) + 1
