"""Questions other parts ask of the dispatch state: what is still firing, what the outbox holds."""

from __future__ import annotations

from prefect_alerts.alert import Alert
from prefect_alerts.dispatch.stage import DispatchState

__all__ = ["failed_incident_keys", "firing_alerts"]


def firing_alerts(
    flow_name: str | None = None,
    deployment_name: str | None = None,
    *,
    state: DispatchState | None = None,
) -> list[Alert]:
    """The latest firing alert per dedup key that was claimed somewhere and not resolved since, for one
    flow and/or deployment (all when both are None), oldest first. ``alert.resolved()`` of each is its
    all-clear. An alert folded into its run's incident or a storm is listed too: its resolve closes its key
    without a message (the pipeline suppresses it with the reason), so a later failure is news again.

    Example:
        ```python
        from prefect_alerts import send_alert
        from prefect_alerts.dispatch import firing_alerts

        for alert in firing_alerts(flow_name="nightly-etl"):
            send_alert(alert.resolved("Recovered: the 03:00 run completed"))
        ```
    """
    state = state or DispatchState.default()
    entries = [
        entry
        for entry in state.log.firing(flow_name=flow_name, deployment_name=deployment_name)
        if not entry.dedup_key.startswith("destination-dead:")
    ]
    # The alert a claim notified is the one its send wrote to the outbox (the claim id is that send's id).
    claims = {entry.claim_id for entry in entries}
    records = state.outbox.alerts_by_send(claims)
    # A folded send wrote no outbox entry, but its history row (same id) has the alert: without it a
    # recovery would leave the folded key firing, and the next failure would be suppressed as a repeat.
    records.update(state.history.alerts_by_id(claims - records.keys()))
    seen: dict[str, Alert] = {}
    for entry in entries:
        record = records.get(entry.claim_id)
        if record is not None:
            seen[entry.dedup_key] = Alert.from_record(record)
    return list(seen.values())


def failed_incident_keys(
    flow_name: str | None = None,
    deployment_name: str | None = None,
    *,
    state: DispatchState | None = None,
) -> set[str]:
    """Dedup keys of the incidents of this flow/deployment whose run failed (their first alert may be a failed
    check): the run-health keys a recovery resolves besides the run-health alerts themselves.

    Example:
        ```python
        from prefect_alerts.dispatch.state_queries import failed_incident_keys

        failed_incident_keys(flow_name="price-scrape")  # {"5d436cac..."}: the failed check that opened it
        ```
    """
    state = state or DispatchState.default()
    return state.incidents.failed_run_keys(flow_name=flow_name, deployment_name=deployment_name)
