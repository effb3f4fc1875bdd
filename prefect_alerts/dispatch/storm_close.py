"""Closing storms: the "storm over" summary the aggregator sends once a storm has gone quiet.

A storm is over when its group had no alert for one ``window``, or when the group has since started a new
window. Its closing summary ("Storm over: 47 alerts in 6 flows, 3 still firing") is the storm's summary
alert resolved, sent to the destinations its summaries went to: PagerDuty resolves the storm's incident
(same dedup key), Slack and email get the final counts. Closing is claimed in the store, so two aggregators
close a storm once.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from prefect_alerts.channels.base import get_logger, redact
from prefect_alerts.dispatch.stage import Dispatch, DispatchState, Notification
from prefect_alerts.dispatch.storm_summary import short_id, storm_summary
from prefect_alerts.routing.storm import StormSettings
from prefect_alerts.store.storms import StormMember, StormRecord

if TYPE_CHECKING:
    from prefect_alerts.dispatch.models import SendResult
    from prefect_alerts.routing import AlertRouting, RouteTarget

__all__ = ["close_storms"]

logger = get_logger("prefect_alerts.dispatch.storms")


def close_storms(
    routing: AlertRouting | str | None = None,
    now: datetime | None = None,
    *,
    state: DispatchState | None = None,
) -> list[SendResult]:
    """Send the closing summary of every storm that is over; one :class:`SendResult` per storm closed.

    Args:
        routing: For the fallback destination (a storm whose summaries went only to in-process channel
            objects closes there) and the delivery limits; default: the routing resolution order.
        now: The time to judge "over" by (tests, backfills); default: now.
        state: The store (default: ``PREFECT_ALERTS_DATABASE_URL``, else SQLite under ``PREFECT_HOME``).

    Example:
        ```python
        from prefect_alerts.dispatch.storm_close import close_storms

        for result in close_storms():
            print(result)  # 'Storm over: 47 alerts in 6 flows, 3 still firing' [warning, resolved] ...
        ```
    """
    from prefect_alerts.routing import resolve_routing

    state = state or DispatchState.default()
    now = now or datetime.now(timezone.utc)
    resolved_routing = resolve_routing(routing)  # type: ignore[arg-type]
    results: list[SendResult] = []
    for storm in state.storms.open_storms():
        last_seen, current = state.storms.last_seen(storm.group_key)
        still_going = current == storm.id and last_seen is not None and last_seen > now - storm.window
        if still_going or not state.storms.close(storm.id, now):
            continue
        try:
            results.append(_send_closing(storm, resolved_routing, state, now))
        except Exception as exc:  # the closing summary could not even be queued: try again next run
            state.storms.reopen(storm.id)
            logger.error("storm %s: the closing summary failed: %s", short_id(storm.id), redact(str(exc)))
    return results


def _storm_members(state: DispatchState, storm: StormRecord) -> list[StormMember]:
    members = state.storms.members(storm.group_key, storm.since)
    # The group may have started a new window after this storm: keep what came up to its last folded alert.
    last = max((i for i, m in enumerate(members) if m.storm_id == storm.id), default=len(members) - 1)
    return members[: last + 1]


def _send_closing(
    storm: StormRecord, routing: AlertRouting, state: DispatchState, now: datetime
) -> SendResult:
    from prefect_alerts.dispatch.pipeline import Pipeline, follow_up_stages

    members = _storm_members(state, storm)
    keys = sorted({member.dedup_key for member in members})
    still_firing = len(state.log.firing_keys(keys))
    end = members[-1].created_at if members else now
    summary = storm_summary(
        storm_id=storm.id,
        route=storm.route,
        labels=storm.labels,
        members=members,
        count=len(members),
        since=storm.since,
        now=end,
        settings=StormSettings(window=storm.window),
        closing=True,
        still_firing=still_firing,
    ).model_copy(update={"timestamp": now})
    dispatch = Dispatch(alert=summary, routing=routing, state=state, clock=lambda: now)
    dispatch.notifications = [
        Notification(target=target, destination=key, alert=summary)
        for target, key in _targets(storm, routing)
    ]
    return Pipeline(follow_up_stages()).run(dispatch)


def _targets(storm: StormRecord, routing: AlertRouting) -> list[tuple[RouteTarget, str]]:
    from prefect_alerts.routing import RouteTarget

    def target(destination: object, route: str, mentions: list[str]) -> RouteTarget:
        return RouteTarget(
            destination=destination,
            route=route,
            cooldown=timedelta(0),
            repeat_interval=None,
            send_resolved=True,
            mentions=mentions,
        )

    targets = [
        (
            target(
                item["reference"], str(item.get("route") or storm.route), list(item.get("mentions") or [])
            ),
            str(item["destination"]),
        )
        for item in storm.destinations
        if item.get("reference")
    ]
    if targets:
        return targets
    # Only channel objects, which live in the process that built them: close on the fallback instead.
    fallback = routing.fallback if routing.fallback is not None else "console"
    from prefect_alerts.routing.destinations import reference_key

    return [(target(fallback, storm.route, []), reference_key(fallback))]
