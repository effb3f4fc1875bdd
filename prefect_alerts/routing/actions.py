"""Actions a route takes besides telling people: run a deployment, pause a deployment's schedule.

```yaml
routes:
  - name: drift
    match: {event: drift_detected}
    destinations: [slack:ml]
    actions:
      - run_deployment:
          deployment: retrain/nightly              # flow-name/deployment-name
          parameters: {model: "{fields.model}", reason: "{title}"}
  - name: etl
    match: {flow: "etl-*", event: flow_failed}
    destinations: [slack:etl]
    actions:
      - pause_schedule: {after_failures: 3}        # the alert's own deployment, after 3 failed runs in a row
```

A parameter value may name parts of the alert: ``{event}``, ``{severity}``, ``{title}``, ``{dedup_key}``,
``{flow}``, ``{deployment}``, ``{flow_run_id}``, ``{task}``, ``{fields.<name>}``. A value that is exactly one
placeholder keeps the part's type (a number stays a number); inside other text it is formatted as text.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from prefect_alerts.alert import Alert
from prefect_alerts.routing.base import ConfigModel

__all__ = ["PLACEHOLDERS", "Action", "PauseScheduleAction", "RunDeploymentAction", "parse_actions", "render"]

PLACEHOLDERS = ("event", "severity", "title", "dedup_key", "flow", "deployment", "flow_run_id", "task")
"""What ``{...}`` may name in a parameter, besides ``fields.<name>``."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[^{}]+)?)\}")


def _check_template(value: Any, where: str) -> None:
    if isinstance(value, str):
        for name in _PLACEHOLDER.findall(value):
            if name not in PLACEHOLDERS and not (name.startswith("fields.") and len(name) > 7):
                allowed = ", ".join(f"{{{item}}}" for item in PLACEHOLDERS)
                raise ValueError(
                    f"{where}: unknown placeholder {{{name}}}; use {allowed} or {{fields.<name>}}"
                )
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_template(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_template(item, f"{where}[{index}]")


def _part(alert: Alert, name: str) -> Any:
    source = alert.source
    parts = {
        "event": alert.event,
        "severity": alert.severity.value,
        "title": alert.title,
        "dedup_key": alert.dedup_key,
        "flow": source.flow_name,
        "deployment": source.deployment_name,
        "flow_run_id": source.flow_run_id,
        "task": source.task_name,
    }
    if name.startswith("fields."):
        field = name[7:]
        if field not in alert.fields:
            raise KeyError(
                f"the alert has no field {field!r} (it has: {', '.join(map(str, alert.fields)) or 'none'})"
            )
        return alert.fields[field]
    return parts[name]


def render(value: Any, alert: Alert) -> Any:
    """``value`` (a parameter from the config) with the alert's parts put in for its placeholders.

        >>> render({"model": "{fields.model}", "why": "{event} on {flow}"}, Alert(title="x",
        ...     event="drift_detected", fields={"model": "churn"}))
        {'model': 'churn', 'why': 'drift_detected on None'}

    Raises:
        KeyError: a ``{fields.<name>}`` the alert does not have.
    """
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return _part(alert, whole.group(1))
        return _PLACEHOLDER.sub(lambda match: str(_part(alert, match.group(1))), value)
    if isinstance(value, dict):
        return {key: render(item, alert) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, alert) for item in value]
    return value


class RunDeploymentAction(ConfigModel):
    """Start a run of a deployment, with parameters taken from the alert (retrain on drift, backfill on a
    volume anomaly). The run is created and left to its work pool; the action does not wait for it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["run_deployment"] = "run_deployment"
    deployment: str = Field(description="flow-name/deployment-name, e.g. retrain/nightly.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Values may hold {placeholders}.")

    @field_validator("deployment")
    @classmethod
    def _full_name(cls, value: str) -> str:
        value = value.strip()
        if value.count("/") != 1 or not all(part.strip() for part in value.split("/")):
            raise ValueError(f"deployment is flow-name/deployment-name, e.g. retrain/nightly; got {value!r}")
        return value

    @model_validator(mode="after")
    def _templates(self) -> RunDeploymentAction:
        _check_template(self.parameters, "parameters")
        return self

    @property
    def key(self) -> str:
        """What outcomes name it: ``action:run_deployment:retrain/nightly``."""
        return f"action:run_deployment:{self.deployment}"


class PauseScheduleAction(ConfigModel):
    """Pause a deployment's schedule once its last ``after_failures`` runs all failed (or crashed), so a
    broken job stops piling up failed runs until someone fixes it and resumes it."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["pause_schedule"] = "pause_schedule"
    deployment: str | None = Field(
        default=None, description="flow-name/deployment-name; default: the alert's own deployment."
    )
    after_failures: int = Field(default=3, ge=1, description="Failed runs in a row before pausing.")

    @property
    def key(self) -> str:
        return f"action:pause_schedule:{self.deployment or '(its deployment)'}"


Action = RunDeploymentAction | PauseScheduleAction

_KINDS: dict[str, type[RunDeploymentAction] | type[PauseScheduleAction]] = {
    "run_deployment": RunDeploymentAction,
    "pause_schedule": PauseScheduleAction,
}


def parse_actions(value: Any) -> list[Action]:
    """A route's ``actions:`` list: each item ``{run_deployment: {...}}``, ``{run_deployment: NAME}``,
    ``{pause_schedule: {...}}`` or ``{kind: ..., ...}``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("actions is a list, e.g. [{run_deployment: {deployment: retrain/nightly}}]")
    actions: list[Action] = []
    for index, item in enumerate(value):
        if isinstance(item, (RunDeploymentAction, PauseScheduleAction)):
            actions.append(item)
            continue
        if not isinstance(item, dict):
            raise ValueError(
                f"actions[{index}] is a mapping such as {{pause_schedule: {{after_failures: 3}}}}"
            )
        if "kind" in item:
            kind, body = item["kind"], {key: v for key, v in item.items() if key != "kind"}
        elif len(item) == 1:
            kind, body = next(iter(item.items()))
            if kind == "run_deployment" and isinstance(body, str):
                body = {"deployment": body}
            body = {} if body is None else body
        else:
            raise ValueError(f"actions[{index}] names one action, e.g. {{run_deployment: {{...}}}}")
        model = _KINDS.get(kind)
        if model is None:
            raise ValueError(f"actions[{index}]: unknown action {kind!r}; use one of: {', '.join(_KINDS)}")
        if not isinstance(body, dict):
            raise ValueError(f"actions[{index}].{kind} is a mapping of its settings")
        try:
            actions.append(model.model_validate(body))
        except ValueError as exc:
            raise ValueError(f"actions[{index}].{kind}: {_first_error(exc)}") from None
    return actions


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)
