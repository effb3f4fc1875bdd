"""The daily report as text: plain (PagerDuty, webhooks, email's text part), Slack mrkdwn, and Markdown for the
Prefect UI. Flow names and error messages come from users' code: each form escapes them its own way."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from prefect_alerts.channels.slack import escape_slack
from prefect_alerts.report.model import DailyReport, FlowRow
from prefect_alerts.text import plural

__all__ = [
    "FLOW_COLUMNS",
    "alert_lines",
    "escape_markdown",
    "flow_table_rows",
    "percent",
    "render_markdown",
    "render_slack",
    "render_text",
    "seconds_text",
    "summary_line",
    "window_text",
]

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown on one line: punctuation backslash-escaped, ``<`` and ``&`` as entities.

    >>> escape_markdown("*bold* <script>")
    '\\\\*bold\\\\* &lt;script&gt;'
    """
    text = " ".join(_CONTROL.sub(" ", text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\\>", "&gt;")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def percent(rate: float | None) -> str:
    """A success rate as people read it: ``97.5%``, ``100%``, ``n/a``.

    >>> percent(0.975), percent(1.0), percent(None), percent(0.99951)
    ('97.5%', '100%', 'n/a', '99.9%')
    """
    if rate is None:
        return "n/a"
    if rate >= 1.0:
        return "100%"
    value = int(rate * 1000) / 10  # floor: 99.95% must not read as 100%
    return f"{value:.1f}%".replace(".0%", "%")


def seconds_text(seconds: float | None) -> str:
    """A duration: ``0.4s``, ``42s``, ``3m 05s``, ``2h 10m``, ``1d 2h``; ``-`` for none.

    >>> [seconds_text(value) for value in (0.4, 42, 185, 7800, 93600, None)]
    ['0.4s', '42s', '3m 05s', '2h 10m', '1d 2h', '-']
    """
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s".replace(".0s", "s")
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _local(value: datetime, zone: str) -> datetime:
    return value.astimezone(ZoneInfo(zone))


def window_text(report: DailyReport) -> str:
    """``2026-12-06 08:00 – 2026-12-07 08:00 CET``, in the report's timezone."""
    since, until = _local(report.since, report.timezone), _local(report.until, report.timezone)
    label = until.tzname() or report.timezone
    same_day = since.date() == until.date()
    end = f"{until:%H:%M}" if same_day else f"{until:%Y-%m-%d %H:%M}"
    return f"{since:%Y-%m-%d %H:%M} – {end} {label}"


def summary_line(report: DailyReport) -> str:
    """The headline: ``1,204 runs, 97.5% succeeded; 12 failed, 3 crashed, 2 timed out; 4 late``."""
    if report.total_runs == 0:
        head = "No flow run finished in this window"
    else:
        head = f"{plural(report.total_runs, 'run')}, {percent(report.success_rate)} succeeded"
    parts = [
        f"{report.failed:,} failed" if report.failed else "",
        f"{report.crashed:,} crashed" if report.crashed else "",
        f"{report.timed_out:,} timed out" if report.timed_out else "",
        f"{report.cancelled:,} cancelled" if report.cancelled else "",
    ]
    problems = ", ".join(part for part in parts if part)
    line = f"{head}; {problems}" if problems else head
    if report.late:
        line += f"; {report.late:,} late"
    return line


def _flow_cells(row: FlowRow) -> list[str]:
    return [
        row.flow_name,
        f"{row.total_runs:,}",
        percent(row.success_rate),
        f"{row.failed:,}",
        f"{row.timed_out:,}",
        f"{row.crashed:,}",
        f"{row.late:,}",
        seconds_text(row.p50_seconds),
        seconds_text(row.p95_seconds),
    ]


FLOW_COLUMNS = ["flow", "runs", "success", "failed", "timed out", "crashed", "late", "p50", "p95"]
"""The per-flow table's columns, in every rendering."""


def flow_table_rows(report: DailyReport, limit: int = 25) -> tuple[list[list[str]], str]:
    """The per-flow table's rows (most problems first) and a note for the rows left out."""
    rows = [_flow_cells(row) for row in report.flows[:limit]]
    left = len(report.flows) - len(rows)
    return rows, (f"{plural(left, 'more flow')} not shown" if left > 0 else "")


def alert_lines(report: DailyReport) -> list[str]:
    alerts = report.alerts
    if alerts.error:
        return [alerts.error]
    if not alerts.by_outcome:
        return ["No alerts were sent."]
    severities = ", ".join(f"{count:,} {name}" for name, count in sorted(alerts.by_severity.items()))
    lines = [f"{plural(alerts.delivered, 'alert')} delivered" + (f" ({severities})" if severities else "")]
    if alerts.by_destination:
        ranked = sorted(alerts.by_destination.items(), key=lambda item: (-item[1], item[0]))
        lines.append("by destination: " + ", ".join(f"{name} {count:,}" for name, count in ranked[:8]))
    others = {key: value for key, value in alerts.by_outcome.items() if key != "delivered"}
    if others:
        lines.append("also: " + ", ".join(f"{count:,} {name}" for name, count in sorted(others.items())))
    return lines


def render_text(report: DailyReport) -> str:
    """Plain text: the headline, the slowest and worst flows, recurring errors, failed checks, alerts."""
    lines = [f"Prefect daily report, {window_text(report)}", "", summary_line(report)]
    troubled = [row for row in report.flows if row.problems][:5]
    if troubled:
        lines += ["", "Flows with problems:"]
        lines += [
            f"  {_one_line(row.flow_name, 80)}: {row.problems:,} of {row.total_runs:,} runs "
            f"({percent(row.success_rate)} succeeded)"
            for row in troubled
        ]
    if report.slowest:
        lines += ["", "Slowest flows (p95):"]
        lines += [
            f"  {_one_line(row.flow_name, 80)}: p95 {seconds_text(row.p95_seconds)}, p50 "
            f"{seconds_text(row.p50_seconds)}"
            for row in report.slowest
        ]
    if report.top_errors:
        lines += ["", "Recurring errors:"]
        lines += [f"  {error.count:,}x {_one_line(error.message, 200)}" for error in report.top_errors]
    if report.failed_checks:
        lines += ["", "Checks that failed:"]
        lines += [
            f"  {check.count:,}x {check.event} in {_one_line(check.flow_name or 'no flow', 80)}"
            for check in report.failed_checks
        ]
    lines += ["", "Alerts:", *(f"  {line}" for line in alert_lines(report))]
    lines += [f"Note: {note}" for note in report.notes]
    return "\n".join(lines)


def render_slack(report: DailyReport) -> str:
    """The compact Slack form: the headline, at most three troubled flows and the top error (mrkdwn)."""
    lines = [f"*{escape_slack(summary_line(report))}*"]
    troubled = [row for row in report.flows if row.problems][:3]
    for row in troubled:
        lines.append(
            f"• {escape_slack(_one_line(row.flow_name, 80))}: {row.problems:,} of {row.total_runs:,} runs failed"
        )
    if len([row for row in report.flows if row.problems]) > len(troubled):
        lines.append(
            f"• …and {len([row for row in report.flows if row.problems]) - len(troubled)} more flows"
        )
    if report.top_errors:
        error = report.top_errors[0]
        lines.append(f"Top error ({error.count:,}x): `{escape_slack(_one_line(error.message, 150))}`")
    if report.slowest:
        row = report.slowest[0]
        lines.append(
            f"Slowest: {escape_slack(_one_line(row.flow_name, 80))}, p95 {seconds_text(row.p95_seconds)}"
        )
    if report.failed_checks:
        lines.append(f"Checks failed: {sum(check.count for check in report.failed_checks):,}")
    lines.append(escape_slack(alert_lines(report)[0]))
    return "\n".join(lines)


def render_markdown(report: DailyReport) -> str:
    """Markdown for the Prefect UI (a markdown artifact): summary, per-flow table, errors, checks, alerts."""
    lines = [
        f"# Prefect daily report, {escape_markdown(window_text(report))}",
        "",
        f"**{escape_markdown(summary_line(report))}**",
        "",
        "| runs | completed | failed | timed out | crashed | cancelled | late | success |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {report.total_runs:,} | {report.completed:,} | {report.failed:,} | {report.timed_out:,} | "
        f"{report.crashed:,} | {report.cancelled:,} | {report.late:,} | {percent(report.success_rate)} |",
    ]
    rows, note = flow_table_rows(report)
    if rows:
        lines += ["", "## Flows", "", "| " + " | ".join(FLOW_COLUMNS) + " |"]
        lines.append("|---|" + "---:|" * (len(FLOW_COLUMNS) - 1))
        lines += ["| " + " | ".join(escape_markdown(cell) for cell in row) + " |" for row in rows]
        if note:
            lines += ["", f"_{escape_markdown(note)}_"]
    if report.top_errors:
        lines += ["", "## Recurring errors", "", "| count | error | flows |", "|---:|---|---|"]
        lines += [
            f"| {error.count:,} | {escape_markdown(_one_line(error.message, 200))} | "
            f"{escape_markdown(', '.join(error.flows))} |"
            for error in report.top_errors
        ]
    if report.failed_checks:
        lines += ["", "## Checks that failed", "", "| count | check | flow | last |", "|---:|---|---|---|"]
        lines += [
            f"| {check.count:,} | {escape_markdown(check.event)} | {escape_markdown(check.flow_name or '-')} | "
            f"{escape_markdown(_one_line(check.last_title, 150))} |"
            for check in report.failed_checks
        ]
    lines += ["", "## Alerts", "", *(f"- {escape_markdown(line)}" for line in alert_lines(report))]
    if report.notes:
        lines += ["", *(f"> {escape_markdown(note)}" for note in report.notes)]
    return "\n".join(lines) + "\n"
