"""One leased delivery: load the channel, try (retrying while time allows), and settle the outbox entry.

Shared by the deliver step (inside ``send_alert``, bounded by its budget) and ``flush_outbox`` (one attempt
per due entry). The outcome is ``delivered``, ``queued`` (rescheduled by Retry-After or backoff) or ``dead``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel, DeliveryResult, redact
from prefect_alerts.dispatch.retry import RetryPolicy
from prefect_alerts.dispatch.stage import DispatchState, process_token

__all__ = ["AttemptOutcome", "run_attempts", "settle_entry"]


@dataclass
class AttemptOutcome:
    """How one lease ended."""

    status: str  # "delivered", "queued" or "dead"
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None = None
    result: DeliveryResult | None = None


def _send_once(channel: Channel, alert: Alert) -> DeliveryResult:
    try:
        return channel.send(alert)
    except Exception as exc:  # a broken custom channel is a failed attempt, not a crash of the pipeline
        return DeliveryResult(
            status="failed",
            channel=getattr(channel, "name", type(channel).__name__),
            detail=redact(f"channel raised {type(exc).__name__}: {exc}"),
            dedup_key=alert.dedup_key,
        )


def run_attempts(
    load_channel: Callable[[], Channel | None],
    alert: Alert,
    policy: RetryPolicy,
    *,
    deadline: float | None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[DeliveryResult, int]:
    """Try until delivered, failed for good, or the next wait would pass ``deadline`` (monotonic; None: once).

    Returns the last result and the number of attempts made. A channel that cannot be loaded is a result too:
    a missing block fails for good (its message says how to create it); anything else (the Prefect server
    unreachable) is retryable.
    """
    from prefect_alerts.blocks import BlockNotFoundError

    try:
        channel = load_channel()
    except BlockNotFoundError as exc:
        return DeliveryResult(status="failed", channel="?", detail=str(exc), dedup_key=alert.dedup_key), 0
    except Exception as exc:
        detail = redact(f"could not load the channel: {type(exc).__name__}: {exc}")
        return DeliveryResult(status="retry", channel="?", detail=detail, dedup_key=alert.dedup_key), 0
    if channel is None:
        detail = (
            "a custom channel object that cannot describe itself is delivered only by the process that created "
            "it, and that process is gone; give the channel a describe() (see docs/channels.md) or use a block "
            "reference"
        )
        return DeliveryResult(status="failed", channel="?", detail=detail, dedup_key=alert.dedup_key), 0
    attempts = 0
    while True:
        result = _send_once(channel, alert)
        attempts += 1
        if result.status != "retry" or deadline is None:
            return result, attempts
        wait = policy.in_call_delay(attempts, result.retry_after)
        if time.monotonic() + wait >= deadline or attempts >= policy.max_attempts:
            return result, attempts
        sleep(wait)


def settle_entry(
    state: DispatchState | None,
    entry_id: str | None,
    result: DeliveryResult,
    *,
    attempts: int,
    prior_attempts: int,
    created_at: datetime,
    policy: RetryPolicy,
    now: datetime,
) -> AttemptOutcome:
    """Record the result on the outbox entry (when there is one) and say how the lease ended."""
    owner = process_token()
    total = prior_attempts + attempts
    if result.status == "delivered":
        if state is not None and entry_id is not None:
            state.outbox.mark_delivered(entry_id, owner=owner, now=now, attempts=attempts)
        return AttemptOutcome("delivered", None, total, result=result)
    reason = result.detail or f"{result.channel}: {result.status}"
    if result.status == "retry":
        next_at = now + timedelta(seconds=policy.outbox_delay(total, result.retry_after))
        give_up = policy.give_up(total, created_at, next_at)
        if give_up is None:
            if state is None or entry_id is None:
                reason = f"not delivered ({reason}) and it could not be queued: the store is unavailable"
                return AttemptOutcome("dead", reason, total, result=result)
            state.outbox.reschedule(
                entry_id, owner=owner, now=now, at=next_at, error=reason, attempts=attempts
            )
            return AttemptOutcome("queued", reason, total, next_attempt_at=next_at, result=result)
        reason = f"{give_up}; last error: {reason}"
    if state is not None and entry_id is not None:
        state.outbox.mark_dead(entry_id, owner=owner, now=now, error=reason, attempts=attempts)
    return AttemptOutcome("dead", reason, total, result=result)
