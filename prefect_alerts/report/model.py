"""The daily report's numbers: :class:`DailyReport` and its rows, plain pydantic models (JSON in, JSON out).

Renderings live in :mod:`prefect_alerts.report.render` (text, Slack, Markdown), :mod:`.html` and :mod:`.chart`;
the methods here only call them, so the model can be built, stored and compared without them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["AlertTotals", "CheckRow", "DailyReport", "ErrorRow", "FlowRow", "TimeBucket"]

FINAL_STATES = ("completed", "failed", "timed_out", "crashed", "cancelled")
"""The final states a run is counted under, in the order the report shows them."""


class FlowRow(BaseModel):
    """One flow's runs in the window."""

    flow_name: str
    total_runs: int = 0
    completed: int = 0
    failed: int = Field(default=0, description="FAILED state type other than TimedOut.")
    timed_out: int = 0
    crashed: int = 0
    cancelled: int = 0
    late: int = 0
    success_rate: float | None = Field(default=None, description="completed / finished runs, 0-1.")
    p50_seconds: float | None = Field(default=None, description="Median duration of runs that started.")
    p95_seconds: float | None = None
    max_seconds: float | None = None

    @property
    def problems(self) -> int:
        return self.failed + self.timed_out + self.crashed


class TimeBucket(BaseModel):
    """Runs that ended in one bucket of the window (an hour for windows up to two days, else a day)."""

    start: datetime
    completed: int = 0
    failed: int = 0
    timed_out: int = 0
    crashed: int = 0
    cancelled: int = 0
    mean_seconds: float | None = Field(default=None, description="Mean duration of the runs that started.")
    max_seconds: float | None = None


class ErrorRow(BaseModel):
    """A recurring error: failed, timed-out or crashed runs whose state messages read the same once numbers,
    ids and quoted values are set aside."""

    message: str = Field(description="The first such message, cut to 300 characters.")
    count: int
    flows: list[str] = Field(default_factory=list, description="Up to three flows it came from.")
    last_seen: datetime


class CheckRow(BaseModel):
    """A check task that failed (its alert event: data_quality_failed, drift_detected, ...)."""

    event: str
    flow_name: str | None
    count: int = Field(
        description="Alerts it raised in the window (repeats the cooldown held back included)."
    )
    last_title: str
    last_seen: datetime


class AlertTotals(BaseModel):
    """The alerts prefect-alerts handled in the window, from the server's ``prefect-alerts.alert.*`` events."""

    delivered: int = Field(default=0, description="Alerts delivered to at least one destination.")
    by_severity: dict[str, int] = Field(default_factory=dict, description="Delivered alerts per severity.")
    by_destination: dict[str, int] = Field(default_factory=dict, description="Deliveries per destination.")
    by_outcome: dict[str, int] = Field(
        default_factory=dict, description="Destination outcomes: delivered, queued, suppressed, folded, dead."
    )
    complete: bool = Field(default=True, description="False when more events existed than were read.")
    error: str | None = Field(default=None, description="Why the events could not be read.")


class DailyReport(BaseModel):
    """What happened on the Prefect server in ``[since, until)``.

    A run is in the window by its ``end_time``; a late run by its expected start. ``success_rate`` is
    completed / finished runs as a fraction 0-1 (None when no run finished).

    Example:
        ```python
        from datetime import datetime, timedelta, timezone
        from prefect_alerts.report import build_daily_report

        until = datetime.now(timezone.utc)
        report = build_daily_report(until - timedelta(days=1), until)
        print(report.render_markdown())
        ```
    """

    since: datetime
    until: datetime
    generated_at: datetime
    timezone: str = Field(default="UTC", description="The zone the renderings show times in.")
    total_runs: int = Field(default=0, description="Runs that ended in the window, in a final state.")
    completed: int = 0
    failed: int = Field(default=0, description="FAILED state type other than TimedOut.")
    timed_out: int = 0
    crashed: int = 0
    cancelled: int = 0
    late: int = Field(default=0, description="Runs expected to start in the window that started late.")
    late_after: timedelta = Field(default=timedelta(seconds=15), description="What late means.")
    success_rate: float | None = None
    flows: list[FlowRow] = Field(default_factory=list, description="One row per flow, most problems first.")
    buckets: list[TimeBucket] = Field(default_factory=list)
    bucket: Literal["hour", "day"] = "hour"
    top_errors: list[ErrorRow] = Field(default_factory=list)
    failed_checks: list[CheckRow] = Field(default_factory=list)
    alerts: AlertTotals = Field(default_factory=AlertTotals)
    ui_url: str | None = Field(default=None, description="The Prefect UI's flow runs page, when known.")
    notes: list[str] = Field(default_factory=list, description="What the numbers leave out, and why.")

    @property
    def finished(self) -> int:
        return self.total_runs

    @property
    def problems(self) -> int:
        """Failed, timed-out and crashed runs."""
        return self.failed + self.timed_out + self.crashed

    @property
    def slowest(self) -> list[FlowRow]:
        """Up to five flows by p95 duration, slowest first."""
        timed = [row for row in self.flows if row.p95_seconds is not None]
        return sorted(timed, key=lambda row: (-(row.p95_seconds or 0.0), row.flow_name))[:5]

    def render_text(self) -> str:
        """A plain-text summary: what PagerDuty, webhooks and email's text part show."""
        from prefect_alerts.report.render import render_text

        return render_text(self)

    def render_slack(self) -> str:
        """The compact Slack form (mrkdwn, untrusted text escaped)."""
        from prefect_alerts.report.render import render_slack

        return render_slack(self)

    def render_markdown(self) -> str:
        """Markdown for the Prefect UI's artifact (untrusted text escaped)."""
        from prefect_alerts.report.render import render_markdown

        return render_markdown(self)

    def render_html(self, chart_src: str | None = None) -> str:
        """A complete HTML page. ``chart_src`` is the chart's ``src`` (``cid:...`` in an email); by default the
        chart is embedded as a ``data:`` URI, so the file opens anywhere."""
        from prefect_alerts.report.html import render_html

        return render_html(self, chart_src=chart_src)

    def chart_png(self) -> bytes:
        """Runs per hour (or day) by final state, and the duration trend, as a PNG (matplotlib, Agg)."""
        from prefect_alerts.report.chart import chart_png

        return chart_png(self)
