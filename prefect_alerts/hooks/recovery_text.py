"""The all-clear of a run-health alert once its flow (or task) has completed again: one text for everyone who
resolves, the completion hook and the aggregator's recovery sweep.

Imports only the alert and the shared text helpers, so the monitoring flows can use it without pulling in
the hook machinery.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from prefect_alerts.alert import Alert, Link, Source
from prefect_alerts.channels.text import format_duration

__all__ = ["recovered_alert"]


def recovered_alert(
    alert: Alert,
    *,
    kind: str,
    run_name: str | None,
    source: Source,
    duration: timedelta | None = None,
    links: Sequence[Link] = (),
    found_by: str | None = None,
    timestamp: datetime | None = None,
) -> Alert:
    """The resolved copy of ``alert``: "Recovered: flow run 'x' completed in 4m 05s; the alert was firing
    since ...", with the dedup key unchanged (so PagerDuty resolves the incident it opened).

    Args:
        alert: The firing alert (as ``firing_alerts()`` lists it).
        kind: ``"flow"`` or ``"task"``: what completed.
        run_name: The completed run's name.
        source: The completed run (it becomes the resolved alert's source).
        duration: How long the completed run took, when known.
        links: The completed run's links (else the firing alert's are kept).
        found_by: Who noticed the recovery when it was not the run itself ("the prefect-alerts aggregator").
        timestamp: When the all-clear is sent (default: now).

    Example:
        ```python
        from prefect_alerts import Alert, Source
        from prefect_alerts.hooks.recovery_text import recovered_alert

        firing = Alert(title="Flow 'etl' failed", event="flow_failed", source=Source(flow_name="etl"))
        done = recovered_alert(firing, kind="flow", run_name="calm-otter", source=Source(flow_name="etl"))
        done.message  # "Recovered: flow run 'calm-otter' completed; the alert was firing since ... UTC."
        ```
    """
    text = f"Recovered: {kind} run '{run_name}' completed"
    if duration is not None:
        text += f" in {format_duration(duration)}"
    text += f"; the alert was firing since {alert.timestamp:%Y-%m-%d %H:%M} UTC"
    text += f"; found by {found_by}." if found_by else "."
    fields: dict[str, Any] = {"resolved by": run_name}
    if alert.source.flow_run_name and alert.source.flow_run_name != source.flow_run_name:
        fields["failed run"] = alert.source.flow_run_name
    if source.deployment_name:
        fields["deployment"] = source.deployment_name
    if duration is not None:
        fields["duration"] = duration
    changes: dict[str, Any] = {"fields": fields, "links": list(links) or alert.links, "source": source}
    if timestamp is not None:
        changes["timestamp"] = timestamp
    # The dedup key stays (model_copy does not recompute it): PagerDuty resolves that incident.
    return alert.resolved(text, **changes)
