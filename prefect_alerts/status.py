"""``prefect-alerts status``: is the alerting itself healthy? The watcher's last heartbeat, the outbox, storms.

The aggregator flow emits ``prefect-alerts.aggregator.heartbeat`` on every run. A heartbeat older than
``max_age`` (default 15 minutes: three 5-minute runs) means nothing is sweeping for crashed runs, flushing the
outbox or closing storms, which is itself an alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["HEARTBEAT_EVENT", "SystemStatus", "last_heartbeat", "system_status"]

HEARTBEAT_EVENT = "prefect-alerts.aggregator.heartbeat"
"""What the aggregator flow emits on every run."""

DEFAULT_MAX_AGE = timedelta(minutes=15)
HEARTBEAT_LOOKBACK = timedelta(days=7)


class Heartbeat(BaseModel):
    """The aggregator's last heartbeat event."""

    occurred: datetime
    payload: dict[str, Any] = Field(default_factory=dict)


class SystemStatus(BaseModel):
    """What ``prefect-alerts status`` reports."""

    now: datetime
    heartbeat: Heartbeat | None = Field(description="None: no heartbeat in the last 7 days (or no server).")
    heartbeat_error: str | None = Field(default=None, description="Why the server could not be asked.")
    max_age: timedelta
    outbox: dict[str, int] = Field(default_factory=dict, description="Entries per status.")
    open_storms: int = 0
    active_silences: int = 0

    @property
    def heartbeat_age(self) -> timedelta | None:
        return None if self.heartbeat is None else self.now - self.heartbeat.occurred

    @property
    def healthy(self) -> bool:
        """A fresh heartbeat and no dead letter."""
        age = self.heartbeat_age
        return age is not None and age <= self.max_age and not self.outbox.get("dead")

    def render(self) -> str:
        """Lines a person reads at 3 a.m.: what is wrong first, then the numbers."""
        from prefect_alerts.dispatch.dedupe import format_duration

        lines: list[str] = []
        age = self.heartbeat_age
        if self.heartbeat is None:
            why = f" ({self.heartbeat_error})" if self.heartbeat_error else ""
            lines.append(
                f"PROBLEM aggregator: no heartbeat in the last 7 days{why}. Run it every 5 minutes, e.g. "
                "prefect_alerts.monitoring.aggregator_flow.serve(name='prefect-alerts-aggregator', "
                "cron='*/5 * * * *')"
            )
        elif age is not None and age > self.max_age:
            lines.append(
                f"PROBLEM aggregator: last heartbeat {format_duration(age)} ago (at "
                f"{self.heartbeat.occurred:%Y-%m-%d %H:%M UTC}), older than {format_duration(self.max_age)}: "
                "is its deployment paused or its work pool without a worker?"
            )
        else:
            assert self.heartbeat is not None and age is not None
            lines.append(
                f"ok      aggregator: last heartbeat {format_duration(age)} ago "
                f"({self.heartbeat.occurred:%H:%M:%S UTC})"
            )
        dead = self.outbox.get("dead", 0)
        waiting = self.outbox.get("pending", 0) + self.outbox.get("delivering", 0)
        if dead:
            lines.append(
                f"PROBLEM outbox: {dead} dead letter{'s' if dead != 1 else ''}; see prefect-alerts outbox --dead"
            )
        lines.append(
            f"{'info   ' if waiting else 'ok     '} outbox: {waiting} waiting for delivery, "
            f"{self.outbox.get('delivered', 0)} delivered, {dead} dead"
        )
        lines.append(f"info    storms open: {self.open_storms}; silences active: {self.active_silences}")
        return "\n".join(lines)


def last_heartbeat(now: datetime | None = None) -> Heartbeat | None:
    """The aggregator's newest heartbeat event on the Prefect server in the last 7 days, or None.

    Raises:
        Exception: the server cannot be reached (the caller says so).
    """
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

    now = now or datetime.now(timezone.utc)
    event_filter = EventFilter(
        event=EventNameFilter(name=[HEARTBEAT_EVENT]),
        occurred=EventOccurredFilter(since=now - HEARTBEAT_LOOKBACK, until=now + timedelta(minutes=1)),
    )
    with get_client(sync_client=True) as client:
        page = client.read_events(filter=event_filter, limit=1)  # newest first (the filter's default order)
    if not page.events:
        return None
    event = page.events[0]
    return Heartbeat(occurred=event.occurred, payload=dict(event.payload or {}))


def system_status(
    now: datetime | None = None, *, max_age: timedelta = DEFAULT_MAX_AGE, state: Any = None
) -> SystemStatus:
    """The alerting system's health: the aggregator's heartbeat, the outbox, open storms, active silences.

    Example:
        ```python
        from prefect_alerts.status import system_status

        status = system_status()
        print(status.render())
        if not status.healthy:
            raise SystemExit(1)
        ```
    """
    from prefect_alerts.dispatch import DispatchState

    now = now or datetime.now(timezone.utc)
    state = state or DispatchState.default()
    heartbeat: Heartbeat | None = None
    error: str | None = None
    try:
        heartbeat = last_heartbeat(now)
    except Exception as exc:  # no server: say so, still report the local store
        error = f"the Prefect API could not be read: {type(exc).__name__}"
    return SystemStatus(
        now=now,
        heartbeat=heartbeat,
        heartbeat_error=error,
        max_age=max_age,
        outbox=state.outbox.counts(),
        open_storms=len(state.storms.open_storms()),
        active_silences=len(state.silences.active(now)),
    )
