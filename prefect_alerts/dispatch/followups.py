"""Last step, follow-ups: alerts a step decided to send on behalf of this one (a storm's summary).

A folding step settles the alert it folds and leaves what should go out instead with :func:`add_follow_up`:
an alert and the targets it goes to. This step sends each through the rest of the pipeline (silence, outbox,
deliver with retry, record) within what is left of the same time budget; the folding step's own claim (the
storm row) is what makes it happen once, so there is no second dedupe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from prefect_alerts.alert import Alert
from prefect_alerts.dispatch.stage import Dispatch, Notification

if TYPE_CHECKING:
    from prefect_alerts.dispatch.models import SendResult
    from prefect_alerts.routing import RouteTarget

__all__ = ["FollowUp", "FollowUpStage", "add_follow_up"]


@dataclass
class FollowUp:
    """An alert to send to ``targets`` once this dispatch is done."""

    alert: Alert
    targets: list[tuple[RouteTarget, str]]
    """``(target, destination key)`` pairs, as the route chose them."""
    result: SendResult | None = field(default=None)


def add_follow_up(dispatch: Dispatch, follow_up: FollowUp) -> None:
    """Queue ``follow_up`` on ``dispatch`` (the follow-up step sends it)."""
    dispatch.extra.setdefault("follow_ups", []).append(follow_up)


class FollowUpStage:
    """Sends the follow-ups other steps queued; their results land on each :class:`FollowUp`."""

    name: ClassVar[str] = "follow_ups"

    def run(self, dispatch: Dispatch) -> None:
        follow_ups: list[FollowUp] = dispatch.extra.get("follow_ups", [])
        if not follow_ups:
            return
        from prefect_alerts.dispatch.pipeline import Pipeline, follow_up_stages

        pipeline = Pipeline(follow_up_stages())
        for follow_up in follow_ups:
            nested = Dispatch(
                alert=follow_up.alert,
                routing=dispatch.routing,
                state=dispatch.state,
                clock=dispatch.clock,
                budget=dispatch.budget,
                started=dispatch.started,  # the same deadline: a hook's budget covers its follow-ups
            )
            nested.notifications = [
                Notification(target=target, destination=key, alert=follow_up.alert)
                for target, key in follow_up.targets
            ]
            follow_up.result = pipeline.run(nested)
