"""The daily report: what happened on the Prefect server in a window, as numbers and as a message.

- :func:`build_daily_report` reads the window's runs (paged, flat memory) and alert events into a
  :class:`DailyReport`: total, completed, failed, timed out, crashed, cancelled and late runs, the success
  rate, per-flow rows with p50/p95 durations, recurring errors, failed checks, alerts by severity and channel.
- ``report.render_html()``, ``render_slack()``, ``render_markdown()``, ``render_text()`` and ``chart_png()``.
- :func:`send_daily_report` sends it as an alert with event ``daily_report`` (severity info) through the
  routing; :func:`publish_artifacts` puts it in the Prefect UI under stable keys.

The deployable flow is :func:`prefect_alerts.monitoring.daily_report_flow`.

Example:
    ```python
    from datetime import datetime, timedelta, timezone
    from prefect_alerts.report import build_daily_report, send_daily_report

    until = datetime.now(timezone.utc)
    report = build_daily_report(until - timedelta(days=1), until)
    send_daily_report(report, destinations=["email:data-team", "slack:ops-alerts"])
    ```
"""

from __future__ import annotations

from prefect_alerts.report.build import DEFAULT_LATE_AFTER, ReportError, build_daily_report, report_zone
from prefect_alerts.report.model import AlertTotals, CheckRow, DailyReport, ErrorRow, FlowRow, TimeBucket
from prefect_alerts.report.send import (
    ARTIFACT_KEY,
    FLOWS_ARTIFACT_KEY,
    REPORT_EVENT,
    publish_artifacts,
    report_alert,
    send_daily_report,
)

__all__ = [
    "ARTIFACT_KEY",
    "DEFAULT_LATE_AFTER",
    "FLOWS_ARTIFACT_KEY",
    "REPORT_EVENT",
    "AlertTotals",
    "CheckRow",
    "DailyReport",
    "ErrorRow",
    "FlowRow",
    "ReportError",
    "TimeBucket",
    "build_daily_report",
    "publish_artifacts",
    "report_alert",
    "report_zone",
    "send_daily_report",
]
