"""What every check task shares: the result model, severity levels, and the finish step.

A check computes a typed result (a :class:`CheckResult` subclass), then :func:`finish_check` does the rest the
same way for every check: a Prefect artifact when inside a run (a table and a short markdown, stable keys),
an alert through :func:`~prefect_alerts.send_alert` (routing, silences, cooldown, outbox) when the check failed (unless ``alert=False``), and a
:class:`CheckFailedError` when ``fail_on`` says the pipeline should stop.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from prefect_alerts.alert import Alert, Severity, Source, json_safe
from prefect_alerts.channels.base import Channel, run_logger
from prefect_alerts.delivery import source_from_context
from prefect_alerts.dispatch import DestinationOutcome, send_alert

__all__ = [
    "CheckFailedError",
    "CheckResult",
    "CheckStatus",
    "FailOn",
    "SeverityLevels",
    "artifact_key",
    "check_dedup_key",
    "finish_check",
    "should_fail",
]

CheckStatus = Literal["passed", "failed", "error", "skipped", "insufficient_history"]
"""``passed`` / ``failed``; ``error`` when the input could not be checked (empty data, wrong types);
``skipped`` when nothing applied; ``insufficient_history`` when a baseline is still being built."""

FailOn = bool | Severity | str | None
"""``True``: raise on any failure; a severity (``"error"``): raise when the failure is at least that severe;
``None``/``False``: never raise, only return the result."""

ARTIFACT_TABLE_MAX_ROWS = 500
"""Rows kept in a check's table artifact (the markdown says when more were left out)."""


class CheckFailedError(Exception):
    """Raised by a check when ``fail_on`` says the pipeline should stop; ``.result`` has the details."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(f"{result.check} check {result.check_name!r} failed: {result.summary}")
        self.result = result


class SeverityLevels(BaseModel):
    """Where a check's score turns into warning, error and critical (higher score = worse).

    A level left at None is never used. Levels must rise: warning <= error <= critical.

        >>> SeverityLevels(warning=3, error=5, critical=10).level_for(6)
        <Severity.ERROR: 'error'>
    """

    model_config = ConfigDict(frozen=True)

    warning: float | None = None
    error: float | None = None
    critical: float | None = None

    @model_validator(mode="after")
    def _rising(self) -> SeverityLevels:
        given = [value for value in (self.warning, self.error, self.critical) if value is not None]
        if given != sorted(given):
            raise ValueError(
                f"severity levels must rise (warning <= error <= critical), got "
                f"warning={self.warning}, error={self.error}, critical={self.critical}"
            )
        return self

    def level_for(self, score: float) -> Severity | None:
        """The highest level ``score`` reaches, or None below them all."""
        for severity, threshold in (
            (Severity.CRITICAL, self.critical),
            (Severity.ERROR, self.error),
            (Severity.WARNING, self.warning),
        ):
            if threshold is not None and score >= threshold:
                return severity
        return None


class CheckResult(BaseModel):
    """Fields every check result has. Subclasses add their per-item breakdown.

    Attributes:
        check: The kind of check (``data_volume``, ``data_quality``, ``drift``, ...).
        check_name: The user's name for this check; keys its history, artifact and alert dedup key.
        passed: False when the data or model is not as expected.
        status: See :data:`CheckStatus`.
        severity: How bad a failure is (``success`` when passed).
        summary: One line a person reads first.
        thresholds: The thresholds used, by name.
        sample_sizes: Sizes the verdict rests on (rows, reference/current sizes, history length).
        alert_results: What happened to the alert this run sent, one outcome per destination (delivered,
            queued, suppressed with the reason, ...); empty when none was sent.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    check: ClassVar[str] = "check"
    event: ClassVar[str] = "check_failed"
    """The alert event a failure sends (e.g. ``drift_detected``)."""

    check_name: str
    passed: bool
    status: CheckStatus
    severity: Severity = Severity.SUCCESS
    summary: str
    thresholds: dict[str, Any] = Field(default_factory=dict)
    sample_sizes: dict[str, int] = Field(default_factory=dict)
    checked_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    alert_results: list[DestinationOutcome] = Field(default_factory=list)
    artifact_key: str | None = None

    # ---- what the artifact and the alert show; subclasses override the first two -----------------
    def table_rows(self) -> list[dict[str, Any]]:
        """Rows of the table artifact: one per item of the breakdown."""
        return [{"check": self.check_name, "passed": self.passed, "summary": self.summary}]

    def alert_fields(self) -> dict[str, Any]:
        """Named values shown with the alert (a few headline numbers, not the whole breakdown)."""
        return {**self.sample_sizes}

    def alert_title(self) -> str:
        return f"{self.check.replace('_', ' ').capitalize()} check failed: {self.check_name}"

    def alert_message(self) -> str:
        """The summary, then the failing items as a short list."""
        lines = [self.summary]
        failing = [
            row for row in self.table_rows() if row.get("passed") is False or row.get("status") == "failed"
        ]
        for row in failing[:10]:
            label = next((row[key] for key in ("metric", "rule", "column") if row.get(key) is not None), None)
            explanation = row.get("message") or row.get("reason")
            if explanation:
                lines.append(f"• {label}: {explanation}" if label is not None else f"• {explanation}")
            else:
                described = ", ".join(
                    f"{key}={_cell(value)}" for key, value in row.items() if key != "passed"
                )
                lines.append(f"• {described}")
        if len(failing) > 10:
            lines.append(f"… and {len(failing) - 10} more (see the artifact)")
        return "\n".join(lines)

    def markdown(self) -> str:
        """The markdown artifact: verdict, summary, thresholds, sample sizes."""
        verdict = "✅ passed" if self.passed else f"❌ {self.status} ({self.severity.value})"
        lines = [f"### {self.check.replace('_', ' ').capitalize()} check `{self.check_name}`: {verdict}", ""]
        lines += [self.summary, ""]
        if self.thresholds:
            lines.append(
                "**Thresholds:** " + ", ".join(f"`{k}` = {_cell(v)}" for k, v in self.thresholds.items())
            )
        if self.sample_sizes:
            lines.append(
                "**Sample sizes:** " + ", ".join(f"`{k}` = {v:,}" for k, v in self.sample_sizes.items())
            )
        return "\n".join(lines)


def _cell(value: Any) -> Any:
    safe = json_safe(value)
    if isinstance(safe, float):
        return float(f"{safe:.6g}")
    return safe


def artifact_key(check: str, check_name: str) -> str:
    """A stable artifact key (lowercase letters, digits, dashes) for one check.

    >>> artifact_key("data_volume", "Orders rows / EU")
    'data-volume-orders-rows-eu'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", f"{check}-{check_name}".lower()).strip("-")
    return slug[:100] or "check"


def check_dedup_key(event: str, check_name: str, source: Source) -> str:
    """One key per check per flow/deployment, stable across runs and machines (not per run)."""
    parts = [event, check_name, source.flow_name, source.deployment_name]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def should_fail(result: CheckResult, fail_on: FailOn) -> bool:
    """Whether ``fail_on`` asks to raise for this result."""
    if result.passed or fail_on is None or fail_on is False:
        return False
    if fail_on is True:
        return True
    return result.severity >= Severity(fail_on)


def _in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _create_artifacts(result: CheckResult) -> str | None:
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    key = artifact_key(result.check, result.check_name)
    rows = [{name: _cell(value) for name, value in row.items()} for row in result.table_rows()]
    markdown = result.markdown()
    if len(rows) > ARTIFACT_TABLE_MAX_ROWS:
        markdown += f"\n\nThe table shows the first {ARTIFACT_TABLE_MAX_ROWS:,} of {len(rows):,} rows."
        rows = rows[:ARTIFACT_TABLE_MAX_ROWS]
    create_table_artifact(rows, key=key, description=result.summary[:500], _sync=True)  # type: ignore[call-arg]
    create_markdown_artifact(markdown, key=f"{key}-summary", description=result.summary[:500], _sync=True)  # type: ignore[call-arg]
    return key


def finish_check(
    result: CheckResult,
    *,
    destinations: Channel | str | Sequence[Channel | str] | None = None,
    routing: Any = None,
    alert: bool = True,
    fail_on: FailOn = None,
    tags: Sequence[str] = (),
) -> CheckResult:
    """Artifact, alert and ``fail_on`` for a computed result; returns the result (with ``alert_results``).

    An artifact that cannot be written (no server) is logged, never fatal: the verdict matters more.
    """
    if fail_on not in (None, True, False):
        Severity(fail_on)  # a typo in fail_on should fail loudly before anything else happens
    log = run_logger("prefect_alerts.checks")
    if _in_run():
        try:
            result.artifact_key = _create_artifacts(result)
        except Exception as exc:  # the check's verdict must survive an artifact failure
            log.warning("could not create the %s artifact for %r: %s", result.check, result.check_name, exc)
    if not result.passed and alert:
        source = source_from_context()
        notice = Alert(
            title=result.alert_title(),
            message=result.alert_message(),
            severity=result.severity,
            event=result.event,
            fields=result.alert_fields(),
            tags=["check", result.check, *tags],
            source=source,
            dedup_key=check_dedup_key(result.event, result.check_name, source),
        )
        if isinstance(destinations, (str, Channel)):
            destinations = [destinations]
        result.alert_results = send_alert(notice, routing=routing, destinations=destinations).outcomes
    if should_fail(result, fail_on):
        raise CheckFailedError(result)
    return result
