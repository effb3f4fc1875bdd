"""``prune_outbox`` and ``prune_history``: delete settled outbox entries and old alert history once they are past
their keep time.

Every send writes its alert (and, for a channel object, its settings, webhook URLs included) to the outbox;
delivered and dead entries would otherwise stay for ever. The aggregator calls this once a run, after the
flush: delivered entries go after ``defaults.keep_delivered`` (7 days), dead letters after
``defaults.keep_dead`` (30 days). What a later step still needs stays: the entry a firing alert's resolve is
built from, and the newest entry of each destination. Alert history goes after ``defaults.keep_history`` (30
days), except the history of a dedup key still firing; so does what resolved alerts left (``prune_resolved``:
notification-log rows, incidents, storm members and closed storms, closed SLA violations).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from prefect_alerts.dispatch.stage import DispatchState
from prefect_alerts.store.sla import SlaStore

if TYPE_CHECKING:
    from prefect_alerts.routing import AlertRouting

__all__ = ["prune_history", "prune_outbox", "prune_resolved"]


def prune_outbox(
    routing: AlertRouting | str | None = None,
    *,
    now: datetime | None = None,
    state: DispatchState | None = None,
) -> int:
    """Delete delivered and dead outbox entries older than the routing's keep times; the number deleted.

    Args:
        routing: Whose ``defaults.keep_delivered`` / ``defaults.keep_dead`` apply (``never`` keeps that
            status); default: the routing resolution order.
        now: The time ages are judged by (default: now, UTC).
        state: The store (default: ``PREFECT_ALERTS_DATABASE_URL``, else SQLite under ``PREFECT_HOME``).

    Example:
        ```python
        from prefect_alerts.dispatch import prune_outbox

        print(prune_outbox())  # 1250: delivered entries older than 7 days, dead ones older than 30
        ```
    """
    from prefect_alerts.routing import resolve_routing

    defaults = resolve_routing(routing).defaults  # type: ignore[arg-type]
    now = now or datetime.now(timezone.utc)
    state = state or DispatchState.default()
    return state.outbox.prune(
        delivered_before=None if defaults.keep_delivered is None else now - defaults.keep_delivered,
        dead_before=None if defaults.keep_dead is None else now - defaults.keep_dead,
    )


def prune_history(
    routing: AlertRouting | str | None = None,
    *,
    now: datetime | None = None,
    state: DispatchState | None = None,
) -> int:
    """Delete alert history older than the routing's ``defaults.keep_history`` (``never`` keeps it); the number
    deleted. The history of a dedup key still firing stays whatever its age.

    Example:
        ```python
        from prefect_alerts.dispatch import prune_history

        print(prune_history())  # 830: alerts handled more than 30 days ago
        ```
    """
    from prefect_alerts.routing import resolve_routing

    keep = resolve_routing(routing).defaults.keep_history  # type: ignore[arg-type]
    if keep is None:
        return 0
    state = state or DispatchState.default()
    return state.history.prune((now or datetime.now(timezone.utc)) - keep)


def prune_resolved(
    routing: AlertRouting | str | None = None,
    *,
    now: datetime | None = None,
    state: DispatchState | None = None,
) -> int:
    """Delete what settled alerts left behind past ``defaults.keep_history`` (``never`` keeps it): notification
    log rows whose last notice was a resolve, incidents whose key no longer fires, storm members and closed
    storms, and resolved SLA violations; the number of rows deleted.

    What is still firing stays whatever its age: its log row (the resolve must go out once), its incident (the
    run's recovery resolves it) and its storm members (its resolve asks whether it was folded); so do the
    members of a storm still open. A resolved row serves only the flap check, which looks back one cooldown:
    none goes while the longest cooldown could still read it.

    Example:
        ```python
        from prefect_alerts.dispatch import prune_resolved

        print(prune_resolved())  # 412: resolved keys and closed incidents older than 30 days
        ```
    """
    from prefect_alerts.routing import resolve_routing

    resolved = resolve_routing(routing)  # type: ignore[arg-type]
    keep = resolved.defaults.keep_history
    if keep is None:
        return 0
    state = state or DispatchState.default()
    now = now or datetime.now(timezone.utc)
    # A resolved row is the flap check's memory: never forget one within the longest cooldown.
    log_keep = max(keep, _longest_cooldown(resolved))
    before = now - keep
    deleted = state.log.prune_resolved(now - log_keep) + state.incidents.prune(before)
    return deleted + state.storms.prune(before) + SlaStore(state.engine).prune(before)


def _longest_cooldown(routing: AlertRouting) -> timedelta:
    routes = [*routing.routes, *(route for team in routing.teams for route in team.team_routes)]
    return max(
        [routing.defaults.cooldown, *(route.cooldown for route in routes if route.cooldown is not None)]
    )
