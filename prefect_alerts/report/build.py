"""``build_daily_report(since, until)``: read a window's runs and alert events and add them up."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prefect_alerts.report.alerts import read_alert_totals
from prefect_alerts.report.model import DailyReport
from prefect_alerts.report.runs import PAGE_SIZE, RunReader
from prefect_alerts.report.tally import MAX_DISTINCT_ERRORS, RunTally

__all__ = ["DEFAULT_LATE_AFTER", "ReportError", "build_daily_report", "report_zone"]

DEFAULT_LATE_AFTER = timedelta(seconds=15)
"""A run that starts more than this after its scheduled time is late: Prefect's own Late marking
(``PREFECT_API_SERVICES_LATE_RUNS_AFTER_SECONDS``), so the report agrees with the UI."""


class ReportError(RuntimeError):
    """The report could not be built (the Prefect API stayed unreachable, or a bad window or timezone)."""


def report_zone(name: str | None) -> ZoneInfo:
    """The IANA timezone ``name`` (default UTC), or a :class:`ReportError` naming it and the fix.

    >>> report_zone("Europe/Berlin").key
    'Europe/Berlin'
    """
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportError(
            f"unknown timezone {name!r}: give an IANA name such as 'UTC', 'Europe/Berlin' or 'America/New_York'"
        ) from exc


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _ui_url() -> str | None:
    try:
        from prefect.settings import PREFECT_UI_URL

        url = PREFECT_UI_URL.value()
    except Exception:
        return None
    return (
        f"{url.rstrip('/')}/runs"
        if isinstance(url, str) and url.startswith(("http://", "https://"))
        else None
    )


def build_daily_report(
    since: datetime,
    until: datetime,
    *,
    timezone_name: str | None = None,
    late_after: timedelta = DEFAULT_LATE_AFTER,
    client: Any = None,
    page_size: int = PAGE_SIZE,
    sleep: Callable[[float], None] = time.sleep,
) -> DailyReport:
    """What happened on the Prefect server between ``since`` and ``until`` (half-open; naive times are UTC).

        Reads every run that ended in the window (paged, 200 a page, in a stable order; memory stays flat), the
        runs expected to start in it (for lateness), and the ``prefect-alerts.alert.*`` events (alerts sent,
        checks that failed). API calls are retried 1, 2 and 4 s while the server is briefly unavailable.

        Args:
            since: Start of the window.
            until: End of the window (excluded).
            timezone_name: The IANA zone the renderings show times in (the numbers do not depend on it).
            late_after: How long after its scheduled time a run may start before it counts as late.
            client: A sync Prefect client to read with (default: a new one on ``PREFECT_API_URL``).
            page_size: Runs per request (the API allows at most 200).
            sleep: Waits between retries (tests inject one).

        Raises:
            ReportError: the window is empty or reversed, the timezone unknown, or the API unreachable.

        Example:
            ```python
            import time
    from collections.abc import Callable
    from datetime import datetime, timedelta, timezone
            from prefect_alerts.report import build_daily_report

            until = datetime.now(timezone.utc)
            report = build_daily_report(until - timedelta(days=1), until, timezone_name="Europe/Berlin")
            print(report.total_runs, report.success_rate)
            ```
    """
    since, until = _utc(since), _utc(until)
    if until <= since:
        raise ReportError(
            f"the window is empty: until ({until:%Y-%m-%d %H:%M}) is not after since ({since:%Y-%m-%d %H:%M})"
        )
    zone = report_zone(timezone_name)
    if client is None:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            # Without it Prefect would start an empty temporary server, and the report would say "no runs".
            raise ReportError(
                "PREFECT_API_URL is not set: the report reads a running Prefect server. "
                "`export PREFECT_API_URL=http://127.0.0.1:4200/api` (or your server's), then run it again"
            )

        with get_client(sync_client=True) as new_client:
            return build_daily_report(
                since,
                until,
                timezone_name=zone.key,
                late_after=late_after,
                client=new_client,
                page_size=page_size,
            )
    reader = RunReader(client, page_size=page_size, sleep=sleep)
    tally = RunTally(since, until, late_after=late_after)
    try:
        for run in reader.ended_between(since, until):
            tally.add_ended(run)
        for run in reader.expected_between_not_ended(since, until):
            tally.add_lateness(run)
        names = reader.flow_names(tally.flow_ids)
    except Exception as exc:
        raise ReportError(
            f"the Prefect API could not be read ({type(exc).__name__}: {exc}); is PREFECT_API_URL right and "
            "the server up?"
        ) from exc
    alerts, checks = read_alert_totals(client, since, until)
    totals = tally.totals
    finished = sum(totals.values())
    notes = []
    if tally.unfinished_ended:
        notes.append(
            f"{tally.unfinished_ended} run(s) with an end time but no final state (a retry under way) are not counted"
        )
    if tally.other_errors:
        notes.append(
            f"{tally.other_errors} failure(s) had errors beyond the {MAX_DISTINCT_ERRORS} kinds tracked"
        )
    if alerts.error:
        notes.append(alerts.error)
    elif not alerts.complete:
        notes.append("more alert events than were read: alert numbers are at least these")
    return DailyReport(
        since=since,
        until=until,
        generated_at=datetime.now(timezone.utc),
        timezone=zone.key,
        total_runs=finished,
        late=tally.late,
        late_after=late_after,
        success_rate=totals.get("completed", 0) / finished if finished else None,
        flows=tally.flow_rows(names),
        buckets=tally.buckets(),
        bucket="hour" if tally.bucket_size == timedelta(hours=1) else "day",
        top_errors=tally.errors(names),
        failed_checks=checks,
        alerts=alerts,
        ui_url=_ui_url(),
        notes=notes,
        **totals,
    )
