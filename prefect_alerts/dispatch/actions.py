"""Step 6, actions: what the matched routes do besides telling people (run a deployment, pause a schedule).

Each action is claimed like a notification (destination ``action:<kind>:<deployment>``): once per flow run
(the incident claim: a failed check, its task and the flow make one retrain, not three) and at most once per
route cooldown for the same dedup key (the notification log), so many workers and repeats never run it twice.
Its outcome is one more :class:`~prefect_alerts.dispatch.models.DestinationOutcome` of the alert (delivered
"started run 'brave-fox' of retrain/nightly", suppressed with the reason, or dead with the error) and a
follow-up message to the chat and email destinations the alert reached; a later incident follow-up of the
same run names it again (:func:`~prefect_alerts.dispatch.incident.actions_taken`). Silenced and resolved alerts run
nothing. An action never raises into the pipeline and is bounded in time.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, ClassVar

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.channels.base import get_logger, redact
from prefect_alerts.dispatch.dedupe import format_time
from prefect_alerts.dispatch.followups import FollowUp, add_follow_up
from prefect_alerts.dispatch.incident import PAGING_KINDS
from prefect_alerts.dispatch.stage import Dispatch, Notification
from prefect_alerts.routing.actions import Action, PauseScheduleAction, RunDeploymentAction, render

__all__ = ["ACTION_EVENT", "ACTION_TIMEOUT_SECONDS", "ActionStage", "run_action"]

ACTION_EVENT = "action_taken"
"""The event of the follow-up that reports an action's outcome."""

ACTION_TIMEOUT_SECONDS = 10.0
"""The longest an action may take (a Prefect API call or two); past it the outcome is dead, with the reason."""

FAILED_TYPES = frozenset({"FAILED", "CRASHED"})

logger = get_logger("prefect_alerts.dispatch.actions")


class ActionError(Exception):
    """An action could not be done; the message says why and what to check."""


def _run_deployment(action: RunDeploymentAction, alert: Alert, alert_id: str) -> str:
    from prefect.client.orchestration import get_client

    try:
        parameters = render(action.parameters, alert)
    except KeyError as exc:
        raise ActionError(f"parameters: {exc.args[0]}") from None
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(action.deployment)
        except Exception as exc:
            if type(exc).__name__ == "ObjectNotFound":
                raise ActionError(
                    f"no deployment {action.deployment!r} on the Prefect server; deploy it or fix the name "
                    "(flow-name/deployment-name) in the route's actions"
                ) from None
            raise
        run = client.create_flow_run_from_deployment(
            deployment.id,
            parameters=parameters,
            tags=["prefect-alerts"],
            # The same alert and action never make a second run, even if the claim is retried.
            idempotency_key=f"prefect-alerts:{alert_id}:{action.key}",
        )
    return f"started run {run.name!r} of {action.deployment}"


def _pause_schedule(action: PauseScheduleAction, alert: Alert) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    name = action.deployment
    if name is None:
        source = alert.source
        if not (source.flow_name and source.deployment_name):
            raise ActionError(
                "the alert has no deployment to pause; name one: pause_schedule: {deployment: flow/name}"
            )
        name = f"{source.flow_name}/{source.deployment_name}"
    finished = [StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED]
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(name)
        if getattr(deployment, "paused", False):
            return f"the schedule of {name} was already paused"
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=finished))
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_DESC,
            limit=action.after_failures,
        )
        failed = sum(1 for run in runs if run.state is not None and run.state.type.value in FAILED_TYPES)
        if len(runs) < action.after_failures or failed < action.after_failures:
            raise _NotYet(
                f"{failed} of the last {len(runs)} finished runs of {name} failed; pauses after {action.after_failures} in a row"
            )
        client.pause_deployment(deployment.id)
    return (
        f"paused the schedule of {name} after {action.after_failures} failed runs in a row; "
        "resume it in the Prefect UI once it is fixed"
    )


class _NotYet(Exception):
    """The action's condition is not met: suppressed, not failed."""


def run_action(
    action: Action, alert: Alert, alert_id: str, *, timeout: float = ACTION_TIMEOUT_SECONDS
) -> str:
    """Do ``action`` for ``alert``; the outcome in words. Bounded by ``timeout`` seconds.

    Raises:
        ActionError: it could not be done (the message says why).
        TimeoutError: no answer in time (it may still complete on the server).
    """
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            if isinstance(action, RunDeploymentAction):
                result["ok"] = _run_deployment(action, alert, alert_id)
            else:
                result["ok"] = _pause_schedule(action, alert)
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=work, name="prefect-alerts-action", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer from the Prefect API within {timeout:g}s (it may still complete)")
    if "error" in result:
        raise result["error"]
    return str(result["ok"])


class ActionStage:
    """Runs the matched routes' actions once per incident and cooldown; records each outcome."""

    name: ClassVar[str] = "actions"

    def __init__(self, *, timeout: float = ACTION_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def run(self, dispatch: Dispatch) -> None:
        alert = dispatch.alert
        if alert.is_resolved:
            return
        matched = dispatch.routing.actions(alert)
        if not matched:
            return
        silenced = next(
            (
                n.outcome.reason
                for n in dispatch.notifications
                if n.outcome and (n.outcome.reason or "").startswith("silenced by")
            ),
            None,
        )
        reached = [
            n
            for n in dispatch.notifications
            if n.outcome is not None
            and n.outcome.status in ("delivered", "queued")
            and _kind(n) not in PAGING_KINDS
        ]
        for route, cooldown, action in matched:
            notification = _action_notification(dispatch, route, cooldown, action)
            if silenced:
                dispatch.settle(notification, "suppressed", f"not run: the alert was {silenced}")
                continue
            reason = self._claim(dispatch, action, cooldown)
            if reason is not None:
                dispatch.settle(notification, "suppressed", reason)
                continue
            notification.attempts = 1
            # A hook has a budget: an action may use what is left of it and two seconds more, never more
            # than its own limit.
            timeout = min(self.timeout, max(dispatch.deadline - time.monotonic(), 0.0) + 2.0)
            try:
                done = run_action(action, alert, dispatch.alert_id, timeout=timeout)
            except _NotYet as exc:
                dispatch.settle(notification, "suppressed", str(exc))
                self._release(dispatch, action)
                continue
            except Exception as exc:
                text = (
                    redact(f"{type(exc).__name__}: {exc}") if not isinstance(exc, ActionError) else str(exc)
                )
                logger.error("alert %r: action %s failed: %s", alert.title[:80], action.key, text)
                dispatch.settle(notification, "dead", f"the action failed: {text}")
                self._report(dispatch, reached, action, f"{action.key[7:]} failed: {text}", Severity.WARNING)
                continue
            dispatch.settle(notification, "delivered", done)
            self._report(dispatch, reached, action, done, Severity.INFO)

    def _claim(self, dispatch: Dispatch, action: Action, cooldown: timedelta) -> str | None:
        alert, state = dispatch.alert, dispatch.state
        run_id = alert.source.flow_run_id
        if run_id:
            claim = state.incidents.join(
                flow_run_id=run_id,
                destination=action.key,
                alert_id=dispatch.alert_id,
                dedup_key=alert.dedup_key,
                title=alert.title,
                severity_rank=alert.severity.rank,
                now=dispatch.now,
            )
            if not claim.opened_by_alert(dispatch.alert_id):
                return f"already run for this flow run's incident (at {format_time(claim.opened_at, dispatch.now)})"
        won, entry = state.log.claim_firing(
            dedup_key=alert.dedup_key,
            destination=action.key,
            claim_id=dispatch.alert_id,
            now=dispatch.now,
            severity_rank=0,  # a worse repeat is not a reason to retrain twice
            cooldown=cooldown,
            # Once the cooldown is over a still-firing key may act again: drift that returns next week must
            # retrain again, though no resolve ever reaches an action's claim.
            repeat_interval=cooldown,
            route=None,
            flow_name=alert.source.flow_name,
            deployment_name=alert.source.deployment_name,
        )
        if not won:
            until = format_time(entry.last_sent_at + cooldown, dispatch.now)
            return f"already run at {format_time(entry.last_sent_at, dispatch.now)} for this alert (cooldown until {until})"
        return None

    def _release(self, dispatch: Dispatch, action: Action) -> None:
        # Not done yet (2 of 3 failures): the next alert must be able to try again.
        dispatch.state.log.release(
            dedup_key=dispatch.alert.dedup_key, destination=action.key, claim_id=dispatch.alert_id
        )

    def _report(
        self, dispatch: Dispatch, reached: list[Notification], action: Action, text: str, severity: Severity
    ) -> None:
        if not reached:
            return
        alert = dispatch.alert
        report = Alert(
            title=f"Action for \u201c{alert.title[:150]}\u201d: {text}"[:500],
            message=f"The route's {action.kind} action {text}.",
            severity=severity,
            event=ACTION_EVENT,
            source=alert.source,
            links=alert.links,
            dedup_key=f"{alert.dedup_key}:{action.key}",
            fields={"action": action.key[7:], "outcome": text},
        )
        add_follow_up(dispatch, FollowUp(report, [(n.target, n.destination) for n in reached]))


def _kind(notification: Notification) -> str:
    destination = notification.target.destination
    if isinstance(destination, str):
        return destination.split(":", 1)[0]
    return str(getattr(destination, "kind", ""))


def _action_notification(dispatch: Dispatch, route: str, cooldown: timedelta, action: Action) -> Notification:
    from prefect_alerts.routing import RouteTarget

    target = RouteTarget(
        destination=action.key, route=route, cooldown=cooldown, repeat_interval=None, send_resolved=False
    )
    notification = Notification(target=target, destination=action.key, alert=dispatch.alert)
    dispatch.notifications.append(notification)
    return notification
