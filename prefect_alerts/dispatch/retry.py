"""When to try again: the service's Retry-After when it gave one, else jittered exponential backoff.

Two schedules: inside one ``send_alert`` call (a hook's few seconds) short waits as Alertmanager uses (0.5 s,
x1.5, jittered); across flushes of the outbox longer ones (30 s doubling to at most 1 h). Either way an entry
is dead-lettered after ``max_attempts`` attempts or once it is ``max_age`` old.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

__all__ = ["RetryPolicy"]


class RetryPolicy(BaseModel):
    """Backoff and caps for one destination's deliveries."""

    max_attempts: int = Field(default=10, ge=1, description="Attempts before the entry is dead-lettered.")
    max_age: timedelta = Field(default=timedelta(hours=24), description="Age at which it is dead-lettered.")
    in_call_initial: float = Field(default=0.5, description="First wait, in seconds, inside one call.")
    in_call_multiplier: float = 1.5
    outbox_initial: float = Field(default=30.0, description="First wait, in seconds, between flushes.")
    outbox_multiplier: float = 2.0
    outbox_max_delay: float = Field(default=3600.0, description="Longest wait between outbox attempts.")
    jitter: float = Field(default=0.2, ge=0, le=1, description="Each wait is varied by up to this share.")

    def _jittered(self, delay: float) -> float:
        return delay * (1 + random.uniform(-self.jitter, self.jitter))

    def in_call_delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait before attempt ``attempt + 1`` inside one call (``attempt`` counts from 1)."""
        if retry_after is not None:
            return retry_after
        return self._jittered(self.in_call_initial * self.in_call_multiplier ** (attempt - 1))

    def outbox_delay(self, attempts: int, retry_after: float | None) -> float:
        """The wait before the next outbox attempt after ``attempts`` failed ones."""
        if retry_after is not None:
            return retry_after
        delay = self.outbox_initial * self.outbox_multiplier ** max(attempts - 1, 0)
        return min(self._jittered(delay), self.outbox_max_delay)

    def give_up(self, attempts: int, created_at: datetime, next_at: datetime) -> str | None:
        """Why to stop retrying (a reason for the dead letter), or None to go on."""
        if attempts >= self.max_attempts:
            return f"gave up after {attempts} attempts (max_attempts {self.max_attempts})"
        if next_at - created_at >= self.max_age:
            hours = self.max_age.total_seconds() / 3600
            return f"gave up: still undelivered after {hours:g} h (max_age)"
        return None
