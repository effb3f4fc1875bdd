"""From per-column findings to the check's verdict and its one-line summary.

The dataset rule is Evidently's: the dataset drifted when drifted / compared columns >= ``drift_share``. On top
of it, a column can fail the check on its own (its ``column_severity``):

- a **key column** (``key_columns=[...]``) that drifted: ``key_column_severity`` (default error);
- a column whose score is **far past its threshold** (``strong_drift_factor``, default 3): a distance at
  >= 3x its threshold (normed Wasserstein 0.3 against 0.1), or a p-value at <= threshold / 10**3
  (KS p <= 0.00005 against 0.05): at least a warning;
- a column whose **missing share moved** by ``missing_share_change`` or more (default 0.1: 0% to 30% missing
  is flagged, 0% to 2% is not): ``missing_share_severity`` (default warning).

The summary names the drifted columns either way, names each column that could not be compared and why, and
starts with what failed, so the alert's title and summary never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from prefect_alerts.alert import Severity
from prefect_alerts.checks.base import SeverityLevels
from prefect_alerts.checks.drift.models import DEFAULT_DRIFT_SEVERITY, ColumnDrift
from prefect_alerts.text import count_of, plural

__all__ = [
    "DEFAULT_MISSING_SHARE_CHANGE",
    "DEFAULT_STRONG_DRIFT_FACTOR",
    "ColumnErrors",
    "drift_summary",
    "drift_verdict",
    "flag_columns",
    "is_strong_drift",
]

ColumnErrors = Literal["fail", "report"]

DEFAULT_STRONG_DRIFT_FACTOR = 3.0
"""A drifted column at 3x its distance threshold (or a p-value 1000x below its threshold) warns on its own."""

DEFAULT_MISSING_SHARE_CHANGE = 0.1
"""A column whose share of missing values moved by 10 percentage points or more is flagged."""


def is_strong_drift(column: ColumnDrift, factor: float) -> bool:
    """Whether a drifted column is far past its threshold: a distance >= ``factor`` x the threshold, or a
    p-value <= threshold / 10**factor.

        >>> from prefect_alerts.checks.drift import ColumnDrift
        >>> far = ColumnDrift(column="x", column_type="numerical", status="drifted", drifted=True,
        ...                   stattest_kind="distance", score=0.55, threshold=0.1)
        >>> is_strong_drift(far, 3), is_strong_drift(far.model_copy(update={"score": 0.2}), 3)
        (True, False)
    """
    if not column.drifted or column.score is None or column.threshold is None:
        return False
    if column.stattest_kind == "test":
        return column.score <= column.threshold / 10**factor
    return column.score >= factor * column.threshold


def _missing_share(column: ColumnDrift) -> tuple[float, float] | None:
    reference_rows = column.reference_size + column.nan_dropped.reference + column.inf_dropped.reference
    current_rows = column.current_size + column.nan_dropped.current + column.inf_dropped.current
    if not reference_rows or not current_rows:
        return None
    return column.nan_dropped.reference / reference_rows, column.nan_dropped.current / current_rows


def flag_columns(
    columns: Sequence[ColumnDrift],
    *,
    key_columns: Sequence[str] = (),
    key_column_severity: Severity = Severity.ERROR,
    strong_drift_factor: float | None = DEFAULT_STRONG_DRIFT_FACTOR,
    missing_share_change: float | None = DEFAULT_MISSING_SHARE_CHANGE,
    missing_share_severity: Severity | None = Severity.WARNING,
) -> list[ColumnDrift]:
    """The findings with ``key``, ``missing_share``, ``missing_share_changed`` and ``column_severity`` set.

    >>> from prefect_alerts.checks.drift import ColumnDrift
    >>> amount = ColumnDrift(column="amount", column_type="numerical", status="drifted", drifted=True,
    ...                      stattest_kind="distance", score=0.15, threshold=0.1)
    >>> flag_columns([amount], key_columns=["amount"])[0].column_severity
    <Severity.ERROR: 'error'>
    """
    keys = set(key_columns)
    flagged: list[ColumnDrift] = []
    for column in columns:
        update: dict[str, Any] = {"key": column.column in keys}
        levels: list[Severity] = []
        reasons: list[str] = []
        compared = column.status in ("ok", "drifted")
        if compared and column.drifted and column.column in keys:
            levels.append(key_column_severity)
        if compared and strong_drift_factor is not None and is_strong_drift(column, strong_drift_factor):
            levels.append(Severity.WARNING)
            reasons.append(f"far past its threshold (strong drift: {column.strength():.1f}x)")
        shares = _missing_share(column)
        update["missing_share"] = shares
        moved = (
            compared
            and shares is not None
            and missing_share_change is not None
            and abs(shares[1] - shares[0]) >= missing_share_change
        )
        update["missing_share_changed"] = moved
        if moved and shares is not None:
            reasons.append(f"missing {_share(shares[0])} → {_share(shares[1])} of rows")
            if missing_share_severity is not None:
                levels.append(missing_share_severity)
        if levels:
            update["column_severity"] = max(levels)
        if reasons:
            update["reason"] = "; ".join(filter(None, [column.reason, *reasons]))
        flagged.append(column.model_copy(update=update))
    return flagged


def _share(value: float) -> str:
    return f"{value:.0%}" if value == 0 or value >= 0.01 else f"{value:.2%}"


def drift_verdict(
    columns: Sequence[ColumnDrift],
    drift_share: float,
    *,
    column_errors: ColumnErrors = "fail",
    severity_levels: SeverityLevels = DEFAULT_DRIFT_SEVERITY,
) -> dict[str, Any]:
    """The dataset verdict from per-column findings (the rule ``detect_drift`` applies).

    - drifted_share = drifted / compared, where compared columns have status ``ok`` or ``drifted``;
    - dataset_drift when drifted_share >= drift_share (inclusive: 2 of 4 at 0.5 is drift);
    - a compared column with a ``column_severity`` (see :func:`flag_columns`) fails the check on its own;
    - passed = no dataset drift, no flagged column, and no column in ``error`` (schema changes included),
      unless ``column_errors="report"``; a check that compared nothing and had errors, or had no columns at
      all, never passes;
    - status ``failed`` (dataset drift or a flagged column), ``error`` (column errors, or no columns),
      ``skipped`` (nothing compared, every column skipped by choice: datetime or unsupported) or ``passed``;
    - severity from ``severity_levels`` on the drifted share (warning at least) for dataset drift, the
      flagged columns' severities, at least ``error`` for column errors, ``success`` when passed.

        >>> from prefect_alerts.checks.drift import ColumnDrift
        >>> ok = ColumnDrift(column="x", column_type="numerical", status="ok")
        >>> drift_verdict([ok], 0.5)["passed"]
        True
    """
    compared = [column for column in columns if column.status in ("ok", "drifted")]
    drifted = [column for column in compared if column.status == "drifted"]
    errors = [column for column in columns if column.status == "error"]
    flagged = [column for column in compared if column.column_severity is not None]
    share = len(drifted) / len(compared) if compared else 0.0
    dataset_drift = bool(compared) and share >= drift_share
    # No columns at all (two empty frames, or columns=[] ) is an error too: nothing was checked.
    failing_errors = (bool(errors) and (column_errors == "fail" or not compared)) or not columns
    passed = not dataset_drift and not failing_errors and not flagged
    if dataset_drift or flagged:
        status = "failed"
    elif failing_errors:
        status = "error"
    elif not compared:
        status = "skipped"
    else:
        status = "passed"
    levels: list[Severity] = [column.column_severity for column in flagged if column.column_severity]
    if dataset_drift:
        levels.append(severity_levels.level_for(share) or Severity.WARNING)
    if failing_errors:
        levels.append(Severity.ERROR)
    return {
        "passed": passed,
        "status": status,
        "severity": max(levels) if levels else Severity.SUCCESS,
        "dataset_drift": dataset_drift,
        "drifted_share": share,
        "number_of_compared_columns": len(compared),
        "number_of_drifted_columns": len(drifted),
        "flagged_columns": [column.column for column in flagged],
    }


def _names(columns: Sequence[ColumnDrift], limit: int = 3) -> str:
    names = ", ".join(column.column for column in columns[:limit])
    return names + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _moved(columns: Sequence[ColumnDrift]) -> str:
    return "; ".join(
        f"{column.column}: missing {_share(column.missing_share[0])} → {_share(column.missing_share[1])}"
        for column in columns[:3]
        if column.missing_share is not None
    ) + (f" and {len(columns) - 3} more" if len(columns) > 3 else "")


def drift_summary(
    verdict: dict[str, Any],
    columns: Sequence[ColumnDrift],
    drift_share: float,
    changes: int,
    column_errors: ColumnErrors = "fail",
) -> str:
    """One line that starts with what failed (or that nothing did) and names the columns behind it.

    >>> from prefect_alerts.checks.drift import ColumnDrift
    >>> ok = ColumnDrift(column="x", column_type="numerical", status="ok")
    >>> drift_summary(drift_verdict([ok], 0.5), [ok], 0.5, 0)
    'No dataset drift: 0 of 1 column drifted (0% < 50%)'
    """
    compared, drifted = verdict["number_of_compared_columns"], verdict["number_of_drifted_columns"]
    errors = [column for column in columns if column.status == "error"]
    ranked = sorted((c for c in columns if c.status == "drifted"), key=lambda c: c.strength(), reverse=True)
    by_name = {column.column: column for column in columns}
    flagged = [by_name[name] for name in verdict.get("flagged_columns", [])]
    key_drifted = [column for column in flagged if column.key and column.drifted]
    strong = [column for column in flagged if column.drifted and column not in key_drifted]
    moved = [column for column in columns if column.missing_share_changed and column.missing_share]
    not_compared = ""
    if errors:
        described = "; ".join(
            f"{column.column} could not be compared ({column.reason})" for column in errors[:3]
        )
        more = f"; and {len(errors) - 3} more columns could not be compared" if len(errors) > 3 else ""
        not_compared = f"{described}{more}"

    if compared == 0:
        if errors:
            text = f"Drift not checked: no column could be compared: {not_compared}"
        else:
            text = (
                "Drift not checked: every column was skipped"
                if columns
                else "Drift not checked: no columns to compare"
            )
    else:
        share, sign = verdict["drifted_share"], ">=" if verdict["dataset_drift"] else "<"
        counted = f"{count_of(drifted, compared, 'column')} drifted ({share:.0%} {sign} {drift_share:.0%})"
        named = f": {_names(ranked)}" if ranked else ""
        if verdict["dataset_drift"]:
            text = f"Dataset drift: {counted}{named}"
        else:
            heads: list[str] = []
            if key_drifted:
                word = "key column" if len(key_drifted) == 1 else "key columns"
                heads.append(f"{word} {_names(key_drifted)} drifted")
            if strong:
                heads.append(f"{_names(strong)} far past {'its' if len(strong) == 1 else 'their'} threshold")
            moved_flagged = [column for column in moved if column.column_severity is not None]
            if heads:
                text = f"Column drift: {'; '.join(heads)}; no dataset drift: {counted}{named}"
            elif moved_flagged:
                text = f"Missing values changed: {_moved(moved_flagged)}; no dataset drift: {counted}{named}"
                moved = [column for column in moved if column not in moved_flagged]
            elif errors and column_errors == "fail":
                text = (
                    f"Drift check incomplete: {not_compared}; no dataset drift in the rest: {counted}{named}"
                )
                not_compared = ""
            else:
                text = f"No dataset drift: {counted}{named}"
        if not_compared:
            text += f"; {not_compared}"
    if moved:
        text += f"; {_moved(moved)}"
    if changes:
        text += f"; {plural(changes, 'schema change')}"
    return text
