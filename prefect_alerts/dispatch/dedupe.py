"""Step 3, dedupe and cooldown: one notification per dedup key and destination, claimed atomically.

Rules, per destination (``cooldown`` and ``repeat_interval`` come from the route, else the defaults):

- A firing alert never notified before is sent.
- A still-firing alert that got worse (warning, then critical) is sent at once: an escalation is news.
- A repeat while still firing is suppressed until ``max(cooldown, repeat_interval)`` has passed since the
  last notice ("cooldown until 14:05 UTC", then "still firing; next reminder at 18:05 UTC"); then one reminder
  goes out carrying how many repeats were suppressed. ``repeat_interval: never`` sends no reminders.
- After a resolve, a new firing within ``cooldown`` of the last firing notice is suppressed (a flapping job
  does not page every time it flips); later it is sent as a new alert.
- A resolved alert is sent only where the firing one was notified, once; a route with ``send_resolved: false``
  records the resolve without sending it.

N processes raising the same alert at once make one claim between them (``INSERT ... ON CONFLICT``).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from prefect_alerts.dispatch.stage import Dispatch, Notification
from prefect_alerts.routing.durations import format_duration  # re-exported: the steps' reasons use it
from prefect_alerts.store.notifications import LogEntry

__all__ = ["DedupeStage", "format_duration", "format_time"]


def format_time(when: datetime, now: datetime) -> str:
    """``14:05 UTC`` today, ``2026-12-07 14:05 UTC`` on another day."""
    if when.date() == now.date():
        return when.strftime("%H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M UTC")


class DedupeStage:
    """Claims each pending notification in the notification log; a lost claim is suppressed with its reason."""

    name: ClassVar[str] = "dedupe"
    batched: ClassVar[bool] = True
    """Writes only through prepared statements: shares the dispatch's store transaction."""

    def run(self, dispatch: Dispatch) -> None:
        for notification in dispatch.pending():
            if dispatch.alert.is_resolved:
                self._resolved(dispatch, notification)
            else:
                self._firing(dispatch, notification)

    def _firing(self, dispatch: Dispatch, notification: Notification) -> None:
        target, alert, now = notification.target, dispatch.alert, dispatch.now
        won, entry = dispatch.state.log.claim_firing(
            dedup_key=alert.dedup_key,
            destination=notification.destination,
            claim_id=dispatch.alert_id,
            now=now,
            severity_rank=alert.severity.rank,
            cooldown=target.cooldown,
            repeat_interval=target.repeat_interval,
            route=target.route,
            flow_name=alert.source.flow_name,
            deployment_name=alert.source.deployment_name,
        )
        if won:
            if entry.repeats_at_claim and entry.first_firing_at is not None:
                notification.alert = _reminder(alert, entry, now)
            return
        dispatch.settle(notification, "suppressed", _suppressed_reason(entry, notification, now))

    def _resolved(self, dispatch: Dispatch, notification: Notification) -> None:
        won, entry = dispatch.state.log.claim_resolved(
            dedup_key=dispatch.alert.dedup_key,
            destination=notification.destination,
            claim_id=dispatch.alert_id,
            now=dispatch.now,
        )
        if won and not notification.target.send_resolved:
            dispatch.settle(
                notification,
                "suppressed",
                f"route {notification.target.route!r} does not send resolved alerts (send_resolved: false)",
            )
        elif not won:
            if entry is None:
                reason = f"nothing was firing on {notification.destination}: no resolve to send"
            else:
                reason = f"already resolved at {format_time(entry.last_sent_at, dispatch.now)}"
            dispatch.settle(notification, "suppressed", reason)


def _suppressed_reason(entry: LogEntry, notification: Notification, now: datetime) -> str:
    target = notification.target
    repeats = f"{entry.suppressed} repeat{'s' if entry.suppressed != 1 else ''} suppressed"
    if entry.last_status == "resolved":  # a flap: firing again soon after the last firing notice
        until = (entry.last_firing_at or entry.last_sent_at) + target.cooldown
        return f"cooldown until {format_time(until, now)} (it fired {format_time(entry.last_firing_at or entry.last_sent_at, now)} and resolved since; {repeats})"
    cooldown_end = entry.last_sent_at + target.cooldown
    if now < cooldown_end or target.repeat_interval is None:
        if target.repeat_interval is None:
            return (
                f"cooldown: already notified at {format_time(entry.last_sent_at, now)}; still firing and "
                f"repeat_interval is never ({repeats})"
            )
        return f"cooldown until {format_time(cooldown_end, now)} ({format_duration(target.cooldown)} after the last notice; {repeats})"
    reminder = entry.last_sent_at + max(target.cooldown, target.repeat_interval)
    return (
        f"still firing; next reminder at {format_time(reminder, now)} "
        f"(repeat_interval {format_duration(target.repeat_interval)}; {repeats})"
    )


def _reminder(alert, entry: LogEntry, now: datetime):  # type: ignore[no-untyped-def]
    since = format_time(entry.first_firing_at, now)  # type: ignore[arg-type]
    repeats = entry.repeats_at_claim
    fields = {
        "still firing": f"{repeats} more time{'s' if repeats != 1 else ''} since {since}",
        **alert.fields,
    }
    return alert.model_copy(update={"fields": fields})
