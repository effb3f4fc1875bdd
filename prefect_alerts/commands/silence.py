"""``prefect-alerts silence``: add, list or expire silences (muting matching firing alerts for a while).

prefect-alerts silence add --match flow=etl-* --duration 2h --author ana --comment "db migration"
prefect-alerts silence list --all          # ended ones too
prefect-alerts silence expire s-42
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from prefect_alerts.commands.common import EXIT_USAGE, parse_pairs

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``silence`` (``add``, ``list``, ``expire``) to the CLI's subcommands."""
    silence = commands.add_parser("silence", help="add, list or expire silences")
    silence_commands = silence.add_subparsers(dest="silence_command", required=True)
    add = silence_commands.add_parser("add", help="mute matching firing alerts for a while")
    add.add_argument(
        "--match",
        action="append",
        default=[],
        required=True,
        metavar="KEY=VALUE",
        help="event, severity, flow, deployment or tag; globs; repeat for more (all must match)",
    )
    add.add_argument("--duration", required=True, help="90s, 30m, 2h, 1d or seconds")
    add.add_argument("--author", required=True, help="who is muting")
    add.add_argument("--comment", required=True, help="why")
    listing = silence_commands.add_parser("list", help="list silences (active ones unless --all)")
    listing.add_argument("--all", action="store_true")
    expire = silence_commands.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id", help="e.g. s-42")


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts silence add|list|expire``; exit 2 on a bad matcher, duration or id."""
    from prefect_alerts.silences import add_silence, expire_silence, list_silences

    try:
        if args.silence_command == "add":
            matchers: dict[str, Any] = {}
            for key, value in parse_pairs(args.match, "--match").items():
                matchers[key] = value
            silence = add_silence(matchers, args.duration, args.author, args.comment)
            print(f"added {silence.id}: {silence.reason()}")
        elif args.silence_command == "expire":
            silence = expire_silence(args.silence_id)
            print(f"expired {silence.id}")
        else:
            silences = list_silences(active_only=not args.all)
            if not silences:
                print("no active silences" if not args.all else "no silences")
            for item in silences:
                state = "active" if item.is_active() else "ended"
                matchers = ", ".join(f"{key}={value}" for key, value in item.matchers.items())
                print(
                    f"{item.id:<6} {state:<7} until {item.ends_at:%Y-%m-%d %H:%M} UTC  {matchers}  ({item.author}: {item.comment})"
                )
    except ValueError as exc:
        print(f"prefect-alerts: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0
