"""What the pipeline did, newest first: ``prefect-alerts history`` and its Python form.

Every alert ``send_alert`` handled is in the store's history with where it went and how each destination ended
(delivered, queued, suppressed with the reason, folded, dead). This module filters and renders it.

Example:
    ```python
    from datetime import timedelta
    from prefect_alerts.history import recent_alerts, render_history

    print(render_history(recent_alerts(since=timedelta(days=1), flow="etl-*", severity=">=error")))
    ```
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from prefect_alerts.store.alerts import HistoryEntry

__all__ = ["OUTCOME_STATUSES", "recent_alerts", "render_history"]

OUTCOME_STATUSES = ("delivered", "queued", "suppressed", "folded", "dead")
SCAN_LIMIT = 5000  # rows read at most when filtering by outcome status (kept in JSON, not a column)


def recent_alerts(
    *,
    since: timedelta | datetime | None = None,
    flow: str | None = None,
    event: str | None = None,
    severity: str | None = None,
    status: str | None = None,
    limit: int = 20,
    state: Any = None,
    now: datetime | None = None,
) -> list[HistoryEntry]:
    """The newest alerts first.

    Args:
        since: A time, or how far back (``timedelta(days=1)``).
        flow: A glob on the flow name (``etl-*``).
        event: A glob on the event (``flow_*``, ``sla_violation``).
        severity: ``"error"`` (exactly) or ``">=warning"`` (at least).
        status: Only alerts with an outcome of this status on some destination (delivered, queued,
            suppressed, folded, dead).
        limit: At most this many.
        state: The dispatch store (default: ``PREFECT_ALERTS_DATABASE_URL``, else SQLite under ``PREFECT_HOME``).

    Raises:
        ValueError: an unknown severity or status (the message lists the valid ones).
    """
    from prefect_alerts.dispatch.stage import DispatchState
    from prefect_alerts.routing.match import severity_values

    if status is not None and status not in OUTCOME_STATUSES:
        raise ValueError(f"{status!r} is not an outcome status; use one of {', '.join(OUTCOME_STATUSES)}")
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, got {limit}")
    severities = set(severity_values(severity)) if severity is not None else None
    now = now or datetime.now(timezone.utc)
    start = now - since if isinstance(since, timedelta) else since
    history = (state or DispatchState.default()).history
    rows = history.recent(
        since=start,
        flow=flow,
        event=event,
        severities=severities,
        limit=SCAN_LIMIT if status is not None else limit,
    )
    if status is not None:
        rows = [row for row in rows if any(outcome.get("status") == status for outcome in row.outcomes)]
    return rows[:limit]


def render_history(entries: list[HistoryEntry], now: datetime | None = None) -> str:
    """Two lines an alert: when, severity, event and title; then the run and each destination's outcome."""
    from prefect_alerts.dispatch.dedupe import format_time

    if not entries:
        return "no alerts match"
    now = now or datetime.now(timezone.utc)
    lines = []
    for entry in entries:
        resolved = " (resolved)" if entry.status == "resolved" else ""
        lines.append(
            f"{format_time(entry.created_at, now):<21} {entry.severity.upper():<8} {entry.event:<20} "
            f"{_one_line(entry.title)}{resolved}"
        )
        where = []
        if entry.flow_name:
            where.append(
                f"flow {entry.flow_name}" + (f"/{entry.deployment_name}" if entry.deployment_name else "")
            )
        if entry.flow_run_id:
            where.append(f"run {entry.flow_run_id[:8]}")
        outcomes = "; ".join(_outcome(outcome) for outcome in entry.outcomes) or "no destination"
        lines.append("    " + " · ".join([*where, outcomes]))
    return "\n".join(lines)


def _outcome(outcome: dict[str, Any]) -> str:
    text = f"{outcome.get('destination')}: {outcome.get('status')}"
    reason = outcome.get("reason")
    return text + (f" ({_one_line(str(reason))[:120]})" if reason else "")


def _one_line(text: str) -> str:
    # Titles and reasons come from exception messages and data: one line each, control characters out.
    cleaned = "".join(char if char.isprintable() else " " for char in text)
    return " ".join(cleaned.split())[:160]
