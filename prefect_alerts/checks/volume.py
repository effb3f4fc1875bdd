"""Data volume: is this batch's row count normal?

Two rules, each optional: fixed bounds (``min_rows`` / ``max_rows``), and an anomaly test against the recent
history of this check's own counts, keyed by ``check_name`` (like Elementary's ``volume_anomalies`` without a
timestamp column: one point per run). The anomaly test uses a robust z-score,

    z = (count - median) / (1.4826 * MAD)

over the last ``window`` counts (MAD: median absolute deviation; 1.4826 = 1 / Φ⁻¹(3/4) makes it estimate the
standard deviation of normal data, as ``scipy.stats.median_abs_deviation(scale="normal")``). A median and a MAD
ignore a few wild past runs, where a mean and a standard deviation are dragged along by them and then hide a
real anomaly.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import Field
from sqlalchemy.exc import SQLAlchemyError

from prefect_alerts.alert import Severity
from prefect_alerts.channels.base import Channel, run_logger
from prefect_alerts.checks.base import CheckResult, FailOn, SeverityLevels, finish_check
from prefect_alerts.checks.robust import RobustZ, robust_z_score
from prefect_alerts.delivery import source_from_context
from prefect_alerts.store import CheckStore, open_store

__all__ = ["DEFAULT_VOLUME_SEVERITY", "DataVolumeResult", "check_data_volume"]

DEFAULT_VOLUME_SEVERITY = SeverityLevels(warning=3.0, error=5.0, critical=10.0)
"""Severity by |robust z| for an anomaly: warning from 3, error from 5, critical from 10."""

VOLUME_CHECK_KIND = "data_volume"
"""The store key (``check_kind``) of this check's history."""


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
        robust_z: ``(row_count - median) / (1.4826 * MAD)``; ±inf when MAD is 0 and the count differs.
        expected_range: ``median ± z_threshold * 1.4826 * MAD`` (lower end clipped at 0); a count on or
            outside the ends is an anomaly (unless within ``min_relative_change`` of the median).
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
                "expected_range": _range_text(self.expected_range),
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
                expected_range=_range_text(self.expected_range),
                direction=self.direction,
            )
        fields["history_size"] = self.history_size
        return fields

    def markdown(self) -> str:
        text = super().markdown()
        if self.baseline_median is not None:
            text += (
                f"\n**Baseline:** median {_count_text(self.baseline_median)}, MAD {_count_text(self.mad or 0.0)}"
                f" over the last {self.history_size} runs; expected range {_range_text(self.expected_range)}"
            )
        return text


def _count_text(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _range_text(bounds: tuple[float, float] | None) -> str | None:
    return None if bounds is None else f"{_count_text(bounds[0])} – {_count_text(bounds[1])}"


def _row_count(df_or_count: Any) -> int:
    # A bool is an int in Python but never a row count; a string has a len() but is no table.
    if isinstance(df_or_count, (bool, np.bool_, str, bytes)):
        raise TypeError(f"df_or_count must be a table or a row count, got {type(df_or_count).__name__}")
    if isinstance(df_or_count, numbers.Integral):
        count = int(df_or_count)
    elif isinstance(df_or_count, numbers.Real):
        value = float(df_or_count)
        if not math.isfinite(value):
            raise ValueError(f"the row count must be finite, got {value!r}")
        if not value.is_integer():
            raise ValueError(f"the row count must be a whole number, got {value!r}")
        count = int(value)
    elif hasattr(df_or_count, "__len__"):
        count = len(df_or_count)
    else:
        raise TypeError(
            "df_or_count must be a DataFrame (or anything with len()) or an int row count, "
            f"got {type(df_or_count).__name__}"
        )
    if count < 0:
        raise ValueError(f"the row count cannot be negative, got {count}")
    return count


def _validated_history(history: Iterable[float]) -> list[float]:
    if isinstance(history, (str, bytes, Mapping)) or not isinstance(history, Iterable):
        raise TypeError(
            f"history must be a list of past row counts (oldest first), got {type(history).__name__}"
        )
    values: list[float] = []
    for position, item in enumerate(history):
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
            raise TypeError(f"history[{position}] must be a number, got {type(item).__name__}: {item!r}")
        value = float(item)
        if not math.isfinite(value):
            raise ValueError(f"history[{position}] must be finite, got {value!r}")
        if value < 0:
            raise ValueError(f"history[{position}] is a negative row count: {value!r}")
        values.append(value)
    return values


def _optional_bound(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number of rows or None, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} cannot be negative, got {value}")
    return int(value)


def _validate_settings(window: int, min_history: int, z_threshold: float, min_relative_change: float) -> None:
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1:
        raise ValueError(f"window must be a whole number of runs >= 1, got {window!r}")
    if isinstance(min_history, bool) or not isinstance(min_history, numbers.Integral) or min_history < 1:
        raise ValueError(f"min_history must be a whole number of runs >= 1, got {min_history!r}")
    if min_history > window:
        raise ValueError(
            f"min_history ({min_history}) cannot exceed window ({window}): it could never be met"
        )
    if not (isinstance(z_threshold, numbers.Real) and math.isfinite(z_threshold) and z_threshold > 0):
        raise ValueError(f"z_threshold must be a finite number > 0, got {z_threshold!r}")
    if not (
        isinstance(min_relative_change, numbers.Real)
        and math.isfinite(min_relative_change)
        and min_relative_change >= 0
    ):
        raise ValueError(f"min_relative_change must be a finite number >= 0, got {min_relative_change!r}")


def _severity_levels(levels: SeverityLevels | Mapping[str, float] | None) -> SeverityLevels:
    if levels is None:
        return DEFAULT_VOLUME_SEVERITY
    return levels if isinstance(levels, SeverityLevels) else SeverityLevels.model_validate(dict(levels))


@task(name="check-data-volume", cache_policy=NO_CACHE)
def check_data_volume(
    df_or_count: Any,
    min_rows: int | None = None,
    max_rows: int | None = None,
    history: Iterable[float] | None = None,
    check_name: str = "data_volume",
    window: int = 14,
    min_history: int = 7,
    z_threshold: float = 3.0,
    severity_levels: SeverityLevels | Mapping[str, float] | None = None,
    bounds_severity: Severity | str = Severity.ERROR,
    empty_severity: Severity | str = Severity.CRITICAL,
    store: CheckStore | str | None = None,
    record: bool = True,
    destinations: Channel | str | Sequence[Channel | str] | None = None,
    routing: Any = None,
    alert: bool = True,
    fail_on: FailOn = None,
    min_relative_change: float = 0.0,
) -> DataVolumeResult:
    """Checks a batch's row count against fixed bounds and against this check's own recent history.

    **Bounds**: a count below ``min_rows`` or above ``max_rows`` fails (the bounds themselves pass).

    **History**: the robust z-score ``(count - median) / (1.4826 * MAD)`` over the last ``window`` counts of
    this ``check_name`` fires at ``|z| >= z_threshold``. The current count is never part of its own baseline:
    it is recorded after the verdict (``record=True``), every run, anomalous or not. A median and MAD barely
    move for a few wild runs, so past outliers cannot mask a real anomaly, and a lasting change of level
    becomes the new normal once it is most of the window.

    - **Too little history**: with fewer than ``min_history`` past counts there is no verdict on the history:
      status ``insufficient_history``, ``passed=True`` (unless a bound fails), and the summary says
      "not enough history (3 of 7)".
    - **MAD = 0** (at least half the past counts are the same number, e.g. a table that never changes):
      there is no spread to compare with, so a count equal to the median scores z = 0 and any other count
      z = ±inf, an anomaly. To tolerate small changes there, set ``min_relative_change`` (e.g. 0.01: changes
      under 1% of the median never fire, like Elementary's ``ignore_small_changes``).
    - **``history=``**: when given, these counts (oldest first, the last ``window`` used) are the baseline and
      the store is not read; the count is still recorded when ``record=True``.

    Severity: an anomaly is graded by ``|z|`` with ``severity_levels`` (default warning 3, error 5,
    critical 10; at least warning when it fires); a bound violation is ``bounds_severity`` (error); an
    empty batch (0 rows) that fails either rule is ``empty_severity`` (critical); a store that cannot be
    read gives status ``error`` with severity error. The worst applies.

    Args:
        df_or_count: A DataFrame (its ``len``), anything with ``len()``, or a row count (an int, or a
            whole-number float).
        min_rows: Fewest rows allowed (inclusive), or None.
        max_rows: Most rows allowed (inclusive), or None.
        history: Past counts, oldest first, to use as the baseline instead of the store.
        check_name: Keys this check's history, artifact (``data-volume-<name>``) and alert dedup key: use one
            name per table/batch you watch.
        window: How many recent counts form the baseline (default 14, as Elementary's training period).
        min_history: Fewest past counts needed for the history test (default 7).
        z_threshold: The |robust z| at which the history test fires (default 3, Elementary's sensitivity).
        severity_levels: ``SeverityLevels`` (or a dict) on |z| for an anomaly.
        bounds_severity: Severity of a bound violation.
        empty_severity: Severity of an empty batch that fails.
        store: A ``CheckStore``, a SQLAlchemy URL, or None for the default store
            (``PREFECT_ALERTS_DATABASE_URL``, else SQLite under ``PREFECT_HOME``).
        record: Write this count to the store after checking (default True).
        destinations: Where the alert goes on failure: channel references (``\"slack:ops\"``) or channels; a direct
            route instead of the routing config.
        routing: An ``AlertRouting``, a routing file path or a routing block name; None: the routing
            resolution order (``PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        alert: False to only return the result.
        fail_on: ``True`` to raise on failure, a severity (``"error"``) to raise from that level, None never.
        min_relative_change: Changes smaller than this share of the median never count as anomalies.

    Returns:
        DataVolumeResult: ``passed``, ``status`` (``passed`` / ``failed`` / ``insufficient_history`` /
            ``error``), ``severity``, ``row_count``, the bounds outcome, ``baseline_median``, ``mad``,
            ``robust_z``, ``expected_range``, ``direction``, ``history_size``, ``reason`` and ``summary``.

    Raises:
        TypeError: ``df_or_count`` is neither a table nor a number; ``history`` is not a list of numbers.
        ValueError: a negative, non-finite or fractional count; a negative or non-finite history value;
            ``min_rows > max_rows``; ``min_history > window``; a non-positive ``z_threshold``.
        CheckFailedError: the check failed and ``fail_on`` asks to stop.

    Example:
        ```python
        import pandas as pd
        from prefect import flow
        from prefect_alerts.checks.volume import check_data_volume


        @flow
        def load_orders():
            orders = pd.DataFrame({"id": range(1_000)})
            result = check_data_volume(orders, min_rows=1, check_name="orders", fail_on="error")
            print(result.summary)


        load_orders()
        ```
    """
    count = _row_count(df_or_count)
    min_rows = _optional_bound("min_rows", min_rows)
    max_rows = _optional_bound("max_rows", max_rows)
    if min_rows is not None and max_rows is not None and min_rows > max_rows:
        raise ValueError(f"min_rows ({min_rows}) is greater than max_rows ({max_rows})")
    _validate_settings(window, min_history, z_threshold, min_relative_change)
    levels = _severity_levels(severity_levels)
    bounds_level, empty_level = Severity(bounds_severity), Severity(empty_severity)
    given_history = None if history is None else _validated_history(history)
    log = run_logger("prefect_alerts.checks")

    # ---- bounds ----------------------------------------------------------------------------------------
    violation: Literal["below_min_rows", "above_max_rows"] | None = None
    if min_rows is not None and count < min_rows:
        violation = "below_min_rows"
    elif max_rows is not None and count > max_rows:
        violation = "above_max_rows"

    # ---- baseline: the argument, else the store -----------------------------------------------------------
    opened: CheckStore | None = None
    history_error: str | None = None
    if given_history is not None:
        baseline, source = given_history[-window:], "argument"
    else:
        try:
            opened = open_store(store)
            points = opened.recent_values(VOLUME_CHECK_KIND, check_name, limit=window)
            baseline, source = [point.value for point in points], "store"
        except (SQLAlchemyError, ImportError, OSError) as exc:
            baseline, source = [], "unavailable"
            history_error = f"the history store could not be read: {type(exc).__name__}: {exc}"[:500]

    # ---- the history test ---------------------------------------------------------------------------------
    fields: dict[str, Any] = {}
    anomaly = False
    if history_error is not None:
        reason = history_error
    elif len(baseline) < min_history:
        reason = f"not enough history ({len(baseline)} of {min_history}) for an anomaly check"
    else:
        stats = robust_z_score(count, baseline)
        half_width = z_threshold * stats.scale
        change = abs(count - stats.median)
        small = change < min_relative_change * stats.median
        anomaly = abs(stats.z) >= z_threshold and not small
        fields = {
            "baseline_median": stats.median,
            "mad": stats.mad,
            "robust_z": stats.z,
            "expected_range": (max(0.0, stats.median - half_width), stats.median + half_width),
            "direction": None if change == 0 else ("above" if count > stats.median else "below"),
        }
        reason = _history_reason(
            count, stats, z_threshold, len(baseline), anomaly, small, min_relative_change
        )

    # ---- verdict --------------------------------------------------------------------------------------------
    bounds_passed = violation is None
    failed = not bounds_passed or anomaly
    levels_hit: list[Severity] = []
    if not bounds_passed:
        levels_hit.append(bounds_level)
    if anomaly:
        levels_hit.append(
            max(Severity.WARNING, levels.level_for(abs(fields["robust_z"])) or Severity.WARNING)
        )
    if failed and count == 0:
        levels_hit.append(empty_level)
    if history_error is not None:
        levels_hit.append(Severity.ERROR)
    severity = max(levels_hit) if levels_hit else Severity.SUCCESS
    if failed:
        status = "failed"
    elif history_error is not None:
        status = "error"
    elif "robust_z" not in fields:
        status = "insufficient_history"
    else:
        status = "passed"

    # ---- record this count for the next runs (after the verdict: never part of its own baseline) -------
    recorded = False
    if record:
        try:
            opened = opened or open_store(store)
            opened.record_value(
                VOLUME_CHECK_KIND, check_name, count, flow_run_id=source_from_context().flow_run_id
            )
            recorded = True
        except (SQLAlchemyError, ImportError, OSError) as exc:  # the verdict stands without the record
            log.warning("could not record the row count of %r: %s: %s", check_name, type(exc).__name__, exc)

    result = DataVolumeResult(
        check_name=check_name,
        passed=not failed and history_error is None,
        status=status,
        severity=severity,
        summary=_summary(check_name, count, violation, min_rows, max_rows, anomaly, reason, fields),
        thresholds={
            "min_rows": min_rows,
            "max_rows": max_rows,
            "z_threshold": z_threshold,
            "window": window,
            "min_history": min_history,
            "min_relative_change": min_relative_change,
            "severity_levels": levels.model_dump(),
        },
        sample_sizes={"row_count": count, "history_size": len(baseline)},
        row_count=count,
        min_rows=min_rows,
        max_rows=max_rows,
        bounds_passed=bounds_passed,
        bounds_violation=violation,
        history=baseline,
        history_source=source,
        history_size=len(baseline),
        anomaly=anomaly,
        reason=reason,
        recorded=recorded,
        **fields,
    )
    return finish_check(result, destinations=destinations, routing=routing, alert=alert, fail_on=fail_on)  # type: ignore[return-value]


def _history_reason(
    count: int, stats: RobustZ, z_threshold: float, size: int, anomaly: bool, small: bool, tolerance: float
) -> str:
    if stats.mad == 0:
        if stats.z == 0:
            return f"equal to the median {_count_text(stats.median)} of the last {size} runs (MAD = 0)"
        base = f"the last {size} runs have MAD = 0 (at least half equal {_count_text(stats.median)}), so any other count is an anomaly"
    else:
        base = f"robust z = {stats.z:+.2f} against the median {_count_text(stats.median)} of the last {size} runs"
    if small:
        return f"{base}; ignored: the change is under min_relative_change ({tolerance:g}) of the median"
    if anomaly:
        return f"{base}; |z| >= {z_threshold:g}" if stats.mad else base
    return f"{base}; |z| < {z_threshold:g}"


def _summary(
    check_name: str,
    count: int,
    violation: str | None,
    min_rows: int | None,
    max_rows: int | None,
    anomaly: bool,
    reason: str,
    fields: dict[str, Any],
) -> str:
    parts = [f"{check_name}: {_count_text(count)} rows"]
    if violation == "below_min_rows":
        parts.append(f"below min_rows {_count_text(min_rows or 0)}")
    elif violation == "above_max_rows":
        parts.append(f"above max_rows {_count_text(max_rows or 0)}")
    if "robust_z" in fields:
        z = fields["robust_z"]
        z_text = f"{z:+.2f}" if math.isfinite(z) else ("+inf" if z > 0 else "-inf")
        expected = _range_text(fields["expected_range"])
        if anomaly:
            parts.append(
                f"anomaly {fields['direction']} the usual {_count_text(fields['baseline_median'])} "
                f"(robust z = {z_text}, expected {expected})"
            )
        else:
            parts.append(f"normal (robust z = {z_text}, expected {expected})")
    else:
        parts.append(reason)
    return "; ".join(parts)
