"""``prefect-alerts send``: send one alert now through the dispatch pipeline, or show where it would go.

prefect-alerts send "Disk almost full" -m "93% used on /data" -s warning -c slack:ops-alerts -f used_pct=93
prefect-alerts send "Disk almost full" -s warning --routing alerts.yaml --dry-run
prefect-alerts send "Disk almost full" --resolved -c slack:ops-alerts     # the all-clear

With ``-c`` the channels are a direct route; without, the routing config decides. Exit status: 0 when every
destination has it or deliberately suppressed it, 1 when any is dead, 3 when none is dead but some are queued
for retry, 2 for bad arguments, a missing block or an invalid routing config.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from prefect_alerts.commands.common import (
    EXIT_DELIVERED,
    EXIT_FAILED,
    EXIT_RETRY,
    EXIT_USAGE,
    outcome_json,
    parse_pairs,
)

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``send`` to the CLI's subcommands."""
    send = commands.add_parser("send", help="send one alert now through the given channels")
    send.add_argument("title", help="the alert's headline")
    send.add_argument("-m", "--message", default="", help="the body: what happened and what to do")
    send.add_argument(
        "-s", "--severity", default="info", help="info, success, warning, error or critical (default: info)"
    )
    send.add_argument("-e", "--event", default="notification", help="snake_case kind, e.g. flow_failed")
    send.add_argument(
        "-c",
        "--channel",
        action="append",
        default=[],
        metavar="KIND:BLOCK",
        help="slack:NAME, email:NAME, pagerduty:NAME, discord:NAME, webhook:NAME or console (repeatable; "
        "default: console)",
    )
    send.add_argument("-f", "--field", action="append", default=[], metavar="KEY=VALUE", help="a named value")
    send.add_argument("-t", "--tag", action="append", default=[], help="a tag (repeatable)")
    send.add_argument("-l", "--link", action="append", default=[], metavar="LABEL=URL", help="a link")
    send.add_argument("--dedup-key", default="", help="override the computed dedup key")
    send.add_argument("--resolved", action="store_true", help="send the all-clear for an earlier alert")
    send.add_argument("--json", action="store_true", help="print the results as JSON")
    send.add_argument(
        "--routing",
        "--route",
        dest="routing",
        default=None,
        metavar="PATH|BLOCK",
        help="routing file (.yaml/.yml/.json) or saved alert-routing block (default: the resolution order)",
    )
    send.add_argument(
        "--dry-run", action="store_true", help="print where the alert would go and why, without sending"
    )


def _parse_value(text: str) -> Any:
    """``3`` -> 3, ``0.5`` -> 0.5, ``true`` -> True, anything else stays text."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text


def _friendly(exc: ValueError) -> str:
    """A bad argument said in the command's terms (pydantic's errors as ``field: problem``)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "value"
            if where == "severity":
                problems.append(
                    f"--severity {error.get('input')!r} is not a severity; use one of: info, success, warning, "
                    "error, critical"
                )
            else:
                problems.append(f"{where}: {error['msg']}")
        return "; ".join(problems)
    return str(exc)


def _dry_run(alert: Any, routing: Any, destinations: list[str] | None) -> int:
    """Print where ``alert`` would go and why, sending nothing."""
    from prefect_alerts.dispatch.dry_run import explain

    for line in explain(alert, routing=routing, destinations=destinations):
        print(line)
    return EXIT_DELIVERED


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts send``; exit 0 delivered or suppressed, 1 any dead, 2 bad input, 3 some queued."""
    from prefect_alerts import Alert, send_alert
    from prefect_alerts.dispatch.destinations import load_reference
    from prefect_alerts.routing import resolve_routing

    try:
        alert = Alert(
            title=args.title,
            message=args.message,
            severity=args.severity,
            event=args.event,
            status="resolved" if args.resolved else "firing",
            fields={key: _parse_value(value) for key, value in parse_pairs(args.field, "--field").items()},
            tags=args.tag,
            links=parse_pairs(args.link, "--link"),
            dedup_key=args.dedup_key,
        )
        for ref in args.channel:
            load_reference(ref)  # a typo or a missing block is a usage error, said before anything is sent
        routing = resolve_routing(args.routing) if args.routing or not args.channel else None
    except ValueError as exc:  # includes pydantic's ValidationError, BlockNotFoundError and RoutingError
        print(f"prefect-alerts: {_friendly(exc)}", file=sys.stderr)
        return EXIT_USAGE
    destinations = list(args.channel) or None
    if args.dry_run:
        return _dry_run(alert, routing, destinations)
    result = send_alert(alert, routing=routing, destinations=destinations)
    if args.json:
        print(json.dumps([outcome_json(outcome) for outcome in result.outcomes], indent=2))
    else:
        for outcome in result.outcomes:
            print(str(outcome))
    statuses = {outcome.status for outcome in result.outcomes}
    if "dead" in statuses:
        return EXIT_FAILED
    if "queued" in statuses:
        print(
            "queued deliveries are retried by `prefect-alerts flush` (the aggregator flow runs it)",
            file=sys.stderr,
        )
        return EXIT_RETRY
    return EXIT_DELIVERED
