"""Was this flow run already reported? The alert history here, else the server's alert events.

"Reported" means an alert exists for the run's id, whatever its outcome (delivered, queued, suppressed,
folded, dead): a suppressed or folded alert was a decision, not a gap. Matching by dedup key would
double-alert, since the sweeper cannot know the error class a hook saw. The store may be SQLite on each
worker, so the runs this store knows nothing about are looked up in the ``prefect-alerts.alert.*`` events
every pipeline emits (they live on the server; they land a few seconds after the alert).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from prefect_alerts.channels.base import get_logger
from prefect_alerts.dispatch.events import EVENT_PREFIX
from prefect_alerts.dispatch.stage import DispatchState

__all__ = ["reported_runs", "runs_with_alert_events"]

logger = get_logger("prefect_alerts.monitoring")

EVENT_IDS_PER_QUERY = 50
"""Flow runs asked about in one events query (the related-resource filter is a list)."""
MAX_EVENT_PAGES = 40
"""Pages of 50 events read per query at most; a run with more alerts than that is reported anyway."""
EARLY_MARGIN = timedelta(minutes=10)


def reported_runs(
    flow_run_ids: Iterable[str], *, since: datetime, until: datetime, state: DispatchState
) -> set[str]:
    """The flow runs among ``flow_run_ids`` that an alert concerned, in this store or on the server.

    ``since``/``until`` bound the events read: from before the earliest run started to now.

    Raises:
        Exception: the server's events could not be read (the sweep must not guess: it tries again later).
    """
    wanted = {str(run_id) for run_id in flow_run_ids}
    local = state.history.flow_runs_with_alerts(wanted)
    return local | runs_with_alert_events(wanted - local, since=since, until=until)


def runs_with_alert_events(flow_run_ids: set[str], *, since: datetime, until: datetime) -> set[str]:
    """The flow runs among ``flow_run_ids`` that some ``prefect-alerts.alert.*`` event concerned.

    An event names its run in the payload (``flow_run_id``): its related resources also name the run that
    emitted it, which for the aggregator is not the run the alert is about.
    """
    if not flow_run_ids:
        return set()
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter, EventRelatedFilter

    found: set[str] = set()
    ids = sorted(flow_run_ids)
    with get_client(sync_client=True) as client:
        for start in range(0, len(ids), EVENT_IDS_PER_QUERY):
            chunk = ids[start : start + EVENT_IDS_PER_QUERY]
            event_filter = EventFilter(
                event=EventNameFilter(prefix=[EVENT_PREFIX]),
                related=EventRelatedFilter(id=[f"prefect.flow-run.{run_id}" for run_id in chunk]),
                occurred=EventOccurredFilter(since=since - EARLY_MARGIN, until=until),
            )
            page = client.read_events(filter=event_filter, limit=50)
            for number in range(MAX_EVENT_PAGES):
                for event in page.events:
                    run_id = (event.payload or {}).get("flow_run_id")
                    if run_id in flow_run_ids:
                        found.add(str(run_id))
                if found.issuperset(chunk) or not page.next_page or number == MAX_EVENT_PAGES - 1:
                    break
                page = client.read_events_page(str(page.next_page))
    return found
