"""``prefect-alerts setup-blocks``: create the blocks and a default routing from flags, the environment or .env.

prefect-alerts setup-blocks --help         # setup's own help: every flag and PREFECT_ALERTS_* variable
prefect-alerts setup-blocks --dry-run      # what would be saved, no secret shown
prefect-alerts setup-blocks --check        # and a test alert per destination

Its flags are parsed by :mod:`prefect_alerts.setup`, which keeps secrets out of argparse's errors.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``setup-blocks`` to the CLI's subcommands; every word after it is handed on unparsed."""
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


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts setup-blocks`` through :func:`prefect_alerts.setup.main`."""
    from prefect_alerts.setup import main as setup_main

    return setup_main(args.setup_argv, prog="prefect-alerts setup-blocks")
