"""What ``send_alert`` returns: one :class:`DestinationOutcome` per destination, gathered in a
:class:`SendResult`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from prefect_alerts.alert import Alert

__all__ = ["OUTCOME_STATUSES", "DestinationOutcome", "OutcomeStatus", "SendResult"]

OutcomeStatus = Literal["delivered", "queued", "suppressed", "folded", "dead"]
OUTCOME_STATUSES: tuple[OutcomeStatus, ...] = ("delivered", "queued", "suppressed", "folded", "dead")
"""Every alert ends in one of these per destination: nothing is ever dropped without one."""


class DestinationOutcome(BaseModel):
    """What became of one alert at one destination.

    - ``delivered``: the channel said the service accepted it.
    - ``queued``: not delivered yet (service down, rate limited, out of time budget); it is in the outbox and
      ``flush_outbox()`` will retry it at ``next_attempt_at``.
    - ``suppressed``: deliberately not sent; ``reason`` says why ("cooldown until 14:05 UTC", "silenced by s-42").
    - ``folded``: merged into another notification (a storm summary or an open incident); ``reason`` names it.
    - ``dead``: given up for good; ``reason`` says why, and a notice went to the fallback destination.
    """

    destination: str = Field(description="The destination's key: a reference such as 'slack:oncall'.")
    status: OutcomeStatus
    reason: str | None = Field(default=None, description="Always set unless delivered or queued.")
    attempts: int = Field(default=0, description="Delivery attempts made so far.")
    route: str | None = Field(default=None, description="The route that chose this destination.")
    outbox_id: str | None = Field(default=None, description="The outbox entry, when one was written.")
    next_attempt_at: datetime | None = Field(default=None, description="For queued: when the retry is due.")

    @model_validator(mode="after")
    def _reason_when_not_sent(self) -> DestinationOutcome:
        if self.status in ("suppressed", "folded", "dead") and not self.reason:
            raise ValueError(f"a {self.status} outcome needs a reason")
        return self

    @property
    def ok(self) -> bool:
        """True when the destination has it (delivered)."""
        return self.status == "delivered"

    def __str__(self) -> str:
        text = f"{self.destination}: {self.status}"
        if self.reason:
            text += f" ({self.reason})"
        if self.attempts > 1:
            text += f" after {self.attempts} attempts"
        return text


class SendResult(BaseModel):
    """The outcome of one ``send_alert`` call: the alert as sent and one outcome per destination."""

    alert: Alert
    outcomes: list[DestinationOutcome]
    alert_id: str = Field(default="", description="This send's id in the alert history and events.")

    def by_status(self, status: OutcomeStatus) -> list[DestinationOutcome]:
        """The outcomes with ``status``."""
        return [outcome for outcome in self.outcomes if outcome.status == status]

    @property
    def delivered(self) -> list[DestinationOutcome]:
        return self.by_status("delivered")

    @property
    def ok(self) -> bool:
        """True when nothing is dead or still queued (delivered, or deliberately suppressed/folded)."""
        return all(outcome.status not in ("dead", "queued") for outcome in self.outcomes)

    def __str__(self) -> str:
        lines = [f"{self.alert.title!r} [{self.alert.severity.value}, {self.alert.status.value}]"]
        lines += [f"  {outcome}" for outcome in self.outcomes]
        return "\n".join(lines)
