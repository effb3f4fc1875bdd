"""The history rule of :func:`~prefect_alerts.checks.check_data_volume`: robust z, or relative change at MAD 0.

Two rules judge a row count against the recent counts of the same check:

- **robust z** (the usual one): ``z = (count - median) / (1.4826 * MAD)`` fires at ``|z| >= z_threshold`` and
  is graded by ``severity_levels`` on ``|z|``.
- **relative change** (when the MAD is 0: at least half the past counts are one number, e.g. a table of 100
  rows every day): there is no spread to measure against, and a robust z would call 101 rows "z = +inf". The
  change is measured against the median instead, ``(count - median) / median``, and graded by
  ``zero_mad_levels`` (default :data:`DEFAULT_ZERO_MAD_SEVERITY`: nothing below 5%, warning from 5%, error from
  20%, critical from 50%). A count above a median of 0 is an unbounded change (graded as the top level given).

In both, a change under ``min_relative_change`` of the median never fires.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from prefect_alerts.alert import Severity
from prefect_alerts.checks.base import SeverityLevels
from prefect_alerts.checks.robust import robust_z_score

__all__ = ["DEFAULT_ZERO_MAD_SEVERITY", "HistoryRule", "HistoryVerdict", "count_text", "judge_history"]

DEFAULT_ZERO_MAD_SEVERITY = SeverityLevels(warning=0.05, error=0.2, critical=0.5)
"""Severity by |relative change| from the median when the MAD is 0: no alert below 5%, warning from 5%, error
from 20%, critical from 50% (an empty batch after a constant history is a 100% drop: critical)."""

HistoryRule = Literal["robust_z", "relative_change"]


class HistoryVerdict(BaseModel):
    """What the history rule found for one count (see the module docstring)."""

    rule: HistoryRule
    anomaly: bool
    severity: Severity | None
    """The level reached when ``anomaly`` (at least warning), else None."""
    baseline_median: float
    mad: float
    robust_z: float
    """The raw robust z (±inf when the MAD is 0 and the count differs), kept for callers that read it."""
    relative_change: float | None
    """``(count - median) / median``; None when the median is 0 and the count is not (unbounded)."""
    expected_range: tuple[float, float]
    direction: Literal["above", "below"] | None
    reason: str


def count_text(value: float) -> str:
    """A row count as people read it: ``10,120``, or ``10,120.5`` for a median between two counts."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _lowest_level(levels: SeverityLevels) -> float | None:
    given = [value for value in (levels.warning, levels.error, levels.critical) if value is not None]
    return min(given) if given else None


def judge_history(
    count: int,
    baseline: Sequence[float],
    *,
    z_threshold: float,
    min_relative_change: float,
    severity_levels: SeverityLevels,
    zero_mad_levels: SeverityLevels = DEFAULT_ZERO_MAD_SEVERITY,
) -> HistoryVerdict:
    """Judge ``count`` against ``baseline`` (at least one past count) with the rule that applies.

    >>> judge_history(101, [100] * 14, z_threshold=3, min_relative_change=0,
    ...               severity_levels=SeverityLevels(warning=3)).anomaly
    False
    >>> judge_history(150, [100] * 14, z_threshold=3, min_relative_change=0,
    ...               severity_levels=SeverityLevels(warning=3)).severity
    <Severity.CRITICAL: 'critical'>
    """
    stats = robust_z_score(count, baseline)
    size, median = len(baseline), stats.median
    change = abs(count - median)
    small = change < min_relative_change * median
    direction: Literal["above", "below"] | None = (
        None if change == 0 else ("above" if count > median else "below")
    )
    relative = (count - median) / median if median else (0.0 if count == 0 else None)
    tolerance = f"; ignored: the change is under min_relative_change ({min_relative_change:g}) of the median"
    if stats.mad > 0:
        half_width = z_threshold * stats.scale
        anomaly = abs(stats.z) >= z_threshold and not small
        reason = (
            f"robust z = {stats.z:+.2f} against the median {count_text(median)} of the last {size} runs"
            + (tolerance if small else f"; |z| {'>=' if anomaly else '<'} {z_threshold:g}")
        )
        level = max(Severity.WARNING, severity_levels.level_for(abs(stats.z)) or Severity.WARNING)
        return HistoryVerdict(
            rule="robust_z",
            anomaly=anomaly,
            severity=level if anomaly else None,
            baseline_median=median,
            mad=stats.mad,
            robust_z=stats.z,
            relative_change=relative,
            expected_range=(max(0.0, median - half_width), median + half_width),
            direction=direction,
            reason=reason,
        )

    # MAD = 0: no spread to measure against, so the change relative to the median decides.
    fire_at = _lowest_level(zero_mad_levels)
    magnitude = math.inf if relative is None else abs(relative)
    anomaly = fire_at is not None and magnitude >= fire_at and not small
    head = (
        f"the last {size} runs have MAD = 0 (at least half equal {count_text(median)}), so the relative-change "
        f"rule applies"
    )
    rule_text = "no zero_mad_levels set: never fires" if fire_at is None else f"alerts from {fire_at:.0%}"
    if relative is None:
        moved = f"{count_text(count)} rows from 0: an unbounded change"
    elif change == 0:
        moved = "no change"
    else:
        moved = f"change {relative:+.1%}"
    verdict = tolerance.removeprefix("; ") if small else "anomaly" if anomaly else "within it"
    reason = f"{head} ({rule_text}); {moved}; {verdict}"
    level = None
    if anomaly:
        level = zero_mad_levels.level_for(magnitude) or Severity.WARNING
    spread = fire_at if fire_at is not None and median else 0.0
    return HistoryVerdict(
        rule="relative_change",
        anomaly=anomaly,
        severity=max(Severity.WARNING, level) if level else None,
        baseline_median=median,
        mad=0.0,
        robust_z=stats.z,
        relative_change=relative,
        expected_range=(max(0.0, median * (1 - spread)), median * (1 + spread)),
        direction=direction,
        reason=reason,
    )
