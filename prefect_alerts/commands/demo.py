"""``prefect-alerts demo``: the end-to-end demo, no credentials needed, under 2 minutes.

prefect-alerts demo                        # what each stand-in received goes to ./demo-output
prefect-alerts demo --output /tmp/demo
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Add ``demo`` to the CLI's subcommands."""
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


def run(args: argparse.Namespace) -> int:
    """Run ``prefect-alerts demo``; its exit status is the demo's."""
    from pathlib import Path

    from prefect_alerts.demo import launch

    return launch(Path(args.output))
