"""The hook factories: ``alert_on_failure``, ``alert_on_crashed``, ``alert_on_cancellation``,
``alert_on_completion``, ``alert_on_result`` and ``sla``.

Each returns an :class:`~prefect_alerts.hooks.hook.AlertHook` that works on flows and tasks, sync and async
alike, and sends through :func:`~prefect_alerts.send_alert` (routing, silences, cooldown, outbox, retries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from prefect_alerts.alert import Alert, Severity, compute_dedup_key
from prefect_alerts.channels.base import Channel
from prefect_alerts.channels.text import format_duration
from prefect_alerts.hooks.build import (
    RUN_HEALTH_EVENTS,
    RunFacts,
    alert_from_facts,
    flow_facts,
    task_facts,
)
from prefect_alerts.hooks.context import run_duration
from prefect_alerts.hooks.hook import AlertHook, HookCall, HookOptions, fired_in_run
from prefect_alerts.hooks.recovery_text import recovered_alert
from prefect_alerts.hooks.result import problem_from_answer, result_resolved
from prefect_alerts.hooks.state import state_result

__all__ = [
    "alert_on_cancellation",
    "alert_on_completion",
    "alert_on_crashed",
    "alert_on_failure",
    "alert_on_result",
    "sla",
]

Destinations = Sequence["str | Channel"] | str | Channel | None


def _options(
    routing: Any,
    destinations: Destinations,
    severity: Severity | str | None,
    title: str | None,
    message: str | None,
    tags: Iterable[str],
    fields: Mapping[str, Any] | None,
    budget: float | timedelta | None,
    api: bool,
) -> HookOptions:
    return HookOptions(
        routing=routing,
        destinations=destinations,
        severity=severity,
        title=title,
        message=message,
        tags=tags,
        fields=dict(fields or {}),
        budget=budget,
        api=api,
    )


def _facts(hook: AlertHook, call: HookCall) -> RunFacts:
    if call.kind == "flow":
        return flow_facts(call.obj, call.run, call.state, api=hook.options.api)
    return task_facts(call.obj, call.run, call.state, api=hook.options.api)


def _bad_state_event(call: HookCall) -> str:
    state = call.state
    if call.kind == "task":
        return "task_failed"
    if state.is_crashed():
        return "flow_crashed"
    if state.is_cancelled() or state.is_cancelling():
        return "flow_cancelled"
    return "flow_timeout" if state.name == "TimedOut" else "flow_failed"


def _alert(
    hook: AlertHook,
    call: HookCall,
    event: str,
    *,
    title: str | None = None,
    message: str | None = None,
    fields: Mapping[str, Any] | None = None,
) -> Alert:
    """The full alert (the user's options win over the handler's defaults), or, when gathering the context
    fails, a short one: an alert is never lost to a bug."""
    options = hook.options
    try:
        return alert_from_facts(
            _facts(hook, call),
            event,
            severity=options.severity,
            title=options.title or title,
            message="\n".join(part for part in (options.message, message) if part) or None,
            tags=options.tags,
            fields={**(fields or {}), **options.fields},
        )
    except Exception as exc:
        call.logger.error(
            "prefect-alerts: could not gather the run's context (%s: %s); sending a short alert",
            type(exc).__name__,
            exc,
        )
        return hook.fallback_alert(call, event)


# failure, crash, cancellation ------------------------------------------------------------------------------
def _on_bad_state(hook: AlertHook, call: HookCall) -> None:
    state = call.state
    if not (state.is_failed() or state.is_crashed() or state.is_cancelled() or state.is_cancelling()):
        call.logger.debug("prefect-alerts: %s ignores state %r", hook.__name__, state.name)
        return
    hook.send(call, _alert(hook, call, _bad_state_event(call)))


def alert_on_failure(
    routing: Any = None,
    destinations: Destinations = None,
    *,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    budget: float | timedelta | None = None,
    api: bool = True,
) -> AlertHook:
    """A hook for ``on_failure`` that alerts when a flow or task run fails (once, after its last retry).

    Events: ``flow_failed`` (error), ``flow_timeout`` for a ``TimedOut`` flow run (error), ``task_failed``
    (error). The alert carries the exception, the traceback's last lines, the failed tasks, the run's last
    ERROR log lines, redacted parameters, tags, attempt, duration, the UI link and a suggested action.

    Args:
        routing: An ``AlertRouting``, a routing file, or a saved routing block's name; None: the resolution
            order (``$PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        destinations: A direct route instead of the routing: ``["slack:oncall"]`` or channel objects.
        severity: Overrides the event's default severity.
        title: Overrides the generated title.
        message: A line that leads the alert's body ("Feeds the 07:00 report").
        tags: Added to the run's tags.
        fields: Added after the run's own fields.
        budget: Seconds delivery may take in the hook (default 3 s); ``flush_outbox`` finishes the rest.
        api: Read the deployment name (and, for remote task runners, the failed tasks) from the Prefect API;
            each read is bounded in time, the deployment name cached.

    Example:
        ```python
        from prefect import flow, task
        from prefect_alerts.hooks import alert_on_failure

        @task(retries=2, on_failure=[alert_on_failure(destinations=["slack:oncall"])])
        def load():
            ...

        @flow(on_failure=[alert_on_failure(routing="alerts.yaml", message="Feeds the 07:00 report")])
        def nightly():
            load()
        ```
    """
    options = _options(routing, destinations, severity, title, message, tags, fields, budget, api)
    return AlertHook("alert_on_failure", _on_bad_state, options)


def alert_on_crashed(
    routing: Any = None,
    destinations: Destinations = None,
    *,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    budget: float | timedelta | None = None,
    api: bool = True,
) -> AlertHook:
    """A hook for ``on_crashed``: alerts ``flow_crashed`` (critical) when the run's process was interrupted
    (``KeyboardInterrupt``, ``SystemExit``, SIGTERM) or its infrastructure failed under a runner.

    Takes the same arguments as :func:`alert_on_failure`. A SIGKILL or an out-of-memory kill runs no hook
    in the dying process: only a runner, or a monitor that reads run states, can see those.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.hooks import alert_on_crashed

        @flow(on_crashed=[alert_on_crashed(destinations=["pagerduty:oncall"])])
        def nightly():
            ...
        ```
    """
    options = _options(routing, destinations, severity, title, message, tags, fields, budget, api)
    return AlertHook("alert_on_crashed", _on_bad_state, options)


def alert_on_cancellation(
    routing: Any = None,
    destinations: Destinations = None,
    *,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    budget: float | timedelta | None = None,
    api: bool = True,
) -> AlertHook:
    """A hook for ``on_cancellation``: alerts ``flow_cancelled`` (warning) when a run is cancelled.

    Takes the same arguments as :func:`alert_on_failure`.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.hooks import alert_on_cancellation

        @flow(on_cancellation=[alert_on_cancellation(destinations=["slack:ops-alerts"])])
        def nightly():
            ...
        ```
    """
    options = _options(routing, destinations, severity, title, message, tags, fields, budget, api)
    return AlertHook("alert_on_cancellation", _on_bad_state, options)


# completion: resolve what was firing, optionally say so -----------------------------------------------------
def _on_completion(hook: AlertHook, call: HookCall) -> None:
    from prefect_alerts.dispatch import firing_alerts
    from prefect_alerts.dispatch.state_queries import failed_incident_keys

    state = call.state
    if not state.is_completed():
        return
    if state.name == "Cached":  # nothing ran, nothing healed: no noise
        call.logger.debug("prefect-alerts: cached completion, no alert")
        return
    settings = hook.settings
    facts = _facts(hook, call)
    if settings["resolve"]:
        source = facts.source
        skip = fired_in_run(source.flow_run_id) if source.flow_run_id else set()
        events = settings["resolve_events"]
        # A failed run's incident may have opened with a failed check: its key stands for the run's failure.
        incident_keys = (
            failed_incident_keys(source.flow_name, source.deployment_name) if call.kind == "flow" else set()
        )
        for alert in firing_alerts(flow_name=source.flow_name):
            origin = alert.source
            if (
                (alert.event not in events and alert.dedup_key not in incident_keys)
                or alert.dedup_key in skip
                or origin.flow_name != source.flow_name
                or origin.deployment_name != source.deployment_name
                or (call.kind == "task" and origin.task_name != source.task_name)
            ):
                continue
            hook.send(call, _resolved(alert, facts))
    if settings["notify_success"]:
        event = "flow_completed" if call.kind == "flow" else "task_completed"
        options = hook.options.alert_options()
        if settings["success_message"] and not options["message"]:
            options["message"] = settings["success_message"]
        hook.send(call, alert_from_facts(facts, event, **options))


def _resolved(alert: Alert, facts: RunFacts) -> Alert:
    # The text is shared with the aggregator's recovery sweep (prefect_alerts.monitoring.recovery).
    return recovered_alert(
        alert,
        kind=facts.kind,
        run_name=facts.run_name,
        source=facts.source,
        duration=facts.duration,
        links=facts.links,
    )


def alert_on_completion(
    routing: Any = None,
    destinations: Destinations = None,
    *,
    notify_success: bool = False,
    success_message: str | None = None,
    resolve: bool = True,
    resolve_events: Iterable[str] = RUN_HEALTH_EVENTS,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    budget: float | timedelta | None = None,
    api: bool = True,
) -> AlertHook:
    """A hook for ``on_completion``: resolves the alerts still firing for this flow (and deployment) from
    earlier runs, so Slack shows "recovered" and PagerDuty resolves the incident (same dedup key).

    Only run-health events are resolved (``flow_failed``, ``flow_timeout``, ``flow_crashed``,
    ``flow_cancelled``, ``task_failed``, ``task_slow``, ``sla_violation``; ``resolve_events`` changes the
    set): a data check's alert is not healed by a run completing. On a task, only that task's alerts are
    resolved. Alerts this same run sent are left firing. A ``Cached`` completion makes no noise.

    Args:
        notify_success: Also send a success alert (``flow_completed``/``task_completed``) every time.
        success_message: Its message.
        resolve: Send the resolves (default True).
        routing, destinations, severity, title, message, tags, fields, budget, api: As for
            :func:`alert_on_failure` (severity, title, message apply to the success alert).

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.hooks import alert_on_completion, alert_on_failure

        hooks = dict(destinations=["slack:oncall"])

        @flow(on_failure=[alert_on_failure(**hooks)], on_completion=[alert_on_completion(**hooks)])
        def nightly():
            ...
        ```
    """
    options = _options(routing, destinations, severity, title, message, tags, fields, budget, api)
    return AlertHook(
        "alert_on_completion",
        _on_completion,
        options,
        notify_success=notify_success,
        success_message=success_message,
        resolve=resolve,
        resolve_events=frozenset(resolve_events),
    )


# return values ---------------------------------------------------------------------------------------------
def _on_result(hook: AlertHook, call: HookCall) -> None:
    from prefect_alerts.dispatch import firing_alerts

    state = call.state
    if not state.is_completed():
        return
    settings = hook.settings
    missing = object()
    value = state_result(state, missing)
    if value is missing:
        call.logger.warning(
            "prefect-alerts: %s could not read the return value of %s %r in this process; nothing checked",
            hook.__name__,
            call.kind,
            call.name,
        )
        return
    try:
        problem = problem_from_answer(settings["predicate"](value), value)
    except Exception as exc:
        call.logger.error(
            "prefect-alerts: result check %r raised %s: %s; nothing sent",
            settings["check"],
            type(exc).__name__,
            exc,
        )
        return
    facts = _facts(hook, call)
    dedup_key = compute_dedup_key(settings["event"], facts.source, f"result:{settings['check']}")
    if problem is None:
        if settings["resolve"]:
            for alert in firing_alerts(flow_name=facts.source.flow_name):
                if alert.dedup_key == dedup_key:
                    hook.send(call, result_resolved(alert, facts, settings["check"], value))
        return
    options = hook.options.alert_options()
    what = "Flow" if call.kind == "flow" else "Task"
    first_line = problem.message.strip().splitlines()[0] if problem.message.strip() else settings["check"]
    alert = alert_from_facts(
        facts,
        settings["event"],
        severity=options["severity"] or problem.severity or settings["default_severity"],
        title=options["title"] or problem.title or f"{what} '{call.name}' result check failed: {first_line}",
        message="\n".join(part for part in (options["message"], problem.message) if part)
        or f"Result check {settings['check']!r} flagged the return value.",
        tags=options["tags"],
        fields={**problem.fields, "check": settings["check"], **(options["fields"] or {})},
        dedup_key=dedup_key,
    )
    hook.send(call, alert)


def alert_on_result(
    predicate: Callable[[Any], Any],
    routing: Any = None,
    destinations: Destinations = None,
    *,
    name: str | None = None,
    event: str = "result_check_failed",
    resolve: bool = True,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    budget: float | timedelta | None = None,
    api: bool = True,
) -> AlertHook:
    """A hook for ``on_completion`` that checks a flow's or task's return value with ``predicate``.

    ``predicate(result)`` answers: falsy (fine, no alert); ``True`` (alert, the result shown); a string
    (alert, saying what is wrong: "no matches"); a mapping (alert, its items are the offending values, shown as
    fields); or a :class:`~prefect_alerts.hooks.ResultProblem` (message, fields, severity, title). A predicate
    that raises is logged at ERROR and sends nothing. Severity defaults to warning. Each check has its own
    dedup key (from ``name``, default the predicate's name); when the check passes again, a firing alert of
    it is resolved (``resolve=False`` to skip).

    Example:
        ```python
        from prefect import task
        from prefect_alerts.hooks import alert_on_result

        def no_matches(rows):
            return "no matches" if not rows else None

        def low_confidence(scores):
            low = {k: v for k, v in scores.items() if v < 0.7}
            return {"below 0.7": low, "lowest": min(scores.values())} if low else None

        @task(on_completion=[alert_on_result(no_matches, destinations=["slack:data"])])
        def search():
            return []
        ```
    """
    if not callable(predicate):
        raise TypeError(f"alert_on_result() needs a callable predicate, got {type(predicate).__name__}")
    check = name or getattr(predicate, "__name__", None) or "result check"
    if check == "<lambda>":
        check = "result check"
    options = _options(routing, destinations, severity, title, message, tags, fields, budget, api)
    return AlertHook(
        "alert_on_result",
        _on_result,
        options,
        predicate=predicate,
        check=check,
        event=event,
        resolve=resolve,
        default_severity=Severity.WARNING,
    )


# durations -------------------------------------------------------------------------------------------------
def _on_sla(hook: AlertHook, call: HookCall) -> None:
    state = call.state
    if not state.is_final() or state.name == "Cached":
        return
    limit: timedelta = hook.settings["max_duration"]
    duration = run_duration(call.run, state)
    if duration is None or duration <= limit:
        return
    event = hook.settings["event"] or ("sla_violation" if call.kind == "flow" else "task_slow")
    what = "Flow" if call.kind == "flow" else "Task"
    over = duration - limit
    hook.send(
        call,
        _alert(
            hook,
            call,
            event,
            title=f"{what} '{call.name}' took {format_duration(duration)} (limit {format_duration(limit)})",
            message=f"Finished {state.name} after {format_duration(duration)}: {format_duration(over)} over "
            f"the {format_duration(limit)} limit.",
            fields={"limit": limit, "over by": over},
        ),
    )


def sla(
    max_duration: timedelta | float | int | str,
    routing: Any = None,
    destinations: Destinations = None,
    *,
    severity: Severity | str | None = None,
    event: str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    budget: float | timedelta | None = None,
    api: bool = True,
) -> AlertHook:
    """A hook that alerts when a run ends later than ``max_duration`` after it started: ``sla_violation`` for
    flows, ``task_slow`` for tasks (warning unless ``severity`` says otherwise).

    ``max_duration`` is a timedelta, seconds, or ``"90s"``, ``"30m"``, ``"1h"``, ``"1d"``. Attach it where the
    run ends: ``on_completion`` and ``on_failure`` (``with_alerts(flow, max_duration=...)`` does both). It
    fires when the run ends; a run that never ends needs the SLA monitor instead.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.hooks import sla

        late = sla("30m", destinations=["slack:ops-alerts"])

        @flow(on_completion=[late], on_failure=[late])
        def nightly():
            ...
        ```
    """
    from prefect_alerts.routing import parse_duration

    limit = parse_duration(max_duration)
    options = _options(routing, destinations, severity, title, message, tags, fields, budget, api)
    return AlertHook(
        "sla",
        _on_sla,
        options,
        max_duration=limit,
        event=event,
    )
