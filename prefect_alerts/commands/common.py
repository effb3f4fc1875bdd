"""What several ``prefect-alerts`` subcommands share: the exit statuses, ``KEY=VALUE`` parsing and an outcome as
JSON. Imports nothing heavy, so the CLI still starts fast."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["EXIT_DELIVERED", "EXIT_FAILED", "EXIT_RETRY", "EXIT_USAGE", "outcome_json", "parse_pairs"]

EXIT_DELIVERED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_RETRY = 3


def parse_pairs(values: Sequence[str], what: str) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a ValueError naming ``what`` for anything else."""
    pairs: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} must look like KEY=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def outcome_json(outcome: Any) -> dict[str, Any]:
    """One destination's outcome as JSON, with ``channel`` too (the name earlier versions printed)."""
    data = outcome.model_dump(mode="json")
    data["channel"] = outcome.destination  # the name earlier versions printed
    return data
