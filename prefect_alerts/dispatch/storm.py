"""Step 4, storm: when more than N alerts of one group fire within a window, fold the rest into a summary.

Alertmanager-style grouping at send time. The group is the route (or the route and the ``group_by`` values);
each firing alert that passed silence and dedupe counts once per group in the shared store
(:class:`~prefect_alerts.store.storms.StormStore`), so many workers fold into one storm:

- the first ``threshold`` alerts of a window go out one by one;
- the next one opens the storm: it is folded, and one ``alert_storm`` summary goes to the route's
  destinations instead (counts, flows, first errors, run links);
- every further alert while the storm lasts is folded ("folded into storm 1a2b3c4d"), and at most every
  ``group_interval`` one of them sends the updated summary;
- the storm is over after one ``window`` with no alert; the aggregator sends the closing summary
  (:func:`~prefect_alerts.dispatch.storm_close.close_storms`).

Resolved alerts are never folded; the resolve of an alert whose firing was folded is suppressed (only the
summary announced it, and the closing summary reports what is still firing). Summaries are never folded.
"""

from __future__ import annotations

from typing import ClassVar

from prefect_alerts.dispatch.dedupe import format_duration, format_time
from prefect_alerts.dispatch.followups import FollowUp, add_follow_up
from prefect_alerts.dispatch.stage import Dispatch, Notification
from prefect_alerts.dispatch.storm_summary import STORM_EVENT, member_of, short_id, storm_summary
from prefect_alerts.routing.storm import StormSettings, storm_group
from prefect_alerts.store.storms import StormRecord

__all__ = ["StormStage"]


class StormStage:
    """Counts each pending firing notification's group; folds those in a storm and queues its summary."""

    name: ClassVar[str] = "storm"
    batched: ClassVar[bool] = True
    """Writes only through prepared statements: shares the dispatch's store transaction."""

    def run(self, dispatch: Dispatch) -> None:
        alert = dispatch.alert
        if alert.event == STORM_EVENT:
            return
        pending = [n for n in dispatch.pending() if n.target.storm.enabled]
        if not pending:
            return
        if alert.is_resolved:
            self._resolved(dispatch, pending)
            return
        by_route: dict[str, list[Notification]] = {}
        for notification in pending:
            by_route.setdefault(notification.target.route, []).append(notification)
        groups: dict[str, tuple[dict[str, str], StormSettings, list[Notification]]] = {}
        for route, notifications in by_route.items():
            keys = [notification.destination for notification in notifications]
            for notification in notifications:
                settings = notification.target.storm
                key, labels = storm_group(alert, route, settings, keys)
                groups.setdefault(key, (labels, settings, []))[2].append(notification)
        for key, (labels, settings, notifications) in groups.items():
            self._count(dispatch, key, labels, settings, notifications)

    def _count(
        self,
        dispatch: Dispatch,
        key: str,
        labels: dict[str, str],
        settings: StormSettings,
        notifications: list[Notification],
    ) -> None:
        storms, alert, now = dispatch.state.storms, dispatch.alert, dispatch.now
        route = notifications[0].target.route
        tick = storms.tick(
            group_key=key,
            route=route,
            labels=labels,
            alert_id=dispatch.alert_id,
            now=now,
            threshold=settings.threshold,
            window=settings.window,
            group_interval=settings.group_interval,
        )
        storms.add_member(key, member_of(alert, dispatch.alert_id, tick.storm_id, now))
        if tick.storm_id is None:
            return
        if tick.new_storm:
            storms.open_storm(
                StormRecord(
                    id=tick.storm_id,
                    group_key=key,
                    route=route,
                    labels=labels,
                    since=tick.window_started_at,
                    started_at=now,
                    destinations=[_destination_record(n) for n in notifications],
                    window=settings.window,
                )
            )
        if tick.summary_due:
            members = storms.members(key, tick.window_started_at)
            summary = storm_summary(
                storm_id=tick.storm_id,
                route=route,
                labels=labels,
                members=members,
                count=tick.count,
                since=tick.window_started_at,
                now=now,
                settings=settings,
            )
            add_follow_up(dispatch, FollowUp(summary, [(n.target, n.destination) for n in notifications]))
            then = "this alert sent the updated summary" if not tick.new_storm else "this alert opened it"
        else:
            then = f"the summary is updated at most every {format_duration(settings.group_interval)}"
        reason = (
            f"folded into storm {short_id(tick.storm_id)}: {tick.count} alerts on route {route!r} since "
            f"{format_time(tick.window_started_at, now)} ({then})"
        )
        for notification in notifications:
            dispatch.settle(notification, "folded", reason)

    def _resolved(self, dispatch: Dispatch, pending: list[Notification]) -> None:
        member = dispatch.state.storms.last_member(dispatch.alert.dedup_key)
        if member is None or member.storm_id is None:
            return
        reason = (
            f"its firing alert was folded into storm {short_id(member.storm_id)} and never sent on its own; "
            "the storm's closing summary reports what is still firing"
        )
        for notification in pending:
            dispatch.settle(notification, "suppressed", reason)


def _destination_record(notification: Notification) -> dict[str, object]:
    destination = notification.target.destination
    return {
        "destination": notification.destination,
        "reference": destination if isinstance(destination, str) else None,
        "route": notification.target.route,
        "mentions": list(notification.target.mentions),
    }
