"""Step 1, route: choose the destinations of an alert from the routing config (or the direct list)."""

from __future__ import annotations

from typing import ClassVar

from prefect_alerts.dispatch.destinations import destination_key
from prefect_alerts.dispatch.stage import Dispatch, Notification

__all__ = ["RouteStage"]


class RouteStage:
    """Turns ``routing.targets(alert)`` into one notification per destination.

    An alert that no route and no default picks still gets an outcome: suppressed, with the reason, so it is
    visible in the result and the history instead of vanishing.
    """

    name: ClassVar[str] = "route"

    def run(self, dispatch: Dispatch) -> None:
        if dispatch.notifications:
            return  # already routed (a caller built the notifications)
        for target in dispatch.routing.targets(dispatch.alert):
            dispatch.notifications.append(
                Notification(
                    target=target, destination=destination_key(target.destination), alert=dispatch.alert
                )
            )
        if not dispatch.notifications:
            dispatch.notes.append("no route matched and the routing has no default destination")
