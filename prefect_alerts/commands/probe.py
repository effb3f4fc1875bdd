"""``prefect-alerts test``: a clearly labelled test alert through one route's destinations or one destination.

prefect-alerts test --route pages                 # every destination of route 'pages' (or 'default')
prefect-alerts test --destination slack:oncall
prefect-alerts test --route pages --routing alerts.yaml --json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prefect_alerts.commands.common import EXIT_DELIVERED, EXIT_FAILED, EXIT_RETRY, EXIT_USAGE, outcome_json

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``test`` to the CLI's subcommands."""
    test = commands.add_parser(
        "test",
        help="send a clearly labelled test alert through one route's destinations or one destination",
        description="Send 'prefect-alerts test: route NAME' (or 'destination DEST') through the real pipeline: "
        "a fresh dedup key each time (never held back by the cooldown), no storm folding, no route actions, "
        "no mentions; a PagerDuty test incident is resolved straight away. A silence that matches it is "
        "reported. Exit status: 0 every destination has it, 3 some only queued, 1 any dead or held back by "
        "a silence (nothing was tested there), 2 usage (an unknown route names the known ones).",
    )
    which = test.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--route", metavar="NAME", help="a route's name from the routing config (or 'default')"
    )
    which.add_argument(
        "--destination", metavar="KIND:BLOCK", help="one destination, e.g. slack:oncall, pagerduty:oncall"
    )
    test.add_argument(
        "--routing",
        default=None,
        metavar="PATH|BLOCK",
        help="routing file or saved alert-routing block (default: the resolution order)",
    )
    test.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts test``; exit 0 delivered, 3 some queued, 1 dead or silenced, 2 usage."""
    from prefect_alerts.probe import ProbeError, send_test_alert

    try:
        result = send_test_alert(route=args.route, destination=args.destination, routing=args.routing)
    except (ProbeError, ValueError) as exc:  # ValueError: RoutingError, BlockNotFoundError
        print(f"prefect-alerts test: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        outcomes = [
            {**outcome_json(outcome), "followup": result.followups.get(outcome.destination)}
            for outcome in result.outcomes
        ]
        print(
            json.dumps({"target": result.target, "title": result.alert.title, "outcomes": outcomes}, indent=2)
        )
    else:
        print(f"sent {result.alert.title!r}")
        for line in result.lines():
            print(line)
    statuses = {outcome.status for outcome in result.outcomes}
    if statuses & {"dead", "suppressed", "folded"}:
        return EXIT_FAILED
    if "queued" in statuses:
        return EXIT_RETRY
    return EXIT_DELIVERED
