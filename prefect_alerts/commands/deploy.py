"""``prefect-alerts deploy``: apply the monitoring deployments and the aggregator watchdog to $PREFECT_API_URL.

prefect-alerts deploy --work-pool default --routing alerts.yaml --every 5m
prefect-alerts deploy --watchdog slack:oncall            # the watchdog only (no --work-pool)
prefect-alerts deploy --work-pool default --backstop     # also post every Crashed or TimedOut flow run
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from prefect_alerts.commands.common import EXIT_USAGE

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``deploy`` to the CLI's subcommands."""
    deploy = commands.add_parser(
        "deploy",
        help="apply the monitoring deployments and the aggregator watchdog automation to $PREFECT_API_URL",
    )
    deploy.add_argument(
        "--routing", default=None, help="routing file or block name (default: resolution order)"
    )
    deploy.add_argument(
        "--work-pool", default=None, help="the work pool that runs the flows (without it: watchdog only)"
    )
    deploy.add_argument("--every", default="5m", help="how often the aggregator runs (default 5m)")
    deploy.add_argument("--timezone", default=None, help="the schedule's IANA time zone (default UTC)")
    deploy.add_argument(
        "--watchdog",
        default=None,
        metavar="DESTINATION",
        help="where the watchdog posts when heartbeats stop (default: the routing's fallback)",
    )
    deploy.add_argument("--no-watchdog", action="store_true", help="do not create the watchdog automation")
    deploy.add_argument(
        "--backstop",
        nargs="?",
        const="fallback",
        default=None,
        metavar="DESTINATION",
        help="also install the server-side automation that posts every Crashed or TimedOut flow run "
        "(to DESTINATION, default the routing's fallback)",
    )
    deploy.add_argument("--json", action="store_true", help="print what was applied as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts deploy``; exit 2 for a bad ``--every``, routing, block or deployment."""
    from prefect_alerts.blocks import BlockNotFoundError
    from prefect_alerts.monitoring.deploy import DeployError, deploy_monitoring
    from prefect_alerts.monitoring.watchdog import WatchdogError
    from prefect_alerts.routing import RoutingError, parse_duration

    try:
        every = parse_duration(args.every)
    except RoutingError as exc:
        print(f"prefect-alerts: --every: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = deploy_monitoring(
            args.routing,
            work_pool=args.work_pool,
            every=every,
            timezone=args.timezone,
            watchdog=not args.no_watchdog,
            watchdog_destination=args.watchdog,
            backstop=None
            if args.backstop is None
            else (True if args.backstop == "fallback" else args.backstop),
        )
    except (DeployError, WatchdogError, RoutingError, BlockNotFoundError) as exc:
        print(f"prefect-alerts deploy: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(result.model_dump_json(indent=2) if args.json else result)
    return 0
