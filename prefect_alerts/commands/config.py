"""``prefect-alerts config``: validate a routing file and print the resolved routes, or save it as a block.

prefect-alerts config check alerts.yaml
prefect-alerts config check                 # what the resolution order finds
prefect-alerts config push alerts.yaml      # saved as alert-routing/default, which every worker reads
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from prefect_alerts.commands.common import EXIT_USAGE

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``config`` (``check``, ``push``) to the CLI's subcommands."""
    config = commands.add_parser("config", help="routing configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser("check", help="validate a routing file and print the resolved routes")
    check.add_argument("path", nargs="?", default=None, help="the file (default: the resolution order)")
    push = config_commands.add_parser(
        "push", help="validate a routing file and save it as an alert-routing block"
    )
    push.add_argument("path", help="the routing file (.yaml, .yml or .json)")
    push.add_argument(
        "--name", default="default", help="the block name (default: default, which every worker reads)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts config check|push``; exit 2 for an invalid config or a destination problem."""
    from prefect_alerts.routing import AlertRouting, resolve_routing

    if args.config_command == "push":
        try:
            routing = AlertRouting.from_file(args.path)
            routing.save_block(args.name)
        except ValueError as exc:
            print(f"prefect-alerts: {exc}", file=sys.stderr)
            return EXIT_USAGE
        print(routing.describe())
        print(f"saved as block alert-routing/{args.name}")
        return 0
    try:
        routing = AlertRouting.from_file(args.path) if args.path else resolve_routing(None)
        problems = routing.check_destinations() if hasattr(routing, "check_destinations") else []
    except ValueError as exc:
        print(f"prefect-alerts: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(routing.describe())
    for problem in problems or []:
        print(f"problem: {problem}", file=sys.stderr)
    if problems:
        return EXIT_USAGE
    print("config OK")
    return 0
