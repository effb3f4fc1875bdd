"""Sweeper settings: how the aggregator finds runs that ended badly with no alert, and stale queued alerts.

The routing file's top-level ``sweeper:`` section; every key is optional.

Example:
    ```yaml
    sweeper:
      close_delay: 60s      # a window closes this long after its end (hooks and events have time to land)
      first_lookback: 1h    # the first sweep looks this far back
      overlap: 2m           # each window starts this long before the last one ended
      queued_stale: 10m     # a "queued" alert no later event settled for this long is re-raised
      requeue_lookback: 1d  # how far back to look for queued alerts
      page_size: 200        # runs per API page
      max_runs: 2000        # at most this many runs per sweep (the rest wait for the next)
    ```
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ConfigDict, Field, field_validator

from prefect_alerts.routing.base import ConfigModel
from prefect_alerts.routing.durations import parse_duration

__all__ = ["SweeperSettings"]


class SweeperSettings(ConfigModel):
    """How the aggregator's sweeper selects runs and re-raises alerts a dead worker left queued.

    Runs are selected by state type (FAILED, which covers TimedOut, and CRASHED) over closed ``end_time``
    windows: a window ``[start, end)`` is swept once ``close_delay`` has passed since ``end``, and the next
    window starts ``overlap`` before it ended (runs are claimed by id, so the overlap never alerts twice).

    Example:
        ```python
        from prefect_alerts.routing.sweeper import SweeperSettings

        SweeperSettings(first_lookback="6h").first_lookback  # timedelta(seconds=21600)
        ```
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=True, description="false: the aggregator does not sweep for unreported runs."
    )
    close_delay: timedelta = Field(
        default=timedelta(seconds=60),
        description="A window is swept this long after its end, so hooks and their events have landed.",
    )
    first_lookback: timedelta = Field(
        default=timedelta(hours=1), description="How far back the first sweep (no checkpoint yet) looks."
    )
    overlap: timedelta = Field(
        default=timedelta(minutes=2),
        description="Each window starts this long before the previous one ended.",
    )
    queued_stale: timedelta = Field(
        default=timedelta(minutes=10),
        description="An alert whose last event is 'queued' and that no later event settled for this long "
        "(after its announced next attempt) is re-raised.",
    )
    requeue_lookback: timedelta = Field(
        default=timedelta(days=1),
        description="How far back queued alerts are looked for (the outbox gives up after 24 h anyway).",
    )
    page_size: int = Field(default=200, ge=1, le=200, description="Runs per API page (the API allows 200).")
    max_runs: int = Field(default=2000, ge=1, description="At most this many runs per sweep.")

    @field_validator(
        "close_delay", "first_lookback", "overlap", "queued_stale", "requeue_lookback", mode="before"
    )
    @classmethod
    def _durations(cls, value: Any) -> Any:
        return value if isinstance(value, timedelta) else parse_duration(value)

    @field_validator("close_delay", "overlap")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must be 0s or longer, e.g. 60s")
        return value

    @field_validator("first_lookback", "queued_stale", "requeue_lookback")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s, e.g. 1h")
        return value
