"""Where an alert would go and why, without sending it or touching any state (``send --dry-run``)."""

from __future__ import annotations

from collections.abc import Sequence

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel
from prefect_alerts.dispatch.dedupe import format_duration, format_time
from prefect_alerts.dispatch.destinations import destination_key
from prefect_alerts.dispatch.pipeline import _routing_for
from prefect_alerts.dispatch.stage import DispatchState, utc_now

__all__ = ["explain"]


def explain(
    alert: Alert,
    *,
    routing: object = None,
    destinations: Sequence[str | Channel] | None = None,
    state: DispatchState | None = None,
) -> list[str]:
    """Lines describing the route decision, the silences and the cooldown state for ``alert``.

    Example:
        ```python
        from prefect_alerts import Alert
        from prefect_alerts.dispatch.dry_run import explain

        print("\\n".join(explain(Alert(title="x", severity="error"), destinations=["console"])))
        ```
    """
    from prefect_alerts.silences import Silence

    resolved = _routing_for(routing, destinations)
    state = state or DispatchState.default()
    now = utc_now()
    lines = [
        f"alert {alert.title!r}: event {alert.event}, severity {alert.severity.value}, key {alert.dedup_key}"
    ]
    silences = [Silence.from_row(row) for row in state.silences.active(now)]
    muting = next((s for s in silences if s.matches(alert)), None)
    if muting is not None and not alert.is_resolved:
        lines.append(f"  would be suppressed everywhere: {muting.reason()}")
    targets = resolved.targets(alert)
    if not targets:
        lines.append("  no route matched and there is no default: nothing would be sent")
    for target in targets:
        key = destination_key(target.destination)
        repeat = "never" if target.repeat_interval is None else format_duration(target.repeat_interval)
        line = (
            f"  -> {key} (route {target.route!r}; cooldown {format_duration(target.cooldown)}, "
            f"repeat {repeat}, send_resolved {str(target.send_resolved).lower()}"
        )
        if target.mentions:
            line += ", mentions " + " ".join(target.mentions)
        line += ")"
        entry = state.log.get(alert.dedup_key, key)
        if entry is not None:
            line += f"; last notified {entry.last_status} at {format_time(entry.last_sent_at, now)}"
        lines.append(line)
    if resolved.fallback is not None:
        lines.append(f"  fallback for dead letters: {destination_key(resolved.fallback)}")
    lines.append("dry run: nothing was sent")
    return lines
