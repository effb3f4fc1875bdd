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

Each longer subcommand lives in :mod:`prefect_alerts.commands` (``add_parser`` and ``run``); this module builds
the top-level parser from them and dispatches.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from prefect_alerts.commands import (
    config,
    demo,
    deploy,
    history,
    outbox,
    probe,
    report,
    send,
    setup_blocks,
    silence,
    status,
)
from prefect_alerts.commands.common import EXIT_DELIVERED, EXIT_FAILED, EXIT_RETRY, EXIT_USAGE

__all__ = ["EXIT_DELIVERED", "EXIT_FAILED", "EXIT_RETRY", "EXIT_USAGE", "main"]

# Each subcommand's handler; ``channels`` and ``version`` are a few lines and stay here.
_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "send": send.run,
    "flush": outbox.run,
    "outbox": outbox.run,
    "history": history.run,
    "silence": silence.run,
    "config": config.run,
    "status": status.run,
    "test": probe.run,
    "demo": demo.run,
    "deploy": deploy.run,
    "setup-blocks": setup_blocks.run,
    "report": report.run,
}


def _build_parser() -> argparse.ArgumentParser:
    """The top-level parser: each command module adds its subparsers, in the order ``--help`` lists them."""
    parser = argparse.ArgumentParser(prog="prefect-alerts", description="Alerting for Prefect pipelines.")
    commands = parser.add_subparsers(dest="command", required=True)
    for module in (send, outbox, history, silence, config, status, probe, demo, deploy, setup_blocks, report):
        module.add_parser(commands)
    commands.add_parser("channels", help="list the channel kinds and the block types each loads")
    commands.add_parser("version", help="print the version")
    return parser


def _channels() -> int:
    """Print each channel kind, its class and the block types it loads."""
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
    if args.command in _HANDLERS:
        return _HANDLERS[args.command](args)
    if args.command == "channels":
        return _channels()
    from prefect_alerts import __version__

    print(__version__)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
