"""Evaluate completeness (nulls per column and overall), schema (columns present, none extra) and uniqueness."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from prefect_alerts.checks.quality.frame import (
    MAX_EXAMPLES,
    FrameView,
    ValueOutcome,
    example_value,
    examples_at,
    rows_at,
)
from prefect_alerts.checks.quality.result import RuleResult
from prefect_alerts.checks.quality.rules import (
    ColumnsPresent,
    Completeness,
    NotNull,
    NoUnexpectedColumns,
    QualityRule,
    UniqueKey,
    UniqueRows,
)
from prefect_alerts.checks.quality.verdict import (
    base_fields,
    mostly_passed,
    percent,
    share_text,
    value_result,
)
from prefect_alerts.text import all_of, count_of, plural

__all__ = [
    "evaluate_columns_present",
    "evaluate_completeness",
    "evaluate_no_unexpected_columns",
    "evaluate_not_null",
    "evaluate_unique_key",
    "evaluate_unique_rows",
]


def evaluate_not_null(rule: NotNull, view: FrameView) -> RuleResult:
    position = view.position(rule.column)
    rows, nulls = view.n_rows, int(view.null_counts()[position])
    passed = mostly_passed(rows, nulls, rule.mostly)
    index: list[Any] = []
    if nulls:
        _, index = examples_at(view.frame.iloc[:, position], view.frame.iloc[:, position].isna().to_numpy())
    allowed = "none allowed" if rule.mostly >= 1 else f"allowed up to {share_text((1 - rule.mostly) * 100)}"
    message = (
        f"{rule.label()}: {count_of(nulls, rows, 'value')} {'is' if nulls == 1 else 'are'} null "
        f"({share_text(percent(nulls, rows))}; {allowed})"
        if nulls
        else f"{rule.label()}: no nulls in {plural(rows, 'row')}"
    )
    return RuleResult(
        **base_fields(rule, view),
        passed=passed,
        status="passed" if passed else "failed",
        observed_value=(rows - nulls) / rows if rows else 1.0,
        unexpected_count=nulls,
        unexpected_percent=percent(nulls, rows),  # the nulls are what is counted: over every row
        unexpected_percent_total=percent(nulls, rows),
        partial_unexpected_list=[None] * min(nulls, MAX_EXAMPLES),
        partial_unexpected_index_list=index,
        threshold=rule.mostly,
        reason=None if passed else message.split(": ", 1)[1],
        message=message,
    )


def evaluate_completeness(rule: Completeness, view: FrameView) -> RuleResult:
    counts = view.null_counts()
    examples: list[Any] = []
    index: list[Any] = []
    if rule.column is None:
        elements, nulls = view.n_rows * view.n_columns, int(counts.sum())
        # The columns holding the most nulls say where to look.
        worst = np.argsort(-counts, kind="stable")[:MAX_EXAMPLES]
        examples = [
            {"column": example_value(view.frame.columns[i]), "nulls": int(counts[i])}
            for i in worst
            if counts[i]
        ]
        what = plural(elements, "cell")
    else:
        position = view.position(rule.column)
        elements, nulls = view.n_rows, int(counts[position])
        if nulls:
            column = view.frame.iloc[:, position]
            _, index = examples_at(column, column.isna().to_numpy())
        what = plural(elements, "value")
    share = nulls / elements if elements else 0.0
    passed = share <= rule.max_null_share
    limit = share_text(rule.max_null_share * 100)
    message = f"{rule.label()}: {nulls:,} of {what} null ({share_text(share * 100)}; at most {limit} allowed)"
    return RuleResult(
        **{**base_fields(rule, view), "element_count": elements},
        passed=passed,
        status="passed" if passed else "failed",
        observed_value=share,
        unexpected_count=nulls,
        unexpected_percent=share * 100,
        unexpected_percent_total=share * 100,
        partial_unexpected_list=examples,
        partial_unexpected_index_list=index,
        threshold=rule.max_null_share,
        reason=None if passed else message.split(": ", 1)[1],
        message=message,
    )


def _names(labels: list[Any]) -> str:
    shown = ", ".join(repr(example_value(label)) for label in labels[:10])
    return shown + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")


def _schema_result(
    rule: QualityRule, view: FrameView, elements: int, found: list[Any], observed: int, problem: str
) -> RuleResult:
    passed = not found
    message = f"{rule.label()}: {problem}"
    return RuleResult(
        **{**base_fields(rule, view), "element_count": elements},
        passed=passed,
        status="passed" if passed else "failed",
        observed_value=observed,
        unexpected_count=len(found),
        unexpected_percent=percent(len(found), elements),
        unexpected_percent_total=percent(len(found), elements),
        partial_unexpected_list=[example_value(label) for label in found[:MAX_EXAMPLES]],
        reason=None if passed else problem,
        message=message,
    )


def evaluate_columns_present(rule: ColumnsPresent, view: FrameView) -> RuleResult:
    expected = list(dict.fromkeys(rule.expected))
    missing = [column for column in expected if column not in view.positions]
    problem = (
        f"{count_of(len(missing), len(expected), 'expected column')} missing: {_names(missing)}"
        if missing
        else f"{all_of(len(expected), 'expected column')} present"
    )
    return _schema_result(rule, view, len(expected), missing, len(expected) - len(missing), problem)


def evaluate_no_unexpected_columns(rule: NoUnexpectedColumns, view: FrameView) -> RuleResult:
    allowed = set(rule.allowed)
    extra = [label for label in view.positions if label not in allowed]
    repeated = [label for label, found in view.positions.items() if len(found) > 1]
    parts = []
    if extra:
        parts.append(f"{len(extra):,} unexpected columns: {_names(extra)}")
    if repeated:
        parts.append(f"column names used more than once: {_names(repeated)}")
    problem = "; ".join(parts) or f"no columns beyond the {len(allowed):,} allowed"
    found = extra + [label for label in repeated if label not in extra]
    return _schema_result(rule, view, view.n_columns, found, view.n_columns, problem)


def _subframe(view: FrameView, columns: list[Any]) -> pd.DataFrame:
    return view.frame.iloc[:, [view.position(column) for column in columns]]


def evaluate_unique_rows(rule: UniqueRows, view: FrameView) -> RuleResult:
    frame = _subframe(view, rule.subset) if rule.subset else view.frame
    duplicated = np.zeros(view.n_rows, dtype=bool)
    if frame.shape[1] and view.n_rows:
        duplicated = frame.duplicated(keep=False).to_numpy(dtype=bool)  # keep=False: every copy counts
    outcome = ValueOutcome(missing_count=0, unexpected=duplicated)
    examples = rows_at(frame, duplicated) if duplicated.any() else ([], [])
    return value_result(
        rule,
        view,
        frame.iloc[:, 0] if frame.shape[1] else pd.Series(index=frame.index, dtype=object),
        outcome,
        rule.mostly,
        "are duplicated",
        examples,
        noun="row",
    )


def evaluate_unique_key(rule: UniqueKey, view: FrameView) -> RuleResult:
    frame = _subframe(view, rule.key)
    # A key missing in every key column identifies nothing: left out, as GE does.
    missing = frame.isna().all(axis=1).to_numpy(dtype=bool)
    present = np.flatnonzero(~missing)
    duplicated = np.zeros(view.n_rows, dtype=bool)
    if present.size:
        keys = frame.iloc[present] if missing.any() else frame
        # One column: Series.duplicated is the fast path; several: rows of the key.
        flags = keys.iloc[:, 0].duplicated(keep=False) if keys.shape[1] == 1 else keys.duplicated(keep=False)
        duplicated[present[flags.to_numpy(dtype=bool)]] = True
    outcome = ValueOutcome(missing_count=int(missing.sum()), unexpected=duplicated)
    if frame.shape[1] == 1:
        examples = examples_at(frame.iloc[:, 0], duplicated) if duplicated.any() else ([], [])
    else:
        examples = rows_at(frame, duplicated) if duplicated.any() else ([], [])
    return value_result(
        rule,
        view,
        frame.iloc[:, 0],
        outcome,
        rule.mostly,
        "are duplicated",
        examples,
        noun="non-missing key",
    )
