"""Evaluate the validity rules: values in a set, in a range, matching a pattern, of a dtype."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from prefect_alerts.channels.text import format_value
from prefect_alerts.checks.quality.frame import (
    ColumnProblem,
    FrameView,
    evaluate_values,
    example_value,
    examples_at,
    once_per_distinct,
    python_type_mask,
    type_breakdown,
)
from prefect_alerts.checks.quality.result import RuleResult
from prefect_alerts.checks.quality.rules import (
    Dtype,
    InRange,
    InSet,
    Regex,
)
from prefect_alerts.checks.quality.verdict import (
    base_fields,
    percent,
    value_result,
)

__all__ = ["evaluate_dtype", "evaluate_in_range", "evaluate_in_set", "evaluate_regex"]


def _preview(values: list[Any], limit: int = 10) -> str:
    shown = ", ".join(repr(example_value(value)) for value in values[:limit])
    return "{" + shown + (", …" if len(values) > limit else "") + "}"


def evaluate_in_set(rule: InSet, view: FrameView) -> RuleResult:
    series = view.column(rule.column)
    allowed: list[Any] = rule.values

    def is_allowed(values: pd.Series) -> np.ndarray:
        members: list[Any] = allowed
        if ptypes.is_datetime64_any_dtype(values.dtype):
            # pandas 2 parses date strings in isin, pandas 3 does not: parse them here for one behaviour.
            try:
                parsed = pd.to_datetime(pd.Series(allowed, dtype=object), errors="coerce")
                members = [*allowed, *parsed.dropna()]
            except (TypeError, ValueError):
                pass
        return values.isin(members).to_numpy(dtype=bool)

    outcome = evaluate_values(series, is_allowed)
    return value_result(rule, view, series, outcome, rule.mostly, f"not in {_preview(allowed)}")


def _bound_text(bound: Any) -> str:
    # A timedelta reads better as "0 days 00:00:10" than as seconds.
    return str(bound) if isinstance(bound, pd.Timedelta) else format_value(example_value(bound))


def _interval(rule: InRange) -> str:
    low = "-∞" if rule.min_value is None else _bound_text(rule.min_value)
    high = "∞" if rule.max_value is None else _bound_text(rule.max_value)
    opening = "(" if rule.strict_min or rule.min_value is None else "["
    closing = ")" if rule.strict_max or rule.max_value is None else "]"
    return f"{opening}{low}, {high}{closing}"


def _within(rule: InRange, values: pd.Series) -> np.ndarray:
    ok = np.ones(len(values), dtype=bool)
    if rule.min_value is not None:
        ok &= (values > rule.min_value if rule.strict_min else values >= rule.min_value).to_numpy(dtype=bool)
    if rule.max_value is not None:
        ok &= (values < rule.max_value if rule.strict_max else values <= rule.max_value).to_numpy(dtype=bool)
    return ok


def _check_timezones(rule: InRange, dtype: Any) -> None:
    column_tz = getattr(dtype, "tz", None)
    for bound in (rule.min_value, rule.max_value):
        if bound is not None and (bound.tz is None) != (column_tz is None):
            column_kind = f"tz-aware ({dtype})" if column_tz is not None else f"tz-naive ({dtype})"
            bound_kind = "naive" if bound.tz is None else "tz-aware"
            raise ColumnProblem(
                f"column {rule.column!r} is {column_kind} but the bounds are {bound_kind}; give bounds of the same kind"
            )


_DOMAIN_NOUN = {"number": "numbers", "datetime": "datetimes", "timedelta": "timedeltas"}

_DOMAIN_DTYPE: dict[str, Callable[[Any], bool]] = {
    # bool counts as a number (0/1), like numpy does.
    "number": ptypes.is_numeric_dtype,
    "datetime": ptypes.is_datetime64_any_dtype,
    "timedelta": lambda dtype: getattr(dtype, "kind", "") == "m",
}


def evaluate_in_range(rule: InRange, view: FrameView) -> RuleResult:
    series = view.column(rule.column)
    domain = rule.domain

    def is_within(values: pd.Series) -> np.ndarray:
        dtype = values.dtype
        if _DOMAIN_DTYPE[domain](dtype) and not ptypes.is_object_dtype(dtype):
            if domain == "datetime":
                _check_timezones(rule, dtype)
            return _within(rule, values)
        if ptypes.is_object_dtype(dtype) or ptypes.is_string_dtype(dtype):
            # Only values of the bounds' kind are compared; text and other types are unexpected, not parsed.
            fits = python_type_mask(values, domain if domain != "number" else "numeric")
            ok = np.zeros(len(values), dtype=bool)
            if fits.any():
                picked = values[fits]
                if domain == "number":
                    converted = pd.to_numeric(picked, errors="coerce")
                elif domain == "datetime":
                    converted = pd.Series(pd.to_datetime(picked.tolist()), index=picked.index)
                    _check_timezones(rule, converted.dtype)
                else:
                    converted = pd.to_timedelta(picked)
                ok[fits] = _within(rule, converted)
            return ok
        raise ColumnProblem(f"column {rule.column!r} is {dtype}; {domain} bounds cannot be compared with it")

    outcome = evaluate_values(series, is_within)
    problem = f"outside {_interval(rule)}"
    dense = series.cat.categories.dtype if isinstance(series.dtype, pd.CategoricalDtype) else series.dtype
    if ptypes.is_object_dtype(dense) or ptypes.is_string_dtype(dense):
        problem += f" or not {_DOMAIN_NOUN[domain]}"  # text and other types count as unexpected
    return value_result(rule, view, series, outcome, rule.mostly, problem)


def evaluate_regex(rule: Regex, view: FrameView) -> RuleResult:
    series = view.column(rule.column)

    def matches(texts: pd.Series) -> np.ndarray:
        found = (
            texts.str.fullmatch(rule.pattern)
            if rule.full_match
            else texts.str.contains(rule.pattern, regex=True)
        )
        return found.to_numpy(dtype=bool)

    def is_match(values: pd.Series) -> np.ndarray:
        # Text first (1 and 1.0 are equal keys but different text); object dtype keeps Python's ``re`` on
        # every pandas version (a pyarrow-backed str dtype would use RE2).
        return once_per_distinct(values.astype(str).astype(object), matches)

    outcome = evaluate_values(series, is_match)
    how = "fully matching" if rule.full_match else "matching"
    return value_result(rule, view, series, outcome, rule.mostly, f"not {how} {rule.pattern!r}")


_FAMILY_DTYPE: dict[str, Callable[[Any], bool]] = {
    "int": lambda d: ptypes.is_integer_dtype(d) and not ptypes.is_bool_dtype(d),
    "float": ptypes.is_float_dtype,
    "numeric": lambda d: ptypes.is_numeric_dtype(d) and not ptypes.is_bool_dtype(d),
    "bool": ptypes.is_bool_dtype,
    "string": lambda d: ptypes.is_string_dtype(d) and not isinstance(d, pd.CategoricalDtype),
    "datetime": ptypes.is_datetime64_any_dtype,
    "timedelta": lambda d: getattr(d, "kind", "") == "m",
    "category": lambda d: isinstance(d, pd.CategoricalDtype),
    "object": ptypes.is_object_dtype,
}


def _time_kind(dtype: Any) -> tuple[str, str | None] | None:
    """``("M", tz)`` for a datetime64 dtype, ``("m", None)`` for timedelta64, None for anything else."""
    kind = getattr(dtype, "kind", "")
    if kind not in ("M", "m"):
        return None
    tz = getattr(dtype, "tz", None)
    return kind, None if tz is None else str(tz)


def _same_time_kind(actual: Any, wanted: str) -> bool:
    # datetime64[ns] and datetime64[us] hold the same timestamps (pandas 3 reads us): compare kind and tz.
    try:
        wanted_dtype = pd.api.types.pandas_dtype(wanted)
    except TypeError:
        return False
    actual_kind = _time_kind(actual)
    return actual_kind is not None and actual_kind == _time_kind(wanted_dtype)


def evaluate_dtype(rule: Dtype, view: FrameView) -> RuleResult:
    series = view.column(rule.column)
    dtype, family = series.dtype, rule.family
    if family is not None and family not in ("object", "category") and ptypes.is_object_dtype(dtype):
        # An object column holds anything: judge each value's Python type (pandas 2 text columns are object).
        outcome = evaluate_values(series, lambda values: python_type_mask(values, family))
        result = value_result(rule, view, series, outcome, 1.0, f"are not {family} values")
        present = series.dropna()
        observed = f"object ({type_breakdown(present)})" if len(present) else "object (no values)"
        update: dict[str, Any] = {"observed_value": observed, "threshold": rule.dtype}
        if result.passed:
            update["message"] = f"{rule.label()}: dtype is {observed}, as expected (the {family} family)"
        return result.model_copy(update=update)
    matches = _FAMILY_DTYPE[family](dtype) if family is not None else str(dtype) == rule.dtype
    by_kind = family is None and not matches and not rule.exact_unit and _same_time_kind(dtype, rule.dtype)
    matches = matches or by_kind
    nulls = int(view.null_counts()[view.position(rule.column)])
    considered = view.n_rows - nulls
    unexpected = 0 if matches else considered  # a wrong dtype makes every value the wrong type
    examples = ([], [])
    if unexpected:
        examples = examples_at(series, series.notna().to_numpy(dtype=bool))
    wanted = f"the {family} family" if family else repr(rule.dtype)
    if by_kind:
        wanted += "; compared by kind and timezone, not unit: exact_unit=True compares the unit too"
    message = f"{rule.label()}: dtype is {dtype}" + (
        f", as expected ({wanted})" if matches else f", expected {wanted}"
    )
    return RuleResult(
        **base_fields(rule, view),
        passed=matches,
        status="passed" if matches else "failed",
        observed_value=str(dtype),
        missing_count=nulls,
        missing_percent=percent(nulls, view.n_rows),
        unexpected_count=unexpected,
        unexpected_percent=percent(unexpected, considered),
        unexpected_percent_total=percent(unexpected, view.n_rows),
        partial_unexpected_list=examples[0],
        partial_unexpected_index_list=examples[1],
        threshold=rule.dtype,
        reason=None if matches else message.split(": ", 1)[1],
        message=message,
    )
