"""Data volume: is this batch's row count normal?

Two rules, each optional: fixed bounds (``min_rows`` / ``max_rows``), and an anomaly test against the recent
history of this check's own counts, keyed by ``check_name`` (like Elementary's ``volume_anomalies`` without a
timestamp column: one point per run). The anomaly test uses a robust z-score,

    z = (count - median) / (1.4826 * MAD)

over the last ``window`` counts (MAD: median absolute deviation; 1.4826 = 1 / Φ⁻¹(3/4) makes it estimate the
standard deviation of normal data, as ``scipy.stats.median_abs_deviation(scale="normal")``). A median and a MAD
ignore a few wild past runs, where a mean and a standard deviation are dragged along by them and then hide a
real anomaly. When the MAD is 0 (a constant history) a relative-change rule judges instead
(:mod:`prefect_alerts.checks.volume_history`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import SQLAlchemyError

from prefect_alerts.alert import Severity
from prefect_alerts.channels.base import Channel, run_logger
from prefect_alerts.checks.base import FailOn, SeverityLevels, finish_check
from prefect_alerts.checks.volume_history import (
    DEFAULT_ZERO_MAD_SEVERITY,
    count_text,
    judge_history,
)
from prefect_alerts.checks.volume_inputs import (
    optional_bound,
    row_count,
    validate_settings,
    validated_history,
)
from prefect_alerts.checks.volume_result import DataVolumeResult, range_text
from prefect_alerts.delivery import source_from_context
from prefect_alerts.store import CheckStore, open_store
from prefect_alerts.text import plural

__all__ = ["DEFAULT_VOLUME_SEVERITY", "DEFAULT_ZERO_MAD_SEVERITY", "DataVolumeResult", "check_data_volume"]

DEFAULT_VOLUME_SEVERITY = SeverityLevels(warning=3.0, error=5.0, critical=10.0)
"""Severity by |robust z| for an anomaly: warning from 3, error from 5, critical from 10."""

VOLUME_CHECK_KIND = "data_volume"
"""The store key (``check_kind``) of this check's history."""


_HISTORY_FIELDS = {
    "rule",
    "baseline_median",
    "mad",
    "robust_z",
    "relative_change",
    "expected_range",
    "direction",
}


def _zero_mad_levels(levels: SeverityLevels | Mapping[str, float] | None) -> SeverityLevels:
    if levels is None:
        return DEFAULT_ZERO_MAD_SEVERITY
    return levels if isinstance(levels, SeverityLevels) else SeverityLevels.model_validate(dict(levels))


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
    zero_mad_levels: SeverityLevels | Mapping[str, float] | None = None,
    empty_without_baseline_severity: Severity | str | None = Severity.WARNING,
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
    - **MAD = 0** (at least half the past counts are the same number, e.g. a table of 100 rows every day):
      there is no spread to compare with (the robust z would be ±inf for 101 rows), so the **relative-change
      rule** judges instead: ``(count - median) / median`` graded by ``zero_mad_levels`` (default: no alert
      below 5%, warning from 5%, error from 20%, critical from 50%; after a history of zeros any rows are an
      unbounded change, critical). ``rule`` and ``reason`` say which rule fired.
    - **Empty and unjudged**: an empty batch (0 rows) with no ``min_rows`` and too little history is never
      silently fine: it fails with ``empty_without_baseline_severity`` (warning) and the reason says to set
      ``min_rows=1`` (empty is a failure) or ``min_rows=0`` (empty is normal).
    - ``min_relative_change`` (e.g. 0.01): changes under 1% of the median never fire, by either rule (like
      Elementary's ``ignore_small_changes``).
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
        zero_mad_levels: ``SeverityLevels`` (or a dict) on |relative change| when the MAD is 0 (default
            ``DEFAULT_ZERO_MAD_SEVERITY``: warning 0.05, error 0.2, critical 0.5); it fires from the lowest
            level given.
        empty_without_baseline_severity: Severity of an empty batch with no ``min_rows`` and too little
            history (default warning); None lets it pass as ``insufficient_history``.

    Returns:
        DataVolumeResult: ``passed``, ``status`` (``passed`` / ``failed`` / ``insufficient_history`` /
            ``error``), ``severity``, ``row_count``, the bounds outcome, ``baseline_median``, ``mad``,
            ``robust_z``, ``expected_range``, ``direction``, ``rule``, ``relative_change``, ``history_size``,
            ``empty_without_baseline``, ``reason`` and ``summary``.

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
    count = row_count(df_or_count)
    min_rows = optional_bound("min_rows", min_rows)
    max_rows = optional_bound("max_rows", max_rows)
    if min_rows is not None and max_rows is not None and min_rows > max_rows:
        raise ValueError(f"min_rows ({min_rows}) is greater than max_rows ({max_rows})")
    validate_settings(window, min_history, z_threshold, min_relative_change)
    levels = _severity_levels(severity_levels)
    zero_levels = _zero_mad_levels(zero_mad_levels)
    unguarded_empty = (
        None if empty_without_baseline_severity is None else Severity(empty_without_baseline_severity)
    )
    bounds_level, empty_level = Severity(bounds_severity), Severity(empty_severity)
    given_history = None if history is None else validated_history(history)
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
    history_level: Severity | None = None
    if history_error is not None:
        reason = history_error
    elif len(baseline) < min_history:
        reason = f"not enough history ({len(baseline)} of {min_history}) for an anomaly check"
    else:
        judged = judge_history(
            count,
            baseline,
            z_threshold=z_threshold,
            min_relative_change=min_relative_change,
            severity_levels=levels,
            zero_mad_levels=zero_levels,
        )
        anomaly, reason, history_level = judged.anomaly, judged.reason, judged.severity
        fields = judged.model_dump(include=_HISTORY_FIELDS)

    # ---- verdict --------------------------------------------------------------------------------------------
    bounds_passed = violation is None
    # Empty, and neither a lower bound nor a history can say whether that is normal: never silently fine.
    empty_unjudged = count == 0 and min_rows is None and "rule" not in fields and unguarded_empty is not None
    if empty_unjudged:
        reason += (
            "; an empty batch with nothing to compare it with is flagged: set min_rows=1 to make an empty "
            "batch a failure, or min_rows=0 if empty is normal"
        )
    failed = not bounds_passed or anomaly or empty_unjudged
    levels_hit: list[Severity] = []
    if not bounds_passed:
        levels_hit.append(bounds_level)
    if anomaly and history_level is not None:
        levels_hit.append(history_level)
    if (not bounds_passed or anomaly) and count == 0:
        levels_hit.append(empty_level)
    if empty_unjudged and unguarded_empty is not None:
        levels_hit.append(unguarded_empty)
    if history_error is not None:
        levels_hit.append(Severity.ERROR)
    severity = max(levels_hit) if levels_hit else Severity.SUCCESS
    if failed:
        status = "failed"
    elif history_error is not None:
        status = "error"
    elif "rule" not in fields:
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
            "zero_mad_levels": zero_levels.model_dump(),
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
        empty_without_baseline=empty_unjudged,
        **fields,
    )
    return finish_check(result, destinations=destinations, routing=routing, alert=alert, fail_on=fail_on)  # type: ignore[return-value]


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
    parts = [f"{check_name}: {plural(count, 'row')}"]
    if violation == "below_min_rows":
        parts.append(f"below min_rows {count_text(min_rows or 0)}")
    elif violation == "above_max_rows":
        parts.append(f"above max_rows {count_text(max_rows or 0)}")
    if "rule" in fields:
        expected = range_text(fields["expected_range"])
        if fields["rule"] == "robust_z":
            measure = f"robust z = {fields['robust_z']:+.2f}"
        elif fields["relative_change"] is None:
            measure = "up from 0 by the relative-change rule, as MAD = 0"
        else:
            measure = f"change {fields['relative_change']:+.1%} by the relative-change rule, as MAD = 0"
        if anomaly:
            parts.append(
                f"anomaly {fields['direction']} the usual {count_text(fields['baseline_median'])} "
                f"({measure}, expected {expected})"
            )
        else:
            parts.append(f"normal ({measure}, expected {expected})")
    else:
        parts.append(reason)
    return "; ".join(parts)
