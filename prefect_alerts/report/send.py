"""Sending the daily report: one alert (event ``daily_report``, severity info) through the routing, and the
Prefect UI artifacts.

Each channel shows the alert its own way: email the summary, the chart inline (``multipart/related``, shown by
``cid:``) and the per-flow, error and check tables; Slack the compact summary and the headline numbers;
PagerDuty and webhooks the summary and numbers as details. A route matching ``event: daily_report`` picks the
destinations.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from prefect_alerts.alert import Alert, AlertImage, AlertTable, Link, Severity, Source
from prefect_alerts.report.model import DailyReport
from prefect_alerts.report.render import (
    FLOW_COLUMNS,
    alert_lines,
    flow_table_rows,
    percent,
    render_markdown,
    seconds_text,
    summary_line,
    window_text,
)
from prefect_alerts.text import plural

if TYPE_CHECKING:
    from prefect_alerts.dispatch.models import SendResult
    from prefect_alerts.routing import AlertRouting

__all__ = [
    "ARTIFACT_KEY",
    "FLOWS_ARTIFACT_KEY",
    "REPORT_EVENT",
    "publish_artifacts",
    "report_alert",
    "send_daily_report",
]

REPORT_EVENT = "daily_report"
ARTIFACT_KEY = "prefect-alerts-daily-report"
"""The markdown artifact's key: the UI keeps each day's as a version under one name."""
FLOWS_ARTIFACT_KEY = "prefect-alerts-daily-report-flows"
"""The per-flow table artifact's key."""
CHART_NAME = "daily-report-chart.png"


def _compact(report: DailyReport) -> str:
    """The few lines every channel shows first: the headline, troubled flows, the top error, the slowest."""
    lines = [summary_line(report) + "."]
    troubled = [row for row in report.flows if row.problems]
    for row in troubled[:3]:
        lines.append(
            f"- {row.flow_name}: {row.problems:,} of {plural(row.total_runs, 'run')} did not succeed"
        )
    if len(troubled) > 3:
        lines.append(f"- and {plural(len(troubled) - 3, 'more flow')} with failures")
    if report.top_errors:
        error = report.top_errors[0]
        lines.append(f"Top error ({error.count:,}x): {error.message[:200]}")
    if report.slowest:
        row = report.slowest[0]
        lines.append(f"Slowest: {row.flow_name}, p95 {seconds_text(row.p95_seconds)}")
    if report.failed_checks:
        lines.append(f"Checks that failed: {sum(check.count for check in report.failed_checks):,}")
    lines.append(alert_lines(report)[0])
    lines += [f"Note: {note}" for note in report.notes]
    return "\n".join(lines)


def _tables(report: DailyReport) -> list[AlertTable]:
    tables = []
    rows, note = flow_table_rows(report, limit=25)
    if rows:
        tables.append(AlertTable(title="Flows", columns=FLOW_COLUMNS, rows=rows, note=note))
    if report.top_errors:
        tables.append(
            AlertTable(
                title="Recurring errors",
                columns=["error", "count", "flows"],
                rows=[[e.message, f"{e.count:,}", ", ".join(e.flows)] for e in report.top_errors],
            )
        )
    if report.failed_checks:
        tables.append(
            AlertTable(
                title="Checks that failed",
                columns=["check", "count", "flow", "last"],
                rows=[
                    [c.event, f"{c.count:,}", c.flow_name or "-", c.last_title] for c in report.failed_checks
                ],
            )
        )
    alerts = report.alerts
    if alerts.by_destination:
        ranked = sorted(alerts.by_destination.items(), key=lambda item: (-item[1], item[0]))[:10]
        tables.append(
            AlertTable(
                title="Alerts delivered by destination",
                columns=["destination", "deliveries"],
                rows=[[name, f"{count:,}"] for name, count in ranked],
            )
        )
    return tables


def report_alert(report: DailyReport, *, chart: bool = True) -> Alert:
    """The alert that carries ``report``: event ``daily_report``, severity info, one dedup key per window.

    Example:
        ```python
        alert = report_alert(report)
        alert.fields["success rate"]  # '97.5%'
        ```
    """
    fields: dict[str, Any] = {
        "runs": report.total_runs,
        "success rate": percent(report.success_rate),
        "failed": report.failed,
        "timed out": report.timed_out,
        "crashed": report.crashed,
        "cancelled": report.cancelled,
        "late": report.late,
        "alerts delivered": report.alerts.delivered,
    }
    if report.total_runs:
        title = (
            f"Daily report: {percent(report.success_rate)} of {plural(report.total_runs, 'run')} succeeded"
        )
    else:
        title = "Daily report: no flow run finished"
    images = []
    if chart:
        images.append(
            AlertImage(
                name=CHART_NAME,
                data=report.chart_png(),
                alt=f"Runs per {report.bucket} by final state, and run duration, {window_text(report)}",
            )
        )
    return Alert(
        title=f"{title} ({window_text(report)})",
        message=_compact(report),
        severity=Severity.INFO,
        event=REPORT_EVENT,
        fields=fields,
        links=[Link(label="Open the runs in Prefect", url=report.ui_url)] if report.ui_url else [],
        source=Source(flow_name="prefect-alerts-daily-report"),
        dedup_key=f"daily_report:{report.since.isoformat()}:{report.until.isoformat()}",
        images=images,
        tables=_tables(report),
        tags=["prefect-alerts", "daily-report"],
    )


def send_daily_report(
    report: DailyReport,
    routing: AlertRouting | str | os.PathLike[str] | None = None,
    destinations: list[Any] | None = None,
    *,
    again: bool = False,
) -> SendResult:
    """Send ``report`` as an alert with event ``daily_report`` through the routing (or ``destinations``).

    Routing and silences apply as to any alert. The dedup key is the window: a window's report that this store
    already delivered (or queued) is not sent again, whatever the route's cooldown, unless ``again=True``; each
    outcome is then ``suppressed`` with the time it went out.

    Example:
        ```python
        from prefect_alerts.report import build_daily_report, send_daily_report

        result = send_daily_report(build_daily_report(since, until), destinations=["email:data-team"])
        print([outcome.status for outcome in result.outcomes])
        ```
    """
    from prefect_alerts.dispatch import send_alert

    alert = report_alert(report)
    if again:  # a key of its own: neither this check nor the pipeline's dedupe holds a deliberate resend back
        sent_at = datetime.now(timezone.utc).isoformat()
        alert = alert.model_copy(update={"dedup_key": f"{alert.dedup_key}:again:{sent_at}"[:255]})
    else:
        earlier = _earlier_send(alert.dedup_key)
        if earlier is not None:
            return earlier.model_copy(update={"alert": alert})
    return send_alert(alert, routing, destinations)


def _earlier_send(dedup_key: str) -> SendResult | None:
    """This window's report as already sent from this store: suppressed outcomes saying when, or None."""
    from prefect_alerts.dispatch.models import DestinationOutcome, SendResult
    from prefect_alerts.dispatch.stage import DispatchState

    for entry in DispatchState.default().history.recent(dedup_key=dedup_key, event=REPORT_EVENT, limit=20):
        sent = [o for o in entry.outcomes if o.get("status") in ("delivered", "queued")]
        if sent:
            reason = (
                f"this window's report already went out at {entry.created_at:%Y-%m-%d %H:%M} UTC "
                "(send it anyway with again=True, or `prefect-alerts report --send --again`)"
            )
            outcomes = [
                DestinationOutcome(destination=str(o.get("destination")), status="suppressed", reason=reason)
                for o in sent
            ]
            return SendResult(alert=Alert.from_record(entry.alert), outcomes=outcomes, alert_id=entry.id)
    return None


def publish_artifacts(report: DailyReport) -> list[str]:
    """Create the report's Prefect artifacts (markdown, and the per-flow table) under stable keys; returns them.

    Inside a flow run they belong to it; outside one they still appear under their keys in the UI.
    """
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    description = f"Prefect daily report, {window_text(report)}"
    create_markdown_artifact(markdown=render_markdown(report), key=ARTIFACT_KEY, description=description)
    table = [
        {
            "flow": row.flow_name,
            "runs": row.total_runs,
            "completed": row.completed,
            "failed": row.failed,
            "timed_out": row.timed_out,
            "crashed": row.crashed,
            "cancelled": row.cancelled,
            "late": row.late,
            "success_rate": None if row.success_rate is None else round(row.success_rate, 4),
            "p50_seconds": None if row.p50_seconds is None else round(row.p50_seconds, 3),
            "p95_seconds": None if row.p95_seconds is None else round(row.p95_seconds, 3),
        }
        for row in report.flows[:500]
    ]
    create_table_artifact(table=table, key=FLOWS_ARTIFACT_KEY, description=description)
    return [ARTIFACT_KEY, FLOWS_ARTIFACT_KEY]
