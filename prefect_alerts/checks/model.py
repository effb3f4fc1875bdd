"""Model performance: did any metric get worse than allowed, compared with a baseline?

Per metric: the absolute change ``current - baseline``, the relative change ``(current - baseline) / |baseline|``,
and the *degradation*: the relative change signed so that positive is worse (a drop for accuracy, a rise for
RMSE). A metric is degraded when its degradation exceeds ``max_degradation`` (relative; exactly at the limit
passes) or, when given, its absolute degradation exceeds ``max_absolute_degradation``. Across metrics the
relative drift score ``mean(|current - baseline| / |baseline|)`` says how far the metrics moved, either way.

The baseline is given (``baseline_metrics``), or the metrics of the last *passing* run of this check stored in
the :class:`~prefect_alerts.store.CheckStore`: a degraded run never becomes the new normal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from prefect_alerts.alert import Severity, json_safe
from prefect_alerts.channels.base import Channel, run_logger
from prefect_alerts.checks.base import CheckResult, FailOn, SeverityLevels, finish_check
from prefect_alerts.checks.model_metrics import (
    DEFAULT_MAX_DEGRADATION,
    MetricComparison,
    checked_limit,
    compare_metric,
    one_sided_metric,
    parse_metrics,
    per_metric,
    resolve_direction,
    stored_metrics,
)
from prefect_alerts.checks.model_summary import format_number, format_percent, performance_summary
from prefect_alerts.delivery import source_from_context
from prefect_alerts.store import CheckStore, open_store

__all__ = ["DEFAULT_PERFORMANCE_SEVERITY", "ModelPerformanceResult", "check_model_performance"]

DEFAULT_PERFORMANCE_SEVERITY = SeverityLevels(warning=1.0, error=2.0, critical=4.0)
"""Severity by the worst degradation as a multiple of its limit: 1x warning, 2x error, 4x critical."""

MissingMetric = Literal["fail", "warn", "ignore"]
"""What a metric in the baseline but missing from this run does (see ``check_model_performance``)."""

MODEL_CHECK_KIND = "model_performance"
"""The store key (``check_kind``) of this check's results."""


class ModelPerformanceResult(CheckResult):
    """The verdict of :func:`check_model_performance`.

    Attributes:
        metrics: Per-metric comparisons by name.
        drift_score: ``mean(|current - baseline| / |baseline|)`` over the metrics both sides have (finite,
            non-zero baseline); None when there are none. The summary says it in words ("mean relative
            change of 13.3% across 3 metrics").
        missing_metrics: Metrics in the baseline that this run did not report (status ``missing``).
        degraded_metrics: Names of degraded metrics.
        baseline_source: ``"argument"``, ``"store"`` (the last passing run) or ``"none"``.
        baseline_recorded_at: When the stored baseline was recorded.
        recorded: True when this run's result was written to the store.
    """

    check: ClassVar[str] = "model_performance"
    event: ClassVar[str] = "model_degraded"

    metrics: dict[str, MetricComparison] = Field(default_factory=dict)
    drift_score: float | None = None
    degraded_metrics: list[str] = Field(default_factory=list)
    missing_metrics: list[str] = Field(default_factory=list)
    baseline_source: Literal["argument", "store", "none"] = "none"
    baseline_recorded_at: datetime | None = None
    recorded: bool = False

    def table_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "metric": row.metric,
                "current": row.current,
                "baseline": row.baseline,
                "absolute_change": row.absolute_change,
                "relative_change": row.relative_change,
                "degradation": row.degradation,
                "max_degradation": row.max_degradation,
                "passed": row.status in ("ok", "skipped"),
                "status": row.status,
                "reason": row.reason,
            }
            for row in self.metrics.values()
        ]

    def alert_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name in self.degraded_metrics[:5]:
            row = self.metrics[name]
            fields[name] = (
                f"{format_number(row.baseline)} → {format_number(row.current)} ({format_percent(row.relative_change)})"
            )
        errors = [row.metric for row in self.metrics.values() if row.status == "error"]
        if errors:
            fields["metrics_in_error"] = ", ".join(errors[:10])
        if self.missing_metrics:
            fields["missing_from_this_run"] = ", ".join(self.missing_metrics[:10])
        if self.drift_score is not None:
            fields["drift_score"] = round(self.drift_score, 6)
        fields["baseline"] = self.baseline_source
        return fields


@task(name="check-model-performance", cache_policy=NO_CACHE)
def check_model_performance(
    current_metrics: Mapping[str, float],
    baseline_metrics: Mapping[str, float] | None = None,
    max_degradation: float | Mapping[str, float | None] | None = DEFAULT_MAX_DEGRADATION,
    higher_is_better: bool | Mapping[str, bool] | None = None,
    check_name: str = "model_performance",
    use_stored_baseline: bool = True,
    store: CheckStore | str | None = None,
    record: bool = True,
    severity_levels: SeverityLevels | Mapping[str, float] | None = None,
    destinations: Channel | str | Sequence[Channel | str] | None = None,
    routing: Any = None,
    alert: bool = True,
    fail_on: FailOn = None,
    max_absolute_degradation: float | Mapping[str, float | None] | None = None,
    missing_metric: MissingMetric = "fail",
) -> ModelPerformanceResult:
    """Compares a model's metrics with a baseline and fails when any got worse than allowed.

    Direction per metric comes from ``higher_is_better`` (a bool for all, or a dict per metric), else from
    :data:`HIGHER_IS_BETTER` (accuracy, auc, roc_auc, f1, precision, recall, r2, ... higher; rmse, mse, mae,
    mape, log_loss, loss, error, latency, ... lower). A metric both sides have whose direction is unknown is
    a ``ValueError`` naming it: guessing could hide a degradation.

    **Baseline**: ``baseline_metrics`` when given; else (``use_stored_baseline=True``) the metrics of the last
    *passing* run of this ``check_name`` in the store, so a degraded run is never the next run's normal.
    With none stored yet the result is ``insufficient_history`` (passed) and, with ``record=True``, this
    run becomes the baseline. Every run is recorded (with whether it passed) when ``record=True``. A stored
    baseline follows the model as it changes within the limits; to hold a model to a fixed reference (its
    metrics at deployment, say), pass ``baseline_metrics``.

    **Edge cases**: a NaN/inf/None value is status ``error`` for that metric and fails the check (severity
    error); a metric in the baseline but missing from this run is status ``missing`` and fails the check
    (``missing_metric="fail"``, severity error; ``"warn"``: severity warning; ``"ignore"``: skipped, as a
    metric only this run has always is). No metric in common with a given baseline
    is an ``error``; with a stored one (the metrics were renamed) the run is ``insufficient_history`` and starts
    a new baseline, so a rename cannot block every later run. A baseline of 0 makes the relative change
    undefined: an unchanged or improved metric is ok, a worse one is an ``error`` unless
    ``max_absolute_degradation`` covers it.

    Severity: the worst degraded metric's degradation as a multiple of its limit, graded by
    ``severity_levels`` (default: 1x warning, 2x error, 4x critical; with a 10% limit a 25% drop is an
    error); a metric in error makes it at least error.

    Args:
        current_metrics: This run's metrics, e.g. ``{"auc": 0.91, "rmse": 3.2}`` (a dict or a pandas Series).
        baseline_metrics: The metrics to compare with; None to use the stored baseline.
        max_degradation: The largest allowed relative degradation (0.1 = 10% worse), one for all or a dict per
            metric (metrics missing from the dict get 0.1; a None value turns the relative check off).
        higher_is_better: True/False for all metrics, or a dict per metric (others use the known names).
        check_name: Keys the stored baseline, the artifact (``model-performance-<name>``) and the alert.
        use_stored_baseline: Load the baseline from the store when ``baseline_metrics`` is None.
        store: A ``CheckStore``, a SQLAlchemy URL, or None for the default store.
        record: Store this run's metrics and verdict for later runs (default True).
        severity_levels: ``SeverityLevels`` (or a dict) on the degradation as a multiple of its limit.
        destinations: Where the alert goes on failure: channel references (``\"slack:ops\"``) or channels; a direct
            route instead of the routing config.
        routing: An ``AlertRouting``, a routing file path or a routing block name; None: the routing
            resolution order (``PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        alert: False to only return the result.
        fail_on: ``True`` to raise on failure, a severity (``"error"``) to raise from that level, None never.
        max_absolute_degradation: The largest allowed absolute degradation, one for all or a dict per metric
            (default None: not checked). A metric fails when either limit is exceeded.
        missing_metric: What a baseline metric missing from this run does: ``"fail"`` (default, severity
            error), ``"warn"`` (severity warning) or ``"ignore"`` (reported as skipped).

    Returns:
        ModelPerformanceResult: ``passed``, ``status`` (``passed`` / ``failed`` / ``error`` /
            ``insufficient_history``), ``severity``, ``metrics`` (a ``MetricComparison`` per metric),
            ``drift_score``, ``degraded_metrics``, ``missing_metrics``, ``baseline_source`` and ``summary``.

    Raises:
        TypeError: metrics that are not a mapping of names to numbers.
        ValueError: empty metrics; an unknown metric direction; a negative or non-finite limit; no
            baseline given with ``use_stored_baseline=False``; a ``missing_metric`` other than the three.
        CheckFailedError: the check failed and ``fail_on`` asks to stop.

    Example:
        ```python
        from prefect import flow
        from prefect_alerts.checks.model import check_model_performance


        @flow
        def evaluate():
            result = check_model_performance(
                {"auc": 0.86, "log_loss": 0.41},
                baseline_metrics={"auc": 0.91, "log_loss": 0.35},
                max_degradation={"auc": 0.05, "log_loss": 0.2},
                check_name="churn-model",
            )
            print(result.summary)  # auc 5.5% worse than allowed 5%: failed


        evaluate()
        ```
    """
    current = parse_metrics("current_metrics", current_metrics)
    given_baseline = None if baseline_metrics is None else parse_metrics("baseline_metrics", baseline_metrics)
    if given_baseline is None and not use_stored_baseline:
        raise ValueError(
            "no baseline: pass baseline_metrics, or use_stored_baseline=True to load the last run's"
        )
    if not isinstance(max_degradation, Mapping):
        checked_limit("max_degradation", max_degradation)
    if not isinstance(max_absolute_degradation, Mapping):
        checked_limit("max_absolute_degradation", max_absolute_degradation)
    if missing_metric not in ("fail", "warn", "ignore"):
        raise ValueError(f"missing_metric must be 'fail', 'warn' or 'ignore', not {missing_metric!r}")
    levels = _levels(severity_levels)
    log = run_logger("prefect_alerts.checks")

    # ---- the baseline -------------------------------------------------------------------------------------
    opened: CheckStore | None = None
    baseline: dict[str, float] | None = given_baseline
    source: Literal["argument", "store", "none"] = "argument" if given_baseline is not None else "none"
    recorded_at: datetime | None = None
    store_error: str | None = None
    if baseline is None:
        try:
            opened = open_store(store)
            stored = opened.latest_result(MODEL_CHECK_KIND, check_name, passed_only=True)
        except (SQLAlchemyError, ImportError, OSError) as exc:
            stored = None
            store_error = f"the baseline store could not be read: {type(exc).__name__}: {exc}"[:500]
        if stored is not None:
            baseline = stored_metrics(stored.result)
            source, recorded_at = "store", stored.recorded_at

    # ---- per metric ---------------------------------------------------------------------------------------
    rows: dict[str, MetricComparison] = {}
    if baseline is None:
        for metric, value in current.items():
            rows[metric] = one_sided_metric(metric, value, None, higher_is_better, "no baseline yet")
    else:
        shared = [metric for metric in current if metric in baseline]
        unknown = [metric for metric in shared if resolve_direction(metric, higher_is_better) is None]
        if unknown:
            raise ValueError(
                f"unknown direction for metric(s) {', '.join(map(repr, unknown))}: say whether higher is "
                f"better, e.g. higher_is_better={{{unknown[0]!r}: True}}"
            )
        _warn_unused_keys(log, current, baseline, max_degradation, max_absolute_degradation, higher_is_better)
        for metric in dict.fromkeys([*current, *baseline]):
            if metric not in current and missing_metric != "ignore":
                rows[metric] = MetricComparison(
                    metric=metric,
                    baseline=baseline[metric],
                    higher_is_better=resolve_direction(metric, higher_is_better),
                    status="missing",
                    reason="in the baseline but missing from this run",
                )
                continue
            if metric not in baseline or metric not in current:
                side = "baseline" if metric not in baseline else "current metrics"
                rows[metric] = one_sided_metric(
                    metric, current.get(metric), baseline.get(metric), higher_is_better, f"not in the {side}"
                )
                continue
            rows[metric] = compare_metric(
                metric,
                current[metric],
                baseline[metric],
                bool(resolve_direction(metric, higher_is_better)),
                checked_limit(
                    "max_degradation", per_metric(max_degradation, metric, DEFAULT_MAX_DEGRADATION)
                ),
                checked_limit("max_absolute_degradation", per_metric(max_absolute_degradation, metric, None)),
            )

    # ---- verdict --------------------------------------------------------------------------------------------
    compared = [row for row in rows.values() if row.status in ("ok", "degraded")]
    degraded = [row.metric for row in rows.values() if row.degraded]
    errors = [row for row in rows.values() if row.status == "error"]
    usable = [
        abs(row.absolute_change) / abs(row.baseline)
        for row in compared
        if row.baseline and row.absolute_change is not None
    ]
    drift_score = sum(usable) / len(usable) if usable else None
    no_overlap = baseline is not None and not compared and not errors
    # A stored baseline sharing no metric (they were renamed) must not block every later run: start afresh.
    stale_baseline = no_overlap and source == "store"
    no_overlap = no_overlap and not stale_baseline
    # A renamed set of metrics (stale stored baseline) starts afresh; otherwise a lost metric is a failure.
    # No metric in common at all is its own finding (an error, or a fresh start), not a list of lost metrics.
    missing = (
        []
        if stale_baseline or no_overlap
        else [row.metric for row in rows.values() if row.status == "missing"]
    )
    levels_hit: list[Severity] = [
        max(Severity.WARNING, levels.level_for(rows[name].limit_ratio or 0.0) or Severity.WARNING)
        for name in degraded
    ]
    if errors or no_overlap or store_error:
        levels_hit.append(Severity.ERROR)
    if missing:
        levels_hit.append(Severity.ERROR if missing_metric == "fail" else Severity.WARNING)
    if degraded or missing:
        status = "failed"
    elif errors or no_overlap or store_error:
        status = "error"
    elif baseline is None or stale_baseline:
        status = "insufficient_history"
    else:
        status = "passed"
    passed = status in ("passed", "insufficient_history")

    result = ModelPerformanceResult(
        check_name=check_name,
        passed=passed,
        status=status,
        severity=max(levels_hit) if levels_hit else Severity.SUCCESS,
        summary=performance_summary(
            check_name,
            rows,
            degraded,
            errors,
            drift_score,
            baseline is None,
            no_overlap,
            store_error,
            missing=missing,
            drift_count=len(usable),
        )
        if not stale_baseline
        else f"{check_name}: no metric in common with the stored baseline; this run starts a new one",
        thresholds={
            "max_degradation": json_safe(max_degradation),
            "max_absolute_degradation": json_safe(max_absolute_degradation),
            "severity_levels": levels.model_dump(),
        },
        sample_sizes={
            "metrics": len(current),
            "baseline_metrics": len(baseline or {}),
            "compared": len(compared),
        },
        metrics=rows,
        drift_score=drift_score,
        degraded_metrics=degraded,
        missing_metrics=missing,
        baseline_source=source,
        baseline_recorded_at=recorded_at,
    )

    # ---- record this run for the next (its metrics become the baseline only if it passed) ----------------
    if record:
        try:
            opened = opened or open_store(store)
            opened.save_result(
                MODEL_CHECK_KIND,
                check_name,
                passed,
                {"metrics": json_safe(current), "status": status, "drift_score": json_safe(drift_score)},
                flow_run_id=source_from_context().flow_run_id,
            )
            result.recorded = True
        except (SQLAlchemyError, ImportError, OSError) as exc:  # the verdict stands without the record
            log.warning("could not record the metrics of %r: %s: %s", check_name, type(exc).__name__, exc)
    return finish_check(result, destinations=destinations, routing=routing, alert=alert, fail_on=fail_on)  # type: ignore[return-value]


def _levels(levels: SeverityLevels | Mapping[str, float] | None) -> SeverityLevels:
    if levels is None:
        return DEFAULT_PERFORMANCE_SEVERITY
    return levels if isinstance(levels, SeverityLevels) else SeverityLevels.model_validate(dict(levels))


def _warn_unused_keys(log: Any, current: dict, baseline: dict, *options: Any) -> None:
    # A per-metric setting for a metric neither side has is most likely a typo.
    known = set(current) | set(baseline)
    for option in options:
        if isinstance(option, Mapping):
            unused = [key for key in option if key not in known]
            if unused:
                log.warning("per-metric settings for unknown metric(s) %s are ignored", ", ".join(unused))
