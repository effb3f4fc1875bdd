"""``prefect-alerts status``: is alerting healthy (heartbeat, outbox, dead letters, storms, silences, routes).

prefect-alerts status
prefect-alerts status --routing alerts.yaml --max-age 30m
prefect-alerts status --json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prefect_alerts.commands.common import EXIT_FAILED, EXIT_USAGE

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``status`` to the CLI's subcommands."""
    status = commands.add_parser(
        "status",
        help="is alerting healthy: the aggregator's last heartbeat, the outbox and dead letters, storms, "
        "silences, the routes and destinations in force and where the store is",
    )
    status.add_argument(
        "--max-age", default="15m", help="a heartbeat older than this is a problem (default 15m: 3 runs)"
    )
    status.add_argument(
        "--routing",
        default=None,
        metavar="PATH|BLOCK",
        help="routing file or saved alert-routing block to report on (default: the resolution order: "
        "$PREFECT_ALERTS_CONFIG, the alert-routing/default block, the console)",
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts status``; exit 0 healthy, 1 not, 2 for a bad ``--max-age`` or ``--routing``."""
    from prefect_alerts.routing import RoutingError, parse_duration
    from prefect_alerts.status import system_status

    try:
        max_age = parse_duration(args.max_age)
    except RoutingError as exc:
        print(f"prefect-alerts: --max-age: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.routing:
        from prefect_alerts.routing import resolve_routing

        try:
            resolve_routing(args.routing)  # a typo in --routing is a usage error, as for every command
        except RoutingError as exc:
            print(f"prefect-alerts: --routing: {exc}", file=sys.stderr)
            return EXIT_USAGE
    status = system_status(max_age=max_age, routing=args.routing)
    if args.json:
        data = status.model_dump(mode="json")
        if status.routing is not None:
            data["routing"]["destinations"] = status.routing.destinations
        print(json.dumps({**data, "healthy": status.healthy}, indent=2))
    else:
        print(status.render())
    return 0 if status.healthy else EXIT_FAILED
