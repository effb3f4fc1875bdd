"""``check_data_quality``: completeness, validity and uniqueness rules on a DataFrame, as one Prefect task."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from prefect_alerts.alert import Severity
from prefect_alerts.channels.base import Channel
from prefect_alerts.checks.base import FailOn, finish_check
from prefect_alerts.checks.quality.evaluate import evaluate_rule
from prefect_alerts.checks.quality.frame import FrameView
from prefect_alerts.checks.quality.result import DataQualityResult, RuleResult
from prefect_alerts.checks.quality.rule_base import RuleBase
from prefect_alerts.checks.quality.rules import (
    ColumnLabel,
    ColumnsPresent,
    Completeness,
    Dtype,
    InRange,
    InSet,
    NotNull,
    NoUnexpectedColumns,
    QualityRule,
    Regex,
    UniqueKey,
    UniqueRows,
    parse_rules,
)
from prefect_alerts.text import all_of, count_of, plural

__all__ = ["EMPTY_FRAME_NOTE", "build_rules", "check_data_quality"]

EMPTY_FRAME_NOTE = "0 rows: value rules pass vacuously; use check_data_volume to catch empty data"


def _per_column(value: float | Mapping[ColumnLabel, float], column: ColumnLabel, default: float) -> float:
    if isinstance(value, Mapping):
        return value.get(column, default)
    return value


def build_rules(
    frame_columns: Iterable[ColumnLabel] = (),
    *,
    not_null: Sequence[ColumnLabel] = (),
    max_null_share: float | Mapping[ColumnLabel, float] | None = None,
    max_total_null_share: float | None = None,
    allowed_values: Mapping[ColumnLabel, Iterable[Any]] | None = None,
    ranges: Mapping[ColumnLabel, tuple[Any, Any]] | None = None,
    patterns: Mapping[ColumnLabel, str] | None = None,
    dtypes: Mapping[ColumnLabel, Any] | None = None,
    expected_columns: Sequence[ColumnLabel] | None = None,
    allow_extra_columns: bool = True,
    unique: Sequence[ColumnLabel | Sequence[ColumnLabel]] = (),
    no_duplicate_rows: bool = False,
    mostly: float | Mapping[ColumnLabel, float] = 1.0,
    severity: Severity | str = Severity.ERROR,
) -> list[QualityRule]:
    """The rule objects the keyword arguments of :func:`check_data_quality` stand for, schema rules first.

    ``frame_columns`` is needed only for a single ``max_null_share`` number (one rule per column).

        >>> [rule.label() for rule in build_rules(not_null=["id"], ranges={"amount": (0, None)}, unique=["id"])]
        ['not_null(id)', 'in_range(amount)', 'unique_key(id)']
    """
    rules: list[QualityRule] = []
    used: set[ColumnLabel] = set()
    # One name where a list is expected would otherwise be read letter by letter.
    not_null = [not_null] if isinstance(not_null, (str, int)) else not_null
    unique = [unique] if isinstance(unique, (str, int)) else unique

    def mostly_for(column: ColumnLabel) -> float:
        used.add(column)
        return _per_column(mostly, column, 1.0)

    if expected_columns is not None:
        rules.append(ColumnsPresent(expected_columns, severity=severity))
        if not allow_extra_columns:
            rules.append(NoUnexpectedColumns(expected_columns, severity=severity))
    rules += [Dtype(column, dtype, severity=severity) for column, dtype in (dtypes or {}).items()]
    if max_total_null_share is not None:
        rules.append(Completeness(None, max_total_null_share, severity=severity))
    if isinstance(max_null_share, Mapping):
        rules += [Completeness(column, share, severity=severity) for column, share in max_null_share.items()]
    elif max_null_share is not None:
        labels = list(dict.fromkeys(frame_columns))
        if odd := [label for label in labels if not isinstance(label, (str, int))]:
            raise TypeError(
                f"max_null_share for every column needs string or integer column labels, got {odd[0]!r} "
                "(flatten MultiIndex columns first, or use max_total_null_share)"
            )
        rules += [Completeness(column, max_null_share, severity=severity) for column in labels]
    rules += [NotNull(column, mostly=mostly_for(column), severity=severity) for column in not_null]
    for column, values in (allowed_values or {}).items():
        rules.append(InSet(column, values, mostly=mostly_for(column), severity=severity))
    for column, bounds in (ranges or {}).items():
        if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
            raise ValueError(
                f"ranges[{column!r}] must be a (min, max) pair, None for an open side; got {bounds!r}"
            )
        rules.append(InRange(column, bounds[0], bounds[1], mostly=mostly_for(column), severity=severity))
    for column, pattern in (patterns or {}).items():
        rules.append(Regex(column, pattern, mostly=mostly_for(column), severity=severity))
    for key in unique:
        columns = [key] if isinstance(key, (str, int)) else list(key)
        # A per-column ``mostly`` mapping speaks of single columns; a compound key takes the plain number or 1.0.
        key_mostly = mostly_for(columns[0]) if len(columns) == 1 else _per_column(mostly, object(), 1.0)
        rules.append(UniqueKey(columns, mostly=key_mostly, severity=severity))
    if no_duplicate_rows:
        rules.append(UniqueRows(severity=severity))
    if isinstance(mostly, Mapping) and (unused := [column for column in mostly if column not in used]):
        raise ValueError(f"mostly is given for columns no value rule uses: {unused!r}")
    return rules


def _thresholds(rules: list[QualityRule]) -> dict[str, Any]:
    # Compact: one entry per rule kind with the distinct limits used (a wide frame has a thousand rules).
    limits: dict[str, list[Any]] = {}
    for rule in rules:
        for name in ("mostly", "max_null_share"):
            if hasattr(rule, name):
                key = f"{rule.kind}.{name}"
                value = getattr(rule, name)
                if value not in limits.setdefault(key, []):
                    limits[key].append(value)
    return {key: values[0] if len(values) == 1 else sorted(values) for key, values in limits.items()}


def _summary(results: list[RuleResult], rows: int, result_worst: RuleResult | None) -> str:
    where = f"on {plural(rows, 'row')}"
    if not results:
        text = f"no rules to check {where}"
    else:
        failed = [rule for rule in results if not rule.passed]
        if not failed:
            text = f"{all_of(len(results), 'rule')} passed {where}"
        else:
            text = f"{count_of(len(failed), len(results), 'rule')} failed {where}"
            if result_worst is not None:
                text += f"; worst: {result_worst.message}"
    return f"{text}; {EMPTY_FRAME_NOTE}" if rows == 0 else text


@task(name="check-data-quality", cache_policy=NO_CACHE)
def check_data_quality(
    df: pd.DataFrame,
    rules: Sequence[QualityRule | Mapping[str, Any]] = (),
    *,
    not_null: Sequence[ColumnLabel] = (),
    max_null_share: float | Mapping[ColumnLabel, float] | None = None,
    max_total_null_share: float | None = None,
    allowed_values: Mapping[ColumnLabel, Iterable[Any]] | None = None,
    ranges: Mapping[ColumnLabel, tuple[Any, Any]] | None = None,
    patterns: Mapping[ColumnLabel, str] | None = None,
    dtypes: Mapping[ColumnLabel, Any] | None = None,
    expected_columns: Sequence[ColumnLabel] | None = None,
    allow_extra_columns: bool = True,
    unique: Sequence[ColumnLabel | Sequence[ColumnLabel]] = (),
    no_duplicate_rows: bool = False,
    mostly: float | Mapping[ColumnLabel, float] = 1.0,
    severity: Severity | str = Severity.ERROR,
    check_name: str = "data_quality",
    destinations: Channel | str | Sequence[Channel | str] | None = None,
    routing: Any = None,
    alert: bool = True,
    fail_on: FailOn = None,
) -> DataQualityResult:
    """Check a DataFrame's completeness, validity and uniqueness, and alert when a rule fails.

    Two ways to say what to check, usable together: keyword arguments for the common cases, and ``rules``
    (rule objects such as ``InSet("country", ["DE", "FR"])``, or their plain-data form
    ``{"kind": "in_set", ...}`` from a config file) for per-rule ``mostly`` and ``severity``. The keywords
    only build rule objects (:func:`build_rules`), so both report alike. Rules from keywords come first
    (schema, completeness, validity, uniqueness), then ``rules`` in their order.

    Counting follows Great Expectations: missing values (None, NaN, NaT, pd.NA; not inf) are left out of value
    rules, ``unexpected_percent`` is over the non-missing values, every member of a duplicated group counts,
    ``mostly`` passes when exactly reached, and an empty frame passes every value rule (the summary says so:
    pair this check with ``check_data_volume``). A rule that cannot be evaluated (a missing column, a
    duplicated column name, values that cannot be compared) fails with ``status="error"`` and a reason; it
    never raises.

    Args:
        df: The data. A Series is checked as a one-column frame.
        rules: Rule objects (``NotNull``, ``Completeness``, ``InSet``, ``InRange``, ``Regex``, ``Dtype``,
            ``ColumnsPresent``, ``NoUnexpectedColumns``, ``UniqueRows``, ``UniqueKey``) or mappings with ``kind``.
        not_null: Columns that must have no nulls (``NotNull``; with ``mostly``: at most that share null).
        max_null_share: Highest null share (0-1) per column: one number for every column of ``df``, or
            ``{column: share}`` (``Completeness``).
        max_total_null_share: Highest null share over all cells of ``df``.
        allowed_values: ``{column: [allowed, ...]}`` (``InSet``).
        ranges: ``{column: (min, max)}``, inclusive, None for an open side; numbers, datetimes, ISO date strings
            or timedeltas (``InRange``).
        patterns: ``{column: regex}``; a match anywhere in ``str(value)`` as in GE (anchor with ``^...$``, or
            use ``Regex(..., full_match=True)``).
        dtypes: ``{column: dtype}``: a family (``"int"``, ``"float"``, ``"numeric"``, ``"bool"``, ``"string"``,
            ``"datetime"``, ``"timedelta"``, ``"category"``, ``"object"``) or an exact dtype (``"Int64"``).
        expected_columns: Columns that must be present.
        allow_extra_columns: False to also fail on columns not in ``expected_columns``.
        unique: Keys that must be unique: a column name, or a tuple of names for a compound key.
        no_duplicate_rows: True to fail on rows that repeat another row entirely.
        mostly: Share (0-1) of non-missing values that must pass the value rules built from keywords: one
            number, or ``{column: share}`` (others 1.0).
        severity: The level of the rules built from keywords (rule objects carry their own).
        check_name: Names this check in artifacts (key ``data-quality-<name>``), alerts and their dedup key.
        destinations: Where the alert goes on failure: channel references (``\"slack:ops\"``) or channels; a direct
            route instead of the routing config.
        routing: An ``AlertRouting``, a routing file path or a routing block name; None: the routing
            resolution order (``PREFECT_ALERTS_CONFIG``, the ``alert-routing/default`` block, the console).
        alert: False to only return the result.
        fail_on: True, or a severity: raise :class:`~prefect_alerts.checks.CheckFailedError` at or above it.

    Returns:
        DataQualityResult: ``passed``, ``status`` (``passed``/``failed``/``error``/``skipped``), ``severity``
        (the most severe failed rule), ``rules`` (one ``RuleResult`` each, GE-style numbers and up to 20
        offending values), ``summary``, ``thresholds``, ``sample_sizes``.

    Raises:
        CheckFailedError: When ``fail_on`` says so; ``.result`` holds the result.
        TypeError: When ``df`` is not a pandas DataFrame or Series.
        ValueError: When a rule is malformed (bad regex, min above max, unknown dtype, mostly outside 0-1).

    Example:
        ```python
        import pandas as pd
        from prefect import flow
        from prefect_alerts.checks import InRange, check_data_quality

        @flow
        def load_orders() -> None:
            orders = pd.DataFrame(
                {"order_id": [1, 2, 2, 4], "country": ["DE", "FR", "XX", None], "amount": [10.0, -5.0, 3.5, 8.0]}
            )
            check_data_quality(
                orders,
                [InRange("amount", 0, None, mostly=0.99, severity="warning")],
                not_null=["order_id"],
                allowed_values={"country": ["DE", "FR", "IT"]},
                unique=["order_id"],
                check_name="orders",
            )

        load_orders()
        ```
    """
    if isinstance(df, pd.Series):
        df = df.to_frame()
    if isinstance(rules, (RuleBase, Mapping)):  # one rule given without a list
        rules = [rules]
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"check_data_quality needs a pandas DataFrame, got {type(df).__name__}")
    rule_list: list[QualityRule] = build_rules(
        df.columns,
        not_null=not_null,
        max_null_share=max_null_share,
        max_total_null_share=max_total_null_share,
        allowed_values=allowed_values,
        ranges=ranges,
        patterns=patterns,
        dtypes=dtypes,
        expected_columns=expected_columns,
        allow_extra_columns=allow_extra_columns,
        unique=unique,
        no_duplicate_rows=no_duplicate_rows,
        mostly=mostly,
        severity=severity,
    )
    rule_list += parse_rules(rules)
    view = FrameView(df)
    results = [evaluate_rule(rule, view) for rule in rule_list]
    failed = [rule for rule in results if not rule.passed]
    if not results:
        status = "skipped"
    elif any(rule.status == "failed" for rule in results):
        status = "failed"
    else:
        status = "error" if failed else "passed"
    result = DataQualityResult(
        check_name=check_name,
        passed=not failed,
        status=status,
        severity=max((rule.severity for rule in failed), default=Severity.SUCCESS),
        summary="",
        thresholds=_thresholds(rule_list),
        sample_sizes={"rows": view.n_rows, "columns": view.n_columns},
        rules=results,
        row_count=view.n_rows,
        column_count=view.n_columns,
    )
    result.summary = _summary(results, view.n_rows, result.worst_rule)
    return finish_check(result, destinations=destinations, routing=routing, alert=alert, fail_on=fail_on)  # type: ignore[return-value]
