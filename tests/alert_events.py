"""Reading the ``prefect-alerts.alert.*`` events back from the test server, which stores them a few seconds
after they are emitted."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["poll_alert_events"]


def poll_alert_events(
    *,
    flow_run_id: str | None = None,
    alert_id: str | None = None,
    until: Callable[[list[Any]], bool] = bool,
    timeout: float = 30.0,
) -> list[Any]:
    """The alert events related to ``flow_run_id`` or about ``alert_id``, oldest first, polled until
    ``until(events)`` holds; fails the test after ``timeout`` seconds naming what it saw.

    Example:
        ```python
        events = poll_alert_events(flow_run_id=run_id, until=lambda events: len(events) >= 2)
        ```
    """
    from prefect.client.orchestration import get_client
    from prefect.events.filters import (
        EventFilter,
        EventNameFilter,
        EventOrder,
        EventRelatedFilter,
        EventResourceFilter,
    )

    assert (flow_run_id is None) != (alert_id is None), "give exactly one of flow_run_id, alert_id"
    about = (
        {"related": EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"])}
        if flow_run_id
        else {"resource": EventResourceFilter(id=[f"prefect-alerts.alert.{alert_id}"])}
    )
    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            events = client.read_events(
                filter=EventFilter(
                    event=EventNameFilter(prefix=["prefect-alerts.alert."]), order=EventOrder.ASC, **about
                ),
                limit=50,
            ).events
        if until(events):
            return events
        names = [event.event for event in events]
        assert time.monotonic() < deadline, (
            f"alert events for {flow_run_id or alert_id} after {timeout}s: {names}"
        )
        time.sleep(0.5)
