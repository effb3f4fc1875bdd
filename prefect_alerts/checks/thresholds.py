"""``check_thresholds``: the generic "a value crossed a line" check, with warning, error and critical levels.

For the many alerts pipelines need beyond data and models: scraping success rate at least 95%, training cost at
most $500, GPU memory share at most 90%, items per minute at least 1,000.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefect_alerts.alert import Severity
from prefect_alerts.channels.base import Channel
from prefect_alerts.channels.text import format_value
from prefect_alerts.checks.base import CheckResult, FailOn, finish_check
from prefect_alerts.text import all_of, count_of

__all__ = [
    "ThresholdItem",
    "ThresholdRule",
    "ThresholdsResult",
    "at_least",
    "at_most",
    "check_thresholds",
]

Direction = Literal["at_least", "at_most"]


class ThresholdRule(BaseModel):
    """One metric's limits. ``at_least``: the value must stay at or above each level; ``at_most``: at or below.

    A level is the line whose crossing gives that severity; leave a level None to skip it. Levels must be
    ordered in the direction of the rule (for ``at_least``: warning >= error >= critical).

        >>> ThresholdRule(metric="success_rate", direction="at_least", warning=0.95, critical=0.9).level_for(0.93)
        <Severity.WARNING: 'warning'>
    """

    model_config = ConfigDict(frozen=True)

    metric: str = Field(min_length=1)
    direction: Direction
    warning: float | None = None
    error: float | None = None
    critical: float | None = None
    unit: str = Field(default="", description="Shown after values, e.g. '%' or 'USD'.")
    required: bool = Field(default=True, description="A missing value fails the rule (else it is skipped).")

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdRule:
        levels = [level for level in (self.warning, self.error, self.critical) if level is not None]
        if not levels:
            raise ValueError(f"rule for {self.metric!r} needs at least one of warning, error, critical")
        if any(math.isnan(level) for level in levels):
            raise ValueError(f"rule for {self.metric!r} has a NaN level")
        expected = sorted(levels, reverse=self.direction == "at_least")
        if levels != expected:
            order = ">=" if self.direction == "at_least" else "<="
            raise ValueError(
                f"rule for {self.metric!r} ({self.direction}) needs warning {order} error {order} critical, "
                f"got warning={self.warning}, error={self.error}, critical={self.critical}"
            )
        return self

    def crossed(self, value: float, line: float) -> bool:
        return value < line if self.direction == "at_least" else value > line

    def level_for(self, value: float) -> Severity | None:
        """The most severe level ``value`` has crossed, or None when it is within all of them."""
        for severity, line in (
            (Severity.CRITICAL, self.critical),
            (Severity.ERROR, self.error),
            (Severity.WARNING, self.warning),
        ):
            if line is not None and self.crossed(value, line):
                return severity
        return None

    def describe(self) -> str:
        """``success_rate at least 0.95 (warning) / 0.9 (critical)``."""
        words = "at least" if self.direction == "at_least" else "at most"
        levels = [
            f"{format_value(line)}{self.unit} ({name})"
            for name, line in (("warning", self.warning), ("error", self.error), ("critical", self.critical))
            if line is not None
        ]
        return f"{self.metric} {words} " + " / ".join(levels)


def at_least(
    metric: str,
    *,
    warning: float | None = None,
    error: float | None = None,
    critical: float | None = None,
    unit: str = "",
    required: bool = True,
) -> ThresholdRule:
    """A rule that fires when ``metric`` falls below a level: ``at_least("success_rate", warning=0.95, critical=0.9)``."""
    return ThresholdRule(
        metric=metric,
        direction="at_least",
        warning=warning,
        error=error,
        critical=critical,
        unit=unit,
        required=required,
    )


def at_most(
    metric: str,
    *,
    warning: float | None = None,
    error: float | None = None,
    critical: float | None = None,
    unit: str = "",
    required: bool = True,
) -> ThresholdRule:
    """A rule that fires when ``metric`` rises above a level: ``at_most("cost_usd", warning=400, critical=500)``."""
    return ThresholdRule(
        metric=metric,
        direction="at_most",
        warning=warning,
        error=error,
        critical=critical,
        unit=unit,
        required=required,
    )


class ThresholdItem(BaseModel):
    """The outcome of one rule."""

    metric: str
    value: float | None
    rule: str
    direction: Direction
    warning: float | None
    error: float | None
    critical: float | None
    status: Literal["ok", "breached", "missing", "invalid", "skipped"]
    level: Severity | None = None
    passed: bool
    message: str


class ThresholdsResult(CheckResult):
    """Result of :func:`check_thresholds`: one :class:`ThresholdItem` per rule in ``items``."""

    check: ClassVar[str] = "thresholds"
    event: ClassVar[str] = "threshold_breached"

    items: list[ThresholdItem] = Field(default_factory=list)

    def table_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "metric": item.metric,
                "value": item.value,
                "rule": item.rule,
                "status": item.status,
                "level": item.level.value if item.level else "",
                "passed": item.passed,
                "message": item.message,
            }
            for item in self.items
        ]

    def alert_fields(self) -> dict[str, Any]:
        return {item.metric: item.value for item in self.items if not item.passed}


def _normalise_rules(rules: Sequence[ThresholdRule] | Mapping[str, Mapping[str, Any]]) -> list[ThresholdRule]:
    if isinstance(rules, Mapping):
        built = []
        for metric, spec in rules.items():
            spec = dict(spec)
            direction = spec.pop("direction", None)
            if direction is None:
                raise ValueError(
                    f"rule for {metric!r} needs direction 'at_least' or 'at_most', "
                    "e.g. {'direction': 'at_least', 'warning': 0.95, 'critical': 0.9}"
                )
            built.append(ThresholdRule(metric=metric, direction=direction, **spec))
        return built
    result = list(rules)
    for rule in result:
        if not isinstance(rule, ThresholdRule):
            raise TypeError(
                f"rules must be ThresholdRule objects (at_least(...), at_most(...)), got {rule!r}"
            )
    return result


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


_GIVEN_MAX_CHARS = 60
"""A non-numeric value is quoted in the message up to this many characters."""


def _parses_as_number(raw: Any) -> bool:
    # "nan" or "inf" as text is a number that is not finite; "high" is no number.
    try:
        float(raw)
    except (TypeError, ValueError):
        return False
    return not isinstance(raw, (list, tuple, dict, set))


def _given(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= _GIVEN_MAX_CHARS else text[: _GIVEN_MAX_CHARS - 1] + "…"


def _evaluate(rule: ThresholdRule, values: Mapping[str, Any], missing_severity: Severity) -> ThresholdItem:
    base = {
        "metric": rule.metric,
        "rule": rule.describe(),
        "direction": rule.direction,
        "warning": rule.warning,
        "error": rule.error,
        "critical": rule.critical,
    }
    value = _as_float(values.get(rule.metric)) if rule.metric in values else None
    if value is None:
        if not rule.required:
            return ThresholdItem(
                **base, value=None, status="skipped", passed=True, message="no value (optional)"
            )
        return ThresholdItem(
            **base,
            value=None,
            status="missing",
            level=missing_severity,
            passed=False,
            message=f"no value for {rule.metric!r}",
        )
    if not math.isfinite(value):
        # A NaN success rate is a broken measurement, never a pass; text like "high" is not a number at all.
        raw = values.get(rule.metric)
        numeric = isinstance(raw, numbers.Real) or _parses_as_number(raw)
        message = (
            f"{rule.metric} is {format_value(value)}, not a number to compare"
            if numeric
            else f"{rule.metric} is {_given(raw)} ({type(raw).__name__}): expected a number"
        )
        return ThresholdItem(
            **base,
            value=value,
            status="invalid",
            level=missing_severity,
            passed=False,
            message=message,
        )
    level = rule.level_for(value)
    if level is None:
        return ThresholdItem(
            **base,
            value=value,
            status="ok",
            passed=True,
            message=f"{rule.metric} = {format_value(value)}{rule.unit}: within limits",
        )
    line = {Severity.WARNING: rule.warning, Severity.ERROR: rule.error, Severity.CRITICAL: rule.critical}[
        level
    ]
    words = "below" if rule.direction == "at_least" else "above"
    return ThresholdItem(
        **base,
        value=value,
        status="breached",
        level=level,
        passed=False,
        message=f"{rule.metric} = {format_value(value)}{rule.unit}, {words} the {level.value} line of "
        f"{format_value(line)}{rule.unit}",
    )


@task(name="check-thresholds", cache_policy=NO_CACHE)
def check_thresholds(
    values: Mapping[str, Any],
    rules: Sequence[ThresholdRule] | Mapping[str, Mapping[str, Any]],
    *,
    check_name: str = "thresholds",
    missing_severity: Severity | str = Severity.ERROR,
    destinations: Channel | str | Sequence[Channel | str] | None = None,
    routing: Any = None,
    alert: bool = True,
    fail_on: FailOn = None,
) -> ThresholdsResult:
    """Compare named values with warning / error / critical lines and alert at the most severe level crossed.

    Args:
        values: The measurements, by name: ``{"success_rate": 0.93, "cost_usd": 412.0}``.
        rules: ``ThresholdRule`` objects (``at_least(...)``, ``at_most(...)``), or a mapping
            ``{"cost_usd": {"direction": "at_most", "warning": 400, "critical": 500}}``.
        check_name: Names this check in artifacts, alerts and their dedup key.
        missing_severity: The severity of a required value that is missing or not a finite number.
        destinations: Where the alert goes on failure: channel references (``\"slack:ops\"``) or channels; a direct
            route instead of the routing config.
        routing: An ``AlertRouting``, a routing file path or a routing block name; None: the routing
            resolution order (``PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        alert: False to only return the result.
        fail_on: True, or a severity: raise :class:`~prefect_alerts.checks.CheckFailedError` at or above it.

    Returns:
        ThresholdsResult: ``passed``, ``severity`` (the worst level crossed), ``items`` (one per rule),
        ``summary``, ``thresholds``, ``sample_sizes``.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.checks import at_least, at_most, check_thresholds

        @flow
        def scrape() -> None:
            stats = {"success_rate": 0.93, "cost_usd": 412.0, "gpu_memory_share": 0.97}
            check_thresholds(
                stats,
                [
                    at_least("success_rate", warning=0.95, critical=0.90),
                    at_most("cost_usd", warning=400, critical=500, unit=" USD"),
                    at_most("gpu_memory_share", error=0.95),
                ],
                check_name="nightly-scrape",
            )

        scrape()
        ```
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a mapping of names to numbers, got {type(values).__name__}")
    rule_list = _normalise_rules(rules)
    if not rule_list:
        raise ValueError(
            "check_thresholds needs at least one rule, e.g. at_least('success_rate', warning=0.95)"
        )
    missing = Severity(missing_severity)
    items = [_evaluate(rule, values, missing) for rule in rule_list]
    failed = [item for item in items if not item.passed]
    severity = max((item.level for item in failed if item.level), default=Severity.SUCCESS)
    if failed:
        worst = max(failed, key=lambda item: item.level.rank if item.level else 0)
        summary = f"{count_of(len(failed), len(items), 'threshold')} crossed; worst: {worst.message}"
    else:
        within = "within its threshold" if len(items) == 1 else "within their thresholds"
        summary = f"{all_of(len(items), 'value')} {within}"
    result = ThresholdsResult(
        check_name=check_name,
        passed=not failed,
        status="passed" if not failed else "failed",
        severity=severity,
        summary=summary,
        thresholds={rule.metric: rule.describe() for rule in rule_list},
        sample_sizes={"rules": len(items)},
        items=items,
    )
    return finish_check(result, destinations=destinations, routing=routing, alert=alert, fail_on=fail_on)
