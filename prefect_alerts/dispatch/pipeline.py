"""``send_alert``: the dispatch pipeline, run in order: route, silence, dedupe, incident, storm, outbox, deliver,
actions, record, follow-ups.

Each step is a :class:`~prefect_alerts.dispatch.stage.Stage`; the folding steps (incident, storm) sit between
dedupe and outbox and leave what goes out instead to the follow-up step. A step that fails because the store is unreachable is logged and skipped: the
alert is then delivered without that step (a possible duplicate is better than a lost page).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from prefect_alerts.alert import Alert
from prefect_alerts.channels.base import Channel, get_logger, redact
from prefect_alerts.dispatch.actions import ActionStage
from prefect_alerts.dispatch.dedupe import DedupeStage
from prefect_alerts.dispatch.deliver import DeliverStage
from prefect_alerts.dispatch.followups import FollowUpStage
from prefect_alerts.dispatch.incident import IncidentStage
from prefect_alerts.dispatch.models import DestinationOutcome, SendResult
from prefect_alerts.dispatch.outbox import OutboxStage
from prefect_alerts.dispatch.record import RecordStage
from prefect_alerts.dispatch.route import RouteStage
from prefect_alerts.dispatch.silence import SilenceStage
from prefect_alerts.dispatch.stage import Clock, Dispatch, DispatchState, Stage, utc_now
from prefect_alerts.dispatch.storm import StormStage
from prefect_alerts.store.prepared import batch

if TYPE_CHECKING:
    from prefect_alerts.routing import AlertRouting

__all__ = ["Pipeline", "asend_alert", "default_stages", "follow_up_stages", "send_alert"]

logger = get_logger("prefect_alerts.dispatch")

Destinations = Sequence["str | Channel"] | None


def default_stages() -> list[Stage]:
    """The steps ``send_alert`` runs, in order."""
    return [
        RouteStage(),
        SilenceStage(),
        DedupeStage(),
        IncidentStage(),
        StormStage(),
        OutboxStage(),
        DeliverStage(),
        ActionStage(),
        RecordStage(),
        FollowUpStage(),
    ]


def follow_up_stages() -> list[Stage]:
    """The steps a follow-up (a storm summary) runs: its targets are chosen and its send claimed already."""
    return [SilenceStage(), OutboxStage(), DeliverStage(), RecordStage()]


class Pipeline:
    """A sequence of steps run over one :class:`Dispatch`."""

    def __init__(self, stages: Sequence[Stage] | None = None) -> None:
        self.stages = list(stages) if stages is not None else default_stages()
        self._plan: tuple[tuple[Stage, ...], list[tuple[list[Stage], bool]]] | None = None

    def _groups(self) -> list[tuple[list[Stage], bool]]:
        """The steps in run order, consecutive batched ones grouped, each group with whether it shares one
        store transaction; worked out once per list of steps (it is public and may be changed, so the plan
        is keyed by its contents)."""
        stages = tuple(self.stages)
        if self._plan is not None and self._plan[0] == stages:
            return self._plan[1]
        groups: list[list[Stage]] = []
        for stage in stages:
            joins = groups and _batched(stage) and _batched(groups[-1][-1])
            if joins:
                groups[-1].append(stage)
            else:
                groups.append([stage])
        plan = [(group, _batched(group[0])) for group in groups]
        self._plan = (stages, plan)
        return plan

    def run(self, dispatch: Dispatch) -> SendResult:
        for group, batched in self._groups():
            if group[0].name == "route":
                group[0].run(dispatch)  # a routing error is the caller's to see
            else:
                self._run_group(dispatch, group, batched)
        outcomes = [n.outcome for n in dispatch.notifications if n.outcome is not None]
        for notification in dispatch.notifications:
            if notification.outcome is None:  # every step failed for it: say so rather than drop it
                outcomes.append(
                    DestinationOutcome(
                        destination=notification.destination,
                        status="dead",
                        reason="; ".join(dispatch.notes) or "no step settled this destination",
                        route=notification.target.route,
                    )
                )
        if not dispatch.notifications:
            outcomes.append(
                DestinationOutcome(
                    destination="none",
                    status="suppressed",
                    reason="no route matched and the routing has no default destination",
                )
            )
        return SendResult(alert=dispatch.alert, outcomes=outcomes, alert_id=dispatch.alert_id)

    @staticmethod
    def _run_group(dispatch: Dispatch, group: list[Stage], batched: bool) -> None:
        # Consecutive steps that only write through prepared statements (dedupe, outbox) share one
        # transaction: one commit per alert, and the claim and its outbox entry land together.
        try:
            if batched:
                with batch(dispatch.state.engine):
                    for stage in group:
                        stage.run(dispatch)
            else:
                group[0].run(dispatch)
        except Exception as exc:
            names = " and ".join(stage.name for stage in group)
            note = redact(f"the {names} step failed and was skipped: {type(exc).__name__}: {exc}")
            dispatch.notes.append(note)
            logger.error("alert %r: %s", dispatch.alert.title[:80], note)
            if len(group) > 1:  # the transaction rolled back: nothing of it was written
                for notification in dispatch.notifications:
                    notification.outbox_id = None


def _batched(stage: Stage) -> bool:
    # Routing runs alone, outside any store transaction: its errors are the caller's to see.
    return stage.name != "route" and bool(getattr(stage, "batched", False))


def _routing_for(routing: object, destinations: Destinations) -> AlertRouting:
    from prefect_alerts.routing import AlertRouting, resolve_routing

    if destinations is not None:
        if isinstance(destinations, (str, Channel)):
            destinations = [destinations]
        base = routing if isinstance(routing, AlertRouting) else None
        if base is None and routing is not None:
            base = resolve_routing(routing)  # type: ignore[arg-type]
        direct = AlertRouting.direct(
            list(destinations),
            defaults=base.defaults if base else None,
            storm=base.storm if base else None,
        )
        if base is not None and base.fallback is not None:
            direct = direct.model_copy(update={"fallback": base.fallback})
        return direct
    return resolve_routing(routing)  # type: ignore[arg-type]


def _seconds(budget: float | timedelta | None, routing: AlertRouting) -> float:
    if budget is None:
        return routing.defaults.budget.total_seconds()
    if isinstance(budget, timedelta):
        return budget.total_seconds()
    return float(budget)


def send_alert(
    alert: Alert,
    routing: AlertRouting | str | os.PathLike[str] | None = None,
    destinations: Destinations = None,
    *,
    budget: float | timedelta | None = None,
    clock: Clock = utc_now,
    state: DispatchState | None = None,
    pipeline: Pipeline | None = None,
) -> SendResult:
    """Route, silence, dedupe, queue and deliver ``alert``; one outcome per destination.

    Args:
        alert: What to send.
        routing: An ``AlertRouting``, a path to a ``.yaml``/``.yml``/``.json`` routing file, or the name of a
            saved ``alert-routing`` block. None: ``$PREFECT_ALERTS_CONFIG``, else the saved
            ``alert-routing/default`` block, else the console only.
        destinations: A direct route instead of the routing's: references (``"slack:oncall"``) or channels.
        budget: Seconds delivery may take in this call (default: the routing's, 3 s). What is not delivered in
            time stays in the outbox, and ``flush_outbox()`` finishes it.
        clock: Returns the current UTC time (tests inject one).
        state: Where the notification log, outbox, history and silences live (default: the store).

    Returns:
        A :class:`SendResult`; each outcome is delivered, queued, suppressed, folded or dead, with a reason.
        Delivery problems never raise.

    Raises:
        prefect_alerts.routing.RoutingError: the routing config is invalid (the message names the field).

    Example:
        ```python
        from prefect_alerts import Alert, send_alert

        result = send_alert(
            Alert(title="Nightly load failed", severity="error", event="flow_failed"),
            destinations=["slack:ops-alerts"],
        )
        for outcome in result.outcomes:
            print(outcome)  # "slack:ops-alerts: delivered", "...: suppressed (cooldown until 14:05 UTC ...)"
        ```
    """
    if not isinstance(alert, Alert):
        raise TypeError(
            f"send_alert() takes an Alert, got {type(alert).__name__}; build one with Alert(title=...)"
        )
    resolved = _routing_for(routing, destinations)
    dispatch = Dispatch(
        alert=alert,
        routing=resolved,
        state=state or DispatchState.default(),
        clock=clock,
        budget=_seconds(budget, resolved),
    )
    result = (pipeline or _DEFAULT_PIPELINE).run(dispatch)
    _log(result)
    return result


async def asend_alert(
    alert: Alert,
    routing: AlertRouting | str | os.PathLike[str] | None = None,
    destinations: Destinations = None,
    *,
    budget: float | timedelta | None = None,
    clock: Clock = utc_now,
    state: DispatchState | None = None,
) -> SendResult:
    """Async :func:`send_alert`: runs the pipeline in a worker thread so the event loop is never blocked.

    Example:
        ```python
        import asyncio
        from prefect_alerts import Alert, asend_alert

        asyncio.run(asend_alert(Alert(title="Backfill finished", severity="success"), destinations=["console"]))
        ```
    """
    return await asyncio.to_thread(
        send_alert, alert, routing, destinations, budget=budget, clock=clock, state=state
    )


_DEFAULT_PIPELINE = Pipeline()


def _log(result: SendResult) -> None:
    from prefect_alerts.channels.base import run_logger

    log = run_logger("prefect_alerts.dispatch")
    title = result.alert.title[:80]
    for outcome in result.outcomes:
        if outcome.status == "delivered":
            log.debug("alert %r delivered to %s", title, outcome.destination)
        elif outcome.status in ("suppressed", "folded"):
            log.info("alert %r %s for %s: %s", title, outcome.status, outcome.destination, outcome.reason)
        elif outcome.status == "queued":
            log.warning("alert %r queued for %s: %s", title, outcome.destination, outcome.reason)
        else:
            log.error("alert %r is dead at %s: %s", title, outcome.destination, outcome.reason)
