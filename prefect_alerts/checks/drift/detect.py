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
from prefect_alerts.checks.drift.verdict import (
    DEFAULT_MISSING_SHARE_CHANGE,
    DEFAULT_STRONG_DRIFT_FACTOR,
    ColumnErrors,
    drift_summary,
    drift_verdict,
    flag_columns,
)
from prefect_alerts.checks.drift.workspace import borrowed_workspace

__all__ = ["detect_drift", "drift_verdict"]

Binning = Literal["quantile", "evidently"]

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
    key_columns: Sequence[Hashable] = (),
    key_column_severity: Severity | str = Severity.ERROR,
    strong_drift_factor: float | None = DEFAULT_STRONG_DRIFT_FACTOR,
    missing_share_change: float | None = DEFAULT_MISSING_SHARE_CHANGE,
    missing_share_severity: Severity | str | None = Severity.WARNING,
) -> DriftResult:
    """Compare current data with a reference, column by column, and decide whether the dataset drifted.

    Methods and thresholds default to Evidently 0.7's (what its code does): up to 1000 reference values
    (after dropping NaN/inf) numerical columns with more than 5 distinct values (both sides together) use KS
    (drift at p <= 0.05), others chi-square (more than 2 values) or a z-test (drift at p < 0.05); above 1000,
    Wasserstein distance normed by the reference std for numerical columns with more than 5 values, else
    Jensen-Shannon (drift at >= 0.1). Integer columns with at most 10 distinct reference values are
    categorical, as Evidently infers. The dataset drifted when drifted/compared columns >= ``drift_share``.

    **Per column, on top of the dataset rule** (``prefect_alerts.checks.drift.verdict``): a drifted column in
    ``key_columns`` fails the check on its own (``key_column_severity``, default error); a column whose score
    is far past its threshold (``strong_drift_factor``, default 3: a distance at >= 3x its threshold, or a
    p-value at <= threshold / 1000) raises at least a warning below the dataset share; a column whose share
    of missing values moved by ``missing_share_change`` (default 0.1: 0% to 30% is flagged) is reported in
    the column's reason and the summary, with ``missing_share_severity`` (default warning). The summary
    names the drifted columns either way, and each column that could not be compared.

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
        key_columns: Columns whose drift alone fails the check (each must be among the compared columns).
        key_column_severity: Severity of a drifted key column (default error).
        strong_drift_factor: How far past its threshold a column's score must be to warn on its own
            (default 3); None turns this off.
        missing_share_change: A move in a column's missing share (0 to 1) that is reported and flagged
            (default 0.1); None turns this off.
        missing_share_severity: Severity of that move (default warning); None only reports it.

    Returns:
        A :class:`DriftResult` (``passed``, ``dataset_drift``, ``drifted_share``, ``columns``, ...).

    Raises:
        CheckFailedError: The check failed and ``fail_on`` asks to stop.
        TypeError: ``reference``/``current`` of the wrong type.
        ValueError: An unknown method, binning or option value; a key column that is not compared.

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
    keys = _key_columns(key_columns, labels)
    _validate_column_rules(strong_drift_factor, missing_share_change)
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

    findings = flag_columns(
        [finding for finding, _ in outcomes],
        key_columns=[str(label) for label in keys],
        key_column_severity=Severity(key_column_severity),
        strong_drift_factor=strong_drift_factor,
        missing_share_change=missing_share_change,
        missing_share_severity=None if missing_share_severity is None else Severity(missing_share_severity),
    )
    changes = [change for _, change in outcomes if change is not None]
    verdict = drift_verdict(
        findings, drift_share, column_errors=column_errors, severity_levels=_levels(severity_levels)
    )
    result = DriftResult(
        check_name=check_name,
        summary=drift_summary(verdict, findings, drift_share, len(changes), column_errors),
        key_columns=[str(label) for label in keys],
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


def _key_columns(key_columns: Sequence[Hashable], labels: list[Hashable]) -> list[Hashable]:
    keys = [key_columns] if isinstance(key_columns, (str, bytes)) else list(dict.fromkeys(key_columns))
    unknown = [key for key in keys if key not in labels]
    if unknown:
        raise ValueError(
            f"key_columns {', '.join(map(repr, unknown))} not among the columns compared; "
            f"choose from {', '.join(map(repr, labels[:10]))}" + (" ..." if len(labels) > 10 else "")
        )
    return keys


def _validate_column_rules(strong_drift_factor: float | None, missing_share_change: float | None) -> None:
    if strong_drift_factor is not None and (
        isinstance(strong_drift_factor, bool)
        or not math.isfinite(float(strong_drift_factor))
        or strong_drift_factor < 1
    ):
        raise ValueError(f"strong_drift_factor must be a number >= 1 or None, not {strong_drift_factor!r}")
    if missing_share_change is not None and (
        isinstance(missing_share_change, bool) or not 0 < float(missing_share_change) <= 1
    ):
        raise ValueError(f"missing_share_change must be in (0, 1] or None, not {missing_share_change!r}")


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
