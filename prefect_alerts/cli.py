"""The ``prefect-alerts`` command: a thin shell over the library.

    prefect-alerts send "Disk almost full" -m "93% used on /data" -s warning -c slack:ops-alerts -f used_pct=93
    prefect-alerts send "Disk almost full" -s warning --routing alerts.yaml --dry-run
    prefect-alerts flush
    prefect-alerts outbox --dead
    prefect-alerts silence add --match flow=etl-* --duration 2h --author ana --comment "db migration"
    prefect-alerts config check alerts.yaml
    prefect-alerts config push alerts.yaml      # saved as alert-routing/default, which every worker reads
    prefect-alerts test --route pages            # a labelled test alert through route 'pages' (or --destination)
    prefect-alerts status --routing alerts.yaml
    prefect-alerts demo                          # the end-to-end demo, no credentials needed
    prefect-alerts channels
    prefect-alerts version

``send`` goes through the dispatch pipeline (routing, silences, cooldown, outbox). With ``-c`` the channels are
a direct route; without, the routing config decides (``--routing``, else ``PREFECT_ALERTS_CONFIG``, else the
saved ``alert-routing/default`` block, else the console). Exit status of ``send``: 0 when every destination
has it or deliberately suppressed it, 1 when any is dead, 3 when none is dead but some are queued for retry
(``prefect-alerts flush`` delivers them), 2 for bad arguments, a missing block or an invalid routing config.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

EXIT_DELIVERED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_RETRY = 3


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


def _pairs(values: Sequence[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} must look like KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prefect-alerts", description="Alerting for Prefect pipelines.")
    commands = parser.add_subparsers(dest="command", required=True)

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

    flush = commands.add_parser("flush", help="deliver what is due in the outbox (retries, dead workers)")
    flush.add_argument("--limit", type=int, default=200, help="at most this many entries (default 200)")
    flush.add_argument("--routing", default=None, metavar="PATH|BLOCK", help="where dead-letter notices go")

    outbox = commands.add_parser("outbox", help="list outbox entries (pending, delivering, dead)")
    which = outbox.add_mutually_exclusive_group()
    which.add_argument("--dead", action="store_true", help="only dead letters")
    which.add_argument("--pending", action="store_true", help="only entries waiting for a retry")
    outbox.add_argument("--limit", type=int, default=50)

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
    _add_test_parser(commands)
    _add_demo_parser(commands)
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

    # setup-blocks parses its own flags (prefect_alerts.setup), which keeps secrets out of argparse's errors;
    # prefix_chars that no flag uses hands every word after the command to it unparsed.
    setup_blocks = commands.add_parser(
        "setup-blocks",
        help="create the blocks and a default routing from flags, the environment or .env "
        "(--dry-run, --check; see setup-blocks --help)",
        add_help=False,
        prefix_chars="\0",
    )
    setup_blocks.add_argument("setup_argv", nargs=argparse.REMAINDER)
    from prefect_alerts.commands import report

    report.add_parser(commands)
    commands.add_parser("channels", help="list the channel kinds and the block types each loads")
    commands.add_parser("version", help="print the version")
    return parser


def _add_test_parser(commands: Any) -> None:
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


def _add_demo_parser(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the end-to-end demo: an embedded Prefect server (or $PREFECT_API_URL), local Slack, "
        "PagerDuty, email, Discord and webhook stand-ins, a sample ML pipeline that fails, times out, drifts "
        "and breaches an SLA, then recovers; no credentials needed, under 2 minutes",
    )
    demo.add_argument(
        "--output",
        default="demo-output",
        metavar="DIR",
        help="where to write what each stand-in received (default: ./demo-output)",
    )


def _outcome_json(outcome: Any) -> dict[str, Any]:
    data = outcome.model_dump(mode="json")
    data["channel"] = outcome.destination  # the name earlier versions printed
    return data


def _send(args: argparse.Namespace) -> int:
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
            fields={key: _parse_value(value) for key, value in _pairs(args.field, "--field").items()},
            tags=args.tag,
            links=_pairs(args.link, "--link"),
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
        print(json.dumps([_outcome_json(outcome) for outcome in result.outcomes], indent=2))
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


def _friendly(exc: ValueError) -> str:
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
    from prefect_alerts.dispatch.dry_run import explain

    for line in explain(alert, routing=routing, destinations=destinations):
        print(line)
    return EXIT_DELIVERED


def _flush(args: argparse.Namespace) -> int:
    from prefect_alerts import flush_outbox

    result = flush_outbox(limit=args.limit, routing=args.routing)
    for outcome in result.outcomes:
        print(str(outcome))
    print(str(result))
    return EXIT_FAILED if result.dead else EXIT_DELIVERED


def _outbox(args: argparse.Namespace) -> int:
    from prefect_alerts.dispatch import DispatchState

    status = "dead" if args.dead else "pending" if args.pending else None
    outbox = DispatchState.default().outbox
    entries = outbox.entries(status=status, limit=args.limit)
    counts = outbox.counts()
    print(", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or "the outbox is empty")
    for entry in entries:
        when = entry.next_attempt_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        title = str(entry.alert.get("title", ""))[:60]
        line = f"{entry.id[:12]}  {entry.status:<10} {entry.destination:<28} attempts={entry.attempts:<3} "
        line += f"next={when}  {title!r}"
        if entry.last_error:
            line += f"\n    last error: {entry.last_error[:300]}"
        print(line)
    return 0


def _silence(args: argparse.Namespace) -> int:
    from prefect_alerts.silences import add_silence, expire_silence, list_silences

    try:
        if args.silence_command == "add":
            matchers: dict[str, Any] = {}
            for key, value in _pairs(args.match, "--match").items():
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


def _config(args: argparse.Namespace) -> int:
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


def _status(args: argparse.Namespace) -> int:
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


def _deploy(args: argparse.Namespace) -> int:
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


def _test(args: argparse.Namespace) -> int:
    from prefect_alerts.probe import ProbeError, send_test_alert

    try:
        result = send_test_alert(route=args.route, destination=args.destination, routing=args.routing)
    except (ProbeError, ValueError) as exc:  # ValueError: RoutingError, BlockNotFoundError
        print(f"prefect-alerts test: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        outcomes = [
            {**_outcome_json(outcome), "followup": result.followups.get(outcome.destination)}
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


def _demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from prefect_alerts.demo import launch

    return launch(Path(args.output))


def _history(args: argparse.Namespace) -> int:
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


def _setup_blocks(args: argparse.Namespace) -> int:
    from prefect_alerts.setup import main as setup_main

    return setup_main(args.setup_argv, prog="prefect-alerts setup-blocks")


def _channels() -> int:
    from prefect_alerts.channels.registry import CHANNEL_KINDS

    slugs = {
        "slack": "slack-webhook (Prefect) or slack-incoming-webhook (prefect-slack)",
        "email": "alert-email-destination (+ email-server-credentials from prefect-email)",
        "pagerduty": "pagerduty-events-v2",
        "discord": "discord-webhook (Prefect)",
        "webhook": "alert-webhook",
        "console": "(no block)",
    }
    for kind, cls in CHANNEL_KINDS.items():
        print(f"{kind:<10} {cls.__name__:<17} {slugs.get(kind, '')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``prefect-alerts`` console script."""
    # Prefect flushes the alert events at exit and says so at WARNING ("Still processing items: 1 items
    # remaining..."): routine for a command that just sent an alert, so only its errors are shown.
    logging.getLogger("EventsWorker").setLevel(logging.ERROR)
    args = _build_parser().parse_args(argv)
    if args.command == "send":
        return _send(args)
    handlers = {
        "flush": _flush,
        "outbox": _outbox,
        "silence": _silence,
        "config": _config,
        "status": _status,
        "deploy": _deploy,
        "history": _history,
        "setup-blocks": _setup_blocks,
        "test": _test,
        "demo": _demo,
    }
    if args.command in handlers:
        return handlers[args.command](args)
    if args.command == "report":
        from prefect_alerts.commands import report

        return report.run(args)
    if args.command == "channels":
        return _channels()
    from prefect_alerts import __version__

    print(__version__)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
