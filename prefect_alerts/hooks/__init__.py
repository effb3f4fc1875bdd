"""State hooks for flows and tasks: one line gets the right people told, once, with the context to act.

- Factories: :func:`alert_on_failure`, :func:`alert_on_crashed`, :func:`alert_on_cancellation`,
  :func:`alert_on_completion` (resolves what earlier runs left firing), :func:`alert_on_result` (checks a
  return value), :func:`sla` (a run that ends too late), and :func:`with_alerts` (the usual set at once).
- Building blocks: :func:`build_flow_alert` / :func:`build_task_alert` (the alert a hook would send),
  :func:`state_error` (the exception, message and traceback of a state, safe in sync and async hooks),
  :func:`classify_error` (the suggested action), :func:`redact_parameters`.

Example:
    ```python
    from prefect import flow
    from prefect_alerts.hooks import with_alerts

    @flow
    def nightly():
        ...

    with_alerts(nightly, destinations=["slack:oncall"], max_duration="1h")
    ```
"""

from prefect_alerts.hooks.attach import with_alerts
from prefect_alerts.hooks.build import (
    DEFAULT_SEVERITIES,
    RUN_HEALTH_EVENTS,
    build_flow_alert,
    build_task_alert,
    event_for_state,
)
from prefect_alerts.hooks.classify import ERROR_CLASSES, ErrorClass, classify_error
from prefect_alerts.hooks.factories import (
    alert_on_cancellation,
    alert_on_completion,
    alert_on_crashed,
    alert_on_failure,
    alert_on_result,
    sla,
)
from prefect_alerts.hooks.hook import AlertHook, AsyncAlertHook, HookOptions
from prefect_alerts.hooks.redaction import redact_parameters, redact_text
from prefect_alerts.hooks.result import ResultProblem
from prefect_alerts.hooks.state import StateError, state_error, state_result

__all__ = [
    "DEFAULT_SEVERITIES",
    "ERROR_CLASSES",
    "RUN_HEALTH_EVENTS",
    "AlertHook",
    "AsyncAlertHook",
    "ErrorClass",
    "HookOptions",
    "ResultProblem",
    "StateError",
    "alert_on_cancellation",
    "alert_on_completion",
    "alert_on_crashed",
    "alert_on_failure",
    "alert_on_result",
    "build_flow_alert",
    "build_task_alert",
    "classify_error",
    "event_for_state",
    "redact_parameters",
    "redact_text",
    "sla",
    "state_error",
    "state_result",
    "with_alerts",
]
