"""``prefect-alerts flush`` and ``prefect-alerts outbox``: deliver what is due in the outbox, or list it.

prefect-alerts flush                        # retries and the deliveries of workers that died, at most 200
prefect-alerts flush --routing alerts.yaml  # dead-letter notices go where this routing says
prefect-alerts outbox --dead                # only dead letters (--pending: only entries waiting for a retry)
"""

from __future__ import annotations

import argparse
from typing import Any

from prefect_alerts.commands.common import EXIT_DELIVERED, EXIT_FAILED

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``flush`` and ``outbox`` to the CLI's subcommands."""
    flush = commands.add_parser("flush", help="deliver what is due in the outbox (retries, dead workers)")
    flush.add_argument("--limit", type=int, default=200, help="at most this many entries (default 200)")
    flush.add_argument("--routing", default=None, metavar="PATH|BLOCK", help="where dead-letter notices go")

    outbox = commands.add_parser("outbox", help="list outbox entries (pending, delivering, dead)")
    which = outbox.add_mutually_exclusive_group()
    which.add_argument("--dead", action="store_true", help="only dead letters")
    which.add_argument("--pending", action="store_true", help="only entries waiting for a retry")
    outbox.add_argument("--limit", type=int, default=50)


def _flush(args: argparse.Namespace) -> int:
    """Deliver what is due; exit 1 when any entry went dead."""
    from prefect_alerts import flush_outbox

    result = flush_outbox(limit=args.limit, routing=args.routing)
    for outcome in result.outcomes:
        print(str(outcome))
    print(str(result))
    return EXIT_FAILED if result.dead else EXIT_DELIVERED


def _outbox(args: argparse.Namespace) -> int:
    """Print the outbox's counts and its entries, newest attempts and last errors included."""
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


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts flush`` or ``prefect-alerts outbox``, whichever ``args.command`` names."""
    return _flush(args) if args.command == "flush" else _outbox(args)
