"""The daily report flow: every morning, the last day's runs as an email with a chart, a Slack summary and
Prefect artifacts.

It builds :func:`prefect_alerts.report.build_daily_report` for the window that ends at ``now`` (default the
last 24 hours), publishes the markdown and table artifacts (stable keys), and sends the report as an alert with
event ``daily_report`` (severity info) through the routing: a route matching that event picks where it goes.
Running it twice for the same window sends it once (one dedup key per window, within the route's cooldown).
When the Prefect API stays unreachable it alerts ``daily_report_failed`` and the run ends Failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prefect import flow

from prefect_alerts.alert import Alert, Severity, Source
from prefect_alerts.channels.base import run_logger
from prefect_alerts.routing import AlertRouting, parse_duration

__all__ = ["FAILED_EVENT", "FLOW_NAME", "daily_report_flow"]

FLOW_NAME = "prefect-alerts-daily-report"
FAILED_EVENT = "daily_report_failed"


@flow(name=FLOW_NAME, log_prints=False, validate_parameters=True)
def daily_report_flow(
    routing: str | AlertRouting | None = None,
    now: datetime | None = None,
    window: str = "1d",
    timezone_name: str = "UTC",
    destinations: list[str] | None = None,
) -> dict[str, object]:
    """Build the report for ``[now - window, now)``, publish its artifacts and send it.

    Args:
        routing: A routing file path or a saved ``alert-routing`` block name (an ``AlertRouting`` from Python);
            None: ``$PREFECT_ALERTS_CONFIG``, else the ``alert-routing/default`` block, else the console only.
        now: The end of the window (tests and backfills); default: now.
        window: How far back: ``1d`` (default), ``12h``, ``7d``.
        timezone_name: The IANA zone the report shows times in (``Europe/Berlin``); the deployment's cron has
            its own timezone.
        destinations: Send here instead of the routing's choice (``["email:data-team"]``).

    Returns:
        The report's headline numbers and each destination's outcome.

    Example:
        ```python
        from prefect_alerts.monitoring import daily_report_flow

        daily_report_flow.serve(name="prefect-alerts-daily-report", cron="0 8 * * *")
        ```
    """
    from prefect_alerts.dispatch import send_alert
    from prefect_alerts.report import ReportError, build_daily_report, publish_artifacts, send_daily_report
    from prefect_alerts.routing import resolve_routing

    logger = run_logger("prefect_alerts.monitoring")
    until = now or datetime.now(timezone.utc)
    if until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    span: timedelta = parse_duration(window)
    resolved = resolve_routing(routing)  # type: ignore[arg-type]
    try:
        report = build_daily_report(until - span, until, timezone_name=timezone_name)
    except ReportError as exc:
        send_alert(
            Alert(
                title="The daily report could not be built",
                message=f"{exc}\nThe report for this window is not sent; the next run tries again.",
                severity=Severity.ERROR,
                event=FAILED_EVENT,
                source=Source(flow_name=FLOW_NAME),
            ),
            resolved,
        )
        raise
    logger.info("%s", report.render_text().splitlines()[2])
    try:
        publish_artifacts(report)
    except Exception as exc:  # the message matters more than the UI copy
        logger.warning("could not create the report's artifacts: %s", exc)
    result = send_daily_report(report, resolved, destinations)
    for outcome in result.outcomes:
        logger.info("daily report -> %s: %s%s", outcome.destination, outcome.status,
                    f" ({outcome.reason})" if outcome.reason else "")  # fmt: skip
    return {
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "total_runs": report.total_runs,
        "success_rate": report.success_rate,
        "outcomes": [outcome.model_dump(mode="json") for outcome in result.outcomes],
    }
