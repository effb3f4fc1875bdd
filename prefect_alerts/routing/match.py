"""What a route (or a silence) matches: severity, event, tags, flow and deployment.

Every key given must match; a list matches any of its items; strings are globs (``fnmatch``, case-sensitive:
``*``, ``?``, ``[abc]``). Severity is ``"error"`` (exactly) or ``">=warning"`` (at least).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator

from prefect_alerts.alert import Alert, Severity

__all__ = ["RouteMatch", "SeverityRule"]

_SEVERITIES = ", ".join(member.value for member in Severity)


class SeverityRule(BaseModel):
    """``>=warning`` (at least) or ``error`` (exactly)."""

    model_config = ConfigDict(frozen=True)

    severity: Severity
    at_least: bool

    @classmethod
    def parse(cls, text: str) -> SeverityRule:
        raw = str(text).strip()
        at_least = raw.startswith(">=")
        name = raw[2:].strip() if at_least else raw
        try:
            severity = Severity(name)
        except ValueError:
            raise ValueError(
                f"{text!r} is not a severity rule; write one of {_SEVERITIES} (exactly) or e.g. '>=warning' "
                "(at least)"
            ) from None
        return cls(severity=severity, at_least=at_least)

    def matches(self, severity: Severity) -> bool:
        return severity >= self.severity if self.at_least else severity == self.severity

    def __str__(self) -> str:
        return f"{'>=' if self.at_least else ''}{self.severity.value}"


def _as_list(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [str(item) for item in value]
        if not items:
            raise ValueError("an empty list matches nothing; leave the key out to match everything")
        return items
    raise ValueError(f"expected a glob or a list of globs, got {type(value).__name__}")


def _compile(globs: list[str] | None) -> re.Pattern[str] | None:
    if not globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))


class RouteMatch(BaseModel):
    """Conditions on an alert; every key given must match, an empty match matches every alert.

    Example:
        ```python
        from prefect_alerts import Alert
        from prefect_alerts.routing import RouteMatch

        match = RouteMatch(severity=">=error", event=["flow_*"], tags=["prod"])
        match.matches(Alert(title="x", severity="critical", event="flow_crashed", tags=["prod"]))  # True
        ```
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: list[str] | None = None
    """``"error"`` exactly, ``">=warning"`` at least; a list matches any of its rules."""
    event: list[str] | None = None
    tags: list[str] | None = None
    """The alert has at least one tag matching one of these globs."""
    flow: list[str] | None = None
    deployment: list[str] | None = None
    """Globs on the deployment name, tried on both ``flow/deployment`` and the bare deployment name."""

    _severity_rules: list[SeverityRule] = PrivateAttr(default_factory=list)
    _patterns: dict[str, re.Pattern[str] | None] = PrivateAttr(default_factory=dict)

    @field_validator("severity", "event", "tags", "flow", "deployment", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("severity")
    @classmethod
    def _severity_rules_parse(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            for rule in value:
                SeverityRule.parse(rule)
        return value

    def model_post_init(self, __context: Any) -> None:
        self._severity_rules = [SeverityRule.parse(rule) for rule in self.severity or []]
        self._patterns = {
            name: _compile(getattr(self, name)) for name in ("event", "tags", "flow", "deployment")
        }

    def is_empty(self) -> bool:
        return all(
            getattr(self, name) is None for name in ("severity", "event", "tags", "flow", "deployment")
        )

    def matches(self, alert: Alert) -> bool:
        """Whether every given condition holds for ``alert``."""
        if self._severity_rules and not any(rule.matches(alert.severity) for rule in self._severity_rules):
            return False
        patterns = self._patterns
        event = patterns["event"]
        if event is not None and not event.match(alert.event):
            return False
        tags = patterns["tags"]
        if tags is not None and not any(tags.match(tag) for tag in alert.tags):
            return False
        flow = patterns["flow"]
        if flow is not None and not (alert.source.flow_name and flow.match(alert.source.flow_name)):
            return False
        deployment = patterns["deployment"]
        if deployment is not None:
            name = alert.source.deployment_name
            if not name:
                return False
            candidates = [name]
            if alert.source.flow_name and "/" not in name:
                candidates.append(f"{alert.source.flow_name}/{name}")
            if not any(deployment.match(candidate) for candidate in candidates):
                return False
        return True

    def describe(self) -> str:
        """``severity >=error, event flow_*|task_failed, tags prod`` (or ``everything``)."""
        parts = []
        for name in ("severity", "event", "tags", "flow", "deployment"):
            values = getattr(self, name)
            if values is not None:
                parts.append(f"{name} {'|'.join(values)}")
        return ", ".join(parts) or "everything"
