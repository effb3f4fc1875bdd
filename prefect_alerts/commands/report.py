"""``prefect-alerts report``: print the daily report for a window, write it as HTML, or send it.

prefect-alerts report --since 1d                      # the last day, as text
prefect-alerts report --since 7d --html report.html   # a page to open in a browser (chart embedded)
prefect-alerts report --send -c email:data-team       # send it now (the routing's choice without -c)
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_RETRY = 0, 1, 2, 3


def add_parser(commands: Any) -> None:
    """Add ``report`` to the CLI's subcommands."""
    report = commands.add_parser(
        "report",
        help="the daily report for a window: print it, write it as HTML, or send it",
        description="Build the report from the Prefect server at PREFECT_API_URL: runs by final state, per flow "
        "(p50/p95 durations, late runs), recurring errors, failed checks and alerts sent.",
    )
    report.add_argument("--since", default="1d", help="how far back from --until, e.g. 12h, 7d (default 1d)")
    report.add_argument(
        "--until", default=None, help="the end of the window, ISO 8601 (default now), e.g. 2026-12-07T08:00Z"
    )
    report.add_argument("--timezone", default="UTC", help="the IANA zone times are shown in (default UTC)")
    report.add_argument("--html", metavar="FILE", default=None, help="write the report as one HTML page")
    report.add_argument("--chart", metavar="FILE", default=None, help="write the chart as a PNG")
    report.add_argument("--markdown", action="store_true", help="print Markdown instead of text")
    report.add_argument("--json", action="store_true", help="print the numbers as JSON")
    report.add_argument("--send", action="store_true", help="send it as a daily_report alert")
    report.add_argument("--routing", default=None, help="routing file or block name (with --send)")
    report.add_argument(
        "--again", action="store_true", help="with --send: send even if this window's report already went out"
    )
    report.add_argument(
        "-c", "--channel", action="append", default=[], help="send here instead of the routing's choice"
    )


def _until(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts report``; exit 0 when built (and sent), 1 when not, 2 on bad input, 3 if queued."""
    from prefect_alerts.report import ReportError, build_daily_report, send_daily_report
    from prefect_alerts.routing import RoutingError, parse_duration, resolve_routing

    try:
        until = _until(args.until)
        span = parse_duration(args.since)
        routing = resolve_routing(args.routing) if args.send and (args.routing or not args.channel) else None
    except (RoutingError, ValueError) as exc:
        print(f"prefect-alerts report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if sys.stderr.isatty():
        print(f"reading the runs of the last {args.since} from the Prefect API ...", file=sys.stderr)
    try:
        report = build_daily_report(until - span, until, timezone_name=args.timezone)
    except ReportError as exc:
        print(f"prefect-alerts report: {exc}", file=sys.stderr)
        return EXIT_USAGE if "timezone" in str(exc) or "window" in str(exc) else EXIT_FAILED
    if args.json:
        print(report.model_dump_json(indent=2))
    elif args.markdown:
        print(report.render_markdown(), end="")
    else:
        print(report.render_text())
    if args.html:
        Path(args.html).write_text(report.render_html(), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    if args.chart:
        Path(args.chart).write_bytes(report.chart_png())
        print(f"wrote {args.chart}", file=sys.stderr)
    if not args.send:
        return EXIT_OK
    result = send_daily_report(report, routing, list(args.channel) or None, again=args.again)
    for outcome in result.outcomes:
        print(str(outcome), file=sys.stderr if args.json else sys.stdout)
    statuses = {outcome.status for outcome in result.outcomes}
    if not result.outcomes or "dead" in statuses:
        return EXIT_FAILED
    return EXIT_RETRY if statuses == {"queued"} else EXIT_OK
