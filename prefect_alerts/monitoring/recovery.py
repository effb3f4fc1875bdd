"""The aggregator's recovery sweep: resolve what is still firing for a flow (or deployment) that has since
completed.

The completion hook resolves on the spot, but only for flows that carry it. A run the sweeper found crashed, or
a flow without ``with_alerts``, has no hook to say it recovered: its PagerDuty incident would stay open for
good. :func:`resolve_recovered` asks the Prefect API, once per flow/deployment with something firing, for the
newest real completion (state type COMPLETED, not ``Cached``) that ended after the alert, and sends the same
all-clear the hook would, through the pipeline: with the dedup key each destination was sent (PagerDuty
resolves that incident), to the destinations the firing alert reached, once (the notification log's resolve
claim is atomic, so two aggregators racing send one resolve between them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from uuid import UUID

from pydantic import BaseModel, Field

from prefect_alerts.alert import Alert, Link, Source
from prefect_alerts.channels.base import Channel, redact
from prefect_alerts.dispatch import SendResult, firing_alerts, send_alert
from prefect_alerts.dispatch.destinations import destination_key
from prefect_alerts.dispatch.stage import DispatchState
from prefect_alerts.hooks.build import RUN_HEALTH_EVENTS
from prefect_alerts.hooks.context import run_duration, run_url
from prefect_alerts.hooks.recovery_text import recovered_alert
from prefect_alerts.text import plural

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun

    from prefect_alerts.routing import AlertRouting

__all__ = ["FOUND_BY", "RecoveryResult", "resolve_recovered"]

FOUND_BY = "the prefect-alerts aggregator"
"""Who the all-clear says noticed the recovery (the completed run had no hook to say so itself)."""

_RUN_END_EVENTS = frozenset({"flow_failed", "flow_timeout", "flow_crashed", "flow_cancelled"})
"""Alerts sent when their run ended: that same run completing later means it was retried and healed."""

_ERROR_LIMIT = 300


class RecoveryResult(BaseModel):
    """What one recovery sweep did.

    ``resolved`` holds one :class:`~prefect_alerts.dispatch.SendResult` per resolve sent (a second one for the
    same key when the firing alert had also reached destinations the routing no longer picks); each outcome
    says delivered, queued or suppressed (with the reason, e.g. "already resolved at 14:05 UTC").
    """

    resolved: list[SendResult] = Field(default_factory=list)
    checked_flows: int = Field(default=0, description="Flow/deployment groups whose runs were read.")
    errors: list[str] = Field(default_factory=list, description="What failed, per group; never a secret.")

    @property
    def resolved_keys(self) -> set[str]:
        """The dedup keys a resolve was sent for."""
        return {result.alert.dedup_key for result in self.resolved}

    def __str__(self) -> str:
        delivered = sum(len(result.delivered) for result in self.resolved)
        lines = [
            f"{plural(self.checked_flows, 'flow')} checked, "
            f"{plural(len(self.resolved_keys), 'alert')} resolved "
            f"({plural(delivered, 'notification')} delivered), {plural(len(self.errors), 'error')}"
        ]
        for result in self.resolved:
            outcomes = "; ".join(str(outcome) for outcome in result.outcomes)
            lines.append(f"  {result.alert.title!r}: {outcomes}")
        lines += [f"  error: {error}" for error in self.errors]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Group:
    """Alerts whose recovery one API read decides: same flow, same deployment (or none)."""

    flow_name: str
    deployment_name: str | None
    deployment_id: str | None

    def describe(self) -> str:
        text = f"flow {self.flow_name!r}"
        if self.deployment_name or self.deployment_id:
            text += f" (deployment {self.deployment_name or self.deployment_id!r})"
        return text


def resolve_recovered(routing: AlertRouting, now: datetime, *, state: DispatchState) -> RecoveryResult:
    """Resolve every alert still firing for a flow/deployment whose newest completion ended after it.

    Only what a recovery heals: run-health events (``flow_failed``, ``flow_crashed``, ``task_failed``,
    ``sla_violation``, ...) and the keys of incidents whose run failed (their first alert may be a failed
    check); a data check's own alert waits for the check to pass. A ``Cached`` completion ran nothing and heals
    nothing. An alert sent during a run (a task's failure, a slow run) is not healed by that same run
    completing, only by a later one. One API read per flow/deployment (limit 1, newest end first); a group
    that fails is reported in ``errors`` and the others go on.

    Args:
        routing: The routing the resolves go through (normally the one the firing alerts used); a destination
            the firing alert reached that this routing does not pick gets its resolve directly.
        now: The sweep's time: completions after it are left for the next sweep, and the log records it.
        state: The dispatch store (notification log, outbox, history).

    Returns:
        A :class:`RecoveryResult`; nothing raises for one flow's problem.

    Example:
        ```python
        from datetime import datetime, timezone

        from prefect_alerts.dispatch import DispatchState
        from prefect_alerts.monitoring.recovery import resolve_recovered
        from prefect_alerts.routing import resolve_routing

        result = resolve_recovered(resolve_routing(None), datetime.now(timezone.utc), state=DispatchState.default())
        print(result)  # "3 flows checked, 1 alert resolved (2 notifications delivered), 0 errors"
        ```
    """
    now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
    result = RecoveryResult()
    try:
        firing = firing_alerts(state=state)
    except Exception as exc:  # the store is down: the aggregator's other duties still run
        result.errors.append(f"could not read the alerts still firing: {_safe(exc)}")
        return result
    groups = _groups(firing, state, result)
    if not groups:
        return result
    with _client(result) as client:
        if client is None:
            return result
        for group, alerts in groups.items():
            try:
                run = _latest_completion(client, group, after=min(a.timestamp for a in alerts), before=now)
            except Exception as exc:
                result.errors.append(f"{group.describe()}: could not read its runs: {_safe(exc)}")
                continue
            result.checked_flows += 1
            if run is None:
                continue
            for alert in alerts:
                if not _heals(run, alert):
                    continue
                try:
                    result.resolved += _send_resolve(alert, run, routing, now, state, result.errors)
                except Exception as exc:  # e.g. an invalid routing: say so, go on with the next
                    result.errors.append(
                        f"{group.describe()}: resolve of {alert.title!r} failed: {_safe(exc)}"
                    )
    return result


def _groups(firing: list[Alert], state: DispatchState, result: RecoveryResult) -> dict[_Group, list[Alert]]:
    """The alerts a recovery heals, by flow/deployment (the hook's rule: run-health events and failed
    incidents' keys)."""
    incident_keys: dict[tuple[str, str | None], set[str]] = {}
    groups: dict[_Group, list[Alert]] = {}
    for alert in firing:
        source = alert.source
        if not source.flow_name:
            continue  # sent from a script: no flow whose runs could say it recovered
        scope = (source.flow_name, source.deployment_name)
        if alert.event not in RUN_HEALTH_EVENTS:
            if scope not in incident_keys:
                try:
                    incident_keys[scope] = state.incidents.failed_run_keys(
                        flow_name=scope[0], deployment_name=scope[1]
                    )
                except Exception as exc:
                    incident_keys[scope] = set()
                    result.errors.append(f"flow {scope[0]!r}: could not read its incidents: {_safe(exc)}")
            if alert.dedup_key not in incident_keys[scope]:
                continue
        group = _Group(source.flow_name, source.deployment_name, source.deployment_id)
        groups.setdefault(group, []).append(alert)
    return groups


@contextmanager
def _client(result: RecoveryResult) -> Iterator[SyncPrefectClient | None]:
    """One sync client for the whole sweep, or None (with the reason in ``errors``) when there is none."""
    from prefect.client.orchestration import get_client

    try:
        client = get_client(sync_client=True)
        client.__enter__()
    except Exception as exc:
        result.errors.append(f"could not open a Prefect API client: {_safe(exc)}")
        yield None
        return
    try:
        yield client
    finally:
        client.__exit__(None, None, None)


def _latest_completion(
    client: SyncPrefectClient, group: _Group, *, after: datetime, before: datetime
) -> FlowRun | None:
    """The group's newest run that really completed (not ``Cached``) and ended in ``[after, before]``."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterEndTime,
        FlowRunFilterState,
        FlowRunFilterStateName,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    # The deployment id is the precise one (the alert may lack the name when reading it timed out); without
    # either, only runs outside any deployment count, as in the completion hook.
    deployment_filter = None
    if group.deployment_id:
        deployment = FlowRunFilterDeploymentId(any_=[UUID(group.deployment_id)])
    elif group.deployment_name:
        deployment = None
        deployment_filter = DeploymentFilter(name=DeploymentFilterName(any_=[group.deployment_name]))
    else:
        deployment = FlowRunFilterDeploymentId(is_null_=True)
    runs = client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[group.flow_name])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.COMPLETED]),
                name=FlowRunFilterStateName(not_any_=["Cached"]),  # a cached completion healed nothing
            ),
            end_time=FlowRunFilterEndTime(after_=after, before_=before),
            deployment_id=deployment,
        ),
        deployment_filter=deployment_filter,
        sort=FlowRunSort.END_TIME_DESC,
        limit=1,
    )
    return runs[0] if runs else None


def _heals(run: FlowRun, alert: Alert) -> bool:
    end = run.end_time
    if end is None or not end > alert.timestamp:
        return False
    if str(run.id) != alert.source.flow_run_id:
        return True
    # The alert's own run completed after it: only a run that had ended badly and was retried healed itself;
    # an alert raised during a run that then completed (a task's failure, a slow run) waits for the next one.
    return alert.event in _RUN_END_EVENTS and alert.source.task_run_id is None


def _send_resolve(
    alert: Alert,
    run: FlowRun,
    routing: AlertRouting,
    now: datetime,
    state: DispatchState,
    errors: list[str],
) -> list[SendResult]:
    source = Source(
        flow_name=alert.source.flow_name,
        flow_run_id=str(run.id),
        flow_run_name=run.name,
        deployment_name=alert.source.deployment_name,
        deployment_id=str(run.deployment_id) if run.deployment_id else alert.source.deployment_id,
        work_pool_name=run.work_pool_name,
    )
    resolved = recovered_alert(
        alert,
        kind="flow",
        run_name=run.name,
        source=source,
        duration=run_duration(run, run.state),
        links=_links(run),
        found_by=FOUND_BY,
        timestamp=now,
    )
    clock: Callable[[], datetime] = lambda: now  # noqa: E731 - the log records the sweep's time
    # Through the routing first: route settings (send_resolved: false) apply, and the dedupe step sends the
    # resolve only where the firing alert was notified, once.
    results = [send_alert(resolved, routing, state=state, clock=clock)]
    # A firing alert sent to a direct destination (a hook's destinations=[...]) is not where this routing
    # goes: resolve it there directly, or its PagerDuty incident would stay open.
    leftovers = _still_firing(state, alert)
    if leftovers:
        destinations: list[str | Channel] = []
        for key in leftovers:
            destination = _stored_destination(state, key)
            if destination is None:
                errors.append(
                    f"resolve of {alert.title!r} not sent to {key}: the routing does not reach it and no stored "
                    "delivery says how to"
                )
            else:
                destinations.append(destination)
        if destinations:
            results.append(send_alert(resolved, routing, destinations, state=state, clock=clock))
    return results


def _still_firing(state: DispatchState, alert: Alert) -> list[str]:
    """The destinations where this alert's key is still firing."""
    return [
        entry.destination
        for entry in state.log.firing(flow_name=alert.source.flow_name)
        if entry.dedup_key == alert.dedup_key
    ]


def _stored_destination(state: DispatchState, key: str) -> str | Channel | None:
    """How to reach destination ``key`` again: the reference an outbox entry kept (or the key itself, when it
    is one), or the channel rebuilt from the description it kept. Any entry of that destination will do (a
    folded key never wrote one of its own); the rebuilt channel must have the same key, so the resolve
    closes the right row."""
    from prefect_alerts.channels.registry import channel_from_description

    route = state.outbox.last_route(key)
    reference, channel_spec = route or (None, None)
    if reference:
        return str(reference)
    if channel_spec:
        try:
            channel = channel_from_description(channel_spec)
        except Exception:
            return None
        return channel if destination_key(channel) == key else None
    # No entry: a reference key ("slack:oncall") can be loaded again; a channel object's ("slack#1a2b") not.
    return key if "#" not in key and route is None else None


def _links(run: FlowRun) -> list[Link]:
    url = run_url(run)
    if not url:
        return []
    try:
        return [Link(label="Flow run", url=url)]
    except ValueError:
        return []


def _safe(exc: BaseException) -> str:
    """``ConnectError: ...``, redacted (a URL's token, a routing key) and cut short."""
    text = redact(f"{type(exc).__name__}: {exc}")
    return text if len(text) <= _ERROR_LIMIT else text[: _ERROR_LIMIT - 1] + "…"
