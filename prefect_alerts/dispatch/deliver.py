"""Step 5, deliver with retry, inside a time budget.

Every claimed notification is delivered in its own daemon thread, all at once; the step waits until they are
done or the budget (default 3 s) is spent. A destination still being tried then is reported ``queued``: its
thread goes on and settles the outbox entry when the attempt ends, and if this process exits first the lease
runs out and ``flush_outbox()`` redelivers it. A daemon thread never keeps a finished run's process alive.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

from prefect_alerts.channels.base import Channel, get_logger
from prefect_alerts.dispatch.attempt import AttemptOutcome, run_attempts, settle_entry
from prefect_alerts.dispatch.destinations import forget_in_process, load_reference
from prefect_alerts.dispatch.notices import notify_dead_destination
from prefect_alerts.dispatch.retry import RetryPolicy
from prefect_alerts.dispatch.stage import Dispatch, Notification
from prefect_alerts.store.prepared import close_thread_connections

__all__ = ["DeliverStage", "retry_policy"]

logger = get_logger("prefect_alerts.dispatch")


def retry_policy(dispatch: Dispatch) -> RetryPolicy:
    defaults = dispatch.routing.defaults
    return RetryPolicy(max_attempts=defaults.max_attempts, max_age=defaults.max_age)


class _Delivery(threading.Thread):
    def __init__(self, dispatch: Dispatch, notification: Notification, policy: RetryPolicy) -> None:
        super().__init__(name=f"prefect-alerts-deliver-{notification.destination}", daemon=True)
        self.dispatch = dispatch
        self.notification = notification
        self.policy = policy
        self.outcome: AttemptOutcome | None = None
        self.lock = threading.Lock()
        self.reported_early = False
        """True when the step reported this delivery as queued because the budget ran out first."""

    def _channel(self) -> Channel:
        destination = self.notification.target.destination
        if isinstance(destination, Channel):
            return destination
        return load_reference(destination, self.notification.target.mentions)

    def run(self) -> None:
        try:
            self._run()
        finally:
            close_thread_connections()

    def _run(self) -> None:
        dispatch, notification = self.dispatch, self.notification
        try:
            result, attempts = run_attempts(
                self._channel, notification.alert, self.policy, deadline=dispatch.deadline
            )
            outcome = settle_entry(
                dispatch.state if notification.outbox_id else None,
                notification.outbox_id,
                result,
                attempts=attempts,
                prior_attempts=0,
                created_at=dispatch.now,
                policy=self.policy,
                now=dispatch.clock(),
            )
        except Exception as exc:  # the store went away mid-delivery: say so, never lose the thread's result
            logger.exception("delivery to %s could not be recorded", notification.destination)
            outcome = AttemptOutcome("queued", f"delivery could not be recorded: {type(exc).__name__}", 0)
        if outcome.status in ("delivered", "dead") and notification.outbox_id:
            forget_in_process(notification.outbox_id)
        with self.lock:
            self.outcome = outcome
            late = self.reported_early
        if outcome.status == "dead":
            _release_claim(dispatch, notification)
            notify_dead_destination(dispatch, notification, outcome.reason or "")
        if late:  # finished after the step returned: the event tells the rest of the world
            from prefect_alerts.dispatch.events import emit_outcome

            emit_outcome(
                notification.alert,
                dispatch.alert_id,
                outcome.status,
                [notification.destination],
                {},
                next_attempt_at={notification.destination: outcome.next_attempt_at},
            )


def _release_claim(dispatch: Dispatch, notification: Notification) -> None:
    # A dead delivery told nobody: the next alert with this key may try again instead of being "cooled down".
    try:
        dispatch.state.log.release(
            dedup_key=notification.alert.dedup_key,
            destination=notification.destination,
            claim_id=dispatch.alert_id,
        )
    except Exception:
        logger.exception("could not release the notification claim for %s", notification.destination)


class DeliverStage:
    """Delivers every pending notification concurrently within ``dispatch.budget`` seconds."""

    name: ClassVar[str] = "deliver"

    def run(self, dispatch: Dispatch) -> None:
        pending = dispatch.pending()
        if not pending:
            return
        policy = retry_policy(dispatch)
        deliveries = [_Delivery(dispatch, notification, policy) for notification in pending]
        for delivery in deliveries:
            delivery.start()
        for delivery in deliveries:
            delivery.join(timeout=max(dispatch.deadline - time.monotonic(), 0.0))
        for delivery in deliveries:
            notification = delivery.notification
            with delivery.lock:
                outcome = delivery.outcome
                delivery.reported_early = outcome is None
            if outcome is None:  # still trying: the thread settles the outbox entry when it is done
                notification.attempts = max(notification.attempts, 1)
                dispatch.settle(
                    notification,
                    "queued",
                    f"no answer within the {dispatch.budget:g}s budget; the outbox will finish or retry it",
                )
                continue
            notification.attempts = outcome.attempts
            dispatch.settle(
                notification, outcome.status, outcome.reason, next_attempt_at=outcome.next_attempt_at
            )  # type: ignore[arg-type]
