"""``prefect-alerts test``: a clearly labelled test alert through one route's destinations, or one destination.

The test alert goes through the real pipeline (silences, outbox, delivery with retry, history, events) so it
proves what a real alert would meet, with three differences that keep it honest and harmless:

- a fresh dedup key every time, so a second test is never swallowed by the cooldown or the notification log;
- storm folding off and no route actions (it is sent to the route's destinations, not matched against the
  route), so it neither counts toward a storm nor starts a deployment; no mentions, so nobody is pinged;
- a PagerDuty destination that accepted it gets the resolve straight away, so no test incident stays open.

A silence that matches it still holds it back: then the result says so, and that nothing was tested.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from prefect_alerts.alert import Alert
from prefect_alerts.dispatch.models import DestinationOutcome
from prefect_alerts.routing import AlertRouting

__all__ = ["TEST_EVENT", "TEST_TAG", "ProbeError", "ProbeResult", "build_test_alert", "send_test_alert"]

TEST_EVENT = "test_alert"
"""The event of every test alert (``prefect-alerts history --event test_alert`` lists them)."""
TEST_TAG = "prefect-alerts-test"


class ProbeError(ValueError):
    """The test cannot be sent as asked: no such route (the message names the known ones), or neither or both
    of a route and a destination."""


class ProbeResult(BaseModel):
    """What became of one test alert at each destination, and of the test incident on PagerDuty."""

    target: str = Field(description="What was tested: 'route pages' or 'destination slack:oncall'.")
    alert: Alert
    outcomes: list[DestinationOutcome]
    followups: dict[str, str] = Field(
        default_factory=dict, description="Destination -> what became of the test incident (PagerDuty)."
    )

    @property
    def tested(self) -> bool:
        """Every destination has it (delivered)."""
        return bool(self.outcomes) and all(outcome.status == "delivered" for outcome in self.outcomes)

    def lines(self) -> list[str]:
        """One line per destination: its outcome, what it means for the test, and the follow-up if any."""
        lines = []
        for outcome in self.outcomes:
            text = str(outcome)
            if outcome.status == "suppressed":
                text += ": NOT tested; a silence holds back every matching alert, this one too"
            elif outcome.status == "folded":
                text += ": NOT tested"
            elif outcome.status == "queued":
                text += ": not delivered yet; `prefect-alerts flush` retries it"
            followup = self.followups.get(outcome.destination)
            if followup:
                text += f"; {followup}"
            lines.append(text)
        return lines


def _sender() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a bare container
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def build_test_alert(target: str, *, now: datetime | None = None) -> Alert:
    """The test alert for ``target`` ("route pages", "destination slack:oncall"): severity info, event
    ``test_alert``, a dedup key of its own.

        >>> build_test_alert("route pages").title
        'prefect-alerts test: route pages'
    """
    from prefect_alerts.dispatch.stage import new_id

    now = now or datetime.now(timezone.utc)
    return Alert(
        title=f"prefect-alerts test: {target}",
        message=(
            f"This is a test of {target}, sent with `prefect-alerts test` at {now:%Y-%m-%d %H:%M:%S} UTC. "
            "If you can read it, alerts reach you here. No action needed."
        ),
        severity="info",
        event=TEST_EVENT,
        tags=[TEST_TAG],
        fields={"test_of": target, "sent_by": _sender()},
        timestamp=now,
        dedup_key=f"prefect-alerts-test:{new_id()}",  # never the same twice: no cooldown, no dedupe
    )


def _route_destinations(routing: AlertRouting, name: str) -> list[Any]:
    from prefect_alerts.routing.describe import named_routes

    routes = named_routes(routing)
    chosen = [named for named in routes if named.name == name]
    if not chosen:
        known = ", ".join(repr(named.name) for named in routes) or "none"
        raise ProbeError(f"no route named {name!r}; the routes are: {known}")
    if len(chosen) > 1:
        raise ProbeError(
            f"{len(chosen)} routes are named {name!r}; give them distinct names, or test one destination with "
            "--destination KIND:BLOCK"
        )
    destinations = [destination for _, destination, _ in chosen[0].route.targets]
    if not destinations:
        raise ProbeError(f"route {name!r} has no destinations to test")
    return destinations


def _kind(destination: Any) -> str:
    return destination.split(":", 1)[0] if isinstance(destination, str) else str(destination.kind)


def send_test_alert(
    *,
    route: str | None = None,
    destination: str | None = None,
    routing: AlertRouting | str | None = None,
    state: Any = None,
) -> ProbeResult:
    """Send a test alert through the destinations of the route named ``route`` in ``routing`` (a file, a
    block name or an ``AlertRouting``; None: the resolution order), or through one ``destination``
    reference. Exactly one of the two.

    Raises:
        ProbeError: no route by that name (naming the known ones), or not exactly one of route/destination.
        RoutingError: the routing cannot be loaded.
        prefect_alerts.blocks.BlockNotFoundError: ``destination`` names a block that does not exist.

    Example:
        ```python
        from prefect_alerts.probe import send_test_alert

        result = send_test_alert(route="pages", routing="alerts.yaml")
        for line in result.lines():
            print(line)  # "pagerduty:oncall: delivered; the test incident was resolved"
        ```
    """
    from prefect_alerts.dispatch import DispatchState, send_alert
    from prefect_alerts.dispatch.destinations import load_reference
    from prefect_alerts.routing import resolve_routing
    from prefect_alerts.routing.storm import StormSettings

    if (route is None) == (destination is None):
        raise ProbeError("test either one route (--route NAME) or one destination (--destination KIND:BLOCK)")
    resolved = resolve_routing(routing)
    if route is not None:
        target = f"route {route}"
        destinations: Sequence[Any] = _route_destinations(resolved, route)
    else:
        assert destination is not None
        reference = destination.strip()
        load_reference(reference)  # a typo or a missing block is said before anything is sent
        target = f"destination {reference}"
        destinations = [reference]
    direct = AlertRouting.direct(
        list(destinations), defaults=resolved.defaults, storm=StormSettings(enabled=False)
    )
    state = state or DispatchState.default()
    alert = build_test_alert(target)
    result = send_alert(alert, routing=direct, state=state)
    followups: dict[str, str] = {}
    by_key = {outcome.destination: outcome for outcome in result.outcomes}
    pagerduty = [
        d
        for d in destinations
        if _kind(d) == "pagerduty" and getattr(by_key.get(_key(d)), "status", None) == "delivered"
    ]
    if pagerduty:
        closing = alert.resolved("The test is over: this test incident closes itself.")
        closed = send_alert(
            closing,
            routing=AlertRouting.direct(
                pagerduty, defaults=resolved.defaults, storm=StormSettings(enabled=False)
            ),
            state=state,
        )
        for outcome in closed.outcomes:
            followups[outcome.destination] = (
                "the test incident was resolved"
                if outcome.ok
                else f"resolving the test incident did not work ({outcome}): resolve it in PagerDuty"
            )
    return ProbeResult(target=target, alert=result.alert, outcomes=result.outcomes, followups=followups)


def _key(destination: Any) -> str:
    from prefect_alerts.dispatch.destinations import destination_key

    return destination_key(destination)
