"""Build the :class:`~prefect_alerts.Alert` for a flow or task run from what a state hook receives.

The alert carries what someone woken at 3 a.m. needs: what failed and how (event, exception, traceback
tail), where (flow, run, deployment, task, the UI link), with what (redacted parameters, tags, attempt,
duration), what else went wrong (failed tasks, the run's last ERROR log lines) and what to try first (the
suggested action from :mod:`prefect_alerts.hooks.classify`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prefect_alerts.alert import Alert, Link, Severity, Source
from prefect_alerts.channels.text import format_duration, truncate
from prefect_alerts.hooks.classify import ErrorClass, classify_error
from prefect_alerts.hooks.context import api_failed_task_runs, deployment_name, run_duration, run_url
from prefect_alerts.hooks.logs import install_log_capture, log_buffer
from prefect_alerts.hooks.redaction import format_parameters, redact_text
from prefect_alerts.hooks.state import StateError, state_error

__all__ = [
    "DEFAULT_SEVERITIES",
    "RUN_HEALTH_EVENTS",
    "RunFacts",
    "build_flow_alert",
    "build_task_alert",
    "event_for_state",
    "flow_facts",
    "task_facts",
]

DEFAULT_SEVERITIES: dict[str, Severity] = {
    "flow_failed": Severity.ERROR,
    "flow_timeout": Severity.ERROR,
    "flow_crashed": Severity.CRITICAL,
    "flow_cancelled": Severity.WARNING,
    "task_failed": Severity.ERROR,
    "task_slow": Severity.WARNING,
    "sla_violation": Severity.WARNING,
    "result_check_failed": Severity.WARNING,
    "flow_completed": Severity.SUCCESS,
    "task_completed": Severity.SUCCESS,
}
"""The severity of each event the hooks send, unless a factory is given ``severity=``."""

RUN_HEALTH_EVENTS: tuple[str, ...] = (
    "flow_failed",
    "flow_timeout",
    "flow_crashed",
    "flow_cancelled",
    "task_failed",
    "task_slow",
    "sla_violation",
)
"""What a later successful run resolves (check alerts such as ``drift_detected`` are about data, not runs)."""

# Whoever builds alerts from runs wants their ERROR lines: capture from the moment this is imported (the
# factories install it too, for code that imports them lazily).
install_log_capture()

LOG_LINES = 5
"""ERROR log lines shown in an alert (the buffer keeps more)."""
FAILED_TASKS_SHOWN = 5
# Task runners that run tasks in this process, where the in-process record of failed tasks is complete.
_LOCAL_TASK_RUNNERS = ("ThreadPoolTaskRunner",)

_VERBS = {
    "flow_failed": "failed",
    "flow_timeout": "timed out",
    "flow_crashed": "crashed",
    "flow_cancelled": "was cancelled",
    "flow_completed": "completed",
    "task_failed": "failed",
    "task_completed": "completed",
    "sla_violation": "ran past its time limit",
    "task_slow": "is slow",
    "result_check_failed": "returned a bad result",
}


def event_for_state(state: Any, *, task: bool = False) -> str:
    """The event a final state stands for: ``flow_timeout`` for ``TimedOut``, ``flow_crashed``, ...

    >>> from prefect.states import Failed
    >>> event_for_state(Failed(name="TimedOut"))
    'flow_timeout'
    """
    if task:
        if state.is_completed():
            return "task_completed"
        return "task_failed"
    if state.is_completed():
        return "flow_completed"
    if state.is_crashed():
        return "flow_crashed"
    if state.is_cancelled() or state.is_cancelling():
        return "flow_cancelled"
    if state.name == "TimedOut":
        return "flow_timeout"
    return "flow_failed"


@dataclass
class RunFacts:
    """What is known about one run, gathered once and turned into an alert."""

    kind: str  # "flow" or "task"
    name: str  # the flow or task name
    run_name: str | None
    source: Source
    parameters: Mapping[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    attempt: int | None = None
    max_attempts: int | None = None
    duration: timedelta | None = None
    failed_tasks: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    error: StateError | None = None
    state_name: str = ""

    @property
    def attempt_text(self) -> str | None:
        if self.attempt is None:
            return None
        if self.max_attempts and self.max_attempts > 1:
            return f"{self.attempt} of {self.max_attempts}"
        return str(self.attempt)


def _links(run: Any, label: str) -> list[Link]:
    url = run_url(run)
    if not url:
        return []
    try:
        return [Link(label=label, url=url)]
    except ValueError:
        return []


def _local_task_runner(flow_run_id: object) -> bool:
    """The run being described is the one running here, on a task runner whose in-process record is complete
    (the aggregator describing another machine's run must ask the API)."""
    try:
        from prefect.context import FlowRunContext

        context = FlowRunContext.get()
    except Exception:
        return False
    if context is None or getattr(getattr(context, "flow_run", None), "id", None) != flow_run_id:
        return False
    runner = getattr(context, "task_runner", None)
    return runner is not None and type(runner).__name__ in _LOCAL_TASK_RUNNERS


def flow_facts(flow: Any, flow_run: Any, state: Any, *, api: bool = True) -> RunFacts:
    """Everything an alert about this flow run says (API reads bounded; ``api=False`` skips them)."""
    deployment_id = getattr(flow_run, "deployment_id", None)
    deployment = deployment_name(deployment_id) if api and deployment_id else None
    flow_name = getattr(flow, "name", None) or getattr(flow_run, "flow_name", None) or "flow"
    error = state_error(state)
    failed: list[str] = []
    if error is not None and state.is_failed():
        failed = log_buffer().failed_tasks(flow_run.id)
        if not failed and api and not _local_task_runner(flow_run.id):
            failed = api_failed_task_runs(flow_run.id)
    retries = getattr(flow, "retries", None) or 0
    return RunFacts(
        kind="flow",
        name=flow_name,
        run_name=getattr(flow_run, "name", None),
        source=Source(
            flow_name=flow_name,
            flow_run_id=str(flow_run.id),
            flow_run_name=getattr(flow_run, "name", None),
            deployment_name=deployment,
            deployment_id=str(deployment_id) if deployment_id else None,
            work_pool_name=getattr(flow_run, "work_pool_name", None),
        ),
        parameters=getattr(flow_run, "parameters", None) or {},
        tags=list(getattr(flow_run, "tags", None) or []),
        attempt=getattr(flow_run, "run_count", None) or None,
        max_attempts=retries + 1 if retries else None,
        duration=run_duration(flow_run, state),
        failed_tasks=failed,
        log_lines=[str(line) for line in log_buffer().lines(flow_run.id, limit=LOG_LINES)],
        links=_links(flow_run, "Flow run"),
        error=error,
        state_name=str(getattr(state, "name", "") or ""),
    )


def task_facts(task: Any, task_run: Any, state: Any, *, api: bool = True) -> RunFacts:
    """Everything an alert about this task run says; the flow comes from the run context it ran in."""
    from prefect.context import FlowRunContext, TaskRunContext

    flow_context = FlowRunContext.get()
    flow_run = getattr(flow_context, "flow_run", None)
    if flow_run is not None and task_run.flow_run_id is not None and flow_run.id != task_run.flow_run_id:
        flow_run = None
    flow = getattr(flow_context, "flow", None) if flow_run is not None else None
    deployment_id = getattr(flow_run, "deployment_id", None)
    deployment = deployment_name(deployment_id) if api and deployment_id else None
    task_context = TaskRunContext.get()
    parameters: Mapping[str, Any] = {}
    if task_context is not None and task_context.task_run.id == task_run.id:
        parameters = task_context.parameters or {}
    retries = getattr(task, "retries", None) or 0
    links = _links(task_run, "Task run") + (_links(flow_run, "Flow run") if flow_run is not None else [])
    flow_run_id = task_run.flow_run_id
    return RunFacts(
        kind="task",
        name=getattr(task, "name", None) or "task",
        run_name=getattr(task_run, "name", None),
        source=Source(
            flow_name=getattr(flow, "name", None),
            flow_run_id=str(flow_run_id) if flow_run_id else None,
            flow_run_name=getattr(flow_run, "name", None),
            deployment_name=deployment,
            deployment_id=str(deployment_id) if deployment_id else None,
            task_name=getattr(task, "name", None),
            task_run_id=str(task_run.id),
            task_run_name=getattr(task_run, "name", None),
            work_pool_name=getattr(flow_run, "work_pool_name", None),
        ),
        parameters=parameters,
        tags=list(getattr(task_run, "tags", None) or []),
        attempt=getattr(task_run, "run_count", None) or None,
        max_attempts=retries + 1 if retries else None,
        duration=run_duration(task_run, state),
        log_lines=[
            str(line)
            for line in (
                log_buffer().lines(flow_run_id, task_run_id=task_run.id, limit=LOG_LINES)
                if flow_run_id
                else []
            )
        ],
        links=links,
        error=state_error(state),
        state_name=str(getattr(state, "name", "") or ""),
    )


def _title(facts: RunFacts, event: str, error: StateError | None) -> str:
    what = f"{'Flow' if facts.kind == 'flow' else 'Task'} '{facts.name}'"
    if facts.source.deployment_name and facts.kind == "flow":
        what += f" ({facts.source.deployment_name})"
    verb = _VERBS.get(event, event.replace("_", " "))
    title = f"{what} {verb}"
    if event == "flow_timeout" and facts.duration is not None:
        title += f" after {format_duration(facts.duration)}"
    elif event in ("flow_failed", "task_failed") and error is not None:
        if facts.kind == "task" and facts.attempt and facts.attempt > 1:
            title += f" after {facts.attempt} attempts"
        title += f": {error.type}"
    return truncate(title, 150, "…")


def _message(
    facts: RunFacts,
    error: StateError | None,
    error_class: ErrorClass | None,
    lead: str | None,
    typed_title: bool = False,
) -> str:
    parts: list[str] = []
    if lead:
        parts.append(lead)
    if error is not None:
        # The generated title already names the type ("... failed: ValueError"): lead with the message.
        first = error.message if typed_title and error.message else error.summary
        parts.append(truncate(first, 500, "…"))
    if error_class is not None:
        parts.append(f"Suggested action: {error_class.suggestion}")
    if facts.log_lines:
        parts.append("Last ERROR logs:\n" + "\n".join(f"  {line}" for line in facts.log_lines))
    if error is not None and error.traceback:
        parts.append("Traceback (last lines):\n" + "\n".join(f"  {line}" for line in error.traceback))
    return "\n".join(parts)


def _fields(facts: RunFacts, error: StateError | None, error_class: ErrorClass | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if facts.kind == "task" and facts.run_name:
        fields["task run"] = facts.run_name
    if facts.source.flow_run_name:
        fields["flow run"] = facts.source.flow_run_name
    if facts.source.deployment_name:
        fields["deployment"] = facts.source.deployment_name
    if error is not None:
        fields["error"] = error.type
    if error_class is not None:
        fields["cause"] = error_class.label
    if facts.attempt_text:
        fields["attempt"] = facts.attempt_text
    if facts.duration is not None:
        fields["duration"] = facts.duration
    if facts.failed_tasks:
        shown = facts.failed_tasks[:FAILED_TASKS_SHOWN]
        more = len(facts.failed_tasks) - len(shown)
        fields["failed tasks"] = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    if facts.parameters:
        fields["parameters"] = format_parameters(facts.parameters)
    return fields


def alert_from_facts(
    facts: RunFacts,
    event: str,
    *,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    dedup_key: str | None = None,
    error_class: ErrorClass | None = None,
) -> Alert:
    """The alert for ``facts``: ``message`` leads the body, ``fields`` come after the run's own.

    ``error_class`` replaces the classification of the error (its cause and suggested action) when the caller
    knows better than the message does (the sweeper, for a run that never started)."""
    error = facts.error if event not in ("flow_completed", "task_completed") else None
    if error_class is None and error is not None:
        error_class = classify_error(error)
    all_fields = _fields(facts, error, error_class)
    for key, value in (fields or {}).items():
        all_fields[str(key)] = value
    generated = _title(facts, event, error)
    typed_title = title is None and error is not None and generated.endswith(f": {error.type}")
    values: dict[str, Any] = {
        "title": title or generated,
        "message": _message(
            facts, error, error_class, redact_text(message) if message else None, typed_title
        ),
        "severity": Severity(severity)
        if severity is not None
        else DEFAULT_SEVERITIES.get(event, Severity.ERROR),
        "event": event,
        "fields": all_fields,
        "tags": [*facts.tags, *tags],
        "links": facts.links,
        "source": facts.source,
        "error_type": error.type if error is not None and event != "flow_cancelled" else None,
    }
    if dedup_key:
        values["dedup_key"] = dedup_key
    return Alert(**values)


def build_flow_alert(
    flow: Any,
    flow_run: Any,
    state: Any,
    event: str | None = None,
    *,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    api: bool = True,
) -> Alert:
    """The alert for a flow run's state: the event follows the state unless given (``flow_failed``,
    ``flow_timeout``, ``flow_crashed``, ``flow_cancelled``, ``flow_completed``).

    Example:
        ```python
        from prefect import flow
        from prefect_alerts import send_alert
        from prefect_alerts.hooks import build_flow_alert

        def page(flow, flow_run, state):
            alert = build_flow_alert(flow, flow_run, state, message="The 03:00 load feeds the morning report")
            send_alert(alert, destinations=["slack:oncall"])

        @flow(on_failure=[page])
        def nightly():
            raise ValueError("bad row 12")
        ```
    """
    facts = flow_facts(flow, flow_run, state, api=api)
    return alert_from_facts(
        facts,
        event or event_for_state(state),
        severity=severity,
        title=title,
        message=message,
        tags=tags,
        fields=fields,
    )


def build_task_alert(
    task: Any,
    task_run: Any,
    state: Any,
    event: str | None = None,
    *,
    severity: Severity | str | None = None,
    title: str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    api: bool = True,
) -> Alert:
    """The alert for a task run's state (``task_failed`` unless ``event`` is given).

    Example:
        ```python
        from prefect import task
        from prefect_alerts import send_alert
        from prefect_alerts.hooks import build_task_alert

        def page(task, task_run, state):
            send_alert(build_task_alert(task, task_run, state), destinations=["slack:oncall"])

        @task(retries=2, on_failure=[page])
        def load():
            raise ConnectionRefusedError(111, "Connection refused")
        ```
    """
    facts = task_facts(task, task_run, state, api=api)
    return alert_from_facts(
        facts,
        event or event_for_state(state, task=True),
        severity=severity,
        title=title,
        message=message,
        tags=tags,
        fields=fields,
    )
