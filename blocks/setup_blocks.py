"""Create (or update) the Prefect blocks prefect-alerts sends through, and a default routing. Run it once per
workspace. The same as ``prefect-alerts setup-blocks`` (the logic lives in ``prefect_alerts.setup``).

Every value comes from a flag, the environment or a ``.env`` file, so secrets need not appear in shell history:

    cp .env.example .env && chmod 600 .env   # fill in what you use
    python blocks/setup_blocks.py --dry-run  # what it would save
    python blocks/setup_blocks.py --check    # save, then send a test alert through each destination

Only the channels you give values for are created. Every value is checked before anything is saved: one bad
value and nothing is saved (exit status 2, naming the flag and the variable, never the value). A block whose
saved values are the same is left untouched, so running it again changes nothing. See blocks/README.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from prefect_alerts.setup import (
    SetupError,
    SetupPlan,
    build_parser,
    hide_values,
    plan_from_args,
    planned_blocks,
    save_blocks,
    suggest_test_command,
)
from prefect_alerts.setup import main as _main

__all__ = [
    "SetupError",
    "SetupPlan",
    "build_parser",
    "hide_values",
    "main",
    "plan_from_args",
    "save_plan",
    "setup_blocks",
    "suggest_test_command",
]


def save_plan(plan: SetupPlan) -> list[str]:
    """Save every channel block of a checked plan that differs from the saved one; ``slug/name`` per block.

    Example (needs a Prefect server):
        ```python
        plan = plan_from_args(build_parser().parse_args(["--name", "ops", "--pagerduty-routing-key", "R" * 32]))
        save_plan(plan)  # ['pagerduty-events-v2/ops']
        ```
    """
    return [change.label for change in save_blocks(planned_blocks(plan))]


def setup_blocks(args: argparse.Namespace) -> list[str]:
    """Check every value, then save every channel block the arguments describe; ``slug/name`` per block.

    Raises:
        SetupError: a value is bad (nothing was saved); the message names the flag, never the value.
    """
    return save_plan(plan_from_args(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the script: 0 saved or unchanged, 2 for a bad or missing value, 1 when saving or a check failed."""
    return _main(argv, prog="setup_blocks.py", command="python blocks/setup_blocks.py")


if __name__ == "__main__":
    sys.exit(main())
