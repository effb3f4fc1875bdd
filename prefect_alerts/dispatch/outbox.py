"""Step 4, outbox: write each claimed notification down *before* the first attempt.

The entry is leased to this process while it tries; if the process dies mid-delivery the lease runs out and
any later ``flush_outbox()`` takes the entry over. Delivered is recorded only after the channel said so, so a
crash between the service's acceptance and our record means one redelivery (with the same PagerDuty
``dedup_key``: no second incident), never a loss.
"""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from prefect_alerts.alert import Alert
from prefect_alerts.dispatch.destinations import describe_destination, remember_in_process
from prefect_alerts.dispatch.stage import Dispatch, Notification, new_id, process_token
from prefect_alerts.store.outbox import NewDelivery

__all__ = ["LEASE_SECONDS", "OutboxStage"]

LEASE_SECONDS = 120.0
"""How long a delivering process holds an entry beyond its budget; longer than any one attempt (connect 5 s +
read 10 s), short enough that a dead worker's entries are retried at the next flush."""


class OutboxStage:
    """Writes one outbox entry per pending notification, leased to this process.

    The entries of one alert go in one write, with the alert's JSON made once: most sends reach one or two
    destinations with the same alert (a reminder carries its own copy, so it is written on its own).
    """

    name: ClassVar[str] = "outbox"
    batched: ClassVar[bool] = True
    """Writes only through prepared statements: shares the dispatch's store transaction."""

    def run(self, dispatch: Dispatch) -> None:
        pending = dispatch.pending()
        if not pending:
            return
        policy = dispatch.routing.defaults
        now = dispatch.now
        groups: dict[int, tuple[Alert, list[Notification]]] = {}
        for notification in pending:
            groups.setdefault(id(notification.alert), (notification.alert, []))[1].append(notification)
        for alert, notifications in groups.values():
            deliveries = [self._delivery(notification) for notification in notifications]
            dispatch.state.outbox.add_many(
                deliveries,
                alert_id=dispatch.alert_id,
                dedup_key=alert.dedup_key,
                alert=dispatch.record(alert),
                max_attempts=policy.max_attempts,
                expires_at=now + policy.max_age,
                now=now,
                lease_owner=process_token(),
                lease_until=now + timedelta(seconds=dispatch.budget + LEASE_SECONDS),
            )
            for notification, delivery in zip(notifications, deliveries, strict=True):
                notification.outbox_id = delivery.entry_id

    @staticmethod
    def _delivery(notification: Notification) -> NewDelivery:
        entry_id = new_id()
        destination = notification.target.destination
        spec = describe_destination(destination)
        if spec.reference is None and spec.channel_spec is None:
            remember_in_process(entry_id, destination)  # type: ignore[arg-type]
        return NewDelivery(
            entry_id=entry_id,
            destination=notification.destination,
            reference=spec.reference,
            channel_spec=spec.channel_spec,
            mentions=list(notification.target.mentions) or None,
            route=notification.target.route,
        )
