"""What an ``alert_on_result`` predicate may return, and how each answer becomes an alert.

A predicate looks at a completed run's return value and answers:

- something falsy (``False``, ``None``, ``""``, ``{}``): the result is fine, no alert;
- ``True`` (or another truthy value): alert, with the result itself shown in the fields;
- a string: alert, the string says what is wrong ("no matches", "confidence 0.42 below 0.7");
- a mapping: alert, the mapping holds the offending values, shown as fields
  (``{"rows": 0, "expected at least": 1}``);
- a :class:`ResultProblem`: alert, with full control (message, fields, severity, title).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.hooks.redaction import redact_text

if TYPE_CHECKING:
    from prefect_alerts.hooks.build import RunFacts

__all__ = [
    "RESULT_PREVIEW_LIMIT",
    "ResultProblem",
    "describe_result",
    "problem_from_answer",
    "result_resolved",
]

RESULT_PREVIEW_LIMIT = 200
"""Characters of the return value shown in the ``result`` field."""


class ResultProblem(BaseModel):
    """What is wrong with a result, as a predicate describes it.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.hooks import ResultProblem, alert_on_result

        def confident(result):
            low = [p for p in result if p["confidence"] < 0.7]
            if low:
                return ResultProblem(
                    message=f"{len(low)} predictions below confidence 0.7",
                    fields={"lowest": min(p["confidence"] for p in low), "ids": [p["id"] for p in low][:5]},
                )

        @flow(on_completion=[alert_on_result(confident, destinations=["slack:ml"])])
        def score():
            return [{"id": 1, "confidence": 0.42}]
        ```
    """

    message: str = ""
    fields: dict[str, Any] = Field(default_factory=dict)
    severity: Severity | None = None
    title: str | None = None


def describe_result(value: Any, limit: int = RESULT_PREVIEW_LIMIT) -> str:
    """A short, redacted preview of a return value: ``[] (empty list)``, ``{'matches': 0}``."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    if isinstance(value, (list, tuple, set, dict)) and not value:
        text += f" (empty {type(value).__name__})"
    elif hasattr(value, "__len__") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(Exception):
            text = f"{type(value).__name__} of {len(value):,}: {text}"
    return redact_text(text, limit=limit)


def problem_from_answer(answer: Any, value: Any) -> ResultProblem | None:
    """The problem a predicate's ``answer`` describes about ``value``, or None when the result is fine.

    >>> problem_from_answer("no matches", []).message
    'no matches'
    >>> problem_from_answer(False, [1]) is None
    True
    """
    if isinstance(answer, ResultProblem):
        return answer
    if isinstance(answer, str):
        if not answer.strip():
            return None
        return ResultProblem(message=answer, fields={"result": describe_result(value)})
    if isinstance(answer, Mapping):
        if not answer:
            return None
        return ResultProblem(fields={str(key): item for key, item in answer.items()})
    try:
        truthy = bool(answer)
    except Exception:  # a numpy array and friends: "truthy" is ambiguous, so treat it as a finding
        truthy = True
    if not truthy:
        return None
    return ResultProblem(fields={"result": describe_result(value)})


def result_resolved(alert: Alert, facts: RunFacts, check: str, value: Any) -> Alert:
    """The all-clear for a firing result-check ``alert``, told with the run that passes (``facts``).

    The firing alert comes back from the store with the failed run's fields (its bad value, its run name);
    repeating them would present the old problem as the current state, so the fields are rebuilt. The dedup
    key stays, so the service resolves the same incident.

    >>> from prefect_alerts import Alert, Source
    >>> from prefect_alerts.hooks.build import RunFacts
    >>> firing = Alert(title="Task 'search' result check failed: no matches", event="result_check_failed")
    >>> facts = RunFacts(kind="task", name="search", run_name="search-2", source=Source(task_name="search"))
    >>> resolved = result_resolved(firing, facts, "no_matches", ["row"])
    >>> resolved.fields["result"], resolved.dedup_key == firing.dedup_key
    ("list of 1: ['row']", True)
    """
    fields: dict[str, Any] = {"check": check, "result": describe_result(value)}
    if facts.run_name:
        fields["resolved by"] = facts.run_name
    source = alert.source
    failed_run = source.task_run_name if facts.kind == "task" else source.flow_run_name
    if failed_run and failed_run != facts.run_name:
        fields["failed run"] = failed_run
    if facts.duration is not None:
        fields["duration"] = facts.duration
    return alert.resolved(
        f"Result check {check!r} passes again.",
        fields=fields,
        links=facts.links or alert.links,
        source=facts.source,
    )
