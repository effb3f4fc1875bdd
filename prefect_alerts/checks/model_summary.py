"""The one-line summary of :func:`~prefect_alerts.checks.check_model_performance` and its number formats.

It starts with what failed (degraded metrics, metrics lost since the baseline, metrics that could not be
checked) and ends with the mean relative change in words ("mean relative change of 13.3% across 3 metrics").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from prefect_alerts.checks.model_metrics import MetricComparison
from prefect_alerts.text import count_of, plural

__all__ = ["format_number", "format_percent", "performance_summary"]


def format_number(value: float | None) -> str:
    """A metric value to 4 significant digits, or a dash when there is none.

    >>> format_number(0.912345), format_number(None)
    ('0.9123', '—')
    """
    return "—" if value is None else f"{value:.4g}"


def _metrics(count: int) -> str:
    return plural(count, "metric")


def format_percent(value: float | None) -> str:
    """A signed relative change as a percentage.

    >>> format_percent(-0.0549), format_percent(None)
    ('-5.5%', 'n/a')
    """
    if value is None:
        return "n/a"
    return f"{value:+.1%}" if math.isfinite(value) else str(value)


def performance_summary(
    check_name: str,
    rows: dict[str, MetricComparison],
    degraded: list[str],
    errors: list[MetricComparison],
    drift_score: float | None,
    no_baseline: bool,
    no_overlap: bool,
    store_error: str | None,
    *,
    missing: Sequence[str] = (),
    drift_count: int = 0,
) -> str:
    """The summary line, from the per-metric comparisons and the verdict's parts.

    >>> performance_summary("churn", {}, [], [], 0.133, False, False, None, drift_count=3)
    'churn: 0 metrics within limits; mean relative change of 13.3% across 3 metrics'
    """
    drift = (
        ""
        if drift_score is None
        else f"; mean relative change of {drift_score:.1%} across {plural(drift_count, 'metric')}"
    )
    lost = ""
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        lost = f"{', '.join(missing[:5])} {verb} in the baseline but missing from this run"
    skipped = [row.metric for row in rows.values() if row.status in ("skipped", "missing")]
    if degraded:
        described = ", ".join(
            f"{name} {format_number(rows[name].baseline)} → {format_number(rows[name].current)}"
            f" ({rows[name].degradation:.1%} worse, limit {rows[name].max_degradation:.1%})"
            if rows[name].degradation is not None and rows[name].max_degradation is not None
            else f"{name} {format_number(rows[name].baseline)} → {format_number(rows[name].current)}"
            for name in degraded[:5]
        )
        text = f"{check_name}: {count_of(len(degraded), len(rows), 'metric')} degraded: {described}"
        if lost:
            text += f"; {lost}"
    elif lost:
        text = f"{check_name}: {lost}"
        if errors:
            text += "; could not be checked: " + "; ".join(
                f"{row.metric}: {row.reason}" for row in errors[:5]
            )
    elif errors:
        text = f"{check_name}: {_metrics(len(errors))} could not be checked: " + "; ".join(
            f"{row.metric}: {row.reason}" for row in errors[:5]
        )
    elif store_error:
        text = f"{check_name}: {store_error}"
    elif no_baseline:
        text = f"{check_name}: no baseline yet (no passing run stored); {_metrics(len(rows))} not compared"
    elif no_overlap:
        text = f"{check_name}: no metric in common with the baseline ({', '.join(skipped[:10])})"
    else:
        checked = [row for row in rows.values() if row.status == "ok"]
        worst = max(checked, key=lambda row: row.limit_ratio or 0.0, default=None)
        text = f"{check_name}: {_metrics(len(checked))} within limits"
        if worst is not None and worst.degradation is not None and worst.degradation > 0:
            text += f" (closest: {worst.metric} {worst.degradation:.1%} worse)"
    only_here = [row.metric for row in rows.values() if row.status == "skipped"]
    if only_here and not no_baseline and not no_overlap:
        text += f"; only on one side: {', '.join(only_here[:5])}"
    return text + drift
