"""Comparing one model metric with its baseline: direction (is higher better?), changes, degradation, limits.

``degradation`` is the relative change signed so that positive is worse: ``(baseline - current) / |baseline|``
for a metric where higher is better (accuracy), ``(current - baseline) / |baseline|`` where lower is better
(RMSE). Used by :func:`~prefect_alerts.checks.model.check_model_performance`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

__all__ = [
    "DEFAULT_MAX_DEGRADATION",
    "HIGHER_IS_BETTER",
    "MetricComparison",
    "MetricStatus",
    "compare_metric",
    "metric_higher_is_better",
]

DEFAULT_MAX_DEGRADATION = 0.1
"""10% worse than the baseline (relative). Evidently's presets allow ±20% for classification and ±10% for
regression metrics, in either direction; here only getting worse counts."""


HIGHER_IS_BETTER: dict[str, bool] = {
    **dict.fromkeys(
        ["accuracy", "balanced_accuracy", "auc", "roc_auc", "pr_auc", "average_precision", "f1", "fbeta"],
        True,
    ),
    **dict.fromkeys(["precision", "recall", "specificity", "sensitivity", "r2", "explained_variance"], True),
    **dict.fromkeys(["rmse", "mse", "mae", "mape", "smape", "rmsle", "msle", "log_loss", "logloss"], False),
    **dict.fromkeys(["loss", "cross_entropy", "error", "error_rate", "brier", "latency"], False),
    **dict.fromkeys(
        [
            "mean_squared_error",
            "root_mean_squared_error",
            "mean_absolute_error",
            "mean_absolute_percentage_error",
            "median_absolute_error",
            "mean_squared_log_error",
        ],
        False,
    ),
}
"""Known metric names and whether higher is better. Names are matched after lower-casing, turning ``-`` and
spaces into ``_``, and dropping one prefix (``val_``, ``valid_``, ``validation_``, ``test_``, ``train_``,
``eval_``, ``holdout_``) and one suffix (``_score``, ``_macro``, ``_micro``, ``_weighted``, ``_ms``,
``_seconds``); sklearn's ``neg_`` scorers (``neg_log_loss``) flip the direction."""

_PREFIXES = ("val_", "valid_", "validation_", "test_", "train_", "eval_", "holdout_")
_SUFFIXES = ("_score", "_macro", "_micro", "_weighted", "_ms", "_seconds")

MetricStatus = Literal["ok", "degraded", "error", "skipped", "missing"]
"""``ok``; ``degraded`` (worse than allowed); ``error`` (a NaN/inf value, or a relative change that cannot be
computed); ``skipped`` (only in this run, or no baseline yet, or missing with ``missing_metric="ignore"``);
``missing`` (in the baseline but not in this run: fails or warns, see ``missing_metric``)."""

_REL_TOLERANCE = 1e-9
"""A degradation equal to its limit up to float noise ((0.9 - 0.81) / 0.9 is 0.09999999999999998) passes."""


def metric_higher_is_better(name: str) -> bool | None:
    """Whether higher is better for a known metric name, or None when the name is not known.

    >>> metric_higher_is_better("val_roc_auc"), metric_higher_is_better("RMSE"), metric_higher_is_better("neg_log_loss")
    (True, False, True)
    """
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    flip = key.startswith("neg_")
    if flip:
        key = key[len("neg_") :]
    candidates = [key]
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            candidates.append(key[len(prefix) :])
            break
    for candidate in list(candidates):
        for suffix in _SUFFIXES:
            if candidate.endswith(suffix):
                candidates.append(candidate[: -len(suffix)])
                break
    for candidate in candidates:
        if candidate in HIGHER_IS_BETTER:
            return HIGHER_IS_BETTER[candidate] != flip
    return None


class MetricComparison(BaseModel):
    """One metric, current against baseline.

    Attributes:
        metric: The metric's name.
        current: This run's value (None when only the baseline has it).
        baseline: The baseline's value (None when only this run has it, or there is no baseline).
        absolute_change: ``current - baseline``.
        relative_change: ``(current - baseline) / |baseline|``; None when the baseline is 0.
        degradation: The relative change signed so that positive is worse.
        absolute_degradation: The absolute change signed so that positive is worse.
        higher_is_better: The direction used (None when not needed: the metric is on one side only).
        max_degradation: The relative limit (None: not checked).
        max_absolute_degradation: The absolute limit (None: not checked).
        degraded: True when a limit was exceeded.
        status: See :data:`MetricStatus`.
        reason: Why, in words.
    """

    metric: str
    current: float | None = None
    baseline: float | None = None
    absolute_change: float | None = None
    relative_change: float | None = None
    degradation: float | None = None
    absolute_degradation: float | None = None
    higher_is_better: bool | None = None
    max_degradation: float | None = None
    max_absolute_degradation: float | None = None
    degraded: bool = False
    status: MetricStatus = "ok"
    reason: str = ""
    limit_ratio: float | None = None
    """The degradation as a multiple of its limit (the larger of relative and absolute): severity's score."""


def parse_metrics(name: str, metrics: Any) -> dict[str, float]:
    if hasattr(metrics, "to_dict") and not isinstance(metrics, Mapping):  # a pandas Series
        metrics = metrics.to_dict()
    if not isinstance(metrics, Mapping):
        raise TypeError(f"{name} must be a mapping of metric name to value, got {type(metrics).__name__}")
    if not metrics:
        raise ValueError(f"{name} is empty: give at least one metric, e.g. {{'auc': 0.91}}")
    values: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"{name} keys must be metric names (non-empty strings), got {key!r}")
        if value is None:
            values[key] = math.nan  # not computed: reported as an error, never a silent pass
        elif isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}[{key!r}] must be a number, got {type(value).__name__}: {value!r}")
        else:
            values[key] = float(value)
    return values


def per_metric(option: Any, metric: str, default: Any) -> Any:
    if isinstance(option, Mapping):
        return option.get(metric, default)
    return option


def checked_limit(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0 (or None), got {value!r}")
    return float(value)


def resolve_direction(metric: str, higher_is_better: bool | Mapping[str, bool] | None) -> bool | None:
    if isinstance(higher_is_better, Mapping):
        if metric in higher_is_better:
            return bool(higher_is_better[metric])
        return metric_higher_is_better(metric)
    if higher_is_better is None:
        return metric_higher_is_better(metric)
    return bool(higher_is_better)


def compare_metric(
    metric: str,
    current: float,
    baseline: float,
    higher: bool,
    max_relative: float | None,
    max_absolute: float | None,
) -> MetricComparison:
    row = MetricComparison(
        metric=metric,
        current=current,
        baseline=baseline,
        higher_is_better=higher,
        max_degradation=max_relative,
        max_absolute_degradation=max_absolute,
    )
    bad = [
        f"the {side} value is {value}"
        for side, value in (("current", current), ("baseline", baseline))
        if not math.isfinite(value)
    ]
    if bad:
        row.status, row.reason = "error", "; ".join(bad)
        return row
    sign = -1.0 if higher else 1.0  # degradation: positive is worse
    row.absolute_change = current - baseline
    row.absolute_degradation = sign * row.absolute_change
    if baseline != 0:
        row.relative_change = row.absolute_change / abs(baseline)
        row.degradation = sign * row.relative_change
    elif current == baseline:
        row.relative_change, row.degradation = 0.0, 0.0
    ratios: list[float] = []
    if max_relative is not None and row.degradation is not None:
        ratios.append(_ratio(row.degradation, max_relative))
    if max_absolute is not None:
        ratios.append(_ratio(row.absolute_degradation, max_absolute))
    if (
        max_relative is not None
        and row.degradation is None
        and row.absolute_degradation > 0
        and max_absolute is None
    ):
        row.status = "error"
        row.reason = (
            "the baseline is 0, so the relative change is undefined; "
            f"set max_absolute_degradation for {metric!r} to check it"
        )
        return row
    row.limit_ratio = max(ratios) if ratios else None
    row.degraded = row.limit_ratio is not None and row.limit_ratio > 1.0
    row.status = "degraded" if row.degraded else "ok"
    row.reason = _metric_reason(row)
    return row


def _ratio(degradation: float, limit: float) -> float:
    if limit == 0:
        return math.inf if degradation > 0 else 0.0
    ratio = degradation / limit
    return 1.0 if math.isclose(ratio, 1.0, rel_tol=_REL_TOLERANCE) else ratio


def _metric_reason(row: MetricComparison) -> str:
    direction = "higher is better" if row.higher_is_better else "lower is better"
    if row.degradation is not None and row.max_degradation is not None:
        worse = (
            "worse" if (row.degradation or 0) > 0 else "better" if (row.degradation or 0) < 0 else "unchanged"
        )
        text = f"{abs(row.degradation):.2%} {worse} ({direction}); limit {row.max_degradation:.2%}"
    else:
        text = f"absolute change {row.absolute_change:+.4g} ({direction})"
    if row.max_absolute_degradation is not None:
        text += f"; absolute limit {row.max_absolute_degradation:g}"
    return text


def one_sided_metric(
    metric: str,
    current: float | None,
    baseline: float | None,
    higher_is_better: bool | Mapping[str, bool] | None,
    reason: str,
) -> MetricComparison:
    # Nothing to compare with, but a NaN in this run's metrics is still an error: never a silent pass.
    broken = current is not None and not math.isfinite(current)
    return MetricComparison(
        metric=metric,
        current=current,
        baseline=baseline,
        higher_is_better=resolve_direction(metric, higher_is_better),
        status="error" if broken else "skipped",
        reason=f"the current value is {current} ({reason})" if broken else reason,
    )


def stored_metrics(stored: dict[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for key, value in (stored.get("metrics") or {}).items():
        try:
            metrics[str(key)] = float(value)  # json_safe wrote NaN as "NaN": float() reads it back
        except (TypeError, ValueError):
            continue
    return metrics
