"""What a route (or a team) matches: severity, event, tags, flow and deployment.

Every key given must match; a list matches any of its items; strings are globs (``fnmatch``, case-sensitive:
``*``, ``?``, ``[abc]``). Severity is ``"error"`` (exactly) or ``">=warning"`` (at least). The globs are
compiled once, when the config is loaded: :meth:`RouteMatch.matches` runs for every alert.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from pydantic import ConfigDict, PrivateAttr, field_validator

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.routing.base import ConfigModel

__all__ = ["CompiledMatch", "RouteMatch", "compile_globs", "severity_values"]

_ORDER = [member.value for member in Severity]  # info < success < warning < error < critical
_SEVERITIES = ", ".join(_ORDER)
_GLOB_KEYS = ("event", "tags", "flow", "deployment")


def severity_values(rule: str) -> frozenset[str]:
    """The severities a rule admits: ``">=error"`` -> ``{"error", "critical"}``, ``"warning"`` -> ``{"warning"}``.

        >>> sorted(severity_values(">=error"))
        ['critical', 'error']

    Raises:
        ValueError: not a severity rule (the message lists the severities and both forms).
    """
    text = str(rule).strip()
    at_least = text.startswith(">=")
    name = text[2:].strip().lower() if at_least else text.lower()
    if name not in _ORDER:
        raise ValueError(
            f"{rule!r} is not a severity; write one of {_SEVERITIES} (exactly that one) or e.g. '>=warning' "
            "(that one or worse)"
        )
    return frozenset(_ORDER[_ORDER.index(name) :]) if at_least else frozenset([name])


def _glob_list(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = []
        for item in value:
            if not isinstance(item, (str, int, float)) or isinstance(item, bool) or str(item).strip() == "":
                raise ValueError(f"each item must be a non-empty glob such as 'etl-*', got {item!r}")
            items.append(str(item).strip())
        if not items:
            raise ValueError("an empty list matches nothing; leave the key out to match everything")
        return items
    raise ValueError(f"expected a glob or a list of globs, e.g. 'etl-*' or ['etl-*', 'load'], got {value!r}")


def compile_globs(globs: list[str] | None) -> re.Pattern[str] | None:
    """One regex for any of ``globs`` (``fnmatch`` syntax, whole-string, case-sensitive); None for none."""
    if not globs:
        return None
    # One alternation per key: one regex call per alert, whatever the number of globs.
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))


class RouteMatch(ConfigModel):
    """Conditions on an alert; every key given must match, an empty match matches every alert.

    Example:
        ```python
        from prefect_alerts import Alert
        from prefect_alerts.routing import RouteMatch

        match = RouteMatch(severity=">=error", event=["flow_*"], tags=["prod"])
        match.matches(Alert(title="x", severity="critical", event="flow_crashed", tags=["prod"]))  # True
        ```
    """

    model_config = ConfigDict(extra="forbid")

    severity: str | list[str] | None = None
    """``"error"`` exactly, ``">=warning"`` at least; a list matches any of its rules."""
    event: list[str] | None = None
    """Globs on the alert's event (``flow_*``)."""
    tags: list[str] | None = None
    """The alert has at least one tag matching one of these globs."""
    flow: list[str] | None = None
    """Globs on the flow name."""
    deployment: list[str] | None = None
    """Globs on the deployment name, tried on both ``flow-name/deployment-name`` and the bare name."""

    _compiled: CompiledMatch | None = PrivateAttr(default=None)

    @field_validator("severity", mode="before")
    @classmethod
    def _check_severity(cls, value: Any) -> Any:
        if value is None:
            return None
        rules = [value] if isinstance(value, str) else value
        if not isinstance(rules, (list, tuple)) or not rules:
            raise ValueError(f"expected a severity rule such as '>=warning' or a list of them, got {value!r}")
        for rule in rules:
            if not isinstance(rule, str):
                raise ValueError(f"{rule!r} is not a severity; write e.g. 'error' or '>=warning'")
            severity_values(rule)
        cleaned = [rule.strip() for rule in rules]
        return cleaned[0] if isinstance(value, str) else cleaned

    @field_validator(*_GLOB_KEYS, mode="before")
    @classmethod
    def _check_globs(cls, value: Any) -> Any:
        return _glob_list(value)

    def model_post_init(self, __context: Any) -> None:
        self._compiled = CompiledMatch(self)

    @property
    def compiled(self) -> CompiledMatch:
        """The compiled form (a plain object: pydantic's private-attribute access is slow per alert)."""
        compiled = self.__pydantic_private__["_compiled"]  # type: ignore[index]
        return compiled if compiled is not None else CompiledMatch(self)

    def is_empty(self) -> bool:
        """True when no key is given (the match takes every alert)."""
        return self.severity is None and all(getattr(self, key) is None for key in _GLOB_KEYS)

    def matches(self, alert: Alert) -> bool:
        """Whether every given condition holds for ``alert``.

        >>> RouteMatch(flow="etl-*").matches(Alert(title="x", source={"flow_name": "etl-daily"}))
        True
        """
        return self.compiled.matches(alert)

    def describe(self) -> str:
        """``severity >=error, event flow_*|task_failed, tags prod`` (or ``every alert``)."""
        parts = []
        if self.severity is not None:
            rules = [self.severity] if isinstance(self.severity, str) else self.severity
            parts.append(f"severity {'|'.join(rules)}")
        for key in _GLOB_KEYS:
            values = getattr(self, key)
            if values is not None:
                parts.append(f"{key} {'|'.join(values)}")
        return ", ".join(parts) or "every alert"


class CompiledMatch:
    """A :class:`RouteMatch` compiled: one regex per key, the severities as a set of values."""

    __slots__ = ("deployment", "event", "flow", "severities", "tags")

    def __init__(self, match: RouteMatch) -> None:
        self.severities: frozenset[str] | None = None
        if match.severity is not None:
            rules = [match.severity] if isinstance(match.severity, str) else match.severity
            self.severities = frozenset().union(*(severity_values(rule) for rule in rules))
        self.event = compile_globs(match.event)
        self.tags = compile_globs(match.tags)
        self.flow = compile_globs(match.flow)
        self.deployment = compile_globs(match.deployment)

    def matches(self, alert: Alert) -> bool:
        if self.severities is not None and alert.severity._value_ not in self.severities:
            return False
        if self.event is not None and self.event.match(alert.event) is None:
            return False
        if self.tags is not None:
            pattern = self.tags
            for tag in alert.tags:
                if pattern.match(tag) is not None:
                    break
            else:
                return False
        if self.flow is not None or self.deployment is not None:
            source = alert.source
            if self.flow is not None and (not source.flow_name or self.flow.match(source.flow_name) is None):
                return False
            if self.deployment is not None:
                return _deployment_matches(self.deployment, source.deployment_name, source.flow_name)
        return True


def _deployment_matches(pattern: re.Pattern[str], name: str | None, flow: str | None) -> bool:
    # Prefect shows deployments as "flow-name/deployment-name"; alerts may carry either form.
    if not name:
        return False
    if pattern.match(name) is not None:
        return True
    _, slash, bare = name.partition("/")
    if slash:
        return pattern.match(bare) is not None
    return bool(flow) and pattern.match(f"{flow}/{name}") is not None
