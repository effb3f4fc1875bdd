"""The result of :func:`~prefect_alerts.checks.check_data_volume`: its fields, table, alert fields and markdown."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from prefect_alerts.checks.base import CheckResult
from prefect_alerts.checks.volume_history import HistoryRule, count_text

__all__ = ["DataVolumeResult", "range_text"]


class DataVolumeResult(CheckResult):
    """The verdict of :func:`check_data_volume`.

    Attributes:
        row_count: The count that was checked.
        min_rows: The lower bound (None when not set).
        max_rows: The upper bound (None when not set).
        bounds_passed: False when the count is outside ``[min_rows, max_rows]`` (True when no bound is set).
        bounds_violation: ``"below_min_rows"``, ``"above_max_rows"`` or None.
        history: The past counts the baseline was built from, oldest first (at most ``window``).
        history_source: ``"argument"`` (``history=`` was given), ``"store"``, or ``"unavailable"`` (the
            store could not be read: status ``error``).
        history_size: How many past counts the baseline used.
        baseline_median: Median of ``history`` (None with too little history).
        mad: Raw median absolute deviation of ``history`` (None with too little history).
        robust_z: ``(row_count - median) / (1.4826 * MAD)``; ±inf when MAD is 0 and the count differs (the
            verdict then comes from ``relative_change``, see ``rule``).
        expected_range: ``median ± z_threshold * 1.4826 * MAD`` (lower end clipped at 0); when MAD is 0,
            ``median ± (lowest zero_mad_levels) * median``. A count on or outside the ends is an anomaly
            (unless within ``min_relative_change`` of the median).
        rule: Which history rule judged the count: ``"robust_z"``, or ``"relative_change"`` when MAD is 0;
            None with too little history.
        relative_change: ``(row_count - median) / median`` (None with too little history, or a median of 0
            and a non-zero count).
        empty_without_baseline: True when an empty batch was flagged because nothing (no ``min_rows``, not
            enough history) could say whether empty is normal.
        direction: ``"above"`` or ``"below"`` the median, None when equal or not computed.
        anomaly: True when the history test fired.
        reason: Why the history test said what it said.
        recorded: True when this run's count was written to the store.
    """

    check: ClassVar[str] = "data_volume"
    event: ClassVar[str] = "data_volume_anomaly"

    row_count: int
    min_rows: int | None = None
    max_rows: int | None = None
    bounds_passed: bool = True
    bounds_violation: Literal["below_min_rows", "above_max_rows"] | None = None
    history: list[float] = Field(default_factory=list)
    history_source: Literal["argument", "store", "unavailable"] = "store"
    history_size: int = 0
    baseline_median: float | None = None
    mad: float | None = None
    robust_z: float | None = None
    expected_range: tuple[float, float] | None = None
    direction: Literal["above", "below"] | None = None
    anomaly: bool = False
    reason: str = ""
    recorded: bool = False
    rule: HistoryRule | None = None
    relative_change: float | None = None
    empty_without_baseline: bool = False

    def table_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for rule, limit, violated in (
            ("min_rows", self.min_rows, self.bounds_violation == "below_min_rows"),
            ("max_rows", self.max_rows, self.bounds_violation == "above_max_rows"),
        ):
            if limit is not None:
                rows.append(
                    {
                        "rule": rule,
                        "row_count": self.row_count,
                        "limit": limit,
                        "passed": not violated,
                        "status": "failed" if violated else "passed",
                    }
                )
        history_status = self._history_rule_status()
        rows.append(
            {
                "rule": "history_anomaly",
                "row_count": self.row_count,
                "baseline_median": self.baseline_median,
                "mad": self.mad,
                "robust_z": self.robust_z,
                "expected_range": range_text(self.expected_range),
                "history_size": self.history_size,
                "passed": not self.anomaly and history_status != "error",
                "status": history_status,
                "reason": self.reason,
            }
        )
        return rows

    def _history_rule_status(self) -> str:
        if self.history_source == "unavailable":
            return "error"
        if self.anomaly:
            return "failed"
        return "insufficient_history" if self.robust_z is None else "passed"

    def alert_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"row_count": self.row_count}
        if self.min_rows is not None:
            fields["min_rows"] = self.min_rows
        if self.max_rows is not None:
            fields["max_rows"] = self.max_rows
        if self.robust_z is not None:
            fields.update(
                baseline_median=self.baseline_median,
                robust_z=round(self.robust_z, 3) if math.isfinite(self.robust_z) else self.robust_z,
                expected_range=range_text(self.expected_range),
                direction=self.direction,
            )
        fields["history_size"] = self.history_size
        return fields

    def markdown(self) -> str:
        text = super().markdown()
        if self.baseline_median is not None:
            text += (
                f"\n**Baseline:** median {count_text(self.baseline_median)}, MAD {count_text(self.mad or 0.0)}"
                f" over the last {self.history_size} runs; expected range {range_text(self.expected_range)}"
            )
        return text


def range_text(bounds: tuple[float, float] | None) -> str | None:
    """An expected range as people read it, or None.

    >>> range_text((95.0, 105.0))
    '95 – 105'
    """
    return None if bounds is None else f"{count_text(bounds[0])} – {count_text(bounds[1])}"
