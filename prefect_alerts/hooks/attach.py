"""``with_alerts``: one line that gives a flow or task the usual set of alert hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeVar, overload

from prefect_alerts.alert import Severity
from prefect_alerts.hooks.build import RUN_HEALTH_EVENTS
from prefect_alerts.hooks.factories import (
    Destinations,
    alert_on_cancellation,
    alert_on_completion,
    alert_on_crashed,
    alert_on_failure,
    sla,
)
from prefect_alerts.hooks.hook import AlertHook, AsyncAlertHook

__all__ = ["with_alerts"]

F = TypeVar("F")

_MARK = "_prefect_alerts_with_alerts"
_FLOW_LISTS = ("on_failure_hooks", "on_crashed_hooks", "on_cancellation_hooks", "on_completion_hooks")
_TASK_LISTS = ("on_failure_hooks", "on_completion_hooks")


def _is_flow(obj: Any) -> bool:
    from prefect.flows import Flow

    return isinstance(obj, Flow)


def _is_task(obj: Any) -> bool:
    from prefect.tasks import Task

    return isinstance(obj, Task)


def _mark(hook: AlertHook, is_async: bool) -> AlertHook | AsyncAlertHook:
    chosen: AlertHook | AsyncAlertHook = hook.as_async() if is_async else hook
    setattr(chosen, _MARK, True)
    return chosen


def _attach(obj: Any, attribute: str, hooks: list[Any]) -> None:
    # A new list, never an in-place append: in prefect 3.8 `with_options` copies share the hook lists, so
    # appending would add our hooks to every copy of the flow as well.
    existing = [hook for hook in getattr(obj, attribute, None) or [] if not getattr(hook, _MARK, False)]
    setattr(obj, attribute, [*existing, *hooks])


@overload
def with_alerts(flow_or_task: F, /, **options: Any) -> F: ...


@overload
def with_alerts(flow_or_task: None = None, /, **options: Any) -> Callable[[F], F]: ...


def with_alerts(
    flow_or_task: Any = None,
    /,
    routing: Any = None,
    destinations: Destinations = None,
    *,
    max_duration: timedelta | float | int | str | None = None,
    notify_success: bool = False,
    success_message: str | None = None,
    resolve: bool = True,
    resolve_events: Iterable[str] = RUN_HEALTH_EVENTS,
    severity: Severity | str | None = None,
    message: str | None = None,
    tags: Iterable[str] = (),
    fields: Mapping[str, Any] | None = None,
    budget: float | timedelta | None = None,
    api: bool = True,
) -> Any:
    """Attach the usual alert hooks to a flow or task and return it (the same object).

    - A flow gets :func:`alert_on_failure` (failures and timeouts), :func:`alert_on_crashed`,
      :func:`alert_on_cancellation`, and :func:`alert_on_completion` (resolves what earlier runs left
      firing; ``notify_success`` also says so every time).
    - A task gets :func:`alert_on_failure` (once, after the last retry), and :func:`alert_on_completion`
      only when ``notify_success`` is set.
    - ``max_duration`` adds :func:`sla` on completion and failure (``sla_violation``, ``task_slow``).

    The flow's or task's own hooks are kept, and calling ``with_alerts`` again replaces the hooks it added
    before rather than adding a second set. Async flows and tasks get the async form of each hook, so their
    event loop does not wait on delivery. Usable as ``with_alerts(flow, ...)`` or as a decorator
    ``@with_alerts(destinations=[...])`` above ``@flow``.

    Args:
        routing, destinations, severity, message, tags, fields, budget, api: Passed to every hook (see
            :func:`alert_on_failure`); ``severity`` then applies to every event.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.hooks import with_alerts

        @flow(retries=1)
        def nightly():
            ...

        nightly = with_alerts(nightly, routing="alerts.yaml", max_duration="1h")
        ```
    """
    common: dict[str, Any] = {
        "routing": routing,
        "destinations": destinations,
        "severity": severity,
        "message": message,
        "tags": tags,
        "fields": fields,
        "budget": budget,
        "api": api,
    }

    def apply(obj: F) -> F:
        if _is_flow(obj):
            is_async = bool(getattr(obj, "isasync", False))
            completion = alert_on_completion(
                notify_success=notify_success,
                success_message=success_message,
                resolve=resolve,
                resolve_events=resolve_events,
                **common,
            )
            late = [_mark(sla(max_duration, **common), is_async)] if max_duration is not None else []
            _attach(obj, "on_failure_hooks", [_mark(alert_on_failure(**common), is_async), *late])
            _attach(obj, "on_crashed_hooks", [_mark(alert_on_crashed(**common), is_async)])
            _attach(obj, "on_cancellation_hooks", [_mark(alert_on_cancellation(**common), is_async)])
            # The SLA check runs before the resolve, so a slow run's own alert is not resolved by it.
            _attach(obj, "on_completion_hooks", [*late, _mark(completion, is_async)])
            return obj
        if _is_task(obj):
            is_async = bool(getattr(obj, "isasync", False))
            late = [_mark(sla(max_duration, **common), is_async)] if max_duration is not None else []
            _attach(obj, "on_failure_hooks", [_mark(alert_on_failure(**common), is_async), *late])
            completion = []
            if notify_success:
                completion = [
                    _mark(
                        alert_on_completion(
                            notify_success=True,
                            success_message=success_message,
                            resolve=resolve,
                            resolve_events=resolve_events,
                            **common,
                        ),
                        is_async,
                    )
                ]
            _attach(obj, "on_completion_hooks", [*late, *completion])
            return obj
        raise TypeError(
            f"with_alerts() takes a Prefect flow or task, got {type(obj).__name__}; "
            "apply it to the object @flow or @task returns"
        )

    if flow_or_task is None:
        return apply
    return apply(flow_or_task)
