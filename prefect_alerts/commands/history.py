"""``prefect-alerts history``: recent alerts and how each destination ended, newest first.

prefect-alerts history --since 7d --flow 'etl-*'
prefect-alerts history --severity '>=warning' --status dead
prefect-alerts history --limit 100 --json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prefect_alerts.commands.common import EXIT_USAGE

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``history`` to the CLI's subcommands."""
    history = commands.add_parser(
        "history", help="recent alerts and how each destination ended, newest first"
    )
    history.add_argument("--since", default="1d", help="how far back, e.g. 2h, 7d (default 1d)")
    history.add_argument("--flow", default=None, help="a glob on the flow name, e.g. 'etl-*'")
    history.add_argument("--event", default=None, help="a glob on the event, e.g. 'flow_*'")
    history.add_argument("--severity", default=None, help="'error' (exactly) or '>=warning' (at least)")
    history.add_argument(
        "--status",
        default=None,
        help="only alerts with this outcome: delivered, queued, suppressed, folded, dead",
    )
    history.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    history.add_argument("--json", action="store_true", help="print the entries as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts history``; exit 2 for a bad ``--since`` or filter."""
    from prefect_alerts.history import recent_alerts, render_history
    from prefect_alerts.routing import RoutingError, parse_duration

    try:
        since = parse_duration(args.since)
        entries = recent_alerts(
            since=since,
            flow=args.flow,
            event=args.event,
            severity=args.severity,
            status=args.status,
            limit=args.limit,
        )
    except (RoutingError, ValueError) as exc:
        print(f"prefect-alerts history: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps([entry.model_dump(mode="json", exclude={"alert"}) for entry in entries], indent=2))
    else:
        print(render_history(entries))
    return 0
