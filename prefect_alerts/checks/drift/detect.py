"""The ``detect_drift`` task: per-column drift with Evidently-compatible defaults, a dataset verdict, an alert."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from prefect_alerts.alert import Severity
from prefect_alerts.channels.base import Channel
from prefect_alerts.checks.base import FailOn, SeverityLevels, finish_check
from prefect_alerts.checks.drift.column_profile import ColumnProfile, profile_column
from prefect_alerts.checks.drift.columns import ColumnType, DatetimeMode
from prefect_alerts.checks.drift.compare import CompareOptions, compare_column
from prefect_alerts.checks.drift.methods import METHODS
from prefect_alerts.checks.drift.models import (
    DEFAULT_DRIFT_SEVERITY,
    ColumnDrift,
    DriftResult,
    SchemaChange,
)
from prefect_alerts.checks.drift.profile import ReferenceProfile, default_workers, validate_bins
from prefect_alerts.checks.drift.stats import KSPValueMode
from prefect_alerts.checks.drift.workspace import borrowed_workspace

__all__ = ["detect_drift", "drift_verdict"]

Binning = Literal["quantile", "evidently"]
ColumnErrors = Literal["fail", "report"]

_PARALLEL_MIN_CELLS = 200_000
"""Below this many values in total a thread pool costs more than it saves."""
_LIGHT_METHODS = frozenset({"psi", "jensenshannon"})
"""With a profile and quantile bins these only count values per bin (no sort): a few memory-bound passes per
column, where threads pay off only on long columns."""
_LIGHT_PARALLEL_MIN_ROWS = 500_000


def _validate(
    method: str | Mapping[Hashable, str],
    threshold: float | Mapping[Hashable, float] | None,
    drift_share: float,
    binning: str,
    bins: int,
    datetime: str,
    column_errors: str,
    ks_p_value: str,
    column_types: Mapping[Hashable, str] | None,
) -> None:
    methods = method.values() if isinstance(method, Mapping) else [method]
    for name in methods:
        if name != "auto" and name not in METHODS:
            raise ValueError(f"unknown drift method {name!r}; choose 'auto' or one of {sorted(METHODS)}")
    thresholds = threshold.values() if isinstance(threshold, Mapping) else [threshold]
    for value in thresholds:
        if value is not None and (isinstance(value, bool) or not math.isfinite(float(value)) or value < 0):
            raise ValueError(f"threshold must be a finite number >= 0, not {value!r}")
    if isinstance(drift_share, bool) or not 0 < float(drift_share) <= 1:
        raise ValueError(f"drift_share must be in (0, 1], not {drift_share!r}")
    if binning not in ("quantile", "evidently"):
        raise ValueError(f"binning must be 'quantile' or 'evidently', not {binning!r}")
    validate_bins(bins)
    if datetime not in ("skip", "numeric"):
        raise ValueError(f"datetime must be 'skip' or 'numeric', not {datetime!r}")
    if column_errors not in ("fail", "report"):
        raise ValueError(f"column_errors must be 'fail' or 'report', not {column_errors!r}")
    if ks_p_value not in ("auto", "scipy"):
        raise ValueError(f"ks_p_value must be 'auto' or 'scipy', not {ks_p_value!r}")
    for label, kind in (column_types or {}).items():
        if kind not in ("numerical", "categorical"):
            raise ValueError(f"column_types[{label!r}] must be 'numerical' or 'categorical', not {kind!r}")


def _as_frame(data: Any, side: str) -> pd.DataFrame:
    if isinstance(data, pd.Series):
        return data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{side} must be a pandas DataFrame, not {type(data).__name__}")
    return data


def _per_column(setting: Any, label: Hashable, default: Any) -> Any:
    if isinstance(setting, Mapping):
        return setting.get(label, default)
    return setting


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
    - passed = no dataset drift and no column in ``error`` (schema changes included), unless
      ``column_errors="report"``; a check that compared nothing and had errors, or had no columns at all,
      never passes;
    - status ``failed`` (dataset drift), ``error`` (column errors, or no columns), ``skipped`` (nothing
      compared, every column skipped by choice: datetime or unsupported) or ``passed``;
    - severity from ``severity_levels`` on the drifted share (warning at least) for dataset drift, at least
      ``error`` for column errors, ``success`` when passed.
    """
    compared = [column for column in columns if column.status in ("ok", "drifted")]
    drifted = [column for column in compared if column.status == "drifted"]
    errors = [column for column in columns if column.status == "error"]
    share = len(drifted) / len(compared) if compared else 0.0
    dataset_drift = bool(compared) and share >= drift_share
    # No columns at all (two empty frames, or columns=[] ) is an error too: nothing was checked.
    failing_errors = (bool(errors) and (column_errors == "fail" or not compared)) or not columns
    passed = not dataset_drift and not failing_errors
    if dataset_drift:
        status = "failed"
    elif failing_errors:
        status = "error"
    elif not compared:
        status = "skipped"
    else:
        status = "passed"
    level: Severity = Severity.SUCCESS
    if dataset_drift:
        level = severity_levels.level_for(share) or Severity.WARNING
    if failing_errors and level < Severity.ERROR:
        level = Severity.ERROR
    return {
        "passed": passed,
        "status": status,
        "severity": level,
        "dataset_drift": dataset_drift,
        "drifted_share": share,
        "number_of_compared_columns": len(compared),
        "number_of_drifted_columns": len(drifted),
    }


def _summary(
    verdict: dict[str, Any], columns: Sequence[ColumnDrift], drift_share: float, changes: int
) -> str:
    compared, drifted = verdict["number_of_compared_columns"], verdict["number_of_drifted_columns"]
    errors = [column for column in columns if column.status == "error"]
    if compared == 0:
        if errors:
            first = errors[0]
            text = f"Drift not checked: no column could be compared ({first.column}: {first.reason})"
        else:
            text = (
                "Drift not checked: every column was skipped"
                if columns
                else "Drift not checked: no columns to compare"
            )
    else:
        share, sign = verdict["drifted_share"], ">=" if verdict["dataset_drift"] else "<"
        head = "Dataset drift" if verdict["dataset_drift"] else "No dataset drift"
        text = f"{head}: {drifted} of {compared} columns drifted ({share:.0%} {sign} {drift_share:.0%})"
        ranked = sorted(
            (c for c in columns if c.status == "drifted"), key=lambda c: c.strength(), reverse=True
        )
        if ranked:
            names = ", ".join(column.column for column in ranked[:3])
            text += f": {names}" + (f" and {len(ranked) - 3} more" if len(ranked) > 3 else "")
        if errors:
            text += f"; {len(errors)} column{'s' if len(errors) != 1 else ''} could not be compared"
    if changes:
        text += f"; {changes} schema change{'s' if changes != 1 else ''}"
    return text


@task(name="detect-drift", cache_policy=NO_CACHE)
def detect_drift(
    reference: pd.DataFrame | ReferenceProfile,
    current: pd.DataFrame,
    columns: Sequence[Hashable] | None = None,
    method: str | Mapping[Hashable, str] = "auto",
    threshold: float | Mapping[Hashable, float] | None = None,
    drift_share: float = 0.5,
    binning: Binning = "quantile",
    bins: int = 10,
    check_name: str = "drift",
    destinations: Channel | str | Sequence[Channel | str] | None = None,
    routing: Any = None,
    alert: bool = True,
    fail_on: FailOn = None,
    *,
    datetime: DatetimeMode = "skip",
    column_types: Mapping[Hashable, ColumnType] | None = None,
    column_errors: ColumnErrors = "fail",
    severity_levels: SeverityLevels | Mapping[str, float] | None = None,
    ks_p_value: KSPValueMode = "auto",
    workers: int | None = None,
    tags: Sequence[str] = (),
) -> DriftResult:
    """Compare current data with a reference, column by column, and decide whether the dataset drifted.

    Methods and thresholds default to Evidently 0.7's (what its code does): up to 1000 reference values
    (after dropping NaN/inf) numerical columns with more than 5 distinct values (both sides together) use KS
    (drift at p <= 0.05), others chi-square (more than 2 values) or a z-test (drift at p < 0.05); above 1000,
    Wasserstein distance normed by the reference std for numerical columns with more than 5 values, else
    Jensen-Shannon (drift at >= 0.1). Integer columns with at most 10 distinct reference values are
    categorical, as Evidently infers. The dataset drifted when drifted/compared columns >= ``drift_share``.

    Bad data never raises: NaN/inf are dropped and counted; a column with no values, a schema change (column
    missing on a side, dtype family changed), or a method that does not apply makes that column ``error``
    with the reason; datetime and unsupported columns are ``skipped``. Column errors fail the check (severity
    error) unless ``column_errors="report"``.

    Args:
        reference: The reference frame, or a :class:`ReferenceProfile` built from it once.
        current: The data to check.
        columns: Columns to compare (default: all columns of either side).
        method: ``"auto"``, or ``"ks"``, ``"chisquare"``, ``"z"``, ``"wasserstein"``, ``"psi"``,
            ``"jensenshannon"`` for every column; or a mapping column -> method (others ``"auto"``).
        threshold: Overrides the method's default threshold (a number, or a mapping column -> number).
        drift_share: Share of drifted columns that is dataset drift (inclusive), in (0, 1].
        binning: PSI/Jensen-Shannon bins for numerical columns: ``"quantile"`` (reference quantiles, shares
            floored at 1e-4; robust to outliers) or ``"evidently"`` (Evidently 0.7's PSI exactly).
        bins: Quantile bins (``binning="quantile"``).
        check_name: Names the artifact and the alert's dedup key.
        destinations: Where the alert goes on failure: channel references (``\"slack:ops\"``) or channels; a direct
            route instead of the routing config.
        routing: An ``AlertRouting``, a routing file path or a routing block name; None: the routing
            resolution order (``PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        alert: False to only return the result.
        fail_on: ``True`` raises on any failure, a severity (``"error"``) on failures at least that bad.
        datetime: ``"skip"`` datetime/timedelta columns (default) or compare them as ``"numeric"`` seconds.
        column_types: Force ``"numerical"``/``"categorical"`` for some columns.
        column_errors: ``"fail"`` (default): a column that could not be compared fails the check;
            ``"report"``: listed only (a check that compared nothing still fails).
        severity_levels: ``SeverityLevels`` (or a dict) on the drifted share of a failed check (default
            warning from 0, error from 0.5, critical from 0.9); a failure from column errors is at least error.
        ks_p_value: ``"auto"``: exact up to 10,000 values per side, asymptotic above (the limiting Kolmogorov
            distribution in the far tail, p below about 0.025); ``"scipy"``: always what ``ks_2samp`` gives.
        workers: Threads for per-column work (default: one per core, at most 8).
        tags: Extra alert tags.

    Returns:
        A :class:`DriftResult` (``passed``, ``dataset_drift``, ``drifted_share``, ``columns``, ...).

    Raises:
        CheckFailedError: The check failed and ``fail_on`` asks to stop.
        TypeError: ``reference``/``current`` of the wrong type.
        ValueError: An unknown method, binning or option value.

    Example:
        ```python
        import numpy as np, pandas as pd
        from prefect import flow
        from prefect_alerts.checks.drift import detect_drift

        rng = np.random.default_rng(0)
        reference = pd.DataFrame({"x": rng.normal(size=5000), "kind": rng.choice(["a", "b"], 5000)})
        current = pd.DataFrame({"x": rng.normal(0.5, size=5000), "kind": rng.choice(["a", "b"], 5000)})

        @flow
        def monitor():
            result = detect_drift(reference, current, fail_on="critical")
            print(result.summary)   # Dataset drift: 1 of 2 columns drifted (50% >= 50%): x

        monitor()
        ```
    """
    _validate(
        method, threshold, drift_share, binning, bins, datetime, column_errors, ks_p_value, column_types
    )
    current = _as_frame(current, "current")
    profile = reference if isinstance(reference, ReferenceProfile) else None
    reference_frame = None if profile is not None else _as_frame(reference, "reference")
    reference_labels = profile.labels if profile is not None else list(reference_frame.columns)  # type: ignore[union-attr]
    labels = _labels(columns, reference_labels, list(current.columns))
    forced = dict(column_types or {})
    current_empty = current.shape == (0, 0)
    reference_empty = reference_frame is not None and reference_frame.shape == (0, 0)

    def compare_one(label: Hashable) -> tuple[ColumnDrift, SchemaChange | None]:
        options = CompareOptions(
            method=_per_column(method, label, "auto"),
            threshold=_per_column(threshold, label, None),
            binning=binning,
            bins=bins,
            datetime_mode=datetime,
            ks_p_value=ks_p_value,
        )
        duplicated = _duplicated(label, reference_frame, current)
        if duplicated:
            return ColumnDrift(
                column=str(label), column_type="unsupported", status="error", reason=duplicated
            ), None
        current_column = current[label] if label in current.columns else None
        reference_column = None
        if reference_frame is not None:
            reference_column = reference_frame[label] if label in reference_frame.columns else None
        # A frame with no rows and no columns (pd.DataFrame()) is empty data, not a schema change.
        if current_column is None and current_empty:
            current_column = _empty_like(label, reference_column, profile)
        if reference_column is None and profile is None and reference_empty and current_column is not None:
            reference_column = current_column.iloc[:0]
        with borrowed_workspace() as workspace:
            column_profile: ColumnProfile | None
            if profile is not None:
                column_profile = profile.columns.get(label)
            elif reference_column is not None:
                # A one-shot profile: sorted into the workspace, gone when the comparison is done.
                column_profile = profile_column(
                    label,
                    reference_column,
                    bins=bins,
                    datetime_mode=datetime,
                    column_type=forced.get(label),
                    workspace=workspace,
                    borrow_values=True,
                )
            else:
                column_profile = None
            return compare_column(label, column_profile, current_column, options, workspace)

    reference_rows = profile.rows if profile is not None else len(reference_frame)  # type: ignore[arg-type]
    cells = (reference_rows + len(current)) * max(len(labels), 1)
    requested = set(method.values()) | {"auto"} if isinstance(method, Mapping) else {method}
    light = (
        profile is not None
        and binning == "quantile"
        and requested <= _LIGHT_METHODS
        and len(current) < _LIGHT_PARALLEL_MIN_ROWS
    )
    count = workers or (1 if light else default_workers(len(labels)))
    if count > 1 and len(labels) > 1 and cells >= _PARALLEL_MIN_CELLS:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="drift") as pool:
            outcomes = list(pool.map(compare_one, labels))
    else:
        outcomes = [compare_one(label) for label in labels]

    findings = [finding for finding, _ in outcomes]
    changes = [change for _, change in outcomes if change is not None]
    verdict = drift_verdict(
        findings, drift_share, column_errors=column_errors, severity_levels=_levels(severity_levels)
    )
    result = DriftResult(
        check_name=check_name,
        summary=_summary(verdict, findings, drift_share, len(changes)),
        drift_share=float(drift_share),
        columns={finding.column: finding for finding in findings},
        schema_changes=changes,
        number_of_columns=len(findings),
        thresholds={
            "drift_share": float(drift_share),
            "method": method if isinstance(method, str) else "per column",
            "threshold": threshold
            if threshold is None or isinstance(threshold, (int, float))
            else "per column",
            "binning": binning,
            "bins": bins,
        },
        sample_sizes={
            "reference_rows": int(reference_rows),
            "current_rows": len(current),
            "columns": len(findings),
        },
        **verdict,
    )
    return finish_check(
        result, destinations=destinations, routing=routing, alert=alert, fail_on=fail_on, tags=tags
    )  # type: ignore[return-value]


def _levels(levels: SeverityLevels | Mapping[str, float] | None) -> SeverityLevels:
    if levels is None:
        return DEFAULT_DRIFT_SEVERITY
    return levels if isinstance(levels, SeverityLevels) else SeverityLevels.model_validate(dict(levels))


def _labels(
    columns: Sequence[Hashable] | None, reference_labels: list[Hashable], current_labels: list[Hashable]
) -> list[Hashable]:
    if columns is not None:
        if isinstance(columns, (str, bytes)):  # one column name, not a sequence of characters
            return [columns]
        return list(dict.fromkeys(columns))
    seen = set()
    labels: list[Hashable] = []
    for label in [*reference_labels, *current_labels]:
        if label not in seen:
            seen.add(label)
            labels.append(label)
    return labels


def _empty_like(
    label: Hashable, reference: pd.Series | None, profile: ReferenceProfile | None
) -> pd.Series | None:
    """An empty current column with the reference's dtype, for a current frame with no rows and no columns."""
    if reference is not None:
        return reference.iloc[:0]
    if profile is not None and label in profile:
        try:
            return pd.Series([], dtype=profile[label].dtype)
        except (TypeError, ValueError):
            return pd.Series([], dtype=object)
    return None


def _duplicated(label: Hashable, reference: pd.DataFrame | None, current: pd.DataFrame) -> str | None:
    for side, frame in (("reference", reference), ("current", current)):
        if frame is not None and not frame.columns.is_unique and (frame.columns == label).sum() > 1:
            return f"column name appears more than once in the {side} data"
    return None
