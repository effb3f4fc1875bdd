"""SLA rules: what the SLA monitor holds flows and deployments to, named and shaped like Prefect Cloud's SLAs.

The routing file's top-level ``slas:`` list; in Python, :mod:`prefect_alerts.sla`. Each rule names the flows
(``flow:``) and/or deployments (``deployment:``, ``flow-name/deployment-name`` or the bare name) it covers, as
globs, and a ``severity`` (default error). A violation is an alert with event ``sla_violation``, routed like
any other; it resolves when the flow or run is back within the limit.

Example:
    ```yaml
    slas:
      - {type: time_to_completion, deployment: "*/nightly", duration: 1h}   # running too long: stuck
      - {type: lateness, flow: "etl-*", within: 10m, severity: error}      # a scheduled run that has not started
      - {type: frequency, deployment: "reports/daily", stale_after: 1d}    # no Completed run for a day
      - {type: max_failures, flow: "etl-*", max_failures: 2, window: 1d}   # more than 2 failed runs in a day
      - {type: success_rate, flow: "*", min_success_rate: 0.95, window: 7d}
    ```
"""

from __future__ import annotations

import hashlib
import re
from abc import abstractmethod
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from prefect_alerts.alert import Severity
from prefect_alerts.routing.base import ConfigModel
from prefect_alerts.routing.durations import format_duration, parse_duration
from prefect_alerts.routing.match import compile_globs

__all__ = [
    "SLA_CLASSES",
    "SLA_TYPES",
    "FrequencySla",
    "LatenessSla",
    "MaxFailuresSla",
    "Sla",
    "SlaRule",
    "SuccessRateSla",
    "TimeToCompletionSla",
]

SLA_TYPES = ("time_to_completion", "lateness", "frequency", "max_failures", "success_rate")
_LABELS = {
    "time_to_completion": "time to completion",
    "lateness": "lateness",
    "frequency": "freshness",
    "max_failures": "failures",
    "success_rate": "success rate",
}


def _globs(value: Any) -> Any:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ValueError(f"expected a glob or a non-empty list of globs, e.g. 'etl-*', got {value!r}")
    cleaned = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"each item must be a non-empty glob such as 'etl-*', got {item!r}")
        cleaned.append(item.strip())
    return cleaned


class SlaRule(ConfigModel):
    """What every SLA rule has: the flows or deployments it covers, its severity, its name."""

    model_config = ConfigDict(extra="forbid")

    flow: list[str] | None = Field(default=None, description="Globs on the flow name.")
    deployment: list[str] | None = Field(
        default=None, description="Globs on 'flow-name/deployment-name' (or the bare deployment name)."
    )
    severity: Severity = Field(default=Severity.ERROR, description="The violation alert's severity.")
    name: str | None = Field(default=None, description="Shown in the alert; default: the type and scope.")
    tags: list[str] = Field(default_factory=list, description="Extra tags on the violation alert.")

    _flow: re.Pattern[str] | None = PrivateAttr(default=None)
    _deployment: re.Pattern[str] | None = PrivateAttr(default=None)

    @field_validator("flow", "deployment", mode="before")
    @classmethod
    def _check_globs(cls, value: Any) -> Any:
        return _globs(value)

    @field_validator("duration", "within", "stale_after", "window", mode="before", check_fields=False)
    @classmethod
    def _parse_durations(cls, value: Any) -> Any:
        return value if isinstance(value, timedelta) else parse_duration(value)

    @field_validator("duration", "within", "stale_after", "window", check_fields=False)
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s, e.g. 1h")
        return value

    @model_validator(mode="after")
    def _scoped(self) -> SlaRule:
        if self.flow is None and self.deployment is None:
            raise ValueError(
                "an SLA names the flows or deployments it covers: add flow: 'etl-*' or deployment: '*/nightly' "
                "(flow: '*' for every flow)"
            )
        self._flow = compile_globs(self.flow)
        self._deployment = compile_globs(self.deployment)
        return self

    # ------------------------------------------------------------------ scope
    @property
    def per_deployment(self) -> bool:
        """True: judged per deployment (a ``deployment:`` glob); False: per flow."""
        return self.deployment is not None

    def covers(self, flow_name: str, deployment_name: str | None = None) -> bool:
        """Whether a run of ``flow_name`` (from ``deployment_name``, if any) falls under this rule."""
        if self._flow is not None and not self._flow.fullmatch(flow_name):
            return False
        if self._deployment is not None:
            if not deployment_name:
                return False
            full = f"{flow_name}/{deployment_name}"
            return bool(self._deployment.fullmatch(full) or self._deployment.fullmatch(deployment_name))
        return True

    @property
    def title(self) -> str:
        """The rule's name, or e.g. ``lateness 10m on deployment */nightly``."""
        if self.name:
            return self.name
        scope = (
            f"deployment {', '.join(self.deployment)}"
            if self.deployment
            else f"flow {', '.join(self.flow or [])}"
        )
        label = _LABELS[self.type]  # type: ignore[attr-defined]
        return f"{label} {self.limit_text} on {scope}"

    @property
    def key(self) -> str:
        """Stable across runs of the monitor: the rule as written (its open violations are found by it)."""
        text = self.model_dump_json(exclude={"severity", "tags", "name"})
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    @abstractmethod
    def limit_text(self) -> str:
        """The limit as the alert states it (``1h``, ``at most 2 per 1d``); each rule type says its own."""


class TimeToCompletionSla(SlaRule):
    """A run still running ``duration`` after it started is stuck (Prefect Cloud's ``TimeToCompletionSla``).

    Example:
        ```python
        from prefect_alerts.sla import TimeToCompletionSla

        TimeToCompletionSla(deployment="*/nightly", duration="1h")
        ```
    """

    type: Literal["time_to_completion"] = "time_to_completion"
    duration: timedelta = Field(description="How long a run may run.")

    @property
    def limit_text(self) -> str:
        return format_duration(self.duration)


class LatenessSla(SlaRule):
    """A scheduled run that has not started ``within`` of its expected start is late (``LatenessSla``)."""

    type: Literal["lateness"] = "lateness"
    within: timedelta = Field(description="How long after its scheduled time a run must have started.")

    @property
    def limit_text(self) -> str:
        return format_duration(self.within)


class FrequencySla(SlaRule):
    """No Completed run within ``stale_after`` means the data is stale (``FrequencySla``: freshness)."""

    type: Literal["frequency"] = "frequency"
    stale_after: timedelta = Field(description="How long since the last Completed run is still fresh.")

    @property
    def limit_text(self) -> str:
        return format_duration(self.stale_after)


class MaxFailuresSla(SlaRule):
    """More than ``max_failures`` failed (or crashed) runs within ``window`` (default a day) is a violation."""

    type: Literal["max_failures"] = "max_failures"
    max_failures: int = Field(ge=0, description="Failed or crashed runs allowed within the window.")
    window: timedelta = Field(default=timedelta(days=1), description="The window runs are counted over.")

    @property
    def limit_text(self) -> str:
        return f"at most {self.max_failures} per {format_duration(self.window)}"


class SuccessRateSla(SlaRule):
    """Completed runs / finished runs within ``window`` (default 7 days) below ``min_success_rate``.

    Judged only once at least ``min_runs`` runs finished in the window (default 3: one failed run of a daily job
    is its own alert, not a 0% success rate).
    """

    type: Literal["success_rate"] = "success_rate"
    min_success_rate: float = Field(gt=0, le=1, description="The lowest acceptable share, e.g. 0.95.")
    window: timedelta = Field(default=timedelta(days=7), description="The window runs are counted over.")
    min_runs: int = Field(default=3, ge=1, description="Finished runs needed before the rate is judged.")

    @field_validator("min_success_rate", mode="before")
    @classmethod
    def _a_share(cls, value: Any) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < value <= 100:
            raise ValueError(f"a share between 0 and 1: write {value / 100:g} for {value:g}%")
        return value

    @property
    def limit_text(self) -> str:
        return f"at least {self.min_success_rate:.0%} over {format_duration(self.window)}"


Sla = Annotated[
    TimeToCompletionSla | LatenessSla | FrequencySla | MaxFailuresSla | SuccessRateSla,
    Field(discriminator="type"),
]
"""One SLA rule; ``type`` picks the kind."""

SLA_CLASSES: dict[str, type[SlaRule]] = {
    "time_to_completion": TimeToCompletionSla,
    "lateness": LatenessSla,
    "frequency": FrequencySla,
    "max_failures": MaxFailuresSla,
    "success_rate": SuccessRateSla,
}
"""The rule class for each ``type``."""
