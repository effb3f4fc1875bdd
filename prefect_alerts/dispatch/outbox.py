"""Step 4, outbox: write each claimed notification down *before* the first attempt.

The entry is leased to this process while it tries; if the process dies mid-delivery the lease runs out and
any later ``flush_outbox()`` takes the entry over. Delivered is recorded only after the channel said so, so a
crash between the service's acceptance and our record means one redelivery (with the same PagerDuty
``dedup_key``: no second incident), never a loss.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, ClassVar

from prefect_alerts.dispatch.destinations import describe_destination, remember_in_process
from prefect_alerts.dispatch.stage import Dispatch, process_token

__all__ = ["LEASE_SECONDS", "OutboxStage"]

LEASE_SECONDS = 120.0
"""How long a delivering process holds an entry beyond its budget; longer than any one attempt (connect 5 s +
read 10 s), short enough that a dead worker's entries are retried at the next flush."""


class OutboxStage:
    """Writes one outbox entry per pending notification, leased to this process."""

    name: ClassVar[str] = "outbox"
    batched: ClassVar[bool] = True
    """Writes only through prepared statements: shares the dispatch's store transaction."""

    def run(self, dispatch: Dispatch) -> None:
        policy = dispatch.routing.defaults
        now = dispatch.now
        records: dict[
            int, dict[str, Any]
        ] = {}  # one JSON form per alert, however many destinations it goes to
        for notification in dispatch.pending():
            entry_id = uuid.uuid4().hex
            record = records.get(id(notification.alert))
            if record is None:
                record = records[id(notification.alert)] = notification.alert.to_record()
            destination = notification.target.destination
            spec = describe_destination(destination)
            if spec.reference is None and spec.channel_spec is None:
                remember_in_process(entry_id, destination)  # type: ignore[arg-type]
            dispatch.state.outbox.add(
                entry_id=entry_id,
                alert_id=dispatch.alert_id,
                dedup_key=notification.alert.dedup_key,
                destination=notification.destination,
                reference=spec.reference,
                channel_spec=spec.channel_spec,
                mentions=list(notification.target.mentions) or None,
                route=notification.target.route,
                alert=record,
                max_attempts=policy.max_attempts,
                expires_at=now + policy.max_age,
                now=now,
                lease_owner=process_token(),
                lease_until=now + timedelta(seconds=dispatch.budget + LEASE_SECONDS),
            )
            notification.outbox_id = entry_id
