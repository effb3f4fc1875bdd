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
from typing import Any

from pydantic import BaseModel, Field

from prefect_alerts.alert import Severity
from prefect_alerts.hooks.redaction import redact_text

__all__ = ["RESULT_PREVIEW_LIMIT", "ResultProblem", "describe_result", "problem_from_answer"]

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
