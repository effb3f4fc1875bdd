"""``flush_outbox``: redeliver what is due, from any process.

Takes every outbox entry that is pending and due (its Retry-After or backoff has passed) or whose lease ran out
(the process delivering it died), one at a time under a lease so concurrent flushes never send one entry
twice, makes one attempt each, and settles it: delivered, rescheduled, or dead with a notice on the fallback.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from prefect_alerts.alert import Alert
from prefect_alerts.dispatch.attempt import run_attempts, settle_entry
from prefect_alerts.dispatch.destinations import channel_for_entry, forget_in_process
from prefect_alerts.dispatch.events import emit_outcome
from prefect_alerts.dispatch.models import DestinationOutcome
from prefect_alerts.dispatch.notices import notify_dead_destination
from prefect_alerts.dispatch.outbox import LEASE_SECONDS
from prefect_alerts.dispatch.retry import RetryPolicy
from prefect_alerts.dispatch.stage import Clock, Dispatch, DispatchState, Notification, process_token, utc_now
from prefect_alerts.store.outbox import OutboxEntry

__all__ = ["FlushResult", "flush_outbox"]


class FlushResult(BaseModel):
    """What one flush did."""

    delivered: int = 0
    queued: int = 0
    dead: int = 0
    skipped: int = Field(default=0, description="Due entries another process took first.")
    outcomes: list[DestinationOutcome] = Field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.delivered} delivered, {self.queued} queued for later, {self.dead} dead, {self.skipped} skipped"


def flush_outbox(
    *,
    now: datetime | None = None,
    limit: int = 200,
    routing: object = None,
    state: DispatchState | None = None,
) -> FlushResult:
    """Deliver every outbox entry that is due; safe to run from many processes at once.

    Args:
        now: The time to judge "due" by (tests, or to retry everything: a time far ahead).
        limit: At most this many entries in one call.
        routing: Where dead-letter notices go (its ``fallback``); default: the routing resolution order.
        state: The store (default: ``PREFECT_ALERTS_DATABASE_URL``, else SQLite under ``PREFECT_HOME``).

    Example:
        ```python
        from prefect_alerts import flush_outbox

        print(flush_outbox())  # "1 delivered, 0 queued for later, 0 dead, 0 skipped"
        ```
    """
    state = state or DispatchState.default()
    fixed_now = now
    clock: Clock = (lambda: fixed_now) if fixed_now is not None else utc_now  # type: ignore[assignment,return-value]
    result = FlushResult()
    for entry in state.outbox.due(clock(), limit=limit):
        current = clock()
        if not state.outbox.lease(
            entry.id, owner=process_token(), now=current, until=current + timedelta(seconds=LEASE_SECONDS)
        ):
            result.skipped += 1
            continue
        outcome = _deliver_entry(state, entry, clock, routing)
        result.outcomes.append(outcome)
        if outcome.status == "delivered":
            result.delivered += 1
        elif outcome.status == "queued":
            result.queued += 1
        else:
            result.dead += 1
    return result


def _deliver_entry(
    state: DispatchState, entry: OutboxEntry, clock: Clock, routing: object
) -> DestinationOutcome:
    alert = Alert.from_record(entry.alert)
    policy = RetryPolicy(max_attempts=entry.max_attempts, max_age=entry.expires_at - entry.created_at)
    mentions = entry.mentions or []
    delivery, attempts = run_attempts(
        lambda: channel_for_entry(entry.reference, entry.channel_spec, mentions, entry.id),
        alert,
        policy,
        deadline=None,
    )
    outcome = settle_entry(
        state,
        entry.id,
        delivery,
        attempts=attempts,
        prior_attempts=entry.attempts,
        created_at=entry.created_at,
        policy=policy,
        now=clock(),
    )
    if outcome.status in ("delivered", "dead"):
        forget_in_process(entry.id)
    emit_outcome(
        alert,
        entry.alert_id,
        outcome.status,
        [entry.destination],
        {entry.destination: outcome.reason},
        next_attempt_at={entry.destination: outcome.next_attempt_at},
    )
    if outcome.status == "dead":
        state.log.release(dedup_key=entry.dedup_key, destination=entry.destination, claim_id=entry.alert_id)
        _dead_notice(state, entry, alert, outcome.reason or "", clock, routing)
    return DestinationOutcome(
        destination=entry.destination,
        status=outcome.status,  # type: ignore[arg-type]
        reason=outcome.reason,
        attempts=outcome.attempts,
        route=entry.route,
        outbox_id=entry.id,
        next_attempt_at=outcome.next_attempt_at,
    )


def _dead_notice(
    state: DispatchState, entry: OutboxEntry, alert: Alert, reason: str, clock: Clock, routing: object
) -> None:
    from prefect_alerts.routing import AlertRouting, RouteTarget, resolve_routing

    try:
        resolved = resolve_routing(routing)  # type: ignore[arg-type]
    except Exception:
        resolved = AlertRouting()
    dispatch = Dispatch(alert=alert, routing=resolved, state=state, clock=clock, alert_id=entry.alert_id)
    target = RouteTarget(
        destination=entry.reference or entry.destination,
        route=entry.route or "outbox",
        cooldown=resolved.defaults.cooldown,
        repeat_interval=resolved.defaults.repeat_interval,
        send_resolved=resolved.defaults.send_resolved,
        mentions=entry.mentions or [],
    )
    notify_dead_destination(
        dispatch, Notification(target=target, destination=entry.destination, alert=alert), reason
    )
